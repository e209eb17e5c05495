//! The Alertmanager form of an alert: one object of the body of
//! `POST /api/v2/alerts` (`labels`, `annotations`, `startsAt`, `endsAt`).
//!
//! It is made from an alert's JSON object (docs/alerts.md), not
//! from the typed [`crate::Alert`]: that object is what a second Fluent Bit
//! filter instance is handed (under `resetwatch` in the routed copy), what
//! `resetwatch replay` gets from the component, and every alert kind has
//! one. A kind needs nothing here to be delivered (its `alert` name becomes
//! `alertname` in CamelCase, its strings become labels, its other fields the
//! description); a kind-specific description is one more arm in
//! [`description`].
//!
//! Labels identify an alert in Alertmanager (its fingerprint), so only what
//! names the alert goes there: `alertname`, `severity`, `account`,
//! `stream`, `source`, `server_name` (when known). Counts, cause, runbook
//! and the rule that raised the alert (`rule`: `window` or `leak`) are
//! annotations, all strings.
//!
//! `endsAt`: a firing alert is re-emitted at most every `repeat_seconds`
//! while pairs keep coming, and resolves `quiet_seconds` after the last
//! pair, so the latest a loop last seen at `last_seen` can resolve is
//! `last_seen + quiet + repeat`. That is the firing alert's `endsAt`: it
//! stays active between re-emissions and until resetwatch resolves it, and
//! still ends on its own if resetwatch stops. (Without `endsAt`,
//! Alertmanager would end it `resolve_timeout`, 5 minutes by default, after
//! it arrived: a loop re-emitted once and then quiet for 10 minutes would
//! look over before resetwatch says so.) A resolved alert ends at
//! `last_seen + quiet`: the moment its quiet period ran out.
//!
//! The storage alert (`nats_reserved_storage_inflated`) is about a server,
//! not a stream: it has no `account` or `stream`, so its labels are
//! `alertname`, `severity`, `source` and `server_name`. It is re-emitted
//! every `repeat` while snapshots stay inflated and resolves on the
//! snapshot that shows it gone (its `last_seen`), so a firing one gets the
//! same `endsAt` as a loop (`quiet` is the slack for snapshots that come
//! late or stop) and a resolved one ends at `last_seen` itself.

use crate::config::Config;
use crate::input::record::ALERT_KEY;
use crate::text::clock::{parse_rfc3339, rfc3339, Micros};
use crate::text::json::{self, ObjectWriter};
use serde_json::{Map, Value};
use std::fmt;

/// Alertmanager's `alertname` for the reset-loop alert.
#[cfg(test)]
const RESET_LOOP_NAME: &str = "NatsStreamResetLoop";
/// Alertmanager's `alertname` for the reserved-storage alert.
#[cfg(test)]
const RESERVED_STORAGE_NAME: &str = "NatsReservedStorageInflated";

/// Alert fields that become labels, when they are non-empty strings.
const LABELS: [&str; 5] = ["severity", "account", "stream", "source", "server_name"];

/// Fields that are labels, times or annotations of their own, so the
/// generic description leaves them out.
const NOT_DESCRIBED: [&str; 11] =
    ["alert", "status", "severity", "rule", "account", "stream", "source", "server_name", "summary", "runbook", "first_seen"];

/// Deepest nesting read back from a record: an alert object is 2 deep (its
/// runbook list), the rest is headroom, and the parser recurses.
const MAX_DEPTH: usize = 8;

/// Why an alert object has no Alertmanager form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Not a JSON object (or nested deeper than any alert).
    NotAnObject,
    /// A field every alert has is missing or of the wrong type.
    Field(&'static str),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotAnObject => write!(f, "the alert is not a JSON object"),
            Problem::Field(k) => write!(f, "the alert has no usable `{k}`"),
        }
    }
}

impl std::error::Error for Problem {}

