//! The reset-loop detector: per (source, account, stream), pairs a reset
//! cause with the reset that follows it, counts pairs in a sliding window,
//! and moves each stream through quiet -> firing -> resolved.
//!
//! Time comes in two kinds and they are never mixed: each source's own clock
//! (its newest line time) and the host's clock (the record time the host
//! gives). Pair gaps, windows, repeats and quiet periods on a source's clock
//! use line times; a source gone silent resolves by the host clock.

use crate::alert::{Alert, Notice, Severity, Status};
use crate::clock::Micros;
use crate::config::Config;
use crate::event::{Cause, Event, StreamRef};
use crate::jsz::Jsz;
use crate::lru::Lru;
use crate::server::{known_leak, ServerInfo};
use crate::storage::{Change, ServerStorage, ServerStorageGauge, Storage, StorageAlert};
use std::collections::VecDeque;

/// How many recent event lines per source are remembered to drop repeats.
const SEEN_PER_SOURCE: usize = 64;
/// How many pair times per stream are kept exactly.
const EXACT_PAIRS: usize = 64;
/// Coarse buckets over the window for pairs beyond the exact ones.
const BUCKETS: usize = 32;
/// Alerts waiting to be delivered; past this the oldest are dropped (and counted).
const MAX_PENDING: usize = 4096;

/// Most reset pairs kept for [`Detector::next_pair`] before the oldest are dropped.
const MAX_PAIR_LOG: usize = 100_000;

/// One reset pair, for timelines and summaries (see [`Detector::record_pairs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairEvent {
    pub source: String,
    pub account: String,
    pub stream: String,
    /// The reset's line time.
    pub time: Micros,
    /// Pairs of this stream in the window ending at `time`.
    pub in_window: u64,
    pub cause: String,
    /// The cause leaks a reservation on affected versions.
    pub leaks: bool,
}

/// Counters that tell what the detector did with its input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub events: u64,
    pub duplicates: u64,
    pub pairs: u64,
    pub resets_without_cause: u64,
    pub evicted_streams: u64,
    pub evicted_sources: u64,
    pub dropped_alerts: u64,
    /// Bumped whenever the state changed (an event taken, an alert resolved):
    /// a shell that persists state saves when this moved.
    pub changes: u64,
    /// `/jsz` snapshots read.
    pub jsz_snapshots: u64,
    /// `/jsz` snapshots that could not be judged (asked for without
    /// `accounts=true&streams=true&config=true`).
    pub jsz_incomplete: u64,
}

/// Counts reset pairs in a sliding window with bounded memory: the newest
/// [`EXACT_PAIRS`] times exactly, older ones in [`BUCKETS`] coarse buckets.
/// The count is exact while the window holds at most `EXACT_PAIRS` pairs;
/// beyond that it may include pairs up to one bucket older than the window.
#[derive(Clone, Debug, Default)]
pub struct PairWindow {
    recent: VecDeque<Micros>,
    spilled: Option<Box<[(i64, u64); BUCKETS]>>,
}

impl PairWindow {
    fn width(window: Micros) -> Micros {
        (window / BUCKETS as i64).max(1) + 1
    }

    /// Records a pair at `t`.
    pub fn push(&mut self, t: Micros, window: Micros) {
        if self.recent.len() == EXACT_PAIRS {
            if let Some(old) = self.recent.pop_front() {
                let slot = old.div_euclid(Self::width(window));
                let buckets = self.spilled.get_or_insert_with(|| Box::new([(i64::MIN, 0); BUCKETS]));
                let b = &mut buckets[slot.rem_euclid(BUCKETS as i64) as usize];
                if b.0 != slot {
                    *b = (slot, 0);
                }
                b.1 += 1;
            }
        }
        self.recent.push_back(t);
    }

