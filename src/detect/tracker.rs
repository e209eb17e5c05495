//! The reset-loop detector: per (source, account, stream), pairs a reset
//! cause with the reset that follows it, counts pairs in a sliding window,
//! and moves each stream through quiet -> firing -> resolved.
//!
//! Time comes in two kinds and they are never mixed: each source's own clock
//! and the host's clock (the record time the host gives). A source's clock
//! is its *arrival timeline*: its line times in the order the lines came,
//! with every step back of the server's clock taken out (see [`Source`]), so
//! pair gaps, windows, repeat intervals and quiet periods measure what the
//! server did even across a daylight-saving fall-back or an NTP step. A
//! source gone silent resolves by the host clock. The rules are stated in
//! `docs/detection.md`.

use crate::alert::storage::StorageAlert;
use crate::alert::{Alert, Notice, Rule, Severity, Status};
use crate::config::Config;
use crate::detect::lru::Lru;
use crate::detect::server::ServerInfo;
use crate::detect::storage::{Change, ServerStorage, ServerStorageGauge, Storage};
use crate::input::event::{Banner, Cause, CauseRef, EventRef, Names, StreamRef};
use crate::input::jsz::Jsz;
use crate::text::clock::Micros;
use crate::version::known_leak;
use std::borrow::Borrow;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

/// How many recent event lines per source are remembered to drop repeats.
const SEEN_PER_SOURCE: usize = 64;
/// Heads (lines a re-read may start with) remembered per source: the
/// source's first line and the latest ones after it.
const HEADS_PER_SOURCE: usize = 8;
/// A line this much older than the newest line of its source is a step
/// back of the server's clock (or a re-read); less is the few microseconds
/// by which concurrent goroutines' lines can come out of order.
pub const STEP_BACK: Micros = crate::text::clock::SECOND;
/// The decline reason of the disk-full end state.
const RESOURCES_EXCEEDED: &str = "server resources exceeded";

/// When an event line happened, as the detector is told it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineTime {
    /// The line's own time stamp, printed in its text to the microsecond
    /// (nats-server's own, or a wrapper's RFC 3339 time with a fraction):
    /// with the source and the text it names one line, so a line seen
    /// before is a repeat.
    Own(Micros),
    /// A time that does not tell identical lines apart: the record's or
    /// the host's (`logtime: false`), or a stamp printed to the second.
    /// Such lines are never dropped as repeats.
    Shared(Micros),
}
/// How many pair times per stream are kept exactly.
const EXACT_PAIRS: usize = 64;
/// Coarse buckets over the window for pairs beyond the exact ones.
const BUCKETS: usize = 32;
/// Alerts waiting to be delivered; past this the oldest are dropped (and counted).
const MAX_PENDING: usize = 4096;

/// Most reset pairs kept for [`Tracker::next_pair`] before the oldest are dropped.
const MAX_PAIR_LOG: usize = 100_000;

/// One reset pair, for timelines and summaries (see [`Tracker::record_pairs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetPair {
    /// The log source of the pair.
    pub source: String,
    /// The JetStream account.
    pub account: String,
    /// The stream that was reset.
    pub stream: String,
    /// The reset's line time.
    pub time: Micros,
    /// Pairs of this stream in the window ending at `time`.
    pub in_window: u64,
    /// The cause's text (`last sequence mismatch`, ...).
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
    /// `Some(true)` while `recent` is in time order, as a stream's pairs
    /// almost always are: [`PairWindow::count`] then looks at its two ends
    /// only. `None` when not known (not saved; worked out at the next push).
    ordered: Option<bool>,
}

impl PairWindow {
    fn width(window: Micros) -> Micros {
        (window / BUCKETS as i64).max(1) + 1
    }

    /// Records a pair at `t`.
    pub fn push(&mut self, t: Micros, window: Micros) {
        let ordered = match self.ordered {
            Some(o) => o,
            None => in_order(&self.recent),
        };
        self.ordered = Some(ordered && self.recent.back().is_none_or(|&last| last <= t));
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
        let mut n = if self.ordered == Some(true) { self.ordered_count(start, now) } else { self.scanned_count(start, now) };
        if let Some(buckets) = &self.spilled {
            let last = Self::last_slot_before(start, Self::width(window));
            for &(slot, k) in buckets.iter() {
                if slot != i64::MIN && slot.saturating_add(1) > last {
                    n += k;
                }
            }
        }
        n
    }

