//! A per-stream account of a run: what `resetwatch replay` prints at the end
//! and what the log explorer tabulates. Built from reset pairs and alerts.

use crate::alert::{Alert, Severity, Status};
use crate::detect::tracker::ResetPair;
use crate::text::clock::{rfc3339, Micros};
use crate::text::json::ObjectWriter;
use std::collections::BTreeMap;

/// One stream on one source.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamRow {
    /// The log source.
    pub source: String,
    /// The JetStream account.
    pub account: String,
    /// The stream.
    pub stream: String,
    /// Reset pairs seen.
    pub pairs: u64,
    /// Of those, pairs on a release that leaks (issue 6455).
    pub leaking_pairs: u64,
    /// The first pair.
    pub first_seen: Micros,
    /// The latest pair.
    pub last_seen: Micros,
    /// Most pairs seen in one window.
    pub peak_in_window: u64,
    /// The latest cause's text.
    pub last_cause: String,
    /// Highest severity alerted, `None` when it never fired.
    pub severity: Option<Severity>,
    /// Whether the last alert was still firing.
    pub firing: bool,
    /// `Server name:` from the banner.
    pub server_name: Option<String>,
    /// The server's version.
    pub server_version: Option<String>,
    /// Whether that version leaks (issue 6455).
    pub known_leak: Option<bool>,
    /// Alert spans: (first firing, resolution or `None` while still firing).
    pub alert_spans: Vec<(Micros, Option<Micros>)>,
}

/// Rows keyed by (source, account, stream), in that order.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    rows: BTreeMap<(String, String, String), StreamRow>,
}

impl Summary {
    fn row(&mut self, source: &str, account: &str, stream: &str, t: Micros) -> &mut StreamRow {
        self.rows.entry((source.to_string(), account.to_string(), stream.to_string())).or_insert_with(|| StreamRow {
            source: source.to_string(),
            account: account.to_string(),
            stream: stream.to_string(),
            pairs: 0,
            leaking_pairs: 0,
            first_seen: t,
            last_seen: t,
            peak_in_window: 0,
            last_cause: String::new(),
            severity: None,
            firing: false,
            server_name: None,
            server_version: None,
            known_leak: None,
            alert_spans: Vec::new(),
        })
    }

    /// Counts one reset pair.
    pub fn add_pair(&mut self, p: &ResetPair) {
        let r = self.row(&p.source, &p.account, &p.stream, p.time);
        r.pairs += 1;
        r.leaking_pairs += p.leaks as u64;
        r.first_seen = r.first_seen.min(p.time);
        r.last_seen = r.last_seen.max(p.time);
        r.peak_in_window = r.peak_in_window.max(p.in_window);
        r.last_cause = p.cause.clone();
    }

    /// Notes one alert.
    pub fn add_alert(&mut self, a: &Alert) {
        let r = self.row(&a.source, &a.account, &a.stream, a.first_seen);
        r.severity = r.severity.max(Some(a.severity));
        r.server_name = a.server_name.clone().or(r.server_name.take());
        r.server_version = a.server_version.clone().or(r.server_version.take());
        r.known_leak = a.known_leak.or(r.known_leak);
        match a.status {
            Status::Firing if !r.firing => {
                r.firing = true;
                r.alert_spans.push((a.last_seen, None));
            }
            Status::Resolved => {
                r.firing = false;
                if let Some(span) = r.alert_spans.last_mut() {
                    span.1 = Some(a.last_seen);
                }
            }
            _ => {}
        }
    }

    /// The rows, most pairs first.
    pub fn rows(&self) -> Vec<&StreamRow> {
        let mut v: Vec<_> = self.rows.values().collect();
        v.sort_by(|a, b| b.pairs.cmp(&a.pairs).then_with(|| (&a.source, &a.stream).cmp(&(&b.source, &b.stream))));
        v
    }
}

impl StreamRow {
    /// The row as one JSON object (times in RFC 3339 at `offset`).
    pub fn to_json(&self, offset: Micros) -> String {
        let mut out = Vec::new();
        let mut w = ObjectWriter::new(&mut out);
        let spans: Vec<String> = self
            .alert_spans
            .iter()
            .map(|(s, e)| {
                format!(
                    "[\"{}\",{}]",
                    rfc3339(*s, offset),
                    e.map_or("null".to_string(), |e| format!("\"{}\"", rfc3339(e, offset)))
                )
            })
            .collect();
        w.str("source", &self.source)
            .str("account", &self.account)
            .str("stream", &self.stream)
            .num("pairs", self.pairs as i64)
            .num("leaking_pairs", self.leaking_pairs as i64)
            .str("first_seen", &rfc3339(self.first_seen, offset))
            .str("last_seen", &rfc3339(self.last_seen, offset))
            .num("peak_in_window", self.peak_in_window as i64)
            .str("last_cause", &self.last_cause)
            .opt_str("severity", self.severity.map(Severity::as_str))
            .opt_bool("firing", Some(self.firing))
            .opt_str("server_name", self.server_name.as_deref())
            .opt_str("server_version", self.server_version.as_deref())
            .opt_bool("known_leak", self.known_leak)
            .raw("alert_spans", &format!("[{}]", spans.join(",")));
        w.finish();
        String::from_utf8(out).unwrap_or_default()
    }
}

impl ResetPair {
    /// The pair as one JSON object.
    pub fn to_json(&self, offset: Micros) -> String {
        let mut out = Vec::new();
        let mut w = ObjectWriter::new(&mut out);
        w.str("source", &self.source)
            .str("account", &self.account)
            .str("stream", &self.stream)
            .str("time", &rfc3339(self.time, offset))
            .num("time_us", self.time)
            .num("in_window", self.in_window as i64)
            .str("cause", &self.cause)
            .opt_bool("leaks", Some(self.leaks));
        w.finish();
        String::from_utf8(out).unwrap_or_default()
    }
}