    /// Pairs in `(now - window, now]`.
    pub fn count(&self, now: Micros, window: Micros) -> u64 {
        let start = now.saturating_sub(window);
        let exact = self.recent.iter().filter(|&&t| t > start && t <= now).count() as u64;
        let w = Self::width(window);
        let spilled: u64 = self
            .spilled
            .iter()
            .flat_map(|b| b.iter())
            .filter(|(slot, _)| *slot != i64::MIN && slot.saturating_add(1).saturating_mul(w) > start)
            .map(|(_, n)| n)
            .sum();
        exact + spilled
    }

    fn clear(&mut self) {
        self.recent.clear();
        self.spilled = None;
    }
}

/// One source: its clock, its server, what it said lately.
#[derive(Clone, Debug, Default)]
pub(crate) struct Source {
    /// Newest line time seen.
    clock: Option<Micros>,
    /// Host time of its latest event line.
    last_host: Micros,
    server: ServerInfo,
    /// (line time, fingerprint) of recent event lines, oldest first.
    seen: VecDeque<(Micros, u64)>,
    /// The stream of the latest reset cause, for 2.10's nameless
    /// `Will not reset stream, server resources exceeded`.
    last_cause: Option<(StreamRef, Micros)>,
}

impl Source {
    /// True when this line was seen before; remembers it otherwise.
    fn seen_before(&mut self, t: Micros, fingerprint: u64) -> bool {
        if self.seen.iter().any(|&(st, fp)| st == t && fp == fingerprint) {
            return true;
        }
        // Older than everything remembered while the memory is full: a
        // re-read of old lines (rotation), not news.
        if self.seen.len() == SEEN_PER_SOURCE && self.seen.front().is_some_and(|&(st, _)| t < st) {
            return true;
        }
        if self.seen.len() == SEEN_PER_SOURCE {
            self.seen.pop_front();
        }
        // Keep time order so the front is the oldest.
        let at = self.seen.iter().rposition(|&(st, _)| st <= t).map_or(0, |i| i + 1);
        self.seen.insert(at, (t, fingerprint));
        false
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StreamKey {
    source: String,
    stream: StreamRef,
}

/// An episode: from a stream's first pair after a quiet period to its
/// resolution (or to the next quiet period, if it never fired).
#[derive(Clone, Debug)]
struct Episode {
    first_seen: Micros,
    last_seen: Micros,
    pairs_total: u64,
    leaking_resets_total: u64,
    declined_resets_total: u64,
    last_cause: Option<String>,
    /// `Some` while firing.
    severity: Option<Severity>,
    last_emit: Micros,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct StreamState {
    /// A reset cause waiting for its reset: (line time, cause).
    pending: Option<(Micros, Cause)>,
    pairs: PairWindow,
    last_pair: Option<Micros>,
    episode: Option<Episode>,
    /// Every pair since this stream was first tracked by this detector
    /// (not saved), for metrics: it goes when the stream is evicted.
    counted: Counted,
}

/// Reset pairs, and those whose cause leaks a reservation, of one stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counted {
    pairs: u64,
    leaking: u64,
}

/// One tracked stream as metrics show it ([`Detector::stream_counts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamCounts {
    pub source: String,
    /// From the source's banner, when seen.
    pub server_name: Option<String>,
    pub account: String,
    pub stream: String,
    /// Reset pairs since the stream was first tracked by this detector.
    pub pairs_total: u64,
    /// Of those, the pairs whose cause leaks a reservation on affected versions.
    pub leaking_resets_total: u64,
    /// The severity of its alert while one is firing.
    pub firing: Option<Severity>,
}

/// The detector: feed it events, collect alerts.
pub struct Detector {
    cfg: Config,
    sources: Lru<String, Source>,
    streams: Lru<StreamKey, StreamState>,
    /// Streams that are firing now (few).
    firing: Vec<StreamKey>,
    /// Storage reservations per server, from `/jsz` snapshots.
    storage: Storage,
    outbox: VecDeque<Notice>,
    /// Earliest host time at which a silent source's alert may resolve.
    next_host_due: Micros,
    /// Reset pairs kept for timelines, when asked for.
    pair_log: Option<VecDeque<PairEvent>>,
    pub stats: Stats,
}

impl Detector {
    /// A detector with these options.
    pub fn new(cfg: Config) -> Self {
        Detector {
            sources: Lru::new(cfg.max_sources),
            streams: Lru::new(cfg.max_keys),
            storage: Storage::new(cfg.max_sources),
            cfg,
            firing: Vec::new(),
            outbox: VecDeque::new(),
            next_host_due: Micros::MAX,
            pair_log: None,
            stats: Stats::default(),
        }
    }

