//! Fluent Bit's `wasm` filter, JSON event format (docs/design/hosts.md#the-abi):
//! `resetwatch_filter(tag, tag_len, time_sec, time_nsec, record, record_len)`
//! returns a NUL-terminated JSON object in guest memory. Returning the
//! host's own `record` pointer passes the record on byte-identical and costs
//! nothing; an alert is written into one buffer the module owns and reuses.
//! Every failure (an empty answer, a trap) would lose the record in Fluent
//! Bit, so nothing here can panic.

use crate::{config_file, state_file};
use resetwatch::Filter;
use resetwatch::PassGate;
use std::io::Write;

/// What a record that never arrived is replaced with. Fluent Bit passes a
/// null pointer when the record did not fit in the module's heap
/// (`Wasm_Heap_Size`, fluent-bit issue 8156); its content is already lost,
/// so say which setting to raise instead of answering nothing.
const NULL_RECORD: &[u8] = b"{\"resetwatch_error\":\"record not received: it did not fit in the wasm heap; raise Wasm_Heap_Size (e.g. 16M) in the wasm filter or use resetwatch.wasm, which exports an allocator\"}\0";

struct Shell {
    filter: Filter,
    out: Vec<u8>,
    /// When the state is written (after every change while it is small);
    /// `None` without `state_dir`.
    schedule: Option<state_file::Schedule>,
    /// A failed save is reported once, not on every record.
    save_failed: bool,
}

/// The module's one filter. A plain static: Fluent Bit calls the export
/// from one thread and never re-enters it, and this keeps the per-record
/// cost to a load (a `thread_local!` + `RefCell` cost ~40 fuel a record).
static mut SHELL: Option<Shell> = None;

fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

// Out of line: it runs once per instance, and inlined into the per-record
// export it made the module 2 KB larger (measured when the shells moved
// into their own crate).
#[cold]
#[inline(never)]
fn start() -> Shell {
    let loaded = config_file::load(&config_file::preopened_dirs());
    if let Some(line) = loaded.report() {
        report(&line);
    }
    let (tracker, problem) = state_file::load(&loaded.config());
    if let Some(line) = problem {
        report(&line);
    }
    let newest = tracker.newest_host().map(|t| t.div_euclid(resetwatch::clock::SECOND));
    let schedule = tracker.config().state_dir.is_some().then(|| state_file::Schedule::new(tracker.stats.changes, newest));
    Shell { filter: Filter::from_tracker(tracker), out: Vec::new(), schedule, save_failed: false }
}

impl Shell {
    /// Says on stderr, once per source, that event lines came behind a
    /// prefix resetwatch does not know (they are read all the same).
    fn report_unknown_layouts(&mut self) {
        for u in self.filter.unknown_layouts_mut().take_new() {
            // The name as a JSON string (what `{:?}` printed, without
            // linking the Debug escaper into the module).
            let mut source = Vec::new();
            resetwatch::json::write_str(&mut source, &u.source);
            report(&format!(
                "[resetwatch] source {}: a NATS event line behind a prefix resetwatch does not know, read anyway \
                 (the record's time is used when the line's own cannot be read); first line: {}",
                String::from_utf8_lossy(&source),
                u.example
            ));
        }
    }

    /// Saves the state when it changed and its [`state_file::Schedule`]
    /// says so (NATS events that matter: rare).
    fn persist(&mut self, now: i64) {
        let changes = self.filter.tracker().stats.changes;
        let Some(schedule) = self.schedule.as_mut() else { return };
        if !schedule.due(changes, now) {
            return;
        }
        let len = match state_file::save(self.filter.config(), self.filter.tracker()) {
            Ok(len) => len,
            Err(e) => {
                if !self.save_failed {
                    let dir = self.filter.config().state_dir.as_deref().unwrap_or_default();
                    report(&format!("[resetwatch] cannot save state in {dir}: {e}; going on in memory"));
                }
                self.save_failed = true;
                0
            }
        };
        schedule.written(changes, len, now);
    }

