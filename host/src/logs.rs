//! Archived logs as `resetwatch replay` reads them: several inputs (plain
//! or gzip files, `-` for stdin), each line a raw log line or an NDJSON
//! record, merged into one stream by line time.
//!
//! - **Format**: gzip is recognised by its magic bytes, whatever the name
//!   (concatenated members, as `cat a.gz b.gz` makes, are read through).
//! - **Kind**: a line whose first non-blank byte is `{` and that parses as a
//!   JSON object is a [`Kind::Record`]; anything else is a [`Kind::Line`].
//!   Empty lines are skipped; a CR before the LF is dropped.
//! - **Source**: each input's source is named after its file
//!   ([`resetwatch::record::file_source`]): the stem, without rotation
//!   suffixes (`n1.log`, `n1.log.1`, `n1.log.2.gz` and nats-server's
//!   `n1.log.2026.11.26.14.17.08.123456789` are all `n1`; stdin is `stdin`).
//!   The parts of one rotated log (same folder, same name once the suffix
//!   is dropped) are read as one input, oldest part first (nats-server's
//!   backups by their time, then logrotate's from the highest number down,
//!   then the current file). When inputs in different folders have the
//!   same file name, each is named `<folder>/<stem>`. That name is the
//!   source of the input's raw lines and the tag of its records; a line's
//!   own wrapper (syslog host, stern pod) and a record's source keys win
//!   over it inside the core ([`resetwatch::record::pick_source`]).
//! - **Time**: a line's own time, read with the core's parser (NATS, CRI,
//!   journald, syslog, rsyslog, stern, kubectl layouts; NATS's zone-less
//!   times with `line_utc_offset`); for a record, the time of its log line,
//!   else the time the record carries ([`resetwatch::record::time`]: `time`,
//!   `timestamp`, `@timestamp`, `date`, journald's), else, for a `/jsz`
//!   document, its `now` (the server's time of the snapshot). A line with
//!   none takes the time of the last timed line before it in its input plus
//!   1 µs for each untimed line since (so lines with no time stay distinct
//!   and in order); lines before an input's first timed line take that
//!   line's time minus 1 µs for each untimed line between (looked for up to
//!   [`LOOKAHEAD`] lines ahead), else the file's modification time plus
//!   1 µs per line. So a replay of the same files is the same every time.
//! - **Merge**: the input whose next line is earliest goes first; ties go
//!   to the input listed first; each input keeps its own order even where
//!   its times go backwards.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _, Result};
use resetwatch::clock::Micros;
use resetwatch::{jsz, line, record, Config};

/// How far ahead an input is searched for its first timed line.
pub const LOOKAHEAD: usize = 10_000;

/// Read buffer per input.
const BUF: usize = 64 * 1024;

/// What a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An NDJSON record (a JSON object): `detector.process`.
    Record,
    /// A raw log line: `detector.process-line`.
    Line,
}

/// One line of one input, with the time it is replayed at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Index of the input (in the order given).
    pub input: usize,
    /// 1-based line number in the input.
    pub line_no: u64,
    pub kind: Kind,
    /// The line without its line end.
    pub bytes: Vec<u8>,
    /// When it is replayed (µs since the epoch, UTC).
    pub time: Micros,
}

/// The source for `path` alone: its stem without rotation suffixes
/// (`/var/log/n1.log.2.gz` -> `n1`); `stdin` for `-`. [`Merged::open`]
/// adds the folder when two inputs would share a name.
pub fn source_for(path: &Path) -> String {
    if path == Path::new("-") {
        return "stdin".to_string();
    }
    record::file_source(&path.to_string_lossy(), false)
}

