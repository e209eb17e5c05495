//! resetwatch's alerts in a real Prometheus Alertmanager (Debian's
//! `prometheus-alertmanager`, which `cargo xtask test` installs), started
//! here on a free loopback port with the documented configuration
//! (examples/alertmanager/alertmanager.yml, shorter waits) and stopped by
//! pid when the test ends, passed or failed.
//!
//! The s05 loop's real lines are replayed with their times moved to the last
//! minutes (Alertmanager takes an alert whose `endsAt` has passed as over),
//! through `resetwatch replay --alertmanager`, through the Fluent Bit
//! build's two filter instances, and as Vector events over TCP into the
//! real `resetwatch serve --alertmanager`; the captured /jsz snapshots and
//! logs of a real 2.10.25 loop, moved likewise, through `resetwatch replay
//! --alertmanager` for the storage alert. Run `cargo xtask dist` first.

use resetwatch::clock::{parse_rfc3339, rfc3339, Micros, SECOND};
use resetwatch_host::fluent_bit::{FluentBitHost, FluentBitOptions, Outcome};
use resetwatch_host::tail;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::serve_process;
use serve_process::Serve;

use crate::support::alertmanager_process;
use crate::support::root;
use alertmanager_process::{config, free_port, jsz_now, line_time, now, shift_jsz, shift_log, with_time, Alertmanager};

const S05: &str = "s05_pair_reset_loop_catchup_no_leader_v2.10.25";