    /// The options in force.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Number of (source, account, stream) keys tracked.
    pub fn tracked_streams(&self) -> usize {
        self.streams.len()
    }

    /// Every tracked stream's counters and alert, least recently seen
    /// first: as many as `max_keys` at most, and a stream the detector
    /// evicts is gone from here too, so metrics made from this are bounded
    /// like the detector.
    pub fn stream_counts(&self) -> Vec<StreamCounts> {
        self.streams
            .iter_oldest_first()
            .map(|(k, st)| StreamCounts {
                source: k.source.clone(),
                server_name: self.sources.peek(&k.source).and_then(|s| s.server.name.clone()),
                account: k.stream.account.clone(),
                stream: k.stream.stream.clone(),
                pairs_total: st.counted.pairs,
                leaking_resets_total: st.counted.leaking,
                firing: st.episode.as_ref().and_then(|e| e.severity),
            })
            .collect()
    }

    /// Every server's reserved storage from its latest judged `/jsz`
    /// snapshot (bounded by `max_sources`, like the storage alerts).
    pub fn server_storage(&self) -> Vec<ServerStorageGauge> {
        self.storage
            .gauges()
            .into_iter()
            .map(|mut g| {
                g.server_name = self.sources.peek(&g.source).and_then(|s| s.server.name.clone());
                g
            })
            .collect()
    }

    /// Number of sources tracked.
    pub fn tracked_sources(&self) -> usize {
        self.sources.len()
    }

    /// Keeps every reset pair for [`Detector::next_pair`] (off by default:
    /// a filter in a pipeline needs only alerts).
    pub fn record_pairs(&mut self, on: bool) {
        self.pair_log = on.then(VecDeque::new);
    }

    /// The next recorded reset pair, oldest first.
    pub fn next_pair(&mut self) -> Option<PairEvent> {
        self.pair_log.as_mut()?.pop_front()
    }

    /// The next alert due, oldest first.
    pub fn next_alert(&mut self) -> Option<Notice> {
        self.outbox.pop_front()
    }

    /// Puts an alert back at the head of the queue (a shell could not deliver it yet).
    pub fn requeue_front(&mut self, alert: Notice) {
        self.outbox.push_front(alert);
    }

    /// Number of servers whose `/jsz` snapshots or banner IDs are tracked.
    pub fn tracked_servers(&self) -> usize {
        self.storage.len()
    }

    /// The host time at which [`Detector::tick`] next has work.
    pub fn next_host_due(&self) -> Micros {
        self.next_host_due
    }

    /// Alerts waiting.
    pub fn pending_alerts(&self) -> usize {
        self.outbox.len()
    }

    /// What is known of a source's server.
    pub fn server(&self, source: &str) -> Option<&ServerInfo> {
        self.sources.peek(&source.to_string()).map(|s| &s.server)
    }

    /// Advances the host clock: resolves firing streams whose source has
    /// been silent for the quiet period. Cheap unless something is due.
    #[inline]
    pub fn tick(&mut self, host_now: Micros) {
        // Every record ticks, and almost never is anything due: the check
        // stays inline, the work (and its stack frame) out of line.
        if host_now >= self.next_host_due {
            self.resolve_due(host_now);
        }
    }

