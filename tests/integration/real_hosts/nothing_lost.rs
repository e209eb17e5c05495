//! Nothing lost, in real Fluent Bit (5.1.1): hostile records through every
//! module and both documented heap settings, compared byte for byte with
//! the do-nothing filter; a Fluent Bit killed with SIGKILL in the middle of
//! a loop and started again; a `state_dir` the module cannot write.

use super::fluent_bit_run::*;
use crate::support::real_host;
use resetwatch_host::fluent_bit::{FluentBitHost, FluentBitOptions};
use std::path::Path;
use std::time::Duration;

/// The documented answer of the lean module for a record WAMR could not
/// copy into its app heap (fluent-bit issue 8156).
const NOT_RECEIVED: &str = "{\"resetwatch_error\":\"record not received: it did not fit in the wasm heap; raise Wasm_Heap_Size (e.g. 16M) in the wasm filter or use resetwatch.wasm, which exports an allocator\"}";

/// Deepest record Fluent Bit's `json` parser takes: 31 map/array pairs
/// (63 levels). Seen in 5.1.1: at 32 pairs and beyond (1,000 included) it
/// keeps the line as the plain `log` string instead, and the `forward`
/// input refuses such msgpack (MSGPACK_UNPACK_NOMEM_ERROR), so a record
/// nested 1,000 deep cannot reach a filter; the line that holds one still
/// goes through, as text.
const DEEPEST_PARSED: usize = 31;

fn nested(pairs: usize, log: &str) -> String {
    format!("{{\"log\":{},\"k\":{}{}}}", serde_json::to_string(log).unwrap(), "{\"a\":[".repeat(pairs), "]}".repeat(pairs))
}

/// A reset loop of a stream whose name holds bytes that are not UTF-8 (a
/// cut-off three-byte sequence, `$G > \xe2\x82S`): three pairs, two seconds apart (the s05 lines' shape, `$G > \xff\xfe`),
/// right after n1's last line (14:18:43), so that ORDERS's critical alert
/// (14:17:53) is not due again (`repeat_seconds` 60): the harness stamps
/// records with their line's time, real tail with the time it read them.
fn invalid_utf8_loop() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..3 {
        let t = format!("2026/11/26 14:18:{:02}", 44 + i * 2);
        out.extend_from_slice(format!("[8368] {t}.100000 [WRN] Error applying entries to '$G > ").as_bytes());
        out.extend_from_slice(b"\xe2\x82S': last sequence mismatch\n");
        out.extend_from_slice(format!("[8368] {t}.200000 [WRN] Resetting stream cluster state for '$G > ").as_bytes());
        out.extend_from_slice(b"\xe2\x82S'\n");
    }
    out
}

/// The hostile log: records of 9 KB, 100 KB and 1 MB, invalid UTF-8,
/// non-ASCII, JSON nested 63 levels and 1,000 deep, then the s05 loop's n1
/// and a loop on a stream whose name is not UTF-8.
fn hostile_log() -> Vec<u8> {
    let mut log = Vec::new();
    for n in [9_000, 100_000, 1 << 20] {
        log.extend_from_slice(format!("[1] 2026/11/26 14:17:00.000000 [INF] big {}\n", "x".repeat(n)).as_bytes());
    }
    log.extend_from_slice(b"\xc3\x28 invalid utf-8 \xe2\x82 end\n");
    // Fluent Bit 5.1.1's JSON for the filter drops these bytes (the
    // do-nothing filter's output loses them too: before any module runs).
    log.extend_from_slice(b"[1] 2026/11/26 14:17:01.000000 [INF] ends in \xfe\xff\n");
    log.extend_from_slice("[1] 2026/11/26 14:17:01.000000 [INF] caf\u{e9} \u{2603} \u{1F600}\n".as_bytes());
    log.extend_from_slice((nested(DEEPEST_PARSED, "[1] [INF] nested 63 levels") + "\n").as_bytes());
    log.extend_from_slice((nested(1000, "[1] [INF] nested 1000 deep") + "\n").as_bytes());
    log.extend_from_slice(&std::fs::read(real_host::root().join(S05).join("n1.log")).unwrap());
    log.extend_from_slice(&invalid_utf8_loop());
    log
}

