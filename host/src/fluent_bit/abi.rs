//! The `filter_wasm` contract a module is held to, by the stand-in host
//! ([`super::FluentBitHost`]) and by the static checks ([`super::check`])
//! alike: the export's name, the keys' defaults, the one WASI module Fluent
//! Bit provides, and the smallest module that keeps the contract. A leaf,
//! so that both can use it without using each other.

use anyhow::{anyhow, Result};

/// Fluent Bit's `Function_Name` as used by this project.
pub const DEFAULT_FUNCTION_NAME: &str = "resetwatch_filter";
/// Fluent Bit's default `Wasm_Heap_Size` (8 KiB).
pub const DEFAULT_WASM_HEAP_SIZE: u32 = 8192;

/// The WASI module Fluent Bit provides imports from (the only one).
pub const WASI_P1_MODULE: &str = "wasi_snapshot_preview1";

/// What Fluent Bit finds wrong with a module that does not export its
/// memory; the stand-in and the static check say it in the same words.
pub const NO_MEMORY_EXPORT: &str = "does not export its linear memory as `memory`";

/// A do-nothing filter: it answers with the host's own record pointer, so
/// the record goes on exactly as the host rendered it. The floor for
/// benchmarks and, in real Fluent Bit, the output every record must match
/// byte for byte (the host's JSON round trip is the same for any filter).
/// No allocator exports: load it with a `Wasm_Heap_Size` larger than any
/// record (WAMR copies records into its app heap).
pub const DO_NOTHING_WAT: &str = r#"(module (memory (export "memory") 1)
  (func (export "resetwatch_filter") (param i32 i32 i32 i32 i32 i32) (result i32) local.get 4))"#;

/// [`DO_NOTHING_WAT`] assembled into a `.wasm` binary.
pub fn do_nothing_module() -> Result<Vec<u8>> {
    wat::parse_str(DO_NOTHING_WAT).map_err(|e| anyhow!("the do-nothing filter does not assemble: {e}"))
}
