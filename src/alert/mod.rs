//! What resetwatch says: the reset-loop alert (here), the reserved-storage
//! alert (`storage`), the [`Notice`] that carries either, and their
//! Alertmanager form (`alertmanager`). Field names are a stable interface
//! (docs/alerts.md#reset-loop-alert-fields); unknown values are `null`,
//! never absent.

pub mod alertmanager;
pub mod storage;

use crate::alert::storage::StorageAlert;
use crate::text::clock::{Micros, SECOND};
use crate::text::decimal::Decimal;
use crate::text::json::ObjectWriter;

/// The name of the reset-loop alert.
pub const RESET_LOOP: &str = "nats_stream_reset_loop";

/// Firing or over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The loop goes on: pairs keep coming.
    Firing,
    /// The loop is over: no pair for `quiet_seconds` (docs/alerts.md).
    Resolved,
}

impl Status {
    /// The name in the alert's JSON (`firing`, `resolved`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }
}

/// How bad; never falls within an episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// `warning_pairs` pairs in the window, or `leak_pairs` leaking resets (docs/alerts.md).
    Warning,
    /// `critical_pairs` pairs in the window (docs/alerts.md).
    Critical,
}

impl Severity {
    /// The name in the alert's JSON (`warning`, `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Which rule raised an episode's alert (docs/detection.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `warning_pairs` reset pairs within `window_seconds`.
    Window,
    /// `leak_pairs` leaking resets in one episode, however slowly they
    /// came, on a release that leaks or whose version is unknown.
    Leak,
}

impl Rule {
    /// The name in the alert's JSON (`window`, `leak`).
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Window => "window",
            Rule::Leak => "leak",
        }
    }
}

/// One reset-loop alert for one (source, account, stream).
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Firing or resolved.
    pub status: Status,
    /// Warning or critical.
    pub severity: Severity,
    /// The rule that raised this episode's alert first; it stays for the episode.
    pub rule: Rule,
    /// The log source (pod, file, tag) the lines came from.
    pub source: String,
    /// `Server name:` from the source's banner.
    pub server_name: Option<String>,
    /// `ID:` from the source's banner (how storage alerts meet loop alerts).
    pub server_id: Option<String>,
    /// `Version:` from the banner, or the configured version (docs/alerts.md).
    pub server_version: Option<String>,
    /// Whether that version re-reserves `max_bytes` on each reset (issue 6455).
    pub known_leak: Option<bool>,
    /// The JetStream account (`$G`, the global account, on servers without accounts).
    pub account: String,
    /// The stream in the loop.
    pub stream: String,
    /// Reset pairs within the window, as of `last_seen`.
    pub pairs_in_window: u64,
    /// The sliding window the pairs are counted in.
    pub window: Micros,
    /// Reset pairs in this episode.
    pub pairs_total: u64,
    /// Resets in this episode whose cause leaks a reservation on affected versions.
    pub leaking_resets_total: u64,
    /// Resets this episode did not get: disk-full declines (`Will not
    /// reset stream[ '...'], server resources exceeded`, `[sS]tream '...'
    /// errored, account resources exceeded`) and reset causes that no reset
    /// answered.
    pub declined_resets_total: u64,
    /// The last reset cause's text (`last sequence mismatch`, ...).
    pub last_cause: Option<String>,
    /// The first pair of this episode, on the source's timeline.
    pub first_seen: Micros,
    /// The latest pair (or, once resolved, when it was judged over).
    pub last_seen: Micros,
    /// The zone to print times in.
    pub offset: Micros,
    /// The stream's `max_bytes` on this server, from its latest `/jsz`
    /// snapshot (joined by `server_id`); `None` without one.
    pub max_bytes: Option<i64>,
    /// `leaking_resets_total` times `max_bytes` (unlimited, -1, as 0; 0 on
    /// a release that does not leak); `None` while `max_bytes` is unknown.
    pub estimated_leaked_bytes: Option<u64>,
}

impl Alert {
    /// What kind of cause drives the loop, for the runbook.
    fn no_leader(&self) -> bool {
        self.last_cause.as_deref().is_some_and(|c| c.starts_with("catchup aborted, no leader"))
    }

    /// The server and, when its name is not the source's, the source.
    fn where_to(&self, put: &mut dyn FnMut(&str)) {
        match &self.server_name {
            Some(n) if *n != self.source => {
                for part in [n, " (", &self.source, ")"] {
                    put(part);
                }
            }
            Some(n) => put(n),
            None => put(&self.source),
        }
    }

