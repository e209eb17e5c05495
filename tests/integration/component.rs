//! The Component Model build (`dist/resetwatch-component.wasm`, world
//! `resetwatch` in `wit/resetwatch.wit`) run through wasmtime with WASI p2,
//! on the real corpus and through every call of the interface. Run `cargo
//! xtask dist` first (`cargo xtask test` does).

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::support::root;
use resetwatch_host::component::{
    self, Alert, ConfigError, Detector, DetectorComponent, Notice, RestoreError, Seen, Severity, Status,
};
use resetwatch_host::logs::{Kind, Merged};
use serde_json::Value;

/// Compiled once for every test.
fn component() -> &'static DetectorComponent {
    static C: OnceLock<DetectorComponent> = OnceLock::new();
    C.get_or_init(|| {
        let p = root().join(component::DEFAULT_COMPONENT);
        assert!(p.exists(), "{}: run `cargo xtask dist` first", p.display());
        DetectorComponent::from_file(&p).unwrap()
    })
}

fn detector(config: &str) -> Detector {
    component().create(config).unwrap().unwrap()
}

const LOOP: &str = "s05_pair_reset_loop_catchup_no_leader_v2.10.25";
const QUIET: [&str; 4] = [
    "s01_healthy_rolling_restart_v2.10.25",
    "s03_kill9_heavy_publish_v2.10.25",
    "s02_follower_mismatch_single_reset_v2.10.25",
    "s02_follower_mismatch_single_reset_v2.10.26_control",
];

fn logs(scenario: &str) -> Vec<PathBuf> {
    ["n1", "n2", "n3"].iter().map(|n| root().join("tests/data/corpus").join(scenario).join(format!("{n}.log"))).collect()
}

/// The scenario's three logs, merged by line time, as raw lines from
/// sources `n1`..`n3`; the alerts in order.
fn replay(d: &mut Detector, scenario: &str) -> Vec<Alert> {
    let mut merged = Merged::open(&logs(scenario), &resetwatch::Config::default()).unwrap();
    let mut alerts = Vec::new();
    while let Some(e) = merged.next_entry().unwrap() {
        assert_eq!(e.kind, Kind::Line);
        let source = merged.source(e.input).to_string();
        alerts.extend(loops(d.process_line(&source, e.time * 1000, &e.bytes).unwrap()));
    }
    alerts
}

/// The reset-loop alerts among `notices` (log lines raise no other kind).
fn loops(notices: Vec<Notice>) -> Vec<Alert> {
    notices.into_iter().map(|n| n.as_loop().cloned().expect("log lines raise reset-loop alerts only")).collect()
}

#[test]
fn the_loop_alerts_on_n1_and_n2() {
    let mut d = detector("{}");
    d.record_pairs(true).unwrap();
    let alerts = replay(&mut d, LOOP);
    for node in ["n1", "n2"] {
        let mine: Vec<&Alert> = alerts.iter().filter(|a| a.source == node).collect();
        let sev: Vec<(Severity, u64)> = mine.iter().map(|a| (a.severity, a.pairs_total)).collect();
        assert_eq!(sev, [(Severity::Warning, 3), (Severity::Critical, 10)], "{node}");
        let last = mine.last().unwrap();
        assert_eq!(last.status, Status::Firing, "end of input is not the passing of time");
        assert_eq!((last.account.as_str(), last.stream.as_str()), ("$G", "ORDERS"));
        assert_eq!(last.known_leak, Some(true));
        assert_eq!(last.server_version.as_deref(), Some("2.10.25"));
        assert_eq!(last.server_name.as_deref(), Some(node));
        assert!(last.last_cause.as_deref().unwrap().starts_with("catchup aborted, no leader"));
        assert_eq!(last.window_ns, 300_000_000_000);
        // 2026-11-26T14:17:08Z, in nanoseconds
        assert_eq!(last.first_seen_ns / 1_000_000_000, 1_795_702_628);
    }
    assert!(alerts.iter().all(|a| a.source != "n3"));
    // 13 pairs on each looping server, none on n3
    let pairs = d.take_pairs().unwrap();
    for node in ["n1", "n2"] {
        let mine: Vec<_> = pairs.iter().filter(|p| p.source == node).collect();
        assert_eq!(mine.len(), 13, "{node}");
        assert_eq!(mine.iter().map(|p| p.in_window).collect::<Vec<_>>(), (1..=13).collect::<Vec<u64>>());
        assert!(mine.iter().all(|p| p.leaks && p.stream == "ORDERS"));
    }
    assert_eq!(pairs.len(), 26);
    assert!(d.take_pairs().unwrap().is_empty(), "taken once");
}

#[test]
fn healthy_runs_and_single_resets_raise_nothing() {
    for s in QUIET {
        let mut d = detector("{}");
        assert_eq!(replay(&mut d, s), [], "{s}");
    }
}

