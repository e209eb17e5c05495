//! The NATS messages resetwatch understands, typed.
//!
//! Texts are quoted from nats-server's `server/jetstream_cluster.go` (see
//! docs/design/nats-server.md#log-lines-and-their-levels for the versions each appears in). Classification is by
//! message head, whatever the level, because the level of the same line
//! changed between releases (WRN in 2.9-2.12, ERR in 2.14).

use crate::text::word;

/// A stream's identity as NATS prints it: `'<account> > <stream>'`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamRef {
    pub account: String,
    pub stream: String,
}

/// The longest account or stream name resetwatch keeps; longer ones are not
/// names nats-server would print, and would let one line pin memory.
pub const MAX_NAME: usize = 256;

/// Why a stream's apply loop failed, and what nats-server does about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// The error text after `': `.
    pub text: String,
    /// nats-server treats it as a cluster reset error and resets the stream.
    pub resets: bool,
    /// A reset for this cause re-reserves `max_bytes` on affected versions:
    /// every reset cause but `first sequence mismatch`, which deletes the
    /// stream before recreating it.
    pub leaks: bool,
}

/// The reset causes of `isClusterResetErr` (2.9-2.14).
const RESET_CAUSES: [&str; 6] = [
    "last sequence mismatch",
    "first sequence mismatch",
    "stream store EOF",
    "catchup aborted, no leader",
    "catchup failed, too many retries",
    "raft: already leader",
];

impl Cause {
    /// Classifies the text after `Error applying entries to '...': `.
    pub fn from_text(text: &str) -> Cause {
        CauseRef::from_text(text).to_owned()
    }

    /// The cause behind `Detected bad stream state, resetting`.
    pub fn bad_state() -> Cause {
        CauseRef::BAD_STATE.to_owned()
    }
}

/// A [`Cause`] borrowed from its line: the detector copies the text only
/// when it keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CauseRef<'a> {
    pub text: &'a str,
    pub resets: bool,
    pub leaks: bool,
}

impl<'a> CauseRef<'a> {
    /// The cause behind `Detected bad stream state, resetting`.
    pub const BAD_STATE: CauseRef<'static> = CauseRef { text: "bad stream state", resets: true, leaks: true };

    /// [`Cause::from_text`], borrowed.
    pub fn from_text(text: &'a str) -> CauseRef<'a> {
        let text = text.trim_end();
        // The first byte before the compare: each compare is a call in wasm.
        let first = text.as_bytes().first();
        let resets = RESET_CAUSES.iter().any(|c| c.as_bytes().first() == first && text.starts_with(c));
        let leaks = resets && !text.starts_with("first sequence mismatch");
        CauseRef { text, resets, leaks }
    }

    /// The owned cause.
    pub fn to_owned(self) -> Cause {
        Cause { text: self.text.to_string(), resets: self.resets, leaks: self.leaks }
    }
}

/// A [`StreamRef`] borrowed from its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Names<'a> {
    pub account: &'a str,
    pub stream: &'a str,
}

impl Names<'_> {
    /// The owned stream reference.
    pub fn to_owned(self) -> StreamRef {
        StreamRef { account: self.account.to_string(), stream: self.stream.to_string() }
    }
}

impl StreamRef {
    /// The names, borrowed.
    pub fn names(&self) -> Names<'_> {
        Names { account: &self.account, stream: &self.stream }
    }
}

/// What a banner line tells about the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Banner {
    Version(String),
    Name(String),
    Id(String),
    /// `Max Storage:` in bytes, as the banner rounds it.
    MaxStorage(u64),
}

