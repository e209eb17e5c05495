//! Standard output for the commands: a reader that went away (`| head`)
//! ends the output quietly; any other failure is an error, said in the
//! same words by every command.

use std::io::ErrorKind;

use anyhow::{Context as _, Result};

/// `Ok(true)` when written, `Ok(false)` when stdout is closed (a broken
/// pipe), else `cannot write to stdout: why`.
pub fn written(res: std::io::Result<()>) -> Result<bool> {
    match res {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}
