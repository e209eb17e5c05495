//! `resetwatch`: run the resetwatch wasm filter natively, the way its hosts do.
//!
//! One module per subcommand under `cmd/`; to add one, add a variant to
//! [`Command`] and a match arm in `main`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// `resetwatch --version`: the binary, and the module it carries (the WIT
/// package it exports, the core it was built from, its size).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncomponent: ",
    env!("RESETWATCH_WIT_PACKAGE"),
    ", built from resetwatch ",
    env!("RESETWATCH_CORE_VERSION"),
    " (",
    env!("RESETWATCH_COMPONENT_BYTES"),
    " bytes, embedded; --wasm FILE runs another)",
);

#[derive(Parser)]
#[command(
    name = "resetwatch",
    version = VERSION,
    about = "Detects NATS JetStream reset loops in log pipelines"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Feed log files through the filter as Fluent Bit's tail + wasm filter would.
    FluentBit(cmd::fluent_bit::Args),
    /// Replay archived logs through the Component Model build: alerts as NDJSON
    /// on stdout, a per-stream summary on stderr.
    Replay(cmd::replay::Args),
    /// Read NDJSON events from TCP/Unix sockets (Vector's socket sink), write
    /// them and the alerts as NDJSON to stdout (Vector's exec source).
    Serve(cmd::serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::FluentBit(args) => cmd::fluent_bit::run(args),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Serve(args) => cmd::serve::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
