//! `resetwatch serve --metrics ADDR`: resetwatch's own signal as Prometheus
//! metrics on `http://ADDR/metrics` (docs/metrics.md).
//!
//! The detector thread hands over what the component says it tracks now
//! (`detector.streams()`, `detector.servers()`: at most `max_keys` streams
//! and `max_sources` servers), and each scrape encodes that snapshot with
//! `prometheus-client`. Series are made from the snapshot alone, so a
//! stream the detector evicts drops its series at the next refresh: the
//! number of series is bounded like the detector's memory.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `resetwatch_reset_pairs_total` | counter | account, stream, source, server_name |
//! | `resetwatch_leaking_resets_total` | counter | account, stream, source, server_name |
//! | `resetwatch_reset_loop_firing` | gauge 0/1 | account, stream, source, server_name, severity |
//! | `resetwatch_reserved_storage_excess_bytes` | gauge | source, server_name |
//!
//! `server_name` is left out while the server's banner has not been seen
//! (as in the Alertmanager labels: never sent empty).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::component::{ServerStorage, Severity, StreamCounts};

/// What the scrapes show: the detector's latest answer.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub streams: Vec<StreamCounts>,
    pub servers: Vec<ServerStorage>,
}

type Labels = Vec<(&'static str, String)>;

fn stream_labels(s: &StreamCounts) -> Labels {
    let mut l = vec![("account", s.account.clone()), ("stream", s.stream.clone()), ("source", s.source.clone())];
    push_server_name(&mut l, s.server_name.as_deref());
    l
}

/// `server_name`, left out while the server's banner has not been seen
/// (never an empty label): the one rule for stream and server series.
fn push_server_name(labels: &mut Labels, name: Option<&str>) {
    if let Some(n) = name {
        labels.push(("server_name", n.to_string()));
    }
}

/// Encodes the snapshot on each scrape.
#[derive(Debug)]
struct SnapshotCollector(Arc<Mutex<Snapshot>>);

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        // OpenMetrics names a counter family without `_total`; its samples
        // (what Prometheus stores) get it.
        for (family, help, value) in [
            (
                "resetwatch_reset_pairs",
                "Reset pairs (a reset cause, then `Resetting stream cluster state`) seen on the stream since resetwatch started tracking it",
                (|s: &StreamCounts| s.pairs_total) as fn(&StreamCounts) -> u64,
            ),
            (
                "resetwatch_leaking_resets",
                "Of those, the resets whose cause re-reserves the stream's max_bytes on nats-server below 2.10.26 (issue 6455)",
                (|s: &StreamCounts| s.leaking_resets_total) as fn(&StreamCounts) -> u64,
            ),
        ] {
            let counter = ConstCounter::new(0u64);
            let mut m = encoder.encode_descriptor(family, help, None, counter.metric_type())?;
            for s in &snap.streams {
                let labels = stream_labels(s);
                ConstCounter::new(value(s)).encode(m.encode_family(&labels)?)?;
            }
        }
        let gauge = ConstGauge::new(0i64);
        let mut m = encoder.encode_descriptor(
            "resetwatch_reset_loop_firing",
            "1 while the stream's reset-loop alert of this severity fires, else 0 (one series per severity)",
            None,
            gauge.metric_type(),
        )?;
        for s in &snap.streams {
            for (name, severity) in [("warning", Severity::Warning), ("critical", Severity::Critical)] {
                let mut labels = stream_labels(s);
                labels.push(("severity", name.to_string()));
                ConstGauge::new(i64::from(s.firing == Some(severity))).encode(m.encode_family(&labels)?)?;
            }
        }
        let mut m = encoder.encode_descriptor(
            "resetwatch_reserved_storage_excess_bytes",
            "A server's /jsz reserved_storage beyond the sum of its file streams' max_bytes, from its latest snapshot",
            None,
            gauge.metric_type(),
        )?;
        for s in &snap.servers {
            let mut labels: Labels = vec![("source", s.source.clone())];
            push_server_name(&mut labels, s.server_name.as_deref());
            ConstGauge::new(s.excess_bytes.min(i64::MAX as u64) as i64).encode(m.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// The exposition of a snapshot, as a scrape gets it.
pub fn encode(snapshot: &Snapshot) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SnapshotCollector(Arc::new(Mutex::new(snapshot.clone())))));
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}

