//! Dot transparency (RFC 5321 §4.5.2, RFC 1939 §3): removing and adding the leading dot
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
        if self.at_line_start {
            match (buf.first(), buf.get(1), buf.get(2)) {
                (None, _, _) => return DataStep::NeedMore,
                (Some(b'.'), Some(b'\r'), Some(b'\n')) => {
                    buf.advance(3);
                    return DataStep::End;
                }
                (Some(b'.'), Some(b'\r'), Some(_)) | (Some(b'.'), Some(b'\n'), _) => {
                    return DataStep::BareLineEnding;
                }
                (Some(b'.'), Some(b'\r'), None) | (Some(b'.'), None, _) => {
                    return DataStep::NeedMore;
                }
                // A stuffed dot: drop it, the rest of the line is content.
                (Some(b'.'), Some(_), _) => buf.advance(1),
                _ => {}
            }
            self.at_line_start = false;
        }
        let b = &buf[..];
        let Some(&last) = b.last() else {
            return DataStep::NeedMore;
        };
        // A CR before this LF would still be in the buffer: it is held back.
        if b[0] == b'\n' {
            return DataStep::BareLineEnding;
        }
        let mut from = 0;
        let event = loop {
            match first_event(&b[from..]).map(|i| i + from) {
                // A NUL is noted and passed over (the message is refused at its
                // end), unless an LF follows it: that LF has no CR.
                Some(i) if b[i] == 0 && b[i + 1] != b'\n' => {
                    self.saw_nul = true;
                    from = i + 1;
                }
                other => break other,
            }
        };
        if b[from..].last() == Some(&0) {
            self.saw_nul = true;
        }
        let end = match event {
            // A line end followed by a dot: release through the LF, then look at the dot.
            Some(i) if b[i] == b'\n' && b[i + 1] == b'.' => {
                self.at_line_start = true;
                i + 1
            }
            Some(_) => return DataStep::BareLineEnding,
            None => match last {
                // Hold the CR back until its LF arrives.
                b'\r' => b.len() - 1,
                b'\n' => {
                    self.at_line_start = true;
                    b.len()
                }
                _ => b.len(),
            },
        };
        if end == 0 {
            return DataStep::NeedMore;
        }
        DataStep::Chunk(buf.split_to(end).freeze())
    }
}

/// True for a pair of adjacent bytes that needs a closer look: a line end
/// followed by a dot, a bare line ending, or a NUL. "x is CR" and "y is LF"
/// differ exactly when a CR lacks its LF or an LF lacks its CR.
#[inline(always)]
fn is_event(x: u8, y: u8) -> u8 {
    (u8::from(x == b'\n') & u8::from(y == b'.'))
        | (u8::from(x == b'\r') ^ u8::from(y == b'\n'))
        | u8::from(x == 0)
}

/// The index `i` of the first pair `(b[i], b[i + 1])` for which `pred`
/// holds. Each 64-byte block is checked branch-free over fixed-size arrays,
/// which the compiler turns into vector code; only a block with a hit is
/// searched byte by byte.
#[inline(always)]
fn scan_pairs(b: &[u8], pred: impl Fn(u8, u8) -> u8) -> Option<usize> {
    const BLOCK: usize = 64;
    let pairs = b.len().saturating_sub(1);
    let (xs, ys) = (&b[..pairs], &b[1..]);
    let mut start = 0;
    for (xc, yc) in xs.chunks_exact(BLOCK).zip(ys.chunks_exact(BLOCK)) {
        // chunks_exact yields BLOCK-sized slices, so these conversions hold.
        let (Ok(xc), Ok(yc)) = (<&[u8; BLOCK]>::try_from(xc), <&[u8; BLOCK]>::try_from(yc)) else {
            break;
        };
        let mut hit = 0u8;
        for j in 0..BLOCK {
            hit |= pred(xc[j], yc[j]);
        }
        if hit != 0 {
            break;
        }
        start += BLOCK;
    }
    (start..pairs).find(|&i| pred(b[i], b[i + 1]) != 0)
}

/// [`scan_pairs`] with the widest vectors the CPU has.
#[inline(always)]
fn first_pair(b: &[u8], pred: impl Fn(u8, u8) -> u8) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", feature = "std-detect"))]
    if b.len() >= 256 && std::arch::is_x86_feature_detected!("avx2") {
        return wide::scan_pairs_avx2(b, pred);
    }
    scan_pairs(b, pred)
}