    #[inline(never)]
    fn resolve_due(&mut self, host_now: Micros) {
        let mut next = Micros::MAX;
        for key in self.firing.clone() {
            let last_host = self.sources.peek(&key.source).map_or(Micros::MIN, |s| s.last_host);
            if host_now.saturating_sub(last_host) >= self.cfg.quiet {
                self.resolve(&key);
            } else {
                next = next.min(last_host.saturating_add(self.cfg.quiet));
            }
        }
        self.next_host_due = next;
    }

    /// Takes one event line from `source`. `time` is the line's own time
    /// (UTC), `None` when it has none; `fingerprint` identifies the line's
    /// text so that a line seen twice counts once.
    pub fn observe(&mut self, source: &str, time: Option<Micros>, host_now: Micros, fingerprint: u64, event: Event) {
        self.tick(host_now);
        self.stats.events += 1;
        let t = time.unwrap_or(host_now);
        let src_key = source.to_string();
        let (src, evicted) = self.sources.get_or_insert_with(&src_key, Source::default);
        if src.seen_before(t, fingerprint) {
            self.stats.duplicates += 1;
            return;
        }
        src.last_host = host_now;
        self.stats.changes += 1;
        let advanced = src.clock.is_none_or(|c| t > c);
        if advanced {
            src.clock = Some(t);
        }
        let clock = src.clock.unwrap_or(t);
        if let Event::Banner(b) = &event {
            src.server.learn(b);
        }
        if let Event::Banner(crate::event::Banner::Id(id)) = &event {
            for (old, change) in self.storage.link(id, source) {
                self.emit_storage(&old, change);
            }
        }
        if evicted.is_some() {
            self.stats.evicted_sources += 1;
        }
        if advanced {
            self.resolve_quiet(source, clock);
        }
        match event {
            Event::ApplyError(sref, cause) if cause.resets => self.cause(source, sref, t, cause),
            Event::BadState(sref) => self.cause(source, sref, t, Cause::bad_state()),
            Event::Reset(sref) => self.reset(source, sref, t, host_now),
            Event::ResetDeclined(sref, _) => self.declined(source, sref, t),
            _ => {}
        }
    }

    fn cause(&mut self, source: &str, sref: StreamRef, t: Micros, cause: Cause) {
        if let Some(src) = self.sources.peek_mut(&source.to_string()) {
            src.last_cause = Some((sref.clone(), t));
        }
        let (st, _) = stream_entry(&mut self.streams, &mut self.stats, &mut self.firing, source, sref);
        st.pending = Some((t, cause));
    }

