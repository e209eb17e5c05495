//! Finding `resetwatch.json` in the directories a WASI host made
//! accessible, in order, and reading it.

use resetwatch::{Config, ConfigError};
use std::path::{Path, PathBuf};

/// The configuration file's name.
pub const FILE_NAME: &str = "resetwatch.json";

/// What loading the configuration came to.
#[derive(Debug)]
pub enum Loaded {
    /// No file in any directory: defaults.
    Defaults,
    /// Read from this file.
    File(PathBuf, Config),
    /// The file is bad: defaults are used, and this is said once.
    Bad(PathBuf, ConfigError),
}

impl Loaded {
    /// The configuration to run on.
    pub fn config(&self) -> Config {
        match self {
            Loaded::File(_, c) => c.clone(),
            _ => Config::default(),
        }
    }

    /// The line to report on stderr, if any.
    pub fn report(&self) -> Option<String> {
        match self {
            Loaded::Bad(p, e) => {
                Some(format!("[resetwatch] {}: {e}; running on defaults, every record passes through", p.display()))
            }
            _ => None,
        }
    }
}

/// Reads the first `resetwatch.json` found in `dirs`.
pub fn load(dirs: &[String]) -> Loaded {
    for d in dirs {
        let path = Path::new(d).join(FILE_NAME);
        match std::fs::read(&path) {
            Ok(bytes) => {
                return match Config::from_json(&bytes) {
                    Ok(c) => Loaded::File(path, c),
                    Err(e) => Loaded::Bad(path, e),
                }
            }
            Err(_) => continue,
        }
    }
    Loaded::Defaults
}

/// The directories the WASI host preopened, in the host's order
/// (`Accessible_Paths` for Fluent Bit).
#[cfg(all(target_arch = "wasm32", target_os = "wasi", target_env = "p1"))]
pub fn preopened_dirs() -> Vec<String> {
    #[repr(C)]
    struct Prestat {
        tag: u8,
        name_len: usize,
    }
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        fn fd_prestat_get(fd: u32, buf: *mut Prestat) -> u16;
        fn fd_prestat_dir_name(fd: u32, path: *mut u8, len: usize) -> u16;
    }
    let mut dirs = Vec::new();
    // Preopens are numbered from 3 with no gaps; the first failure ends them.
    for fd in 3u32..1024 {
        let mut p = Prestat { tag: 0, name_len: 0 };
        // SAFETY: WASI writes one prestat into `p`.
        if unsafe { fd_prestat_get(fd, &mut p) } != 0 {
            break;
        }
        if p.tag != 0 || p.name_len > 4096 {
            continue;
        }
        let mut name = vec![0u8; p.name_len];
        // SAFETY: `name` has room for the `name_len` bytes WASI writes.
        if unsafe { fd_prestat_dir_name(fd, name.as_mut_ptr(), name.len()) } != 0 {
            continue;
        }
        // Some hosts count a trailing NUL.
        while name.last() == Some(&0) {
            name.pop();
        }
        dirs.push(String::from_utf8_lossy(&name).into_owned());
    }
    dirs
}

/// Preview 2 hosts preopen through `wasi:filesystem`; std resolves the
/// current directory against them.
#[cfg(not(all(target_arch = "wasm32", target_os = "wasi", target_env = "p1")))]
pub fn preopened_dirs() -> Vec<String> {
    vec![".".to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_directory_with_the_file_wins() {
        let base = std::env::temp_dir().join(format!("resetwatch-cfg-{}", std::process::id()));
        let (a, b, c) = (base.join("a"), base.join("b"), base.join("c"));
        for d in [&a, &b, &c] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(b.join(FILE_NAME), br#"{"window_seconds": 30}"#).unwrap();
        std::fs::write(c.join(FILE_NAME), br#"{"window_seconds": 40}"#).unwrap();
        let dirs: Vec<String> = [&a, &b, &c].iter().map(|d| d.display().to_string()).collect();
        let loaded = load(&dirs);
        assert_eq!(loaded.config().window, 30 * resetwatch::clock::SECOND);
        assert!(loaded.report().is_none());
        std::fs::write(b.join(FILE_NAME), br#"{"window_seconds": "x"}"#).unwrap();
        let loaded = load(&dirs);
        assert_eq!(loaded.config(), Config::default());
        assert!(loaded.report().unwrap().contains("`window_seconds`"));
        assert!(matches!(load(&[a.display().to_string()]), Loaded::Defaults));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
