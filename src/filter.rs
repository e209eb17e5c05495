//! The pipeline every shell drives: record -> line -> event -> tracker ->
//! alerts. No I/O, no clock, no globals: a shell hands in bytes and the host's
//! time and takes alerts out.

use crate::alert::Notice;
use crate::config::Config;
use crate::detect::tracker::{LineTime, ResetPair, Tracker};
use crate::input::event;
use crate::input::jsz;
use crate::input::line;
use crate::input::record;
use crate::text::clock::Micros;
use crate::text::word;

/// What a record turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// No log line under the configured keys, or not a JSON object.
    NoLine,
    /// A line that is not one of the NATS events resetwatch reads.
    Other,
    /// A NATS event, handed to the detector.
    Event,
    /// A record that already carries an alert; left alone.
    Alert,
    /// A `/jsz` monitoring snapshot, handed to the detector.
    Jsz,
}

/// resetwatch's core: configure once, feed records or lines, collect alerts.
pub struct Filter {
    tracker: Tracker,
    /// `{"<key>":"` for each message key: most records start with one, and
    /// one comparison then replaces scanning the record.
    key_prefixes: Vec<Vec<u8>>,
    /// Reused buffer for the FB one-in-one-out answer.
    alert_buf: Vec<u8>,
    /// Event lines read behind a prefix no layout knows, per source.
    unknown: UnknownLayouts,
    /// The latest host tag of an event record, as sent, and its
    /// [`record::tag_base`]: a host sends one tag per input, and the UTF-8
    /// and rotation checks cost hundreds of wasm instructions.
    last_tag: (Vec<u8>, String),
    /// [`PassGate`]'s lengths of the message keys after the first.
    other_keys: u64,
    /// The key lengths that may name a record's source, for the config.
    source_keys: record::SourceKeys,
    /// The minute of the last NATS stamp of an event line (not saved).
    nats_minute: crate::text::clock::NatsMinute,
}

/// Event lines found behind a prefix resetwatch does not know
/// ([`line::find_event_head`]), counted per source so that a new layout
/// shows up as a number; each source is reported once (its first line).
#[derive(Clone, Debug, Default)]
pub struct UnknownLayouts {
    /// (source, lines, the first such line), in the order first seen.
    counts: Vec<UnknownLayout>,
    /// Index in `counts` of the first source not yet reported.
    reported: usize,
}

/// One source's lines behind an unknown prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownLayout {
    /// The source whose event lines came behind the unknown prefix.
    pub source: String,
    /// How many such lines, so far.
    pub lines: u64,
    /// The first such line, cut to [`UnknownLayout::EXAMPLE`] bytes, its
    /// control characters escaped (`\n`, `\u{1b}`): a report prints it as
    /// one line, and a line from a record may hold a newline.
    pub example: String,
}

impl UnknownLayout {
    /// How much of the first line is kept.
    pub const EXAMPLE: usize = 300;
}

impl UnknownLayouts {
    fn note(&mut self, source: &str, text: &[u8], max_sources: usize) {
        if let Some(c) = self.counts.iter_mut().find(|c| c.source == source) {
            c.lines += 1;
            return;
        }
        if self.counts.len() >= max_sources.max(1) {
            return; // bounded like the detector's sources; the first ones are kept
        }
        let mut cut = text.len().min(UnknownLayout::EXAMPLE);
        while cut < text.len() && (text[cut] & 0xc0) == 0x80 {
            cut -= 1;
        }
        let mut example = String::with_capacity(cut);
        for c in String::from_utf8_lossy(&text[..cut]).chars() {
            if c.is_control() {
                example.extend(c.escape_default());
            } else {
                example.push(c);
            }
        }
        self.counts.push(UnknownLayout { source: source.to_string(), lines: 1, example });
    }

    /// Every source with such lines, in the order first seen.
    pub fn all(&self) -> &[UnknownLayout] {
        &self.counts
    }

    /// Sources seen since the last call (each is returned once).
    pub fn take_new(&mut self) -> &[UnknownLayout] {
        let from = std::mem::replace(&mut self.reported, self.counts.len());
        &self.counts[from..]
    }
}

/// The fast test every record goes through: does the line starting at
/// `start` (still escaped) look like one resetwatch reads?
#[inline(never)]
fn may_matter_at(rec: &[u8], start: usize) -> bool {
    rec.get(start..).is_some_and(line::message_may_matter)
}

/// When a Fluent Bit record may skip [`Filter::filter_one`]: a copy of the
/// little it needs, taken after each record that went through it, so that
/// the usual record costs a few loads (the per-byte fuel budget: docs/performance.md#benchmarks).
/// [`PassGate::passes`] is `true` only when `filter_one` would pass the
/// record on unchanged and change nothing: no alert waiting, nothing due
/// on the host clock, the first message key's string found (at the start,
/// `{"key":"`, or after a few plain string members: Kubernetes' `time`,
/// `stream`, `_p`) and its line one [`line::surely_irrelevant`] rules out
/// (nats-server's own, or inside a syslog, journald or CRI wrapper).
/// Besides the filter's answer it keeps what it learned of the records'
/// lines ([`line::LineMemo`]: nats-server's pid, the wrapper around it);
/// [`PassGate::renew`] takes the next answer and keeps that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassGate {
    /// The record's first 8 bytes, little-endian: `{"log":"`.
    prefix: u64,
    /// Host seconds before which no resolution is due; 0 keeps the gate shut.
    before_sec: u32,
    /// Bit `k` set when another message key is `k` bytes long (bit 63: 63
    /// or more): a member with a key of that length is never skipped,
    /// since the filter would take its string as the line.
    other_keys: u64,
    /// What it learned of the lines it read the long way.
    memo: line::LineMemo,
    /// The last CRI record's time bytes 9 to 16 and 17 to 24 (`2026-11-`,
    /// `26T10:00`: they change once a minute), kept only when they hold no `"` or `\\`
    /// (0 at first, which holds neither): a word equal to one holds neither
    /// either, which one compare tells instead of [`word::marks`].
    time_words: [u64; 2],
}

impl PassGate {
    /// A gate that lets nothing by (before the filter exists).
    pub const SHUT: PassGate =
        PassGate { prefix: 0, before_sec: 0, other_keys: u64::MAX, memo: line::LineMemo::EMPTY, time_words: [0; 2] };

    /// How many members may come before the message key, and within how
    /// many bytes of the record: bounded work, the full path past them.
    const MEMBERS: usize = 4;
    const SPAN: usize = 512;

    /// Whether a record at host time `time_sec` (and any fraction of it)
    /// can be passed on as it is without reading it further. What it had
    /// to read the long way it learns ([`line::LineMemo`]).
    #[inline(always)]
    pub fn passes(&mut self, time_sec: u32, rec: &[u8]) -> bool {
        if time_sec >= self.before_sec {
            return false;
        }
        let Some(h) = rec.get(..8 + line::LINE_HEAD).and_then(|h| <&[u8; 8 + line::LINE_HEAD]>::try_from(h).ok()) else {
            return false;
        };
        if word::of(h, 0) != self.prefix {
            return self.passes_later(rec);
        }
        line::surely_irrelevant_at(h, 8, rec, 8, &mut self.memo)
    }

    /// [`PassGate::passes`] for a record whose message member is not the
    /// first. Out of line: a tail record's path stays as it was. The CRI
    /// record's shape is read here; any other is read out of line again
    /// ([`PassGate::message_after_members`]): WAMR's interpreter copies every
    /// constant of a function into its frame and sets up each of its locals
    /// on each call (`line::unrecalled_irrelevant`).
    #[inline(never)]
    fn passes_later(&mut self, rec: &[u8]) -> bool {
        match self.cri_message_start(rec) {
            Some(s) => self.line_passes(rec, s),
            None => self.passes_after_members(rec),
        }
    }

    /// [`PassGate::passes_later`] for a record that is not the CRI parser's:
    /// its members read one by one. Out of line, and answering a `bool`
    /// (an `Option` returned from a call is written to memory and read back).
    #[inline(never)]
    fn passes_after_members(&mut self, rec: &[u8]) -> bool {
        match self.message_after_members(rec) {
            Some(s) => self.line_passes(rec, s),
            None => false,
        }
    }

    /// The gate's answer for the record's line, which starts at `s`.
    #[inline(always)]
    fn line_passes(&mut self, rec: &[u8], s: usize) -> bool {
        match rec.get(s..s + line::LINE_HEAD).and_then(|h| <&[u8; line::LINE_HEAD]>::try_from(h).ok()) {
            Some(h) => line::surely_irrelevant_at(h, 0, rec, s, &mut self.memo),
            None => false,
        }
    }

