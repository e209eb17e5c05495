//! Native side of resetwatch: hosts that run the wasm filter the way its real
//! hosts do, so tests and replays need neither Fluent Bit nor WAMR.
//!
//! - [`fluent_bit`]: Fluent Bit's `filter_wasm` (JSON mode) on wasmtime, with
//!   its parts: [`wasm_check`] (`fluent_bit::check`), static checks for what
//!   wasmtime cannot reproduce (WAMR's feature set, the export's signature),
//!   and [`tail`] (`fluent_bit::tail`), log files turned into records as
//!   Fluent Bit's `tail` input does.
//! - [`component`]: the Component Model build (`wit/resetwatch.wit`) on
//!   wasmtime with WASI p2.
//! - [`logs`]: log files (plain, gzip, stdin; raw lines or NDJSON) merged by
//!   line time, for `resetwatch replay`.
//! - [`alertmanager`]: alerts posted to Prometheus Alertmanager from a
//!   thread of its own (`--alertmanager`).
//! - [`metrics`]: `resetwatch serve --metrics`, the Prometheus exposition.
//! - [`plot`]: the SVG timeline of `resetwatch replay --plot`.
//! - [`vector`]: Vector's event shapes, with `resetwatch serve`'s newline
//!   [`framing`] and its sockets and client readers ([`listen`]).
//! - [`loading`], [`text`]: leaves the others share (reading and loading
//!   `.wasm` files; plurals and times in words).
//!
//! Modules use each other in one direction only (no cycles): the leaves
//! `loading` and `text` use no module of the crate; inside `fluent_bit`,
//! `check` uses `abi` and `wamr`, `host` uses those and `app_heap` and
//! `capture`, and they, `tail`, `component` and `logs` use `loading`;
//! `metrics` uses `component`; `plot` uses `text`; `vector::listen` uses
//! `vector::framing`. Parents only re-export their children.

pub mod alertmanager;
pub mod component;
pub mod fluent_bit;
pub mod loading;
pub mod logs;
pub mod metrics;
pub mod plot;
pub mod text;
pub mod vector;

// The old paths of the modules that moved into a concept's folder.
pub use fluent_bit::check as wasm_check;
pub use fluent_bit::tail;
pub use vector::{framing, listen};

pub use fluent_bit::{CallResult, CopyMode, DropReason, FluentBitHost, FluentBitOptions, Lifecycle, Outcome};
