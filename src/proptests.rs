//! Property tests (`proptest`) of the two promises the rest rests on:
//!
//! - a record is either passed on as it came (`filter_one` says false) or
//!   comes back as the same bytes with exactly one more top-level member,
//!   `resetwatch`;
//! - the detector's counts (`pairs_in_window`, `pairs_total`, and the rest of
//!   each alert) equal those of a slow reference model, written plainly
//!   below from docs/detection.md#how-it-decides, on random interleavings of sources and
//!   streams with repeated and out-of-order lines.
//!
//! `PROPTEST_CASES` sets the number of cases (256 by default).

use crate::alert::{Alert, Rule, Severity, Status};
use crate::config::Config;
use crate::detect::tracker::Stats;
use crate::filter::Filter;
use crate::fuzzing::{check_alert_added, fb_escape, nats_stamp};
use crate::text::clock::{self, Micros, SECOND};
use proptest::prelude::*;
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
}

/// 2026-11-26T14:17:08Z.
const BASE: Micros = 1_795_702_628 * SECOND;

// ------------------------------------------------ records pass unchanged

/// A line for record `i` of a run, of kind `k`: real lines (s05 n1.log)
/// with the time moved to one second per record, so that a cause and a
/// reset in neighbouring records make a reset pair.
fn line_text(k: usize, i: usize) -> String {
    let t = BASE + i as i64 * SECOND;
    let own = |msg: &str| format!("[8368] {} [WRN] {msg}", nats_stamp(t));
    match k % 13 {
        0 => own("Error applying entries to '$G > ORDERS': catchup aborted, no leader for stream '$G > ORDERS'"),
        1 => own("Resetting stream cluster state for '$G > ORDERS'"),
        2 => format!(
            "{} stderr F {}",
            clock::rfc3339(t, 0),
            own("Error applying entries to '$G > ORDERS': last sequence mismatch")
        ),
        3 => format!("Nov 26 14:17:13 host nats-b[8368]: {}", own("Resetting stream cluster state for '$G > ORDERS'")),
        4 => format!("[8368] {} [\u{1b}[0;93mWRN\u{1b}[0m] Resetting stream cluster state for '$G > ORDERS'", nats_stamp(t)),
        5 => "[8368] 2026/11/26 14:17:03.558849 [INF]   Version:  2.10.25".to_string(),
        6 => "[8368] 2026/11/26 14:17:03.559921 [INF] Server is ready".to_string(),
        7 => "caf\u{e9} \"quoted\" \\ back\tslash".to_string(),
        8 => own("Will not reset stream, server resources exceeded"),
        9 => "[8368] [WRN] Resetting stream cluster state for '$G > ORDERS'".to_string(),
        // ordinary lines in the wrappers the pass gate reads (s05 n1.log)
        10 => format!("{} n1 nats-server[8368]: {}", clock::rfc3339(t, 0), own("Catchup for stream '$G > ORDERS' stalled")),
        11 => format!("Nov 26 14:17:13 n1 nats-server[8368]: [8368] {} [INF] Server is ready", nats_stamp(t)),
        _ => {
            format!("{} n1 nats-server[8368]: {}", clock::rfc3339(t, 0), own("Resetting stream cluster state for '$G > ORDERS'"))
        }
    }
}

/// A placeholder for a line, filled in by [`fill_lines`] once the record's
/// place in the run is known.
fn line_value() -> impl Strategy<Value = String> {
    (0usize..13).prop_map(|k| format!("@@L{k}@@"))
}

/// The record text with its line placeholders replaced by lines for record `i`.
fn fill_lines(rec: &[u8], i: usize) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(rec).into_owned();
    if !text.contains("@@L") || std::str::from_utf8(rec).is_err() {
        return rec.to_vec();
    }
    for k in 0..13 {
        text = text.replace(&format!("@@L{k}@@"), &fb_escape(&line_text(k, i)));
    }
    text.into_bytes()
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        prop::collection::vec(prop::sample::select(vec!['a', 'z', '\u{e9}', '"', '\\', ' ', '\u{1b}']), 0..8)
            .prop_map(|cs| Value::String(cs.into_iter().collect())),
        line_value().prop_map(Value::String),
    ]
}

const KEYS: [&str; 14] = [
    "log",
    "message",
    "MESSAGE",
    "kubernetes",
    "namespace_name",
    "pod_name",
    "host",
    "_HOSTNAME",
    "stream",
    "time",
    "a",
    "a.b",
    "k\u{e9}y",
    "resetwatch",
];

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((0..KEYS.len(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (KEYS[k].to_string(), v)).collect())),
        ]
    })
}

