//! Host records: where the log line is, which source it came from, and how
//! an alert is added to a record without touching the rest of it.
//!
//! Record shapes (docs/detection.md#record-shapes-and-record-times): Fluent Bit tail (`log`),
//! Kubernetes-enriched (`log` + `kubernetes.namespace_name` / `pod_name`),
//! Vector (`message`, `host`), docker json-file (`log`, `stream`, `time`:
//! that `stream` is stdout/stderr, not a NATS stream), systemd (`MESSAGE`,
//! `_HOSTNAME`).

use crate::config::Config;
use crate::input::line::Line;
use crate::text::clock::{self, Micros};
use crate::text::json::{self, Member, Members};
use std::borrow::Cow;

/// The key resetwatch adds to a record that carries an alert.
pub const ALERT_KEY: &str = "resetwatch";

/// Where the log line starts: the index just inside the opening quote of
/// the first member whose key is one of `keys`. The end is not looked for
/// here: most lines are rejected after reading a few dozen bytes of them.
pub fn message_start(record: &[u8], keys: &[String]) -> Option<usize> {
    // Whether the key holds an escape is found once, not once per name.
    json::first_string_member(record, |k| {
        let escaped = k.contains(&b'\\');
        keys.iter().any(|name| k == name.as_bytes() || (escaped && json::key_is(k, name)))
    })
}

/// The whole decoded log line whose string starts at `start` (as given by
/// [`message_start`]).
pub fn message_at(record: &[u8], start: usize) -> Option<String> {
    let rest = record.get(start..)?;
    let i = json::string_end(rest, 0)?;
    json::decode_str(rest.get(..i)?).map(|s| s.into_owned())
}

/// The source (the server) a record came from, by [`pick_source`], with
/// the host's `tag` as the last resort (its rotation suffix dropped,
/// [`tag_source`]).
pub fn source(record: &[u8], cfg: &Config, tag: &str, line: &Line<'_>) -> String {
    source_in(&TopMembers::read(record), cfg, SourceKeys::ANY, tag_base(tag), line).into_owned()
}

/// [`source`] on a record whose members were read already, borrowed from
/// the record or the tag when it can be: the usual answer needs no copy.
/// `tag_base` is the tag as [`tag_base`] leaves it; `keys` is
/// [`SourceKeys::of`] `cfg`, made once by a caller that reads many records
/// ([`SourceKeys::ANY`] for one record).
pub(crate) fn source_in<'a>(
    top: &TopMembers<'a>,
    cfg: &Config,
    keys: SourceKeys,
    tag_base: &'a str,
    line: &Line<'_>,
) -> Cow<'a, str> {
    pick_source_or(Some(top), line, || Cow::Borrowed(tag_base), cfg, keys)
}

/// The paths [`pick_source`] reads, after the configured pod keys and
/// before the configured host keys (which the same list ends with).
const SOURCE_PATHS: [&str; 4] = ["kubernetes.pod_namespace", "kubernetes.pod_name", "container_name", "file"];

/// Every path [`pick_source`] may read, or whose first name a record's key
/// may be (`SYSLOG_IDENTIFIER` is read only beside `_HOSTNAME`).
fn source_paths(cfg: &Config) -> impl Iterator<Item = &str> {
    [cfg.namespace_key.as_str(), cfg.pod_key.as_str()]
        .into_iter()
        .chain(SOURCE_PATHS)
        .chain(cfg.host_keys.iter().map(String::as_str))
}

/// The lengths a record key must have to be one of [`source_paths`] or the
/// first name of one: bit `n` set when a path ends or has a `.` at `n`
/// (bit 63: 63 or more). A key of any other length (the usual `log`)
/// names no source, which one test of this mask says instead of a
/// comparison with every path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SourceKeys(u64);

impl SourceKeys {
    /// Every length: each key is compared with every path (a caller that
    /// reads one record gains nothing from making the mask first).
    pub(crate) const ANY: SourceKeys = SourceKeys(u64::MAX);

    /// The mask for `cfg`'s paths.
    pub(crate) fn of(cfg: &Config) -> SourceKeys {
        let mut bits = 0u64;
        for p in source_paths(cfg) {
            for (i, c) in p.bytes().enumerate() {
                if c == b'.' {
                    bits |= 1 << i.min(63);
                }
            }
            bits |= 1 << p.len().min(63);
        }
        SourceKeys(bits)
    }

