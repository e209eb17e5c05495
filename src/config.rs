//! resetwatch's options: one struct, read from `resetwatch.json`, checked
//! key by key so that an error names the key it is about.

use crate::text::clock::{self, Micros, SECOND};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Everything that can be configured, with the defaults of docs/configuration.md#keys.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Record keys that may hold the log line, in order of preference.
    pub message_keys: Vec<String>,
    /// Dotted path of the Kubernetes namespace in a record.
    pub namespace_key: String,
    /// Dotted path of the Kubernetes pod name in a record.
    pub pod_key: String,
    /// Record keys that may name the host, in order of preference.
    pub host_keys: Vec<String>,
    /// A reset this long after its cause makes a reset pair.
    pub pair_gap: Micros,
    /// Pairs are counted over this sliding window.
    pub window: Micros,
    /// Pairs in the window that fire the alert as `warning`.
    pub warning_pairs: u32,
    /// Pairs in the window that make it `critical`.
    pub critical_pairs: u32,
    /// Leaking resets in one episode that fire the alert however slowly
    /// they came (the leak rule), unless the release is known not to leak.
    pub leak_pairs: u32,
    /// A firing alert is re-emitted at most this often (unless severity rises).
    pub repeat: Micros,
    /// A firing alert resolves after this long with no pair.
    pub quiet: Micros,
    /// The zone nats-server's local line times are in.
    pub line_utc_offset: Micros,
    /// Most (source, account, stream) keys tracked; least recently seen go first.
    pub max_keys: usize,
    /// Most sources (servers) tracked; least recently seen go first.
    pub max_sources: usize,
    /// nats-server version to assume when a source's banner was not seen.
    pub server_version: Option<String>,
    /// Per-source versions, before `server_version`.
    pub server_versions: BTreeMap<String, String>,
    /// Where a host shell keeps the detector's state between restarts
    /// (Fluent Bit: a directory under `Accessible_Paths`); `None`: in memory only.
    pub state_dir: Option<String>,
    /// What the Fluent Bit build hands back for a record (docs/alertmanager.md#from-fluent-bit).
    pub output: Output,
}

/// What the Fluent Bit build does with records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Output {
    /// Detect, and add alerts to records under `resetwatch`.
    #[default]
    Record,
    /// Detect nothing: a record that carries an alert becomes its
    /// Alertmanager form ([`crate::alert::alertmanager`]); any other passes unchanged.
    /// For a second filter instance on the routed alert copies.
    Alertmanager,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            message_keys: vec!["log".into(), "message".into(), "MESSAGE".into()],
            namespace_key: "kubernetes.namespace_name".into(),
            pod_key: "kubernetes.pod_name".into(),
            host_keys: vec!["host".into(), "_HOSTNAME".into()],
            pair_gap: 5 * SECOND,
            window: 300 * SECOND,
            warning_pairs: 3,
            critical_pairs: 10,
            leak_pairs: 3,
            repeat: 60 * SECOND,
            quiet: 600 * SECOND,
            line_utc_offset: 0,
            max_keys: 10_000,
            max_sources: 1_000,
            server_version: None,
            server_versions: BTreeMap::new(),
            state_dir: None,
            output: Output::Record,
        }
    }
}

/// A configuration that cannot be used: which key, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The key (`""` when the document itself is at fault).
    pub key: String,
    /// What is wrong with it, for a person.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.problem)
        } else {
            write!(f, "`{}`: {}", self.key, self.problem)
        }
    }
}

impl std::error::Error for ConfigError {}

fn err(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError { key: key.to_string(), problem: problem.into() }
}

/// Deepest nesting accepted before the JSON parser (which recurses) runs.
const MAX_DEPTH: usize = 8;

