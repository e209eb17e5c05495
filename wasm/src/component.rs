//! The Component Model shell (`wit/resetwatch.wit`, world `resetwatch`),
//! built for `wasm32-wasip2` into `dist/resetwatch-component.wasm`.
//!
//! It only translates: nanoseconds to the core's microseconds, WIT records
//! to and from core types. Each `detector` resource owns one [`Filter`].
//! Nothing here can panic on any input (a trap would lose the host's
//! detector), and the resource methods take `&self`, so the filter sits in
//! a `RefCell` that is never borrowed twice (the component is single
//! threaded and never re-entered).

use resetwatch::clock::Micros;
use resetwatch::{
    Alert, Config, ConfigError, Filter, Notice, ResetPair, Rule, Seen, Severity, StateError, Status, StorageAlert, Tracker,
};
use std::cell::RefCell;

wit_bindgen::generate!({
    path: "../wit",
    world: "resetwatch",
});

use exports::resetwatch::detector::detection as wit;

/// The component's export.
struct Component;

impl wit::Guest for Component {
    type Detector = DetectorShell;
}

/// What a `detector` resource holds.
pub struct DetectorShell {
    filter: RefCell<Filter>,
}

/// Nanoseconds since the epoch to the core's microseconds (floor).
fn micros(ns: i64) -> Micros {
    ns.div_euclid(1000)
}

/// The core's microseconds to nanoseconds, saturating.
fn nanos(us: Micros) -> i64 {
    us.saturating_mul(1000)
}

fn config(json: &str) -> Result<Config, wit::ConfigError> {
    Config::from_json(json.as_bytes()).map_err(|ConfigError { key, problem }| wit::ConfigError { key, problem })
}

fn status(s: Status) -> wit::Status {
    match s {
        Status::Firing => wit::Status::Firing,
        Status::Resolved => wit::Status::Resolved,
    }
}

fn severity(s: Severity) -> wit::Severity {
    match s {
        Severity::Warning => wit::Severity::Warning,
        Severity::Critical => wit::Severity::Critical,
    }
}

fn alert(a: Alert) -> wit::Alert {
    wit::Alert {
        json: a.to_json(),
        status: status(a.status),
        severity: severity(a.severity),
        rule: match a.rule {
            Rule::Window => wit::Rule::Window,
            Rule::Leak => wit::Rule::Leak,
        },
        source: a.source,
        server_name: a.server_name,
        server_id: a.server_id,
        server_version: a.server_version,
        known_leak: a.known_leak,
        account: a.account,
        stream: a.stream,
        pairs_in_window: a.pairs_in_window,
        window_ns: nanos(a.window),
        pairs_total: a.pairs_total,
        leaking_resets_total: a.leaking_resets_total,
        declined_resets_total: a.declined_resets_total,
        last_cause: a.last_cause,
        first_seen_ns: nanos(a.first_seen),
        last_seen_ns: nanos(a.last_seen),
        max_bytes: a.max_bytes,
        estimated_leaked_bytes: a.estimated_leaked_bytes,
    }
}

fn storage_alert(a: StorageAlert) -> wit::StorageAlert {
    wit::StorageAlert {
        json: a.to_json(),
        excess_bytes: a.excess_bytes(),
        status: status(a.status),
        severity: severity(a.severity),
        source: a.source,
        server_name: a.server_name,
        server_id: a.server_id,
        server_version: a.server_version,
        known_leak: a.known_leak,
        reserved_storage: a.reserved_storage,
        sum_max_bytes: a.sum_max_bytes,
        max_storage: a.max_storage,
        growth_bytes_per_minute: a.growth_bytes_per_minute,
        seconds_to_max_storage: a.seconds_to_max_storage,
        looping_streams: a.looping_streams,
        first_seen_ns: nanos(a.first_seen),
        last_seen_ns: nanos(a.last_seen),
    }
}

fn notice(n: Notice) -> wit::Notice {
    match n {
        Notice::Loop(a) => wit::Notice::ResetLoop(alert(a)),
        Notice::Storage(a) => wit::Notice::StorageInflated(storage_alert(a)),
    }
}

