//! Just enough JSON to find a few keys in a record without building a tree.
//!
//! Fluent Bit's interpreter stack is 8 KiB, and a recursive parser traps on
//! records nested a few levels deep (docs/design/hosts.md#the-stack), so everything here is a
//! loop with an explicit depth counter: no recursion, no panics, and nothing
//! is allocated until a string actually has to be decoded.

use crate::text::clock::{self, Micros};
use crate::text::{decimal, word};
use std::borrow::Cow;

/// Skips JSON white space from `i`.
#[inline(always)]
fn ws(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            break;
        }
        i += 1;
    }
    i
}

/// Given `i` just after an opening quote, returns the index of the closing quote.
/// Eight bytes per step while none of them is `"` or `\`: every scan of a
/// record passes over its log line, and byte by byte that cost several wasm
/// instructions a byte on each scan.
#[inline]
pub(crate) fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        while let Some(w) = word::at(b, i) {
            let marks = word::marks(w, b'"', b'\\');
            if marks != 0 {
                i += (marks.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match *b.get(i)? {
            b'"' => return Some(i),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// [`string_end`] for a string that holds no escape: `None` at a `\`
/// (the pass gate skips only keys it can compare as they stand).
#[inline]
pub(crate) fn plain_string_end(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(w) = word::at(b, i) {
        let marks = word::marks(w, b'"', b'\\');
        if marks != 0 {
            i += (marks.trailing_zeros() / 8) as usize;
            return (*b.get(i)? == b'"').then_some(i);
        }
        i += 8;
    }
    loop {
        match *b.get(i)? {
            b'"' => return Some(i),
            b'\\' => return None,
            _ => i += 1,
        }
    }
}

/// Whether `b` is a JSON object as `serde_json::from_slice::<Value>` reads
/// one, without building the tree: for a 1 KB Kubernetes record the tree
/// cost about 89,000 wasm instructions, a record that carries an alert
/// pays it. serde_json's skipping parser (`IgnoredAny`) checks the same
/// syntax but lets three things through that the tree refuses, so those
/// are checked here: bytes that are no UTF-8, a `\u` escape (a lone
/// surrogate), and a number out of `f64`'s range. A string with a `\u`
/// and a number with an exponent or 300 digits are read alone by the tree
/// parser itself, which gives its own answer for them. Exact for records
/// nested less deep than serde_json's recursion limit (128), which the
/// callers' depth check keeps them within.
pub fn is_object(b: &[u8]) -> bool {
    use serde::de::IgnoredAny;
    let start = ws(b, 0);
    if b.get(start) != Some(&b'{') || std::str::from_utf8(b).is_err() || serde_json::from_slice::<IgnoredAny>(b).is_err() {
        return false;
    }
    let tree_reads = |token: &[u8]| serde_json::from_slice::<serde_json::Value>(token).is_ok();
    // The syntax holds: outside strings there are only structure, white
    // space, literals and numbers.
    let mut i = start;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => {
                let Some(end) = string_end(b, i + 1) else { return false };
                let s = &b[i..=end];
                if s.windows(2).any(|w| w == b"\\u") && !tree_reads(s) {
                    return false;
                }
                i = end + 1;
            }
            b'-' | b'0'..=b'9' => {
                let len = b[i..].iter().take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')).count();
                let n = &b[i..i + len];
                if (len >= 300 || n.iter().any(|c| matches!(c, b'e' | b'E'))) && !tree_reads(n) {
                    return false;
                }
                i += len;
            }
            _ => i += 1,
        }
    }
    true
}

/// Given `i` at the first byte of a value, returns the index just past it.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string_end(b, i + 1).map(|e| e + 1),
        b'{' | b'[' => {
            let mut depth: usize = 0;
            let mut j = i;
            loop {
                match *b.get(j)? {
                    b'"' => j = string_end(b, j + 1)?,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while let Some(&c) = b.get(j) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// One member of an object: the key as it stands between its quotes (still
/// escaped) and the value's raw text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member<'a> {
    /// The member's key, as written (escapes not decoded).
    pub key: &'a [u8],
    /// The member's value, as written.
    pub value: &'a [u8],
}

/// Iterates over the members of the JSON object `b`. Stops (without error) at
/// the first thing that is not well-formed; [`Members::complete`] tells.
pub struct Members<'a> {
    b: &'a [u8],
    i: usize,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    First,
    Next,
    Done,
    Broken,
}

impl<'a> Members<'a> {
    /// Starts on `b`, which must hold one object (leading white space allowed).
    pub fn new(b: &'a [u8]) -> Self {
        let i = ws(b, 0);
        let state = if b.get(i) == Some(&b'{') { State::First } else { State::Broken };
        Members { b, i: i + 1, state }
    }

    /// True once the closing brace was reached with every member well-formed.
    pub fn complete(&self) -> bool {
        self.state == State::Done
    }

    /// The index just past the closing brace, once [`Members::complete`].
    pub fn end(&self) -> Option<usize> {
        self.complete().then_some(self.i)
    }

    fn step(&mut self) -> Option<Member<'a>> {
        let b = self.b;
        let mut i = ws(b, self.i);
        match (self.state, *b.get(i)?) {
            (State::First | State::Next, b'}') => {
                self.state = State::Done;
                self.i = i + 1;
                return None;
            }
            (State::Next, b',') => i = ws(b, i + 1),
            (State::First, _) => {}
            _ => return None,
        }
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let kend = string_end(b, i + 1)?;
        let key = b.get(i + 1..kend)?;
        let i = ws(b, kend + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let vstart = ws(b, i + 1);
        let vend = value_end(b, vstart)?;
        self.i = vend;
        self.state = State::Next;
        Some(Member { key, value: b.get(vstart..vend)? })
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        if matches!(self.state, State::Done | State::Broken) {
            return None;
        }
        let m = self.step();
        if m.is_none() && self.state != State::Done {
            self.state = State::Broken;
        }
        m
    }
}

/// The index just inside the opening quote of the first top-level member
/// whose key satisfies `want` and whose value is a string. That value is
/// not scanned: a caller may need only its first few bytes.
pub fn first_string_member(b: &[u8], want: impl Fn(&[u8]) -> bool) -> Option<usize> {
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = ws(b, i);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let kend = string_end(b, i + 1)?;
        let key = b.get(i + 1..kend)?;
        i = ws(b, kend + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, i + 1);
        if b.get(i) == Some(&b'"') && want(key) {
            return Some(i + 1);
        }
        i = ws(b, value_end(b, i)?);
        if b.get(i) != Some(&b',') {
            return None;
        }
        i += 1;
    }
}

/// The raw values of the JSON array `b`, in order. Stops (without error)
/// at the first thing that is not well-formed, like [`Members`].
pub fn elements(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut i = ws(b, 0);
    let mut ok = b.get(i) == Some(&b'[');
    i += 1;
    let mut first = true;
    std::iter::from_fn(move || {
        if !ok {
            return None;
        }
        i = ws(b, i);
        match (first, b.get(i)?) {
            (_, b']') => {
                ok = false;
                return None;
            }
            (false, b',') => i = ws(b, i + 1),
            (true, _) => {}
            _ => {
                ok = false;
                return None;
            }
        }
        first = false;
        let start = i;
        let Some(end) = value_end(b, start) else {
            ok = false;
            return None;
        };
        i = end;
        b.get(start..end)
    })
}

/// A raw JSON number that is an integer (from `i64::MIN` to `u64::MAX`).
/// `None` for anything else: nats-server writes its counters as integers,
/// and reading floats would pull a float parser into the module.
pub fn whole_number(raw: &[u8]) -> Option<i128> {
    let text = std::str::from_utf8(raw).ok()?;
    if text.starts_with('+') {
        return None;
    }
    match text.strip_prefix('-') {
        Some(_) => text.parse::<i64>().ok().map(i128::from),
        None => text.parse::<u64>().ok().map(i128::from),
    }
}

/// `b.starts_with(p)`, with the 8-byte case (`{"log":"`) as one comparison.
#[inline(always)]
pub fn has_prefix(b: &[u8], p: &[u8]) -> bool {
    if let (Ok(p8), Some(Ok(b8))) = (<[u8; 8]>::try_from(p), b.get(..8).map(<[u8; 8]>::try_from)) {
        return u64::from_le_bytes(p8) == u64::from_le_bytes(b8);
    }
    b.starts_with(p)
}

/// True when no object or array in `text` nests deeper than `max`: checked
/// with a loop before a recursive parser (serde_json) sees untrusted text,
/// since Fluent Bit's interpreter stack is 8 KiB.
pub fn depth_at_most(text: &[u8], max: usize) -> bool {
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for &c in text {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// True when an escaped key equals `name`.
#[inline]
pub fn key_is(key: &[u8], name: &str) -> bool {
    // The common case first: the same bytes, no escapes to look for.
    if key == name.as_bytes() {
        return true;
    }
    key.contains(&b'\\') && matches!(decode_str(key), Some(k) if k == name)
}

/// The raw value at a dotted path (`kubernetes.pod_name`) in object `b`.
/// A key that itself contains a dot is found too when it exists as one key.
pub fn find_path<'a>(b: &'a [u8], path: &str) -> Option<&'a [u8]> {
    let mut cur = b;
    let mut rest = path;
    'outer: loop {
        // Prefer the longest key that matches a prefix of the remaining path
        // (`a.b` as one key before `a` then `b`).
        for m in Members::new(cur) {
            if key_is(m.key, rest) {
                return Some(m.value);
            }
        }
        let dot = rest.find('.')?;
        let (head, tail) = (&rest[..dot], &rest[dot + 1..]);
        for m in Members::new(cur) {
            if key_is(m.key, head) {
                cur = m.value;
                rest = tail;
                continue 'outer;
            }
        }
        return None;
    }
}

/// The decoded text of a raw JSON string value (with its quotes), or `None`
/// when the value is not a string.
pub fn string_value(raw: &[u8]) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    decode_str(inner)
}