    /// The bucket test `(slot + 1) * w > start` (saturating) as
    /// `slot + 1 > last_slot_before(start, w)`, for `w > 0`: the division
    /// is made once, where the overflow-checked multiply was a call in wasm
    /// for each bucket. Nothing exceeds `i64::MAX`.
    fn last_slot_before(start: Micros, w: Micros) -> i64 {
        if start == i64::MAX {
            i64::MAX
        } else {
            start.div_euclid(w)
        }
    }

    /// The pairs of `recent` in `(start, now]`, one by one.
    fn scanned_count(&self, start: Micros, now: Micros) -> u64 {
        // Plain loops over the deque's two halves: the iterator adapters
        // cost several times the comparisons in the wasm build.
        let (a, b) = self.recent.as_slices();
        let mut n = 0u64;
        for &t in a {
            n += (t > start && t <= now) as u64;
        }
        for &t in b {
            n += (t > start && t <= now) as u64;
        }
        n
    }

    /// [`PairWindow::scanned_count`] of a `recent` in time order: all of
    /// them but the oldest at or before `start` and the newest after `now`
    /// (usually none of either: a pair is counted as it is pushed).
    fn ordered_count(&self, start: Micros, now: Micros) -> u64 {
        let (mut lo, mut hi) = (0, self.recent.len());
        while hi > 0 && self.recent.get(hi - 1).is_some_and(|&t| t > now) {
            hi -= 1;
        }
        while lo < hi && self.recent.get(lo).is_some_and(|&t| t <= start) {
            lo += 1;
        }
        (hi - lo) as u64
    }

    fn clear(&mut self) {
        self.recent.clear();
        self.spilled = None;
        self.ordered = Some(true);
    }
}

/// Whether `times` is in time order (oldest first, equal times allowed).
fn in_order(times: &VecDeque<Micros>) -> bool {
    let mut last = Micros::MIN;
    for &t in times {
        if t < last {
            return false;
        }
        last = t;
    }
    true
}

/// The first line of a stretch of a source's lines: a re-read (tail
/// starting again at a file's head, a replay of the same file) starts with
/// one of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    time: Micros,
    fingerprint: u64,
    /// Newest line time of the lines after it (up to the next head).
    newest: Micros,
}

/// One source: its clock, its server, what it said lately.
///
/// The clock: a line is placed at its line time plus `shift` (the
/// *arrival timeline*). When a line is more than [`STEP_BACK`] older than
/// the newest line since the last step and is no repeat, the server's clock
/// stepped back: `shift` grows so that the line lands where the newest one
/// was, and time differences on each side of the step stay as printed. A
/// step forward cannot be told from silence and counts as time passing.
#[derive(Clone, Debug, Default)]
pub(crate) struct Source {
    /// Newest time on the arrival timeline.
    clock: Option<Micros>,
    /// Host time of its latest event line.
    last_host: Micros,
    server: ServerInfo,
    /// (line time, fingerprint) of the latest event lines with a time of
    /// their own, in arrival order.
    seen: VecDeque<(Micros, u64)>,
    /// The stream of the latest reset cause, for 2.10's nameless
    /// `Will not reset stream, server resources exceeded`.
    last_cause: Option<(StreamRef, Micros)>,
    /// Line time + `shift` = arrival time: the sum of the steps back.
    shift: Micros,
    /// Newest line time since the latest step back (`None` in states
    /// before version 3, where it is `clock`).
    newest: Option<Micros>,
    /// The source's first line, each server start (`Version:`) and the
    /// first line after each step back; bounded by [`HEADS_PER_SOURCE`].
    heads: Vec<Head>,
    /// While a re-read goes on: lines up to this line time are repeats.
    rereading: Option<Micros>,
    /// No line in `seen` is newer than this (`None`: not known yet, as
    /// after a restore; not saved). A line newer than it, as almost every
    /// line is, is no repeat of one there: no look through all of them.
    seen_newest: Option<Micros>,
}

