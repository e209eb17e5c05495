//! Parity: the same logs through the Fluent Bit build (`dist/resetwatch.wasm`,
//! `dist/resetwatch-lean.wasm` and `dist/resetwatch-mvp.wasm`, the last on a
//! host that loads WebAssembly MVP only, as old Fluent Bit; driven as Fluent Bit's `tail` + `wasm`
//! filter drive them) and through the component
//! (`dist/resetwatch-component.wasm`, `detector.process` with the same tag,
//! time and record) yield the same alerts, in the same order, on every
//! scenario of the real corpus. The only difference allowed is delivery:
//! Fluent Bit carries one alert per record, so alerts due together ride on
//! the records that follow; the component returns them all at once.
//! Run `cargo xtask dist` first (`cargo xtask test` does).

use std::path::PathBuf;

use resetwatch_host::component::DetectorComponent;
use resetwatch_host::tail::{self, TailRecord};
use serde_json::Value;

use crate::support::fluent_bit_alerts;
use fluent_bit_alerts::{dist, root, through_fluent_bit};

const SCENARIOS: [&str; 5] = [
    "s05_pair_reset_loop_catchup_no_leader_v2.10.25",
    "s01_healthy_rolling_restart_v2.10.25",
    "s03_kill9_heavy_publish_v2.10.25",
    "s02_follower_mismatch_single_reset_v2.10.25",
    "s02_follower_mismatch_single_reset_v2.10.26_control",
];

fn records(scenario: &str) -> Vec<TailRecord> {
    let files: Vec<PathBuf> =
        ["n1", "n2", "n3"].iter().map(|n| root().join("tests/data/corpus").join(scenario).join(format!("{n}.log"))).collect();
    tail::read_files(&files).unwrap()
}

/// The alerts the component returns for the same records, in order.
fn through_component(component: &DetectorComponent, records: &[TailRecord]) -> Vec<Value> {
    let mut d = component.create("{}").unwrap().unwrap();
    let mut alerts = Vec::new();
    for r in records {
        let time_ns = r.time.sec * 1_000_000_000 + r.time.nsec as i64;
        let e = d.process(&r.tag, time_ns, r.record.as_bytes()).unwrap();
        assert_eq!(e.record, r.record.as_bytes());
        alerts.extend(e.alerts.iter().map(|a| serde_json::from_str::<Value>(a.json()).unwrap()));
    }
    alerts
}

#[test]
fn the_fluent_bit_build_and_the_component_raise_the_same_alerts() {
    let component = DetectorComponent::new(&dist("resetwatch-component.wasm")).unwrap();
    let mut total = 0;
    for s in SCENARIOS {
        let recs = records(s);
        let want = through_component(&component, &recs);
        for module in ["resetwatch.wasm", "resetwatch-lean.wasm", "resetwatch-mvp.wasm"] {
            let got = through_fluent_bit(module, &recs);
            assert_eq!(got, want, "{module} vs component on {s}");
        }
        total += want.len();
        if s.starts_with("s05") {
            // The loop: warning and critical on n1 and on n2.
            assert_eq!(want.len(), 4, "{s}");
            for node in ["n1", "n2"] {
                assert_eq!(want.iter().filter(|a| a["server_name"] == node).count(), 2);
            }
        } else {
            assert!(want.is_empty(), "{s}");
        }
    }
    assert_eq!(total, 4);
}
