//! Saving and restoring the detector, as versioned bytes: the same bytes
//! for the component's save/restore and for the Fluent Bit build's state
//! file. A header names the format and its version; anything else is
//! refused with a reason, never half-loaded.

use crate::config::Config;
use crate::detect::tracker::{Snapshot, Tracker};
use crate::text::carry::{Fields, Take};
use crate::text::json::ObjectWriter;
use serde_json::Value;
use std::fmt;

/// The first line of every state.
pub const MAGIC: &[u8] = b"resetwatch-state ";
/// The version this build writes. Version 3 added each source's arrival
/// timeline and re-read heads, each episode's rule and last activity, and
/// the alert's `rule`; version 2 added `/jsz` storage tracking and storage
/// alerts in the outbox; versions 1 and 2 are still read (their members
/// missing from version 3 take the values they meant then).
pub const VERSION: u32 = 3;
/// Older versions this build still reads.
const READS: [u32; 3] = [1, 2, 3];

/// Why a state could not be restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateError {
    /// Not a resetwatch state at all.
    Foreign,
    /// A resetwatch state of a version this build does not read.
    Version(u32),
    /// The header is right but the body is damaged.
    Corrupt(String),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Foreign => write!(f, "not a resetwatch state"),
            StateError::Version(v) => write!(f, "state version {v}, this build reads versions 1 to {VERSION}"),
            StateError::Corrupt(why) => write!(f, "damaged state: {why}"),
        }
    }
}

impl std::error::Error for StateError {}

impl Tracker {
    /// The tracker's state as versioned bytes (`resetwatch-state <version>`
    /// and this version's body): the state file, and the component's `save`.
    pub fn save(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(format!("{VERSION}\n").as_bytes());
        let s = self.snapshot();
        let mut w = ObjectWriter::new(&mut out);
        w.put("sources", &s.sources)
            .put("streams", &s.streams)
            .put("firing", &s.firing)
            .put("outbox", &s.outbox)
            .put("next_host_due", &s.next_host_due)
            .put("stats", &s.stats)
            .put("storage_outbox", &s.storage_outbox)
            .put("storage", &s.storage);
        w.finish();
        out
    }

    /// A tracker with `cfg` and the state in `bytes` (made by [`Tracker::save`]
    /// of a version this build reads). Entries beyond the configured bounds
    /// are evicted as if they had just been seen in order.
    pub fn restore(cfg: Config, bytes: &[u8]) -> Result<Tracker, StateError> {
        let rest = bytes.strip_prefix(MAGIC).ok_or(StateError::Foreign)?;
        let nl = rest.iter().position(|&c| c == b'\n').ok_or(StateError::Foreign)?;
        let version: u32 = std::str::from_utf8(&rest[..nl]).ok().and_then(|v| v.parse().ok()).ok_or(StateError::Foreign)?;
        if !READS.contains(&version) {
            return Err(StateError::Version(version));
        }
        let body = &rest[nl + 1..];
        if !crate::text::json::depth_at_most(body, 12) {
            return Err(StateError::Corrupt("nested too deep".into()));
        }
        let doc: Value = serde_json::from_slice(body).map_err(|e| StateError::Corrupt(e.to_string()))?;
        let f = Fields::of(&doc).ok_or_else(|| StateError::Corrupt("the body is not an object".into()))?;
        fn get<T: Take>(f: &Fields, k: &str, absent: Option<T>) -> Result<T, StateError> {
            f.get_or(k, absent).ok_or_else(|| StateError::Corrupt(format!("`{k}` is missing or malformed")))
        }
        let snap = Snapshot {
            sources: get(&f, "sources", None)?,
            streams: get(&f, "streams", None)?,
            firing: get(&f, "firing", None)?,
            outbox: get(&f, "outbox", None)?,
            next_host_due: get(&f, "next_host_due", None)?,
            stats: get(&f, "stats", None)?,
            storage_outbox: get(&f, "storage_outbox", Some(Vec::new()))?,
            storage: get(&f, "storage", Some(Vec::new()))?,
        };
        Ok(Tracker::from_snapshot(cfg, snap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Filter;

    fn looping(f: &mut Filter, from: usize, to: usize) {
        for i in from..to {
            let s = 8 + i * 5;
            let a = format!(
                "[1] 2026/11/26 14:17:{s:02}.000000 [WRN] Error applying entries to '$G > ORDERS': last sequence mismatch"
            );
            let r = format!("[1] 2026/11/26 14:17:{s:02}.000500 [WRN] Resetting stream cluster state for '$G > ORDERS'");
            f.ingest_line("n1", 0, a.as_bytes());
            f.ingest_line("n1", 0, r.as_bytes());
        }
    }

    #[test]
    fn a_restored_detector_goes_on_where_it_stopped() {
        // Straight through: warning at pair 3.
        let mut whole = Filter::new(Config::default());
        looping(&mut whole, 0, 4);
        let want: Vec<_> = std::iter::from_fn(|| whole.next_alert()).collect();
        // Two pairs, save, restore in a new instance, two more pairs.
        let mut first = Filter::new(Config::default());
        looping(&mut first, 0, 2);
        let bytes = first.tracker().save();
        let mut second = Filter::from_tracker(Tracker::restore(Config::default(), &bytes).unwrap());
        looping(&mut second, 2, 4);
        let got: Vec<_> = std::iter::from_fn(|| second.next_alert()).collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 1);
        // Lines seen before the save are still known as seen.
        looping(&mut second, 0, 4);
        assert_eq!(second.tracker().stats.duplicates, 8);
    }

    #[test]
    fn foreign_and_damaged_states_are_refused() {
        let mut f = Filter::new(Config::default());
        looping(&mut f, 0, 2);
        let good = f.tracker().save();
        assert_eq!(Tracker::restore(Config::default(), b"{}").err(), Some(StateError::Foreign));
        assert_eq!(Tracker::restore(Config::default(), b"").err(), Some(StateError::Foreign));
        assert_eq!(Tracker::restore(Config::default(), b"resetwatch-state 99\n{}").err(), Some(StateError::Version(99)));
        let cut = &good[..good.len() / 2];
        assert!(matches!(Tracker::restore(Config::default(), cut), Err(StateError::Corrupt(_))));
        let mut deep = b"resetwatch-state 1\n".to_vec();
        deep.extend(std::iter::repeat_n(b'[', 10_000));
        assert!(matches!(Tracker::restore(Config::default(), &deep), Err(StateError::Corrupt(_))));
        assert!(Tracker::restore(Config::default(), &good).is_ok());
    }

    #[test]
    fn restoring_into_smaller_bounds_evicts_the_oldest() {
        let mut f = Filter::new(Config::default());
        for i in 0..50 {
            let l = format!("[1] 2026/11/26 14:17:08.{i:06} [WRN] Error applying entries to '$G > S{i}': last sequence mismatch");
            f.ingest_line("n1", 0, l.as_bytes());
        }
        let small = Config { max_keys: 10, ..Config::default() };
        let d = Tracker::restore(small, &f.tracker().save()).unwrap();
        assert_eq!(d.tracked_streams(), 10);
    }
}