    /// One sentence a person can act on.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        self.summary_to(&mut |part| s.push_str(part));
        s
    }

    /// [`Alert::summary`], piece by piece: the alert's JSON escapes the
    /// pieces as they come, with no `format!` (in wasm each costs thousands
    /// of instructions, and an alert had a dozen).
    fn summary_to(&self, put: &mut dyn FnMut(&str)) {
        let stream = ["'", &self.account, " > ", &self.stream, "'"];
        let head = |put: &mut dyn FnMut(&str)| {
            put("Stream ");
            stream.iter().for_each(|part| put(part));
            put(" on ");
            self.where_to(put);
        };
        if self.status == Status::Resolved {
            head(put);
            put(" stopped its reset loop after ");
            put(Decimal::of(self.pairs_total).as_str());
            put(" reset pairs; restart that server to release reservations the loop leaked.");
            return;
        }
        let leaking = Decimal::of(self.leaking_resets_total);
        head(put);
        if self.rule == Rule::Leak {
            put(" keeps resetting slowly (");
            put(leaking.as_str());
            put(" leaking resets this episode, each within the quiet period of the last, cause: ");
        } else {
            let secs = self.window / SECOND;
            put(" is in a reset loop (");
            put(Decimal::of(self.pairs_in_window).as_str());
            put(" reset pairs in ");
            if secs < 0 {
                put("-");
            }
            put(Decimal::of(secs.unsigned_abs()).as_str());
            put("s, cause: ");
        }
        put(self.last_cause.as_deref().unwrap_or("unknown cause"));
        put("); ");
        match (self.known_leak, self.rule) {
            (Some(true), _) => {
                put("on nats-server ");
                put(self.server_version.as_deref().unwrap_or("?"));
                put(" every reset reserves the stream's max_bytes again (");
                put(leaking.as_str());
                put(" so far), so reserved storage is climbing towards the disk limit");
            }
            (Some(false), _) => put("this release does not leak reservations, but the stream is not serving from this replica"),
            (None, Rule::Leak) => {
                put("the nats-server version is unknown here, and on 2.10.25 and earlier every reset reserves max_bytes again")
            }
            (None, Rule::Window) => {
                put("on nats-server 2.10.25 and earlier every reset reserves max_bytes again (version unknown here)")
            }
        }
        put(": ");
        put(if self.no_leader() {
            "restore the stream's quorum first"
        } else {
            "scale the stream to R1, restart the server, then scale back"
        });
        put(".");
    }

    /// Steps chosen by cause; always ends with the upgrade to a fixed release.
    pub fn runbook(&self) -> Vec<String> {
        let mut steps = Vec::new();
        self.runbook_to(&mut |parts| steps.push(parts.concat()));
        steps
    }

    /// [`Alert::runbook`], each step in pieces (as [`Alert::summary_to`]).
    fn runbook_to(&self, step: &mut dyn FnMut(&[&str])) {
        let s = self.stream.as_str();
        let acc = self.account.as_str();
        let server = self.server_name.as_deref().unwrap_or(&self.source);
        step(&[
            "Confirm: `nats stream info ",
            s,
            "` (account ",
            acc,
            ") and the server's /jsz: reserved_storage well above the sum of its streams' max_bytes means reservations leaked.",
        ]);
        if self.no_leader() {
            step(&["The stream has no leader, so nothing else can apply: restore its quorum first by bringing its missing peers back (`nats server report jetstream`, `nats stream report`); a scale-down cannot apply without a leader."]);
            step(&[
                "Once a leader is elected the loop stops; then restart ",
                server,
                " (rolling, one server at a time) to release the leaked reservations.",
            ]);
            step(&[
                "If it keeps looping with a leader present, scale it down with `nats stream edit ",
                s,
                " --replicas 1`, restart ",
                server,
                ", and scale back up with `nats stream edit ",
                s,
                " --replicas 3` once the R1 change has applied on every server.",
            ]);
        } else {
            step(&["Scale the stream down: `nats stream edit ", s, " --replicas 1`."]);
            step(&[
                "Wait until the R1 change has applied on every server (`nats stream info ",
                s,
                "` shows no followers): before nats-server 2.14.0 scaling back too quickly can desync the stream again (nats-server PR 7774).",
            ]);
            step(&["Restart ", server, " (rolling, one server at a time) to release the leaked reservations."]);
            step(&["Scale back up: `nats stream edit ", s, " --replicas 3`."]);
        }
        step(&[match self.known_leak {
            Some(false) => "Stay on a fixed release (2.10.26+ or 2.11.0+): resets there no longer leak reservations (nats-server PR 6457).",
            _ => "Upgrade nats-server to 2.10.26 or 2.11.0 or later, where resets no longer leak reservations (nats-server issue 6455, PR 6457).",
        }]);
    }

    /// Appends the alert as one JSON object.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut w = ObjectWriter::new(out);
        w.str("alert", RESET_LOOP)
            .str("status", self.status.as_str())
            .str("severity", self.severity.as_str())
            .str("rule", self.rule.as_str())
            .str("source", &self.source)
            .opt_str("server_name", self.server_name.as_deref())
            .opt_str("server_id", self.server_id.as_deref())
            .opt_str("server_version", self.server_version.as_deref())
            .opt_bool("known_leak", self.known_leak)
            .str("account", &self.account)
            .str("stream", &self.stream)
            .num("pairs_in_window", self.pairs_in_window as i64)
            .num("window_seconds", self.window / SECOND)
            .num("pairs_total", self.pairs_total as i64)
            .num("leaking_resets_total", self.leaking_resets_total as i64)
            .num("declined_resets_total", self.declined_resets_total as i64)
            .opt_str("last_cause", self.last_cause.as_deref())
            .opt_num("max_bytes", self.max_bytes)
            .opt_num("estimated_leaked_bytes", self.estimated_leaked_bytes.map(|n| n.min(i64::MAX as u64) as i64))
            .time("first_seen", self.first_seen, self.offset)
            .time("last_seen", self.last_seen, self.offset)
            .str_parts("summary", |put| self.summary_to(put))
            .list_parts("runbook", |step| self.runbook_to(step));
        w.finish();
    }

    /// The alert as a JSON string.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// A critical s05-like alert, for tests and fuzz checks.
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub fn example() -> Alert {
    Alert {
        status: Status::Firing,
        severity: Severity::Critical,
        rule: Rule::Window,
        source: "nats.n1".into(),
        server_name: Some("n1".into()),
        server_id: None,
        server_version: Some("2.10.25".into()),
        known_leak: Some(true),
        account: "$G".into(),
        stream: "ORDERS".into(),
        pairs_in_window: 13,
        window: 300 * SECOND,
        pairs_total: 13,
        leaking_resets_total: 13,
        declined_resets_total: 0,
        last_cause: Some("catchup aborted, no leader for stream '$G > ORDERS'".into()),
        first_seen: 0,
        last_seen: 60 * SECOND,
        offset: 0,
        max_bytes: None,
        estimated_leaked_bytes: None,
    }
}