/// The paths given, grouped into inputs: the parts of one rotated log
/// (same folder, same name without the rotation suffix) oldest first, each
/// with its source; inputs in the order their first part was given.
pub fn group_inputs<P: AsRef<Path>>(paths: &[P]) -> Vec<(String, Vec<PathBuf>)> {
    let mut groups: Vec<(PathBuf, String, Vec<PathBuf>)> = Vec::new();
    for p in paths {
        let path = p.as_ref();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let key = if path == Path::new("-") { "-".to_string() } else { record::strip_rotation(&name).0.to_string() };
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        match groups.iter_mut().find(|(d, k, _)| *d == dir && *k == key && key != "-") {
            Some((_, _, parts)) => parts.push(path.to_path_buf()),
            None => groups.push((dir, key, vec![path.to_path_buf()])),
        }
    }
    let age = |p: &PathBuf| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (_, rotation) = record::strip_rotation(&name);
        let (class, n, stamp) = rotation.age_order();
        (class, n, stamp.to_string())
    };
    for (_, _, parts) in &mut groups {
        parts.sort_by_cached_key(age);
    }
    let plain: Vec<String> = groups.iter().map(|(_, _, parts)| source_for(&parts[0])).collect();
    groups
        .iter()
        .zip(&plain)
        .map(|((dir, key, parts), name)| {
            // The same file name in two folders: one folder per server.
            // (`n2.log` and `n2.jsonl` are one server's log and snapshots.)
            let shared = groups.iter().filter(|(d, k, _)| k == key && d != dir).count() > 0;
            let source = if !shared {
                name.clone()
            } else {
                let with_folder = record::file_source(&parts[0].to_string_lossy(), true);
                // The same folder name under two parents: the whole folder path.
                if groups
                    .iter()
                    .filter(|(_, k, p)| k == key && record::file_source(&p[0].to_string_lossy(), true) == with_folder)
                    .count()
                    > 1
                {
                    format!("{}/{name}", dir.display())
                } else {
                    with_folder
                }
            };
            (source, parts.clone())
        })
        .collect()
}

/// Why a list of inputs is refused when it names stdin twice.
const STDIN_TWICE: &str = "`-` (stdin) given more than once";

/// Checks `paths` as [`Merged::open`] opens them, in the same order and
/// with the same errors (stdin at most once; every file there to open and
/// not a directory), so that a command refuses a bad list before it
/// starts anything. The files are opened and closed; nothing is read.
pub fn check_inputs<P: AsRef<Path>>(paths: &[P]) -> Result<()> {
    let mut stdin_seen = false;
    for (_, parts) in group_inputs(paths) {
        for path in &parts {
            if path == Path::new("-") {
                if std::mem::replace(&mut stdin_seen, true) {
                    bail!(STDIN_TWICE);
                }
            } else {
                open_file(path)?;
            }
        }
    }
    Ok(())
}

/// One file input, opened, and its metadata: the one place that says why
/// a file cannot be an input.
fn open_file(path: &Path) -> Result<(File, std::fs::Metadata)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let meta = file.metadata().with_context(|| crate::loading::cannot_read(path))?;
    if meta.is_dir() {
        bail!("{} is a directory", path.display());
    }
    Ok((file, meta))
}

/// Counts the bytes read from an underlying file (for the progress bar:
/// compressed bytes for gzip, so the total is the files' sizes).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// How line times are read: the parts of the configuration that matter.
#[derive(Clone, Debug)]
struct Rules {
    offset: Micros,
    message_keys: Vec<String>,
}

/// A line read but not yet given its replay time.
struct Raw {
    line_no: u64,
    kind: Kind,
    bytes: Vec<u8>,
    time: Option<Micros>,
}

/// One input being read.
struct Input {
    name: String,
    source: String,
    reader: Box<dyn BufRead>,
    line_no: u64,
    eof: bool,
    /// Time of the latest line replayed (the time of lines with none).
    last: Option<Micros>,
    /// Before any timed line: the modification time (stdin: now). Also the
    /// "now" a syslog stamp takes its year from.
    fallback: Micros,
    /// Lines read ahead while looking for a time.
    ahead: VecDeque<Raw>,
    /// The next entry, time known.
    head: Option<Entry>,
    buf: Vec<u8>,
}

