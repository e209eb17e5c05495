//! Storage reservations per server, from `/jsz` snapshots: the second sign
//! of nats-server issue 6455. A server reserves each file stream's
//! `max_bytes` once; every leaking reset reserves it again, so
//! `reserved_storage` climbs above the sum of its streams' `max_bytes`.
//!
//! A snapshot is *inflated* when `reserved_storage` exceeds that sum. One
//! inflated snapshot proves nothing: a stream being reset is missing from
//! the listing for a moment while its reservation is still counted (seen
//! in the s05 run on n2). So the alert fires on two consecutive inflated
//! snapshots of one server, and resolves on two consecutive ones that are
//! not. Servers are known by `server_id`, which the log banner prints as
//! `ID:`; that is how loop alerts and storage alerts meet.

use crate::alert::{Severity, Status};
use crate::detect::lru::Lru;
use crate::input::jsz::{Jsz, StreamLimit, MAX_STREAMS};
use crate::text::clock::{Micros, SECOND};
use std::collections::{HashMap, VecDeque};

/// Growth is measured over at most this much of the past...
const GROWTH_WINDOW: Micros = 300 * SECOND;
/// ...and over no less than this, so that one reset seen a second after
/// the previous poll is not taken for a rate of gigabytes a minute.
const MIN_GROWTH_SPAN: Micros = 60 * SECOND;
/// Samples for the growth rate are kept at least this far apart.
const SAMPLE_EVERY: Micros = 10 * SECOND;
const MAX_SAMPLES: usize = 32;
/// Critical when reserved storage reaches `max_storage` within this long
/// at the current growth, or has reached it.
const CRITICAL_WITHIN: u64 = 3600;

/// The judged part of a server's latest snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Judged {
    time: Micros,
    reserved: u64,
    sum: u64,
    max_storage: Option<u64>,
    inflated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Episode {
    first_seen: Micros,
    last_emit: Micros,
    severity: Severity,
}

/// What is known of one server's storage.
#[derive(Clone, Debug, Default)]
pub(crate) struct ServerStorage {
    /// The log source whose banner printed this server ID.
    log_source: Option<String>,
    /// The record source of the latest snapshot.
    jsz_source: String,
    /// Time of the latest snapshot (judged or not), to drop repeats.
    last_time: Option<Micros>,
    /// The previous judged snapshot.
    last: Option<Judged>,
    /// Streams of the latest snapshots, each with the number of snapshots
    /// since it was last listed (a stream is kept through one snapshot
    /// that misses it: it may be in the middle of a reset).
    streams: Vec<(StreamLimit, u8)>,
    /// (time, reserved) samples for the growth rate, oldest first.
    samples: VecDeque<(Micros, u64)>,
    episode: Option<Episode>,
}

/// One server's reserved storage as metrics show it
/// ([`crate::Tracker::server_storage`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerStorageGauge {
    /// As the storage alert's: the log source whose banner printed the
    /// server's ID, else the snapshots' source.
    pub source: String,
    /// From that log source's banner, when seen.
    pub server_name: Option<String>,
    pub server_id: String,
    /// `/jsz` `reserved_storage` in the latest judged snapshot.
    pub reserved_storage: u64,
    /// Reserved storage beyond the sum of the file streams' `max_bytes`
    /// (0 when below): what resets leaked.
    pub excess_bytes: u64,
}

/// What a snapshot changed, for the detector to turn into an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    pub status: Status,
    pub severity: Severity,
    pub first_seen: Micros,
    pub reserved: u64,
    pub sum: u64,
    pub max_storage: Option<u64>,
    pub growth: i64,
    pub seconds_to_max: Option<u64>,
    pub time: Micros,
    pub source: String,
    pub log_source: Option<String>,
}

/// Every server's storage, least recently seen evicted first.
pub(crate) struct Storage {
    servers: Lru<String, ServerStorage>,
    /// Set when a snapshot changed a server's verdict (inflated or not), so
    /// that a shell that saves state on change keeps the previous verdict.
    pub verdict_changed: bool,
    /// The server each log source last linked ([`Storage::link`]), so that
    /// a banner `ID:` line finds the one it replaces without a look at
    /// every server. An entry may outlive its server or link (then it is
    /// checked and skipped); pruned when it outgrows the servers.
    linked: HashMap<String, String>,
    /// `false` when a restored state gave one log source to two servers
    /// (no state this code writes does): `link` then looks at every server.
    linked_exact: bool,
}

impl ServerStorage {
    fn growth(&self, now: Micros, reserved: u64) -> i64 {
        let Some(&(t0, r0)) = self.samples.front() else { return 0 };
        let span = (now - t0).max(MIN_GROWTH_SPAN) as i128;
        let per_minute = (reserved as i128 - r0 as i128) * (60 * SECOND) as i128 / span;
        per_minute.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    fn sample(&mut self, now: Micros, reserved: u64) {
        while self.samples.front().is_some_and(|&(t, _)| now - t > GROWTH_WINDOW) {
            self.samples.pop_front();
        }
        if self.samples.back().is_none_or(|&(t, _)| now - t >= SAMPLE_EVERY) {
            if self.samples.len() == MAX_SAMPLES {
                self.samples.pop_front();
            }
            self.samples.push_back((now, reserved));
        }
    }

    fn remember_streams(&mut self, listed: &[StreamLimit]) {
        let names: std::collections::HashSet<(&str, &str)> =
            listed.iter().map(|l| (l.account.as_str(), l.stream.as_str())).collect();
        let mut carried = Vec::new();
        for (s, missed) in self.streams.drain(..) {
            if missed == 0 && !names.contains(&(s.account.as_str(), s.stream.as_str())) {
                carried.push((s, 1));
            }
        }
        let mut kept: Vec<(StreamLimit, u8)> = listed.iter().map(|s| (s.clone(), 0)).collect();
        kept.extend(carried.into_iter().take(MAX_STREAMS.saturating_sub(kept.len())));
        self.streams = kept;
    }
}

impl Storage {
    pub fn new(max_servers: usize) -> Self {
        Storage { servers: Lru::new(max_servers), verdict_changed: false, linked: HashMap::new(), linked_exact: true }
    }

    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// `max_bytes` of a stream on a server, from its latest snapshots.
    pub fn max_bytes(&self, server_id: &str, account: &str, stream: &str) -> Option<i64> {
        let s = self.servers.peek(&server_id.to_string())?;
        s.streams.iter().find(|(l, _)| l.account == account && l.stream == stream).map(|(l, _)| l.max_bytes)
    }

