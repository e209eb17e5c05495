//! Finding the real host programs (Fluent Bit, its AOT compiler, Vector) for
//! the real-host tier, and reporting a test that cannot run as skipped.
//!
//! A program is taken from its setting (`FLUENT_BIT`, `FLUENT_BIT_4_0`,
//! `FLB_WAMRC`, `VECTOR`), else from `PATH`. A setting that names a missing
//! file is a mistake and fails the test; no setting and nothing on `PATH`
//! is a skip. Skips are printed and, when `cargo xtask test` runs the tier,
//! appended to the file named by `RESETWATCH_SKIPS` so the step summary can
//! list them (and `.ci/run` can refuse a skip whose program it provided).
#![allow(dead_code)] // each suite uses its own part of it

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One real program the tier can run.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    /// The setting that names it, e.g. `FLUENT_BIT`.
    pub setting: &'static str,
    /// Names tried on `PATH` when the setting is not given.
    pub path_names: &'static [&'static str],
    /// What `--version` must print (a prefix of one of its words), so that
    /// a `fluent-bit` on `PATH` of another version is not taken for this one.
    pub version: &'static str,
}

/// Fluent Bit 4.1.0 or later (one module instance for the process), 5.1.1 in CI.
pub const FLUENT_BIT: Program = Program { setting: "FLUENT_BIT", path_names: &["fluent-bit"], version: "v5." };
/// Fluent Bit 4.0.x: an instance per chunk, no reference-types.
pub const FLUENT_BIT_4_0: Program =
    Program { setting: "FLUENT_BIT_4_0", path_names: &["fluent-bit-4.0", "fluent-bit"], version: "v4.0." };
/// Fluent Bit's AOT compiler (`-DFLB_WAMRC=On`), 5.1.1's in CI.
pub const FLB_WAMRC: Program = Program { setting: "FLB_WAMRC", path_names: &["flb-wamrc"], version: "" };
/// Vector 0.57 or a later release with the same components.
pub const VECTOR: Program = Program { setting: "VECTOR", path_names: &["vector"], version: "0." };

/// The program's path, or why it cannot be had (a skip). Panics when the
/// setting names a file that does not exist: that is a broken setup, not a
/// machine without the program.
pub fn find(program: Program) -> Result<PathBuf, String> {
    if let Some(value) = std::env::var_os(program.setting).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(value);
        assert!(path.is_file(), "{}={} does not exist", program.setting, path.display());
        return Ok(path);
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    for name in program.path_names {
        for dir in std::env::split_paths(&path_var) {
            let candidate = dir.join(name);
            if candidate.is_file() && version_fits(&candidate, program.version) {
                return Ok(candidate);
            }
        }
    }
    let version = if program.version.is_empty() { String::new() } else { format!(" of version {}*", program.version) };
    Err(format!("{} is not set and no {}{version} is on PATH", program.setting, program.path_names.join(" or ")))
}

fn version_fits(path: &Path, want: &str) -> bool {
    if want.is_empty() {
        return true;
    }
    Command::new(path)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).split_whitespace().any(|w| w.starts_with(want)))
        .unwrap_or(false)
}

/// The program for `test`, or `None` after reporting the test skipped.
/// Use as `let Some(fb) = real_host::require(FLUENT_BIT, "test name") else { return };`.
pub fn require(program: Program, test: &str) -> Option<PathBuf> {
    match find(program) {
        Ok(path) => Some(path),
        Err(why) => {
            skip(test, program.setting, &why);
            None
        }
    }
}

/// Reports `test` as skipped for `why`; `setting` names the missing
/// program's setting (or another short cause) for `.ci/run` to judge.
pub fn skip(test: &str, setting: &str, why: &str) {
    println!("SKIPPED {test}: {why}");
    if let Some(file) = std::env::var_os("RESETWATCH_SKIPS").filter(|v| !v.is_empty()) {
        let line = format!("{test}\t{setting}\t{why}\n");
        let written =
            std::fs::OpenOptions::new().create(true).append(true).open(&file).and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            panic!("cannot record the skip of {test} in {}: {e}", PathBuf::from(file).display());
        }
    }
}

pub use super::root;
