//! The sockets `resetwatch serve` listens on (TCP and Unix, what Vector's
//! `socket` sink connects to with `mode = "tcp"` or `"unix"`) and one
//! reader thread per client. Readers only frame lines; everything they
//! read goes, in order, through one bounded queue to the single thread
//! that runs the detector. When that queue is full a reader stops reading,
//! so the kernel's socket buffers fill and the client (Vector) waits:
//! backpressure, not loss.
//!
//! It also owns the rule of who may connect ([`checked_addr`],
//! [`socket_mode`]), for every socket `serve` opens (`--tcp`, `--unix`,
//! `--metrics`): anyone who can connect can inject log lines (raise false
//! alerts, or bury a real loop under repeats) or read which streams of the
//! fleet loop. So TCP addresses must be loopback unless `--allow-remote`
//! is given, and Unix sockets are owner-only (0600) unless `--mode` says
//! otherwise (docs/security.md).

use std::io::{BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};

use crate::vector::framing::{Frame, Lines};

/// Bytes read from a socket at a time.
const READ_BUFFER: usize = 64 * 1024;

/// What a listening socket would let a client do, for the refusal's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exposes {
    /// `--tcp`, `--unix`: send log lines to the detector.
    Events,
    /// `--metrics`: read every tracked stream's counters.
    Metrics,
}

impl Exposes {
    /// Where to listen instead.
    fn instead(self) -> &'static str {
        match self {
            Exposes::Events => "127.0.0.1 (or a Unix socket)",
            Exposes::Metrics => "127.0.0.1 (with Prometheus on the same host or a proxy in front)",
        }
    }

    fn why(self) -> &'static str {
        match self {
            Exposes::Events => {
                "anyone who can reach it can inject log lines: raise false alerts, or bury a real loop under repeats"
            }
            Exposes::Metrics => "anyone who can reach it can read which streams of the fleet loop, on which servers",
        }
    }
}

/// The mode of a Unix socket when `--mode` is not given: the owner only.
pub const OWNER_ONLY: u32 = 0o600;

/// The addresses `addr` (`127.0.0.1:9000`, `localhost:9000`, `[::1]:0`)
/// resolves to, all of them loopback, or an error that names the flag and
/// says why, unless `allow_remote`. Called before anything starts; bind
/// exactly these addresses (a second lookup could answer otherwise).
pub fn checked_addr(flag: &str, addr: &str, exposes: Exposes, allow_remote: bool) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .with_context(|| format!("{flag} {addr}: not an address to listen on (HOST:PORT, e.g. 127.0.0.1:9000)"))?
        .collect();
    if addrs.is_empty() {
        bail!("{flag} {addr}: resolves to no address");
    }
    if !allow_remote {
        if let Some(a) = addrs.iter().find(|a| !a.ip().is_loopback()) {
            let all = if a.ip().is_unspecified() { " (every interface)" } else { "" };
            bail!(
                "{flag} {addr}: {} is not a loopback address{all}; {}. Listen on {}, \
                 or give --allow-remote to listen there anyway (docs/security.md)",
                a.ip(),
                exposes.why(),
                exposes.instead()
            );
        }
    }
    Ok(addrs)
}

/// `--mode`: an octal file mode for Unix sockets (`600`, `0660`, `0o660`).
/// Connecting to a Unix socket needs write permission on it.
pub fn socket_mode(text: &str) -> Result<u32> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o777 && !digits.is_empty() => Ok(m),
        _ => bail!("--mode {text}: not an octal file mode (e.g. 600 for the owner only, 660 for its group too)"),
    }
}

/// What the readers tell the detector thread, in the order it happened on
/// each connection.
#[derive(Debug)]
pub enum Input {
    /// A client connected; `peer` says who, for messages.
    Opened { client: u64, peer: String },
    /// One complete line.
    Line { client: u64, bytes: Vec<u8> },
    /// A line longer than the limit was skipped.
    TooLong { client: u64, len: usize },
    /// The client is gone. `partial`: bytes of a last line that never got
    /// its newline (dropped); `error`: why reading failed, if it did.
    Closed { client: u64, partial: usize, error: Option<String> },
}

/// What readers share: where lines go, the line limit, client numbers,
/// whether the server is stopping (new clients are then turned away) and
/// whether it has stopped taking lines (the grace period is over: readers
/// then drop what they read, count it in `dropped`, and hang up).
#[derive(Clone)]
pub struct Readers {
    pub queue: SyncSender<Input>,
    pub max_line: usize,
    pub next_client: Arc<AtomicU64>,
    pub stopping: Arc<AtomicBool>,
    pub closed: Arc<AtomicBool>,
    pub dropped: Arc<AtomicU64>,
}

impl Readers {
    /// Takes one accepted connection: announces it and reads it on a thread
    /// of its own.
    fn take<S: Read + Send + 'static>(&self, stream: S, peer: String) {
        if self.stopping.load(Ordering::SeqCst) {
            return; // dropping the stream closes it
        }
        let client = self.next_client.fetch_add(1, Ordering::SeqCst) + 1;
        if self.queue.send(Input::Opened { client, peer }).is_err() {
            return;
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new().name(format!("client-{client}")).spawn(move || me.read_client(client, stream));
        if let Err(e) = spawned {
            let _ = self.queue.send(Input::Closed { client, partial: 0, error: Some(format!("no thread for it: {e}")) });
        }
    }