/// What the detector emits: a reset-loop alert or a reserved-storage alert.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// `nats_stream_reset_loop`, from log lines.
    Loop(Alert),
    /// `nats_reserved_storage_inflated`, from `/jsz` snapshots.
    Storage(StorageAlert),
}

impl Notice {
    /// The alert's name (its `alert` field).
    pub fn name(&self) -> &'static str {
        match self {
            Notice::Loop(_) => RESET_LOOP,
            Notice::Storage(_) => crate::alert::storage::RESERVED_STORAGE_INFLATED,
        }
    }

    /// Firing or resolved, whichever alert this is.
    pub fn status(&self) -> Status {
        match self {
            Notice::Loop(a) => a.status,
            Notice::Storage(a) => a.status,
        }
    }

    /// Warning or critical, whichever alert this is.
    pub fn severity(&self) -> Severity {
        match self {
            Notice::Loop(a) => a.severity,
            Notice::Storage(a) => a.severity,
        }
    }

    /// The log source the alert is about.
    pub fn source(&self) -> &str {
        match self {
            Notice::Loop(a) => &a.source,
            Notice::Storage(a) => &a.source,
        }
    }

    /// The reset-loop alert, if this is one.
    pub fn as_loop(&self) -> Option<&Alert> {
        match self {
            Notice::Loop(a) => Some(a),
            Notice::Storage(_) => None,
        }
    }

    /// The reset-loop alert, if this is one.
    pub fn into_loop(self) -> Option<Alert> {
        match self {
            Notice::Loop(a) => Some(a),
            Notice::Storage(_) => None,
        }
    }

    /// The reserved-storage alert, if this is one.
    pub fn as_storage(&self) -> Option<&StorageAlert> {
        match self {
            Notice::Storage(a) => Some(a),
            Notice::Loop(_) => None,
        }
    }

    /// Appends the alert as one JSON object (its `alert` field names the kind).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Notice::Loop(a) => a.write_json(out),
            Notice::Storage(a) => a.write_json(out),
        }
    }

    /// The alert as a JSON string.
    pub fn to_json(&self) -> String {
        match self {
            Notice::Loop(a) => a.to_json(),
            Notice::Storage(a) => a.to_json(),
        }
    }
}

impl From<Alert> for Notice {
    fn from(a: Alert) -> Self {
        Notice::Loop(a)
    }
}

