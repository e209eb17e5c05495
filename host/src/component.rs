//! The Component Model build (`dist/resetwatch-component.wasm`, world
//! `resetwatch` in `wit/resetwatch.wit`) on wasmtime, with WASI preview 2.
//!
//! [`DetectorComponent`] compiles the component once; each [`Detector`] it
//! makes lives in its own store and instance, so detectors share nothing.
//! The types of the interface (`Alert`, `Emitted`, `ResetPair`, ...) are the
//! ones `bindgen!` generates from the `.wit` file; a call's outer `Result`
//! is wasmtime's (a trap, which resetwatch never means to cause), the inner
//! one the interface's own.

use std::path::Path;

use anyhow::{Context as _, Result};
use wasmtime::component::{Component, Linker, ResourceAny, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::loading::{self, wt};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "resetwatch",
    additional_derives: [PartialEq, Eq],
});

pub use exports::resetwatch::detector::detection::{
    Alert, ConfigError, Emitted, Notice, ResetPair, RestoreError, Rule, Seen, ServerStorage, Severity, Status, StorageAlert,
    StreamCounts, UnknownLayout,
};

impl Notice {
    /// The alert's JSON object (as the Fluent Bit build adds it under `resetwatch`).
    pub fn json(&self) -> &str {
        match self {
            Notice::ResetLoop(a) => &a.json,
            Notice::StorageInflated(a) => &a.json,
        }
    }

    pub fn status(&self) -> Status {
        match self {
            Notice::ResetLoop(a) => a.status,
            Notice::StorageInflated(a) => a.status,
        }
    }

    pub fn source(&self) -> &str {
        match self {
            Notice::ResetLoop(a) => &a.source,
            Notice::StorageInflated(a) => &a.source,
        }
    }

    /// The reset-loop alert, if this is one.
    pub fn as_loop(&self) -> Option<&Alert> {
        match self {
            Notice::ResetLoop(a) => Some(a),
            Notice::StorageInflated(_) => None,
        }
    }

    /// The reserved-storage alert, if this is one.
    pub fn as_storage(&self) -> Option<&StorageAlert> {
        match self {
            Notice::StorageInflated(a) => Some(a),
            Notice::ResetLoop(_) => None,
        }
    }
}

impl ConfigError {
    /// `` `key`: problem `` (just the problem when the document itself is at fault).
    pub fn message(&self) -> String {
        if self.key.is_empty() {
            self.problem.clone()
        } else {
            format!("`{}`: {}", self.key, self.problem)
        }
    }
}

impl RestoreError {
    /// Why the state was refused, in words.
    pub fn message(&self) -> String {
        match self {
            RestoreError::Config(e) => format!("bad configuration: {}", e.message()),
            RestoreError::Foreign => "not a resetwatch state".into(),
            RestoreError::Version(v) => format!("a state of version {v}, which this build does not read"),
            RestoreError::Corrupt(why) => format!("damaged state: {why}"),
        }
    }
}

/// Where `cargo xtask dist` puts the component, relative to the repository.
pub const DEFAULT_COMPONENT: &str = "dist/resetwatch-component.wasm";

/// The component this binary carries, built from the same tree by
/// `host/build.rs` (what `--wasm` replaces).
pub const EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/resetwatch-component.wasm"));

/// The WIT package the embedded component exports (`wit/resetwatch.wit`).
pub const EMBEDDED_PACKAGE: &str = env!("RESETWATCH_WIT_PACKAGE");

/// Store data: WASI for what Rust's standard library imports on wasip2.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The compiled component, ready to make detectors.
pub struct DetectorComponent {
    engine: Engine,
    pre: ResetwatchPre<State>,
}

impl DetectorComponent {
    /// Compiles `wasm` (a component's bytes) and links it to WASI p2.
    pub fn new(wasm: &[u8]) -> Result<Self> {
        let engine = Engine::default();
        let component = wt(Component::new(&engine, wasm)).context("not a loadable component")?;
        let mut linker: Linker<State> = Linker::new(&engine);
        wt(wasmtime_wasi::p2::add_to_linker_sync(&mut linker))?;
        let pre = wt(linker.instantiate_pre(&component).and_then(ResetwatchPre::new))
            .context("the component does not export resetwatch:detector/detection@0.3.0")?;
        Ok(DetectorComponent { engine, pre })
    }

    /// The embedded component, or the one at `path` when given (`--wasm`).
    pub fn embedded_or(path: Option<&Path>) -> Result<Self> {
        match path {
            Some(p) => Self::from_file(p),
            None => Self::new(EMBEDDED).context("cannot load the embedded component"),
        }
    }

    /// Reads and compiles the component at `path`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let wasm = loading::read(path)?;
        Self::new(&wasm).with_context(|| loading::cannot_load(path))
    }

    /// A fresh instance and its bindings. The guest's stderr is the host's
    /// (it writes nothing unless something went badly wrong); no files, no
    /// environment, no arguments.
    fn instance(&self) -> Result<(Store<State>, Resetwatch)> {
        let wasi = WasiCtx::builder().inherit_stderr().build();
        let mut store = Store::new(&self.engine, State { wasi, table: ResourceTable::new() });
        let bindings = wt(self.pre.instantiate(&mut store))?;
        Ok((store, bindings))
    }

    /// `detector.create(config-json)`.
    pub fn create(&self, config_json: &str) -> Result<Result<Detector, ConfigError>> {
        let (mut store, bindings) = self.instance()?;
        let made = wt(bindings.resetwatch_detector_detection().detector().call_create(&mut store, config_json))?;
        Ok(made.map(|handle| Detector { store, bindings, handle }))
    }

    /// `detector.restore(config-json, state)`.
    pub fn restore(&self, config_json: &str, state: &[u8]) -> Result<Result<Detector, RestoreError>> {
        let (mut store, bindings) = self.instance()?;
        let made = wt(bindings.resetwatch_detector_detection().detector().call_restore(&mut store, config_json, state))?;
        Ok(made.map(|handle| Detector { store, bindings, handle }))
    }
}

