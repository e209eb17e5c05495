//! The detector's state on disk, for hosts that restart the module (Fluent
//! Bit restarts; Fluent Bit 2.0-4.0.x even instantiates it for every chunk).
//! Saved atomically (write a temporary file, then rename) in the bytes of
//! [`crate::state`]; a damaged or foreign file is reported and ignored.

use crate::config::Config;
use crate::detector::Detector;
use crate::state;
use std::path::{Path, PathBuf};

/// The state file's name inside `state_dir`.
pub const FILE_NAME: &str = "resetwatch.state";

/// The state file of a configuration, if it asks for one.
pub fn path(cfg: &Config) -> Option<PathBuf> {
    cfg.state_dir.as_deref().map(|d| Path::new(d).join(FILE_NAME))
}

/// A detector from the saved state, or a fresh one. The second value is a
/// line to report when a file was there but could not be used.
pub fn load(cfg: &Config) -> (Detector, Option<String>) {
    let Some(p) = path(cfg) else { return (Detector::new(cfg.clone()), None) };
    match std::fs::read(&p) {
        Ok(bytes) => match state::restore(cfg.clone(), &bytes) {
            Ok(d) => (d, None),
            Err(e) => (
                Detector::new(cfg.clone()),
                Some(format!("[resetwatch] {}: {e}; starting with an empty state", p.display())),
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Detector::new(cfg.clone()), None),
        Err(e) => (Detector::new(cfg.clone()), Some(format!("[resetwatch] {}: {e}; starting with an empty state", p.display()))),
    }
}

/// Writes the state: temporary file, then rename, so a reader never sees half.
pub fn save(cfg: &Config, detector: &Detector) -> std::io::Result<()> {
    let Some(p) = path(cfg) else { return Ok(()) };
    let tmp = p.with_extension("state.tmp");
    std::fs::write(&tmp, state::save(detector))?;
    std::fs::rename(&tmp, &p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Filter;

    #[test]
    fn saves_and_loads_atomically() {
        let dir = std::env::temp_dir().join(format!("resetwatch-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = Config { state_dir: Some(dir.display().to_string()), ..Config::default() };
        let (d, report) = load(&cfg);
        assert!(report.is_none());
        let mut f = Filter::from_detector(d);
        f.ingest_line("n1", 0, b"[1] 2026/11/26 14:17:08.000000 [INF]   Version:  2.10.25");
        save(&cfg, f.detector()).unwrap();
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