impl From<StorageAlert> for Notice {
    fn from(a: StorageAlert) -> Self {
        Notice::Storage(a)
    }
}

// The saved state's shape (see `state`); `max_bytes` and
// `estimated_leaked_bytes` (absent before version 2) read as `None`.
crate::text::carry::carry_enum!(Status { Firing, Resolved });
crate::text::carry::carry_enum!(Severity { Warning, Critical });
/// `rule`, absent from states before version 3, where every alert was the window rule's.
impl crate::text::carry::Put for Rule {
    fn put(&self, out: &mut Vec<u8>) {
        crate::text::json::write_str(out, self.as_str())
    }
}
impl crate::text::carry::Take for Rule {
    fn take(v: &serde_json::Value) -> Option<Self> {
        match v.as_str()? {
            "window" => Some(Rule::Window),
            "leak" => Some(Rule::Leak),
            _ => None,
        }
    }
    fn absent() -> Option<Self> {
        Some(Rule::Window)
    }
}
crate::text::carry::carry_struct!(Alert {
    status,
    severity,
    rule,
    source,
    server_name,
    server_id,
    server_version,
    known_leak,
    account,
    stream,
    pairs_in_window,
    window,
    pairs_total,
    leaking_resets_total,
    declined_resets_total,
    last_cause,
    first_seen,
    last_seen,
    offset,
    max_bytes,
    estimated_leaked_bytes,
});

#[cfg(test)]
mod tests {
    use super::*;