    /// A log source printed `server_id` (banner `ID:`). A source that
    /// printed another ID before was restarted, which releases every
    /// reservation: that server's storage alert resolves.
    pub fn link(&mut self, server_id: &str, source: &str) -> Vec<(String, Change)> {
        let mut resolved = Vec::new();
        let is_stale = |id: &str, s: &ServerStorage| id != server_id && s.log_source.as_deref() == Some(source);
        // Every server but this one that `source` printed the ID of: the
        // one `linked` names, as each link leaves one server per source.
        let stale: Vec<String> = if self.linked_exact {
            let last = self.linked.get(source).filter(|id| self.servers.peek(*id).is_some_and(|s| is_stale(id, s)));
            last.cloned().into_iter().collect()
        } else {
            self.servers.iter_oldest_first().filter(|(id, s)| is_stale(id, s)).map(|(id, _)| id.clone()).collect()
        };
        for id in stale {
            let Some(s) = self.servers.peek_mut(&id) else { continue };
            s.log_source = None;
            if let (Some(ep), Some(last)) = (s.episode.take(), &s.last) {
                resolved.push((
                    id,
                    Change {
                        status: Status::Resolved,
                        severity: ep.severity,
                        first_seen: ep.first_seen,
                        reserved: last.reserved,
                        sum: last.sum,
                        max_storage: last.max_storage,
                        growth: 0,
                        seconds_to_max: None,
                        time: last.time,
                        source: s.jsz_source.clone(),
                        log_source: Some(source.to_string()),
                    },
                ));
            }
        }
        let (s, _) = self.servers.get_or_insert_with(&server_id.to_string(), ServerStorage::default);
        s.log_source = Some(source.to_string());
        self.note_link(source, server_id);
        resolved
    }

    /// Keeps `linked` for a link of `source` to `id`, within twice the
    /// servers kept: past that, only the entries still true stay.
    fn note_link(&mut self, source: &str, id: &str) {
        match self.linked.get_mut(source) {
            Some(last) if last == id => {}
            Some(last) => id.clone_into(last),
            None => {
                self.linked.insert(source.to_string(), id.to_string());
            }
        }
        if self.linked.len() > 2 * self.servers.len().max(1) {
            let servers = &self.servers;
            self.linked.retain(|src, id| servers.peek(id.as_str()).is_some_and(|s| s.log_source.as_deref() == Some(src)));
        }
    }

    /// Takes one snapshot from the record source `source`, at `time` (its
    /// `now`, else the host's time). Returns the alert change it makes, if any.
    /// `None` as well for a repeat (a snapshot no newer than the latest).
    pub fn observe(&mut self, jsz: &Jsz, source: &str, time: Micros, repeat: Micros) -> Option<Change> {
        let (s, _) = self.servers.get_or_insert_with(&jsz.server_id, ServerStorage::default);
        if s.last_time.is_some_and(|t| time <= t) {
            return None;
        }
        s.last_time = Some(time);
        s.jsz_source = source.to_string();
        if !jsz.complete {
            return None;
        }
        s.remember_streams(&jsz.streams);
        let inflated = jsz.reserved_storage > jsz.sum_max_bytes;
        let previous = s.last.replace(Judged {
            time,
            reserved: jsz.reserved_storage,
            sum: jsz.sum_max_bytes,
            max_storage: jsz.max_storage,
            inflated,
        });
        let growth = s.growth(time, jsz.reserved_storage);
        s.sample(time, jsz.reserved_storage);
        let seconds_to_max = match jsz.max_storage {
            Some(max) if growth > 0 => Some((max.saturating_sub(jsz.reserved_storage) as u128 * 60 / growth as u128) as u64),
            _ => None,
        };
        self.verdict_changed |= previous.as_ref().is_none_or(|p| p.inflated != inflated);
        let twice = |v: bool| previous.as_ref().is_some_and(|p| p.inflated == v) && inflated == v;
        let full = jsz.max_storage.is_some_and(|m| jsz.reserved_storage >= m);
        let by_rate =
            if full || seconds_to_max.is_some_and(|s| s <= CRITICAL_WITHIN) { Severity::Critical } else { Severity::Warning };
        let status = if twice(true) {
            let prev_time = previous.as_ref().map_or(time, |p| p.time);
            let emit = match &mut s.episode {
                None => {
                    s.episode = Some(Episode { first_seen: prev_time, last_emit: time, severity: by_rate });
                    true
                }
                Some(ep) => {
                    let rose = by_rate > ep.severity;
                    ep.severity = ep.severity.max(by_rate);
                    if rose || time - ep.last_emit >= repeat {
                        ep.last_emit = time;
                        true
                    } else {
                        false
                    }
                }
            };
            if !emit {
                return None;
            }
            Status::Firing
        } else if twice(false) && s.episode.is_some() {
            Status::Resolved
        } else {
            return None;
        };
        let ep = s.episode.clone()?;
        if status == Status::Resolved {
            s.episode = None;
        }
        Some(Change {
            status,
            severity: ep.severity,
            first_seen: ep.first_seen,
            reserved: jsz.reserved_storage,
            sum: jsz.sum_max_bytes,
            max_storage: jsz.max_storage,
            growth,
            seconds_to_max,
            time,
            source: source.to_string(),
            log_source: s.log_source.clone(),
        })
    }

