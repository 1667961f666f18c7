//! The crate's one `unsafe` spot (DESIGN.md §8: a measured hot path):
//! octet classes over many octets at once, and text taken from octets
//! already known to be ASCII.
//! - Reply texts are ASCII nearly always; a word-at-a-time ASCII check
//!   costs a fraction of UTF-8 validation on them (callgrind: about 120
//!   instructions of an 813-instruction reply went to `str::from_utf8`).
//! - A command line's end and its ASCII check are found in one SSE2 pass
//!   ([`CheckedLine::frame`]), so its borrowed values need no UTF-8 check
//!   of their own; a reply line's end likewise ([`first_control`]).
//! - A path's domain is classed sixteen octets at a time ([`domain_run`]).
//! - Short values are kept inline ([`InlineStr`]): copying a few octets
//!   costs less than sharing a buffer, whose reference count is an
//!   atomic operation when the value is made and again when it is dropped.
//!
//! Each function here is checked against a plain octet-by-octet version
//! by a property test below, and fuzzed through the codecs.
#![allow(unsafe_code)]

use sansmail_common::line::{Line, frame_line};

/// `bytes` as text: checked as ASCII first, as UTF-8 only when that fails.
#[inline]
pub(crate) fn as_str(bytes: &[u8]) -> Option<&str> {
    if is_ascii(bytes) {
        // SAFETY: ASCII is valid UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
}

/// A received line, checked for ASCII once so that its parts can be
/// taken as `str` without a check of their own.
pub(crate) struct CheckedLine<'a> {
    bytes: &'a [u8],
    ascii: bool,
}

impl<'a> CheckedLine<'a> {
    /// Checks `bytes` for ASCII.
    #[inline]
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        CheckedLine {
            bytes,
            ascii: is_ascii(bytes),
        }
    }

    /// The first CRLF line of `buf` (at most `max` octets with its CRLF)
    /// and its length with CRLF, found and checked for ASCII in one pass;
    /// any other case (no line end yet, a bare CR or LF, too long) is
    /// left to [`frame_line`], which names it.
    #[inline]
    pub(crate) fn frame(buf: &'a [u8], max: usize) -> Result<(Self, usize), Line> {
        let window = &buf[..buf.len().min(max)];
        let (end, ascii) = first_line_end(window);
        match end {
            Some(p) if window[p] == b'\r' && p + 2 <= max && buf.get(p + 1) == Some(&b'\n') => {
                Ok((
                    CheckedLine {
                        bytes: &buf[..p],
                        ascii,
                    },
                    p + 2,
                ))
            }
            _ => Err(frame_line(buf, max)),
        }
    }

    /// The line's octets.
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `sub` as text, if it is UTF-8: unchecked when it lies inside an
    /// ASCII line, checked otherwise.
    #[inline]
    pub(crate) fn str_of(&self, sub: &'a [u8]) -> Option<&'a str> {
        let start = self.bytes.as_ptr() as usize;
        let at = sub.as_ptr() as usize;
        let inside = at >= start && at + sub.len() <= start + self.bytes.len();
        if self.ascii && inside {
            // SAFETY: `sub` lies inside `bytes`, which are all ASCII, and
            // ASCII is valid UTF-8.
            return Some(unsafe { std::str::from_utf8_unchecked(sub) });
        }
        std::str::from_utf8(sub).ok()
    }
}

/// Up to [`InlineStr::CAPACITY`] octets of text, kept in place: a window
/// of that many octets with the text somewhere in it, so that taking a
/// value from a line copies a fixed number of octets (a copy of varying
/// length branches on the length, which the CPU mispredicts).
#[derive(Clone, Copy)]
pub(crate) struct InlineStr {
    start: u8,
    len: u8,
    bytes: [u8; InlineStr::CAPACITY],
}

impl InlineStr {
    /// The longest text kept inline: with its place, it fits beside the
    /// pointer that tells a shared buffer apart, so a value is no larger.
    pub(crate) const CAPACITY: usize = 22;