    /// Where the message starts in the record Fluent Bit's CRI parser and
    /// `kubernetes` filter make (host/src/bin/resetwatch-bench/fluent_bit.rs,
    /// `kubernetes_record`): `{"time":"<time>","stream":"stdout","_p":"F","log":"`
    /// (or `stderr`, `P`), read in the record's first 128 bytes: the time's
    /// closing quote within its first 32 bytes ([`time_quote`]), then five
    /// word comparisons. `None` for anything else, which
    /// [`PassGate::message_after_members`] reads member by member.
    #[inline(always)]
    fn cri_message_start(&mut self, rec: &[u8]) -> Option<usize> {
        let b: &[u8; 128] = rec.get(..128)?.try_into().ok()?;
        let w = |s: &[u8; 8]| u64::from_le_bytes(*s);
        // `time`, `stream` and `_p` must not be other message keys' lengths.
        if word::of(b, 0) != w(b"{\"time\":") || b[8] != b'"' || self.other_keys & (1 << 2 | 1 << 4 | 1 << 6) != 0 {
            return None;
        }
        // `","stream":"stdout","_p":"F","log":"` after the time's closing
        // quote (the last key the first message key, as in `{"log":"`).
        let e = self.time_quote(b)?;
        let (w1, w2, w3) = (word::of(b, e + 8), word::of(b, e + 16), word::of(b, e + 24));
        let stream = (w1 == w(b"m\":\"stdo") && w2 == w(b"ut\",\"_p\"")) || (w1 == w(b"m\":\"stde") && w2 == w(b"rr\",\"_p\""));
        let partial = matches!((w3 >> 16) as u8, b'F' | b'P') && w3 & !(0xff << 16) == w(b":\"\0\",\"lo");
        let ok =
            word::of(b, e) == w(b"\",\"strea") && stream && partial && word::of(b, e + 28) == (self.prefix & !0xff) | b',' as u64;
        ok.then_some(e + 36)
    }

    /// The closing quote of the CRI record's time string (from byte 9 of
    /// `b`): [`crate::text::json::plain_string_end`]'s answer when it lies
    /// within 32 bytes, four words tested with no loop and no bounds check;
    /// `None` past them or at a `\\` (the member scan then reads the record).
    #[inline(always)]
    fn time_quote(&mut self, b: &[u8; 128]) -> Option<usize> {
        let (m0, m1) = (self.time_marks(b, 0), self.time_marks(b, 1));
        let (m2, m3) = (quote_marks(b, 25), quote_marks(b, 33));
        let (k, m) = if m0 != 0 {
            (9, m0)
        } else if m1 != 0 {
            (17, m1)
        } else if m2 != 0 {
            (25, m2)
        } else {
            (33, m3)
        };
        // `& 63` bounds it for the compiler: the words after it need no check.
        let e = (k + (m.trailing_zeros() / 8) as usize) & 63;
        (m != 0 && b[e] == b'"').then_some(e)
    }

    /// [`quote_marks`] of the time's word `slot` (at byte 9 or 17), 0 at
    /// once when it is [`PassGate::time_words`]' (kept when it has none).
    #[inline(always)]
    fn time_marks(&mut self, b: &[u8; 128], slot: usize) -> u64 {
        let w = word::of(b, 9 + 8 * slot);
        if w == self.time_words[slot & 1] {
            return 0;
        }
        let m = word::marks(w, b'"', b'\\');
        if m == 0 {
            self.time_words[slot & 1] = w;
        }
        m
    }

    /// Where the first message key's string starts (just inside its quote)
    /// when at most [`PassGate::MEMBERS`] plain members come before it,
    /// each `"key":"value",` with no white space, no escape in the key and
    /// a key no other message key may be (so the filter's
    /// `record::message_start` finds the same member). `None` for anything
    /// else (white space, a number, an object, a key it cannot rule out),
    /// which the full path reads.
    #[inline(always)]
    fn message_after_members(&self, rec: &[u8]) -> Option<usize> {
        use crate::text::{json, word};
        let b = rec.get(..rec.len().min(Self::SPAN))?;
        if *b.first()? != b'{' {
            return None;
        }
        // `"log":"`: the prefix without its `{`.
        let member = self.prefix >> 8;
        let mut i = 1;
        // A counter, not a range: `0..=n`'s iterator is a call in wasm.
        let mut skipped = 0;
        loop {
            if word::at(b, i)? & 0x00ff_ffff_ffff_ffff == member {
                return Some(i + 7);
            }
            if skipped == Self::MEMBERS || *b.get(i)? != b'"' {
                return None;
            }
            let end = json::plain_string_end(b, i + 1)?;
            if (self.other_keys >> (end - i - 1).min(63)) & 1 != 0 || b.get(end + 1..end + 3)? != b":\"" {
                return None;
            }
            let end = json::string_end(b, end + 3)?;
            if *b.get(end + 1)? != b',' {
                return None;
            }
            i = end + 2;
            skipped += 1;
        }
    }

    /// The same gate, shut from host second `sec` on as well (a shell's
    /// own deadline: a state write that waits).
    pub fn shut_from(self, sec: u32) -> PassGate {
        PassGate { before_sec: self.before_sec.min(sec), ..self }
    }

    /// Take the filter's next answer ([`Filter::pass_gate`], after a record
    /// went through it) and keep what this gate learned of the lines (their
    /// pid and wrapper): facts about layouts, true whatever the filter holds.
    pub fn renew(&mut self, next: PassGate) {
        *self = PassGate { memo: self.memo, time_words: self.time_words, ..next };
    }
}

/// [`word::marks`] of `"` and `\\` in the word at `k` of `b`. A function
/// with a constant argument, not a closure: opt-level `z` left the closure
/// a call in wasm.
#[inline(always)]
fn quote_marks(b: &[u8; 128], k: usize) -> u64 {
    word::marks(word::of(b, k), b'"', b'\\')
}

/// A host's time for a record or line, in the microseconds the detector
/// runs on. Digits below them are not needed to tell lines apart: a host's
/// or a record's time never makes a line a repeat ([`LineTime::Shared`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HostTime {
    micros: Micros,
}

impl HostTime {
    fn micros(micros: Micros) -> Self {
        HostTime { micros }
    }

    fn nanos(ns: i64) -> Self {
        HostTime { micros: ns.div_euclid(1000) }
    }
}

/// Where a line came from: a record (and the host's tag for it), or a host
/// that names the source itself.
#[derive(Clone, Copy)]
enum Origin<'r, 'a> {
    Record(&'r record::TopMembers<'a>, &'a str),
    Line(&'a str),
}

/// Whether `rec` from `i` on is white space, `}` and white space: what
/// [`crate::text::json::Members`] reads as the end of the object (it
/// ignores what follows the brace).
fn only_close_follows(rec: &[u8], i: usize) -> bool {
    let rest = rec.get(i..).unwrap_or_default();
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
    rest.iter().find(|c| !ws(c)) == Some(&b'}')
}

/// FNV-1a: a line's fingerprint for dropping repeats. Not a defence against
/// crafted collisions, which could at worst hide one repeated line.
/// The state file keeps these values, so the sum stays FNV-1a byte by
/// byte; eight bytes are loaded at a time (a byte loop's index, bound check
/// and branch cost more than the sum's own xor and multiply).
fn fingerprint(b: &[u8]) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    // `word::at`, one load: `chunks_exact` and `copy_from_slice` left a
    // call a word in wasm.
    let mut i = 0;
    while let Some(w) = crate::text::word::at(b, i) {
        // Written out: the wasm profile (`opt-level = "z"`) unrolls no loop.
        h = (h ^ (w & 0xff)).wrapping_mul(PRIME);
        h = (h ^ ((w >> 8) & 0xff)).wrapping_mul(PRIME);
        h = (h ^ ((w >> 16) & 0xff)).wrapping_mul(PRIME);
        h = (h ^ ((w >> 24) & 0xff)).wrapping_mul(PRIME);
        h = (h ^ ((w >> 32) & 0xff)).wrapping_mul(PRIME);
        h = (h ^ ((w >> 40) & 0xff)).wrapping_mul(PRIME);
        h = (h ^ ((w >> 48) & 0xff)).wrapping_mul(PRIME);
        h = (h ^ (w >> 56)).wrapping_mul(PRIME);
        i += 8;
    }
    for &c in b.get(i..).unwrap_or_default() {
        h = (h ^ c as u64).wrapping_mul(PRIME);
    }
    h
}

/// Whether a stamp printed in the line tells identical messages apart:
/// one to the microsecond or finer (nats-server's `.uuuuuu`, a wrapper's
/// RFC 3339 fraction), since the fingerprint covers the stamp. A stamp to
/// the second (older servers, RFC 3164 syslog, stern) is shared by every
/// repeat of a message within that second.
fn tells_lines_apart(stamp: line::Stamp<'_>) -> bool {
    let (line::Stamp::Nats(t) | line::Stamp::Zoned(t)) = stamp else { return false };
    stamp_to_the_micro(t)
}

/// `.` at byte 19 and ASCII digits at 20 to 25, read as one word (bytes
/// 18 to 25) where a byte loop cost some two hundred wasm instructions.
fn stamp_to_the_micro(t: &[u8]) -> bool {
    let Some(w) = crate::text::word::at(t, 18) else { return false };
    let fraction = (w >> 16) ^ (b'0' as u64 * crate::text::word::LO);
    (w >> 8) as u8 == b'.' && crate::text::word::not_digits(fraction) & 0x8080_8080_8080 == 0
}

impl Filter {
    /// A filter with these options.
    pub fn new(cfg: Config) -> Self {
        Filter::from_tracker(Tracker::new(cfg))
    }