    fn reset(&mut self, source: &str, sref: StreamRef, t: Micros, host_now: Micros) {
        let (gap, window, quiet) = (self.cfg.pair_gap, self.cfg.window, self.cfg.quiet);
        let (st, key) = stream_entry(&mut self.streams, &mut self.stats, &mut self.firing, source, sref);
        let Some((cause_t, cause)) = st.pending.take().filter(|(ct, _)| (0..=gap).contains(&(t - ct))) else {
            self.stats.resets_without_cause += 1;
            return;
        };
        self.stats.pairs += 1;
        // A stream quiet for the quiet period starts a new episode.
        if st.last_pair.is_some_and(|lp| t - lp >= quiet) && st.episode.as_ref().is_some_and(|e| e.severity.is_none()) {
            st.episode = None;
            st.pairs.clear();
        }
        st.last_pair = Some(t);
        st.pairs.push(t, window);
        let in_window = st.pairs.count(t, window);
        let ep = st.episode.get_or_insert(Episode {
            first_seen: cause_t,
            last_seen: t,
            pairs_total: 0,
            leaking_resets_total: 0,
            declined_resets_total: 0,
            last_cause: None,
            severity: None,
            last_emit: t,
        });
        if let Some(log) = self.pair_log.as_mut() {
            if log.len() >= MAX_PAIR_LOG {
                log.pop_front();
            }
            log.push_back(PairEvent {
                source: key.source.clone(),
                account: key.stream.account.clone(),
                stream: key.stream.stream.clone(),
                time: t,
                in_window,
                cause: cause.text.clone(),
                leaks: cause.leaks,
            });
        }
        st.counted.pairs += 1;
        st.counted.leaking += cause.leaks as u64;
        ep.pairs_total += 1;
        ep.leaking_resets_total += cause.leaks as u64;
        ep.last_seen = t;
        ep.last_cause = Some(cause.text);
        let by_count = if in_window >= self.cfg.critical_pairs as u64 {
            Some(Severity::Critical)
        } else if in_window >= self.cfg.warning_pairs as u64 {
            Some(Severity::Warning)
        } else {
            None
        };
        let emit = match (ep.severity, by_count) {
            (None, Some(s)) => {
                ep.severity = Some(s);
                self.firing.push(key.clone());
                true
            }
            (Some(cur), by) => {
                let new = by.map_or(cur, |b| b.max(cur));
                let rose = new > cur;
                ep.severity = Some(new);
                rose || t - ep.last_emit >= self.cfg.repeat
            }
            (None, None) => false,
        };
        if emit {
            ep.last_emit = t;
            self.emit(&key, Status::Firing);
        }
        self.next_host_due = self.next_host_due.min(host_now.saturating_add(quiet));
    }

    fn declined(&mut self, source: &str, sref: Option<StreamRef>, t: Micros) {
        let gap = self.cfg.pair_gap;
        let sref = match sref {
            Some(s) => s,
            // 2.10 names no stream: it follows the apply error that caused it.
            None => match self.sources.peek(&source.to_string()).and_then(|s| s.last_cause.clone()) {
                Some((s, ct)) if (0..=gap).contains(&(t - ct)) => s,
                _ => return,
            },
        };
        let (st, key) = stream_entry(&mut self.streams, &mut self.stats, &mut self.firing, source, sref);
        st.pending = None;
        let Some(ep) = st.episode.as_mut() else { return };
        ep.declined_resets_total += 1;
        ep.last_seen = ep.last_seen.max(t);
        if ep.severity.is_some_and(|s| s < Severity::Critical) {
            ep.severity = Some(Severity::Critical);
            ep.last_emit = t;
            self.emit(&key, Status::Firing);
        }
    }

    /// Resolves this source's firing streams that have been quiet, by its own clock.
    fn resolve_quiet(&mut self, source: &str, clock: Micros) {
        let quiet = self.cfg.quiet;
        let due: Vec<StreamKey> = self
            .firing
            .iter()
            .filter(|k| k.source == source)
            .filter(|k| self.streams.peek(k).and_then(|s| s.last_pair).is_some_and(|lp| clock - lp >= quiet))
            .cloned()
            .collect();
        for k in due {
            self.resolve(&k);
        }
    }

    fn resolve(&mut self, key: &StreamKey) {
        self.stats.changes += 1;
        self.emit(key, Status::Resolved);
        self.firing.retain(|k| k != key);
        if let Some(st) = self.streams.peek_mut(key) {
            st.episode = None;
            st.pairs.clear();
        }
    }

