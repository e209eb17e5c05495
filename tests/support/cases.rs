//! The detection cases on disk (`tests/data/cases/<class>-<name>/`, the
//! format of the project's cases brief): the inputs and the expectation.

use serde_json::Value;
use std::path::{Path, PathBuf};

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
            } else if !matches!(p.file_name().and_then(|n| n.to_str()), Some("README.md" | "expect.json")) {
                files.push(p);
            }
        }
    }
    files.sort();
    let text = std::fs::read_to_string(dir.join("expect.json")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    (files, serde_json::from_str(&text).unwrap())
}

/// The case folders whose names start with one of `prefixes`, sorted.
#[allow(dead_code)] // the serve tests name their cases
pub fn case_dirs(root: &Path, prefixes: &[&str]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("tests/data/cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| prefixes.iter().any(|x| n.starts_with(x))))
        .collect();
    dirs.sort();
    dirs
}