    /// An empty text.
    pub(crate) const EMPTY: InlineStr = InlineStr {
        start: 0,
        len: 0,
        bytes: [0; InlineStr::CAPACITY],
    };

    /// `text` copied inline, if it fits.
    #[inline]
    pub(crate) fn new(text: &str) -> Option<InlineStr> {
        let len = text.len();
        if len > Self::CAPACITY {
            return None;
        }
        let mut bytes = [0; Self::CAPACITY];
        bytes[..len].copy_from_slice(text.as_bytes());
        Some(InlineStr {
            start: 0,
            len: len as u8,
            bytes,
        })
    }

    /// `text`, a part of `line`, copied inline with the octets around it
    /// (the window of [`InlineStr::CAPACITY`] octets that starts with it,
    /// or ends with the line), if it fits.
    #[inline(always)]
    pub(crate) fn within(text: &str, line: &[u8]) -> Option<InlineStr> {
        let len = text.len();
        let offset = (text.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
        if len > Self::CAPACITY || line.len() < Self::CAPACITY || offset > line.len() - len {
            return Self::new(text);
        }
        let from = offset.min(line.len() - Self::CAPACITY);
        let window: &[u8; Self::CAPACITY] = line[from..].first_chunk()?;
        // `text` lies at `offset - from` in the window, wholly: the window
        // starts at or before it and ends at or after the line's end or
        // CAPACITY octets past it.
        Some(InlineStr {
            start: (offset - from) as u8,
            len: len as u8,
            bytes: *window,
        })
    }

    /// The text.
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        let (start, len) = (usize::from(self.start), usize::from(self.len));
        let bytes = &self.bytes[start..start + len];
        // SAFETY: `new` copies a whole `str` to the start, and `within`
        // copies a window holding the octets of a whole `str` (a part of
        // the line) at `start`: either way the octets are a `str`'s, UTF-8.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

/// Where the first CR or LF of `window` is, and whether every octet
/// before it is ASCII: sixteen octets at a time with SSE2 (part of every
/// x86-64 CPU), the rest one by one.
#[inline]
fn first_line_end(window: &[u8]) -> (Option<usize>, bool) {
    let mut i = 0;
    let mut high = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86-64 baseline, and each load reads
        // the 16 octets at `i`, which the loop condition keeps in `window`.
        unsafe {
            let (cr, lf) = (_mm_set1_epi8(b'\r' as i8), _mm_set1_epi8(b'\n' as i8));
            while i + 16 <= window.len() {
                let chunk = _mm_loadu_si128(window.as_ptr().add(i).cast::<__m128i>());
                let ends = _mm_movemask_epi8(_mm_or_si128(
                    _mm_cmpeq_epi8(chunk, cr),
                    _mm_cmpeq_epi8(chunk, lf),
                ));
                let tops = _mm_movemask_epi8(chunk);
                if ends != 0 {
                    let at = ends.trailing_zeros();
                    let before = tops & ((1 << at) - 1);
                    return (Some(i + at as usize), high | before == 0);
                }
                high |= tops;
                i += 16;
            }
        }
    }
    for (k, &b) in window[i..].iter().enumerate() {
        if b == b'\r' || b == b'\n' {
            return (Some(i + k), high == 0);
        }
        high |= i32::from(b >= 0x80);
    }
    (None, high == 0)
}

/// The index of the first octet below 0x20 or DEL (0x7f) in `b`: sixteen
/// octets at a time with SSE2 on x86-64, eight at a time elsewhere (in
/// each 64-bit word, `x - 0x20` borrows into the top bit of every octet
/// below 0x20 that had it clear, and `x ^ 0x7f` is zero exactly for DEL),
/// the rest one by one.
#[inline]
pub(crate) fn first_control(b: &[u8]) -> Option<usize> {
    let mut at = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8,
            _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86-64 baseline, and each load reads
        // the 16 octets at `at`, which the loop condition keeps in `b`.
        unsafe {
            let (space, del, minus_one) =
                (_mm_set1_epi8(0x20), _mm_set1_epi8(0x7f), _mm_set1_epi8(-1));
            while at + 16 <= b.len() {
                let chunk = _mm_loadu_si128(b.as_ptr().add(at).cast::<__m128i>());
                // Signed compares: octets from 0x80 up are negative, so
                // "below 0x20" also needs "not negative".
                let control = _mm_and_si128(
                    _mm_cmplt_epi8(chunk, space),
                    _mm_cmpgt_epi8(chunk, minus_one),
                );
                let flagged = _mm_movemask_epi8(_mm_or_si128(control, _mm_cmpeq_epi8(chunk, del)));
                if flagged != 0 {
                    return Some(at + flagged.trailing_zeros() as usize);
                }
                at += 16;
            }
        }
    }
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let rest = &b[at..];
    let mut chunks = rest.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & TOPS;
        let del = (x ^ (ONES * 0x7f)).wrapping_sub(ONES) & !(x ^ (ONES * 0x7f)) & TOPS;
        let flagged = below_space | del;
        if flagged != 0 {
            return Some(at + (flagged.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b < 0x20 || b == 0x7f)
        .map(|p| at + p)
}

/// The domain starting at `start` in `line`: the run of letters, digits,
/// hyphens, dots and UTF-8 octets there, as its length and whether its
/// labels are well-formed (none empty, none starting or ending with a
/// hyphen). The octets are classed sixteen at a time into bit masks (SSE2
/// on x86-64) and the label rules checked on the masks (see [`run`]).
/// `None` when the run reaches 64 octets or the line is shorter than 16
/// (or on other CPUs): the caller then reads it octet by octet.
#[inline(always)]
pub(crate) fn domain_run(line: &[u8], start: usize) -> Option<(usize, bool)> {
    #[cfg(target_arch = "x86_64")]
    {
        let (len, [dots, hyphens]) = run(line, start, classify_domain)?;
        let inside = (1u64 << len) - 1;
        // A label's ends: the first and last octets, and those next to a dot.
        let ends = 1 | (1 << len >> 1) | (dots << 1) | (dots >> 1);
        let labels_ok = len > 0 && dots & ends == 0 && hyphens & ends & inside == 0;
        Some((len, labels_ok))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (line, start);
        None
    }
}

/// The dot-string local part starting at `start` in `line`: the run of
/// `atext` octets (UTF-8 ones included) and dots there, as its length
/// and whether its dots are well placed (none first, last or next to
/// another). Classed like [`domain_run`], with the same `None` cases.
#[inline(always)]
pub(crate) fn local_run(line: &[u8], start: usize) -> Option<(usize, bool)> {
    #[cfg(target_arch = "x86_64")]
    {
        let (len, [dots]) = run(line, start, classify_local)?;
        let ends = 1 | (1 << len >> 1) | (dots >> 1);
        Some((len, len > 0 && dots & ends == 0))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (line, start);
        None
    }
}

/// The run of octets that `classify` accepts starting at `start` in
/// `line`, as its length and the other masks `classify` gives, cut to the
/// run. Near the line's end its last sixteen octets are read and their
/// masks shifted down, so nothing is copied. `None` when the run reaches
/// 64 octets or the line is shorter than 16.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn run<const K: usize>(
    line: &[u8],
    start: usize,
    classify: impl Fn(&[u8]) -> (u16, [u16; K]),
) -> Option<(usize, [u64; K])> {
    if line.len() < 16 || start > line.len() {
        return None;
    }
    let mut run = 0u64;
    let mut masks = [0u64; K];
    let mut at = 0;
    while at < 64 {
        let pos = start + at;
        let (from, shift) = match pos + 16 <= line.len() {
            true => (pos, 0),
            false => (line.len() - 16, pos - (line.len() - 16)),
        };
        // Octets past the line's end shift in as zeros: not in the run.
        let (ok, others) = classify(&line[from..from + 16]);
        let ok = u64::from(ok) >> shift;
        run |= ok << at;
        for (mask, other) in masks.iter_mut().zip(others) {
            *mask |= (u64::from(other) >> shift) << at;
        }
        if ok != 0xffff {
            break;
        }
        at += 16;
    }
    let len = run.trailing_ones() as usize;
    if len >= 64 {
        return None;
    }
    let inside = (1u64 << len) - 1;
    Some((len, masks.map(|m| m & inside)))
}

/// Sixteen octets classed as domain octets (letters, digits, hyphen, dot,
/// 0x80 and up), dots and hyphens: one bit per octet in each mask.
#[cfg(target_arch = "x86_64")]
#[inline]
fn classify_domain(chunk: &[u8]) -> (u16, [u16; 2]) {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_loadu_si128,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_setzero_si128,
    };
    assert!(chunk.len() >= 16);
    let class = |x: i32| x as u16;
    // SAFETY: SSE2 is part of the x86-64 baseline, and the load reads the
    // 16 octets the assertion above keeps in `chunk`.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        let between = |v, lo: u8, hi: u8| {
            _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(lo as i8 - 1)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(hi as i8 + 1)),
            )
        };
        // Signed compares: octets from 0x80 up are negative, so neither
        // letters nor digits; they are taken as UTF-8 by the sign test.
        let letter = between(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', b'z');
        let digit = between(v, b'0', b'9');
        let high = _mm_cmplt_epi8(v, _mm_setzero_si128());
        let dot = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'.' as i8));
        let hyphen = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'-' as i8));
        let ok = _mm_or_si128(
            _mm_or_si128(letter, digit),
            _mm_or_si128(high, _mm_or_si128(dot, hyphen)),
        );
        (
            class(_mm_movemask_epi8(ok)),
            [
                class(_mm_movemask_epi8(dot)),
                class(_mm_movemask_epi8(hyphen)),
            ],
        )
    }
}