impl Input {
    /// Reads the next non-empty line, if any.
    fn read_raw(&mut self, rules: &Rules) -> Result<Option<Raw>> {
        while !self.eof {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .with_context(|| format!("{}: cannot read line {}", self.name, self.line_no + 1))?;
            if n == 0 {
                self.eof = true;
                break;
            }
            self.line_no += 1;
            let mut bytes = &self.buf[..];
            bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
            bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let now = self.last.unwrap_or(self.fallback);
            let (kind, time) = classify(bytes, rules, now);
            return Ok(Some(Raw { line_no: self.line_no, kind, bytes: bytes.to_vec(), time }));
        }
        Ok(None)
    }

    /// Makes sure `head` holds the next entry (or the input is done).
    fn fill(&mut self, index: usize, rules: &Rules) -> Result<()> {
        if self.head.is_some() {
            return Ok(());
        }
        let raw = match self.ahead.pop_front() {
            Some(r) => r,
            None => match self.read_raw(rules)? {
                Some(r) => r,
                None => return Ok(()),
            },
        };
        let time = match (raw.time, self.last) {
            (Some(t), _) => t,
            // 1 µs after the line before: distinct, and in order
            (None, Some(last)) => last + 1,
            (None, None) => match self.first_time_ahead(rules)? {
                // stays before that line: 1 µs per untimed line between
                Some((t, between)) => t - 1 - between as i64,
                None => self.fallback,
            },
        };
        self.last = Some(time);
        self.head = Some(Entry { input: index, line_no: raw.line_no, kind: raw.kind, bytes: raw.bytes, time });
        Ok(())
    }

    /// The time of the first timed line within [`LOOKAHEAD`] lines, and
    /// how many untimed lines lie before it.
    fn first_time_ahead(&mut self, rules: &Rules) -> Result<Option<(Micros, usize)>> {
        if let Some(found) = self.ahead.iter().enumerate().find_map(|(i, r)| r.time.map(|t| (t, i))) {
            return Ok(Some(found));
        }
        while self.ahead.len() < LOOKAHEAD {
            let Some(raw) = self.read_raw(rules)? else { break };
            let t = raw.time;
            self.ahead.push_back(raw);
            if let Some(t) = t {
                return Ok(Some((t, self.ahead.len() - 1)));
            }
        }
        Ok(None)
    }
}

/// Record or line, and its own time.
fn classify(bytes: &[u8], rules: &Rules, now: Micros) -> (Kind, Option<Micros>) {
    let first = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0);
    if bytes[first..].starts_with(b"{") && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        return (Kind::Record, record_time(bytes, rules, now));
    }
    (Kind::Line, line::split(bytes).time(rules.offset, now))
}

/// The time of a record's log line, else the time the record carries
/// (the core's rule), else of the `/jsz` document in it.
fn record_time(rec: &[u8], rules: &Rules, now: Micros) -> Option<Micros> {
    let from_line =
        record::message_start(rec, &rules.message_keys).and_then(|start| line::split(&rec[start..]).time(rules.offset, now));
    from_line
        .or_else(|| record::time(rec))
        .or_else(|| jsz::find(rec, &rules.message_keys).and_then(|doc| jsz::parse(&doc)).and_then(|j| j.now))
}

/// Where an input comes from, for messages and the source.
#[derive(Clone, Debug)]
pub struct InputInfo {
    /// The paths as given (`-` for stdin), oldest part first.
    pub paths: Vec<PathBuf>,
    /// The source (file stem, or folder and stem).
    pub source: String,
    /// Size in bytes of a regular file (compressed size for gzip).
    pub size: Option<u64>,
}

/// Several inputs merged by line time.
pub struct Merged {
    inputs: Vec<Input>,
    info: Vec<InputInfo>,
    rules: Rules,
    read: Arc<AtomicU64>,
}

