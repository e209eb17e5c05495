//! `/jsz` snapshots through the built Fluent Bit modules (`dist/`), driven
//! as Fluent Bit's `wasm` filter drives them: the logs of a real cluster as
//! `tail` records and the `/jsz` documents the real-cluster test captured as
//! `exec` + `json` parser records (each document's members at the top of the
//! record), merged by time. Run `cargo xtask dist` first.

use crate::support::root;
use resetwatch_host::fluent_bit::{FluentBitHost, FluentBitOptions, Outcome};
use resetwatch_host::tail::{self, EventTime, TailRecord};
use serde_json::Value;

fn host(name: &str) -> FluentBitHost {
    let p = root().join("dist").join(name);
    let wasm = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask dist` first", p.display()));
    let mut opts = FluentBitOptions::default();
    if name == "resetwatch-lean.wasm" {
        opts.wasm_heap_size = 16 << 20;
    }
    FluentBitHost::new(&wasm, opts).unwrap()
}

/// The run's logs (tag `nats.<path>`) and `/jsz` documents (tag
/// `nats.jsz.<node>`, at the document's `now`), merged by time.
fn records(run: &str, with_logs: bool) -> Vec<TailRecord> {
    let mut all = Vec::new();
    for n in ["n1", "n2", "n3"] {
        if with_logs {
            all.push(tail::read_file(&root().join("tests/data/cluster").join(run).join(format!("{n}.log"))).unwrap());
        }
        let path = root().join("tests/data/jsz").join(run).join(format!("{n}.jsonl"));
        let docs = std::fs::read_to_string(&path).unwrap();
        let mine: Vec<TailRecord> = docs
            .lines()
            .enumerate()
            .map(|(i, d)| {
                let v: Value = serde_json::from_str(d).unwrap();
                let now = resetwatch::clock::parse_rfc3339(v["now"].as_str().unwrap().as_bytes()).unwrap().0;
                TailRecord {
                    tag: format!("nats.jsz.{n}"),
                    time: EventTime { sec: now.div_euclid(1_000_000), nsec: (now.rem_euclid(1_000_000) * 1000) as u32 },
                    record: d.to_string(),
                    path: path.clone(),
                    line_no: i + 1,
                }
            })
            .collect();
        all.push(mine);
    }
    tail::merge_by_time(all)
}

/// Every record through the filter; nothing dropped, every record without
/// an alert byte-identical, the others the record plus `resetwatch`.
fn run(name: &str, recs: &[TailRecord]) -> Vec<Value> {
    let mut h = host(name);
    let mut alerts = Vec::new();
    for r in recs {
        let out = match h.filter_record(&r.tag, r.time.sec, r.time.nsec, r.record.as_bytes()).unwrap() {
            Outcome::Output(o) => o,
            Outcome::Dropped(why) => panic!("{name}: record dropped ({why}): {}", &r.record[..r.record.len().min(200)]),
        };
        if out == r.record.as_bytes() {
            continue;
        }
        let mut v: Value = serde_json::from_slice(&out).unwrap();
        let alert = v.as_object_mut().unwrap().remove("resetwatch").expect("a changed record carries `resetwatch`");
        assert_eq!(v, serde_json::from_str::<Value>(&r.record).unwrap(), "{name}: the record is kept as it was");
        alerts.push(alert);
    }
    assert!(h.take_guest_stderr().is_empty(), "{name}: nothing to report");
    alerts
}

const LOOP: &str = "pair_loop_catchup_no_leader_v2.10.25";
const FIXED: &str = "pair_loop_catchup_no_leader_v2.10.26";

#[test]
fn the_captured_loop_raises_both_alerts_joined_by_server_id() {
    let recs = records(LOOP, true);
    for name in ["resetwatch.wasm", "resetwatch-lean.wasm"] {
        let alerts = run(name, &recs);
        for node in ["n2", "n3"] {
            let storage: Vec<&Value> =
                alerts.iter().filter(|a| a["alert"] == "nats_reserved_storage_inflated" && a["server_name"] == node).collect();
            let sev: Vec<&str> = storage.iter().map(|a| a["severity"].as_str().unwrap()).collect();
            assert_eq!(sev, ["warning", "critical"], "{name} {node}");
            assert_eq!(storage[0]["excess_bytes"], 67108864, "{name} {node}: one reset's max_bytes");
            assert_eq!(storage[1]["looping_streams"], serde_json::json!(["$G > ORDERS"]), "{name} {node}");
            assert!(storage[1]["source"].as_str().unwrap().ends_with(&format!("{node}.log")), "the log source, joined by ID");
            let loops: Vec<&Value> =
                alerts.iter().filter(|a| a["alert"] == "nats_stream_reset_loop" && a["server_name"] == node).collect();
            let crit = loops.iter().find(|a| a["severity"] == "critical").unwrap();
            assert_eq!(
                (crit["max_bytes"].as_i64(), crit["estimated_leaked_bytes"].as_u64()),
                (Some(67108864), Some(10 * 67108864))
            );
        }
        assert!(alerts.iter().all(|a| a["server_name"] != "n1"), "{name}: n1 neither looped nor leaked");
    }
}

#[test]
fn the_fixed_release_raises_no_storage_alert() {
    // 2.10.26: the same loop, flat reservations, one snapshot of n2 with
    // ORDERS missing mid-reset.
    for name in ["resetwatch.wasm", "resetwatch-lean.wasm"] {
        assert_eq!(run(name, &records(FIXED, false)), Vec::<Value>::new(), "{name}");
        let with_logs = run(name, &records(FIXED, true));
        assert!(!with_logs.is_empty(), "{name}: the loop itself alerts");
        assert!(with_logs.iter().all(|a| a["alert"] == "nats_stream_reset_loop"), "{name}");
    }
}

#[test]
fn escaped_and_exec_shapes_read_alike() {
    // `exec` without a parser puts the line under `exec`; the storage alerts
    // are the same as with the json parser.
    let recs = records(LOOP, false);
    let wrapped: Vec<TailRecord> = recs
        .iter()
        .map(|r| TailRecord { record: format!("{{\"exec\":{}}}", serde_json::to_string(&r.record).unwrap()), ..r.clone() })
        .collect();
    for name in ["resetwatch.wasm", "resetwatch-lean.wasm"] {
        let a = run(name, &recs);
        let b = run(name, &wrapped);
        assert_eq!(a.len(), 4, "{name}: warning and critical on n2 and n3");
        assert_eq!(a, b, "{name}");
    }
}
