//! nats-server's `/jsz` monitoring document (`/jsz?accounts=true&streams=true&config=true`),
//! as a log pipeline delivers it: what resetwatch needs of one server's
//! snapshot to tell leaked reservations from real ones.
//!
//! Shapes read (docs/detection.md#jsz-snapshots-reserved-storage):
//! - raw: the document's members at the top of the record (Fluent Bit's
//!   `exec` input with the `json` parser; Vector's `http_client` source with
//!   JSON decoding, which sorts the keys), extra keys allowed;
//! - nested: the document as an object under a message key or `exec`;
//! - escaped: the document as a JSON string under a message key or `exec`
//!   (Fluent Bit's `exec` input without a parser, Vector's `http_client`
//!   with its default `bytes` decoding, under `message`).
//!
//! Everything is a loop over [`json::Members`] and [`json::elements`]: no
//! recursion, whatever the document holds.

use crate::text::clock::{self, Micros};
use crate::text::json::{self, Members};
use std::borrow::Cow;

/// Streams kept per snapshot for the loop alert's `max_bytes`; the sum is
/// taken over every stream listed, kept or not.
pub const MAX_STREAMS: usize = 1024;

/// Longest server ID, account or stream name kept (nats-server IDs are 56
/// characters; names as in `event::MAX_NAME`).
const MAX_TEXT: usize = 256;

/// The record key Fluent Bit's `exec` input puts a command's output under.
pub const EXEC_KEY: &str = "exec";

/// One stream's limit as the snapshot states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamLimit {
    /// The stream's account.
    pub account: String,
    /// The stream's name.
    pub stream: String,
    /// `config.max_bytes` (-1: unlimited, which reserves nothing).
    pub max_bytes: i64,
    /// File storage (`config.storage` is `file`); memory streams reserve
    /// memory, not storage.
    pub file: bool,
}

/// What one `/jsz` snapshot says about its server's storage reservations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jsz {
    /// The server that answered (`server_id`).
    pub server_id: String,
    /// The server's time of the snapshot (`now`).
    pub now: Option<Micros>,
    /// Top-level `reserved_storage`: what the server has reserved.
    pub reserved_storage: u64,
    /// `config.max_storage`.
    pub max_storage: Option<u64>,
    /// Sum of `max_bytes` of the file-storage streams listed (-1 as 0).
    pub sum_max_bytes: u64,
    /// False when the document cannot be judged: it hosts streams but lists
    /// none (no `streams=true`), or lists one without its `config` (no
    /// `config=true`).
    pub complete: bool,
    /// The streams listed, at most [`MAX_STREAMS`].
    pub streams: Vec<StreamLimit>,
}

/// Top-level keys that start a `/jsz` document: `server_id` as nats-server
/// writes it, the first keys in sorted order (Vector sorts them).
const FIRST_KEYS: [&str; 4] = ["server_id", "account_details", "accounts", "api"];

/// The cheap test for a record with no log line: does its first key say
/// it may be a `/jsz` document (raw, or under a message key or `exec`)?
pub fn may_be_jsz(rec: &[u8], message_keys: &[String]) -> bool {
    let Some(m) = Members::new(rec).next() else { return false };
    FIRST_KEYS.iter().any(|k| json::key_is(m.key, k))
        || (is_wrapper(m.key, message_keys) && matches!(m.value.first(), Some(b'{' | b'"')))
}

/// The cheap test for a log line that is not a NATS line: does the string
/// starting at `rest` (still escaped) open an object whose first key is
/// `server_id`, as nats-server writes `/jsz`, on one line or pretty-printed?
pub fn may_be_escaped_jsz(rest: &[u8]) -> bool {
    let Some(mut i) = rest.first().filter(|&&c| c == b'{').map(|_| 1) else { return false };
    loop {
        match rest.get(i..i + 2) {
            Some(b"\\n" | b"\\t" | b"\\r") => i += 2,
            Some([b' ', _]) => i += 1,
            _ => break,
        }
    }
    rest.get(i..).is_some_and(|r| r.starts_with(br#"\"server_id\""#))
}

fn is_wrapper(key: &[u8], message_keys: &[String]) -> bool {
    json::key_is(key, EXEC_KEY) || message_keys.iter().any(|k| json::key_is(key, k))
}

/// The document in a record, as raw JSON text (decoded when it came as a
/// string). `None` when the record holds no `/jsz` document.
pub fn find<'a>(rec: &'a [u8], message_keys: &[String]) -> Option<Cow<'a, [u8]>> {
    if is_doc(rec) {
        return Some(Cow::Borrowed(rec));
    }
    for m in Members::new(rec) {
        if !is_wrapper(m.key, message_keys) {
            continue;
        }
        match m.value.first() {
            Some(b'{') if is_doc(m.value) => return Some(Cow::Borrowed(m.value)),
            Some(b'"') => {
                // Only a string that starts like an object is decoded.
                if m.value.get(1) != Some(&b'{') {
                    continue;
                }
                let Some(text) = json::string_value(m.value) else { continue };
                if is_doc(text.as_bytes()) {
                    return Some(Cow::Owned(text.into_owned().into_bytes()));
                }
            }
            _ => {}
        }
    }
    None
}

