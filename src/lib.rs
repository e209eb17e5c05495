#![forbid(unsafe_code)]
#![deny(missing_docs)]

//! resetwatch watches nats-server logs as they flow through a log pipeline
//! and raises an alert when a JetStream stream falls into a reset loop
//! (nats-server issue 6455: `Error applying entries ...` followed by
//! `Resetting stream cluster state ...`, again and again, each reset
//! reserving the stream's `max_bytes` once more until the disk is full).
//!
//! The crate is one pure core — [`Filter`] takes records or lines and a time
//! and yields [`Notice`]s (reset-loop [`Alert`]s from log lines,
//! [`StorageAlert`]s from `/jsz` snapshots) — and thin shells that translate host ABIs to it:
//! the `resetwatch-wasm` crate in `wasm/` (Fluent Bit's `wasm` filter on
//! wasip1, the Component Model world in `wit/` on wasip2, wasm-bindgen for
//! the browser and Node). The core does no I/O, reads no clock, holds no
//! `unsafe` and panics on no input.
//!
//! The modules, each a folder (lower ones never import higher ones):
//! `text` (JSON, times, the state codec) and `version`; `config`; `input`
//! (record, line, event, `/jsz`); `alert` (the alerts and their
//! Alertmanager form); `detect` (the state machine, servers, storage);
//! `state` (saving and restoring); `filter` (the pipeline every shell
//! drives); `analysis` and `summary` (whole-log reports).

mod alert;
mod analysis;
mod config;
mod detect;
mod filter;
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzzing;
mod input;
mod state;
mod summary;
mod text;
mod version;

#[cfg(test)]
mod detection_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod test_sequence;

pub use alert::alertmanager::from_alert_json;
pub use alert::storage::{StorageAlert, RESERVED_STORAGE_INFLATED};
pub use alert::{Alert, Notice, Rule, Severity, Status, RESET_LOOP};
pub use analysis::Analysis;
pub use config::{Config, ConfigError, Output};
pub use detect::tracker::{LineTime, ResetPair, Tracker};
pub use filter::{Filter, PassGate, Seen, UnknownLayout, UnknownLayouts};
/// The readers the native hosts share with the filter, so each rule has
/// one owner: a record's keys, a line's layout and time, `/jsz` snapshots.
pub use input::{jsz, line, record};
pub use state::StateError;
pub use summary::{StreamRow, Summary};
/// Times (`Micros` since the epoch, RFC 3339) and the JSON scanner.
pub use text::{clock, json};
pub use version::known_leak;
