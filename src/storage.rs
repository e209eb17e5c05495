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
use crate::clock::{rfc3339, Micros, SECOND};
use crate::json::ObjectWriter;
use crate::jsz::{Jsz, StreamLimit, MAX_STREAMS};
use crate::lru::Lru;
use std::collections::VecDeque;

/// The name of the storage alert.
pub const RESERVED_STORAGE_INFLATED: &str = "nats_reserved_storage_inflated";

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

/// One reserved-storage alert for one server.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct StorageAlert {
    pub status: Status,
    pub severity: Severity,
    /// The log source whose banner printed this server ID, else the
    /// snapshot record's own source.
    pub source: String,
    pub server_name: Option<String>,
    pub server_id: String,
    pub server_version: Option<String>,
    pub known_leak: Option<bool>,
    pub reserved_storage: u64,
    /// Sum of the file streams' `max_bytes` in the snapshot (-1 as 0).
    pub sum_max_bytes: u64,
    pub max_storage: Option<u64>,
    /// Change of `reserved_storage` per minute over the last five minutes
    /// of snapshots (at least one minute).
    pub growth_bytes_per_minute: i64,
    /// When `reserved_storage` reaches `max_storage` at that rate; `None`
    /// when it is not growing (or `max_storage` is unknown).
    pub seconds_to_max_storage: Option<u64>,
    /// Streams in a reset loop on this server now (`<account> > <stream>`).
    pub looping_streams: Vec<String>,
    /// The first snapshot of the two that fired it.
    pub first_seen: Micros,
    /// The latest snapshot.
    pub last_seen: Micros,
    /// The zone to print times in.
    pub offset: Micros,
}

fn mib(n: u64) -> String {
    let m = n as f64 / (1u64 << 20) as f64;
    if m >= 10.0 || m.fract() == 0.0 {
        format!("{m:.0} MiB")
    } else {
        format!("{m:.1} MiB")
    }
}

impl StorageAlert {
    /// Reserved bytes beyond what the streams can hold.
    pub fn excess_bytes(&self) -> u64 {
        self.reserved_storage.saturating_sub(self.sum_max_bytes)
    }

    fn where_(&self) -> String {
        let id: String = self.server_id.chars().take(8).collect();
        match &self.server_name {
            Some(n) => format!("{n} ({id}...)"),
            None => format!("{id}... ({})", self.source),
        }
    }

    /// One sentence a person can act on.
    pub fn summary(&self) -> String {
        if self.status == Status::Resolved {
            return format!(
                "Reserved storage on server {} is back within its streams' max_bytes ({} reserved, {} of max_bytes).",
                self.where_(),
                mib(self.reserved_storage),
                mib(self.sum_max_bytes)
            );
        }
        let growth = match (self.growth_bytes_per_minute, self.seconds_to_max_storage) {
            (g, Some(s)) if g > 0 => format!(
                "; growing by {} a minute, max_storage ({}) reached in about {} min",
                mib(g as u64),
                self.max_storage.map(mib).unwrap_or_default(),
                s.div_ceil(60)
            ),
            (g, None) if g > 0 => format!("; growing by {} a minute", mib(g as u64)),
            _ => "; not growing now".to_string(),
        };
        let looping = if self.looping_streams.is_empty() {
            String::new()
        } else {
            format!("; in a reset loop here: {}", self.looping_streams.join(", "))
        };
        format!(
            "Server {} has {} of storage reserved but its file streams' max_bytes add up to {}: {} leaked by stream resets (nats-server issue 6455){growth}{looping}.",
            self.where_(),
            mib(self.reserved_storage),
            mib(self.sum_max_bytes),
            mib(self.excess_bytes())
        )
    }

