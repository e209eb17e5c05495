//! One log line: strip what wrapped it on the way (CRI, journald, syslog,
//! stern, ANSI colours) and split nats-server's own prefix
//! (`[pid] yyyy/mm/dd hh:mm:ss.uuuuuu [LVL] `) from the message.
//!
//! This runs on every record, so it only looks at the bytes it needs and
//! parses no time until asked ([`Line::time`]). It reads the line either as
//! decoded text or still escaped inside a JSON string: the prefixes hold no
//! character JSON must escape except ESC (`\u001b`) and TAB (`\t`), and both
//! spellings of those are understood, so the shell can classify a record
//! before decoding it.

use crate::text::clock::{self, Micros};
use crate::text::word::{self, HI, LO};

/// nats-server's log levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `[TRC]`
    Trace,
    /// `[DBG]`
    Debug,
    /// `[INF]`
    Info,
    /// `[WRN]`
    Warn,
    /// `[ERR]`
    Error,
    /// `[FTL]`
    Fatal,
}

impl Level {
    #[inline(always)]
    fn from_label(l: &[u8]) -> Option<Level> {
        let &[a, b, c] = l else { return None };
        // One integer comparison per label rather than a memcmp each.
        const fn code(l: &[u8; 3]) -> u32 {
            (l[0] as u32) << 16 | (l[1] as u32) << 8 | l[2] as u32
        }
        Some(match (a as u32) << 16 | (b as u32) << 8 | c as u32 {
            x if x == code(b"INF") => Level::Info,
            x if x == code(b"WRN") => Level::Warn,
            x if x == code(b"ERR") => Level::Error,
            x if x == code(b"DBG") => Level::Debug,
            x if x == code(b"TRC") => Level::Trace,
            x if x == code(b"FTL") => Level::Fatal,
            _ => return None,
        })
    }

    /// A syslog priority's severity (`pri & 7`) as a NATS level.
    fn from_syslog(pri: u32) -> Level {
        match pri & 7 {
            0..=2 => Level::Fatal,
            3 => Level::Error,
            4 => Level::Warn,
            5 | 6 => Level::Info,
            _ => Level::Debug,
        }
    }

    /// The three-letter label NATS prints.
    pub fn label(self) -> &'static str {
        match self {
            Level::Trace => "TRC",
            Level::Debug => "DBG",
            Level::Info => "INF",
            Level::Warn => "WRN",
            Level::Error => "ERR",
            Level::Fatal => "FTL",
        }
    }
}

/// A time stamp found on the line, kept as text until it is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp<'a> {
    /// nats-server's own, local time with no zone.
    Nats(&'a [u8]),
    /// A wrapper's RFC 3339 time with its zone (CRI, stern, remote syslog).
    Zoned(&'a [u8]),
    /// RFC 3164's `Mmm dd hh:mm:ss` (journald's `short-precise` adds a
    /// fraction): local, and no year.
    Syslog(&'a [u8]),
    /// Not on the line: the time the record around it carries
    /// ([`crate::input::record::time`]), set by the filter when the line has none
    /// of its own.
    Record(Micros),
}

impl Stamp<'_> {
    /// Whether nats-server printed this time itself (local time, which can
    /// go back); every other kind is a wrapper's or a record's.
    pub fn is_servers_own(&self) -> bool {
        matches!(self, Stamp::Nats(_))
    }
}

/// A log line taken apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// The best time stamp on the line: NATS's own before a wrapper's.
    pub stamp: Option<Stamp<'a>>,
    /// The level label, or the syslog priority's severity.
    pub level: Option<Level>,
    /// The pid in nats-server's prefix (`[8368]`), when there is one.
    pub has_nats_prefix: bool,
    /// The host a wrapper names (syslog's and journald's host name,
    /// stern's and `kubectl logs --prefix`'s pod).
    pub host: Option<&'a [u8]>,
    /// The program a syslog or journald wrapper names (`nats-server`,
    /// `nats-b`), without its `[pid]`.
    pub program: Option<&'a [u8]>,
    /// The message was found by searching the line for an event message
    /// behind a prefix no layout here knows ([`find_event_head`]).
    pub unknown_prefix: bool,
    /// What nats-server logged, after all prefixes (still escaped when the
    /// line was read inside a JSON string).
    pub message: &'a [u8],
}

impl Line<'_> {
    /// The line's time in UTC. NATS and syslog stamps are local time, read
    /// with `offset` (east of UTC); a syslog stamp takes its year from
    /// `now`.
    pub fn time(&self, offset: Micros, now: Micros) -> Option<Micros> {
        let mut fresh = clock::NatsMinute::EMPTY;
        self.time_in(&mut fresh, offset, now)
    }

    /// [`Line::time`], a NATS stamp read with the minute of the last one.
    pub fn time_in(&self, minute: &mut clock::NatsMinute, offset: Micros, now: Micros) -> Option<Micros> {
        match self.stamp? {
            Stamp::Nats(t) => minute.read(t).map(|(t, _)| t - offset),
            Stamp::Zoned(t) => clock::parse_rfc3339(t).map(|(t, _)| t),
            Stamp::Record(t) => Some(t),
            Stamp::Syslog(t) => {
                let year = clock::year_of(now + offset);
                let local = clock::parse_syslog_time(t, year)?.0.as_naive_micros();
                // A December line read in January belongs to last year.
                let local = if local - (now + offset) > 180 * 86_400 * clock::SECOND {
                    clock::parse_syslog_time(t, year - 1)?.0.as_naive_micros()
                } else {
                    local
                };
                Some(local - offset)
            }
        }
    }
}

impl Line<'_> {
    /// Which server printed the line, as its wrapper says: the host, then
    /// `/<program>` when the program is not `nats-server` (two servers on
    /// one host under journald are `host/nats-a` and `host/nats-b`); the
    /// program alone when no host is named and it is not `nats-server`.
    /// `None` when no wrapper names one. Escaped bytes are kept as they are
    /// (host and program names hold none).
    pub fn origin(&self) -> Option<String> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let program = self.program.filter(|p| !p.is_empty() && *p != b"nats-server" && *p != b"-");
        let host = self.host.filter(|h| !h.is_empty() && *h != b"-");
        match (host, program) {
            (Some(h), Some(p)) => Some(format!("{}/{}", text(h), text(p))),
            (Some(h), None) => Some(text(h)),
            (None, Some(p)) => Some(text(p)),
            (None, None) => None,
        }
    }
}

/// Length of an ANSI escape sequence (`ESC [ ... letter`) at `i`, either as
/// the byte 0x1b or as the JSON escape `\u001b`; 0 when there is none.
#[inline(always)]
fn ansi_len(b: &[u8], i: usize) -> usize {
    let esc = match b.get(i) {
        Some(0x1b) => 1,
        Some(b'\\') if b.get(i + 1..i + 6).is_some_and(|s| s.eq_ignore_ascii_case(b"u001b")) => 6,
        _ => return 0,
    };
    let mut j = i + esc;
    if b.get(j) != Some(&b'[') {
        return esc;
    }
    j += 1;
    while let Some(&c) = b.get(j) {
        j += 1;
        if c.is_ascii_alphabetic() {
            return j - i;
        }
        if !(c.is_ascii_digit() || c == b';') {
            break;
        }
    }
    j - i
}

/// Skips ANSI sequences at `i`.
#[inline(always)]
fn skip_ansi(b: &[u8], mut i: usize) -> usize {
    loop {
        let n = ansi_len(b, i);
        if n == 0 {
            return i;
        }
        i += n;
    }
}

/// Skips spaces and tabs (either spelling) at `i`.
#[inline]
fn skip_blank(b: &[u8], mut i: usize) -> usize {
    loop {
        match b.get(i) {
            Some(b' ' | b'\t') => i += 1,
            Some(b'\\') if b.get(i + 1) == Some(&b't') => i += 2,
            _ => return i,
        }
    }
}

/// Index of the first byte at or after `i` for which `f` holds, within `limit` bytes.
#[inline]
fn find_within(b: &[u8], i: usize, limit: usize, f: impl Fn(u8) -> bool) -> Option<usize> {
    let end = b.len().min(i.saturating_add(limit));
    (i..end).find(|&j| f(b[j]))
}

/// Splits a line into wrappers, NATS prefix and message.
pub fn split(b: &[u8]) -> Line<'_> {
    let mut line =
        Line { stamp: None, level: None, has_nats_prefix: false, host: None, program: None, unknown_prefix: false, message: b };
    let mut i = skip_ansi(b, 0);
    // Each wrapper is tried only when a few fixed bytes allow it: most
    // lines are nats-server's own, and most others are no wrapper at all.
    let at = |k: usize| b.get(i + k).copied();
    match at(0) {
        Some(b'[') if b.get(i..i + 5) == Some(b"[pod/") => i = kubectl_prefix(b, i, &mut line),
        Some(b'[') => {}
        Some(b'<') => i = syslog(b, i, &mut line),
        Some(c) if c.is_ascii_digit() && at(4) == Some(b'-') && at(7) == Some(b'-') => i = zoned_prefix(b, i, &mut line),
        Some(c) if c.is_ascii_uppercase() && at(3) == Some(b' ') && at(9) == Some(b':') => i = journal_prefix(b, i, &mut line),
        Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => i = stern_prefix(b, i, &mut line),
        _ => {}
    }
    i = skip_ansi(b, i);
    if b.get(i) == Some(&b'[') {
        if let Some(after) = nats_prefix(b, i, &mut line) {
            i = after;
        }
    }
    line.message = b.get(i..).unwrap_or_default();
    if !line.has_nats_prefix && !crate::input::event::may_matter(line.message) && !nats_shaped(line.message) {
        if let Some(p) = find_event_head(line.message) {
            behind_unknown_prefix(&mut line, p);
        }
    }
    line
}

/// `[` and a digit: nats-server's own prefix, or a line that is not
/// NATS's at all; never searched for a message behind it (the pass gate
/// answers such lines from fixed offsets).
fn nats_shaped(m: &[u8]) -> bool {
    m.first() == Some(&b'[') && m.get(1).is_some_and(u8::is_ascii_digit)
}

/// The event message heads [`find_event_head`] looks for, each ending in
/// the quote before the stream's name; `Will not reset stream` (whose
/// 2.9-2.11.5 form names no stream) is found by its `W`.
const QUOTED_HEADS: [&[u8]; 6] = [
    b"Error applying entries to '",
    b"Error applying stream entries to '",
    b"Resetting stream cluster state for '",
    b"Detected bad stream state, resetting '",
    b"stream '",
    b"Stream '",
];
const DECLINE_HEAD: &[u8] = b"Will not reset stream";

/// Bit 7 set in every byte of `w` that is `'` or `W` (and possibly in
/// bytes above one that is: candidates, each checked).
#[inline(always)]
fn head_marks(w: u64) -> u64 {
    word::marks(w, b'\'', b'W')
}

/// Whether `b` holds a `'` or a `W`, which every event message head
/// does: eight bytes per step, so that lines which cannot hold one are
/// passed over for about one wasm instruction a byte.
#[inline]
pub fn may_hold_event_head(b: &[u8]) -> bool {
    let n = b.len();
    if n < 8 {
        return b.iter().any(|&c| c == b'\'' || c == b'W');
    }
    // Words at 0, 8, 16, ... and one last word ending at `n` (it may
    // overlap the one before: a byte looked at twice changes nothing).
    let mut i = 0;
    loop {
        let at = i.min(n - 8);
        let Some(w) = word::at(b, at) else { return true };
        // A quick test first: a top bit for each `'` or `W` and for each
        // byte above 0x7f (rare: Fluent Bit escapes non-ASCII text); the
        // exact test only on a word that has one.
        let q = w ^ (b'\'' as u64 * LO);
        let v = w ^ (b'W' as u64 * LO);
        if (q.wrapping_sub(LO) | v.wrapping_sub(LO)) & HI != 0 && head_marks(w) != 0 {
            return true;
        }
        if at == n - 8 {
            return false;
        }
        i += 8;
    }
}

/// Where the first event message head (an apply error, a reset, a bad
/// stream state, a declined reset, an account limit) starts in `m`,
/// wherever it sits: for lines behind a prefix no layout here knows.
pub fn find_event_head(m: &[u8]) -> Option<usize> {
    if !may_hold_event_head(m) {
        return None;
    }
    (0..m.len()).filter(|&q| m[q] == b'\'' || m[q] == b'W').find_map(|q| head_ending_at(m, q))
}

/// The start of a head whose quote is at `q`, or that starts with the `W` at `q`.
fn head_ending_at(m: &[u8], q: usize) -> Option<usize> {
    if m[q] == b'W' {
        return m[q..].starts_with(DECLINE_HEAD).then_some(q);
    }
    if q == 0 || m[q - 1] != b' ' {
        return None;
    }
    QUOTED_HEADS.iter().find(|h| q + 1 >= h.len() && m[q + 1 - h.len()..=q] == ***h).map(|h| q + 1 - h.len())
}

/// Takes the message from the head at `p` of the line's message; reads
/// nats-server's `[LVL] ` and time just before it when they are there
/// (`n1-1  | [8368] 2026/11/26 14:17:08.682791 [WRN] Resetting ...`, as
/// `docker compose logs` prints it).
fn behind_unknown_prefix(line: &mut Line<'_>, p: usize) {
    let m = line.message;
    let before = &m[..p];
    line.unknown_prefix = true;
    line.message = &m[p..];
    let n = before.len();
    if n < 6 || !before.ends_with(b"] ") || before[n - 6] != b'[' {
        return;
    }
    let Some(level) = Level::from_label(&before[n - 5..n - 2]) else { return };
    line.level = Some(level);
    let rest = &before[..n - 6];
    for len in [26, 19] {
        let Some(t) = rest.len().checked_sub(len + 1).and_then(|s| rest.get(s..rest.len() - 1)) else { continue };
        if rest.ends_with(b" ") && clock::parse_nats_time(t).is_some_and(|(_, k)| k == len) {
            line.stamp = Some(Stamp::Nats(t));
            return;
        }
    }
}

