//! Native side of resetwatch: hosts that run the wasm filter the way its real
//! hosts do, so tests and replays need neither Fluent Bit nor WAMR.
//!
//! - [`fluent_bit`]: Fluent Bit's `filter_wasm` (JSON mode) on wasmtime.
//! - [`wasm_check`]: static checks for what wasmtime cannot reproduce (WAMR's
//!   feature set, the export's signature).
//! - [`tail`]: log files turned into records as Fluent Bit's `tail` input does.
//! - [`component`]: the Component Model build (`wit/resetwatch.wit`) on
//!   wasmtime with WASI p2.
//! - [`logs`]: log files (plain, gzip, stdin; raw lines or NDJSON) merged by
//!   line time, for `resetwatch replay`.
//! - [`alertmanager`]: alerts posted to Prometheus Alertmanager from a
//!   thread of its own (`--alertmanager`).
//! - [`metrics`]: `resetwatch serve --metrics`, the Prometheus exposition.
//! - [`plot`]: the SVG timeline of `resetwatch replay --plot`.
//! - [`framing`], [`listen`], [`vector`]: `resetwatch serve`'s newline
//!   framing, its sockets and client readers, and Vector's event shapes.

pub mod alertmanager;
pub mod component;
pub mod fluent_bit;
pub mod framing;
pub mod listen;
pub mod logs;
pub mod metrics;
pub mod plot;
pub mod tail;
pub mod vector;
pub mod wasm_check;

pub use fluent_bit::{
    CallResult, CopyMode, DropReason, FluentBitHost, FluentBitOptions, Lifecycle, Outcome,
};
