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
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[path = "support/serve_process.rs"]
mod serve_process;
use serve_process::Serve;

const BINARY: &str = "/usr/bin/prometheus-alertmanager";
const S05: &str = "s05_pair_reset_loop_catchup_no_leader_v2.10.25";
/// The documented configuration (examples/alertmanager/alertmanager.yml:
/// its route, `group_by` and inhibit rule) with waits of a second.
fn config() -> String {
    let text = std::fs::read_to_string(root().join("examples/alertmanager/alertmanager.yml")).unwrap();
    for (from, _) in WAITS {
        assert!(text.contains(from), "the example no longer says `{from}`");
    }
    WAITS.iter().fold(text, |t, (from, to)| t.replace(from, to))
}

const WAITS: [(&str, &str); 2] = [("group_wait: 30s", "group_wait: 1s"), ("group_interval: 5m", "group_interval: 1s")];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn scratch(name: &str) -> PathBuf {
    let d = root().join("target/tmp").join(format!("alertmanager-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running Alertmanager, killed (by its pid) on drop.
struct Alertmanager {
    child: Child,
    url: String,
    agent: ureq::Agent,
}

impl Alertmanager {
    fn start(dir: &Path) -> Alertmanager {
        assert!(
            Path::new(BINARY).exists(),
            "{BINARY} missing: `cargo xtask test` installs it (apt-get install -y prometheus-alertmanager)"
        );
        std::fs::write(dir.join("alertmanager.yml"), config()).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(BINARY)
            .arg(format!("--config.file={}", dir.join("alertmanager.yml").display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // An empty address turns clustering (gossip on 9094) off.
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("alertmanager.log")).unwrap())
            .spawn()
            .unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .http_status_as_error(false)
            .build()
            .into();
        let am = Alertmanager { child, url: format!("http://127.0.0.1:{port}"), agent };
        let t = Instant::now();
        while am.get("/-/ready").is_none() {
            assert!(t.elapsed() < Duration::from_secs(30), "Alertmanager not ready: {}", dir.join("alertmanager.log").display());
            std::thread::sleep(Duration::from_millis(100));
        }
        am
    }

    fn get(&self, path: &str) -> Option<String> {
        let mut r = self.agent.get(format!("{}{path}", self.url)).call().ok()?;
        (r.status() == 200).then(|| r.body_mut().read_to_string().unwrap())
    }

    fn json(&self, path: &str) -> Value {
        serde_json::from_str(&self.get(path).unwrap_or_else(|| panic!("GET {path}"))).unwrap()
    }

    /// Alerts named `name` that have not ended (active or inhibited: the
    /// API leaves out those whose `endsAt` has passed).
    fn alerts(&self, name: &str) -> Vec<Value> {
        let v = self.json(&format!("/api/v2/alerts?filter=alertname%3D%22{name}%22"));
        v.as_array().unwrap().clone()
    }

    /// Waits until `ok` holds on the active loop alerts.
    fn wait_for(&self, what: &str, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        self.wait_for_named("NatsStreamResetLoop", what, ok)
    }

    /// Waits until `ok` holds on the active alerts named `name`.
    fn wait_for_named(&self, name: &str, what: &str, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let t = Instant::now();
        loop {
            let a = self.alerts(name);
            if ok(&a) {
                return a;
            }
            assert!(t.elapsed() < Duration::from_secs(20), "{what}; active alerts: {a:#?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now() -> Micros {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as Micros
}

/// nats-server's `2026/11/26 14:17:08.682791` after `[pid] ` as microseconds.
fn line_time(line: &str) -> Option<(usize, Micros)> {
    let at = line.find("] ")? + 2;
    let ts = line.get(at..at + 26)?;
    let iso = format!("{}T{}Z", ts[..10].replace('/', "-"), &ts[11..]);
    Some((at, parse_rfc3339(iso.as_bytes())?.0))
}

fn with_time(line: &str, at: usize, t: Micros) -> String {
    let s = rfc3339(t, 0);
    format!("{}{} {}{}", &line[..at], s[..10].replace('-', "/"), &s[11..26], &line[at + 26..])
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

/// A log with every line time moved by `shift`.
fn shift_log(text: &str, shift: Micros) -> String {
    text.lines()
        .map(|l| match line_time(l) {
            Some((at, t)) => with_time(l, at, t + shift) + "\n",
            None => format!("{l}\n"),
        })
        .collect()
}

/// A /jsz document's `now` (its time).
fn jsz_now(doc: &str) -> Option<(usize, usize, Micros)> {
    let at = doc.find(r#""now":""#)? + 7;
    let len = doc[at..].find('"')?;
    Some((at, at + len, parse_rfc3339(doc[at..at + len].as_bytes())?.0))
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
    let out = resetwatch()
        .args(["replay", "--alertmanager", &am.url, "--config"])
        .arg(&config)
        .args(&logs)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // warning and critical for n1 and n2, and the two warnings once more as resolved
    assert!(stderr.contains("alertmanager: 6 of 6 alerts delivered"), "{stderr}");
    eprintln!("replay with --alertmanager: {:?}", t.elapsed());

    let active = am.wait_for("both servers' critical alerts", |a| {
        a.len() == 2 && a.iter().all(|a| a["status"]["state"] == "active")
    });
    let mut got: Vec<_> = active.iter().map(labels).collect();
    got.sort();
    assert_eq!(got, [("n1".into(), "critical".into()), ("n2".into(), "critical".into())], "the warnings were resolved at the rise");
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
    let mut resp = am
        .agent
        .post(format!("{}/api/v2/alerts", am.url))
        .header("Content-Type", "application/json")
        .send(&body[..])
        .unwrap();
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
/// tests/serve.rs builds them): the line in `message`, the pod in
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
    let read = |sub: &str, file: String| std::fs::read_to_string(root().join("tests/data").join(sub).join(RUN).join(file)).unwrap();
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
        let docs: String = read("jsz", format!("{n}.jsonl"))
            .lines()
            .map(|d| {
                let (from, to, t) = jsz_now(d).unwrap();
                format!("{}{}{}\n", &d[..from], rfc3339(t + shift, 0), &d[to..])
            })
            .collect();
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
