//! DATA transparency (RFC 5321 §4.5.2): removing and adding the leading dot
//! of lines, and finding the `<CRLF>.<CRLF>` end of data.
//!
//! [`DotUnstuffer`] is strict: every CR must be followed by LF and every LF
//! preceded by CR, so `<LF>.<LF>`, `<CR>.<CR>`, `<LF>.<CR><LF>` and the other
//! end-of-data look-alikes used for SMTP smuggling are refused, never read as
//! the end of the message.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// What [`DotUnstuffer::decode`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum DataStep {
    /// Message bytes, dots already removed; call again.
    Chunk(Bytes),
    /// The buffer holds no more message bytes that can be released yet.
    NeedMore,
    /// The end-of-data line was read and removed from the buffer.
    End,
    /// A CR without LF or an LF without CR: the framing is ambiguous.
    BareLineEnding,
}

/// Streaming decoder of a DATA body.
#[derive(Debug, Clone)]
pub struct DotUnstuffer {
    at_line_start: bool,
    saw_nul: bool,
}

impl Default for DotUnstuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl DotUnstuffer {
    /// A decoder positioned at the start of the first line after the 354 reply.
    pub fn new() -> Self {
        DotUnstuffer {
            at_line_start: true,
            saw_nul: false,
        }
    }

    /// True when a NUL byte has been seen in the body (RFC 5321 §4.5.2 does not allow it).
    pub fn saw_nul(&self) -> bool {
        self.saw_nul
    }

    /// Splits the next piece of message off the front of `buf` without copying.
    pub fn decode(&mut self, buf: &mut BytesMut) -> DataStep {
        let mut i = 0;
        loop {
            if self.at_line_start {
                match buf.get(i) {
                    None => break,
                    Some(b'.') if i > 0 => return DataStep::Chunk(buf.split_to(i).freeze()),
                    Some(b'.') => match (buf.get(1), buf.get(2)) {
                        (Some(b'\r'), Some(b'\n')) => {
                            buf.advance(3);
                            return DataStep::End;
                        }
                        (Some(b'\r'), Some(_)) | (Some(b'\n'), _) => {
                            return DataStep::BareLineEnding;
                        }
                        (Some(b'\r'), None) | (None, _) => return DataStep::NeedMore,
                        (Some(_), _) => {
                            // A stuffed dot: drop it, the rest of the line is content.
                            buf.advance(1);
                            self.at_line_start = false;
                            continue;
                        }
                    },
                    Some(_) => self.at_line_start = false,
                }
            }
            let Some(off) = memchr::memchr3(b'\r', b'\n', 0, &buf[i..]) else {
                i = buf.len();
                break;
            };
            let p = i + off;
            match buf[p] {
                0 => {
                    self.saw_nul = true;
                    i = p + 1;
                }
                b'\n' => return DataStep::BareLineEnding,
                _ => match buf.get(p + 1) {
                    None => {
                        // Hold the CR back until its LF arrives.
                        i = p;
                        break;
                    }
                    Some(b'\n') => {
                        i = p + 2;
                        self.at_line_start = true;
                    }
                    Some(_) => return DataStep::BareLineEnding,
                },
            }
        }
        if i == 0 {
            DataStep::NeedMore
        } else {
            DataStep::Chunk(buf.split_to(i).freeze())
        }
    }
}

