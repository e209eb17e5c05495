//! `resetwatch serve`, the real binary, the way Vector runs it: the events
//! of the real s05 loop, shaped as Vector's `kubernetes_logs` source makes
//! them, sent one JSON object per line over real local TCP and Unix
//! sockets (what Vector's `socket` sink does with `encoding.codec = "json"`
//! and newline framing), and read back from the server's stdout (what
//! Vector's `exec` source reads). It runs from the repository root so that
//! the default `--wasm` (`dist/resetwatch-component.wasm`) is found; run
//! `cargo xtask dist` first (`cargo xtask test` does).
//!
//! A client "killed mid-line" is a connection closed by the client with
//! half a line written: what the server sees when the kernel closes a
//! killed process's socket.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::cases;
use crate::support::prometheus;
use crate::support::root;
use crate::support::serve_process;
use prometheus::Prometheus;
use serve_process::Serve;

const LOOP: &str = "s05_pair_reset_loop_catchup_no_leader_v2.10.25";

/// The corpus lines of one server of the loop.
fn corpus(node: &str) -> Vec<String> {
    let p = root().join("tests/data/corpus").join(LOOP).join(format!("{node}.log"));
    std::fs::read_to_string(&p).unwrap().lines().map(String::from).collect()
}

/// A nats-server line as Vector's `kubernetes_logs` source hands it on:
/// the line in `message`, the pod under `kubernetes`, where it was read,
/// and Vector's own fields. `timestamp` is when the kubelet wrote it (the
/// line's own time here).
fn vector_event(pod: &str, line: &str) -> String {
    let ts = line_time(line).unwrap_or_else(|| "2026-11-26T14:17:00Z".into());
    json!({
        "file": format!("/var/log/pods/nats_{pod}_0c2f6a51-6a7e-4a8e-9b55-3d1e0f2f9a10/nats/0.log"),
        "kubernetes": {
            "container_id": "containerd://4f0a9c1b2d3e",
            "container_image": "nats:2.10.25-alpine",
            "container_name": "nats",
            "pod_ip": "10.244.1.17",
            "pod_labels": {"app.kubernetes.io/name": "nats", "statefulset.kubernetes.io/pod-name": pod},
            "pod_name": pod,
            "pod_namespace": "nats",
            "pod_node_name": "node-a",
            "pod_uid": "0c2f6a51-6a7e-4a8e-9b55-3d1e0f2f9a10"
        },
        "message": line,
        "source_type": "kubernetes_logs",
        "stream": "stderr",
        "timestamp": ts
    })
    .to_string()
}

/// `[8368] 2026/11/26 14:17:08.682791 [WRN] ...` -> `2026-11-26T14:17:08.682791Z`.
fn line_time(line: &str) -> Option<String> {
    let rest = line.split_once("] ")?.1;
    let (date, rest) = rest.split_once(' ')?;
    let time = rest.split_once(' ')?.0;
    (date.len() == 10 && time.len() == 15).then(|| format!("{}T{}Z", date.replace('/', "-"), time))
}

/// The loop's three servers as pods: `n1` is pod `nats-0`, and so on.
const PODS: [(&str, &str); 3] = [("n1", "nats-0"), ("n2", "nats-1"), ("n3", "nats-2")];

fn events(node: &str, pod: &str) -> Vec<String> {
    corpus(node).iter().map(|l| vector_event(pod, l)).collect()
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("resetwatch-serve-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Output lines parsed: the events and, separately, the alerts (the
/// objects under `resetwatch` of the alert events).
fn split(lines: &[(Instant, String)]) -> (Vec<String>, Vec<(Instant, Value)>) {
    let mut records = Vec::new();
    let mut alerts = Vec::new();
    for (at, l) in lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"));
        if let Some(a) = v.get("resetwatch") {
            assert_eq!(v["message"], a["summary"], "an alert event's message is its summary");
            assert!(v["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{l}");
            alerts.push((*at, a.clone()));
        } else {
            records.push(l.clone());
        }
    }
    (records, alerts)
}

/// How many times each line occurs.
fn counts<S: AsRef<str>>(lines: &[S]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for l in lines {
        *m.entry(l.as_ref().to_string()).or_insert(0) += 1;
    }
    m
}

fn alerts_of<'a>(alerts: &'a [(Instant, Value)], source: &str) -> Vec<&'a (Instant, Value)> {
    alerts.iter().filter(|(_, a)| a["source"] == source).collect()
}

