//! Every Fluent Bit configuration in `examples/fluent-bit/`, as written, in
//! real Fluent Bit (5.1.1 in CI), on the bundled real loops. Each runs in a
//! temporary tree laid out like the repository, beside the same
//! configuration with the do-nothing filter in place of resetwatch; the
//! records must match byte for byte but for the alerts.
//!
//! Stand-ins, for what needs a cluster:
//! - `kubernetes.yaml`: the real `kubernetes` filter on preloaded pod
//!   metadata (`kube_meta_preload_cache_dir`, one `nats_<pod>.meta` per pod,
//!   and `kube_tag_prefix` for the tree's path), reading CRI log files
//!   written from the s05 loop (n1, n2, n3 as pods nats-0, nats-1, nats-2 in
//!   namespace `nats`) into the tree's `var/log/containers/`;
//! - `/jsz`: the captured snapshots from files, as `jsz.conf` does itself.
//!
//! The functions here take the module to run (`None`: the example's own),
//! so that `aot.rs` runs the same cases with the AOT files.

use super::fluent_bit_run::*;
use crate::support::alertmanager_process::{self, Alertmanager};
use resetwatch::clock::SECOND;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// An s05 example (classic or YAML, allocator or lean build): four alerts,
/// every other record unchanged, the alerts also on stdout as documented.
pub fn s05_example(program: &Path, example: &str, module: Option<&Path>) {
    let make = |_: &Tree| with_module(Config::example(example), module);
    let run = run_against_do_nothing(program, example, &make, &run_to_end);
    assert_s05_alerts(&run.alerts, s05_tail_source);
    for a in &run.alerts {
        assert!(a.tag.starts_with("nats."), "{}", a.tag);
    }
    // The example's own stdout output: the alert copies as JSON lines.
    let printed =
        run.fluent_bit.stdout().lines().filter(|l| l.starts_with("{\"date\":") && l.contains("\"resetwatch\":")).count();
    assert_eq!(printed, 4, "alerts on stdout:\n{}", run.fluent_bit.stdout());
    assert!(!run.fluent_bit.stderr().contains("[resetwatch]"), "resetwatch reported:\n{}", run.fluent_bit.stderr());
}