/// Members written by hand, in the order given (duplicates kept), with or
/// without white space.
fn write_object(members: &[(&str, Value)], spaced: bool) -> String {
    let sep = if spaced { ",\n  " } else { "," };
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| {
            let (k, v) = (Value::from(*k).to_string(), v.to_string());
            if spaced {
                format!("{k} : {v}")
            } else {
                format!("{k}:{v}")
            }
        })
        .collect();
    if spaced {
        format!("{{ {} }}\n", body.join(sep))
    } else {
        format!("{{{}}}", body.join(sep))
    }
}

/// A record body as bytes: mostly tail records (`log` and a few more
/// members, `resetwatch` among them), objects of any shape, other JSON,
/// and byte soup.
fn record() -> impl Strategy<Value = Vec<u8>> {
    const EXTRA: [&str; 7] = ["stream", "time", "a", "a.b", "k\u{e9}y", "resetwatch", "log"];
    let tail = (line_value(), prop::collection::vec((0..EXTRA.len(), value()), 0..4), 0usize..5, any::<bool>()).prop_map(
        |(line, extra, log_at, spaced)| {
            let mut members: Vec<(&str, Value)> = extra.into_iter().map(|(k, v)| (EXTRA[k], v)).collect();
            members.insert(log_at.min(members.len()), ("log", Value::String(line)));
            escape_non_ascii(&write_object(&members, spaced)).into_bytes()
        },
    );
    let object = (prop::collection::vec((0..KEYS.len(), value()), 0..6), line_value(), 0..3usize, any::<bool>()).prop_map(
        |(kv, line, log_at, pretty)| {
            let mut m: serde_json::Map<String, Value> = kv.into_iter().map(|(k, v)| (KEYS[k].to_string(), v)).collect();
            if log_at > 0 {
                m.insert("log".into(), Value::String(line));
            }
            let v = Value::Object(m);
            let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) };
            // Fluent Bit escapes non-ASCII: rewrite every string that way.
            escape_non_ascii(&text.unwrap_or_default()).into_bytes()
        },
    );
    let soup = prop::collection::vec(
        prop::sample::select(vec![
            &b"{\"log\":\""[..],
            b"[8368] 2026/11/26 14:17:08.682791 [WRN] ",
            b"Error applying entries to '",
            b"@@L0@@",
            b"@@L1@@",
            b"Resetting stream cluster state for '",
            b"$G > ORDERS",
            b"': last sequence mismatch",
            b"\"}",
            b"}",
            b" ",
            b",\"resetwatch\":{}",
            b"\\",
            b"\xff",
        ]),
        0..8,
    )
    .prop_map(|parts| parts.concat());
    prop_oneof![
        12 => tail,
        4 => object,
        1 => value().prop_map(|v| v.to_string().into_bytes()),
        2 => soup,
    ]
}

/// JSON text with every non-ASCII character written as `\uXXXX`, as
/// Fluent Bit renders records.
fn escape_non_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(config())]

    /// Any record either passes on unchanged or gains exactly one member,
    /// `resetwatch`, after its own bytes; and a waiting alert is never held
    /// back from a record that can carry it.
    #[test]
    fn records_pass_unchanged_or_gain_one_member(
        records in prop::collection::vec((record(), prop::sample::select(vec![1usize, 1, 1, 2, 30])), 1..40),
    ) {
        // Quiet after 20 s: resolutions fall due on whatever record comes next.
        let cfg = Config { warning_pairs: 1, critical_pairs: 2, repeat: SECOND, quiet: 20 * SECOND, ..Config::default() };
        let mut f = Filter::new(cfg);
        let mut out = Vec::new();
        let mut secs = 0;
        let mut gate = crate::PassGate::SHUT;
        for (rec, step) in &records {
            secs += step;
            let rec = &fill_lines(rec, secs)[..];
            let now = BASE + secs as i64 * SECOND;
            // The pass gate lets by only records `filter_one` passes on
            // unchanged, changing nothing.
            // One gate across the records, as the Fluent Bit shell keeps
            // it: the filter's answer, and what it learned of wrappers.
            gate.renew(f.pass_gate());
            let before = (f.tracker().stats.clone(), f.tracker().pending_alerts(), f.tracker().next_host_due());
            let passes = gate.passes((now / SECOND) as u32, rec);
            if f.filter_one("nats.n1", now, rec, &mut out) {
                prop_assert!(!passes, "the gate passed {:?}, which took an alert", String::from_utf8_lossy(rec));
                check_alert_added(rec, &out);
            } else if f.tracker().pending_alerts() > 0 {
                // Held back: only when this record cannot carry an alert.
                let takes = matches!(serde_json::from_slice::<Value>(rec), Ok(Value::Object(m)) if !m.contains_key("resetwatch"));
                prop_assert!(!takes, "an alert waits but {:?} did not take it", String::from_utf8_lossy(rec));
            }
            if passes {
                prop_assert_eq!(&before, &(f.tracker().stats.clone(), f.tracker().pending_alerts(), f.tracker().next_host_due()));
            }
        }
    }
}