#[test]
fn the_typed_fields_are_the_json() {
    let mut d = detector("{}");
    let alerts = replay(&mut d, LOOP);
    assert_eq!(alerts.len(), 4);
    for a in &alerts {
        // The JSON is exactly what the core writes for these typed fields.
        assert_eq!(component::core_alert(a, 0).to_json(), a.json);
        let v: Value = serde_json::from_str(&a.json).unwrap();
        assert_eq!(v["alert"], "nats_stream_reset_loop");
        assert_eq!(v["source"], a.source);
        assert_eq!(v["pairs_in_window"], a.pairs_in_window);
        assert!(v["runbook"].as_array().is_some_and(|r| !r.is_empty()));
    }
}

#[test]
fn a_bad_configuration_is_refused_naming_the_key() {
    let err = |json: &str| component().create(json).unwrap().err().expect("refused");
    let e = err(r#"{"window_seconds": "five minutes"}"#);
    assert_eq!(e.key, "window_seconds");
    assert!(e.problem.contains("number of seconds"), "{}", e.problem);
    assert_eq!(err(r#"{"windw_seconds": 300}"#).key, "windw_seconds", "unknown keys are errors");
    assert_eq!(err(r#"{"server_versions": {"n1": 2}}"#).key, "server_versions.n1", "nested keys by path");
    let e = err("not json");
    assert_eq!(e.key, "", "the document itself");
    assert!(e.problem.contains("JSON"), "{}", e.problem);
    assert!(matches!(err("[1]"), ConfigError { ref key, .. } if key.is_empty()));
    // and the same for restore
    match component().restore(r#"{"warning_pairs": -1}"#, b"").unwrap() {
        Err(RestoreError::Config(e)) => assert_eq!(e.key, "warning_pairs"),
        other => panic!("{:?}", other.err()),
    }
}

fn line(n: usize, what: &str, stream: &str) -> String {
    let t = format!("2026/11/26 14:17:{:02}.000000", 8 + n * 5);
    match what {
        "cause" => format!("[1] {t} [WRN] Error applying entries to '$G > {stream}': last sequence mismatch"),
        _ => format!("[1] {t} [WRN] Resetting stream cluster state for '$G > {stream}'"),
    }
}

/// The line's own time in nanoseconds, as a host would stamp the record.
fn ns(l: &str) -> i64 {
    resetwatch::line::split(l.as_bytes()).time(0, 0).unwrap() * 1000
}

fn record(l: &str) -> Vec<u8> {
    serde_json::json!({ "log": l, "stream": "stderr" }).to_string().into_bytes()
}

#[test]
fn process_returns_the_record_and_the_alerts_apart() {
    let mut d = detector(r#"{"warning_pairs": 1, "critical_pairs": 2}"#);
    let first = record(&line(0, "cause", "ORDERS"));
    let e = d.process("nats.n1", ns(&line(0, "cause", "ORDERS")), &first).unwrap();
    assert_eq!(e.record, first, "byte for byte");
    assert_eq!(e.seen, Seen::Event);
    assert!(e.alerts.is_empty());
    let second = record(&line(0, "reset", "ORDERS"));
    let e = d.process("nats.n1", ns(&line(0, "reset", "ORDERS")), &second).unwrap();
    assert_eq!(e.record, second, "the record is never changed: the alert comes apart");
    assert_eq!(e.alerts.len(), 1);
    assert_eq!(e.alerts[0].source(), "nats.n1", "the tag names the source");
    // A record that names its own source; one that is not a NATS event; one
    // that is not an object; one that is not UTF-8; one that is an alert.
    let k8s =
        serde_json::json!({"log": line(1, "cause", "ORDERS"), "kubernetes": {"namespace_name": "nats", "pod_name": "nats-0"}});
    let e = d.process("kube.x", ns(&line(1, "cause", "ORDERS")), k8s.to_string().as_bytes()).unwrap();
    assert_eq!(e.seen, Seen::Event);
    let k8s =
        serde_json::json!({"log": line(1, "reset", "ORDERS"), "kubernetes": {"namespace_name": "nats", "pod_name": "nats-0"}});
    let e = d.process("kube.x", ns(&line(1, "reset", "ORDERS")), k8s.to_string().as_bytes()).unwrap();
    assert_eq!(e.alerts.iter().map(|a| a.source()).collect::<Vec<_>>(), ["nats/nats-0"]);
    for (body, seen) in [
        (&b"{\"log\":\"[1] [INF] Server is ready\"}"[..], Seen::Other),
        (b"[\"log\"]", Seen::NoLine),
        (b"{\"msg\":\"no message key\"}", Seen::NoLine),
        (b"{\"log\":\"\xff\xfe not utf-8\"}", Seen::Other),
        (e.alerts[0].json().as_bytes(), Seen::NoLine),
    ] {
        let out = d.process("nats.n1", 0, body).unwrap();
        assert_eq!((out.record.as_slice(), out.seen), (body, seen));
    }
    let routed_back = format!(
        "{{\"log\":{},\"resetwatch\":{}}}",
        serde_json::to_string(&line(2, "reset", "ORDERS")).unwrap(),
        e.alerts[0].json()
    );
    assert_eq!(d.process("alerts.ORDERS", 0, routed_back.as_bytes()).unwrap().seen, Seen::Alert);
}

#[test]
fn several_alerts_can_come_from_one_call() {
    let mut d = detector(r#"{"warning_pairs": 1, "quiet_seconds": 60}"#);
    for stream in ["A", "B"] {
        for what in ["cause", "reset"] {
            let l = line(0, what, stream);
            d.process_line("n1", ns(&l), l.as_bytes()).unwrap();
        }
    }
    // Both resolve at once by the host clock: two alerts from one record.
    let later = ns(&line(0, "reset", "B")) + 61_000_000_000;
    let e = d.process("nats.other", later, b"{\"log\":\"[2] [INF] unrelated\"}").unwrap();
    let got: Vec<(Status, &str)> = e.alerts.iter().filter_map(Notice::as_loop).map(|a| (a.status, a.stream.as_str())).collect();
    assert_eq!(got, [(Status::Resolved, "A"), (Status::Resolved, "B")]);
}

#[test]
fn advance_resolves_a_silent_stream_on_time() {
    let mut d = detector("{}");
    let mut last = 0;
    let mut fired = Vec::new();
    for n in 0..3 {
        for what in ["cause", "reset"] {
            let l = line(n, what, "ORDERS");
            last = ns(&l);
            fired.extend(loops(d.process_line("n1", last, l.as_bytes()).unwrap()));
        }
    }
    assert_eq!(fired.iter().map(|a| a.status).collect::<Vec<_>>(), [Status::Firing]);
    assert_eq!(d.advance(last + 599_000_000_000).unwrap(), [], "quiet_seconds is 600");
    let resolved = loops(d.advance(last + 600_000_000_000).unwrap());
    assert_eq!(resolved.len(), 1);
    assert_eq!((resolved[0].status, resolved[0].severity, resolved[0].pairs_total), (Status::Resolved, Severity::Warning, 3));
    assert_eq!(d.advance(last + 10_000_000_000_000).unwrap(), [], "resolved once");
}

#[test]
fn a_saved_state_goes_on_in_another_instance() {
    let cfg = "{}";
    // Straight through: warning at the third pair.
    let mut whole = detector(cfg);
    let mut want = Vec::new();
    for n in 0..4 {
        for what in ["cause", "reset"] {
            let l = line(n, what, "ORDERS");
            want.extend(loops(whole.process_line("n1", ns(&l), l.as_bytes()).unwrap()));
        }
    }
    // Two pairs, save, restore into a fresh instance, two more pairs.
    let mut first = detector(cfg);
    for n in 0..2 {
        for what in ["cause", "reset"] {
            let l = line(n, what, "ORDERS");
            assert_eq!(first.process_line("n1", ns(&l), l.as_bytes()).unwrap(), []);
        }
    }
    let state = first.save().unwrap();
    assert!(state.starts_with(b"resetwatch-state 3\n"), "versioned: {:?}", String::from_utf8_lossy(&state[..30]));
    drop(first);
    let mut second = component().restore(cfg, &state).unwrap().unwrap();
    let mut got = Vec::new();
    for n in 2..4 {
        for what in ["cause", "reset"] {
            let l = line(n, what, "ORDERS");
            got.extend(loops(second.process_line("n1", ns(&l), l.as_bytes()).unwrap()));
        }
    }
    assert_eq!(got, want);
    assert_eq!((got[0].pairs_total, got[0].first_seen_ns), (3, ns(&line(0, "cause", "ORDERS"))), "the same episode");
    // Refused states, each with its reason.
    let refused = |bytes: &[u8]| component().restore(cfg, bytes).unwrap().err().expect("refused");
    assert_eq!(refused(b"{}"), RestoreError::Foreign);
    assert_eq!(refused(b"resetwatch-state 99\n{}"), RestoreError::Version(99));
    assert!(matches!(refused(&state[..state.len() / 2]), RestoreError::Corrupt(_)));
}

#[test]
fn times_before_1970_and_far_ahead_do_not_trap() {
    let mut d = detector("{}");
    for t in [i64::MIN, -1, 0, i64::MAX] {
        d.advance(t).unwrap();
        d.process_line("n1", t, line(0, "reset", "ORDERS").as_bytes()).unwrap();
        d.process("n1", t, b"{\"log\":\"x\"}").unwrap();
    }
    d.save().unwrap();
}

#[test]
fn it_imports_no_files_no_clocks_and_no_network() {
    let engine = wasmtime::Engine::default();
    let c = wasmtime::component::Component::from_file(&engine, root().join(component::DEFAULT_COMPONENT)).unwrap();
    let ty = c.component_type();
    let imports: Vec<String> = ty.imports(&engine).map(|(name, _)| name.to_string()).collect();
    assert!(!imports.is_empty());
    for i in &imports {
        // What Rust's standard library links on wasm32-wasip2: stdio,
        // environment, exit, streams, and a seed for its hash maps.
        assert!(["wasi:cli/", "wasi:io/", "wasi:random/"].iter().any(|p| i.starts_with(p)), "{i} in {imports:?}");
    }
    let exports: Vec<String> = ty.exports(&engine).map(|(name, _)| name.to_string()).collect();
    assert_eq!(exports, ["resetwatch:detector/detection@0.3.0"]);
}