impl Merged {
    /// Opens every input (all before reading any, so that a missing file
    /// fails at once). `cfg` gives `line_utc_offset` and `message_keys`.
    pub fn open<P: AsRef<Path>>(paths: &[P], cfg: &Config) -> Result<Merged> {
        let read = Arc::new(AtomicU64::new(0));
        let mut inputs = Vec::new();
        let mut info = Vec::new();
        let mut stdin_seen = false;
        for (source, parts) in group_inputs(paths) {
            let mut readers: Vec<Box<dyn Read>> = Vec::new();
            let mut size = Some(0u64);
            let mut fallback = 0;
            for path in &parts {
                let stdin = path == Path::new("-");
                if stdin && std::mem::replace(&mut stdin_seen, true) {
                    bail!(STDIN_TWICE);
                }
                let (raw, len, mtime): (Box<dyn Read>, _, _) = if stdin {
                    (Box::new(io::stdin()), None, wall_clock())
                } else {
                    let (file, meta) = open_file(path)?;
                    let mtime = meta.modified().map_or(0, micros_of);
                    (Box::new(file), meta.is_file().then_some(meta.len()), mtime)
                };
                // The oldest part's time comes first; untimed lines count on from it.
                if readers.is_empty() {
                    fallback = mtime;
                }
                size = size.zip(len).map(|(a, b)| a + b);
                let name = if stdin { "stdin".to_string() } else { path.display().to_string() };
                let mut counted = BufReader::with_capacity(BUF, Counting { inner: raw, count: read.clone() });
                let gzip = counted.fill_buf().with_context(|| format!("cannot read {name}"))?.starts_with(&[0x1f, 0x8b]);
                let part: Box<dyn Read> =
                    if gzip { Box::new(flate2::bufread::MultiGzDecoder::new(counted)) } else { Box::new(counted) };
                if !readers.is_empty() {
                    // a part that does not end with a line end ends its last line
                    readers.push(Box::new(io::Cursor::new(b"\n")));
                }
                readers.push(part);
            }
            let chained = readers.into_iter().reduce(|a, b| Box::new(a.chain(b))).unwrap_or_else(|| Box::new(io::empty()));
            let reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(BUF, chained));
            let name = parts
                .iter()
                .map(|p| if p == Path::new("-") { "stdin".into() } else { p.display().to_string() })
                .collect::<Vec<_>>()
                .join(" + ");
            info.push(InputInfo { paths: parts, source: source.clone(), size });
            inputs.push(Input {
                name,
                source,
                reader,
                line_no: 0,
                eof: false,
                last: None,
                fallback,
                ahead: VecDeque::new(),
                head: None,
                buf: Vec::new(),
            });
        }
        let rules = Rules { offset: cfg.line_utc_offset, message_keys: cfg.message_keys.clone() };
        Ok(Merged { inputs, info, rules, read })
    }

    /// The inputs, in the order given.
    pub fn inputs(&self) -> &[InputInfo] {
        &self.info
    }

    /// The source of input `index`.
    pub fn source(&self, index: usize) -> &str {
        &self.inputs[index].source
    }

    /// The total size of the inputs, when every one is a regular file.
    pub fn total_bytes(&self) -> Option<u64> {
        self.info.iter().map(|i| i.size).sum()
    }

    /// Bytes read so far from the underlying files (a shared counter).
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// The next line of all inputs, earliest first.
    pub fn next_entry(&mut self) -> Result<Option<Entry>> {
        let mut best: Option<(usize, Micros)> = None;
        for (i, input) in self.inputs.iter_mut().enumerate() {
            input.fill(i, &self.rules)?;
            if let Some(e) = &input.head {
                if best.is_none_or(|(_, t)| e.time < t) {
                    best = Some((i, e.time));
                }
            }
        }
        Ok(best.and_then(|(i, _)| self.inputs[i].head.take()))
    }
}

impl Iterator for Merged {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

fn micros_of(t: SystemTime) -> Micros {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as Micros)
}