/// [`decode_str`] of a string known to hold no `\\` ([`plain_string_end`]
/// found its end): no escape to look for.
pub fn decode_plain(s: &[u8]) -> Cow<'_, str> {
    // Valid UTF-8 (always, from Fluent Bit: it escapes non-ASCII text)
    // is checked word by word; the lossy decoder costs tens of wasm
    // instructions a byte and gives the same text then.
    match std::str::from_utf8(s) {
        Ok(t) => Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(s),
    }
}

/// Decodes the inside of a JSON string. Invalid UTF-8 and lone surrogates
/// become U+FFFD rather than failing: a log line is still worth reading.
pub fn decode_str(s: &[u8]) -> Option<Cow<'_, str>> {
    if !s.contains(&b'\\') {
        return Some(decode_plain(s));
    }
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let e = *s.get(i + 1)?;
        i += 2;
        let ch = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(s, i)?;
                i += 4;
                if (0xD800..0xDC00).contains(&hi) && s.get(i) == Some(&b'\\') && s.get(i + 1) == Some(&b'u') {
                    match hex4(s, i + 2) {
                        Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                            i += 6;
                            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)).unwrap_or('\u{FFFD}')
                        }
                        _ => '\u{FFFD}',
                    }
                } else {
                    char::from_u32(hi).unwrap_or('\u{FFFD}')
                }
            }
            _ => return None,
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    Some(match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    })
}