/// Whether the message of line `b` (raw, or still escaped inside a JSON
/// string) may be one resetwatch reads: always the same answer as
/// `event::may_matter(split(b).message)`, which it falls back on. It runs on
/// every record, so the two shapes nearly every line has are answered from
/// fixed offsets first: nats-server's own `[pid] yyyy/mm/dd hh:mm:ss.uuuuuu
/// [LVL] ` (or `[pid] [LVL] `), and a line no wrapper can start.
#[inline]
pub fn message_may_matter(b: &[u8]) -> bool {
    let &c = match b.first() {
        Some(c) => c,
        None => return false,
    };
    if c == b'[' {
        return match nats_message_start(b) {
            Some(m) => crate::input::event::may_matter(b.get(m..).unwrap_or_default()),
            None => split_may_matter(b),
        };
    }
    if c.is_ascii_lowercase()
        || c.is_ascii_digit()
        || (c.is_ascii_punctuation() && !matches!(c, b'\\' | b'<'))
        || (c.is_ascii_uppercase() && !(b.get(3) == Some(&b' ') && b.get(9) == Some(&b':')))
    {
        // No wrapper but stern (a lowercase or digit start) can start so,
        // nor a CRI/rsyslog time (`dddd-dd-`): the message is the whole
        // line, or what follows stern's names, or a head behind an
        // unknown prefix.
        let wrapped = (c.is_ascii_digit() && b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-'))
            || ((c.is_ascii_lowercase() || c.is_ascii_digit()) && may_be_stern(b));
        if !wrapped {
            return crate::input::event::may_matter(b) || find_event_head(b).is_some();
        }
    }
    split_may_matter(b)
}

/// Whether stern's `<pod> <container> ` may start `b` (a superset of what
/// [`stern_prefix`] takes): a name, a space, a name starting with a letter
/// or digit, then a space, ESC or `\\`. Looks at most at `b`'s first 48
/// bytes when `limit` says so (the pass gate's header); `None` when the
/// answer lies beyond them.
#[inline]
fn stern_shape(b: &[u8], limit: usize) -> Option<bool> {
    let end = b.len().min(limit);
    let mut i = 0;
    // One table load a byte: bit 1 for `a-z 0-9 -`, bit 2 for `.`.
    let name = |i: &mut usize, dots: bool| {
        let from = *i;
        let mask = if dots { 3 } else { 1 };
        while let Some(&c) = b.get(*i).filter(|_| *i < end) {
            if NAME_BYTE[c as usize] & mask == 0 {
                break;
            }
            *i += 1;
        }
        *i > from
    };
    if !name(&mut i, true) {
        return Some(false);
    }
    for second in [false, true] {
        match b.get(i) {
            _ if i >= end => return if end < b.len() { None } else { Some(false) },
            Some(b' ') => {}
            Some(0x1b | b'\\') => return Some(true),
            _ => return Some(false),
        }
        i += 1;
        if second {
            return Some(true);
        }
        match b.get(i) {
            _ if i >= end => return if end < b.len() { None } else { Some(false) },
            Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => {}
            Some(0x1b | b'\\') => return Some(true),
            _ => return Some(false),
        }
        name(&mut i, false);
    }
    Some(true)
}

/// [`stern_shape`]'s name bytes: 1 for `a-z`, `0-9` and `-`, 2 for `.`.
const NAME_BYTE: [u8; 256] = {
    let mut t = [0; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' {
            1
        } else if b == b'.' {
            2
        } else {
            0
        };
        c += 1;
    }
    t
};

fn may_be_stern(b: &[u8]) -> bool {
    stern_shape(b, usize::MAX).unwrap_or(true)
}

/// What the first byte of a line tells [`surely_irrelevant`] (one table
/// load instead of a chain of range tests).
const NO: u8 = 0; // the message is the whole line (or a head behind it) and no head starts so
const DIGIT: u8 = 1; // the same, unless `dddd-dd-` starts a CRI/rsyslog time or stern's names
const UPPER: u8 = 2; // the same, unless `Mmm dd hh:` starts a journald line
const LOWER: u8 = 5; // the same, unless stern's names start it
const NATS: u8 = 3; // `[`: nats-server's own prefix, read at fixed offsets
const ASK: u8 = 4; // a wrapper, a message head or `{` (a `/jsz` document): no quick answer
const MONTH: u8 = 6; // `D` or `S`: a head's first letter, or `Dec`/`Sep` starting a journald time

/// The bytes a message head may start with (`event::may_matter`).
const fn starts_head(b: u8) -> bool {
    matches!(b, b'E' | b'R' | b'D' | b'W' | b'S' | b's' | b' ')
}

const FIRST: [u8; 256] = {
    let mut t = [NO; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_digit() {
            DIGIT
        } else if b == b'[' {
            NATS
        } else if b == b'D' || b == b'S' {
            MONTH
        } else if starts_head(b) || matches!(b, b'\\' | b'<' | b'{' | 0x1b) {
            ASK
        } else if b.is_ascii_uppercase() {
            UPPER
        } else if b.is_ascii_lowercase() {
            LOWER
        } else {
            NO
        };
        c += 1;
    }
    t
};

/// 0 on the bytes that start a time or nats-server's level label, 1 on
/// every other: `0x30..=0x3f` (a digit; `:` to `?` pass too) and `I`,
/// `W`, `E`, `D`, `T`, `F` (`INF`, `WRN`, `ERR`, `DBG`, `TRC`, `FTL`).
/// One table for both of the gate's tests ([`nats_irrelevant_after`]),
/// each of which only has to refuse a few bytes: after `[pid] ` a `[`
/// (a line without a time), before the label ESC and `\\` (colour).
/// Any other byte that is neither time nor label makes no prefix at all
/// (`nats_prefix`), and a line that starts with `[` and a digit is then
/// never searched. Set where the answer is "no", so that a test is a load
/// and a branch, not a load, a compare and a branch (LLVM turns a table
/// with one run of ones back into a range test, but not this one).
const NOT_TIME_OR_LABEL: [u8; 256] = {
    let mut t = [1; 256];
    let mut c = 0;
    while c < 256 {
        if matches!(c as u8, 0x30..=0x3f | b'I' | b'W' | b'E' | b'D' | b'T' | b'F') {
            t[c] = 0;
        }
        c += 1;
    }
    t
};

/// How many of a line's first bytes the pass gate reads at fixed offsets
/// ([`surely_irrelevant`]): nats-server's prefix with a pid of up to 7
/// digits (`[pid] yyyy/mm/dd hh:mm:ss.uuuuuu [LVL] `, 44 bytes) and the
/// message's first 8, so that no test on the usual path needs a bounds
/// check. A record shorter than that (its line under about 50 bytes) is
/// read the long way.
pub const LINE_HEAD: usize = 52;

/// A quicker, partial [`message_may_matter`] for the record path: `true`
/// only when that answers `false` for any line `h` begins (the first
/// [`LINE_HEAD`] bytes of `rest`, the record from the line's start to its end) and `h`
/// does not start a `/jsz` document (`{`); `false` means "ask the full
/// check". It answers the common shapes: a line no wrapper starts and that
/// holds no `'` or `W` anywhere in `rest` (so no event message sits behind
/// an unknown prefix, [`find_event_head`]), and nats-server's
/// `[pid] yyyy/mm/dd hh:mm:ss.uuuuuu [LVL] ` whose message starts with no
/// head's first byte (a line with nats-server's prefix is never searched),
/// bare or inside a CRI, rsyslog or journald wrapper that `split` takes
/// ([`wrapped_irrelevant`]).
///
/// For nats-server's prefix it tests only what could move the message's
/// start, not what `nats_prefix` merely requires: where a required byte is
/// wrong there is no prefix, the message is the whole line, and a line
/// starting with `[` and a digit is never searched and never matters, so
/// "irrelevant" is right either way.
/// What could move the start: a pid of 8 or more digits, a time without
/// the fraction (`nats_prefix` then looks for the space), a line without
/// a time (`[pid] [LVL]`: the byte after `] ` is `[`, not a digit), ANSI
/// colour before the label (ESC or `\u001b`, neither a label's first letter)
/// or after it (then no `]` three bytes on).
#[inline(always)]
pub fn surely_irrelevant(h: &[u8; LINE_HEAD], rest: &[u8]) -> bool {
    let mut nothing_learned = LineMemo::EMPTY;
    surely_irrelevant_at(h, 0, rest, 0, &mut nothing_learned)
}

/// [`surely_irrelevant`] with `rest` given as `b[at..]`: the slice is then
/// made only on the paths that read it, not for every record (its length
/// was four wasm instructions on the pass gate's usual path). `memo` is
/// what the gate learned of earlier lines ([`LineMemo`]); it changes where
/// this line had to be read the long way. `h` holds the line from its
/// byte `k` on, `LINE_HEAD` bytes of it (`b[at..]` is the line to the
/// record's end): `k` is 8 for the Fluent Bit record whose first member is
/// the line, `{"log":"` before it, which then reads its bytes at offsets
/// from the record's address.
#[inline(always)]
pub fn surely_irrelevant_at<const N: usize>(h: &[u8; N], k: usize, b: &[u8], at: usize, memo: &mut LineMemo) -> bool {
    if N < k + LINE_HEAD {
        return false;
    }
    // The pid the line before printed: nats-server's own line, and its
    // pid's length known without reading it.
    if let Some(n) = memo.pid.recall(word::of(h, k)) {
        return nats_irrelevant_after(h, k + n);
    }
    // Not `h`: its address would be kept in a local of the caller's frame
    // for this call, and the usual path reads the line at offsets from `b`.
    unrecalled_irrelevant(b, at, memo)
}

/// [`surely_irrelevant_at`] for a line the pid memo does not know. Out of
/// line: on every call WAMR's interpreter copies each constant a function
/// uses into its frame and sets up each of its locals (in Fluent Bit 5.1.1
/// about 11 of Fluent Bit's instructions a 4-byte constant and 66 a local,
/// docs/performance.md), so the path every record takes holds only what it
/// reads. Here: a wrapped line's (the wrapper memo's path); the rest is out
/// of line again.
#[inline(never)]
fn unrecalled_irrelevant(b: &[u8], at: usize, memo: &mut LineMemo) -> bool {
    let Some(h) = b.get(at..at + LINE_HEAD).and_then(|h| <&[u8; LINE_HEAD]>::try_from(h).ok()) else { return false };
    // nats-server's own line first, by its byte (the one byte of class `NATS`).
    if h[0] == b'[' {
        return nats_irrelevant(h, b, at, &mut memo.pid);
    }
    let class = FIRST[h[0] as usize];
    if class == ASK {
        return false;
    }
    // The shapes `split` sends to `zoned_prefix` and `journal_prefix`.
    let zoned = class == DIGIT && h[4] == b'-' && h[7] == b'-';
    let rest = b.get(at..).unwrap_or_default();
    if zoned || ((class == UPPER || class == MONTH) && h[3] == b' ' && h[9] == b':') {
        return wrapped_irrelevant(zoned, rest, memo);
    }
    unwrapped_irrelevant(class, rest)
}

/// What the pass gate learned of the lines it read the long way, so that
/// the next line like them is read with a few word compares: nats-server's
/// `[pid] ` ([`PidMemo`]) and the syslog or journald wrapper around it
/// ([`WrapperMemo`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineMemo {
    pid: PidMemo,
    wrapper: WrapperMemo,
}

impl LineMemo {
    /// Nothing learned yet.
    pub const EMPTY: LineMemo = LineMemo { pid: PidMemo::EMPTY, wrapper: WrapperMemo::EMPTY };
}

/// The first 8 bytes of the last nats-server line whose pid the gate read
/// ([`pid_len`]): `[`, the pid's 1 to 6 digits, the `]` (the pid's end)
/// and what follows (`[8368] 2`). A line that starts with the same 8 bytes
/// has a pid as long: [`pid_len`] reads those bytes alone. One compare then
/// replaces the `[` test and the digit scan. The bytes after the `]` are
/// the same from one line to the next too (`] 2`, a year's first digit;
/// `[1] 2026` changes once a year), so no mask is needed to leave them out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PidMemo {
    /// The bytes, little-endian.
    word: u64,
    /// The pid's length, 1 to 6; 0 with `word` 0, which eight NULs match:
    /// a line [`nats_irrelevant_after`] then never rules out (no time
    /// starts at byte 3).
    len: PidLen,
}

/// A pid's length as [`PidMemo`] keeps it. An enum rather than a `u8`: the
/// compiler knows a load of it is below 8, so the offsets from it need no
/// bounds check and no mask (a mask was one more instruction a record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum PidLen {
    L0,
    L1,
    L2,
    L3,
    L4,
    L5,
    L6,
    L7,
}

impl PidMemo {
    const EMPTY: PidMemo = PidMemo { word: 0, len: PidLen::L0 };

    /// The pid's length when a line's first 8 bytes, `w`, are the memo's.
    #[inline(always)]
    fn recall(&self, w: u64) -> Option<usize> {
        (w == self.word).then_some(self.len as usize)
    }

    /// [`pid_len`], learning the line's first 8 bytes when the pid is 1 to 6
    /// digits (8 bytes hold `[`, the digits and the `]`).
    #[inline(always)]
    fn learn(&mut self, h: &[u8; LINE_HEAD]) -> usize {
        use PidLen::*;
        let n = pid_len(h);
        if n.wrapping_sub(1) < 6 {
            self.word = word::of(h, 0);
            self.len = [L0, L1, L2, L3, L4, L5, L6, L7][n & 7];
        }
        n
    }
}