/// A whole object with a string `server_id`, a numeric `reserved_storage`
/// and an object `config`: the members every `/jsz` document has. A cut
/// document (a pipeline buffer too small for it) is none: the streams it
/// lost would make the sum too small.
fn is_doc(b: &[u8]) -> bool {
    let (mut id, mut reserved, mut config) = (false, false, false);
    let mut members = Members::new(b);
    for m in members.by_ref() {
        if json::key_is(m.key, "server_id") {
            id = m.value.first() == Some(&b'"');
        } else if json::key_is(m.key, "reserved_storage") {
            reserved = json::whole_number(m.value).is_some();
        } else if json::key_is(m.key, "config") {
            config = m.value.first() == Some(&b'{');
        }
    }
    id && reserved && config && members.complete()
}

fn text(raw: &[u8]) -> Option<String> {
    let s = json::string_value(raw)?;
    (!s.is_empty() && s.len() <= MAX_TEXT).then(|| s.into_owned())
}

fn unsigned(raw: &[u8]) -> Option<u64> {
    json::whole_number(raw).and_then(|n| u64::try_from(n).ok())
}

/// Reads one document (as found by [`find`]). `None` when it is not one,
/// or not a whole one.
pub fn parse(doc: &[u8]) -> Option<Jsz> {
    let mut server_id = None;
    let mut now = None;
    let mut reserved_storage = None;
    let mut max_storage = None;
    let mut hosted: Option<u64> = None;
    let mut details = None;
    let mut config = false;
    let mut members = Members::new(doc);
    for m in members.by_ref() {
        if json::key_is(m.key, "server_id") {
            server_id = text(m.value);
        } else if json::key_is(m.key, "now") {
            now = json::string_value(m.value).and_then(|s| clock::parse_rfc3339(s.as_bytes()).map(|(t, _)| t));
        } else if json::key_is(m.key, "reserved_storage") {
            reserved_storage = unsigned(m.value);
        } else if json::key_is(m.key, "config") {
            config = m.value.first() == Some(&b'{');
            max_storage = Members::new(m.value).find(|c| json::key_is(c.key, "max_storage")).and_then(|c| unsigned(c.value));
        } else if json::key_is(m.key, "streams") {
            hosted = unsigned(m.value);
        } else if json::key_is(m.key, "account_details") {
            details = Some(m.value);
        }
    }
    if !config || !members.complete() {
        return None;
    }
    let mut jsz = Jsz {
        server_id: server_id?,
        now,
        reserved_storage: reserved_storage?,
        max_storage,
        sum_max_bytes: 0,
        complete: true,
        streams: Vec::new(),
    };
    let mut listed = 0u64;
    for account in details.map(json::elements).into_iter().flatten() {
        let mut name = None;
        let mut streams = None;
        for m in Members::new(account) {
            if json::key_is(m.key, "name") {
                name = text(m.value);
            } else if json::key_is(m.key, "stream_detail") {
                streams = Some(m.value);
            }
            // `reserved_memory` / `reserved_storage` here are the account's
            // limits (u64::MAX when unlimited), not reservations: not read.
        }
        for s in streams.map(json::elements).into_iter().flatten() {
            listed += 1;
            let Some(limit) = stream_limit(name.as_deref().unwrap_or(""), s) else {
                jsz.complete = false;
                continue;
            };
            if limit.file {
                jsz.sum_max_bytes = jsz.sum_max_bytes.saturating_add(limit.max_bytes.max(0) as u64);
            }
            if jsz.streams.len() < MAX_STREAMS {
                jsz.streams.push(limit);
            }
        }
    }
    if listed == 0 && hosted.unwrap_or(0) > 0 {
        jsz.complete = false;
    }
    Some(jsz)
}