/// A NATS log message that matters to resetwatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `Error applying entries to '<acc> > <stream>': <cause>` (and main's
    /// `Error applying stream entries ...`).
    ApplyError(StreamRef, Cause),
    /// `Detected bad stream state, resetting '<acc> > <stream>'`: a reset cause.
    BadState(StreamRef),
    /// `Resetting stream cluster state for '<acc> > <stream>'`.
    Reset(StreamRef),
    /// `Will not reset stream[ '<acc> > <stream>'], <reason>`: the reset was
    /// declined; `server resources exceeded` is the disk-full end of a loop.
    /// 2.9-2.11.5 print no stream name.
    ResetDeclined(Option<StreamRef>, String),
    /// `[sS]tream '<acc> > <stream>' errored, account resources exceeded`.
    AccountResourcesExceeded(StreamRef),
    /// `Error applying consumer entries to '<acc> > <stream>'`: a consumer's
    /// trouble, not part of a stream reset loop.
    ConsumerApplyError(StreamRef, String),
    /// A startup banner line.
    Banner(Banner),
}

/// An [`Event`] borrowed from its message, as the detector reads it: a
/// name or text is copied only when the detector keeps it (an allocation
/// costs some hundreds of wasm instructions, and an event line made up to
/// ten).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventRef<'a> {
    ApplyError(Names<'a>, CauseRef<'a>),
    BadState(Names<'a>),
    Reset(Names<'a>),
    ResetDeclined(Option<Names<'a>>, &'a str),
    AccountResourcesExceeded(Names<'a>),
    ConsumerApplyError(Names<'a>, &'a str),
    /// Rare (a server start): owned.
    Banner(Banner),
}

impl EventRef<'_> {
    /// The owned event.
    pub fn into_event(self) -> Event {
        match self {
            EventRef::ApplyError(n, c) => Event::ApplyError(n.to_owned(), c.to_owned()),
            EventRef::BadState(n) => Event::BadState(n.to_owned()),
            EventRef::Reset(n) => Event::Reset(n.to_owned()),
            EventRef::ResetDeclined(n, r) => Event::ResetDeclined(n.map(Names::to_owned), r.to_string()),
            EventRef::AccountResourcesExceeded(n) => Event::AccountResourcesExceeded(n.to_owned()),
            EventRef::ConsumerApplyError(n, r) => Event::ConsumerApplyError(n.to_owned(), r.to_string()),
            EventRef::Banner(b) => Event::Banner(b),
        }
    }
}

/// Message heads, checked before anything is decoded or allocated.
const HEADS: [(&[u8], Kind); 12] = [
    (b"Error applying entries to '", Kind::Apply),
    (b"Error applying stream entries to '", Kind::Apply),
    (b"Error applying consumer entries to '", Kind::ConsumerApply),
    (b"Resetting stream cluster state for '", Kind::Reset),
    (b"Detected bad stream state, resetting '", Kind::BadState),
    (b"Will not reset stream", Kind::Declined),
    (b"stream '", Kind::AccountLimit),
    (b"Stream '", Kind::AccountLimit),
    (b"  Max Storage:", Kind::MaxStorage),
    (b"  Version:", Kind::Banner),
    (b"  Name:", Kind::Banner),
    (b"  ID:", Kind::Banner),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Apply,
    ConsumerApply,
    Reset,
    BadState,
    Declined,
    AccountLimit,
    Banner,
    MaxStorage,
}

/// The heads a message starting with `first` could begin with, so that a
/// line is compared with the one or two it could be, not all of them (each
/// compare is a call in wasm).
#[inline]
fn heads_for(first: Option<&u8>) -> &'static [(&'static [u8], Kind)] {
    match first {
        Some(b'E') => &HEADS[0..3],
        Some(b'R') => &HEADS[3..4],
        Some(b'D') => &HEADS[4..5],
        Some(b'W') => &HEADS[5..6],
        Some(b's' | b'S') => &HEADS[6..8],
        Some(b' ') => &HEADS[8..],
        _ => &[],
    }
}

/// True when a message may be one resetwatch understands. Cheap: it looks
/// at a few bytes, and works on the message still escaped inside JSON.
#[inline]
pub fn may_matter(message: &[u8]) -> bool {
    heads_for(message.first()).iter().any(|(h, _)| message.starts_with(h))
}