impl Source {
    /// Places an event line on the arrival timeline: its arrival time, or
    /// `None` when it is a repeat. `run_starts`: the line is a banner's
    /// `Version:` (a server start, which a re-read may start with).
    fn arrive(&mut self, time: LineTime, fingerprint: u64, run_starts: bool) -> Option<Micros> {
        let (t, own) = match time {
            LineTime::Own(t) => (t, true),
            LineTime::Shared(t) => (t, false),
        };
        if own && self.repeat(t, fingerprint) {
            return None;
        }
        let newest = self.newest.or(self.clock.map(|c| c - self.shift));
        let stepped = newest.is_some_and(|n| t < n.saturating_sub(STEP_BACK));
        if stepped {
            // The new side of the step starts where the old one ended.
            self.shift = self.clock.unwrap_or(t).saturating_sub(t);
            self.newest = Some(t);
        } else {
            self.newest = Some(newest.map_or(t, |n| n.max(t)));
        }
        if own {
            if self.seen.len() == SEEN_PER_SOURCE {
                self.seen.pop_front();
            }
            self.seen.push_back((t, fingerprint));
            // `repeat` came first and made it known.
            self.seen_newest = self.seen_newest.max(Some(t));
            if self.heads.is_empty() || stepped || run_starts {
                if self.heads.len() == HEADS_PER_SOURCE {
                    // The source's first line stays (a file's head is often
                    // it); the oldest other head's lines join the stretch
                    // before them, so a re-read still covers them.
                    let dropped = self.heads.remove(1);
                    self.heads[0].newest = self.heads[0].newest.max(dropped.newest);
                }
                self.heads.push(Head { time: t, fingerprint, newest: t });
            } else if let Some(h) = self.heads.last_mut() {
                h.newest = h.newest.max(t);
            }
        }
        let arrival = t.saturating_add(self.shift);
        self.clock = Some(self.clock.map_or(arrival, |c| c.max(arrival)));
        Some(arrival)
    }

    /// The stream of the latest reset cause, at arrival time `t`.
    fn note_cause(&mut self, names: Names<'_>, t: Micros) {
        match &mut self.last_cause {
            // Written over in place: no copy made per apply error.
            Some((last, at)) => {
                last.account.clear();
                last.account.push_str(names.account);
                last.stream.clear();
                last.stream.push_str(names.stream);
                *at = t;
            }
            None => self.last_cause = Some((names.to_owned(), t)),
        }
    }

    /// Whether a line with its own time was seen before: one of the latest
    /// [`SEEN_PER_SOURCE`], a head (then a re-read starts: the lines after
    /// it, up to the newest line that followed it, are repeats), or a line
    /// of a re-read going on.
    fn repeat(&mut self, t: Micros, fingerprint: u64) -> bool {
        if let Some(h) = self.heads.iter().rev().find(|h| h.time == t && h.fingerprint == fingerprint) {
            self.rereading = Some(h.newest);
            return true;
        }
        if self.seen_newest.is_none() {
            self.seen_newest = self.seen.iter().map(|&(t, _)| t).max();
        }
        if self.seen_newest.is_some_and(|n| t <= n) && self.seen.contains(&(t, fingerprint)) {
            if self.rereading.is_none() {
                self.rereading = self.newest.or(self.clock.map(|c| c - self.shift));
            }
            return true;
        }
        match self.rereading {
            Some(until) if t <= until => true,
            _ => {
                // Past what was re-read: new lines again.
                self.rereading = None;
                false
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StreamKey {
    source: String,
    stream: StreamRef,
}

/// A [`StreamKey`]'s names, borrowed from the event line: the stream map
/// is looked up with it, and a key (three copies) is made only for a
/// stream new to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyRef<'a> {
    source: &'a str,
    stream: Names<'a>,
}

impl KeyRef<'_> {
    fn to_key(self) -> StreamKey {
        StreamKey { source: self.source.to_string(), stream: self.stream.to_owned() }
    }
}

/// What a map keyed by [`StreamKey`] is looked up by (`Borrow` needs one
/// type that both the key and its borrowed names are).
pub(crate) trait KeyNames {
    fn key_ref(&self) -> KeyRef<'_>;
}

impl KeyNames for StreamKey {
    fn key_ref(&self) -> KeyRef<'_> {
        KeyRef { source: &self.source, stream: self.stream.names() }
    }
}

impl KeyNames for KeyRef<'_> {
    fn key_ref(&self) -> KeyRef<'_> {
        *self
    }
}

