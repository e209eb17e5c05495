//! resetwatch watches nats-server logs as they flow through a log pipeline
//! and raises an alert when a JetStream stream falls into a reset loop
//! (nats-server issue 6455: `Error applying entries ...` followed by
//! `Resetting stream cluster state ...`, again and again, each reset
//! reserving the stream's `max_bytes` once more until the disk is full).
//!
//! The crate is one pure core — [`Filter`] takes records or lines and a time
//! and yields [`Notice`]s (reset-loop [`Alert`]s from log lines,
//! [`StorageAlert`]s from `/jsz` snapshots) — and thin shells that translate host ABIs to it:
//! `shell::fluent_bit` (Fluent Bit's `wasm` filter, wasip1),
//! `shell::component` (the Component Model world in `wit/`, wasip2) and
//! `shell::js` (wasm-bindgen, for the browser and Node). The core does no
//! I/O, reads no clock and panics on no input.

pub mod alert;
pub mod alertmanager;
pub mod analysis;
pub mod clock;
pub mod config;
pub mod detector;
pub mod event;
pub mod filter;
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzzing;
pub mod json;
pub mod jsz;
pub mod line;
mod lru;
pub mod record;
pub mod server;
pub mod shell;
pub mod state;
pub mod storage;
pub mod summary;

#[cfg(test)]
mod detection_tests;
#[cfg(test)]
mod proptests;

pub use alert::{Alert, Notice, Rule, Severity, Status};
pub use config::{Config, ConfigError};
pub use detector::{LineTime, PairEvent};
pub use filter::{Filter, Seen};
pub use storage::StorageAlert;
pub use summary::{StreamRow, Summary};
