//! Newline-delimited framing, as Vector's `socket` sink sends it
//! (`framing.method = "newline_delimited"`): one event per line, `\n` after
//! each. Lines are bounded, so a client that never sends a newline cannot
//! make the server hold its whole stream in memory, and a connection that
//! ends without a final newline is reported as cut off, never taken for
//! an event.

use std::io::{self, BufRead};

/// One step of reading a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, without its `\n` (nor a `\r` before it).
    Line(Vec<u8>),
    /// A line longer than the limit, skipped up to its `\n`; its length.
    TooLong(usize),
    /// The connection ended in the middle of a line: this many bytes had
    /// no `\n` after them (a client killed mid-write). They are dropped.
    Partial(usize),
    /// The connection ended after a complete line (or with nothing sent).
    End,
}

/// Reads frames from a buffered connection, keeping at most `max` bytes of
/// one line.
pub struct Lines<R> {
    inner: R,
    max: usize,
}

impl<R: BufRead> Lines<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Lines { inner, max }
    }

    /// The next frame. I/O errors (a reset connection) are returned as
    /// they are; what was read of the current line before one is lost with
    /// the connection, as it would be with any other cut.
    pub fn next_frame(&mut self) -> io::Result<Frame> {
        let mut line = Vec::new();
        // Bytes of an over-long line skipped so far (0: not skipping).
        let mut skipped = 0usize;
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(match line.len() + skipped {
                    0 => Frame::End,
                    n => Frame::Partial(n),
                });
            }
            let (chunk, done) = match memchr::memchr(b'\n', buf) {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            if skipped == 0 && line.len() + chunk.len() <= self.max {
                line.extend_from_slice(chunk);
            } else {
                skipped += line.len() + chunk.len();
                line = Vec::new();
            }
            let used = done.unwrap_or(buf.len());
            self.inner.consume(used);
            if done.is_some() {
                if skipped > 0 {
                    return Ok(Frame::TooLong(skipped));
                }
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Frame::Line(line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], max: usize, chunk: usize) -> Vec<Frame> {
        // A reader that hands out at most `chunk` bytes a time, like a socket.
        let reader = io::BufReader::with_capacity(chunk, input);
        let mut lines = Lines::new(reader, max);
        let mut out = Vec::new();
        loop {
            let f = lines.next_frame().unwrap();
            let end = matches!(f, Frame::End | Frame::Partial(_));
            out.push(f);
            if end {
                return out;
            }
        }
    }

    #[test]
    fn splits_lines_whatever_the_chunks() {
        let input = b"{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n";
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(
                frames(input, 100, chunk),
                [
                    Frame::Line(b"{\"a\":1}".to_vec()),
                    Frame::Line(b"{\"b\":2}".to_vec()),
                    Frame::Line(Vec::new()),
                    Frame::Line(b"{\"c\":3}".to_vec()),
                    Frame::End
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn a_line_cut_by_the_end_is_partial() {
        for chunk in [1, 4, 64] {
            assert_eq!(frames(b"{\"a\":1}\n{\"mess", 100, chunk), [Frame::Line(b"{\"a\":1}".to_vec()), Frame::Partial(6)]);
        }
    }

    #[test]
    fn long_lines_are_skipped_to_their_end() {
        let mut input = vec![b'x'; 50];
        input.extend_from_slice(b"\nok\n");
        input.extend_from_slice(&[b'y'; 30]);
        for chunk in [1, 8, 1000] {
            assert_eq!(
                frames(&input, 10, chunk),
                [Frame::TooLong(50), Frame::Line(b"ok".to_vec()), Frame::Partial(30)],
                "chunk {chunk}"
            );
        }
        // exactly at the limit is fine
        assert_eq!(frames(b"0123456789\n", 10, 3), [Frame::Line(b"0123456789".to_vec()), Frame::End]);
    }
}
