//! Saving and restoring the detector, as versioned bytes: the same bytes
//! for the component's save/restore and for the Fluent Bit build's state
//! file. A header names the format and its version; anything else is
//! refused with a reason, never half-loaded.

use crate::alert::Alert;
use crate::storage::StorageAlert;
use crate::clock::Micros;
use crate::config::Config;
use crate::detector::{Detector, Stats};
use std::fmt;

/// The first line of every state.
pub const MAGIC: &[u8] = b"resetwatch-state ";
/// The version this build writes. Version 2 added `/jsz` storage
/// tracking and storage alerts in the outbox; version 1 (reset-loop
/// alerts only) is still read.
pub const VERSION: u32 = 2;
/// Older versions this build still reads.
const READS: [u32; 2] = [1, 2];

/// Why a state could not be restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateError {
    /// Not a resetwatch state at all.
    Foreign,
    /// A resetwatch state of a version this build does not read.
    Version(u32),
    /// The header is right but the body is damaged.
    Corrupt(String),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Foreign => write!(f, "not a resetwatch state"),
            StateError::Version(v) => write!(f, "state version {v}, this build reads versions 1 to {VERSION}"),
            StateError::Corrupt(why) => write!(f, "damaged state: {why}"),
        }
    }
}

impl std::error::Error for StateError {}

/// Everything the detector knows, in a form serde can carry. Version 2
/// only adds members (defaults when absent), so one reader reads both.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Snapshot<S, K, T, G> {
    pub sources: Vec<(String, S)>,
    pub streams: Vec<(K, T)>,
    pub firing: Vec<K>,
    /// Reset-loop alerts waiting, in order.
    pub outbox: Vec<Alert>,
    pub next_host_due: Micros,
    pub stats: Stats,
    /// Storage alerts waiting, each with its place in the whole queue
    /// (version 2 on).
    #[serde(default = "Vec::new")]
    pub storage_outbox: Vec<(usize, StorageAlert)>,
    /// Per server ID (version 2 on).
    #[serde(default = "Vec::new")]
    pub storage: Vec<(String, G)>,
}

/// Writes `detector`'s state.
pub fn save(detector: &Detector) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(format!("{VERSION}\n").as_bytes());
    // Serializing plain data into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, &detector.snapshot());
    out
}

/// A detector with `cfg` and the state in `bytes`. Entries beyond the
/// configured bounds are evicted as if they had just been seen in order.
pub fn restore(cfg: Config, bytes: &[u8]) -> Result<Detector, StateError> {
    let rest = bytes.strip_prefix(MAGIC).ok_or(StateError::Foreign)?;
    let nl = rest.iter().position(|&c| c == b'\n').ok_or(StateError::Foreign)?;
    let version: u32 = std::str::from_utf8(&rest[..nl]).ok().and_then(|v| v.parse().ok()).ok_or(StateError::Foreign)?;
    if !READS.contains(&version) {
        return Err(StateError::Version(version));
    }
    let body = &rest[nl + 1..];
    if !crate::json::depth_at_most(body, 12) {
        return Err(StateError::Corrupt("nested too deep".into()));
    }
    let snap = serde_json::from_slice(body).map_err(|e| StateError::Corrupt(e.to_string()))?;
    Ok(Detector::from_snapshot(cfg, snap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Filter;

    fn looping(f: &mut Filter, from: usize, to: usize) {
        for i in from..to {
            let s = 8 + i * 5;
            let a = format!("[1] 2026/11/26 14:17:{s:02}.000000 [WRN] Error applying entries to '$G > ORDERS': last sequence mismatch");
            let r = format!("[1] 2026/11/26 14:17:{s:02}.000500 [WRN] Resetting stream cluster state for '$G > ORDERS'");
            f.ingest_line("n1", 0, a.as_bytes());
            f.ingest_line("n1", 0, r.as_bytes());
        }
    }

    #[test]
    fn a_restored_detector_goes_on_where_it_stopped() {
        // Straight through: warning at pair 3.
        let mut whole = Filter::new(Config::default());
        looping(&mut whole, 0, 4);
        let want: Vec<_> = std::iter::from_fn(|| whole.next_alert()).collect();
        // Two pairs, save, restore in a new instance, two more pairs.
        let mut first = Filter::new(Config::default());
        looping(&mut first, 0, 2);
        let bytes = save(first.detector());
        let mut second = Filter::from_detector(restore(Config::default(), &bytes).unwrap());
        looping(&mut second, 2, 4);
        let got: Vec<_> = std::iter::from_fn(|| second.next_alert()).collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 1);
        // Lines seen before the save are still known as seen.
        looping(&mut second, 0, 4);
        assert_eq!(second.detector().stats.duplicates, 8);
    }

    #[test]
    fn foreign_and_damaged_states_are_refused() {
        let mut f = Filter::new(Config::default());
        looping(&mut f, 0, 2);
        let good = save(f.detector());
        assert_eq!(restore(Config::default(), b"{}").err(), Some(StateError::Foreign));
        assert_eq!(restore(Config::default(), b"").err(), Some(StateError::Foreign));
        assert_eq!(restore(Config::default(), b"resetwatch-state 99\n{}").err(), Some(StateError::Version(99)));
        let cut = &good[..good.len() / 2];
        assert!(matches!(restore(Config::default(), cut), Err(StateError::Corrupt(_))));
        let mut deep = b"resetwatch-state 1\n".to_vec();
        deep.extend(std::iter::repeat(b'[').take(10_000));
        assert!(matches!(restore(Config::default(), &deep), Err(StateError::Corrupt(_))));
        assert!(restore(Config::default(), &good).is_ok());
    }

    #[test]
    fn restoring_into_smaller_bounds_evicts_the_oldest() {
        let mut f = Filter::new(Config::default());
        for i in 0..50 {
            let l = format!("[1] 2026/11/26 14:17:08.{i:06} [WRN] Error applying entries to '$G > S{i}': last sequence mismatch");
            f.ingest_line("n1", 0, l.as_bytes());
        }
        let small = Config { max_keys: 10, ..Config::default() };
        let d = restore(small, &save(f.detector())).unwrap();
        assert_eq!(d.tracked_streams(), 10);
    }
}
