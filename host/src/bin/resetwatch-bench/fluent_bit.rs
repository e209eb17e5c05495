//! The real host's cost (`cargo xtask bench --fluent-bit`): process CPU of
//! real Fluent Bit running `tail` of a generated corpus into a `null`
//! output, with each filter, against the do-nothing filter of the same kind
//! measured in the same run. Runs alternate (one of each filter, then the
//! next round), so a machine that slows down mid-run slows every filter
//! alike; the median of the rounds is reported, with the spread and an A/A
//! row (the same floor measured twice) to judge a ratio against noise.
//! `--callgrind N` adds Fluent Bit's instruction count under valgrind on
//! the first N records of each corpus: a figure noise cannot blur.
//!
//! The floors (`bench/floor`, built by xtask into `--floors DIR`) are Rust
//! cdylibs linked exactly as resetwatch's modules are, so the difference
//! between a module and its floor is resetwatch's own work.

mod interpreter;

use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one invocation measures.
pub struct Options {
    pub fluent_bit: PathBuf,
    /// Where xtask put the floors (`floor.wasm`, `floor-lean.wasm`, ...).
    pub floors: PathBuf,
    /// `dist/` (resetwatch's modules and, when made, its AOT files).
    pub dist: PathBuf,
    /// Scratch: corpora, configurations, callgrind output.
    pub work: PathBuf,
    pub records: usize,
    pub storm_lines: usize,
    pub runs: usize,
    /// Records per corpus under callgrind; 0 leaves it out.
    pub callgrind: usize,
    /// Records of the short run of every filter whose cost is taken off
    /// the long run's, leaving the cost per record without the start (the
    /// module's load and instantiation, paid once per process).
    pub startup_records: usize,
    /// Only these corpora / filters (by name), when given.
    pub corpora: Vec<String>,
    pub filters: Vec<String>,
    /// Fluent Bit 4.0.x (`FLUENT_BIT_4_0`): the MVP module with `state_dir`
    /// against its floor, no target (issue 15).
    pub fluent_bit_4_0: Option<PathBuf>,
    /// Only the table of what WAMR's interpreter charges ([`interpreter`]).
    pub interpreter_costs: bool,
}