// ------------------------------------------- detector vs reference model

/// One step of a generated run.
#[derive(Clone, Debug)]
enum Ev {
    /// A reset cause: `Error applying entries` with CAUSES[i] (i < 6
    /// reset), or `Detected bad stream state` (i = 8).
    Cause(usize, usize),
    Reset(usize),
    /// A decline naming its stream; `true` for the disk-full forms
    /// (`server resources exceeded`, `Stream ... errored, account resources
    /// exceeded`), `false` for `stream is closed`.
    Declined(usize, bool),
    /// `Will not reset stream, server resources exceeded` (no name).
    DeclinedNameless,
    /// A banner's `Version:` line: a server start.
    Version,
    /// An event line that counts nothing: a cause that does not reset, a
    /// consumer's apply error.
    Observed,
    /// A line that is no event at all.
    NotAnEvent,
}

const CAUSES: [&str; 8] = [
    "last sequence mismatch",
    "first sequence mismatch",
    "stream store EOF",
    "catchup aborted, no leader for stream 'X'",
    "catchup failed, too many retries",
    "raft: already leader",
    "insufficient resources",
    "last sequence by subject mismatch: 3 vs 4",
];
const STREAMS: [(&str, &str); 3] = [("$G", "ORDERS"), ("$G", "EVENTS"), ("ACC", "ORDERS")];
const SOURCES: [&str; 3] = ["n1", "n2", "nats/nats-2"];

/// A line as fed: which source, its text, its time (`None` for
/// `logtime: false`), and what it means.
#[derive(Clone, Debug)]
struct FedLine {
    src: usize,
    text: String,
    time: Option<Micros>,
    ev: Ev,
}

#[derive(Clone, Debug)]
enum Step {
    Line(FedLine),
    /// The host clock moves on with no record.
    Tick(Micros),
}

/// The fields of an alert the model predicts.
#[derive(Clone, Debug, PartialEq)]
struct Predicted {
    source: String,
    account: String,
    stream: String,
    status: Status,
    severity: Severity,
    rule: Rule,
    pairs_in_window: u64,
    pairs_total: u64,
    leaking: u64,
    declined: u64,
    first_seen: Micros,
    last_seen: Micros,
    last_cause: Option<String>,
}

impl From<&Alert> for Predicted {
    fn from(a: &Alert) -> Self {
        Predicted {
            source: a.source.clone(),
            account: a.account.clone(),
            stream: a.stream.clone(),
            status: a.status,
            severity: a.severity,
            rule: a.rule,
            pairs_in_window: a.pairs_in_window,
            pairs_total: a.pairs_total,
            leaking: a.leaking_resets_total,
            declined: a.declined_resets_total,
            first_seen: a.first_seen,
            last_seen: a.last_seen,
            last_cause: a.last_cause.clone(),
        }
    }
}

/// The reference model: every list kept whole (but the bounded memories
/// the rules name), every count a scan.
#[derive(Default)]
struct ModelSource {
    /// Newest arrival time.
    clock: Option<Micros>,
    /// Arrival time = line time + shift.
    shift: Micros,
    /// Newest line time since the last step back.
    newest: Option<Micros>,
    last_host: Micros,
    /// The latest 64 lines with their own time: (time, text).
    remembered: Vec<(Micros, String)>,
    /// Heads: (time, text, newest line time after it).
    heads: Vec<(Micros, String, Micros)>,
    /// A re-read goes on up to this line time.
    rereading: Option<Micros>,
    /// The stream and arrival time of the latest reset cause.
    last_cause: Option<(usize, Micros)>,
    /// A banner said 2.10.25 (a leaking release).
    banner: bool,
}