    /// Entries oldest first, for saving.
    /// Each server with a judged snapshot, least recently seen first; the
    /// detector fills in `server_name`.
    pub fn gauges(&self) -> Vec<ServerStorageGauge> {
        self.servers
            .iter_oldest_first()
            .filter_map(|(id, s)| {
                let last = s.last.as_ref()?;
                Some(ServerStorageGauge {
                    source: s.log_source.clone().unwrap_or_else(|| s.jsz_source.clone()),
                    server_name: None,
                    server_id: id.clone(),
                    reserved_storage: last.reserved,
                    excess_bytes: last.reserved.saturating_sub(last.sum),
                })
            })
            .collect()
    }

    pub fn iter_oldest_first(&self) -> impl Iterator<Item = (&String, &ServerStorage)> {
        self.servers.iter_oldest_first()
    }

    /// Puts back a saved entry.
    pub fn restore(&mut self, id: &str, s: ServerStorage) {
        if let Some(source) = s.log_source.clone() {
            let taken = self.linked.get(&source).is_some_and(|other| {
                other != id && self.servers.peek(other.as_str()).is_some_and(|o| o.log_source.as_ref() == Some(&source))
            });
            self.linked_exact &= !taken;
            self.linked.insert(source, id.to_string());
        }
        let mut s = Some(s);
        self.servers.get_or_insert_with(&id.to_string(), || s.take().unwrap_or_default());
    }
}

// The saved state's shape (see `state`), as of version 2.
crate::text::carry::carry_struct!(Judged { time, reserved, sum, max_storage, inflated });
crate::text::carry::carry_struct!(Episode { first_seen, last_emit, severity });
crate::text::carry::carry_struct!(ServerStorage { log_source, jsz_source, last_time, last, streams, samples, episode });

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::alert::storage::{mib, StorageAlert, RESERVED_STORAGE_INFLATED};
    use crate::alert::{Alert, Notice};
    use crate::config::Config;
    use crate::detect::tracker::Tracker;
    use crate::filter::{Filter, Seen};
    use crate::input::jsz::tests::captured;
    use crate::text::clock::rfc3339;

    const MIB: u64 = 1 << 20;
    const LOGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus");
    const N1_ID: &str = "NA3UI3NMQPXBAYAL46I4BZLCXSR22W44NRPLGBKGS57KQFDQJANOG4OP";

    /// A captured document as Fluent Bit's `exec` input + `json` parser
    /// hands it over (its members at the top; `tr -d '\n'`), at its `now`.
    fn feed(f: &mut Filter, name: &str) -> Vec<Notice> {
        let doc = captured(name).replace('\n', "");
        let now = crate::input::jsz::parse(doc.as_bytes()).and_then(|j| j.now).unwrap();
        assert_eq!(f.ingest_record("nats.jsz", now, doc.as_bytes()), Seen::Jsz, "{name}");
        std::iter::from_fn(|| f.next_alert()).collect()
    }

    fn storage(notices: &[Notice]) -> Vec<&StorageAlert> {
        notices.iter().filter_map(Notice::as_storage).collect()
    }

    /// A corpus log, line by line as source `node`, at each line's time.
    fn log(f: &mut Filter, run: &str, node: &str) -> Vec<Notice> {
        let text = std::fs::read_to_string(format!("{LOGS}/{run}/{node}.log")).unwrap();
        let mut out = Vec::new();
        for l in text.lines() {
            let t = crate::input::line::split(l.as_bytes()).time(0, 0).unwrap_or(0);
            f.ingest_line(node, t, l.as_bytes());
            out.extend(std::iter::from_fn(|| f.next_alert()));
        }
        out
    }

    const S05: &str = "s05_pair_reset_loop_catchup_no_leader_v2.10.25";

    #[test]
    fn s05_two_inflated_snapshots_fire_with_their_growth() {
        let mut f = Filter::new(Config::default());
        assert!(feed(&mut f, "s05_v2.10.25/victim_alone_n1.json").is_empty(), "one snapshot proves nothing");
        let got = feed(&mut f, "s05_v2.10.25/end_n1.json");
        let a = storage(&got)[0].clone();
        assert_eq!(got.len(), 1);
        assert_eq!((a.status, a.severity), (Status::Firing, Severity::Warning));
        assert_eq!((a.server_id.as_str(), a.source.as_str()), (N1_ID, "nats.jsz"), "no log source printed this ID");
        assert_eq!((a.reserved_storage, a.sum_max_bytes, a.excess_bytes()), (896 * MIB, 64 * MIB, 832 * MIB));
        // 768 MiB at 14:18:03.598, 896 MiB at 14:18:43.652: 40 s apart,
        // measured over the one-minute minimum.
        assert_eq!(a.growth_bytes_per_minute, 128 * MIB as i64);
        // (20 GiB - 896 MiB) at 128 MiB a minute
        assert_eq!(a.seconds_to_max_storage, Some((20480 - 896) * 60 / 128));
        assert_eq!(rfc3339(a.first_seen, 0), "2026-11-26T14:18:03.598266Z");
        assert_eq!(rfc3339(a.last_seen, 0), "2026-11-26T14:18:43.652507Z");
        let v: serde_json::Value = serde_json::from_str(&a.to_json()).unwrap();
        assert_eq!(v["alert"], "nats_reserved_storage_inflated");
        assert_eq!(v["excess_bytes"], 832 * MIB);
        assert_eq!(v["max_storage"], 20u64 << 30);
        assert!(v["server_name"].is_null() && v["looping_streams"] == serde_json::json!([]));
        assert!(a.summary().contains("896 MiB of storage reserved"), "{}", a.summary());
        // The same snapshot again (a re-read) changes nothing.
        assert!(feed(&mut f, "s05_v2.10.25/end_n1.json").is_empty());
        assert_eq!(f.tracker().stats.jsz_snapshots, 3);
    }

