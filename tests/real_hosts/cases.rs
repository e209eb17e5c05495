//! Every detection case folder (`tests/data/cases/<class>-<name>/`, format
//! in its expect.json) whose `hosts.fluent_bit` is true, through real
//! Fluent Bit 5.1.1: tail of the folder's files (every file but README.md
//! and expect.json, in sorted path order; gzip unpacked first, since tail
//! reads no gzip; the stock `json` parser, so a line that is a JSON object
//! is the record itself), the allocator module, rewrite_tag as documented.
//! A folder added later is picked up as it is.
//!
//! One difference from the harness runner (tests/detection_cases.rs) is
//! the real host's: tail stamps each record with the time it read it, not
//! the line's time, and the detector's clock for resolutions and repeats
//! is the record time.

use crate::fluent_bit_run::*;
use crate::real_host;
use serde_json::Value;
use std::io::Read as _;
use std::path::{Path, PathBuf};

const RESET_LOOP: &str = "nats_stream_reset_loop";

struct Case {
    name: String,
    folder: PathBuf,
    inputs: Vec<PathBuf>,
    expect: Value,
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn cases() -> Vec<Case> {
    let root = real_host::root().join("tests/data/cases");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&root).map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect()).unwrap_or_default();
    folders.sort();
    folders
        .into_iter()
        .map(|folder| {
            let name = folder.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(folder.join("expect.json")).unwrap_or_else(|e| panic!("{name}/expect.json: {e}"));
            let expect: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}/expect.json: {e}"));
            let mut inputs = Vec::new();
            files_under(&folder, &mut inputs);
            inputs.retain(|p| p.parent() != Some(folder.as_path()) || !matches!(p.file_name().and_then(|n| n.to_str()), Some("README.md" | "expect.json")));
            Case { name, folder, inputs, expect }
        })
        .collect()
}

/// An alert's `<account> > <stream>` (a storage alert's: empty).
fn stream_of(a: &Value) -> String {
    match (a["account"].as_str(), a["stream"].as_str()) {
        (Some(acc), Some(s)) => format!("{acc} > {s}"),
        _ => String::new(),
    }
}

/// Whether `got` has every key `want` gives (`source`: replay only).
fn matches(got: &Value, want: &Value) -> bool {
    want.as_object().is_some_and(|w| {
        w.iter().all(|(k, v)| match k.as_str() {
            "source" => true,
            "stream" if v.as_str().is_some_and(|s| s.contains(" > ")) => stream_of(got) == v.as_str().unwrap_or_default(),
            _ => got.get(k) == Some(v),
        })
    })
}

/// Alerts grouped by (tag they rode on, stream), each in emission order.
fn groups(alerts: &[(String, Value)]) -> Vec<(String, Vec<Value>)> {
    let mut out: Vec<((String, String), Vec<Value>)> = Vec::new();
    for (tag, a) in alerts {
        let key = (tag.clone(), stream_of(a));
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(a.clone()),
            None => out.push((key, vec![a.clone()])),
        }
    }
    out.into_iter().map(|((_, stream), v)| (stream, v)).collect()
}

/// The expectation's alerts, per stream in order, against what rode.
fn compare(case: &Case, raised: &[(String, Value)]) -> Result<(), String> {
    let want = case.expect["alerts"].as_array().unwrap_or_else(|| panic!("{}: expect.json has no `alerts` list", case.name));
    let kinds: Vec<&str> = want.iter().map(|w| w["alert"].as_str().unwrap_or(RESET_LOOP)).chain([RESET_LOOP]).collect();
    let raised: Vec<(String, Value)> = raised.iter().filter(|(_, a)| kinds.iter().any(|k| a["alert"] == *k)).cloned().collect();
    let mut got = groups(&raised);
    // Sources are not compared here (the tag names them), so each stream's
    // expected list is matched by the raised groups of that stream, one
    // server's run after another, in any order of servers.
    let mut wanted: Vec<(String, Vec<Value>)> = Vec::new();
    for w in want {
        let stream = w["stream"].as_str().unwrap_or_default().to_string();
        match wanted.iter_mut().find(|(s, _)| *s == stream) {
            Some((_, v)) => v.push(w.clone()),
            None => wanted.push((stream, vec![w.clone()])),
        }
    }
    for (stream, seq) in wanted {
        let mut rest = seq.as_slice();
        while !rest.is_empty() {
            let fits = |(s, g): &(String, Vec<Value>)| {
                (stream.is_empty() || *s == stream) && g.len() <= rest.len() && g.iter().zip(rest).all(|(a, w)| matches(a, w))
            };
            let Some(at) = got.iter().position(fits) else {
                return Err(format!("expected for {stream}: {}\n    raised: {got:?}", Value::from(rest.to_vec())));
            };
            rest = &rest[got[at].1.len()..];
            got.remove(at);
        }
    }
    if !got.is_empty() {
        return Err(format!("alerts raised that expect.json does not list: {got:?}"));
    }
    Ok(())
}

/// The case's files in a tree (`case/<path under the folder>`), gzip unpacked.
fn inputs_in(case: &Case, tree: &Tree) -> Vec<PathBuf> {
    case.inputs
        .iter()
        .map(|p| {
            let mut content = std::fs::read(p).unwrap();
            if content.starts_with(&[0x1f, 0x8b]) {
                let mut plain = Vec::new();
                flate2::read::MultiGzDecoder::new(&content[..]).read_to_end(&mut plain).unwrap();
                content = plain;
            }
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
            .replace(&format!("    Path              {S05}/n*.log\n"), &format!("    Path              {}\n    Parser            json\n    Buffer_Max_Size   2M\n", paths.join(",")))
            .replace("[SERVICE]\n", "[SERVICE]\n    Parsers_File parsers.conf\n")
    };
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let config = make(&tree).observed(&tree);
        run_to_end(fb, &tree, &config);
        tree.records()
    }))
    .map_err(|_| "Fluent Bit did not run the case (see above)".to_string())?;
    let raised: Vec<(String, Value)> = run
        .iter()
        .filter(|r| r.tag.starts_with("alerts."))
        .map(|r| {
            let v: Value = serde_json::from_str(&r.body).unwrap();
            (v["resetwatch"]["source"].as_str().unwrap_or_default().to_string(), v["resetwatch"].clone())
        })
        .collect();
    compare(case, &raised)
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
    let mut failed = Vec::new();
    for (name, r) in &results {
        match r {
            Ok(()) => println!("real Fluent Bit: {name}: ok"),
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    assert!(failed.is_empty(), "{} of {} cases differ in real Fluent Bit:\n{}", failed.len(), results.len(), failed.join("\n"));
}
