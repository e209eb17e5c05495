//! A stand-in for Fluent Bit's `filter_wasm` (JSON mode) on wasmtime.
//!
//! No registry ships Fluent Bit or WAMR, so tests and replays cannot run the
//! real host. This module calls a wasip1 module the way Fluent Bit 4.1+ does
//! (see docs/design/hosts.md#fluent-bit-filter_wasm), including the parts that lose
//! records: the 8 KiB app heap that hands the guest pointer 0 when a record
//! does not fit, and the rule that every guest failure drops the record.
//!
//! What it reproduces:
//! - the export `(tag, tag_len, time_sec, time_nsec, record, record_len) -> ptr`
//!   with NUL-terminated copies of tag and record (lengths exclude the NUL),
//!   times truncated to u32;
//! - copying through the guest allocator (`malloc`/`free`, or WAMR's
//!   `__new`/`__pin`/`__unpin`) when exported, else through an emulated WAMR
//!   app heap appended to linear memory, sized as WAMR sizes it from
//!   `wasm_heap_size` ([`wamr_app_heap_size`]);
//! - result handling: NULL, invalid pointer, empty string, non-object JSON and
//!   traps all drop the record; a trap keeps the instance;
//! - instance lifecycle: one instance per process (>= 4.1) or per chunk
//!   (2.0 - 4.0.x);
//! - WASI preview 1 with empty args and env and `Accessible_Paths` preopened in
//!   order under the path as written;
//! - WAMR's feature set as Fluent Bit builds it (no SIMD, threads, exceptions,
//!   tail calls, memory64, multi-memory, GC), so wasmtime refuses what WAMR
//!   refuses.
//!
//! What it does not: WAMR's interpreter stack limit (`Wasm_Stack_Size`) and
//! its exact allocator layout. Check those statically (`wasm_check`) and keep
//! the per-record path shallow.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use anyhow::{anyhow, Context as _, Result};
use wasmtime::{Config, Engine, InstancePre, Linker, Memory, Module, Store, TypedFunc};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// Fluent Bit's `Function_Name` as used by this project.
pub const DEFAULT_FUNCTION_NAME: &str = "resetwatch_filter";
/// Fluent Bit's default `Wasm_Heap_Size` (8 KiB).
pub const DEFAULT_WASM_HEAP_SIZE: u32 = 8192;
/// Per-allocation overhead of the emulated app heap, close to WAMR's.
pub const APP_HEAP_HEADER: u32 = 8;
/// Fuel given to each export call when fuel metering is on.
pub const FUEL_BUDGET: u64 = 1 << 40;
/// Default cap on captured guest stdout/stderr (the rest is discarded).
pub const DEFAULT_CAPTURE_LIMIT: usize = 1 << 20;

const WASM_PAGE: u64 = 65536;

/// A do-nothing filter: it answers with the host's own record pointer, so
/// the record goes on exactly as the host rendered it. The floor for
/// benchmarks and, in real Fluent Bit, the output every record must match
/// byte for byte (the host's JSON round trip is the same for any filter).
/// No allocator exports: load it with a `Wasm_Heap_Size` larger than any
/// record (WAMR copies records into its app heap).
pub const DO_NOTHING_WAT: &str = r#"(module (memory (export "memory") 1)
  (func (export "resetwatch_filter") (param i32 i32 i32 i32 i32 i32) (result i32) local.get 4))"#;

/// [`DO_NOTHING_WAT`] assembled into a `.wasm` binary.
pub fn do_nothing_module() -> Result<Vec<u8>> {
    wat::parse_str(DO_NOTHING_WAT).map_err(|e| anyhow!("the do-nothing filter does not assemble: {e}"))
}

/// When the module is instantiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Fluent Bit >= 4.1: one instance per filter for the life of the process;
    /// module memory persists across chunks.
    PerProcess,
    /// Fluent Bit 2.0 - 4.0.x: a fresh instance for every chunk; in-memory
    /// state is lost between chunks. Call [`FluentBitHost::new_chunk`].
    PerChunk,
}

