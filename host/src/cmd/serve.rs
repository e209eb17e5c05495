//! `resetwatch serve`: resetwatch as a sidecar for Vector (or anything
//! that writes newline-delimited JSON to a socket and reads it from a
//! child's stdout).
//!
//! Clients send events, one JSON object per line, over TCP or Unix
//! sockets (Vector's `socket` sink, `encoding.codec = "json"`); every event
//! goes through the Component Model build (detection happens only there)
//! and comes back out on stdout, unchanged and exactly once, followed by
//! any alert it made due as an event of its own (Vector's `exec` source in
//! `streaming` mode reads that). Once a second the host clock is handed to
//! the detector so that an alert whose source went quiet resolves on time.
//!
//! Threads: one per listener (accept), one per client (framing), this one
//! (the detector, which is single-threaded), one writing stdout, one
//! waiting for signals. Two bounded queues join them: client lines in,
//! output lines out. A slow stdout reader fills the output queue, then
//! the input queue, then the clients' sockets: everything slows down and
//! nothing is dropped. Only at shutdown, when stdout has not taken what is
//! queued within the grace period, is output dropped, and then counted.
//!
//! Lines that are not JSON objects are counted, reported on stderr and
//! carried on as `{"message": <line>, "resetwatch_error": <why>}`; a line
//! cut off by a client that went away is dropped and reported; a line
//! longer than `--max-line-bytes` is skipped and reported.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _, Result};
use resetwatch::clock::rfc3339;
use resetwatch::Config;
use resetwatch_host::alertmanager::{self, Notifier};
use resetwatch_host::component::{Detector, DetectorComponent, Notice, Seen};
use resetwatch_host::metrics::{Exporter, Snapshot};
use resetwatch_host::vector::listen::{self, Exposes, Input, Listener, Readers};
use resetwatch_host::vector::{self, SourceKeys, DEFAULT_FALLBACK, DEFAULT_SOURCE_KEYS};

use crate::cmd::config::ConfigFile;

mod counts;
mod writer;

use counts::{more, Counts, QUOTED};
use writer::Writer;

/// Lines waiting for the detector, all clients together.
const INPUT_QUEUE: usize = 1024;
/// Lines waiting for stdout.
const OUTPUT_QUEUE: usize = 1024;
/// How often counts of trouble are repeated on stderr, when they changed.
const REPORT_EVERY: Duration = Duration::from_secs(60);

#[derive(clap::Args)]
pub struct Args {
    /// Listen on this TCP address (`127.0.0.1:9000`; port 0 picks one and
    /// says which on stderr). Repeatable.
    #[arg(long = "tcp", value_name = "ADDR")]
    tcp: Vec<String>,
    /// Listen on a Unix socket at this path (a stale socket file is
    /// replaced). Repeatable.
    #[arg(long = "unix", value_name = "PATH")]
    unix: Vec<PathBuf>,
    /// The file mode of the --unix sockets, in octal: who may connect
    /// (connecting needs write permission). Default: the owner only.
    #[arg(long, value_name = "OCTAL", default_value = "600")]
    mode: String,
    /// Let --tcp and --metrics listen on addresses that are not loopback
    /// (0.0.0.0, a pod IP): whoever can reach them can inject log lines or
    /// read the metrics (docs/security.md).
    #[arg(long)]
    allow_remote: bool,
    /// resetwatch.json (the same file as for the Fluent Bit build).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Keep the detector's state in this file: restored at start, saved
    /// (atomically) every --save-every seconds when it changed and on exit.
    /// Default: `<state_dir>/resetwatch.state` when the configuration sets
    /// `state_dir`, else in memory only.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Run this component instead of the one the binary carries.
    #[arg(long, value_name = "FILE")]
    wasm: Option<PathBuf>,
    /// Event keys naming the source (the server) when the event carries
    /// none of the core's (docs/detection.md, "Which server a line came
    /// from": Vector's Kubernetes keys, `container_name`, the line's syslog
    /// host, `file`, `host`): a dotted path, or several joined with `+`
    /// whose values are joined with `/`. The first set whose keys are all
    /// present wins. Repeatable; default: none (the tag is --default-source).
    #[arg(long = "source-key", value_name = "KEY[+KEY...]")]
    source_keys: Vec<String>,
    /// The source of events that carry none of the source keys.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_FALLBACK)]
    default_source: String,
    /// Longest line accepted; longer ones are skipped and reported.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_line_bytes: usize,
    /// On SIGTERM: how long connected clients may go on sending, and then
    /// how long stdout has to take what is queued, before the server stops.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    shutdown_grace: f64,
    /// How often a changed state is saved (with --state).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    save_every: f64,
    /// Also post alerts to this Alertmanager (`http://host:9093`), in
    /// batches from a thread of their own, retried with backoff; a slow or
    /// absent Alertmanager never holds up the events. Repeatable: give
    /// every peer of an HA cluster (each has its own queue).
    #[arg(long = "alertmanager", value_name = "URL")]
    alertmanager: Vec<String>,
    /// Serve Prometheus metrics on http://ADDR/metrics (`127.0.0.1:9464`;
    /// port 0 picks one and says which on stderr): reset pairs, leaking
    /// resets and firing alerts per stream, excess reserved storage per
    /// server (docs/metrics.md). Loopback only unless --allow-remote.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<String>,
    /// At the stop, how long to keep trying to deliver alerts to Alertmanager.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    alertmanager_deadline: f64,
}