#[derive(Default)]
struct ModelStream {
    /// A cause waiting for its reset: arrival time, leaks, text.
    pending: Option<(Micros, bool, String)>,
    /// Every pair's arrival time since the last clear.
    pairs: Vec<Micros>,
    episode: Option<ModelEpisode>,
}

struct ModelEpisode {
    first_seen: Micros,
    first_arrival: Micros,
    last_active: Micros,
    pairs_total: u64,
    leaking: u64,
    declined: u64,
    last_cause: Option<String>,
    firing: Option<Severity>,
    rule: Rule,
    last_emit: Micros,
}

struct Model {
    cfg: Config,
    sources: Vec<ModelSource>,
    streams: std::collections::BTreeMap<(usize, usize), ModelStream>,
    /// Firing streams, in the order they started firing.
    firing: Vec<(usize, usize)>,
    out: Vec<Predicted>,
}

/// How many event lines a source remembers to drop repeats, and how many heads.
const REMEMBERED: usize = 64;
const HEADS: usize = 8;

impl Model {
    fn new(cfg: Config) -> Model {
        Model {
            cfg,
            sources: (0..SOURCES.len()).map(|_| ModelSource::default()).collect(),
            streams: Default::default(),
            firing: Vec::new(),
            out: Vec::new(),
        }
    }

    fn in_window(&self, key: (usize, usize), now: Micros) -> u64 {
        let start = now - self.cfg.window;
        self.streams[&key].pairs.iter().filter(|&&t| t > start && t <= now).count() as u64
    }

    fn emit(&mut self, key: (usize, usize), status: Status) {
        let st = &self.streams[&key];
        let ep = st.episode.as_ref().expect("an alert belongs to an episode");
        let clock = self.sources[key.0].clock.unwrap_or(ep.last_active);
        let pairs_in_window = self.in_window(key, clock.max(ep.last_active));
        self.out.push(Predicted {
            source: SOURCES[key.0].to_string(),
            account: STREAMS[key.1].0.to_string(),
            stream: STREAMS[key.1].1.to_string(),
            status,
            severity: ep.firing.unwrap_or(Severity::Warning),
            rule: ep.rule,
            pairs_in_window,
            pairs_total: ep.pairs_total,
            leaking: ep.leaking,
            declined: ep.declined,
            first_seen: ep.first_seen,
            last_seen: ep.first_seen + (ep.last_active - ep.first_arrival),
            last_cause: ep.last_cause.clone(),
        });
    }

    fn resolve(&mut self, key: (usize, usize)) {
        self.emit(key, Status::Resolved);
        self.firing.retain(|k| *k != key);
        let st = self.streams.get_mut(&key).expect("firing stream");
        st.episode = None;
        st.pairs.clear();
    }

    /// The host clock: a stream firing on a source silent for the quiet period resolves.
    fn advance(&mut self, host: Micros) {
        for key in self.firing.clone() {
            if host - self.sources[key.0].last_host >= self.cfg.quiet {
                self.resolve(key);
            }
        }
    }

    /// A line with its own time seen before: a head (a re-read starts, up
    /// to the newest line after that head), one of the latest 64, or a line
    /// no newer than what a re-read going on covers.
    fn repeat(&mut self, src: usize, t: Micros, text: &str) -> bool {
        let s = &mut self.sources[src];
        if let Some(h) = s.heads.iter().rev().find(|h| h.0 == t && h.1 == text) {
            s.rereading = Some(h.2);
            return true;
        }
        if s.remembered.iter().any(|(rt, rtext)| *rt == t && rtext == text) {
            if s.rereading.is_none() {
                s.rereading = s.newest;
            }
            return true;
        }
        if s.rereading.is_some_and(|u| t <= u) {
            return true;
        }
        s.rereading = None;
        false
    }

    /// The line's arrival time, `None` for a repeat.
    fn arrive(&mut self, l: &FedLine, host: Micros) -> Option<Micros> {
        let own = l.time.is_some();
        let t = l.time.unwrap_or(host);
        if own && self.repeat(l.src, t, &l.text) {
            return None;
        }
        let s = &mut self.sources[l.src];
        // More than a second older than the newest line: the clock stepped back.
        let stepped = s.newest.is_some_and(|n| t < n - SECOND);
        if stepped {
            s.shift = s.clock.expect("a newest line has an arrival") - t;
            s.newest = Some(t);
        } else {
            s.newest = Some(s.newest.map_or(t, |n| n.max(t)));
        }
        if own {
            if s.remembered.len() == REMEMBERED {
                s.remembered.remove(0);
            }
            s.remembered.push((t, l.text.clone()));
            if s.heads.is_empty() || stepped || matches!(l.ev, Ev::Version) {
                if s.heads.len() == HEADS {
                    let dropped = s.heads.remove(1);
                    s.heads[0].2 = s.heads[0].2.max(dropped.2);
                }
                s.heads.push((t, l.text.clone(), t));
            } else if let Some(h) = s.heads.last_mut() {
                h.2 = h.2.max(t);
            }
        }
        let arrival = t + s.shift;
        s.clock = Some(s.clock.map_or(arrival, |c| c.max(arrival)));
        Some(arrival)
    }