/// How many digits follow the `[` at `h[0]` (the pid of `[pid] `), eight
/// bytes at a time ([`word::not_digits`]); 8 for eight or more. One load:
/// the bytes assembled one by one became two in wasm.
#[inline(always)]
fn pid_len<const N: usize>(h: &[u8; N]) -> usize {
    (word::not_digits(word::of(h, 1) ^ (b'0' as u64 * LO)).trailing_zeros() / 8) as usize
}

/// [`surely_irrelevant`] for a line that starts with `[` (`h[0]`), read as nats-server's own prefix at
/// fixed offsets (also behind a wrapper, [`wrapped_irrelevant`]). Out of line: only a line the pid memo
/// does not know comes here (the first, a new pid), and its pid scan's constants stay out of other frames.
#[inline(never)]
fn nats_irrelevant(h: &[u8; LINE_HEAD], b: &[u8], at: usize, pid: &mut PidMemo) -> bool {
    // `n` == 0 is no pid (a `[...]` prefix resetwatch does not know, or
    // kubectl's `[pod/`), 8 may be a longer pid.
    let n = pid.learn(h);
    if n == 0 {
        return h[1..5] != *b"pod/" && !may_hold_event_head(b.get(at..).unwrap_or_default());
    }
    if n >= 8 {
        return false;
    }
    nats_irrelevant_after(h, n)
}

/// [`nats_irrelevant`] past the `[` and the digits of the pid: `p` is the
/// line's start in `h` plus the pid's length (at most 7), so that every
/// byte read below is within the line's first [`LINE_HEAD`].
#[inline(always)]
fn nats_irrelevant_after<const N: usize>(h: &[u8; N], p: usize) -> bool {
    // After `[pid] `: a time's first digit, not `[` (a line without time).
    // The time's fraction's dot at p+22, and the label's first letter (no
    // colour code) at p+31.
    if NOT_TIME_OR_LABEL[h[p + 3] as usize] != 0 || h[p + 22] != b'.' || NOT_TIME_OR_LABEL[h[p + 31] as usize] != 0 {
        return false;
    }
    // ` [LVL] ` at p+29, in one load from p+28 (the fraction's last digit,
    // not tested): the space after the fraction, the label's brackets, one
    // space after it (banner lines keep their own after that; a line with
    // none is left to the full check). Not from p+29: the message's first
    // byte below was then taken from the word, two instructions more.
    if word::of(h, p + 28) & 0xffff_0000_00ff_ff00 != 0x205d_0000_005b_2000 {
        return false;
    }
    // A head's first byte (`E`, ` `, `S`... start ordinary messages too):
    // then the message's first 8 bytes against the one head they can be.
    let first = HEAD_BY_FIRST[h[p + 36] as usize];
    if first == 0 {
        return true;
    }
    // A banner head's entry by its third byte, with no branch and no
    // constant: LLVM turned a test of `first` for the banner's into a test
    // of the byte, which took a local of its own on every record.
    let head = first & HEAD_BY_THIRD[h[p + 38] as usize];
    !starts_with_head(word::of(h, p + 36), head as usize)
}

/// The first 8 bytes (fewer for a shorter head) of every message head
/// `event::may_matter` looks for, with where its entry is in [`HEAD8`].
/// The banner's four (two spaces first) are at [`BANNER`] with one bit
/// taken off each, which their third byte names ([`HEAD_BY_THIRD`]).
const HEADS: [(&[u8], usize); 10] = [
    (b"Error applying entries to '", 1), // also `Error applying stream/consumer entries`
    (b"Resetting stream cluster state for '", 2),
    (b"Detected bad stream state, resetting '", 3),
    (b"Will not reset stream", 4),
    (b"stream '", 5),
    (b"Stream '", 6),
    (b"  Version:", 0x7),
    (b"  Name:", 0xb),
    (b"  ID:", 0xd),
    (b"  Max Storage:", 0xe),
];

/// The offset [`HEAD_BY_FIRST`] gives a space: [`HEAD8`]'s last entry,
/// which no word matches. A banner head's third byte takes one bit off it
/// ([`HEAD_BY_THIRD`]), leaving that head's entry.
const BANNER: u8 = 0xf0;

/// [`HEADS`]' first 8 bytes as a little-endian word and its mask, at their
/// entries; every other entry is one no word matches (its mask 0).
const HEAD8: [(u64, u64); 16] = {
    let mut t = [(1, 0); 16];
    let mut k = 0;
    while k < HEADS.len() {
        let (head, at) = HEADS[k];
        assert!(t[at].1 == 0, "two heads share an entry");
        t[at] = prefix8(head);
        k += 1;
    }
    t
};

const fn prefix8(h: &[u8]) -> (u64, u64) {
    let (mut p, mut m, mut i) = (0u64, 0u64, 0);
    while i < 8 && i < h.len() {
        p |= (h[i] as u64) << (8 * i);
        m |= 0xff << (8 * i);
        i += 1;
    }
    (p, m)
}

/// [`HEAD8`] as bytes, entry `k` at `16 * k`: its word, then its mask.
/// [`HEAD_BY_FIRST`] holds those offsets, so that an entry is read with
/// its offset as the address (no multiply). 16 bytes more than the
/// entries: an offset is a byte, so the 16 from any are within the table
/// with no bounds check.
const HEAD8_BYTES: [u8; 256 + 16] = {
    let mut t = [0u8; 256 + 16];
    let mut k = 0;
    while k < HEAD8.len() {
        let (p, m) = HEAD8[k];
        let mut i = 0;
        while i < 8 {
            t[16 * k + i] = (p >> (8 * i)) as u8;
            t[16 * k + 8 + i] = (m >> (8 * i)) as u8;
            i += 1;
        }
        k += 1;
    }
    t
};

/// The [`HEAD8_BYTES`] offset of the one head a message starting with this
/// byte can be (a multiple of 16); 0 for none, [`BANNER`] for a space.
/// No two other heads share a first byte, so one masked compare answers
/// where a call with a search did (a call is a frame in WAMR's interpreter).
const HEAD_BY_FIRST: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut k = 0;
    while k < HEADS.len() {
        let (head, at) = HEADS[k];
        let key = head[0] as usize;
        if head[0] == b' ' {
            assert!(BANNER as usize & (16 * at) == 16 * at, "a banner head's entry is BANNER with bits off");
            t[key] = BANNER;
        } else {
            assert!(t[key] == 0, "two heads share a first byte");
            t[key] = 16 * at as u8;
        }
        k += 1;
    }
    // The bytes `FIRST` takes for heads' first are exactly these.
    let mut c = 0;
    while c < 256 {
        assert!(starts_head(c as u8) == (t[c] != 0), "starts_head and HEADS differ");
        c += 1;
    }
    t
};

/// What a message's third byte leaves of its [`HEAD_BY_FIRST`] offset:
/// all of it (`0xff`) but for a banner head's third byte, which leaves
/// [`BANNER`] that head's entry. No other head has such a third byte, so a
/// message with a head's first and third bytes gets that head's entry;
/// any other pair gets no head's entry or one it cannot start with.
const HEAD_BY_THIRD: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut k = 0;
    while k < HEADS.len() {
        let (head, at) = HEADS[k];
        if head[0] == b' ' {
            assert!(t[head[2] as usize] == 0xff, "two banner heads share a third byte");
            t[head[2] as usize] = (16 * at as u8) | 0x0f;
        }
        k += 1;
    }
    let mut k = 0;
    while k < HEADS.len() {
        let (head, _) = HEADS[k];
        assert!(head[0] == b' ' || t[head[2] as usize] == 0xff, "a head's third byte is a banner head's");
        k += 1;
    }
    t
};

/// Whether a message whose first 8 bytes are `w` may start with the head
/// at [`HEAD8_BYTES`]' offset `k` ([`HEAD_BY_FIRST`]): `false` only when
/// those bytes are not that head's (so the head, at least that long or
/// shorter, does not start it).
#[inline(always)]
fn starts_with_head(w: u64, k: usize) -> bool {
    w & word::of(&HEAD8_BYTES, k + 8) == word::of(&HEAD8_BYTES, k)
}

/// [`surely_irrelevant`] for a line that starts with neither `[` nor a
/// wrapper's time: `rest` holds no head's `'` or `W`. Out of line, so that
/// nats-server's own lines pay nothing for it.
#[inline(never)]
fn unwrapped_irrelevant(class: u8, rest: &[u8]) -> bool {
    if class == MONTH {
        return false; // a head may start the line
    }
    if (class == LOWER || class == DIGIT) && stern_shape(rest, 48) != Some(false) {
        return false;
    }
    !may_hold_event_head(rest)
}

/// [`surely_irrelevant`] for a line with an RFC 3339 time first
/// (`zoned`: CRI, rsyslog, `journalctl -o short-iso`) or a journald
/// `short` time: the wrapper is read at fixed offsets and with a word
/// scan for the syslog tag's blanks ([`gate_wrapper_end`]), or found the
/// same as the last one read so ([`WrapperMemo`]), landing where `split`
/// lands, and nats-server's prefix after it is read as on a bare line.
/// Any other outcome (a wrapper it cannot place, no `[` after it) asks the
/// full check: the line may then be searched for a head.
#[inline(always)]
fn wrapped_irrelevant(zoned: bool, b: &[u8], memo: &mut LineMemo) -> bool {
    let Some(p) = memo.wrapper.wrapper_end(zoned, b) else { return false };
    match b.get(p..p + LINE_HEAD).and_then(|h| <&[u8; LINE_HEAD]>::try_from(h).ok()) {
        Some(h) => match memo.pid.recall(word::of(h, 0)) {
            Some(n) => nats_irrelevant_after(h, n),
            None => h[0] == b'[' && nats_irrelevant(h, b, p, &mut memo.pid),
        },
        _ => false,
    }
}

/// The two digits at `k` and `k + 1` of `b` as a number.
#[inline(always)]
fn two_digits(b: &[u8], k: usize) -> Option<u32> {
    digits2(*b.get(k)?, *b.get(k + 1)?)
}

/// Two digit bytes as a number.
#[inline(always)]
fn digits2(x: u8, y: u8) -> Option<u32> {
    let (x, y) = (x.wrapping_sub(b'0'), y.wrapping_sub(b'0'));
    (x < 10 && y < 10).then_some(x as u32 * 10 + y as u32)
}

/// The end of `.ffffff` (or `,ffffff`) at `at`, as `clock`'s fraction
/// reads it (every digit), or `at` when there is none (a dot with no digit
/// is not read); `None` past 24 digits.
#[inline(always)]
fn fraction_end(b: &[u8], at: usize) -> Option<usize> {
    if !matches!(b.get(at), Some(b'.' | b',')) {
        return Some(at);
    }
    let mut j = at + 1;
    for _ in 0..3 {
        // The first byte that is no digit.
        let not_digit = word::not_digits(word::at(b, j)? ^ (b'0' as u64 * LO));
        if not_digit != 0 {
            let end = j + (not_digit.trailing_zeros() / 8) as usize;
            return Some(if end == at + 1 { at } else { end });
        }
        j += 8;
    }
    None
}

/// Where the zone of the time `clock::parse_rfc3339` reads at the start of
/// `b` begins (`2026-12-01T15:50:27.123456+00:00`: at `+`), by the same
/// rules (digits, field ranges); `None` when it reads none, or for the
/// forms the gate leaves to it (`t` or a space for `T`). [`zone_end`]
/// reads the zone.
#[inline(always)]
fn rfc3339_zone_at(b: &[u8]) -> Option<usize> {
    // The 19 bytes every such time has as three words (at 0, 8 and 11),
    // checked a word at a time: the separators by one mask each, the
    // digits by one test each, the fields' ranges from the digits' values.
    let (w0, w1, w2) = (word::at(b, 0)?, word::at(b, 8)?, word::at(b, 11)?);
    let seps = w0 & 0xff00_00ff_0000_0000 == 0x2d00_002d_0000_0000 // `-` at 4 and 7
        && w1 & 0x0000_ff00_00ff_0000 == 0x0000_3a00_0054_0000 // `T` at 10, `:` at 13
        && w2 & 0x0000_ff00_0000_0000 == 0x0000_3a00_0000_0000; // `:` at 16

    // Each byte's digit value, and the digits' places tested at once.
    let (t0, t1, t2) = (w0 ^ (b'0' as u64 * LO), w1 ^ (b'0' as u64 * LO), w2 ^ (b'0' as u64 * LO));
    let digits = word::not_digits(t0) & 0x0080_8000_8080_8080 == 0 // 0-3, 5, 6
        && word::not_digits(t1) & 0x8080_0080_8000_8080 == 0 // 8, 9, 11, 12, 14, 15
        && word::not_digits(t2) & 0x8080_0000_0000_0000 == 0; // 17, 18
    if !seps || !digits {
        return None;
    }
    // Every two-digit field's value at once, in the byte of its first
    // digit: `10·d[k] + d[k+1]` of the digit bytes `fields` keeps (at most
    // 99 a byte, so no byte carries into the next).
    let values = |t: u64, fields: u64| {
        let d = t & fields;
        d.wrapping_mul(10).wrapping_add(d >> 8)
    };
    let (v0, v1, v2) = (values(t0, 0x00ff_ff00_0000_0000), values(t1, 0xffff_00ff_ff00_ffff), values(t2, 0xffff_0000_0000_0000));
    // The day (byte 0), hour (3) and minute (6) over 31, 23 and 59, in one
    // add: a byte over its bound reaches bit 7.
    let over = v1.wrapping_add(0x0044_0000_6800_0060) & 0x0080_0000_8000_0080;
    // `x.wrapping_sub(1) < n` is `1..=n`: a range's `contains` is a call in wasm.
    let (month, day, second) = ((v0 >> 40) & 0xff, v1 & 0xff, (v2 >> 48) & 0xff);
    if over != 0 || month.wrapping_sub(1) >= 12 || day == 0 || second >= 61 {
        return None;
    }
    fraction_end(b, 19)
}

