//! Every detection case folder (`tests/data/cases/<class>-<name>/`, format
//! in its expect.json) whose `hosts.fluent_bit` is true, through real
//! Fluent Bit 5.1.1: tail of the folder's files (every file but README.md
//! and expect.json, in sorted path order; gzip unpacked first, since tail
//! reads no gzip; the stock `json` parser, so a line that is a JSON object
//! is the record itself), the allocator module, rewrite_tag as documented.
//! A folder added later is picked up as it is.
//!
//! One difference from the harness runner (tests/integration/detection_cases.rs) is
//! the real host's: tail stamps each record with the time it read it, not
//! the line's time, and the detector's clock for resolutions and repeats
//! is the record time.

use super::fluent_bit_run::*;
use crate::support::real_host;
use serde_json::Value;
use std::path::{Path, PathBuf};

use crate::support::cases::{self as case_folders, compare, Case};

fn cases() -> Vec<Case> {
    case_folders::all(&real_host::root())
}

/// The case's files in a tree (`case/<path under the folder>`), gzip unpacked.
fn inputs_in(case: &Case, tree: &Tree) -> Vec<PathBuf> {
    case.inputs
        .iter()
        .map(|p| {
            let content = case_folders::plain_bytes(p);
            let rel = p.strip_prefix(&case.folder).unwrap().to_string_lossy().trim_end_matches(".gz").to_string();
            tree.write(&format!("case/{rel}"), content)
        })
        .collect()
}

fn through_fluent_bit(fb: &Path, case: &Case) -> Result<(), String> {
    let tree = Tree::repo_like(&format!("case-{}", case.name));
    let paths: Vec<String> = inputs_in(case, &tree).iter().map(|p| p.display().to_string()).collect();
    let make = |_: &Tree| {
        Config::example("fluent-bit.conf")
            .replace(
                &format!("    Path              {S05}/n*.log\n"),
                &format!("    Path              {}\n    Parser            json\n    Buffer_Max_Size   2M\n", paths.join(",")),
            )
            .replace("[SERVICE]\n", "[SERVICE]\n    Parsers_File parsers.conf\n")
    };
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let config = make(&tree).observed(&tree);
        run_to_end(fb, &tree, &config);
        tree.records()
    }))
    .map_err(|_| "Fluent Bit did not run the case (see above)".to_string())?;
    let raised: Vec<Value> = run
        .iter()
        .filter(|r| r.tag.starts_with("alerts."))
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["resetwatch"].clone())
        .collect();
    // Sources are named after tail's tags here, so not compared.
    compare(case, &raised, false)
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn every_case_folder_for_fluent_bit_raises_its_expected_alerts_in_real_fluent_bit() {
    let Some(fb) = fluent_bit("every_case_folder_for_fluent_bit_raises_its_expected_alerts_in_real_fluent_bit") else { return };
    let all = cases();
    assert!(!all.is_empty(), "no case folders under tests/data/cases");
    let results: Vec<(String, Result<(), String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = all
            .iter()
            .filter(|c| {
                let applies = c.expect["hosts"]["fluent_bit"] == true;
                if !applies {
                    println!("real Fluent Bit: {}: not applicable (expect.json hosts.fluent_bit is not true)", c.name);
                }
                applies
            })
            .map(|c| (c.name.clone(), s.spawn(|| through_fluent_bit(&fb, c))))
            .collect();
        handles.into_iter().map(|(n, h)| (n, h.join().unwrap())).collect()
    });
    case_folders::report("real Fluent Bit", results);
}