    /// A filter around a restored detector (see [`crate::state`]).
    pub fn from_tracker(tracker: Tracker) -> Self {
        let key_prefixes = tracker
            .config()
            .message_keys
            .iter()
            .map(|k| {
                let mut p = b"{".to_vec();
                crate::text::json::write_str(&mut p, k);
                p.extend_from_slice(b":\"");
                p
            })
            .collect();
        let other_keys = tracker.config().message_keys.iter().skip(1).fold(0, |m, k| m | 1u64 << k.len().min(63));
        let source_keys = record::SourceKeys::of(tracker.config());
        Filter {
            source_keys,
            tracker,
            key_prefixes,
            alert_buf: Vec::new(),
            unknown: UnknownLayouts::default(),
            last_tag: (Vec::new(), String::new()),
            other_keys,
            nats_minute: crate::text::clock::NatsMinute::EMPTY,
        }
    }

    /// Where the log line starts in `rec`: a prefix comparison for the usual
    /// `{"log":"...` shape, a scan of the members otherwise.
    #[inline]
    fn message_start(&self, rec: &[u8]) -> Option<usize> {
        for p in &self.key_prefixes {
            if crate::text::json::has_prefix(rec, p) {
                return Some(p.len());
            }
        }
        record::message_start(rec, &self.tracker.config().message_keys)
    }

    /// The gate for the records that follow (see [`PassGate`]): shut while
    /// an alert waits, in Alertmanager mode, or when the first message key
    /// is not 3 bytes long (`{"log":"` is the one 8-byte comparison).
    pub fn pass_gate(&self) -> PassGate {
        let open = self.config().output != crate::config::Output::Alertmanager && self.tracker.pending_alerts() == 0;
        match self.key_prefixes.first().map(|p| <[u8; 8]>::try_from(p.as_slice())) {
            Some(Ok(key)) if open => {
                // `sec < before_sec` puts the whole second before the due time.
                let due = self.tracker.next_host_due().div_euclid(crate::text::clock::SECOND);
                PassGate {
                    prefix: u64::from_le_bytes(key),
                    before_sec: due.clamp(0, u32::MAX as i64) as u32,
                    other_keys: self.other_keys,
                    memo: line::LineMemo::EMPTY,
                    time_words: [0; 2],
                }
            }
            _ => PassGate::SHUT,
        }
    }

    /// The options in force.
    pub fn config(&self) -> &Config {
        self.tracker.config()
    }

    /// The detector, for its counters and state.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Event lines read behind a prefix no layout knows, per source.
    pub fn unknown_layouts(&self) -> &UnknownLayouts {
        &self.unknown
    }

    /// The same, to take the sources not yet reported.
    pub fn unknown_layouts_mut(&mut self) -> &mut UnknownLayouts {
        &mut self.unknown
    }

    /// Reads one host record (a JSON object). `tag` names the source when
    /// the record names none.
    pub fn ingest_record(&mut self, tag: &str, host_now: Micros, rec: &[u8]) -> Seen {
        self.ingest_tagged(tag.as_bytes(), HostTime::micros(host_now), rec)
    }

    /// [`Filter::ingest_record`] at a host time in nanoseconds, all of
    /// whose digits count (see [`HostTime`]).
    pub fn ingest_record_ns(&mut self, tag: &str, host_ns: i64, rec: &[u8]) -> Seen {
        self.ingest_tagged(tag.as_bytes(), HostTime::nanos(host_ns), rec)
    }

    /// [`Filter::ingest_record`] with the tag as bytes: a host's tag is read
    /// (and checked as UTF-8) only for the rare record that matters.
    fn ingest_tagged(&mut self, tag: &[u8], at: HostTime, rec: &[u8]) -> Seen {
        let host_now = at.micros;
        self.tracker.advance(host_now);
        let Some(start) = self.message_start(rec) else {
            return self.ingest_no_line(tag, host_now, rec);
        };
        // Classify on the still-escaped text first: almost every line stops here.
        if !may_matter_at(rec, start) {
            // NATS lines never start with `{`; a `/jsz` document as a string does.
            if rec.get(start) == Some(&b'{') && jsz::may_be_escaped_jsz(&rec[start..]) {
                return self.ingest_jsz(tag, host_now, rec).unwrap_or(Seen::Other);
            }
            return Seen::Other;
        }
        self.ingest_matter(tag, at, rec, start)
    }

    /// A record with no log line: a `/jsz` document when its first key says
    /// it may be one, else nothing to read.
    #[inline(never)]
    fn ingest_no_line(&mut self, tag: &[u8], host_now: Micros, rec: &[u8]) -> Seen {
        if !jsz::may_be_jsz(rec, &self.tracker.config().message_keys) {
            return Seen::NoLine;
        }
        self.ingest_jsz(tag, host_now, rec).unwrap_or(Seen::NoLine)
    }

    /// Reads the `/jsz` document in `rec`; `None` when there is none.
    #[inline(never)]
    fn ingest_jsz(&mut self, tag: &[u8], host_now: Micros, rec: &[u8]) -> Option<Seen> {
        if record::has_alert(rec) {
            return Some(Seen::Alert);
        }
        let cfg = self.tracker.config();
        let doc = jsz::find(rec, &cfg.message_keys)?;
        let snapshot = jsz::parse(&doc)?;
        let source = record::source(rec, cfg, &String::from_utf8_lossy(tag), &line::split(b""));
        self.tracker.observe_jsz(&source, host_now, &snapshot);
        Some(Seen::Jsz)
    }

    /// The rare record whose line may be a NATS event. Kept out of line so
    /// that the common path above compiles to a few dozen instructions.
    #[inline(never)]
    fn ingest_matter(&mut self, tag: &[u8], at: HostTime, rec: &[u8], start: usize) -> Seen {
        let rest = rec.get(start..).unwrap_or_default();
        // An event line seldom holds an escape: then one scan finds its end
        // and tells so, and its text needs no second look for `\\`.
        let plain = crate::text::json::plain_string_end(rest, 0);
        let Some(end) = plain.or_else(|| crate::text::json::string_end(rest, 0)) else {
            return if record::has_alert(rec) { Seen::Alert } else { Seen::Other };
        };
        // The record's members, read once for the alert check, the source
        // and the record's time. The usual tail record, `{"log":"..."}`
        // (the first key's prefix, then only its closing brace), is that
        // one member without a scan.
        let top = match self.key_prefixes.iter().find(|p| p.len() == start && crate::text::json::has_prefix(rec, p)) {
            Some(p) if only_close_follows(rec, start + end + 1) => record::TopMembers::one(crate::text::json::Member {
                key: rec.get(2..p.len() - 3).unwrap_or_default(),
                value: rec.get(start - 1..start + end + 1).unwrap_or_default(),
            }),
            _ => record::TopMembers::read(rec),
        };
        if top.has_alert() {
            return Seen::Alert;
        }
        // `record::message_at`, borrowed when the line holds no escape (no
        // copy: an allocation costs some hundreds of wasm instructions).
        let body = rest.get(..end).unwrap_or_default();
        let text = match plain {
            Some(_) => crate::text::json::decode_plain(body),
            None => match crate::text::json::decode_str(body) {
                Some(t) => t,
                None => return Seen::Other,
            },
        };
        if self.last_tag.0 != tag {
            self.last_tag.0.clear();
            self.last_tag.0.extend_from_slice(tag);
            self.last_tag.1.clear();
            self.last_tag.1.push_str(record::tag_base(&String::from_utf8_lossy(tag)));
        }
        // Out of `self` while `ingest` borrows it (no copy: a `String` moved).
        let base = std::mem::take(&mut self.last_tag.1);
        let seen = self.ingest(Origin::Record(&top, &base), at, text.as_bytes(), Some(&text));
        self.last_tag.1 = base;
        seen
    }

