//! The sockets `resetwatch serve` listens on (TCP and Unix, what Vector's
//! `socket` sink connects to with `mode = "tcp"` or `"unix"`) and one
//! reader thread per client. Readers only frame lines; everything they
//! read goes, in order, through one bounded queue to the single thread
//! that runs the detector. When that queue is full a reader stops reading,
//! so the kernel's socket buffers fill and the client (Vector) waits:
//! backpressure, not loss.

use std::io::{BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};

use crate::framing::{Frame, Lines};

/// Bytes read from a socket at a time.
const READ_BUFFER: usize = 64 * 1024;

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
        let spawned = std::thread::Builder::new()
            .name(format!("client-{client}"))
            .spawn(move || me.read_client(client, stream));
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
    /// Binds a TCP address (`127.0.0.1:9000`; port 0 picks a free one).
    pub fn tcp(addr: &str) -> Result<Self> {
        let l = TcpListener::bind(addr).with_context(|| format!("cannot listen on tcp {addr}"))?;
        Ok(Listener::Tcp(l))
    }

    /// Binds a Unix socket at `path`. A socket file left by an earlier run
    /// that nobody listens on any more is replaced; one in use is an error.
    pub fn unix(path: &Path) -> Result<Self> {
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
        let l = UnixListener::bind(path).with_context(|| format!("cannot listen on unix {}", path.display()))?;
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
