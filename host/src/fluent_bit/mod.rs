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
//! its exact allocator layout. Check those statically ([`check`]) and keep
//!
//! The parts, each using only those listed before it:
//! - `abi`: the contract (export name, key defaults, the do-nothing module);
//! - `wamr`: WAMR's feature set, and wasmtime configured the same;
//! - `app_heap`: WAMR's app heap, its size and its emulation;
//! - `capture`: the guest's stdout and stderr;
//! - `host`: [`FluentBitHost`] itself;
//! - [`check`]: the static checks (`resetwatch_host::wasm_check`);
//! - [`tail`]: log files as Fluent Bit's `tail` input makes records of them.

mod abi;
mod app_heap;
mod capture;
pub mod check;
mod host;
pub mod tail;
mod wamr;

pub use abi::{do_nothing_module, DEFAULT_FUNCTION_NAME, DEFAULT_WASM_HEAP_SIZE, DO_NOTHING_WAT};
pub use app_heap::{wamr_app_heap_size, APP_HEAP_HEADER};
pub use capture::DEFAULT_CAPTURE_LIMIT;
pub use host::{CallResult, CopyMode, DropReason, FluentBitHost, FluentBitOptions, Lifecycle, Outcome, FUEL_BUDGET};
