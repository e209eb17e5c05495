//! Builds the Component Model build of the core (`wasm32-wasip2`, the same
//! command `cargo xtask dist` runs for `dist/resetwatch-component.wasm`)
//! so that the `resetwatch` binary carries it: `cargo install --path host`
//! alone makes a binary that runs anywhere, with `--wasm FILE` to run
//! another component instead.
//!
//! The nested cargo has its own target directory, under the outer build's
//! `build/` directory: the outer build holds the lock on the workspace's
//! target directory itself. Cargo reruns this script
//! only when the core's sources, `wit/` or the manifests change, and the
//! nested build is incremental, so an unchanged tree costs nothing.
//!
//! `RESETWATCH_COMPONENT=FILE` embeds that file instead (a prebuilt
//! component, e.g. for a machine without the wasm32-wasip2 target).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
/// The workspace profile the modules are built with (Cargo.toml).
const PROFILE: &str = "wasm";

fn main() {
    let host = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = host.parent().expect("host/ lives in the repository root").to_path_buf();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    for p in ["src", "wasm", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=RESETWATCH_COMPONENT");

    let built = match env::var_os("RESETWATCH_COMPONENT").filter(|v| !v.is_empty()) {
        Some(file) => PathBuf::from(file),
        None => build_component(&root, &out),
    };
    let wasm = std::fs::read(&built).unwrap_or_else(|e| panic!("{}: {e}", built.display()));
    // `\0asm`, a version, then the layer: 1 is a component, 0 a core module.
    assert!(wasm.starts_with(b"\0asm") && wasm.get(6..8) == Some(&[1, 0]), "{} is not a WebAssembly component", built.display());
    let embedded = out.join("resetwatch-component.wasm");
    std::fs::write(&embedded, &wasm).unwrap_or_else(|e| panic!("{}: {e}", embedded.display()));

    // What `resetwatch --version` names.
    let wit = std::fs::read_to_string(root.join("wit/resetwatch.wit")).expect("wit/resetwatch.wit");
    let package = wit
        .lines()
        .find_map(|l| l.trim().strip_prefix("package ")?.strip_suffix(';'))
        .expect("a `package` line in wit/resetwatch.wit");
    println!("cargo:rustc-env=RESETWATCH_WIT_PACKAGE={package}");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let core = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \"")?.strip_suffix('"'))
        .expect("the core's version in Cargo.toml");
    println!("cargo:rustc-env=RESETWATCH_CORE_VERSION={core}");
    println!("cargo:rustc-env=RESETWATCH_COMPONENT_BYTES={}", wasm.len());
}

/// `cargo rustc -p resetwatch-wasm --lib --crate-type cdylib --target
/// wasm32-wasip2 --profile wasm`, as xtask runs it; the component it writes.
fn build_component(root: &Path, out: &Path) -> PathBuf {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    ensure_target();
    // Beside the build scripts' own directories (`<target>/<profile>/build/`),
    // not inside this one's: `cargo build` and `cargo test` give the script
    // different OUT_DIRs (other features), and both then share one nested
    // build. Cargo's lock on that directory orders two builds at once.
    let target_dir = out.ancestors().nth(2).unwrap_or(out).join("resetwatch-component-target");
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(root)
        .args(["rustc", "--locked", "-p", "resetwatch-wasm", "--lib", "--crate-type", "cdylib"])
        .args(["--target", TARGET, "--profile", PROFILE, "--target-dir"])
        .arg(&target_dir);
    // What cargo tells a build script about the outer build (its flags,
    // target, profile, clippy as the compiler wrapper) is not for this one.
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let outer = (key.starts_with("CARGO_") && !keeps(key))
            || matches!(
                key,
                "RUSTFLAGS"
                    | "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "TARGET"
                    | "HOST"
                    | "PROFILE"
                    | "OUT_DIR"
                    | "OPT_LEVEL"
                    | "DEBUG"
                    | "NUM_JOBS"
            );
        if outer {
            cmd.env_remove(key);
        }
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(status.success(), "building the component failed: {cmd:?} exited {status}");
    target_dir.join(TARGET).join(PROFILE).join("resetwatch_wasm.wasm")
}

/// Cargo's own settings (registry, network, home, the job server) still
/// hold for the nested build.
fn keeps(key: &str) -> bool {
    key == "CARGO_HOME"
        || key == "CARGO_MAKEFLAGS"
        || ["CARGO_NET_", "CARGO_HTTP_", "CARGO_REGISTRIES_", "CARGO_REGISTRY_"].iter().any(|p| key.starts_with(p))
}

/// `rustup target add wasm32-wasip2` when the toolchain lacks it.
fn ensure_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if libdir.as_deref().is_some_and(has_std) {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target (rustup target add {TARGET}) to build the embedded component");
    let added = Command::new("rustup").args(["target", "add", TARGET]).status();
    match added {
        Ok(s) if s.success() => {}
        other => panic!(
            "the {TARGET} target is missing and `rustup target add {TARGET}` did not add it ({other:?}); \
             install it, or set RESETWATCH_COMPONENT to a built dist/resetwatch-component.wasm"
        ),
    }
}

/// The standard library's rlib, whatever its hash.
fn has_std(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| e.file_name().to_str().is_some_and(|n| n.starts_with("libstd-") && n.ends_with(".rlib")))
    })
}
