//! Whole numbers written as decimal text without `core::fmt`: in wasm a
//! `format!` or `to_string` of one number costs over a thousand
//! instructions (measured on the alert's members), this a few dozen a digit.

/// A number's decimal digits, kept on the stack.
pub struct Decimal {
    buf: [u8; 20],
    start: usize,
}

impl Decimal {
    /// The digits of `n`.
    pub fn of(mut n: u64) -> Decimal {
        let mut d = Decimal { buf: [b'0'; 20], start: 20 };
        loop {
            d.start -= 1;
            d.buf[d.start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        d
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever written into `buf`.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The digits' bytes (no UTF-8 check: `push` writes them as they are).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// Appends `n` as `format!("{n:0width$}")` does: a `-` for a negative
/// number, then its digits, zeros in front until the whole is `width` long.
pub fn push(out: &mut Vec<u8>, n: i64, width: usize) {
    if n < 0 {
        out.push(b'-');
    }
    let digits = Decimal::of(n.unsigned_abs());
    let text = digits.as_bytes();
    for _ in text.len() + usize::from(n < 0)..width {
        out.push(b'0');
    }
    out.extend_from_slice(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_as_format_writes_them() {
        let edges = [i64::MIN, i64::MIN + 1, -1_000_000, -10, -9, -1, 0, 1, 9, 10, 99, 100, 2026, 999_999, i64::MAX];
        for n in edges.into_iter().chain((-300..300).map(|k| k * 7919)) {
            for width in [0, 1, 2, 4, 6, 19, 20, 21, 25] {
                let mut out = Vec::new();
                push(&mut out, n, width);
                assert_eq!(String::from_utf8(out).unwrap(), format!("{n:0width$}"), "{n} {width}");
            }
            let u = n.unsigned_abs();
            assert_eq!(Decimal::of(u).as_str(), u.to_string());
        }
        assert_eq!(Decimal::of(u64::MAX).as_str(), u64::MAX.to_string());
    }
}