/// The end of the zone at `e` of an RFC 3339 time ([`rfc3339_zone_at`]):
/// `Z`, `+hh:mm`, or `+hhmm` (`journalctl -o short-iso` before systemd
/// 249), by `clock::parse_rfc3339`'s rules.
#[inline(always)]
fn zone_end(b: &[u8], e: usize) -> Option<usize> {
    match *b.get(e)? {
        b'Z' | b'z' => Some(e + 1),
        b'+' | b'-' => {
            let colon = *b.get(e + 3)? == b':';
            let (h, m) = (two_digits(b, e + 1)?, two_digits(b, if colon { e + 4 } else { e + 3 })?);
            (h <= 23 && m <= 59).then_some(if colon { e + 6 } else { e + 5 })
        }
        _ => None,
    }
}

/// The length of the time `clock::parse_syslog_time` reads at the start
/// of `b` (`Dec  1 15:50:27`, journald's `short-precise` fraction after
/// it), by the same rules; `None` when it reads none.
#[inline(always)]
fn syslog_time_len(b: &[u8]) -> Option<usize> {
    let name = u32::from_le_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, 0]);
    const fn m(n: &[u8; 3]) -> u32 {
        u32::from_le_bytes([n[0], n[1], n[2], 0])
    }
    const MONTHS: [u32; 12] = [
        m(b"Jan"),
        m(b"Feb"),
        m(b"Mar"),
        m(b"Apr"),
        m(b"May"),
        m(b"Jun"),
        m(b"Jul"),
        m(b"Aug"),
        m(b"Sep"),
        m(b"Oct"),
        m(b"Nov"),
        m(b"Dec"),
    ];
    // The months by a perfect hash (the top four bits of `name * 0x67e4`
    // are twelve slots, checked when compiled): a multiply, a load and a
    // compare, where a search of the twelve cost up to 140 wasm instructions.
    const fn slot(name: u32) -> usize {
        (name.wrapping_mul(0x67e4) >> 28) as usize
    }
    const BY_SLOT: [u32; 16] = {
        let mut t = [u32::MAX; 16];
        let mut i = 0;
        while i < 12 {
            assert!(t[slot(MONTHS[i])] == u32::MAX, "two months in one slot");
            t[slot(MONTHS[i])] = MONTHS[i];
            i += 1;
        }
        t
    };
    // One length check for the 15 bytes every such time has.
    let t: &[u8; 15] = b.get(..15)?.try_into().ok()?;
    let month = BY_SLOT[slot(name) & 15] == name;
    if !month || t[3] != b' ' || t[6] != b' ' {
        return None;
    }
    let day = match (t[4], t[5]) {
        (b' ', d) if d.is_ascii_digit() => (d - b'0') as u32,
        (x, y) => digits2(x, y)?,
    };
    let (hour, minute, second) = (digits2(t[7], t[8])?, digits2(t[10], t[11])?, digits2(t[13], t[14])?);
    if t[9] != b':' || t[12] != b':' || day.wrapping_sub(1) >= 31 || hour >= 24 || minute >= 60 || second >= 61 {
        return None;
    }
    fraction_end(b, 15)
}

/// The first blank (space or TAB) at or after `i`, within 64 bytes and
/// eight at a time; `None` past them (a token that long is left to `split`).
#[inline(always)]
fn blank_at(b: &[u8], i: usize) -> Option<usize> {
    for k in 0..8 {
        let m = word::marks(word::at(b, i + 8 * k)?, b' ', b'\t');
        if m != 0 {
            return Some(i + 8 * k + (m.trailing_zeros() / 8) as usize);
        }
    }
    None
}

/// Where `split`'s wrapper step leaves a line that starts with an RFC 3339
/// time (`zoned_prefix`) or a journald time (`journal_prefix`), for the
/// shapes real wrappers write: one space after the time, then CRI's
/// `stderr F `, a `[`, or a syslog tag `[host ]program[pid]: ` of tokens
/// under 64 bytes (`syslog_tag`). `None` for anything else, and whenever
/// `split` would take no wrapper; where it answers, `split` lands there too
/// (checked against [`split_wrapper_end`] by the tests and the `line`
/// fuzz target).
#[cfg(any(test, fuzzing))]
pub(crate) fn gate_wrapper_end(zoned: bool, b: &[u8]) -> Option<usize> {
    wrapper_end_from(zoned, b, time_zone_at(zoned, b)?)
}

/// Where the zone of the time at the start of `b` begins, or, for a
/// journald time (no zone), where the time ends.
#[inline(always)]
fn time_zone_at(zoned: bool, b: &[u8]) -> Option<usize> {
    if zoned {
        rfc3339_zone_at(b)
    } else {
        syslog_time_len(b)
    }
}

/// [`gate_wrapper_end`] from `e`, where the time's zone begins (or, with
/// no zone, the time ends). What it answers depends on the bytes from `e`
/// to that answer alone (and on the line going on 8 bytes past it): the
/// premise of [`WrapperMemo`].
#[inline(always)]
fn wrapper_end_from(zoned: bool, b: &[u8], e: usize) -> Option<usize> {
    let n = if zoned { zone_end(b, e)? } else { e };
    if b.get(n) != Some(&b' ') || matches!(b.get(n + 1), None | Some(b' ' | b'\t' | b'\\')) {
        return None;
    }
    let i = n + 1;
    if zoned {
        // CRI: `stdout F ` / `stderr P `.
        let w = word::at(b, i)?;
        let stream = w & 0x00ff_ffff_ffff_ffff;
        let cri = stream == u64::from_le_bytes(*b"stdout \0") || stream == u64::from_le_bytes(*b"stderr \0");
        if cri && matches!((w >> 56) as u8, b'F' | b'P') && *b.get(i + 8)? == b' ' {
            return Some(i + 9);
        }
        if b[i] == b'[' {
            return Some(i);
        }
    }
    // `syslog_tag`: one or two tokens, the last ending in `:` and a space.
    let first = blank_at(b, i)?;
    if ends_tag(b, first) {
        return Some(first + 1);
    }
    if b[first] != b' ' {
        return None;
    }
    let second = blank_at(b, first + 1)?;
    (second > first + 1 && ends_tag(b, second)).then_some(second + 1)
}

/// What the pass gate learned of the last wrapper it read the long way
/// ([`gate_wrapper_end`]): the bytes from its time's zone (or, with no
/// zone, the time's end) to where `split` leaves the line and the byte
/// there, e.g. `+00:00 node-1 nats-server[8368]: [`. A line from the same wrapper has
/// the same bytes after its own time, and six word compares then replace
/// reading the zone and scanning the syslog tag (on an rsyslog line, about
/// 330 of the gate's 880 wasm instructions).
///
/// Why equal bytes give the same answer: [`wrapper_end_from`] decides on
/// the bytes from `e` to its answer `p` alone (its word scans read up to 8
/// past `p`, which any line the gate reads on has, and ignore them). The
/// CRI test reads the 9 bytes after the time's space: past `p` only for a
/// `[` right after the space (the memo's last byte, which fails it) or a
/// syslog tag under 9 bytes, whose `:` fails it. So a line with those
/// bytes after a time of the same kind lands as far from its time. The
/// tests check it against [`gate_wrapper_end`] on every pair of their
/// lines, and the `line` fuzz target on each input against lines of the
/// usual wrappers and against copies of itself with a byte changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrapperMemo {
    /// The bytes, 8 to a word, little-endian, zero past `len`.
    words: [u64; 6],
    /// Which bytes of each word are the memo's ([`leading`]).
    masks: [u64; 6],
    /// How many bytes (0: nothing learned, at most 48).
    len: u8,
    /// Whether they follow an RFC 3339 time (else a journald one): the
    /// bytes alone do not tell, since an RFC 3339 time without a zone is
    /// followed by what follows a journald time, and is no wrapper's.
    zoned: bool,
    /// Whether the last line it was asked of missed it: a memo is replaced
    /// on the second miss in a row, so that a line from another program
    /// now and then does not unseat the usual wrapper.
    missed: bool,
    /// The last time read the long way, which the next line's time is
    /// found to be in the same minute as.
    time: TimeMemo,
}

/// 48 bytes `0xff`, then 48 zeros: the 48 from `48 - len` on keep the
/// first `len` bytes of 48 ([`WrapperMemo`]'s masks: six loads where
/// working them out cost a few hundred wasm instructions).
static LEADING: [u8; 96] = {
    let mut t = [0u8; 96];
    let mut i = 0;
    while i < 48 {
        t[i] = 0xff;
        i += 1;
    }
    t
};

impl WrapperMemo {
    /// Nothing learned yet.
    pub const EMPTY: WrapperMemo =
        WrapperMemo { words: [0; 6], masks: [0; 6], len: 0, zoned: false, missed: false, time: TimeMemo::EMPTY };

    /// [`gate_wrapper_end`], by the memo when the line's bytes after its
    /// time are the memo's, else the long way (learning this wrapper when
    /// nothing is learned or the line before missed too).
    #[inline(always)]
    pub(crate) fn wrapper_end(&mut self, zoned: bool, b: &[u8]) -> Option<usize> {
        let e = match self.time.recall(zoned, b) {
            0 => self.time.read(zoned, b),
            e => e,
        };
        if e == 0 {
            return None;
        }
        // 48 bytes to compare, and the 8 after them that the long way may read.
        let w: &[u8; 48] = b.get(e..e + 56)?.get(..48)?.try_into().ok()?;
        if let Some(p) = self.recall(zoned, w) {
            self.missed = false;
            return Some(e + p);
        }
        // 0 is no end: the wrapper's end is past its time's zone.
        match self.wrapper_end_from(zoned, b, e, w) {
            0 => None,
            p => Some(p),
        }
    }

    /// [`WrapperMemo::wrapper_end`] the long way (learning the wrapper when
    /// the memo missed twice in a row), 0 for none: out of line, so that
    /// its constants are not copied into the frame of every wrapped line's
    /// check, and answering a number (an `Option` returned from a call is
    /// written to memory and read back).
    #[inline(never)]
    fn wrapper_end_from(&mut self, zoned: bool, b: &[u8], e: usize, w: &[u8; 48]) -> usize {
        let Some(p) = wrapper_end_from(zoned, b, e) else { return 0 };
        if self.len == 0 || self.missed {
            self.learn(zoned, w, p - e + 1);
        } else {
            self.missed = true;
        }
        p
    }

    /// Where the wrapper ends from `w`'s start (a time's zone) when `w`
    /// starts with the memo's bytes.
    #[inline(always)]
    fn recall(&self, zoned: bool, w: &[u8; 48]) -> Option<usize> {
        if self.len == 0 || self.zoned != zoned {
            return None;
        }
        let (w, m, v) = (words(w), &self.masks, &self.words);
        let differ = ((w[0] ^ v[0]) & m[0])
            | ((w[1] ^ v[1]) & m[1])
            | ((w[2] ^ v[2]) & m[2])
            | ((w[3] ^ v[3]) & m[3])
            | ((w[4] ^ v[4]) & m[4])
            | ((w[5] ^ v[5]) & m[5]);
        (differ == 0).then_some(self.len as usize - 1)
    }

    /// Keep the first `len` bytes of `w` (from the time's zone on), when
    /// they fit and end in nats-server's `[`: a memo of any other wrapper's
    /// line (another program's, in the same syslog file) would only ever
    /// lead to the full check.
    #[cold]
    #[inline(never)]
    fn learn(&mut self, zoned: bool, w: &[u8; 48], len: usize) {
        let Some(m) = leading(len).filter(|_| len != 0 && w[len - 1] == b'[') else { return };
        let (w, m) = (words(w), words(m));
        self.words = [w[0] & m[0], w[1] & m[1], w[2] & m[2], w[3] & m[3], w[4] & m[4], w[5] & m[5]];
        self.masks = m;
        self.len = len as u8;
        self.zoned = zoned;
        self.missed = false;
    }
}

/// What the pass gate learned of the last wrapper time it read the long
/// way ([`time_zone_at`]): its bytes up to the minute's end (RFC 3339's
/// first 16, `2026-11-26T14:17`; a journald time's first 12, `Nov 26
/// 14:17`) and the shape of what follows its seconds (the fraction's
/// digits, up to 14). A time with those same bytes holds the same date,
/// hour and minute, which [`time_zone_at`] checked field by field; what
/// is left is the seconds' two digits and the fraction's length, a few
/// word tests (an rsyslog line with a 6-digit fraction: 406 fuel where
/// the field-by-field check cost 453; a time with no fraction costs what
/// it did).
///
/// Why the answer is [`time_zone_at`]'s: after the minute, it reads `:`,
/// two digits under 61, then `fraction_end` from the byte after them. The
/// memo tests the same `:` and digits, then that byte against the learned
/// one and, when it is `.` or `,`, that the learned number of digits
/// follows it and then no digit: `fraction_end`'s answer. The tests check
/// it against [`time_zone_at`] on times in the learned minute and beside
/// it, at the seconds' edges and with fractions of 0 to 15 digits, and the
/// `line` fuzz target on each input through [`WrapperMemo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TimeMemo {
    /// The words at 0 and at `minute - 8` (`minute`: 16 or 12).
    words: [u64; 2],
    /// 0: nothing learned; 1: an RFC 3339 time; 2: a journald time.
    kind: u8,
    /// The byte after the seconds.
    after: u8,
    /// Which of the 16 bytes from `after` on (two words) must be digits
    /// (bit 7 of each clear) and which must not ([`word::not_digits`]'s
    /// marks): the fraction's digits and the byte that ends them.
    digit_masks: [u64; 2],
    digit_wants: [u64; 2],
    /// Where the time's zone begins (or, with no zone, the time ends).
    end: u8,
}