/// OpenMetrics text, which Prometheus reads (and asks for first).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `/metrics` endpoint: an HTTP server on a thread of its own.
pub struct Exporter {
    snapshot: Arc<Mutex<Snapshot>>,
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
}

impl Exporter {
    /// Listens on `addrs` (checked by [`crate::vector::listen::checked_addr`]).
    pub fn start(flag_value: &str, addrs: &[SocketAddr]) -> Result<Exporter> {
        let server = tiny_http::Server::http(addrs).map_err(|e| anyhow!("cannot listen on --metrics {flag_value}: {e}"))?;
        let addr = server.server_addr().to_ip().ok_or_else(|| anyhow!("--metrics {flag_value}: not an IP address"))?;
        let server = Arc::new(server);
        let snapshot = Arc::new(Mutex::new(Snapshot::default()));
        let mut registry = Registry::default();
        registry.register_collector(Box::new(SnapshotCollector(Arc::clone(&snapshot))));
        let serving = Arc::clone(&server);
        std::thread::Builder::new().name("metrics".into()).spawn(move || {
            for req in serving.incoming_requests() {
                answer(req, &registry);
            }
        })?;
        Ok(Exporter { snapshot, addr, server })
    }

    /// Where it listens (port 0 picked one).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the next scrapes show.
    pub fn update(&self, snapshot: Snapshot) {
        *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = snapshot;
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn answer(req: tiny_http::Request, registry: &Registry) {
    use tiny_http::{Header, Method, Response};
    let text = |code: u16, body: &str| {
        Response::from_string(body)
            .with_status_code(code)
            .with_header(Header::from_bytes("Content-Type", "text/plain; charset=utf-8").expect("a valid header"))
    };
    let path = req.url().split('?').next().unwrap_or_default().to_string();
    let resp = match (req.method(), path.as_str()) {
        (Method::Get | Method::Head, "/metrics") => {
            let mut body = String::new();
            match prometheus_client::encoding::text::encode(&mut body, registry) {
                Ok(()) => Response::from_string(body)
                    .with_header(Header::from_bytes("Content-Type", CONTENT_TYPE).expect("a valid header")),
                Err(_) => text(500, "cannot encode the metrics\n"),
            }
        }
        (Method::Get | Method::Head, _) => text(404, "resetwatch serves /metrics only\n"),
        _ => text(405, "GET /metrics\n"),
    };
    let _ = req.respond(resp);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(source: &str, name: Option<&str>, pairs: u64, firing: Option<Severity>) -> StreamCounts {
        StreamCounts {
            source: source.into(),
            server_name: name.map(String::from),
            account: "$G".into(),
            stream: "ORDERS".into(),
            pairs_total: pairs,
            leaking_resets_total: pairs,
            firing,
        }
    }

    #[test]
    fn the_exposition_names_each_series_by_stream_and_server() {
        let snap = Snapshot {
            streams: vec![stream("nats/nats-0", Some("n1"), 13, Some(Severity::Critical)), stream("n3", None, 0, None)],
            servers: vec![ServerStorage {
                source: "n2".into(),
                server_name: Some("n2".into()),
                server_id: "NAH7".into(),
                reserved_storage: 503316480,
                excess_bytes: 402653184,
            }],
        };
        let text = encode(&snap);
        for line in [
            "# TYPE resetwatch_reset_pairs counter",
            r#"resetwatch_reset_pairs_total{account="$G",stream="ORDERS",source="nats/nats-0",server_name="n1"} 13"#,
            r#"resetwatch_reset_pairs_total{account="$G",stream="ORDERS",source="n3"} 0"#,
            r#"resetwatch_leaking_resets_total{account="$G",stream="ORDERS",source="nats/nats-0",server_name="n1"} 13"#,
            "# TYPE resetwatch_reset_loop_firing gauge",
            r#"resetwatch_reset_loop_firing{account="$G",stream="ORDERS",source="nats/nats-0",server_name="n1",severity="critical"} 1"#,
            r#"resetwatch_reset_loop_firing{account="$G",stream="ORDERS",source="nats/nats-0",server_name="n1",severity="warning"} 0"#,
            r#"resetwatch_reset_loop_firing{account="$G",stream="ORDERS",source="n3",severity="critical"} 0"#,
            r#"resetwatch_reserved_storage_excess_bytes{source="n2",server_name="n2"} 402653184"#,
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
        // Four series per stream, one per server: nothing else.
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 2 * 4 + 1, "{text}");
    }
}