/// Classifies a decoded message (the fuzz checks' and the tests' form; the
/// filter reads [`classify_ref`]).
#[cfg_attr(not(any(test, fuzzing)), allow(dead_code))]
pub fn classify(message: &str) -> Option<Event> {
    classify_ref(message).map(EventRef::into_event)
}

/// [`classify`], borrowed from the message.
pub fn classify_ref(message: &str) -> Option<EventRef<'_>> {
    let m = message.as_bytes();
    let &(head, kind) = heads_for(m.first()).iter().find(|(h, _)| m.starts_with(h))?;
    let rest = &message[head.len()..];
    match kind {
        Kind::Apply => {
            let (names, cause) = split_once_3(rest, b"': ")?;
            Some(EventRef::ApplyError(stream_names(names)?, CauseRef::from_text(cause)))
        }
        Kind::ConsumerApply => {
            let (names, cause) = split_once_3(rest, b"': ")?;
            Some(EventRef::ConsumerApplyError(stream_names(names)?, cause.trim_end()))
        }
        Kind::Reset => Some(EventRef::Reset(stream_names(quoted_to_end(rest)?)?)),
        Kind::BadState => Some(EventRef::BadState(stream_names(quoted_to_end(rest)?)?)),
        Kind::Declined => {
            // `Will not reset stream, server resources exceeded` (<= 2.11.5) or
            // `Will not reset stream '<acc> > <stream>', <reason>` (2.11.6+).
            if let Some(reason) = rest.strip_prefix(", ") {
                return Some(EventRef::ResetDeclined(None, reason.trim_end()));
            }
            let (names, reason) = rsplit_once_3(rest.strip_prefix(" '")?, b"', ")?;
            Some(EventRef::ResetDeclined(Some(stream_names(names)?), reason.trim_end()))
        }
        Kind::AccountLimit => {
            let names = rest.strip_suffix_trimmed("' errored, account resources exceeded")?;
            Some(EventRef::AccountResourcesExceeded(stream_names(names)?))
        }
        Kind::MaxStorage => parse_size(rest.trim()).map(|n| EventRef::Banner(Banner::MaxStorage(n))),
        Kind::Banner => {
            // By bytes: `split_once`'s string searcher costs a thousand wasm
            // instructions to set up.
            let line = message.trim_start();
            let colon = line.bytes().position(|c| c == b':')?;
            let (key, value) = (line.get(..colon)?, line.get(colon + 1..)?);
            let value = value.trim();
            if value.is_empty() || value.len() > MAX_NAME {
                return None;
            }
            Some(EventRef::Banner(match key {
                "Version" => Banner::Version(value.to_string()),
                "Name" => Banner::Name(value.to_string()),
                "ID" => Banner::Id(value.to_string()),
                _ => return None,
            }))
        }
    }
}

trait StripTrimmed {
    fn strip_suffix_trimmed(&self, suffix: &str) -> Option<&str>;
}

impl StripTrimmed for str {
    fn strip_suffix_trimmed(&self, suffix: &str) -> Option<&str> {
        self.trim_end().strip_suffix(suffix)
    }
}

/// `s.split_once(pat)` for a 3-byte ASCII pattern: the general string
/// searcher costs over a thousand wasm instructions to set up, and a byte
/// loop some forty a byte; here a word of eight is searched for the
/// pattern's first byte at once.
fn split_once_3<'a>(s: &'a str, pat: &[u8; 3]) -> Option<(&'a str, &'a str)> {
    let b = s.as_bytes();
    let at = |j: usize| b.get(j) == Some(&pat[0]) && b.get(j + 1) == Some(&pat[1]) && b.get(j + 2) == Some(&pat[2]);
    let mut i = 0;
    let found = 'search: {
        while let Some(w) = word::at(b, i) {
            // Every byte equal to pat[0] is marked (and maybe some above
            // one): each mark is checked.
            let mut m = word::marks(w, pat[0], pat[0]);
            while m != 0 {
                let j = i + (m.trailing_zeros() / 8) as usize;
                if at(j) {
                    break 'search j;
                }
                m &= m - 1;
            }
            i += 8;
        }
        while i + 3 <= b.len() {
            if at(i) {
                break 'search i;
            }
            i += 1;
        }
        return None;
    };
    Some((s.get(..found)?, s.get(found + 3..)?))
}

