//! Whole log files analysed after the fact: what the log explorer shows
//! (and what any shell that reads files rather than a live pipeline needs).
//!
//! Text arrives in chunks of any size, per source; a line cut between two
//! chunks is kept until its end arrives. A line that is a JSON object is read
//! as a host record (docker `json-file`, Fluent Bit or Vector JSON output), with
//! the source as its tag; any other line as a raw log line. NATS lines never
//! start with `{`, so nothing is lost by telling them apart this way.
//!
//! The host time of each line is the line's own time, else the previous
//! line's of the same source: a run depends on its input only. The end of
//! the input is not the passing of time: a stream still looping in the last
//! line stays firing. [`Analysis::finish`] advances the host clock to the
//! latest time any source reached, so that several files read one after
//! another resolve the same alerts as the same files merged by time.

use crate::alert::storage::StorageAlert;
use crate::alert::{Alert, Notice};
use crate::config::Config;
use crate::detect::tracker::{ResetPair, Stats};
use crate::filter::Filter;
use crate::input::line;
use crate::input::record;
use crate::summary::{StreamRow, Summary};
use crate::text::clock::Micros;
use std::collections::BTreeMap;

/// Reset pairs kept for the timeline; beyond this they are counted only
/// (the per-stream rows still count every pair).
pub const MAX_KEPT_PAIRS: usize = 200_000;

/// Longest line read; the rest of a longer line is skipped (no NATS event
/// line comes near this).
pub const MAX_LINE: usize = 64 * 1024;

/// Per-source reading state.
#[derive(Default)]
struct SourceState {
    /// The start of a line whose end has not arrived yet.
    partial: Vec<u8>,
    /// Skipping the rest of a line longer than [`MAX_LINE`].
    skipping: bool,
    /// Host time of the previous line.
    clock: Micros,
}

/// Counts of what an analysis read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Bytes fed.
    pub bytes: u64,
    /// Non-empty lines read.
    pub lines: u64,
    /// Lines longer than [`MAX_LINE`] (cut).
    pub long_lines: u64,
    /// Reset pairs not kept for the timeline (beyond [`MAX_KEPT_PAIRS`]).
    pub pairs_not_kept: u64,
    /// The earliest and latest line time seen.
    pub first_time: Option<Micros>,
    pub last_time: Option<Micros>,
}

/// One offline run: feed text, then read alerts, pairs and per-stream rows.
pub struct Analysis {
    filter: Filter,
    summary: Summary,
    alerts: Vec<Alert>,
    storage_alerts: Vec<StorageAlert>,
    pairs: Vec<ResetPair>,
    sources: BTreeMap<String, SourceState>,
    totals: Totals,
}

impl Analysis {
    /// An analysis with these options.
    pub fn new(cfg: Config) -> Self {
        let mut filter = Filter::new(cfg);
        filter.record_pairs(true);
        Analysis {
            filter,
            summary: Summary::default(),
            alerts: Vec::new(),
            storage_alerts: Vec::new(),
            pairs: Vec::new(),
            sources: BTreeMap::new(),
            totals: Totals::default(),
        }
    }

    /// The options in force.
    pub fn config(&self) -> &Config {
        self.filter.config()
    }