/// The filter's configuration, mirroring Fluent Bit's `filter_wasm` keys.
#[derive(Debug, Clone)]
pub struct FluentBitOptions {
    /// `Function_Name`.
    pub function_name: String,
    /// `Wasm_Heap_Size`: size of WAMR's app heap, used only when the module
    /// exports no allocator.
    pub wasm_heap_size: u32,
    /// `Accessible_Paths`, preopened in order (fds 3, 4, ...); the guest sees
    /// each under the path exactly as written (e.g. `.` or `/etc/resetwatch`).
    pub accessible_paths: Vec<PathBuf>,
    /// Meter the export call with wasmtime fuel and report the consumption.
    pub fuel: bool,
    pub lifecycle: Lifecycle,
    /// Also write guest stdout / stderr to this process's (it is always
    /// captured, up to `capture_limit` bytes). Fluent Bit inherits both.
    pub inherit_stdout: bool,
    pub inherit_stderr: bool,
    pub capture_limit: usize,
    /// Load only WebAssembly MVP modules (no sign-ext, bulk memory,
    /// reference types, ...), as the oldest Fluent Bit releases' WAMR: a
    /// module that uses more is refused by [`FluentBitHost::new`].
    pub mvp_only: bool,
}

impl Default for FluentBitOptions {
    fn default() -> Self {
        FluentBitOptions {
            function_name: DEFAULT_FUNCTION_NAME.to_string(),
            wasm_heap_size: DEFAULT_WASM_HEAP_SIZE,
            // Fluent Bit's default `Accessible_Paths` is `.`.
            accessible_paths: vec![PathBuf::from(".")],
            fuel: false,
            lifecycle: Lifecycle::PerProcess,
            inherit_stdout: false,
            inherit_stderr: false,
            capture_limit: DEFAULT_CAPTURE_LIMIT,
            mvp_only: false,
        }
    }
}

/// Why the host dropped a record. Every variant means the record is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// The guest returned pointer 0.
    NullPointer,
    /// The returned pointer is outside linear memory, or no NUL follows it.
    InvalidPointer,
    /// The guest returned an empty string (the documented way to drop).
    Empty,
    /// The returned text is not a JSON object (invalid JSON included).
    NotAnObject,
    /// The guest trapped (also: ran out of fuel, called `proc_exit`).
    Trap(String),
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::NullPointer => f.write_str("guest returned a NULL pointer"),
            DropReason::InvalidPointer => f.write_str(
                "guest returned an invalid pointer (out of bounds or not NUL-terminated)",
            ),
            DropReason::Empty => f.write_str("guest returned an empty string"),
            DropReason::NotAnObject => {
                f.write_str("guest returned something that is not a JSON object")
            }
            DropReason::Trap(msg) => write!(f, "guest trapped: {msg}"),
        }
    }
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The JSON object text (without the NUL) that replaces the record.
    Output(Vec<u8>),
    Dropped(DropReason),
}

impl Outcome {
    pub fn output(&self) -> Option<&[u8]> {
        match self {
            Outcome::Output(bytes) => Some(bytes),
            Outcome::Dropped(_) => None,
        }
    }

    pub fn is_dropped(&self) -> bool {
        matches!(self, Outcome::Dropped(_))
    }
}

/// The result of one call, with what the host saw along the way.
#[derive(Debug, Clone)]
pub struct CallResult {
    pub outcome: Outcome,
    /// Fuel consumed by the export call alone (not the allocator copies);
    /// `None` when fuel metering is off.
    pub fuel: Option<u64>,
    /// Guest address of the tag / record copy passed to the guest; 0 when the
    /// copy could not be allocated (the lengths passed stay the real ones).
    pub tag_ptr: u32,
    pub record_ptr: u32,
    /// The guest answered with the host's own record pointer: the record
    /// passes on byte-identical (whatever `outcome` makes of its text).
    pub returned_record: bool,
    /// Host-side warnings, e.g. Fluent Bit's `allocate N bytes memory failed`.
    pub warnings: Vec<String>,
}

