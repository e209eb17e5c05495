//! The guest's stdout and stderr: kept (up to a limit) for tests and
//! diagnostics, and optionally forwarded to this process's, as Fluent Bit
//! inherits both.

use std::io::Write as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Default cap on captured guest stdout/stderr (the rest is discarded).
pub const DEFAULT_CAPTURE_LIMIT: usize = 1 << 20;

/// Where captured guest output is also forwarded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HostStream {
    Stdout,
    Stderr,
}

/// A guest stdout/stderr that keeps the first `limit` bytes and optionally
/// forwards everything to this process's stream.
#[derive(Clone)]
pub(crate) struct CaptureStream {
    buffer: Arc<Mutex<Vec<u8>>>,
    limit: usize,
    forward: Option<HostStream>,
}

impl CaptureStream {
    pub(crate) fn new(limit: usize, forward: Option<HostStream>) -> Self {
        CaptureStream { buffer: Arc::new(Mutex::new(Vec::new())), limit, forward }
    }

    fn write_bytes(&self, bytes: &[u8]) {
        if let Ok(mut buf) = self.buffer.lock() {
            let room = self.limit.saturating_sub(buf.len());
            buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        // Forwarding is best effort, like a process writing to a closed pipe.
        let _ = match self.forward {
            Some(HostStream::Stdout) => std::io::stdout().write_all(bytes),
            Some(HostStream::Stderr) => std::io::stderr().write_all(bytes),
            None => Ok(()),
        };
    }

    pub(crate) fn contents(&self) -> Vec<u8> {
        self.buffer.lock().map(|b| b.clone()).unwrap_or_default()
    }

    pub(crate) fn take(&self) -> Vec<u8> {
        self.buffer.lock().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default()
    }
}

impl IsTerminal for CaptureStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CaptureStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CaptureStream {
    async fn ready(&mut self) {}
}

impl OutputStream for CaptureStream {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(1 << 20)
    }
}

impl tokio::io::AsyncWrite for CaptureStream {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
