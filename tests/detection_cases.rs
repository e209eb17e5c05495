//! Every case folder under `tests/data/cases/` (issue 14; the format is the
//! shared one of `../brief/cases.md`, restated here) through the real
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

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use resetwatch_host::tail::{self, EventTime, TailRecord};
use serde_json::Value;

#[path = "support/fluent_bit_alerts.rs"]
mod fluent_bit_alerts;
use fluent_bit_alerts::{root, through_fluent_bit};

const RESET_LOOP: &str = "nats_stream_reset_loop";

/// One case folder.
struct Case {
    name: String,
    inputs: Vec<PathBuf>,
    expect: Value,
}

impl Case {
    fn applies(&self, host: &str) -> bool {
        self.expect["hosts"].get(host).and_then(Value::as_bool).unwrap_or(true)
    }

    fn expected(&self) -> Vec<Value> {
        self.expect["alerts"].as_array().unwrap_or_else(|| panic!("{}: expect.json has no `alerts` list", self.name)).clone()
    }
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
    let dir = root().join("tests/data/cases");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let all: Vec<Case> = folders
        .into_iter()
        .map(|folder| {
            let name = folder.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(folder.join("expect.json")).unwrap_or_else(|e| panic!("{name}/expect.json: {e}"));
            let expect: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}/expect.json: {e}"));
            assert!(folder.join("README.md").is_file(), "{name} has no README.md");
            let mut inputs = Vec::new();
            files_under(&folder, &mut inputs);
            inputs.retain(|p| p.parent() != Some(folder.as_path()) || !matches!(p.file_name().and_then(|n| n.to_str()), Some("README.md" | "expect.json")));
            assert!(!inputs.is_empty(), "{name} has no input files");
            Case { name, inputs, expect }
        })
        .collect();
    assert!(all.len() >= 8, "only {} case folders in {}", all.len(), dir.display());
    all
}

/// Whether an alert matches an expected entry (only the keys it gives).
fn matches(got: &Value, want: &Value, with_source: bool) -> bool {
    let Some(want) = want.as_object() else { return false };
    want.iter().all(|(k, v)| match k.as_str() {
        "alert" => got["alert"] == *v,
        "source" if !with_source => true,
        "stream" => match v.as_str() {
            Some(s) if s.contains(" > ") => {
                format!("{} > {}", got["account"].as_str().unwrap_or_default(), got["stream"].as_str().unwrap_or_default()) == s
            }
            _ => got["stream"] == *v,
        },
        _ => got.get(k) == Some(v),
    })
}

/// `<account> > <stream>` of an alert, or of an expectation that gives
/// them apart (empty for a server's storage alert).
fn stream_of(a: &Value) -> String {
    match (a["account"].as_str(), a["stream"].as_str()) {
        (Some(acc), Some(s)) => format!("{acc} > {s}"),
        _ => a["stream"].as_str().unwrap_or_default().to_string(),
    }
}

/// Groups alerts by (source, stream), each group in emission order.
fn groups<'a>(alerts: impl Iterator<Item = &'a Value>, source: impl Fn(&Value) -> String, stream: impl Fn(&Value) -> String) -> Vec<((String, String), Vec<Value>)> {
    let mut out: Vec<((String, String), Vec<Value>)> = Vec::new();
    for a in alerts {
        let key = (source(a), stream(a));
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(a.clone()),
            None => out.push((key, vec![a.clone()])),
        }
    }
    out
}

/// Compares what a host raised with the expectation; `Err` says how they differ.
fn compare(case: &Case, got: &[Value], with_source: bool) -> Result<(), String> {
    let want = case.expected();
    let kinds: Vec<String> = {
        let mut k: Vec<String> = want.iter().map(|w| w["alert"].as_str().unwrap_or(RESET_LOOP).to_string()).collect();
        k.push(RESET_LOOP.to_string());
        k
    };
    let got: Vec<&Value> = got.iter().filter(|a| kinds.iter().any(|k| a["alert"] == k.as_str())).collect();
    // Expectations are grouped by their source even where the host names
    // sources otherwise (Fluent Bit's tags): two servers stay two groups,
    // and only `with_source` holds a group to its name.
    let want_groups = groups(want.iter(), |w| w["source"].as_str().unwrap_or_default().to_string(), stream_of);
    let mut got_groups = groups(got.iter().copied(), |a| a["source"].as_str().unwrap_or_default().to_string(), stream_of);
    for ((src, stream), seq) in &want_groups {
        let found = got_groups.iter().position(|((gs, gstream), gseq)| {
            (!with_source || src.is_empty() || gs == src)
                && (stream.is_empty() || gstream == stream)
                && gseq.len() == seq.len()
                && gseq.iter().zip(seq).all(|(g, w)| matches(g, w, with_source))
        });
        match found {
            Some(i) => {
                got_groups.remove(i);
            }
            None => {
                let near: Vec<String> = got_groups
                    .iter()
                    .filter(|((_, gstream), _)| stream.is_empty() || gstream == stream)
                    .map(|((gs, gstream), gseq)| format!("{gs} {gstream}: {}", serde_json::to_string(&brief(gseq)).unwrap_or_default()))
                    .collect();
                return Err(format!("expected for ({src}, {stream}) {}\n    raised: {near:?}", serde_json::to_string(seq).unwrap_or_default()));
            }
        }
    }
    if !got_groups.is_empty() {
        let extra: Vec<String> = got_groups.iter().map(|((s, st), seq)| format!("{s} {st}: {}", serde_json::to_string(&brief(seq)).unwrap_or_default())).collect();
        return Err(format!("alerts raised that expect.json does not list: {extra:?}"));
    }
    Ok(())
}

/// The fields a case usually names, for messages.
fn brief(seq: &[Value]) -> Vec<Value> {
    seq.iter()
        .map(|a| {
            let mut m = serde_json::Map::new();
            for k in ["status", "severity", "rule", "pairs_total", "declined_resets_total", "known_leak"] {
                if let Some(v) = a.get(k) {
                    m.insert(k.to_string(), v.clone());
                }
            }
            Value::Object(m)
        })
        .collect()
}

fn report(host: &str, results: Vec<(String, Result<(), String>)>) {
    let mut failed = Vec::new();
    for (name, r) in &results {
        match r {
            Ok(()) => println!("{host}: {name}: ok"),
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    assert!(failed.is_empty(), "{host}: {} of {} cases differ:\n{}", failed.len(), results.len(), failed.join("\n"));
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
            let mut content = std::fs::read(p).unwrap();
            if content.starts_with(&[0x1f, 0x8b]) {
                let mut plain = Vec::new();
                flate2::read::MultiGzDecoder::new(&content[..]).read_to_end(&mut plain).unwrap();
                content = plain;
            }
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
    let case = |alerts: Value| Case { name: "t".into(), inputs: vec![], expect: serde_json::json!({"alerts": alerts}) };
    let want = serde_json::json!([{"stream": "$G > ORDERS", "severity": "warning", "source": "n1"}]);
    assert!(compare(&case(want.clone()), &[alert("warning")], true).is_ok());
    assert!(compare(&case(want.clone()), &[alert("critical")], true).is_err());
    assert!(compare(&case(want.clone()), &[], true).is_err());
    assert!(compare(&case(want), &[alert("warning"), alert("critical")], true).is_err());
    assert!(compare(&case(serde_json::json!([])), &[alert("warning")], false).is_err());
}