impl Config {
    /// Parses `resetwatch.json`. Unknown keys are errors: a typo should not
    /// silently leave a default in place.
    pub fn from_json(text: &[u8]) -> Result<Config, ConfigError> {
        if !crate::text::json::depth_at_most(text, MAX_DEPTH) {
            return Err(err("", format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let value: Value = serde_json::from_slice(text).map_err(|e| err("", format!("not valid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(err("", "must be a JSON object"));
        };
        Config::from_map(&map)
    }

    /// Applies each key of an already parsed object on top of the defaults.
    pub fn from_map(map: &Map<String, Value>) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        for (key, v) in map {
            let k = key.as_str();
            match k {
                "message_keys" => c.message_keys = strings(k, v)?,
                "namespace_key" => c.namespace_key = string(k, v)?,
                "pod_key" => c.pod_key = string(k, v)?,
                "host_keys" => c.host_keys = strings(k, v)?,
                "pair_gap_seconds" => c.pair_gap = seconds(k, v)?,
                "window_seconds" => c.window = seconds(k, v)?,
                "warning_pairs" => c.warning_pairs = count(k, v)? as u32,
                "critical_pairs" => c.critical_pairs = count(k, v)? as u32,
                "leak_pairs" => c.leak_pairs = count(k, v)? as u32,
                "repeat_seconds" => c.repeat = seconds(k, v)?,
                "quiet_seconds" => c.quiet = seconds(k, v)?,
                "line_utc_offset" => {
                    let s = string(k, v)?;
                    c.line_utc_offset = clock::parse_offset(s.as_bytes())
                        .ok_or_else(|| err(k, format!("`{s}` is not an offset like +00:00 or -05:30")))?;
                }
                "max_keys" => c.max_keys = count(k, v)? as usize,
                "max_sources" => c.max_sources = count(k, v)? as usize,
                "server_version" => {
                    c.server_version = match v {
                        Value::Null => None,
                        _ => Some(version(k, v)?),
                    }
                }
                "server_versions" => {
                    let Value::Object(m) = v else { return Err(err(k, "must be an object of source -> version")) };
                    for (src, ver) in m {
                        c.server_versions.insert(src.clone(), version(&format!("{k}.{src}"), ver)?);
                    }
                }
                "state_dir" => {
                    c.state_dir = match v {
                        Value::Null => None,
                        _ => Some(string(k, v)?),
                    }
                }
                "output" => {
                    c.output = match v.as_str() {
                        Some("record") => Output::Record,
                        Some("alertmanager") => Output::Alertmanager,
                        _ => return Err(err(k, "must be \"record\" or \"alertmanager\"")),
                    }
                }
                _ => return Err(err(k, "unknown key (see the configuration reference in the README)")),
            }
        }
        if c.critical_pairs < c.warning_pairs {
            return Err(err("critical_pairs", format!("{} is below warning_pairs ({})", c.critical_pairs, c.warning_pairs)));
        }
        if c.window < c.pair_gap {
            return Err(err("window_seconds", "must be at least pair_gap_seconds"));
        }
        Ok(c)
    }
}

fn string(k: &str, v: &Value) -> Result<String, ConfigError> {
    match v {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::String(_) => Err(err(k, "must not be empty")),
        _ => Err(err(k, format!("must be a string, not {}", kind(v)))),
    }
}

fn strings(k: &str, v: &Value) -> Result<Vec<String>, ConfigError> {
    let Value::Array(items) = v else { return Err(err(k, format!("must be a list of strings, not {}", kind(v)))) };
    if items.is_empty() {
        return Err(err(k, "must name at least one key"));
    }
    items.iter().map(|i| string(k, i)).collect()
}

fn seconds(k: &str, v: &Value) -> Result<Micros, ConfigError> {
    let s = v.as_f64().ok_or_else(|| err(k, format!("must be a number of seconds, not {}", kind(v))))?;
    // Times are whole microseconds: a value that rounds to none is 0.
    let micros = (s * SECOND as f64).round();
    if !(micros >= 1.0 && s <= 365.0 * 86_400.0) {
        // Not echoed: formatting a float links 11 KB into every module.
        return Err(err(k, "is out of range (at least 0.000001 seconds, at most a year)"));
    }
    Ok(micros as Micros)
}

fn count(k: &str, v: &Value) -> Result<u64, ConfigError> {
    match v.as_u64() {
        Some(n) if (1..=100_000_000).contains(&n) => Ok(n),
        Some(n) => Err(err(k, format!("{n} is out of range (1 to 100000000)"))),
        None => Err(err(k, format!("must be a whole number, not {}", kind(v)))),
    }
}

fn version(k: &str, v: &Value) -> Result<String, ConfigError> {
    let s = string(k, v)?;
    crate::version::parse_version(&s).ok_or_else(|| err(k, format!("`{s}` is not a nats-server version like 2.10.25")))?;
    Ok(s)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(Config::from_json(b"{}").unwrap(), Config::default());
        let c = Config::from_json(
            br#"{"window_seconds": 60, "pair_gap_seconds": 2.5, "line_utc_offset": "+01:00",
                 "server_version": "2.10.25", "server_versions": {"nats/nats-0": "2.10.26"},
                 "message_keys": ["msg"], "max_keys": 5}"#,
        )
        .unwrap();
        assert_eq!(c.window, 60 * SECOND);
        assert_eq!(c.pair_gap, 2_500_000);
        assert_eq!(c.line_utc_offset, 3600 * SECOND);
        assert_eq!(c.server_versions["nats/nats-0"], "2.10.26");
        assert_eq!(c.message_keys, ["msg"]);
        assert_eq!(c.max_keys, 5);
        assert_eq!(Config::default().leak_pairs, 3);
        assert_eq!(Config::from_json(br#"{"leak_pairs": 5}"#).unwrap().leak_pairs, 5);
        assert_eq!(Config::from_json(br#"{"output": "alertmanager"}"#).unwrap().output, Output::Alertmanager);
    }

    #[test]
    fn errors_name_the_key() {
        let table: &[(&str, &str)] = &[
            (r#"{"window_secs": 60}"#, "window_secs"),
            (r#"{"window_seconds": "60"}"#, "window_seconds"),
            (r#"{"window_seconds": -1}"#, "window_seconds"),
            // Found by the `config` fuzz target: 1e-7 s passed as "more
            // than 0" and became a repeat interval of 0 microseconds.
            (r#"{"repeat_seconds": 1e-7}"#, "repeat_seconds"),
            (r#"{"warning_pairs": 2.5}"#, "warning_pairs"),
            (r#"{"warning_pairs": 0}"#, "warning_pairs"),
            (r#"{"warning_pairs": 5, "critical_pairs": 4}"#, "critical_pairs"),
            (r#"{"line_utc_offset": "CET"}"#, "line_utc_offset"),
            (r#"{"message_keys": []}"#, "message_keys"),
            (r#"{"message_keys": "log"}"#, "message_keys"),
            (r#"{"server_version": "new"}"#, "server_version"),
            (r#"{"server_versions": {"n1": 2}}"#, "server_versions.n1"),
            (r#"{"pair_gap_seconds": 600}"#, "window_seconds"),
            (r#"{"output": "prometheus"}"#, "output"),
            (r#"{"leak_pairs": 0}"#, "leak_pairs"),
            (r#"{"leak_pairs": -3}"#, "leak_pairs"),
            (r#"{"leak_pairs": 2.5}"#, "leak_pairs"),
            (r#"{"leak_pairs": "3"}"#, "leak_pairs"),
            (r#"{"leak_pairs": null}"#, "leak_pairs"),
            (r#"{"output": true}"#, "output"),
            (r#"[1]"#, ""),
            (r#"{"a": "#, ""),
            (r#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"#, ""),
        ];
        for (text, key) in table {
            let e = Config::from_json(text.as_bytes()).unwrap_err();
            assert_eq!(e.key, *key, "{text}: {e}");
            assert!(!e.to_string().is_empty());
        }
    }
}