/// Streaming encoder of a DATA body: doubles leading dots and writes the end-of-data line.
#[derive(Debug, Clone)]
pub struct DotStuffer {
    at_line_start: bool,
    last_was_cr: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl DotStuffer {
    /// An encoder at the start of the message.
    pub fn new() -> Self {
        DotStuffer {
            at_line_start: true,
            last_was_cr: false,
        }
    }

    /// Appends `chunk` to `out`, stuffed. Bare LF is written as CRLF and a
    /// bare CR is followed by LF, so the stream the peer sees is unambiguous.
    pub fn encode(&mut self, chunk: &[u8], out: &mut impl BufMut) {
        let mut start = 0;
        for (i, &b) in chunk.iter().enumerate() {
            if self.last_was_cr && b != b'\n' {
                out.put_slice(&chunk[start..i]);
                out.put_u8(b'\n');
                start = i;
                self.at_line_start = true;
            }
            match b {
                b'.' if self.at_line_start => {
                    out.put_slice(&chunk[start..i]);
                    out.put_u8(b'.');
                    start = i;
                    self.at_line_start = false;
                }
                b'\n' if !self.last_was_cr => {
                    out.put_slice(&chunk[start..i]);
                    out.put_u8(b'\r');
                    start = i;
                    self.at_line_start = true;
                }
                b'\n' => self.at_line_start = true,
                _ => self.at_line_start = false,
            }
            self.last_was_cr = b == b'\r';
        }
        out.put_slice(&chunk[start..]);
    }

    /// Completes the last line if needed and appends `.CRLF`.
    pub fn finish(&mut self, out: &mut impl BufMut) {
        if self.last_was_cr {
            out.put_u8(b'\n');
        } else if !self.at_line_start {
            out.put_slice(b"\r\n");
        }
        out.put_slice(b".\r\n");
        *self = DotStuffer::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unstuff_all(input: &[u8]) -> (Vec<u8>, DataStep) {
        let mut buf = BytesMut::from(input);
        let mut dec = DotUnstuffer::new();
        let mut out = Vec::new();
        loop {
            match dec.decode(&mut buf) {
                DataStep::Chunk(c) => out.extend_from_slice(&c),
                other => return (out, other),
            }
        }
    }

    #[test]
    fn unstuffs() {
        let (out, end) = unstuff_all(b"line1\r\n..dot\r\n.\r\nQUIT\r\n");
        assert_eq!(out, b"line1\r\n.dot\r\n");
        assert_eq!(end, DataStep::End);
        assert_eq!(unstuff_all(b".\r\n"), (vec![], DataStep::End));
    }

    #[test]
    fn refuses_smuggling_variants() {
        for input in [
            &b"a\r\n.\nMAIL"[..],
            b"a\n.\r\nMAIL",
            b"a\n.\nMAIL",
            b"a\r.\rMAIL",
            b"a\r\n.\rMAIL",
            b"a\r.\r\nMAIL",
            b"a\rb",
            b"a\nb",
        ] {
            let (_, step) = unstuff_all(input);
            assert_eq!(step, DataStep::BareLineEnding, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn holds_back_partial_terminators() {
        let mut dec = DotUnstuffer::new();
        let mut buf = BytesMut::from(&b"abc\r"[..]);
        assert_eq!(dec.decode(&mut buf), DataStep::Chunk(Bytes::from_static(b"abc")));
        assert_eq!(dec.decode(&mut buf), DataStep::NeedMore);
        buf.extend_from_slice(b"\n.");
        assert_eq!(dec.decode(&mut buf), DataStep::Chunk(Bytes::from_static(b"\r\n")));
        assert_eq!(dec.decode(&mut buf), DataStep::NeedMore);
        buf.extend_from_slice(b"\r\n");
        assert_eq!(dec.decode(&mut buf), DataStep::End);
    }

    #[test]
    fn flags_nul() {
        let mut dec = DotUnstuffer::new();
        let mut buf = BytesMut::from(&b"a\0b\r\n.\r\n"[..]);
        while dec.decode(&mut buf) != DataStep::End {}
        assert!(dec.saw_nul());
    }

    #[test]
    fn stuffs() {
        let mut out = Vec::new();
        let mut st = DotStuffer::new();
        st.encode(b".start\r\nmid\n.dot\r", &mut out);
        st.encode(b"\nend", &mut out);
        st.finish(&mut out);
        assert_eq!(out, b"..start\r\nmid\r\n..dot\r\nend\r\n.\r\n");
        let mut out = Vec::new();
        st.encode(b"x\r\n", &mut out);
        st.finish(&mut out);
        assert_eq!(out, b"x\r\n.\r\n");
    }
}