/// Sixteen octets classed as local-part octets (`atext`, dot, 0x80 and
/// up) and dots: one bit per octet in each mask.
#[cfg(target_arch = "x86_64")]
#[inline]
fn classify_local(chunk: &[u8]) -> (u16, [u16; 1]) {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8,
        _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_setzero_si128,
    };
    assert!(chunk.len() >= 16);
    let class = |x: i32| x as u16;
    // SAFETY: SSE2 is part of the x86-64 baseline, and the load reads the
    // 16 octets the assertion above keeps in `chunk`.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        let between = |lo: u8, hi: u8| {
            _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(lo as i8 - 1)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(hi as i8 + 1)),
            )
        };
        let is = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
        // Printable ASCII but the specials (the dot is taken), or 0x80
        // and up (negative in these signed compares).
        let printable = between(0x21, 0x7e);
        let specials = _mm_or_si128(
            _mm_or_si128(
                _mm_or_si128(is(b'"'), between(b'(', b')')),
                _mm_or_si128(is(b','), between(b':', b'<')),
            ),
            _mm_or_si128(_mm_or_si128(is(b'>'), is(b'@')), between(b'[', b']')),
        );
        let high = _mm_cmplt_epi8(v, _mm_setzero_si128());
        let ok = _mm_or_si128(_mm_andnot_si128(specials, printable), high);
        (
            class(_mm_movemask_epi8(ok)),
            [class(_mm_movemask_epi8(is(b'.')))],
        )
    }
}

