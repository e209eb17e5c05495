//! Vector's events, as `resetwatch serve` reads and writes them.
//!
//! In: what Vector's `socket` sink sends with `encoding.codec = "json"`,
//! one event per line. From the `kubernetes_logs` source that is
//!
//! ```json
//! {"file":"/var/log/pods/nats_nats-0_<uid>/nats/0.log","kubernetes":{"container_name":"nats",
//!  "pod_name":"nats-0","pod_namespace":"nats",...},"message":"[7] 2026/11/26 14:17:08.682791 [WRN] ...",
//!  "source_type":"kubernetes_logs","stream":"stderr","timestamp":"2026-11-26T14:17:08.682900Z"}
//! ```
//!
//! The line is under `message` (one of the core's default message keys).
//! Which server an event came from is the core's one rule
//! (`resetwatch::record::pick_source`, the same in `replay` and the Fluent
//! Bit build): Vector's `kubernetes.pod_namespace` + `kubernetes.pod_name`,
//! docker's `container_name`, the line's own syslog host, the `file`
//! (before `host`, which Vector's `file` source sets to the collector's
//! name), `host`. [`SourceKeys`] only makes the tag the core falls back on
//! (`--source-key`, by default none: `vector`).
//!
//! Out: what Vector's `exec` source reads with `decoding.codec = "json"`:
//! each event back as it came, and each alert as an event of its own
//! ([`alert_event`]).
//!
//! Its parts: [`framing`] (the newline framing of the socket sink) and
//! [`listen`] (the sockets and their reader threads, and who may connect).

pub mod framing;
pub mod listen;

use resetwatch::json;

/// Where the source (the tag handed to the detector) comes from: a list
/// of key sets, the first whose keys are all present wins. A set is one
/// dotted path, or several joined with `+`, whose values are joined with
/// `/` (`kubernetes.pod_namespace+kubernetes.pod_name` gives `nats/nats-0`).
#[derive(Clone, Debug)]
pub struct SourceKeys {
    sets: Vec<Vec<String>>,
    fallback: String,
}

/// The default key sets: none, since the core's rule reads Vector's
/// keys itself; the tag is then [`DEFAULT_FALLBACK`].
pub const DEFAULT_SOURCE_KEYS: &[&str] = &[];

/// The source of events that carry none of the keys.
pub const DEFAULT_FALLBACK: &str = "vector";

impl SourceKeys {
    /// Key sets as given on the command line (`a.b+c.d`), and the source
    /// to use when none matches.
    pub fn new<S: AsRef<str>>(sets: &[S], fallback: &str) -> Self {
        let sets = sets
            .iter()
            .map(|s| s.as_ref().split('+').map(str::trim).filter(|k| !k.is_empty()).map(String::from).collect::<Vec<_>>())
            .filter(|set| !set.is_empty())
            .collect();
        SourceKeys { sets, fallback: fallback.to_string() }
    }

    /// The source of one event (a JSON object's bytes).
    pub fn source(&self, event: &[u8]) -> String {
        'sets: for set in &self.sets {
            let mut parts = Vec::with_capacity(set.len());
            for key in set {
                match json::find_path(event, key).and_then(json::string_value) {
                    Some(v) if !v.is_empty() => parts.push(v.into_owned()),
                    _ => continue 'sets,
                }
            }
            return parts.join("/");
        }
        self.fallback.clone()
    }
}

impl Default for SourceKeys {
    fn default() -> Self {
        SourceKeys::new(DEFAULT_SOURCE_KEYS, DEFAULT_FALLBACK)
    }
}

/// Why a line is not an event, or `None` when it is one: a JSON object,
/// whole, with nothing after it.
pub fn not_an_event(line: &[u8]) -> Option<String> {
    let first = line.iter().find(|c| !c.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Some("not a JSON object".into());
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
        Ok(_) => None,
        Err(e) => Some(format!("not valid JSON: {e}")),
    }
}

/// A line that is not an event, carried as one so that it is not lost and
/// the output stays one JSON object per line: `{"message": <the line>,
/// "resetwatch_error": <why>}` (the line as text; bytes that are not UTF-8
/// become U+FFFD).
pub fn malformed_event(line: &[u8], why: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + why.len() + 40);
    out.extend_from_slice(b"{\"message\":");
    json::write_str(&mut out, &String::from_utf8_lossy(line));
    out.extend_from_slice(b",\"resetwatch_error\":");
    json::write_str(&mut out, why);
    out.push(b'}');
    out
}