/// `nats_stream_reset_loop` -> `NatsStreamResetLoop`: Prometheus-style
/// alert names are CamelCase.
pub fn alertname(kind: &str) -> String {
    let mut out = String::with_capacity(kind.len());
    for word in kind.split(['_', '-', ' ']).filter(|w| !w.is_empty()) {
        // Kinds are ASCII snake_case; ASCII-only casing keeps Unicode's
        // case tables out of the module.
        let mut chars = word.chars();
        if let Some(c) = chars.next() {
            out.push(c.to_ascii_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

fn text<'a>(a: &'a Map<String, Value>, k: &'static str) -> Option<&'a str> {
    a.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn time(a: &Map<String, Value>, k: &'static str) -> Result<Micros, Problem> {
    let s = text(a, k).ok_or(Problem::Field(k))?;
    match parse_rfc3339(s.as_bytes()) {
        Some((t, used)) if used == s.len() => Ok(t),
        _ => Err(Problem::Field(k)),
    }
}

fn count(a: &Map<String, Value>, k: &str) -> String {
    a.get(k).and_then(Value::as_u64).map_or_else(|| "?".to_string(), |n| n.to_string())
}

/// A scalar field as text for the description (`null` for unknown).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("unknown".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// `nats-server 2.10.25, which leaks ...`: the version and what it means.
fn version(a: &Map<String, Value>) -> String {
    match (text(a, "server_version"), a.get("known_leak").and_then(Value::as_bool)) {
        (Some(v), Some(true)) => format!("nats-server {v}, which leaks a reservation on every reset"),
        (Some(v), Some(false)) => format!("nats-server {v}, which does not leak reservations"),
        (Some(v), None) => format!("nats-server {v}"),
        (None, _) => "nats-server version unknown".to_string(),
    }
}

/// A byte count as `939524096 bytes (896 MiB)`; `?` when absent.
fn bytes(a: &Map<String, Value>, k: &str) -> String {
    match a.get(k).and_then(Value::as_u64) {
        Some(n) => format!("{n} bytes ({})", crate::alert::storage::mib(n)),
        None => "?".to_string(),
    }
}

/// The storage alert's numbers in prose.
fn storage_description(a: &Map<String, Value>) -> String {
    let growth = a.get("growth_bytes_per_minute").and_then(Value::as_i64).unwrap_or(0);
    let trend = if growth > 0 {
        let to_max = match (a.get("max_storage").and_then(Value::as_u64), a.get("seconds_to_max_storage").and_then(Value::as_u64))
        {
            (Some(_), Some(s)) => format!("max_storage, {}, is reached in about {s} s at that rate", bytes(a, "max_storage")),
            (Some(_), None) => format!("max_storage is {}", bytes(a, "max_storage")),
            (None, _) => "max_storage unknown".to_string(),
        };
        format!("Growing by {growth} bytes ({}) a minute; {to_max}.", crate::alert::storage::mib(growth.unsigned_abs()))
    } else {
        format!("Not growing now ({growth} bytes a minute); max_storage {}.", bytes(a, "max_storage"))
    };
    let looping: Vec<&str> =
        a.get("looping_streams").and_then(Value::as_array).map_or(Vec::new(), |l| l.iter().filter_map(Value::as_str).collect());
    let looping = if looping.is_empty() {
        "No stream is in a reset loop on this server now.".to_string()
    } else {
        format!("In a reset loop on this server: {}.", looping.join(", "))
    };
    format!(
        "Reserved storage {} against {} of its file streams' max_bytes: {} in excess, leaked by stream resets (nats-server issue 6455). {trend} {looping} Snapshots from {} to {}. Server: {} (ID {}, {}, source {}).",
        bytes(a, "reserved_storage"),
        bytes(a, "sum_max_bytes"),
        bytes(a, "excess_bytes"),
        text(a, "first_seen").unwrap_or("?"),
        text(a, "last_seen").unwrap_or("?"),
        text(a, "server_name").unwrap_or("name unknown"),
        text(a, "server_id").unwrap_or("?"),
        version(a),
        text(a, "source").unwrap_or("?"),
    )
}

/// The `description` annotation: counts and cause, in prose for the kinds
/// resetwatch knows, as `field: value` lines for any other.
pub fn description(a: &Map<String, Value>) -> String {
    match text(a, "alert") {
        Some(crate::alert::storage::RESERVED_STORAGE_INFLATED) => storage_description(a),
        Some(crate::alert::RESET_LOOP) => {
            let version = version(a);
            format!(
                "{} reset pairs in the last {} s; {} this episode ({} leaking a reservation, {} resets declined), from {} to {}. Cause: {}. Server: {} ({}, source {}).",
                count(a, "pairs_in_window"),
                count(a, "window_seconds"),
                count(a, "pairs_total"),
                count(a, "leaking_resets_total"),
                count(a, "declined_resets_total"),
                text(a, "first_seen").unwrap_or("?"),
                text(a, "last_seen").unwrap_or("?"),
                text(a, "last_cause").unwrap_or("unknown"),
                text(a, "server_name").unwrap_or("name unknown"),
                version,
                text(a, "source").unwrap_or("?"),
            )
        }
        _ => a
            .iter()
            .filter(|(k, _)| !NOT_DESCRIBED.contains(&k.as_str()))
            .filter_map(|(k, v)| Some(format!("{k}: {}", scalar(v)?)))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The runbook as numbered lines (annotations are strings only).
fn runbook(a: &Map<String, Value>) -> Option<String> {
    let steps = a.get("runbook")?.as_array()?;
    let lines: Vec<String> = steps.iter().filter_map(Value::as_str).enumerate().map(|(i, s)| format!("{}. {s}", i + 1)).collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Appends the Alertmanager alert for one parsed alert object.
pub fn write_alert(a: &Map<String, Value>, cfg: &Config, out: &mut Vec<u8>) -> Result<(), Problem> {
    let kind = text(a, "alert").ok_or(Problem::Field("alert"))?;
    let name = alertname(kind);
    if name.is_empty() {
        return Err(Problem::Field("alert"));
    }
    let firing = match text(a, "status") {
        Some("firing") => true,
        Some("resolved") => false,
        _ => return Err(Problem::Field("status")),
    };
    let first_seen = time(a, "first_seen")?;
    let last_seen = time(a, "last_seen")?;
    let ends = if firing {
        last_seen.saturating_add(cfg.quiet).saturating_add(cfg.repeat)
    } else if kind == crate::alert::storage::RESERVED_STORAGE_INFLATED {
        // Resolved by the snapshot at `last_seen`, not by a quiet period.
        last_seen
    } else {
        last_seen.saturating_add(cfg.quiet)
    };

    let mut labels = Vec::new();
    let mut w = ObjectWriter::new(&mut labels);
    w.str("alertname", &name);
    for k in LABELS {
        if let Some(v) = text(a, k) {
            w.str(k, v);
        }
    }
    w.finish();

    let mut annotations = Vec::new();
    let mut w = ObjectWriter::new(&mut annotations);
    if let Some(s) = text(a, "summary") {
        w.str("summary", s);
    }
    w.str("description", &description(a));
    // The rule that raised it: an annotation, so that an episode whose
    // rule is reported differently stays one alert.
    if let Some(rule) = text(a, "rule") {
        w.str("rule", rule);
    }
    if let Some(r) = runbook(a) {
        w.str("runbook", &r);
    }
    w.finish();

    let mut w = ObjectWriter::new(out);
    // Both were written from valid UTF-8 by the writer itself.
    w.raw("labels", std::str::from_utf8(&labels).unwrap_or("{}"))
        .raw("annotations", std::str::from_utf8(&annotations).unwrap_or("{}"))
        .str("startsAt", &rfc3339(first_seen.min(ends), 0))
        .str("endsAt", &rfc3339(ends, 0));
    w.finish();
    Ok(())
}

fn parse(alert_json: &[u8]) -> Result<Map<String, Value>, Problem> {
    if !json::depth_at_most(alert_json, MAX_DEPTH) {
        return Err(Problem::NotAnObject);
    }
    match serde_json::from_slice(alert_json) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Problem::NotAnObject),
    }
}

/// The Alertmanager alert for one alert object as JSON text (the object
/// the Fluent Bit build adds under `resetwatch`, the component's `json`).
pub fn from_alert_json(alert_json: &[u8], cfg: &Config) -> Result<String, Problem> {
    let mut out = Vec::new();
    write_alert(&parse(alert_json)?, cfg, &mut out)?;
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// A record that carries an alert (under `resetwatch`, as the first filter
/// instance adds it) written as the Alertmanager alert alone, into `out`.
/// False, with `out` empty, for a record that carries none or one that
/// cannot be read: the caller passes it on unchanged.
pub fn from_record(record: &[u8], cfg: &Config, out: &mut Vec<u8>) -> bool {
    out.clear();
    let Some(raw) = json::find_path(record, ALERT_KEY) else { return false };
    let Ok(a) = parse(raw) else { return false };
    if write_alert(&a, cfg, out).is_err() {
        out.clear();
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::clock::SECOND;
    use crate::{Filter, Status};

    const S05: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus/s05_pair_reset_loop_catchup_no_leader_v2.10.25");

    /// The s05 loop, as the Fluent Bit build sees it: tail records of the
    /// three servers' logs, merged by line time, then one later line that
    /// moves time past the quiet period. Returns every record that came back
    /// carrying an alert.
    fn s05_alert_records(cfg: &Config) -> Vec<Vec<u8>> {
        let mut lines: Vec<(Micros, String, String)> = Vec::new();
        for node in ["n1", "n2", "n3"] {
            let text = std::fs::read_to_string(format!("{S05}/{node}.log")).unwrap();
            let mut last = 0;
            for l in text.lines() {
                last = crate::input::line::split(l.as_bytes()).time(0, last).unwrap_or(last);
                lines.push((last, format!("nats.{node}"), l.to_string()));
            }
        }
        lines.sort_by_key(|(t, _, _)| *t);
        let end = lines.last().unwrap().0 + cfg.quiet + SECOND;
        let ts = rfc3339(end, 0);
        let later =
            format!("[1] {} {} [WRN] Resetting stream cluster state for '$G > OTHER'", ts[..10].replace('-', "/"), &ts[11..26]);
        lines.push((end, "nats.n3".into(), later));
        let mut f = Filter::new(cfg.clone());
        let mut out = Vec::new();
        let mut carried = Vec::new();
        for (t, tag, l) in &lines {
            let rec = format!("{{\"log\":{}}}", serde_json::to_string(l).unwrap());
            if f.filter_one(tag.as_str(), *t, rec.as_bytes(), &mut out) {
                carried.push(out.clone());
            }
        }
        // Alerts still waiting ride on filler records.
        while f.filter_one("nats.n3", end, br#"{"log":"x"}"#, &mut out) {
            carried.push(out.clone());
        }
        carried
    }

    /// The second filter instance: `"output": "alertmanager"`.
    fn second(cfg: &Config) -> Filter {
        Filter::new(Config { output: crate::config::Output::Alertmanager, ..cfg.clone() })
    }

    fn am(f: &mut Filter, record: &[u8]) -> Value {
        let mut out = Vec::new();
        assert!(f.filter_one("alerts.ORDERS", 0, record, &mut out), "{}", String::from_utf8_lossy(record));
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn names_in_camel_case() {
        for (kind, name) in [
            ("nats_stream_reset_loop", "NatsStreamResetLoop"),
            ("nats_reserved_storage_inflated", "NatsReservedStorageInflated"),
            ("x", "X"),
            ("__", ""),
        ] {
            assert_eq!(alertname(kind), name);
        }
    }

    #[test]
    fn the_s05_loop_in_alertmanager_form() {
        let cfg = Config { quiet: 30 * SECOND, ..Config::default() };
        let records = s05_alert_records(&cfg);
        let mut f = second(&cfg);
        let got: Vec<Value> = records.iter().map(|r| am(&mut f, r)).collect();
        let row = |v: &Value| {
            let l = &v["labels"];
            (
                l["server_name"].as_str().unwrap().to_string(),
                l["severity"].as_str().unwrap().to_string(),
                v["startsAt"].as_str().unwrap().to_string(),
                v["endsAt"].as_str().unwrap().to_string(),
            )
        };
        // (server, severity, startsAt, endsAt), from the logs' own lines:
        // startsAt is the first apply error (n1.log line 1 of the loop:
        // 14:17:08.682791, n2: 14:17:08.602134); the warning goes out at the
        // 3rd reset (n1 14:17:18.700061, n2 14:17:18.634171) and ends 30 s
        // (quiet) + 60 s (repeat) later, the critical at the 10th (n1
        // 14:17:53.764435, n2 14:17:53.746185) likewise, and the resolved
        // one 30 s after the last reset (n1 14:18:08.784097, n2 14:18:08.781879).
        let want = [
            ("n2", "warning", "2026-11-26T14:17:08.602134Z", "2026-11-26T14:18:48.634171Z"),
            ("n1", "warning", "2026-11-26T14:17:08.682791Z", "2026-11-26T14:18:48.700061Z"),
            ("n2", "critical", "2026-11-26T14:17:08.602134Z", "2026-11-26T14:19:23.746185Z"),
            ("n1", "critical", "2026-11-26T14:17:08.682791Z", "2026-11-26T14:19:23.764435Z"),
            ("n2", "critical", "2026-11-26T14:17:08.602134Z", "2026-11-26T14:18:38.781879Z"),
            ("n1", "critical", "2026-11-26T14:17:08.682791Z", "2026-11-26T14:18:38.784097Z"),
        ];
        let rows: Vec<_> = got.iter().map(row).collect();
        let want: Vec<_> = want.iter().map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string())).collect();
        assert_eq!(rows, want);
        for (v, r) in got.iter().zip(&records) {
            let rec: Value = serde_json::from_slice(r).unwrap();
            let a = &rec["resetwatch"];
            let l = v["labels"].as_object().unwrap();
            let keys: Vec<_> = l.keys().map(String::as_str).collect();
            assert_eq!(keys, ["account", "alertname", "server_name", "severity", "source", "stream"]);
            assert_eq!(l["alertname"], RESET_LOOP_NAME);
            assert_eq!((&l["account"], &l["stream"]), (&Value::from("$G"), &Value::from("ORDERS")));
            assert_eq!(l["source"], a["source"]);
            let n = v["annotations"].as_object().unwrap();
            assert!(n.values().all(Value::is_string), "annotations are strings only");
            assert_eq!(n["summary"], a["summary"]);
            assert_eq!((&n["rule"], &a["rule"]), (&Value::from("window"), &Value::from("window")), "the rule, an annotation");
            let runbook = n["runbook"].as_str().unwrap();
            assert!(runbook.starts_with("1. Confirm: `nats stream info ORDERS`"), "{runbook}");
            assert!(runbook.contains("\n5. Upgrade nats-server to 2.10.26"), "{runbook}");
            let d = n["description"].as_str().unwrap();
            assert!(d.contains("Cause: catchup aborted, no leader for stream '$G > ORDERS'."), "{d}");
            assert!(d.contains("nats-server 2.10.25, which leaks a reservation on every reset"), "{d}");
            let pairs = a["pairs_in_window"].as_u64().unwrap();
            assert!(d.starts_with(&format!("{pairs} reset pairs in the last 300 s")), "{d}");
        }
        let statuses: Vec<_> = records
            .iter()
            .map(|r| serde_json::from_slice::<Value>(r).unwrap()["resetwatch"]["status"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(statuses, ["firing", "firing", "firing", "firing", "resolved", "resolved"]);
    }

    #[test]
    fn records_it_cannot_read_are_left_alone() {
        let cfg = Config::default();
        let good = crate::alert::example().to_json();
        let table: &[(&str, &str)] = &[
            ("no alert", r#"{"log":"[1] [WRN] Resetting stream cluster state for '$G > ORDERS'"}"#),
            ("not json", "not json"),
            ("alert not an object", r#"{"resetwatch":"nats_stream_reset_loop"}"#),
            (
                "no status",
                r#"{"resetwatch":{"alert":"nats_stream_reset_loop","first_seen":"2026-11-26T14:17:08Z","last_seen":"2026-11-26T14:17:08Z"}}"#,
            ),
            (
                "bad status",
                r#"{"resetwatch":{"alert":"x","status":"gone","first_seen":"2026-11-26T14:17:08Z","last_seen":"2026-11-26T14:17:08Z"}}"#,
            ),
            ("no time", r#"{"resetwatch":{"alert":"x","status":"firing"}}"#),
            (
                "bad time",
                r#"{"resetwatch":{"alert":"x","status":"firing","first_seen":"yesterday","last_seen":"2026-11-26T14:17:08Z"}}"#,
            ),
            (
                "no kind",
                r#"{"resetwatch":{"status":"firing","first_seen":"2026-11-26T14:17:08Z","last_seen":"2026-11-26T14:17:08Z"}}"#,
            ),
            ("too deep", r#"{"resetwatch":{"alert":"x","a":[[[[[[[[[[]]]]]]]]]]}}"#),
        ];
        let mut out = b"left over".to_vec();
        let mut f = second(&cfg);
        for (why, rec) in table {
            assert!(!from_record(rec.as_bytes(), &cfg, &mut out), "{why}");
            assert!(out.is_empty(), "{why}");
            assert!(!f.filter_one("alerts", 0, rec.as_bytes(), &mut out), "{why}: passed on unchanged");
        }
        // The second instance detects nothing: a loop's lines pass through.
        for l in std::fs::read_to_string(format!("{S05}/n1.log")).unwrap().lines() {
            let rec = format!("{{\"log\":{}}}", serde_json::to_string(l).unwrap());
            assert!(!f.filter_one("nats.n1", 0, rec.as_bytes(), &mut out));
        }
        let rec = format!(r#"{{"log":"x","resetwatch":{good}}}"#);
        assert!(from_record(rec.as_bytes(), &cfg, &mut out));
    }

    #[test]
    fn another_kind_needs_no_code_to_be_delivered() {
        // The shape a second kind may have: its own fields, no stream.
        let a = br#"{"alert":"nats_consumer_stalled","status":"firing","severity":"warning",
            "source":"nats.n1","server_name":"n1","account":null,"stream":null,"reserved_bytes":939524096,
            "max_bytes":67108864,"first_seen":"2026-11-26T13:17:08Z","last_seen":"2026-11-26T14:18:08+01:00",
            "summary":"s","runbook":["a","b"]}"#;
        let v: Value = serde_json::from_str(&from_alert_json(a, &Config::default()).unwrap()).unwrap();
        assert_eq!(
            v["labels"],
            serde_json::json!({"alertname": "NatsConsumerStalled", "severity": "warning", "source": "nats.n1", "server_name": "n1"})
        );
        assert_eq!(v["annotations"]["runbook"], "1. a\n2. b");
        let d = v["annotations"]["description"].as_str().unwrap();
        assert!(d.contains("reserved_bytes: 939524096") && d.contains("max_bytes: 67108864"), "{d}");
        // times in any zone come out in UTC; endsAt = last_seen + 600 s + 60 s
        assert_eq!(v["startsAt"], "2026-11-26T13:17:08.000000Z");
        assert_eq!(v["endsAt"], "2026-11-26T13:29:08.000000Z");
    }

    /// The storage alerts of the captured 2.10.25 loop (tests/data/jsz and
    /// tests/data/cluster: snapshots and logs of n1..n3, merged by time).
    #[test]
    fn the_captured_storage_alerts_in_alertmanager_form() {
        let cfg = Config::default();
        let got = crate::detect::storage::tests::sequence(crate::detect::storage::tests::PAIR_25, true);
        let alerts: Vec<_> = got.iter().filter_map(crate::Notice::as_storage).collect();
        // (server, severity, startsAt, endsAt = last snapshot + 600 s + 60 s,
        //  description parts: reserved/sum/excess, growth, time to max, loops)
        let want = [
            (
                "n2",
                "warning",
                "2026-11-26T18:19:30.560934Z",
                "2026-11-26T18:30:31.575285Z",
                [
                    "167772160 bytes (160 MiB) against 100663296 bytes (96 MiB)",
                    "67108864 bytes (64 MiB) in excess",
                    "Growing by 67108864 bytes (64 MiB) a minute",
                    "in about 19050 s",
                    "No stream is in a reset loop",
                ],
            ),
            (
                "n3",
                "warning",
                "2026-11-26T18:19:30.561543Z",
                "2026-11-26T18:30:31.575873Z",
                [
                    "134217728 bytes (128 MiB) against 67108864 bytes (64 MiB)",
                    "67108864 bytes (64 MiB) in excess",
                    "Growing by 67108864 bytes (64 MiB) a minute",
                    "in about 19080 s",
                    "No stream is in a reset loop",
                ],
            ),
            (
                "n2",
                "critical",
                "2026-11-26T18:19:30.560934Z",
                "2026-11-26T18:30:54.761543Z",
                [
                    "503316480 bytes (480 MiB) against 100663296 bytes (96 MiB)",
                    "402653184 bytes (384 MiB) in excess",
                    "Growing by 402653184 bytes (384 MiB) a minute",
                    "in about 3125 s",
                    "In a reset loop on this server: $G > ORDERS.",
                ],
            ),
            (
                "n3",
                "critical",
                "2026-11-26T18:19:30.561543Z",
                "2026-11-26T18:30:54.762077Z",
                [
                    "469762048 bytes (448 MiB) against 67108864 bytes (64 MiB)",
                    "402653184 bytes (384 MiB) in excess",
                    "Growing by 402653184 bytes (384 MiB) a minute",
                    "in about 3130 s",
                    "In a reset loop on this server: $G > ORDERS.",
                ],
            ),
        ];
        assert_eq!(alerts.len(), want.len(), "{alerts:#?}");
        for (a, (server, severity, starts, ends, parts)) in alerts.iter().zip(want) {
            let v: Value = serde_json::from_str(&from_alert_json(a.to_json().as_bytes(), &cfg).unwrap()).unwrap();
            assert_eq!(
                v["labels"],
                serde_json::json!({"alertname": RESERVED_STORAGE_NAME, "severity": severity, "source": server, "server_name": server}),
                "a server's alert: no account, no stream"
            );
            assert_eq!((v["startsAt"].as_str().unwrap(), v["endsAt"].as_str().unwrap()), (starts, ends), "{server} {severity}");
            let n = v["annotations"].as_object().unwrap();
            assert!(n.values().all(Value::is_string));
            assert_eq!(n["summary"].as_str().unwrap(), a.summary());
            let d = n["description"].as_str().unwrap();
            for p in parts {
                assert!(d.contains(p), "{p:?} not in {d}");
            }
            assert!(d.starts_with("Reserved storage "), "{d}");
            assert!(d.contains(&format!("Server: {server} (ID {}, nats-server 2.10.25, which leaks", a.server_id)), "{d}");
            let r = n["runbook"].as_str().unwrap();
            assert!(r.starts_with(&format!("1. Confirm on {server}: `curl")), "{r}");
            let last = format!("{}. Upgrade nats-server to 2.10.26", a.runbook().len());
            assert!(r.contains(&last), "{r}");
        }
        // Resolved: ends at the snapshot that showed it (no quiet period);
        // the name unknown (no banner seen): no server_name label.
        let mut r = alerts[2].clone();
        r.status = Status::Resolved;
        r.server_name = None;
        let v: Value = serde_json::from_str(&from_alert_json(r.to_json().as_bytes(), &cfg).unwrap()).unwrap();
        assert_eq!(
            (v["startsAt"].as_str().unwrap(), v["endsAt"].as_str().unwrap()),
            ("2026-11-26T18:19:30.560934Z", "2026-11-26T18:19:54.761543Z")
        );
        assert_eq!(v["labels"], serde_json::json!({"alertname": RESERVED_STORAGE_NAME, "severity": "critical", "source": "n2"}));
        assert!(v["annotations"]["description"].as_str().unwrap().contains("Server: name unknown (ID NAH7TCHX"));
        // Not growing: said so, with no time to max_storage.
        let mut flat = alerts[0].clone();
        (flat.growth_bytes_per_minute, flat.seconds_to_max_storage) = (0, None);
        let v: Value = serde_json::from_str(&from_alert_json(flat.to_json().as_bytes(), &cfg).unwrap()).unwrap();
        let d = v["annotations"]["description"].as_str().unwrap();
        assert!(d.contains("Not growing now (0 bytes a minute); max_storage 21474836480 bytes (20480 MiB)."), "{d}");
    }

    #[test]
    fn a_firing_alert_stays_active_until_resetwatch_could_resolve_it() {
        let mut a = crate::alert::example();
        let cfg = Config::default();
        a.last_seen = 100 * SECOND;
        let v: Value = serde_json::from_str(&from_alert_json(a.to_json().as_bytes(), &cfg).unwrap()).unwrap();
        assert_eq!(v["endsAt"], rfc3339(100 * SECOND + cfg.quiet + cfg.repeat, 0));
        a.status = Status::Resolved;
        let v: Value = serde_json::from_str(&from_alert_json(a.to_json().as_bytes(), &cfg).unwrap()).unwrap();
        assert_eq!(v["endsAt"], rfc3339(100 * SECOND + cfg.quiet, 0));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { failure_persistence: None, ..Default::default() })]

        /// Any record, and a real alert record with bytes overwritten: no
        /// panic, and either "pass unchanged" or one valid Alertmanager object.
        #[test]
        fn never_panics_and_answers_valid_json(
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            at in 0usize..2000,
            with in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..8),
        ) {
            let cfg = Config::default();
            let mut rec = format!(r#"{{"log":"x","resetwatch":{}}}"#, crate::alert::example().to_json()).into_bytes();
            let at = at % rec.len();
            let end = (at + with.len()).min(rec.len());
            rec[at..end].copy_from_slice(&with[..end - at]);
            for r in [&junk[..], &rec[..]] {
                let mut out = Vec::new();
                if from_record(r, &cfg, &mut out) {
                    let v: Value = serde_json::from_slice(&out).expect("valid JSON");
                    proptest::prop_assert!(v["labels"]["alertname"].is_string());
                    proptest::prop_assert!(v["annotations"].as_object().unwrap().values().all(Value::is_string));
                } else {
                    proptest::prop_assert!(out.is_empty());
                }
            }
        }
    }
}
