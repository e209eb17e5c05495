//! The do-nothing Fluent Bit filter: it returns the record it was given, so
//! Fluent Bit keeps it byte-identical. Everything such a filter costs is
//! the host's (msgpack to JSON, the copy into guest memory, the call, the
//! JSON back to msgpack): the floor any wasm filter stands on. Built from
//! Rust with the same toolchain, std and link arguments as resetwatch's
//! own modules, so the only difference between the two is resetwatch's work.

/// Fluent Bit's JSON-mode filter signature (`Function_Name resetwatch_filter`,
/// the name the resetwatch configurations use): the record pointer back
/// means "unchanged". `no_mangle` is the only unsafe-attribute here: the
/// export must carry exactly this name, as resetwatch's own does.
#[no_mangle]
pub extern "C" fn resetwatch_filter(
    _tag: *const u8,
    _tag_len: u32,
    _time_sec: u32,
    _time_nsec: u32,
    record: *const u8,
    _record_len: u32,
) -> *const u8 {
    record
}

#[cfg(target_arch = "wasm32")]
extern "C" {
    fn __wasm_call_ctors();
}

/// The WASI reactor's entry, exactly as resetwatch's Fluent Bit shell has it
/// (wasm/src/fluent_bit.rs): without it wasm-ld wraps the export in a
/// function that calls libc's destructors after every record, a cost that
/// is the link mode's, not the filter's.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub extern "C" fn _initialize() {
    // SAFETY: the linker's constructor list, run once by the host.
    unsafe { __wasm_call_ctors() }
}
