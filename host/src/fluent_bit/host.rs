//! [`FluentBitHost`]: one Fluent Bit `wasm` filter instance on wasmtime,
//! called as `filter_wasm` calls it (the module's header says what that
//! reproduces and what it does not).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _, Result};
use wasmtime::{InstancePre, Linker, Memory, Module, Store, TypedFunc};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::fluent_bit::abi::{DEFAULT_FUNCTION_NAME, DEFAULT_WASM_HEAP_SIZE, NO_MEMORY_EXPORT};
use crate::fluent_bit::app_heap::{wamr_app_heap_size, AppHeap};
use crate::fluent_bit::capture::{CaptureStream, HostStream, DEFAULT_CAPTURE_LIMIT};
use crate::fluent_bit::wamr::wamr_like_config;
use crate::loading::{self, wt};

/// Fuel given to each export call when fuel metering is on.
pub const FUEL_BUDGET: u64 = 1 << 40;

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
            DropReason::InvalidPointer => f.write_str("guest returned an invalid pointer (out of bounds or not NUL-terminated)"),
            DropReason::Empty => f.write_str("guest returned an empty string"),
            DropReason::NotAnObject => f.write_str("guest returned something that is not a JSON object"),
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
    Malloc { malloc: TypedFunc<i32, i32>, free: TypedFunc<i32, ()> },
    New { new: TypedFunc<(i32, i32), i32>, pin: TypedFunc<i32, i32>, unpin: TypedFunc<i32, ()> },
    AppHeap(AppHeap),
}

