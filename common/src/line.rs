//! Framing of CRLF-terminated protocol lines, strict about bare CR and LF.

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
}
