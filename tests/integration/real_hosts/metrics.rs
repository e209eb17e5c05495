//! examples/fluent-bit/fluent-bit-metrics.conf in real Fluent Bit (5.1.1),
//! its `prometheus_exporter` scraped by a real Prometheus (Debian's 2.42):
//! `log_to_metrics` on the alert tag exposes the latest alert record's
//! fields as gauges and counts alert records by status and severity.

use std::process::{Command, Stdio};

use crate::support::prometheus::Prometheus;
use crate::support::real_host::{self, FLUENT_BIT};

/// Kills Fluent Bit (by its pid) when the test ends, passed or failed.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "real-host tier: cargo xtask test runs it"]
fn fluent_bit_log_to_metrics_on_the_alert_tag_scraped_by_prometheus() {
    let Some(fluent_bit) = real_host::require(FLUENT_BIT, "fluent_bit_log_to_metrics_on_the_alert_tag_scraped_by_prometheus")
    else {
        return;
    };
    let root = real_host::root();
    let wasm = root.join("dist/resetwatch.wasm");
    assert!(wasm.is_file(), "{}: run `cargo xtask dist` first", wasm.display());
    let dir = root.join("target/tmp").join(format!("real-host-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let example = std::fs::read_to_string(root.join("examples/fluent-bit/fluent-bit-metrics.conf")).unwrap();
    let fixed = "    Port              2021\n";
    assert!(example.contains(fixed), "the example serves on 2021");
    // Its paths are relative to the repository root, where it runs.
    let conf = dir.join("fluent-bit-metrics.conf");
    std::fs::write(&conf, example.replace(fixed, &format!("    Port              {port}\n"))).unwrap();
    let fb = Running(
        Command::new(&fluent_bit)
            .arg("-c")
            .arg(&conf)
            .current_dir(&root)
            .stdout(std::fs::File::create(dir.join("fluent-bit.log")).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let prom = Prometheus::start(&dir, &format!("127.0.0.1:{port}"), None);

    // The s05 loop: n1 and n2 warn at their 3rd reset pair and turn
    // critical at the 10th (src/filter.rs, corpus_loop_fires_critical_on_n1_and_n2);
    // the latest alert record of each says 10 pairs in the window, 10 leaking.
    let gauges = prom.wait_for("resetwatch_fluentbit_gauge_reset_pairs_in_window", |s| s.len() == 2);
    let leaking = prom.wait_for("resetwatch_fluentbit_gauge_leaking_resets_in_episode", |s| s.len() == 2);
    let mut names: Vec<String> = gauges.iter().map(|(m, _)| m["server_name"].as_str().unwrap().to_string()).collect();
    names.sort();
    assert_eq!(names, ["n1", "n2"]);
    for (m, v) in gauges.iter().chain(&leaking) {
        assert_eq!(*v, 10.0, "{m}");
        assert_eq!((m["account"].as_str(), m["stream"].as_str()), (Some("$G"), Some("ORDERS")), "{m}");
        assert!(m["source"].as_str().unwrap().starts_with("nats."), "the tag is the source: {m}");
    }
    // One firing warning and one firing critical record per server; nothing resolved
    // (the logs end while the loop fires).
    let records = prom.wait_for(r#"sum by (status, severity) (resetwatch_fluentbit_counter_alert_records)"#, |s| {
        s.len() == 2 && s.iter().all(|(_, v)| *v == 2.0)
    });
    let mut kinds: Vec<(String, String)> =
        records.iter().map(|(m, _)| (m["status"].as_str().unwrap().into(), m["severity"].as_str().unwrap().into())).collect();
    kinds.sort();
    assert_eq!(kinds, [("firing".into(), "critical".into()), ("firing".into(), "warning".into())]);
    // What it cannot say: no per-stream "firing now" 0/1 and no pairs counter.
    assert!(prom.query(r#"{__name__=~"resetwatch_fluentbit_.*firing.*"}"#).is_empty());
    drop(prom);
    drop(fb);
    let _ = std::fs::remove_dir_all(&dir);
}