/// One `stream_detail` entry; `None` without a name or its `config`.
fn stream_limit(account: &str, s: &[u8]) -> Option<StreamLimit> {
    let mut stream = None;
    let mut limits = None;
    for m in Members::new(s) {
        if json::key_is(m.key, "name") {
            stream = text(m.value);
        } else if json::key_is(m.key, "config") {
            let (mut max_bytes, mut file) = (None, true);
            for c in Members::new(m.value) {
                if json::key_is(c.key, "max_bytes") {
                    max_bytes = json::whole_number(c.value).map(|n| n.clamp(-1, i64::MAX as i128) as i64);
                } else if json::key_is(c.key, "storage") {
                    file = json::string_value(c.value).as_deref() != Some("memory");
                }
            }
            limits = Some((max_bytes?, file));
        }
    }
    let (max_bytes, file) = limits?;
    Some(StreamLimit { account: account.to_string(), stream: stream?, max_bytes, file })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus");
    const MIB: u64 = 1 << 20;

    /// A document captured from the real cluster (tests/data/corpus/<run>/jsz,
    /// copied from the corpus, never edited).
    pub(crate) fn captured(name: &str) -> String {
        let (run, file) = name.split_once('/').unwrap();
        let run = match run {
            "s05_v2.10.25" => "s05_pair_reset_loop_catchup_no_leader_v2.10.25",
            "s02_v2.10.25" => "s02_follower_mismatch_single_reset_v2.10.25",
            "s02_v2.10.26" => "s02_follower_mismatch_single_reset_v2.10.26_control",
            "s01_v2.10.25" => "s01_healthy_rolling_restart_v2.10.25",
            "s03_v2.10.25" => "s03_kill9_heavy_publish_v2.10.25",
            other => other,
        };
        std::fs::read_to_string(format!("{CORPUS}/{run}/jsz/{file}")).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The pretty-printed document as one line, as `tr -d '\n'` makes it.
    fn one_line(doc: &str) -> String {
        doc.replace('\n', "")
    }

    #[test]
    fn reads_captured_documents() {
        // (document, server_id prefix, reserved, sum of file max_bytes, streams listed)
        let table = [
            ("s05_v2.10.25/end_n1.json", "NA3UI3NM", 939_524_096, 64 * MIB, 2),
            ("s05_v2.10.25/end_n2.json", "NBAZYRUZ", 973_078_528, 96 * MIB, 3),
            ("s05_v2.10.25/end_n3.json", "NA7VZU54", 64 * MIB, 64 * MIB, 3),
            ("s05_v2.10.25/victim_alone_n1.json", "NA3UI3NM", 768 * MIB, 64 * MIB, 2),
            ("s02_v2.10.25/end_n2.json", "NABNR74N", 160 * MIB, 96 * MIB, 3),
            ("s02_v2.10.26/end_n2.json", "NB5SDIRT", 96 * MIB, 96 * MIB, 3),
            ("s01_v2.10.25/after_n2.json", "NBGZFRPB", 64 * MIB, 64 * MIB, 3),
        ];
        for (name, id, reserved, sum, n) in table {
            let doc = captured(name);
            let j = parse(&find(doc.as_bytes(), &[]).unwrap()).unwrap_or_else(|| panic!("{name}"));
            assert!(j.server_id.starts_with(id) && j.server_id.len() == 56, "{name}: {}", j.server_id);
            assert_eq!((j.reserved_storage, j.sum_max_bytes, j.streams.len()), (reserved, sum, n), "{name}");
            assert_eq!(j.max_storage, Some(20 << 30), "{name}: max_file_store 20GB");
            assert!(j.complete && j.now.is_some(), "{name}");
        }
    }

    #[test]
    fn sum_rules() {
        let j = parse(captured("s05_v2.10.25/end_n1.json").as_bytes()).unwrap();
        // EVENTS has no max_bytes (-1): counts as 0; ORDERS 64 MiB.
        let by_name = |s: &str| j.streams.iter().find(|l| l.stream == s).unwrap().clone();
        assert_eq!(by_name("EVENTS").max_bytes, -1);
        assert_eq!(by_name("ORDERS").max_bytes, 64 << 20);
        assert_eq!(by_name("ORDERS").account, "$G");
        assert_eq!(j.sum_max_bytes, 64 * MIB);
        // account_details[].reserved_storage is u64::MAX there (a limit): not read.
        assert!(captured("s05_v2.10.25/end_n1.json").contains("\"reserved_storage\": 18446744073709551615"));
        assert_eq!(j.reserved_storage, 939_524_096);
        // A memory stream reserves memory, not storage: the same document
        // with ORDERS on memory sums to nothing.
        let mem = captured("s05_v2.10.25/end_n1.json").replace("\"storage\": \"file\"", "\"storage\": \"memory\"");
        let j = parse(mem.as_bytes()).unwrap();
        assert_eq!(j.sum_max_bytes, 0);
        assert!(j.streams.iter().all(|s| !s.file));
    }

    #[test]
    fn finds_the_document_in_every_record_shape() {
        let doc = one_line(&captured("s05_v2.10.25/end_n2.json"));
        let pretty = captured("s05_v2.10.25/end_n2.json");
        let esc = |s: &str| serde_json::to_string(s).unwrap();
        let inner = &doc[1..doc.len() - 1];
        // Vector's JSON decoding: sorted keys, plus its own.
        let mut sorted: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&doc).unwrap();
        sorted.insert("source_type".into(), "http_client".into());
        sorted.insert("timestamp".into(), "2026-11-26T14:18:43.652Z".into());
        let sorted = serde_json::to_string(&sorted).unwrap();
        let keys = crate::config::Config::default().message_keys;
        let table: Vec<(&str, String)> = vec![
            ("fluent bit exec + json parser", doc.clone()),
            ("extra keys after", format!("{{{inner},\"host\":\"nats-1\"}}")),
            ("extra keys before", format!("{{\"host\":\"nats-1\",{inner}}}")),
            ("vector http_client, json decoding", sorted),
            ("vector http_client, bytes decoding", format!("{{\"message\":{},\"source_type\":\"http_client\"}}", esc(&pretty))),
            ("fluent bit exec, no parser", format!("{{\"exec\":{}}}", esc(&doc))),
            ("escaped under log", format!("{{\"log\":{}}}", esc(&doc))),
            ("nested under log", format!("{{\"log\":{doc}}}")),
        ];
        for (what, rec) in table {
            let found = find(rec.as_bytes(), &keys).unwrap_or_else(|| panic!("{what}: not found"));
            let j = parse(&found).unwrap();
            assert_eq!((j.reserved_storage, j.sum_max_bytes), (973_078_528, 96 * MIB), "{what}");
            let first_key = what != "extra keys before";
            assert_eq!(may_be_jsz(rec.as_bytes(), &keys), first_key, "{what}");
        }
    }

    #[test]
    fn other_records_are_not_documents() {
        let keys = crate::config::Config::default().message_keys;
        let doc = one_line(&captured("s05_v2.10.25/end_n1.json"));
        let table = [
            r#"{"log":"[1] 2026/11/26 14:17:08.682791 [INF] Starting nats-server"}"#.to_string(),
            r#"{"server_id":"x"}"#.to_string(),
            r#"{"server_id":"NA3","reserved_storage":"1","config":{}}"#.to_string(),
            r#"{"server_id":1,"reserved_storage":1,"config":{}}"#.to_string(),
            r#"{"log":"{\"server_id\":\"x\"}"}"#.to_string(),
            r#"{"other":{"server_id":"NA3","reserved_storage":1,"config":{}}}"#.to_string(),
            doc.replace("\"reserved_storage\": 939524096", "\"reserved\": 939524096"),
            doc[..doc.len() / 2].to_string(),
            "[]".to_string(),
            String::new(),
        ];
        for rec in &table {
            assert!(find(rec.as_bytes(), &keys).and_then(|d| parse(&d)).is_none(), "{rec}");
        }
    }

    #[test]
    fn incomplete_documents_are_not_judged() {
        let doc = captured("s05_v2.10.25/end_n1.json");
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        // Without streams=true: no stream_detail, but the server hosts 2 streams.
        let mut no_streams = v.clone();
        no_streams["account_details"][0].as_object_mut().unwrap().remove("stream_detail");
        let j = parse(no_streams.to_string().as_bytes()).unwrap();
        assert!(!j.complete);
        // Without accounts=true: no account_details at all.
        let mut no_accounts = v.clone();
        no_accounts.as_object_mut().unwrap().remove("account_details");
        assert!(!parse(no_accounts.to_string().as_bytes()).unwrap().complete);
        // Without config=true: streams without their config.
        let mut no_config = v.clone();
        no_config["account_details"][0]["stream_detail"][0].as_object_mut().unwrap().remove("config");
        assert!(!parse(no_config.to_string().as_bytes()).unwrap().complete);
        // A server that hosts nothing (streams 0) is complete with a sum of 0.
        let mut empty = v;
        empty["streams"] = 0.into();
        empty["account_details"][0].as_object_mut().unwrap().remove("stream_detail");
        let j = parse(empty.to_string().as_bytes()).unwrap();
        assert!(j.complete && j.sum_max_bytes == 0);
    }

    #[test]
    fn numbers_written_as_doubles_are_not_guessed() {
        // A host that rewrote numbers as doubles: the document is not read
        // (no guessing at a rounded reservation), and nothing breaks.
        let doc = captured("s05_v2.10.25/end_n1.json").replace("939524096", "9.39524096e+08");
        assert_eq!(parse(doc.as_bytes()), None);
        // account_details' u64::MAX as a double is not read at all.
        let doc = captured("s05_v2.10.25/end_n1.json").replace("18446744073709551615", "1.8446744073709552e+19");
        assert_eq!(parse(doc.as_bytes()).map(|j| j.reserved_storage), Some(939_524_096));
    }
}

// The saved state's shape (see `state`).
crate::text::carry::carry_struct!(StreamLimit { account, stream, max_bytes, file });