/// The command line, checked: every address, mode, duration, URL and
/// the configuration, before anything is opened, started or written.
struct Settings {
    /// `--tcp` as given, with the addresses it was checked to resolve to
    /// (bound exactly: a second lookup could answer otherwise).
    tcp: Vec<(String, Vec<SocketAddr>)>,
    unix: Vec<PathBuf>,
    mode: u32,
    metrics: Option<(String, Vec<SocketAddr>)>,
    grace: Duration,
    save_every: Duration,
    config: ConfigFile,
    cfg: Config,
    alertmanager: Vec<String>,
    alertmanager_deadline: Duration,
    /// `--state`, or the Fluent Bit build's file in `state_dir`.
    state_file: Option<PathBuf>,
    wasm: Option<PathBuf>,
    keys: SourceKeys,
    max_line_bytes: usize,
}

impl Settings {
    /// Every check of the flags, in the order they were always made.
    fn check(args: Args) -> Result<Settings> {
        if args.tcp.is_empty() && args.unix.is_empty() {
            bail!("nothing to listen on: give --tcp ADDR and/or --unix PATH");
        }
        // Who may connect (docs/security.md).
        let tcp = args
            .tcp
            .iter()
            .map(|a| Ok((a.clone(), listen::checked_addr("--tcp", a, Exposes::Events, args.allow_remote)?)))
            .collect::<Result<_>>()?;
        let mode = listen::socket_mode(&args.mode)?;
        let metrics = args
            .metrics
            .as_deref()
            .map(|a| {
                Ok::<_, anyhow::Error>((
                    a.to_string(),
                    listen::checked_addr("--metrics", a, Exposes::Metrics, args.allow_remote)?,
                ))
            })
            .transpose()?;
        let grace = seconds("--shutdown-grace", args.shutdown_grace)?;
        let save_every = seconds("--save-every", args.save_every)?;
        let config = ConfigFile::read(args.config.as_deref())?;
        let cfg = config.parse()?;
        let alertmanager_deadline = seconds("--alertmanager-deadline", args.alertmanager_deadline)?;
        if !args.alertmanager.is_empty() {
            alertmanager::peer_urls(&args.alertmanager)?;
        }
        // The Fluent Bit build's file in `state_dir`: one rule for both.
        let state_file = args.state.clone().or_else(|| resetwatch_wasm::state_file::path(&cfg));
        let keys = if args.source_keys.is_empty() {
            SourceKeys::new(DEFAULT_SOURCE_KEYS, &args.default_source)
        } else {
            SourceKeys::new(&args.source_keys, &args.default_source)
        };
        Ok(Settings {
            tcp,
            unix: args.unix,
            mode,
            metrics,
            grace,
            save_every,
            config,
            cfg,
            alertmanager: args.alertmanager,
            alertmanager_deadline,
            state_file,
            wasm: args.wasm,
            keys,
            max_line_bytes: args.max_line_bytes,
        })
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let s = Settings::check(args)?;
    let notifier = (!s.alertmanager.is_empty()).then(|| Notifier::start(&s.alertmanager, &s.cfg)).transpose()?;
    let component = DetectorComponent::embedded_or(s.wasm.as_deref())?;
    let detector = start_detector(&component, &s.config, s.state_file.as_deref())?;
    let (listeners, exporter) = bind(&s)?;
    let socket_files: Vec<PathBuf> = listeners.iter().filter_map(Listener::socket_file).collect();

    let stopping = Arc::new(AtomicBool::new(false));
    let (out_tx, out_rx) = mpsc::sync_channel::<Vec<u8>>(OUTPUT_QUEUE);
    let writer = Writer::spawn(out_rx, stopping.clone())?;
    watch_signals(stopping.clone())?;
    let (in_rx, closed, dropped_in) = start_readers(listeners, s.max_line_bytes, &stopping)?;
    if let Some(e) = &exporter {
        eprintln!("resetwatch serve: metrics on http://{}/metrics", e.addr());
    }

    let mut server = Server {
        detector,
        keys: s.keys.clone(),
        out: out_tx,
        stopping,
        closed,
        dropped_in,
        stop_by: None,
        grace: s.grace,
        state_file: s.state_file.clone(),
        dirty: false,
        save_error: None,
        clients: Default::default(),
        counts: Counts::default(),
        reported: Counts::default(),
        now_ns: 0,
        notifier,
        exporter,
        metrics_stale: true,
    };
    let result = server.serve(&in_rx, s.save_every);
    let saved = server.save_state();
    // Let stdout take what is queued, within the grace period.
    let Server { out, counts, notifier, .. } = server;
    drop(out);
    let written = writer.finish(s.grace);
    let delivery = notifier.map(|n| n.finish(s.alertmanager_deadline));
    for f in &socket_files {
        let _ = std::fs::remove_file(f);
    }
    result?;
    eprintln!("{}", stop_report(&counts, written, saved, delivery.as_deref()));
    Ok(ExitCode::SUCCESS)
}

/// Binds every socket before saying anything, so that a bad address fails
/// at once: the listeners (`--tcp`, `--unix`) and the metrics endpoint.
fn bind(s: &Settings) -> Result<(Vec<Listener>, Option<Exporter>)> {
    let mut listeners = Vec::new();
    for (a, addrs) in &s.tcp {
        listeners.push(Listener::tcp(a, addrs)?);
    }
    for p in &s.unix {
        listeners.push(Listener::unix(p, s.mode)?);
    }
    let exporter = s.metrics.as_ref().map(|(a, addrs)| Exporter::start(a, addrs)).transpose()?;
    Ok((listeners, exporter))
}

/// One accepting thread per listener, each starting a reader per client;
/// all of them queue into the one bounded input queue returned. Also the
/// flag that the stop takes no more lines, and the count of lines read
/// after it (see [`Readers`]).
fn start_readers(
    listeners: Vec<Listener>,
    max_line: usize,
    stopping: &Arc<AtomicBool>,
) -> Result<(Receiver<Input>, Arc<AtomicBool>, Arc<AtomicU64>)> {
    let (in_tx, in_rx) = mpsc::sync_channel::<Input>(INPUT_QUEUE);
    let closed = Arc::new(AtomicBool::new(false));
    let dropped_in = Arc::new(AtomicU64::new(0));
    let readers = Readers {
        queue: in_tx,
        max_line,
        next_client: Arc::new(AtomicU64::new(0)),
        stopping: stopping.clone(),
        closed: closed.clone(),
        dropped: dropped_in.clone(),
    };
    for l in listeners {
        eprintln!("resetwatch serve: listening on {}", l.describe());
        l.spawn(readers.clone())?;
    }
    Ok((in_rx, closed, dropped_in))
}

/// The last line on stderr: the counts, what stdout did not take, the
/// state, and Alertmanager's deliveries.
fn stop_report(
    counts: &Counts,
    written: u64,
    saved: Option<Result<PathBuf, String>>,
    delivery: Option<&[alertmanager::PeerDelivery]>,
) -> String {
    let mut end = format!("resetwatch serve: stopped: {}", counts.summary());
    let unwritten = counts.emitted.saturating_sub(written);
    if unwritten > 0 {
        end.push_str(&format!("; {unwritten} output lines not written (stdout did not take them)"));
    }
    match saved {
        Some(Ok(p)) => end.push_str(&format!("; state saved to {}", p.display())),
        Some(Err(e)) => end.push_str(&format!("; state NOT saved: {e}")),
        None => {}
    }
    if let Some(peers) = delivery {
        end.push_str(&format!("; {}", alertmanager::report(peers)));
    }
    end
}

fn seconds(flag: &str, s: f64) -> Result<Duration> {
    if !(s.is_finite() && (0.0..1e9).contains(&s)) {
        bail!("{flag}: must be a number of seconds, not {s}");
    }
    Ok(Duration::from_secs_f64(s))
}

/// A detector from the state file when there is a usable one, else a new
/// one. A file that cannot be used is reported and moved aside (to
/// `<file>.unusable`), never fatal: detection starts afresh.
fn start_detector(component: &DetectorComponent, config: &ConfigFile, state: Option<&Path>) -> Result<Detector> {
    let fresh = || config.create(component);
    let Some(path) = state else { return fresh() };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("resetwatch serve: no state at {} yet: starting empty", path.display());
            return fresh();
        }
        Err(e) => bail!("cannot read the state {}: {e}", path.display()),
    };
    match component.restore(&config.json, &bytes)? {
        Ok(d) => {
            eprintln!("resetwatch serve: state restored from {} ({} bytes)", path.display(), bytes.len());
            Ok(d)
        }
        Err(e) => {
            let aside = path.with_extension("unusable");
            let moved = std::fs::rename(path, &aside).is_ok();
            eprintln!(
                "resetwatch serve: {}: {}; starting empty{}",
                path.display(),
                e.message(),
                if moved { format!(" (the file is kept as {})", aside.display()) } else { String::new() }
            );
            fresh()
        }
    }
}