    /// A reset the stream did not get (a disk-full decline, an unanswered cause).
    fn disk_full(&mut self, key: (usize, usize), at: Micros) {
        let (quiet, repeat) = (self.cfg.quiet, self.cfg.repeat);
        let st = self.streams.entry(key).or_default();
        let Some(ep) = st.episode.as_mut() else { return };
        if ep.firing.is_none() && at - ep.last_active >= quiet {
            st.episode = None;
            st.pairs.clear();
            return;
        }
        ep.declined += 1;
        ep.last_active = ep.last_active.max(at);
        if let Some(cur) = ep.firing {
            ep.firing = Some(Severity::Critical);
            if cur < Severity::Critical || at - ep.last_emit >= repeat {
                ep.last_emit = at;
                self.emit(key, Status::Firing);
            }
        }
    }

    /// Whether the leak rule holds for a source: its release leaks or is unknown.
    fn leak_rule(&self, src: usize) -> bool {
        self.sources[src].banner || self.cfg.server_version.as_deref().and_then(crate::version::known_leak) != Some(false)
    }

    fn line(&mut self, l: &FedLine, host: Micros) {
        self.advance(host);
        if matches!(l.ev, Ev::NotAnEvent) {
            return;
        }
        let before = self.sources[l.src].clock;
        let Some(t) = self.arrive(l, host) else { return };
        let s = &mut self.sources[l.src];
        s.last_host = host;
        if matches!(l.ev, Ev::Version) {
            s.banner = true;
        }
        let (clock, shift) = (s.clock.expect("just arrived"), s.shift);
        let (gap, quiet, repeat) = (self.cfg.pair_gap, self.cfg.quiet, self.cfg.repeat);
        if before.is_none_or(|c| t > c) {
            // By the source's own clock: causes of firing streams unanswered
            // for the pair gap, then streams quiet for the quiet period.
            for key in self.firing.clone() {
                let st = self.streams.get_mut(&key).expect("firing stream");
                if key.0 == l.src && st.pending.as_ref().is_some_and(|(ct, _, _)| clock - ct > gap) {
                    let (ct, _, _) = st.pending.take().expect("just checked");
                    self.disk_full(key, ct);
                }
            }
            for key in self.firing.clone() {
                let active = self.streams[&key].episode.as_ref().map(|e| e.last_active);
                if key.0 == l.src && active.is_some_and(|a| clock - a >= quiet) {
                    self.resolve(key);
                }
            }
        }
        match &l.ev {
            Ev::Cause(stream, cause) => {
                self.sources[l.src].last_cause = Some((*stream, t));
                let (text, leaks) = match *cause {
                    8 => ("bad stream state".to_string(), true),
                    i => (CAUSES[i].replace('X', &names(*stream)), i != 1),
                };
                let key = (l.src, *stream);
                if let Some((ct, _, _)) = self.streams.entry(key).or_default().pending.replace((t, leaks, text)) {
                    self.disk_full(key, ct);
                }
            }
            Ev::Reset(stream) => {
                let key = (l.src, *stream);
                let leak_rule = self.leak_rule(l.src);
                let st = self.streams.entry(key).or_default();
                let Some((ct, leaks, text)) = st.pending.take() else { return };
                if !(0..=gap).contains(&(t - ct)) {
                    return;
                }
                if st.episode.as_ref().is_some_and(|e| e.firing.is_none() && t - e.last_active >= quiet) {
                    st.episode = None;
                    st.pairs.clear();
                }
                st.pairs.push(t);
                let in_window = self.in_window(key, t);
                let st = self.streams.get_mut(&key).expect("just made");
                let ep = st.episode.get_or_insert(ModelEpisode {
                    first_seen: ct - shift,
                    first_arrival: ct,
                    last_active: ct,
                    pairs_total: 0,
                    leaking: 0,
                    declined: 0,
                    last_cause: None,
                    firing: None,
                    rule: Rule::Window,
                    last_emit: t,
                });
                ep.pairs_total += 1;
                ep.leaking += leaks as u64;
                ep.last_active = ep.last_active.max(t);
                ep.last_cause = Some(text);
                let by_count = if in_window >= self.cfg.critical_pairs as u64 {
                    Some((Severity::Critical, Rule::Window))
                } else if in_window >= self.cfg.warning_pairs as u64 {
                    Some((Severity::Warning, Rule::Window))
                } else if leak_rule && ep.leaking >= self.cfg.leak_pairs as u64 {
                    Some((Severity::Warning, Rule::Leak))
                } else {
                    None
                };
                let emit = match (ep.firing, by_count) {
                    (None, Some((s, rule))) => {
                        ep.firing = Some(s);
                        ep.rule = rule;
                        self.firing.push(key);
                        true
                    }
                    (Some(cur), by) => {
                        let new = by.map_or(cur, |(b, _)| b.max(cur));
                        ep.firing = Some(new);
                        new > cur || t - ep.last_emit >= repeat
                    }
                    (None, None) => false,
                };
                if emit {
                    ep.last_emit = t;
                    self.emit(key, Status::Firing);
                }
            }
            Ev::Declined(_, _) | Ev::DeclinedNameless => {
                let (stream, disk_full) = match &l.ev {
                    Ev::Declined(s, full) => (*s, *full),
                    _ => match self.sources[l.src].last_cause {
                        Some((s, ct)) if (0..=gap).contains(&(t - ct)) => (s, true),
                        _ => return,
                    },
                };
                let key = (l.src, stream);
                self.streams.entry(key).or_default().pending = None;
                if disk_full {
                    self.disk_full(key, t);
                }
            }
            Ev::Version | Ev::Observed | Ev::NotAnEvent => {}
        }
    }
}

