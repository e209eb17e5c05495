//! Log files as records, the way Fluent Bit's `tail` input makes them.
//!
//! With `Tag nats.*` and no parser, tail emits one record per line,
//! `{"log":"<line>"}`, tagged `nats.` + the file path with `/` turned into `.`
//! (tail's tag expansion; a leading `/` is dropped). The JSON the filter then
//! receives is Fluent Bit's rendering, which escapes non-ASCII as `\uXXXX`
//! (`json.escape_unicode`, on by default); [`record_json`] does the same.
//!
//! Tail stamps records with the time it read them. Replays must be
//! deterministic, so the record time here is the NATS line's own timestamp
//! (`[pid] yyyy/mm/dd hh:mm:ss.ffffff`, taken as UTC), else the previous
//! record's time, else the file's mtime. Several files are merged by that time,
//! as if tailed concurrently: stable for equal times, each file's order kept.
//!
//! Differences from tail, on purpose: a last line without a newline is
//! emitted (the file is complete).
//!
//! Invalid UTF-8 is rendered as Fluent Bit renders it (seen in 5.1.1, the
//! real-host tier): tail keeps the bytes, and its JSON turns each byte that
//! is not part of a valid sequence into U+E000 + the byte (`\ue0ff` for
//! 0xff); see [`fluent_bit_text`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{Context as _, Result};

/// The tag prefix of `Tag nats.*`.
pub const NATS_TAG_PREFIX: &str = "nats.";

/// A record's event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventTime {
    pub sec: i64,
    pub nsec: u32,
}

/// One record as tail would hand it to the filter chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailRecord {
    pub tag: String,
    pub time: EventTime,
    /// The record body as JSON text: `{"log":"..."}`.
    pub record: String,
    /// Where the line came from (1-based line number).
    pub path: PathBuf,
    pub line_no: usize,
}

/// `prefix` + the path with `/` replaced by `.` (tail's `*` expansion).
pub fn tag_for_path(prefix: &str, path: &Path) -> String {
    let p = path.to_string_lossy();
    let p = p.strip_prefix('/').unwrap_or(&p);
    format!("{prefix}{}", p.replace('/', "."))
}

/// A line's bytes as the text Fluent Bit's JSON carries: valid UTF-8 as
/// it is, every other byte `b` as the private-use character U+E000 + `b`.
pub fn fluent_bit_text(raw: &[u8]) -> String {
    let mut text = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        text.push_str(chunk.valid());
        text.extend(chunk.invalid().iter().filter_map(|&b| char::from_u32(0xE000 + u32::from(b))));
    }
    text
}

/// `{"log":"<line>"}` as Fluent Bit renders it (non-ASCII as `\uXXXX`).
pub fn record_json(line: &str) -> String {
    let mut map = serde_json::Map::new();
    map.insert("log".to_string(), serde_json::Value::String(line.to_string()));
    let json = serde_json::Value::Object(map).to_string();
    if json.is_ascii() {
        return json;
    }
    // Outside strings the text is ASCII, so escaping every non-ASCII char is safe.
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
    out
}

/// The timestamp of a NATS server log line, `[pid] yyyy/mm/dd hh:mm:ss(.f+)?`,
/// read as UTC.
pub fn parse_nats_time(line: &str) -> Option<EventTime> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    if close == 0 || !rest[..close].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let s = rest[close + 1..].strip_prefix(' ')?.as_bytes();
    if s.len() < 19 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = &s[range];
        digits.iter().all(u8::is_ascii_digit).then(|| digits.iter().fold(0i64, |acc, d| acc * 10 + (d - b'0') as i64))
    };
    if s[4] != b'/' || s[7] != b'/' || s[10] != b' ' || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut nsec = 0u32;
    if s.get(19) == Some(&b'.') {
        let frac: Vec<u8> = s[20..].iter().take_while(|b| b.is_ascii_digit()).copied().collect();
        if frac.is_empty() {
            return None;
        }
        for i in 0..9 {
            nsec = nsec * 10 + frac.get(i).map_or(0, |d| (d - b'0') as u32);
        }
    }
    // The core's calendar (month and day were range-checked above).
    let days = resetwatch::clock::days_from_civil(year, month as u32, day as u32);
    Some(EventTime { sec: days * 86_400 + hour * 3600 + min * 60 + sec, nsec })
}

/// Records of one file's content. `fallback` is the time used before the
/// first timestamped line (normally the file's mtime).
pub fn records_from_bytes(path: &Path, content: &[u8], fallback: EventTime) -> Vec<TailRecord> {
    let tag = tag_for_path(NATS_TAG_PREFIX, path);
    let mut last = fallback;
    let mut records = Vec::new();
    for (i, raw) in content.split(|&b| b == b'\n').enumerate() {
        // tail strips a CR before the LF and skips empty lines.
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        let line = fluent_bit_text(raw);
        let time = parse_nats_time(&line).unwrap_or(last);
        last = time;
        records.push(TailRecord { tag: tag.clone(), time, record: record_json(&line), path: path.to_path_buf(), line_no: i + 1 });
    }
    records
}

