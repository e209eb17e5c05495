//! The `resetwatch` binary as a newcomer meets it. `cargo install --path
//! host` makes a binary that works anywhere: it carries the component
//! (`host/build.rs` builds it), so `replay` needs no `dist/` and no
//! repository. Installed into a temporary root with this build's own target
//! directory, so nothing is compiled a second time. And `cargo xtask demo`'s
//! first screen, `resetwatch fluent-bit --summary`.

use crate::support::{root, target_dir};
use std::process::Command;

#[test]
fn the_installed_binary_replays_a_corpus_file_from_another_directory() {
    let tmp = std::env::temp_dir().join(format!("resetwatch-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let elsewhere = tmp.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let installed = Command::new(&cargo)
        .current_dir(root())
        .args(["install", "--locked", "--offline", "--path", "host", "--root"])
        .arg(&tmp)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&installed.stderr);
    assert!(installed.status.success(), "cargo install failed:\n{log}");
    // Only the package itself may be compiled again (its bench binary is
    // not built by the tests); wasmtime and the rest come from the cache.
    let compiled: Vec<&str> = log.lines().filter(|l| l.trim_start().starts_with("Compiling")).collect();
    assert!(compiled.iter().all(|l| l.contains("resetwatch-host")), "rebuilt:\n{}", compiled.join("\n"));

    let bin = tmp.join("bin/resetwatch");
    let corpus = root().join("tests/data/corpus/s05_pair_reset_loop_catchup_no_leader_v2.10.25/n1.log");
    let out = Command::new(&bin).current_dir(&elsewhere).arg("replay").arg(&corpus).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(!elsewhere.join("dist").exists());
    let alerts: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let got: Vec<(&str, u64)> =
        alerts.iter().map(|a| (a["severity"].as_str().unwrap(), a["pairs_in_window"].as_u64().unwrap())).collect();
    assert_eq!(got, [("warning", 3), ("critical", 10)], "n1's loop from the embedded component:\n{stderr}");

    let version = Command::new(&bin).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout);
    let wit = std::fs::read_to_string(root().join("wit/resetwatch.wit")).unwrap();
    let package = wit.lines().find_map(|l| l.strip_prefix("package ")?.strip_suffix(';')).unwrap();
    assert!(version.contains(&format!("component: {package}")), "{version}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The demo's summary on the s05 loop (n1 and n2, real 2.10.25 logs): each
/// looping stream once, on its server, its severity, the leak, the runbook.
#[test]
fn the_demo_summary_names_each_looping_stream_its_server_and_what_to_do() {
    let corpus = root().join("tests/data/corpus/s05_pair_reset_loop_catchup_no_leader_v2.10.25");
    let out = Command::new(env!("CARGO_BIN_EXE_resetwatch"))
        .current_dir(root())
        .args(["fluent-bit", "--summary"])
        .arg(corpus.join("n1.log"))
        .arg(corpus.join("n2.log"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("2 streams are in a reset loop (nats-server issue 6455):\n"), "{text}");
    for server in ["n1", "n2"] {
        let head = format!("  $G > ORDERS on {server}, nats-server 2.10.25: CRITICAL, still firing\n");
        assert_eq!(text.matches(&head).count(), 1, "{text}");
        assert!(text.contains(&format!("restart {server} (rolling, one server at a time)")), "{text}");
    }
    assert_eq!(text.matches("This version leaks the stream's reserved storage on every reset (10 so far).").count(), 2);
    assert_eq!(text.matches("      1. Confirm: `nats stream info ORDERS`").count(), 2);
    assert!(!text.contains("{\""), "no JSON on the person's screen: {text}");
}
