//! Reading text eight bytes at a time: the JSON scanner's string ends and
//! the line gate's head search both look for one of two bytes in long
//! runs, where a byte loop costs several wasm instructions a byte.

/// `0x01` in every byte.
pub(crate) const LO: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
pub(crate) const HI: u64 = 0x8080_8080_8080_8080;

/// The eight bytes of `b` at `i`, little-endian, when all are there.
#[inline(always)]
pub(crate) fn at(b: &[u8], i: usize) -> Option<u64> {
    b.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()).map(u64::from_le_bytes)
}

/// The eight bytes at `k` of a window the caller has bounds for (`k` at
/// most `N - 8`, or a constant), little-endian; 0 past its end. Inlined
/// with such a `k` it is one load and no check: `copy_from_slice` at a
/// computed `k` stayed a call in wasm.
#[inline(always)]
pub(crate) fn of<const N: usize>(b: &[u8; N], k: usize) -> u64 {
    at(b, k).unwrap_or(0)
}

/// Bit 7 set in every byte of `w` that is `x` or `y`, and possibly in bytes
/// above one that is (borrows): the lowest set bit marks the first such
/// byte exactly, and a zero result means there is none.
#[inline(always)]
pub(crate) fn marks(w: u64, x: u8, y: u8) -> u64 {
    let p = w ^ (x as u64 * LO);
    let q = w ^ (y as u64 * LO);
    ((p.wrapping_sub(LO) & !p) | (q.wrapping_sub(LO) & !q)) & HI
}

/// Bit 7 set in every byte of `t` that is no ASCII digit, where `t` is a
/// word with `'0'` taken off each byte (`w ^ (b'0' as u64 * LO)`, each
/// digit's value then). The lowest set bit marks the first such byte
/// exactly; a carry may mark a byte above it as well, never one less.
#[inline(always)]
pub(crate) fn not_digits(t: u64) -> u64 {
    (t.wrapping_add(0x76 * LO) | t) & HI
}
