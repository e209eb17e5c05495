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

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use resetwatch::clock::Micros;
use resetwatch::{Config, Summary};
use resetwatch_host::alertmanager::{self, Notifier};
use resetwatch_host::component::{self, DetectorComponent, Status};
use resetwatch_host::logs::{self, Kind, Merged};
use resetwatch_host::plot::Timeline;
use resetwatch_host::text::{plural, zone};

use crate::cmd::config::ConfigFile;
use crate::cmd::stdout;

mod progress;
mod table;

use progress::Progress;
use table::print_summary;

/// Exit status when `--fail-on-alert` is given and an alert fired (1 is
/// for errors, 2 for usage errors).
pub const ALERT_EXIT: u8 = 3;

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

/// The command line, checked: the configuration read, the Alertmanager
/// URLs and the inputs refused if bad, before anything is loaded.
struct Settings {
    config: ConfigFile,
    /// The host's reading of the configuration: line offset and message
    /// keys (line times) and thresholds. The component is the judge of
    /// the document (`ConfigFile::create`), so a document the core cannot
    /// read is not refused here.
    cfg: Config,
    wasm: Option<PathBuf>,
    files: Vec<PathBuf>,
    plot: Option<PathBuf>,
    fail_on_alert: bool,
    alertmanager: Vec<String>,
    alertmanager_deadline: Duration,
}

impl Settings {
    /// Every check of the flags, before anything is loaded or written.
    fn check(args: Args) -> Result<Settings> {
        let config = ConfigFile::read(args.config.as_deref())?;
        let cfg = Config::from_json(config.json.as_bytes()).unwrap_or_default();
        if !args.alertmanager.is_empty() {
            alertmanager::peer_urls(&args.alertmanager)?;
        }
        logs::check_inputs(&args.files)?;
        Ok(Settings {
            config,
            cfg,
            wasm: args.wasm,
            files: args.files,
            plot: args.plot,
            fail_on_alert: args.fail_on_alert,
            alertmanager: args.alertmanager,
            alertmanager_deadline: Duration::from_secs_f64(args.alertmanager_deadline.clamp(0.0, 3600.0)),
        })
    }
}

/// What the replay saw.
#[derive(Default)]
struct Tally {
    records: u64,
    lines: u64,
    alerts: u64,
    /// An alert fired (for `--fail-on-alert`).
    fired: bool,
    /// The first and last line time (the plot's extent).
    span: Option<(Micros, Micros)>,
}

/// What the replay builds besides its output: the per-stream table and
/// the plot, both fed from the component's reset pairs and alerts.
struct Views {
    summary: Summary,
    timeline: Timeline,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let s = Settings::check(args)?;
    let component = DetectorComponent::embedded_or(s.wasm.as_deref())?;
    let mut detector = s.config.create(&component)?;
    detector.record_pairs(true)?;
    let notifier = (!s.alertmanager.is_empty()).then(|| Notifier::start(&s.alertmanager, &s.cfg)).transpose()?;

    let mut logs = Merged::open(&s.files, &s.cfg)?;
    say_which_files_make_which_source(&logs);
    let progress = Progress::new(logs.total_bytes());
    let mut views = Views { summary: Summary::default(), timeline: Timeline::new(&s.cfg) };
    let tally = replay_all(&mut detector, &mut logs, &s.cfg, notifier.as_ref(), &mut views, &progress)?;
    collect_pairs(&mut detector, &mut views)?;
    let unknown = detector.unknown_layouts()?;
    progress.finish();
    let delivery = notifier.map(|n| n.finish(s.alertmanager_deadline));

    let files = logs.inputs().len();
    print_summary(
        &views.summary,
        s.cfg.line_utc_offset,
        &format!(
            "{files} input{}, {} record{} and {} raw line{}, {} alert{}",
            plural(files as u64),
            tally.records,
            plural(tally.records),
            tally.lines,
            plural(tally.lines),
            tally.alerts,
            plural(tally.alerts)
        ),
    );
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
    if let Some(path) = &s.plot {
        write_plot(path, &views.timeline, &logs, &s.cfg, tally.span)?;
    }
    Ok(if s.fail_on_alert && tally.fired { ExitCode::from(ALERT_EXIT) } else { ExitCode::SUCCESS })
}

/// Every line of the merged inputs through the detector at its line time;
/// alerts out on stdout (and to Alertmanager) as they fall due.
fn replay_all(
    detector: &mut component::Detector,
    logs: &mut Merged,
    cfg: &Config,
    notifier: Option<&Notifier>,
    views: &mut Views,
    progress: &Progress,
) -> Result<Tally> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut stdout_open = true;
    let mut tally = Tally::default();
    let mut n = 0u64;
    while let Some(entry) = logs.next_entry()? {
        n += 1;
        let source = logs.source(entry.input);
        let time_ns = entry.time.saturating_mul(1000);
        let due = match entry.kind {
            Kind::Record => {
                tally.records += 1;
                detector.process(source, time_ns, &entry.bytes)?.alerts
            }
            Kind::Line => {
                tally.lines += 1;
                detector.process_line(source, time_ns, &entry.bytes)?
            }
        };
        tally.span = Some(tally.span.map_or((entry.time, entry.time), |(a, b)| (a.min(entry.time), b.max(entry.time))));
        if !due.is_empty() {
            // Pairs first: the alert's span starts at a pair.
            collect_pairs(detector, views)?;
        }
        for n in due {
            tally.alerts += 1;
            tally.fired |= n.status() == Status::Firing;
            // The per-stream table and the plot are about reset loops;
            // storage alerts (from /jsz records) go to stdout only.
            if let Some(a) = n.as_loop() {
                let core = component::core_alert(a, cfg.line_utc_offset);
                views.summary.add_alert(&core);
                views.timeline.add_alert(&core, entry.time);
            }
            if let Some(am) = notifier {
                am.send(n.json());
            }
            if stdout_open {
                stdout_open = progress.suspend(|| write_line(&mut out, n.json().as_bytes()))?;
            }
        }
        if n.is_multiple_of(BATCH) {
            collect_pairs(detector, views)?;
            progress.update(logs.bytes_read(), n);
        }
    }
    Ok(tally)
}

/// `--plot FILE.svg`: the timeline from the first line time to the last,
/// titled with the inputs and the thresholds.
fn write_plot(path: &Path, timeline: &Timeline, logs: &Merged, cfg: &Config, span: Option<(Micros, Micros)>) -> Result<()> {
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
    Ok(())
}

/// Says on stderr which files make which source, when that is not just
/// one file named after its stem: the parts of a rotated log, or files
/// whose stems collide and that take their folder's name.
fn say_which_files_make_which_source(logs: &Merged) {
    for i in logs.inputs() {
        let plain = i.paths.len() == 1 && logs::source_for(&i.paths[0]) == i.source;
        if !plain {
            let files: Vec<String> = i.paths.iter().map(|p| p.display().to_string()).collect();
            eprintln!("source {}: {}", i.source, files.join(", "));
        }
    }
}

/// The reset pairs the component recorded since last asked, into the
/// table and the plot.
fn collect_pairs(detector: &mut component::Detector, views: &mut Views) -> Result<()> {
    for p in detector.take_pairs()? {
        let p = component::core_pair(&p);
        views.summary.add_pair(&p);
        views.timeline.add_pair(&p);
    }
    Ok(())
}

/// Writes one NDJSON line; false once stdout is closed (`| head`).
fn write_line(out: &mut impl Write, json: &[u8]) -> Result<bool> {
    stdout::written(out.write_all(json).and_then(|_| out.write_all(b"\n")).and_then(|_| out.flush()))
}
