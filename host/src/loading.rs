//! Reading files and loading wasm into wasmtime, for both hosts (the Fluent
//! Bit stand-in and the component host), the log readers (`tail`, `logs`)
//! and the commands: the words of a file that cannot be read or loaded,
//! and wasmtime's error type into anyhow's. A leaf: it uses no other
//! module of the crate.

use std::path::Path;

use anyhow::{Context as _, Result};

/// wasmtime has its own error type; convert to add anyhow context.
pub(crate) fn wt<T>(result: wasmtime::Result<T>) -> Result<T> {
    result.map_err(anyhow::Error::from)
}

/// The bytes of a `.wasm` file, or `cannot read FILE: why`.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| cannot_read(path))
}

/// `cannot read FILE`, the context of any file that could not be read.
pub fn cannot_read(path: &Path) -> String {
    format!("cannot read {}", path.display())
}

/// `cannot load FILE`, the context of a module or component that was read
/// but that wasmtime or the checks refused.
pub fn cannot_load(path: &Path) -> String {
    format!("cannot load {}", path.display())
}