/// True when every octet is below 128: the top bits of all the words
/// OR-ed together, with no exit before the end (a reply is short, and a
/// loop that always runs to its end is one the CPU predicts), the last
/// word overlapping the one before it.
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or([0x80; 8]));
    if bytes.len() < 8 {
        return bytes.iter().fold(0, |all, &b| all | b) < 0x80;
    }
    let mut chunks = bytes.chunks_exact(8);
    let mut all = word(&bytes[bytes.len() - 8..]);
    for chunk in &mut chunks {
        all |= word(chunk);
    }
    all & TOPS == 0
}

#[cfg(test)]
mod tests {
    use super::Line;

    #[test]
    fn parts_of_a_line_are_checked_unless_it_is_ascii() {
        let ascii = b"MAIL FROM:<a@b>";
        let line = super::CheckedLine::new(ascii);
        assert_eq!(line.str_of(&ascii[11..14]), Some("a@b"));
        // A slice from elsewhere is checked, not trusted.
        let other = [0xff_u8, b'a'];
        assert_eq!(line.str_of(&other), None);
        let utf8 = "RCPT TO:<j\u{f6}rg@b>".as_bytes();
        let line = super::CheckedLine::new(utf8);
        assert_eq!(line.str_of(&utf8[9..14]), Some("j\u{f6}rg"));
        assert_eq!(line.str_of(&utf8[9..11]), None);
    }