/// This crate's one unsafe spot (DESIGN.md §8: a measured hot path).
/// Dot transparency is the inner loop of every DATA body and RETR
/// response; the same scan compiled for AVX2 runs about twice as fast as
/// the SSE2 baseline Rust targets by default.
#[cfg(all(target_arch = "x86_64", feature = "std-detect"))]
#[allow(unsafe_code)]
mod wide {
    /// The scan, compiled with AVX2 enabled. The code is safe Rust; only
    /// the instruction set differs.
    #[target_feature(enable = "avx2")]
    fn scan_avx2(b: &[u8], pred: impl Fn(u8, u8) -> u8) -> Option<usize> {
        super::scan_pairs(b, pred)
    }

    /// Runs the AVX2 scan; call only after `is_x86_feature_detected!("avx2")`.
    #[inline(always)]
    pub(super) fn scan_pairs_avx2(b: &[u8], pred: impl Fn(u8, u8) -> u8) -> Option<usize> {
        debug_assert!(std::arch::is_x86_feature_detected!("avx2"));
        // SAFETY: the only caller checked at run time that this CPU has AVX2,
        // the one requirement of calling a `target_feature(enable = "avx2")` function.
        unsafe { scan_avx2(b, pred) }
    }
}

fn first_event(b: &[u8]) -> Option<usize> {
    first_pair(b, is_event)
}

