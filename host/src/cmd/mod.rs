//! Subcommands of the `resetwatch` binary, one module each. Each exposes
//! `Args` (clap) and `run(Args) -> anyhow::Result<ExitCode>`, and `run`
//! first turns `Args` into a plain `Settings` with every flag checked
//! (conflicts, ranges, files that must exist, addresses, URLs), so that a
//! bad command line fails before anything is opened, started or written.
//!
//! [`config`] and [`stdout`] are what the commands share; each uses no
//! command module, and no command uses another.

pub mod config;
pub mod fluent_bit;
pub mod replay;
pub mod serve;
pub mod stdout;
