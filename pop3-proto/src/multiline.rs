//! Multi-line responses (RFC 1939 §3): the server's encoder, which
//! byte-stuffs message content, writes it with CRLF line ends and cuts it
//! for TOP; and the client's decoder, which finds the terminating `.` line
//! and removes the stuffing, both streaming chunk by chunk.

use bytes::{Buf, Bytes, BytesMut};
use sansmail_common::dot::DotStuffer;

/// Streams message content into the body of a RETR or TOP response.
///
/// Line ends go out as CRLF (a bare LF or CR in the content becomes CRLF), a
/// dot that starts a line is doubled, and [`BodyEncoder::finish`] ends the
/// last line and writes the `.` line. Message sizes given in LIST and STAT
/// should count the content the way it goes out: with CRLF line ends.
#[derive(Debug, Clone)]
pub struct BodyEncoder {
    stuffer: DotStuffer,
    top: Option<TopCut>,
}

/// Where TOP is in the message: header, then `lines` body lines.
#[derive(Debug, Clone)]
struct TopCut {
    in_header: bool,
    /// What the current line holds so far: nothing, a lone CR, or more.
    line: LineSoFar,
    lines_left: u32,
    done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineSoFar {
    Empty,
    Cr,
    Text,
}

impl Default for BodyEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl BodyEncoder {
    /// An encoder for a whole message (RETR).
    pub fn new() -> Self {
        BodyEncoder {
            stuffer: DotStuffer::new(),
            top: None,
        }
    }

    /// An encoder for TOP: the header, the blank line, then `lines` lines of the body.
    pub fn top(lines: u32) -> Self {
        BodyEncoder {
            stuffer: DotStuffer::new(),
            top: Some(TopCut {
                in_header: true,
                line: LineSoFar::Empty,
                lines_left: lines,
                done: false,
            }),
        }
    }

    /// True when TOP has all it asked for; later content is dropped.
    pub fn is_done(&self) -> bool {
        self.top.as_ref().is_some_and(|t| t.done)
    }

    /// Encodes the next piece of content. A chunk that needs no change is
    /// returned as it is, without copying.
    pub fn encode(&mut self, chunk: Bytes) -> Bytes {
        let chunk = match &mut self.top {
            None => chunk,
            Some(cut) => {
                let keep = cut.keep(&chunk);
                chunk.slice(..keep)
            }
        };
        self.stuffer.stuff(chunk)
    }

    /// Ends the last line if needed and appends the terminating `.` line.
    pub fn finish(&mut self, out: &mut BytesMut) {
        self.stuffer.finish(out);
    }
}

impl TopCut {
    /// How many bytes of `chunk` belong to the response.
    fn keep(&mut self, chunk: &[u8]) -> usize {
        if self.done {
            return 0;
        }
        let mut start = 0;
        for lf in memchr::memchr_iter(b'\n', chunk) {
            let content = &chunk[start..lf];
            let blank = matches!(
                (self.line, content),
                (LineSoFar::Empty, [] | [b'\r']) | (LineSoFar::Cr, [])
            );
            start = lf + 1;
            self.line = LineSoFar::Empty;
            if self.in_header {
                if blank {
                    self.in_header = false;
                    if self.lines_left == 0 {
                        self.done = true;
                        return start;
                    }
                }
            } else {
                self.lines_left -= 1;
                if self.lines_left == 0 {
                    self.done = true;
                    return start;
                }
            }
        }
        let tail = &chunk[start..];
        self.line = match (self.line, tail) {
            (line, []) => line,
            (LineSoFar::Empty, [b'\r']) => LineSoFar::Cr,
            _ => LineSoFar::Text,
        };
        chunk.len()
    }
}

/// What [`BodyDecoder::decode`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyStep {
    /// Content, stuffing removed; call again.
    Chunk(Bytes),
    /// The buffer holds nothing more that can be released yet.
    NeedMore,
    /// The terminating `.` line was read and removed from the buffer.
    End,
}

/// Streaming decoder of a multi-line response body (client side).
///
/// The terminating line is `.` followed by CRLF (or by a bare LF, which
/// Python's `poplib` and most clients accept too); a line starting with a
/// dot loses that dot. Content bytes pass through unchanged otherwise, with
/// their line ends as the server sent them.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    at_line_start: bool,
}

impl Default for BodyDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl BodyDecoder {
    /// A decoder at the first line after the `+OK` line.
    pub fn new() -> Self {
        BodyDecoder {
            at_line_start: true,
        }
    }

