//! resetwatch's benchmarks (`cargo xtask bench`): every figure is printed
//! next to a baseline measured in the same run, so the ratios mean something
//! on any machine.
//!
//! 1. wasm cost per record, deterministic: wasmtime fuel consumed inside the
//!    export (the host's copies not counted), for each kind of record, for
//!    both Fluent Bit modules and a do-nothing filter.
//! 2. native core throughput on a synthetic NATS log, against a loop that
//!    only splits the same text into lines.
//! 3. the size of every artifact in `dist/`.
//! 4. detector memory after a million distinct stream names, against the
//!    configured bound, with a counting allocator.
//!
//! `resetwatch-bench fluent-bit ...` measures the real host instead
//! (`fluent_bit.rs`, run by `cargo xtask bench --fluent-bit`).

mod fluent_bit;

use resetwatch::{Config, Filter};
use resetwatch_host::fluent_bit::{FluentBitHost, FluentBitOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

/// Counts live heap bytes, for the memory figure.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new(".")).to_path_buf()
}

/// nats-server's `yyyy/mm/dd hh:mm:ss.uuuuuu` for `i` milliseconds after
/// 2026-11-26T10:00:00Z: distinct, increasing times.
fn ts(i: usize) -> String {
    resetwatch_host::text::nats_time(1_795_687_200_000_000 + i as i64 * 1000)
}

/// [`ts`] as the RFC 3339 UTC time a wrapper prints.
fn rfc3339(i: usize) -> String {
    resetwatch::clock::rfc3339(1_795_687_200_000_000 + i as i64 * 1000, 0)
}

/// The ordinary NATS line of record `i`: an `[INF]` line of the corpus.
fn ordinary(i: usize) -> String {
    format!("[8368] {} [INF] 127.0.0.1:16222 - rid:19 - Route connection created", ts(i))
}

/// Makes the records of one kind from an index.
type Maker = Box<dyn Fn(usize) -> Vec<String>>;

/// The kinds of record measured, each a function of an index (distinct
/// times, so the detector's repeat filter does not short-cut anything).
fn kinds() -> Vec<(&'static str, Maker)> {
    vec![
        (
            "non-NATS line (120 B tail record)",
            Box::new(|i| {
                vec![format!(
                    r#"10.0.0.{} - - [26/Nov/2026:14:17:08 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29""#,
                    i % 10
                )]
            }),
        ),
        ("ordinary NATS line ([INF])", Box::new(|i| vec![ordinary(i)])),
        (
            "Kubernetes record, ordinary NATS line ([INF])",
            Box::new(|i| vec![fluent_bit::kubernetes_record(&rfc3339(i), &ordinary(i))]),
        ),
        ("rsyslog line, ordinary NATS line ([INF])", Box::new(|i| vec![fluent_bit::rsyslog_line(&rfc3339(i), &ordinary(i))])),
        (
            "journald short-iso line, ordinary NATS line ([INF])",
            Box::new(|i| vec![fluent_bit::journal_line(&rfc3339(i), &ordinary(i))]),
        ),
        (
            "NATS warning, not a loop ([WRN])",
            Box::new(|i| vec![format!("[8368] {} [WRN] JetStream has not established contact with a meta leader", ts(i))]),
        ),
        (
            "reset-loop line (apply error, reset)",
            Box::new(|i| {
                vec![
                    format!("[8368] {} [WRN] Error applying entries to '$G > ORDERS': catchup aborted, no leader for stream '$G > ORDERS'", ts(i * 5000)),
                    format!("[8368] {} [WRN] Resetting stream cluster state for '$G > ORDERS'", ts(i * 5000 + 1)),
                ]
            }),
        ),
    ]
}

/// Which lines of a kind a row reports: all of them, or only the one at
/// this place in each group `make` returns (the event line after its cause).
#[derive(Clone, Copy)]
enum Rows {
    All,
    Line(usize),
}