/// True for a pair the stuffer changes: a line end followed by a dot, or a bare line ending.
#[inline(always)]
fn needs_stuffing(x: u8, y: u8) -> u8 {
    (u8::from(x == b'\n') & u8::from(y == b'.')) | (u8::from(x == b'\r') ^ u8::from(y == b'\n'))
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
        let (Some(&first), Some(&last)) = (chunk.first(), chunk.last()) else {
            return;
        };
        // Where this chunk meets the previous one.
        if self.last_was_cr && first != b'\n' {
            out.put_u8(b'\n');
            self.at_line_start = true;
        }
        if !self.last_was_cr && first == b'\n' {
            out.put_u8(b'\r');
        }
        if self.at_line_start && first == b'.' {
            out.put_u8(b'.');
        }
        // Inside it: copy the runs between the pairs that need a change.
        let mut start = 0;
        while let Some(i) = first_pair(&chunk[start..], needs_stuffing).map(|i| i + start) {
            let (x, y) = (chunk[i], chunk[i + 1]);
            out.put_slice(&chunk[start..=i]);
            start = i + 1;
            if x == b'\r' && y != b'\n' {
                // A bare CR: end the line, and stuff a dot that starts the next.
                out.put_u8(b'\n');
                if y == b'.' {
                    out.put_u8(b'.');
                }
            } else if y == b'\n' {
                // A bare LF: give it its CR.
                out.put_u8(b'\r');
            } else {
                // A line end followed by a dot.
                out.put_u8(b'.');
            }
        }
        out.put_slice(&chunk[start..]);
        self.last_was_cr = last == b'\r';
        self.at_line_start = last == b'\n';
    }

    /// Stuffs a shared chunk: the chunk itself, without copying, when
    /// nothing in it needs changing (the common case for CRLF text), else a
    /// stuffed copy. The same bytes as [`DotStuffer::encode`] would write.
    pub fn stuff(&mut self, chunk: Bytes) -> Bytes {
        if self.is_clean(&chunk) {
            if let Some(&last) = chunk.last() {
                self.last_was_cr = last == b'\r';
                self.at_line_start = last == b'\n';
            }
            return chunk;
        }
        let mut out = BytesMut::with_capacity(chunk.len() + chunk.len() / 32 + 2);
        self.encode(&chunk, &mut out);
        out.freeze()
    }

    fn is_clean(&self, chunk: &[u8]) -> bool {
        let Some(&first) = chunk.first() else {
            return true;
        };
        // A CR held over must meet its LF; an LF must follow a CR; no dot may start a line.
        self.last_was_cr == (first == b'\n')
            && !(self.at_line_start && first == b'.')
            && first_pair(chunk, needs_stuffing).is_none()
    }

    /// True when the bytes so far end at the start of a line.
    pub fn at_line_start(&self) -> bool {
        self.at_line_start
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
            assert_eq!(
                step,
                DataStep::BareLineEnding,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn holds_back_partial_terminators() {
        let mut dec = DotUnstuffer::new();
        let mut buf = BytesMut::from(&b"abc\r"[..]);
        assert_eq!(
            dec.decode(&mut buf),
            DataStep::Chunk(Bytes::from_static(b"abc"))
        );
        assert_eq!(dec.decode(&mut buf), DataStep::NeedMore);
        buf.extend_from_slice(b"\n.");
        assert_eq!(
            dec.decode(&mut buf),
            DataStep::Chunk(Bytes::from_static(b"\r\n"))
        );
        assert_eq!(dec.decode(&mut buf), DataStep::NeedMore);
        buf.extend_from_slice(b"\r\n");
        assert_eq!(dec.decode(&mut buf), DataStep::End);
    }

    /// Found by fuzzing: what is released before a bare LF depends on the split,
    /// but the outcome does not.
    #[test]
    fn bare_lf_outcome_does_not_depend_on_the_split() {
        assert_eq!(unstuff_all(b"?\n"), (vec![], DataStep::BareLineEnding));
        let mut dec = DotUnstuffer::new();
        let mut buf = BytesMut::from(&b"?"[..]);
        assert_eq!(
            dec.decode(&mut buf),
            DataStep::Chunk(Bytes::from_static(b"?"))
        );
        buf.extend_from_slice(b"\n");
        assert_eq!(dec.decode(&mut buf), DataStep::BareLineEnding);
    }

    /// Found by fuzzing: an LF right after a NUL is a bare LF, split or not.
    #[test]
    fn lf_after_nul_is_bare() {
        assert_eq!(unstuff_all(b"\0\nb"), (vec![], DataStep::BareLineEnding));
        let mut dec = DotUnstuffer::new();
        let mut buf = BytesMut::from(&b"\0"[..]);
        assert_eq!(
            dec.decode(&mut buf),
            DataStep::Chunk(Bytes::from_static(b"\0"))
        );
        buf.extend_from_slice(b"\nb");
        assert_eq!(dec.decode(&mut buf), DataStep::BareLineEnding);
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

#[cfg(test)]
mod shared_chunks {
    use super::*;

    /// `stuff` gives the same bytes as `encode`, whatever the split.
    #[test]
    fn stuff_matches_encode() {
        let inputs: [&[u8]; 6] = [
            b"plain\r\nlines\r\n",
            b".lead\r\nx\n.y\rz\r\n",
            b"a\r",
            b"\r\n.\r\n",
            b"long line without end",
            b"\n\n.",
        ];
        for input in inputs {
            for split in 0..=input.len() {
                let (a, b) = input.split_at(split);
                let mut expected = Vec::new();
                let mut enc = DotStuffer::new();
                enc.encode(a, &mut expected);
                enc.encode(b, &mut expected);
                enc.finish(&mut expected);
                let mut st = DotStuffer::new();
                let mut got = Vec::new();
                got.extend_from_slice(&st.stuff(Bytes::copy_from_slice(a)));
                got.extend_from_slice(&st.stuff(Bytes::copy_from_slice(b)));
                st.finish(&mut got);
                assert_eq!(got, expected, "input {input:?} split at {split}");
            }
        }
        let clean = Bytes::from_static(b"no changes here\r\nnone\r\n");
        let out = DotStuffer::new().stuff(clean.clone());
        assert_eq!(out.as_ptr(), clean.as_ptr(), "a clean chunk is not copied");
    }
}

#[cfg(test)]
mod wide_scan {
    use super::*;

    type Predicate = fn(u8, u8) -> u8;

    /// The dispatching scan finds what the portable one finds, at every position.
    #[test]
    fn matches_the_portable_scan() {
        let base: Vec<u8> = b"plain text line\r\n"
            .iter()
            .copied()
            .cycle()
            .take(1000)
            .collect();
        let cases: [(&[u8], Predicate); 4] = [
            (b"\n.", needs_stuffing),
            (b"x\n", needs_stuffing),
            (b"\rx", needs_stuffing),
            (b"\0y", is_event),
        ];
        for (insert, pred) in cases {
            for at in 0..base.len() - 2 {
                let mut b = base.clone();
                b[at..at + 2].copy_from_slice(insert);
                assert_eq!(first_pair(&b, pred), scan_pairs(&b, pred), "at {at}");
            }
        }
        assert_eq!(first_pair(&base, needs_stuffing), None);
    }
}
