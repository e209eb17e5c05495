//! Times: the microsecond clock the detector runs on, NATS and wrapper time
//! stamps, and RFC 3339 output.
//!
//! Every time inside resetwatch is an `i64` count of microseconds since the
//! Unix epoch in UTC ([`Micros`]). NATS prints local time with no zone, so a
//! line time is read as a naive civil time and shifted by the configured
//! `line_utc_offset`; differences between two lines of one server are exact
//! whatever the offset.

use crate::text::{decimal, word};

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

/// One second in [`Micros`].
pub const SECOND: Micros = 1_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), valid for any year an i64 day count holds.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A civil date and time of day, as read from a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// The year.
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    /// 0 to 23.
    pub hour: u32,
    /// 0 to 59.
    pub minute: u32,
    /// 0 to 60 (60: a leap second).
    pub second: u32,
    /// 0 to 999,999.
    pub micros: u32,
}

impl Civil {
    /// Microseconds since the epoch, reading this civil time as UTC.
    pub fn as_naive_micros(&self) -> Micros {
        let days = days_from_civil(self.year, self.month, self.day);
        let secs = days * 86_400 + self.hour as i64 * 3600 + self.minute as i64 * 60 + self.second as i64;
        secs * SECOND + self.micros as i64
    }

    fn valid(&self) -> bool {
        (1..=12).contains(&self.month) && (1..=31).contains(&self.day) && self.hour < 24 && self.minute < 60 && self.second < 61
    }
}

/// Reads `n` ASCII digits at `at`.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    let mut v: u32 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// Reads an optional `.fraction` at `at`; returns microseconds and the end.
fn fraction(b: &[u8], at: usize) -> (u32, usize) {
    if b.get(at) != Some(&b'.') && b.get(at) != Some(&b',') {
        return (0, at);
    }
    let mut i = at + 1;
    let mut micros: u32 = 0;
    let mut scale: u32 = 100_000;
    while let Some(&c) = b.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        micros += (c - b'0') as u32 * scale;
        scale /= 10;
        i += 1;
    }
    if i == at + 1 {
        return (0, at);
    }
    (micros, i)
}

/// Parses NATS's `yyyy/mm/dd hh:mm:ss[.ffffff]` at the start of `b`.
/// Returns the civil time and the number of bytes read.
pub fn parse_nats_time(b: &[u8]) -> Option<(Civil, usize)> {
    if b.get(4) != Some(&b'/') || b.get(7) != Some(&b'/') || b.get(10) != Some(&b' ') {
        return None;
    }
    let (time, end) = time_of_day(b, 11)?;
    let c = Civil { year: digits(b, 0, 4)? as i64, month: digits(b, 5, 2)?, day: digits(b, 8, 2)?, ..time };
    c.valid().then_some((c, end))
}

/// The minute of the last NATS stamp read in full. A server's event lines
/// come in bursts, so a stamp almost always starts with the same 16 bytes
/// (`yyyy/mm/dd hh:mm`) as the one before; the date's day count, which
/// divides, and the hour and minute are then not read again. Transient:
/// nothing of it is saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatsMinute {
    /// The first 16 bytes of a stamp [`parse_nats_time`] accepted.
    head: [u64; 2],
    /// That minute's start ([`Civil::as_naive_micros`] at second 0).
    start: Micros,
    known: bool,
}

impl NatsMinute {
    /// Knows no minute.
    pub const EMPTY: NatsMinute = NatsMinute { head: [0; 2], start: 0, known: false };

    /// [`parse_nats_time`] as naive microseconds ([`Civil::as_naive_micros`])
    /// and the bytes read. In the known minute only what follows `hh:mm`
    /// is read: every check on the first 16 bytes passed for that stamp.
    pub fn read(&mut self, b: &[u8]) -> Option<(Micros, usize)> {
        let head = word::at(b, 0).zip(word::at(b, 8)).map(|(a, c)| [a, c]);
        if self.known && head == Some(self.head) {
            if b.get(16) != Some(&b':') {
                return None;
            }
            let second = digits(b, 17, 2)?;
            if second >= 61 {
                return None;
            }
            let (micros, end) = fraction(b, 19);
            return Some((self.start + second as Micros * SECOND + micros as Micros, end));
        }
        let (c, end) = parse_nats_time(b)?;
        let t = c.as_naive_micros();
        if let Some(head) = head {
            *self = NatsMinute { head, start: t - c.second as Micros * SECOND - c.micros as Micros, known: true };
        }
        Some((t, end))
    }
}

