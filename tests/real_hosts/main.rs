//! The real-host tier: the built artifacts in real Fluent Bit and real
//! Vector, found through settings (`tests/support/real_host.rs`). Every test
//! here is `#[ignore]`d so that `cargo test --workspace` (the harness tier)
//! stays quick; `cargo xtask test` runs this binary with `--ignored` in its
//! own step and lists each test as passed or skipped with its reason.

#[path = "../support/real_host.rs"]
#[allow(unused)]
mod real_host;
#[path = "../support/prometheus.rs"]
mod prometheus;

mod metrics;

#[path = "../support/alertmanager_process.rs"]
mod alertmanager_process;

mod fluent_bit_run;

mod fluent_bit;

mod fluent_bit_4_0;

mod aot;

mod nothing_lost;

#[path = "../support/cases.rs"]
mod case_folders;
mod cases;

#[path = "../support/serve_process.rs"]
mod serve_process;

mod helm;
mod pod_logs;
mod receiver;
mod vector;