/// Sends `lines` over `w`, one per line, in pieces that do not follow line
/// boundaries (as a socket delivers them).
fn send(w: &mut impl Write, lines: &[String]) {
    let mut all = Vec::new();
    for l in lines {
        all.extend_from_slice(l.as_bytes());
        all.push(b'\n');
    }
    for piece in all.chunks(1000) {
        w.write_all(piece).unwrap();
    }
    w.flush().unwrap();
}

fn config(dir: &Path, json: &str) -> String {
    let p = dir.join("resetwatch.json");
    std::fs::write(&p, json).unwrap();
    p.display().to_string()
}

/// The loop's pods over three connections at once, TCP and Unix: every
/// event comes back byte for byte, once; n1 and n2 fire (warning at the
/// 3rd pair, critical at the 10th) and resolve on time once the quiet
/// period passes on the host clock with no event; n3 never fires.
#[test]
fn the_s05_loop_over_tcp_and_unix_with_resolutions_on_time() {
    let dir = tempdir("loop");
    let sock = dir.join("resetwatch.sock");
    // A short quiet period, longer than the loop's 5 s between pairs.
    let cfg = config(&dir, r#"{"quiet_seconds": 8}"#);
    let mut serve = Serve::start(&["--tcp", "127.0.0.1:0", "--unix", sock.to_str().unwrap(), "--config", &cfg]);
    let addr = serve.tcp_addr();
    serve.wait_stderr("listening on unix", Duration::from_secs(5));

    let mut sent = Vec::new();
    let mut senders = Vec::new();
    for (i, (node, pod)) in PODS.iter().enumerate() {
        let evs = events(node, pod);
        sent.extend(evs.clone());
        let addr = addr.clone();
        let sock = sock.clone();
        senders.push(std::thread::spawn(move || {
            if i == 1 {
                let mut s = UnixStream::connect(&sock).unwrap();
                send(&mut s, &evs);
            } else {
                let mut s = TcpStream::connect(&addr).unwrap();
                send(&mut s, &evs);
            }
        }));
    }
    for s in senders {
        s.join().unwrap();
    }
    let sent_at = Instant::now();
    assert_eq!(sent.len(), 99 + 103 + 72);

    // Everything back, then the two resolutions.
    let total = sent.len();
    serve.read_until(Duration::from_secs(30), |lines| {
        let (records, alerts) = split(lines);
        records.len() >= total && alerts.iter().filter(|(_, a)| a["status"] == "resolved").count() >= 2
    });
    serve.read_more(Duration::from_millis(1500));
    let (records, alerts) = split(&serve.lines);
    assert_eq!(counts(&records), counts(&sent), "every event exactly once, unchanged");

    for (node, pod) in &PODS[..2] {
        let source = format!("nats/{pod}");
        let mine = alerts_of(&alerts, &source);
        let got: Vec<(&str, &str, u64)> = mine
            .iter()
            .map(|(_, a)| (a["status"].as_str().unwrap(), a["severity"].as_str().unwrap(), a["pairs_total"].as_u64().unwrap()))
            .collect();
        assert_eq!(got, [("firing", "warning", 3), ("firing", "critical", 10), ("resolved", "critical", 13)], "{source}");
        let last = &mine[2].1;
        assert_eq!(last["server_name"], *node);
        assert_eq!(last["server_version"], "2.10.25");
        assert_eq!(last["known_leak"], true);
        assert_eq!((last["account"].as_str(), last["stream"].as_str()), (Some("$G"), Some("ORDERS")));
        // On time: the quiet period (8 s) after its last event arrived,
        // within the one-second tick and some slack for a busy machine.
        let after = mine[2].0.duration_since(sent_at);
        assert!(
            after >= Duration::from_secs(7) && after <= Duration::from_secs(11),
            "{source} resolved {after:?} after the loop"
        );
    }
    assert!(alerts_of(&alerts, "nats/nats-2").is_empty(), "n3 saw no reset pairs");
    assert_eq!(alerts.len(), 6);

    serve.sigterm();
    let st = serve.wait_exit(Duration::from_secs(10));
    assert!(st.success(), "{st}");
    let err = serve.stderr();
    assert!(err.contains("SIGTERM: stopping"), "{err}");
    assert!(err.contains(&format!("stopped: {total} records in, 6 alerts, {} lines out; 0 malformed", total + 6)), "{err}");
    assert!(!sock.exists(), "the socket file is removed on exit");
}

/// A client that dies in the middle of a line, garbage, an over-long line,
/// and a well-behaved client alongside: the cut line is not an event and
/// breaks nothing; garbage is counted on stderr and carried on as
/// `resetwatch_error` events; every good event comes back exactly once;
/// the server keeps serving.
#[test]
fn cut_lines_and_garbage_lose_nothing_else() {
    let dir = tempdir("garbage");
    let sock = dir.join("rw.sock");
    let mut serve = Serve::start(&["--tcp", "127.0.0.1:0", "--unix", sock.to_str().unwrap(), "--max-line-bytes", "4096"]);
    let addr = serve.tcp_addr();
    serve.wait_stderr("listening on unix", Duration::from_secs(5));

    let n1 = events("n1", "nats-0");
    let n2 = events("n2", "nats-1");
    // The well-behaved client, on the Unix socket, all along.
    let good = {
        let n2 = n2.clone();
        let sock = sock.clone();
        std::thread::spawn(move || {
            let mut s = UnixStream::connect(&sock).unwrap();
            for chunk in n2.chunks(10) {
                send(&mut s, chunk);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    // The client killed mid-line: 40 events, then half of the 41st.
    let cut = &n1[40];
    {
        let mut s = TcpStream::connect(&addr).unwrap();
        send(&mut s, &n1[..40]);
        s.write_all(&cut.as_bytes()[..cut.len() / 2]).unwrap();
        s.flush().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    } // closed here, with no newline after the half line
      // Garbage on a third connection, between good events.
    let garbage: Vec<Vec<u8>> = vec![
        b"hello, not json".to_vec(),
        b"[1,2,3]".to_vec(),
        br#"{"message": "unterminated"#.to_vec(),
        br#"{"message": "trailing"} x"#.to_vec(),
        b"\xff\xfe\x00binary".to_vec(),
    ];
    let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(10_000));
    let mut rest = Vec::new();
    {
        let mut s = TcpStream::connect(&addr).unwrap();
        for (g, ev) in garbage.iter().zip(&n1[41..]) {
            s.write_all(g).unwrap();
            s.write_all(b"\n").unwrap();
            send(&mut s, std::slice::from_ref(ev));
            rest.push(ev.clone());
        }
        send(&mut s, std::slice::from_ref(&long));
        send(&mut s, &n1[41 + garbage.len()..]);
        rest.extend_from_slice(&n1[41 + garbage.len()..]);
        s.write_all(b"\n\n").unwrap(); // empty lines hold no event
    }
    good.join().unwrap();

    let mut want: Vec<String> = n1[..40].to_vec();
    want.extend(rest);
    want.extend(n2.clone());
    let expected = want.len() + garbage.len();
    serve.read_until(Duration::from_secs(30), |lines| split(lines).0.len() >= expected);
    serve.read_more(Duration::from_millis(500));
    let (records, _) = split(&serve.lines);
    let (errors, events): (Vec<&String>, Vec<&String>) = records.iter().partition(|l| l.contains("\"resetwatch_error\""));
    assert_eq!(counts(&events), counts(&want), "every good event exactly once; the cut line not at all");
    assert!(!records.iter().any(|r| r == &cut[..cut.len() / 2]));
    let carried: Vec<String> =
        errors.iter().map(|l| serde_json::from_str::<Value>(l).unwrap()["message"].as_str().unwrap().to_string()).collect();
    let sent_garbage: Vec<String> = garbage.iter().map(|g| String::from_utf8_lossy(g).into_owned()).collect();
    assert_eq!(carried, sent_garbage, "garbage carried on, in order, as resetwatch_error events");
    let err = serve.stderr();
    assert!(err.contains("its last") && err.contains(&format!("last {} bytes had no newline", cut.len() / 2)), "{err}");
    assert!(err.contains("malformed line (not a JSON object): hello, not json"), "{err}");
    assert!(err.contains("malformed line (not valid JSON"), "{err}");
    assert!(err.contains(&format!("a line of {} bytes is longer than --max-line-bytes", long.len())), "{err}");

    // Still serving: a new client's event comes straight back.
    let late = vector_event("nats-0", "[8368] 2026/11/26 14:19:00.000000 [INF] still here");
    let before = serve.lines.len();
    let mut s = TcpStream::connect(&addr).unwrap();
    send(&mut s, std::slice::from_ref(&late));
    serve.read_until(Duration::from_secs(10), |lines| lines[before..].iter().any(|(_, l)| *l == late));
    drop(s);

    serve.sigterm();
    assert!(serve.wait_exit(Duration::from_secs(10)).success());
    let err = serve.stderr();
    let total = want.len() + 1;
    let (_, alerts) = split(&serve.lines);
    assert!(
        err.contains(&format!(
            "stopped: {total} records in, {} alerts, {} lines out; {} malformed (passed on as resetwatch_error events); \
             dropped: 1 too long, 1 cut off by a disconnect, 0 in and 0 out at shutdown",
            alerts.len(),
            total + garbage.len() + alerts.len(),
            garbage.len()
        )),
        "{err}"
    );
}

/// SIGTERM in the middle of an episode saves the state; a restart with
/// the same --state goes on with it: the alert is not fired again from
/// scratch (no second warning), it rises to critical at the 10th pair of
/// the same episode (same first_seen).
#[test]
fn sigterm_saves_the_state_and_a_restart_continues_the_episode() {
    let dir = tempdir("state");
    let state = dir.join("resetwatch.state");
    let n1 = events("n1", "nats-0");
    // Up to the 5th reset: warning fired at the 3rd.
    let fifth = n1.iter().enumerate().filter(|(_, e)| e.contains("Resetting stream")).nth(4).unwrap().0;
    let (first, second) = n1.split_at(fifth + 1);

    let mut a = Serve::start(&["--tcp", "127.0.0.1:0", "--state", state.to_str().unwrap()]);
    a.wait_stderr("starting empty", Duration::from_secs(20));
    let mut s = TcpStream::connect(a.tcp_addr()).unwrap();
    send(&mut s, first);
    a.read_until(Duration::from_secs(20), |l| split(l).0.len() >= first.len());
    drop(s);
    a.sigterm();
    assert!(a.wait_exit(Duration::from_secs(10)).success());
    let (records, alerts) = split(&a.lines);
    assert_eq!(counts(&records), counts(first));
    let got: Vec<_> = alerts.iter().map(|(_, a)| (a["severity"].clone(), a["pairs_total"].clone())).collect();
    assert_eq!(got, [(json!("warning"), json!(3))]);
    let first_seen = alerts[0].1["first_seen"].clone();
    let err = a.stderr();
    assert!(err.contains(&format!("state saved to {}", state.display())), "{err}");
    assert!(state.exists() && !dir.join("resetwatch.state.tmp").exists());
    assert!(std::fs::read(&state).unwrap().starts_with(b"resetwatch-state "));

    let mut b = Serve::start(&["--tcp", "127.0.0.1:0", "--state", state.to_str().unwrap()]);
    b.wait_stderr(&format!("state restored from {}", state.display()), Duration::from_secs(20));
    let mut s = TcpStream::connect(b.tcp_addr()).unwrap();
    send(&mut s, second);
    b.read_until(Duration::from_secs(20), |l| split(l).0.len() >= second.len());
    b.read_more(Duration::from_millis(500));
    drop(s);
    b.sigterm();
    assert!(b.wait_exit(Duration::from_secs(10)).success());
    let (records, alerts) = split(&b.lines);
    assert_eq!(counts(&records), counts(second));
    let got: Vec<_> = alerts.iter().map(|(_, a)| (a["severity"].clone(), a["pairs_total"].clone())).collect();
    assert_eq!(got, [(json!("critical"), json!(10))], "the episode goes on: no new warning");
    assert_eq!(alerts[0].1["first_seen"], first_seen);
    assert_eq!(alerts[0].1["pairs_in_window"], 10);

    // A damaged state file is reported, kept aside, and the server starts empty.
    std::fs::write(&state, b"resetwatch-state 1\nnonsense").unwrap();
    let mut c = Serve::start(&["--tcp", "127.0.0.1:0", "--state", state.to_str().unwrap()]);
    let err = c.wait_stderr("starting empty", Duration::from_secs(20));
    assert!(err.contains("resetwatch.unusable"), "{err}");
    assert!(dir.join("resetwatch.unusable").exists());
    c.sigterm();
    assert!(c.wait_exit(Duration::from_secs(10)).success());
}

/// A reader that does not keep up: while stdout is not read, the server
/// stops reading its clients (a client's writes block) and drops nothing;
/// once stdout is read again, every event comes through exactly once.
#[test]
fn a_slow_stdout_slows_the_clients_and_loses_nothing() {
    let mut serve = Serve::start_unread(&["--tcp", "127.0.0.1:0"]);
    let addr = serve.tcp_addr();
    // Far more than the pipe, both queues and the socket buffers hold
    // (60 MB; loopback TCP buffers may grow to tens of MB).
    let base = events("n3", "nats-2");
    let pad = "p".repeat(3000);
    let many: Vec<String> = (0..20_000)
        .map(|i| {
            let mut v: Value = serde_json::from_str(&base[i % base.len()]).unwrap();
            v["seq"] = json!(i);
            v["pad"] = json!(pad);
            v.to_string()
        })
        .collect();
    let done = Arc::new(Mutex::new(None::<Instant>));
    let sender = {
        let many = many.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            send(&mut s, &many);
            *done.lock().unwrap() = Some(Instant::now());
        })
    };
    // Nobody reads stdout for 3 s: the client must be held back, not served
    // by dropping.
    std::thread::sleep(Duration::from_secs(3));
    assert!(done.lock().unwrap().is_none(), "the client finished sending while stdout was not read");
    serve.read_stdout();
    serve.read_until(Duration::from_secs(120), |l| l.len() >= many.len());
    sender.join().unwrap();
    serve.read_more(Duration::from_millis(300));
    let records: Vec<&String> = serve.lines.iter().map(|(_, l)| l).collect();
    assert_eq!(records.len(), many.len());
    assert!(records.iter().zip(&many).all(|(a, b)| *a == b), "every event once, in order (one client)");
    serve.sigterm();
    assert!(serve.wait_exit(Duration::from_secs(10)).success());
    let err = serve.stderr();
    assert!(
        err.contains(&format!("stopped: {} records in, 0 alerts, {} lines out; 0 malformed", many.len(), many.len())),
        "{err}"
    );
    assert!(err.contains("dropped: 0 too long, 0 cut off by a disconnect, 0 in and 0 out at shutdown"), "{err}");
}

/// Stopping while stdout is stuck and a client is still sending: the stop
/// takes about the grace period (here 1 s for the clients, 1 s for stdout),
/// the state is saved, and stderr says how much output was not written.
#[test]
fn a_stop_with_stdout_stuck_is_bounded_and_says_what_it_dropped() {
    let dir = tempdir("stuck");
    let state = dir.join("resetwatch.state");
    let mut serve = Serve::start_unread(&["--tcp", "127.0.0.1:0", "--shutdown-grace", "1", "--state", state.to_str().unwrap()]);
    let addr = serve.tcp_addr();
    let base = events("n1", "nats-0");
    let many: Vec<String> = (0..40_000).map(|i| base[i % base.len()].clone()).collect();
    // The server goes away under this client: its errors are expected.
    std::thread::spawn(move || {
        if let Ok(mut s) = TcpStream::connect(&addr) {
            for chunk in many.chunks(100) {
                let mut buf = chunk.join("\n");
                buf.push('\n');
                if s.write_all(buf.as_bytes()).is_err() {
                    return;
                }
            }
        }
    });
    std::thread::sleep(Duration::from_secs(2));
    let asked = Instant::now();
    serve.sigterm();
    let st = serve.wait_exit(Duration::from_secs(10));
    let took = asked.elapsed();
    assert!(st.success(), "{st}");
    assert!(took < Duration::from_secs(5), "the stop took {took:?}");
    let err = serve.stderr();
    assert!(err.contains("still connected at the stop"), "{err}");
    assert!(err.contains("output lines not written (stdout did not take them)"), "{err}");
    assert!(err.contains(&format!("state saved to {}", state.display())), "{err}");
}

// ---- Who may talk to it (docs/security.md) ----

/// A non-loopback `--tcp` or `--metrics` is refused with a clear error
/// before anything starts (the component named by `--wasm` does not even
/// exist here, and that is not what it complains about); a Unix socket is
/// created owner-only, or with the mode given.
#[test]
fn a_remote_address_is_refused_before_anything_starts_and_sockets_are_owner_only() {
    for (flag, addr, says) in [
        ("--tcp", "0.0.0.0:0", "anyone who can reach it can inject log lines"),
        ("--tcp", "[::]:0", "anyone who can reach it can inject log lines"),
        ("--metrics", "0.0.0.0:9464", "which streams of the fleet loop"),
    ] {
        let mut args = vec!["serve", "--wasm", "/nonexistent/resetwatch-component.wasm"];
        if flag == "--metrics" {
            args.extend(["--tcp", "127.0.0.1:0"]);
        }
        args.extend([flag, addr]);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_resetwatch")).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flag} {addr}: {err}");
        assert!(err.starts_with(&format!("error: {flag} {addr}: ")), "{err}");
        assert!(err.contains("is not a loopback address") && err.contains(says) && err.contains("--allow-remote"), "{err}");
        assert!(!err.contains("listening") && !err.contains("not found"), "refused before anything else: {err}");
    }

    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempdir("modes");
    for (extra, want) in [(None, 0o600), (Some("660"), 0o660)] {
        let sock = dir.join(format!("rw-{want:o}.sock"));
        let mut args = vec!["--unix", sock.to_str().unwrap()];
        if let Some(m) = extra {
            args.extend(["--mode", m]);
        }
        let mut serve = Serve::start(&args);
        serve.wait_stderr("listening on unix", Duration::from_secs(20));
        let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, want, "{}: mode {mode:o}", sock.display());
        // Its owner can still connect and be served.
        let mut c = UnixStream::connect(&sock).unwrap();
        send(&mut c, &events("n1", "nats-0")[..1]);
        serve.read_until(Duration::from_secs(20), |l| !l.is_empty());
        serve.sigterm();
        serve.wait_exit(Duration::from_secs(20));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- Metrics (docs/metrics.md) ----

const PROMTOOL: &str = "/usr/bin/promtool";

/// `source` -> value, for one metric's series.
fn by_source(series: &[(Value, f64)]) -> BTreeMap<String, f64> {
    series.iter().map(|(m, v)| (m["source"].as_str().unwrap().to_string(), *v)).collect()
}

/// The s05 loop's pods into `serve --metrics`, scraped by a real
/// Prometheus: while the loop fires, n1's and n2's critical gauges are 1
/// (with server_name from the banners) and the metrics rule fires; once
/// resetwatch resolves them, the counters equal the resolved alerts'
/// `pairs_total` and `leaking_resets_total` and nothing fires.
#[test]
fn prometheus_scrapes_the_s05_loop_and_the_counters_match_the_alerts() {
    let dir = tempdir("metrics");
    let cfg = config(&dir, r#"{"quiet_seconds": 12}"#);
    let mut serve = Serve::start(&["--tcp", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--config", &cfg]);
    let addr = serve.tcp_addr();
    let err = serve.wait_stderr("metrics on http://", Duration::from_secs(20));
    let target = err.split("metrics on http://").nth(1).unwrap().split('/').next().unwrap().to_string();
    let rules = root().join("examples/prometheus/resetwatch-rules.yml");
    let prom = Prometheus::start(&dir, &target, Some(&rules));

    let mut total = 0;
    for (node, pod) in PODS {
        let evs = events(node, pod);
        total += evs.len();
        send(&mut TcpStream::connect(&addr).unwrap(), &evs);
    }
    // Firing: both servers' critical gauges, named by pod and banner.
    let firing = prom.wait_for(r#"resetwatch_reset_loop_firing{severity="critical"} == 1"#, |s| s.len() == 2);
    let mut names: Vec<(String, String)> =
        firing.iter().map(|(m, _)| (m["source"].as_str().unwrap().into(), m["server_name"].as_str().unwrap().into())).collect();
    names.sort();
    assert_eq!(names, [("nats/nats-0".into(), "n1".into()), ("nats/nats-1".into(), "n2".into())]);
    assert!(firing.iter().all(|(m, _)| m["account"] == "$G" && m["stream"] == "ORDERS"), "{firing:?}");
    prom.wait_for(r#"ALERTS{alertname="ResetwatchStreamResetLoop", alertstate="firing", severity="critical"}"#, |s| s.len() == 2);

    // Resolved by resetwatch after the quiet period.
    serve.read_until(Duration::from_secs(60), |lines| {
        split(lines).1.iter().filter(|(_, a)| a["status"] == "resolved").count() >= 2
    });
    let (records, alerts) = split(&serve.lines);
    assert_eq!(records.len(), total);
    prom.wait_for("sum(resetwatch_reset_loop_firing)", |s| s.len() == 1 && s[0].1 == 0.0);
    let pairs = by_source(&prom.query(r#"resetwatch_reset_pairs_total{stream="ORDERS"}"#));
    let leaking = by_source(&prom.query(r#"resetwatch_leaking_resets_total{stream="ORDERS"}"#));
    for pod in ["nats/nats-0", "nats/nats-1"] {
        let resolved = &alerts.iter().find(|(_, a)| a["source"] == pod && a["status"] == "resolved").unwrap().1;
        assert_eq!(pairs[pod], resolved["pairs_total"].as_f64().unwrap(), "{pod}: {resolved}");
        assert_eq!(leaking[pod], resolved["leaking_resets_total"].as_f64().unwrap(), "{pod}: {resolved}");
        assert_eq!(pairs[pod], 13.0);
    }
    // It fired critical in the last minutes, and the counters only rose.
    let peak = by_source(&prom.query(r#"max_over_time(resetwatch_reset_loop_firing{severity="critical"}[10m])"#));
    assert_eq!((peak["nats/nats-0"], peak["nats/nats-1"]), (1.0, 1.0));
    assert!(prom.query("resets(resetwatch_reset_pairs_total[10m]) > 0").is_empty());
    // n3 never looped: whatever it tracks counts no pair.
    assert!(pairs.get("nats/nats-2").is_none_or(|v| *v == 0.0), "{pairs:?}");
    serve.sigterm();
    serve.wait_exit(Duration::from_secs(20));
    drop(prom);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `promtool check rules` and `promtool test rules` on the example rules.
#[test]
fn the_metrics_rules_pass_promtool_check_and_test() {
    prometheus::need(PROMTOOL);
    let dir = root().join("examples/prometheus");
    for args in [["check", "rules", "resetwatch-rules.yml"], ["test", "rules", "resetwatch-rules.test.yml"]] {
        let out = std::process::Command::new(PROMTOOL).args(args).current_dir(&dir).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && text.contains("SUCCESS"), "promtool {}: {text}", args.join(" "));
    }
}

/// Every query of the Grafana dashboard names a metric `serve --metrics`
/// exports or one of prometheus-nats-exporter's on this list (the names
/// from its collector/jsz.go and its /varz collector), and every exported
/// metric is charted.
#[test]
fn every_dashboard_query_names_an_exported_or_an_allowed_exporter_metric() {
    const EXPORTED: [&str; 4] = [
        "resetwatch_reset_pairs_total",
        "resetwatch_leaking_resets_total",
        "resetwatch_reset_loop_firing",
        "resetwatch_reserved_storage_excess_bytes",
    ];
    const EXPORTER: [&str; 5] = [
        "gnatsd_varz_jetstream_stats_reserved_storage",
        "gnatsd_varz_jetstream_stats_storage",
        "gnatsd_varz_jetstream_config_max_storage",
        "jetstream_server_max_storage",
        "jetstream_stream_total_bytes",
    ];
    // PromQL words that are not metric names, and the labels grouped by.
    const PROMQL: [&str; 8] = ["sum", "by", "increase", "max", "rate", "without", "on", "ignoring"];
    const LABELS: [&str; 6] = ["account", "stream", "source", "server_name", "server_id", "stream_name"];
    // `text` without what stands between `open` and `close`.
    fn without(text: &str, open: char, close: char) -> String {
        let mut depth = 0;
        text.chars()
            .filter(|&c| {
                depth += (c == open) as i32;
                let keep = depth == 0;
                depth -= (c == close && depth > 0) as i32;
                keep
            })
            .collect()
    }
    let text = std::fs::read_to_string(root().join("examples/grafana/resetwatch-dashboard.json")).unwrap();
    let dash: Value = serde_json::from_str(&text).unwrap();
    let mut charted = std::collections::BTreeSet::new();
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 4);
    for p in panels {
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{}", p["title"]);
        for t in targets {
            let expr = t["expr"].as_str().unwrap();
            // Label matchers and range durations out, then the words that
            // are neither PromQL nor a grouping label nor a number.
            let bare = without(&without(expr, '{', '}'), '[', ']');
            let names: Vec<&str> = bare
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit()))
                .filter(|w| !PROMQL.contains(w) && !LABELS.contains(w))
                .collect();
            assert!(!names.is_empty(), "{expr}");
            for n in names {
                assert!(
                    EXPORTED.contains(&n) || EXPORTER.contains(&n),
                    "{}: `{n}` in `{expr}` is neither exported nor allowed",
                    p["title"]
                );
                charted.insert(n.to_string());
            }
        }
    }
    for m in EXPORTED {
        assert!(charted.contains(m), "{m} is exported but not charted");
    }
}

#[test]
fn vector_file_and_docker_records_are_named_by_the_cores_rule() {
    // Issue 14, class 6: the NDJSON cases of tests/data/cases
    // (scripts/gen-layout-cases.py). Vector's `file` source sets `host` to
    // the collector, docker_logs gives every container the host's name: the
    // file and `container_name` name the servers, as in `replay`.
    for name in ["source-vector-file", "source-docker-container-name"] {
        let (files, expect) = cases::read_case(&root().join("tests/data/cases").join(name));
        assert_eq!(expect["hosts"]["serve"], true, "{name}");
        let lines: Vec<String> = files
            .iter()
            .flat_map(|f| std::fs::read_to_string(f).unwrap().lines().map(String::from).collect::<Vec<_>>())
            .collect();
        let mut serve = Serve::start(&["--tcp", "127.0.0.1:0"]);
        let mut s = TcpStream::connect(serve.tcp_addr()).unwrap();
        send(&mut s, &lines);
        let want = expect["alerts"].as_array().unwrap();
        serve.read_until(Duration::from_secs(20), |got| {
            let (r, a) = split(got);
            r.len() >= lines.len() && a.len() >= want.len()
        });
        serve.read_more(Duration::from_millis(300));
        let (records, alerts) = split(&serve.lines);
        assert_eq!(counts(&records), counts(&lines), "{name}: every event out once, unchanged");
        let got: Vec<&Value> = alerts.iter().map(|(_, a)| a).collect();
        assert_eq!(got.len(), want.len(), "{name}: {got:#?}");
        for w in want {
            let src = w["source"].as_str().unwrap();
            let mine: Vec<&&Value> = got.iter().filter(|a| a["source"] == src && a["severity"] == w["severity"]).collect();
            assert_eq!(mine.len(), 1, "{name}: {w} in {got:#?}");
            for (k, v) in w.as_object().unwrap() {
                assert_eq!(&mine[0][k], v, "{name}: `{k}`");
            }
        }
        serve.sigterm();
    }
}