    fn emit(&mut self, key: &StreamKey, status: Status) {
        let Some(st) = self.streams.peek(key) else { return };
        let Some(ep) = &st.episode else { return };
        let server = self.sources.peek(&key.source).map(|s| s.server.clone()).unwrap_or_default();
        let version = server
            .version
            .clone()
            .or_else(|| self.cfg.server_versions.get(&key.source).cloned())
            .or_else(|| server.name.as_ref().and_then(|n| self.cfg.server_versions.get(n).cloned()))
            .or_else(|| self.cfg.server_version.clone());
        let clock = self.sources.peek(&key.source).and_then(|s| s.clock).unwrap_or(ep.last_seen);
        let known_leak = version.as_deref().and_then(known_leak);
        let max_bytes =
            server.id.as_deref().and_then(|id| self.storage.max_bytes(id, &key.stream.account, &key.stream.stream));
        let estimated_leaked_bytes = max_bytes.map(|m| match known_leak {
            Some(false) => 0,
            _ => ep.leaking_resets_total.saturating_mul(m.max(0) as u64),
        });
        let alert = Alert {
            status,
            severity: ep.severity.unwrap_or(Severity::Warning),
            source: key.source.clone(),
            server_name: server.name,
            server_id: server.id,
            known_leak,
            server_version: version,
            account: key.stream.account.clone(),
            stream: key.stream.stream.clone(),
            pairs_in_window: st.pairs.count(clock.max(ep.last_seen), self.cfg.window),
            window: self.cfg.window,
            pairs_total: ep.pairs_total,
            leaking_resets_total: ep.leaking_resets_total,
            declined_resets_total: ep.declined_resets_total,
            last_cause: ep.last_cause.clone(),
            first_seen: ep.first_seen,
            last_seen: ep.last_seen,
            offset: self.cfg.line_utc_offset,
            max_bytes,
            estimated_leaked_bytes,
        };
        self.push(Notice::Loop(alert));
    }

    fn push(&mut self, n: Notice) {
        if self.outbox.len() >= MAX_PENDING {
            self.outbox.pop_front();
            self.stats.dropped_alerts += 1;
        }
        self.outbox.push_back(n);
    }

    /// Takes one `/jsz` snapshot read from a record of `source`.
    pub fn observe_jsz(&mut self, source: &str, host_now: Micros, jsz: &Jsz) {
        self.tick(host_now);
        self.stats.jsz_snapshots += 1;
        if !jsz.complete {
            self.stats.jsz_incomplete += 1;
        }
        let time = jsz.now.unwrap_or(host_now);
        let change = self.storage.observe(jsz, source, time, self.cfg.repeat);
        if std::mem::take(&mut self.storage.verdict_changed) || change.is_some() {
            self.stats.changes += 1;
        }
        if let Some(change) = change {
            self.emit_storage(&jsz.server_id, change);
        }
    }

    fn emit_storage(&mut self, server_id: &str, c: Change) {
        let log_source = c.log_source.clone();
        let server = log_source.as_ref().and_then(|s| self.sources.peek(s)).map(|s| s.server.clone()).unwrap_or_default();
        let version = server
            .version
            .clone()
            .or_else(|| log_source.as_ref().and_then(|s| self.cfg.server_versions.get(s).cloned()))
            .or_else(|| server.name.as_ref().and_then(|n| self.cfg.server_versions.get(n).cloned()))
            .or_else(|| self.cfg.server_version.clone());
        // Streams looping on this server now: their source printed this ID.
        let looping_streams = match (&log_source, c.status) {
            (Some(src), Status::Firing) => self
                .firing
                .iter()
                .filter(|k| k.source == *src)
                .map(|k| format!("{} > {}", k.stream.account, k.stream.stream))
                .collect(),
            _ => Vec::new(),
        };
        let alert = StorageAlert {
            status: c.status,
            severity: c.severity,
            source: log_source.unwrap_or(c.source),
            server_name: server.name,
            server_id: server_id.to_string(),
            known_leak: version.as_deref().and_then(known_leak),
            server_version: version,
            reserved_storage: c.reserved,
            sum_max_bytes: c.sum,
            max_storage: c.max_storage,
            growth_bytes_per_minute: c.growth,
            seconds_to_max_storage: c.seconds_to_max,
            looping_streams,
            first_seen: c.first_seen,
            last_seen: c.time,
            offset: self.cfg.line_utc_offset,
        };
        self.push(Notice::Storage(alert));
    }
}

impl Detector {
    pub(crate) fn snapshot(&self) -> crate::state::Snapshot<&Source, &StreamKey, &StreamState, &ServerStorage> {
        let (mut outbox, mut storage_outbox) = (Vec::new(), Vec::new());
        for (i, n) in self.outbox.iter().enumerate() {
            match n {
                Notice::Loop(a) => outbox.push(a.clone()),
                Notice::Storage(a) => storage_outbox.push((i, a.clone())),
            }
        }
        crate::state::Snapshot {
            sources: self.sources.iter_oldest_first().map(|(k, v)| (k.clone(), v)).collect(),
            streams: self.streams.iter_oldest_first().collect(),
            firing: self.firing.iter().collect(),
            outbox,
            storage_outbox,
            next_host_due: self.next_host_due,
            stats: self.stats.clone(),
            storage: self.storage.iter_oldest_first().map(|(k, v)| (k.clone(), v)).collect(),
        }
    }