    /// Whether a key `len` bytes long may be a path or a path's first names.
    fn may_be(self, len: usize) -> bool {
        (self.0 >> len.min(63)) & 1 != 0
    }
}

/// The one rule for which server a line came from, for every host. The
/// first that is there wins:
/// 1. the record's Kubernetes pod, `<namespace>/<pod>`: Fluent Bit's
///    `kubernetes.namespace_name` + `kubernetes.pod_name` (the configured
///    `namespace_key` / `pod_key`), or Vector's `kubernetes.pod_namespace` +
///    `kubernetes.pod_name`;
/// 2. docker's `container_name` (its leading `/` dropped): on one
///    docker-compose host every container carries the same `host`;
/// 3. the server the line's own wrapper names ([`Line::origin`]: syslog's
///    or journald's host and program, stern's or kubectl's pod);
/// 4. the record's `file` (Vector's `file` source), as `<folder>/<stem>`
///    with rotation suffixes dropped ([`file_source`]): that source's `host`
///    is the collector's, which must not merge the servers it reads;
/// 5. the configured `host_keys` (`host`, then journald's `_HOSTNAME`,
///    which takes `/<SYSLOG_IDENTIFIER>` when that is not `nats-server`);
/// 6. `fallback`: the host's name for where the line came from (a tag, a
///    file name).
pub fn pick_source(record: Option<&[u8]>, line: &Line<'_>, fallback: &str, cfg: &Config) -> String {
    let top = record.map(TopMembers::read);
    pick_source_or(top.as_ref(), line, || Cow::Borrowed(fallback), cfg, SourceKeys::ANY).into_owned()
}

