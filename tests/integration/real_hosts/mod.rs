//! The real-host tier: the built artifacts in real Fluent Bit and real
//! Vector, found through settings (`tests/integration/support/real_host.rs`).
//! Every test here is `#[ignore]`d so that `cargo test --workspace` (the
//! harness tier) stays quick; `cargo xtask real-hosts` (a step of `cargo
//! xtask test`) runs them with `--ignored real_hosts::` and lists each test
//! as passed or skipped with its reason.

mod metrics;

mod fluent_bit_run;

mod fluent_bit;

mod fluent_bit_4_0;

mod aot;

mod nothing_lost;

mod cases;

mod helm;
mod pod_logs;
mod receiver;
mod vector;