impl Options {
    /// `resetwatch-bench fluent-bit [--records N] [--storm-lines N] [--runs N]
    /// [--callgrind N] [--startup-records N] [--corpus NAME]... [--filter NAME]...
    /// [--dist DIR] [--interpreter-costs] --floors DIR`.
    pub fn parse(args: &[String], root: &Path) -> Result<Options, String> {
        let fluent_bit = std::env::var_os("FLUENT_BIT")
            .map(PathBuf::from)
            .or_else(|| which("fluent-bit"))
            .ok_or("real Fluent Bit not found: set FLUENT_BIT or put fluent-bit on PATH")?;
        let mut o = Options {
            fluent_bit,
            floors: root.join("target/bench"),
            dist: root.join("dist"),
            work: root.join("target/bench"),
            records: 1_000_000,
            storm_lines: 200_000,
            runs: 7,
            callgrind: 0,
            startup_records: 1000,
            corpora: Vec::new(),
            filters: Vec::new(),
            fluent_bit_4_0: std::env::var_os("FLUENT_BIT_4_0").map(PathBuf::from),
            interpreter_costs: false,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
            let number = |v: String| v.replace('_', "").parse::<usize>().map_err(|e| format!("{flag} {v}: {e}"));
            match flag.as_str() {
                "--records" => o.records = number(value()?)?,
                "--storm-lines" => o.storm_lines = number(value()?)?,
                "--runs" => o.runs = number(value()?)?.max(1),
                "--callgrind" => o.callgrind = number(value()?)?,
                "--startup-records" => o.startup_records = number(value()?)?,
                "--corpus" => o.corpora.push(value()?),
                "--filter" => o.filters.push(value()?),
                "--floors" => o.floors = PathBuf::from(value()?),
                "--dist" => o.dist = PathBuf::from(value()?),
                "--interpreter-costs" => o.interpreter_costs = true,
                other => return Err(format!("unknown option {other}")),
            }
        }
        if o.startup_records >= o.records.min(o.storm_lines) {
            return Err(format!("--startup-records {} must be below --records and --storm-lines", o.startup_records));
        }
        for c in &o.corpora {
            if !CORPORA.iter().any(|k| k.name == c) {
                return Err(format!("unknown corpus {c} (one of {})", names(CORPORA.iter().map(|k| k.name))));
            }
        }
        Ok(o)
    }
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

// ------------------------------------------------------------- corpora

/// One generated input.
struct Kind {
    name: &'static str,
    about: &'static str,
    /// Tail parses each line as JSON (the Kubernetes records).
    json: bool,
    /// Lines per record of the whole corpus come from `line`.
    line: fn(&mut Gen, usize) -> (String, bool),
    /// Use `storm_lines` records instead of `records`.
    storm: bool,
    /// The row's target against its floor, interpreted and AOT (issue 15).
    targets: Targets,
}

#[derive(Clone, Copy)]
struct Targets {
    interpreted: f64,
    mvp: Option<f64>,
    aot: f64,
}

const NATS_TARGETS: Targets = Targets { interpreted: 1.05, mvp: Some(1.10), aot: 1.02 };
const LAYOUT_TARGETS: Targets = Targets { interpreted: 1.05, mvp: None, aot: 1.02 };

const CORPORA: &[Kind] = &[
    Kind { name: "nats", about: "raw NATS lines, no loop", json: false, line: nats_plain, storm: false, targets: NATS_TARGETS },
    Kind {
        name: "nats-loop",
        about: "raw NATS lines, 0.4% reset-loop lines over 4 streams",
        json: false,
        line: nats_loop,
        storm: false,
        targets: NATS_TARGETS,
    },
    Kind {
        name: "kubernetes",
        about: "Kubernetes records (CRI fields + the kubernetes filter's map), 0.4% loop lines",
        json: true,
        line: kubernetes,
        storm: false,
        targets: LAYOUT_TARGETS,
    },
    Kind {
        name: "syslog",
        about: "rsyslog's default file format, 0.4% loop lines",
        json: false,
        line: rsyslog,
        storm: false,
        targets: LAYOUT_TARGETS,
    },
    Kind {
        name: "journald",
        about: "`journalctl -o short-iso`, 0.4% loop lines",
        json: false,
        line: journal,
        storm: false,
        targets: LAYOUT_TARGETS,
    },
    Kind {
        name: "storm",
        about: "event lines only: apply error + reset pairs over 100k distinct streams",
        json: false,
        line: storm,
        storm: true,
        targets: Targets { interpreted: f64::NAN, mvp: None, aot: f64::NAN },
    },
];

/// Deterministic line maker: a time that moves 50 us to 5 ms a line, and
/// xorshift for the mix, so every run of the benchmark sees the same bytes.
struct Gen {
    state: u64,
    /// Microseconds since the epoch (UTC; printed as nats-server prints it).
    t: i64,
    loop_left: u8,
    loop_stream: usize,
}

impl Gen {
    fn new() -> Gen {
        Gen { state: 6455, t: 1_795_687_200_000_000, loop_left: 0, loop_stream: 0 }
    }
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }
    fn step(&mut self) {
        self.t += 50 + (self.next() % 4950) as i64;
    }
    /// `yyyy/mm/dd hh:mm:ss.uuuuuu`.
    fn nats_time(&self) -> String {
        resetwatch_host::text::nats_time(self.t)
    }
    fn rfc3339(&self) -> String {
        resetwatch::clock::rfc3339(self.t, 0)
    }
}

/// Ordinary lines, verbatim texts from the corpus (tests/data/corpus, the
/// same set scripts/gen-nats-log.py uses).
const ORDINARY: [&str; 9] = [
    "[INF] 127.0.0.1:43724 - rid:13 - Route connection created",
    "[INF] 127.0.0.1:16222 - rid:20 - Router connection closed: Duplicate Route",
    "[INF] JetStream cluster new stream leader for '$G > EVENTS'",
    "[INF] Self is new JetStream cluster metadata leader",
    "[INF]   Restored 1,407 messages for stream '$G > ORDERS' in 9ms",
    "[INF] Listening for client connections on 127.0.0.1:14221",
    "[WRN] Healthcheck failed: \"JetStream stream '$G > ORDERS' is not current\"",
    "[WRN] Filestore [ORDERS] Stream state outdated, last block has additional entries, will rebuild",
    "[ERR] Error trying to connect to route (attempt 1): dial tcp 127.0.0.1:16222: connect: connection refused",
];

const LOOP_STREAMS: [&str; 4] = ["ORDERS", "EVENTS", "AUDIT", "KV_config"];

/// The message part of a NATS line (level and text) and whether it is an
/// event line. One in 500 lines starts a pair (0.4% of lines are pair lines).
fn message(g: &mut Gen, with_loop: bool) -> (String, bool) {
    if with_loop && g.loop_left == 0 && g.next().is_multiple_of(500) {
        g.loop_left = 2;
        g.loop_stream = (g.loop_stream + 1) % LOOP_STREAMS.len();
    }
    if g.loop_left > 0 {
        g.loop_left -= 1;
        let s = LOOP_STREAMS[g.loop_stream];
        // The s05 loop's own texts (tests/data/corpus/s05_*/n1.log).
        return if g.loop_left == 1 {
            (format!("[WRN] Error applying entries to '$G > {s}': catchup aborted, no leader for stream '$G > {s}'"), true)
        } else {
            (format!("[WRN] Resetting stream cluster state for '$G > {s}'"), true)
        };
    }
    (ORDINARY[(g.next() % ORDINARY.len() as u64) as usize].to_string(), false)
}

