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
use resetwatch_host::fluent_bit::{check as wasm_check, tail, FluentBitHost, FluentBitOptions, Lifecycle, Outcome};
use resetwatch_host::loading;

use crate::cmd::stdout;

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
    /// Instead of the changed records as JSON, a summary for a person: the
    /// streams that loop, on which server, how badly, and what to do.
    #[arg(long)]
    summary: bool,
    /// NATS server log files, merged by their timestamps.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// The command line, checked: the module read and statically checked,
/// the filter's options, and log files that exist.
struct Settings {
    wasm_path: PathBuf,
    wasm: Vec<u8>,
    report: wasm_check::Report,
    options: FluentBitOptions,
    per_chunk: Option<u64>,
    summary: bool,
    files: Vec<PathBuf>,
}

impl Settings {
    /// Every check of the flags, before anything is loaded or written.
    fn check(args: Args) -> Result<Settings> {
        let wasm = match std::fs::read(&args.wasm) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound && args.wasm == Path::new(DEFAULT_WASM) => {
                bail!("{DEFAULT_WASM} not found; build it with `cargo xtask dist`")
            }
            Err(e) => return Err(e).with_context(|| loading::cannot_read(&args.wasm)),
        };
        let report = wasm_check::check_fluent_bit_module_for(&wasm, &args.function_name)
            .with_context(|| loading::cannot_load(&args.wasm))?;
        // The log files must exist; they are read once the filter is loaded.
        for f in &args.files {
            std::fs::metadata(f).with_context(|| loading::cannot_read(f))?;
        }
        let mut options = FluentBitOptions {
            function_name: args.function_name.clone(),
            wasm_heap_size: args.heap_size,
            lifecycle: if args.per_chunk.is_some() { Lifecycle::PerChunk } else { Lifecycle::PerProcess },
            inherit_stderr: true,
            ..FluentBitOptions::default()
        };
        if !args.accessible_paths.is_empty() {
            options.accessible_paths = args.accessible_paths.clone();
        }
        Ok(Settings {
            wasm_path: args.wasm,
            wasm,
            report,
            options,
            per_chunk: args.per_chunk,
            summary: args.summary,
            files: args.files,
        })
    }
}

/// What became of the records.
#[derive(Default)]
struct Tally {
    passed: u64,
    changed: u64,
    dropped: u64,
    /// With `--summary`: the alerts, for the summary at the end.
    alerts: Vec<serde_json::Value>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let s = Settings::check(args)?;
    for warning in s.report.fluent_bit_warnings() {
        eprintln!("note: {}: {warning}", s.wasm_path.display());
    }
    let mut host = FluentBitHost::new(&s.wasm, s.options.clone()).with_context(|| loading::cannot_load(&s.wasm_path))?;

    let records = tail::read_files(&s.files)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let tally = filter_records(&s, &mut host, &records, &mut out)?;
    if s.summary {
        out.write_all(summary(&tally.alerts).as_bytes()).context("cannot write to stdout")?;
    }
    stdout::written(out.flush())?;

    let guest_stdout = host.take_guest_stdout();
    if !guest_stdout.is_empty() {
        eprintln!("guest stdout ({} bytes):\n{}", guest_stdout.len(), String::from_utf8_lossy(&guest_stdout));
    }
    let Tally { passed, changed, dropped, .. } = tally;
    eprintln!(
        "records in: {}, passed byte-identical: {passed}, changed (alerts): {changed}, dropped: {dropped}{}",
        records.len(),
        if s.per_chunk.is_some() { format!(", instances: {}", host.instantiations()) } else { String::new() }
    );
    Ok(if dropped > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Every record through the filter, in order, as Fluent Bit would (a new
/// chunk every `--per-chunk` records): changed ones out (or kept for the
/// summary), dropped ones reported on stderr.
fn filter_records(s: &Settings, host: &mut FluentBitHost, records: &[tail::TailRecord], out: &mut impl Write) -> Result<Tally> {
    let mut tally = Tally::default();
    for (i, rec) in records.iter().enumerate() {
        if let Some(n) = s.per_chunk {
            if (i as u64).is_multiple_of(n) {
                host.new_chunk()?;
            }
        }
        let result = host.call(rec.tag.as_bytes(), rec.time.sec, rec.time.nsec, rec.record.as_bytes())?;
        let at = format!("{}:{}", rec.path.display(), rec.line_no);
        for warning in &result.warnings {
            eprintln!("warning: {at}: {warning}");
        }
        match result.outcome {
            Outcome::Output(bytes) if bytes == rec.record.as_bytes() => tally.passed += 1,
            Outcome::Output(bytes) => {
                tally.changed += 1;
                if s.summary {
                    tally.alerts.extend(
                        serde_json::from_slice::<serde_json::Value>(&bytes)
                            .ok()
                            .and_then(|mut r| r.get_mut("resetwatch").map(std::mem::take)),
                    );
                } else {
                    write_line(out, &bytes)?;
                }
            }
            Outcome::Dropped(reason) => {
                tally.dropped += 1;
                eprintln!("error: {at}: record dropped: {reason}");
            }
        }
    }
    Ok(tally)
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
    stdout::written(res).map(|_| ())
}

/// `--summary`: one paragraph per looping stream, from its latest alert
/// (they carry everything: severity, pairs, times, the leak, the runbook).
fn summary(alerts: &[serde_json::Value]) -> String {
    use std::collections::BTreeMap;
    let text = |a: &serde_json::Value, k: &str| a[k].as_str().unwrap_or_default().to_string();
    let mut latest: BTreeMap<(String, String, String), &serde_json::Value> = BTreeMap::new();
    for a in alerts.iter().filter(|a| a.get("stream").is_some()) {
        latest.insert((text(a, "account"), text(a, "stream"), text(a, "source")), a);
    }
    if latest.is_empty() {
        return "No stream is in a reset loop.\n".to_string();
    }
    let mut s = format!(
        "{} stream{} in a reset loop (nats-server issue 6455):\n",
        latest.len(),
        if latest.len() == 1 { " is" } else { "s are" }
    );
    for a in latest.values() {
        let server = a["server_name"].as_str().map_or_else(|| text(a, "source"), String::from);
        let version = a["server_version"].as_str().map(|v| format!(", nats-server {v}")).unwrap_or_default();
        let status = if a["status"] == "resolved" { "resolved" } else { "still firing" };
        s.push_str(&format!(
            "\n  {} > {} on {server}{version}: {}, {status}\n",
            text(a, "account"),
            text(a, "stream"),
            text(a, "severity").to_uppercase()
        ));
        s.push_str(&format!(
            "    {} reset pairs by its last alert ({} to {}), {} within {} s; cause: {}\n",
            a["pairs_total"],
            text(a, "first_seen"),
            text(a, "last_seen"),
            a["pairs_in_window"],
            a["window_seconds"],
            text(a, "last_cause")
        ));
        if a["known_leak"] == true {
            s.push_str(&format!(
                "    This version leaks the stream's reserved storage on every reset ({} so far).\n",
                a["leaking_resets_total"]
            ));
        }
        s.push_str("    What to do:\n");
        for (i, step) in a["runbook"].as_array().into_iter().flatten().enumerate() {
            s.push_str(&format!("      {}. {}\n", i + 1, step.as_str().unwrap_or_default()));
        }
    }
    s
}
