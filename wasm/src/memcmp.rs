//! `memcmp` for the Fluent Bit modules, eight bytes a step. Every slice
//! comparison of the core (`==`, `starts_with` on bytes and strings) is a
//! call to it, and wasi-libc's is musl's byte loop: about 20 wasm
//! instructions a byte, which WAMR's interpreter runs one by one (an event
//! line makes some twenty such calls). Defined here, it is linked in place
//! of wasi-libc's. rustc exports it, as every `#[no_mangle]` function;
//! `cargo xtask dist` takes the export out again (`UNCALLED_EXPORTS`): no
//! host calls it, and Fluent Bit pays a `strcmp` a record for each export
//! before the filter's.

/// C's `memcmp`: the sign of the first differing byte's difference (as
/// unsigned bytes), 0 when the first `n` bytes are equal.
///
/// # Safety
/// `a` and `b` point at `n` readable bytes each, as C requires.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: `i + 8 <= n`, so the eight bytes at `i` are in both ranges.
        let (x, y) = unsafe { (a.add(i).cast::<u64>().read_unaligned(), b.add(i).cast::<u64>().read_unaligned()) };
        if x != y {
            // Little-endian: the lowest differing byte comes first in memory.
            let k = i + ((x ^ y).trailing_zeros() / 8) as usize;
            // SAFETY: `k < i + 8 <= n`.
            return unsafe { *a.add(k) as i32 - *b.add(k) as i32 };
        }
        i += 8;
    }
    while i < n {
        // SAFETY: `i < n`.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}