// Hashed as `StreamKey`'s derived `Hash` hashes (source, account, stream),
// and equal when the names are: what `Borrow` requires.
impl Hash for dyn KeyNames + '_ {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let k = self.key_ref();
        k.source.hash(h);
        k.stream.account.hash(h);
        k.stream.stream.hash(h);
    }
}

impl PartialEq for dyn KeyNames + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.key_ref() == other.key_ref()
    }
}

impl Eq for dyn KeyNames + '_ {}

impl<'a> Borrow<dyn KeyNames + 'a> for StreamKey {
    fn borrow(&self) -> &(dyn KeyNames + 'a) {
        self
    }
}

/// An episode: from a stream's first pair after a quiet period to its
/// resolution (or to the next quiet period, if it never fired).
#[derive(Clone, Debug)]
struct Episode {
    /// Line time of the first reset cause, as printed.
    first_seen: Micros,
    /// `first_seen` plus the episode's length on the arrival timeline.
    last_seen: Micros,
    pairs_total: u64,
    leaking_resets_total: u64,
    declined_resets_total: u64,
    last_cause: Option<String>,
    /// `Some` while firing.
    severity: Option<Severity>,
    /// Arrival time of the latest emission.
    last_emit: Micros,
    /// The rule that fired it (`None` before; states before version 3
    /// knew only the window rule).
    rule: Option<Rule>,
    /// Arrival time of the first reset cause (`None` in states before
    /// version 3: `first_seen`, no step was taken out then).
    first_arrival: Option<Micros>,
    /// Arrival time of the latest pair, disk-full decline or unanswered
    /// reset cause (`None` before version 3: `last_seen`).
    last_active: Option<Micros>,
}

impl Episode {
    fn active(&self) -> Micros {
        self.last_active.unwrap_or(self.last_seen)
    }

