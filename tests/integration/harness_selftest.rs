//! Self-test of the Fluent Bit stand-in, without the real filter: tiny wasip1
//! modules written in WAT exercise each contract of `filter_wasm` (copies,
//! app heap, result checks, traps, fuel, lifecycle, WASI) and the static
//! checker. If these fail, the harness - not the filter - is wrong.

use resetwatch_host::fluent_bit::{CopyMode, DropReason, FluentBitHost, FluentBitOptions, Lifecycle, Outcome, APP_HEAP_HEADER};
use resetwatch_host::wasm_check::{self, Feature};

const TAG: &str = "nats.var.log.n1.log";
const RECORD: &[u8] = br#"{"log":"[1] 2026/11/26 14:17:08.682791 [WRN] hello"}"#;

fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("test module must assemble")
}

fn host(wat: &str) -> FluentBitHost {
    host_with(wat, FluentBitOptions::default())
}

fn host_with(wat: &str, options: FluentBitOptions) -> FluentBitHost {
    FluentBitHost::new(&wasm(wat), options).expect("test module must load")
}

/// A filter whose body is `body` (the six params are locals 0-5), with one
/// page of memory and optional extra module fields.
fn filter(body: &str, extra: &str) -> String {
    format!(
        r#"(module
             (memory (export "memory") 1)
             {extra}
             (func (export "resetwatch_filter")
               (param $tag i32) (param $tag_len i32) (param $sec i32) (param $nsec i32)
               (param $rec i32) (param $rec_len i32) (result i32)
               {body}))"#
    )
}

const DO_NOTHING: &str = "local.get $rec";

/// `malloc`/`free` as a bump allocator; counts mallocs at [4] and frees at [0].
const MALLOC_FREE: &str = r#"
    (global $bump (mut i32) (i32.const 1024))
    (func (export "malloc") (param $size i32) (result i32)
      (local $ptr i32) (local $end i32) (local $have i32)
      (i32.store (i32.const 4) (i32.add (i32.load (i32.const 4)) (i32.const 1)))
      (local.set $ptr (global.get $bump))
      (local.set $end (i32.add (local.get $ptr) (local.get $size)))
      (local.set $have (i32.mul (memory.size) (i32.const 65536)))
      (if (i32.gt_u (local.get $end) (local.get $have))
        (then
          (if (i32.eq
                (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (local.get $have)) (i32.const 16))
                                      (i32.const 1)))
                (i32.const -1))
            (then (return (i32.const 0))))))
      (global.set $bump (i32.and (i32.add (local.get $end) (i32.const 7)) (i32.const -8)))
      (local.get $ptr))
    (func (export "free") (param i32)
      (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1))))
"#;

fn big_record(len: usize) -> Vec<u8> {
    let mut r = br#"{"log":""#.to_vec();
    r.resize(len - 2, b'x');
    r.extend_from_slice(br#""}"#);
    r
}

fn app_heap(h: &FluentBitHost) -> (u32, u32) {
    match h.copy_mode() {
        CopyMode::AppHeap { base, size } => (base, size),
        other => panic!("expected the app heap, got {other:?}"),
    }
}

#[test]
fn do_nothing_passes_record_through() {
    let mut h = host(&filter(DO_NOTHING, ""));
    let r = h.call(TAG.as_bytes(), 1_795_702_628, 682_791_000, RECORD).unwrap();
    assert_eq!(r.outcome, Outcome::Output(RECORD.to_vec()));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.fuel, None, "fuel is off by default");
    // filter_record is the same call.
    assert_eq!(h.filter_record(TAG, 1, 2, RECORD).unwrap(), Outcome::Output(RECORD.to_vec()));
}