/// How tag and record get into guest memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMode {
    /// Exported `malloc(size) -> ptr` and `free(ptr)`.
    GuestMalloc,
    /// WAMR's alternative names: `__new(size, id) -> ptr`, `__pin(ptr) -> ptr`,
    /// `__unpin(ptr)`.
    GuestNew,
    /// No allocator exports: WAMR's app heap of `size` bytes at `base`.
    AppHeap { base: u32, size: u32 },
}

/// One Fluent Bit `wasm` filter instance on wasmtime.
pub struct FluentBitHost {
    options: FluentBitOptions,
    /// The app heap WAMR really makes of `wasm_heap_size` for this module.
    app_heap_size: u32,
    pre: InstancePre<HostState>,
    live: Live,
    stdout: CaptureStream,
    stderr: CaptureStream,
    instantiations: u64,
    calls_since_instantiation: u64,
}

struct HostState {
    wasi: WasiP1Ctx,
}

/// The current instance.
struct Live {
    store: Store<HostState>,
    memory: Memory,
    filter: TypedFunc<(i32, i32, i32, i32, i32, i32), i32>,
    copier: Copier,
}

enum Copier {
    Malloc {
        malloc: TypedFunc<i32, i32>,
        free: TypedFunc<i32, ()>,
    },
    New {
        new: TypedFunc<(i32, i32), i32>,
        pin: TypedFunc<i32, i32>,
        unpin: TypedFunc<i32, ()>,
    },
    AppHeap(AppHeap),
}