fn nats_line(g: &mut Gen, with_loop: bool) -> (String, bool) {
    g.step();
    let (text, event) = message(g, with_loop);
    (format!("[8368] {} {text}", g.nats_time()), event)
}

fn nats_plain(g: &mut Gen, _: usize) -> (String, bool) {
    nats_line(g, false)
}

fn nats_loop(g: &mut Gen, _: usize) -> (String, bool) {
    nats_line(g, true)
}

fn kubernetes(g: &mut Gen, _: usize) -> (String, bool) {
    let (line, event) = nats_line(g, true);
    (kubernetes_record(&g.rfc3339(), &line), event)
}

/// A CRI line as the `kubernetes` filter hands it on (read with the `json`
/// parser): the kubelet's fields first, then the line, then the pod's
/// metadata. Also the fuel benchmark's Kubernetes row.
pub(crate) fn kubernetes_record(time: &str, line: &str) -> String {
    let mut rec = String::with_capacity(640);
    rec.push_str(r#"{"time":""#);
    rec.push_str(time);
    rec.push_str(r#"","stream":"stderr","_p":"F","log":"#);
    rec.push_str(&serde_json::to_string(line).unwrap_or_default());
    // What the kubernetes filter adds for a pod of the official NATS chart.
    rec.push_str(
        r#","kubernetes":{"pod_name":"nats-0","namespace_name":"nats","pod_id":"6f1c2d7e-3b4a-4c5d-9e8f-0a1b2c3d4e5f","labels":{"app.kubernetes.io/component":"nats","app.kubernetes.io/instance":"nats","app.kubernetes.io/name":"nats","apps.kubernetes.io/pod-index":"0","controller-revision-hash":"nats-5d8f9c7b6d","statefulset.kubernetes.io/pod-name":"nats-0"},"annotations":{"checksum/config":"1b2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e"},"host":"node-1","container_name":"nats","docker_id":"9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b","container_hash":"docker.io/library/nats@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0","container_image":"docker.io/library/nats:2.10.25-alpine"}}"#,
    );
    rec
}

fn rsyslog(g: &mut Gen, _: usize) -> (String, bool) {
    let (line, event) = nats_line(g, true);
    (rsyslog_line(&g.rfc3339(), &line), event)
}

/// rsyslog's default file format around `line` (`time` in RFC 3339 UTC).
pub(crate) fn rsyslog_line(time: &str, line: &str) -> String {
    format!("{} node-1 nats-server[8368]: {line}", time.replace('Z', "+00:00"))
}

fn journal(g: &mut Gen, _: usize) -> (String, bool) {
    let (line, event) = nats_line(g, true);
    (journal_line(&g.rfc3339(), &line), event)
}

/// `journalctl -o short-iso` around `line` (`time` in RFC 3339 UTC).
pub(crate) fn journal_line(time: &str, line: &str) -> String {
    // short-iso: seconds and a numeric zone, `2026-11-26T10:00:00+0000`.
    format!("{}+0000 node-1 nats-server[8368]: {line}", &time[..19])
}

/// Pair `i / 2` on stream `S<i/2 mod 100000>`: every line an event, and
/// each stream seen once per 100k pairs, so the detector's bounded maps and
/// LRU do the most work a line can cause.
fn storm(g: &mut Gen, i: usize) -> (String, bool) {
    g.step();
    let s = (i / 2) % 100_000;
    let text = if i.is_multiple_of(2) {
        format!("[WRN] Error applying entries to 'ACC{} > S{s}': last sequence mismatch", s % 97)
    } else {
        format!("[WRN] Resetting stream cluster state for 'ACC{} > S{s}'", s % 97)
    };
    (format!("[8368] {} {text}", g.nats_time()), true)
}

/// Writes `n` records of `kind` to `path` (kept between runs of the
/// benchmark: the same options give the same bytes); returns the number of
/// event lines in it.
fn corpus(kind: &Kind, n: usize, path: &Path) -> std::io::Result<usize> {
    let count_file = path.with_extension("events");
    if path.exists() {
        if let Some(events) = fs::read_to_string(&count_file).ok().and_then(|s| s.trim().parse().ok()) {
            return Ok(events);
        }
    }
    let mut g = Gen::new();
    let mut out = BufWriter::new(fs::File::create(path)?);
    let mut events = 0;
    for i in 0..n {
        let (line, event) = (kind.line)(&mut g, i);
        events += event as usize;
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    fs::write(count_file, events.to_string())?;
    Ok(events)
}

// ------------------------------------------------------------- filters

/// One filter configuration that is measured.
#[derive(Clone)]
struct FilterSpec {
    name: String,
    /// The `[FILTER]` section, or none (the no-filter row).
    section: Option<String>,
    /// The row this one is judged against (its floor), by name.
    floor: Option<String>,
    /// Which target of the corpus applies.
    target: Target,
    /// A state directory the module saves into, emptied before each run.
    state_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq)]
enum Target {
    None,
    Interpreted,
    Mvp,
    Aot,
}

fn wasm_section(path: &Path, app_heap: bool, accessible: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "[FILTER]\n    Name wasm\n    Match *\n    Event_Format json");
    let _ = writeln!(s, "    Wasm_Path {}\n    Function_Name resetwatch_filter", path.display());
    let _ = writeln!(s, "    Accessible_Paths {}\n    Wasm_Stack_Size 64K", accessible.display());
    if app_heap {
        // As the documented lean configuration: every record fits.
        let _ = writeln!(s, "    Wasm_Heap_Size 16M");
    }
    s
}

fn filters(o: &Options, accessible: &Path) -> Vec<FilterSpec> {
    let mut v = vec![FilterSpec { name: "no filter".into(), section: None, floor: None, target: Target::None, state_dir: None }];
    let mut wasm = |name: &str, path: PathBuf, app_heap: bool, floor: Option<&str>, target: Target| {
        if path.is_file() {
            v.push(FilterSpec {
                name: name.into(),
                section: Some(wasm_section(&path, app_heap, accessible)),
                floor: floor.map(String::from),
                target,
                state_dir: None,
            });
        } else {
            eprintln!("bench: {} not found; its row is left out", path.display());
        }
    };
    const APP: &str = "do-nothing, app heap";
    const ALLOC: &str = "do-nothing, allocator";
    const MVP: &str = "do-nothing, MVP";
    const APP_AOT: &str = "do-nothing, app heap, AOT";
    const ALLOC_AOT: &str = "do-nothing, allocator, AOT";
    wasm(APP, o.floors.join("floor-lean.wasm"), true, None, Target::None);
    wasm("do-nothing, app heap (A/A)", o.floors.join("floor-lean.wasm"), true, Some(APP), Target::None);
    wasm(ALLOC, o.floors.join("floor.wasm"), false, None, Target::None);
    wasm(MVP, o.floors.join("floor-mvp.wasm"), false, None, Target::None);
    wasm(APP_AOT, o.floors.join("floor-lean-x86_64.aot"), true, None, Target::None);
    wasm(ALLOC_AOT, o.floors.join("floor-x86_64.aot"), false, None, Target::None);
    wasm("resetwatch-lean.wasm", o.dist.join("resetwatch-lean.wasm"), true, Some(APP), Target::Interpreted);
    wasm("resetwatch.wasm", o.dist.join("resetwatch.wasm"), false, Some(ALLOC), Target::Interpreted);
    wasm("resetwatch-mvp.wasm", o.dist.join("resetwatch-mvp.wasm"), false, Some(MVP), Target::Mvp);
    wasm("resetwatch-lean-x86_64.aot", o.dist.join("resetwatch-lean-x86_64.aot"), true, Some(APP_AOT), Target::Aot);
    wasm("resetwatch-x86_64.aot", o.dist.join("resetwatch-x86_64.aot"), false, Some(ALLOC_AOT), Target::Aot);
    // The lean module saving its state (`state_dir`, as a deployment that
    // restarts keeps it), against the same floor; no target.
    let lean = o.dist.join("resetwatch-lean.wasm");
    let with_state = accessible.with_file_name("config-state");
    let state_dir = with_state.join("state");
    let json = serde_json::json!({ "state_dir": state_dir.display().to_string() });
    if lean.is_file()
        && fs::create_dir_all(&state_dir).and_then(|()| fs::write(with_state.join("resetwatch.json"), json.to_string())).is_ok()
    {
        v.push(FilterSpec {
            name: "resetwatch-lean.wasm, state_dir".into(),
            section: Some(wasm_section(&lean, true, &with_state)),
            floor: Some(APP.into()),
            target: Target::None,
            state_dir: Some(state_dir),
        });
    }
    let lua = super::root().join("bench/pairs.lua");
    v.push(FilterSpec {
        name: "Lua pair counting (bench/pairs.lua)".into(),
        section: Some(format!("[FILTER]\n    Name lua\n    Match *\n    Script {}\n    Call cb\n", lua.display())),
        floor: None,
        target: Target::None,
        state_dir: None,
    });
    if !o.filters.is_empty() {
        // Keep the chosen rows and the floors they are judged against.
        let wanted: Vec<String> = v
            .iter()
            .filter(|f| o.filters.iter().any(|w| f.name.contains(w.as_str())))
            .flat_map(|f| std::iter::once(f.name.clone()).chain(f.floor.clone()))
            .collect();
        v.retain(|f| wanted.contains(&f.name));
    }
    v
}

fn config(work: &Path, input: &Path, json: bool, filter: Option<&str>) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "[SERVICE]\n    Flush 1\n    Grace 1\n    Log_Level error");
    if json {
        let _ = writeln!(c, "    Parsers_File {}", work.join("parsers.conf").display());
    }
    let _ = writeln!(c, "[INPUT]\n    Name tail\n    Tag nats.bench\n    Path {}", input.display());
    let _ = writeln!(c, "    Read_from_Head On\n    Exit_On_Eof On\n    Buffer_Max_Size 1M");
    if json {
        let _ = writeln!(c, "    Parser json");
    }
    if let Some(f) = filter {
        c.push_str(f);
    }
    let _ = writeln!(c, "[OUTPUT]\n    Name null\n    Match *");
    c
}

