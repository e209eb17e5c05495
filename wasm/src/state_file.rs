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
/// it names none), with [`write_atomically`].
pub fn save(cfg: &Config, tracker: &Tracker) -> std::io::Result<()> {
    let Some(p) = path(cfg) else { return Ok(()) };
    write_atomically(&p, &tracker.save())
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

#[cfg(test)]
mod tests {
    use super::*;
    use resetwatch::Filter;

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