fn names(stream: usize) -> String {
    format!("{} > {}", STREAMS[stream].0, STREAMS[stream].1)
}

/// Raw generated step: (what, source, stream, cause, time mode, amount, logtime, pick).
type RawStep = (u8, usize, usize, usize, u8, u8, bool, usize);

/// Turns raw steps into lines and clock moves: per-source clocks that move
/// forward a little (pairs), a lot (windows, quiet periods), not at all, or
/// print a line from the past; a monotone host clock; repeats of earlier
/// lines. At most `max_resets` resets per stream, so that every stream's
/// window stays within the 64 pairs kept exactly.
fn materialize(raw: &[RawStep], n_src: usize, n_streams: usize) -> Vec<(Step, Micros)> {
    let mut clocks = vec![BASE; n_src];
    let mut host = BASE;
    let mut fed: Vec<FedLine> = Vec::new();
    let mut resets = vec![0usize; n_src * n_streams];
    let mut steps = Vec::new();
    for &(what, src, stream, cause, mode, amount, logtime, pick) in raw {
        let (src, stream) = (src % n_src, stream % n_streams);
        if what >= 93 {
            host += amount as i64 * 10 * SECOND;
            steps.push((Step::Tick(host), host));
            continue;
        }
        if what >= 85 {
            if !fed.is_empty() {
                let again = fed[pick % fed.len()].clone();
                steps.push((Step::Line(again), host));
            }
            continue;
        }
        let amt = amount as i64;
        let t = match mode {
            0..=3 => {
                clocks[src] += amt * SECOND / 10;
                clocks[src]
            }
            4 => {
                clocks[src] += amt * 10 * SECOND;
                clocks[src]
            }
            5 => clocks[src],
            _ => clocks[src] - amt * SECOND,
        };
        host = host.max(t);
        let n = names(stream);
        let cause_line = || match cause {
            6 => (format!("Detected bad stream state, resetting '{n}'"), Ev::Cause(stream, 8)),
            c => {
                let c = c % 6;
                (format!("Error applying entries to '{n}': {}", CAUSES[c].replace('X', &n)), Ev::Cause(stream, c))
            }
        };
        let mut reset_line = || {
            let i = src * n_streams + stream;
            if resets[i] >= 60 {
                ("Server is ready".to_string(), Ev::NotAnEvent)
            } else {
                resets[i] += 1;
                (format!("Resetting stream cluster state for '{n}'"), Ev::Reset(stream))
            }
        };
        let lines: Vec<((String, Ev), Micros)> = match what {
            0..=19 if cause == 7 => vec![((format!("Error applying entries to '{n}': {}", CAUSES[cause]), Ev::Observed), t)],
            0..=19 => vec![(cause_line(), t)],
            20..=34 => vec![(reset_line(), t)],
            35..=59 => {
                // A cause and its reset a little later.
                let t2 = t + (1 + amt % 9) * SECOND / 10;
                if mode <= 5 {
                    clocks[src] = clocks[src].max(t2);
                }
                host = host.max(t2);
                vec![(cause_line(), t), (reset_line(), t2)]
            }
            60..=66 => vec![(
                match cause % 3 {
                    0 => (format!("Will not reset stream '{n}', server resources exceeded"), Ev::Declined(stream, true)),
                    1 => (format!("Will not reset stream '{n}', stream is closed"), Ev::Declined(stream, false)),
                    _ => (format!("Stream '{n}' errored, account resources exceeded"), Ev::Declined(stream, true)),
                },
                t,
            )],
            67..=72 => vec![(("Will not reset stream, server resources exceeded".to_string(), Ev::DeclinedNameless), t)],
            73..=76 => vec![(("  Version:  2.10.25".to_string(), Ev::Version), t)],
            77..=79 => vec![((format!("Error applying consumer entries to '{n}': bad"), Ev::Observed), t)],
            _ => vec![(("JetStream cluster new stream leader for '$G > ORDERS'".to_string(), Ev::NotAnEvent), t)],
        };
        for ((msg, ev), t) in lines {
            // About one line in thirty prints no time (`logtime: false`).
            let (text, time) = if logtime && amount % 16 == 0 {
                (format!("[8368] [WRN] {msg}"), None)
            } else {
                (format!("[8368] {} [WRN] {msg}", nats_stamp(t)), Some(t))
            };
            let l = FedLine { src, text, time, ev };
            fed.push(l.clone());
            steps.push((Step::Line(l), host));
        }
    }
    steps
}

