//! Framing of CRLF-terminated protocol lines, strict about bare CR and LF.

use bytes::{Buf, Bytes, BytesMut};

/// The framing of the first line in a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A CRLF-terminated line: `len` bytes of content, `total` with the CRLF.
    Complete {
        /// Bytes before the CRLF.
        len: usize,
        /// Bytes through the CRLF.
        total: usize,
    },
    /// A line with a bare CR or LF in it, ending at the first LF: skip `total` bytes.
    Bare {
        /// Bytes through the first LF.
        total: usize,
    },
    /// No line end yet, and the limit is not reached.
    Incomplete,
    /// No line end within `max` bytes.
    TooLong,
}

/// Finds the first line of `buf`, allowing at most `max` bytes including CRLF.
pub fn frame_line(buf: &[u8], max: usize) -> Line {
    let window = &buf[..buf.len().min(max)];
    match memchr::memchr2(b'\r', b'\n', window) {
        Some(p) if window[p] == b'\n' => Line::Bare { total: p + 1 },
        Some(p) => match buf.get(p + 1) {
            Some(b'\n') if p + 2 <= max => Line::Complete {
                len: p,
                total: p + 2,
            },
            Some(b'\n') => Line::TooLong,
            None if buf.len() < max => Line::Incomplete,
            None => Line::TooLong,
            Some(_) => match memchr::memchr(b'\n', &buf[p..]) {
                Some(lf) => Line::Bare { total: p + lf + 1 },
                None if buf.len() < max => Line::Incomplete,
                None => Line::TooLong,
            },
        },
        None if buf.len() < max => Line::Incomplete,
        None => Line::TooLong,
    }
}

/// Why [`LineReader::next_line`] gave no line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineError {
    /// A CR without LF or an LF without CR; the bad line was skipped.
    BareLineEnding,
    /// No line end within the limit; the rest of the line will be skipped.
    TooLong,
}

/// Takes CRLF lines off the front of a receive buffer without copying,
/// skipping the rest of an over-long line once it was reported.
#[derive(Clone, Debug, Default)]
pub struct LineReader {
    discarding: bool,
}

impl LineReader {
    /// True while the tail of an over-long line is being skipped.
    pub fn is_discarding(&self) -> bool {
        self.discarding
    }

    /// The next line of `buf` without its CRLF, at most `max` bytes with it;
    /// `None` when no line is complete yet (or skipped bytes were dropped).
    pub fn next_line(
        &mut self,
        buf: &mut BytesMut,
        max: usize,
    ) -> Option<Result<Bytes, LineError>> {
        if self.discarding {
            match memchr::memchr(b'\n', buf) {
                Some(lf) => {
                    buf.advance(lf + 1);
                    self.discarding = false;
                }
                None => buf.clear(),
            }
            return None;
        }
        match frame_line(buf, max) {
            Line::Complete { len, total } => {
                let mut line = buf.split_to(total);
                line.truncate(len);
                Some(Ok(line.freeze()))
            }
            Line::Bare { total } => {
                buf.advance(total);
                Some(Err(LineError::BareLineEnding))
            }
            Line::Incomplete => None,
            Line::TooLong => {
                self.discarding = true;
                Some(Err(LineError::TooLong))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_lines() {
        assert_eq!(
            frame_line(b"NOOP\r\nX", 100),
            Line::Complete { len: 4, total: 6 }
        );
        assert_eq!(frame_line(b"NOOP\r", 100), Line::Incomplete);
        assert_eq!(frame_line(b"NOOP\nQUIT\r\n", 100), Line::Bare { total: 5 });
        assert_eq!(frame_line(b"NO\rOP\r\n", 100), Line::Bare { total: 7 });
        assert_eq!(frame_line(b"NOOP", 4), Line::TooLong);
        assert_eq!(
            frame_line(b"NOOP\r\n", 6),
            Line::Complete { len: 4, total: 6 }
        );
        assert_eq!(frame_line(b"NOOPX\r\n", 6), Line::TooLong);
    }

    #[test]
    fn reader_skips_the_rest_of_a_long_line() {
        let mut reader = LineReader::default();
        let mut buf = BytesMut::from(&b"TOOLONG"[..]);
        assert_eq!(reader.next_line(&mut buf, 4), Some(Err(LineError::TooLong)));
        assert!(reader.is_discarding());
        assert_eq!(reader.next_line(&mut buf, 4), None);
        buf.extend_from_slice(b"TAIL\r\nOK\r\nA\nB\r\n");
        assert_eq!(reader.next_line(&mut buf, 4), None);
        assert!(!reader.is_discarding());
        assert_eq!(
            reader.next_line(&mut buf, 4),
            Some(Ok(Bytes::from_static(b"OK")))
        );
        assert_eq!(
            reader.next_line(&mut buf, 4),
            Some(Err(LineError::BareLineEnding))
        );
        assert_eq!(
            reader.next_line(&mut buf, 4),
            Some(Ok(Bytes::from_static(b"B")))
        );
    }
}
