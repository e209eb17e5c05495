//! Records through the Fluent Bit build as Fluent Bit's `tail` + `wasm`
//! filter drive it, collecting the alerts it adds (shared by the parity
//! test and the detection cases).
#![allow(dead_code)] // each suite uses its own part of it

use resetwatch_host::fluent_bit::{FluentBitHost, FluentBitOptions, Outcome};
use resetwatch_host::tail::{self, TailRecord};
use serde_json::Value;

pub use super::root;

/// A built module under `dist/`.
pub fn dist(name: &str) -> Vec<u8> {
    let p = root().join("dist").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask dist` first", p.display()))
}

/// The alerts the Fluent Bit build adds (the `resetwatch` key), in order,
/// with `Wasm_Heap_Size` 16M and no `Accessible_Paths`. After the records,
/// records with no NATS line are sent until one comes back unchanged, so
/// that alerts still queued for delivery come out too.
pub fn through_fluent_bit(module: &str, records: &[TailRecord]) -> Vec<Value> {
    let opts = FluentBitOptions {
        accessible_paths: vec![],
        wasm_heap_size: 16 << 20,
        mvp_only: module.ends_with("-mvp.wasm"),
        ..FluentBitOptions::default()
    };
    let mut host = FluentBitHost::new(&dist(module), opts).unwrap();
    let mut alerts = Vec::new();
    let mut take = |host: &mut FluentBitHost, r: &TailRecord| -> bool {
        match host.filter_record(&r.tag, r.time.sec, r.time.nsec, r.record.as_bytes()).unwrap() {
            Outcome::Output(o) if o == r.record.as_bytes() => false,
            Outcome::Output(o) => {
                let mut v: Value = serde_json::from_slice(&o).unwrap();
                alerts.push(v.as_object_mut().unwrap().remove("resetwatch").expect("an added `resetwatch`"));
                true
            }
            Outcome::Dropped(why) => panic!("{module}: record dropped ({why})"),
        }
    };
    for r in records {
        take(&mut host, r);
    }
    if let Some(last) = records.last() {
        let flush = TailRecord { record: tail::record_json("flush"), ..last.clone() };
        while take(&mut host, &flush) {}
    }
    let problems = host.take_guest_problems();
    assert!(problems.is_empty(), "{module}: {}", problems.join("\n"));
    alerts
}