// ------------------------------------------------------------- running

/// CPU seconds (user + system) and peak RSS of one Fluent Bit run.
#[derive(Clone, Copy)]
struct Usage {
    cpu: f64,
    rss_kib: i64,
}

fn run_once(fluent_bit: &Path, conf: &Path) -> Result<Usage, String> {
    let child = Command::new(fluent_bit)
        .arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", fluent_bit.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = stderr.as_mut() {
            let _ = std::io::Read::read_to_string(e, &mut s);
        }
        s
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for (std's `Child` is
    // dropped without `wait`, which neither waits nor kills); the pointers
    // are to live locals. wait4 is the only way to read one child's rusage.
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let log = reader.join().unwrap_or_default();
    if got != pid {
        return Err(format!("wait4 failed: {}", std::io::Error::last_os_error()));
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(format!("Fluent Bit failed (status {status:#x}) on {}:\n{log}", conf.display()));
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Usage { cpu: secs(usage.ru_utime) + secs(usage.ru_stime), rss_kib: usage.ru_maxrss })
}

/// Fluent Bit's instructions under callgrind (all threads).
fn callgrind(fluent_bit: &Path, conf: &Path, out: &Path) -> Result<u64, String> {
    let o = Command::new("valgrind")
        .args(["--tool=callgrind", "--dump-instr=no"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(fluent_bit)
        .arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run valgrind (Debian package valgrind): {e}"))?;
    let err = String::from_utf8_lossy(&o.stderr);
    if err.contains("unhandled instruction bytes: 0xF3 0x48 0xF 0xAE") || err.contains("0xF3 0x49 0xF 0xAE") {
        return Err(WRGSBASE.into());
    }
    if !o.status.success() {
        return Err(format!("valgrind failed on {}:\n{err}", conf.display()));
    }
    err.lines()
        .find_map(|l| l.split_once("Collected :").and_then(|(_, n)| n.trim().parse().ok()))
        .ok_or_else(|| format!("no `Collected :` line from callgrind:\n{err}"))
}

/// [`callgrind`] of Fluent Bit on `conf`, each attempt with `state_dir`
/// emptied first, on the copy without `wrgsbase` ([`without_gs_writes`])
/// once valgrind has refused the real binary: `counting` is that copy,
/// made at the first refusal and kept.
fn counted(
    o: &Options,
    counting: &mut Option<PathBuf>,
    conf: &Path,
    out: &Path,
    state_dir: Option<&Path>,
) -> Result<u64, String> {
    fresh_state(state_dir)?;
    if let Some(copy) = counting.as_deref() {
        return match callgrind(copy, conf, out) {
            Err(why) if why == WRGSBASE => Err("valgrind refused a copy without wrgsbase".into()),
            other => other,
        };
    }
    match callgrind(&o.fluent_bit, conf, out) {
        Err(why) if why == WRGSBASE => {
            let copy = o.work.join("fluent-bit-no-gs-writes");
            let patched = without_gs_writes(&o.fluent_bit, &copy)?;
            eprintln!("bench: valgrind refused WAMR's wrgsbase; counting on a copy without it ({patched} sites)");
            *counting = Some(copy);
            counted(o, counting, conf, out, state_dir)
        }
        other => other,
    }
}

/// What [`callgrind`] answers when valgrind dies on WAMR's GS base write.
const WRGSBASE: &str = "valgrind does not decode `wrgsbase`";

/// Writes a copy of the Fluent Bit binary at `fb` to `out` with every
/// `wrgsbase r64` replaced by a 5-byte NOP; returns how many there were.
/// WAMR writes the linear memory's base into GS (its `os_writegsbase`, each
/// time it sets up or grows a memory) only for AOT code compiled with
/// `wamrc --enable-segue`, which addresses memory through `%gs`; the
/// interpreter and AOT files compiled without that flag (xtask's) never
/// read GS, so the copy runs them exactly as WAMR's own
/// `WASM_DISABLE_WRITE_GS_BASE=1` build would. valgrind's VEX does not
/// decode the instruction (SIGILL), so this copy is what it counts.
fn without_gs_writes(fb: &Path, out: &Path) -> Result<usize, String> {
    let mut b = fs::read(fb).map_err(|e| format!("{}: {e}", fb.display()))?;
    let mut n = 0;
    let mut i = 0;
    // `F3 REX.W(+B) 0F AE /3` with a register operand: mod 11, reg 011.
    while i + 5 <= b.len() {
        if b[i] == 0xf3
            && (b[i + 1] == 0x48 || b[i + 1] == 0x49)
            && b[i + 2] == 0x0f
            && b[i + 3] == 0xae
            && b[i + 4] & 0xf8 == 0xd8
        {
            b[i..i + 5].copy_from_slice(&[0x0f, 0x1f, 0x44, 0x00, 0x00]);
            n += 1;
            i += 5;
        } else {
            i += 1;
        }
    }
    fs::write(out, &b).map_err(|e| format!("{}: {e}", out.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(out, fs::Permissions::from_mode(0o755)).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    Ok(n)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct Row {
    spec: FilterSpec,
    /// CPU seconds of each round on the whole corpus.
    cpu: Vec<f64>,
    /// The same on its first `startup_records` records.
    short_cpu: Vec<f64>,
    rss_kib: i64,
    /// Instructions on the callgrind corpus and on its short head.
    instructions: Option<(u64, u64)>,
}

impl Row {
    fn new(spec: &FilterSpec) -> Row {
        Row { spec: spec.clone(), cpu: Vec::new(), short_cpu: Vec::new(), rss_kib: 0, instructions: None }
    }
}

fn fluent_bit_version(fb: &Path) -> String {
    Command::new(fb)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_string))
        .unwrap_or_else(|| "Fluent Bit (version unknown)".into())
}

/// One configuration file per row, on `input`.
fn write_confs(o: &Options, kind: &Kind, rows: &[Row], input: &Path, what: &str) -> Result<Vec<PathBuf>, String> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let p = o.work.join(format!("{}-{what}-{i}.conf", kind.name));
            fs::write(&p, config(&o.work, input, kind.json, r.spec.section.as_deref())).map(|()| p)
        })
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}

