//! A fixed pseudo-random sequence for the tests that compare a fast path
//! with the code it replaced: the same inputs on every run, so a failure
//! repeats.

/// Xorshift64 from `seed` (not 0): each call gives a number below `n`.
pub(crate) fn below(seed: u64) -> impl FnMut(u64) -> usize {
    let mut x = seed;
    move |n| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n) as usize
    }
}
