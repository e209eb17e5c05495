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
    /// Only these corpora / filters (by name), when given.
    pub corpora: Vec<String>,
    pub filters: Vec<String>,
}

impl Options {
    /// `resetwatch-bench fluent-bit [--records N] [--storm-lines N] [--runs N]
    /// [--callgrind N] [--corpus NAME]... [--filter NAME]... --floors DIR`.
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
            corpora: Vec::new(),
            filters: Vec::new(),
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
                "--corpus" => o.corpora.push(value()?),
                "--filter" => o.filters.push(value()?),
                "--floors" => o.floors = PathBuf::from(value()?),
                other => return Err(format!("unknown option {other}")),
            }
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
    let mut v = vec![FilterSpec { name: "no filter".into(), section: None, floor: None, target: Target::None }];
    let mut wasm = |name: &str, path: PathBuf, app_heap: bool, floor: Option<&str>, target: Target| {
        if path.is_file() {
            v.push(FilterSpec {
                name: name.into(),
                section: Some(wasm_section(&path, app_heap, accessible)),
                floor: floor.map(String::from),
                target,
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
    let lua = super::root().join("bench/pairs.lua");
    v.push(FilterSpec {
        name: "Lua pair counting (bench/pairs.lua)".into(),
        section: Some(format!("[FILTER]\n    Name lua\n    Match *\n    Script {}\n    Call cb\n", lua.display())),
        floor: None,
        target: Target::None,
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
    if err.contains("unhandled instruction bytes: 0xF3 0x48 0xF 0xAE") {
        // WAMR's os_writegsbase (core/shared/platform/linux/platform_internal.h)
        // executes `wrgsbase` on x86_64 whenever it sets up linear memory;
        // valgrind's VEX does not decode it, so the program dies of SIGILL.
        return Err("valgrind cannot run WAMR here: it executes `wrgsbase` (WAMR's os_writegsbase), \
                    which valgrind does not decode (SIGILL)"
            .into());
    }
    if !o.status.success() {
        return Err(format!("valgrind failed on {}:\n{err}", conf.display()));
    }
    err.lines()
        .find_map(|l| l.split_once("Collected :").and_then(|(_, n)| n.trim().parse().ok()))
        .ok_or_else(|| format!("no `Collected :` line from callgrind:\n{err}"))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct Row {
    spec: FilterSpec,
    cpu: Vec<f64>,
    rss_kib: i64,
    instructions: Option<u64>,
}

fn fluent_bit_version(fb: &Path) -> String {
    Command::new(fb)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_string))
        .unwrap_or_else(|| "Fluent Bit (version unknown)".into())
}

/// Runs every corpus and prints the Markdown tables.
pub fn run(o: &Options) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    fs::create_dir_all(&o.work).map_err(io)?;
    let accessible = o.work.join("config");
    fs::create_dir_all(&accessible).map_err(io)?;
    fs::write(o.work.join("parsers.conf"), "[PARSER]\n    Name json\n    Format json\n").map_err(io)?;
    let specs = filters(o, &accessible);
    println!("## Real host: {}, process CPU\n", fluent_bit_version(&o.fluent_bit));
    println!(
        "`tail` (whole file, `Exit_On_Eof`) into a `null` output; user + system CPU of the Fluent Bit process \
         from wait4(2); {} runs of every filter, alternated; median, min-max and peak RSS. Each resetwatch row is \
         judged against the do-nothing filter of its own kind from the same run; the A/A row is that floor \
         measured twice, the noise a ratio is judged against.\n",
        o.runs
    );
    for kind in CORPORA.iter().filter(|k| o.corpora.is_empty() || o.corpora.iter().any(|c| c == k.name)) {
        let n = if kind.storm { o.storm_lines } else { o.records };
        let input = o.work.join(format!("{}-{n}.log", kind.name));
        let events = corpus(kind, n, &input).map_err(io)?;
        let mut rows: Vec<Row> =
            specs.iter().map(|s| Row { spec: s.clone(), cpu: Vec::new(), rss_kib: 0, instructions: None }).collect();
        let confs: Vec<PathBuf> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let p = o.work.join(format!("{}-{i}.conf", kind.name));
                fs::write(&p, config(&o.work, &input, kind.json, r.spec.section.as_deref())).map(|()| p)
            })
            .collect::<Result<_, _>>()
            .map_err(io)?;
        for round in 0..o.runs {
            eprintln!("bench: {} round {}/{}", kind.name, round + 1, o.runs);
            for (row, conf) in rows.iter_mut().zip(&confs) {
                let u = run_once(&o.fluent_bit, conf)?;
                row.cpu.push(u.cpu);
                row.rss_kib = row.rss_kib.max(u.rss_kib);
            }
        }
        let mut notes = Vec::new();
        if o.callgrind > 0 {
            let small = o.work.join(format!("{}-{}.log", kind.name, o.callgrind));
            corpus(kind, o.callgrind, &small).map_err(io)?;
            let mut wamr_refused = None;
            for (i, row) in rows.iter_mut().enumerate() {
                let wasm = row.spec.section.as_deref().is_some_and(|s| s.contains("Name wasm"));
                if row.spec.name.contains("(A/A)") || (wasm && wamr_refused.is_some()) {
                    continue;
                }
                eprintln!("bench: {} callgrind {}", kind.name, row.spec.name);
                let conf = o.work.join(format!("{}-cg-{i}.conf", kind.name));
                fs::write(&conf, config(&o.work, &small, kind.json, row.spec.section.as_deref())).map_err(io)?;
                match callgrind(&o.fluent_bit, &conf, &o.work.join("callgrind.out")) {
                    Ok(n) => row.instructions = Some(n),
                    Err(why) if wasm && why.contains("wrgsbase") => wamr_refused = Some(why),
                    Err(why) => return Err(why),
                }
            }
            if let Some(why) = wamr_refused {
                notes.push(format!("No instruction counts for the wasm rows: {why}."));
            }
        }
        print_corpus(kind, n, events, o, &mut rows);
        for note in notes {
            println!("{note}\n");
        }
    }
    Ok(())
}

fn print_corpus(kind: &Kind, n: usize, events: usize, o: &Options, rows: &mut [Row]) {
    let medians: Vec<(String, f64)> = rows.iter().map(|r| (r.spec.name.clone(), median(&mut r.cpu.clone()))).collect();
    let of = |name: &str| medians.iter().find(|(n, _)| n == name).map(|m| m.1);
    let instr_of = |name: &str| rows.iter().find(|r| r.spec.name == name).and_then(|r| r.instructions);
    let aa = of("do-nothing, app heap (A/A)").zip(of("do-nothing, app heap")).map(|(b, a)| (b / a - 1.0).abs());
    println!("### {}: {} ({n} records, {events} event lines)\n", kind.name, kind.about);
    let cg = o.callgrind > 0;
    print!("| filter | median CPU s | min-max | vs its floor | target | peak RSS MiB |");
    if cg {
        print!(" instructions, {} records | vs its floor |", o.callgrind);
    }
    println!();
    println!("|---|---:|---|---:|---|---:|{}", if cg { "---:|---:|" } else { "" });
    for (row, (_, med)) in rows.iter().zip(&medians) {
        let lo = row.cpu.iter().copied().fold(f64::MAX, f64::min);
        let hi = row.cpu.iter().copied().fold(0.0, f64::max);
        let floor = row.spec.floor.as_deref().and_then(of);
        let ratio = floor.map(|f| med / f);
        let target = match row.spec.target {
            Target::Interpreted => Some(kind.targets.interpreted),
            Target::Mvp => kind.targets.mvp,
            Target::Aot => Some(kind.targets.aot),
            Target::None => None,
        }
        .filter(|t| t.is_finite());
        let verdict = match (ratio, target) {
            (Some(r), Some(t)) if r <= t => format!("<= {t:.2}: met"),
            (Some(r), Some(t)) if aa.is_some_and(|aa| r <= t + aa) => format!("<= {t:.2}: within A/A noise"),
            (Some(_), Some(t)) => format!("<= {t:.2}: MISSED"),
            _ => "-".into(),
        };
        print!(
            "| {} | {med:.2} | {lo:.2}-{hi:.2} | {} | {verdict} | {:.0} |",
            row.spec.name,
            ratio.map_or("-".into(), |r| format!("{r:.2}x")),
            row.rss_kib as f64 / 1024.0
        );
        if cg {
            let own = row.instructions;
            let base = row.spec.floor.as_deref().and_then(instr_of);
            print!(
                " {} | {} |",
                own.map_or("-".into(), |i| format!("{:.1} M", i as f64 / 1e6)),
                own.zip(base).map_or("-".into(), |(i, b)| format!("{:.3}x", i as f64 / b as f64))
            );
        }
        println!();
    }
    if let Some(aa) = aa {
        println!("\nA/A spread (the app-heap floor against itself): {:.1}%.", aa * 100.0);
    }
    if kind.storm {
        for row in rows.iter().filter(|r| r.spec.target == Target::Interpreted || r.spec.target == Target::Aot) {
            if let (Some(med), Some(floor)) = (of(&row.spec.name), row.spec.floor.as_deref().and_then(of)) {
                println!(
                    "\n{}: {:.1} us of CPU per event line over its floor (target <= 10 us interpreted).",
                    row.spec.name,
                    (med - floor) / events.max(1) as f64 * 1e6
                );
            }
        }
    }
    println!();
}