    pub(crate) fn from_snapshot(
        cfg: Config,
        snap: crate::state::Snapshot<Source, StreamKey, StreamState, ServerStorage>,
    ) -> Detector {
        let mut d = Detector::new(cfg);
        for (k, v) in snap.sources {
            let mut v = Some(v);
            d.sources.get_or_insert_with(&k, || v.take().unwrap_or_default());
        }
        for (k, v) in snap.streams {
            let mut v = Some(v);
            d.streams.get_or_insert_with(&k, || v.take().unwrap_or_default());
        }
        d.firing = snap.firing.into_iter().filter(|k| d.streams.peek(k).is_some()).collect();
        for (k, v) in snap.storage {
            d.storage.restore(&k, v);
        }
        // The two kinds back in one queue, each storage alert at its place.
        let mut loops = snap.outbox.into_iter();
        let mut storage = snap.storage_outbox.into_iter().peekable();
        loop {
            let at = d.outbox.len();
            let next = match storage.next_if(|(i, _)| *i <= at) {
                Some((_, a)) => Some(Notice::Storage(a)),
                None => loops.next().map(Notice::Loop).or_else(|| storage.next().map(|(_, a)| Notice::Storage(a))),
            };
            let Some(n) = next else { break };
            d.outbox.push_back(n);
        }
        d.next_host_due = snap.next_host_due;
        d.stats = snap.stats;
        d
    }
}

/// The state of a stream, created when new; evicting the least recently
/// seen stream when full. A free function so that callers keep using the
/// detector's other fields while they hold the state.
fn stream_entry<'a>(
    streams: &'a mut Lru<StreamKey, StreamState>,
    stats: &mut Stats,
    firing: &mut Vec<StreamKey>,
    source: &str,
    sref: StreamRef,
) -> (&'a mut StreamState, StreamKey) {
    let key = StreamKey { source: source.to_string(), stream: sref };
    let (st, evicted) = streams.get_or_insert_with(&key, StreamState::default);
    if let Some((old, _)) = evicted {
        stats.evicted_streams += 1;
        firing.retain(|k| *k != old);
    }
    (st, key)
}

// The saved state's shape (see `state`): unchanged since version 1, and
// every counter of `Stats` optional.
crate::state::carry_struct!(default Stats {
    events, duplicates, pairs, resets_without_cause, evicted_streams, evicted_sources,
    dropped_alerts, changes, jsz_snapshots, jsz_incomplete,
});
crate::state::carry_struct!(PairWindow { recent, spilled });
crate::state::carry_struct!(Source { clock, last_host, server, seen, last_cause });
crate::state::carry_struct!(StreamKey { source, stream });
crate::state::carry_struct!(Episode {
    first_seen, last_seen, pairs_total, leaking_resets_total, declined_resets_total,
    last_cause, severity, last_emit,
});
// `counted` is for metrics, which count from the start of this process.
crate::state::carry_struct!(transient StreamState { pending, pairs, last_pair, episode } { counted });

