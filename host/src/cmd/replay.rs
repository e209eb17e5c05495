//! `resetwatch replay FILE...`: archived nats-server logs through the
//! Component Model build (`dist/resetwatch-component.wasm`) on wasmtime.
//!
//! Inputs are read and merged by [`resetwatch_host::logs`]; every line goes
//! to the component (records to `process`, raw lines to `process-line`) at
//! its line time; detection happens only there. Alerts go to stdout as
//! NDJSON (the same object the Fluent Bit build adds under `resetwatch`);
//! stderr gets a progress bar (on a terminal, once the replay takes more
//! than a moment) and, at the end, a table per stream built from the
//! component's reset pairs and alerts. End of input is not the passing of
//! time: nothing is advanced at the end, so alerts still firing stay firing.
//! With `--alertmanager URL` alerts are also posted there
//! ([`resetwatch_host::alertmanager`]); what could not be delivered is
//! reported on stderr at the end.

use std::io::{ErrorKind, IsTerminal as _, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use resetwatch::clock::{rfc3339, Micros};
use resetwatch::{Config, Summary};
use resetwatch_host::alertmanager::{self, Notifier};
use resetwatch_host::component::{self, DetectorComponent, Status};
use resetwatch_host::logs::{Kind, Merged};
use resetwatch_host::plot::Timeline;

/// Exit status when `--fail-on-alert` is given and an alert fired (1 is
/// for errors, 2 for usage errors).
pub const ALERT_EXIT: u8 = 3;

/// How long a replay runs before the progress bar shows.
const PROGRESS_AFTER: Duration = Duration::from_millis(500);

/// How often (in lines) progress and reset pairs are collected.
const BATCH: u64 = 4096;

#[derive(clap::Args)]
pub struct Args {
    /// nats-server logs: plain or gzip, `-` for stdin; raw lines or NDJSON
    /// records. Several are merged by line time; each file's stem (`n1.log`
    /// -> `n1`) is its source unless a record carries source keys.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// resetwatch.json (the same file as for the Fluent Bit build).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run this component instead of the one the binary carries (e.g.
    /// `dist/resetwatch-component.wasm` after `cargo xtask dist`).
    #[arg(long, value_name = "FILE")]
    wasm: Option<PathBuf>,
    /// Also draw reset pairs per stream, with the thresholds and alert
    /// spans, as an SVG timeline.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Exit with status 3 when an alert fired.
    #[arg(long)]
    fail_on_alert: bool,
    /// Also post alerts to this Alertmanager (`http://host:9093`), in
    /// batches from a thread of their own, retried with backoff.
    /// Repeatable: give every peer of an HA cluster (each has its own queue).
    #[arg(long = "alertmanager", value_name = "URL")]
    alertmanager: Vec<String>,
    /// At the end, how long to keep trying to deliver alerts to Alertmanager.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    alertmanager_deadline: f64,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let config_json = match &args.config {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        None => "{}".to_string(),
    };
    let component = DetectorComponent::embedded_or(args.wasm.as_deref())?;
    let mut detector = match component.create(&config_json)? {
        Ok(d) => d,
        Err(e) => {
            let at = args.config.as_deref().map_or("configuration".to_string(), |p| p.display().to_string());
            bail!("{at}: {}", e.message())
        }
    };
    // The component accepted it, so the core's parser does too: the host
    // needs the line offset and message keys (line times) and thresholds.
    let cfg = Config::from_json(config_json.as_bytes()).unwrap_or_default();
    detector.record_pairs(true)?;
    let notifier = (!args.alertmanager.is_empty()).then(|| Notifier::start(&args.alertmanager, &cfg)).transpose()?;

    let mut logs = Merged::open(&args.files, &cfg)?;
    say_which_files_make_which_source(&logs);
    let progress = Progress::new(logs.total_bytes());
    let mut summary = Summary::default();
    let mut timeline = Timeline::new(&cfg);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut stdout_open = true;
    let (mut records, mut lines, mut alerts, mut fired) = (0u64, 0u64, 0u64, false);
    let mut span: Option<(Micros, Micros)> = None;
    let mut n = 0u64;
    while let Some(entry) = logs.next_entry()? {
        n += 1;
        let source = logs.source(entry.input);
        let time_ns = entry.time.saturating_mul(1000);
        let due = match entry.kind {
            Kind::Record => {
                records += 1;
                detector.process(source, time_ns, &entry.bytes)?.alerts
            }
            Kind::Line => {
                lines += 1;
                detector.process_line(source, time_ns, &entry.bytes)?
            }
        };
        span = Some(span.map_or((entry.time, entry.time), |(a, b)| (a.min(entry.time), b.max(entry.time))));
        if !due.is_empty() {
            // Pairs first: the alert's span starts at a pair.
            collect_pairs(&mut detector, &mut summary, &mut timeline)?;
        }
        for n in due {
            alerts += 1;
            fired |= n.status() == Status::Firing;
            // The per-stream table and the plot are about reset loops;
            // storage alerts (from /jsz records) go to stdout only.
            if let Some(a) = n.as_loop() {
                let core = component::core_alert(a, cfg.line_utc_offset);
                summary.add_alert(&core);
                timeline.add_alert(&core, entry.time);
            }
            if let Some(am) = &notifier {
                am.send(n.json());
            }
            if stdout_open {
                stdout_open = progress.suspend(|| write_line(&mut out, n.json().as_bytes()))?;
            }
        }
        if n.is_multiple_of(BATCH) {
            collect_pairs(&mut detector, &mut summary, &mut timeline)?;
            progress.update(logs.bytes_read(), n);
        }
    }
    collect_pairs(&mut detector, &mut summary, &mut timeline)?;
    let unknown = detector.unknown_layouts()?;
    progress.finish();
    let delivery = notifier.map(|n| n.finish(Duration::from_secs_f64(args.alertmanager_deadline.clamp(0.0, 3600.0))));

    let files = logs.inputs().len();
    print_summary(&summary, cfg.line_utc_offset, &format!(
        "{files} input{}, {records} record{} and {lines} raw line{}, {alerts} alert{}",
        plural(files as u64), plural(records), plural(lines), plural(alerts)
    ));
    for u in &unknown {
        eprintln!(
            "{}: {} NATS event line{} behind a prefix resetwatch does not know, read anyway (the record's time where the line's own cannot be read); the first: {}",
            u.source,
            u.lines,
            plural(u.lines),
            u.example
        );
    }
    if let Some(peers) = &delivery {
        eprintln!("{}", alertmanager::report(peers));
    }
    if let Some(path) = &args.plot {
        let (from, to) = span.unwrap_or((0, 0));
        let names: Vec<String> = logs
            .inputs()
            .iter()
            .flat_map(|i| &i.paths)
            .map(|p| p.file_name().map_or("stdin".into(), |n| n.to_string_lossy().into_owned()))
            .collect();
        let subtitle = format!(
            "{} · window {} s · warning at {}, critical at {} pairs · times {}",
            names.join(", "),
            cfg.window / 1_000_000,
            cfg.warning_pairs,
            cfg.critical_pairs,
            zone(cfg.line_utc_offset)
        );
        let svg = timeline.svg(from, to, "resetwatch replay: reset pairs in the window, per stream", &subtitle);
        std::fs::write(path, svg).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("plot: {}", path.display());
    }
    Ok(if args.fail_on_alert && fired { ExitCode::from(ALERT_EXIT) } else { ExitCode::SUCCESS })
}