    /// Reads one raw log line from `source` (a host's name for where it
    /// came from: a file name; the line's own wrapper may name its server,
    /// [`record::pick_source`]).
    pub fn ingest_line(&mut self, source: &str, host_now: Micros, text: &[u8]) -> Seen {
        self.ingest_line_at(source, HostTime::micros(host_now), text)
    }

    /// [`Filter::ingest_line`] at a host time in nanoseconds.
    pub fn ingest_line_ns(&mut self, source: &str, host_ns: i64, text: &[u8]) -> Seen {
        self.ingest_line_at(source, HostTime::nanos(host_ns), text)
    }

    fn ingest_line_at(&mut self, source: &str, at: HostTime, text: &[u8]) -> Seen {
        self.tracker.advance(at.micros);
        if !may_matter_at(text, 0) {
            return Seen::Other;
        }
        self.ingest(Origin::Line(source), at, text, None)
    }

    /// `valid`: `text` when it is known to be UTF-8 already; the message,
    /// a suffix of it, is then not checked again.
    fn ingest(&mut self, origin: Origin<'_, '_>, at: HostTime, text: &[u8], valid: Option<&str>) -> Seen {
        let mut l = line::split(text);
        let message = match valid {
            Some(t) => t.len().checked_sub(l.message.len()).and_then(|at| t.get(at..)),
            None => std::str::from_utf8(l.message).ok(),
        };
        let Some(ev) = message.and_then(event::classify_ref) else {
            return Seen::Other;
        };
        let cfg = self.tracker.config();
        let source = match origin {
            Origin::Record(top, tag) => record::source_in(top, cfg, self.source_keys, tag, &l),
            Origin::Line(given) => std::borrow::Cow::Owned(record::pick_source(None, &l, given, cfg)),
        };
        if l.stamp.is_none() {
            if let Origin::Record(top, _) = origin {
                l.stamp = record::time_in(top).map(line::Stamp::Record);
            }
        }
        if l.unknown_prefix {
            self.unknown.note(&source, text, cfg.max_sources);
        }
        // Only a stamp printed in the line to the microsecond names one
        // line; a record's or the host's time never makes a repeat.
        let time = match l.time_in(&mut self.nats_minute, cfg.line_utc_offset, at.micros) {
            Some(t) if l.stamp.is_some_and(tells_lines_apart) => LineTime::Own(t),
            Some(t) => LineTime::Shared(t),
            None => LineTime::Shared(at.micros),
        };
        self.tracker.observe(&source, time, at.micros, fingerprint(text), ev);
        Seen::Event
    }

    /// Advances the host clock with no record (resolutions of silent sources).
    pub fn advance(&mut self, host_now: Micros) {
        self.tracker.advance(host_now);
    }

    /// Keeps every reset pair for [`Filter::next_pair`] (timelines, summaries).
    pub fn record_pairs(&mut self, on: bool) {
        self.tracker.record_pairs(on);
    }

    /// The next recorded reset pair.
    pub fn next_pair(&mut self) -> Option<ResetPair> {
        self.tracker.next_pair()
    }

    /// The next alert due (reset loop or reserved storage).
    pub fn next_alert(&mut self) -> Option<Notice> {
        self.tracker.next_alert()
    }

    /// Fluent Bit's one record in, one record out: reads `rec` and, when an
    /// alert is due, returns `rec` with the alert added (one alert per
    /// record, oldest first). `None` means "pass `rec` on unchanged".
    /// With `"output": "alertmanager"` it only reshapes: a record carrying an
    /// alert becomes that alert's Alertmanager form ([`crate::alert::alertmanager`]).
    pub fn filter_one<T: AsRef<[u8]> + ?Sized>(&mut self, tag: &T, host_now: Micros, rec: &[u8], out: &mut Vec<u8>) -> bool {
        self.filter_one_at(tag, HostTime::micros(host_now), rec, out)
    }

    /// [`Filter::filter_one`] at Fluent Bit's record time, seconds and
    /// nanoseconds, every digit of which counts.
    pub fn filter_one_ns<T: AsRef<[u8]> + ?Sized>(
        &mut self,
        tag: &T,
        sec: i64,
        nsec: u32,
        rec: &[u8],
        out: &mut Vec<u8>,
    ) -> bool {
        let nsec = (nsec % 1_000_000_000) as i64;
        let at = HostTime { micros: sec * crate::text::clock::SECOND + nsec / 1000 };
        self.filter_one_at(tag, at, rec, out)
    }

    // Out of line, as it was when the shells were in this crate: generic, it
    // is instantiated in the shells' crate, and inlined into the export
    // there it made the Fluent Bit modules larger (139 bytes, measured).
    #[inline(never)]
    fn filter_one_at<T: AsRef<[u8]> + ?Sized>(&mut self, tag: &T, at: HostTime, rec: &[u8], out: &mut Vec<u8>) -> bool {
        if self.tracker.config().output == crate::config::Output::Alertmanager {
            return crate::alert::alertmanager::from_record(rec, self.tracker.config(), out);
        }
        if self.ingest_tagged(tag.as_ref(), at, rec) == Seen::Alert || self.tracker.pending_alerts() == 0 {
            return false;
        }
        let Some(alert) = self.tracker.next_alert() else { return false };
        self.alert_buf.clear();
        alert.write_json(&mut self.alert_buf);
        if record::with_alert(rec, &self.alert_buf, out) {
            return true;
        }
        // This record cannot carry it (not a complete object): the next one will.
        self.tracker.requeue_front(alert);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Alert, Severity, Status};
    use crate::text::clock::{self, SECOND};

    #[test]
    fn a_stamp_to_the_micro_is_read_as_the_byte_loop_read_it() {
        let by_bytes = |t: &[u8]| t.get(19) == Some(&b'.') && t.get(20..26).is_some_and(|f| f.iter().all(u8::is_ascii_digit));
        // s05 n1.log's `2026/11/26 14:17:08.682791` (with a zone), each
        // byte in turn replaced by bytes at and beside the digits' range,
        // each cut to every length.
        let stamp = b"2026/11/26 14:17:08.682791+01:00".to_vec();
        for at in 0..stamp.len() {
            for c in [b'.', b'0', b'9', b'/', b':', b'a', 0, 0x7f, 0x80, 0xb9, 0xff] {
                let mut t = stamp.clone();
                t[at] = c;
                for n in 0..=t.len() {
                    assert_eq!(stamp_to_the_micro(&t[..n]), by_bytes(&t[..n]), "{:?}", String::from_utf8_lossy(&t[..n]));
                }
            }
        }
    }

    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus");

    /// Host time for a NATS line: its own time, as a tail input with a parser would stamp it.
    fn host_time(line: &str) -> Micros {
        line::split(line.as_bytes()).time(0, 0).unwrap_or(0)
    }

    fn run(cfg: Config, inputs: &[(&str, &str)]) -> Vec<Alert> {
        let mut f = Filter::new(cfg);
        let mut alerts = Vec::new();
        let mut now = 0;
        for (source, l) in inputs {
            now = host_time(l).max(now);
            f.ingest_line(source, now, l.as_bytes());
            alerts.extend(std::iter::from_fn(|| f.next_alert()).filter_map(Notice::into_loop));
        }
        alerts
    }

    /// `n` loop turns on `source`, `every` seconds apart, starting at 14:17:08
    /// (the shape of s05 n1.log).
    fn loop_lines(n: usize, every: i64, cause: &str) -> Vec<String> {
        let base = clock::parse_rfc3339(b"2026-11-26T14:17:08.682791Z").unwrap().0;
        let mut out = Vec::new();
        for i in 0..n as i64 {
            let t = base + i * every * SECOND;
            let ts = |t: Micros| {
                let s = clock::rfc3339(t, 0);
                format!("{} {}", s[..10].replace('-', "/"), &s[11..26])
            };
            out.push(format!("[8368] {} [WRN] Error applying entries to '$G > ORDERS': {cause}", ts(t)));
            out.push(format!("[8368] {} [WRN] Resetting stream cluster state for '$G > ORDERS'", ts(t + 700)));
        }
        out
    }

    fn on(source: &'static str, lines: &[String]) -> Vec<(&'static str, String)> {
        lines.iter().map(|l| (source, l.clone())).collect()
    }

    fn refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        v.iter().map(|(s, l)| (*s, l.as_str())).collect()
    }