impl FluentBitHost {
    /// Compiles `wasm` (a core module, binary format) and instantiates it.
    pub fn new(wasm: &[u8], options: FluentBitOptions) -> Result<Self> {
        let engine = wasmtime::Engine::new(&wamr_like_config(options.fuel, options.mvp_only))?;
        let module = wt(Module::new(&engine, wasm)).context(
            "cannot compile the module with the wasm features of Fluent Bit's WAMR build \
             (no SIMD, threads, exceptions, tail calls, memory64, multi-memory, GC)",
        )?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut HostState| &mut s.wasi)?;
        let pre = wt(linker.instantiate_pre(&module))
            .context("cannot link the module's imports (Fluent Bit provides only WASI preview 1)")?;
        let stdout = CaptureStream::new(options.capture_limit, options.inherit_stdout.then_some(HostStream::Stdout));
        let stderr = CaptureStream::new(options.capture_limit, options.inherit_stderr.then_some(HostStream::Stderr));
        let app_heap_size = wamr_app_heap_size(wasm, options.wasm_heap_size)?;
        let live = instantiate(&pre, &options, app_heap_size, &stdout, &stderr)?;
        Ok(FluentBitHost { options, app_heap_size, pre, live, stdout, stderr, instantiations: 1, calls_since_instantiation: 0 })
    }

    /// Reads and loads a `.wasm` file.
    pub fn from_file(path: impl AsRef<Path>, options: FluentBitOptions) -> Result<Self> {
        let path = path.as_ref();
        let wasm = loading::read(path)?;
        Self::new(&wasm, options).with_context(|| loading::cannot_load(path))
    }

    pub fn options(&self) -> &FluentBitOptions {
        &self.options
    }

    /// How records are copied into the current instance.
    pub fn copy_mode(&self) -> CopyMode {
        match &self.live.copier {
            Copier::Malloc { .. } => CopyMode::GuestMalloc,
            Copier::New { .. } => CopyMode::GuestNew,
            Copier::AppHeap(heap) => CopyMode::AppHeap { base: heap.base, size: heap.size },
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
    pub fn call(&mut self, tag: &[u8], time_sec: i64, time_nsec: u32, record: &[u8]) -> Result<CallResult> {
        self.calls_since_instantiation += 1;
        let fuel_on = self.options.fuel;
        let live = &mut self.live;
        let mut warnings = Vec::new();

        let tag_ptr = live.copy_in(tag, fuel_on, &mut warnings)?;
        let record_ptr = live.copy_in(record, fuel_on, &mut warnings)?;

        if fuel_on {
            live.store.set_fuel(FUEL_BUDGET)?;
        }
        let args = (tag_ptr as i32, len_i32(tag)?, time_sec as u32 as i32, time_nsec as i32, record_ptr as i32, len_i32(record)?);
        let ret = live.filter.call(&mut live.store, args);
        let fuel = if fuel_on { Some(FUEL_BUDGET - live.store.get_fuel()?) } else { None };
        let returned_record = matches!(ret, Ok(ptr) if record_ptr != 0 && ptr as u32 == record_ptr);
        let outcome = match ret {
            Ok(ptr) => read_result(live.memory.data(&live.store), ptr as u32),
            Err(err) => Outcome::Dropped(DropReason::Trap(trap_message(&err))),
        };

        // Free after the result has been copied: it may point into the record.
        live.free(record_ptr, fuel_on, &mut warnings)?;
        live.free(tag_ptr, fuel_on, &mut warnings)?;

        Ok(CallResult { outcome, fuel, tag_ptr, record_ptr, returned_record, warnings })
    }

    /// Convenience: the outcome for one record with a UTF-8 tag.
    pub fn filter_record(&mut self, tag: &str, time_sec: i64, time_nsec: u32, record: &[u8]) -> Result<Outcome> {
        Ok(self.call(tag.as_bytes(), time_sec, time_nsec, record)?.outcome)
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

fn instantiate(
    pre: &InstancePre<HostState>,
    options: &FluentBitOptions,
    app_heap_size: u32,
    stdout: &CaptureStream,
    stderr: &CaptureStream,
) -> Result<Live> {
    let wasi = wasi_p1(options, stdout, stderr)?;
    let mut store = Store::new(pre.module().engine(), HostState { wasi });
    if options.fuel {
        store.set_fuel(FUEL_BUDGET)?;
    }
    let instance = wt(pre.instantiate(&mut store)).context("instantiation failed")?;

    let memory = instance.get_memory(&mut store, "memory").ok_or_else(|| anyhow!("the module {NO_MEMORY_EXPORT}"))?;
    let filter = instance
        .get_typed_func::<(i32, i32, i32, i32, i32, i32), i32>(&mut store, &options.function_name)
        .map_err(anyhow::Error::from)
        .with_context(|| {
            format!("the module must export `{}` with type (i32, i32, i32, i32, i32, i32) -> i32", options.function_name)
        })?;
    let copier = copier(&instance, &mut store, &memory, app_heap_size)?;

    // Reactor modules (wasi-libc's crt1-reactor) need `_initialize`.
    if let Ok(init) = instance.get_typed_func::<(), ()>(&mut store, "_initialize") {
        init.call(&mut store, ()).map_err(|e| anyhow!("`_initialize` failed: {}", trap_message(&e)))?;
    }

    Ok(Live { store, memory, filter, copier })
}

/// WASI preview 1 as Fluent Bit gives it: no args, no env, the captured
/// stdout and stderr, and `Accessible_Paths` preopened in order under the
/// path as written.
fn wasi_p1(options: &FluentBitOptions, stdout: &CaptureStream, stderr: &CaptureStream) -> Result<WasiP1Ctx> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.allow_blocking_current_thread(true).stdout(stdout.clone()).stderr(stderr.clone());
    for dir in &options.accessible_paths {
        let guest = dir.to_str().ok_or_else(|| anyhow!("accessible path {} is not UTF-8", dir.display()))?;
        wt(wasi.preopened_dir(dir, guest, FsPerms::ReadWrite).map(|_| ()))
            .with_context(|| format!("cannot open accessible path {}", dir.display()))?;
    }
    Ok(wasi.build_p1())
}

/// How records will be copied in: WAMR looks allocators up by name and
/// type (a wrong type means "absent"), and without one it copies into its
/// app heap, which it inserts while instantiating, before `_initialize`.
fn copier(instance: &wasmtime::Instance, store: &mut Store<HostState>, memory: &Memory, app_heap_size: u32) -> Result<Copier> {
    let malloc =
        (instance.get_typed_func::<i32, i32>(&mut *store, "malloc"), instance.get_typed_func::<i32, ()>(&mut *store, "free"));
    let new = (
        instance.get_typed_func::<(i32, i32), i32>(&mut *store, "__new"),
        instance.get_typed_func::<i32, i32>(&mut *store, "__pin"),
        instance.get_typed_func::<i32, ()>(&mut *store, "__unpin"),
    );
    Ok(match (malloc, new) {
        ((Ok(malloc), Ok(free)), _) => Copier::Malloc { malloc, free },
        (_, (Ok(new), Ok(pin), Ok(unpin))) => Copier::New { new, pin, unpin },
        _ => Copier::AppHeap(AppHeap::append_to(memory, store, app_heap_size)?),
    })
}

impl Live {
    /// Copies `bytes` plus a NUL into guest memory; 0 if allocation fails.
    fn copy_in(&mut self, bytes: &[u8], fuel_on: bool, warnings: &mut Vec<String>) -> Result<u32> {
        let size = u32::try_from(bytes.len() + 1).map_err(|_| anyhow!("record too large for wasm32"))?;
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
            warnings.push(format!("guest allocator returned out-of-bounds pointer {ptr:#x}"));
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
    i32::try_from(bytes.len()).map_err(|_| anyhow!("record of {} bytes is too large for wasm32", bytes.len()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_checks() {
        let mut mem = vec![0u8; 64];
        mem[8..10].copy_from_slice(b"{}");
        mem[16..18].copy_from_slice(b"[]");
        assert_eq!(read_result(&mem, 0), Outcome::Dropped(DropReason::NullPointer));
        assert_eq!(read_result(&mem, 64), Outcome::Dropped(DropReason::InvalidPointer));
        assert_eq!(read_result(&mem, 8), Outcome::Output(b"{}".to_vec()));
        assert_eq!(read_result(&mem, 16), Outcome::Dropped(DropReason::NotAnObject));
        assert_eq!(read_result(&mem, 20), Outcome::Dropped(DropReason::Empty));
        mem[63] = b'x';
        assert_eq!(read_result(&mem, 63), Outcome::Dropped(DropReason::InvalidPointer));
    }
}
