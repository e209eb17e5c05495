//! The detector's state on disk, for hosts that restart the module (Fluent
//! Bit restarts; Fluent Bit 2.0-4.0.x even instantiates it for every chunk).
//! Saved atomically (write a temporary file, sync it, then rename) in the
//! bytes of `Tracker::save`; a damaged or foreign file is reported and ignored.

use resetwatch::Config;
use resetwatch::Tracker;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The state file's name inside `state_dir`.
pub const FILE_NAME: &str = "resetwatch.state";

/// The state file of a configuration, if it asks for one.
pub fn path(cfg: &Config) -> Option<PathBuf> {
    cfg.state_dir.as_deref().map(|d| Path::new(d).join(FILE_NAME))
}

/// A detector from the saved state, or a fresh one. The second value is a
/// line to report when a file was there but could not be used.
#[inline(never)]
pub fn load(cfg: &Config) -> (Tracker, Option<String>) {
    let Some(p) = path(cfg) else { return (Tracker::new(cfg.clone()), None) };
    let fresh = |why: &dyn std::fmt::Display| {
        (Tracker::new(cfg.clone()), Some(format!("[resetwatch] {}: {why}; starting with an empty state", p.display())))
    };
    match std::fs::read(&p) {
        Ok(bytes) => match Tracker::restore(cfg.clone(), &bytes) {
            Ok(d) => (d, None),
            Err(e) => fresh(&e),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Tracker::new(cfg.clone()), None),
        Err(e) => fresh(&e),
    }
}

/// Writes the state of `tracker` into `cfg`'s `state_dir` (nothing when
/// it names none), with [`write_atomically`]; returns the state's length.
pub fn save(cfg: &Config, tracker: &Tracker) -> std::io::Result<usize> {
    let Some(p) = path(cfg) else { return Ok(0) };
    let bytes = tracker.save();
    write_atomically(&p, &bytes).map(|()| bytes.len())
}

/// A temporary file next to `path` (its name and `.tmp`), synced, then
/// renamed over it: a reader never sees half a state, and a crash leaves
/// the old state or the new one. Every state file is written by this.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// A state up to this long is written after every record that changed it,
/// so a crash loses nothing (a few dozen streams: the usual state). Kept
/// small because a growing state costs the sum of its writes.
const SMALL: usize = 16 * 1024;

/// Above [`SMALL`], a write waits until the changes since the last one
/// have paid this many bytes each: a write costs about its length
/// (serialising, in WAMR's interpreter about 0.4 us a byte), so no change
/// pays more than this many bytes of writing on average. Written after
/// every change, the 800 KB state of a storm over 10,000 streams made each
/// event line cost a third of a second.
const BYTES_PER_CHANGE: u64 = 32;

/// Above [`SMALL`], a state that changed is written at the latest this
/// many seconds of record time after the last write, by the first record
/// that comes then (the pass gate lets none by from that second on).
const LONGEST_SECS: i64 = 60;

/// When a host with no clock of its own (Fluent Bit's wasm filter, which
/// calls the module only with records) writes the state.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// `stats.changes` at the last write (or the state's load).
    saved_changes: u64,
    /// The last write's length; 0 before the first.
    saved_len: usize,
    /// The record second of the last write (or the first record seen).
    saved_at: Option<i64>,
    /// Every change is written for [`LONGEST_SECS`] after the first record
    /// when the state loaded holds an event line less than that before it:
    /// that is how an instance per chunk looks (Fluent Bit 4.0.x and
    /// earlier), and such an instance ends with its chunk, unasked, so a
    /// write that waited would be lost with it.
    loaded_newest: Option<i64>,
    /// The first record's second, and whether the instance is eager.
    started: Option<(i64, bool)>,
}

impl Schedule {
    /// A schedule for a tracker whose `stats.changes` is `changes` now and
    /// whose newest event line came at host second `loaded_newest`
    /// (`Tracker::newest_host`).
    pub fn new(changes: u64, loaded_newest: Option<i64>) -> Schedule {
        Schedule { saved_changes: changes, saved_len: 0, saved_at: None, loaded_newest, started: None }
    }