    #[test]
    fn the_fingerprint_is_fnv_1a_byte_by_byte() {
        // The state file keeps fingerprints: the word-at-a-time sum must
        // give the byte loop's value for every length.
        let fnv = |b: &[u8]| b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| (h ^ c as u64).wrapping_mul(0x0100_0000_01b3));
        let line = "[8368] 2026/11/26 14:17:08.683482 [WRN] Resetting stream cluster state for '$G > ORDERS' \u{e9}\u{ff}";
        for n in 0..=line.len() {
            assert_eq!(fingerprint(&line.as_bytes()[..n]), fnv(&line.as_bytes()[..n]), "{n}");
        }
        assert_eq!(fingerprint(b""), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn fires_warning_at_three_and_critical_at_ten() {
        let lines = on("n1", &loop_lines(12, 5, "last sequence mismatch"));
        let alerts = run(Config::default(), &refs(&lines));
        let sev: Vec<_> = alerts.iter().map(|a| (a.status, a.severity, a.pairs_in_window)).collect();
        // fires at pair 3, rises at pair 10; pairs 4-9 and 11-12 come within the repeat interval
        assert_eq!(sev, [(Status::Firing, Severity::Warning, 3), (Status::Firing, Severity::Critical, 10)]);
        let a = &alerts[1];
        assert_eq!((a.pairs_total, a.leaking_resets_total), (10, 10));
        assert_eq!(a.last_cause.as_deref(), Some("last sequence mismatch"));
        assert_eq!(clock::rfc3339(a.first_seen, 0), "2026-11-26T14:17:08.682791Z");
        assert_eq!(a.known_leak, None, "no banner, no configured version");
    }

    #[test]
    fn repeats_once_per_interval_with_fresh_counts() {
        let lines = on("n1", &loop_lines(40, 5, "last sequence mismatch"));
        let alerts = run(Config::default(), &refs(&lines));
        // 3 (warning), 10 (critical), then every 60 s of line time: pairs 22 and 34
        let totals: Vec<_> = alerts.iter().map(|a| a.pairs_total).collect();
        assert_eq!(totals, [3, 10, 22, 34]);
        assert!(alerts.iter().all(|a| a.status == Status::Firing));
    }

    #[test]
    fn a_reset_needs_its_cause_within_the_gap() {
        let mut lines = Vec::new();
        for l in loop_lines(5, 10, "last sequence mismatch") {
            if l.contains("Resetting") {
                lines.push(l);
            }
        }
        assert!(run(Config::default(), &refs(&on("n1", &lines))).is_empty(), "resets alone are not pairs");
        let cfg = Config { pair_gap: 500, ..Config::default() };
        let lines = on("n1", &loop_lines(5, 5, "last sequence mismatch"));
        assert!(run(cfg, &refs(&lines)).is_empty(), "reset 700us after its cause, gap 500us");
        // a cause that does not reset the stream does not pair
        let lines = on("n1", &loop_lines(5, 5, "insufficient resources"));
        assert!(run(Config::default(), &refs(&lines)).is_empty());
    }

    #[test]
    fn sources_and_streams_are_separate() {
        let a = loop_lines(2, 5, "last sequence mismatch");
        let mut inputs = on("n1", &a);
        inputs.extend(on("n2", &a));
        assert!(run(Config::default(), &refs(&inputs)).is_empty(), "two pairs on each of two servers");
    }

    #[test]
    fn the_same_line_twice_counts_once() {
        let lines = loop_lines(2, 5, "last sequence mismatch");
        let mut twice = lines.clone();
        twice.extend(lines.clone());
        assert!(run(Config::default(), &refs(&on("n1", &twice))).is_empty());
        let mut f = Filter::new(Config::default());
        for l in &twice {
            f.ingest_line("n1", 0, l.as_bytes());
        }
        assert_eq!(f.tracker().stats.duplicates, 4);
        assert_eq!(f.tracker().stats.pairs, 2);
    }

    #[test]
    fn declined_reset_makes_it_critical_at_once() {
        let mut lines = loop_lines(3, 5, "last sequence mismatch");
        // 2.10 names no stream: the declined reset follows the apply error that caused it
        lines.push(
            "[8368] 2026/11/26 14:17:30.000000 [WRN] Error applying entries to '$G > ORDERS': last sequence mismatch".into(),
        );
        lines.push("[8368] 2026/11/26 14:17:30.000100 [WRN] Will not reset stream, server resources exceeded".into());
        let alerts = run(Config::default(), &refs(&on("n1", &lines)));
        let sev: Vec<_> = alerts.iter().map(|a| a.severity).collect();
        assert_eq!(sev, [Severity::Warning, Severity::Critical]);
        assert_eq!(alerts[1].declined_resets_total, 1);
    }

    #[test]
    fn resolves_after_quiet_by_source_clock() {
        let mut lines = loop_lines(3, 5, "last sequence mismatch");
        // another stream's event 601 s later advances n1's clock
        lines.push("[8368] 2026/11/26 14:27:20.000000 [WRN] Resetting stream cluster state for '$G > OTHER'".into());
        let mut f = Filter::new(Config::default());
        for l in &lines {
            // host clock stands still: only the source clock can resolve
            f.ingest_line("n1", 0, l.as_bytes());
        }
        let alerts: Vec<_> = std::iter::from_fn(|| f.next_alert()).filter_map(Notice::into_loop).collect();
        assert_eq!(alerts.iter().map(|a| a.status).collect::<Vec<_>>(), [Status::Firing, Status::Resolved]);
        assert_eq!(alerts[1].pairs_total, 3);
    }

    #[test]
    fn resolves_after_quiet_by_host_clock_when_the_source_is_silent() {
        let lines = loop_lines(3, 5, "last sequence mismatch");
        let mut f = Filter::new(Config::default());
        for l in &lines {
            f.ingest_line("n1", host_time(l), l.as_bytes());
        }
        assert_eq!(f.next_alert().and_then(Notice::into_loop).map(|a| a.status), Some(Status::Firing));
        let last = host_time(lines.last().unwrap());
        f.advance(last + 599 * SECOND);
        assert!(f.next_alert().is_none());
        f.advance(last + 600 * SECOND);
        let a = f.next_alert().and_then(Notice::into_loop).expect("resolved");
        assert_eq!((a.status, a.severity), (Status::Resolved, Severity::Warning));
        // and a new episode starts from scratch
        let again: Vec<String> =
            loop_lines(3, 5, "last sequence mismatch").iter().map(|l| l.replace("14:17:", "15:17:")).collect();
        for l in &again {
            f.ingest_line("n1", host_time(l), l.as_bytes());
        }
        let a = f.next_alert().and_then(Notice::into_loop).expect("fires again");
        assert_eq!((a.status, a.pairs_total), (Status::Firing, 3));
    }

    #[test]
    fn configured_versions_fill_the_gap() {
        let lines = on("nats/nats-0", &loop_lines(3, 5, "last sequence mismatch"));
        let cfg = Config { server_version: Some("2.10.26".into()), ..Config::default() };
        assert_eq!(run(cfg, &refs(&lines))[0].known_leak, Some(false));
        let mut cfg = Config { server_version: Some("2.10.26".into()), ..Config::default() };
        cfg.server_versions.insert("nats/nats-0".into(), "2.10.22".into());
        let a = &run(cfg, &refs(&lines))[0];
        assert_eq!((a.known_leak, a.server_version.as_deref()), (Some(true), Some("2.10.22")));
    }

    #[test]
    fn memory_is_bounded_by_max_keys() {
        let cfg = Config { max_keys: 1000, ..Config::default() };
        let mut f = Filter::new(cfg);
        for i in 0..50_000 {
            let l = format!("[1] 2026/11/26 14:17:08.000000 [WRN] Error applying entries to '$G > S{i}': last sequence mismatch");
            f.ingest_line("n1", 0, l.as_bytes());
        }
        assert_eq!(f.tracker().tracked_streams(), 1000);
        assert_eq!(f.tracker().stats.evicted_streams, 49_000);
    }

    #[test]
    fn stream_counts_match_the_alerts_of_the_s05_loop_and_go_with_eviction() {
        let scenario = "s05_pair_reset_loop_catchup_no_leader_v2.10.25";
        let mut all: Vec<(String, String)> = ["n1", "n2", "n3"].iter().flat_map(|n| corpus(scenario, n)).collect();
        all.sort_by_key(|(_, l)| host_time(l));
        let mut f = Filter::new(Config::default());
        let mut last = std::collections::BTreeMap::new();
        for (src, l) in &all {
            f.ingest_line(src, host_time(l), l.as_bytes());
            for a in std::iter::from_fn(|| f.next_alert()).filter_map(Notice::into_loop) {
                last.insert(a.source.clone(), a);
            }
        }
        let counts = f.tracker().stream_counts();
        for node in ["n1", "n2"] {
            let c = counts.iter().find(|c| c.source == node && c.stream == "ORDERS").unwrap();
            // The loop's 13 pairs; the last alert (the critical one, at the
            // 10th) counted the episode up to then.
            assert_eq!((c.account.as_str(), c.server_name.as_deref()), ("$G", Some(node)));
            assert_eq!((c.pairs_total, c.leaking_resets_total, c.firing), (13, 13, Some(Severity::Critical)));
            assert!(c.pairs_total >= last[node].pairs_total && last[node].pairs_total == 10);
        }
        // n3 never paired: whatever it tracks counts nothing and fires nothing.
        assert!(counts.iter().filter(|c| c.source == "n3").all(|c| (c.pairs_total, c.firing) == (0, None)));

        // Streams past max_keys go, and their counts with them.
        let mut f = Filter::new(Config { max_keys: 3, ..Config::default() });
        for i in 0..10 {
            let a = format!("[1] 2026/11/26 14:17:08.000000 [WRN] Error applying entries to '$G > S{i}': stream store EOF");
            f.ingest_line("n1", 0, a.as_bytes());
            f.ingest_line(
                "n1",
                0,
                a.replace(
                    &format!("Error applying entries to '$G > S{i}': stream store EOF"),
                    &format!("Resetting stream cluster state for '$G > S{i}'"),
                )
                .as_bytes(),
            );
        }
        let names: Vec<_> = f.tracker().stream_counts().into_iter().map(|c| (c.stream, c.pairs_total)).collect();
        assert_eq!(names, [("S7".to_string(), 1), ("S8".into(), 1), ("S9".into(), 1)]);
    }

    #[test]
    fn many_pairs_per_second_stay_bounded_and_counted() {
        let mut f = Filter::new(Config::default());
        let base = 1_800_000_000 * SECOND;
        for i in 0..5000i64 {
            let t = base + i * 20_000; // 50 pairs per second
            let ts = clock::rfc3339(t, 0);
            let ts = format!("{} {}", ts[..10].replace('-', "/"), &ts[11..26]);
            f.ingest_line("n1", t, format!("[1] {ts} [WRN] Error applying entries to 'A > S': stream store EOF").as_bytes());
            f.ingest_line("n1", t, format!("[1] {ts} [WRN] Resetting stream cluster state for 'A > S'").as_bytes());
        }
        let alerts: Vec<_> = std::iter::from_fn(|| f.next_alert()).filter_map(Notice::into_loop).collect();
        let last = alerts.last().unwrap();
        assert_eq!(last.severity, Severity::Critical);
        // re-emitted 60 s after turning critical; every pair so far is inside the window
        assert_eq!(last.pairs_total, 3010);
        assert_eq!(last.pairs_in_window, 3010);
    }

    fn corpus(scenario: &str, node: &str) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(format!("{CORPUS}/{scenario}/{node}.log")).unwrap();
        text.lines().map(|l| (node.to_string(), l.to_string())).collect()
    }