/// `hh:mm:ss[.ffffff]` at `at`, into a `Civil` with no date.
fn time_of_day(b: &[u8], at: usize) -> Option<(Civil, usize)> {
    if b.get(at + 2) != Some(&b':') || b.get(at + 5) != Some(&b':') {
        return None;
    }
    let (micros, end) = fraction(b, at + 8);
    let c = Civil {
        year: 1970,
        month: 1,
        day: 1,
        hour: digits(b, at, 2)?,
        minute: digits(b, at + 3, 2)?,
        second: digits(b, at + 6, 2)?,
        micros,
    };
    Some((c, end))
}

/// Parses an RFC 3339 time stamp (`2025-06-11T09:45:46.671167074+01:00`,
/// `...Z`) at the start of `b`: the UTC instant and the bytes read.
pub fn parse_rfc3339(b: &[u8]) -> Option<(Micros, usize)> {
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (time, end) = time_of_day(b, 11)?;
    let c = Civil { year: digits(b, 0, 4)? as i64, month: digits(b, 5, 2)?, day: digits(b, 8, 2)?, ..time };
    if !c.valid() {
        return None;
    }
    let (offset, end) = match b.get(end) {
        Some(b'Z' | b'z') => (0, end + 1),
        Some(b'+' | b'-') => match b.get(end..end + 6).and_then(parse_offset) {
            Some(off) => (off, end + 6),
            // `journalctl -o short-iso` before systemd 249 prints `+0000`.
            None => {
                let h = b.get(end..end + 5)?;
                let colon = [h[0], h[1], h[2], b':', h[3], h[4]];
                (parse_offset(&colon)?, end + 5)
            }
        },
        _ => return None,
    };
    Some((c.as_naive_micros() - offset, end))
}

/// Parses an epoch time as records carry it: a decimal number of seconds
/// (`1795702628.682791`), milliseconds, microseconds (journald's
/// `__REALTIME_TIMESTAMP`) or nanoseconds, told apart by the number of
/// integer digits (up to 11: seconds, 12-14: ms, 15-17: µs, more: ns; so
/// every time from 1973 to 5138 reads right). The whole text must be the
/// number.
pub fn parse_epoch(b: &[u8]) -> Option<Micros> {
    let dot = b.iter().position(|&c| c == b'.').unwrap_or(b.len());
    let (int, frac) = (&b[..dot], b.get(dot + 1..).unwrap_or_default());
    if int.is_empty() || int.len() > 19 || !int.iter().chain(frac).all(u8::is_ascii_digit) || (dot < b.len() && frac.is_empty()) {
        return None;
    }
    let whole: i64 = std::str::from_utf8(int).ok()?.parse().ok()?;
    // Digits of the fraction that still count at microsecond precision.
    let (per_unit, unit_digits) = match int.len() {
        0..=11 => (SECOND, 6),
        12..=14 => (1000, 3),
        15..=17 => (1, 0),
        _ => return Some(whole / 1000),
    };
    let mut fraction: i64 = 0;
    for k in 0..unit_digits {
        fraction = fraction * 10 + frac.get(k).map_or(0, |c| (c - b'0') as i64);
    }
    whole.checked_mul(per_unit)?.checked_add(fraction)
}

/// Parses RFC 3164's `Mmm dd hh:mm:ss` (the day may be space-padded).
/// The year is not in the text; the caller supplies it.
pub fn parse_syslog_time(b: &[u8], year: i64) -> Option<(Civil, usize)> {
    const MONTHS: [&[u8; 3]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    let name = b.get(0..3)?;
    let month = MONTHS.iter().position(|m| &m[..] == name)? as u32 + 1;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let day = match (b.get(4)?, b.get(5)?) {
        (b' ', d) if d.is_ascii_digit() => (d - b'0') as u32,
        _ => digits(b, 4, 2)?,
    };
    if b.get(6) != Some(&b' ') {
        return None;
    }
    let (time, end) = time_of_day(b, 7)?;
    let c = Civil { year, month, day, ..time };
    c.valid().then_some((c, end))
}

/// Parses a UTC offset `+hh:mm` / `-hh:mm` (or `Z`) into microseconds east of UTC.
pub fn parse_offset(b: &[u8]) -> Option<Micros> {
    if b == b"Z" || b == b"z" {
        return Some(0);
    }
    if b.len() != 6 || b[3] != b':' {
        return None;
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = (digits(b, 1, 2)?, digits(b, 4, 2)?);
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h as i64 * 3600 + m as i64 * 60) * SECOND)
}

/// The year of a UTC instant (for syslog lines, which print none).
pub fn year_of(t: Micros) -> i64 {
    civil_from_days(t.div_euclid(86_400 * SECOND)).0
}