    /// Something at arrival time `at` keeps the episode going.
    fn touch(&mut self, at: Micros) {
        let active = self.active().max(at);
        self.last_active = Some(active);
        self.last_seen = self.first_seen.saturating_add(active - self.first_arrival.unwrap_or(self.first_seen));
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct StreamState {
    /// A reset cause waiting for its reset: (arrival time, cause).
    pending: Option<(Micros, Cause)>,
    /// Pair times on the arrival timeline.
    pairs: PairWindow,
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

/// One tracked stream as metrics show it ([`Tracker::stream_counts`]).
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
pub struct Tracker {
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
    pair_log: Option<VecDeque<ResetPair>>,
    /// Counters since this tracker started (some survive a restore).
    pub stats: Stats,
}

impl Tracker {
    /// A detector with these options.
    pub fn new(cfg: Config) -> Self {
        Tracker {
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

    /// The host time of the newest event line in the state, `None` when
    /// it holds none: how recent a restored state is.
    pub fn newest_host(&self) -> Option<Micros> {
        self.sources.iter_oldest_first().map(|(_, s)| s.last_host).max()
    }

    /// Keeps every reset pair for [`Tracker::next_pair`] (off by default:
    /// a filter in a pipeline needs only alerts).
    pub fn record_pairs(&mut self, on: bool) {
        self.pair_log = on.then(VecDeque::new);
    }

    /// The next recorded reset pair, oldest first.
    pub fn next_pair(&mut self) -> Option<ResetPair> {
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

    /// The host time at which [`Tracker::advance`] next has work.
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
    pub fn advance(&mut self, host_now: Micros) {
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
    /// (UTC) or the record's or host's time in its place (see
    /// [`LineTime`]); `fingerprint` identifies the line's text so that a
    /// line seen twice counts once.
    pub fn observe(&mut self, source: &str, time: LineTime, host_now: Micros, fingerprint: u64, event: EventRef<'_>) {
        self.advance(host_now);
        self.stats.events += 1;
        let (src, evicted) = self.sources.get_or_insert_with(source, Source::default);
        let before = src.clock;
        let run_starts = matches!(event, EventRef::Banner(Banner::Version(_)));
        let Some(t) = src.arrive(time, fingerprint, run_starts) else {
            self.stats.duplicates += 1;
            return;
        };
        src.last_host = host_now;
        self.stats.changes += 1;
        let advanced = before.is_none_or(|c| t > c);
        let clock = src.clock.unwrap_or(t);
        let shift = src.shift;
        if let EventRef::Banner(b) = &event {
            src.server.learn(b);
        }
        // The source is at hand here: [`Tracker::cause`] would look it up again.
        match &event {
            EventRef::ApplyError(names, cause) if cause.resets => src.note_cause(*names, t),
            EventRef::BadState(names) => src.note_cause(*names, t),
            _ => {}
        }
        if let EventRef::Banner(Banner::Id(id)) = &event {
            for (old, change) in self.storage.link(id, source) {
                self.emit_storage(&old, change);
            }
        }
        if evicted.is_some() {
            self.stats.evicted_sources += 1;
        }
        if advanced {
            self.settle_firing(source, clock);
        }
        match event {
            EventRef::ApplyError(names, cause) if cause.resets => self.cause(source, names, t, cause),
            EventRef::BadState(names) => self.cause(source, names, t, CauseRef::BAD_STATE),
            EventRef::Reset(names) => self.reset(source, names, t, shift, host_now),
            EventRef::ResetDeclined(names, reason) => self.declined(source, names, t, reason == RESOURCES_EXCEEDED),
            EventRef::AccountResourcesExceeded(names) => self.declined(source, Some(names), t, true),
            _ => {}
        }
    }

    /// A reset cause for `names` at arrival time `t` (its source noted it,
    /// [`Source::note_cause`]): it waits for its reset.
    fn cause(&mut self, source: &str, names: Names<'_>, t: Micros, cause: CauseRef<'_>) {
        let key = KeyRef { source, stream: names };
        let st = stream_entry(&mut self.streams, &mut self.stats, &mut self.firing, key);
        // A cause still waiting when the next one comes went unanswered.
        if let Some((ct, _)) = st.pending.replace((t, cause.to_owned())) {
            self.disk_full(key, ct);
        }
    }

    /// The version in force for `source`: its banner's, else the configured one.
    /// Borrowed: a reset line asks it, and a copy would be an allocation.
    fn version<'s>(&'s self, source: &str, server: &'s ServerInfo) -> Option<&'s str> {
        server
            .version
            .as_deref()
            .or_else(|| self.cfg.server_versions.get(source).map(String::as_str))
            .or_else(|| server.name.as_ref().and_then(|n| self.cfg.server_versions.get(n)).map(String::as_str))
            .or(self.cfg.server_version.as_deref())
    }

    fn reset(&mut self, source: &str, names: Names<'_>, t: Micros, shift: Micros, host_now: Micros) {
        let (gap, window, quiet) = (self.cfg.pair_gap, self.cfg.window, self.cfg.quiet);
        // The leak rule holds unless the release is known not to leak.
        let leak_rule = {
            let none = ServerInfo::default();
            let server = self.sources.peek(source).map_or(&none, |s| &s.server);
            self.version(source, server).and_then(known_leak) != Some(false)
        };
        let key = KeyRef { source, stream: names };
        let st = stream_entry(&mut self.streams, &mut self.stats, &mut self.firing, key);
        let Some((cause_t, cause)) = st.pending.take().filter(|(ct, _)| (0..=gap).contains(&(t - ct))) else {
            self.stats.resets_without_cause += 1;
            return;
        };
        self.stats.pairs += 1;
        // A stream quiet for the quiet period starts a new episode.
        if st.episode.as_ref().is_some_and(|e| e.severity.is_none() && t - e.active() >= quiet) {
            st.episode = None;
            st.pairs.clear();
        }
        st.pairs.push(t, window);
        let in_window = st.pairs.count(t, window);
        let ep = st.episode.get_or_insert(Episode {
            first_seen: cause_t - shift,
            last_seen: cause_t - shift,
            pairs_total: 0,
            leaking_resets_total: 0,
            declined_resets_total: 0,
            last_cause: None,
            severity: None,
            last_emit: t,
            rule: None,
            first_arrival: Some(cause_t),
            last_active: Some(cause_t),
        });
        if let Some(log) = self.pair_log.as_mut() {
            if log.len() >= MAX_PAIR_LOG {
                log.pop_front();
            }
            log.push_back(ResetPair {
                source: key.source.to_string(),
                account: key.stream.account.to_string(),
                stream: key.stream.stream.to_string(),
                time: t - shift,
                in_window,
                cause: cause.text.clone(),
                leaks: cause.leaks,
            });
        }
        st.counted.pairs += 1;
        st.counted.leaking += cause.leaks as u64;
        ep.pairs_total += 1;
        ep.leaking_resets_total += cause.leaks as u64;
        ep.touch(t);
        ep.last_cause = Some(cause.text);
        let by_count = if in_window >= self.cfg.critical_pairs as u64 {
            Some((Severity::Critical, Rule::Window))
        } else if in_window >= self.cfg.warning_pairs as u64 {
            Some((Severity::Warning, Rule::Window))
        } else if leak_rule && ep.leaking_resets_total >= self.cfg.leak_pairs as u64 {
            Some((Severity::Warning, Rule::Leak))
        } else {
            None
        };
        let emit = match (ep.severity, by_count) {
            (None, Some((s, rule))) => {
                ep.severity = Some(s);
                ep.rule = Some(rule);
                self.firing.push(key.to_key());
                true
            }
            (Some(cur), by) => {
                let new = by.map_or(cur, |(b, _)| b.max(cur));
                let rose = new > cur;
                ep.severity = Some(new);
                rose || t - ep.last_emit >= self.cfg.repeat
            }
            (None, None) => false,
        };
        if emit {
            ep.last_emit = t;
            self.emit(key, Status::Firing);
        }
        self.next_host_due = self.next_host_due.min(host_now.saturating_add(quiet));
    }

    /// `Will not reset stream ...` and `[sS]tream '...' errored, account
    /// resources exceeded`: the cause waiting is answered, with no reset;
    /// `disk_full` for the resources-exceeded forms (not `stream is closed`,
    /// `JetStream shutting down`, a raft group replaced or removed).
    fn declined(&mut self, source: &str, names: Option<Names<'_>>, t: Micros, disk_full: bool) {
        let gap = self.cfg.pair_gap;
        let last;
        let names = match names {
            Some(n) => n,
            // 2.10 names no stream: it follows the apply error that caused it.
            None => {
                last = self.sources.peek(source).and_then(|s| s.last_cause.clone());
                match &last {
                    Some((s, ct)) if (0..=gap).contains(&(t - ct)) => s.names(),
                    _ => return,
                }
            }
        };
        let key = KeyRef { source, stream: names };
        let st = stream_entry(&mut self.streams, &mut self.stats, &mut self.firing, key);
        st.pending = None;
        if disk_full {
            self.disk_full(key, t);
        }
    }

    /// A reset the stream did not get, at arrival time `at`: it keeps the
    /// stream's episode open and, when firing, makes it critical and
    /// re-sends it every `repeat`. It starts no episode of its own.
    fn disk_full(&mut self, key: KeyRef<'_>, at: Micros) {
        let (quiet, repeat) = (self.cfg.quiet, self.cfg.repeat);
        let Some(st) = self.streams.peek_mut(&key as &dyn KeyNames) else { return };
        let Some(ep) = st.episode.as_mut() else { return };
        if ep.severity.is_none() && at - ep.active() >= quiet {
            // An episode that never fired and went quiet is over.
            st.episode = None;
            st.pairs.clear();
            return;
        }
        ep.declined_resets_total += 1;
        ep.touch(at);
        let Some(cur) = ep.severity else { return };
        ep.severity = Some(Severity::Critical);
        if cur < Severity::Critical || at - ep.last_emit >= repeat {
            ep.last_emit = at;
            self.emit(key, Status::Firing);
        }
    }

    /// What a source's firing streams get when its clock moves on to `now`:
    /// first each whose reset cause waited past the pair gap went
    /// unanswered (a reset it did not get), then each quiet for the quiet
    /// period is resolved. One look at each stream serves both: only a
    /// stream the first step touched can change its answer to the second,
    /// and it is looked at again. (Every event line of a source with a
    /// stream firing comes here; a look costs a hash of three names.)
    fn settle_firing(&mut self, source: &str, now: Micros) {
        let (gap, quiet) = (self.cfg.pair_gap, self.cfg.quiet);
        let quiet_by = |st: &StreamState| st.episode.as_ref().is_some_and(|e| now - e.active() >= quiet);
        // Places in `firing`, which neither step changes before the resolutions.
        let mut due: Vec<(usize, Micros)> = Vec::new();
        let mut resolved: Vec<usize> = Vec::new();
        for (i, k) in self.firing.iter().enumerate() {
            if k.source != source {
                continue;
            }
            let Some(st) = self.streams.peek(k) else { continue };
            match st.pending {
                Some((ct, _)) if now - ct > gap => due.push((i, ct)),
                _ if quiet_by(st) => resolved.push(i),
                _ => {}
            }
        }
        if due.is_empty() && resolved.is_empty() {
            return;
        }
        for &(i, ct) in &due {
            let Some(k) = self.firing.get(i).cloned() else { continue };
            if let Some(st) = self.streams.peek_mut(&k) {
                st.pending = None;
            }
            self.disk_full(k.key_ref(), ct);
        }
        // In `firing`'s order, as each stream was judged (marks, not a sort:
        // a sort's code is kilobytes of every module).
        let mut pick = vec![false; self.firing.len()];
        for &i in &resolved {
            if let Some(p) = pick.get_mut(i) {
                *p = true;
            }
        }
        for &(i, _) in &due {
            if self.firing.get(i).and_then(|k| self.streams.peek(k)).is_some_and(quiet_by) {
                if let Some(p) = pick.get_mut(i) {
                    *p = true;
                }
            }
        }
        let keys: Vec<StreamKey> = self.firing.iter().zip(&pick).filter(|(_, &p)| p).map(|(k, _)| k.clone()).collect();
        for k in keys {
            self.resolve(&k);
        }
    }

    fn resolve(&mut self, key: &StreamKey) {
        self.stats.changes += 1;
        self.emit(key.key_ref(), Status::Resolved);
        self.firing.retain(|k| k != key);
        if let Some(st) = self.streams.peek_mut(key) {
            st.episode = None;
            st.pairs.clear();
        }
    }

    fn emit(&mut self, key: KeyRef<'_>, status: Status) {
        let Some(st) = self.streams.peek(&key as &dyn KeyNames) else { return };
        let Some(ep) = &st.episode else { return };
        let server = self.sources.peek(key.source).map(|s| s.server.clone()).unwrap_or_default();
        let version = self.version(key.source, &server).map(str::to_string);
        let clock = self.sources.peek(key.source).and_then(|s| s.clock).unwrap_or(ep.active());
        let known_leak = version.as_deref().and_then(known_leak);
        let max_bytes = server.id.as_deref().and_then(|id| self.storage.max_bytes(id, key.stream.account, key.stream.stream));
        let estimated_leaked_bytes = max_bytes.map(|m| match known_leak {
            Some(false) => 0,
            _ => ep.leaking_resets_total.saturating_mul(m.max(0) as u64),
        });
        let alert = Alert {
            status,
            severity: ep.severity.unwrap_or(Severity::Warning),
            rule: ep.rule.unwrap_or(Rule::Window),
            source: key.source.to_string(),
            server_name: server.name,
            server_id: server.id,
            known_leak,
            server_version: version,
            account: key.stream.account.to_string(),
            stream: key.stream.stream.to_string(),
            pairs_in_window: st.pairs.count(clock.max(ep.active()), self.cfg.window),
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
        self.advance(host_now);
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
        let version = match &log_source {
            Some(s) => self.version(s, &server).map(str::to_string),
            None => server.version.clone().or_else(|| self.cfg.server_version.clone()),
        };
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

impl Tracker {
    pub(crate) fn snapshot(&self) -> Snapshot<&Source, &StreamKey, &StreamState, &ServerStorage> {
        let (mut outbox, mut storage_outbox) = (Vec::new(), Vec::new());
        for (i, n) in self.outbox.iter().enumerate() {
            match n {
                Notice::Loop(a) => outbox.push(a.clone()),
                Notice::Storage(a) => storage_outbox.push((i, a.clone())),
            }
        }
        Snapshot {
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

    pub(crate) fn from_snapshot(cfg: Config, snap: Snapshot<Source, StreamKey, StreamState, ServerStorage>) -> Tracker {
        let mut d = Tracker::new(cfg);
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
    key: KeyRef<'_>,
) -> &'a mut StreamState {
    let (st, evicted) = streams.get_or_insert_by(&key as &dyn KeyNames, || key.to_key(), StreamState::default);
    if let Some((old, _)) = evicted {
        stats.evicted_streams += 1;
        firing.retain(|k| *k != old);
    }
    st
}

// The saved state's shape (see `state`): every counter of `Stats`
// optional; version 3 added the members that are options below (absent in
// older states) and dropped `StreamState::last_pair` (now the episode's
// `last_active`).
crate::text::carry::carry_struct!(default Stats {
    events, duplicates, pairs, resets_without_cause, evicted_streams, evicted_sources,
    dropped_alerts, changes, jsz_snapshots, jsz_incomplete,
});
crate::text::carry::carry_struct!(transient PairWindow { recent, spilled } { ordered });
crate::text::carry::carry_struct!(Head { time, fingerprint, newest });
// `seen_newest` is worked out again from `seen`.
crate::text::carry::carry_struct!(default transient Source { clock, last_host, server, seen, last_cause, shift, newest, heads, rereading } { seen_newest });
crate::text::carry::carry_struct!(StreamKey { source, stream });
crate::text::carry::carry_struct!(Episode {
    first_seen,
    last_seen,
    pairs_total,
    leaking_resets_total,
    declined_resets_total,
    last_cause,
    severity,
    last_emit,
    rule,
    first_arrival,
    last_active,
});
// `counted` is for metrics, which count from the start of this process.
crate::text::carry::carry_struct!(transient StreamState { pending, pairs, episode } { counted });

/// Everything the tracker knows, as `crate::state` saves it. Version 2 only adds members (empty when
/// absent), so one reader reads both.
pub(crate) struct Snapshot<S, K, T, G> {
    pub sources: Vec<(String, S)>,
    pub streams: Vec<(K, T)>,
    pub firing: Vec<K>,
    /// Reset-loop alerts waiting, in order.
    pub outbox: Vec<Alert>,
    pub next_host_due: Micros,
    pub stats: Stats,
    /// Storage alerts waiting, each with its place in the whole queue
    /// (version 2 on).
    pub storage_outbox: Vec<(usize, StorageAlert)>,
    /// Per server ID (version 2 on).
    pub storage: Vec<(String, G)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::clock;

    #[test]
    fn a_window_in_time_order_counts_as_the_scan_of_every_pair() {
        // Pushes in time order (equal times among them, past EXACT_PAIRS so
        // that buckets fill), then two out of order; after each, every count
        // is the one the scan of every pair gives, and so after a restore.
        let window = 10;
        let mut w = PairWindow::default();
        let times: Vec<Micros> = (0..150).map(|i| i / 3 * 2).chain([5, 400, 399]).collect();
        for (k, &t) in times.iter().enumerate() {
            w.push(t, window);
            assert_eq!(w.ordered, Some(k < 150), "{k}");
            let scanned = PairWindow { ordered: Some(false), ..w.clone() };
            let restored = PairWindow { ordered: None, ..w.clone() };
            for now in [t - 30, t - window, t - 1, t, t + 1, t + window - 1, t + 30] {
                assert_eq!(w.count(now, window), scanned.count(now, window), "{k} {now}");
                assert_eq!(restored.count(now, window), scanned.count(now, window), "{k} {now}");
            }
            // A negative window counts nothing either way.
            assert_eq!(w.count(t, -5), scanned.count(t, -5), "{k}");
        }
        let mut restored = PairWindow { recent: (0..10).collect(), spilled: None, ordered: None };
        restored.push(10, window);
        assert_eq!(restored.ordered, Some(true));
    }

    #[test]
    fn a_bucket_is_in_the_window_as_the_saturating_product_says() {
        let edges = [i64::MIN, i64::MIN + 1, -1_000_001, -7, -1, 0, 1, 2, 7, 999_999, 1_000_000, i64::MAX - 1, i64::MAX];
        let windows = [0, 1, 31, 32, 33, 600 * clock::SECOND, i64::MAX];
        for &window in &windows {
            let w = PairWindow::width(window);
            for &start in &edges {
                let last = PairWindow::last_slot_before(start, w);
                for &slot in edges.iter().chain(&[start / w - 1, start / w, start / w + 1]) {
                    let product = slot.saturating_add(1).saturating_mul(w) > start;
                    assert_eq!(slot.saturating_add(1) > last, product, "slot {slot} start {start} w {w}");
                }
            }
        }
    }
}