fn wall_clock() -> Micros {
    micros_of(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use resetwatch::clock;

    #[test]
    fn sources_are_file_stems() {
        assert_eq!(source_for(Path::new("n1.log")), "n1");
        assert_eq!(source_for(Path::new("/var/log/nats/n2.log.gz")), "n2");
        assert_eq!(source_for(Path::new("logs/nats-0")), "nats-0");
        assert_eq!(source_for(Path::new("records.ndjson")), "records");
        assert_eq!(source_for(Path::new("-")), "stdin");
    }

    #[test]
    fn rotated_parts_join_oldest_first_and_colliding_stems_take_their_folder() {
        // (what, paths as given, inputs: source and parts in reading order)
        type Inputs<'a> = &'a [(&'a str, &'a [&'a str])];
        let table: [(&str, &[&str], Inputs); 5] = [
            (
                "logrotate's parts, compressed or not, join in age order",
                &["l/nats.log", "l/nats.log.1", "l/nats.log.2.gz"],
                &[("nats", &["l/nats.log.2.gz", "l/nats.log.1", "l/nats.log"])],
            ),
            (
                "nats-server's own backups join by their time",
                &["l/n1.log", "l/n1.log.2026.11.26.14.17.08.900000000", "l/n1.log.2026.11.26.14.17.05.100000000"],
                &[("n1", &["l/n1.log.2026.11.26.14.17.05.100000000", "l/n1.log.2026.11.26.14.17.08.900000000", "l/n1.log"])],
            ),
            (
                "one folder per server with the same file name",
                &["srv/a/nats.log", "srv/b/nats.log", "srv/b/nats.log.1"],
                &[("a/nats", &["srv/a/nats.log"]), ("b/nats", &["srv/b/nats.log.1", "srv/b/nats.log"])],
            ),
            (
                "one server's log and snapshots share a stem, not a file name",
                &["cluster/run/n2.log", "jsz/run/n2.jsonl"],
                &[("n2", &["cluster/run/n2.log"]), ("n2", &["jsz/run/n2.jsonl"])],
            ),
            (
                "the same folder name under two parents: the whole folder",
                &["x/a/nats.log", "y/a/nats.log", "y/n2.log"],
                &[("x/a/nats", &["x/a/nats.log"]), ("y/a/nats", &["y/a/nats.log"]), ("n2", &["y/n2.log"])],
            ),
        ];
        for (what, paths, want) in table {
            let got: Vec<(String, Vec<String>)> = group_inputs(paths)
                .into_iter()
                .map(|(s, parts)| (s, parts.iter().map(|p| p.display().to_string()).collect()))
                .collect();
            let want: Vec<(String, Vec<String>)> =
                want.iter().map(|(s, parts)| (s.to_string(), parts.iter().map(|p| p.to_string()).collect())).collect();
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn a_rotated_log_reads_as_one_input_and_untimed_lines_stay_distinct() {
        use std::io::Write as _;
        let dir = std::env::temp_dir().join(format!("resetwatch-logs-rot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"[37] [INF] oldest, no time\n[37] 1970/01/01 00:00:05 [INF] oldest").unwrap();
        std::fs::write(dir.join("nats.log.2.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(dir.join("nats.log.1"), b"[37] [WRN] a\n[37] [WRN] a\n").unwrap();
        std::fs::write(dir.join("nats.log"), b"[37] 1970/01/01 00:00:09 [INF] newest\n").unwrap();
        let paths = [dir.join("nats.log"), dir.join("nats.log.1"), dir.join("nats.log.2.gz")];
        let m = Merged::open(&paths, &Config::default()).unwrap();
        assert_eq!(m.inputs().len(), 1);
        assert_eq!(m.source(0), "nats");
        let got: Vec<(String, i64)> = m.map(|e| e.unwrap()).map(|e| (String::from_utf8(e.bytes).unwrap(), e.time)).collect();
        let s = 1_000_000;
        assert_eq!(
            got,
            [
                ("[37] [INF] oldest, no time".to_string(), 5 * s - 1),
                ("[37] 1970/01/01 00:00:05 [INF] oldest".to_string(), 5 * s),
                ("[37] [WRN] a".to_string(), 5 * s + 1),
                ("[37] [WRN] a".to_string(), 5 * s + 2),
                ("[37] 1970/01/01 00:00:09 [INF] newest".to_string(), 9 * s),
            ]
        );
    }

    fn rules() -> Rules {
        let cfg = Config::default();
        Rules { offset: cfg.line_utc_offset, message_keys: cfg.message_keys }
    }

    #[test]
    fn records_and_lines_and_their_times() {
        let t = clock::parse_rfc3339(b"2026-11-26T14:17:08.682791Z").unwrap().0;
        let line = b"[8368] 2026/11/26 14:17:08.682791 [WRN] Resetting stream cluster state for '$G > ORDERS'";
        assert_eq!(classify(line, &rules(), 0), (Kind::Line, Some(t)));
        let rec = br#"{"log":"[8368] 2026/11/26 14:17:08.682791 [WRN] x","stream":"stderr"}"#;
        assert_eq!(classify(rec, &rules(), 0), (Kind::Record, Some(t)));
        let vector = br#"{"message":"[37] [WRN] x","timestamp":"2026-11-26T14:17:08.682791Z"}"#;
        assert_eq!(classify(vector, &rules(), 0), (Kind::Record, Some(t)));
        // braces that are not one JSON object are a raw line
        assert_eq!(classify(b"{not json", &rules(), 0), (Kind::Line, None));
        assert_eq!(classify(b"{} {}", &rules(), 0).0, Kind::Line);
        assert_eq!(classify(b"  {\"a\":1}", &rules(), 0), (Kind::Record, None));
        // a /jsz document (captured from the real cluster, on one line) at its `now`
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/corpus/s05_pair_reset_loop_catchup_no_leader_v2.10.25/jsz/end_n1.json"
        ))
        .unwrap()
        .replace('\n', "");
        let now = clock::parse_rfc3339(b"2026-11-26T14:18:43.652507Z").unwrap().0;
        assert_eq!(classify(doc.as_bytes(), &rules(), 0), (Kind::Record, Some(now)));
    }

    fn tmp(name: &str, content: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("resetwatch-logs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    #[test]
    fn inputs_merge_by_time_and_untimed_lines_follow_their_neighbours() {
        let a = tmp(
            "a.log",
            b"banner without time\r\n\n[1] 1970/01/01 00:00:10 [INF] a1\ncontinued\n[1] 1970/01/01 00:00:30 [INF] a2",
        );
        let b = tmp("b.log", b"[2] 1970/01/01 00:00:10 [INF] b1\n{\"log\":\"[2] 1970/01/01 00:00:20 [INF] b2\"}\n");
        let m = Merged::open(&[&a, &b], &Config::default()).unwrap();
        assert_eq!(m.inputs().iter().map(|i| i.source.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        let got: Vec<(usize, u64, Kind, i64)> = m.map(|e| e.unwrap()).map(|e| (e.input, e.line_no, e.kind, e.time)).collect();
        let s = 1_000_000;
        // untimed lines 1 µs before the first timed line, 1 µs after the last
        assert_eq!(
            got,
            [
                (0, 1, Kind::Line, 10 * s - 1),
                (0, 3, Kind::Line, 10 * s),
                (1, 1, Kind::Line, 10 * s),
                (0, 4, Kind::Line, 10 * s + 1),
                (1, 2, Kind::Record, 20 * s),
                (0, 5, Kind::Line, 30 * s),
            ]
        );
    }

    #[test]
    fn gzip_is_read_by_its_magic() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"[1] 1970/01/01 00:00:01 [INF] one\n").unwrap();
        let mut bytes = gz.finish().unwrap();
        // a second member, as `cat a.gz b.gz` makes
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"[1] 1970/01/01 00:00:02 [INF] two\n").unwrap();
        bytes.extend(gz.finish().unwrap());
        let p = tmp("n9.log.gz", &bytes);
        let m = Merged::open(&[&p], &Config::default()).unwrap();
        assert_eq!(m.source(0), "n9");
        assert_eq!(m.total_bytes(), Some(bytes.len() as u64));
        let lines: Vec<Vec<u8>> = m.map(|e| e.unwrap().bytes).collect();
        assert_eq!(lines, [b"[1] 1970/01/01 00:00:01 [INF] one".to_vec(), b"[1] 1970/01/01 00:00:02 [INF] two".to_vec()]);
    }

    #[test]
    fn a_missing_file_fails_before_anything_is_read() {
        let err = Merged::open(&[Path::new("/nonexistent/n1.log")], &Config::default()).err().unwrap();
        assert!(err.to_string().contains("/nonexistent/n1.log"), "{err}");
    }
}
