//! Every fuzz input kept in the repository, through the modules we ship:
//! `fuzz/seeds/*/`, `fuzz/regressions/*/` and, when a fuzz run left one,
//! the working corpus `fuzz/corpus/*/` (at most `CORPUS_CAP` files per
//! target), each sent as a record body to `dist/resetwatch.wasm` and
//! `dist/resetwatch-lean.wasm` (`Wasm_Heap_Size 16M`) the way Fluent Bit
//! calls them; the `line` target's inputs also as tail records
//! `{"log":"<line>"}`. Nothing may be dropped, and a record that comes back
//! changed carries `resetwatch` after its own bytes. Once with the defaults
//! and once with a configuration that alerts at the first pair, so that
//! alerts ride on fuzzed records too. Run `cargo xtask dist` first.

use crate::support::root;
use resetwatch_host::fluent_bit::{FluentBitHost, FluentBitOptions, Outcome};
use resetwatch_host::tail;
use serde_json::Value;
use std::path::{Path, PathBuf};

const FULL: &str = "resetwatch.wasm";
const LEAN: &str = "resetwatch-lean.wasm";
const TARGETS: [&str; 4] = ["line", "record", "config", "detector"];
/// Working-corpus files read per target (seeds and regressions: all).
const CORPUS_CAP: usize = 1000;

fn module(name: &str) -> Vec<u8> {
    let p = root().join("dist").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask dist` first", p.display()))
}

/// The files of `dir`, sorted, without dot files, at most `cap`.
fn files(dir: &Path, cap: usize) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    v.retain(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')));
    v.sort();
    v.truncate(cap);
    v
}

/// (where it came from, record body) for every input.
fn records() -> Vec<(String, Vec<u8>)> {
    let fuzz = root().join("fuzz");
    let mut out = Vec::new();
    for target in TARGETS {
        for (kind, cap) in [("seeds", usize::MAX), ("regressions", usize::MAX), ("corpus", CORPUS_CAP)] {
            for f in files(&fuzz.join(kind).join(target), cap) {
                let data = std::fs::read(&f).unwrap();
                let label = f.strip_prefix(root()).unwrap_or(&f).display().to_string();
                if target == "line" {
                    let line = String::from_utf8_lossy(&data);
                    out.push((format!("{label} as a tail record"), tail::record_json(&line).into_bytes()));
                }
                out.push((label, data));
            }
        }
    }
    out
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("resetwatch-fuzz-wasm-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Sends every record through `name`; returns how many came back with an alert.
fn run(name: &str, config_dir: Option<&Path>, records: &[(String, Vec<u8>)]) -> usize {
    let mut opts = FluentBitOptions::default();
    if name == LEAN {
        opts.wasm_heap_size = 16 << 20;
    }
    opts.accessible_paths = config_dir.into_iter().map(Path::to_path_buf).collect();
    let mut h = FluentBitHost::new(&module(name), opts).unwrap();
    let t0: i64 = 1_795_702_628; // 2026-11-26T14:17:08Z
    let mut alerts = 0;
    for (i, (label, rec)) in records.iter().enumerate() {
        let r = h.call(b"nats.fuzz", t0 + i as i64, 0, rec).unwrap();
        if r.returned_record {
            continue;
        }
        let out = match r.outcome {
            Outcome::Output(o) => o,
            Outcome::Dropped(why) => panic!("{name}: {label}: record dropped ({why})"),
        };
        if out == *rec {
            continue;
        }
        let v: Value = serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{name}: {label}: answer is not JSON: {e}"));
        let mut v = v.as_object().cloned().unwrap_or_else(|| panic!("{name}: {label}: answer is not an object"));
        let alert = v.remove("resetwatch");
        assert!(alert.as_ref().is_some_and(Value::is_object), "{name}: {label}: changed without an alert");
        let close =
            rec.iter().rposition(|&c| c == b'}').unwrap_or_else(|| panic!("{name}: {label}: alert on a record with no object"));
        assert!(out.starts_with(&rec[..close]), "{name}: {label}: the record's own bytes are not kept in front");
        let key = |b: &[u8]| b.windows(13).filter(|w| *w == b"\"resetwatch\":").count();
        assert_eq!(key(&out), key(rec) + 1, "{name}: {label}: more than one `resetwatch` added");
        if let Ok(Value::Object(orig)) = serde_json::from_slice::<Value>(rec) {
            assert!(!orig.contains_key("resetwatch"), "{name}: {label}: a record that carried `resetwatch` got another");
            assert_eq!(v, orig, "{name}: {label}: the record changed beyond the added key");
        }
        alerts += 1;
    }
    let problems = h.take_guest_problems();
    assert!(problems.is_empty(), "{name}: the module reported a problem: {problems:?}");
    alerts
}

#[test]
fn every_fuzz_input_passes_through_the_built_modules() {
    let records = records();
    assert!(records.len() > 40, "fuzz/seeds is missing ({} inputs)", records.len());
    let eager = tempdir("eager");
    std::fs::write(
        eager.join("resetwatch.json"),
        br#"{"warning_pairs": 1, "critical_pairs": 2, "repeat_seconds": 1, "quiet_seconds": 20}"#,
    )
    .unwrap();
    for name in [FULL, LEAN] {
        run(name, None, &records);
        let alerts = run(name, Some(&eager), &records);
        assert!(alerts > 0, "{name}: no alert rode on any fuzz input with warning_pairs 1");
    }
}