fn pair(p: ResetPair) -> wit::ResetPair {
    wit::ResetPair {
        source: p.source,
        account: p.account,
        stream: p.stream,
        time_ns: nanos(p.time),
        in_window: p.in_window,
        cause: p.cause,
        leaks: p.leaks,
    }
}

fn seen(s: Seen) -> wit::Seen {
    match s {
        Seen::NoLine => wit::Seen::NoLine,
        Seen::Other => wit::Seen::Other,
        Seen::Event => wit::Seen::Event,
        Seen::Alert => wit::Seen::Alert,
        Seen::Jsz => wit::Seen::Jsz,
    }
}

impl DetectorShell {
    /// A `detector` resource holding `filter`.
    fn resource(filter: Filter) -> wit::Detector {
        wit::Detector::new(DetectorShell { filter: RefCell::new(filter) })
    }

    /// Runs `f` on the filter and drains the alerts due.
    fn with<R>(&self, f: impl FnOnce(&mut Filter) -> R) -> (R, Vec<wit::Notice>) {
        let mut filter = self.filter.borrow_mut();
        let r = f(&mut filter);
        let alerts = std::iter::from_fn(|| filter.next_alert()).map(notice).collect();
        (r, alerts)
    }
}

impl wit::GuestDetector for DetectorShell {
    fn create(config_json: String) -> Result<wit::Detector, wit::ConfigError> {
        Ok(Self::resource(Filter::new(config(&config_json)?)))
    }

    fn process(&self, tag: String, time_ns: i64, body: Vec<u8>) -> wit::Emitted {
        let (s, alerts) = self.with(|f| f.ingest_record_ns(&tag, time_ns, &body));
        wit::Emitted { record: body, seen: seen(s), alerts }
    }

    fn process_line(&self, source: String, time_ns: i64, line: Vec<u8>) -> Vec<wit::Notice> {
        self.with(|f| f.ingest_line_ns(&source, time_ns, &line)).1
    }

    fn advance(&self, time_ns: i64) -> Vec<wit::Notice> {
        self.with(|f| f.advance(micros(time_ns))).1
    }

    fn save(&self) -> Vec<u8> {
        self.filter.borrow().tracker().save()
    }

    fn restore(config_json: String, state: Vec<u8>) -> Result<wit::Detector, wit::RestoreError> {
        let cfg = config(&config_json).map_err(wit::RestoreError::Config)?;
        let tracker = Tracker::restore(cfg, &state).map_err(|e| match e {
            StateError::Foreign => wit::RestoreError::Foreign,
            StateError::Version(v) => wit::RestoreError::Version(v),
            StateError::Corrupt(why) => wit::RestoreError::Corrupt(why),
        })?;
        Ok(Self::resource(Filter::from_tracker(tracker)))
    }

    fn record_pairs(&self, on: bool) {
        self.filter.borrow_mut().record_pairs(on);
    }

    fn take_pairs(&self) -> Vec<wit::ResetPair> {
        let mut filter = self.filter.borrow_mut();
        std::iter::from_fn(|| filter.next_pair()).map(pair).collect()
    }

    fn unknown_layouts(&self) -> Vec<wit::UnknownLayout> {
        let filter = self.filter.borrow();
        let all = filter.unknown_layouts().all();
        all.iter().map(|u| wit::UnknownLayout { source: u.source.clone(), lines: u.lines, example: u.example.clone() }).collect()
    }

    fn streams(&self) -> Vec<wit::StreamCounts> {
        let filter = self.filter.borrow();
        let counts = filter.tracker().stream_counts().into_iter();
        counts
            .map(|c| wit::StreamCounts {
                source: c.source,
                server_name: c.server_name,
                account: c.account,
                stream: c.stream,
                pairs_total: c.pairs_total,
                leaking_resets_total: c.leaking_resets_total,
                firing: c.firing.map(severity),
            })
            .collect()
    }

    fn servers(&self) -> Vec<wit::ServerStorage> {
        let filter = self.filter.borrow();
        let gauges = filter.tracker().server_storage().into_iter();
        gauges
            .map(|g| wit::ServerStorage {
                source: g.source,
                server_name: g.server_name,
                server_id: g.server_id,
                reserved_storage: g.reserved_storage,
                excess_bytes: g.excess_bytes,
            })
            .collect()
    }
}

export!(Component);