#[test]
fn arguments_are_nul_terminated_copies_and_truncated_times() {
    // Store the six arguments at 0..24 and pass the record through.
    let body = r#"
        (i32.store (i32.const 0) (local.get $tag)) (i32.store (i32.const 4) (local.get $tag_len))
        (i32.store (i32.const 8) (local.get $sec)) (i32.store (i32.const 12) (local.get $nsec))
        (i32.store (i32.const 16) (local.get $rec)) (i32.store (i32.const 20) (local.get $rec_len))
        local.get $rec"#;
    let mut h = host(&filter(body, ""));
    let sec = (1i64 << 32) + 5;
    let r = h.call(TAG.as_bytes(), sec, 999_999_999, RECORD).unwrap();
    assert!(matches!(r.outcome, Outcome::Output(_)));
    let mem = h.memory();
    let word = |at: usize| u32::from_le_bytes(mem[at..at + 4].try_into().unwrap());
    assert_eq!(word(0), r.tag_ptr);
    assert_eq!(word(4) as usize, TAG.len(), "tag_len excludes the NUL");
    assert_eq!(word(8), 5, "time_sec is truncated to u32");
    assert_eq!(word(12), 999_999_999);
    assert_eq!(word(16), r.record_ptr);
    assert_eq!(word(20) as usize, RECORD.len(), "record_len excludes the NUL");
    let (tag, rec) = (r.tag_ptr as usize, r.record_ptr as usize);
    assert_eq!(&mem[tag..tag + TAG.len()], TAG.as_bytes());
    assert_eq!(mem[tag + TAG.len()], 0);
    assert_eq!(&mem[rec..rec + RECORD.len()], RECORD);
    assert_eq!(mem[rec + RECORD.len()], 0);
}

#[test]
fn null_pointer_drops() {
    let mut h = host(&filter("i32.const 0", ""));
    assert_eq!(h.filter_record(TAG, 0, 0, RECORD).unwrap(), Outcome::Dropped(DropReason::NullPointer));
}

