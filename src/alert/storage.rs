//! The reserved-storage alert: one per server whose `/jsz` snapshots show
//! `reserved_storage` above the sum of its streams' `max_bytes` (the
//! judging is `crate::detect::storage`'s), and its JSON form. Field names
//! are a stable interface (docs/alerts.md).

use crate::alert::{Severity, Status};
use crate::text::clock::Micros;
use crate::text::json::ObjectWriter;

/// The name of the storage alert.
pub const RESERVED_STORAGE_INFLATED: &str = "nats_reserved_storage_inflated";

/// One reserved-storage alert for one server.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageAlert {
    /// Firing or resolved.
    pub status: Status,
    /// Critical when `reserved_storage` reaches `max_storage` within the hour.
    pub severity: Severity,
    /// The log source whose banner printed this server ID, else the
    /// snapshot record's own source.
    pub source: String,
    /// `Server name:` from the banner, when a log source printed this ID.
    pub server_name: Option<String>,
    /// The snapshot's `server_id`.
    pub server_id: String,
    /// The server's version, from its banner or the snapshot.
    pub server_version: Option<String>,
    /// Whether that version carries the issue 6455 leak.
    pub known_leak: Option<bool>,
    /// `reserved_storage` in the latest snapshot, in bytes.
    pub reserved_storage: u64,
    /// Sum of the file streams' `max_bytes` in the snapshot (-1 as 0).
    pub sum_max_bytes: u64,
    /// JetStream `max_storage` of the server, when known.
    pub max_storage: Option<u64>,
    /// Change of `reserved_storage` per minute over the last five minutes
    /// of snapshots (at least one minute).
    pub growth_bytes_per_minute: i64,
    /// When `reserved_storage` reaches `max_storage` at that rate; `None`
    /// when it is not growing (or `max_storage` is unknown).
    pub seconds_to_max_storage: Option<u64>,
    /// Streams in a reset loop on this server now (`<account> > <stream>`).
    pub looping_streams: Vec<String>,
    /// The first snapshot of the two that fired it.
    pub first_seen: Micros,
    /// The latest snapshot.
    pub last_seen: Micros,
    /// The zone to print times in.
    pub offset: Micros,
}

/// Bytes in MiB, whole from 10 MiB on, else to a tenth (integers only:
/// float formatting would add kilobytes to the module).
pub(crate) fn mib(n: u64) -> String {
    const M: u128 = 1 << 20;
    let n = n as u128;
    if n >= 10 * M || n % M == 0 {
        format!("{} MiB", (n + M / 2) / M)
    } else {
        let tenths = (n * 10 + M / 2) / M;
        format!("{}.{} MiB", tenths / 10, tenths % 10)
    }
}

impl StorageAlert {
    /// Reserved bytes beyond what the streams can hold.
    pub fn excess_bytes(&self) -> u64 {
        self.reserved_storage.saturating_sub(self.sum_max_bytes)
    }

    fn where_(&self) -> String {
        let id: String = self.server_id.chars().take(8).collect();
        match &self.server_name {
            Some(n) => format!("{n} ({id}...)"),
            None => format!("{id}... ({})", self.source),
        }
    }

    /// One sentence a person can act on.
    pub fn summary(&self) -> String {
        if self.status == Status::Resolved {
            return format!(
                "Reserved storage on server {} is back within its streams' max_bytes ({} reserved, {} of max_bytes).",
                self.where_(),
                mib(self.reserved_storage),
                mib(self.sum_max_bytes)
            );
        }
        let growth = match (self.growth_bytes_per_minute, self.seconds_to_max_storage) {
            (g, Some(s)) if g > 0 => format!(
                "; growing by {} a minute, max_storage ({}) reached in about {} min",
                mib(g as u64),
                self.max_storage.map(mib).unwrap_or_default(),
                s.div_ceil(60)
            ),
            (g, None) if g > 0 => format!("; growing by {} a minute", mib(g as u64)),
            _ => "; not growing now".to_string(),
        };
        let looping = if self.looping_streams.is_empty() {
            String::new()
        } else {
            format!("; in a reset loop here: {}", self.looping_streams.join(", "))
        };
        format!(
            "Server {} has {} of storage reserved but its file streams' max_bytes add up to {}: {} leaked by stream resets (nats-server issue 6455){growth}{looping}.",
            self.where_(),
            mib(self.reserved_storage),
            mib(self.sum_max_bytes),
            mib(self.excess_bytes())
        )
    }

    /// What to do, in order.
    pub fn runbook(&self) -> Vec<String> {
        let server = self.server_name.as_deref().unwrap_or(&self.server_id);
        let mut steps = vec![format!(
            "Confirm on {server}: `curl -s 'http://HOST:8222/jsz?accounts=true&streams=true&config=true'`: reserved_storage above the sum of its file streams' config.max_bytes (account reserved_* are limits, not reservations)."
        )];
        if !self.looping_streams.is_empty() {
            steps.push(format!(
                "Stop the reset loop first ({}): follow the nats_stream_reset_loop alert's runbook; until it stops, every reset reserves max_bytes again.",
                self.looping_streams.join(", ")
            ));
        }
        steps.push(format!(
            "Restart {server} (rolling, one server at a time): a server recomputes its reservations when it starts, which releases what leaked."
        ));
        steps.push("Upgrade nats-server to 2.10.26 or 2.11.0 or later, where resets no longer leak reservations (nats-server issue 6455, PR 6457).".to_string());
        steps
    }

    /// Appends the alert as one JSON object.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut w = ObjectWriter::new(out);
        w.str("alert", RESERVED_STORAGE_INFLATED)
            .str("status", self.status.as_str())
            .str("severity", self.severity.as_str())
            .str("source", &self.source)
            .opt_str("server_name", self.server_name.as_deref())
            .str("server_id", &self.server_id)
            .opt_str("server_version", self.server_version.as_deref())
            .opt_bool("known_leak", self.known_leak)
            .num("reserved_storage", clamp(self.reserved_storage))
            .num("sum_max_bytes", clamp(self.sum_max_bytes))
            .num("excess_bytes", clamp(self.excess_bytes()))
            .opt_num("max_storage", self.max_storage.map(clamp))
            .num("growth_bytes_per_minute", self.growth_bytes_per_minute)
            .opt_num("seconds_to_max_storage", self.seconds_to_max_storage.map(clamp))
            .str_list("looping_streams", &self.looping_streams)
            .time("first_seen", self.first_seen, self.offset)
            .time("last_seen", self.last_seen, self.offset)
            .str("summary", &self.summary())
            .str_list("runbook", &self.runbook());
        w.finish();
    }

    /// The alert as a JSON string.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

fn clamp(n: u64) -> i64 {
    n.min(i64::MAX as u64) as i64
}

// The saved state's shape (see `state`), as of version 2.
crate::text::carry::carry_struct!(StorageAlert {
    status,
    severity,
    source,
    server_name,
    server_id,
    server_version,
    known_leak,
    reserved_storage,
    sum_max_bytes,
    max_storage,
    growth_bytes_per_minute,
    seconds_to_max_storage,
    looping_streams,
    first_seen,
    last_seen,
    offset,
});
