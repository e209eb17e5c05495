//! The log explorer: `cargo xtask web [--serve] [--port N] [--test]` and the
//! `web` test step.
//!
//! The JS shell (`wasm/src/js.rs`, with the core) is built for `wasm32-unknown-unknown` in a target directory of
//! its own (`target/js`), so these builds neither wait for nor invalidate the
//! others, then `wasm-bindgen` (the CLI at exactly the version the crate pins,
//! installed into `target/js/tools` when the one on `PATH` differs) writes
//! the browser package to `web/pkg/` and the Node package to `dist/js-node/`.

use super::{apt_install, cargo, ensure_target, root, run, Failure, Result};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

const WASM32: &str = "wasm32-unknown-unknown";

/// `cargo xtask web [--serve] [--port N] [--test]`.
pub fn web(args: &[String]) -> Result {
    let mut serve = false;
    let mut with_tests = false;
    let mut port: u16 = 8080;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--serve" => serve = true,
            "--test" => with_tests = true,
            "--port" => {
                port = it
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| Failure::from("--port needs a port number".to_string()))?;
            }
            other => return Err(Failure::from(format!("web: unknown argument {other:?} (try --serve, --port N, --test)"))),
        }
    }
    if with_tests {
        test()?;
    } else {
        build()?;
    }
    if serve {
        serve_dir(&root().join("web"), port)?;
    }
    Ok(())
}

fn js_target_dir() -> PathBuf {
    root().join("target").join("js")
}

/// Builds `web/pkg/` (for the page, `--target web`) and `dist/js-node/`
/// (`--target nodejs`), each with its `.d.ts`.
pub fn build() -> Result {
    ensure_target(WASM32)?;
    let target_dir = js_target_dir();
    let mut cmd = cargo();
    cmd.env("CARGO_TARGET_DIR", &target_dir)
        // wasm-bindgen reads the `target_features` section, which strip removes;
        // it drops the name and producers sections itself (below).
        .env("CARGO_PROFILE_WASM_STRIP", "false")
        .args(["build", "-p", "resetwatch-wasm", "--lib", "--target", WASM32, "--profile", "wasm"]);
    run(cmd)?;
    let wasm = target_dir.join(WASM32).join("wasm").join("resetwatch_wasm.wasm");
    let bindgen = wasm_bindgen_cli()?;
    for (target, out) in [("web", root().join("web").join("pkg")), ("nodejs", root().join("dist").join("js-node"))] {
        let mut cmd = Command::new(&bindgen);
        cmd.args(["--target", target, "--out-name", "resetwatch"])
            .args(["--remove-name-section", "--remove-producers-section", "--out-dir"])
            .arg(&out)
            .arg(&wasm);
        run(cmd)?;
        let size = fs::metadata(out.join("resetwatch_bg.wasm")).map(|m| m.len()).unwrap_or(0);
        println!("{size:>10} bytes  {}", out.strip_prefix(root()).unwrap_or(&out).join("resetwatch_bg.wasm").display());
    }
    Ok(())
}

/// The `wasm-bindgen =x.y.z` pin in wasm/Cargo.toml (the JS shell's crate).
fn pinned_wasm_bindgen() -> Result<String> {
    let manifest = root().join("wasm").join("Cargo.toml");
    let text = fs::read_to_string(&manifest).map_err(|e| Failure::from(format!("{}: {e}", manifest.display())))?;
    text.lines()
        .filter(|l| l.trim_start().starts_with("wasm-bindgen "))
        .find_map(|l| {
            let v = l.split("\"=").nth(1)?;
            Some(v[..v.find('"')?].to_string())
        })
        .ok_or_else(|| Failure::from("wasm/Cargo.toml pins no `wasm-bindgen = { version = \"=x.y.z\" }`".to_string()))
}

/// `wasm-bindgen --version` of `exe`, when it runs.
fn cli_version(exe: &Path) -> Option<String> {
    let out = Command::new(exe).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.split_whitespace().nth(1)?.to_string())
}