impl FluentBitHost {
    /// Compiles `wasm` (a core module, binary format) and instantiates it.
    pub fn new(wasm: &[u8], options: FluentBitOptions) -> Result<Self> {
        let engine = Engine::new(&wamr_like_config(options.fuel, options.mvp_only))?;
        let module = wt(Module::new(&engine, wasm)).context(
            "cannot compile the module with the wasm features of Fluent Bit's WAMR build \
             (no SIMD, threads, exceptions, tail calls, memory64, multi-memory, GC)",
        )?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut HostState| &mut s.wasi)?;
        let pre = wt(linker.instantiate_pre(&module)).context(
            "cannot link the module's imports (Fluent Bit provides only WASI preview 1)",
        )?;
        let stdout = CaptureStream::new(
            options.capture_limit,
            options.inherit_stdout.then_some(HostStream::Stdout),
        );
        let stderr = CaptureStream::new(
            options.capture_limit,
            options.inherit_stderr.then_some(HostStream::Stderr),
        );
        let app_heap_size = wamr_app_heap_size(wasm, options.wasm_heap_size)?;
        let live = instantiate(&pre, &options, app_heap_size, &stdout, &stderr)?;
        Ok(FluentBitHost {
            options,
            app_heap_size,
            pre,
            live,
            stdout,
            stderr,
            instantiations: 1,
            calls_since_instantiation: 0,
        })
    }

    /// Reads and loads a `.wasm` file.
    pub fn from_file(path: impl AsRef<Path>, options: FluentBitOptions) -> Result<Self> {
        let path = path.as_ref();
        let wasm =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::new(&wasm, options).with_context(|| format!("cannot load {}", path.display()))
    }

    pub fn options(&self) -> &FluentBitOptions {
        &self.options
    }

    /// How records are copied into the current instance.
    pub fn copy_mode(&self) -> CopyMode {
        match &self.live.copier {
            Copier::Malloc { .. } => CopyMode::GuestMalloc,
            Copier::New { .. } => CopyMode::GuestNew,
            Copier::AppHeap(heap) => CopyMode::AppHeap {
                base: heap.base,
                size: heap.size,
            },
        }
    }

    /// How many times the module has been instantiated.
    pub fn instantiations(&self) -> u64 {
        self.instantiations
    }

    /// Marks the start of a new chunk. With [`Lifecycle::PerChunk`] the next
    /// call runs in a fresh instance (as Fluent Bit 2.0 - 4.0.x does); with
    /// `PerProcess` this does nothing. An instance no record has gone
    /// through yet is kept (it is as fresh as a new one).
    pub fn new_chunk(&mut self) -> Result<()> {
        if self.options.lifecycle == Lifecycle::PerChunk && self.calls_since_instantiation > 0 {
            self.live = instantiate(&self.pre, &self.options, self.app_heap_size, &self.stdout, &self.stderr)?;
            self.instantiations += 1;
            self.calls_since_instantiation = 0;
        }
        Ok(())
    }

    /// Calls the filter on one record as Fluent Bit does. `Err` only for
    /// host-side failures; everything the guest can cause is in the outcome.
    pub fn call(
        &mut self,
        tag: &[u8],
        time_sec: i64,
        time_nsec: u32,
        record: &[u8],
    ) -> Result<CallResult> {
        self.calls_since_instantiation += 1;
        let fuel_on = self.options.fuel;
        let live = &mut self.live;
        let mut warnings = Vec::new();

        let tag_ptr = live.copy_in(tag, fuel_on, &mut warnings)?;
        let record_ptr = live.copy_in(record, fuel_on, &mut warnings)?;

        if fuel_on {
            live.store.set_fuel(FUEL_BUDGET)?;
        }
        let args = (
            tag_ptr as i32,
            len_i32(tag)?,
            time_sec as u32 as i32,
            time_nsec as i32,
            record_ptr as i32,
            len_i32(record)?,
        );
        let ret = live.filter.call(&mut live.store, args);
        let fuel = if fuel_on {
            Some(FUEL_BUDGET - live.store.get_fuel()?)
        } else {
            None
        };
        let returned_record = matches!(ret, Ok(ptr) if record_ptr != 0 && ptr as u32 == record_ptr);
        let outcome = match ret {
            Ok(ptr) => read_result(live.memory.data(&live.store), ptr as u32),
            Err(err) => Outcome::Dropped(DropReason::Trap(trap_message(&err))),
        };

        // Free after the result has been copied: it may point into the record.
        live.free(record_ptr, fuel_on, &mut warnings)?;
        live.free(tag_ptr, fuel_on, &mut warnings)?;

        Ok(CallResult {
            outcome,
            fuel,
            tag_ptr,
            record_ptr,
            returned_record,
            warnings,
        })
    }

    /// Convenience: the outcome for one record with a UTF-8 tag.
    pub fn filter_record(
        &mut self,
        tag: &str,
        time_sec: i64,
        time_nsec: u32,
        record: &[u8],
    ) -> Result<Outcome> {
        Ok(self
            .call(tag.as_bytes(), time_sec, time_nsec, record)?
            .outcome)
    }

    /// Guest stdout captured so far (across instances).
    pub fn guest_stdout(&self) -> Vec<u8> {
        self.stdout.contents()
    }

    /// Guest stderr captured so far (across instances).
    pub fn guest_stderr(&self) -> Vec<u8> {
        self.stderr.contents()
    }

    /// Returns and clears the captured guest stdout.
    pub fn take_guest_stdout(&mut self) -> Vec<u8> {
        self.stdout.take()
    }

    /// Returns and clears the captured guest stderr.
    pub fn take_guest_stderr(&mut self) -> Vec<u8> {
        self.stderr.take()
    }

    /// Returns and clears the guest stderr lines that report a problem:
    /// all but the once-per-source notice of event lines read behind an
    /// unknown prefix (wasm/src/fluent_bit.rs), which is information.
    pub fn take_guest_problems(&mut self) -> Vec<String> {
        let err = String::from_utf8_lossy(&self.take_guest_stderr()).into_owned();
        err.lines()
            .filter(|l| !(l.starts_with("[resetwatch] source ") && l.contains("behind a prefix resetwatch does not know")))
            .map(str::to_string)
            .collect()
    }

    /// The current instance's linear memory (for tests and diagnostics).
    pub fn memory(&self) -> &[u8] {
        self.live.memory.data(&self.live.store)
    }
}