/// SIGTERM (Vector's exec source sends it when Vector stops) or SIGINT:
/// stop cleanly. A second one changes nothing; the grace period bounds the
/// stop anyway.
fn watch_signals(stopping: Arc<AtomicBool>) -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT]).context("cannot watch for signals")?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        for sig in signals.forever() {
            let name = if sig == SIGTERM { "SIGTERM" } else { "SIGINT" };
            if !stopping.swap(true, Ordering::SeqCst) {
                eprintln!("resetwatch serve: {name}: stopping");
            }
        }
    })?;
    Ok(())
}

struct Server {
    detector: Detector,
    keys: SourceKeys,
    out: SyncSender<Vec<u8>>,
    stopping: Arc<AtomicBool>,
    /// Set once the stop takes no more lines; `dropped_in` counts the lines
    /// readers read after that (see [`Readers`]).
    closed: Arc<AtomicBool>,
    dropped_in: Arc<AtomicU64>,
    /// Set when the stop began: the moment by which it must be over.
    stop_by: Option<Instant>,
    /// How long a stop may take (--shutdown-grace).
    grace: Duration,
    state_file: Option<PathBuf>,
    /// The state changed since it was last saved.
    dirty: bool,
    /// The last periodic save's failure, if it failed.
    save_error: Option<String>,
    /// Connected clients: number -> who.
    clients: std::collections::BTreeMap<u64, String>,
    counts: Counts,
    reported: Counts,
    /// The host clock handed to the detector (ns), never going back.
    now_ns: i64,
    /// `--alertmanager`: alerts are also handed to it (it never blocks).
    notifier: Option<Notifier>,
    /// `--metrics`: refreshed from the detector once a second when stale.
    exporter: Option<Exporter>,
    /// Something the metrics show may have changed since the last refresh.
    metrics_stale: bool,
}