fn scratch(name: &str) -> PathBuf {
    let d = root().join("target/tmp").join(format!("alertmanager-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The s05 logs with every line time moved by the same amount, so that the
/// loop's last reset (n1's and n2's last `Resetting stream cluster state`)
/// is at `last_reset`; the loop's real spacing is kept. Returns the paths.
fn s05_reset_at(dir: &Path, last_reset: Micros) -> Vec<PathBuf> {
    let src = root().join("tests/data/corpus").join(S05);
    let read = |n: &str| std::fs::read_to_string(src.join(format!("{n}.log"))).unwrap();
    let newest_reset = ["n1", "n2", "n3"]
        .iter()
        .flat_map(|n| {
            read(n)
                .lines()
                .filter(|l| l.contains("Resetting stream cluster state"))
                .filter_map(line_time)
                .map(|(_, t)| t)
                .collect::<Vec<_>>()
        })
        .max()
        .unwrap();
    let shift = last_reset - newest_reset;
    ["n1", "n2", "n3"]
        .iter()
        .map(|n| {
            let p = dir.join(format!("{n}.log"));
            std::fs::write(&p, shift_log(&read(n), shift)).unwrap();
            p
        })
        .collect()
}

fn resetwatch() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_resetwatch"));
    c.current_dir(root());
    c
}

fn labels(a: &Value) -> (String, String) {
    (a["labels"]["server_name"].as_str().unwrap().into(), a["labels"]["severity"].as_str().unwrap().into())
}

#[test]
fn replay_posts_the_s05_loop_grouped_then_resolved() {
    let dir = scratch("replay");
    let am = Alertmanager::start(&dir);
    // The logs go on 36 s after the last reset (the servers shut down), so
    // a quiet period of 60 s keeps the loop firing at their end. The last
    // reset is 62 s ago: a line 61 s after it is already in the past.
    // Firing alerts end 60 s + repeat (120 s) after the 10th reset, ~15 s
    // before the last: about 100 s from now.
    let quiet = 60;
    let last = now() - 62 * SECOND;
    let logs = s05_reset_at(&dir, last);
    let config = dir.join("resetwatch.json");
    std::fs::write(&config, format!(r#"{{"quiet_seconds": {quiet}, "repeat_seconds": 120}}"#)).unwrap();

    // 1. The logs as they are: the loop is still firing when they end.
    let t = Instant::now();
    let out = resetwatch().args(["replay", "--alertmanager", &am.url, "--config"]).arg(&config).args(&logs).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // warning and critical for n1 and n2, and the two warnings once more as resolved
    assert!(stderr.contains("alertmanager: 6 of 6 alerts delivered"), "{stderr}");
    eprintln!("replay with --alertmanager: {:?}", t.elapsed());

    let active =
        am.wait_for("both servers' critical alerts", |a| a.len() == 2 && a.iter().all(|a| a["status"]["state"] == "active"));
    let mut got: Vec<_> = active.iter().map(labels).collect();
    got.sort();
    assert_eq!(
        got,
        [("n1".into(), "critical".into()), ("n2".into(), "critical".into())],
        "the warnings were resolved at the rise"
    );
    for a in &active {
        let l = a["labels"].as_object().unwrap();
        let mut keys: Vec<_> = l.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["account", "alertname", "server_name", "severity", "source", "stream"]);
        assert_eq!((&l["account"], &l["stream"]), (&Value::from("$G"), &Value::from("ORDERS")));
        assert_eq!(l["source"], l["server_name"], "replay names a source by its file");
        let n = &a["annotations"];
        assert!(n["summary"].as_str().unwrap().starts_with("Stream '$G > ORDERS' on n"), "{n}");
        assert!(n["description"].as_str().unwrap().starts_with("10 reset pairs in the last 300 s"), "{n}");
        assert!(n["description"].as_str().unwrap().contains("Cause: catchup aborted, no leader"), "{n}");
        assert!(n["runbook"].as_str().unwrap().starts_with("1. Confirm:"), "{n}");
        // the rule that raised it is an annotation: the labels above are unchanged
        assert_eq!(n["rule"], "window", "{n}");
        // endsAt: the 10th reset + quiet + repeat, in the future
        let ends = parse_rfc3339(a["endsAt"].as_str().unwrap().as_bytes()).unwrap().0;
        assert!(ends > now(), "{a}");
    }

    // One group for the stream, holding both servers' alerts.
    let groups = am.json("/api/v2/alerts/groups");
    let ours: Vec<&Value> =
        groups.as_array().unwrap().iter().filter(|g| g["labels"]["alertname"] == "NatsStreamResetLoop").collect();
    assert_eq!(ours.len(), 1, "{groups:#}");
    assert_eq!(ours[0]["labels"], serde_json::json!({"alertname": "NatsStreamResetLoop", "account": "$G", "stream": "ORDERS"}));
    let mut members: Vec<_> = ours[0]["alerts"].as_array().unwrap().iter().map(labels).collect();
    members.sort();
    assert_eq!(members, got);

    // 2. A later line (another server's event, past the quiet period) moves
    // time on: the loop resolves and Alertmanager no longer has it active.
    let later = dir.join("later.log");
    let t_later = last + (quiet + 1) * SECOND;
    let line = "[9000] 2026/11/26 00:00:00.000000 [WRN] Resetting stream cluster state for '$G > OTHER'";
    std::fs::write(&later, with_time(line, 7, t_later) + "\n").unwrap();
    let out = resetwatch()
        .args(["replay", "--alertmanager", &am.url, "--config"])
        .arg(&config)
        .args(&logs)
        .arg(&later)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches(r#""status":"resolved""#).count(), 2, "{stdout}");
    assert!(stderr.contains("alertmanager: 8 of 8 alerts delivered"), "{stderr}");
    am.wait_for("no loop alert active", |a| a.is_empty());
    // Kept on failure: alertmanager.log and the logs replayed.
    drop(am);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The body Fluent Bit's `http` output posts with `Format json`: the
/// records of a chunk as one JSON array.
fn fluent_bit_body(records: &[Vec<u8>]) -> Vec<u8> {
    let mut body = b"[".to_vec();
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(r);
    }
    body.push(b']');
    body
}

#[test]
fn the_second_fluent_bit_instance_posts_what_alertmanager_takes() {
    let dir = scratch("fluent-bit");
    let am = Alertmanager::start(&dir);
    // Default quiet period (600 s): still firing at the end of the logs.
    let logs = s05_reset_at(&dir, now() - 40 * SECOND);
    let wasm = root().join("dist/resetwatch.wasm");
    let wasm = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask dist` first", wasm.display()));

    // First instance: defaults, on the logs as `tail` reads them.
    let mut first = FluentBitHost::new(&wasm, FluentBitOptions::default()).unwrap();
    // Second instance: its own Accessible_Paths with {"output": "alertmanager"}.
    let conf = dir.join("second");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("resetwatch.json"), r#"{"output": "alertmanager"}"#).unwrap();
    let opts = FluentBitOptions { accessible_paths: vec![conf], ..FluentBitOptions::default() };
    let mut second = FluentBitHost::new(&wasm, opts).unwrap();

    let mut bodies = Vec::new();
    let mut alerts = Vec::new();
    for r in tail::read_files(&logs).unwrap() {
        let out = match first.filter_record(&r.tag, r.time.sec, r.time.nsec, r.record.as_bytes()).unwrap() {
            Outcome::Output(o) => o,
            Outcome::Dropped(why) => panic!("dropped ({why}): {}", r.record),
        };
        // The second instance matches only the alert tag: rewrite_tag's copies.
        if out == r.record.as_bytes() {
            continue;
        }
        let rec: Value = serde_json::from_slice(&out).unwrap();
        alerts.push(rec["resetwatch"].clone());
        let tag = format!("alerts.{}", rec["resetwatch"]["stream"].as_str().unwrap());
        match second.filter_record(&tag, r.time.sec, r.time.nsec, &out).unwrap() {
            Outcome::Output(o) => bodies.push(o),
            Outcome::Dropped(why) => panic!("second instance dropped ({why})"),
        }
    }
    assert_eq!(alerts.len(), 4, "warning and critical on n1 and n2: {alerts:#?}");
    assert!(second.take_guest_stderr().is_empty(), "the second instance read its configuration");
    for (b, a) in bodies.iter().zip(&alerts) {
        let v: Value = serde_json::from_slice(b).unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["annotations", "endsAt", "labels", "startsAt"], "the body is the Alertmanager form alone");
        assert_eq!(v["labels"]["severity"], a["severity"]);
        assert_eq!(v["labels"]["source"], a["source"]);
    }

    // Exactly as the http output posts it: one array, JSON content type, no date key.
    let body = fluent_bit_body(&bodies);
    let mut resp =
        am.agent.post(format!("{}/api/v2/alerts", am.url)).header("Content-Type", "application/json").send(&body[..]).unwrap();
    let status = resp.status().as_u16();
    assert_eq!(status, 200, "{}", resp.body_mut().read_to_string().unwrap_or_default());

    // Without the warning's resolution (one record in, one out) both
    // severities are active; the inhibit rule silences the warnings.
    let inhibited = |a: &Value| !a["status"]["inhibitedBy"].as_array().unwrap().is_empty();
    let active = am.wait_for("the four alerts, warnings inhibited", |all| {
        all.len() == 4 && all.iter().all(|a| inhibited(a) == (a["labels"]["severity"] == "warning"))
    });
    for a in &active {
        let want = if a["labels"]["severity"] == "warning" { "suppressed" } else { "active" };
        assert_eq!(a["status"]["state"], want, "{a}");
        assert!(a["labels"]["source"].as_str().unwrap().starts_with("nats."), "the tag is the source: {a}");
    }
    let groups = am.json("/api/v2/alerts/groups");
    let ours: Vec<&Value> =
        groups.as_array().unwrap().iter().filter(|g| g["labels"]["alertname"] == "NatsStreamResetLoop").collect();
    assert_eq!(ours.len(), 1, "{groups:#}");
    assert_eq!(ours[0]["alerts"].as_array().unwrap().len(), 4);
    drop(am);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Vector `kubernetes_logs` event for one nats-server line (as
/// tests/integration/serve.rs builds them): the line in `message`, the pod in
/// `kubernetes`, which `resetwatch serve` makes the source `nats/<pod>`.
fn vector_event(pod: &str, line: &str) -> String {
    let ts = line_time(line).map(|(_, t)| rfc3339(t, 0)).unwrap_or_default();
    serde_json::json!({
        "kubernetes": {"pod_name": pod, "pod_namespace": "nats", "container_name": "nats"},
        "message": line,
        "source_type": "kubernetes_logs",
        "stream": "stderr",
        "timestamp": ts
    })
    .to_string()
}

#[test]
fn serve_posts_the_s05_loop_grouped_then_resolved() {
    let dir = scratch("serve");
    let am = Alertmanager::start(&dir);
    // The loop up to its last reset, which was 2 s ago (the servers'
    // shutdown lines after it are left out: they would be in the future).
    // With a quiet period of 10 s serve resolves the loop on its own
    // clock, with no further event.
    let last = now() - 2 * SECOND;
    let logs = s05_reset_at(&dir, last);
    let config = dir.join("resetwatch.json");
    std::fs::write(&config, r#"{"quiet_seconds": 10, "repeat_seconds": 120}"#).unwrap();
    let mut serve = Serve::start(&[
        "--tcp",
        "127.0.0.1:0",
        "--config",
        config.to_str().unwrap(),
        "--alertmanager",
        &am.url,
        "--alertmanager-deadline",
        "5",
    ]);
    let addr = serve.tcp_addr();
    let mut senders = Vec::new();
    for (log, pod) in logs.iter().zip(["nats-0", "nats-1", "nats-2"]) {
        let events: Vec<String> = std::fs::read_to_string(log)
            .unwrap()
            .lines()
            .filter(|l| line_time(l).is_none_or(|(_, t)| t <= last))
            .map(|l| vector_event(pod, l) + "\n")
            .collect();
        let addr = addr.clone();
        senders.push(std::thread::spawn(move || {
            use std::io::Write;
            let mut c = std::net::TcpStream::connect(&addr).unwrap();
            c.write_all(events.concat().as_bytes()).unwrap();
        }));
    }
    for s in senders {
        s.join().unwrap();
    }

    // Both servers' critical alerts, the warnings resolved at the rise.
    let active = am.wait_for("both servers' critical alerts from serve", |a| {
        a.len() == 2 && a.iter().all(|a| a["status"]["state"] == "active" && a["labels"]["severity"] == "critical")
    });
    let mut got: Vec<_> = active.iter().map(|a| a["labels"]["source"].as_str().unwrap().to_string()).collect();
    got.sort();
    assert_eq!(got, ["nats/nats-0", "nats/nats-1"], "serve names a source by namespace and pod");
    for a in &active {
        let l = a["labels"].as_object().unwrap();
        let mut keys: Vec<_> = l.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["account", "alertname", "server_name", "severity", "source", "stream"]);
        assert_eq!((&l["account"], &l["stream"]), (&Value::from("$G"), &Value::from("ORDERS")));
        let pod = l["source"].as_str().unwrap();
        assert_eq!(l["server_name"], if pod.ends_with("nats-0") { "n1" } else { "n2" }, "from the banner");
        let n = &a["annotations"];
        assert!(n["description"].as_str().unwrap().starts_with("10 reset pairs in the last 300 s"), "{n}");
        assert!(n["runbook"].as_str().unwrap().starts_with("1. Confirm:"), "{n}");
    }
    let groups = am.json("/api/v2/alerts/groups");
    let ours: Vec<&Value> =
        groups.as_array().unwrap().iter().filter(|g| g["labels"]["alertname"] == "NatsStreamResetLoop").collect();
    assert_eq!(ours.len(), 1, "{groups:#}");
    assert_eq!(ours[0]["labels"], serde_json::json!({"alertname": "NatsStreamResetLoop", "account": "$G", "stream": "ORDERS"}));
    assert_eq!(ours[0]["alerts"].as_array().unwrap().len(), 2);

    // 10 s after the last reset, on serve's clock: resolved, none active.
    am.wait_for("the loop resolved by serve", |a| a.is_empty());

    // SIGTERM: the report names what was delivered: per server a warning,
    // a critical, the warning resolved at the rise, the critical resolved.
    serve.sigterm();
    serve.wait_exit(Duration::from_secs(20));
    let stderr = serve.wait_stderr("resetwatch serve: stopped", Duration::from_secs(30));
    let want = format!("alertmanager: 8 of 8 alerts delivered to {}/api/v2/alerts", am.url);
    assert!(stderr.contains(&want), "{stderr}");
    drop(am);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The captured 2.10.25 loop (tests/data/cluster logs and tests/data/jsz
/// snapshots of the same run), moved to the last minute, replayed with
/// `--alertmanager`: the storage alerts land as NatsReservedStorageInflated,
/// one group per server.
#[test]
fn replay_posts_the_captured_storage_alerts() {
    const RUN: &str = "pair_loop_catchup_no_leader_v2.10.25";
    let dir = scratch("storage");
    let am = Alertmanager::start(&dir);
    let read =
        |sub: &str, file: String| std::fs::read_to_string(root().join("tests/data").join(sub).join(RUN).join(file)).unwrap();
    let nodes = ["n1", "n2", "n3"];
    let newest = nodes
        .iter()
        .flat_map(|n| {
            let logs = read("cluster", format!("{n}.log")).lines().filter_map(line_time).map(|(_, t)| t).collect::<Vec<_>>();
            let docs = read("jsz", format!("{n}.jsonl")).lines().filter_map(jsz_now).map(|(_, _, t)| t).collect::<Vec<_>>();
            logs.into_iter().chain(docs)
        })
        .max()
        .unwrap();
    let shift = now() - 2 * SECOND - newest;
    let mut files = Vec::new();
    for n in nodes {
        let log = dir.join(format!("{n}.log"));
        std::fs::write(&log, shift_log(&read("cluster", format!("{n}.log")), shift)).unwrap();
        let docs = shift_jsz(&read("jsz", format!("{n}.jsonl")), shift);
        let jsz = dir.join(format!("jsz-{n}.jsonl"));
        std::fs::write(&jsz, docs).unwrap();
        files.extend([log, jsz]);
    }
    let out = resetwatch().args(["replay", "--alertmanager", &am.url]).args(&files).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let storage = stdout.matches(r#""alert":"nats_reserved_storage_inflated""#).count();
    assert_eq!(storage, 4, "warning and critical on n2 and n3: {stdout}");
    let sent = stdout.lines().filter(|l| l.starts_with('{')).count();
    // Each rise also resends the warning as resolved: one more per server per kind.
    let all = sent + 4;
    assert!(stderr.contains(&format!("alertmanager: {all} of {all} alerts delivered")), "{sent} alerts on stdout; {stderr}");

    let active = am.wait_for_named("NatsReservedStorageInflated", "both servers' critical storage alerts", |a| {
        a.len() == 2 && a.iter().all(|a| a["status"]["state"] == "active")
    });
    let mut got: Vec<Value> = active.iter().map(|a| a["labels"].clone()).collect();
    got.sort_by_key(|l| l["source"].as_str().unwrap().to_string());
    let want: Vec<Value> = ["n2", "n3"]
        .iter()
        .map(|n| {
            serde_json::json!({"alertname": "NatsReservedStorageInflated", "severity": "critical", "source": n, "server_name": n})
        })
        .collect();
    assert_eq!(got, want, "a server's alert: no account or stream label");
    for a in &active {
        let d = a["annotations"]["description"].as_str().unwrap();
        assert!(d.starts_with("Reserved storage ") && d.contains("In a reset loop on this server: $G > ORDERS."), "{d}");
        assert!(a["annotations"]["runbook"].as_str().unwrap().starts_with("1. Confirm on n"), "{a}");
    }
    // One group per server.
    let groups = am.json("/api/v2/alerts/groups");
    let mut ours: Vec<Value> = groups
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["labels"]["alertname"] == "NatsReservedStorageInflated")
        .map(|g| g["labels"].clone())
        .collect();
    ours.sort_by_key(|l| l["source"].as_str().unwrap().to_string());
    let want: Vec<Value> = ["n2", "n3"]
        .iter()
        .map(|n| serde_json::json!({"alertname": "NatsReservedStorageInflated", "server_name": n, "source": n}))
        .collect();
    assert_eq!(ours, want, "{groups:#}");
    drop(am);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A webhook receiver on loopback (Alertmanager's `webhook_configs`): every
/// notification's JSON body, in the order they came.
struct Webhook {
    url: String,
    got: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    server: std::sync::Arc<tiny_http::Server>,
}

impl Webhook {
    fn start() -> Webhook {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}/", server.server_addr().to_ip().unwrap());
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (serving, keep) = (server.clone(), got.clone());
        std::thread::spawn(move || {
            for mut req in serving.incoming_requests() {
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
                if let Ok(mut v) = serde_json::from_str::<Value>(&body) {
                    v["received_at"] = Value::from(rfc3339(now(), 0));
                    keep.lock().unwrap().push(v);
                }
                let _ = req.respond(tiny_http::Response::empty(200));
            }
        });
        Webhook { url, got, server }
    }

    fn notifications(&self) -> Vec<Value> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (at most `timeout`) for a notification that `ok` accepts.
    fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&Value) -> bool) {
        let t = Instant::now();
        while !self.notifications().iter().any(&ok) {
            assert!(t.elapsed() < timeout, "no notification {what} within {timeout:?}; got: {:#?}", self.notifications());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// What a notification says changed: its status and the severities of the
/// alerts firing in it (`firing [warning]`, `firing [critical]`, `resolved []`).
fn change(n: &Value) -> String {
    let mut firing: Vec<&str> = n["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "firing")
        .map(|a| a["labels"]["severity"].as_str().unwrap())
        .collect();
    firing.sort();
    format!("{} {firing:?}", n["status"].as_str().unwrap())
}

/// Cluster flags for one peer of a loopback cluster: gossip on `port`,
/// joined to `peers`, with waits cut from 15 s and 1 min to seconds.
fn peer_args(port: u16, peers: &[u16]) -> Vec<String> {
    let mut a = vec![
        format!("--cluster.listen-address=127.0.0.1:{port}"),
        format!("--cluster.advertise-address=127.0.0.1:{port}"),
        // How long a peer waits for the one before it to notify (times its position).
        "--cluster.peer-timeout=1s".to_string(),
        "--cluster.gossip-interval=100ms".to_string(),
        "--cluster.settle-timeout=5s".to_string(),
        "--cluster.pushpull-interval=2s".to_string(),
        "--cluster.probe-interval=500ms".to_string(),
    ];
    a.extend(peers.iter().map(|p| format!("--cluster.peer=127.0.0.1:{p}")));
    a
}

impl Alertmanager {
    /// This peer's name in the cluster and the names of the live peers it sees.
    fn cluster(&self) -> (String, Vec<String>) {
        let s = self.json("/api/v2/status");
        let peers = s["cluster"]["peers"]
            .as_array()
            .map_or(Vec::new(), |p| p.iter().map(|p| p["name"].as_str().unwrap_or_default().to_string()).collect());
        (s["cluster"]["name"].as_str().unwrap_or_default().to_string(), peers)
    }

    /// Waits until this peer sees `n` live peers (itself included).
    fn wait_for_peers(&self, n: usize) {
        let t = Instant::now();
        while self.cluster().1.len() != n {
            assert!(t.elapsed() < Duration::from_secs(60), "{}: peers {:?}, want {n}", self.url, self.cluster());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The active loop alerts this peer holds, as (server_name, severity).
    fn holds(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> =
            self.alerts("NatsStreamResetLoop").iter().filter(|a| a["status"]["state"] == "active").map(labels).collect();
        v.sort();
        v
    }
}

/// One reset pair of the s05 loop as n1 logged it (lines 52-53 of
/// tests/data/corpus/s05.../n1.log, verbatim but for their times), at `t`.
fn s05_pair(t: Micros) -> [String; 2] {
    [
        with_time("[8368] 2026/11/26 14:17:08.682791 [WRN] Error applying entries to '$G > ORDERS': catchup aborted, no leader for stream '$G > ORDERS'", 7, t),
        with_time("[8368] 2026/11/26 14:17:08.683482 [WRN] Resetting stream cluster state for '$G > ORDERS'", 7, t + 500),
    ]
}

/// A real three-peer Alertmanager cluster on loopback, each peer sent every
/// alert by one `resetwatch serve` (`--alertmanager` three times), a loop
/// on one server fed to it live. The peer that notifies first is killed
/// while the loop is a warning; the loop rises to critical, the killed
/// peer comes back (a new process, fresh storage) and gets the alert at
/// resetwatch's next re-send, then the loop ends. The webhook gets one
/// notification per change (firing, critical, resolved), one duplicate
/// around the kill allowed, and none from the restarted peer: the
/// notification log it received through gossip says it was sent.
#[test]
fn an_ha_cluster_notifies_once_per_change_while_a_peer_is_killed_and_restarted() {
    let dir = scratch("ha");
    let hook = Webhook::start();
    let receiver = "  - name: nats-oncall\n";
    // Peers flush a group in step only when group_interval is longer than
    // the longest wait of a peer (its position times peer-timeout: 2 x 1 s).
    // Shorter, a late peer checks a view older than the notification log it
    // reads and notifies that old view again.
    let conf = config().replace("group_interval: 1s", "group_interval: 8s");
    assert!(conf.contains(receiver), "the example's receiver is `nats-oncall`");
    let conf = conf.replace(receiver, &format!("{receiver}    webhook_configs:\n      - url: {}\n", hook.url));
    let web: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let gossip: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let start_peer = |i: usize, port: u16, peers: &[u16], name: &str| {
        Alertmanager::launch(&dir.join(name), &conf, web[i], &peer_args(port, peers))
    };
    let mut peers: Vec<Option<Alertmanager>> = (0..3)
        .map(|i| {
            let others: Vec<u16> = (0..3).filter(|&j| j != i).map(|j| gossip[j]).collect();
            Some(start_peer(i, gossip[i], &others, &format!("peer-{i}")))
        })
        .collect();
    for p in peers.iter().flatten() {
        p.wait_for_peers(3);
    }
    // Alertmanager orders peers by name: position 0 notifies at once, the
    // others each wait peer-timeout longer and look in the notification log.
    let (_, mut names) = peers[0].as_ref().unwrap().cluster();
    names.sort();
    let first = peers.iter().position(|p| p.as_ref().unwrap().cluster().0 == names[0]).unwrap();

    // Warning at 3 pairs, critical at 10 in an 8 s window: one pair a
    // second stays a warning as long as the test wants, four a second
    // make it critical. Quiet 6 s ends it; a firing loop is re-sent every 3 s.
    let config = dir.join("resetwatch.json");
    std::fs::write(
        &config,
        r#"{"window_seconds": 8, "warning_pairs": 3, "critical_pairs": 10, "repeat_seconds": 3, "quiet_seconds": 6}"#,
    )
    .unwrap();
    let urls: Vec<String> = web.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
    let mut args = vec!["--tcp", "127.0.0.1:0", "--config", config.to_str().unwrap(), "--alertmanager-deadline", "2"];
    for u in &urls {
        args.extend(["--alertmanager", u.as_str()]);
    }
    let mut serve = Serve::start(&args);
    let addr = serve.tcp_addr();

    // The server's banner (n1, 2.10.25), then pairs at the pace asked for.
    let every_ms = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1000));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let feeder = {
        let (every_ms, stop) = (every_ms.clone(), stop.clone());
        let banner: Vec<String> = std::fs::read_to_string(root().join("tests/data/corpus").join(S05).join("n1.log"))
            .unwrap()
            .lines()
            .take(7)
            .map(String::from)
            .collect();
        std::thread::spawn(move || {
            use std::io::Write;
            use std::sync::atomic::Ordering;
            let mut c = std::net::TcpStream::connect(&addr).unwrap();
            for l in &banner {
                writeln!(c, "{}", vector_event("nats-0", &with_time(l, 7, now()))).unwrap();
            }
            while !stop.load(Ordering::SeqCst) {
                for l in s05_pair(now()) {
                    writeln!(c, "{}", vector_event("nats-0", &l)).unwrap();
                }
                std::thread::sleep(Duration::from_millis(every_ms.load(Ordering::SeqCst)));
            }
        })
    };
    let want_labels = |a: &Value| {
        let l = a["labels"].as_object().unwrap();
        let mut keys: Vec<_> = l.keys().map(String::as_str).collect();
        keys.sort();
        keys == ["account", "alertname", "server_name", "severity", "source", "stream"]
            && (l["account"].as_str(), l["stream"].as_str(), l["source"].as_str(), l["server_name"].as_str())
                == (Some("$G"), Some("ORDERS"), Some("nats/nats-0"), Some("n1"))
    };
    let long = Duration::from_secs(60);

    // Between changes: past the last peer's wait (2 x 1 s) and gossip.
    let pace = || {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(100));
        }
    };

    // 1. The warning: notified, then the peer that notifies first is killed.
    hook.wait_for("firing [warning]", long, |n| change(n) == r#"firing ["warning"]"#);
    pace();
    let killed_name = peers[first].as_ref().unwrap().cluster().0;
    eprintln!("{}: killing peer {first} on port {}", rfc3339(now(), 0), web[first]);
    drop(peers[first].take()); // SIGKILL, as a crashed node
    eprintln!("killed peer {first} ({killed_name}) after {} notification(s)", hook.notifications().len());

    // 2. Critical: the survivors notify it and both hold it, with the documented labels.
    every_ms.store(250, std::sync::atomic::Ordering::SeqCst);
    hook.wait_for("firing [critical]", long, |n| change(n) == r#"firing ["critical"]"#);
    pace();
    for p in peers.iter().flatten() {
        let am = p.wait_for("the survivor holds the critical alert", |a| {
            a.iter().any(|a| a["labels"]["severity"] == "critical" && a["status"]["state"] == "active" && want_labels(a))
        });
        assert!(am.iter().all(want_labels), "{am:#?}");
    }

    // 3. The killed peer back: a new process with fresh storage on the same
    // API port (where resetwatch posts), gossiping on a new port.
    let back_gossip = free_port();
    let survivors: Vec<u16> = (0..3).filter(|&j| j != first).map(|j| gossip[j]).collect();
    let before = hook.notifications().len();
    eprintln!("{}: restarting peer {first}", rfc3339(now(), 0));
    peers[first] = Some(start_peer(first, back_gossip, &survivors, "peer-back"));
    let back = peers[first].as_ref().unwrap();
    back.wait_for_peers(3);
    // Within a re-send (3 s) or two, and serve's backoff for that peer (up to 8 s).
    let t = Instant::now();
    while back.holds() != [("n1".to_string(), "critical".to_string())] {
        assert!(t.elapsed() < long, "the restarted peer never got the alert: {:?}; stderr:\n{}", back.holds(), serve.stderr());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(back.alerts("NatsStreamResetLoop").iter().all(want_labels));
    // It flushes the group after group_wait (1 s) and waits at most its
    // position times peer-timeout (2 x 1 s) before it would notify: watch
    // longer than that for a notification it should not send.
    // (A notification names its peer: `externalURL` ends in its API port.)
    let from_back = |n: &Value| n["externalURL"].as_str().is_some_and(|u| u.ends_with(&format!(":{}", web[first])));
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_secs(10) {
        let since = hook.notifications().split_off(before);
        assert!(!since.iter().any(from_back), "the restarted peer notified again: {since:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // 4. The loop ends: resolved after the quiet period, notified once.
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    feeder.join().unwrap();
    eprintln!("{}: the loop stopped", rfc3339(now(), 0));
    hook.wait_for("resolved", long, |n| change(n) == "resolved []");
    // A duplicate would come at a peer's next flush (8 s) and its wait (2 s).
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(11) {
        std::thread::sleep(Duration::from_millis(100));
    }

    for n in hook.notifications() {
        let alerts: Vec<String> = n["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| format!("{} {} ends {}", a["labels"]["severity"], a["status"], a["endsAt"]))
            .collect();
        eprintln!("{} from {}: {} {alerts:?}", n["received_at"], n["externalURL"], change(&n));
    }
    let seen: Vec<String> = hook.notifications().iter().map(change).collect();
    let mut distinct = seen.clone();
    distinct.dedup();
    assert_eq!(distinct, [r#"firing ["warning"]"#, r#"firing ["critical"]"#, "resolved []"], "in order: {seen:#?}");
    assert!(seen.len() <= 4, "one notification per change, one duplicate allowed: {seen:#?}");
    for n in hook.notifications() {
        assert_eq!(
            n["groupLabels"],
            serde_json::json!({"alertname": "NatsStreamResetLoop", "account": "$G", "stream": "ORDERS"})
        );
    }

    // Each peer's deliveries in the closing report; the one for the killed
    // peer's port counts what was lost while it was down.
    serve.sigterm();
    serve.wait_exit(Duration::from_secs(30));
    let stderr = serve.wait_stderr("resetwatch serve: stopped", Duration::from_secs(30));
    for u in &urls {
        assert!(stderr.contains(&format!(" to {u}/api/v2/alerts")), "{u}: {stderr}");
    }
    eprintln!("notifications: {seen:?}");
    eprintln!("{}", stderr.lines().last().unwrap_or_default());
    drop(peers);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The alert a Prometheus rule of examples/prometheus/resetwatch-rules.yml
/// sends for `source`'s loop on `$G > stream` (Prometheus adds `alertname`
/// and posts it with an `endsAt` a few evaluation intervals ahead).
fn metrics_rule_alert(stream: &str, source: &str) -> Value {
    let ends = rfc3339(now() + 120 * SECOND, 0);
    serde_json::json!({
        "labels": {"alertname": "ResetwatchStreamResetLoop", "account": "$G", "stream": stream, "source": source,
                   "server_name": source, "severity": "critical", "detected_by": "resetwatch-metrics"},
        "annotations": {"summary": "from resetwatch's metrics"},
        "startsAt": rfc3339(now() - 30 * SECOND, 0),
        "endsAt": ends
    })
}

/// resetwatch's own alert and the metrics rule's alert about the same loop:
/// the inhibit rule of examples/alertmanager/alertmanager.yml silences the
/// rule's, so the loop pages once; a loop only the rule saw still pages.
#[test]
fn one_loop_pages_once_when_the_metrics_rule_fires_too() {
    let dir = scratch("inhibit");
    let am = Alertmanager::start(&dir);
    let config = dir.join("resetwatch.json");
    std::fs::write(&config, r#"{"quiet_seconds": 60, "repeat_seconds": 120}"#).unwrap();
    let logs = s05_reset_at(&dir, now() - 20 * SECOND);
    let out = resetwatch().args(["replay", "--alertmanager", &am.url, "--config"]).arg(&config).args(&logs).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    am.wait_for("resetwatch's own critical alerts", |a| a.len() == 2);

    let body = serde_json::Value::Array(vec![metrics_rule_alert("ORDERS", "n1"), metrics_rule_alert("PAYMENTS", "n1")]);
    let resp = am
        .agent
        .post(format!("{}/api/v2/alerts", am.url))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let rule = am.wait_for_named("ResetwatchStreamResetLoop", "the rule's two alerts, ORDERS inhibited", |a| {
        a.len() == 2
            && a.iter().all(|a| {
                let inhibited = !a["status"]["inhibitedBy"].as_array().unwrap().is_empty();
                inhibited == (a["labels"]["stream"] == "ORDERS")
            })
    });
    for a in &rule {
        let want = if a["labels"]["stream"] == "ORDERS" { "suppressed" } else { "active" };
        assert_eq!(a["status"]["state"], want, "{a}");
    }
    drop(am);
    let _ = std::fs::remove_dir_all(&dir);
}