/// Empties a row's state directory: every run starts with no state.
fn fresh_state(dir: Option<&Path>) -> Result<(), String> {
    let Some(dir) = dir else { return Ok(()) };
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

/// Runs every row on the corpus and on its short head, `runs` rounds,
/// alternated; the state directory, when there is one, is emptied first.
fn measure(
    fluent_bit: &Path,
    rows: &mut [Row],
    long: &[PathBuf],
    short: &[PathBuf],
    o: &Options,
    name: &str,
) -> Result<(), String> {
    for round in 0..o.runs {
        eprintln!("bench: {name} round {}/{}", round + 1, o.runs);
        for ((row, long), short) in rows.iter_mut().zip(long).zip(short) {
            for (conf, into) in [(long, &mut row.cpu), (short, &mut row.short_cpu)] {
                fresh_state(row.spec.state_dir.as_deref())?;
                let u = run_once(fluent_bit, conf)?;
                into.push(u.cpu);
                row.rss_kib = row.rss_kib.max(u.rss_kib);
            }
        }
    }
    Ok(())
}

/// Runs every corpus and prints the Markdown tables.
pub fn run(o: &Options) -> Result<(), String> {
    if o.interpreter_costs {
        return interpreter::run(o);
    }
    let io = |e: std::io::Error| e.to_string();
    fs::create_dir_all(&o.work).map_err(io)?;
    let accessible = o.work.join("config");
    fs::create_dir_all(&accessible).map_err(io)?;
    fs::write(o.work.join("parsers.conf"), "[PARSER]\n    Name json\n    Format json\n").map_err(io)?;
    let specs = filters(o, &accessible);
    println!("## Real host: {}, process CPU\n", fluent_bit_version(&o.fluent_bit));
    println!(
        "`tail` (whole file, `Exit_On_Eof`) into a `null` output; user + system CPU of the Fluent Bit process \
         from wait4(2); {} of every filter, alternated; median, min-max and peak RSS. Each resetwatch row is \
         judged against the do-nothing filter of its own kind from the same run; the A/A row is that floor \
         measured twice, the noise a ratio is judged against. Every filter also runs on the corpus's first {} \
         records in the same rounds: \"per record\" is (whole run - short run) / (records - {}), the cost of a \
         record without the module's load and instantiation, which a process pays once (\"start\": the short \
         run over its floor's, in ms). The target is judged on the per record ratio; the whole-run ratio \
         approaches it as the run grows (at 1M records the start is under 1% of any floor here).\n",
        if o.runs == 1 { "1 run".to_string() } else { format!("{} runs", o.runs) },
        o.startup_records,
        o.startup_records
    );
    let mut counting: Option<PathBuf> = None;
    for kind in CORPORA.iter().filter(|k| o.corpora.is_empty() || o.corpora.iter().any(|c| c == k.name)) {
        let n = if kind.storm { o.storm_lines } else { o.records };
        let input = o.work.join(format!("{}-{n}.log", kind.name));
        let events = corpus(kind, n, &input).map_err(io)?;
        let head = o.work.join(format!("{}-{}.log", kind.name, o.startup_records));
        corpus(kind, o.startup_records, &head).map_err(io)?;
        let mut rows: Vec<Row> = specs.iter().map(Row::new).collect();
        let long = write_confs(o, kind, &rows, &input, "long")?;
        let short = write_confs(o, kind, &rows, &head, "short")?;
        measure(&o.fluent_bit, &mut rows, &long, &short, o, kind.name)?;
        let mut notes = Vec::new();
        if o.callgrind > 0 {
            let cg_short = (o.callgrind / 10).max(1);
            let small = o.work.join(format!("{}-{}.log", kind.name, o.callgrind));
            let smaller = o.work.join(format!("{}-{cg_short}.log", kind.name));
            corpus(kind, o.callgrind, &small).map_err(io)?;
            corpus(kind, cg_short, &smaller).map_err(io)?;
            let cg_long = write_confs(o, kind, &rows, &small, "cg")?;
            let cg_head = write_confs(o, kind, &rows, &smaller, "cg-short")?;
            let out = o.work.join("callgrind.out");
            for (i, row) in rows.iter_mut().enumerate() {
                if row.spec.name.contains("(A/A)") {
                    continue;
                }
                eprintln!("bench: {} callgrind {}", kind.name, row.spec.name);
                let state = row.spec.state_dir.as_deref();
                let a = counted(o, &mut counting, &cg_long[i], &out, state)?;
                let b = counted(o, &mut counting, &cg_head[i], &out, state)?;
                row.instructions = Some((a, b));
            }
            if counting.is_some() {
                notes.push(
                    "Instructions were counted on a copy of the Fluent Bit binary whose `wrgsbase` instructions \
                     (WAMR's `os_writegsbase`, which valgrind does not decode) are NOPs: only AOT code compiled with \
                     `wamrc --enable-segue` reads GS, and neither the interpreter nor xtask's AOT files do, so the \
                     copy runs them as WAMR's `WASM_DISABLE_WRITE_GS_BASE=1` build would."
                        .to_string(),
                );
            }
        }
        print_corpus(kind, n, events, o, &rows);
        for note in notes {
            println!("{note}\n");
        }
    }
    if let Some(old) = &o.fluent_bit_4_0 {
        run_4_0(o, old)?;
    }
    Ok(())
}

/// Fluent Bit 4.0.x: the MVP module (the one it loads) with `state_dir`
/// against the MVP floor, on the NATS corpora; reported with no target.
fn run_4_0(o: &Options, fluent_bit: &Path) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let config_dir = o.work.join("config-4.0");
    let state_dir = config_dir.join("state");
    fs::create_dir_all(&state_dir).map_err(io)?;
    let json = serde_json::json!({ "state_dir": state_dir.display().to_string() });
    fs::write(config_dir.join("resetwatch.json"), json.to_string()).map_err(io)?;
    let floor = o.floors.join("floor-mvp.wasm");
    let module = o.dist.join("resetwatch-mvp.wasm");
    if !floor.is_file() || !module.is_file() {
        eprintln!("bench: {} or {} not found; the Fluent Bit 4.0 rows are left out", floor.display(), module.display());
        return Ok(());
    }
    const FLOOR: &str = "do-nothing, MVP";
    let specs = [
        FilterSpec {
            name: FLOOR.into(),
            section: Some(wasm_section(&floor, false, &config_dir)),
            floor: None,
            target: Target::None,
            state_dir: None,
        },
        FilterSpec {
            name: "resetwatch-mvp.wasm, state_dir".into(),
            section: Some(wasm_section(&module, false, &config_dir)),
            floor: Some(FLOOR.into()),
            target: Target::None,
            state_dir: Some(state_dir.clone()),
        },
    ];
    println!("## Real host: {}, the MVP module with `state_dir` (no target)\n", fluent_bit_version(fluent_bit));
    println!(
        "Fluent Bit 4.0.x instantiates the module for every chunk, so each chunk loads the module and the state \
         it saved (docs/fluent-bit.md). Same method as above; the state directory is emptied before every run.\n"
    );
    for kind in CORPORA.iter().filter(|k| matches!(k.name, "nats" | "nats-loop")) {
        if !o.corpora.is_empty() && !o.corpora.iter().any(|c| c == kind.name) {
            continue;
        }
        let input = o.work.join(format!("{}-{}.log", kind.name, o.records));
        let events = corpus(kind, o.records, &input).map_err(io)?;
        let head = o.work.join(format!("{}-{}.log", kind.name, o.startup_records));
        corpus(kind, o.startup_records, &head).map_err(io)?;
        let mut rows: Vec<Row> = specs.iter().map(Row::new).collect();
        let long = write_confs(o, kind, &rows, &input, "4.0-long")?;
        let short = write_confs(o, kind, &rows, &head, "4.0-short")?;
        measure(fluent_bit, &mut rows, &long, &short, o, &format!("4.0 {}", kind.name))?;
        print_corpus(kind, o.records, events, o, &rows);
    }
    Ok(())
}

