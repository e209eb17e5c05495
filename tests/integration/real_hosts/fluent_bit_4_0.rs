//! Fluent Bit 4.0.2 (WAMR 1.3.3, a module instance for every chunk, no
//! reference-types): which modules load, what it says about those that do
//! not, and what `state_dir` does for a loop spread over many chunks.

use super::fluent_bit_run::*;
use crate::support::real_host::{self, FLUENT_BIT, FLUENT_BIT_4_0};
use std::path::{Path, PathBuf};

/// What Fluent Bit 4.0.2 logs, once per chunk, for a module built by
/// current rustc (fluent-bit issue 10196); docs/fluent-bit.md quotes it.
pub const REFUSED_WASM: &str = "Load wasm module failed. error: WASM module load failed: zero byte expected";

/// docs/fluent-bit.md quotes `line` verbatim, so a user who sees it finds it.
pub fn assert_documented(line: &str) {
    let docs = std::fs::read_to_string(real_host::root().join("docs/fluent-bit.md")).unwrap();
    assert!(docs.contains(line), "docs/fluent-bit.md does not quote `{line}`");
}

fn both(test: &str) -> Option<(PathBuf, PathBuf)> {
    let old = real_host::require(FLUENT_BIT_4_0, test)?;
    let new = real_host::require(FLUENT_BIT, test)?;
    Some((old, new))
}

/// `fluent-bit.conf` on `module`, its tail reading 1 KiB at a time (so the
/// s05 loop spans many chunks), with `state_dir` in resetwatch.json or not;
/// without `Exit_On_Eof`: run it with [`run_until_quiet`].
fn chunked(tree: &Tree, module: &str, state_dir: bool) -> Config {
    if state_dir {
        let conf = tree.path("examples/fluent-bit/resetwatch.json");
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&conf).unwrap()).unwrap();
        // As the guest sees it: under the preopened `examples/fluent-bit`.
        v["state_dir"] = "examples/fluent-bit/state".into();
        std::fs::write(&conf, v.to_string()).unwrap();
        std::fs::create_dir_all(tree.path("examples/fluent-bit/state")).unwrap();
    }
    Config::example("fluent-bit.conf")
        .module(&real_host::root().join("dist").join(module).display().to_string())
        .replace("    Exit_On_Eof       On\n", "    Buffer_Chunk_Size 1k\n")
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn fluent_bit_4_0_2_refuses_the_rustc_modules_with_the_documented_error_and_passes_records_unchanged() {
    let Some(old) = real_host::require(
        FLUENT_BIT_4_0,
        "fluent_bit_4_0_2_refuses_the_rustc_modules_with_the_documented_error_and_passes_records_unchanged",
    ) else {
        return;
    };
    for module in ["resetwatch.wasm", "resetwatch-lean.wasm"] {
        let path = real_host::root().join("dist").join(module);
        let make = |_: &Tree| Config::example("fluent-bit.conf").module(&path.display().to_string());
        let run = run_against_do_nothing(&old, &format!("4.0.2-{module}"), &make, &run_to_end);
        assert!(run.alerts.is_empty(), "{module} detected something on 4.0.2");
        let log = run.fluent_bit.log();
        assert!(log.contains(&format!("[error] {REFUSED_WASM}")), "{module}:\n{log}");
    }
    assert_documented(REFUSED_WASM);
}