impl Server {
    /// Runs until stopped: by a signal, or stdout closing.
    fn serve(&mut self, input: &Receiver<Input>, save_every: Duration) -> Result<()> {
        let second = Duration::from_secs(1);
        let mut next_tick = Instant::now() + second;
        let mut next_save = Instant::now() + save_every;
        let mut next_report = Instant::now() + REPORT_EVERY;
        loop {
            if let Some(by) = self.stop_deadline() {
                // Stop once every client is gone, or the grace period is over.
                if self.clients.is_empty() || Instant::now() >= by {
                    break;
                }
            }
            let wait = next_tick.saturating_duration_since(Instant::now());
            let wait = if self.stop_by.is_some() { wait.min(Duration::from_millis(50)) } else { wait };
            match input.recv_timeout(wait) {
                Ok(msg) => self.take(msg)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let now = Instant::now();
            if now >= next_tick {
                self.tick()?;
                next_tick += second;
                if next_tick <= now {
                    next_tick = now + second; // fell behind (a slow stdout): no burst of ticks
                }
            }
            if now >= next_save {
                next_save = now + save_every;
                if self.dirty {
                    match self.save_state() {
                        // Said once per kind of failure, not every few seconds.
                        Some(Err(e)) if self.save_error.as_ref() != Some(&e) => {
                            eprintln!("resetwatch serve: cannot save the state (detection goes on in memory): {e}");
                            self.save_error = Some(e);
                        }
                        Some(Ok(_)) => self.save_error = None,
                        _ => {}
                    }
                }
            }
            if now >= next_report {
                next_report = now + REPORT_EVERY;
                self.report_counts();
            }
        }
        // What is queued is still passed on; readers take no more. A reader
        // may be in the middle of queueing one last line: it gets a moment.
        self.closed.store(true, Ordering::SeqCst);
        for _ in 0..2 {
            while let Ok(msg) = input.try_recv() {
                self.take(msg)?;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.counts.input_dropped = self.dropped_in.load(Ordering::SeqCst);
        for (client, peer) in std::mem::take(&mut self.clients) {
            eprintln!("resetwatch serve: client {client} ({peer}) still connected at the stop");
        }
        Ok(())
    }

    /// When stopping: the moment by which the stop must be over.
    fn stop_deadline(&mut self) -> Option<Instant> {
        if self.stop_by.is_none() && self.stopping.load(Ordering::SeqCst) {
            self.stop_by = Some(Instant::now() + self.grace);
        }
        self.stop_by
    }

    /// The host clock now, in ns, never earlier than what was handed before.
    fn clock(&mut self) -> i64 {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64);
        self.now_ns = self.now_ns.max(wall);
        self.now_ns
    }

    fn take(&mut self, msg: Input) -> Result<()> {
        match msg {
            Input::Opened { client, peer } => {
                eprintln!("resetwatch serve: client {client} connected ({peer})");
                self.clients.insert(client, peer);
            }
            Input::Line { client, bytes } => self.line(client, &bytes)?,
            Input::TooLong { client, len } => {
                self.counts.too_long += 1;
                if self.counts.too_long <= QUOTED {
                    eprintln!(
                        "resetwatch serve: client {client}: a line of {len} bytes is longer than --max-line-bytes: dropped{}",
                        more(self.counts.too_long)
                    );
                }
            }
            Input::Closed { client, partial, error } => {
                let peer = self.clients.remove(&client).unwrap_or_default();
                if partial > 0 {
                    self.counts.partial += 1;
                    if self.counts.partial <= QUOTED {
                        eprintln!(
                            "resetwatch serve: client {client} ({peer}) went away in the middle of a line: \
                             its last {partial} bytes had no newline and are dropped{}",
                            more(self.counts.partial)
                        );
                    }
                }
                match error {
                    Some(e) => eprintln!("resetwatch serve: client {client} ({peer}) disconnected: {e}"),
                    None => eprintln!("resetwatch serve: client {client} ({peer}) disconnected"),
                }
            }
        }
        Ok(())
    }

    /// One line from a client: an event goes through the detector and out
    /// unchanged, then the alerts it made due; anything else is carried on
    /// as a `resetwatch_error` event.
    fn line(&mut self, client: u64, line: &[u8]) -> Result<()> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(()); // an empty line holds no event
        }
        if let Some(why) = vector::not_an_event(line) {
            self.counts.malformed += 1;
            if self.counts.malformed <= QUOTED {
                let text = String::from_utf8_lossy(line);
                let quote: String = text.chars().take(120).collect();
                let cut = if quote.len() < text.len() { "..." } else { "" };
                eprintln!(
                    "resetwatch serve: client {client}: malformed line ({why}): {quote}{cut}{}",
                    more(self.counts.malformed)
                );
            }
            return self.emit(vector::malformed_event(line, &why));
        }
        self.counts.records += 1;
        let source = self.keys.source(line);
        let now = self.clock();
        let emitted = self.detector.process(&source, now, line)?;
        if emitted.seen == Seen::Event {
            self.dirty = true;
        }
        self.metrics_stale |= matches!(emitted.seen, Seen::Event | Seen::Jsz);
        self.emit(line.to_vec())?;
        for a in &emitted.alerts {
            self.alert(a)?;
        }
        Ok(())
    }