impl TimeMemo {
    const EMPTY: TimeMemo = TimeMemo { words: [0; 2], kind: 0, after: 0, digit_masks: [0; 2], digit_wants: [0; 2], end: 0 };

    /// [`TimeMemo::kind`] of a time of the kind.
    #[inline(always)]
    fn kind(zoned: bool) -> u8 {
        2 - zoned as u8
    }

    /// Where the minute of a time of the kind ends.
    #[inline(always)]
    fn minute(zoned: bool) -> usize {
        if zoned {
            16
        } else {
            12
        }
    }

    /// [`time_zone_at`] of `b` when its time is in the learned one's minute
    /// and has a fraction as long; 0 (no time ends there) otherwise.
    #[inline(always)]
    fn recall(&self, zoned: bool, b: &[u8]) -> usize {
        let m = Self::minute(zoned);
        if self.kind != Self::kind(zoned) {
            return 0;
        }
        let (Some(w0), Some(w1), Some(s), Some(f0), Some(f1)) =
            (word::at(b, 0), word::at(b, m - 8), word::at(b, m), word::at(b, m + 3), word::at(b, m + 11))
        else {
            return 0;
        };
        // `:ss`, the digits' values under 61.
        let t = s ^ (b'0' as u64 * LO);
        let second = ((t >> 8) & 0xff) * 10 + ((t >> 16) & 0xff);
        let time = w0 == self.words[0] && w1 == self.words[1] && s as u8 == b':' && word::not_digits(t) & 0x80_8000 == 0;
        let fraction = f0 as u8 == self.after
            && word::not_digits(f0 ^ (b'0' as u64 * LO)) & self.digit_masks[0] == self.digit_wants[0]
            && word::not_digits(f1 ^ (b'0' as u64 * LO)) & self.digit_masks[1] == self.digit_wants[1];
        if time && second < 61 && fraction {
            self.end as usize
        } else {
            0
        }
    }

    /// [`time_zone_at`] the long way, 0 for no time, learning the time it
    /// reads. Out of line: its constants stay out of the frame of every
    /// wrapped line's check.
    #[cold]
    #[inline(never)]
    fn read(&mut self, zoned: bool, b: &[u8]) -> usize {
        let Some(e) = time_zone_at(zoned, b) else { return 0 };
        let m = Self::minute(zoned);
        let (Some(w0), Some(w1), Some(&after)) = (word::at(b, 0), word::at(b, m - 8), b.get(m + 3)) else { return e };
        // The fraction's digits and the byte after them, as marks in the
        // 16 bytes from `after` on (bit 7 of byte `j`: bit `8j + 7`); none
        // to test when no fraction can follow.
        let (mut mask, mut want) = (0u128, 0u128);
        if matches!(after, b'.' | b',') {
            // `fraction_end`: `after` itself for no digit, else past them.
            let digits = e.saturating_sub(m + 4);
            if digits > 14 {
                return e;
            }
            for j in 1..=digits + 1 {
                mask |= 0x80 << (8 * j);
            }
            want = 0x80 << (8 * (digits + 1));
        } else if e != m + 3 {
            return e;
        }
        *self = TimeMemo {
            words: [w0, w1],
            kind: Self::kind(zoned),
            after,
            digit_masks: [mask as u64, (mask >> 64) as u64],
            digit_wants: [want as u64, (want >> 64) as u64],
            end: e as u8,
        };
        e
    }
}

/// The mask of the first `len` bytes of 48 ([`LEADING`]); `None` past 48.
#[inline(always)]
fn leading(len: usize) -> Option<&'static [u8; 48]> {
    LEADING.get(48usize.checked_sub(len)?..)?.get(..48)?.try_into().ok()
}

/// The six words of `w`, little-endian: six loads (a closure or a loop
/// stays a call, or a `memcpy` per word, in wasm at opt-level `z`).
#[inline(always)]
fn words(w: &[u8; 48]) -> [u64; 6] {
    [word::of(w, 0), word::of(w, 8), word::of(w, 16), word::of(w, 24), word::of(w, 32), word::of(w, 40)]
}

/// Whether the token before the blank at `end` ends in `:` and that blank
/// is a space: a syslog tag's end. A function, not a closure: opt-level
/// `z` left the closure a call in wasm.
#[inline(always)]
fn ends_tag(b: &[u8], end: usize) -> bool {
    matches!(b.get(end.wrapping_sub(1)..end.wrapping_add(1)), Some(&[b':', b' ']))
}

/// What `split`'s wrapper step does with a line that starts with an RFC
/// 3339 time (`zoned`) or a journald time: where it leaves the line
/// (`zoned_prefix`, `journal_prefix`), for checking [`gate_wrapper_end`].
#[cfg(any(test, fuzzing))]
pub(crate) fn split_wrapper_end(zoned: bool, b: &[u8]) -> usize {
    let mut line =
        Line { stamp: None, level: None, has_nats_prefix: false, host: None, program: None, unknown_prefix: false, message: b };
    if zoned {
        zoned_prefix(b, 0, &mut line)
    } else {
        journal_prefix(b, 0, &mut line)
    }
}

/// The general answer, out of line: `split` returns its `Line` through the
/// stack, and that frame would otherwise be set up for every line.
#[inline(never)]
fn split_may_matter(b: &[u8]) -> bool {
    crate::input::event::may_matter(split(b).message)
}

/// Where the message starts after nats-server's prefix at the start of `b`,
/// read at fixed offsets; `None` for anything else (an ANSI-coloured label,
/// a time without fraction, no prefix at all), which `split` then reads.
/// Where it answers, `split` finds the same start.
#[inline(always)]
fn nats_message_start(b: &[u8]) -> Option<usize> {
    // One length check for the longest prefix read here, so that every
    // index below is known to be in bounds (no check per byte); shorter
    // lines take `split`.
    let h: &[u8; 48] = b.get(..48)?.try_into().ok()?;
    let n = pid_len(h);
    // n == 8: no non-digit within the word (a pid this long is not NATS's).
    if n == 0 || n >= 8 || h[n + 1] != b']' || h[n + 2] != b' ' {
        return None;
    }
    let mut j = n + 3;
    if h[j].is_ascii_digit() {
        // `yyyy/mm/dd hh:mm:ss.uuuuuu ` then `[`.
        if h[j + 4] != b'/' || h[j + 19] != b'.' || h[j + 26] != b' ' {
            return None;
        }
        j += 27;
    }
    if h[j] != b'[' || h[j + 4] != b']' {
        return None;
    }
    Level::from_label(&h[j + 1..j + 4])?;
    Some(if h[j + 5] == b' ' { j + 6 } else { j + 5 })
}

/// `<pri>` then an RFC 3164 or RFC 5424 header, up to the message.
fn syslog<'a>(b: &'a [u8], start: usize, line: &mut Line<'a>) -> usize {
    let Some(close) = find_within(b, start + 1, 4, |c| c == b'>') else { return start };
    let Some(pri) = std::str::from_utf8(&b[start + 1..close]).ok().and_then(|s| s.parse::<u32>().ok()) else {
        return start;
    };
    let mut i = close + 1;
    // RFC 5424 puts a version digit and a space before the time.
    let rfc5424 = b.get(i) == Some(&b'1') && b.get(i + 1) == Some(&b' ');
    if rfc5424 {
        i += 2;
    }
    let after_time = if let Some((_, n)) = clock::parse_rfc3339(&b[i..]) {
        line.stamp = Some(Stamp::Zoned(&b[i..i + n]));
        i + n
    } else if rfc5424 && b.get(i) == Some(&b'-') {
        i + 1 // the nil time
    } else if let Some((_, n)) = clock::parse_syslog_time(&b[i..], 2000) {
        line.stamp = Some(Stamp::Syslog(&b[i..i + n]));
        i + n
    } else {
        return start;
    };
    line.level = Some(Level::from_syslog(pri));
    if rfc5424 {
        if let Some(end) = rfc5424_header(b, after_time, line) {
            return end;
        }
    }
    match syslog_tag(b, after_time) {
        Some((host, program, end)) => {
            (line.host, line.program) = (host, Some(program));
            end
        }
        None => after_time,
    }
}

/// RFC 5424 after the time: ` HOSTNAME APP-NAME PROCID MSGID SD `, each
/// a token or `-`, the structured data `-` or `[...]` elements; returns
/// where the message starts (after a UTF-8 BOM, if any).
fn rfc5424_header<'a>(b: &'a [u8], i: usize, line: &mut Line<'a>) -> Option<usize> {
    let mut j = i;
    let mut fields: [&[u8]; 4] = [&[]; 4];
    for f in fields.iter_mut() {
        if b.get(j) != Some(&b' ') {
            return None;
        }
        let end = token_end(b, j + 1)?;
        *f = &b[j + 1..end];
        j = end;
    }
    if b.get(j) != Some(&b' ') {
        return None;
    }
    j += 1;
    match b.get(j) {
        Some(b'-') => j += 1,
        Some(b'[') => {
            while b.get(j) == Some(&b'[') {
                j += 1;
                loop {
                    match *b.get(j)? {
                        b'\\' => j += 2,
                        b']' => break,
                        _ => j += 1,
                    }
                }
                j += 1;
            }
        }
        _ => return None,
    }
    if b.get(j) == Some(&b' ') {
        j += 1;
    }
    if b.get(j..j + 3) == Some(&[0xef, 0xbb, 0xbf]) {
        j += 3;
    }
    (line.host, line.program) = (Some(fields[0]), Some(fields[1]));
    Some(j)
}

/// The end of a token of 1 to 255 bytes with no blank in it, at `i`.
fn token_end(b: &[u8], i: usize) -> Option<usize> {
    let end = b.len().min(i.saturating_add(255));
    let stop = (i..end).find(|&j| matches!(b[j], b' ' | b'\t')).unwrap_or(end);
    (stop > i && (stop < end || end == b.len())).then_some(stop)
}

/// A syslog tag read: the host (when named), the program, where the message starts.
type SyslogTag<'a> = (Option<&'a [u8]>, &'a [u8], usize);

/// After a syslog or journald time: ` [host ]program[[pid]]: `. Returns
/// the host, the program without its pid, and where the message starts.
/// Host names and programs hold no blank, so the tag is one or two tokens,
/// the last ending in `:`.
fn syslog_tag(b: &[u8], i: usize) -> Option<SyslogTag<'_>> {
    let i = skip_blank(b, i);
    let first = token_end(b, i)?;
    let ends_tag = |end: usize| b[end - 1] == b':' && matches!(b.get(end), None | Some(b' '));
    let (host, from, end) = if ends_tag(first) {
        (None, i, first)
    } else {
        if b.get(first) != Some(&b' ') {
            return None;
        }
        let second = token_end(b, first + 1)?;
        if !ends_tag(second) {
            return None;
        }
        (Some(&b[i..first]), first + 1, second)
    };
    let mut program = &b[from..end - 1];
    if let Some(open) = program.iter().position(|&c| c == b'[') {
        if program.ends_with(b"]") {
            program = &program[..open];
        }
    }
    Some((host, program, (end + 1).min(b.len())))
}

/// A line that starts with an RFC 3339 time: CRI (`... stderr F `), stern
/// `--timestamps` (`...<TAB>`), rsyslog's default file format and
/// `journalctl -o short-iso` (`... host nats-server[pid]: `).
fn zoned_prefix<'a>(b: &'a [u8], start: usize, line: &mut Line<'a>) -> usize {
    let Some((_, n)) = clock::parse_rfc3339(&b[start..]) else { return start };
    let stamp = &b[start..start + n];
    let mut i = skip_blank(b, start + n);
    if i == start + n {
        return start;
    }
    line.stamp = Some(Stamp::Zoned(stamp));
    if let Some(rest) = b.get(i..i + 9) {
        if (rest.starts_with(b"stdout ") || rest.starts_with(b"stderr ")) && matches!(rest[7], b'F' | b'P') && rest[8] == b' ' {
            return i + 9;
        }
    }
    if b.get(i) != Some(&b'[') {
        if let Some((host, program, end)) = syslog_tag(b, i) {
            (line.host, line.program) = (host, Some(program));
            i = end;
        }
    }
    i
}

/// journald's `short` and `short-precise` forms: `Oct 24 13:50:39[.uuuuuu] host nats-b[7261]: `.
fn journal_prefix<'a>(b: &'a [u8], start: usize, line: &mut Line<'a>) -> usize {
    let Some((_, n)) = clock::parse_syslog_time(&b[start..], 2000) else { return start };
    let Some((host, program, end)) = syslog_tag(b, start + n) else { return start };
    line.stamp = Some(Stamp::Syslog(&b[start..start + n]));
    (line.host, line.program) = (host, Some(program));
    end
}

/// A Kubernetes name at `i` (a pod's may hold dots): lowercase letters,
/// digits and `-`, starting with a letter or digit, at most 253 bytes.
fn k8s_name(b: &[u8], i: usize, dots: bool) -> Option<(&[u8], usize)> {
    let ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || (dots && c == b'.');
    if !b.get(i).is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return None;
    }
    let end = b.len().min(i + 253);
    let stop = (i..end).find(|&j| !ok(b[j])).unwrap_or(end);
    Some((&b[i..stop], stop))
}

