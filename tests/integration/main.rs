//! The one integration test binary of the workspace (`cargo test --release
//! -p resetwatch-host --test integration`): one module per suite, all
//! linked once against wasmtime and the host library, and the helpers they
//! share in `support/`. Run one suite with a name filter, e.g.
//! `cargo test --release -p resetwatch-host --test integration -- replay::`
//! (docs/testing.md lists them all, and the tiers).
//!
//! The harness tier runs by default; `nats_cluster::` and `real_hosts::` are
//! `#[ignore]`d and run by their own `cargo xtask` steps (`nats`,
//! `real-hosts`). Tests share this one process: each makes its own scratch
//! directories (named after its suite and the process id) and ports, and
//! none sets an environment variable or the working directory.

mod support;

mod alertmanager;
mod component;
mod detection_cases;
mod fluent_bit;
mod fluent_bit_jsz;
mod fuzz_corpus_wasm;
mod harness_selftest;
mod install;
mod memcmp;
mod mvp_lowering;
mod nats_cluster;
mod parity;
mod real_hosts;
mod replay;
mod serve;