/// The event lines, one row each (issue 15: every kind of event line
/// within 5,000 fuel), and the storm: event lines over distinct streams.
fn event_kinds() -> Vec<(&'static str, Maker, Rows, usize)> {
    vec![
        (
            "event line: apply error (a reset cause)",
            Box::new(|i| {
                vec![
                    format!("[8368] {} [WRN] Error applying entries to '$G > ORDERS': catchup aborted, no leader for stream '$G > ORDERS'", ts(i * 5000)),
                    format!("[8368] {} [WRN] Resetting stream cluster state for '$G > ORDERS'", ts(i * 5000 + 1)),
                ]
            }),
            Rows::Line(0),
            1000,
        ),
        (
            "event line: reset (pairs with its cause; alerts included)",
            Box::new(|i| {
                vec![
                    format!("[8368] {} [WRN] Error applying entries to '$G > ORDERS': catchup aborted, no leader for stream '$G > ORDERS'", ts(i * 5000)),
                    format!("[8368] {} [WRN] Resetting stream cluster state for '$G > ORDERS'", ts(i * 5000 + 1)),
                ]
            }),
            Rows::Line(1),
            1000,
        ),
        (
            "event line: decline (`Will not reset stream`, disk full)",
            Box::new(|i| {
                vec![
                    format!("[8368] {} [WRN] Error applying entries to '$G > ORDERS': last sequence mismatch", ts(i * 5000)),
                    format!("[8368] {} [WRN] Will not reset stream '$G > ORDERS', server resources exceeded", ts(i * 5000 + 1)),
                ]
            }),
            Rows::Line(1),
            1000,
        ),
        (
            "event line: banner (Version, Name, ID, Max Storage)",
            Box::new(|i| {
                vec![
                    format!("[8368] {} [INF]   Version:  2.10.{}", ts(i * 10), 20 + i % 10),
                    format!("[8368] {} [INF]   Name:     nats-{}", ts(i * 10 + 1), i % 3),
                    format!("[8368] {} [INF]   ID:       NCXYZ{i}", ts(i * 10 + 2)),
                    format!("[8368] {} [INF]   Max Storage:     574.38 MB", ts(i * 10 + 3)),
                ]
            }),
            Rows::All,
            1000,
        ),
        (
            "storm: apply error + reset over 10,000 distinct streams",
            Box::new(|i| {
                vec![
                    format!("[8368] {} [WRN] Error applying entries to '$G > S{i}': catchup aborted, no leader for stream '$G > S{i}'", ts(i * 2)),
                    format!("[8368] {} [WRN] Resetting stream cluster state for '$G > S{i}'", ts(i * 2 + 1)),
                ]
            }),
            Rows::All,
            10_000,
        ),
    ]
}

fn record(line: &str) -> String {
    resetwatch_host::tail::record_json(line)
}

fn host(bytes: &[u8], lean: bool) -> anyhow::Result<FluentBitHost> {
    let mut opts = FluentBitOptions { fuel: true, accessible_paths: vec![], ..Default::default() };
    if lean {
        opts.wasm_heap_size = 16 << 20;
    }
    FluentBitHost::new(bytes, opts)
}

/// Mean fuel per record and mean record length over `n` records of a kind.
fn fuel(h: &mut FluentBitHost, make: &dyn Fn(usize) -> Vec<String>, n: usize) -> anyhow::Result<(f64, f64)> {
    fuel_of(h, make, n, Rows::All)
}

/// [`fuel`] over the lines `rows` picks (every line still goes through the filter).
fn fuel_of(h: &mut FluentBitHost, make: &dyn Fn(usize) -> Vec<String>, n: usize, rows: Rows) -> anyhow::Result<(f64, f64)> {
    // Warm up: the first call reads the configuration.
    h.call(b"nats.bench", 0, 0, b"{\"log\":\"warm-up\"}")?;
    let (mut total, mut bytes, mut count) = (0u64, 0usize, 0usize);
    for i in 0..n {
        for (k, line) in make(i).into_iter().enumerate() {
            // A maker of whole records (Kubernetes) starts them with `{`,
            // which no log line here does.
            let rec = if line.starts_with('{') { line } else { record(&line) };
            let r = h.call(b"nats.bench", 1_764_166_628 + i as i64, 0, rec.as_bytes())?;
            anyhow::ensure!(!r.outcome.is_dropped(), "record dropped: {:?}", r.outcome);
            if matches!(rows, Rows::Line(j) if j != k) {
                continue;
            }
            total += r.fuel.unwrap_or(0);
            bytes += rec.len();
            count += 1;
        }
    }
    Ok((total as f64 / count as f64, bytes as f64 / count as f64))
}