/// Runs [`chunked`] on both releases side by side; returns (4.0.2's run, 5.1.1's run).
fn chunked_on_both(old: &Path, new: &Path, state_dir: bool, name: &str) -> (Run, Run) {
    let make = |tree: &Tree| chunked(tree, "resetwatch-mvp.wasm", state_dir);
    std::thread::scope(|s| {
        let on_new = s.spawn(|| run_against_do_nothing(new, &format!("{name}-5.1.1"), &make, &run_until_quiet));
        let on_old = run_against_do_nothing(old, &format!("{name}-4.0.2"), &make, &run_until_quiet);
        (on_old, on_new.join().unwrap())
    })
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_mvp_module_with_state_dir_alerts_over_many_chunks_on_4_0_2_exactly_as_on_5_1_1() {
    let Some((old, new)) = both("the_mvp_module_with_state_dir_alerts_over_many_chunks_on_4_0_2_exactly_as_on_5_1_1") else {
        return;
    };
    let (on_old, on_new) = chunked_on_both(&old, &new, true, "state-dir");
    let instances = on_old.fluent_bit.instantiations();
    assert!(instances > 10, "4.0.2 made {instances} instances: the loop did not span many chunks");
    assert_eq!(on_new.fluent_bit.instantiations(), 1, "5.1.1 keeps one instance");
    // A WASI reactor (`_initialize`), which WAMR says of a module that is not.
    for run in [&on_old, &on_new] {
        assert!(!run.fluent_bit.log().contains("either a command or a reactor"), "{}", run.fluent_bit.log());
    }
    assert_s05_alerts(&on_new.alerts, s05_tail_source);
    let alerts = |r: &Run| r.alerts.iter().map(|a| (a.tag.clone(), a.alert.clone())).collect::<Vec<_>>();
    assert_eq!(alerts(&on_old), alerts(&on_new), "the same alerts, field for field");
    assert!(on_old.tree.path("examples/fluent-bit/state/resetwatch.state").exists());
    assert!(!on_old.fluent_bit.stderr().contains("[resetwatch]"), "{}", on_old.fluent_bit.stderr());
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn without_state_dir_fluent_bit_4_0_2_forgets_the_loop_between_chunks_and_never_reaches_critical() {
    let Some((old, new)) = both("without_state_dir_fluent_bit_4_0_2_forgets_the_loop_between_chunks_and_never_reaches_critical")
    else {
        return;
    };
    let (on_old, on_new) = chunked_on_both(&old, &new, false, "no-state-dir");
    assert!(on_old.fluent_bit.instantiations() > 10);
    assert_s05_alerts(&on_new.alerts, s05_tail_source);
    // Each instance sees only its chunk's pairs: a chunk that happens to hold
    // three pairs fires a new `warning` (the episode starts again each time),
    // none holds ten.
    // An instance that never saw the server's banner (an earlier chunk
    // had it) knows neither its name nor its version, so nor `known_leak`.
    let seen: Vec<(String, String)> = on_old
        .alerts
        .iter()
        .map(|a| (a.alert["source"].as_str().unwrap().into(), a.alert["severity"].as_str().unwrap().into()))
        .collect();
    assert!(seen.iter().all(|(_, s)| s == "warning"), "{seen:?}");
    let unnamed = on_old.alerts.iter().filter(|a| a.alert["server_name"].is_null() && a.alert["known_leak"].is_null()).count();
    assert!(unnamed > 0, "every alert still knew its server: {:#?}", on_old.alerts);
    for node in ["n1", "n2"] {
        let warnings = seen.iter().filter(|(n, _)| *n == s05_tail_source(node)).count();
        assert!(warnings >= 2, "{node}: {warnings} warnings; 5.1.1 sends one, then critical: {seen:?}");
    }
    eprintln!(
        "4.0.2 without state_dir, {} instances, {unnamed} alerts without the server's name: {seen:?}",
        on_old.fluent_bit.instantiations()
    );
}

/// A loop on `streams` streams at once, `turns` turns 5 s apart, in the
/// s05 loop's texts: its state soon passes the 16 KiB a module writes after
/// every change (`wasm/src/state_file.rs`, `Schedule`).
fn many_streams_loop(streams: usize, turns: usize) -> String {
    let mut out = String::new();
    for turn in 0..turns {
        for s in 0..streams {
            let (sec, us) = (8 + turn * 5, s * 1000);
            let t = |extra: usize| format!("2026/11/26 14:{:02}:{:02}.{:06}", 17 + sec / 60, sec % 60, us + extra);
            out.push_str(&format!("[8368] {} [WRN] Error applying entries to '$G > S{s}': last sequence mismatch\n", t(0)));
            out.push_str(&format!("[8368] {} [WRN] Resetting stream cluster state for '$G > S{s}'\n", t(500)));
        }
    }
    out
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn a_loop_on_sixty_streams_at_once_alerts_over_many_chunks_on_4_0_2_exactly_as_on_5_1_1() {
    let Some((old, new)) = both("a_loop_on_sixty_streams_at_once_alerts_over_many_chunks_on_4_0_2_exactly_as_on_5_1_1") else {
        return;
    };
    // An instance per chunk ends unasked: a write that waited would be lost
    // with it, and 4.0.2's instances would never see three pairs of a stream.
    let make = |tree: &Tree| {
        tree.write("input/n1.log", many_streams_loop(60, 10));
        chunked(tree, "resetwatch-mvp.wasm", true)
            .replace("tests/data/corpus/s05_pair_reset_loop_catchup_no_leader_v2.10.25/n*.log", "input/n1.log")
    };
    let (on_old, on_new) = std::thread::scope(|s| {
        let on_new = s.spawn(|| run_against_do_nothing(&new, "sixty-5.1.1", &make, &run_until_quiet));
        (run_against_do_nothing(&old, "sixty-4.0.2", &make, &run_until_quiet), on_new.join().unwrap())
    });
    assert!(on_old.fluent_bit.instantiations() > 10, "the loop did not span many chunks");
    let state = std::fs::metadata(on_old.tree.path("examples/fluent-bit/state/resetwatch.state")).unwrap().len();
    assert!(state > 16 * 1024, "the state ({state} B) stayed under the every-change bound");
    let severities = |r: &Run| {
        let mut v: Vec<(String, String)> = r
            .alerts
            .iter()
            .map(|a| (a.alert["stream"].as_str().unwrap_or("?").into(), a.alert["severity"].as_str().unwrap_or("?").into()))
            .collect();
        v.sort();
        v
    };
    let expected: Vec<(String, String)> = {
        let mut v: Vec<_> =
            (0..60).flat_map(|s| [(format!("S{s}"), "critical".to_string()), (format!("S{s}"), "warning".to_string())]).collect();
        v.sort();
        v
    };
    assert_eq!(severities(&on_new), expected, "5.1.1: a warning and a critical for every stream");
    assert_eq!(severities(&on_old), expected, "4.0.2, an instance per chunk, the same");
    assert!(!on_old.fluent_bit.stderr().contains("[resetwatch]"), "{}", on_old.fluent_bit.stderr());
}