    /// Whether a tracker now at `changes` is to be written at record second `now`.
    pub fn due(&mut self, changes: u64, now: i64) -> bool {
        let since = *self.saved_at.get_or_insert(now);
        let newest = self.loaded_newest;
        let (started, eager) =
            *self.started.get_or_insert_with(|| (now, newest.is_some_and(|n| now.saturating_sub(n) < LONGEST_SECS)));
        let pending = changes.wrapping_sub(self.saved_changes);
        pending > 0
            && (self.saved_len <= SMALL
                || (eager && now < started.saturating_add(LONGEST_SECS))
                || pending.saturating_mul(BYTES_PER_CHANGE) >= self.saved_len as u64
                || now >= since.saturating_add(LONGEST_SECS))
    }

    /// A write (or a failed one: it is not retried before the next change)
    /// at `changes`, `len` bytes long, at record second `now`.
    pub fn written(&mut self, changes: u64, len: usize, now: i64) {
        self.saved_changes = changes;
        self.saved_len = len;
        self.saved_at = Some(now);
    }

    /// The record second from which the next record is to go the whole way
    /// to be written (a change waits), if one waits.
    pub fn wait_until(&self, changes: u64) -> Option<i64> {
        (changes != self.saved_changes).then(|| self.saved_at.unwrap_or(0).saturating_add(LONGEST_SECS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resetwatch::Filter;

    #[test]
    fn a_small_state_is_written_after_every_change_and_a_large_one_at_a_bounded_cost() {
        let mut s = Schedule::new(0, None);
        assert!(!s.due(0, 100), "nothing changed");
        // (changes, length of the state, second, due?)
        let steps: &[(u64, usize, i64, bool)] = &[
            (1, 2_000, 100, true),         // the first change: written
            (2, 2_000, 100, true),         // small: every change
            (3, 800_000, 100, true),       // still judged by the last write (2 KB)
            (4, 800_000, 101, false),      // large: 1 change of the 25,000 due
            (25_002, 800_000, 101, false), // 24,999
            (25_003, 800_000, 101, true),  // 25,000 changes (32 B each) paid for it
            (25_004, 800_000, 160, false), // 59 s later: waits
            (25_005, 800_000, 161, true),  // 60 s after the last write
        ];
        for &(changes, len, now, due) in steps {
            assert_eq!(s.due(changes, now), due, "{changes} changes at {now}");
            if due {
                s.written(changes, len, now);
                assert_eq!(s.wait_until(changes), None);
            }
        }
        assert_eq!(s.wait_until(25_006), Some(221), "a change waits: the gate shuts 60 s after the last write");
    }

    #[test]
    fn an_instance_that_found_a_fresh_state_writes_every_change_for_a_minute() {
        // The state loaded holds an event line of second 90.
        let mut s = Schedule::new(7, Some(90));
        assert!(s.due(8, 100));
        s.written(8, 800_000, 100);
        assert!(s.due(9, 159), "an instance per chunk ends unasked: nothing waits");
        s.written(9, 800_000, 159);
        assert!(!s.due(10, 160), "a minute on, the instance is not one per chunk");
        // A state whose newest event line is older than a minute: a restart.
        let mut late = Schedule::new(7, Some(30));
        assert!(late.due(8, 100));
        late.written(8, 800_000, 100);
        assert!(!late.due(9, 100));
    }

    #[test]
    fn saves_and_loads_atomically() {
        let dir = std::env::temp_dir().join(format!("resetwatch-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = Config { state_dir: Some(dir.display().to_string()), ..Config::default() };
        let (d, report) = load(&cfg);
        assert!(report.is_none());
        let mut f = Filter::from_tracker(d);
        f.ingest_line("n1", 0, b"[1] 2026/11/26 14:17:08.000000 [INF]   Version:  2.10.25");
        save(&cfg, f.tracker()).unwrap();
        assert!(!dir.join("resetwatch.state.tmp").exists());
        let (d, report) = load(&cfg);
        assert!(report.is_none());
        assert_eq!(d.server("n1").and_then(|s| s.version.as_deref()), Some("2.10.25"));
        std::fs::write(dir.join(FILE_NAME), b"garbage").unwrap();
        let (d, report) = load(&cfg);
        assert!(report.unwrap().contains("not a resetwatch state"));
        assert_eq!(d.tracked_sources(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