fn model_config() -> impl Strategy<Value = Config> {
    let versions = prop::sample::select(vec![None, Some("2.10.25"), Some("2.10.26")]);
    (
        (1u32..5, 0u32..5, 1u32..6),
        prop::sample::select(vec![30i64, 60, 300]),
        prop::sample::select(vec![20i64, 120, 600]),
        prop::sample::select(vec![1i64, 20, 60]),
        versions,
    )
        .prop_map(|((warning, more, leak), window, quiet, repeat, version)| Config {
            warning_pairs: warning,
            critical_pairs: warning + more,
            leak_pairs: leak,
            window: window * SECOND,
            quiet: quiet * SECOND,
            repeat: repeat * SECOND,
            server_version: version.map(str::to_string),
            ..Config::default()
        })
}

fn raw_step() -> impl Strategy<Value = RawStep> {
    (0u8..100, 0usize..3, 0usize..3, 0usize..8, 0u8..8, 0u8..64, any::<bool>(), any::<usize>())
}

/// Runs `steps` through the detector and the model, comparing every alert.
fn compare(cfg: Config, steps: &[(Step, Micros)]) -> Result<(usize, Stats), TestCaseError> {
    let mut f = Filter::new(cfg.clone());
    let mut m = Model::new(cfg);
    let mut alerts = 0;
    for (i, (step, host)) in steps.iter().enumerate() {
        match step {
            Step::Line(l) => {
                f.ingest_line(SOURCES[l.src], *host, l.text.as_bytes());
                m.line(l, *host);
            }
            Step::Tick(h) => {
                f.advance(*h);
                m.advance(*h);
            }
        }
        let got: Vec<Predicted> = std::iter::from_fn(|| f.next_alert())
            .map(|n| Predicted::from(n.as_loop().expect("lines only: loop alerts")))
            .collect();
        let want = std::mem::take(&mut m.out);
        prop_assert_eq!(&got, &want, "step {}: {:?}", i, step);
        alerts += got.len();
    }
    Ok((alerts, f.tracker().stats.clone()))
}

proptest! {
    #![proptest_config(config())]

    /// The detector counts as the reference model does, alert by alert.
    #[test]
    fn detector_counts_equal_the_reference_model(
        cfg in model_config(),
        n_src in 2usize..4,
        n_streams in 2usize..4,
        raw in prop::collection::vec(raw_step(), 1..200),
    ) {
        let steps = materialize(&raw, n_src, n_streams);
        compare(cfg, &steps)?;
    }
}