/// Formats a UTC instant as RFC 3339 in the given offset, with microseconds
/// (`2026-11-26T14:17:08.682791Z`, `...+01:00`).
pub fn rfc3339(t: Micros, offset: Micros) -> String {
    let mut out = Vec::with_capacity(32);
    write_rfc3339(&mut out, t, offset);
    // Only ASCII is written.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends [`rfc3339`]'s text to `out`, digit by digit (no `core::fmt`:
/// an alert writes two times).
pub fn write_rfc3339(out: &mut Vec<u8>, t: Micros, offset: Micros) {
    let local = t + offset;
    let days = local.div_euclid(86_400 * SECOND);
    let rem = local.rem_euclid(86_400 * SECOND);
    let (y, mo, d) = civil_from_days(days);
    let secs = rem / SECOND;
    for (n, width, then) in [
        (y, 4, b'-'),
        (mo as i64, 2, b'-'),
        (d as i64, 2, b'T'),
        (secs / 3600, 2, b':'),
        (secs / 60 % 60, 2, b':'),
        (secs % 60, 2, b'.'),
    ] {
        decimal::push(out, n, width);
        out.push(then);
    }
    decimal::push(out, rem % SECOND, 6);
    if offset == 0 {
        out.push(b'Z');
    } else {
        out.push(if offset < 0 { b'-' } else { b'+' });
        let mins = offset.abs() / SECOND / 60;
        decimal::push(out, mins / 60, 2);
        out.push(b':');
        decimal::push(out, mins % 60, 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition before `write_rfc3339`, with `format!`.
    fn rfc3339_by_format(t: Micros, offset: Micros) -> String {
        let local = t + offset;
        let days = local.div_euclid(86_400 * SECOND);
        let rem = local.rem_euclid(86_400 * SECOND);
        let (y, mo, d) = civil_from_days(days);
        let secs = rem / SECOND;
        let micros = rem % SECOND;
        let mut s =
            format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}", y, mo, d, secs / 3600, secs / 60 % 60, secs % 60, micros);
        if offset == 0 {
            s.push('Z');
        } else {
            let sign = if offset < 0 { '-' } else { '+' };
            let mins = offset.abs() / SECOND / 60;
            s.push_str(&format!("{}{:02}:{:02}", sign, mins / 60, mins % 60));
        }
        s
    }

    #[test]
    fn rfc3339_is_written_as_format_wrote_it() {
        let day = 86_400 * SECOND;
        let times = [
            i64::MIN / 2,
            -400 * 366 * day - 1,
            -62_135_596_800 * SECOND - 1,
            -day,
            -1,
            0,
            1,
            999_999,
            day - 1,
            1_795_687_200_000_000,
            253_402_300_800 * SECOND,
            i64::MAX / 2,
        ];
        let offsets = [
            0,
            60 * SECOND,
            -60 * SECOND,
            5 * 3600 * SECOND + 45 * 60 * SECOND,
            -12 * 3600 * SECOND,
            14 * 3600 * SECOND,
            99 * 3600 * SECOND,
            1,
        ];
        for t in times.into_iter().chain((0..2000).map(|k| k * 7_777_777_777_777 - 7_000_000_000_000_000)) {
            for off in offsets {
                assert_eq!(rfc3339(t, off), rfc3339_by_format(t, off), "{t} {off}");
            }
        }
    }

    #[test]
    fn civil_round_trips() {
        for days in [-800_000, -1, 0, 1, 11_016, 20_000, 20_418, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn nats_times() {
        // s05 n1.log: `[8368] 2026/11/26 14:17:08.682791 [WRN] Error applying entries ...`
        let (c, n) = parse_nats_time(b"2026/11/26 14:17:08.682791 [WRN]").unwrap();
        assert_eq!(n, 26);
        assert_eq!(rfc3339(c.as_naive_micros(), 0), "2026-11-26T14:17:08.682791Z");
        // older servers print no fraction
        let (c, n) = parse_nats_time(b"2022/01/21 13:27:25 [WRN]").unwrap();
        assert_eq!((n, c.micros), (19, 0));
        for bad in [&b"2026/13/26 14:17:08"[..], b"2026-11-26 14:17:08", b"2026/11/26 1:17:08", b"2026/11/2"] {
            assert!(parse_nats_time(bad).is_none(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    /// The memo against the long way, on stamps in the learned minute and
    /// beside it, with every byte of a stamp in turn made wrong.
    #[test]
    fn the_nats_minute_answers_as_the_long_way() {
        let long = |b: &[u8]| parse_nats_time(b).map(|(c, n)| (c.as_naive_micros(), n));
        let mut next = crate::test_sequence::below(0x2545_f491_4f6c_dd1du64);
        let stamps = [
            "2026/11/26 14:17:08.682791 [WRN]",
            "2026/11/26 14:17:59.999999",
            "2026/11/26 14:18:00.000001",
            "2026/11/26 14:17:60.5",
            "2026/11/26 14:17:61.5",
            "2026/11/26 14:17:08",
            "2026/11/26 14:17:8",
            "2026/11/26 14:17",
            "2026/11/26 14:17:08,25",
            "2026/11/26 14:17:08.",
            "2026/11/26 14:17:08.1234567890",
            "2022/01/21 13:27:25 [WRN]",
            "2026/02/29 23:59:59.1",
            "2026/13/26 14:17:08",
        ];
        let mut memo = NatsMinute::EMPTY;
        for round in 0..50_000 {
            let mut b = stamps[next(stamps.len() as u64)].as_bytes().to_vec();
            if round % 3 == 0 {
                let at = next(b.len() as u64);
                b[at] = b"0123456789/: .,x"[next(16)];
            }
            if round % 7 == 0 {
                b.truncate(next(b.len() as u64 + 1));
            }
            assert_eq!(memo.read(&b), long(&b), "{round} {:?} after {memo:?}", String::from_utf8_lossy(&b));
        }
    }

    #[test]
    fn rfc3339_in_and_out() {
        // CRI prefix from docs/design/nats-server.md#line-layout
        let (t, n) = parse_rfc3339(b"2025-06-11T09:45:46.671167074+01:00 stderr F").unwrap();
        assert_eq!(n, 35);
        assert_eq!(rfc3339(t, 0), "2025-06-11T08:45:46.671167Z");
        assert_eq!(rfc3339(t, 3600 * SECOND), "2025-06-11T09:45:46.671167+01:00");
        assert_eq!(rfc3339(t, -(5 * 3600 + 30 * 60) * SECOND), "2025-06-11T03:15:46.671167-05:30");
        let (t2, _) = parse_rfc3339(b"2025-02-04T09:00:01Z host").unwrap();
        assert_eq!(rfc3339(t2, 0), "2025-02-04T09:00:01.000000Z");
        assert!(parse_rfc3339(b"2025-02-04T09:00:01 host").is_none());
    }

    #[test]
    fn record_epoch_times_by_their_digits() {
        // (text, microseconds since the epoch)
        let table: &[(&str, Option<Micros>)] = &[
            // journald's `__REALTIME_TIMESTAMP` (journalctl -o json): microseconds
            ("1795702628682791", Some(1_795_702_628_682_791)),
            // seconds with a fraction, as Fluent Bit's `json_date_format double` writes them
            ("1795702628.682791", Some(1_795_702_628_682_791)),
            ("1795702628.6827919", Some(1_795_702_628_682_791)),
            ("1795702628", Some(1_795_702_628_000_000)),
            // milliseconds, as JavaScript loggers write them
            ("1795702628682", Some(1_795_702_628_682_000)),
            // nanoseconds
            ("1795702628682791123", Some(1_795_702_628_682_791)),
            ("", None),
            ("12a", None),
            ("1795702628.", None),
            ("-1795702628", None),
        ];
        for &(text, want) in table {
            assert_eq!(parse_epoch(text.as_bytes()), want, "{text}");
        }
    }

    #[test]
    fn short_iso_offsets_without_a_colon() {
        // `journalctl -o short-iso` from systemd before 249
        let (t, n) = parse_rfc3339(b"2026-11-26T14:17:08+0100 n1 nats-server[8368]:").unwrap();
        assert_eq!((rfc3339(t, 0).as_str(), n), ("2026-11-26T13:17:08.000000Z", 24));
    }

    #[test]
    fn syslog_and_offsets() {
        let (c, n) = parse_syslog_time(b"Feb  4 09:00:01 nats-server[715]:", 2025).unwrap();
        assert_eq!((c.month, c.day, c.hour, n), (2, 4, 9, 15));
        let (c, _) = parse_syslog_time(b"Oct 24 13:50:39 host", 2023).unwrap();
        assert_eq!((c.month, c.day), (10, 24));
        assert!(parse_syslog_time(b"Foo 24 13:50:39", 2023).is_none());
        assert_eq!(parse_offset(b"+00:00"), Some(0));
        assert_eq!(parse_offset(b"-08:00"), Some(-8 * 3600 * SECOND));
        assert_eq!(parse_offset(b"+0800"), None);
        assert_eq!(parse_offset(b"+24:00"), None);
        assert_eq!(year_of(parse_rfc3339(b"2026-11-26T00:00:00Z").unwrap().0), 2026);
    }
}