/// One `detector` resource in its own instance.
pub struct Detector {
    store: Store<State>,
    bindings: Resetwatch,
    handle: ResourceAny,
}

impl Detector {
    /// `detector.process(tag, time-ns, body)`: one record (a JSON object).
    pub fn process(&mut self, tag: &str, time_ns: i64, body: &[u8]) -> Result<Emitted> {
        let d = self.bindings.resetwatch_detector_detection().detector();
        wt(d.call_process(&mut self.store, self.handle, tag, time_ns, body))
    }

    /// `detector.process-line(source, time-ns, line)`: one raw log line.
    pub fn process_line(&mut self, source: &str, time_ns: i64, line: &[u8]) -> Result<Vec<Notice>> {
        let d = self.bindings.resetwatch_detector_detection().detector();
        wt(d.call_process_line(&mut self.store, self.handle, source, time_ns, line))
    }

    /// `detector.advance(time-ns)`: time passes with no record.
    pub fn advance(&mut self, time_ns: i64) -> Result<Vec<Notice>> {
        let d = self.bindings.resetwatch_detector_detection().detector();
        wt(d.call_advance(&mut self.store, self.handle, time_ns))
    }

    /// `detector.save()`: the state as versioned bytes.
    pub fn save(&mut self) -> Result<Vec<u8>> {
        let d = self.bindings.resetwatch_detector_detection().detector();
        wt(d.call_save(&mut self.store, self.handle))
    }

    /// `detector.record-pairs(on)`.
    pub fn record_pairs(&mut self, on: bool) -> Result<()> {
        let d = self.bindings.resetwatch_detector_detection().detector();
        wt(d.call_record_pairs(&mut self.store, self.handle, on))
    }

    /// `detector.take-pairs()`.
    pub fn take_pairs(&mut self) -> Result<Vec<ResetPair>> {
        let d = self.bindings.resetwatch_detector_detection().detector();
        wt(d.call_take_pairs(&mut self.store, self.handle))
    }

    /// `detector.unknown-layouts()`.
    pub fn unknown_layouts(&mut self) -> Result<Vec<UnknownLayout>> {
        let d = self.bindings.resetwatch_detector_detection().detector();
        wt(d.call_unknown_layouts(&mut self.store, self.handle))
    }

    /// `detector.streams()`: every tracked stream's counters, for metrics.
    pub fn streams(&mut self) -> Result<Vec<StreamCounts>> {
        let d = self.bindings.resetwatch_detector_detection().detector();
        wt(d.call_streams(&mut self.store, self.handle))
    }

    /// `detector.servers()`: every server's reserved storage, for metrics.
    pub fn servers(&mut self) -> Result<Vec<ServerStorage>> {
        let d = self.bindings.resetwatch_detector_detection().detector();
        wt(d.call_servers(&mut self.store, self.handle))
    }
}

/// The core's alert from the interface's (for `resetwatch::Summary`);
/// `offset` is the zone its times print in (`line_utc_offset`, µs).
pub fn core_alert(a: &Alert, offset: i64) -> resetwatch::Alert {
    resetwatch::Alert {
        status: match a.status {
            Status::Firing => resetwatch::Status::Firing,
            Status::Resolved => resetwatch::Status::Resolved,
        },
        severity: match a.severity {
            Severity::Warning => resetwatch::Severity::Warning,
            Severity::Critical => resetwatch::Severity::Critical,
        },
        rule: match a.rule {
            Rule::Window => resetwatch::Rule::Window,
            Rule::Leak => resetwatch::Rule::Leak,
        },
        source: a.source.clone(),
        server_name: a.server_name.clone(),
        server_id: a.server_id.clone(),
        server_version: a.server_version.clone(),
        known_leak: a.known_leak,
        account: a.account.clone(),
        stream: a.stream.clone(),
        pairs_in_window: a.pairs_in_window,
        window: a.window_ns.div_euclid(1000),
        pairs_total: a.pairs_total,
        leaking_resets_total: a.leaking_resets_total,
        declined_resets_total: a.declined_resets_total,
        last_cause: a.last_cause.clone(),
        first_seen: a.first_seen_ns.div_euclid(1000),
        last_seen: a.last_seen_ns.div_euclid(1000),
        offset,
        max_bytes: a.max_bytes,
        estimated_leaked_bytes: a.estimated_leaked_bytes,
    }
}

/// The core's reset pair from the interface's.
pub fn core_pair(p: &ResetPair) -> resetwatch::ResetPair {
    resetwatch::ResetPair {
        source: p.source.clone(),
        account: p.account.clone(),
        stream: p.stream.clone(),
        time: p.time_ns.div_euclid(1000),
        in_window: p.in_window,
        cause: p.cause.clone(),
        leaks: p.leaks,
    }
}