    /// What to do, in order.
    pub fn runbook(&self) -> Vec<String> {
        let server = self.server_name.as_deref().unwrap_or(&self.server_id);
        let mut steps = vec![format!(
            "Confirm on {server}: `curl -s 'http://HOST:8222/jsz?accounts=true&streams=true&config=true'`: reserved_storage above the sum of its file streams' config.max_bytes (account reserved_* are limits, not reservations)."
        )];
        if !self.looping_streams.is_empty() {
            steps.push(format!(
                "Stop the reset loop first ({}): follow the nats_stream_reset_loop alert's runbook; until it stops, every reset reserves max_bytes again.",
                self.looping_streams.join(", ")
            ));
        }
        steps.push(format!(
            "Restart {server} (rolling, one server at a time): a server recomputes its reservations when it starts, which releases what leaked."
        ));
        steps.push("Upgrade nats-server to 2.10.26 or 2.11.0 or later, where resets no longer leak reservations (nats-server issue 6455, PR 6457).".to_string());
        steps
    }

    /// Appends the alert as one JSON object.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut w = ObjectWriter::new(out);
        w.str("alert", RESERVED_STORAGE_INFLATED)
            .str("status", self.status.as_str())
            .str("severity", self.severity.as_str())
            .str("source", &self.source)
            .opt_str("server_name", self.server_name.as_deref())
            .str("server_id", &self.server_id)
            .opt_str("server_version", self.server_version.as_deref())
            .opt_bool("known_leak", self.known_leak)
            .num("reserved_storage", clamp(self.reserved_storage))
            .num("sum_max_bytes", clamp(self.sum_max_bytes))
            .num("excess_bytes", clamp(self.excess_bytes()))
            .opt_num("max_storage", self.max_storage.map(clamp))
            .num("growth_bytes_per_minute", self.growth_bytes_per_minute)
            .opt_num("seconds_to_max_storage", self.seconds_to_max_storage.map(clamp))
            .str_list("looping_streams", &self.looping_streams)
            .str("first_seen", &rfc3339(self.first_seen, self.offset))
            .str("last_seen", &rfc3339(self.last_seen, self.offset))
            .str("summary", &self.summary())
            .str_list("runbook", &self.runbook());
        w.finish();
    }

    /// The alert as a JSON string.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

fn clamp(n: u64) -> i64 {
    n.min(i64::MAX as u64) as i64
}

/// The judged part of a server's latest snapshot.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
struct Judged {
    time: Micros,
    reserved: u64,
    sum: u64,
    max_storage: Option<u64>,
    inflated: bool,
}

#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
struct Episode {
    first_seen: Micros,
    last_emit: Micros,
    severity: Severity,
}

/// What is known of one server's storage.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default)]
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
        let mut kept: Vec<(StreamLimit, u8)> = listed.iter().map(|s| (s.clone(), 0)).collect();
        for (s, missed) in self.streams.drain(..) {
            if missed == 0 && kept.len() < MAX_STREAMS && !listed.iter().any(|l| l.account == s.account && l.stream == s.stream) {
                kept.push((s, 1));
            }
        }
        self.streams = kept;
    }
}

impl Storage {
    pub fn new(max_servers: usize) -> Self {
        Storage { servers: Lru::new(max_servers) }
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
        let stale: Vec<String> = self
            .servers
            .iter_oldest_first()
            .filter(|(id, s)| *id != server_id && s.log_source.as_deref() == Some(source))
            .map(|(id, _)| id.clone())
            .collect();
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
        resolved
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
        let twice = |v: bool| previous.as_ref().is_some_and(|p| p.inflated == v) && inflated == v;
        let full = jsz.max_storage.is_some_and(|m| jsz.reserved_storage >= m);
        let by_rate = if full || seconds_to_max.is_some_and(|s| s <= CRITICAL_WITHIN) { Severity::Critical } else { Severity::Warning };
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
    pub fn iter_oldest_first(&self) -> impl Iterator<Item = (&String, &ServerStorage)> {
        self.servers.iter_oldest_first()
    }

    /// Puts back a saved entry.
    pub fn restore(&mut self, id: &str, s: ServerStorage) {
        let mut s = Some(s);
        self.servers.get_or_insert_with(&id.to_string(), || s.take().unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn megabytes_read_well() {
        assert_eq!(mib(64 << 20), "64 MiB");
        assert_eq!(mib(939_524_096), "896 MiB");
        assert_eq!(mib(3 << 19), "1.5 MiB");
    }
}