    fn replay(scenario: &str) -> Vec<Alert> {
        let mut all: Vec<(String, String)> = ["n1", "n2", "n3"].iter().flat_map(|n| corpus(scenario, n)).collect();
        all.sort_by_key(|(_, l)| host_time(l));
        let mut f = Filter::new(Config::default());
        let mut out = Vec::new();
        let mut now = 0;
        for (src, l) in &all {
            now = host_time(l).max(now);
            f.ingest_line(src, now, l.as_bytes());
            out.extend(std::iter::from_fn(|| f.next_alert()).filter_map(Notice::into_loop));
        }
        out
    }

    #[test]
    fn corpus_loop_fires_critical_on_n1_and_n2() {
        let alerts = replay("s05_pair_reset_loop_catchup_no_leader_v2.10.25");
        for node in ["n1", "n2"] {
            let mine: Vec<_> = alerts.iter().filter(|a| a.source == node).collect();
            let last = mine.last().unwrap_or_else(|| panic!("no alert for {node}"));
            assert_eq!((last.account.as_str(), last.stream.as_str()), ("$G", "ORDERS"));
            assert_eq!(last.severity, Severity::Critical);
            assert_eq!(last.status, Status::Firing, "end of input is not the passing of time");
            assert_eq!(last.known_leak, Some(true));
            assert_eq!(last.server_version.as_deref(), Some("2.10.25"));
            assert_eq!(last.server_name.as_deref(), Some(node));
            // warning at the 3rd pair, critical at the 10th; the 11th-13th came
            // within the repeat interval
            let totals: Vec<_> = mine.iter().map(|a| (a.severity, a.pairs_total)).collect();
            assert_eq!(totals, [(Severity::Warning, 3), (Severity::Critical, 10)]);
            assert_eq!(last.leaking_resets_total, 10);
            assert!(last.last_cause.as_deref().unwrap().starts_with("catchup aborted, no leader"));
        }
        assert!(alerts.iter().all(|a| a.source != "n3"));
    }

    #[test]
    fn corpus_healthy_and_single_resets_stay_quiet() {
        for s in [
            "s01_healthy_rolling_restart_v2.10.25",
            "s03_kill9_heavy_publish_v2.10.25",
            "s02_follower_mismatch_single_reset_v2.10.25",
            "s02_follower_mismatch_single_reset_v2.10.26_control",
        ] {
            assert!(replay(s).is_empty(), "{s}");
        }
    }

    /// What `filter_one` may change: a record the gate passed must leave all of it as it was.
    fn state(f: &Filter) -> (crate::detect::tracker::Stats, usize, Micros, usize) {
        let t = f.tracker();
        (t.stats.clone(), t.pending_alerts(), t.next_host_due(), f.unknown_layouts().all().len())
    }

    /// One record through the gate and `filter_one` at host second `sec`:
    /// whether the gate passed it (and then `filter_one` passed it on
    /// unchanged and changed nothing) and whether it carried an alert.
    fn gate_and_filter(f: &mut Filter, gate: &mut PassGate, src: &str, sec: u32, rec: &str, out: &mut Vec<u8>) -> (bool, bool) {
        // As the Fluent Bit shell keeps it: the filter's answer, and what the
        // gate learned of earlier records' wrappers.
        gate.renew(f.pass_gate());
        let before = state(f);
        let alert = f.filter_one(src, sec as i64 * SECOND + 999_999, rec.as_bytes(), out);
        let passed = gate.passes(sec, rec.as_bytes());
        if passed {
            assert!(!alert, "{rec}");
            assert_eq!(before, state(f), "{rec}");
        }
        (passed, alert)
    }

    /// The record layouts the gate knows, around a corpus line `l` whose
    /// host time is `t`: (what, record). The wrappers are the ones
    /// docs/design/nats-server.md lists, built as the real-host corpora are
    /// (host/src/bin/resetwatch-bench/fluent_bit.rs).
    fn gate_layouts(l: &str, t: Micros) -> Vec<(&'static str, String)> {
        let z = clock::rfc3339(t, 0);
        let json = |s: &str| serde_json::to_string(s).unwrap();
        let syslog = format!("{} {} {}", &SYSLOG_MONTHS[..3], &z[8..10], &z[11..19]);
        vec![
            ("tail", format!("{{\"log\":{}}}", json(l))),
            ("docker json-file", format!("{{\"log\":{},\"stream\":\"stderr\",\"time\":\"{z}\"}}", json(l))),
            (
                "kubernetes",
                format!(
                    "{{\"time\":\"{z}\",\"stream\":\"stderr\",\"_p\":\"F\",\"log\":{},\"kubernetes\":{{\"pod_name\":\"nats-0\",\"namespace_name\":\"nats\",\"host\":\"node-1\"}}}}",
                    json(l)
                ),
            ),
            ("CRI line", format!("{{\"log\":{}}}", json(&format!("{z} stderr F {l}")))),
            ("rsyslog", format!("{{\"log\":{}}}", json(&format!("{} n1 nats-server[8368]: {l}", z.replace('Z', "+00:00"))))),
            ("journalctl -o short-iso", format!("{{\"log\":{}}}", json(&format!("{}+0000 n1 nats-server[8368]: {l}", &z[..19])))),
            ("journalctl -o short", format!("{{\"log\":{}}}", json(&format!("{syslog} n1 nats-b[8368]: {l}")))),
            ("journalctl, December", format!("{{\"log\":{}}}", json(&format!("Dec  1 {} n1 nats-server[8368]: {l}", &z[11..19])))),
            ("journalctl, September", format!("{{\"log\":{}}}", json(&format!("Sep 30 {} n1 nats-server[8368]: {l}", &z[11..19])))),
        ]
    }
    const SYSLOG_MONTHS: &str = "Nov";

