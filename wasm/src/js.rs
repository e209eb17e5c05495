//! The JavaScript shell (`wasm-bindgen`, `wasm32-unknown-unknown`): how the
//! log explorer in `web/` and Node programs use the core. It only
//! translates: JS strings and byte arrays in, JSON-shaped JS values out.
//! Reading files in chunks, host times and the per-stream account are
//! [`crate::analysis`]'s.

use resetwatch::clock::{rfc3339, Micros, SECOND};
use resetwatch::json::ObjectWriter;
use resetwatch::Alert;
use resetwatch::Analysis;
use resetwatch::Config;
use resetwatch::StorageAlert;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** One reset-loop alert; the fields are docs/alerts.md#reset-loop-alert-fields. */
export interface Alert {
  alert: "nats_stream_reset_loop";
  status: "firing" | "resolved";
  /** critical: critical_pairs in the window, or a reset the stream did not get while firing (disk-full decline, unanswered cause). */
  severity: "warning" | "critical";
  /** The rule that raised the episode's alert (docs/detection.md): "window" (warning_pairs within window_seconds) or "leak" (leak_pairs leaking resets in one episode, each within quiet_seconds of the last, on a leaking or unknown release). */
  rule: "window" | "leak";
  source: string;
  server_name: string | null;
  server_id: string | null;
  server_version: string | null;
  known_leak: boolean | null;
  account: string;
  stream: string;
  pairs_in_window: number;
  window_seconds: number;
  pairs_total: number;
  leaking_resets_total: number;
  /** Resets not got: disk-full declines and reset causes no reset answered. */
  declined_resets_total: number;
  last_cause: string | null;
  /** The stream's max_bytes from the server's latest /jsz snapshot (-1: unlimited); null without one. */
  max_bytes: number | null;
  /** leaking_resets_total times max_bytes; null while max_bytes is unknown. */
  estimated_leaked_bytes: number | null;
  /** RFC 3339 at `line_utc_offset`: the episode's first reset cause, as printed. */
  first_seen: string;
  /** first_seen plus the episode's length on the source's arrival timeline (a step back of the server's clock is added back: never before first_seen). */
  last_seen: string;
  summary: string;
  runbook: string[];
}

/** One reserved-storage alert, from /jsz records (docs/alerts.md#storage-alert-fields). */
export interface StorageAlert {
  alert: "nats_reserved_storage_inflated";
  status: "firing" | "resolved";
  severity: "warning" | "critical";
  source: string;
  server_name: string | null;
  server_id: string;
  server_version: string | null;
  known_leak: boolean | null;
  reserved_storage: number;
  sum_max_bytes: number;
  excess_bytes: number;
  max_storage: number | null;
  growth_bytes_per_minute: number;
  /** null when reserved storage is not growing. */
  seconds_to_max_storage: number | null;
  /** `<account> > <stream>` in a reset loop on this server now. */
  looping_streams: string[];
  first_seen: string;
  last_seen: string;
  summary: string;
  runbook: string[];
}

/** One reset pair: a reset cause, then the reset of the same stream. */
export interface ResetPair {
  source: string;
  account: string;
  stream: string;
  /** The reset's line time, RFC 3339 at `line_utc_offset`. */
  time: string;
  /** The same, in microseconds since the Unix epoch (UTC). */
  time_us: number;
  /** Pairs of this stream in the window ending at `time`. */
  in_window: number;
  cause: string;
  /** The cause leaks a reservation on affected versions. */
  leaks: boolean;
}

/** One (source, account, stream) with reset pairs or alerts. */
export interface StreamRow {
  source: string;
  account: string;
  stream: string;
  pairs: number;
  leaking_pairs: number;
  first_seen: string;
  last_seen: string;
  /** Most pairs seen in one window. */
  peak_in_window: number;
  last_cause: string;
  /** Highest severity alerted; null when it never fired. */
  severity: "warning" | "critical" | null;
  /** The last alert was still firing at the end of the input. */
  firing: boolean;
  server_name: string | null;
  server_version: string | null;
  known_leak: boolean | null;
  /** [first firing, resolution or null while firing], RFC 3339. */
  alert_spans: [string, string | null][];
}