    /// Reads the next chunk of `source`'s text (newline-separated lines, a
    /// trailing `\r` dropped). The last line, unless the chunk ends with a
    /// newline, waits for the next chunk or [`Analysis::finish`].
    pub fn feed(&mut self, source: &str, chunk: &[u8]) {
        self.totals.bytes += chunk.len() as u64;
        let mut st = self.sources.remove(source).unwrap_or_default();
        let mut rest = chunk;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = (&rest[..nl], &rest[nl + 1..]);
            if st.skipping {
                st.skipping = false;
            } else if st.partial.is_empty() {
                self.line(source, &mut st.clock, &head[..head.len().min(MAX_LINE)]);
            } else {
                let room = MAX_LINE.saturating_sub(st.partial.len());
                st.partial.extend_from_slice(&head[..head.len().min(room)]);
                let whole = std::mem::take(&mut st.partial);
                self.line(source, &mut st.clock, &whole);
                st.partial = whole;
                st.partial.clear();
            }
            rest = tail;
        }
        if !st.skipping && !rest.is_empty() {
            let room = MAX_LINE.saturating_sub(st.partial.len());
            st.partial.extend_from_slice(&rest[..rest.len().min(room)]);
            if rest.len() > room {
                // Read what fits now; skip the rest of the line.
                let whole = std::mem::take(&mut st.partial);
                self.line(source, &mut st.clock, &whole);
                st.skipping = true;
            }
        }
        self.sources.insert(source.to_string(), st);
    }

    /// Reads every source's unfinished last line and advances the host clock
    /// to the latest line time seen. More text may follow.
    pub fn finish(&mut self) {
        let names: Vec<String> = self.sources.keys().cloned().collect();
        for name in names {
            let Some(mut st) = self.sources.remove(&name) else { continue };
            let last = std::mem::take(&mut st.partial);
            if !st.skipping && !last.is_empty() {
                self.line(&name, &mut st.clock, &last);
            }
            st.skipping = false;
            self.sources.insert(name, st);
        }
        if let Some(t) = self.totals.last_time {
            self.filter.advance(t);
        }
        self.drain();
    }

    fn line(&mut self, source: &str, clock: &mut Micros, raw: &[u8]) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            return;
        }
        self.totals.lines += 1;
        if raw.len() >= MAX_LINE {
            self.totals.long_lines += 1;
        }
        let offset = self.filter.config().line_utc_offset;
        let is_record = raw.first() == Some(&b'{');
        let text = if is_record {
            // The line inside, still escaped: its prefix is all `split` reads.
            record::message_start(raw, &self.filter.config().message_keys).map(|s| &raw[s..])
        } else {
            Some(raw)
        };
        // The line's own time, else (a record) the time the record carries.
        let own = text.and_then(|t| line::split(t).time(offset, *clock));
        if let Some(t) = own.or_else(|| if is_record { record::time(raw) } else { None }) {
            *clock = t;
            self.totals.first_time = Some(self.totals.first_time.map_or(t, |f| f.min(t)));
            self.totals.last_time = Some(self.totals.last_time.map_or(t, |l| l.max(t)));
        } else if self.totals.lines > 1 {
            // 1 µs after the line before, as `resetwatch replay` does, so
            // that untimed lines stay distinct and in order.
            *clock += 1;
        }
        if is_record {
            self.filter.ingest_record(source, *clock, raw);
        } else {
            self.filter.ingest_line(source, *clock, raw);
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(p) = self.filter.next_pair() {
            self.summary.add_pair(&p);
            if self.pairs.len() < MAX_KEPT_PAIRS {
                self.pairs.push(p);
            } else {
                self.totals.pairs_not_kept += 1;
            }
        }
        while let Some(n) = self.filter.next_alert() {
            match n {
                Notice::Loop(a) => {
                    self.summary.add_alert(&a);
                    self.alerts.push(a);
                }
                Notice::Storage(a) => self.storage_alerts.push(a),
            }
        }
    }

    /// Every reset-loop alert raised so far, in the order raised.
    pub fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    /// Every reserved-storage alert raised so far (from `/jsz` records), in
    /// the order raised.
    pub fn storage_alerts(&self) -> &[StorageAlert] {
        &self.storage_alerts
    }

    /// The reset pairs kept so far (at most [`MAX_KEPT_PAIRS`]), in the order seen.
    pub fn pairs(&self) -> &[ResetPair] {
        &self.pairs
    }

    /// One row per (source, account, stream) with pairs or alerts, most pairs first.
    pub fn streams(&self) -> Vec<&StreamRow> {
        self.summary.rows()
    }

    /// What was read.
    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// Event lines read behind a prefix no layout knows, per source.
    pub fn unknown_layouts(&self) -> &[crate::filter::UnknownLayout] {
        self.filter.unknown_layouts().all()
    }

    /// The detector's counters (events, duplicates, pairs, ...).
    pub fn stats(&self) -> &Stats {
        &self.filter.tracker().stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Severity, Status};

    const S05: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus/s05_pair_reset_loop_catchup_no_leader_v2.10.25");

    fn read(node: &str) -> Vec<u8> {
        std::fs::read(format!("{S05}/{node}.log")).unwrap()
    }

    fn whole(files: &[(&str, &[u8])]) -> Analysis {
        let mut a = Analysis::new(Config::default());
        for (src, text) in files {
            a.feed(src, text);
        }
        a.finish();
        a
    }

    #[test]
    fn s05_loops_on_n1_and_n2_in_any_chunking() {
        let (n1, n2) = (read("n1"), read("n2"));
        let a = whole(&[("n1.log", &n1), ("n2.log", &n2)]);
        let rows: Vec<_> = a.streams().iter().map(|r| (r.source.as_str(), r.stream.as_str(), r.pairs)).collect();
        assert_eq!(rows, [("n1.log", "ORDERS", 13), ("n2.log", "ORDERS", 13)]);
        for r in a.streams() {
            assert_eq!((r.severity, r.known_leak, r.firing), (Some(Severity::Critical), Some(true), true));
        }
        let alerts: Vec<_> = a.alerts().iter().map(|x| (x.source.as_str(), x.severity, x.pairs_total)).collect();
        assert_eq!(
            alerts,
            [
                ("n1.log", Severity::Warning, 3),
                ("n1.log", Severity::Critical, 10),
                ("n2.log", Severity::Warning, 3),
                ("n2.log", Severity::Critical, 10)
            ]
        );
        assert_eq!(a.pairs().len(), 26);
        // the same text cut anywhere, CRLF line ends, reads the same
        for size in [1, 7, 100, 4096] {
            let mut b = Analysis::new(Config::default());
            for (src, text) in [("n1.log", &n1), ("n2.log", &n2)] {
                let crlf: Vec<u8> = text.iter().flat_map(|&c| if c == b'\n' { vec![b'\r', c] } else { vec![c] }).collect();
                for chunk in crlf.chunks(size) {
                    b.feed(src, chunk);
                }
            }
            b.finish();
            assert_eq!(b.alerts(), a.alerts(), "chunks of {size}");
            assert_eq!(b.totals().lines, a.totals().lines);
        }
    }

    #[test]
    fn file_order_does_not_change_the_alerts() {
        let (n1, n2) = (read("n1"), read("n2"));
        // n2 with every time an hour later: n1's stream resolves by the host clock
        let later = String::from_utf8(n2.clone()).unwrap().replace("2026/11/26 14:", "2026/11/26 15:");
        let ab = whole(&[("n1.log", &n1), ("n2.log", later.as_bytes())]);
        let ba = whole(&[("n2.log", later.as_bytes()), ("n1.log", &n1)]);
        let key = |a: &Analysis| {
            let mut v: Vec<String> = a.alerts().iter().map(Alert::to_json).collect();
            v.sort();
            v
        };
        assert_eq!(key(&ab), key(&ba));
        let n1_status: Vec<_> = ab.alerts().iter().filter(|x| x.source == "n1.log").map(|x| x.status).collect();
        assert_eq!(n1_status.last(), Some(&Status::Resolved));
    }

    #[test]
    fn records_and_raw_lines_read_alike() {
        let n1 = read("n1");
        let records: String = String::from_utf8(n1.clone())
            .unwrap()
            .lines()
            .map(|l| format!("{{\"log\":{},\"stream\":\"stderr\"}}\n", serde_json::to_string(&format!("{l}\n")).unwrap()))
            .collect();
        let raw = whole(&[("n1.log", &n1)]);
        let rec = whole(&[("n1.log", records.as_bytes())]);
        assert_eq!(rec.alerts(), raw.alerts());
    }

    #[test]
    fn long_lines_are_cut_not_kept() {
        let mut a = Analysis::new(Config::default());
        let big = vec![b'x'; 3 * MAX_LINE];
        for chunk in big.chunks(1000) {
            a.feed("f", chunk);
        }
        a.feed("f", b"\n[1] 2026/11/26 14:17:08.000000 [INF] after\nlast");
        a.finish();
        assert_eq!((a.totals().lines, a.totals().long_lines), (3, 1));
        assert_eq!(a.totals().first_time, a.totals().last_time);
        assert!(a.totals().first_time.is_some());
    }

    #[test]
    fn healthy_logs_raise_nothing() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus/s01_healthy_rolling_restart_v2.10.25");
        let mut a = Analysis::new(Config::default());
        for n in ["n1", "n2", "n3"] {
            a.feed(n, &std::fs::read(format!("{dir}/{n}.log")).unwrap());
        }
        a.finish();
        assert!(a.alerts().is_empty() && a.streams().is_empty());
        assert!(a.totals().lines > 100);
    }
}