/// Records of one file, in file order.
pub fn read_file(path: &Path) -> Result<Vec<TailRecord>> {
    let content = std::fs::read(path).with_context(|| crate::loading::cannot_read(path))?;
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| EventTime { sec: d.as_secs() as i64, nsec: d.subsec_nanos() })
        .unwrap_or_default();
    Ok(records_from_bytes(path, &content, mtime))
}

/// Records of several files merged by time: at each step the earliest next
/// record wins, ties go to the file listed first, and each file keeps its own
/// order even where its times go backwards.
pub fn read_files<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<TailRecord>> {
    let files = paths.iter().map(|p| read_file(p.as_ref())).collect::<Result<Vec<_>>>()?;
    Ok(merge_by_time(files))
}

/// The merge used by [`read_files`].
pub fn merge_by_time(files: Vec<Vec<TailRecord>>) -> Vec<TailRecord> {
    let total = files.iter().map(Vec::len).sum();
    let mut iters: Vec<_> = files.into_iter().map(|f| f.into_iter().peekable()).collect();
    let mut merged = Vec::with_capacity(total);
    loop {
        let mut best: Option<(usize, EventTime)> = None;
        for (i, it) in iters.iter_mut().enumerate() {
            if let Some(r) = it.peek() {
                if best.is_none_or(|(_, t)| r.time < t) {
                    best = Some((i, r.time));
                }
            }
        }
        match best {
            Some((i, _)) => merged.extend(iters[i].next()),
            None => return merged,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_time_is_utc() {
        let t = parse_nats_time("[8368] 2026/11/26 14:17:08.682791 [WRN] message").unwrap();
        // 2026-11-26T14:17:08Z
        assert_eq!(t.sec, 1_795_702_628);
        assert_eq!(t.nsec, 682_791_000);
        assert_eq!(parse_nats_time("[1] 1970/01/01 00:00:00 [INF] x").unwrap(), EventTime::default());
        assert_eq!(parse_nats_time("no timestamp"), None);
        assert_eq!(parse_nats_time("[x] 2026/11/26 14:17:08 [INF]"), None);
    }

    #[test]
    fn invalid_utf_8_is_rendered_as_real_fluent_bit_renders_it() {
        // As real Fluent Bit 5.1.1 wrote these bytes (tests/integration/real_hosts/nothing_lost.rs).
        assert_eq!(
            record_json(&fluent_bit_text(b"\xc3\x28 invalid utf-8 \xe2\x82 end")),
            r#"{"log":"\ue0c3( invalid utf-8 \ue0e2\ue082 end"}"#
        );
        assert_eq!(fluent_bit_text(b"$G > \xe2\x82S"), "$G > \u{e0e2}\u{e082}S");
        assert_eq!(fluent_bit_text("caf\u{e9}".as_bytes()), "caf\u{e9}", "valid UTF-8 is kept");
    }

    #[test]
    fn tags_and_records() {
        assert_eq!(tag_for_path("nats.", Path::new("/var/log/n1.log")), "nats.var.log.n1.log");
        assert_eq!(tag_for_path("nats.", Path::new("logs/n1.log")), "nats.logs.n1.log");
        assert_eq!(record_json("a \"b\"\tc"), r#"{"log":"a \"b\"\tc"}"#);
        assert_eq!(record_json("é😀"), r#"{"log":"\u00e9\ud83d\ude00"}"#);
    }

    #[test]
    fn times_fall_back_and_files_merge() {
        let fallback = EventTime { sec: 5, nsec: 0 };
        let a = records_from_bytes(
            Path::new("a.log"),
            b"banner\n[1] 1970/01/01 00:00:10 [INF] a1\r\n\ncontinued\n[1] 1970/01/01 00:00:30 [INF] a2",
            fallback,
        );
        let times: Vec<i64> = a.iter().map(|r| r.time.sec).collect();
        assert_eq!(times, [5, 10, 10, 30]);
        assert_eq!(a[1].record, r#"{"log":"[1] 1970/01/01 00:00:10 [INF] a1"}"#);
        assert_eq!(a[2].line_no, 4);
        let b = records_from_bytes(
            Path::new("b.log"),
            b"[2] 1970/01/01 00:00:10 [INF] b1\n[2] 1970/01/01 00:00:20 [INF] b2\n",
            fallback,
        );
        let merged = merge_by_time(vec![a, b]);
        let order: Vec<(&str, usize)> = merged.iter().map(|r| (r.tag.as_str(), r.line_no)).collect();
        assert_eq!(
            order,
            [("nats.a.log", 1), ("nats.a.log", 2), ("nats.a.log", 4), ("nats.b.log", 1), ("nats.b.log", 2), ("nats.a.log", 5)]
        );
    }
}