fn hex4(s: &[u8], i: usize) -> Option<u32> {
    let h = s.get(i..i + 4)?;
    let mut v = 0u32;
    for &c in h {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

/// Appends `s` as a JSON string (with quotes) to `out`.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_str_body(out, s);
    out.push(b'"');
}

/// Appends `s` escaped as inside a JSON string, without the quotes: a
/// string written in pieces is the pieces' escapes one after the other.
pub fn write_str_body(out: &mut Vec<u8>, s: &str) {
    let mut start = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes per step while none needs an escape (`"`, `\\`, below
        // 0x20): an alert's runbook is kilobytes of plain text.
        let plain = |w: u64| (w.wrapping_sub(0x20 * word::LO) & !w & word::HI | word::marks(w, b'"', b'\\')) == 0;
        if let Some(w) = word::at(bytes, i) {
            if plain(w) {
                i += 8;
                continue;
            }
        } else if bytes.len().checked_sub(8).and_then(|j| word::at(bytes, j)).is_some_and(plain) {
            // Fewer than eight bytes left, and the last eight need no escape.
            break;
        }
        let c = bytes[i];
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(format!("\\u{:04x}", c).as_bytes());
        } else {
            out.extend_from_slice(esc);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Builds one flat JSON object, member by member.
pub struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    /// Opens an object at the end of `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjectWriter { out, first: true }
    }

    /// Starts member `k`; its value is to be appended to what this returns.
    pub fn member(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_str(self.out, k);
        self.out.push(b':');
        self.out
    }

    /// A string member.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        let out = self.member(k);
        write_str(out, v);
        self
    }

    /// A string member that is `null` when absent.
    pub fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.raw(k, "null"),
        }
    }

    /// A number member.
    pub fn num(&mut self, k: &str, v: i64) -> &mut Self {
        decimal::push(self.member(k), v, 0);
        self
    }

    /// A string member written in pieces, each escaped as it comes.
    pub fn str_parts(&mut self, k: &str, parts: impl FnOnce(&mut dyn FnMut(&str))) -> &mut Self {
        let out = self.member(k);
        out.push(b'"');
        parts(&mut |part| write_str_body(out, part));
        out.push(b'"');
        self
    }

    /// An array of strings, each written in pieces.
    pub fn list_parts(&mut self, k: &str, items: impl FnOnce(&mut dyn FnMut(&[&str]))) -> &mut Self {
        let out = self.member(k);
        out.push(b'[');
        let mut first = true;
        items(&mut |parts| {
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'"');
            for part in parts {
                write_str_body(out, part);
            }
            out.push(b'"');
        });
        out.push(b']');
        self
    }

    /// A time member, as [`clock::rfc3339`] writes it.
    pub fn time(&mut self, k: &str, t: Micros, offset: Micros) -> &mut Self {
        let out = self.member(k);
        out.push(b'"');
        clock::write_rfc3339(out, t, offset);
        out.push(b'"');
        self
    }

    /// A number member that is `null` when absent.
    pub fn opt_num(&mut self, k: &str, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.num(k, v),
            None => self.raw(k, "null"),
        }
    }

    /// A boolean member that is `null` when absent.
    pub fn opt_bool(&mut self, k: &str, v: Option<bool>) -> &mut Self {
        self.raw(
            k,
            match v {
                Some(true) => "true",
                Some(false) => "false",
                None => "null",
            },
        )
    }

    /// An array of strings.
    pub fn str_list(&mut self, k: &str, items: &[String]) -> &mut Self {
        self.list_parts(k, |item| items.iter().for_each(|s| item(&[s])))
    }

    /// A member whose value is already JSON text.
    pub fn raw(&mut self, k: &str, json: &str) -> &mut Self {
        let out = self.member(k);
        out.extend_from_slice(json.as_bytes());
        self
    }

    /// Closes the object.
    pub fn finish(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_str_escapes_at_every_place_in_a_word() {
        // The byte loop the word-at-a-time writer replaced, as the reference.
        let byte_loop = |s: &str| {
            let mut out = vec![b'"'];
            for c in s.bytes() {
                match c {
                    b'"' => out.extend_from_slice(b"\\\""),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    0..=0x1f => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
                    _ => out.push(c),
                }
            }
            out.push(b'"');
            out
        };
        for special in ["\"", "\\", "\n", "\r", "\t", "\u{1}", "\u{1f}", " ", "\u{7f}", "\u{e9}", "\u{a0}"] {
            for at in 0..20 {
                for len in [at, at + 1, 17, 24] {
                    let text: String = (0..len.max(at))
                        .map(|i| if i == at { special.to_string() } else { "ab".chars().nth(i % 2).unwrap().to_string() })
                        .collect();
                    let mut out = Vec::new();
                    write_str(&mut out, &text);
                    assert_eq!(out, byte_loop(&text), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn members_of_records() {
        let rec = br#"{"log":"[1] x","stream":"stderr","kubernetes":{"pod_name":"nats-0","labels":{"a":[1,{"b":"}"}]}},"n":-1.5e3 , "t":true}"#;
        let keys: Vec<_> = Members::new(rec).map(|m| String::from_utf8_lossy(m.key).into_owned()).collect();
        assert_eq!(keys, ["log", "stream", "kubernetes", "n", "t"]);
        let mut it = Members::new(rec);
        it.by_ref().count();
        assert!(it.complete());
        assert_eq!(find_path(rec, "kubernetes.pod_name"), Some(&br#""nats-0""#[..]));
        assert_eq!(find_path(rec, "kubernetes.labels.a"), Some(&br#"[1,{"b":"}"}]"#[..]));
        assert_eq!(find_path(rec, "kubernetes.nope"), None);
        assert_eq!(find_path(br#"{"a.b":1,"a":{"b":2}}"#, "a.b"), Some(&b"1"[..]));
    }

    #[test]
    fn array_elements_and_numbers() {
        let arr = br#" [1, {"a":[2,3]} ,"x]", [] ,-1.5e3]"#;
        let got: Vec<_> = elements(arr).map(|e| String::from_utf8_lossy(e).into_owned()).collect();
        assert_eq!(got, ["1", r#"{"a":[2,3]}"#, r#""x]""#, "[]", "-1.5e3"]);
        assert_eq!(elements(b"[]").count(), 0);
        for bad in [&b"[1,"[..], b"[1 2]", b"{}", b"", b"[,1]"] {
            let _ = elements(bad).count();
        }
        let table: [(&[u8], Option<i128>); 8] = [
            (b"67108864", Some(67108864)),
            (b"-1", Some(-1)),
            (b"18446744073709551615", Some(18446744073709551615)),
            (b"6.7108864e+07", None),
            (b"1.5", None),
            (b"\"1\"", None),
            (b"1e400", None),
            (b"null", None),
        ];
        for (raw, want) in table {
            assert_eq!(whole_number(raw), want, "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn broken_input_stops_quietly() {
        for bad in
            [&b""[..], b"[]", b"{", b"{\"a\"", b"{\"a\":", b"{\"a\":\"x", b"{\"a\":1,}", b"{\"a\" 1}", b"\xff\xfe", b"{{{{"]
        {
            let mut it = Members::new(bad);
            let _ = it.by_ref().count();
            assert!(!it.complete(), "{:?}", bad);
            let _ = find_path(bad, "a");
        }
    }

    #[test]
    fn deep_nesting_is_a_loop_not_recursion() {
        let mut rec = b"{\"deep\":".to_vec();
        rec.extend(std::iter::repeat_n(b'[', 100_000));
        rec.extend(std::iter::repeat_n(b']', 100_000));
        rec.extend_from_slice(b",\"log\":\"x\"}");
        assert_eq!(find_path(&rec, "log"), Some(&b"\"x\""[..]));
    }

    #[test]
    fn strings_decode() {
        assert_eq!(string_value(br#""a\"b\\c\nd\u00e9\ud83d\ude00""#).unwrap(), "a\"b\\c\nd\u{e9}\u{1F600}");
        // Fluent Bit escapes the ANSI colour of a terminal copy as \u001b.
        assert_eq!(string_value(br#""[\u001b[0;93mWRN\u001b[0m]""#).unwrap(), "[\u{1b}[0;93mWRN\u{1b}[0m]");
        assert_eq!(string_value(br#""\ud800x""#).unwrap(), "\u{FFFD}x");
        assert_eq!(string_value(b"\"\xff\"").unwrap(), "\u{FFFD}");
        assert!(string_value(br#""\q""#).is_none());
        assert!(string_value(b"12").is_none());
    }

    #[test]
    fn is_object_answers_as_the_tree_parser() {
        let digits = |n: usize| "9".repeat(n);
        let deep = |n: usize| format!("{{\"a\":{}1{}}}", "[".repeat(n), "]".repeat(n));
        let mut cases: Vec<Vec<u8>> = [
            r#"{"log":"[8368] 2026/11/26 14:17:08.682791 [WRN] Resetting stream cluster state for '$G > ORDERS'"}"#,
            r#" {"a":1} "#,
            r#"{"a":1}x"#,
            r#"[{"a":1}]"#,
            r#"{"a":"\ud800"}"#,
            r#"{"\udc00":1}"#,
            r#"{"a":"\ud83d\ude00"}"#,
            r#"{"a":"\\ud800"}"#,
            r#"{"a":"\u00e9\n\"\/"}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":1e400}"#,
            r#"{"a":-1E400}"#,
            r#"{"a":1e308,"b":[2.5e-400,-0.0]}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":tru}"#,
            r#"{"a":true,"b":false,"c":null,"a":2}"#,
            r#"{"k8s":{"labels":{"hash":"5e4f3a2b1c0d9e8f"}},"n":[1,2,{"x":3e2}]}"#,
            "{\"a\":\"tab\there\"}",
            "{}",
            "{",
            "",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for n in [299, 300, 308, 309, 310, 400] {
            cases.push(format!("{{\"a\":{}}}", digits(n)).into_bytes());
            cases.push(format!("{{\"a\":-{}.5}}", digits(n)).into_bytes());
        }
        for n in [16, 126, 127, 128] {
            cases.push(deep(n).into_bytes());
        }
        cases.push(b"{\"a\":\"\xff\"}".to_vec());
        cases.push(b"{\"a\":\"\xc3\xa9\"}".to_vec());
        for b in &cases {
            let tree = matches!(serde_json::from_slice::<serde_json::Value>(b), Ok(serde_json::Value::Object(_)));
            if depth_at_most(b, 127) {
                assert_eq!(is_object(b), tree, "{}", String::from_utf8_lossy(b));
            }
        }
    }

    #[test]
    fn writer_escapes() {
        let mut out = Vec::new();
        let mut w = ObjectWriter::new(&mut out);
        w.str("s", "a\"\u{1}\n").opt_num("n", None).opt_bool("b", Some(true)).str_list("l", &["x".into()]);
        w.finish();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["s"], "a\"\u{1}\n");
        assert!(v["n"].is_null());
        assert_eq!(v["l"][0], "x");
    }
}