    /// Splits the next piece of content off the front of `buf` without copying.
    pub fn decode(&mut self, buf: &mut BytesMut) -> BodyStep {
        if self.at_line_start {
            match (buf.first(), buf.get(1), buf.get(2)) {
                (None, _, _) | (Some(b'.'), None, _) | (Some(b'.'), Some(b'\r'), None) => {
                    return BodyStep::NeedMore;
                }
                (Some(b'.'), Some(b'\r'), Some(b'\n')) => {
                    buf.advance(3);
                    return BodyStep::End;
                }
                (Some(b'.'), Some(b'\n'), _) => {
                    buf.advance(2);
                    return BodyStep::End;
                }
                // A stuffed dot: drop it; the rest of the line is content.
                (Some(b'.'), Some(_), _) => buf.advance(1),
                _ => {}
            }
            self.at_line_start = false;
        }
        let end = match memchr::memmem::find(buf, b"\n.") {
            Some(lf) => {
                self.at_line_start = true;
                lf + 1
            }
            None => {
                self.at_line_start = buf.last() == Some(&b'\n');
                buf.len()
            }
        };
        if end == 0 {
            return BodyStep::NeedMore;
        }
        BodyStep::Chunk(buf.split_to(end).freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_all(mut enc: BodyEncoder, pieces: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in pieces {
            out.extend_from_slice(&enc.encode(Bytes::copy_from_slice(p)));
        }
        let mut tail = BytesMut::new();
        enc.finish(&mut tail);
        out.extend_from_slice(&tail);
        out
    }

    fn decode_all(input: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut dec = BodyDecoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for &b in input {
            buf.extend_from_slice(&[b]);
            loop {
                match dec.decode(&mut buf) {
                    BodyStep::Chunk(c) => out.extend_from_slice(&c),
                    BodyStep::NeedMore => break,
                    BodyStep::End => return (out, buf.to_vec()),
                }
            }
        }
        panic!("no end line in {input:?}");
    }

    #[test]
    fn encodes_and_decodes() {
        let wire = encode_all(BodyEncoder::new(), &[b"Subject: x\n\n.dot\n", b"last"]);
        assert_eq!(wire, b"Subject: x\r\n\r\n..dot\r\nlast\r\n.\r\n");
        let (content, rest) = decode_all(b"Subject: x\r\n\r\n..dot\r\nlast\r\n.\r\n+OK next");
        assert_eq!(content, b"Subject: x\r\n\r\n.dot\r\nlast\r\n");
        assert_eq!(rest, b"");
        assert_eq!(decode_all(b".\r\n").0, b"");
        assert_eq!(decode_all(b"a\n.\n").0, b"a\n");
    }

    /// Fuzz regression `pop3_response/end-line-in-first-piece`: the end line
    /// ends where it ends, whatever follows in later reads.
    #[test]
    fn end_line_leaves_what_follows() {
        let mut dec = BodyDecoder::new();
        let mut buf = BytesMut::from(&b".\n"[..]);
        assert_eq!(dec.decode(&mut buf), BodyStep::End);
        assert!(buf.is_empty());
        let mut dec = BodyDecoder::new();
        let mut buf = BytesMut::from(&b".\n\n\x86\n"[..]);
        assert_eq!(dec.decode(&mut buf), BodyStep::End);
        assert_eq!(&buf[..], b"\n\x86\n");
    }

    #[test]
    fn top_cuts_after_header_and_lines() {
        let msg: &[u8] = b"A: 1\r\nB: 2\r\n\r\nbody 1\r\nbody 2\r\nbody 3\r\n";
        for split in 0..msg.len() {
            let (a, b) = msg.split_at(split);
            assert_eq!(
                encode_all(BodyEncoder::top(0), &[a, b]),
                b"A: 1\r\nB: 2\r\n\r\n.\r\n"
            );
            assert_eq!(
                encode_all(BodyEncoder::top(2), &[a, b]),
                b"A: 1\r\nB: 2\r\n\r\nbody 1\r\nbody 2\r\n.\r\n"
            );
            assert_eq!(
                encode_all(BodyEncoder::top(9), &[a, b]),
                b"A: 1\r\nB: 2\r\n\r\nbody 1\r\nbody 2\r\nbody 3\r\n.\r\n"
            );
        }
        let mut enc = BodyEncoder::top(0);
        let _ = enc.encode(Bytes::from_static(b"A: 1\n\nrest"));
        assert!(enc.is_done());
        assert_eq!(
            encode_all(BodyEncoder::top(1), &[b"only: header\r\n"]),
            b"only: header\r\n.\r\n"
        );
    }
}