/// A `wasm-bindgen` CLI of exactly the pinned version: the one on `PATH`,
/// else `target/js/tools/bin/wasm-bindgen`, installed there if need be.
fn wasm_bindgen_cli() -> Result<PathBuf> {
    let want = pinned_wasm_bindgen()?;
    let local = js_target_dir().join("tools").join("bin").join("wasm-bindgen");
    for exe in [PathBuf::from("wasm-bindgen"), local.clone()] {
        if cli_version(&exe).as_deref() == Some(want.as_str()) {
            return Ok(exe);
        }
    }
    eprintln!("xtask: installing wasm-bindgen-cli {want} into {} (a few minutes, once)", local.display());
    let install = |locked: bool| {
        let mut cmd = cargo();
        cmd.env("CARGO_TARGET_DIR", js_target_dir().join("tools-build"))
            .args(["install", "wasm-bindgen-cli", "--version", &want, "--root"])
            .arg(js_target_dir().join("tools"));
        if locked {
            cmd.arg("--locked");
        }
        run(cmd)
    };
    if install(true).is_err() {
        // A registry that lacks one of the exact versions in the CLI's lock file
        // (one was yanked, or is not mirrored): resolve its dependencies afresh.
        eprintln!("xtask: `cargo install --locked` failed; retrying without --locked");
        install(false)?;
    }
    match cli_version(&local) {
        Some(v) if v == want => Ok(local),
        other => Err(Failure::from(format!("installed wasm-bindgen reports version {other:?}, not {want}"))),
    }
}

// ---------------------------------------------------------------- tests

/// The `web` test step: the JS packages, Chromium (Debian's, when missing),
/// the test's npm packages, then `node --test web/tests/*.test.mjs`.
pub fn test() -> Result {
    build()?;
    ensure_chromium()?;
    let web = root().join("web");
    let mut cmd = Command::new("npm");
    cmd.current_dir(&web).args(["ci", "--no-audit", "--no-fund"]);
    run(cmd)?;
    let mut tests: Vec<PathBuf> = fs::read_dir(web.join("tests"))
        .map_err(|e| Failure::from(format!("web/tests: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    tests.sort();
    let mut cmd = Command::new("node");
    cmd.current_dir(root()).arg("--test").args(tests.iter().map(|p| p.strip_prefix(root()).unwrap_or(p)));
    run(cmd)
}

/// Debian's `chromium` for the end-to-end test (test tools' own browser
/// downloads are not used). `CHROMIUM` names another binary.
fn ensure_chromium() -> Result {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return if Path::new(&path).exists() {
            Ok(())
        } else {
            Err(Failure::from(format!("CHROMIUM={} does not exist", Path::new(&path).display())))
        };
    }
    if Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    eprintln!("xtask: /usr/bin/chromium missing; installing Debian's chromium");
    apt_install("chromium")
}

// ---------------------------------------------------------------- serve

/// Serves `dir` on 127.0.0.1:`port` until interrupted: static files only.
fn serve_dir(dir: &Path, port: u16) -> Result {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| Failure::from(format!("cannot listen on 127.0.0.1:{port}: {e} (try --port N)")))?;
    println!("resetwatch log explorer: http://127.0.0.1:{port}/  (serving {}; Ctrl-C stops)", dir.display());
    for stream in listener.incoming().flatten() {
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            let _ = answer(stream, &dir);
        });
    }
    Ok(())
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ts" | "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// One request: GET or HEAD of a file under `dir` (no `..`, no dotfiles).
fn answer(stream: TcpStream, dir: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let mut file = dir.to_path_buf();
    let mut ok = true;
    for part in Path::new(path.trim_start_matches('/')).components() {
        match part {
            Component::Normal(p) if !p.to_string_lossy().starts_with('.') => file.push(p),
            _ => ok = false,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    let (status, body) = match (method, ok) {
        ("GET" | "HEAD", true) => match fs::read(&file) {
            Ok(b) => ("200 OK", b),
            Err(_) => ("404 Not Found", b"not found\n".to_vec()),
        },
        ("GET" | "HEAD", false) => ("404 Not Found", b"not found\n".to_vec()),
        _ => ("405 Method Not Allowed", b"GET or HEAD only\n".to_vec()),
    };
    let kind = if status.starts_with("200") { content_type(&file) } else { "text/plain; charset=utf-8" };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        out.write_all(&body)?;
    }
    out.flush()
}