/// tail of `input/hostile.log` (1 MB lines need a larger Buffer_Max_Size;
/// no `Exit_On_Eof`: seen once with seven Fluent Bits on two cores, the
/// shutdown at end of file paused rewrite_tag's emitter before its copies
/// were flushed, so the run is stopped once the output is quiet),
/// the json parser, resetwatch as `module` with `heap` (None: the default
/// 8 KiB), rewrite_tag as documented.
fn hostile_config(tree: &Tree, module: &str, heap: Option<&str>) -> Config {
    tree.write("input/hostile.log", hostile_log());
    let heap = heap.map(|h| format!("    Wasm_Heap_Size    {h}\n")).unwrap_or_default();
    Config::classic(&format!(
        "[SERVICE]\n    Flush        1\n    Parsers_File {parsers}\n\n\
         [INPUT]\n    Name              tail\n    Tag               nats.*\n    Path              input/hostile.log\n    \
         Read_from_Head    On\n    Buffer_Max_Size   2M\n    Parser            json\n\n\
         [FILTER]\n    Name              wasm\n    Match             nats.*\n    Event_Format      json\n    \
         Wasm_Path         {module}\n    Function_Name     resetwatch_filter\n    Accessible_Paths  examples/fluent-bit\n    \
         Wasm_Stack_Size   64K\n{heap}\n\
         [FILTER]\n    Name              rewrite_tag\n    Match             nats.*\n    \
         Rule              $resetwatch['alert'] ^nats_ alerts.$resetwatch['stream'] true\n\n\
         [OUTPUT]\n    Name              null\n    Match             *\n",
        parsers = tree.path("examples/fluent-bit/parsers.conf").display(),
        module = real_host::root().join("dist").join(module).display(),
    ))
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn records_of_9_kb_to_1_mb_invalid_utf_8_and_deep_nesting_pass_every_module_and_heap_unchanged() {
    let Some(fb) = fluent_bit("records_of_9_kb_to_1_mb_invalid_utf_8_and_deep_nesting_pass_every_module_and_heap_unchanged")
    else {
        return;
    };
    let runs = [
        ("resetwatch.wasm", None),
        ("resetwatch.wasm", Some("16M")),
        ("resetwatch-mvp.wasm", None),
        ("resetwatch-mvp.wasm", Some("16M")),
        ("resetwatch-lean.wasm", Some("16M")),
        ("resetwatch-lean.wasm", None),
    ];
    let (baseline, results) = std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .map(|&(module, heap)| {
                let fb = &fb;
                s.spawn(move || {
                    let tree = Tree::repo_like(&format!("hostile-{module}-{}", heap.unwrap_or("8K")));
                    let config = hostile_config(&tree, module, heap).observed(&tree);
                    let run = run_until_quiet(fb, &tree, &config);
                    (tree.records(), run.log())
                })
            })
            .collect();
        let tree = Tree::repo_like("hostile-do-nothing");
        let config = hostile_config(&tree, "resetwatch.wasm", None).do_nothing(&tree).observed(&tree);
        run_until_quiet(&fb, &tree, &config);
        (tree.records(), handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>())
    });
    // The baseline passed every line on: 3 big, 2 text, 2 nested, s05's n1, the loop.
    let n1_lines = std::fs::read_to_string(real_host::root().join(S05).join("n1.log")).unwrap().lines().count();
    assert_eq!(baseline.len(), 8 + n1_lines + 6);
    let parsed = baseline.iter().filter(|r| r.body.contains("\"k\":{\"a\":[")).count();
    assert_eq!(parsed, 1, "only the 63-level record is parsed into a nested record");
    assert!(baseline.iter().any(|r| r.body.contains("\\ue0c3( invalid utf-8 \\ue0e2\\ue082 end")), "stray bytes become U+E0xx");
    assert!(baseline.iter().any(|r| r.body.ends_with("[INF] ends in \"}")), "Fluent Bit drops 0xFE 0xFF here");
    let harness = harness_alerts();
    for ((module, heap), (mut got, log)) in runs.iter().zip(results) {
        let what = format!("{module} with Wasm_Heap_Size {}", heap.unwrap_or("default (8 KiB)"));
        if *module == "resetwatch-lean.wasm" && heap.is_none() {
            // Fluent Bit 5.1.1 gives this module a heap of 63 KiB (WAMR's
            // whole page): the 9 KB record fits, 100 KB and 1 MB do not.
            let mut lost = 0;
            for (g, b) in got.iter_mut().filter(|r| !r.tag.starts_with("alerts.")).zip(&baseline) {
                if g.body == NOT_RECEIVED {
                    assert!(b.body.len() > 64 * 1024, "{what}: a {}-byte record was lost", b.body.len());
                    g.body = b.body.clone();
                    lost += 1;
                }
            }
            assert_eq!(lost, 2, "{what}");
            assert!(log.contains("allocate 100052 bytes memory failed"), "{what}: {log}");
        }
        let alerts = compare_with_do_nothing(&got, &baseline);
        let summary: Vec<(String, String)> = alerts
            .iter()
            .map(|a| (a.alert["stream"].as_str().unwrap().into(), a.alert["severity"].as_str().unwrap().into()))
            .collect();
        assert_eq!(summary, harness, "{what}: the real host and the harness disagree");
        assert!(!log.contains("[error]"), "{what}: {log}");
    }
}

