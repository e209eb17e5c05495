//! The real `resetwatch serve` as a child process, for the tests that run
//! it (tests/integration/serve.rs, tests/integration/alertmanager.rs; and any program run the same
//! way, e.g. Vector in tests/integration/real_hosts): started from the repository root,
//! stdout read line by line, stderr collected, killed on drop so a failing
//! test leaves no process behind.
#![allow(dead_code)] // each suite uses its own part of it

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `resetwatch serve`: stdout lines arrive on a channel as they
/// are written, stderr is collected. Killed on drop, so a failing test
/// leaves no server behind.
pub struct Serve {
    pub child: Child,
    pub stdout: Receiver<(Instant, String)>,
    pub stderr: Arc<Mutex<String>>,
    /// Lines read from stdout so far (by `read_until`).
    pub lines: Vec<(Instant, String)>,
}

impl Serve {
    pub fn start(args: &[&str]) -> Serve {
        let mut serve = Serve::start_unread(args);
        serve.read_stdout();
        serve
    }

    /// Started, but nobody reads its stdout until [`Serve::read_stdout`]:
    /// a pipeline whose next stage is stuck.
    pub fn start_unread(args: &[&str]) -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_resetwatch"));
        cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()).arg("serve").args(args);
        Serve::spawn_unread(cmd)
    }

    /// Any program run the same way (the real-host tier runs Vector, which
    /// runs `resetwatch serve` itself): stdout not read yet, stderr collected.
    pub fn spawn_unread(mut cmd: Command) -> Serve {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    return;
                }
                collected.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (_, stdout) = mpsc::channel();
        Serve { child, stdout, stderr, lines: Vec::new() }
    }

    /// Starts reading stdout: lines arrive on a channel as they are written.
    pub fn read_stdout(&mut self) {
        let (tx, rx) = mpsc::channel();
        let out = self.child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send((Instant::now(), line)).is_err() {
                    return;
                }
            }
        });
        self.stdout = rx;
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr holds `what`.
    pub fn wait_stderr(&self, what: &str, timeout: Duration) -> String {
        let until = Instant::now() + timeout;
        loop {
            let s = self.stderr();
            if s.contains(what) {
                return s;
            }
            assert!(Instant::now() < until, "no `{what}` on stderr within {timeout:?}:\n{s}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The TCP address it listens on (it was given port 0).
    pub fn tcp_addr(&self) -> String {
        let s = self.wait_stderr("listening on tcp ", Duration::from_secs(20));
        let at = s.find("listening on tcp ").unwrap() + "listening on tcp ".len();
        s[at..].lines().next().unwrap().trim().to_string()
    }

    /// Reads stdout until `done` holds for the lines read so far.
    pub fn read_until(&mut self, timeout: Duration, done: impl Fn(&[(Instant, String)]) -> bool) {
        let until = Instant::now() + timeout;
        while !done(&self.lines) {
            let left = until.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(l) => self.lines.push(l),
                Err(_) => panic!(
                    "stdout did not get there within {timeout:?}: {} lines, last: {:?}\nstderr:\n{}",
                    self.lines.len(),
                    self.lines.last().map(|l| &l.1),
                    self.stderr()
                ),
            }
        }
    }

    /// Reads whatever else arrives within `quiet`.
    pub fn read_more(&mut self, quiet: Duration) {
        while let Ok(l) = self.stdout.recv_timeout(quiet) {
            self.lines.push(l);
        }
    }

    pub fn sigterm(&self) {
        // SAFETY: kill(2) on the pid of our own child, which has not been waited for.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(rc, 0);
    }

    /// Waits for it to exit (at most `timeout`).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let until = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                // Let the readers collect the last output.
                self.read_more(Duration::from_millis(300));
                return st;
            }
            assert!(Instant::now() < until, "still running {timeout:?} after SIGTERM; stderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