/** What was read. */
export interface Totals {
  bytes: number;
  /** Non-empty lines. */
  lines: number;
  /** Lines longer than 64 KiB (read cut). */
  long_lines: number;
  /** NATS event lines handed to the detector. */
  events: number;
  /** Event lines seen before (same source, time and text), counted once. */
  duplicates: number;
  pairs: number;
  resets_without_cause: number;
  /** Pairs beyond the 200,000 kept for `pairs()` (still counted in `streams()`). */
  pairs_not_kept: number;
  /** Earliest and latest line time, RFC 3339 and microseconds; null with no timed line. */
  first_time: string | null;
  last_time: string | null;
  first_time_us: number | null;
  last_time_us: number | null;
  /** NATS event lines read behind a prefix no layout resetwatch knows, all sources. */
  unknown_layout_lines: number;
  /** The same per source, in the order first seen, with the first such line. */
  unknown_layouts: { source: string; lines: number; example: string }[];
}

/** The options in force (the configuration's names; durations in seconds). */
export interface Settings {
  window_seconds: number;
  warning_pairs: number;
  critical_pairs: number;
  /** Leaking resets in one episode that raise the leak rule (docs/detection.md). */
  leak_pairs: number;
  pair_gap_seconds: number;
  repeat_seconds: number;
  quiet_seconds: number;
  /** `line_utc_offset`, in seconds east of UTC. */
  line_utc_offset_seconds: number;
}
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = JSON, js_name = parse)]
    fn json_parse(text: &str) -> JsValue;
}

/// resetwatch's version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The source a file's lines come from, as `resetwatch replay` names it:
/// the file's stem without rotation suffixes (`n1.log`, `n1.log.1` and
/// `n1.log.2.gz` are all `n1`; the core's rule).
#[wasm_bindgen(js_name = sourceOfFile)]
pub fn source_of_file(name: &str) -> String {
    resetwatch::record::file_source(name, false)
}

/// One analysis of log text: configure, feed text in chunks, read results.
#[wasm_bindgen]
pub struct Analyzer {
    inner: Analysis,
}

fn seconds(t: Micros) -> String {
    if t % SECOND == 0 {
        (t / SECOND).to_string()
    } else {
        (t as f64 / SECOND as f64).to_string()
    }
}

fn array<T>(items: impl Iterator<Item = T>, write: impl FnMut(&T, &mut Vec<u8>)) -> JsValue {
    json_parse(&array_json(items, write))
}

/// The JSON text of an array, each item written by `write`.
fn array_json<T>(items: impl Iterator<Item = T>, mut write: impl FnMut(&T, &mut Vec<u8>)) -> String {
    let mut out = vec![b'['];
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(&item, &mut out);
    }
    out.push(b']');
    String::from_utf8_lossy(&out).into_owned()
}