#[test]
fn empty_string_drops() {
    let mut h = host(&filter("i32.const 64", r#"(data (i32.const 64) "\00")"#));
    assert_eq!(h.filter_record(TAG, 0, 0, RECORD).unwrap(), Outcome::Dropped(DropReason::Empty));
}

#[test]
fn invalid_pointer_and_non_objects_drop() {
    let mut h = host(&filter("i32.const -16", ""));
    assert_eq!(h.filter_record(TAG, 0, 0, RECORD).unwrap(), Outcome::Dropped(DropReason::InvalidPointer));
    // Text running to the end of memory with no NUL (an allocator export, so
    // no app heap is appended after the one page).
    let mut h = host(&filter("i32.const 65534", &format!(r#"{MALLOC_FREE} (data (i32.const 65534) "{{}}")"#)));
    assert_eq!(h.filter_record(TAG, 0, 0, RECORD).unwrap(), Outcome::Dropped(DropReason::InvalidPointer));
    let mut h = host(&filter("i32.const 64", r#"(data (i32.const 64) "[1,2]\00")"#));
    assert_eq!(h.filter_record(TAG, 0, 0, RECORD).unwrap(), Outcome::Dropped(DropReason::NotAnObject));
    let mut h = host(&filter("i32.const 64", r#"(data (i32.const 64) "{not json\00")"#));
    assert_eq!(h.filter_record(TAG, 0, 0, RECORD).unwrap(), Outcome::Dropped(DropReason::NotAnObject));
}

#[test]
fn trap_drops_and_keeps_the_instance() {
    // Traps when time_sec is 1; otherwise counts calls at [0] and passes through.
    let body = r#"
        (if (i32.eq (local.get $sec) (i32.const 1)) (then unreachable))
        (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
        local.get $rec"#;
    let mut h = host(&filter(body, ""));
    assert!(matches!(h.filter_record(TAG, 0, 0, RECORD).unwrap(), Outcome::Output(_)));
    match h.filter_record(TAG, 1, 0, RECORD).unwrap() {
        Outcome::Dropped(DropReason::Trap(msg)) => assert!(msg.contains("unreachable"), "{msg}"),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_eq!(h.filter_record(TAG, 2, 0, RECORD).unwrap(), Outcome::Output(RECORD.to_vec()));
    assert_eq!(h.memory()[0], 2, "state survived the trap");
    assert_eq!(h.instantiations(), 1);
}

/// Real Fluent Bit 5.1.1 (the real-host tier, `nothing_lost.rs`): on the
/// default 8 KiB heap the one-page do-nothing filter loses a 9 KB record,
/// rustc's lean module (17 pages, `memory.grow`, no `__heap_base`) takes
/// records up to about 64 KB: WAMR gives a growable memory whole pages for
/// its app heap, less 1 KiB.
#[test]
fn a_growable_module_gets_its_app_heap_in_whole_pages_as_wamr_gives_it() {
    let grows = filter(DO_NOTHING, r#"(func (export "grow") (result i32) (memory.grow (i32.const 0)))"#);
    let h = host(&grows);
    assert_eq!(app_heap(&h).1, 65536 - 1024, "8 KiB becomes one page less 1 KiB");
    let mut h = host(&grows);
    let nine_kb = big_record(9000);
    assert_eq!(h.call(TAG.as_bytes(), 0, 0, &nine_kb).unwrap().outcome, Outcome::Output(nine_kb.clone()));
    let too_big = big_record(65 * 1024);
    assert_eq!(h.call(TAG.as_bytes(), 0, 0, &too_big).unwrap().record_ptr, 0, "65 KiB is more than the page");
    // Exported `__heap_base`: WAMR inserts the heap there, at the size asked.
    let based =
        filter(DO_NOTHING, r#"(global (export "__heap_base") i32 (i32.const 1024)) (func (memory.grow (i32.const 0)) drop)"#);
    assert_eq!(app_heap(&host(&based)).1, 8192);
    // A memory whose maximum is above one page, without memory.grow.
    let two = filter(DO_NOTHING, "").replace(r#"(memory (export "memory") 1)"#, r#"(memory (export "memory") 1 2)"#);
    assert_eq!(app_heap(&host(&two)).1, 65536 - 1024);
    let opts = FluentBitOptions { wasm_heap_size: 16 << 20, ..Default::default() };
    assert_eq!(app_heap(&host_with(&grows, opts)).1, (16 << 20) - 1024, "16M is whole pages already");
}

#[test]
fn app_heap_gives_pointer_zero_when_the_record_does_not_fit() {
    let mut h = host(&filter(DO_NOTHING, ""));
    let (base, size) = app_heap(&h);
    assert_eq!(size, 8192, "Fluent Bit's default Wasm_Heap_Size");
    assert_eq!(base, 65536, "the heap is appended after the module's own memory");

    let small = h.call(TAG.as_bytes(), 0, 0, RECORD).unwrap();
    assert!(small.record_ptr >= base && small.record_ptr < base + size, "{}", small.record_ptr);
    assert!(small.tag_ptr >= base && small.tag_ptr < base + size);

    let big = big_record(9 * 1024);
    let r = h.call(TAG.as_bytes(), 0, 0, &big).unwrap();
    assert_eq!(r.record_ptr, 0, "a 9 KiB record does not fit an 8 KiB heap");
    assert_ne!(r.tag_ptr, 0, "the tag still fits");
    assert_eq!(r.outcome, Outcome::Dropped(DropReason::NullPointer), "the do-nothing filter loses it");
    assert!(r.warnings.iter().any(|w| w.contains("memory failed")), "{:?}", r.warnings);

    // Exactly heap_size bytes never fit (allocation header).
    assert_eq!(h.call(TAG.as_bytes(), 0, 0, &big_record(8192)).unwrap().record_ptr, 0);
    // With an empty tag taking 16 bytes, the largest record that fits is
    // 8192 - 16 - 8 (header) - 1 (NUL) = 8167 bytes.
    let mut alone = host(&filter(DO_NOTHING, ""));
    assert_ne!(alone.call(b"", 0, 0, &big_record(8167)).unwrap().record_ptr, 0);
    assert_eq!(alone.call(b"", 0, 0, &big_record(8168)).unwrap().record_ptr, 0);
    assert_eq!(APP_HEAP_HEADER, 8);

    // Memory is freed after each call: small records keep fitting.
    for _ in 0..100 {
        assert_ne!(h.call(TAG.as_bytes(), 0, 0, RECORD).unwrap().record_ptr, 0);
    }
}

#[test]
fn larger_heap_fits_large_records() {
    let options = FluentBitOptions { wasm_heap_size: 16 << 20, ..FluentBitOptions::default() };
    let mut h = host_with(&filter(DO_NOTHING, ""), options);
    let big = big_record(1 << 20);
    assert_eq!(h.filter_record(TAG, 0, 0, &big).unwrap(), Outcome::Output(big));
}

#[test]
fn guest_reading_its_record_at_pointer_zero_gets_stale_memory() {
    // Copies record_len bytes from the record pointer to 4096, NUL-terminates
    // and returns that copy. At address 0 sits unrelated guest data.
    let body = r#"
        (memory.copy (i32.const 4096) (local.get $rec) (local.get $rec_len))
        (i32.store8 (i32.add (i32.const 4096) (local.get $rec_len)) (i32.const 0))
        i32.const 4096"#;
    let stale = r#"(data (i32.const 0) "{\"stale\":true}\00")"#;
    let mut h = host(&filter(body, stale));
    assert_eq!(h.filter_record(TAG, 0, 0, RECORD).unwrap(), Outcome::Output(RECORD.to_vec()));
    let big = big_record(10 * 1024);
    let r = h.call(TAG.as_bytes(), 0, 0, &big).unwrap();
    assert_eq!(r.record_ptr, 0);
    assert_eq!(
        r.outcome,
        Outcome::Output(br#"{"stale":true}"#.to_vec()),
        "the record's content is replaced by whatever was at address 0"
    );
}

#[test]
fn guest_malloc_and_free_are_used_when_exported() {
    let mut h = host(&filter(DO_NOTHING, MALLOC_FREE));
    assert_eq!(h.copy_mode(), CopyMode::GuestMalloc);
    let big = big_record(200 * 1024);
    let r = h.call(TAG.as_bytes(), 0, 0, &big).unwrap();
    assert!(r.record_ptr >= 1024, "{}", r.record_ptr);
    assert_eq!(r.outcome, Outcome::Output(big), "no heap limit with a guest allocator");
    let r = h.call(TAG.as_bytes(), 0, 0, RECORD).unwrap();
    assert_eq!(r.outcome, Outcome::Output(RECORD.to_vec()));
    let mem = h.memory();
    assert_eq!(mem[4], 4, "tag and record malloc'ed per call");
    assert_eq!(mem[0], 4, "and both freed after each call");
}

#[test]
fn wamr_alternative_allocator_names_are_used() {
    let extra = r#"
        (func (export "__new") (param $size i32) (param $id i32) (result i32)
          (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
          (i32.add (i32.const 1024) (i32.mul (i32.load (i32.const 0)) (i32.const 256))))
        (func (export "__pin") (param i32) (result i32) local.get 0)
        (func (export "__unpin") (param i32)
          (i32.store (i32.const 4) (i32.add (i32.load (i32.const 4)) (i32.const 1))))"#;
    let mut h = host(&filter(DO_NOTHING, extra));
    assert_eq!(h.copy_mode(), CopyMode::GuestNew);
    assert_eq!(h.filter_record(TAG, 0, 0, RECORD).unwrap(), Outcome::Output(RECORD.to_vec()));
    assert_eq!((h.memory()[0], h.memory()[4]), (2, 2), "two __new, two __unpin");
}

#[test]
fn fuel_is_reported_for_the_export_call_only() {
    let fuel = FluentBitOptions { fuel: true, ..FluentBitOptions::default() };
    let mut h = host_with(&filter(DO_NOTHING, ""), fuel.clone());
    let f = h.call(TAG.as_bytes(), 0, 0, RECORD).unwrap().fuel.expect("fuel is on");
    assert!(f < 10, "do-nothing costs almost nothing, got {f}");

    // The allocator's work is not counted.
    let mut h = host_with(&filter(DO_NOTHING, MALLOC_FREE), fuel.clone());
    let f = h.call(TAG.as_bytes(), 0, 0, RECORD).unwrap().fuel.unwrap();
    assert!(f < 10, "malloc/free are not charged to the filter, got {f}");

    // A loop of 1000 iterations is.
    let body = r#"
        (local $i i32)
        (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
        local.get $rec"#;
    let mut h = host_with(&filter(body, ""), fuel);
    let f = h.call(TAG.as_bytes(), 0, 0, RECORD).unwrap().fuel.unwrap();
    assert!(f >= 1000, "got {f}");
}

#[test]
fn lifecycle_per_process_keeps_state_per_chunk_does_not() {
    let counting = filter(r#"(i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1))) local.get $rec"#, "");
    for (lifecycle, expected, instances) in [(Lifecycle::PerProcess, 3, 1), (Lifecycle::PerChunk, 1, 3)] {
        let options = FluentBitOptions { lifecycle, ..FluentBitOptions::default() };
        let mut h = host_with(&counting, options);
        for _ in 0..3 {
            h.new_chunk().unwrap();
            h.filter_record(TAG, 0, 0, RECORD).unwrap();
        }
        assert_eq!(h.memory()[0], expected, "{lifecycle:?}");
        assert_eq!(h.instantiations(), instances, "{lifecycle:?}");
    }
}

#[test]
fn initialize_runs_and_stderr_is_captured() {
    let extra = r#"
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (data (i32.const 100) "hello\n")
        (func (export "_initialize") (i32.store8 (i32.const 200) (i32.const 42)))"#;
    let body = r#"
        (i32.store (i32.const 0) (i32.const 100))
        (i32.store (i32.const 4) (i32.const 6))
        (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
        local.get $rec"#;
    // The import must come first in the module.
    let wat = filter(body, "").replacen("(memory", &format!("{extra}\n(memory"), 1);
    let mut h = host(&wat);
    assert_eq!(h.memory()[200], 42, "_initialize ran at instantiation");
    assert_eq!(h.filter_record(TAG, 0, 0, RECORD).unwrap(), Outcome::Output(RECORD.to_vec()));
    assert_eq!(h.guest_stderr(), b"hello\n");
    assert!(h.guest_stdout().is_empty());
    assert_eq!(h.take_guest_stderr(), b"hello\n");
    assert!(h.guest_stderr().is_empty());
}

#[test]
fn accessible_paths_are_preopened_under_their_own_names() {
    let dir = std::env::temp_dir().join(format!("resetwatch-selftest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let extra = r#"
        (import "wasi_snapshot_preview1" "fd_prestat_get" (func $get (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $name (param i32 i32 i32) (result i32)))"#;
    // For fds 3 and 4: prestat at 16/24, names at 1000/2000, errnos at 8/12.
    let body = r#"
        (i32.store (i32.const 8) (call $get (i32.const 3) (i32.const 16)))
        (drop (call $name (i32.const 3) (i32.const 1000) (i32.load (i32.const 20))))
        (i32.store (i32.const 12) (call $get (i32.const 4) (i32.const 24)))
        (drop (call $name (i32.const 4) (i32.const 2000) (i32.load (i32.const 28))))
        local.get $rec"#;
    let wat = filter(body, "").replacen("(memory", &format!("{extra}\n(memory"), 1);
    let options = FluentBitOptions { accessible_paths: vec![".".into(), dir.clone()], ..FluentBitOptions::default() };
    let mut h = host_with(&wat, options);
    h.filter_record(TAG, 0, 0, RECORD).unwrap();
    let mem = h.memory();
    let word = |at: usize| u32::from_le_bytes(mem[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!((word(8), word(12)), (0, 0), "fds 3 and 4 are preopened");
    assert_eq!(&mem[1000..1000 + word(20)], b".");
    let want = dir.to_str().unwrap().as_bytes();
    assert_eq!(&mem[2000..2000 + word(28)], want);
    let _ = std::fs::remove_dir(&dir);
}

const SIMD_MODULE: &str = r#"(module
    (memory (export "memory") 1)
    (func (export "resetwatch_filter") (param i32 i32 i32 i32 i32 i32) (result i32)
      (v128.store (i32.const 0) (v128.const i32x4 0 0 0 0))
      local.get 4))"#;

#[test]
fn wasm_check_flags_simd() {
    let bytes = wasm(SIMD_MODULE);
    let report = wasm_check::analyze(&bytes).unwrap();
    assert!(report.uses(Feature::Simd), "{report}");
    let err = wasm_check::check_fluent_bit_module(&bytes).unwrap_err();
    assert!(format!("{err:#}").contains("simd128"), "{err:#}");
    // The stand-in host refuses it too, as WAMR would.
    assert!(FluentBitHost::new(&bytes, FluentBitOptions::default()).is_err());
    // A v128 only in a signature counts as well.
    let sig_only = wasm(
        r#"(module (memory (export "memory") 1)
             (func (export "resetwatch_filter") (param i32 i32 i32 i32 i32 i32) (result i32) local.get 4)
             (func (export "f") (param v128)))"#,
    );
    assert!(wasm_check::analyze(&sig_only).unwrap().uses(Feature::Simd));
}

#[test]
fn wasm_check_reports_imports_exports_and_features() {
    let bytes = wasm(&filter(DO_NOTHING, MALLOC_FREE).replacen(
        "(memory",
        r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
           (memory"#,
        1,
    ));
    let report = wasm_check::check_fluent_bit_module(&bytes).unwrap();
    assert_eq!(report.imports.len(), 1);
    assert_eq!(report.imports[0].name, "fd_write");
    assert_eq!(report.imports[0].signature.as_ref().unwrap().to_string(), "(i32, i32, i32, i32) -> (i32)");
    let filter_export = report.export("resetwatch_filter").unwrap();
    assert_eq!(filter_export.signature.as_ref().unwrap().to_string(), "(i32, i32, i32, i32, i32, i32) -> (i32)");
    assert_eq!(report.allocator(), Some("malloc/free"));
    assert!(report.features.is_empty(), "plain MVP module: {report}");

    // memory.copy is bulk memory; i32.extend8_s is sign-ext.
    let bytes = wasm(&filter("(memory.copy (i32.const 0) (i32.const 8) (i32.const 8)) (i32.extend8_s (local.get $rec))", ""));
    let report = wasm_check::check_fluent_bit_module(&bytes).unwrap();
    assert!(report.uses(Feature::BulkMemory) && report.uses(Feature::SignExtension), "{report}");
    assert!(!report.uses(Feature::Simd));
}

#[test]
fn wasm_check_rejects_what_fluent_bit_cannot_call() {
    let wrong_sig = wasm(
        r#"(module (memory (export "memory") 1)
        (func (export "resetwatch_filter") (param i32 i32) (result i32) local.get 0))"#,
    );
    let err = wasm_check::check_fluent_bit_module(&wrong_sig).unwrap_err();
    assert!(format!("{err:#}").contains("resetwatch_filter"), "{err:#}");

    let missing = wasm(r#"(module (memory (export "memory") 1))"#);
    assert!(wasm_check::check_fluent_bit_module(&missing).is_err());

    let foreign_import =
        wasm(&filter(DO_NOTHING, "").replacen("(memory", r#"(import "env" "now" (func (result i64))) (memory"#, 1));
    let err = wasm_check::check_fluent_bit_module(&foreign_import).unwrap_err();
    assert!(format!("{err:#}").contains("env::now"), "{err:#}");

    let threads = wasm(
        r#"(module (memory (export "memory") 1 1 shared)
        (func (export "resetwatch_filter") (param i32 i32 i32 i32 i32 i32) (result i32) local.get 4))"#,
    );
    let err = wasm_check::check_fluent_bit_module(&threads).unwrap_err();
    assert!(format!("{err:#}").contains("threads"), "{err:#}");
}
