//! Host records: where the log line is, which source it came from, and how
//! an alert is added to a record without touching the rest of it.
//!
//! Record shapes (docs/detection.md#record-shapes-and-the-source): Fluent Bit tail (`log`),
//! Kubernetes-enriched (`log` + `kubernetes.namespace_name` / `pod_name`),
//! Vector (`message`, `host`), docker json-file (`log`, `stream`, `time`:
//! that `stream` is stdout/stderr, not a NATS stream), systemd (`MESSAGE`,
//! `_HOSTNAME`).

use crate::config::Config;
use crate::json::{self, Members};

/// The key resetwatch adds to a record that carries an alert.
pub const ALERT_KEY: &str = "resetwatch";

/// Where the log line starts: the index just inside the opening quote of
/// the first member whose key is one of `keys`. The end is not looked for
/// here: most lines are rejected after reading a few dozen bytes of them.
pub fn message_start(record: &[u8], keys: &[String]) -> Option<usize> {
    json::first_string_member(record, |k| keys.iter().any(|name| json::key_is(k, name)))
}

/// The whole decoded log line whose string starts at `start` (as given by
/// [`message_start`]).
pub fn message_at(record: &[u8], start: usize) -> Option<String> {
    let rest = record.get(start..)?;
    let mut i = 0;
    loop {
        match *rest.get(i)? {
            b'"' => break,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    json::decode_str(rest.get(..i)?).map(|s| s.into_owned())
}

/// The source a record came from: `<namespace>/<pod>` when both Kubernetes
/// keys are there, else the first host key, else the host's tag.
pub fn source(record: &[u8], cfg: &Config, tag: &str) -> String {
    let text = |path: &str| {
        json::find_path(record, path).and_then(json::string_value).map(|s| s.into_owned()).filter(|s| !s.is_empty())
    };
    if let (Some(ns), Some(pod)) = (text(&cfg.namespace_key), text(&cfg.pod_key)) {
        return bounded(format!("{ns}/{pod}"));
    }
    for k in &cfg.host_keys {
        if let Some(h) = text(k) {
            return bounded(h);
        }
    }
    bounded(tag.to_string())
}

/// Sources name memory the detector keeps; a hostile record cannot make one huge.
fn bounded(mut s: String) -> String {
    const MAX: usize = 512;
    if s.len() > MAX {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// True when the record already carries resetwatch's key (an alert copy
/// routed back through a filter): it is passed on, not read again.
pub fn has_alert(record: &[u8]) -> bool {
    Members::new(record).any(|m| json::key_is(m.key, ALERT_KEY))
}

/// Deepest record that takes an alert. The check below parses the record
/// recursively; real records nest 3 or 4 deep (Kubernetes metadata), and a
/// deeper one lets the alert ride on the next record instead.
const MAX_CARRIER_DEPTH: usize = 16;

/// Writes `record` with one more member, `"resetwatch": <alert_json>`, into
/// `out`. Returns false (and leaves `out` empty) when the record is not one
/// well-formed JSON object (nothing after its closing brace but white
/// space), so nothing invalid is ever handed back, or when it already
/// carries the key, so no record ever gets it twice.
pub fn with_alert(record: &[u8], alert_json: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    // The scanner finds keys in almost-JSON (a bad escape, `{]`, a number
    // like `1x`); a changed record must parse for the host, or Fluent Bit
    // drops it. Only records carrying an alert pay for the full parse.
    if !json::depth_at_most(record, MAX_CARRIER_DEPTH)
        || !matches!(serde_json::from_slice::<serde_json::Value>(record), Ok(serde_json::Value::Object(_)))
    {
        return false;
    }
    let mut members = Members::new(record);
    let mut count = 0;
    for m in members.by_ref() {
        if json::key_is(m.key, ALERT_KEY) {
            return false;
        }
        count += 1;
    }
    let Some(end) = members.end() else { return false };
    if record[end..].iter().any(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r')) {
        return false;
    }
    let close = end - 1;
    out.extend_from_slice(&record[..close]);
    if count > 0 {
        out.push(b',');
    }
    json::write_str(out, ALERT_KEY);
    out.push(b':');
    out.extend_from_slice(alert_json);
    out.push(b'}');
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(record: &str, tag: &str) -> String {
        source(record.as_bytes(), &Config::default(), tag)
    }

    #[test]
    fn finds_the_line_in_every_shape() {
        let cfg = Config::default();
        let table = [
            (r#"{"log":"[1] [WRN] x"}"#, Some("[1] [WRN] x")),
            (r#"{"time":"2025-06-11T09:45:46Z","stream":"stderr","log":"[1] [WRN] x"}"#, Some("[1] [WRN] x")),
            (r#"{"message":"m","host":"h"}"#, Some("m")),
            (r#"{"_HOSTNAME":"h","MESSAGE":"m"}"#, Some("m")),
            (r#"{"log":{"nested":1},"message":"m"}"#, Some("m")),
            (r#"{"msg":"m"}"#, None),
            (r#"not json"#, None),
        ];
        for (rec, want) in table {
            let got = message_start(rec.as_bytes(), &cfg.message_keys).and_then(|s| message_at(rec.as_bytes(), s));
            assert_eq!(got.as_deref(), want, "{rec}");
        }
    }

    #[test]
    fn names_the_source() {
        assert_eq!(src(r#"{"log":"x","kubernetes":{"namespace_name":"nats","pod_name":"nats-0"}}"#, "kube.x"), "nats/nats-0");
        assert_eq!(src(r#"{"log":"x","kubernetes":{"pod_name":"nats-0"},"host":"h1"}"#, "t"), "h1");
        assert_eq!(src(r#"{"message":"x","host":"node-a"}"#, "t"), "node-a");
        assert_eq!(src(r#"{"MESSAGE":"x","_HOSTNAME":"node-b"}"#, "t"), "node-b");
        // docker json-file: `stream` is stdout/stderr and means nothing here
        assert_eq!(src(r#"{"log":"x","stream":"stderr","time":"2025-06-11T09:45:46Z"}"#, "nats.n1"), "nats.n1");
        assert_eq!(src(r#"{"log":"x","host":""}"#, "nats.n1"), "nats.n1");
        assert_eq!(src(&format!(r#"{{"log":"x","host":"{}"}}"#, "é".repeat(400)), "t").len(), 512);
    }

    #[test]
    fn adds_the_alert_member() {
        let mut out = Vec::new();
        assert!(with_alert(br#"{"log":"x"} "#, br#"{"a":1}"#, &mut out));
        assert_eq!(out, br#"{"log":"x","resetwatch":{"a":1}}"#);
        assert!(with_alert(b"{ }", b"1", &mut out));
        assert_eq!(out, br#"{ "resetwatch":1}"#);
        assert!(!with_alert(br#"{"log":"x""#, b"1", &mut out));
        assert!(out.is_empty());
        assert!(has_alert(br#"{"log":"x","resetwatch":{}}"#));
        assert!(!has_alert(br#"{"log":"resetwatch"}"#));
    }

    #[test]
    fn never_adds_a_second_alert_or_invalid_json() {
        // Regression (src/proptests.rs): a record that already carried
        // `resetwatch` got a second `resetwatch` member when an alert was
        // waiting and its own line was not a NATS event.
        let mut out = Vec::new();
        for rec in [&br#"{"log":"x","resetwatch":{"a":1}}"#[..], br#"{"resetw\u0061tch":1,"log":"x"}"#] {
            assert!(!with_alert(rec, b"{}", &mut out), "{}", String::from_utf8_lossy(rec));
            assert!(out.is_empty());
        }
        // Found writing the `record` fuzz target: bytes after the object that
        // hold a `}` made the answer invalid JSON (`{"a":1} ,"resetwatch":...}`).
        for rec in [&br#"{"a":1} }"#[..], br#"{"a":1}"}""#, br#"{"a":1}{}"#] {
            assert!(!with_alert(rec, b"{}", &mut out), "{}", String::from_utf8_lossy(rec));
        }
        assert!(with_alert(b"{\"a\":1}\n", b"{}", &mut out));
        assert_eq!(out, br#"{"a":1,"resetwatch":{}}"#);
        // Found replaying the fuzz corpus through the built module: the
        // scanner reads past a bad escape, so the alert made a record Fluent
        // Bit cannot parse (fuzz/regressions/record/bad_unicode_escape_...).
        // Almost-JSON never carries an alert; the next record will.
        let almost = [
            &br#"{"log":"[1] x","host":"n\u"}"#[..],
            br#"{"log":"x\q"}"#,
            br#"{"log":"\ud800"}"#,
            br#"{"log":"x","n":1x}"#,
            br#"{"log":"x","a":[1}"#,
            b"{\"log\":\"tab\there\"}",
            b"{\"log\":\"\xff\"}",
        ];
        for rec in almost {
            assert!(!with_alert(rec, b"{}", &mut out), "{}", String::from_utf8_lossy(rec));
            assert!(out.is_empty());
        }
        // Deeper than any real record: the alert waits for the next one.
        let deep = format!("{{\"log\":\"x\",\"d\":{}1{}}}", "[".repeat(20), "]".repeat(20));
        assert!(!with_alert(deep.as_bytes(), b"{}", &mut out));
        let ok = format!("{{\"log\":\"x\",\"d\":{}1{}}}", "[".repeat(10), "]".repeat(10));
        assert!(with_alert(ok.as_bytes(), b"{}", &mut out));
    }
}
