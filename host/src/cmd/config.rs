//! `--config FILE` (resetwatch.json), as `replay` and `serve` read it: read
//! once, before anything starts, and named the same way in every error
//! (`FILE: problem`, or `configuration: problem` without a file).

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use resetwatch::Config;
use resetwatch_host::component::{Detector, DetectorComponent};

/// The configuration document, and what errors call it.
pub struct ConfigFile {
    /// The JSON text (`{}` without `--config`).
    pub json: String,
    /// The file's path as given, or `configuration`.
    pub at: String,
}

impl ConfigFile {
    /// Reads `--config` (a file that must exist), or the empty document.
    pub fn read(path: Option<&Path>) -> Result<ConfigFile> {
        let json = match path {
            Some(p) => std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
            None => "{}".to_string(),
        };
        let at = path.map_or("configuration".to_string(), |p| p.display().to_string());
        Ok(ConfigFile { json, at })
    }

    /// The core's reading of it; a bad document fails here, named.
    pub fn parse(&self) -> Result<Config> {
        Config::from_json(self.json.as_bytes()).map_err(|e| anyhow::anyhow!("{}: {e}", self.at))
    }

    /// A fresh detector of `component` with this configuration; one the
    /// component refuses fails here, named.
    pub fn create(&self, component: &DetectorComponent) -> Result<Detector> {
        match component.create(&self.json)? {
            Ok(d) => Ok(d),
            Err(e) => bail!("{}: {}", self.at, e.message()),
        }
    }
}