/// wasmtime configured with the proposals Fluent Bit's WAMR build has: MVP
/// plus the post-MVP features rustc emits (bulk memory, reference types,
/// multi-value, sign-ext, saturating float-to-int, mutable globals).
/// With `mvp_only`, every post-MVP proposal is off (older Fluent Bit).
fn wamr_like_config(fuel: bool, mvp_only: bool) -> Config {
    let mut config = Config::new();
    let off = if mvp_only {
        wasmparser::WasmFeatures::all().difference(wasmparser::WasmFeatures::MVP)
    } else {
        crate::wasm_check::wamr_disabled_features()
    };
    config.consume_fuel(fuel).wasm_features(off, false);
    config
}

/// The app heap WAMR (Fluent Bit 4.1+, WAMR 2.4.1: `memory_instantiate`)
/// makes of a `Wasm_Heap_Size` of `configured` bytes for a module without
/// allocator exports. Seen in Fluent Bit 5.1.1: a do-nothing filter with
/// one page of memory drops a 9 KB record on the default 8 KiB heap, while
/// rustc's lean module takes records up to about 64 KB. WAMR:
/// - a memory of exactly one page that cannot grow (no maximum above 1 and
///   no `memory.grow`, which WAMR reads as maximum = initial) gets the heap
///   appended as is;
/// - a module that exports `__heap_base` gets it inserted there, as is;
/// - any other gets whole new 64 KiB pages for it, less 1 KiB: 8 KiB
///   becomes 63 KiB (rustc's cdylibs export no `__heap_base`).
pub fn wamr_app_heap_size(wasm: &[u8], configured: u32) -> Result<u32> {
    if configured == 0 {
        return Ok(0);
    }
    let (mut initial, mut maximum, mut grows, mut heap_base) = (0u64, None, false, false);
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload? {
            wasmparser::Payload::MemorySection(memories) => {
                if let Some(m) = memories.into_iter().next() {
                    let m = m?;
                    (initial, maximum) = (m.initial, m.maximum);
                }
            }
            wasmparser::Payload::ExportSection(exports) => {
                for e in exports {
                    let e = e?;
                    heap_base |= e.name == "__heap_base" && e.kind == wasmparser::ExternalKind::Global;
                }
            }
            wasmparser::Payload::CodeSectionEntry(body) => {
                let mut ops = body.get_operators_reader()?;
                while !ops.eof() {
                    grows |= matches!(ops.read()?, wasmparser::Operator::MemoryGrow { .. });
                }
            }
            _ => {}
        }
    }
    let maximum = maximum.unwrap_or(if grows { 65536 } else { initial });
    if (initial == 1 && maximum == 1) || heap_base {
        return Ok(configured);
    }
    let pages = u64::from(configured).div_ceil(WASM_PAGE);
    u32::try_from(pages * WASM_PAGE - 1024).map_err(|_| anyhow!("a {configured}-byte app heap does not fit in wasm32"))
}

