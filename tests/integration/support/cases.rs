//! The detection cases on disk (`tests/data/cases/<class>-<name>/`), read
//! and judged in one place for every runner: the harness runner
//! (tests/integration/detection_cases.rs), the real-host runner
//! (tests/integration/real_hosts/cases.rs) and the tests that name single cases.
//!
//! A folder holds `README.md`, `expect.json` and the inputs: every other
//! file under it (sub-folders too), in sorted path order. `expect.json`:
//! `hosts` says where the case applies (`replay`, `fluent_bit`, `serve`; a
//! host set to false is reported as not applicable), `alerts` lists every
//! alert in emission order per (source, stream); only the keys an entry
//! gives are compared, `stream` as `<account> > <stream>` (or `account` and
//! `stream` apart), `source` only where the host names sources as replay
//! does. An entry's `alert` key selects another kind than the reset-loop
//! alert. An empty list means nothing may fire.
#![allow(dead_code)] // each suite uses its own part of it

use serde_json::Value;
use std::path::{Path, PathBuf};

pub const RESET_LOOP: &str = "nats_stream_reset_loop";

/// One case folder.
pub struct Case {
    pub name: String,
    pub folder: PathBuf,
    pub inputs: Vec<PathBuf>,
    pub expect: Value,
}

impl Case {
    /// Whether the case applies to `host` (a key of `hosts`; absent: yes).
    pub fn applies(&self, host: &str) -> bool {
        self.expect["hosts"].get(host).and_then(Value::as_bool).unwrap_or(true)
    }

    pub fn expected(&self) -> Vec<Value> {
        self.expect["alerts"].as_array().unwrap_or_else(|| panic!("{}: expect.json has no `alerts` list", self.name)).clone()
    }
}

/// Every file of a case folder but README.md and expect.json, in sorted
/// path order (sub-folders included), and its expect.json.
pub fn read_case(dir: &Path) -> (Vec<PathBuf>, Value) {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.parent() != Some(dir)
                || !matches!(p.file_name().and_then(|n| n.to_str()), Some("README.md" | "expect.json"))
            {
                files.push(p);
            }
        }
    }
    files.sort();
    let text = std::fs::read_to_string(dir.join("expect.json")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    (files, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}/expect.json: {e}", dir.display())))
}

/// The case folders whose names start with one of `prefixes`, sorted.
pub fn case_dirs(root: &Path, prefixes: &[&str]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("tests/data/cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir() && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| prefixes.iter().any(|x| n.starts_with(x)))
        })
        .collect();
    dirs.sort();
    dirs
}

/// An input's bytes as a reader of the log sees them: a `.gz` part
/// unpacked (Fluent Bit's tail reads no gzip; replay reads through it).
pub fn plain_bytes(path: &Path) -> Vec<u8> {
    let content = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if !content.starts_with(&[0x1f, 0x8b]) {
        return content;
    }
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&content[..]), &mut plain)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    plain
}

/// Every case folder under `<root>/tests/data/cases`.
pub fn all(root: &Path) -> Vec<Case> {
    case_dirs(root, &[""])
        .into_iter()
        .map(|folder| {
            let name = folder.file_name().unwrap().to_string_lossy().into_owned();
            assert!(folder.join("README.md").is_file(), "{name} has no README.md");
            let (inputs, expect) = read_case(&folder);
            assert!(!inputs.is_empty(), "{name} has no input files");
            Case { name, folder, inputs, expect }
        })
        .collect()
}

/// Whether an alert matches an expected entry (only the keys it gives).
fn matches(got: &Value, want: &Value, with_source: bool) -> bool {
    let Some(want) = want.as_object() else { return false };
    want.iter().all(|(k, v)| match k.as_str() {
        "alert" => got["alert"] == *v,
        "source" if !with_source => true,
        "stream" => match v.as_str() {
            Some(s) if s.contains(" > ") => stream_of(got) == s,
            _ => got["stream"] == *v,
        },
        _ => got.get(k) == Some(v),
    })
}

/// `<account> > <stream>` of an alert, or of an expectation that gives
/// them apart (empty for a server's storage alert).
pub fn stream_of(a: &Value) -> String {
    match (a["account"].as_str(), a["stream"].as_str()) {
        (Some(acc), Some(s)) => format!("{acc} > {s}"),
        _ => a["stream"].as_str().unwrap_or_default().to_string(),
    }
}

/// Groups alerts by (source, stream), each group in emission order.
fn groups<'a>(alerts: impl Iterator<Item = &'a Value>) -> Vec<((String, String), Vec<Value>)> {
    let mut out: Vec<((String, String), Vec<Value>)> = Vec::new();
    for a in alerts {
        let key = (a["source"].as_str().unwrap_or_default().to_string(), stream_of(a));
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(a.clone()),
            None => out.push((key, vec![a.clone()])),
        }
    }
    out
}

/// Compares what a host raised with the expectation; `Err` says how they
/// differ. `with_source`: the host names sources as replay does, so each
/// group is held to its `source`; elsewhere (Fluent Bit's tags) the
/// expectation's sources still keep two servers two groups.
pub fn compare(case: &Case, got: &[Value], with_source: bool) -> Result<(), String> {
    let want = case.expected();
    let kinds: Vec<&str> = want.iter().map(|w| w["alert"].as_str().unwrap_or(RESET_LOOP)).chain([RESET_LOOP]).collect();
    let got: Vec<&Value> = got.iter().filter(|a| kinds.iter().any(|k| a["alert"] == *k)).collect();
    let want_groups = groups(want.iter());
    let mut got_groups = groups(got.into_iter());
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
                    .map(|((gs, gstream), gseq)| {
                        format!("{gs} {gstream}: {}", serde_json::to_string(&brief(gseq)).unwrap_or_default())
                    })
                    .collect();
                return Err(format!(
                    "expected for ({src}, {stream}) {}\n    raised: {near:?}",
                    serde_json::to_string(seq).unwrap_or_default()
                ));
            }
        }
    }
    if !got_groups.is_empty() {
        let extra: Vec<String> = got_groups
            .iter()
            .map(|((s, st), seq)| format!("{s} {st}: {}", serde_json::to_string(&brief(seq)).unwrap_or_default()))
            .collect();
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

/// Prints each case's verdict and fails with every difference at once.
pub fn report(host: &str, results: Vec<(String, Result<(), String>)>) {
    let mut failed = Vec::new();
    for (name, r) in &results {
        match r {
            Ok(()) => println!("{host}: {name}: ok"),
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    assert!(failed.is_empty(), "{host}: {} of {} cases differ:\n{}", failed.len(), results.len(), failed.join("\n"));
}
