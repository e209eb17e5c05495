//! A real Prometheus (Debian's `prometheus`, 2.42, which `cargo xtask test`
//! installs) for the tests that scrape something: started on a free
//! loopback port, scraping one target every second, queried with PromQL
//! over its HTTP API, killed (by its pid) on drop.
#![allow(dead_code)] // each suite uses its own part of it

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const PROMETHEUS: &str = "/usr/bin/prometheus";

/// Fails, saying how to get it, when a Debian program is missing.
pub fn need(binary: &str) {
    assert!(Path::new(binary).exists(), "{binary} missing: `cargo xtask test` installs it (apt-get install -y prometheus)");
}

pub struct Prometheus {
    child: std::process::Child,
    pub url: String,
    agent: ureq::Agent,
}

impl Prometheus {
    /// Scrapes `target` (`127.0.0.1:PORT`, path `/metrics`) every second,
    /// evaluating `rules` when given; its data and log in `dir`.
    pub fn start(dir: &Path, target: &str, rules: Option<&Path>) -> Prometheus {
        need(PROMETHEUS);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let conf = dir.join("prometheus.yml");
        let rule_files = rules.map_or(String::new(), |r| format!("rule_files:\n  - {}\n", r.display()));
        std::fs::write(
            &conf,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{rule_files}scrape_configs:\n  - job_name: resetwatch\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let child = std::process::Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", conf.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .unwrap();
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(5))).http_status_as_error(false).build().into();
        let p = Prometheus { child, url: format!("http://127.0.0.1:{port}"), agent };
        let t = Instant::now();
        while p.agent.get(format!("{}/-/ready", p.url)).call().map_or(true, |r| r.status() != 200) {
            assert!(t.elapsed() < Duration::from_secs(60), "Prometheus not ready: {}", dir.join("prometheus.log").display());
            std::thread::sleep(Duration::from_millis(200));
        }
        p
    }

    /// An instant PromQL query: each series' labels and value.
    pub fn query(&self, promql: &str) -> Vec<(Value, f64)> {
        let mut r = self.agent.get(format!("{}/api/v1/query", self.url)).query("query", promql).call().unwrap();
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(v["status"], "success", "{promql}: {v}");
        v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["metric"].clone(), s["value"][1].as_str().unwrap().parse().unwrap()))
            .collect()
    }

    /// Polls `promql` until `ok` holds (scrapes and rule evaluations are
    /// once a second; a loaded machine gets a minute).
    pub fn wait_for(&self, promql: &str, ok: impl Fn(&[(Value, f64)]) -> bool) -> Vec<(Value, f64)> {
        let t = Instant::now();
        loop {
            let got = self.query(promql);
            if ok(&got) {
                return got;
            }
            assert!(t.elapsed() < Duration::from_secs(60), "{promql}: {got:?}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