/// stern's default `<pod> <container> <line>` (the names ANSI-coloured on
/// a terminal; `--timestamps` puts an RFC 3339 time before the line):
/// taken only when nats-server's own prefix follows, since two words and
/// a space start many lines.
fn stern_prefix<'a>(b: &'a [u8], start: usize, line: &mut Line<'a>) -> usize {
    let Some((pod, i)) = k8s_name(b, start, true) else { return start };
    let i = skip_ansi(b, i);
    if b.get(i) != Some(&b' ') {
        return start;
    }
    let Some((_, i)) = k8s_name(b, skip_ansi(b, i + 1), false) else { return start };
    let i = skip_ansi(b, i);
    if b.get(i) != Some(&b' ') {
        return start;
    }
    let mut i = skip_ansi(b, i + 1);
    let mut stamp = None;
    if let Some((_, n)) = clock::parse_rfc3339(&b[i..]) {
        stamp = Some(Stamp::Zoned(&b[i..i + n]));
        i = skip_blank(b, i + n);
    }
    let mut probe = *line;
    if b.get(i) != Some(&b'[') || nats_prefix(b, i, &mut probe).is_none() {
        return start;
    }
    (line.host, line.stamp) = (Some(pod), stamp);
    i
}

/// `kubectl logs --prefix`: `[pod/<pod>/<container>] ` (then, with
/// `--timestamps`, an RFC 3339 time).
fn kubectl_prefix<'a>(b: &'a [u8], start: usize, line: &mut Line<'a>) -> usize {
    let Some((pod, i)) = k8s_name(b, start + 5, true) else { return start };
    if b.get(i) != Some(&b'/') {
        return start;
    }
    let Some((_, i)) = k8s_name(b, i + 1, false) else { return start };
    if b.get(i) != Some(&b']') || b.get(i + 1) != Some(&b' ') {
        return start;
    }
    let mut i = i + 2;
    if let Some((_, n)) = clock::parse_rfc3339(&b[i..]) {
        line.stamp = Some(Stamp::Zoned(&b[i..i + n]));
        i = skip_blank(b, i + n);
    }
    line.host = Some(pod);
    i
}