fn print_corpus(kind: &Kind, n: usize, events: usize, o: &Options, rows: &[Row]) {
    let by_name = |name: &str| rows.iter().find(|r| r.spec.name == name);
    let whole = |r: &Row| median(&r.cpu);
    let short = |r: &Row| median(&r.short_cpu);
    // CPU seconds per record without the start.
    let per_record = |r: &Row| (whole(r) - short(r)) / (n - o.startup_records) as f64;
    let aa = by_name("do-nothing, app heap (A/A)")
        .zip(by_name("do-nothing, app heap"))
        .map(|(b, a)| (per_record(b) / per_record(a) - 1.0).abs());
    println!("### {}: {} ({n} records, {events} event lines)\n", kind.name, kind.about);
    let cg = rows.iter().any(|r| r.instructions.is_some());
    print!("| filter | median CPU s | min-max | vs its floor | per record | per record vs its floor | target | start ms over its floor | peak RSS MiB |");
    if cg {
        print!(" instructions, {} records | per record | per record vs its floor | target (instructions) |", o.callgrind);
    }
    println!();
    println!("|---|---:|---|---:|---:|---:|---|---:|---:|{}", if cg { "---:|---:|---:|---|" } else { "" });
    for row in rows {
        let lo = row.cpu.iter().copied().fold(f64::MAX, f64::min);
        let hi = row.cpu.iter().copied().fold(0.0, f64::max);
        let floor = row.spec.floor.as_deref().and_then(by_name);
        let ratio = floor.map(|f| whole(row) / whole(f));
        let per = per_record(row);
        let per_ratio = floor.map(|f| per / per_record(f));
        let start = floor.map(|f| (short(row) - short(f)) * 1e3);
        let target = match row.spec.target {
            Target::Interpreted => Some(kind.targets.interpreted),
            Target::Mvp => kind.targets.mvp,
            Target::Aot => Some(kind.targets.aot),
            Target::None => None,
        }
        .filter(|t| t.is_finite());
        let verdict = match (per_ratio, target) {
            (Some(r), Some(t)) if r <= t => format!("<= {t:.2}: met"),
            (Some(r), Some(t)) if aa.is_some_and(|aa| r <= t + aa) => format!("<= {t:.2}: within A/A noise"),
            (Some(_), Some(t)) => format!("<= {t:.2}: MISSED"),
            _ => "-".into(),
        };
        let x = |r: Option<f64>| r.map_or("-".into(), |r| format!("{r:.2}x"));
        print!(
            "| {} | {:.2} | {lo:.2}-{hi:.2} | {} | {:.2} us | {} | {verdict} | {} | {:.0} |",
            row.spec.name,
            whole(row),
            x(ratio),
            per * 1e6,
            x(per_ratio),
            start.map_or("-".into(), |s| format!("{s:.0}")),
            row.rss_kib as f64 / 1024.0
        );
        if cg {
            let cg_short = (o.callgrind / 10).max(1);
            let per_instr = |i: Option<(u64, u64)>| i.map(|(a, b)| a.saturating_sub(b) as f64 / (o.callgrind - cg_short) as f64);
            let own = per_instr(row.instructions);
            let base = per_instr(floor.and_then(|f| f.instructions));
            let instr_ratio = own.zip(base).map(|(i, b)| i / b);
            // A count does not move between runs: judged as it is.
            let instr_verdict = match (instr_ratio, target) {
                (Some(r), Some(t)) if r <= t => format!("<= {t:.2}: met"),
                (Some(_), Some(t)) => format!("<= {t:.2}: MISSED"),
                _ => "-".into(),
            };
            print!(
                " {} | {} | {} | {instr_verdict} |",
                row.instructions.map_or("-".into(), |(i, _)| format!("{:.1} M", i as f64 / 1e6)),
                own.map_or("-".into(), |i| format!("{i:.0}")),
                instr_ratio.map_or("-".into(), |r| format!("{r:.3}x"))
            );
        }
        println!();
    }
    if let Some(aa) = aa {
        println!("\nA/A spread (the app-heap floor against itself, per record): {:.1}%.", aa * 100.0);
    }
    if kind.storm {
        for row in rows.iter().filter(|r| r.spec.target == Target::Interpreted || r.spec.target == Target::Aot) {
            if let Some(floor) = row.spec.floor.as_deref().and_then(by_name) {
                let cg_short = (o.callgrind / 10).max(1);
                let per_instr =
                    |r: &Row| r.instructions.map(|(a, b)| a.saturating_sub(b) as f64 / (o.callgrind - cg_short) as f64);
                let instr =
                    per_instr(row).zip(per_instr(floor)).map_or(String::new(), |(i, f)| format!(", {:.0} instructions", i - f));
                println!(
                    "\n{}: {:.1} us of CPU per event line over its floor{instr} (target <= 10 us interpreted).",
                    row.spec.name,
                    (per_record(row) - per_record(floor)) * 1e6
                );
            }
        }
    }
    println!();
}
