//! Every case folder under `tests/data/cases/` (issue 14; the format is
//! stated in tests/integration/support/cases.rs) through the real
//! `resetwatch replay` binary and through the Fluent Bit build
//! (`dist/resetwatch.wasm` and `dist/resetwatch-lean.wasm`, `Wasm_Heap_Size`
//! 16M, records as Fluent Bit's `tail` makes them), compared with the
//! folder's `expect.json`. A folder added later is picked up as it is.
//!
//! A folder holds `README.md`, `expect.json` and the inputs: every other
//! file under it (sub-folders too), in sorted path order. `expect.json`:
//! `hosts` says where the case applies (`replay`, `fluent_bit`; a host set
//! to false is reported as not applicable), `alerts` lists every alert in
//! emission order per (source, stream); only the keys an entry gives are
//! compared, `stream` as `<account> > <stream>`, and `source` by replay
//! only (Fluent Bit names a source after its tag). An entry's `alert` key
//! selects another kind than the reset-loop alert. An empty list means
//! nothing may fire. Run `cargo xtask dist` first.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use resetwatch_host::tail::{self, EventTime, TailRecord};
use serde_json::Value;

use crate::support::fluent_bit_alerts;
use fluent_bit_alerts::{root, through_fluent_bit};

use crate::support::cases;
use cases::{compare, report, Case, RESET_LOOP};

/// Every case folder; there are at least the eight of issue 14's classes 1-4.
fn cases() -> Vec<Case> {
    let all = cases::all(&root());
    assert!(all.len() >= 8, "only {} case folders in tests/data/cases", all.len());
    all
}

/// `resetwatch replay` on the case's inputs: its NDJSON alerts.
fn through_replay(case: &Case) -> Result<Vec<Value>, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_resetwatch"))
        .current_dir(root())
        .arg("replay")
        .args(&case.inputs)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("replay failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{e}: {l}")))
        .collect()
}

/// The case's inputs as Fluent Bit's `tail` hands them on: one record per
/// line (a line that is a JSON object is the record itself, as with a
/// `json` parser), gzip read through, several files merged by time.
fn tail_records(case: &Case) -> Vec<TailRecord> {
    let files = case
        .inputs
        .iter()
        .map(|p| {
            let content = cases::plain_bytes(p);
            let mtime = std::fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| EventTime { sec: d.as_secs() as i64, nsec: d.subsec_nanos() })
                .unwrap_or_default();
            let mut recs = tail::records_from_bytes(p, &content, mtime);
            for r in &mut recs {
                let line: Value = serde_json::from_str(&r.record).unwrap();
                let text = line["log"].as_str().unwrap_or_default();
                if text.trim_start().starts_with('{') && serde_json::from_str::<serde_json::Map<String, Value>>(text).is_ok() {
                    r.record = text.to_string();
                }
            }
            recs
        })
        .collect();
    tail::merge_by_time(files)
}

#[test]
fn every_case_folder_through_resetwatch_replay_raises_its_expected_alerts() {
    let results = cases()
        .into_iter()
        .filter_map(|c| {
            if !c.applies("replay") {
                println!("replay: {}: not applicable (expect.json hosts.replay is false)", c.name);
                return None;
            }
            let r = through_replay(&c).and_then(|got| compare(&c, &got, true));
            Some((c.name, r))
        })
        .collect();
    report("replay", results);
}

#[test]
fn every_case_folder_through_the_fluent_bit_build_raises_its_expected_alerts() {
    for module in ["resetwatch.wasm", "resetwatch-lean.wasm"] {
        let results = cases()
            .into_iter()
            .filter_map(|c| {
                if !c.applies("fluent_bit") {
                    println!("{module}: {}: not applicable (expect.json hosts.fluent_bit is false)", c.name);
                    return None;
                }
                let got = through_fluent_bit(module, &tail_records(&c));
                Some((c.name.clone(), compare(&c, &got, false)))
            })
            .collect();
        report(module, results);
    }
}

#[test]
fn a_case_that_differs_is_reported() {
    // The comparison is not vacuous: a wrong severity, a missing and an
    // extra alert each fail.
    let alert = |sev: &str| serde_json::json!({"alert": RESET_LOOP, "status": "firing", "severity": sev, "rule": "window", "source": "n1", "account": "$G", "stream": "ORDERS"});
    let case = |alerts: Value| Case {
        name: "t".into(),
        folder: PathBuf::new(),
        inputs: vec![],
        expect: serde_json::json!({"alerts": alerts}),
    };
    let want = serde_json::json!([{"stream": "$G > ORDERS", "severity": "warning", "source": "n1"}]);
    assert!(compare(&case(want.clone()), &[alert("warning")], true).is_ok());
    assert!(compare(&case(want.clone()), &[alert("critical")], true).is_err());
    assert!(compare(&case(want.clone()), &[], true).is_err());
    assert!(compare(&case(want), &[alert("warning"), alert("critical")], true).is_err());
    assert!(compare(&case(serde_json::json!([])), &[alert("warning")], false).is_err());
    // two servers' runs stay two: one server's alerts cannot stand for both
    let two = serde_json::json!([
        {"stream": "$G > ORDERS", "severity": "warning", "source": "n1"},
        {"stream": "$G > ORDERS", "severity": "warning", "source": "n2"}
    ]);
    assert!(compare(&case(two), &[alert("warning")], false).is_err());
}