fn wasm_cost() -> anyhow::Result<()> {
    let dist = root().join("dist");
    let full = std::fs::read(dist.join("resetwatch.wasm"))?;
    let lean = std::fs::read(dist.join("resetwatch-lean.wasm"))?;
    let mvp = std::fs::read(dist.join("resetwatch-mvp.wasm"))?;
    let nothing = resetwatch_host::fluent_bit::do_nothing_module()?;
    println!("## wasm cost per record (wasmtime fuel inside the export, mean per record: 1000 of each kind, 1000 groups of each event kind, the storm 10,000)\n");
    println!("| record | bytes | do-nothing | resetwatch-lean.wasm | per byte | resetwatch.wasm | per byte | resetwatch-mvp.wasm | lean target |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for (i, (name, make)) in kinds().into_iter().enumerate() {
        let (base, len) = fuel(&mut host(&nothing, false)?, &*make, 1000)?;
        let (l, _) = fuel(&mut host(&lean, true)?, &*make, 1000)?;
        let (f, _) = fuel(&mut host(&full, false)?, &*make, 1000)?;
        let (m, _) = fuel(&mut host(&mvp, false)?, &*make, 1000)?;
        let target = match i {
            0 | 1 => format!("<= 1/B: {}", if l / len <= 1.0 { "met" } else { "MISSED" }),
            5 => format!("<= 3/B: {}", if l / len <= 3.0 { "met" } else { "MISSED" }),
            _ => "-".to_string(),
        };
        println!("| {name} | {len:.0} | {base:.0} | {l:.0} | {:.2} | {f:.0} | {:.2} | {m:.0} | {target} |", l / len, f / len);
    }
    for (name, make, rows, n) in event_kinds() {
        let (base, len) = fuel_of(&mut host(&nothing, false)?, &*make, n, rows)?;
        let (l, _) = fuel_of(&mut host(&lean, true)?, &*make, n, rows)?;
        let (f, _) = fuel_of(&mut host(&full, false)?, &*make, n, rows)?;
        let (m, _) = fuel_of(&mut host(&mvp, false)?, &*make, n, rows)?;
        let target = format!("<= 5,000: {}", if l <= 5000.0 { "met" } else { "MISSED" });
        println!("| {name} | {len:.0} | {base:.0} | {l:.0} | {:.2} | {f:.0} | {:.2} | {m:.0} | {target} |", l / len, f / len);
    }
    println!();
    Ok(())
}

/// The synthetic log: `scripts/gen-nats-log.py` output, made on demand.
fn synthetic_log(lines: usize) -> anyhow::Result<Vec<u8>> {
    let path = root().join("target").join(format!("bench-nats-{lines}.log"));
    if !path.exists() {
        let status = std::process::Command::new("python3")
            .arg(root().join("scripts/gen-nats-log.py"))
            .args(["--lines", &lines.to_string(), "--out"])
            .arg(&path)
            .status()?;
        anyhow::ensure!(status.success(), "scripts/gen-nats-log.py failed");
    }
    Ok(std::fs::read(path)?)
}