    fn read_client<S: Read>(&self, client: u64, stream: S) {
        let mut lines = Lines::new(BufReader::with_capacity(READ_BUFFER, stream), self.max_line);
        loop {
            let msg = match lines.next_frame() {
                Ok(Frame::Line(bytes)) => Input::Line { client, bytes },
                Ok(Frame::TooLong(len)) => Input::TooLong { client, len },
                Ok(Frame::Partial(partial)) => Input::Closed { client, partial, error: None },
                Ok(Frame::End) => Input::Closed { client, partial: 0, error: None },
                Err(e) => Input::Closed { client, partial: 0, error: Some(e.to_string()) },
            };
            if self.closed.load(Ordering::SeqCst) {
                if matches!(msg, Input::Line { .. }) {
                    self.dropped.fetch_add(1, Ordering::SeqCst);
                }
                return; // hangs up
            }
            let last = matches!(msg, Input::Closed { .. });
            // A send fails only when the detector thread is gone: the server is exiting.
            if self.queue.send(msg).is_err() || last {
                return;
            }
        }
    }
}

/// A bound listening socket.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Binds a TCP address (what [`checked_addr`] returned; port 0 picks a
    /// free one).
    pub fn tcp(addr: &str, addrs: &[SocketAddr]) -> Result<Self> {
        let l = TcpListener::bind(addrs).with_context(|| format!("cannot listen on tcp {addr}"))?;
        Ok(Listener::Tcp(l))
    }

    /// Binds a Unix socket at `path` with file mode `mode` ([`OWNER_ONLY`]
    /// unless `--mode`). A socket file left by an earlier run that nobody
    /// listens on any more is replaced; one in use is an error. The socket
    /// is made under a temporary name, given its mode, then renamed into
    /// place, so the path never has the looser mode the umask would give.
    pub fn unix(path: &Path, mode: u32) -> Result<Self> {
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                bail!("{}: another server is listening there", path.display());
            }
            let meta = std::fs::symlink_metadata(path)?;
            use std::os::unix::fs::FileTypeExt as _;
            if !meta.file_type().is_socket() {
                bail!("{}: exists and is not a socket", path.display());
            }
            std::fs::remove_file(path).with_context(|| format!("cannot replace the stale socket {}", path.display()))?;
        }
        let mut tmp = path.file_name().unwrap_or_default().to_os_string();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = path.with_file_name(tmp);
        let _ = std::fs::remove_file(&tmp);
        let l = UnixListener::bind(&tmp).with_context(|| format!("cannot listen on unix {}", path.display()))?;
        use std::os::unix::fs::PermissionsExt as _;
        let placed = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set mode {mode:o} on {}", tmp.display()))
            .and_then(|()| std::fs::rename(&tmp, path).with_context(|| format!("cannot listen on unix {}", path.display())));
        if let Err(e) = placed {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(Listener::Unix(l, path.to_path_buf()))
    }

    /// Where it listens, as said on stderr (`tcp 127.0.0.1:41234`, `unix /run/x.sock`).
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => match l.local_addr() {
                Ok(a) => format!("tcp {a}"),
                Err(_) => "tcp ?".into(),
            },
            Listener::Unix(_, p) => format!("unix {}", p.display()),
        }
    }

    /// The socket file to remove on exit, if any.
    pub fn socket_file(&self) -> Option<PathBuf> {
        match self {
            Listener::Unix(_, p) => Some(p.clone()),
            Listener::Tcp(_) => None,
        }
    }

    /// Accepts clients for ever on a thread of its own.
    pub fn spawn(self, readers: Readers) -> Result<()> {
        let name = self.describe();
        std::thread::Builder::new().name(format!("accept {name}")).spawn(move || match self {
            Listener::Tcp(l) => {
                for conn in l.incoming() {
                    match conn {
                        Ok(s) => {
                            let peer = s.peer_addr().map_or_else(|_| "tcp ?".into(), |a| format!("tcp {a}"));
                            readers.take::<TcpStream>(s, peer);
                        }
                        Err(e) => accept_failed(&name, &e),
                    }
                }
            }
            Listener::Unix(l, path) => {
                for conn in l.incoming() {
                    match conn {
                        Ok(s) => readers.take::<UnixStream>(s, format!("unix {}", path.display())),
                        Err(e) => accept_failed(&name, &e),
                    }
                }
            }
        })?;
        Ok(())
    }
}

/// Out of file descriptors and the like: say so, wait a moment, go on.
fn accept_failed(name: &str, e: &std::io::Error) {
    eprintln!("resetwatch serve: accept on {name}: {e}");
    std::thread::sleep(std::time::Duration::from_millis(100));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_taken_and_anything_else_needs_allow_remote() {
        for ok in ["127.0.0.1:0", "[::1]:0", "localhost:9000", "127.1.2.3:9000"] {
            let addrs = checked_addr("--tcp", ok, Exposes::Events, false).unwrap_or_else(|e| panic!("{ok}: {e:#}"));
            assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{ok}: {addrs:?}");
        }
        for (refused, says) in
            [("0.0.0.0:9000", "every interface"), ("[::]:9000", "every interface"), ("10.1.2.3:9000", "10.1.2.3")]
        {
            let e = checked_addr("--metrics", refused, Exposes::Metrics, false).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--metrics {refused}: ")) && e.contains(says), "{e}");
            assert!(e.contains("--allow-remote") && e.contains("which streams"), "{e}");
            assert!(checked_addr("--metrics", refused, Exposes::Metrics, true).is_ok(), "{refused} with --allow-remote");
        }
        let e = checked_addr("--tcp", "9000", Exposes::Events, false).unwrap_err().to_string();
        assert!(e.contains("HOST:PORT"), "{e}");
    }

    #[test]
    fn socket_modes_are_octal() {
        for (text, mode) in [("600", 0o600), ("0660", 0o660), ("0o666", 0o666), ("0", 0)] {
            assert_eq!(socket_mode(text).unwrap(), mode, "{text}");
        }
        for bad in ["", "0o", "rw-------", "888", "1777", "-600"] {
            assert!(socket_mode(bad).is_err(), "{bad}");
        }
    }
}