fn instantiate(
    pre: &InstancePre<HostState>,
    options: &FluentBitOptions,
    app_heap_size: u32,
    stdout: &CaptureStream,
    stderr: &CaptureStream,
) -> Result<Live> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.allow_blocking_current_thread(true)
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    for dir in &options.accessible_paths {
        let guest = dir
            .to_str()
            .ok_or_else(|| anyhow!("accessible path {} is not UTF-8", dir.display()))?;
        wt(wasi
            .preopened_dir(dir, guest, FsPerms::ReadWrite)
            .map(|_| ()))
        .with_context(|| format!("cannot open accessible path {}", dir.display()))?;
    }
    let mut store = Store::new(
        pre.module().engine(),
        HostState {
            wasi: wasi.build_p1(),
        },
    );
    if options.fuel {
        store.set_fuel(FUEL_BUDGET)?;
    }
    let instance = wt(pre.instantiate(&mut store)).context("instantiation failed")?;

    let memory = instance
        .get_memory(&mut store, "memory")
        .ok_or_else(|| anyhow!("the module does not export its linear memory as `memory`"))?;
    let filter = instance
        .get_typed_func::<(i32, i32, i32, i32, i32, i32), i32>(&mut store, &options.function_name)
        .map_err(anyhow::Error::from)
        .with_context(|| {
            format!(
                "the module must export `{}` with type (i32, i32, i32, i32, i32, i32) -> i32",
                options.function_name
            )
        })?;

    // WAMR looks allocators up by name and type; a wrong type means "absent".
    let malloc = (
        instance.get_typed_func::<i32, i32>(&mut store, "malloc"),
        instance.get_typed_func::<i32, ()>(&mut store, "free"),
    );
    let new = (
        instance.get_typed_func::<(i32, i32), i32>(&mut store, "__new"),
        instance.get_typed_func::<i32, i32>(&mut store, "__pin"),
        instance.get_typed_func::<i32, ()>(&mut store, "__unpin"),
    );
    let copier = match (malloc, new) {
        ((Ok(malloc), Ok(free)), _) => Copier::Malloc { malloc, free },
        (_, (Ok(new), Ok(pin), Ok(unpin))) => Copier::New { new, pin, unpin },
        // WAMR inserts the app heap while instantiating, before `_initialize`.
        _ => Copier::AppHeap(AppHeap::append_to(
            &memory,
            &mut store,
            app_heap_size,
        )?),
    };

    // Reactor modules (wasi-libc's crt1-reactor) need `_initialize`.
    if let Ok(init) = instance.get_typed_func::<(), ()>(&mut store, "_initialize") {
        init.call(&mut store, ())
            .map_err(|e| anyhow!("`_initialize` failed: {}", trap_message(&e)))?;
    }

    Ok(Live {
        store,
        memory,
        filter,
        copier,
    })
}

impl Live {
    /// Copies `bytes` plus a NUL into guest memory; 0 if allocation fails.
    fn copy_in(&mut self, bytes: &[u8], fuel_on: bool, warnings: &mut Vec<String>) -> Result<u32> {
        let size =
            u32::try_from(bytes.len() + 1).map_err(|_| anyhow!("record too large for wasm32"))?;
        let ptr = match &mut self.copier {
            Copier::AppHeap(heap) => heap.alloc(size).unwrap_or(0),
            Copier::Malloc { malloc, .. } => {
                let malloc = malloc.clone();
                refuel(&mut self.store, fuel_on)?;
                match malloc.call(&mut self.store, size as i32) {
                    Ok(p) => p as u32,
                    Err(e) => {
                        warnings.push(format!("guest malloc trapped: {}", trap_message(&e)));
                        0
                    }
                }
            }
            Copier::New { new, pin, .. } => {
                let (new, pin) = (new.clone(), pin.clone());
                refuel(&mut self.store, fuel_on)?;
                match new.call(&mut self.store, (size as i32, 0)) {
                    Ok(0) => 0,
                    Ok(p) => match pin.call(&mut self.store, p) {
                        Ok(_) => p as u32,
                        Err(e) => {
                            warnings.push(format!("guest __pin trapped: {}", trap_message(&e)));
                            0
                        }
                    },
                    Err(e) => {
                        warnings.push(format!("guest __new trapped: {}", trap_message(&e)));
                        0
                    }
                }
            }
        };
        if ptr == 0 {
            // Fluent Bit logs this and calls the guest anyway with pointer 0.
            warnings.push(format!("allocate {size} bytes memory failed"));
            return Ok(0);
        }
        let mem = self.memory.data_mut(&mut self.store);
        let start = ptr as usize;
        let Some(dst) = mem.get_mut(start..start + bytes.len() + 1) else {
            warnings.push(format!(
                "guest allocator returned out-of-bounds pointer {ptr:#x}"
            ));
            return Ok(0);
        };
        dst[..bytes.len()].copy_from_slice(bytes);
        dst[bytes.len()] = 0;
        Ok(ptr)
    }