    #[test]
    fn s02_single_leak_fires_flat_and_the_fixed_release_stays_quiet() {
        // 2.10.25: n2's one reset leaked ORDERS' 64 MiB; it stays leaked.
        let mut f = Filter::new(Config::default());
        let mut got = Vec::new();
        for when in ["t10s", "t30s", "end"] {
            for n in ["n1", "n2", "n3"] {
                got.extend(feed(&mut f, &format!("s02_v2.10.25/{when}_{n}.json")));
            }
        }
        let alerts = storage(&got);
        assert_eq!(alerts.len(), 1, "fired at t30s; end is 46 s later, within repeat_seconds");
        let a = alerts[0];
        assert_eq!((a.server_id.get(..8), a.reserved_storage, a.sum_max_bytes), (Some("NABNR74N"), 160 * MIB, 96 * MIB));
        assert_eq!((a.growth_bytes_per_minute, a.seconds_to_max_storage, a.severity), (0, None, Severity::Warning));
        assert!(a.summary().contains("not growing now"), "{}", a.summary());
        // 2.10.26: the same reset, reservations flat.
        let mut f = Filter::new(Config::default());
        for when in ["t10s", "t30s", "end"] {
            for n in ["n1", "n2", "n3"] {
                assert!(feed(&mut f, &format!("s02_v2.10.26/{when}_{n}.json")).is_empty(), "{when}_{n}");
            }
        }
        assert_eq!(f.tracker().tracked_servers(), 3);
    }

    #[test]
    fn healthy_restarts_stay_quiet() {
        let mut f = Filter::new(Config::default());
        for run in ["s01_v2.10.25", "s03_v2.10.25"] {
            for when in ["before", "mid", "after"] {
                for n in ["n1", "n2", "n3"] {
                    if run == "s01_v2.10.25" && when == "mid" {
                        continue;
                    }
                    assert!(feed(&mut f, &format!("{run}/{when}_{n}.json")).is_empty(), "{run} {when}_{n}");
                }
            }
        }
    }

    #[test]
    fn loop_alerts_gain_max_bytes_and_the_leak_estimate() {
        let mut f = Filter::new(Config::default());
        // n1's snapshot first: the join is by server ID, whenever it came.
        feed(&mut f, "s05_v2.10.25/victim_alone_n1.json");
        let loops: Vec<Alert> = log(&mut f, S05, "n1").into_iter().filter_map(Notice::into_loop).collect();
        let last = loops.last().unwrap();
        assert_eq!((last.server_id.as_deref(), last.max_bytes), (Some(N1_ID), Some(64 << 20)));
        assert_eq!(last.leaking_resets_total, 10);
        assert_eq!(last.estimated_leaked_bytes, Some(640 * MIB));
        let v: serde_json::Value = serde_json::from_str(&last.to_json()).unwrap();
        assert_eq!((v["max_bytes"].as_i64(), v["estimated_leaked_bytes"].as_u64()), (Some(64 << 20), Some(640 * MIB)));
        // n2 sent no snapshot: unknown, not zero.
        let n2: Vec<Alert> = log(&mut f, S05, "n2").into_iter().filter_map(Notice::into_loop).collect();
        assert!(n2.iter().all(|a| a.max_bytes.is_none() && a.estimated_leaked_bytes.is_none()));
    }