/// Runs the hostile configuration until every line is out and nothing more
/// comes, then stops Fluent Bit.
fn run_until_quiet(fb: &Path, tree: &Tree, config: &Config) -> FluentBit {
    let n1_lines = std::fs::read_to_string(real_host::root().join(S05).join("n1.log")).unwrap().lines().count();
    let mut running = FluentBit::start(fb, &config.write(tree), &tree.root);
    wait_quiet(tree, 8 + n1_lines + 6, Duration::from_secs(90));
    running.stop();
    running
}

/// The same log's alerts in the harness (`resetwatch_host::fluent_bit`,
/// records made by `resetwatch_host::tail`), (stream, severity) in order:
/// n1's warning and critical on ORDERS, then the stream with stray bytes,
/// named as Fluent Bit's JSON gives it (U+E0E2 U+E082 S).
fn harness_alerts() -> Vec<(String, String)> {
    let dir = Tree::new("hostile-harness");
    let log = dir.write("hostile.log", hostile_log());
    let opts = FluentBitOptions { accessible_paths: vec![], ..Default::default() };
    let mut host = FluentBitHost::from_file(real_host::root().join("dist/resetwatch.wasm"), opts).unwrap();
    let mut alerts = Vec::new();
    for r in resetwatch_host::tail::read_file(&log).unwrap() {
        let out = host.filter_record(&r.tag, r.time.sec, r.time.nsec, r.record.as_bytes()).unwrap();
        let out = out.output().expect("never dropped").to_vec();
        if out != r.record.as_bytes() {
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            alerts
                .push((v["resetwatch"]["stream"].as_str().unwrap().into(), v["resetwatch"]["severity"].as_str().unwrap().into()));
        }
    }
    let want: Vec<(String, String)> = [("ORDERS", "warning"), ("ORDERS", "critical"), ("\u{e0e2}\u{e082}S", "warning")]
        .iter()
        .map(|(s, v)| (s.to_string(), v.to_string()))
        .collect();
    assert_eq!(alerts, want, "the harness");
    alerts
}

/// A deployment's setup: tail of `input/n1.log` from its head with (or
/// without) a `DB`, resetwatch.json with `state_dir`, no exit at end of file.
fn restartable(tree: &Tree, db: bool, state_dir: &str) -> Config {
    let conf = tree.path("examples/fluent-bit/resetwatch.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&conf).unwrap()).unwrap();
    v["state_dir"] = state_dir.into();
    std::fs::write(&conf, v.to_string()).unwrap();
    std::fs::create_dir_all(tree.path("examples/fluent-bit/state")).unwrap();
    let db = if db { format!("    DB                {}\n", tree.path("tail.db").display()) } else { String::new() };
    Config::example("fluent-bit.conf")
        .replace(&format!("    Path              {S05}/n*.log\n"), &format!("    Path              input/n1.log\n{db}"))
        .replace("    Exit_On_Eof       On\n", "")
        .observed(tree)
}

/// n1.log of the s05 loop, cut after its `n`th `Resetting stream cluster state`.
fn n1_until_reset(n: usize) -> (String, String) {
    let text = std::fs::read_to_string(real_host::root().join(S05).join("n1.log")).unwrap();
    let mut resets = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        at += line.len();
        if line.contains("Resetting stream cluster state") {
            resets += 1;
            if resets == n {
                break;
            }
        }
    }
    (text[..at].to_string(), text[at..].to_string())
}

fn alerts_of(tree: &Tree) -> Vec<serde_json::Value> {
    tree.records()
        .iter()
        .filter(|r| r.tag.starts_with("alerts."))
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["resetwatch"].clone())
        .collect()
}

/// Starts Fluent Bit on `tree` and waits until `records` records are out.
fn start_and_wait(fb: &Path, tree: &Tree, config: &Config, records: usize) -> FluentBit {
    let running = FluentBit::start(fb, &config.write(tree), &tree.root);
    wait_quiet(tree, records, Duration::from_secs(60));
    running
}