/// `[pid] [time ][LVL] `: returns the index of the message, or `None` when
/// the text at `i` is not this prefix.
fn nats_prefix<'a>(b: &'a [u8], i: usize, line: &mut Line<'a>) -> Option<usize> {
    let mut j = i + 1;
    let digits_start = j;
    while b.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    if j == digits_start || b.get(j) != Some(&b']') || b.get(j + 1) != Some(&b' ') {
        return None;
    }
    j += 2;
    let mut stamp = None;
    if b.get(j).is_some_and(u8::is_ascii_digit) {
        // `yyyy/mm/dd hh:mm:ss` with an optional fraction: find the space after it.
        let end = if b.get(j + 19) == Some(&b'.') && b.get(j + 26) == Some(&b' ') {
            j + 26
        } else {
            find_within(b, j + 11, 20, |c| c == b' ')?
        };
        if b.get(j + 4) != Some(&b'/') {
            return None;
        }
        stamp = Some(Stamp::Nats(&b[j..end]));
        j = end + 1;
    }
    if b.get(j) != Some(&b'[') {
        return None;
    }
    let k = skip_ansi(b, j + 1);
    let level = Level::from_label(b.get(k..k + 3)?)?;
    let k = skip_ansi(b, k + 3);
    if b.get(k) != Some(&b']') {
        return None;
    }
    line.has_nats_prefix = true;
    line.level = Some(level);
    if stamp.is_some() {
        line.stamp = stamp;
    }
    // One space separates the label from the message; banner lines keep
    // their own indentation after it.
    Some(if b.get(k + 1) == Some(&b' ') { k + 2 } else { k + 1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::clock::rfc3339;

    /// (line, level, rfc3339 time at offset 0 / now 2026-11-26, message)
    const LINES: &[(&str, Option<Level>, Option<&str>, &str)] = &[
        // s05 n1.log, verbatim
        (
            "[8368] 2026/11/26 14:17:08.682791 [WRN] Error applying entries to '$G > ORDERS': catchup aborted, no leader for stream '$G > ORDERS'",
            Some(Level::Warn),
            Some("2026-11-26T14:17:08.682791Z"),
            "Error applying entries to '$G > ORDERS': catchup aborted, no leader for stream '$G > ORDERS'",
        ),
        // banner keeps its indentation
        ("[8368] 2026/11/26 14:17:03.558849 [INF]   Version:  2.10.25", Some(Level::Info), Some("2026-11-26T14:17:03.558849Z"), "  Version:  2.10.25"),
        // logtime: false (docs/design/nats-server.md#line-layout)
        ("[37] [WRN] RAFT [...] Resetting WAL state", Some(Level::Warn), None, "RAFT [...] Resetting WAL state"),
        // nats-server issue 2356, no fraction on older servers
        (
            "[715] 2022/01/21 13:27:25 [WRN] Resetting stream cluster state for 'USERS > alpine-async'",
            Some(Level::Warn),
            Some("2022-01-21T13:27:25.000000Z"),
            "Resetting stream cluster state for 'USERS > alpine-async'",
        ),
        // a terminal copy: coloured label
        (
            "[1] 2025/02/04 09:00:01.000001 [\x1b[0;93mWRN\x1b[0m] Resetting stream cluster state for '$G > S'",
            Some(Level::Warn),
            Some("2025-02-04T09:00:01.000001Z"),
            "Resetting stream cluster state for '$G > S'",
        ),
        // Kubernetes CRI
        (
            "2025-06-11T09:45:46.671167074+01:00 stderr F [223] 2025/06/11 08:45:46.671100 [WRN] Resetting stream cluster state for '$G > S'",
            Some(Level::Warn),
            Some("2025-06-11T08:45:46.671100Z"),
            "Resetting stream cluster state for '$G > S'",
        ),
        // CRI around a logtime:false line: the CRI time is used
        (
            "2025-06-11T09:45:46.671167074+01:00 stderr P [223] [WRN] Resetting stream cluster state for '$G > S'",
            Some(Level::Warn),
            Some("2025-06-11T08:45:46.671167Z"),
            "Resetting stream cluster state for '$G > S'",
        ),
        // journald
        (
            "Oct 24 13:50:39 host nats-b[7261]: [7261] 2023/10/24 13:50:39.100000 [WRN] Resetting stream cluster state for 'A > B'",
            Some(Level::Warn),
            Some("2023-10-24T13:50:39.100000Z"),
            "Resetting stream cluster state for 'A > B'",
        ),
        // local syslog: level from the priority (28 = daemon.warning)
        (
            "<28>Feb  4 09:00:01 nats-server[715]: Resetting stream cluster state for 'A > B'",
            Some(Level::Warn),
            Some("2026-02-04T09:00:01.000000Z"),
            "Resetting stream cluster state for 'A > B'",
        ),
        // remote syslog
        (
            "<4>2025-02-04T09:00:01Z host nats-server[715]: Error applying entries to 'A > B': last sequence mismatch",
            Some(Level::Warn),
            Some("2025-02-04T09:00:01.000000Z"),
            "Error applying entries to 'A > B': last sequence mismatch",
        ),
        // stern --timestamps
        (
            "2023-12-12T15:22:01-08:00\t[33] 2023/12/12 23:22:01.000000 [INF] Server is ready",
            Some(Level::Info),
            Some("2023-12-12T23:22:01.000000Z"),
            "Server is ready",
        ),
        // not NATS at all
        ("GET /healthz 200", None, None, "GET /healthz 200"),
        ("[not a pid] hello", None, None, "[not a pid] hello"),
        ("", None, None, ""),
    ];

    #[test]
    fn splits_every_layout() {
        let now = clock::parse_rfc3339(b"2026-11-26T15:00:00Z").unwrap().0;
        for &(text, level, time, message) in LINES {
            let l = split(text.as_bytes());
            assert_eq!(l.level, level, "{text}");
            assert_eq!(l.time(0, now).map(|t| rfc3339(t, 0)).as_deref(), time, "{text}");
            assert_eq!(std::str::from_utf8(l.message).unwrap(), message, "{text}");
        }
    }

    /// s05 n1.log, lines 52 and 53, verbatim: the model for every layout below.
    const APPLY: &str = "Error applying entries to '$G > ORDERS': catchup aborted, no leader for stream '$G > ORDERS'";
    const RESET: &str = "Resetting stream cluster state for '$G > ORDERS'";

    /// One row: what it shows, the line, level, time (offset 0, now
    /// 2026-11-26T15:00Z), the server its wrapper names, whether it was
    /// found behind an unknown prefix, and the message.
    struct Row {
        what: &'static str,
        line: String,
        level: Option<Level>,
        time: Option<&'static str>,
        origin: Option<&'static str>,
        unknown: bool,
        message: &'static str,
    }

    fn layout_rows() -> Vec<Row> {
        let nats = |t: &str, lvl: &str, m: &str| format!("[8368] 2026/11/26 {t} [{lvl}] {m}");
        vec![
            Row {
                what: "rsyslog's default file format (RSYSLOG_FileFormat) keeps the host and nats-server's own time",
                line: format!("2026-11-26T14:17:08.683510+00:00 n1 nats-server[8368]: {}", nats("14:17:08.683482", "WRN", RESET)),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.683482Z"),
                origin: Some("n1"),
                unknown: false,
                message: RESET,
            },
            Row {
                what: "rsyslog's file format of a server that prints no time of its own takes rsyslog's",
                line: format!("2026-11-26T15:17:08.683510+01:00 n1 nats-server[8368]: [8368] [WRN] {RESET}"),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.683510Z"),
                origin: Some("n1"),
                unknown: false,
                message: RESET,
            },
            Row {
                what: "RFC 5424 from a relay takes the level from the priority and the host from the header",
                line: format!("<28>1 2026-11-26T14:17:08.682791Z n1 nats-server 8368 - - {APPLY}"),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.682791Z"),
                origin: Some("n1"),
                unknown: false,
                message: APPLY,
            },
            Row {
                what: "RFC 5424 with structured data and a BOM before the message",
                line: format!("<27>1 2026-11-26T14:17:08.682791Z n2 nats-server 8382 ID47 [exampleSDID@32473 iut=\"3\" eventID=\"1011\"][x@1 a=\"\\]\"] \u{feff}{RESET}"),
                level: Some(Level::Error),
                time: Some("2026-11-26T14:17:08.682791Z"),
                origin: Some("n2"),
                unknown: false,
                message: RESET,
            },
            Row {
                what: "RFC 5424 with the nil time has no time of its own",
                line: format!("<28>1 - n1 nats-server 8368 - - {RESET}"),
                level: Some(Level::Warn),
                time: None,
                origin: Some("n1"),
                unknown: false,
                message: RESET,
            },
            Row {
                what: "journalctl -o short-iso (systemd 249 and later) reads the zone",
                line: format!("2026-11-26T15:17:08+01:00 n1 nats-server[8368]: {}", nats("14:17:08.682791", "WRN", APPLY)),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.682791Z"),
                origin: Some("n1"),
                unknown: false,
                message: APPLY,
            },
            Row {
                what: "journalctl -o short-iso from an older systemd writes the zone without a colon",
                line: format!("2026-11-26T15:17:08+0100 n1 nats-server[8368]: [8368] [WRN] {RESET}"),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.000000Z"),
                origin: Some("n1"),
                unknown: false,
                message: RESET,
            },
            Row {
                what: "journalctl -o short-precise keeps the microseconds",
                line: format!("Nov 26 14:17:08.683510 n1 nats-server[8368]: [8368] [WRN] {RESET}"),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.683510Z"),
                origin: Some("n1"),
                unknown: false,
                message: RESET,
            },
            Row {
                what: "journald names two servers on one host by their programs",
                line: format!("Nov 26 14:17:08 host nats-b[8382]: {}", nats("14:17:08.682791", "WRN", APPLY)),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.682791Z"),
                origin: Some("host/nats-b"),
                unknown: false,
                message: APPLY,
            },
            Row {
                what: "stern's default output puts the pod and container before the line",
                line: format!("nats-0 nats {}", nats("14:17:08.683482", "WRN", RESET)),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.683482Z"),
                origin: Some("nats-0"),
                unknown: false,
                message: RESET,
            },
            Row {
                what: "stern on a terminal colours the names",
                line: format!("\x1b[32mnats-1\x1b[0m \x1b[36mnats\x1b[0m {}", nats("14:17:08.683482", "WRN", RESET)),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.683482Z"),
                origin: Some("nats-1"),
                unknown: false,
                message: RESET,
            },
            Row {
                what: "stern --timestamps puts the kubelet's time after the names",
                line: format!("nats-2 nats 2026-11-26T14:17:08.683600Z [8368] [WRN] {RESET}"),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.683600Z"),
                origin: Some("nats-2"),
                unknown: false,
                message: RESET,
            },
            Row {
                what: "kubectl logs --prefix names the pod in brackets",
                line: format!("[pod/nats-0/nats] {}", nats("14:17:08.682791", "WRN", APPLY)),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.682791Z"),
                origin: Some("nats-0"),
                unknown: false,
                message: APPLY,
            },
            Row {
                what: "kubectl logs --prefix --timestamps around a line with no time of its own",
                line: format!("[pod/nats-0/nats] 2026-11-26T14:17:08.683600123Z [8368] [WRN] {RESET}"),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.683600Z"),
                origin: Some("nats-0"),
                unknown: false,
                message: RESET,
            },
            Row {
                what: "docker compose logs' service prefix is unknown, but nats-server's time and level right before the message are read",
                line: format!("n1-1  | {}", nats("14:17:08.683482", "WRN", RESET)),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.683482Z"),
                origin: None,
                unknown: true,
                message: RESET,
            },
            Row {
                what: "an unknown prefix with no time leaves the time to the record",
                line: format!("nats n1 | {RESET}"),
                level: None,
                time: None,
                origin: None,
                unknown: true,
                message: RESET,
            },
            Row {
                what: "the nameless decline of 2.9-2.11.5 is found by its W",
                line: "app=nats level=warn msg=\"Will not reset stream, server resources exceeded\"".into(),
                level: None,
                time: None,
                origin: None,
                unknown: true,
                message: "Will not reset stream, server resources exceeded\"",
            },
            Row {
                what: "a bracketed prefix that is not a pid is searched too",
                line: format!("[nats-n1] {APPLY}"),
                level: None,
                time: None,
                origin: None,
                unknown: true,
                message: APPLY,
            },
            Row {
                what: "a wrapper's message that starts with something else is searched",
                line: format!("<28>Nov 26 14:17:08 relay nats: n1: {RESET}"),
                level: Some(Level::Warn),
                time: Some("2026-11-26T14:17:08.000000Z"),
                origin: Some("relay/nats"),
                unknown: true,
                message: RESET,
            },
            Row {
                what: "a line that merely mentions a stream is not a head",
                line: "JetStream cluster new stream leader for '$G > ORDERS'".into(),
                level: None,
                time: None,
                origin: None,
                unknown: false,
                message: "JetStream cluster new stream leader for '$G > ORDERS'",
            },
            Row {
                what: "nats-server's own prefix is never searched behind",
                line: nats("14:17:08.683482", "INF", &format!("x {RESET}")),
                level: Some(Level::Info),
                time: Some("2026-11-26T14:17:08.683482Z"),
                origin: None,
                unknown: false,
                message: "x Resetting stream cluster state for '$G > ORDERS'",
            },
        ]
    }

    #[test]
    fn reads_every_layout_operators_have() {
        let now = clock::parse_rfc3339(b"2026-11-26T15:00:00Z").unwrap().0;
        for r in layout_rows() {
            let l = split(r.line.as_bytes());
            assert_eq!(l.level, r.level, "{}: {}", r.what, r.line);
            assert_eq!(l.time(0, now).map(|t| rfc3339(t, 0)).as_deref(), r.time, "{}: {}", r.what, r.line);
            assert_eq!(l.origin().as_deref(), r.origin, "{}: {}", r.what, r.line);
            assert_eq!(l.unknown_prefix, r.unknown, "{}: {}", r.what, r.line);
            assert_eq!(std::str::from_utf8(l.message).unwrap(), r.message, "{}: {}", r.what, r.line);
            // and the quick checks agree with the full split, in both spellings
            let escaped = r.line.replace('\x1b', "\\u001b").replace('"', "\\\"");
            for b in [r.line.as_bytes(), escaped.as_bytes()] {
                assert_eq!(message_may_matter(b), crate::input::event::may_matter(split(b).message), "{}", r.what);
                check_surely(b);
            }
        }
    }

    #[test]
    fn the_gate_still_answers_ordinary_lines_at_once() {
        // The bench's non-NATS line and an [INF] line from s05 n1.log: the
        // head search costs them nothing but a scan for `'` and `W`.
        for l in [
            r#"10.0.0.1 - - [26/Nov/2026:14:17:08 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29""#,
            "[8368] 2026/11/26 14:17:03.570812 [INF] Creating JetStream metadata controller",
            "level=info msg=compacting component=tsdb",
        ] {
            assert!(check_surely(l.as_bytes()), "{l}");
        }
        // a line that may hide a head, or start stern's names, is asked about
        for l in
            ["nats-0 nats [8368] 2026/11/26 14:17:03.559921 [INF] Server is ready", "anything at all 'quoted'", "[main] Will not"]
        {
            assert!(!check_surely(l.as_bytes()), "{l}");
        }
    }

    #[test]
    fn reads_the_escaped_form_too() {
        // How Fluent Bit hands a coloured terminal copy to the filter.
        let raw = br#"[1] 2025/02/04 09:00:01.000001 [\u001b[0;93mWRN\u001b[0m] Resetting stream cluster state for '$G > S'"#;
        let l = split(raw);
        assert_eq!(l.level, Some(Level::Warn));
        assert_eq!(l.message, b"Resetting stream cluster state for '$G > S'");
        let stern = br#"2023-12-12T15:22:01-08:00\t[33] [ERR] x"#;
        assert_eq!(split(stern).level, Some(Level::Error));
    }

    #[test]
    fn local_offset_shifts_nats_time() {
        let l = split(b"[1] 2026/11/26 15:17:08.000000 [WRN] x");
        let t = l.time(3600 * clock::SECOND, 0).unwrap();
        assert_eq!(rfc3339(t, 0), "2026-11-26T14:17:08.000000Z");
        assert_eq!(rfc3339(t, 3600 * clock::SECOND), "2026-11-26T15:17:08.000000+01:00");
    }

    #[test]
    fn fast_path_answers_as_split_does() {
        // Every layout, each truncation, decoded and escaped, with the
        // message swapped for one that matters and one that does not.
        let mut texts: Vec<String> = Vec::new();
        for &(text, _, _, message) in LINES {
            for m in ["Resetting stream cluster state for 'A > B'", "  Version:  2.10.25", "Server is ready", ""] {
                let t = text.strip_suffix(message).map(|p| format!("{p}{m}")).unwrap_or_else(|| m.to_string());
                texts.push(t.clone());
                texts.push(t.replace('\x1b', "\\u001b").replace('\t', "\\t"));
            }
        }
        for r in layout_rows() {
            texts.push(r.line.clone());
            texts.push(r.line.replace('\x1b', "\\u001b"));
        }
        texts.push("[12345678] 2026/11/26 14:17:08.682791 [WRN] Resetting stream cluster state for 'A > B'".into());
        // the wrappers the pass gate reads, each field at its edge
        for w in [
            "2026-12-01T15:50:27.123456+00:00 node-1 nats-server[8368]: ",
            "2026-12-31T23:59:60.123456789Z n1 nats-server: ",
            "2026-01-01T00:00:00-1200 node-1 nats-server[8368]: ",
            "2026-11-26T10:00:00,5+2359 nats-server[1]: ",
            "2025-06-11T09:45:46.671167074+01:00 stdout P ",
            "2023-12-12T15:22:01-08:00 [33] ",
            "Dec  1 15:50:27 host nats-server[8368]: ",
            "Sep 30 23:59:60.999999 host nats-b[8368]: ",
            "Feb 29 00:00:00 h p: ",
            // a dot with no digit is no fraction (found by the `line` fuzz target)
            "Nov 26 14:17:08. host nats-b[6736]: ",
            "2026-11-26T14:17:08.Z n1 nats-server: ",
        ] {
            for m in [
                "[8368] 2026/11/26 14:17:08.682791 [INF] Server is ready",
                "[8368] [WRN] Resetting stream cluster state for 'A > B'",
            ] {
                texts.push(format!("{w}{m}"));
            }
        }
        texts.push("[1] [\\u001b[0;93mWRN\\u001b[0m] Resetting stream cluster state for 'A > B'".into());
        let (mut matched, mut sure) = (0, 0);
        for t in &texts {
            let b = t.as_bytes();
            for n in 0..=b.len() {
                let want = crate::input::event::may_matter(split(&b[..n]).message);
                assert_eq!(message_may_matter(&b[..n]), want, "{:?}", String::from_utf8_lossy(&b[..n]));
                matched += want as usize;
                sure += check_surely(&b[..n]) as usize;
            }
        }
        assert!(matched > 100, "the table exercises lines that matter ({matched})");
        // Then each byte of each text overwritten with bytes the prefixes
        // turn on (a fixed xorshift sequence, so a failure repeats).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for t in &texts {
            for _ in 0..200 {
                let mut b = t.clone().into_bytes();
                for _ in 0..3 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if !b.is_empty() {
                        let i = (x % b.len() as u64) as usize;
                        const BYTES: &[u8] = b"[] /.:-0912\\<>\x1bWINFRE u";
                        b[i] = BYTES[(x >> 32) as usize % BYTES.len()];
                    }
                }
                assert_eq!(
                    message_may_matter(&b),
                    crate::input::event::may_matter(split(&b).message),
                    "{:?}",
                    String::from_utf8_lossy(&b)
                );
                sure += check_surely(&b) as usize;
            }
        }
        assert!(sure > 1000, "the quick answer is given ({sure})");
    }

    /// `surely_irrelevant` on the line as a record holds it (`"}` after
    /// it, padded to `LINE_HEAD` bytes): only ever where the full check says no.
    fn check_surely(line: &[u8]) -> bool {
        crate::fuzzing::check_wrapper(line);
        let mut b = line.to_vec();
        b.extend_from_slice(b"\"}");
        b.resize(b.len().max(LINE_HEAD), b'x');
        let sure = surely_irrelevant(b[..LINE_HEAD].try_into().unwrap(), &b);
        if sure {
            for b in [&b[..], &b[..LINE_HEAD]] {
                assert!(!message_may_matter(b) && b[0] != b'{', "{:?}", String::from_utf8_lossy(b));
            }
        }
        sure
    }

    #[test]
    fn the_gate_tells_each_head_by_its_first_eight_bytes() {
        // Every head `event::may_matter` looks for, after nats-server's
        // prefix: the gate asks the full check (`HEAD_BY_FIRST`,
        // `HEAD_BY_THIRD`, one masked compare); with any one of its first
        // eight bytes changed (or cut short), the quick answer, which the
        // full check agrees with.
        let prefix = "[8368] 2026/11/26 14:17:08.682791 [WRN] ";
        let mut quick = 0;
        for &(p, m) in HEAD8.iter().filter(|e| e.1 != 0) {
            let len = (64 - m.leading_zeros()) as usize / 8;
            let head: Vec<u8> = p.to_le_bytes()[..len].to_vec();
            let line = |head: &[u8]| [prefix.as_bytes(), head, b"A > B' xxxxxxxxxxxxxxxx"].concat();
            assert!(!check_surely(&line(&head)), "{:?}", String::from_utf8_lossy(&head));
            for i in 0..len {
                for x in [b'x', b' ', head[i] ^ 0x20] {
                    let mut near = head.clone();
                    near[i] = x;
                    quick += check_surely(&line(&near)) as usize;
                }
            }
        }
        // Only the changes that make another head (`s`/`S`, a space) are not quick.
        assert!(quick >= 150, "{quick}");
        // A message shorter than a head's 8 bytes: the record's `"}` after
        // it is read with it, and a `"` is in no head, so the answer is
        // quick, where the full check agrees.
        for cut in [&b"Error"[..], b"  ID", b"Stream"] {
            assert!(check_surely(&[prefix.as_bytes(), cut].concat()), "{:?}", String::from_utf8_lossy(cut));
        }
    }

    #[test]
    fn a_message_s_first_and_third_bytes_find_its_head_s_entry() {
        // Every pair of bytes: a message that starts with a head's first
        // and third bytes gets that head's entry; any pair gets an entry
        // of the table.
        for c1 in 0..=255u8 {
            for c3 in 0..=255u8 {
                let at = (HEAD_BY_FIRST[c1 as usize] & HEAD_BY_THIRD[c3 as usize]) as usize;
                assert!(at % 16 == 0 && at < 256, "{c1} {c3}: {at}");
                for (head, slot) in HEADS {
                    if head[0] == c1 && head[2] == c3 {
                        assert_eq!(at, 16 * slot, "{:?}", String::from_utf8_lossy(head));
                        assert_eq!(HEAD8[slot], prefix8(head));
                    }
                }
            }
        }
    }

    #[test]
    fn nats_server_s_own_lines_are_split_at_fixed_offsets() {
        // The quick split answers on these (and where `split` does).
        for l in [
            "[8368] 2026/11/26 14:17:08.682791 [WRN] Error applying entries to '$G > ORDERS': last sequence mismatch",
            "[8368] 2026/11/26 14:17:08.683482 [WRN] Resetting stream cluster state for '$G > ORDERS'",
            "[1] 2026/11/26 14:17:03.558849 [INF]   Version:  2.10.25",
            "[123456] 2026/11/26 14:17:08.682791 [INF] Server is ready",
        ] {
            let b = l.as_bytes();
            let at = b.len() - split(b).message.len();
            assert_eq!(nats_message_start(b), Some(at), "{l}");
        }
    }

    #[test]
    fn usual_lines_get_the_quick_answer() {
        for l in [
            "[8368] 2026/11/26 14:17:08.682791 [INF] 127.0.0.1:16222 - rid:19 - Route connection created",
            "[8368] 2026/11/26 14:17:08.682791 [WRN] JetStream has not established contact with a meta leader",
            "[1234567] 2026/11/26 14:17:08.682791 [DBG] 127.0.0.1:16222 - rid:19 - Route connection created",
            r#"10.0.0.1 - - [26/Nov/2026:14:17:08 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29""#,
            "level=info msg=\"compacting\" component=tsdb duration=12.3ms",
            "Get http://example failed: connection refused (retrying in 5 s)",
            // the wrappers docs/design/nats-server.md lists, around s05 n1.log's lines
            "2025-06-11T09:45:46.671167074+01:00 stderr F [223] 2025/06/11 08:45:46.671100 [INF] Listening for route connections",
            "2026-12-01T15:50:27.123456+00:00 node-1 nats-server[8368]: [8368] 2026/11/26 14:17:03.570812 [INF] Creating JetStream metadata controller",
            "2026-11-26T10:00:00+0000 node-1 nats-server[8368]: [8368] 2026/11/26 14:17:08.682791 [WRN] Catchup for stream '$G > ORDERS' stalled",
            "Oct 24 13:50:39 host nats-b[7261]: [7261] 2023/10/24 13:50:39.100000 [INF] Listening for route connections",
            "Dec  1 15:50:27 host nats-server[7261]: [7261] 2026/12/01 15:50:27.100000 [INF] Server is ready",
            "Sep 30 15:50:27.123456 host nats-server[7261]: [7261] 2026/09/30 15:50:27.100000 [INF] Server is ready",
        ] {
            assert!(check_surely(l.as_bytes()), "{l}");
        }
        // and lines that may matter, or that it cannot place, are not
        for l in [
            "[8368] 2026/11/26 14:17:08.682791 [WRN] Resetting stream cluster state for '$G > S'",
            "[8368] 2026/11/26 14:17:08.682791 [INF]   Version:  2.10.25",
            "[8368] 2026/11/26 14:17:08.682791 [ERR] Error applying entries to '$G > S': stream store EOF",
            "[715] 2022/01/21 13:27:25 [INF] Listening for route connections on 0.0.0.0:6222",
            "[37] [INF] Listening for route connections on 0.0.0.0:6222",
            "[12345678] 2026/11/26 14:17:08.682791 [INF] 127.0.0.1:16222 - rid:19 - Route",
            "[1] 2025/02/04 09:00:01.000001 [\\u001b[0;93mINF\\u001b[0m] Listening for route connections",
            "2025-06-11T09:45:46.671167074+01:00 stderr F [223] 2025/06/11 08:45:46.671100 [WRN] Resetting stream cluster state for 'A > B'",
            "Oct 24 13:50:39 host nats-b[7261]: [7261] 2023/10/24 13:50:39.100000 [WRN] Resetting stream cluster state for 'A > B'",
            "Dec  1 15:50:27 host nats-server[7261]: [7261] 2026/12/01 15:50:27.100000 [INF]   Version:  2.10.25",
            // a time `split` does not take: the whole line is searched for a head
            "2026-11-31T15:50:27.123456+00:00 node-1 nats-server[8368]: [8368] x Resetting stream cluster state for 'A > B'",
            "Nox 24 13:50:39 host nats-b[7261]: [7261] 2023/10/24 13:50:39.100000 [INF] x Will not reset stream",
            // a syslog tag `split` does not read, or no nats-server prefix after it
            "2026-12-01T15:50:27.123456+00:00 node-1 nats server: [8368] 2026/12/01 15:50:27.123456 [INF] Will not reset",
            "2026-12-01T15:50:27.123456+00:00 node-1 nats-server[8368]: Will not reset stream, server resources exceeded",
            "<28>Feb  4 09:00:01 nats-server[715]: Listening for route connections on 0.0.0.0:6222 and more words",
            // stern --timestamps' TAB: left to the full check
            "2023-12-12T15:22:01-08:00\t[33] 2023/12/12 23:22:01.000001 [ERR] 127.0.0.1:4222 - cid:5 - Client parser ERROR",
            "stream 'A > B' errored, account resources exceeded, and more words here",
            "{\"server_id\":\"NABC\",\"now\":\"2026-11-26T14:17:08Z\",\"streams\":1}",
        ] {
            assert!(!check_surely(l.as_bytes()), "{l}");
        }
    }

    #[test]
    fn the_pid_memo_knows_a_line_by_its_pid_and_the_byte_after_it() {
        let rest = " 2026/11/26 14:17:08.682791 [INF] 127.0.0.1:16222 - rid:19 - Route connection created";
        // (the line learned, whether it is learned, lines it knows, lines it does not)
        let rows: [(&str, bool, &[&str], &[&str]); 4] = [
            ("[8368]", true, &["[8368]"], &["[8369]", "[83681]", "[836]", "[8368", "(8368]", "[8368}"]),
            ("[1]", true, &["[1]"], &["[12]", "[2]", "[1 ", "[]"]),
            ("[123456]", true, &["[123456]"], &["[1234567]", "[12345]", "[123457]"]),
            ("[1234567]", false, &[], &["[1234567]", "[1]"]),
        ];
        let line = |p: &str| format!("{p}{rest}");
        let all: Vec<String> = rows.iter().flat_map(|r| r.2.iter().chain(r.3.iter()).map(|p| line(p))).collect();
        for (learn, learned, known, unknown) in rows {
            let l = line(learn);
            let mut memo = PidMemo::EMPTY;
            let h: &[u8; LINE_HEAD] = l.as_bytes()[..LINE_HEAD].try_into().unwrap();
            assert_eq!(memo.learn(h), pid_len(h));
            assert_eq!(memo != PidMemo::EMPTY, learned, "{learn}");
            for p in known {
                let l = line(p);
                let h: &[u8; LINE_HEAD] = l.as_bytes()[..LINE_HEAD].try_into().unwrap();
                assert_eq!(memo.recall(word::of(h, 0)), Some(pid_len(h)), "learned {learn}, asked {p}");
            }
            for p in unknown {
                assert_eq!(memo.recall(word::at(line(p).as_bytes(), 0).unwrap()), None, "learned {learn}, asked {p}");
            }
            // what it knows, it knows as `pid_len` does
            for l in &all {
                let h: &[u8; LINE_HEAD] = l.as_bytes()[..LINE_HEAD].try_into().unwrap();
                if let Some(n) = memo.recall(word::of(h, 0)) {
                    assert_eq!(n, pid_len(h), "learned {learn}, asked {l}");
                }
            }
        }
    }

    #[test]
    fn the_gate_reads_every_month_of_a_journald_time_and_nothing_else() {
        let line =
            |m: &str| format!("{m} 26 14:17:08 n1 nats-server[8368]: [8368] 2026/11/26 14:17:08.682791 [INF] Server is ready");
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        for m in months.into_iter().chain(["jan", "JAN", "Jun.", "Mai", "Dez", "Ja", "\0\0\0", "\u{ff}\u{ff}\u{ff}"]) {
            let l = line(m);
            let split_end = split_wrapper_end(false, l.as_bytes());
            assert_eq!(gate_wrapper_end(false, l.as_bytes()), (split_end > 0).then_some(split_end), "{l}");
            assert_eq!(split_end > 0, months.contains(&m), "{l}");
        }
    }

    #[test]
    fn the_gate_reads_a_wrappers_time_fields_as_split_does_at_their_bounds() {
        // Each field of an rsyslog time at and past its bounds: the gate
        // takes the wrapper exactly where `split` does.
        let fields: [(usize, &[&str]); 6] = [
            (5, &["00", "01", "09", "10", "12", "13", "19", "99"]),
            (8, &["00", "01", "29", "31", "32", "39", "40"]),
            (11, &["00", "09", "19", "20", "23", "24", "29", "30"]),
            (14, &["00", "09", "50", "59", "60", "69", "99"]),
            (17, &["00", "09", "59", "60", "61", "69", "99"]),
            (0, &["0000", "1970", "2026", "9999"]),
        ];
        let base =
            "2026-11-26T14:17:08.682791+00:00 n1 nats-server[8368]: [8368] 2026/11/26 14:17:08.682791 [INF] Server is ready";
        let mut taken = 0;
        for (at, values) in fields {
            for v in values {
                let l = format!("{}{v}{}", &base[..at], &base[at + v.len()..]);
                let split_end = split_wrapper_end(true, l.as_bytes());
                let want = (split_end > 0).then_some(split_end);
                assert_eq!(gate_wrapper_end(true, l.as_bytes()), want, "{l}");
                taken += want.is_some() as usize;
            }
        }
        assert!(taken > 20, "{taken}");
    }

    #[test]
    fn the_wrapper_memo_answers_for_the_next_line_of_a_wrapper_and_only_as_the_gate_does() {
        let ready = "[8368] 2026/11/26 14:17:08.682791 [INF] Server is ready for connections";
        // (zoned, the line the memo learns, a later line of the same wrapper, one of another)
        let rows = [
            (
                true,
                "2026-11-26T14:17:08.682791+00:00 n1 nats-server[8368]: ",
                "2026-11-27T01:59:59.1+00:00 n1 nats-server[8368]: ",
                "2026-11-26T14:17:08.682791+00:00 n2 nats-server[8368]: ",
            ),
            (
                true,
                "2026-11-26T14:17:08+0000 node-1 nats-server[8368]: ",
                "2026-12-31T23:59:60+0000 node-1 nats-server[8368]: ",
                "2026-11-26T14:17:08+0100 node-1 nats-server[8368]: ",
            ),
            (
                true,
                "2026-11-26T14:17:08.682791Z stderr F ",
                "2026-11-26T14:17:09.000000001Z stderr F ",
                "2026-11-26T14:17:08.682791Z stderr P ",
            ),
            (true, "2026-11-26T14:17:08Z ", "2026-11-26T14:17:09.5Z ", "2026-11-26T14:17:08Z nats-server[8368]: "),
            (
                false,
                "Nov 26 14:17:08 n1 nats-server[8368]: ",
                "Dec  1 00:00:00.123456 n1 nats-server[8368]: ",
                "Nov 26 14:17:08 n1 nats-server[8369]: ",
            ),
            // after a journald time as after an RFC 3339 one with no zone, which `split` takes for no wrapper
            (
                false,
                "Nov 26 14:17:08 n1 nats-server[8368]: ",
                "Nov 26 14:17:09 n1 nats-server[8368]: ",
                "2026-11-26T14:17:08 n1 nats-server[8368]: ",
            ),
        ];
        let all: Vec<String> = rows.iter().flat_map(|r| [r.1, r.2, r.3]).map(|w| format!("{w}{ready}")).collect();
        for (zoned, learn, same, other) in rows {
            let (learn, same, other) = (format!("{learn}{ready}"), format!("{same}{ready}"), format!("{other}{ready}"));
            let mut memo = WrapperMemo::EMPTY;
            assert_eq!(memo.wrapper_end(zoned, learn.as_bytes()), gate_wrapper_end(zoned, learn.as_bytes()), "{learn}");
            let recall = |memo: &WrapperMemo, l: &str| {
                let e = time_zone_at(zoned, l.as_bytes()).unwrap();
                memo.recall(zoned, l.as_bytes()[e..e + 48].try_into().unwrap()).map(|p| e + p)
            };
            assert_eq!(recall(&memo, &same), gate_wrapper_end(zoned, same.as_bytes()), "{same}");
            assert!(recall(&memo, &same).is_some(), "{same}");
            if time_zone_at(zoned, other.as_bytes()).is_some() {
                assert_eq!(recall(&memo, &other), None, "{other}");
                // One line of another wrapper leaves the memo as it was; a
                // second in a row replaces it.
                let mut m = memo;
                m.wrapper_end(zoned, other.as_bytes());
                assert!(recall(&m, &same).is_some(), "{other} once");
                m.wrapper_end(zoned, other.as_bytes());
                assert_eq!(recall(&m, &other).is_some(), gate_wrapper_end(zoned, other.as_bytes()).is_some(), "{other} twice");
            }
            // Lines of other programs in the same file are not learned.
            let systemd = format!(
                "{}systemd[1]: Started session 4 of user root, in a line long enough",
                &learn[..learn.find(" n").unwrap_or(20) + 4]
            );
            let mut m = memo;
            m.wrapper_end(zoned, systemd.as_bytes());
            m.wrapper_end(zoned, systemd.as_bytes());
            assert!(recall(&m, &same).is_some(), "{systemd}");
            // and whatever it learned, on every line of every row, read
            // after either kind of time
            for l in &all {
                crate::fuzzing::check_wrapper(l.as_bytes());
                for z in [true, false] {
                    let mut m = memo;
                    if let Some(p) = m.wrapper_end(z, l.as_bytes()) {
                        assert_eq!(Some(p), gate_wrapper_end(z, l.as_bytes()), "learned on {learn}, asked {l} (zoned: {z})");
                    }
                }
            }
        }
    }

    #[test]
    fn the_time_memo_answers_as_the_long_way_on_times_around_the_learned_one() {
        let rest = " n1 nats-server[8368]: [8368] 2026/11/26 14:17:08.682791 [INF] Server is ready";
        // (zoned, the time learned, and the fraction it learns)
        let rows = [
            (true, "2026-11-26T14:17", ".682791+00:00"),
            (true, "2026-11-26T14:17", "+0000"),
            (true, "2026-11-26T14:17", ".123456789Z"),
            (true, "2026-11-26T14:17", ",5+01:00"),
            (true, "2026-11-26T14:17", ".12345678901234Z"),
            (true, "2026-11-26T14:17", ".Z"),
            (false, "Nov 26 14:17", ""),
            (false, "Dec  1 00:00", ".123456"),
            (false, "Feb 29 23:59", ","),
        ];
        let seconds = [":08", ":00", ":59", ":60", ":61", ":99", ":6x", "08:", ":0", "x08"];
        let fractions =
            ["", ".", ",", ".5", ",5", ".682791", ".1234567", ".123456789", ".12345678901234", ".123456789012345", ".x", ",55"];
        let zones = ["+00:00", "Z", "+0000", "", "-08:00"];
        for (zoned, minute, fraction) in rows {
            let mut memo = TimeMemo::EMPTY;
            let learned = format!("{minute}:08{fraction}{rest}");
            assert_eq!(memo.read(zoned, learned.as_bytes()), time_zone_at(zoned, learned.as_bytes()).unwrap(), "{learned}");
            assert_ne!(memo.kind, 0, "{learned}");
            let mut answered = 0;
            for (second, f, zone) in seconds.iter().flat_map(|s| fractions.iter().flat_map(move |f| zones.map(|z| (s, f, z)))) {
                for m in [minute.to_string(), minute.replace("17", "18"), minute.replace("26", "27")] {
                    let line = format!("{m}{second}{f}{zone}{rest}");
                    for z in [true, false] {
                        let e = memo.recall(z, line.as_bytes());
                        if e != 0 {
                            assert_eq!(Some(e), time_zone_at(z, line.as_bytes()), "learned {learned}, asked {line} (zoned: {z})");
                            answered += 1;
                        }
                    }
                }
            }
            // and a later line in the minute, with the fraction as long
            let later = format!("{minute}:59{}{rest}", fraction.replace(|c: char| c.is_ascii_digit(), "9"));
            assert_eq!(memo.recall(zoned, later.as_bytes()), time_zone_at(zoned, later.as_bytes()).unwrap(), "{later}");
            assert!(answered >= 4, "{learned}: {answered}");
        }
    }

    #[test]
    fn never_panics_on_truncations() {
        for &(text, ..) in LINES {
            let b = text.as_bytes();
            for n in 0..b.len() {
                let l = split(&b[..n]);
                let _ = l.time(0, 0);
            }
        }
    }
}