    /// The gate for the next records: also shut from the second a waiting
    /// write is due, so that a record then goes the whole way and writes it.
    fn gate(&self) -> PassGate {
        let gate = self.filter.pass_gate();
        match self.schedule.and_then(|s| s.wait_until(self.filter.tracker().stats.changes)) {
            Some(due) => gate.shut_from(due.clamp(0, u32::MAX as i64) as u32),
            None => gate,
        }
    }
}

/// `SHELL`'s [`PassGate`], renewed after every record that went the whole
/// way: the usual record is answered from it alone (and it learns the
/// records' pid and wrapper as it goes).
static mut GATE: PassGate = PassGate::SHUT;

/// The export Fluent Bit calls (`Function_Name resetwatch_filter`).
///
/// # Safety
/// `tag` and `record` point at `tag_len` and `record_len` readable bytes
/// (or are null), as Fluent Bit guarantees.
#[no_mangle]
pub unsafe extern "C" fn resetwatch_filter(
    tag: *const u8,
    tag_len: u32,
    time_sec: u32,
    time_nsec: u32,
    record: *const u8,
    record_len: u32,
) -> *const u8 {
    if !record.is_null() {
        // SAFETY: the host copied `record_len` bytes (plus a NUL) at `record`;
        // `GATE` as `SHELL` below.
        let (rec, gate) =
            unsafe { (std::slice::from_raw_parts(record, record_len as usize), &mut *std::ptr::addr_of_mut!(GATE)) };
        // Nothing to read and nothing due: passed on as it is, no frame set up.
        if gate.passes(time_sec, rec) {
            return record;
        }
    }
    // SAFETY: as this function's.
    unsafe { filter_record(tag, tag_len, time_sec, time_nsec, record, record_len) }
}

/// Everything but the usual record: out of line, so that its stack frame
/// and the first call's setup are not paid for on the fast path above.
#[inline(never)]
unsafe fn filter_record(
    tag: *const u8,
    tag_len: u32,
    time_sec: u32,
    time_nsec: u32,
    record: *const u8,
    record_len: u32,
) -> *const u8 {
    if record.is_null() {
        return NULL_RECORD.as_ptr();
    }
    // SAFETY: the host copied `record_len` bytes (plus a NUL) at `record`.
    let rec = unsafe { std::slice::from_raw_parts(record, record_len as usize) };
    let tag: &[u8] = if tag.is_null() {
        &[]
    } else {
        // SAFETY: as for the record.
        unsafe { std::slice::from_raw_parts(tag, tag_len as usize) }
    };
    // SAFETY: single-threaded and not re-entrant (see `SHELL`).
    let shell = unsafe { (*std::ptr::addr_of_mut!(SHELL)).get_or_insert_with(start) };
    // Every nanosecond digit: tail stamps each record, and lines read in
    // one batch differ below the microsecond.
    let alert = shell.filter.filter_one_ns(tag, time_sec as i64, time_nsec, rec, &mut shell.out);
    shell.report_unknown_layouts();
    shell.persist(time_sec as i64);
    // SAFETY: as for `SHELL`.
    unsafe { (*std::ptr::addr_of_mut!(GATE)).renew(shell.gate()) };
    if alert {
        shell.out.push(0);
        shell.out.as_ptr()
    } else {
        record
    }
}

extern "C" {
    /// The linker's constructor list (empty today).
    fn __wasm_call_ctors();
}

/// The WASI reactor's entry, which hosts call once after instantiating
/// (WAMR, as Fluent Bit embeds it, and wasmtime). Without it wasm-ld
/// treats the module as a command and wraps every export in a function
/// that also calls libc's destructors after it: three more calls on every
/// record, which WAMR's interpreter pays for.
#[no_mangle]
pub extern "C" fn _initialize() {
    // SAFETY: called once, by the host, before any other export (the
    // reactor contract); the constructors are the linker's own.
    unsafe { __wasm_call_ctors() }
}
