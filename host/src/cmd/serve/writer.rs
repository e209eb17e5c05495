//! The thread of `resetwatch serve` that writes stdout (what Vector's
//! `exec` source reads), and what it does when nobody reads any more.

use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

/// The thread that writes stdout, flushing whenever it has caught up.
pub struct Writer {
    written: Arc<AtomicU64>,
    done: Receiver<()>,
}

impl Writer {
    pub fn spawn(lines: Receiver<Vec<u8>>, stopping: Arc<AtomicBool>) -> Result<Self> {
        let written = Arc::new(AtomicU64::new(0));
        let (done_tx, done) = mpsc::channel();
        let count = written.clone();
        std::thread::Builder::new().name("stdout".into()).spawn(move || {
            let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
            let mut pending = 0u64;
            let mut failed = false;
            loop {
                let line = match lines.try_recv() {
                    Ok(l) => l,
                    Err(TryRecvError::Empty) => {
                        if !failed && pending > 0 {
                            failed = !flushed(&mut out, &stopping);
                            if !failed {
                                count.fetch_add(std::mem::take(&mut pending), Ordering::SeqCst);
                            }
                        }
                        match lines.recv() {
                            Ok(l) => l,
                            Err(_) => break,
                        }
                    }
                    Err(TryRecvError::Disconnected) => break,
                };
                if failed {
                    continue; // drained and counted as not written
                }
                match out.write_all(&line) {
                    Ok(()) => pending += 1,
                    Err(e) => {
                        stdout_gone(&e, &stopping);
                        failed = true;
                    }
                }
            }
            if !failed && pending > 0 && flushed(&mut out, &stopping) {
                count.fetch_add(pending, Ordering::SeqCst);
            }
            let _ = done_tx.send(());
        })?;
        Ok(Writer { written, done })
    }

    /// Waits (at most `grace`) for the writer to write what is queued; the
    /// number of lines written.
    pub fn finish(self, grace: Duration) -> u64 {
        let _ = self.done.recv_timeout(grace);
        self.written.load(Ordering::SeqCst)
    }
}

fn flushed(out: &mut impl Write, stopping: &AtomicBool) -> bool {
    match out.flush() {
        Ok(()) => true,
        Err(e) => {
            stdout_gone(&e, stopping);
            false
        }
    }
}

/// Nobody reads stdout any more (Vector is gone): nothing can be
/// delivered, so the server stops.
fn stdout_gone(e: &std::io::Error, stopping: &AtomicBool) {
    eprintln!("resetwatch serve: cannot write stdout ({e}): stopping; output from here on is not written");
    stopping.store(true, Ordering::SeqCst);
}