    fn free(&mut self, ptr: u32, fuel_on: bool, warnings: &mut Vec<String>) -> Result<()> {
        if ptr == 0 {
            return Ok(());
        }
        let res = match &mut self.copier {
            Copier::AppHeap(heap) => {
                heap.free(ptr);
                return Ok(());
            }
            Copier::Malloc { free, .. } => {
                let free = free.clone();
                refuel(&mut self.store, fuel_on)?;
                free.call(&mut self.store, ptr as i32)
            }
            Copier::New { unpin, .. } => {
                let unpin = unpin.clone();
                refuel(&mut self.store, fuel_on)?;
                unpin.call(&mut self.store, ptr as i32)
            }
        };
        if let Err(e) = res {
            warnings.push(format!("guest free trapped: {}", trap_message(&e)));
        }
        Ok(())
    }
}

fn refuel(store: &mut Store<HostState>, fuel_on: bool) -> Result<()> {
    if fuel_on {
        store.set_fuel(FUEL_BUDGET)?;
    }
    Ok(())
}

fn len_i32(bytes: &[u8]) -> Result<i32> {
    i32::try_from(bytes.len())
        .map_err(|_| anyhow!("record of {} bytes is too large for wasm32", bytes.len()))
}

/// Applies Fluent Bit's checks to the returned pointer.
fn read_result(mem: &[u8], ptr: u32) -> Outcome {
    if ptr == 0 {
        return Outcome::Dropped(DropReason::NullPointer);
    }
    let Some(tail) = mem.get(ptr as usize..) else {
        return Outcome::Dropped(DropReason::InvalidPointer);
    };
    let Some(len) = tail.iter().position(|&b| b == 0) else {
        return Outcome::Dropped(DropReason::InvalidPointer);
    };
    let text = &tail[..len];
    if text.is_empty() {
        return Outcome::Dropped(DropReason::Empty);
    }
    match serde_json::from_slice::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Outcome::Output(text.to_vec()),
        _ => Outcome::Dropped(DropReason::NotAnObject),
    }
}

/// A one-line description of a guest failure.
fn trap_message(err: &wasmtime::Error) -> String {
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return format!("guest called proc_exit({})", exit.0);
    }
    if let Some(trap) = err.downcast_ref::<wasmtime::Trap>() {
        return trap.to_string();
    }
    err.to_string()
}

/// wasmtime has its own error type; convert to add anyhow context.
fn wt<T>(result: wasmtime::Result<T>) -> Result<T> {
    result.map_err(anyhow::Error::from)
}

/// WAMR's app heap, emulated host-side: a region appended to linear memory
/// and managed first-fit with a small header per allocation, so a record of
/// about `Wasm_Heap_Size` bytes does not fit.
struct AppHeap {
    base: u32,
    size: u32,
    /// Free blocks: offset -> length (relative to `base`), coalesced.
    free: BTreeMap<u32, u32>,
    /// Live allocations: user pointer -> (block offset, block length).
    used: BTreeMap<u32, (u32, u32)>,
}

impl AppHeap {
    fn append_to(memory: &Memory, store: &mut Store<HostState>, size: u32) -> Result<Self> {
        let base_bytes = memory.data_size(&*store) as u64;
        let pages = (size as u64).div_ceil(WASM_PAGE);
        if pages > 0 {
            wt(memory.grow(&mut *store, pages)).with_context(|| {
                format!("cannot grow linear memory by {pages} pages for a {size}-byte app heap")
            })?;
        }
        let base = u32::try_from(base_bytes)
            .map_err(|_| anyhow!("linear memory too large for an app heap"))?;
        let mut free = BTreeMap::new();
        if size > 0 {
            free.insert(0, size);
        }
        Ok(AppHeap {
            base,
            size,
            free,
            used: BTreeMap::new(),
        })
    }

    /// First fit; `None` when no free block is large enough.
    fn alloc(&mut self, size: u32) -> Option<u32> {
        let need = size.checked_add(7)? / 8 * 8 + APP_HEAP_HEADER;
        let (&off, &len) = self.free.iter().find(|(_, &len)| len >= need)?;
        self.free.remove(&off);
        if len > need {
            self.free.insert(off + need, len - need);
        }
        let ptr = self.base + off + APP_HEAP_HEADER;
        self.used.insert(ptr, (off, need));
        Some(ptr)
    }