/// The model is not vacuous: on a plain loop it fires, rises and resolves
/// as docs/detection.md#how-it-decides says, and the detector agrees.
#[test]
fn the_model_sees_a_loop() {
    let cfg = Config { warning_pairs: 3, critical_pairs: 5, quiet: 120 * SECOND, ..Config::default() };
    let mut raw: Vec<RawStep> = Vec::new();
    for _ in 0..6 {
        raw.push((0, 0, 0, 0, 4, 1, false, 0)); // cause, 10 s on
        raw.push((30, 0, 0, 0, 0, 1, false, 0)); // reset 0.1 s later
    }
    raw.push((99, 0, 0, 0, 0, 63, false, 0)); // tick 630 s on
    let steps = materialize(&raw, 1, 1);
    let (alerts, _) = compare(cfg.clone(), &steps).unwrap();
    assert_eq!(alerts, 3, "warning at 3, critical at 5, resolved");
    // Repeats and lines from the past count once, in both.
    let mut dup = raw.clone();
    dup.insert(4, (90, 0, 0, 0, 0, 0, false, 1));
    dup.insert(7, (0, 0, 0, 0, 7, 30, false, 0));
    compare(cfg, &materialize(&dup, 1, 1)).unwrap();
    // A line from before all 64 remembered ones is no repeat: the clock
    // stepped back, and a cause and reset 30 s in the past make a pair.
    let mut full: Vec<RawStep> = (0..64).map(|_| (73, 0, 0, 0, 0, 1, false, 0)).collect();
    full.push((40, 0, 0, 0, 7, 30, false, 0));
    let steps = materialize(&full, 1, 1);
    let (_, stats) = compare(Config::default(), &steps).unwrap();
    assert_eq!((stats.duplicates, stats.pairs, stats.resets_without_cause), (0, 1, 0));
    // The same lines read again from the head (tail restarted with
    // `Read_from_Head`): every one is a repeat, in both.
    let mut again = steps.clone();
    again.extend(steps.iter().cloned());
    let (_, stats) = compare(Config::default(), &again).unwrap();
    assert_eq!((stats.duplicates, stats.pairs), (66, 1));
    // The fuzz helper escapes as Fluent Bit does.
    assert_eq!(fb_escape("a\u{1b}\u{e9}\"\t"), "a\\u001b\\u00e9\\\"\\t");
    assert_eq!(clock::rfc3339(BASE, 0), "2026-11-26T14:17:08.000000Z");
}

/// The record property is not vacuous: alerts do ride on generated records.
#[test]
fn generated_records_do_carry_alerts() {
    let mut f = Filter::new(Config { warning_pairs: 1, critical_pairs: 2, repeat: SECOND, ..Config::default() });
    let mut out = Vec::new();
    let mut carried = 0;
    for i in 0..20 {
        let rec = fill_lines(br#"{"log":"@@L0@@","n":1}"#, 2 * i);
        carried += f.filter_one("nats.n1", BASE, &rec, &mut out) as usize;
        let rec = fill_lines(b"{\"kubernetes\":{\"pod_name\":\"p\"},\n  \"log\": \"@@L1@@\"}", 2 * i);
        if f.filter_one("nats.n1", BASE, &rec, &mut out) {
            check_alert_added(&rec, &out);
            carried += 1;
        }
    }
    assert!(carried >= 10, "{carried}");
}

/// Regression (found by `records_pass_unchanged_or_gain_one_member`): a
/// record that already carried `resetwatch` and whose line was no NATS
/// event got a second `resetwatch` member when an alert was waiting (here a
/// resolution falling due by the host clock on that very record).
#[test]
fn a_record_with_an_alert_never_gets_another() {
    let cfg = Config { warning_pairs: 1, critical_pairs: 2, quiet: 20 * SECOND, ..Config::default() };
    let mut f = Filter::new(cfg);
    let mut out = Vec::new();
    assert!(!f.filter_one("nats.n1", BASE, &fill_lines(br#"{"log":"@@L0@@"}"#, 0), &mut out));
    assert!(f.filter_one("nats.n1", BASE, &fill_lines(br#"{"log":"@@L1@@"}"#, 0), &mut out), "fires");
    let later = BASE + 30 * SECOND;
    let copy = br#"{"log":"hello","resetwatch":{"status":"firing"}}"#;
    assert!(!f.filter_one("nats.n1", later, copy, &mut out), "passed on unchanged");
    assert_eq!(f.tracker().pending_alerts(), 1, "the resolution waits");
    let next = br#"{"log":"hello"}"#;
    assert!(f.filter_one("nats.n1", later, next, &mut out));
    check_alert_added(next, &out);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["resetwatch"]["status"], "resolved");
}
