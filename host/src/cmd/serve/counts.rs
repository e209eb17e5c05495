//! What `resetwatch serve` counts for stderr: records, alerts, lines out,
//! and the trouble (malformed, too long, cut off, dropped at the stop),
//! quoted one by one up to [`QUOTED`] of a kind, then only counted.

/// Malformed lines, over-long lines and cut-off lines quoted one by one on
/// stderr; past this many of a kind they are only counted.
pub const QUOTED: u64 = 10;
/// Counters for stderr.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Events read (JSON objects), and malformed lines read.
    pub records: u64,
    pub malformed: u64,
    /// Alerts emitted.
    pub alerts: u64,
    /// Lines handed to the stdout writer (records, malformed lines, alerts).
    pub emitted: u64,
    /// Lines dropped: over-long, cut off by a disconnect, read but not
    /// taken at shutdown, or output that could not be queued at shutdown.
    pub too_long: u64,
    pub partial: u64,
    pub input_dropped: u64,
    pub output_dropped: u64,
}

impl Counts {
    pub fn trouble(&self) -> (u64, u64, u64, u64) {
        (self.malformed, self.too_long, self.partial, self.output_dropped)
    }

    pub fn summary(&self) -> String {
        format!(
            "{} records in, {} alerts, {} lines out; {} malformed (passed on as resetwatch_error events); \
             dropped: {} too long, {} cut off by a disconnect, {} in and {} out at shutdown",
            self.records,
            self.alerts,
            self.emitted,
            self.malformed,
            self.too_long,
            self.partial,
            self.input_dropped,
            self.output_dropped
        )
    }
}

/// ", further ones are only counted" after the last one quoted.
pub fn more(n: u64) -> &'static str {
    if n == QUOTED {
        " (further ones are only counted)"
    } else {
        ""
    }
}