    #[test]
    fn the_storage_alert_names_the_server_and_its_looping_streams() {
        let mut f = Filter::new(Config::default());
        log(&mut f, S05, "n1");
        feed(&mut f, "s05_v2.10.25/victim_alone_n1.json");
        let got = feed(&mut f, "s05_v2.10.25/end_n1.json");
        let a = storage(&got)[0];
        assert_eq!(
            (a.source.as_str(), a.server_name.as_deref(), a.server_version.as_deref()),
            ("n1", Some("n1"), Some("2.10.25"))
        );
        assert_eq!(a.known_leak, Some(true));
        assert_eq!(a.looping_streams, ["$G > ORDERS"]);
        assert!(a.summary().contains("in a reset loop here: $G > ORDERS"), "{}", a.summary());
        assert!(a.runbook().iter().any(|s| s.contains("Stop the reset loop first")));
        // n1 restarts: a new banner ID on its source resolves the old server's alert.
        let new_id =
            "[8368] 2026/11/26 14:19:03.639329 [INF]   ID:       NA7VZU54HO5WWOWQ4RGJQNNXZQDZX37LYLGIRQYYNK6SEYPYQOBWXRIN";
        f.ingest_line("n1", 0, new_id.as_bytes());
        let got: Vec<Notice> = std::iter::from_fn(|| f.next_alert()).collect();
        let r = storage(&got);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].status, r[0].server_id.as_str()), (Status::Resolved, N1_ID));
    }

    /// The servers a log source is linked to (banner `ID:`), oldest first.
    fn linked_to(st: &Storage, source: &str) -> Vec<String> {
        st.servers
            .iter_oldest_first()
            .filter(|(_, s)| s.log_source.as_deref() == Some(source))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// A new ID unlinks the server its source printed before, found through
    /// `linked` (no look at every server), through evictions and with
    /// `linked` bounded; a restored state giving one source to two
    /// servers is read by looking at every server.
    #[test]
    fn a_banner_id_unlinks_the_previous_server_of_its_source() {
        let mut st = Storage::new(4);
        for i in 0..150 {
            let source = ["a", "b", "c"][i % 3];
            st.link(&format!("ID{i}"), source);
            assert_eq!(linked_to(&st, source), [format!("ID{i}")], "after link {i}");
            for other in ["a", "b", "c"] {
                assert!(linked_to(&st, other).len() <= 1, "{other} after link {i}");
            }
            assert!(st.linked.len() <= 2 * 4 + 1, "{} entries", st.linked.len());
        }
        let mut st = Storage::new(4);
        for id in ["X", "Y"] {
            st.restore(id, ServerStorage { log_source: Some("a".into()), ..ServerStorage::default() });
        }
        assert!(!st.linked_exact);
        st.link("Z", "a");
        assert_eq!(linked_to(&st, "a"), ["Z"]);
    }

    #[test]
    fn the_previous_verdict_survives_a_restart_of_resetwatch() {
        let mut f = Filter::new(Config::default());
        feed(&mut f, "s05_v2.10.25/victim_alone_n1.json");
        let saved = f.tracker().save();
        let mut g = Filter::from_tracker(Tracker::restore(Config::default(), &saved).unwrap());
        let got = feed(&mut g, "s05_v2.10.25/end_n1.json");
        assert_eq!(storage(&got).len(), 1, "the second inflated snapshot after the restart fires");
        assert_eq!(storage(&got)[0].growth_bytes_per_minute, 128 * MIB as i64, "growth samples survive too");
        // And storage alerts waiting in the outbox survive a save.
        let mut h = Filter::new(Config::default());
        feed(&mut h, "s05_v2.10.25/victim_alone_n1.json");
        let doc = captured("s05_v2.10.25/end_n1.json");
        h.ingest_record("nats.jsz", 0, doc.as_bytes());
        let restored = Tracker::restore(Config::default(), &h.tracker().save()).unwrap();
        let mut h2 = Filter::from_tracker(restored);
        assert_eq!(h2.next_alert(), h.next_alert());
        assert!(h2.next_alert().and_then(|n| n.as_storage().cloned()).is_none());
    }

    /// A state with something in every member: sources with banners,
    /// streams past the exact pair window (spilled buckets), waiting alerts
    /// of both kinds, servers with judged snapshots and samples.
    fn rich_state() -> Vec<u8> {
        let mut f = Filter::new(Config { warning_pairs: 1, ..Config::default() });
        log(&mut f, S05, "n1");
        let mut host_now = 0;
        for name in ["s05_v2.10.25/victim_alone_n1.json", "s05_v2.10.25/end_n1.json"] {
            let doc = captured(name).replace('\n', "");
            host_now = crate::input::jsz::parse(doc.as_bytes()).and_then(|j| j.now).unwrap();
            f.ingest_record("nats.jsz", host_now, doc.as_bytes());
        }
        for i in 0..70 {
            let t = format!("2026/11/26 14:{:02}:{:02}", 40 + i / 60, i % 60);
            let a = format!("[1] {t}.000000 [WRN] Error applying entries to '$G > SPILL': stream store EOF");
            let r = format!("[1] {t}.000500 [WRN] Resetting stream cluster state for '$G > SPILL'");
            f.ingest_line("n1", host_now, a.as_bytes());
            f.ingest_line("n1", host_now, r.as_bytes());
        }
        f.tracker().save()
    }

    #[test]
    fn a_state_written_by_the_serde_build_reads_and_writes_the_same_bytes() {
        // `tests/data/state/rich_v3_serde.state` is `rich_state()` as a
        // build with serde's derives on the same types writes it (made by
        // adding `#[derive(serde::Serialize)]` to every state type and
        // saving with `serde_json::to_writer`): the codec writes the same
        // bytes, and reads them back losslessly.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/state/rich_v3_serde.state");
        let old = std::fs::read(path).unwrap();
        let now = rich_state();
        assert!(now.len() > 8_000, "the fixture covers spilled buckets, both outboxes and servers");
        assert_eq!(String::from_utf8_lossy(&now), String::from_utf8_lossy(&old));
        let restored = Tracker::restore(Config { warning_pairs: 1, ..Config::default() }, &old).unwrap();
        assert_eq!(restored.save(), old);
        for member in [
            "\"spilled\":[[",
            "\"storage_outbox\":[[",
            "\"samples\":[[",
            "\"last_cause\":[{",
            "\"heads\":[{",
            "\"rule\":\"window\"",
        ] {
            assert!(String::from_utf8_lossy(&old).contains(member), "{member}");
        }
    }

    #[test]
    fn a_version_2_state_written_by_the_serde_build_still_restores() {
        // `rich_v2_serde.state`: the same run saved by the version 2 build.
        // It restores to the detector this build makes from the same run:
        // the members version 3 added take the values they meant then.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/state/rich_v2_serde.state");
        let v2 = std::fs::read(path).unwrap();
        assert!(v2.starts_with(b"resetwatch-state 2\n"));
        let cfg = Config { warning_pairs: 1, ..Config::default() };
        let restored = Tracker::restore(cfg.clone(), &v2).unwrap();
        let mut a = Filter::from_tracker(restored);
        let mut b = Filter::from_tracker(Tracker::restore(cfg, &rich_state()).unwrap());
        let drain = |f: &mut Filter| std::iter::from_fn(|| f.next_alert()).collect::<Vec<Notice>>();
        assert_eq!(drain(&mut a), drain(&mut b), "the waiting alerts, `rule` included");
        // The loop goes on the same way in both.
        for i in 70..75 {
            let t = format!("2026/11/26 14:41:{:02}", i % 60);
            for f in [&mut a, &mut b] {
                f.ingest_line(
                    "n1",
                    0,
                    format!("[1] {t}.000000 [WRN] Error applying entries to '$G > SPILL': stream store EOF").as_bytes(),
                );
                f.ingest_line(
                    "n1",
                    0,
                    format!("[1] {t}.000500 [WRN] Resetting stream cluster state for '$G > SPILL'").as_bytes(),
                );
            }
        }
        assert_eq!(drain(&mut a), drain(&mut b));
        assert_eq!(a.tracker().stats.pairs, b.tracker().stats.pairs);
    }

    #[test]
    fn a_version_1_state_still_loads() {
        // A version 1 state: no storage members, no /jsz counters, no
        // max_bytes in alerts.
        let mut f = Filter::new(Config { warning_pairs: 1, ..Config::default() });
        log(&mut f, S05, "n1");
        let l = "[8368] 2026/11/26 14:30:00.000000 [WRN] Error applying entries to '$G > ORDERS': stream store EOF";
        f.ingest_line("n1", 0, l.as_bytes());
        f.ingest_line(
            "n1",
            0,
            l.replace(
                "Error applying entries to '$G > ORDERS': stream store EOF",
                "Resetting stream cluster state for '$G > ORDERS'",
            )
            .as_bytes(),
        );
        assert!(f.tracker().pending_alerts() > 0);
        let v2 = f.tracker().save();
        let body: serde_json::Value = serde_json::from_slice(&v2[v2.iter().position(|&c| c == b'\n').unwrap() + 1..]).unwrap();
        let mut v1 = body.clone();
        let obj = v1.as_object_mut().unwrap();
        obj.remove("storage");
        obj.remove("storage_outbox");
        for k in ["jsz_snapshots", "jsz_incomplete"] {
            obj["stats"].as_object_mut().unwrap().remove(k);
        }
        for a in obj["outbox"].as_array_mut().unwrap() {
            a.as_object_mut().unwrap().remove("max_bytes");
            a.as_object_mut().unwrap().remove("estimated_leaked_bytes");
        }
        let bytes = format!("resetwatch-state 1\n{v1}");
        let mut restored =
            Filter::from_tracker(Tracker::restore(Config { warning_pairs: 1, ..Config::default() }, bytes.as_bytes()).unwrap());
        let want: Vec<Notice> = std::iter::from_fn(|| f.next_alert()).collect();
        let got: Vec<Notice> = std::iter::from_fn(|| restored.next_alert()).collect();
        assert_eq!(got, want);
        assert!(restored.tracker().save().starts_with(format!("resetwatch-state {}\n", crate::state::VERSION).as_bytes()));
    }

    #[test]
    fn both_kinds_keep_their_order_through_a_save() {
        // Loop alerts on n2 and n3 and storage alerts, interleaved in the queue.
        let mut f = Filter::new(Config::default());
        let docs = std::fs::read_to_string(format!("{SEQ}/jsz/{PAIR_25}/n2.jsonl")).unwrap();
        let log = std::fs::read_to_string(format!("{SEQ}/cluster/{PAIR_25}/n2.log")).unwrap();
        let mut items: Vec<(Micros, bool, &str)> =
            docs.lines().map(|d| (crate::input::jsz::parse(d.as_bytes()).unwrap().now.unwrap(), true, d)).collect();
        items.extend(log.lines().map(|l| (crate::input::line::split(l.as_bytes()).time(0, 0).unwrap_or(0), false, l)));
        items.sort_by_key(|(t, _, _)| *t);
        for (t, doc, text) in items {
            if doc {
                f.ingest_record("nats.jsz", t, text.as_bytes());
            } else {
                f.ingest_line("n2", t, text.as_bytes());
            }
        }
        let kinds: Vec<&str> = {
            let restored = Tracker::restore(Config::default(), &f.tracker().save()).unwrap();
            let mut g = Filter::from_tracker(restored);
            let got: Vec<Notice> = std::iter::from_fn(|| g.next_alert()).collect();
            let want: Vec<Notice> = std::iter::from_fn(|| f.next_alert()).collect();
            assert_eq!(got, want);
            want.iter().map(|n| n.name()).collect()
        };
        assert_eq!(
            kinds,
            [RESERVED_STORAGE_INFLATED, crate::alert::RESET_LOOP, RESERVED_STORAGE_INFLATED, crate::alert::RESET_LOOP]
        );
    }

    #[test]
    fn snapshots_in_every_record_shape_reach_the_detector() {
        let doc = captured("s05_v2.10.25/end_n1.json");
        let line = doc.replace('\n', "");
        let esc = |s: &str| serde_json::to_string(s).unwrap();
        let table: Vec<(&str, String, Seen)> = vec![
            ("exec + json parser", line.clone(), Seen::Jsz),
            ("exec, no parser", format!("{{\"exec\":{}}}", esc(&line)), Seen::Jsz),
            ("vector bytes decoding", format!("{{\"message\":{},\"source_type\":\"http_client\"}}", esc(&doc)), Seen::Jsz),
            ("escaped under log", format!("{{\"log\":{}}}", esc(&line)), Seen::Jsz),
            ("nested under log", format!("{{\"log\":{line}}}"), Seen::Jsz),
            ("a JSON log line that is not /jsz", r#"{"log":"{\"level\":\"info\"}"}"#.to_string(), Seen::Other),
            ("cut short (Buf_Size too small)", line[..line.len() / 2].to_string(), Seen::NoLine),
            ("routed back with an alert", format!("{},\"resetwatch\":{{}}}}", &line[..line.len() - 1]), Seen::Alert),
        ];
        for (what, rec, want) in table {
            let mut f = Filter::new(Config::default());
            assert_eq!(f.ingest_record("nats.jsz", 0, rec.as_bytes()), want, "{what}");
        }
    }

    #[test]
    fn the_fluent_bit_answer_carries_the_storage_alert() {
        let mut f = Filter::new(Config::default());
        let mut out = Vec::new();
        let first = captured("s05_v2.10.25/victim_alone_n1.json").replace('\n', "");
        assert!(!f.filter_one("nats.jsz", 0, first.as_bytes(), &mut out));
        let second = captured("s05_v2.10.25/end_n1.json").replace('\n', "");
        assert!(f.filter_one("nats.jsz", 0, second.as_bytes(), &mut out));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["resetwatch"]["alert"], "nats_reserved_storage_inflated");
        assert_eq!(v["reserved_storage"], 939_524_096u64, "the record's own members are kept");
    }

    #[test]
    fn servers_and_streams_stay_bounded() {
        let cfg = Config { max_sources: 10, ..Config::default() };
        let mut f = Filter::new(cfg);
        let doc: serde_json::Value = serde_json::from_str(&captured("s05_v2.10.25/end_n1.json")).unwrap();
        // ORDERS (64 MiB, file) repeated under 1500 names on each of 15 servers.
        let orders = doc["account_details"][0]["stream_detail"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "ORDERS")
            .unwrap()
            .clone();
        let many: Vec<serde_json::Value> = (0..1500)
            .map(|k| {
                let mut s = orders.clone();
                s["name"] = format!("S{k}").into();
                s
            })
            .collect();
        let mut d = doc.clone();
        d["account_details"][0]["stream_detail"] = many.into();
        for i in 0..15 {
            d["server_id"] = format!("N{i:055}").into();
            assert_eq!(f.ingest_record("nats.jsz", 0, d.to_string().as_bytes()), Seen::Jsz);
        }
        assert_eq!(f.tracker().tracked_servers(), 10);
        let j = crate::input::jsz::parse(d.to_string().as_bytes()).unwrap();
        assert_eq!(j.streams.len(), crate::input::jsz::MAX_STREAMS, "kept for lookups: capped");
        assert_eq!(j.sum_max_bytes, 1500 * 64 * MIB, "summed: every stream");
    }

    /// Sequences the real-cluster test captured (tests/data/jsz, one
    /// compact document a line, about one a second per node) and the logs
    /// of the same runs (tests/data/cluster).
    const SEQ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    pub(crate) const PAIR_25: &str = "pair_loop_catchup_no_leader_v2.10.25";
    const PAIR_26: &str = "pair_loop_catchup_no_leader_v2.10.26";

    enum Input {
        Doc(String),
        Line(String),
    }

    /// Every node's documents (as Fluent Bit `exec` records, tag
    /// `nats.jsz`) and, with `with_logs`, log lines (source `nX`), merged
    /// by time; what the filter emits along the way.
    pub(crate) fn sequence(run: &str, with_logs: bool) -> Vec<Notice> {
        let mut items: Vec<(Micros, Input)> = Vec::new();
        for n in ["n1", "n2", "n3"] {
            let docs = std::fs::read_to_string(format!("{SEQ}/jsz/{run}/{n}.jsonl")).unwrap();
            for d in docs.lines() {
                let t = crate::input::jsz::parse(d.as_bytes()).and_then(|j| j.now).unwrap();
                items.push((t, Input::Doc(d.to_string())));
            }
            if with_logs {
                let log = std::fs::read_to_string(format!("{SEQ}/cluster/{run}/{n}.log")).unwrap();
                for l in log.lines() {
                    let t = crate::input::line::split(l.as_bytes()).time(0, 0).unwrap_or(0);
                    items.push((t, Input::Line(format!("{n}\t{l}"))));
                }
            }
        }
        items.sort_by_key(|(t, _)| *t);
        let mut f = Filter::new(Config::default());
        let mut out = Vec::new();
        for (t, item) in items {
            match item {
                Input::Doc(d) => assert_eq!(f.ingest_record("nats.jsz", t, d.as_bytes()), Seen::Jsz),
                Input::Line(l) => {
                    let (src, l) = l.split_once('\t').unwrap();
                    f.ingest_line(src, t, l.as_bytes());
                }
            }
            out.extend(std::iter::from_fn(|| f.next_alert()));
        }
        out
    }

    #[test]
    fn captured_loop_fires_on_the_second_inflated_snapshot_of_each_looping_server() {
        let got = sequence(PAIR_25, false);
        let alerts = storage(&got);
        for (id, first, last_reserved, sum) in [
            ("NAH7TCHX", "2026-11-26T18:19:30.560934Z", 905_969_664, 96 * MIB),
            ("NBU5KJDY", "2026-11-26T18:19:30.561543Z", 872_415_232, 64 * MIB),
        ] {
            let mine: Vec<_> = alerts.iter().filter(|a| a.server_id.starts_with(id)).collect();
            assert!(!mine.is_empty(), "{id}");
            // 18:19:30 is the first inflated snapshot, 18:19:31 the second.
            assert_eq!(rfc3339(mine[0].first_seen, 0), first, "{id}");
            assert!(rfc3339(mine[0].last_seen, 0).starts_with("2026-11-26T18:19:31."), "{id}");
            assert_eq!(mine[0].excess_bytes(), 64 * MIB, "one reset's max_bytes");
            // Warning first; critical once 20 GiB is less than an hour away
            // at the measured rate; nothing more within repeat_seconds (60 s).
            let sev: Vec<Severity> = mine.iter().map(|a| a.severity).collect();
            assert_eq!(sev, [Severity::Warning, Severity::Critical], "{id}");
            assert!(mine.iter().all(|a| a.status == Status::Firing && a.first_seen == mine[0].first_seen));
            let (w, c) = (mine[0], mine[1]);
            assert!(w.seconds_to_max_storage.unwrap() > 3600 && c.seconds_to_max_storage.unwrap() <= 3600, "{id}");
            assert!(c.reserved_storage < last_reserved && c.sum_max_bytes == sum, "{id}");
            // 64 MiB every 5 s is 768 MiB a minute: the first snapshots span
            // less than the one-minute minimum, so the rate shows less.
            let g = c.growth_bytes_per_minute as u64;
            assert!((300 * MIB..=768 * MIB).contains(&g), "{id}: {} MiB/min", g / MIB);
            assert_eq!(c.seconds_to_max_storage, Some((c.max_storage.unwrap() - c.reserved_storage) * 60 / g), "{id}");
            assert_eq!(w.growth_bytes_per_minute, 64 * MIB as i64, "{id}: one reset within the first minute");
        }
        assert!(alerts.iter().all(|a| !a.server_id.starts_with("NAOHS6AA")), "n1 never inflated");
    }

    #[test]
    fn captured_fixed_release_with_a_stream_missing_mid_reset_stays_quiet() {
        // On 2.10.26 n2's snapshot at 18:20:58.796 lists no ORDERS while
        // ORDERS is being reset: 96 MiB reserved, 32 MiB summed. One
        // inflated snapshot, then flat again: no alert.
        let docs = std::fs::read_to_string(format!("{SEQ}/jsz/{PAIR_26}/n2.jsonl")).unwrap();
        let judged: Vec<bool> = docs
            .lines()
            .map(|d| crate::input::jsz::parse(d.as_bytes()).unwrap())
            .map(|j| j.reserved_storage > j.sum_max_bytes)
            .collect();
        assert_eq!(judged.iter().filter(|&&x| x).count(), 1, "the capture holds the mid-reset snapshot");
        assert!(sequence(PAIR_26, false).is_empty());
        assert!(sequence(PAIR_26, true).iter().all(|n| n.as_storage().is_none()), "the loop alerts, storage does not");
    }

    #[test]
    fn captured_healthy_rolling_restart_stays_quiet() {
        // Every node restarted once (a new server ID each time), a first
        // snapshot with nothing reserved yet: no alert of either kind.
        assert!(sequence("healthy_rolling_restart_v2.10.25", false).is_empty());
        assert!(sequence("healthy_rolling_restart_v2.10.25", true).is_empty());
    }

    #[test]
    fn captured_loop_joins_logs_and_snapshots_by_server_id() {
        let got = sequence(PAIR_25, true);
        for (node, id) in [("n2", "NAH7TCHX"), ("n3", "NBU5KJDY")] {
            let loops: Vec<&Alert> = got.iter().filter_map(Notice::as_loop).filter(|a| a.source == node).collect();
            let crit = loops.iter().find(|a| a.severity == Severity::Critical).unwrap_or_else(|| panic!("{node}"));
            assert_eq!(crit.server_id.as_deref().map(|i| &i[..8]), Some(id));
            assert_eq!(crit.max_bytes, Some(64 << 20), "{node}: ORDERS' max_bytes from its latest snapshot");
            assert_eq!(crit.estimated_leaked_bytes, Some(crit.leaking_resets_total * 64 * MIB));
            assert_eq!(crit.leaking_resets_total, 10);
            let st: Vec<&StorageAlert> =
                got.iter().filter_map(Notice::as_storage).filter(|a| a.server_id.starts_with(id)).collect();
            assert_eq!((st[0].source.as_str(), st[0].server_name.as_deref()), (node, Some(node)));
            assert_eq!((st[0].server_version.as_deref(), st[0].known_leak), (Some("2.10.25"), Some(true)));
            // The storage alert fired after the first reset pair, before the
            // loop alert (3 pairs): no loop yet. A minute later, looping.
            assert!(st[0].looping_streams.is_empty(), "{node}");
            assert_eq!(st.last().unwrap().looping_streams, ["$G > ORDERS"], "{node}");
            // What the loop alert estimates from the logs is what the next
            // snapshot shows leaked.
            let docs = std::fs::read_to_string(format!("{SEQ}/jsz/{PAIR_25}/{node}.jsonl")).unwrap();
            let next = docs
                .lines()
                .map(|d| crate::input::jsz::parse(d.as_bytes()).unwrap())
                .find(|j| j.now.unwrap() >= crit.last_seen)
                .unwrap();
            assert_eq!(next.reserved_storage - next.sum_max_bytes, crit.estimated_leaked_bytes.unwrap(), "{node}");
        }
    }

    #[test]
    fn state_is_marked_changed_when_the_verdict_flips_not_on_every_snapshot() {
        // Shells save state when `changes` moved: that must happen when a
        // server's verdict changes, so a restart keeps the previous verdict.
        let docs = std::fs::read_to_string(format!("{SEQ}/jsz/{PAIR_25}/n2.jsonl")).unwrap();
        let mut f = Filter::new(Config::default());
        let mut moved = Vec::new();
        for d in docs.lines() {
            let before = f.tracker().stats.changes;
            f.ingest_record("nats.jsz", 0, d.as_bytes());
            let j = crate::input::jsz::parse(d.as_bytes()).unwrap();
            if f.tracker().stats.changes != before {
                moved.push((j.reserved_storage > j.sum_max_bytes, f.tracker().pending_alerts()));
            }
        }
        // The first snapshot (flat), the first inflated one, the second
        // (alert) and the critical alert: not the 60 others.
        assert_eq!(moved, [(false, 0), (true, 0), (true, 1), (true, 2)]);
    }

    #[test]
    fn megabytes_read_well() {
        assert_eq!(mib(64 << 20), "64 MiB");
        assert_eq!(mib(939_524_096), "896 MiB");
        assert_eq!(mib(3 << 19), "1.5 MiB");
    }
}