    #[test]
    fn inline_text_is_the_text_it_was_given() {
        assert_eq!(super::InlineStr::EMPTY.as_str(), "");
        assert_eq!(super::InlineStr::new("a@b").unwrap().as_str(), "a@b");
        let full = "\u{e9}".repeat(11);
        assert_eq!(super::InlineStr::new(&full).unwrap().as_str(), full);
        assert!(super::InlineStr::new(&"x".repeat(23)).is_none());
        // A part of a line is copied with its window, wherever it lies.
        let line = "RCPT TO:<b\u{f6}b@example.com> NOTIFY=NEVER";
        for (at, len) in [(9, 4), (14, 11), (33, 5), (39, 0), (9, 22), (17, 22)] {
            let part = &line[at..at + len];
            let inline = super::InlineStr::within(part, line.as_bytes()).unwrap();
            assert_eq!(inline.as_str(), part);
        }
        assert!(super::InlineStr::within(&line[9..32], line.as_bytes()).is_none());
        // A line shorter than the window, and text from elsewhere.
        assert_eq!(
            super::InlineStr::within(&line[1..3], &line.as_bytes()[..5])
                .unwrap()
                .as_str(),
            "CP"
        );
        assert_eq!(
            super::InlineStr::within("ab", line.as_bytes())
                .unwrap()
                .as_str(),
            "ab"
        );
    }