fn with_module(config: Config, module: Option<&Path>) -> Config {
    match module {
        Some(m) => config.module(&m.display().to_string()),
        None => config,
    }
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_classic_example_alerts_on_the_s05_loop_and_passes_every_other_record_unchanged() {
    let Some(fb) = fluent_bit("the_classic_example_alerts_on_the_s05_loop_and_passes_every_other_record_unchanged") else {
        return;
    };
    s05_example(&fb, "fluent-bit.conf", None);
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_yaml_example_alerts_on_the_s05_loop_and_passes_every_other_record_unchanged() {
    let Some(fb) = fluent_bit("the_yaml_example_alerts_on_the_s05_loop_and_passes_every_other_record_unchanged") else { return };
    s05_example(&fb, "fluent-bit.yaml", None);
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_lean_classic_example_alerts_on_the_s05_loop_and_passes_every_other_record_unchanged() {
    let Some(fb) = fluent_bit("the_lean_classic_example_alerts_on_the_s05_loop_and_passes_every_other_record_unchanged") else {
        return;
    };
    s05_example(&fb, "fluent-bit-lean.conf", None);
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_lean_yaml_example_alerts_on_the_s05_loop_and_passes_every_other_record_unchanged() {
    let Some(fb) = fluent_bit("the_lean_yaml_example_alerts_on_the_s05_loop_and_passes_every_other_record_unchanged") else {
        return;
    };
    s05_example(&fb, "fluent-bit-lean.yaml", None);
}

/// `jsz.conf`: the captured 2.10.25 loop's logs and n2's /jsz snapshots
/// (exec + json parser): the loop on n2 and n3, the storage alerts on n2
/// (the only server whose snapshots it reads), routed apart.
pub fn jsz_example(program: &Path, module: Option<&Path>) {
    let make = |_: &Tree| with_module(Config::example("jsz.conf"), module);
    let run = run_against_do_nothing(program, "jsz.conf", &make, &run_to_end);
    let got: Vec<(String, String, String)> = run
        .alerts
        .iter()
        .map(|a| {
            let v = &a.alert;
            (
                v["alert"].as_str().unwrap().into(),
                v["server_name"].as_str().unwrap().into(),
                v["severity"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = got.clone();
    sorted.sort();
    let want: Vec<(String, String, String)> = [
        ("nats_reserved_storage_inflated", "n2", "critical"),
        ("nats_reserved_storage_inflated", "n2", "warning"),
        ("nats_stream_reset_loop", "n2", "critical"),
        ("nats_stream_reset_loop", "n2", "warning"),
        ("nats_stream_reset_loop", "n3", "critical"),
        ("nats_stream_reset_loop", "n3", "warning"),
    ]
    .iter()
    .map(|(a, n, s)| (a.to_string(), n.to_string(), s.to_string()))
    .collect();
    assert_eq!(sorted, want, "{got:?}");
    for a in &run.alerts {
        let v = &a.alert;
        assert_eq!(v["known_leak"], true, "{v}");
        assert_eq!(v["server_version"], "2.10.25", "{v}");
        if v["alert"] == "nats_reserved_storage_inflated" {
            // Rides on n2's snapshot, named by the log's source (joined by server ID).
            assert_eq!(a.tag, "nats.jsz.n2");
            assert_eq!(v["source"], "nats.tests.data.cluster.pair_loop_catchup_no_leader_v2.10.25.n2.log");
            assert_eq!(v["looping_streams"], serde_json::json!(["$G > ORDERS"]));
            let want = if v["severity"] == "warning" { 67108864 } else { 402653184 };
            assert_eq!(v["excess_bytes"], want, "one reset's max_bytes, then six: {v}");
        } else {
            assert_eq!((&v["account"], &v["stream"]), (&Value::from("$G"), &Value::from("ORDERS")));
        }
    }
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_jsz_example_raises_both_alert_kinds_and_routes_storage_alerts_apart() {
    let Some(fb) = fluent_bit("the_jsz_example_raises_both_alert_kinds_and_routes_storage_alerts_apart") else { return };
    jsz_example(&fb, None);
}

/// The s05 loop as a kubelet writes it: CRI lines
/// (`<time> stderr F <line>`) in `/var/log/containers/<pod>_nats_nats-<id>.log`,
/// pods nats-0, nats-1, nats-2 for n1, n2, n3; the pods' metadata as the
/// API server would answer, preloaded from `<namespace>_<pod>.meta`.
fn kubernetes_pods(tree: &Tree) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for (i, node) in ["n1", "n2", "n3"].iter().enumerate() {
        let pod = format!("nats-{i}");
        let id = format!("{:x}", 0xc0ffee00u32 + i as u32).repeat(8);
        let meta = serde_json::json!({
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": pod, "namespace": "nats", "uid": format!("uid-{pod}"),
                         "labels": {"app.kubernetes.io/name": "nats", "statefulset.kubernetes.io/pod-name": pod}},
            "spec": {"nodeName": "node-a", "containers": [{"name": "nats", "image": "nats:2.10.25"}]},
            "status": {"containerStatuses": [{"name": "nats", "containerID": format!("containerd://{id}"),
                                              "image": "nats:2.10.25", "imageID": "nats@sha256:0"}]}
        });
        tree.write(&format!("kube-meta/nats_{pod}.meta"), meta.to_string());
        let log = std::fs::read_to_string(crate::support::real_host::root().join(S05).join(format!("{node}.log"))).unwrap();
        let cri: String = log
            .lines()
            .map(|l| {
                let t = alertmanager_process::line_time(l).map(|(_, t)| t).unwrap_or(0);
                format!("{} stderr F {l}\n", resetwatch::clock::rfc3339(t, 9))
            })
            .collect();
        files.push((format!("var/log/containers/{pod}_nats_nats-{id}.log"), cri));
    }
    files
}

/// `kubernetes.yaml` with its paths in the tree and the stand-in keys
/// added to its `kubernetes` filter; started, then fed the pods' logs (tail
/// reads a file that appears after it started from its head), then stopped
/// once the records stop coming.
pub fn kubernetes_example(program: &Path, module: Option<&Path>) {
    let module = module.map(Path::to_path_buf).unwrap_or_else(|| crate::support::real_host::root().join("dist/resetwatch.wasm"));
    let make = |tree: &Tree| {
        std::fs::create_dir_all(tree.path("var/fluent-bit/state")).unwrap();
        std::fs::create_dir_all(tree.path("var/log/containers")).unwrap();
        std::fs::copy(tree.path("examples/fluent-bit/resetwatch.json"), tree.write("fluent-bit/resetwatch/resetwatch.json", ""))
            .unwrap();
        let dotted = tree.root.display().to_string().trim_start_matches('/').replace('/', ".");
        let stand_in = format!(
            "      merge_log: false\n      kube_meta_preload_cache_dir: {}\n      kube_tag_prefix: kube.{dotted}.var.log.containers.\n",
            tree.path("kube-meta").display()
        );
        Config::example("kubernetes.yaml")
            .module(&module.display().to_string())
            .replace("/var/log/containers/", &format!("{}/", tree.path("var/log/containers").display()))
            .replace("/var/fluent-bit/state/", &format!("{}/", tree.path("var/fluent-bit/state").display()))
            .replace(
                "accessible_paths: /fluent-bit/resetwatch",
                &format!("accessible_paths: {}", tree.path("fluent-bit/resetwatch").display()),
            )
            .replace("      merge_log: false\n", &stand_in)
    };
    // The containers' files exist when Fluent Bit starts (tail, without
    // `read_from_head`, starts those at their end, and looks for new files
    // only every `refresh_interval`, 60 s); the lines are appended once
    // tail watches them, as the kubelet appends them.
    let drive = |program: &Path, tree: &Tree, config: &Config| {
        let pods = kubernetes_pods(tree);
        for (rel, _) in &pods {
            tree.write(rel, "");
        }
        let path = config.write(tree);
        let mut fb = FluentBit::start(program, &path, &tree.root);
        // Fluent Bit's log is block-buffered into a file; tail's DB
        // appears when tail starts, and it takes in the files at once.
        let db = tree.path("var/fluent-bit/state/nats-tail.db");
        let t = std::time::Instant::now();
        while !db.exists() {
            assert!(t.elapsed() < Duration::from_secs(20), "tail did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_secs(1));
        let mut lines = 0;
        for (rel, text) in &pods {
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new().append(true).open(tree.path(rel)).unwrap();
            f.write_all(text.as_bytes()).unwrap();
            lines += text.lines().count();
        }
        wait_quiet(tree, lines, Duration::from_secs(60));
        let status = fb.stop();
        assert!(status.success(), "Fluent Bit exited with {status}:\n{}", fb.log());
        fb
    };
    let run = run_against_do_nothing(program, "kubernetes.yaml", &make, &drive);
    let pod = |node: &str| format!("nats/nats-{}", node[1..].parse::<u8>().unwrap() - 1);
    assert_s05_alerts(&run.alerts, pod);
    for r in run.tree.records() {
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["kubernetes"]["namespace_name"], "nats", "the real kubernetes filter added the pod: {}", r.body);
    }
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_kubernetes_example_names_each_pod_as_its_source() {
    let Some(fb) = fluent_bit("the_kubernetes_example_names_each_pod_as_its_source") else { return };
    kubernetes_example(&fb, None);
}

/// Debian's Alertmanager is there (`cargo xtask test` installs it), else
/// `test` is reported skipped.
pub fn alertmanager_installed(test: &str) -> bool {
    let there = Path::new(alertmanager_process::BINARY).exists();
    if !there {
        let why = format!("{} is missing (apt-get install prometheus-alertmanager)", alertmanager_process::BINARY);
        crate::support::real_host::skip(test, "prometheus-alertmanager", &why);
    }
    there
}

/// `fluent-bit-alertmanager.conf` with a real Alertmanager: the captured
/// 2.10.25 loop's logs and n2's snapshots, moved so that the last line is
/// two seconds old, are posted by Fluent Bit's own `http` output; the
/// Alertmanager ends up holding both loop alerts of n2 and n3 and n2's
/// storage alerts, each warning silenced by its critical (the documented
/// inhibit rule).
pub fn alertmanager_example(program: &Path, module: Option<&Path>, name: &str) {
    const RUN: &str = "pair_loop_catchup_no_leader_v2.10.25";
    let tree = Tree::new(name);
    tree.link("dist");
    tree.copy_examples();
    let read = |sub: &str, file: &str| {
        std::fs::read_to_string(crate::support::real_host::root().join("tests/data").join(sub).join(RUN).join(file)).unwrap()
    };
    let logs: Vec<(String, String)> =
        ["n1", "n2", "n3"].iter().map(|n| (format!("cluster/{RUN}/{n}.log"), read("cluster", &format!("{n}.log")))).collect();
    let jsz = read("jsz", "n2.jsonl");
    let newest = logs
        .iter()
        .flat_map(|(_, text)| text.lines().filter_map(alertmanager_process::line_time).map(|(_, t)| t).collect::<Vec<_>>())
        .chain(jsz.lines().filter_map(alertmanager_process::jsz_now).map(|(_, _, t)| t))
        .max()
        .unwrap();
    let shift = alertmanager_process::now() - 2 * SECOND - newest;
    for (rel, text) in &logs {
        tree.write(&format!("tests/data/{rel}"), alertmanager_process::shift_log(text, shift));
    }
    tree.write(&format!("tests/data/jsz/{RUN}/n2.jsonl"), alertmanager_process::shift_jsz(&jsz, shift));

    let am = Alertmanager::start(&tree.root);
    let port = am.url.rsplit(':').next().unwrap().to_string();
    let config = with_module(Config::example("fluent-bit-alertmanager.conf"), module)
        .replace("Port              9093", &format!("Port              {port}"));
    let fb = run_to_end(program, &tree, &config);
    let critical_inhibits_warning = |alerts: &[Value]| {
        alerts.iter().all(|a| {
            let warning = a["labels"]["severity"] == "warning";
            a["status"]["state"] == if warning { "suppressed" } else { "active" }
        })
    };
    let servers = |alerts: &[Value]| {
        let mut s: Vec<(String, String)> = alerts
            .iter()
            .map(|a| {
                (
                    a["labels"]["server_name"].as_str().unwrap_or("?").into(),
                    a["labels"]["severity"].as_str().unwrap_or("?").into(),
                )
            })
            .collect();
        s.sort();
        s
    };
    let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    let loops = am.wait_for("n2's and n3's loop alerts, warnings inhibited", |a| a.len() == 4 && critical_inhibits_warning(a));
    assert_eq!(servers(&loops), pairs(&[("n2", "critical"), ("n2", "warning"), ("n3", "critical"), ("n3", "warning")]));
    for a in &loops {
        assert_eq!((&a["labels"]["account"], &a["labels"]["stream"]), (&Value::from("$G"), &Value::from("ORDERS")), "{a}");
    }
    let storage =
        am.wait_for_named("NatsReservedStorageInflated", "n2's storage alerts", |a| a.len() == 2 && critical_inhibits_warning(a));
    assert_eq!(servers(&storage), pairs(&[("n2", "critical"), ("n2", "warning")]));
    assert!(!fb.log().contains("[error]"), "Fluent Bit reported an error:\n{}", fb.log());
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_alertmanager_example_posts_both_alert_kinds_that_alertmanager_holds() {
    let test = "the_alertmanager_example_posts_both_alert_kinds_that_alertmanager_holds";
    let Some(fb) = fluent_bit(test) else { return };
    if !alertmanager_installed(test) {
        return;
    }
    alertmanager_example(&fb, None, "alertmanager");
}

/// The lean example on the s05 loop as rsyslog's or journald's file format
/// writes it (each node's lines behind one wrapper, `n1 nats-server[...]: `),
/// so that the pass gate reads the wrapper once and then knows it
/// (`line::WrapperMemo`): the same four alerts as on the bare files, every
/// other record as the do-nothing filter passes it.
fn wrapped_s05(program: &Path, name: &str, wrap: fn(&str, &str, &str) -> String) {
    let make = |tree: &Tree| {
        for node in ["n1", "n2", "n3"] {
            let text = std::fs::read_to_string(crate::support::real_host::root().join(S05).join(format!("{node}.log"))).unwrap();
            let mut out = String::new();
            for line in text.lines() {
                // `[pid] yyyy/mm/dd hh:mm:ss.uuuuuu ...`: the wrapper's time from the line's own.
                let t = line
                    .split_once("] ")
                    .map(|(_, r)| r)
                    .filter(|r| r.len() > 26)
                    .map(|r| &r[..26])
                    .unwrap_or("2025/06/11 08:45:46.671100");
                let rfc = format!("{}T{}", t[..10].replace('/', "-"), &t[11..]);
                let wrapped = wrap(&rfc, node, line);
                // The core reads the wrapper (its host names the source),
                // not an unknown prefix.
                assert_eq!(resetwatch::line::split(wrapped.as_bytes()).origin().as_deref(), Some(node), "{wrapped}");
                out.push_str(&wrapped);
                out.push('\n');
            }
            tree.write(&format!("wrapped/{node}.log"), out);
        }
        Config::example("fluent-bit-lean.conf").replace(&format!("{S05}/n*.log"), "wrapped/n*.log")
    };
    let run = run_against_do_nothing(program, name, &make, &run_to_end);
    // The wrapper's host names the source (docs/detection.md), not the file.
    assert_s05_alerts(&run.alerts, str::to_string);
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_lean_example_alerts_on_the_s05_loop_in_rsyslog_and_journald_files_as_on_the_bare_ones() {
    let Some(fb) = fluent_bit("the_lean_example_alerts_on_the_s05_loop_in_rsyslog_and_journald_files_as_on_the_bare_ones") else {
        return;
    };
    wrapped_s05(&fb, "s05-rsyslog", |rfc, node, line| format!("{rfc}+00:00 {node} nats-server[8368]: {line}"));
    wrapped_s05(&fb, "s05-journald", |rfc, node, line| format!("{}+0000 {node} nats-server[8368]: {line}", &rfc[..19]));
    // `journalctl -o short` (no year, no zone) and `short-precise` (the
    // microseconds after the seconds): the gate's other time layout.
    wrapped_s05(&fb, "s05-journald-short", |rfc, node, line| {
        format!("{} {node} nats-server[8368]: {line}", journal_time(rfc, 19))
    });
    wrapped_s05(&fb, "s05-journald-precise", |rfc, node, line| {
        format!("{} {node} nats-server[8368]: {line}", journal_time(rfc, 26))
    });
}

/// `Nov 26 14:17:08` (`short`, `end` 19) or `Nov 26 14:17:08.682791`
/// (`short-precise`, `end` 26) for the RFC 3339 time `rfc` (no zone).
fn journal_time(rfc: &str, end: usize) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = rfc[5..7].parse::<usize>().map_or("Jan", |m| MONTHS[(m + 11) % 12]);
    let day = rfc[8..10].trim_start_matches('0');
    format!("{month} {day:>2} {}", &rfc[11..end.min(rfc.len())])
}