/// Says on stderr which files make which source, when that is not just
/// one file named after its stem: the parts of a rotated log, or files
/// whose stems collide and that take their folder's name.
fn say_which_files_make_which_source(logs: &Merged) {
    for i in logs.inputs() {
        let plain = i.paths.len() == 1 && resetwatch_host::logs::source_for(&i.paths[0]) == i.source;
        if !plain {
            let files: Vec<String> = i.paths.iter().map(|p| p.display().to_string()).collect();
            eprintln!("source {}: {}", i.source, files.join(", "));
        }
    }
}

fn collect_pairs(
    detector: &mut component::Detector,
    summary: &mut Summary,
    timeline: &mut Timeline,
) -> Result<()> {
    for p in detector.take_pairs()? {
        let p = component::core_pair(&p);
        summary.add_pair(&p);
        timeline.add_pair(&p);
    }
    Ok(())
}

/// Writes one NDJSON line; false once stdout is closed (`| head`).
fn write_line(out: &mut impl Write, json: &[u8]) -> Result<bool> {
    let res = out.write_all(json).and_then(|_| out.write_all(b"\n")).and_then(|_| out.flush());
    match res {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn zone(offset: Micros) -> String {
    if offset == 0 {
        "UTC".into()
    } else {
        let s = rfc3339(0, offset);
        format!("UTC{}", &s[26..])
    }
}

/// The per-stream table on stderr.
fn print_summary(summary: &Summary, offset: Micros, totals: &str) {
    let rows = summary.rows();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "replayed {totals}");
    if rows.is_empty() {
        let _ = writeln!(err, "no reset pairs");
        return;
    }
    let time = |t: Micros| {
        let s = rfc3339(t, offset);
        format!("{}{}", &s[..19], &s[26..])
    };
    let header = ["SOURCE", "STREAM", "PAIRS", "FIRST SEEN", "LAST SEEN", "PEAK/WINDOW", "SEVERITY", "CAUSE"];
    let table: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.source.clone(),
                format!("{} > {}", r.account, r.stream),
                r.pairs.to_string(),
                time(r.first_seen),
                time(r.last_seen),
                r.peak_in_window.to_string(),
                match r.severity {
                    Some(s) if r.firing => format!("{} (firing)", s.as_str()),
                    Some(s) => format!("{} (resolved)", s.as_str()),
                    None => "-".to_string(),
                },
                r.last_cause.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let numeric = [false, false, true, false, false, true, false, false];
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else if numeric[i] {
                s.push_str(&format!("{}{}  ", " ".repeat(pad), cell));
            } else {
                s.push_str(&format!("{}{}  ", cell, " ".repeat(pad)));
            }
        }
        s
    };
    let _ = writeln!(err, "{}", line(&header.map(String::from)));
    for row in &table {
        let _ = writeln!(err, "{}", line(row));
    }
}

/// A progress bar on stderr: hidden until the replay has taken
/// [`PROGRESS_AFTER`], and never drawn when stderr is not a terminal.
struct Progress {
    bar: ProgressBar,
    started: Instant,
    shown: std::cell::Cell<bool>,
    enabled: bool,
}

impl Progress {
    fn new(total: Option<u64>) -> Self {
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::hidden()).with_style(
                ProgressStyle::with_template("{spinner} replay [{bar:30}] {bytes}/{total_bytes} {msg} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()).with_style(
                ProgressStyle::with_template("{spinner} replay {bytes} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        Progress { bar, started: Instant::now(), shown: false.into(), enabled: std::io::stderr().is_terminal() }
    }

    fn update(&self, bytes: u64, lines: u64) {
        if self.enabled && !self.shown.get() && self.started.elapsed() >= PROGRESS_AFTER {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown.set(true);
        }
        self.bar.set_position(bytes);
        self.bar.set_message(format!("{lines} lines"));
    }

    fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