    proptest::proptest! {
        /// Whatever the bytes, the first control octet found is the first one there is.
        #[test]
        fn first_control_agrees_with_a_plain_search(bytes in proptest::collection::vec(
            proptest::prop_oneof![8 => 0x20u8..0x7f, 1 => proptest::prelude::any::<u8>()], 0..80)
        ) {
            proptest::prop_assert_eq!(
                super::first_control(&bytes),
                bytes.iter().position(|&b| b < 0x20 || b == 0x7f)
            );
        }

        /// The domain run and its label check agree with reading octet
        /// by octet, wherever the run starts in the line (so that the
        /// windows near its end are read shifted).
        #[test]
        fn domain_run_agrees_with_octet_by_octet(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    6 => proptest::sample::select(b"az09AZ".to_vec()),
                    2 => proptest::prelude::Just(b'.'),
                    2 => proptest::prelude::Just(b'-'),
                    1 => proptest::prelude::any::<u8>(),
                ], 0..90),
            start in 0..40usize,
        ) {
            let start = start.min(bytes.len());
            let run = &bytes[start..];
            let in_run = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b >= 0x80;
            let len = run.iter().position(|&b| !in_run(b)).unwrap_or(run.len());
            let labels_ok = len > 0 && run[..len].split(|&b| b == b'.').all(|label| {
                !label.is_empty() && label[0] != b'-' && label[label.len() - 1] != b'-'
            });
            let expected = (len < 64 && bytes.len() >= 16).then_some((len, labels_ok));
            proptest::prop_assert_eq!(super::domain_run(&bytes, start), expected);
        }

        /// A part of a line kept inline reads back as itself, wherever
        /// it lies in the line and whatever its length.
        #[test]
        fn inline_parts_read_back(line in "[a-z\u{e9}\u{1F600} <>@.]{0,40}", a in 0..41usize, b in 0..41usize) {
            let (mut a, mut b) = (a.min(line.len()), b.min(line.len()));
            while !line.is_char_boundary(a) { a -= 1; }
            while !line.is_char_boundary(b) { b -= 1; }
            let part = &line[a.min(b)..a.max(b)];
            match super::InlineStr::within(part, line.as_bytes()) {
                Some(inline) => proptest::prop_assert_eq!(inline.as_str(), part),
                None => proptest::prop_assert!(part.len() > super::InlineStr::CAPACITY),
            }
        }

        /// The local-part run and its dot check agree with the `atext`
        /// table and the dot rules, wherever the run starts in the line.
        #[test]
        fn local_run_agrees_with_octet_by_octet(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    4 => proptest::sample::select(b"az09AZ!#'*+-/=?^_`{|}~".to_vec()),
                    2 => proptest::prelude::Just(b'.'),
                    2 => proptest::sample::select(b"\"(),:;<>@[\\] \x7f".to_vec()),
                    1 => proptest::prelude::any::<u8>(),
                ], 0..90),
            start in 0..40usize,
        ) {
            use crate::types::ATEXT;
            let start = start.min(bytes.len());
            let run = &bytes[start..];
            let in_run = |b: u8| ATEXT[usize::from(b)] || b == b'.';
            let len = run.iter().position(|&b| !in_run(b)).unwrap_or(run.len());
            let dots_ok = len > 0
                && run[..len].split(|&b| b == b'.').all(|atom| !atom.is_empty());
            let expected = (len < 64 && bytes.len() >= 16).then_some((len, dots_ok));
            proptest::prop_assert_eq!(super::local_run(&bytes, start), expected);
        }

        /// Framing by the one-pass scan gives what the shared framing gives.
        #[test]
        fn frame_agrees_with_frame_line(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![8 => 0x20u8..0x7f, 2 => proptest::sample::select(b"\r\n".to_vec()), 1 => proptest::prelude::any::<u8>()],
                0..80,
            ),
            max in 0usize..90,
        ) {
            let framed = match super::CheckedLine::frame(&bytes, max) {
                Ok((line, total)) => Line::Complete { len: line.bytes.len(), total },
                Err(other) => other,
            };
            proptest::prop_assert_eq!(framed, super::frame_line(&bytes, max));
        }

        /// The same for the line end and the ASCII check before it.
        #[test]
        fn first_line_end_agrees_with_a_plain_search(bytes in proptest::collection::vec(
            proptest::prop_oneof![8 => 0x20u8..0x7f, 1 => proptest::prelude::any::<u8>()], 0..80)
        ) {
            let end = bytes.iter().position(|&b| b == b'\r' || b == b'\n');
            let ascii = bytes[..end.unwrap_or(bytes.len())].is_ascii();
            proptest::prop_assert_eq!(super::first_line_end(&bytes), (end, ascii));
        }

        /// Whatever the bytes, the answer is `str::from_utf8`'s.
        #[test]
        fn agrees_with_from_utf8(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            proptest::prop_assert_eq!(super::as_str(&bytes), std::str::from_utf8(&bytes).ok());
        }

        /// Mostly ASCII, so that one high octet anywhere is what decides.
        #[test]
        fn is_ascii_agrees_with_std(bytes in proptest::collection::vec(
            proptest::prop_oneof![8 => 0u8..128, 1 => proptest::prelude::any::<u8>()], 0..80)
        ) {
            proptest::prop_assert_eq!(super::is_ascii(&bytes), bytes.is_ascii());
        }
    }
}
