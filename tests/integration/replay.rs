//! `resetwatch replay`, the real binary through its command line, on the
//! real corpus: plain, gzip and stdin inputs, raw lines and NDJSON records,
//! `--fail-on-alert`, `--plot`, `--config`, and what it says when the
//! `--wasm` file is missing. It runs from the repository root; the binary
//! carries its component, and `--wasm dist/resetwatch-component.wasm` (run
//! `cargo xtask dist` first; `cargo xtask test` does) must agree with it.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::cases;
use crate::support::root;

const LOOP: &str = "s05_pair_reset_loop_catchup_no_leader_v2.10.25";
const HEALTHY: &str = "s01_healthy_rolling_restart_v2.10.25";

fn log(scenario: &str, node: &str) -> PathBuf {
    root().join("tests/data/corpus").join(scenario).join(format!("{node}.log"))
}

fn logs(scenario: &str) -> Vec<PathBuf> {
    ["n1", "n2", "n3"].iter().map(|n| log(scenario, n)).collect()
}

fn resetwatch() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_resetwatch"));
    c.current_dir(root()).arg("replay");
    c
}

fn run(c: &mut Command) -> Output {
    c.stdin(Stdio::null()).output().unwrap()
}

fn run_with_stdin(c: &mut Command, input: &[u8]) -> Output {
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

/// The NDJSON alerts on stdout.
fn alerts(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("resetwatch-replay-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// What the s05 loop must give, whatever the input form: warning then
/// critical on n1 and on n2, still firing, nothing on n3.
fn assert_the_loop(alerts: &[Value], n1: &str, n2: &str) {
    for (node, source) in [("n1", n1), ("n2", n2)] {
        let mine: Vec<&Value> = alerts.iter().filter(|a| a["server_name"] == node).collect();
        let sev: Vec<(&str, u64)> =
            mine.iter().map(|a| (a["severity"].as_str().unwrap(), a["pairs_total"].as_u64().unwrap())).collect();
        assert_eq!(sev, [("warning", 3), ("critical", 10)], "{node}");
        let last = mine.last().unwrap();
        assert_eq!(last["status"], "firing", "end of input is not the passing of time");
        assert_eq!(last["known_leak"], true);
        assert_eq!(last["source"], source);
        assert_eq!((last["account"].as_str(), last["stream"].as_str()), (Some("$G"), Some("ORDERS")));
    }
    assert_eq!(alerts.len(), 4);
}

#[test]
fn the_loop_alerts_on_n1_and_n2_with_a_summary_per_stream() {
    let out = run(resetwatch().args(logs(LOOP)));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_the_loop(&alerts(&out), "n1", "n2");
    let err = stderr(&out);
    assert!(err.contains("3 inputs, 0 records and 274 raw lines, 4 alerts"), "{err}");
    let header = err.lines().find(|l| l.starts_with("SOURCE")).expect("a table");
    for col in ["STREAM", "PAIRS", "FIRST SEEN", "LAST SEEN", "PEAK/WINDOW", "SEVERITY", "CAUSE"] {
        assert!(header.contains(col), "{header}");
    }
    for node in ["n1", "n2"] {
        let row = err.lines().find(|l| l.starts_with(&format!("{node} "))).unwrap_or_else(|| panic!("{err}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        // source, `$G > ORDERS`, pairs, first seen, last seen, peak, severity, state, cause...
        assert_eq!(&cells[..4], [node, "$G", ">", "ORDERS"]);
        assert_eq!(cells[4], "13", "{row}");
        assert_eq!(cells[5], "2026-11-26T14:17:08Z", "{row}");
        assert_eq!(cells[6], "2026-11-26T14:18:08Z", "{row}");
        assert_eq!(cells[7], "13", "{row}");
        assert_eq!(&cells[8..10], ["critical", "(firing)"], "{row}");
        assert!(row.ends_with("catchup aborted, no leader for stream '$G > ORDERS'"), "{row}");
    }
    assert!(!err.lines().any(|l| l.starts_with("n3 ")), "{err}");
    // Not a terminal: no progress bar, no escape codes.
    assert!(!err.contains('\x1b') && !err.contains('\r'), "{err:?}");
}

#[test]
fn healthy_runs_raise_nothing() {
    for s in [HEALTHY, "s03_kill9_heavy_publish_v2.10.25", "s02_follower_mismatch_single_reset_v2.10.25"] {
        let out = run(resetwatch().arg("--fail-on-alert").args(logs(s)));
        assert_eq!(out.status.code(), Some(0), "{s}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{s}");
    }
    let out = run(resetwatch().args(logs(HEALTHY)));
    assert!(stderr(&out).contains("no reset pairs"), "{}", stderr(&out));
    // a single reset pair is counted but does not alert
    let out = run(resetwatch().args(logs("s02_follower_mismatch_single_reset_v2.10.25")));
    let err = stderr(&out);
    let row = err.lines().find(|l| l.starts_with("n2 ")).unwrap_or_else(|| panic!("{err}"));
    assert!(row.contains(" 1 ") && row.contains(" - "), "{row}");
}

#[test]
fn fail_on_alert_sets_the_exit_status() {
    let out = run(resetwatch().args(logs(LOOP)));
    assert_eq!(out.status.code(), Some(0), "alerts alone do not fail");
    let out = run(resetwatch().arg("--fail-on-alert").args(logs(LOOP)));
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(alerts(&out).len(), 4, "and the alerts are still printed");
}

#[test]
fn gzip_files_read_like_plain_ones() {
    use flate2::write::GzEncoder;
    let d = tempdir("gz");
    let mut gz_files = Vec::new();
    for node in ["n1", "n2", "n3"] {
        let p = d.join(format!("{node}.log.gz"));
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&std::fs::read(log(LOOP, node)).unwrap()).unwrap();
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
        gz_files.push(p);
    }
    let plain = run(resetwatch().args(logs(LOOP)));
    let gz = run(resetwatch().args(&gz_files));
    assert!(gz.status.success(), "{}", stderr(&gz));
    assert_the_loop(&alerts(&gz), "n1", "n2");
    assert_eq!(gz.stdout, plain.stdout, "the same alerts, byte for byte");
    // mixed: gzip and plain at once
    let mixed = run(resetwatch().arg(&gz_files[0]).arg(log(LOOP, "n2")).arg(log(LOOP, "n3")));
    assert_eq!(mixed.stdout, plain.stdout);
}

#[test]
fn stdin_is_read_with_dash() {
    let n1 = std::fs::read(log(LOOP, "n1")).unwrap();
    let out = run_with_stdin(resetwatch().arg("-").arg(log(LOOP, "n2")), &n1);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_the_loop(&alerts(&out), "stdin", "n2");
    // gzip on stdin too
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&n1).unwrap();
    let out = run_with_stdin(resetwatch().arg("-"), &enc.finish().unwrap());
    let a = alerts(&out);
    assert_eq!(a.len(), 2);
    assert!(a.iter().all(|a| a["source"] == "stdin"));
    let out = run(resetwatch().args(["-", "-"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("more than once"), "{}", stderr(&out));
}

#[test]
fn ndjson_records_name_their_own_source_or_take_the_file_stem() {
    let d = tempdir("ndjson");
    // n1 as Vector would ship it (a host key names the source), n2 as
    // Fluent Bit tail records (no source key: the file stem), n3 raw.
    let to_records = |node: &str, extra: &dyn Fn(&str) -> Value| -> String {
        std::fs::read_to_string(log(LOOP, node)).unwrap().lines().map(|l| extra(l).to_string() + "\n").collect()
    };
    let n1 = d.join("vector.ndjson");
    std::fs::write(&n1, to_records("n1", &|l| serde_json::json!({"message": l, "host": "nats-a"}))).unwrap();
    let n2 = d.join("tail-n2.json");
    std::fs::write(&n2, to_records("n2", &|l| serde_json::json!({"log": l}))).unwrap();
    let out = run(resetwatch().arg(&n1).arg(&n2).arg(log(LOOP, "n3")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_the_loop(&alerts(&out), "nats-a", "tail-n2");
    assert!(stderr(&out).contains("3 inputs, 202 records and 72 raw lines"), "{}", stderr(&out));
}

#[test]
fn the_plot_is_an_svg_with_every_pair_threshold_and_span() {
    let d = tempdir("plot");
    let svg = d.join("s05.svg");
    let out = run(resetwatch().arg("--plot").arg(&svg).args(logs(LOOP)));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let root_el = doc.root_element();
    assert_eq!(root_el.tag_name().name(), "svg");
    assert_eq!(root_el.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    let with_class = |class: &str| {
        doc.descendants().filter(|n| n.attribute("class").is_some_and(|c| c.split(' ').any(|w| w == class))).collect::<Vec<_>>()
    };
    // a lane per looping stream, titled with source and stream
    let titles: Vec<String> = with_class("lane-title").iter().map(|n| n.text().unwrap_or("").trim().to_string()).collect();
    assert_eq!(titles, ["n1 · $G > ORDERS", "n2 · $G > ORDERS"]);
    // a dot per reset pair (13 + 13), each with its time and cause
    let pairs = with_class("pair");
    assert_eq!(pairs.len(), 26);
    assert!(pairs.iter().all(|p| p.tag_name().name() == "circle"));
    let tip = pairs[0].children().find(|c| c.tag_name().name() == "title").and_then(|t| t.text()).unwrap().trim();
    assert!(tip.starts_with("2026-11-26 14:17:08") && tip.contains("catchup aborted"), "{tip}");
    // warning and critical thresholds in each lane
    assert_eq!(with_class("threshold").len(), 4);
    // each lane's alert: amber from the 3rd pair, red from the 10th, still firing
    assert_eq!(with_class("alert-span").len(), 4);
    assert_eq!(with_class("warning").iter().filter(|n| n.tag_name().name() == "rect").count(), 2);
    assert_eq!(with_class("critical").iter().filter(|n| n.tag_name().name() == "rect").count(), 2);
    assert_eq!(text.matches("firing at end of input \u{2192}").count(), 2);
    // a healthy run plots an empty picture rather than failing
    let empty = d.join("s01.svg");
    let out = run(resetwatch().arg("--plot").arg(&empty).args(logs(HEALTHY)));
    assert!(out.status.success());
    let text = std::fs::read_to_string(&empty).unwrap();
    assert!(roxmltree::Document::parse(&text).is_ok() && text.contains("no reset pairs"));
}

#[test]
fn the_configuration_is_the_fluent_bit_builds_and_errors_name_the_key() {
    let d = tempdir("config");
    let good = d.join("resetwatch.json");
    // (leak_pairs too: on 2.10.25 the leak rule would fire at the 3rd leaking reset)
    std::fs::write(&good, r#"{"warning_pairs": 12, "critical_pairs": 13, "leak_pairs": 12}"#).unwrap();
    let out = run(resetwatch().arg("--config").arg(&good).args(logs(LOOP)));
    let a = alerts(&out);
    assert_eq!(a.iter().map(|a| a["pairs_total"].as_u64().unwrap()).collect::<Vec<_>>(), [12, 12, 13, 13]);
    let bad = d.join("bad.json");
    std::fs::write(&bad, r#"{"window_seconds": "five minutes"}"#).unwrap();
    let out = run(resetwatch().arg("--config").arg(&bad).args(logs(LOOP)));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad.json") && err.contains("`window_seconds`") && err.contains("number of seconds"), "{err}");
    assert!(out.stdout.is_empty());
}

/// The binary carries its component: from a directory with no `dist/` it
/// replays as well; a `--wasm` file that is not there is a clear error.
#[test]
fn a_missing_wasm_file_is_a_clear_error_and_the_default_needs_no_dist() {
    let out = run(resetwatch().args(["--wasm", "/nonexistent/resetwatch-component.wasm"]).args(logs(LOOP)));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("cannot read /nonexistent/resetwatch-component.wasm: No such file"), "{err}");
    assert!(out.stdout.is_empty());
    // the default, from a directory with no dist/: the embedded component
    let d = tempdir("nodist");
    let out = Command::new(env!("CARGO_BIN_EXE_resetwatch"))
        .current_dir(&d)
        .arg("replay")
        .args(logs(LOOP))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let from_dist = run(resetwatch().args(["--wasm", "dist/resetwatch-component.wasm"]).args(logs(LOOP)));
    assert_eq!(out.stdout, from_dist.stdout, "the same alerts as dist/resetwatch-component.wasm gives");
    assert!(!out.stdout.is_empty());
    // a missing log fails before anything is replayed
    let out = run(resetwatch().arg(log(LOOP, "n1")).arg("/nonexistent/n9.log"));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty() && stderr(&out).contains("/nonexistent/n9.log"), "{}", stderr(&out));
}

/// `/jsz` documents in NDJSON (one a line, as the real-cluster test captured
/// them) read with the logs of the same run: both alerts, joined by server ID.
#[test]
fn jsz_lines_in_ndjson_just_work() {
    let run_dir = |kind: &str, run: &str, file: &str| root().join("tests/data").join(kind).join(run).join(file);
    let looping = "pair_loop_catchup_no_leader_v2.10.25";
    let out = run(resetwatch().arg(run_dir("cluster", looping, "n2.log")).arg(run_dir("jsz", looping, "n2.jsonl")));
    assert!(out.status.success(), "{}", stderr(&out));
    let got = alerts(&out);
    let storage: Vec<&Value> = got.iter().filter(|a| a["alert"] == "nats_reserved_storage_inflated").collect();
    let sev: Vec<&str> = storage.iter().map(|a| a["severity"].as_str().unwrap()).collect();
    assert_eq!(sev, ["warning", "critical"], "{}", stderr(&out));
    assert_eq!((storage[0]["source"].as_str(), storage[0]["server_name"].as_str()), (Some("n2"), Some("n2")));
    let crit = got.iter().find(|a| a["alert"] == "nats_stream_reset_loop" && a["severity"] == "critical").unwrap();
    assert_eq!(crit["max_bytes"], 67108864);
    assert_eq!(crit["estimated_leaked_bytes"], 10 * 67108864u64);
    // The fixed release: the loop alerts, the storage does not.
    let fixed = "pair_loop_catchup_no_leader_v2.10.26";
    let out = run(resetwatch().arg(run_dir("cluster", fixed, "n2.log")).arg(run_dir("jsz", fixed, "n2.jsonl")));
    let got = alerts(&out);
    assert!(!got.is_empty() && got.iter().all(|a| a["alert"] == "nats_stream_reset_loop"), "{got:?}");
}

#[test]
fn stderr_says_which_files_make_which_source_and_counts_unknown_layouts() {
    let rot = root().join("tests/data/cases/source-logrotate");
    let out = run(resetwatch().args(cases::read_case(&rot).0));
    let err = stderr(&out);
    let files: Vec<String> = ["n1.log.2.gz", "n1.log.1", "n1.log"].iter().map(|f| rot.join(f).display().to_string()).collect();
    assert!(err.contains(&format!("source n1: {}", files.join(", "))), "{err}");
    let two = root().join("tests/data/cases/source-two-folders");
    let err = stderr(&run(resetwatch().args(cases::read_case(&two).0)));
    assert!(err.contains(&format!("source a/nats: {}", two.join("a/nats.log").display())), "{err}");
    assert!(err.contains(&format!("source b/nats: {}", two.join("b/nats.log").display())), "{err}");
    // docker compose's prefix: one line per source, with its count and first line
    let unknown = root().join("tests/data/cases/layout-unknown-prefix");
    let err = stderr(&run(resetwatch().args(cases::read_case(&unknown).0)));
    assert!(err.contains("n1: 26 NATS event lines behind a prefix resetwatch does not know"), "{err}");
    assert!(err.contains("n2: 26 NATS event lines behind a prefix"), "{err}");
    assert_eq!(err.matches("behind a prefix").count(), 2, "n3 has no event line: {err}");
    // the plain corpus has none
    let err = stderr(&run(resetwatch().args(logs(LOOP))));
    assert!(!err.contains("behind a prefix") && !err.contains("source n1:"), "{err}");
}