    #[test]
    fn the_pass_gate_only_passes_what_filter_one_passes_untouched() {
        // Every corpus line in every layout, in time order, through a filter
        // that alerts early (so the gate is shut while alerts wait); a fuel
        // benchmark relies on the gate, so it must also open for each.
        let mut all: Vec<(String, String)> =
            ["n1", "n2", "n3"].iter().flat_map(|n| corpus("s05_pair_reset_loop_catchup_no_leader_v2.10.25", n)).collect();
        all.sort_by_key(|(_, l)| host_time(l));
        let names: Vec<_> = gate_layouts("", 0).into_iter().map(|(what, _)| what).collect();
        for (k, what) in names.iter().enumerate() {
            let mut f = Filter::new(Config { warning_pairs: 1, critical_pairs: 2, ..Config::default() });
            let mut out = Vec::new();
            let (mut passed, mut shut, mut alerts) = (0, 0, 0);
            let mut gate = PassGate::SHUT;
            for (i, (src, l)) in all.iter().enumerate() {
                let rec = gate_layouts(l, host_time(l)).swap_remove(k).1;
                // hours of host time between records, so that resolutions fall due
                let sec = 1_800_000_000 + i as u32 * 3000;
                let next = f.pass_gate();
                shut += (next == PassGate::SHUT || sec >= next.before_sec) as usize;
                let (p, a) = gate_and_filter(&mut f, &mut gate, src, sec, &rec, &mut out);
                passed += p as usize;
                alerts += a as usize;
            }
            assert!(
                passed > all.len() / 3 && shut > 0 && alerts > 0,
                "{what}: {passed} passed, {shut} shut, {alerts} alerts of {}",
                all.len()
            );
        }
        // An alert waiting for a record to carry it shuts the gate.
        let mut waiting = Filter::new(Config { warning_pairs: 1, ..Config::default() });
        for l in loop_lines(1, 5, "last sequence mismatch") {
            waiting.ingest_line("n1", 0, l.as_bytes());
        }
        assert!(waiting.tracker().pending_alerts() > 0);
        assert_eq!(waiting.pass_gate(), PassGate::SHUT);
        // Alertmanager mode only reshapes: always the whole path.
        let am = Filter::new(Config { output: crate::config::Output::Alertmanager, ..Config::default() });
        assert_eq!(am.pass_gate(), PassGate::SHUT);
        // a first key other than three bytes long: no 8-byte prefix
        let msg = Filter::new(Config { message_keys: vec!["message".into()], ..Config::default() });
        assert_eq!(msg.pass_gate(), PassGate::SHUT);
    }

    #[test]
    fn the_cri_records_line_is_found_where_the_member_scan_finds_it() {
        // Fluent Bit's CRI record with times of every length up to 35 bytes
        // (containerd's nanoseconds and a zone), plain and with a `"`, a
        // `\` or an escape at each of their bytes: the CRI path
        // (`cri_message_start`, its time memo kept from record to record)
        // answers only where the member scan answers the same, and answers
        // the plain ones whose time ends within 32 bytes.
        let full = "2025-06-11T09:45:46.671167074+01:00";
        let l = serde_json::to_string("[8368] 2026/11/26 14:17:03.570812 [INF] Creating JetStream metadata controller").unwrap();
        let mut gate = Filter::new(Config::default()).pass_gate();
        let (mut fast, mut cases) = (0, 0);
        for len in 0..=full.len() {
            let plain = &full[..len];
            let mut times = vec![(plain.to_string(), true)];
            for i in 0..len {
                for x in ["\"", "\\", "\\\"", "x"] {
                    times.push((format!("{}{x}{}", &plain[..i], &plain[i + 1..]), x == "x"));
                }
            }
            for (time, clean) in times {
                for (stream, p) in [("stderr", "F"), ("stdout", "P"), ("stdin", "F"), ("stderr", "X")] {
                    let rec = format!(
                        "{{\"time\":\"{time}\",\"stream\":\"{stream}\",\"_p\":\"{p}\",\"log\":{l},\"kubernetes\":{{\"pod_name\":\"nats-0\"}}}}"
                    );
                    let (got, want) = (gate.cri_message_start(rec.as_bytes()), gate.message_after_members(rec.as_bytes()));
                    if got.is_some() {
                        assert_eq!(got, want, "{rec}");
                        fast += 1;
                    }
                    let usual = clean && len <= 31 && stream != "stdin" && p != "X";
                    assert_eq!(got.is_some(), usual, "{rec}");
                    cases += 1;
                }
            }
        }
        assert!(fast > 1000 && gate.time_words != [0; 2], "{fast} of {cases}");
        // Shorter than 128 bytes: left to the member scan, which reads it.
        let short = "{\"time\":\"t\",\"stream\":\"stderr\",\"_p\":\"F\",\"log\":\"[1] x\"}";
        assert_eq!(gate.cri_message_start(short.as_bytes()), None);
        assert_eq!(gate.message_after_members(short.as_bytes()), Some(short.find("[1]").unwrap()));
    }

    #[test]
    fn the_pass_gate_leaves_unusual_records_to_the_filter() {
        // s01 n1.log's ordinary line, which the gate passes in every layout
        // above; around it, records the gate does not read (each may be
        // read differently by the full path, or is not worth reading fast).
        let l = serde_json::to_string("[8368] 2026/11/26 14:17:03.570812 [INF] Creating JetStream metadata controller").unwrap();
        let shut = [
            ("white space between members", format!("{{\"time\":\"t\", \"log\":{l}}}")),
            ("white space after the brace", format!("{{ \"time\":\"t\",\"log\":{l}}}")),
            ("an escaped key (it may spell `log`)", format!("{{\"l\\u006fg\":\"x\",\"log\":{l}}}")),
            ("a key as long as another message key", format!("{{\"message\":\"x\",\"log\":{l}}}")),
            ("MESSAGE before log", format!("{{\"MESSAGE\":\"Resetting stream cluster state for 'A > B'\",\"log\":{l}}}")),
            ("a number before log", format!("{{\"n\":1,\"log\":{l}}}")),
            ("an object before log", format!("{{\"k\":{{\"a\":\"b\"}},\"log\":{l}}}")),
            ("log as a number, then log", format!("{{\"log\":1,\"log\":{l}}}")),
            ("five members before log", format!("{{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\",\"log\":{l}}}")),
            ("log beyond the first 512 bytes", format!("{{\"a\":\"{}\",\"log\":{l}}}", "x".repeat(600))),
            ("no log at all", format!("{{\"a\":\"1\",\"msg\":{l}}}")),
            ("a wrapper whose time is no date", format!("{{\"log\":{}}}", serde_json::to_string(&format!("2026-13-01T00:00:00Z n1 nats-server[1]: {}", "[1] 2026/11/26 14:17:03.570812 [INF] Resetting stream cluster state for 'A > B'")).unwrap())),
            ("a syslog tag with no colon", format!("{{\"log\":{}}}", serde_json::to_string("2026-11-26T14:17:03Z n1 nats-server [1] 2026/11/26 14:17:03.570812 [INF] Creating JetStream metadata controller").unwrap())),
        ];
        let mut f = Filter::new(Config::default());
        let mut out = Vec::new();
        // One gate for all: what it learns of one record's wrapper must not
        // open it for the next.
        let mut gate = PassGate::SHUT;
        for (what, rec) in &shut {
            assert!(!gate_and_filter(&mut f, &mut gate, "n1", 1_800_000_000, rec, &mut out).0, "{what}: {rec}");
        }
        // Another first key: the CRI record's `log` is then a later key's,
        // and the filter reads it (an event line here).
        let mut msg_first = Filter::new(Config { message_keys: vec!["msg".into(), "log".into()], ..Config::default() });
        let reset =
            serde_json::to_string("[8368] 2026/11/26 14:17:08.683482 [WRN] Resetting stream cluster state for '$G > ORDERS'")
                .unwrap();
        let cri = format!(
            "{{\"time\":\"2026-11-26T14:17:08.683482Z\",\"stream\":\"stderr\",\"_p\":\"F\",\"log\":{reset},\"msg\":{l}}}"
        );
        let mut fresh = PassGate::SHUT;
        assert!(!gate_and_filter(&mut msg_first, &mut fresh, "n1", 1_800_000_000, &cri, &mut out).0, "{cri}");
        assert_eq!(msg_first.tracker().stats.events, 1, "{cri}");
        // and what it does read
        let pass = [
            (
                "the CRI record with `stdout` and `P`",
                format!("{{\"time\":\"2026-11-26T14:17:08+01:00\",\"stream\":\"stdout\",\"_p\":\"P\",\"log\":{l}}}"),
            ),
            ("a CRI-like record with other values", format!("{{\"time\":\"x\",\"stream\":\"stdin\",\"_p\":\"Q\",\"log\":{l}}}")),
            ("a value with escapes before log", format!("{{\"a\":\"say \\\"hi\\\" \\u00e9\",\"log\":{l}}}")),
            ("four members before log", format!("{{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"log\":{l}}}")),
        ];
        for (what, rec) in &pass {
            assert!(gate_and_filter(&mut f, &mut gate, "n1", 1_800_000_000, rec, &mut out).0, "{what}: {rec}");
        }
    }

