//! Subcommands of the `resetwatch` binary, one module each. Each exposes
//! `Args` (clap) and `run(Args) -> anyhow::Result<ExitCode>`.

pub mod fluent_bit;
pub mod replay;
pub mod serve;
