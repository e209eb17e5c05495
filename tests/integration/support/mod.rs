//! What the suites share: the repository root, and one module per helper
//! (a child process, a real program to find, the case folders).
#![allow(dead_code)] // each suite uses its own part of it

use std::path::{Path, PathBuf};

pub mod alertmanager_process;
pub mod cases;
pub mod fluent_bit_alerts;
pub mod prometheus;
pub mod real_host;
pub mod serve_process;

/// The repository root (tests run from the host package's directory).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ lives in the repository root").to_path_buf()
}

/// The target directory these tests were built in (`<target>/release/resetwatch`
/// is the binary under test), where `cargo xtask dist` also writes, since both
/// follow `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_resetwatch")).ancestors().nth(2).expect("<target>/<profile>/resetwatch").to_path_buf()
}
