//! A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) on a
//! free loopback port with the documented configuration, and the captured
//! logs and /jsz snapshots moved to the present (Alertmanager takes an
//! alert whose `endsAt` has passed as over). Shared by tests/integration/alertmanager.rs
//! and the real-host tier.
#![allow(dead_code)] // each suite uses its own part of it

use resetwatch::clock::{parse_rfc3339, rfc3339, Micros};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub const BINARY: &str = "/usr/bin/prometheus-alertmanager";
/// The documented configuration (examples/alertmanager/alertmanager.yml:
/// its route, `group_by` and inhibit rule) with waits of a second.
pub fn config() -> String {
    let text = std::fs::read_to_string(repo().join("examples/alertmanager/alertmanager.yml")).unwrap();
    for (from, _) in WAITS {
        assert!(text.contains(from), "the example no longer says `{from}`");
    }
    WAITS.iter().fold(text, |t, (from, to)| t.replace(from, to))
}

const WAITS: [(&str, &str); 2] = [("group_wait: 30s", "group_wait: 1s"), ("group_interval: 5m", "group_interval: 1s")];

/// A running Alertmanager, killed (by its pid) on drop.
pub struct Alertmanager {
    child: Child,
    pub url: String,
    pub agent: ureq::Agent,
}

/// A port nothing listens on now: bind, read the port, close.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Alertmanager {
    /// One Alertmanager alone, on the documented configuration.
    pub fn start(dir: &Path) -> Alertmanager {
        // An empty address turns clustering (gossip on 9094) off.
        Alertmanager::launch(dir, &config(), free_port(), &["--cluster.listen-address=".to_string()])
    }

    /// Alertmanager with `config`, its API on `port`, its data and log in
    /// `dir`, and `more` arguments (clustering).
    pub fn launch(dir: &Path, config: &str, port: u16, more: &[String]) -> Alertmanager {
        assert!(
            Path::new(BINARY).exists(),
            "{BINARY} missing: `cargo xtask test` installs it (apt-get install -y prometheus-alertmanager)"
        );
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("alertmanager.yml"), config).unwrap();
        let child = Command::new(BINARY)
            .arg(format!("--config.file={}", dir.join("alertmanager.yml").display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(more)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("alertmanager.log")).unwrap())
            .spawn()
            .unwrap();
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(5))).http_status_as_error(false).build().into();
        let am = Alertmanager { child, url: format!("http://127.0.0.1:{port}"), agent };
        let t = Instant::now();
        while am.get("/-/ready").is_none() {
            assert!(t.elapsed() < Duration::from_secs(30), "Alertmanager not ready: {}", dir.join("alertmanager.log").display());
            std::thread::sleep(Duration::from_millis(100));
        }
        am
    }

    pub fn get(&self, path: &str) -> Option<String> {
        let mut r = self.agent.get(format!("{}{path}", self.url)).call().ok()?;
        (r.status() == 200).then(|| r.body_mut().read_to_string().unwrap())
    }

    pub fn json(&self, path: &str) -> Value {
        serde_json::from_str(&self.get(path).unwrap_or_else(|| panic!("GET {path}"))).unwrap()
    }

    /// Alerts named `name` that have not ended (active or inhibited: the
    /// API leaves out those whose `endsAt` has passed).
    pub fn alerts(&self, name: &str) -> Vec<Value> {
        let v = self.json(&format!("/api/v2/alerts?filter=alertname%3D%22{name}%22"));
        v.as_array().unwrap().clone()
    }

    /// Waits until `ok` holds on the active loop alerts.
    pub fn wait_for(&self, what: &str, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        self.wait_for_named("NatsStreamResetLoop", what, ok)
    }

    /// Waits until `ok` holds on the active alerts named `name`.
    pub fn wait_for_named(&self, name: &str, what: &str, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
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

pub fn now() -> Micros {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as Micros
}

/// nats-server's `2026/11/26 14:17:08.682791` after `[pid] ` as microseconds.
pub fn line_time(line: &str) -> Option<(usize, Micros)> {
    let at = line.find("] ")? + 2;
    let ts = line.get(at..at + 26)?;
    let iso = format!("{}T{}Z", ts[..10].replace('/', "-"), &ts[11..]);
    Some((at, parse_rfc3339(iso.as_bytes())?.0))
}

pub fn with_time(line: &str, at: usize, t: Micros) -> String {
    let s = rfc3339(t, 0);
    format!("{}{} {}{}", &line[..at], s[..10].replace('-', "/"), &s[11..26], &line[at + 26..])
}

/// A log with every line time moved by `shift`.
pub fn shift_log(text: &str, shift: Micros) -> String {
    text.lines()
        .map(|l| match line_time(l) {
            Some((at, t)) => with_time(l, at, t + shift) + "\n",
            None => format!("{l}\n"),
        })
        .collect()
}

/// A /jsz document's `now` (its time).
pub fn jsz_now(doc: &str) -> Option<(usize, usize, Micros)> {
    let at = doc.find(r#""now":""#)? + 7;
    let len = doc[at..].find('"')?;
    Some((at, at + len, parse_rfc3339(&doc.as_bytes()[at..at + len])?.0))
}

/// A file of /jsz documents (one a line) with every document's `now` moved by `shift`.
pub fn shift_jsz(text: &str, shift: Micros) -> String {
    text.lines()
        .map(|d| match jsz_now(d) {
            Some((from, to, t)) => format!("{}{}{}\n", &d[..from], rfc3339(t + shift, 0), &d[to..]),
            None => format!("{d}\n"),
        })
        .collect()
}