    fn free(&mut self, ptr: u32) {
        let Some((mut off, mut len)) = self.used.remove(&ptr) else {
            return;
        };
        // Coalesce with the following and the preceding free block.
        if let Some(next_len) = self.free.remove(&(off + len)) {
            len += next_len;
        }
        if let Some((&prev_off, &prev_len)) = self.free.range(..off).next_back() {
            if prev_off + prev_len == off {
                self.free.remove(&prev_off);
                off = prev_off;
                len += prev_len;
            }
        }
        self.free.insert(off, len);
    }
}

/// Where captured guest output is also forwarded.
#[derive(Debug, Clone, Copy)]
enum HostStream {
    Stdout,
    Stderr,
}

/// A guest stdout/stderr that keeps the first `limit` bytes and optionally
/// forwards everything to this process's stream.
#[derive(Clone)]
struct CaptureStream {
    buffer: Arc<Mutex<Vec<u8>>>,
    limit: usize,
    forward: Option<HostStream>,
}

impl CaptureStream {
    fn new(limit: usize, forward: Option<HostStream>) -> Self {
        CaptureStream {
            buffer: Arc::new(Mutex::new(Vec::new())),
            limit,
            forward,
        }
    }

    fn write_bytes(&self, bytes: &[u8]) {
        if let Ok(mut buf) = self.buffer.lock() {
            let room = self.limit.saturating_sub(buf.len());
            buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        // Forwarding is best effort, like a process writing to a closed pipe.
        let _ = match self.forward {
            Some(HostStream::Stdout) => std::io::stdout().write_all(bytes),
            Some(HostStream::Stderr) => std::io::stderr().write_all(bytes),
            None => Ok(()),
        };
    }

    fn contents(&self) -> Vec<u8> {
        self.buffer.lock().map(|b| b.clone()).unwrap_or_default()
    }

    fn take(&self) -> Vec<u8> {
        self.buffer
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default()
    }
}

impl IsTerminal for CaptureStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CaptureStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CaptureStream {
    async fn ready(&mut self) {}
}

impl OutputStream for CaptureStream {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(1 << 20)
    }
}

impl tokio::io::AsyncWrite for CaptureStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap(size: u32) -> AppHeap {
        let mut free = BTreeMap::new();
        free.insert(0, size);
        AppHeap {
            base: 65536,
            size,
            free,
            used: BTreeMap::new(),
        }
    }

    #[test]
    fn app_heap_first_fit_and_coalescing() {
        let mut h = heap(8192);
        assert_eq!(
            h.alloc(8192),
            None,
            "heap_size bytes must not fit (header overhead)"
        );
        let a = h.alloc(100).unwrap();
        let b = h.alloc(100).unwrap();
        assert_eq!(a, 65536 + APP_HEAP_HEADER);
        assert!(b > a);
        h.free(a);
        h.free(b);
        assert_eq!(h.free.len(), 1, "blocks coalesce back into one");
        assert!(h.alloc(8192 - APP_HEAP_HEADER).is_some());
    }

    #[test]
    fn result_checks() {
        let mut mem = vec![0u8; 64];
        mem[8..10].copy_from_slice(b"{}");
        mem[16..18].copy_from_slice(b"[]");
        assert_eq!(
            read_result(&mem, 0),
            Outcome::Dropped(DropReason::NullPointer)
        );
        assert_eq!(
            read_result(&mem, 64),
            Outcome::Dropped(DropReason::InvalidPointer)
        );
        assert_eq!(read_result(&mem, 8), Outcome::Output(b"{}".to_vec()));
        assert_eq!(
            read_result(&mem, 16),
            Outcome::Dropped(DropReason::NotAnObject)
        );
        assert_eq!(read_result(&mem, 20), Outcome::Dropped(DropReason::Empty));
        mem[63] = b'x';
        assert_eq!(
            read_result(&mem, 63),
            Outcome::Dropped(DropReason::InvalidPointer)
        );
    }
}