/// `s.rsplit_once(pat)` for a 3-byte ASCII pattern: the last occurrence.
fn rsplit_once_3<'a>(s: &'a str, pat: &[u8; 3]) -> Option<(&'a str, &'a str)> {
    let b = s.as_bytes();
    let mut i = b.len().checked_sub(3)?;
    loop {
        if b[i] == pat[0] && b[i + 1] == pat[1] && b[i + 2] == pat[2] {
            return Some((s.get(..i)?, s.get(i + 3..)?));
        }
        i = i.checked_sub(1)?;
    }
}

/// `<names>'` at the end of a message (trailing blanks allowed).
fn quoted_to_end(rest: &str) -> Option<&str> {
    rest.trim_end().strip_suffix('\'')
}

/// The bytes a stream name cannot hold: ASCII whitespace, `.`, `*`, `>`
/// and `'`.
const NOT_IN_STREAM: [bool; 256] = {
    let mut t = [false; 256];
    let bad = [b'\t', b'\n', 0x0c, b'\r', b' ', b'.', b'*', b'>', b'\''];
    let mut i = 0;
    while i < bad.len() {
        t[bad[i] as usize] = true;
        i += 1;
    }
    t
};

/// Splits `<account> > <stream>` at the last ` > `: stream names cannot hold
/// `>` or spaces, account names can hold almost anything. The last byte no
/// stream name holds is then the space that ends that ` > `, or the names
/// are none; the scan back to it reads the stream name only, once.
pub fn stream_names(names: &str) -> Option<Names<'_>> {
    let b = names.as_bytes();
    let end = b.iter().rposition(|&c| NOT_IN_STREAM[c as usize])?;
    let gt = end.checked_sub(2)?;
    if b[gt] != b' ' || b[gt + 1] != b'>' || b[end] != b' ' {
        return None;
    }
    let (account, stream) = (names.get(..gt)?, names.get(end + 1..)?);
    if stream.is_empty() || stream.len() > MAX_NAME || account.is_empty() || account.len() > MAX_NAME {
        return None;
    }
    Some(Names { account, stream })
}

/// Parses nats-server's `friendlyBytes` (`574.38 MB`, `20.00 GB`, `512 B`), base 1024.
pub fn parse_size(text: &str) -> Option<u64> {
    let (num, unit) = text.split_once(' ')?;
    let n: f64 = num.parse().ok()?;
    let exp = match unit.trim() {
        "B" => 0,
        "KB" => 1,
        "MB" => 2,
        "GB" => 3,
        "TB" => 4,
        "PB" => 5,
        "EB" => 6,
        _ => return None,
    };
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    Some((n * 1024f64.powi(exp)).round() as u64)
}

// The saved state's shape (see `state`).
crate::text::carry::carry_struct!(StreamRef { account, stream });
crate::text::carry::carry_struct!(Cause { text, resets, leaks });

#[cfg(test)]
mod tests {
    use super::*;