/// An alert as an event of its own: `{"message": <its summary>,
/// "timestamp": <when it was emitted>, "resetwatch": <the alert>}`. The
/// alert object is the one the Fluent Bit build adds to records under the
/// same key, so one routing rule (`exists(.resetwatch)`) finds alerts from
/// either.
pub fn alert_event(alert_json: &str, timestamp: &str) -> Vec<u8> {
    let summary = serde_json::from_str::<serde_json::Value>(alert_json)
        .ok()
        .and_then(|v| v.get("summary").and_then(|s| s.as_str()).map(String::from))
        .unwrap_or_default();
    let mut out = Vec::with_capacity(alert_json.len() + summary.len() + 64);
    out.extend_from_slice(b"{\"message\":");
    json::write_str(&mut out, &summary);
    out.extend_from_slice(b",\"timestamp\":");
    json::write_str(&mut out, timestamp);
    out.extend_from_slice(b",\"resetwatch\":");
    out.extend_from_slice(alert_json.as_bytes());
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const K8S: &str = r#"{"file":"/var/log/pods/nats_nats-0_5f1c/nats/0.log","kubernetes":{"container_name":"nats","pod_name":"nats-0","pod_namespace":"nats","pod_node_name":"node-a"},"message":"[7] [INF] x","source_type":"kubernetes_logs","stream":"stderr","timestamp":"2026-11-26T14:17:08.682900Z"}"#;

    #[test]
    fn names_the_source_from_the_first_complete_key_set() {
        // By default the tag is the fallback: the core names the server.
        assert_eq!(SourceKeys::default().source(K8S.as_bytes()), "vector");
        let keys =
            SourceKeys::new(&["kubernetes.pod_namespace+kubernetes.pod_name", "kubernetes.pod_name", "host", "file"], "vector");
        let table = [
            (K8S, "nats/nats-0"),
            // no namespace: the pod alone
            (r#"{"kubernetes":{"pod_name":"nats-1"},"message":"x"}"#, "nats-1"),
            (r#"{"file":"/var/log/nats/n1.log","host":"node-b","message":"x","source_type":"file"}"#, "node-b"),
            (r#"{"file":"/var/log/nats/n1.log","message":"x"}"#, "/var/log/nats/n1.log"),
            // empty values do not count
            (r#"{"kubernetes":{"pod_name":"","pod_namespace":"nats"},"host":"h","message":"x"}"#, "h"),
            (r#"{"message":"x"}"#, "vector"),
        ];
        for (event, want) in table {
            assert_eq!(keys.source(event.as_bytes()), want, "{event}");
        }
        let custom = SourceKeys::new(&["kubernetes.pod_node_name + kubernetes.container_name", ""], "none");
        assert_eq!(custom.source(K8S.as_bytes()), "node-a/nats");
        assert_eq!(custom.source(b"{}"), "none");
    }

    #[test]
    fn only_whole_json_objects_are_events() {
        assert_eq!(not_an_event(K8S.as_bytes()), None);
        assert_eq!(not_an_event(b" {} "), None);
        for bad in [&b"hello"[..], b"[1,2]", b"\"s\"", b"", b"{\"a\":1", b"{\"a\":1} x", b"{\"a\":1}{}", b"{\"a\":\xff}"] {
            assert!(not_an_event(bad).is_some(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn malformed_lines_travel_as_events() {
        let out = malformed_event(b"{\"message\":\"cut \xff", "not valid JSON: EOF");
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["message"], "{\"message\":\"cut \u{fffd}");
        assert_eq!(v["resetwatch_error"], "not valid JSON: EOF");
    }

    #[test]
    fn alerts_travel_as_events_with_their_summary() {
        let out = alert_event(
            r#"{"alert":"nats_stream_reset_loop","status":"firing","summary":"Stream 'x' loops"}"#,
            "2026-11-26T14:20:00Z",
        );
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["message"], "Stream 'x' loops");
        assert_eq!(v["timestamp"], "2026-11-26T14:20:00Z");
        assert_eq!(v["resetwatch"]["status"], "firing");
    }
}