    /// s05 n1.log's loop (lines 52-53 and on), each line wrapped by `wrap`,
    /// through `ingest_record` as tail records one second apart.
    fn s05_wrapped(wrap: impl Fn(&str) -> String) -> Vec<Alert> {
        let (_, lines): (Vec<_>, Vec<_>) = corpus("s05_pair_reset_loop_catchup_no_leader_v2.10.25", "n1").into_iter().unzip();
        let mut f = Filter::new(Config::default());
        let mut alerts = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let rec = format!("{{\"log\":{}}}", serde_json::to_string(&wrap(l)).unwrap());
            f.ingest_record("syslog", 1_795_702_600 * SECOND + i as i64 * SECOND, rec.as_bytes());
            alerts.extend(std::iter::from_fn(|| f.next_alert()).filter_map(Notice::into_loop));
        }
        alerts
    }

    #[test]
    fn the_s05_loop_fires_in_every_layout_with_the_wrappers_host() {
        // (what, wrapper) around s05 n1.log's verbatim lines
        type Wrap = Box<dyn Fn(&str) -> String>;
        let layouts: [(&str, Wrap); 5] = [
            ("rsyslog's file format", Box::new(|l| format!("2026-11-26T14:17:09.000001+00:00 n1 nats-server[8368]: {l}"))),
            ("journalctl -o short-iso", Box::new(|l| format!("2026-11-26T14:17:09+0000 n1 nats-server[8368]: {l}"))),
            ("journalctl -o short-precise", Box::new(|l| format!("Nov 26 14:17:09.000001 n1 nats-server[8368]: {l}"))),
            ("stern", Box::new(|l| format!("n1 nats {l}"))),
            ("kubectl logs --prefix", Box::new(|l| format!("[pod/n1/nats] {l}"))),
        ];
        for (what, wrap) in layouts {
            let alerts = s05_wrapped(wrap);
            let last = alerts.last().unwrap_or_else(|| panic!("{what}: no alert"));
            assert_eq!((last.source.as_str(), last.severity, last.pairs_total), ("n1", Severity::Critical, 10), "{what}");
            assert_eq!(clock::rfc3339(last.first_seen, 0), "2026-11-26T14:17:08.682791Z", "{what}: nats-server's own time");
        }
        // RFC 5424 from a relay: nats-server's syslog output has no prefix of its own
        let alerts = s05_wrapped(|l| {
            let l = line::split(l.as_bytes());
            let t = clock::rfc3339(l.time(0, 0).unwrap_or(0), 0);
            format!("<28>1 {t} n1 nats-server 8368 - - {}", String::from_utf8_lossy(l.message))
        });
        assert_eq!(alerts.last().map(|a| (a.source.as_str(), a.severity)), Some(("n1", Severity::Critical)));
    }

    #[test]
    fn event_lines_behind_an_unknown_prefix_are_read_counted_and_reported_once() {
        let mut f = Filter::new(Config::default());
        let mut out = Vec::new();
        let (_, lines): (Vec<_>, Vec<_>) = corpus("s05_pair_reset_loop_catchup_no_leader_v2.10.25", "n1").into_iter().unzip();
        let mut events = 0;
        for (i, l) in lines.iter().enumerate() {
            // `docker compose logs` names the service before the line
            let rec = format!("{{\"log\":{}}}", serde_json::to_string(&format!("n1-1  | {l}")).unwrap());
            let before = f.tracker().stats.events;
            f.filter_one("compose.n1", 1_795_702_600 * SECOND + i as i64 * SECOND, rec.as_bytes(), &mut out);
            events += (f.tracker().stats.events > before) as usize;
            if i == 60 {
                let new = f.unknown_layouts_mut().take_new();
                assert_eq!(new.len(), 1, "reported once, at its first line");
                assert_eq!(new[0].source, "compose.n1");
                assert!(
                    new[0].example.starts_with("n1-1  | [8368] 2026/11/26 14:17:08.682791 [WRN] Error applying"),
                    "{}",
                    new[0].example
                );
                assert!(f.unknown_layouts_mut().take_new().is_empty());
            }
        }
        let all = f.unknown_layouts().all();
        assert_eq!(all.len(), 1);
        // every apply error and reset of the loop; banners behind the prefix are not searched for
        let loop_lines =
            lines.iter().filter(|l| l.contains("Error applying entries") || l.contains("Resetting stream cluster state")).count();
        assert_eq!((all[0].lines as usize, events), (loop_lines, loop_lines));
        let alerts: Vec<_> = std::iter::from_fn(|| f.next_alert()).filter_map(Notice::into_loop).collect();
        assert!(alerts.is_empty(), "filter_one hands alerts to records, none left waiting");
        assert!(f.tracker().stats.pairs >= 10);
    }

    #[test]
    fn an_unknown_prefix_example_is_one_printable_line() {
        // (the line as a record holds it, the example reported)
        let cases = [
            (
                "n1-1  | [8368] 2026/11/26 14:17:08.682791 [WRN] Error applying entries to '$G > ORDERS': last sequence mismatch\nmore",
                "n1-1  | [8368] 2026/11/26 14:17:08.682791 [WRN] Error applying entries to '$G > ORDERS': last sequence mismatch\\nmore",
            ),
            (
                "\u{1b}[33mn1\u{1b}[0m | [8368] 2026/11/26 14:17:08.690061 [WRN] Resetting stream cluster state for '$G > ORDERS'",
                "\\u{1b}[33mn1\\u{1b}[0m | [8368] 2026/11/26 14:17:08.690061 [WRN] Resetting stream cluster state for '$G > ORDERS'",
            ),
        ];
        for (i, (line, example)) in cases.iter().enumerate() {
            let mut f = Filter::new(Config::default());
            let rec = format!("{{\"log\":{}}}", serde_json::to_string(line).unwrap());
            f.filter_one("compose.n1", 1_795_702_600 * SECOND, rec.as_bytes(), &mut Vec::new());
            let new = f.unknown_layouts_mut().take_new();
            assert_eq!(new.len(), 1, "case {i}");
            assert_eq!(new[0].example, *example, "case {i}");
        }
    }

    #[test]
    fn lines_with_no_time_differ_by_their_nanoseconds_and_records_lend_their_time() {
        // `logtime: false` lines (docs/design/nats-server.md) as tail stamps them in one
        // batch: the same microsecond, different nanoseconds
        let mut f = Filter::new(Config::default());
        let mut out = Vec::new();
        let apply = r#"{"log":"[37] [WRN] Error applying entries to '$G > ORDERS': last sequence mismatch"}"#;
        let reset = r#"{"log":"[37] [WRN] Resetting stream cluster state for '$G > ORDERS'"}"#;
        for n in 0..3u32 {
            f.filter_one_ns("nats.n1", 1_795_702_628, 682_791_000 + 2 * n, apply.as_bytes(), &mut out);
            f.filter_one_ns("nats.n1", 1_795_702_628, 682_791_001 + 2 * n, reset.as_bytes(), &mut out);
        }
        assert_eq!((f.tracker().stats.duplicates, f.tracker().stats.pairs), (0, 3));
        // docker json-file: the record's `time` is the line's
        let mut f = Filter::new(Config::default());
        let rec = r#"{"log":"[37] [WRN] Resetting stream cluster state for '$G > ORDERS'\n","stream":"stderr","time":"2026-11-26T14:17:08.683482123Z"}"#;
        f.record_pairs(true);
        let apply = r#"{"log":"[37] [WRN] Error applying entries to '$G > ORDERS': last sequence mismatch\n","stream":"stderr","time":"2026-11-26T14:17:08.682791000Z"}"#;
        f.filter_one("docker", 0, apply.as_bytes(), &mut out);
        f.filter_one("docker", 0, rec.as_bytes(), &mut out);
        let p = f.next_pair().expect("a pair at the records' times");
        assert_eq!(clock::rfc3339(p.time, 0), "2026-11-26T14:17:08.683482Z");
    }

    #[test]
    fn fluent_bit_records_carry_one_alert_each() {
        let mut f = Filter::new(Config { warning_pairs: 1, critical_pairs: 1, ..Config::default() });
        let mut out = Vec::new();
        let lines = loop_lines(1, 5, "last sequence mismatch");
        let rec = |l: &str| format!("{{\"log\":{}}}", serde_json::to_string(l).unwrap());
        let r0 = rec(&lines[0]);
        assert!(!f.filter_one("nats.n1", 0, r0.as_bytes(), &mut out), "the cause alone passes through");
        let r1 = rec(&lines[1]);
        assert!(f.filter_one("nats.n1", 0, r1.as_bytes(), &mut out));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["log"], lines[1]);
        assert_eq!(v["resetwatch"]["source"], "nats.n1");
        assert_eq!(v["resetwatch"]["severity"], "critical");
        // an alert copy routed back is left alone
        assert!(!f.filter_one("alerts", 0, &out.clone(), &mut out));
    }
}