    /// The definitions the word search and the one scan back replaced.
    fn split_once_3_by_bytes<'a>(s: &'a str, pat: &[u8; 3]) -> Option<(&'a str, &'a str)> {
        let b = s.as_bytes();
        let mut i = 0;
        while i + 3 <= b.len() {
            if b[i] == pat[0] && b[i + 1] == pat[1] && b[i + 2] == pat[2] {
                return Some((s.get(..i)?, s.get(i + 3..)?));
            }
            i += 1;
        }
        None
    }

    fn stream_names_by_rsplit(names: &str) -> Option<Names<'_>> {
        let (account, stream) = rsplit_once_3(names, b" > ")?;
        let valid_stream = !stream.is_empty()
            && stream.len() <= MAX_NAME
            && !stream.bytes().any(|c| c.is_ascii_whitespace() || matches!(c, b'.' | b'*' | b'>' | b'\''));
        if !valid_stream || account.is_empty() || account.len() > MAX_NAME {
            return None;
        }
        Some(Names { account, stream })
    }

    #[test]
    fn names_and_causes_split_as_the_byte_loops_did() {
        let mut next = crate::test_sequence::below(0xd1b5_4a32_d192_ed03u64);
        // Pieces of real names and their neighbours (s05 n1.log:
        // `Error applying entries to '$G > ORDERS': last sequence mismatch`).
        let pieces =
            ["'", ": ", "': ", " > ", ">", " ", "$G", "ORDERS", "a.b", "*", "\t", "\r", "\x0c", "é", "x", "'$G > ORDERS': "];
        let long = "s".repeat(MAX_NAME - 3);
        for round in 0..40_000 {
            let mut s = String::new();
            if round % 50 == 0 {
                s.push_str(&long);
            }
            for _ in 0..next(12) {
                s.push_str(pieces[next(pieces.len() as u64)]);
            }
            if round % 50 == 25 {
                s.push_str(&long);
            }
            assert_eq!(stream_names(&s), stream_names_by_rsplit(&s), "{s:?}");
            for pat in [b"': ", b"', ", b" > "] {
                assert_eq!(split_once_3(&s, pat), split_once_3_by_bytes(&s, pat), "{s:?} {pat:?}");
            }
        }
    }

    fn sref(a: &str, s: &str) -> StreamRef {
        StreamRef { account: a.into(), stream: s.into() }
    }

    fn cause(text: &str, resets: bool, leaks: bool) -> Cause {
        Cause { text: text.into(), resets, leaks }
    }

    #[test]
    fn classifies_real_messages() {
        let table: Vec<(&str, Option<Event>)> = vec![
            // s05 n1.log
            (
                "Error applying entries to '$G > ORDERS': catchup aborted, no leader for stream '$G > ORDERS'",
                Some(Event::ApplyError(
                    sref("$G", "ORDERS"),
                    cause("catchup aborted, no leader for stream '$G > ORDERS'", true, true),
                )),
            ),
            ("Resetting stream cluster state for '$G > ORDERS'", Some(Event::Reset(sref("$G", "ORDERS")))),
            // s02 n2.log
            (
                "Error applying entries to '$G > ORDERS': last sequence mismatch",
                Some(Event::ApplyError(sref("$G", "ORDERS"), cause("last sequence mismatch", true, true))),
            ),
            // nats-server issue 2356
            (
                "Error applying entries to 'USERS > alpine-async': last sequence mismatch",
                Some(Event::ApplyError(sref("USERS", "alpine-async"), cause("last sequence mismatch", true, true))),
            ),
            // first sequence mismatch resets but deletes first: no leak
            (
                "Error applying entries to 'A > S': first sequence mismatch",
                Some(Event::ApplyError(sref("A", "S"), cause("first sequence mismatch", true, false))),
            ),
            (
                "Error applying entries to 'A > S': stream store EOF",
                Some(Event::ApplyError(sref("A", "S"), cause("stream store EOF", true, true))),
            ),
            (
                "Error applying entries to 'A > S': catchup failed, too many retries",
                Some(Event::ApplyError(sref("A", "S"), cause("catchup failed, too many retries", true, true))),
            ),
            (
                "Error applying entries to 'A > S': raft: already leader",
                Some(Event::ApplyError(sref("A", "S"), cause("raft: already leader", true, true))),
            ),
            // not reset errors
            (
                "Error applying entries to 'A > S': insufficient resources",
                Some(Event::ApplyError(sref("A", "S"), cause("insufficient resources", false, false))),
            ),
            (
                "Error applying entries to 'A > S': last sequence by subject mismatch: 3 vs 4",
                Some(Event::ApplyError(sref("A", "S"), cause("last sequence by subject mismatch: 3 vs 4", false, false))),
            ),
            (
                "Error applying entries to 'A > S': last msgid mismatch: \"a\" vs \"b\"",
                Some(Event::ApplyError(sref("A", "S"), cause("last msgid mismatch: \"a\" vs \"b\"", false, false))),
            ),
            // main (2.15-dev)
            (
                "Error applying stream entries to '$G > ORDERS': last sequence mismatch",
                Some(Event::ApplyError(sref("$G", "ORDERS"), cause("last sequence mismatch", true, true))),
            ),
            // operator-mode account with `>` and spaces in its name: last ` > ` wins
            ("Resetting stream cluster state for 'my > odd acc > ORDERS'", Some(Event::Reset(sref("my > odd acc", "ORDERS")))),
            (
                "Error applying consumer entries to '$G > ORDERS': bad thing",
                Some(Event::ConsumerApplyError(sref("$G", "ORDERS"), "bad thing".into())),
            ),
            ("Detected bad stream state, resetting '$G > ORDERS'", Some(Event::BadState(sref("$G", "ORDERS")))),
            (
                "Will not reset stream, server resources exceeded",
                Some(Event::ResetDeclined(None, "server resources exceeded".into())),
            ),
            (
                "Will not reset stream '$G > ORDERS', server resources exceeded",
                Some(Event::ResetDeclined(Some(sref("$G", "ORDERS")), "server resources exceeded".into())),
            ),
            (
                "Will not reset stream '$G > ORDERS', stream is closed",
                Some(Event::ResetDeclined(Some(sref("$G", "ORDERS")), "stream is closed".into())),
            ),
            (
                "stream '$G > ORDERS' errored, account resources exceeded",
                Some(Event::AccountResourcesExceeded(sref("$G", "ORDERS"))),
            ),
            (
                "Stream '$G > ORDERS' errored, account resources exceeded",
                Some(Event::AccountResourcesExceeded(sref("$G", "ORDERS"))),
            ),
            // banner, s05 n1.log
            ("  Version:  2.10.25", Some(Event::Banner(Banner::Version("2.10.25".into())))),
            ("  Name:     n1", Some(Event::Banner(Banner::Name("n1".into())))),
            (
                "  ID:       NA3UI3NMQPXBAYAL46I4BZLCXSR22W44NRPLGBKGS57KQFDQJANOG4OP",
                Some(Event::Banner(Banner::Id("NA3UI3NMQPXBAYAL46I4BZLCXSR22W44NRPLGBKGS57KQFDQJANOG4OP".into()))),
            ),
            ("  Max Storage:     20.00 GB", Some(Event::Banner(Banner::MaxStorage(20 * 1024 * 1024 * 1024)))),
            ("  Max Storage:     574.38 MB", Some(Event::Banner(Banner::MaxStorage(602_281_083)))),
            // look-alikes that are not events
            ("  Git:      [fec6776]", None),
            ("  Starting restore for stream '$G > EVENTS'", None),
            ("JetStream cluster new stream leader for '$G > ORDERS'", None),
            ("Resetting stream cluster state for '$G > bad.name'", None),
            ("Resetting stream cluster state for 'ORDERS'", None),
            ("Resetting stream cluster state for '$G > '", None),
            ("Error applying entries to '$G > ORDERS'", None),
            ("Server is ready", None),
        ];
        for (msg, want) in table {
            assert_eq!(classify(msg), want, "{msg}");
            if want.is_some() {
                assert!(may_matter(msg.as_bytes()), "{msg}");
            }
        }
    }

    #[test]
    fn fast_reject() {
        for m in [
            "Server is ready",
            "127.0.0.1:43724 - rid:13 - Route connection created",
            "",
            "Self is new JetStream cluster metadata leader",
        ] {
            assert!(!may_matter(m.as_bytes()), "{m}");
        }
    }

    #[test]
    fn names_are_bounded() {
        let long = "x".repeat(MAX_NAME + 1);
        assert!(classify(&format!("Resetting stream cluster state for '$G > {long}'")).is_none());
        assert!(classify(&format!("Resetting stream cluster state for '{long} > S'")).is_none());
        assert!(classify(&format!("  Name: {long}")).is_none());
    }
}