/// A record's top-level members as [`Members`] yields them, read once (and
/// whether each key holds an escape, for [`json::key_is`]): the alert check,
/// the source rule's up to nine paths and the record-time keys are then
/// looked up in this list instead of scanning the record for each. Up to
/// 16 members on the stack (an allocation costs some hundreds of wasm
/// instructions), more in a Vec.
// One value on the stack per record: boxing the list would be the
// allocation it is there to avoid.
#[allow(clippy::large_enum_variant)]
pub(crate) enum TopMembers<'a> {
    /// The usual tail record's one member (no list to set up).
    One((Member<'a>, bool)),
    Listed {
        buf: [(Member<'a>, bool); ON_STACK],
        many: Vec<(Member<'a>, bool)>,
        n: usize,
    },
}

const ON_STACK: usize = 16;

impl<'a> TopMembers<'a> {
    /// Every member of `record`.
    pub(crate) fn read(record: &'a [u8]) -> Self {
        let mut buf = [(Member { key: &[], value: &[] }, false); ON_STACK];
        let mut many = Vec::new();
        let mut n = 0;
        for m in Members::new(record) {
            let e = (m, m.key.contains(&b'\\'));
            if n < ON_STACK {
                buf[n] = e;
            } else {
                if many.is_empty() {
                    many.extend_from_slice(&buf);
                }
                many.push(e);
            }
            n += 1;
        }
        TopMembers::Listed { buf, many, n }
    }

    /// A record known to hold this one member (what [`Members`] would yield
    /// for it): no scan.
    pub(crate) fn one(m: Member<'a>) -> Self {
        TopMembers::One((m, m.key.contains(&b'\\')))
    }

    fn all(&self) -> &[(Member<'a>, bool)] {
        match self {
            TopMembers::One(m) => std::slice::from_ref(m),
            TopMembers::Listed { many, n, .. } if *n > ON_STACK => many,
            TopMembers::Listed { buf, n, .. } => &buf[..*n],
        }
    }

    /// [`has_alert`] on these members.
    pub(crate) fn has_alert(&self) -> bool {
        self.all().iter().any(|(m, escaped)| m.key == ALERT_KEY.as_bytes() || (*escaped && json::key_is(m.key, ALERT_KEY)))
    }
}

/// [`pick_source`] with the fallback made only when it is the answer.
fn pick_source_or<'a>(
    record: Option<&TopMembers<'a>>,
    line: &Line<'_>,
    fallback: impl FnOnce() -> Cow<'a, str>,
    cfg: &Config,
    keys: SourceKeys,
) -> Cow<'a, str> {
    let top: &[(Member<'a>, bool)] = record.map_or(&[], TopMembers::all);
    // A record none of whose keys can be one of the paths below, or the
    // first name of one ([`find_in`]), names no source of its own: the
    // usual tail record, `log` alone, is answered by this one pass (its
    // key's length alone, mostly).
    let may_name = |key: &[u8], path: &str| {
        let p = path.as_bytes();
        p.starts_with(key) && p.get(key.len()).is_none_or(|&c| c == b'.')
    };
    let own =
        top.iter().any(|(m, escaped)| *escaped || (keys.may_be(m.key.len()) && source_paths(cfg).any(|p| may_name(m.key, p))));
    if !own {
        return bounded(line.origin().map_or_else(fallback, Cow::Owned));
    }
    let text = |path: &str| {
        record?;
        find_in(top, path).and_then(json::string_value).filter(|s| !s.is_empty())
    };
    for (ns, pod) in [(cfg.namespace_key.as_str(), cfg.pod_key.as_str()), (SOURCE_PATHS[0], SOURCE_PATHS[1])] {
        if let (Some(ns), Some(pod)) = (text(ns), text(pod)) {
            return bounded(Cow::Owned(format!("{ns}/{pod}")));
        }
    }
    if let Some(c) = text(SOURCE_PATHS[2]) {
        let c = match c {
            Cow::Borrowed(c) => Cow::Borrowed(c.trim_start_matches('/')),
            Cow::Owned(c) => Cow::Owned(c.trim_start_matches('/').to_string()),
        };
        if !c.is_empty() {
            return bounded(c);
        }
    }
    if let Some(o) = line.origin() {
        return bounded(Cow::Owned(o));
    }
    if let Some(f) = text(SOURCE_PATHS[3]) {
        return bounded(Cow::Owned(file_source(&f, true)));
    }
    for k in &cfg.host_keys {
        if let Some(h) = text(k) {
            if k == "_HOSTNAME" {
                if let Some(id) = text("SYSLOG_IDENTIFIER").filter(|id| id != "nats-server") {
                    return bounded(Cow::Owned(format!("{h}/{id}")));
                }
            }
            return bounded(h);
        }
    }
    bounded(fallback())
}

/// [`json::find_path`] on an object whose top-level members are `top`
/// (as [`Members`] yields them): the same answer, without scanning the
/// object again for each path.
/// Each member comes with whether its key holds a `\` ([`json::key_is`]
/// decodes only such keys).
fn find_in<'a>(top: &[(Member<'a>, bool)], path: &str) -> Option<&'a [u8]> {
    let is = |(m, escaped): &(Member<'_>, bool), name: &str| m.key == name.as_bytes() || (*escaped && json::key_is(m.key, name));
    if let Some((m, _)) = top.iter().find(|m| is(m, path)) {
        return Some(m.value);
    }
    // A key `path` has no dot right after, and that holds no escape, is no
    // head of it: most records have none, and the dot is not looked for.
    if !top.iter().any(|(m, escaped)| *escaped || path.as_bytes().get(m.key.len()) == Some(&b'.')) {
        return None;
    }
    let dot = path.bytes().position(|c| c == b'.')?;
    let (head, tail) = (path.get(..dot)?, path.get(dot + 1..)?);
    let (m, _) = top.iter().find(|m| is(m, head))?;
    json::find_path(m.value, tail)
}

/// What rotation made of a log file's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The file being written.
    Current,
    /// logrotate's `<name>.N` (`.N.gz` when compressed): higher is older.
    Logrotate(u32),
    /// nats-server's own `<logfile>.yyyy.mm.dd.hh.mm.ss.nnnnnnnnn`
    /// (`logfile_size_limit`, v2.10.25 `logger/log.go`), the time it was
    /// rotated, as printed.
    Nats(String),
}

impl Rotation {
    /// Sorts the parts of one log oldest first: nats-server's backups by
    /// their time, then logrotate's from the highest number down, then the
    /// current file.
    pub fn age_order(&self) -> (u8, i64, &str) {
        match self {
            Rotation::Nats(t) => (0, 0, t),
            Rotation::Logrotate(n) => (1, -(*n as i64), ""),
            Rotation::Current => (2, 0, ""),
        }
    }
}

/// A log file's name without its rotation suffix (and a `.gz` after it),
/// and which part of the log it is: `nats.log.2.gz` is `nats.log`,
/// logrotate's part 2; `nats.log.2026.11.26.14.17.08.123456789` is
/// `nats.log`, nats-server's backup of that time.
pub fn strip_rotation(name: &str) -> (&str, Rotation) {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    // By bytes: the general string searcher costs hundreds of wasm
    // instructions to set up, and every event record's tag comes here.
    if let Some((base, n)) = name.as_bytes().iter().rposition(|&c| c == b'.').map(|d| (&name[..d], &name[d + 1..])) {
        if n.len() <= 3 && all_digits(n) && !base.is_empty() {
            return (base, Rotation::Logrotate(n.parse().unwrap_or(0)));
        }
    }
    // `.yyyy.mm.dd.hh.mm.ss.nnnnnnnnn`: 7 fields of these widths.
    const WIDTHS: [usize; 7] = [4, 2, 2, 2, 2, 2, 9];
    let stamp_len = WIDTHS.iter().map(|w| w + 1).sum::<usize>();
    if name.len() > stamp_len && name.is_char_boundary(name.len() - stamp_len) {
        let (base, stamp) = name.split_at(name.len() - stamp_len);
        // The dot first: a name may end in any bytes (a multi-byte character
        // where the stamp's dot would be cannot be sliced after it).
        if let Some(stamp) = stamp.strip_prefix('.') {
            let fields: Vec<&str> = stamp.split('.').collect();
            if fields.len() == 7 && fields.iter().zip(WIDTHS).all(|(f, w)| f.len() == w && all_digits(f)) {
                return (base, Rotation::Nats(stamp.to_string()));
            }
        }
    }
    (name, Rotation::Current)
}

/// The source named after a log file's path: its stem (the name without
/// rotation suffix and without its last extension: `/var/log/nats/n1.log.2.gz`
/// is `n1`), with `<folder>/` before it when `with_folder` is set
/// (`/srv/nats-a/nats.log` is `nats-a/nats`).
pub fn file_source(path: &str, with_folder: bool) -> String {
    let mut parts = path.rsplit(['/', '\\']).filter(|p| !p.is_empty());
    let name = parts.next().unwrap_or("");
    let (base, _) = strip_rotation(name);
    let stem = match base.rfind('.') {
        Some(dot) if dot > 0 => &base[..dot],
        _ => base,
    };
    match parts.next() {
        Some(folder) if with_folder => format!("{folder}/{stem}"),
        _ => stem.to_string(),
    }
}

/// A host's tag without the rotation suffix a rotated file's path left in
/// it (Fluent Bit's `Tag nats.*` on `/var/log/nats/n1.log.1` is
/// `nats.var.log.nats.n1.log.1`): nats-server's backup suffix and `.N.gz`
/// always, a bare `.N` only after `.log` (a tag such as `nats.1` may
/// name a server).
pub fn tag_source(tag: &str) -> String {
    tag_base(tag).to_string()
}

/// [`tag_source`], borrowed from the tag.
pub(crate) fn tag_base(tag: &str) -> &str {
    let (base, rotation) = strip_rotation(tag);
    let strip = match rotation {
        Rotation::Current => false,
        Rotation::Nats(_) => true,
        Rotation::Logrotate(_) => tag.ends_with(".gz") || base.ends_with(".log"),
    };
    if strip {
        base
    } else {
        tag
    }
}

/// The time a record carries besides its line, for a line with no time of
/// its own: the first of `time` (docker's json-file), `timestamp`
/// (Vector), `@timestamp` (Logstash, Elastic), `date` (Fluent Bit's JSON
/// outputs), journald's `_SOURCE_REALTIME_TIMESTAMP` and
/// `__REALTIME_TIMESTAMP`; each an RFC 3339 string or an epoch number
/// (as a number or a string, [`clock::parse_epoch`]).
pub fn time(record: &[u8]) -> Option<Micros> {
    time_in(&TopMembers::read(record))
}

/// [`time`] on a record whose members were read already.
pub(crate) fn time_in(top: &TopMembers<'_>) -> Option<Micros> {
    const KEYS: [&str; 6] = ["time", "timestamp", "@timestamp", "date", "_SOURCE_REALTIME_TIMESTAMP", "__REALTIME_TIMESTAMP"];
    KEYS.iter().find_map(|key| {
        let raw = top.all().iter().find(|(m, _)| json::key_is(m.key, key))?.0.value;
        let text = match json::string_value(raw) {
            Some(s) => s.into_owned(),
            None => std::str::from_utf8(raw).ok()?.to_string(),
        };
        let b = text.trim().as_bytes();
        match clock::parse_rfc3339(b) {
            Some((t, n)) if n == b.len() => Some(t),
            _ => clock::parse_epoch(b),
        }
    })
}

/// Sources name memory the detector keeps; a hostile record cannot make one huge.
fn bounded(s: Cow<'_, str>) -> Cow<'_, str> {
    const MAX: usize = 512;
    if s.len() <= MAX {
        return s;
    }
    let mut cut = MAX;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(&b[..cut]),
        Cow::Owned(mut o) => {
            o.truncate(cut);
            Cow::Owned(o)
        }
    }
}

/// True when the record already carries resetwatch's key (an alert copy
/// routed back through a filter): it is passed on, not read again.
pub fn has_alert(record: &[u8]) -> bool {
    Members::new(record).any(|m| json::key_is(m.key, ALERT_KEY))
}

/// Deepest record that takes an alert. The check below parses the record
/// recursively; real records nest 3 or 4 deep (Kubernetes metadata), and a
/// deeper one lets the alert ride on the next record instead.
const MAX_CARRIER_DEPTH: usize = 16;

/// Writes `record` with one more member, `"resetwatch": <alert_json>`, into
/// `out`. Returns false (and leaves `out` empty) when the record is not one
/// well-formed JSON object (nothing after its closing brace but white
/// space), so nothing invalid is ever handed back, or when it already
/// carries the key, so no record ever gets it twice.
pub fn with_alert(record: &[u8], alert_json: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    // The scanner finds keys in almost-JSON (a bad escape, `{]`, a number
    // like `1x`); a changed record must parse for the host, or Fluent Bit
    // drops it. Only records carrying an alert pay for the full syntax check.
    if !json::depth_at_most(record, MAX_CARRIER_DEPTH) || !json::is_object(record) {
        return false;
    }
    let mut members = Members::new(record);
    let mut count = 0;
    for m in members.by_ref() {
        if json::key_is(m.key, ALERT_KEY) {
            return false;
        }
        count += 1;
    }
    let Some(end) = members.end() else { return false };
    if record[end..].iter().any(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r')) {
        return false;
    }
    let close = end - 1;
    out.extend_from_slice(&record[..close]);
    if count > 0 {
        out.push(b',');
    }
    json::write_str(out, ALERT_KEY);
    out.push(b':');
    out.extend_from_slice(alert_json);
    out.push(b'}');
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(record: &str, tag: &str) -> String {
        let cfg = Config::default();
        let start = message_start(record.as_bytes(), &cfg.message_keys);
        let text = start.and_then(|s| message_at(record.as_bytes(), s)).unwrap_or_default();
        source(record.as_bytes(), &cfg, tag, &crate::input::line::split(text.as_bytes()))
    }

    /// The mask may only say "no" for a key that names no source: every
    /// path's every head (a name up to a `.`, or the whole path) passes it,
    /// for the default paths and configured ones; `log`, the usual key,
    /// does not.
    #[test]
    fn the_source_key_mask_passes_every_path_head() {
        let custom = Config {
            namespace_key: "kube.meta.ns".into(),
            pod_key: "pod_of_it".into(),
            host_keys: vec!["hostname".into(), "a_key_longer_than_sixty_three_bytes_for_the_last_bit_of_the_mask.x".into()],
            ..Config::default()
        };
        for cfg in [Config::default(), custom] {
            let keys = SourceKeys::of(&cfg);
            for path in source_paths(&cfg) {
                let heads = path.match_indices('.').map(|(i, _)| i).chain([path.len()]);
                for end in heads {
                    assert!(keys.may_be(end), "{path:?} up to {end}");
                }
            }
            assert!(!keys.may_be("log".len()));
            assert!(!keys.may_be("message".len()));
        }
        // And the answer is the one a comparison with every path gives.
        let rec = br#"{"log":"x","file":"/var/log/nats/n1.log"}"#;
        assert_eq!(source(rec, &Config::default(), "t", &crate::input::line::split(b"x")), "nats/n1");
    }

    #[test]
    fn finds_the_line_in_every_shape() {
        let cfg = Config::default();
        let table = [
            (r#"{"log":"[1] [WRN] x"}"#, Some("[1] [WRN] x")),
            (r#"{"time":"2025-06-11T09:45:46Z","stream":"stderr","log":"[1] [WRN] x"}"#, Some("[1] [WRN] x")),
            (r#"{"message":"m","host":"h"}"#, Some("m")),
            (r#"{"_HOSTNAME":"h","MESSAGE":"m"}"#, Some("m")),
            (r#"{"log":{"nested":1},"message":"m"}"#, Some("m")),
            (r#"{"msg":"m"}"#, None),
            (r#"not json"#, None),
        ];
        for (rec, want) in table {
            let got = message_start(rec.as_bytes(), &cfg.message_keys).and_then(|s| message_at(rec.as_bytes(), s));
            assert_eq!(got.as_deref(), want, "{rec}");
        }
    }

    #[test]
    fn names_the_source() {
        assert_eq!(src(r#"{"log":"x","kubernetes":{"namespace_name":"nats","pod_name":"nats-0"}}"#, "kube.x"), "nats/nats-0");
        assert_eq!(src(r#"{"log":"x","kubernetes":{"pod_name":"nats-0"},"host":"h1"}"#, "t"), "h1");
        assert_eq!(src(r#"{"message":"x","host":"node-a"}"#, "t"), "node-a");
        assert_eq!(src(r#"{"MESSAGE":"x","_HOSTNAME":"node-b"}"#, "t"), "node-b");
        // docker json-file: `stream` is stdout/stderr and means nothing here
        assert_eq!(src(r#"{"log":"x","stream":"stderr","time":"2025-06-11T09:45:46Z"}"#, "nats.n1"), "nats.n1");
        assert_eq!(src(r#"{"log":"x","host":""}"#, "nats.n1"), "nats.n1");
        assert_eq!(src(&format!(r#"{{"log":"x","host":"{}"}}"#, "é".repeat(400)), "t").len(), 512);
    }

    #[test]
    fn one_rule_names_the_server_of_every_record_shape() {
        // (what, record, host's tag, source)
        let s05 = "[8368] 2026/11/26 14:17:08.683482 [WRN] Resetting stream cluster state for '$G > ORDERS'";
        let rec = |extra: &str| format!(r#"{{"log":{},{extra}}}"#, serde_json::to_string(s05).unwrap());
        let msg = |extra: &str, line: &str| format!(r#"{{"message":{},{extra}}}"#, serde_json::to_string(line).unwrap());
        let table: Vec<(&str, String, &str, &str)> = vec![
            (
                "Fluent Bit's kubernetes filter names the pod",
                rec(r#""kubernetes":{"namespace_name":"nats","pod_name":"nats-0"},"host":"node-a""#),
                "kube.x",
                "nats/nats-0",
            ),
            (
                "Vector's kubernetes_logs names the pod its own way",
                msg(
                    r#""kubernetes":{"pod_namespace":"nats","pod_name":"nats-1"},"file":"/var/log/pods/nats_nats-1_u/nats/0.log""#,
                    s05,
                ),
                "vector",
                "nats/nats-1",
            ),
            (
                "docker's container_name wins over the host every container shares",
                msg(r#""container_name":"n2","host":"compose-host""#, s05),
                "vector",
                "n2",
            ),
            (
                "the fluentd log driver's container_name drops its slash",
                rec(r#""container_name":"/n3","source":"stderr""#),
                "docker",
                "n3",
            ),
            (
                "Vector's file source: the file, not the collector's host",
                msg(r#""file":"/var/log/nats/n1.log","host":"collector""#, s05),
                "vector",
                "nats/n1",
            ),
            (
                "the file's rotation suffix is dropped",
                msg(r#""file":"/var/log/nats/n1.log.2026.11.26.14.17.08.123456789","host":"collector""#, s05),
                "vector",
                "nats/n1",
            ),
            (
                "two folders of the same file name stay two servers",
                msg(r#""file":"/srv/nats-b/nats.log","host":"collector""#, s05),
                "vector",
                "nats-b/nats",
            ),
            (
                "a syslog line's own host wins over the record's",
                msg(
                    r#""host":"10.0.0.9""#,
                    "<28>1 2026-11-26T14:17:08.683482Z n2 nats-server 8382 - - Resetting stream cluster state for '$G > ORDERS'",
                ),
                "vector",
                "n2",
            ),
            (
                "journald's host and a program that is not nats-server",
                format!(r#"{{"MESSAGE":{},"_HOSTNAME":"h","SYSLOG_IDENTIFIER":"nats-b"}}"#, serde_json::to_string(s05).unwrap()),
                "systemd",
                "h/nats-b",
            ),
            (
                "journald's host alone for nats-server",
                format!(
                    r#"{{"MESSAGE":{},"_HOSTNAME":"h","SYSLOG_IDENTIFIER":"nats-server"}}"#,
                    serde_json::to_string(s05).unwrap()
                ),
                "systemd",
                "h",
            ),
            (
                "a tag from a rotated path drops logrotate's suffix",
                rec(r#""stream":"stderr""#),
                "nats.var.log.nats.n1.log.1",
                "nats.var.log.nats.n1.log",
            ),
            ("and nats-server's own", rec(r#""stream":"stderr""#), "nats.n1.log.2026.11.26.14.17.08.123456789", "nats.n1.log"),
            ("a tag that merely ends in a number is kept", rec(r#""stream":"stderr""#), "nats.1", "nats.1"),
        ];
        for (what, record, tag, want) in table {
            assert_eq!(src(&record, tag), want, "{what}: {record}");
        }
    }

    #[test]
    fn rotation_suffixes_and_the_age_of_each_part() {
        // (name, base, rotation)
        let table = [
            ("nats.log", "nats.log", Rotation::Current),
            ("nats.log.1", "nats.log", Rotation::Logrotate(1)),
            ("nats.log.2.gz", "nats.log", Rotation::Logrotate(2)),
            ("nats.log.gz", "nats.log", Rotation::Current),
            // docs/design/nats-server.md: `<logfile>.yyyy.mm.dd.hh.mm.ss.nnnnnnnnn`
            ("n1.log.2026.11.26.14.17.08.123456789", "n1.log", Rotation::Nats("2026.11.26.14.17.08.123456789".into())),
            // eight digits is no logrotate number and no nats-server stamp
            ("n1.log.2026.11.26.14.17.08.12345678", "n1.log.2026.11.26.14.17.08.12345678", Rotation::Current),
            ("1", "1", Rotation::Current),
            // a multi-byte character where the stamp's dot would be (found
            // by the record fuzz target): no stamp, and no panic
            ("ab\u{e9}1234567890123456789012345678", "ab\u{e9}1234567890123456789012345678", Rotation::Current),
        ];
        for (name, base, rot) in table {
            assert_eq!(strip_rotation(name), (base, rot), "{name}");
        }
        let mut parts = ["nats.log", "nats.log.1", "nats.log.3.gz", "nats.log.2.gz"];
        parts.sort_by(|a, b| strip_rotation(a).1.age_order().cmp(&strip_rotation(b).1.age_order()));
        assert_eq!(parts, ["nats.log.3.gz", "nats.log.2.gz", "nats.log.1", "nats.log"], "oldest first");
        assert_eq!(file_source("/var/log/nats/n2.log.2.gz", false), "n2");
        assert_eq!(file_source("/srv/nats-a/nats.log", true), "nats-a/nats");
        assert_eq!(file_source("nats-0", true), "nats-0");
    }

    #[test]
    fn every_time_a_record_carries() {
        // (what, record, RFC 3339 UTC)
        let table = [
            (
                "docker json-file's `time`",
                r#"{"log":"[37] [WRN] x\n","stream":"stderr","time":"2026-11-26T14:17:08.683482123Z"}"#,
                Some("2026-11-26T14:17:08.683482Z"),
            ),
            (
                "Vector's `timestamp`",
                r#"{"message":"[37] [WRN] x","timestamp":"2026-11-26T14:17:08.682791Z"}"#,
                Some("2026-11-26T14:17:08.682791Z"),
            ),
            (
                "Logstash's `@timestamp` with a zone",
                r#"{"message":"x","@timestamp":"2026-11-26T15:17:08.682+01:00"}"#,
                Some("2026-11-26T14:17:08.682000Z"),
            ),
            (
                "Fluent Bit's `date` as epoch seconds",
                r#"{"date":1795702628.682791,"log":"x"}"#,
                Some("2026-11-26T14:17:08.682791Z"),
            ),
            (
                "journald's source time before its receive time",
                r#"{"MESSAGE":"x","__REALTIME_TIMESTAMP":"1795702629000000","_SOURCE_REALTIME_TIMESTAMP":"1795702628682791"}"#,
                Some("2026-11-26T14:17:08.682791Z"),
            ),
            (
                "journald's receive time alone",
                r#"{"MESSAGE":"x","__REALTIME_TIMESTAMP":"1795702628682791"}"#,
                Some("2026-11-26T14:17:08.682791Z"),
            ),
            (
                "a `time` that is no time is passed over",
                r#"{"time":"soon","timestamp":"2026-11-26T14:17:08Z"}"#,
                Some("2026-11-26T14:17:08.000000Z"),
            ),
            ("nested times are not the record's", r#"{"log":"x","kubernetes":{"time":"2026-11-26T14:17:08Z"}}"#, None),
        ];
        for (what, rec, want) in table {
            assert_eq!(time(rec.as_bytes()).map(|t| clock::rfc3339(t, 0)).as_deref(), want, "{what}");
        }
    }

    #[test]
    fn adds_the_alert_member() {
        let mut out = Vec::new();
        assert!(with_alert(br#"{"log":"x"} "#, br#"{"a":1}"#, &mut out));
        assert_eq!(out, br#"{"log":"x","resetwatch":{"a":1}}"#);
        assert!(with_alert(b"{ }", b"1", &mut out));
        assert_eq!(out, br#"{ "resetwatch":1}"#);
        assert!(!with_alert(br#"{"log":"x""#, b"1", &mut out));
        assert!(out.is_empty());
        assert!(has_alert(br#"{"log":"x","resetwatch":{}}"#));
        assert!(!has_alert(br#"{"log":"resetwatch"}"#));
    }

    #[test]
    fn never_adds_a_second_alert_or_invalid_json() {
        // Regression (src/proptests.rs): a record that already carried
        // `resetwatch` got a second `resetwatch` member when an alert was
        // waiting and its own line was not a NATS event.
        let mut out = Vec::new();
        for rec in [&br#"{"log":"x","resetwatch":{"a":1}}"#[..], br#"{"resetw\u0061tch":1,"log":"x"}"#] {
            assert!(!with_alert(rec, b"{}", &mut out), "{}", String::from_utf8_lossy(rec));
            assert!(out.is_empty());
        }
        // Found writing the `record` fuzz target: bytes after the object that
        // hold a `}` made the answer invalid JSON (`{"a":1} ,"resetwatch":...}`).
        for rec in [&br#"{"a":1} }"#[..], br#"{"a":1}"}""#, br#"{"a":1}{}"#] {
            assert!(!with_alert(rec, b"{}", &mut out), "{}", String::from_utf8_lossy(rec));
        }
        assert!(with_alert(b"{\"a\":1}\n", b"{}", &mut out));
        assert_eq!(out, br#"{"a":1,"resetwatch":{}}"#);
        // Found replaying the fuzz corpus through the built module: the
        // scanner reads past a bad escape, so the alert made a record Fluent
        // Bit cannot parse (fuzz/regressions/record/bad_unicode_escape_...).
        // Almost-JSON never carries an alert; the next record will.
        let almost = [
            &br#"{"log":"[1] x","host":"n\u"}"#[..],
            br#"{"log":"x\q"}"#,
            br#"{"log":"\ud800"}"#,
            br#"{"log":"x","n":1x}"#,
            br#"{"log":"x","a":[1}"#,
            b"{\"log\":\"tab\there\"}",
            b"{\"log\":\"\xff\"}",
        ];
        for rec in almost {
            assert!(!with_alert(rec, b"{}", &mut out), "{}", String::from_utf8_lossy(rec));
            assert!(out.is_empty());
        }
        // Deeper than any real record: the alert waits for the next one.
        let deep = format!("{{\"log\":\"x\",\"d\":{}1{}}}", "[".repeat(20), "]".repeat(20));
        assert!(!with_alert(deep.as_bytes(), b"{}", &mut out));
        let ok = format!("{{\"log\":\"x\",\"d\":{}1{}}}", "[".repeat(10), "]".repeat(10));
        assert!(with_alert(ok.as_bytes(), b"{}", &mut out));
    }
}