#[wasm_bindgen]
impl Analyzer {
    /// An analyzer with the options of a `resetwatch.json` document (the
    /// defaults when absent or empty). Throws an `Error` naming the bad key.
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: Option<String>) -> Result<Analyzer, JsError> {
        let cfg = match config_json.as_deref().map(str::trim) {
            None | Some("") => Config::default(),
            Some(text) => {
                Config::from_json(text.as_bytes()).map_err(|e| JsError::new(&format!("resetwatch configuration: {e}")))?
            }
        };
        Ok(Analyzer { inner: Analysis::new(cfg) })
    }

    /// Reads the next chunk of `source`'s log text (lines, or JSON records
    /// one per line). An unfinished last line waits for the next chunk.
    #[wasm_bindgen(js_name = feedLines)]
    pub fn feed_lines(&mut self, source: &str, text: &str) {
        self.inner.feed(source, text.as_bytes());
    }

    /// As `feedLines`, for UTF-8 bytes as read from a file (no decoding needed).
    #[wasm_bindgen(js_name = feedBytes)]
    pub fn feed_bytes(&mut self, source: &str, bytes: &[u8]) {
        self.inner.feed(source, bytes);
    }

    /// Reads every unfinished last line; call at the end of the input.
    pub fn finish(&mut self) {
        self.inner.finish();
    }

    /// Every reset-loop alert raised, in order.
    #[wasm_bindgen(unchecked_return_type = "Alert[]")]
    pub fn alerts(&self) -> JsValue {
        array(self.inner.alerts().iter(), |a: &&Alert, out| a.write_json(out))
    }

    /// Every reserved-storage alert raised (from /jsz records), in order.
    #[wasm_bindgen(js_name = storageAlerts, unchecked_return_type = "StorageAlert[]")]
    pub fn storage_alerts(&self) -> JsValue {
        array(self.inner.storage_alerts().iter(), |a: &&StorageAlert, out| a.write_json(out))
    }

    /// The reset pairs, in the order seen (the first 200,000).
    #[wasm_bindgen(unchecked_return_type = "ResetPair[]")]
    pub fn pairs(&self) -> JsValue {
        let offset = self.inner.config().line_utc_offset;
        array(self.inner.pairs().iter(), |p, out| out.extend_from_slice(p.to_json(offset).as_bytes()))
    }

    /// One row per stream with pairs or alerts, most pairs first.
    #[wasm_bindgen(unchecked_return_type = "StreamRow[]")]
    pub fn streams(&self) -> JsValue {
        let offset = self.inner.config().line_utc_offset;
        array(self.inner.streams().into_iter(), |r, out| out.extend_from_slice(r.to_json(offset).as_bytes()))
    }

    /// What was read.
    #[wasm_bindgen(unchecked_return_type = "Totals")]
    pub fn totals(&self) -> JsValue {
        let (t, s) = (self.inner.totals(), self.inner.stats());
        let offset = self.inner.config().line_utc_offset;
        let mut out = Vec::new();
        let mut w = ObjectWriter::new(&mut out);
        w.num("bytes", t.bytes as i64)
            .num("lines", t.lines as i64)
            .num("long_lines", t.long_lines as i64)
            .num("events", s.events as i64)
            .num("duplicates", s.duplicates as i64)
            .num("pairs", s.pairs as i64)
            .num("resets_without_cause", s.resets_without_cause as i64)
            .num("pairs_not_kept", t.pairs_not_kept as i64)
            .opt_str("first_time", t.first_time.map(|x| rfc3339(x, offset)).as_deref())
            .opt_str("last_time", t.last_time.map(|x| rfc3339(x, offset)).as_deref())
            .opt_num("first_time_us", t.first_time)
            .opt_num("last_time_us", t.last_time);
        let unknown = self.inner.unknown_layouts();
        w.num("unknown_layout_lines", unknown.iter().map(|u| u.lines as i64).sum());
        let list = array_json(unknown.iter(), |u, out| {
            let mut o = ObjectWriter::new(out);
            o.str("source", &u.source).num("lines", u.lines as i64).str("example", &u.example);
            o.finish();
        });
        w.raw("unknown_layouts", &list);
        w.finish();
        json_parse(&String::from_utf8_lossy(&out))
    }

    /// The options in force.
    #[wasm_bindgen(unchecked_return_type = "Settings")]
    pub fn settings(&self) -> JsValue {
        let c = self.inner.config();
        let mut out = Vec::new();
        let mut w = ObjectWriter::new(&mut out);
        w.raw("window_seconds", &seconds(c.window))
            .num("warning_pairs", c.warning_pairs as i64)
            .num("critical_pairs", c.critical_pairs as i64)
            .num("leak_pairs", c.leak_pairs as i64)
            .raw("pair_gap_seconds", &seconds(c.pair_gap))
            .raw("repeat_seconds", &seconds(c.repeat))
            .raw("quiet_seconds", &seconds(c.quiet))
            .raw("line_utc_offset_seconds", &seconds(c.line_utc_offset));
        w.finish();
        json_parse(&String::from_utf8_lossy(&out))
    }
}