/// SIGKILL after the warning (the fifth pair), the rest of the log
/// appended, Fluent Bit started again: `db` says whether tail keeps its
/// offset. Returns the alerts of both runs, the log's line count, and
/// what the observing output holds.
fn killed_mid_loop(fb: &Path, name: &str, db: bool) -> (Vec<serde_json::Value>, usize, Vec<Record>) {
    let tree = Tree::repo_like(name);
    let (head, rest) = n1_until_reset(5);
    tree.write("input/n1.log", &head);
    let config = restartable(&tree, db, "examples/fluent-bit/state");
    let mut first = start_and_wait(fb, &tree, &config, head.lines().count() + 1);
    let before = alerts_of(&tree);
    assert_eq!(before.iter().map(|a| a["severity"].as_str().unwrap()).collect::<Vec<_>>(), ["warning"]);
    first.kill9();
    {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().append(true).open(tree.path("input/n1.log")).unwrap();
        f.write_all(rest.as_bytes()).unwrap();
    }
    let lines = head.lines().count() + rest.lines().count();
    let mut second = start_and_wait(fb, &tree, &config, lines + 2);
    second.stop();
    assert!(!second.log().contains("[resetwatch]"), "{}", second.log());
    (alerts_of(&tree), lines, tree.records())
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn a_fluent_bit_killed_mid_loop_and_started_again_with_state_dir_and_a_tail_db_goes_on_with_the_same_episode() {
    let Some(fb) =
        fluent_bit("a_fluent_bit_killed_mid_loop_and_started_again_with_state_dir_and_a_tail_db_goes_on_with_the_same_episode")
    else {
        return;
    };
    let (alerts, lines, records) = killed_mid_loop(&fb, "kill9-db", true);
    let severities: Vec<&str> = alerts.iter().map(|a| a["severity"].as_str().unwrap()).collect();
    assert_eq!(severities, ["warning", "critical"], "no second warning: {alerts:#?}");
    assert_eq!(alerts[0]["first_seen"], alerts[1]["first_seen"], "the same episode");
    assert_eq!(alerts[1]["pairs_in_window"], 10);
    let originals = records.iter().filter(|r| r.tag.starts_with("nats.")).count();
    assert_eq!(originals, lines, "tail's DB: every line once, none read twice");
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn without_the_tail_db_a_restart_reads_the_file_again_and_the_state_keeps_the_alerts_from_repeating() {
    let Some(fb) = fluent_bit("without_the_tail_db_a_restart_reads_the_file_again_and_the_state_keeps_the_alerts_from_repeating")
    else {
        return;
    };
    let (alerts, lines, records) = killed_mid_loop(&fb, "kill9-no-db", false);
    let originals = records.iter().filter(|r| r.tag.starts_with("nats.")).count();
    let (head, _) = n1_until_reset(5);
    assert_eq!(originals, lines + head.lines().count(), "the head of the file is read (and passed on) twice");
    let severities: Vec<&str> = alerts.iter().map(|a| a["severity"].as_str().unwrap()).collect();
    eprintln!("without a DB, after the restart: {severities:?}");
    assert_eq!(severities, ["warning", "critical"], "the state already holds the replayed pairs: {alerts:#?}");
    assert_eq!(alerts[0]["first_seen"], alerts[1]["first_seen"]);
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn a_state_dir_the_module_cannot_write_is_reported_once_and_detection_goes_on() {
    let Some(fb) = fluent_bit("a_state_dir_the_module_cannot_write_is_reported_once_and_detection_goes_on") else { return };
    // Outside Accessible_Paths: WASI has no preopened directory for it (the
    // usual mistake; a read-only mount behaves alike, but tests run as root).
    let tree = Tree::repo_like("unwritable-state-dir");
    let c = restartable(&tree, false, "/var/lib/fluent-bit/resetwatch");
    tree.write("input/n1.log", std::fs::read(real_host::root().join(S05).join("n1.log")).unwrap());
    let config =
        Config::classic(&c.text.replace("    Read_from_Head    On\n", "    Read_from_Head    On\n    Exit_On_Eof       On\n"));
    let run = run_to_end(&fb, &tree, &config);
    let reports: Vec<String> = run.log().lines().filter(|l| l.contains("[resetwatch]")).map(str::to_string).collect();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    // Seen in 5.1.1 (WASI's ENOENT is 44):
    let want = "[resetwatch] cannot save state in /var/lib/fluent-bit/resetwatch: No such file or directory (os error 44); going on in memory";
    assert_eq!(reports[0], want);
    eprintln!("reported: {}", reports[0]);
    let severities: Vec<String> = alerts_of(&tree).iter().map(|a| a["severity"].as_str().unwrap().to_string()).collect();
    assert_eq!(severities, ["warning", "critical"]);
}