fn throughput() -> anyhow::Result<()> {
    const LINES: usize = 2_000_000;
    let text = synthetic_log(LINES)?;
    let best = |f: &mut dyn FnMut() -> usize| {
        let mut best = f64::MAX;
        let mut n = 0;
        for _ in 0..3 {
            let t = Instant::now();
            n = f();
            best = best.min(t.elapsed().as_secs_f64());
        }
        (n, best)
    };
    // Baseline: only split into lines and touch each line's first byte.
    let (n, base) = best(&mut || text.split(|&c| c == b'\n').filter(|l| l.first() == Some(&b'[')).count());
    let (_, ours) = best(&mut || {
        let mut f = Filter::new(Config::default());
        let mut events = 0;
        for l in text.split(|&c| c == b'\n') {
            events += (f.ingest_line("n1", 0, l) == resetwatch::Seen::Event) as usize;
        }
        events
    });
    let records: Vec<String> = text.split(|&c| c == b'\n').map(|l| record(&String::from_utf8_lossy(l))).collect();
    let (_, recs) = best(&mut || {
        let mut f = Filter::new(Config::default());
        let mut out = Vec::new();
        records.iter().filter(|r| f.filter_one("nats.n1", 0, r.as_bytes(), &mut out)).count()
    });
    println!("## native core throughput (one core, {n} lines from scripts/gen-nats-log.py, best of 3)\n");
    println!("| path | lines/s | vs split-only baseline |");
    println!("|---|---:|---:|");
    println!("| baseline: split into lines | {:.1} M | 1.00x |", n as f64 / base / 1e6);
    println!("| `Filter::ingest_line` (raw lines) | {:.1} M | {:.2}x the time |", n as f64 / ours / 1e6, ours / base);
    println!(
        "| `Filter::filter_one` (`{{\"log\":...}}` records) | {:.1} M | {:.2}x the time |",
        n as f64 / recs / 1e6,
        recs / base
    );
    println!();
    Ok(())
}

fn sizes() -> anyhow::Result<()> {
    println!("## artifact sizes (dist/)\n");
    println!("| file | bytes | Fluent Bit target (< 300 KB) |");
    println!("|---|---:|---|");
    let mut entries: Vec<_> = std::fs::read_dir(root().join("dist"))?.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".wasm") {
            continue;
        }
        let len = e.metadata()?.len();
        let fb = matches!(name.as_str(), "resetwatch.wasm" | "resetwatch-lean.wasm" | "resetwatch-mvp.wasm");
        let verdict = if !fb {
            "-"
        } else if len < 300_000 {
            "met"
        } else {
            "MISSED"
        };
        println!("| {name} | {len} | {verdict} |");
    }
    println!();
    Ok(())
}

fn memory() {
    const NAMES: usize = 1_000_000;
    let cfg = Config::default();
    let bound = cfg.max_keys;
    let before = LIVE.load(Ordering::Relaxed);
    let mut f = Filter::new(cfg);
    let empty = LIVE.load(Ordering::Relaxed) - before;
    let mut peak = 0;
    for i in 0..NAMES {
        let l = format!("[1] {} [WRN] Error applying entries to 'ACC{} > S{i}': last sequence mismatch", ts(i), i % 97);
        f.ingest_line("n1", 0, l.as_bytes());
        if i % 10_000 == 0 {
            peak = peak.max(LIVE.load(Ordering::Relaxed) - before);
        }
    }
    let live = LIVE.load(Ordering::Relaxed) - before;
    let d = f.tracker();
    println!("## detector memory, {NAMES} distinct (account, stream) names on one source\n");
    println!("| measure | value |");
    println!("|---|---:|");
    println!("| empty filter | {} KiB |", empty / 1024);
    println!("| streams tracked / bound (`max_keys`) | {} / {bound} |", d.tracked_streams());
    println!("| evictions | {} |", d.stats.evicted_streams);
    println!("| live heap after | {:.1} MiB |", live as f64 / 1048576.0);
    println!("| peak live heap (sampled) | {:.1} MiB |", peak as f64 / 1048576.0);
    println!("| per tracked stream | {} B |", live as usize / d.tracked_streams().max(1));
    println!();
}

fn main() -> anyhow::Result<()> {
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64);
    let day = &resetwatch::clock::rfc3339(now, 0)[..10];
    println!("# resetwatch benchmarks\n\nMachine: {machine}, {cores} cores; {day}. Produced by `cargo xtask bench`.\n");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("fluent-bit") {
        let o = fluent_bit::Options::parse(&args[1..], &root()).map_err(anyhow::Error::msg)?;
        return fluent_bit::run(&o).map_err(anyhow::Error::msg);
    }
    // `resetwatch-bench fuel`: the wasm costs only (quick, deterministic).
    if std::env::args().nth(1).as_deref() == Some("fuel") {
        return wasm_cost();
    }
    sizes()?;
    wasm_cost()?;
    throughput()?;
    memory();
    Ok(())
}