    /// Time passes: alerts of sources gone quiet resolve; the metrics are
    /// refreshed when they may have changed.
    fn tick(&mut self) -> Result<()> {
        let now = self.clock();
        for a in &self.detector.advance(now)? {
            self.alert(a)?;
        }
        if let Some(e) = self.exporter.as_ref().filter(|_| self.metrics_stale) {
            e.update(Snapshot { streams: self.detector.streams()?, servers: self.detector.servers()? });
            self.metrics_stale = false;
        }
        Ok(())
    }

    /// Every alert passes here, once, in the order it fell due: out on
    /// stdout as an event of its own, and to Alertmanager when asked.
    fn alert(&mut self, a: &Notice) -> Result<()> {
        self.dirty = true;
        self.metrics_stale = true;
        self.counts.alerts += 1;
        if let Some(am) = &self.notifier {
            am.send(a.json());
        }
        let ts = rfc3339(self.now_ns.div_euclid(1000), 0);
        self.emit(vector::alert_event(a.json(), &ts))
    }

    /// Queues one output line. While stdout is slow this waits (and with it
    /// every client); only once the stop's grace period is over does it
    /// give up on a line, and count it.
    fn emit(&mut self, mut line: Vec<u8>) -> Result<()> {
        line.push(b'\n');
        let mut pause = Duration::from_millis(1);
        loop {
            match self.out.try_send(line) {
                Ok(()) => {
                    self.counts.emitted += 1;
                    return Ok(());
                }
                Err(TrySendError::Full(l)) => line = l,
                Err(TrySendError::Disconnected(_)) => {
                    self.counts.output_dropped += 1;
                    return Ok(());
                }
            }
            if let Some(by) = self.stop_deadline() {
                if Instant::now() >= by {
                    self.counts.output_dropped += 1;
                    return Ok(());
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Saves the state (when there is a file for it): `None` without one.
    fn save_state(&mut self) -> Option<Result<PathBuf, String>> {
        let path = self.state_file.clone()?;
        let res = self.detector.save().map_err(|e| format!("{e:#}")).and_then(|bytes| {
            resetwatch_wasm::state_file::write_atomically(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))
        });
        if res.is_ok() {
            self.dirty = false;
        }
        Some(res.map(|()| path))
    }

    fn report_counts(&mut self) {
        if self.counts.trouble() != self.reported.trouble() {
            eprintln!("resetwatch serve: so far: {}", self.counts.summary());
            self.reported = self.counts;
        }
    }
}