    /// The definitions of `summary` and `runbook` before they were written
    /// in pieces, with `format!`: what the pieces must add up to.
    struct Old<'a>(&'a Alert);

    impl std::ops::Deref for Old<'_> {
        type Target = Alert;
        fn deref(&self) -> &Alert {
            self.0
        }
    }

    impl Old<'_> {
        /// What kind of cause drives the loop, for the runbook.
        fn no_leader(&self) -> bool {
            self.last_cause.as_deref().is_some_and(|c| c.starts_with("catchup aborted, no leader"))
        }

        fn where_(&self) -> String {
            match &self.server_name {
                Some(n) if *n != self.source => format!("{} ({})", n, self.source),
                Some(n) => n.clone(),
                None => self.source.clone(),
            }
        }

        /// One sentence a person can act on.
        pub fn summary(&self) -> String {
            let stream = format!("'{} > {}'", self.account, self.stream);
            let secs = self.window / SECOND;
            if self.status == Status::Resolved {
                return format!(
                    "Stream {stream} on {} stopped its reset loop after {} reset pairs; restart that server to release reservations the loop leaked.",
                    self.where_(),
                    self.pairs_total
                );
            }
            let leak = match self.known_leak {
                Some(true) => format!(
                    "on nats-server {} every reset reserves the stream's max_bytes again ({} so far), so reserved storage is climbing towards the disk limit",
                    self.server_version.as_deref().unwrap_or("?"),
                    self.leaking_resets_total
                ),
                Some(false) => "this release does not leak reservations, but the stream is not serving from this replica".to_string(),
                None => "on nats-server 2.10.25 and earlier every reset reserves max_bytes again (version unknown here)".to_string(),
            };
            let cause = self.last_cause.as_deref().unwrap_or("unknown cause");
            let action = if self.no_leader() {
                "restore the stream's quorum first"
            } else {
                "scale the stream to R1, restart the server, then scale back"
            };
            if self.rule == Rule::Leak {
                let leak = match self.known_leak {
                    None => {
                        "the nats-server version is unknown here, and on 2.10.25 and earlier every reset reserves max_bytes again"
                            .to_string()
                    }
                    _ => leak,
                };
                return format!(
                    "Stream {stream} on {} keeps resetting slowly ({} leaking resets this episode, each within the quiet period of the last, cause: {cause}); {leak}: {action}.",
                    self.where_(),
                    self.leaking_resets_total
                );
            }
            format!(
                "Stream {stream} on {} is in a reset loop ({} reset pairs in {}s, cause: {cause}); {leak}: {action}.",
                self.where_(),
                self.pairs_in_window,
                secs
            )
        }

        /// Steps chosen by cause; always ends with the upgrade to a fixed release.
        pub fn runbook(&self) -> Vec<String> {
            let s = &self.stream;
            let acc = &self.account;
            let server = self.server_name.as_deref().unwrap_or(&self.source);
            let mut steps = Vec::new();
            steps.push(format!(
                "Confirm: `nats stream info {s}` (account {acc}) and the server's /jsz: reserved_storage well above the sum of its streams' max_bytes means reservations leaked."
            ));
            if self.no_leader() {
                steps.push(
                    "The stream has no leader, so nothing else can apply: restore its quorum first by bringing its missing peers back (`nats server report jetstream`, `nats stream report`); a scale-down cannot apply without a leader."
                        .to_string(),
                );
                steps.push(format!(
                    "Once a leader is elected the loop stops; then restart {server} (rolling, one server at a time) to release the leaked reservations."
                ));
                steps.push(format!(
                    "If it keeps looping with a leader present, scale it down with `nats stream edit {s} --replicas 1`, restart {server}, and scale back up with `nats stream edit {s} --replicas 3` once the R1 change has applied on every server."
                ));
            } else {
                steps.push(format!("Scale the stream down: `nats stream edit {s} --replicas 1`."));
                steps.push(format!(
                    "Wait until the R1 change has applied on every server (`nats stream info {s}` shows no followers): before nats-server 2.14.0 scaling back too quickly can desync the stream again (nats-server PR 7774)."
                ));
                steps.push(format!("Restart {server} (rolling, one server at a time) to release the leaked reservations."));
                steps.push(format!("Scale back up: `nats stream edit {s} --replicas 3`."));
            }
            steps.push(match self.known_leak {
                Some(false) => "Stay on a fixed release (2.10.26+ or 2.11.0+): resets there no longer leak reservations (nats-server PR 6457).".to_string(),
                _ => "Upgrade nats-server to 2.10.26 or 2.11.0 or later, where resets no longer leak reservations (nats-server issue 6455, PR 6457).".to_string(),
            });
            steps
        }
    }

    #[test]
    fn summary_and_runbook_read_as_their_format_definitions() {
        let mut n = 0;
        for status in [Status::Firing, Status::Resolved] {
            for rule in [Rule::Window, Rule::Leak] {
                for known_leak in [Some(true), Some(false), None] {
                    for cause in
                        [None, Some("last sequence mismatch"), Some("catchup aborted, no leader for stream '$G > ORDERS'")]
                    {
                        for (server_name, version) in [(Some("n1"), Some("2.10.25")), (Some("nats.n1"), None), (None, None)] {
                            for window in [300 * SECOND, 0, -7 * SECOND] {
                                let a = Alert {
                                    status,
                                    rule,
                                    known_leak,
                                    last_cause: cause.map(String::from),
                                    server_name: server_name.map(String::from),
                                    server_version: version.map(String::from),
                                    window,
                                    stream: "KV_\"quoted\"\n".into(),
                                    pairs_total: 40 + n,
                                    pairs_in_window: n,
                                    leaking_resets_total: u64::MAX - n,
                                    ..example()
                                };
                                let old = Old(&a);
                                assert_eq!(a.summary(), old.summary());
                                assert_eq!(a.runbook(), old.runbook());
                                let v: serde_json::Value = serde_json::from_str(&a.to_json()).unwrap();
                                assert_eq!(v["summary"], old.summary());
                                assert_eq!(v["runbook"], serde_json::json!(old.runbook()));
                                n += 1;
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn json_has_every_field() {
        let v: serde_json::Value = serde_json::from_str(&example().to_json()).unwrap();
        for k in [
            "alert",
            "status",
            "severity",
            "rule",
            "source",
            "server_name",
            "server_id",
            "server_version",
            "known_leak",
            "account",
            "stream",
            "pairs_in_window",
            "window_seconds",
            "pairs_total",
            "leaking_resets_total",
            "declined_resets_total",
            "last_cause",
            "max_bytes",
            "estimated_leaked_bytes",
            "first_seen",
            "last_seen",
            "summary",
            "runbook",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert!(v["server_id"].is_null());
        assert!(v["max_bytes"].is_null() && v["estimated_leaked_bytes"].is_null());
        assert_eq!(v["first_seen"], "1970-01-01T00:00:00.000000Z");
        assert_eq!(v["window_seconds"], 300);
    }

    #[test]
    fn runbook_follows_the_cause() {
        let a = example();
        let book = a.runbook().join("\n");
        assert!(book.contains("restore its quorum first"), "{book}");
        assert!(book.contains("Upgrade nats-server to 2.10.26"), "{book}");
        assert!(a.summary().contains("restore the stream's quorum first"));
        let mut m = example();
        m.last_cause = Some("last sequence mismatch".into());
        let book = m.runbook().join("\n");
        assert!(book.contains("--replicas 1") && book.contains("--replicas 3") && book.contains("PR 7774"), "{book}");
        assert!(!book.contains("quorum first"));
        m.known_leak = Some(false);
        assert!(m.runbook().last().unwrap().contains("Stay on a fixed release"));
    }
}
