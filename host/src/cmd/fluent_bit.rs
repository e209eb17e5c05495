//! `resetwatch fluent-bit`: log files through the filter as Fluent Bit's
//! `tail` input plus `wasm` filter would run them, alerts on stdout.
//!
//! Only records the filter changed (i.e. that carry an alert) are printed,
//! one JSON object per line; records passed byte-identical are counted.
//! Dropped records are reported on stderr and make the exit status 1, since
//! in Fluent Bit every guest failure loses the record.

use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use resetwatch_host::fluent_bit::{FluentBitHost, FluentBitOptions, Lifecycle, Outcome};
use resetwatch_host::{tail, wasm_check};

const DEFAULT_WASM: &str = "dist/resetwatch.wasm";

#[derive(clap::Args)]
pub struct Args {
    /// The filter module (Fluent Bit's `Wasm_Path`).
    #[arg(long, default_value = DEFAULT_WASM)]
    wasm: PathBuf,
    /// `Function_Name`.
    #[arg(long, default_value = resetwatch_host::fluent_bit::DEFAULT_FUNCTION_NAME)]
    function_name: String,
    /// `Wasm_Heap_Size` in bytes (used when the module exports no allocator).
    #[arg(long, default_value_t = resetwatch_host::fluent_bit::DEFAULT_WASM_HEAP_SIZE)]
    heap_size: u32,
    /// `Accessible_Paths` entry, repeatable, in order (default: `.`).
    #[arg(long = "accessible-path", value_name = "DIR")]
    accessible_paths: Vec<PathBuf>,
    /// Emulate Fluent Bit 2.0-4.0.x: a fresh instance every N records.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    per_chunk: Option<u64>,
    /// NATS server log files, merged by their timestamps.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let wasm = match std::fs::read(&args.wasm) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound && args.wasm == Path::new(DEFAULT_WASM) => {
            bail!("{DEFAULT_WASM} not found; build it with `cargo xtask dist`")
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", args.wasm.display())),
    };
    let report = wasm_check::check_fluent_bit_module_for(&wasm, &args.function_name)
        .with_context(|| format!("cannot load {}", args.wasm.display()))?;
    for warning in report.fluent_bit_warnings() {
        eprintln!("note: {}: {warning}", args.wasm.display());
    }

    let mut options = FluentBitOptions {
        function_name: args.function_name.clone(),
        wasm_heap_size: args.heap_size,
        lifecycle: if args.per_chunk.is_some() {
            Lifecycle::PerChunk
        } else {
            Lifecycle::PerProcess
        },
        inherit_stderr: true,
        ..FluentBitOptions::default()
    };
    if !args.accessible_paths.is_empty() {
        options.accessible_paths = args.accessible_paths.clone();
    }
    let mut host = FluentBitHost::new(&wasm, options)
        .with_context(|| format!("cannot load {}", args.wasm.display()))?;

    let records = tail::read_files(&args.files)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let (mut passed, mut changed, mut dropped) = (0u64, 0u64, 0u64);
    for (i, rec) in records.iter().enumerate() {
        if let Some(n) = args.per_chunk {
            if (i as u64).is_multiple_of(n) {
                host.new_chunk()?;
            }
        }
        let result = host.call(
            rec.tag.as_bytes(),
            rec.time.sec,
            rec.time.nsec,
            rec.record.as_bytes(),
        )?;
        let at = format!("{}:{}", rec.path.display(), rec.line_no);
        for warning in &result.warnings {
            eprintln!("warning: {at}: {warning}");
        }
        match result.outcome {
            Outcome::Output(bytes) if bytes == rec.record.as_bytes() => passed += 1,
            Outcome::Output(bytes) => {
                changed += 1;
                write_line(&mut out, &bytes)?;
            }
            Outcome::Dropped(reason) => {
                dropped += 1;
                eprintln!("error: {at}: record dropped: {reason}");
            }
        }
    }
    match out.flush() {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => {}
        other => other.context("cannot write to stdout")?,
    }

    let guest_stdout = host.take_guest_stdout();
    if !guest_stdout.is_empty() {
        eprintln!(
            "guest stdout ({} bytes):\n{}",
            guest_stdout.len(),
            String::from_utf8_lossy(&guest_stdout)
        );
    }
    eprintln!(
        "records in: {}, passed byte-identical: {passed}, changed (alerts): {changed}, dropped: {dropped}{}",
        records.len(),
        if args.per_chunk.is_some() { format!(", instances: {}", host.instantiations()) } else { String::new() }
    );
    Ok(if dropped > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One record per line; re-serialized compactly if the guest's JSON spans lines.
fn write_line(out: &mut impl Write, json: &[u8]) -> Result<()> {
    let res = if json.contains(&b'\n') {
        match serde_json::from_slice::<serde_json::Value>(json) {
            Ok(v) => writeln!(out, "{v}"),
            Err(_) => out.write_all(json).and_then(|_| out.write_all(b"\n")),
        }
    } else {
        out.write_all(json).and_then(|_| out.write_all(b"\n"))
    };
    match res {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}
