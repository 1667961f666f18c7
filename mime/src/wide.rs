//! The crate's vector code, the one module allowed `unsafe` (DESIGN.md §8:
//! measured hot paths, the body decoding that dominates large messages):
//!
//! - base64 decoded 32 characters at a time with AVX2, using the vector
//!   lookup and packing of Muła and Lemire ("Faster Base64 Encoding and
//!   Decoding Using AVX2 Instructions", 2018); `transfer`'s proptests check
//!   it against the portable decoder, and the `mime_parse` fuzz check runs
//!   both;
//! - decoded text validated as UTF-8 once, with `simdutf8`, and kept as a
//!   `String` without the second validation `String::from_utf8` would make;
//! - header values checked as plain ASCII a word at a time and borrowed as
//!   text without a second check, and the line feeds of a header block
//!   found 64 octets at a time with SSE2 compares (proptested against plain
//!   definitions below).
#![allow(unsafe_code)]

/// Decodes whole 32-character blocks of the base64 alphabet from the start
/// of `input`, appending 24 octets per block to `out`; stops at the first
/// block holding any other character (a line break, padding, junk).
/// Returns the characters used: 0 when the CPU lacks AVX2.
pub(crate) fn decode_blocks(input: &[u8], out: &mut Vec<u8>) -> usize {
    #[cfg(target_arch = "x86_64")]
    if input.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU was checked at run time to have AVX2, the one
        // requirement of calling this `target_feature(enable = "avx2")` function.
        return unsafe { avx2::decode_blocks(input, out) };
    }
    let _ = (input, out);
    0
}

/// `bytes` as text when they are ASCII: a word-at-a-time check, cheaper
/// than UTF-8 validation on the short values headers hold.
pub(crate) fn ascii_str(bytes: &[u8]) -> Option<&str> {
    if !bytes.is_ascii() {
        return None;
    }
    // SAFETY: ASCII is valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// `v` as text when it is ASCII holding no `=`, CR or LF: a header value
/// that needs neither unfolding nor encoded-word decoding, the usual one.
/// Eight octets at a time, the last word overlapping the one before it.
pub(crate) fn plain_ascii(v: &[u8]) -> Option<&str> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    // The top bit of each octet that is not ASCII or equals `=`, CR or LF.
    // (Borrows can flag an octet above a real match, never one without.)
    let flagged = |x: u64| {
        let is = |b: u8| {
            let y = x ^ (ONES * u64::from(b));
            y.wrapping_sub(ONES) & !y
        };
        (x | is(b'=') | is(b'\r') | is(b'\n')) & TOPS
    };
    let word = |c: &[u8]| {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        u64::from_le_bytes(w)
    };
    if v.len() < 8 {
        // Zero padding is none of the flagged octets.
        if flagged(word(v)) != 0 {
            return None;
        }
    } else {
        let mut chunks = v.chunks_exact(8);
        for c in &mut chunks {
            if flagged(word(c)) != 0 {
                return None;
            }
        }
        if !chunks.remainder().is_empty() && flagged(word(&v[v.len() - 8..])) != 0 {
            return None;
        }
    }
    // SAFETY: every octet of `v` was just checked to be ASCII, which is UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(v) })
}

/// A mask of the line feeds in `block`: bit `i` set when `block[i]` is LF.
#[inline]
pub(crate) fn newline_mask(block: &[u8; 64]) -> u64 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        let mut mask = 0u64;
        for (i, part) in block.chunks_exact(16).enumerate() {
            // SAFETY: SSE2 is enabled for this build (the cfg above), the
            // one requirement of these intrinsics; `part` holds the 16
            // readable octets an unaligned 128-bit load reads.
            let hits = unsafe {
                let v = _mm_loadu_si128(part.as_ptr().cast::<__m128i>());
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8)))
            };
            mask |= u64::from(hits as u16) << (16 * i);
        }
        mask
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        block
            .iter()
            .enumerate()
            .fold(0, |mask, (i, &b)| mask | (u64::from(b == b'\n') << i))
    }
}

/// The length of the field name that starts `line`: the octets before the
/// first one that is not visible ASCII or is the colon (RFC 5322 §3.6.8),
/// 16 octets at a time.
#[inline]
pub(crate) fn name_len(line: &[u8]) -> usize {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        use std::arch::x86_64::{
            __m128i, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_loadu_si128,
            _mm_movemask_epi8, _mm_set1_epi8,
        };
        let stops = |part: &[u8; 16]| {
            // SAFETY: SSE2 is enabled for this build (the cfg above), the
            // one requirement of these intrinsics; `part` holds the 16
            // readable octets an unaligned 128-bit load reads.
            unsafe {
                let v = _mm_loadu_si128(part.as_ptr().cast::<__m128i>());
                // Signed: octets from 128 up are negative, so not above 32.
                let visible = _mm_andnot_si128(
                    _mm_cmpgt_epi8(v, _mm_set1_epi8(126)),
                    _mm_cmpgt_epi8(v, _mm_set1_epi8(32)),
                );
                let colon = _mm_cmpeq_epi8(v, _mm_set1_epi8(b':' as i8));
                !_mm_movemask_epi8(_mm_andnot_si128(colon, visible)) as u16
            }
        };
        let mut at = 0;
        loop {
            let stop = match line.get(at..at + 16) {
                Some(part) => stops(part.try_into().unwrap_or(&[0; 16])),
                None => {
                    // Zero padding stops the name at the line's end.
                    let mut padded = [0u8; 16];
                    padded[..line.len() - at].copy_from_slice(&line[at..]);
                    stops(&padded)
                }
            };
            if stop != 0 {
                return (at + stop.trailing_zeros() as usize).min(line.len());
            }
            at += 16;
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        line.iter()
            .position(|&b| !(33..=126).contains(&b) || b == b':')
            .unwrap_or(line.len())
    }
}

/// What a header value holds, for [`scan_value`].
pub(crate) struct ValueScan<'a> {
    /// The value as text when it is all ASCII.
    pub ascii: Option<&'a str>,
    /// Where its first CR or LF is (a folded value has one).
    pub first_break: Option<usize>,
    /// True when `=?` appears: it may hold encoded words.
    pub has_word: bool,
}

/// Reads a header value 16 octets at a time (SSE2) for what
/// [`Field::text`](crate::header::Field::text) needs to know: whether it
/// is ASCII, where it first breaks, and whether `=?` appears.
pub(crate) fn scan_value(v: &[u8]) -> ValueScan<'_> {
    let mut first_break = None;
    let mut has_word = false;
    let mut high = false;
    let mut at = 0;
    // Each step looks at 16 octets and the one after them (for `=?`).
    let mut padded = [0u8; 32];
    while at < v.len() {
        let window: &[u8] = match v.get(at..at + 17) {
            Some(window) => window,
            None => {
                let rest = &v[at..];
                padded[..rest.len()].copy_from_slice(rest);
                padded[rest.len()..].fill(0);
                &padded[..17]
            }
        };
        let (breaks, words, top) = marks16(window);
        if breaks != 0 && first_break.is_none() {
            first_break = Some(at + breaks.trailing_zeros() as usize);
        }
        has_word |= words != 0;
        high |= top != 0;
        if has_word {
            break;
        }
        at += 16;
    }
    ValueScan {
        // SAFETY: every octet of `v` was looked at and none had its top
        // bit set (the loop runs to the end unless a word stops it, and
        // then `ascii` is not wanted), so `v` is ASCII, which is UTF-8.
        ascii: (!high && !has_word).then(|| unsafe { std::str::from_utf8_unchecked(v) }),
        first_break,
        has_word,
    }
}

/// For the first 16 octets of `w` (which holds 17): the masks of CR or
/// LF, of `=` followed by `?`, and of octets with the top bit set.
#[inline]
fn marks16(w: &[u8]) -> (u32, u32, u32) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        use std::arch::x86_64::{
            __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        assert!(w.len() >= 17);
        // SAFETY: SSE2 is enabled for this build (the cfg above), the one
        // requirement of these intrinsics; both loads read 16 octets
        // inside `w`, which holds 17 (checked above).
        unsafe {
            let here = _mm_loadu_si128(w.as_ptr().cast::<__m128i>());
            let next = _mm_loadu_si128(w.as_ptr().add(1).cast::<__m128i>());
            let is = |x: __m128i, b: u8| _mm_cmpeq_epi8(x, _mm_set1_epi8(b as i8));
            let breaks = _mm_or_si128(is(here, b'\r'), is(here, b'\n'));
            let words = _mm_and_si128(is(here, b'='), is(next, b'?'));
            (
                _mm_movemask_epi8(breaks) as u32,
                _mm_movemask_epi8(words) as u32,
                _mm_movemask_epi8(here) as u32,
            )
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        let (mut breaks, mut words, mut top) = (0, 0, 0);
        for i in 0..16 {
            breaks |= u32::from(w[i] == b'\r' || w[i] == b'\n') << i;
            words |= u32::from(w[i] == b'=' && w[i + 1] == b'?') << i;
            top |= u32::from(w[i] >= 0x80) << i;
        }
        (breaks, words, top)
    }
}

/// `bytes` as a `String` when they are UTF-8, else the bytes back.
pub(crate) fn utf8_string(bytes: Vec<u8>) -> Result<String, Vec<u8>> {
    if simdutf8::basic::from_utf8(&bytes).is_err() {
        return Err(bytes);
    }
    // SAFETY: simdutf8 just found `bytes` to be valid UTF-8.
    Ok(unsafe { String::from_utf8_unchecked(bytes) })
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Both 128-bit halves of a 256-bit vector set to `half`.
    #[target_feature(enable = "avx2")]
    fn twice(half: [i8; 16]) -> __m256i {
        let h = half;
        _mm256_setr_epi8(
            h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13],
            h[14], h[15], h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11],
            h[12], h[13], h[14], h[15],
        )
    }

    /// The lookup tables and constants of the decoder.
    struct Tables {
        lut_lo: __m256i,
        lut_hi: __m256i,
        lut_roll: __m256i,
        order: __m256i,
        lanes: __m256i,
        nibble: __m256i,
        slash: __m256i,
        pairs: __m256i,
        quads: __m256i,
    }

    #[target_feature(enable = "avx2")]
    fn tables() -> Tables {
        Tables {
            // Bit flags of the characters by low nibble and by high nibble:
            // a character is in the alphabet when its two flags share no bit.
            lut_lo: twice([
                0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B,
                0x1B, 0x1A,
            ]),
            lut_hi: twice([
                0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
                0x10, 0x10,
            ]),
            // What to add to a character, by high nibble ('/' gets its own entry).
            lut_roll: twice([0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0]),
            // The three octets of each 32-bit lane, high first, then the lanes together.
            order: twice([2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1]),
            lanes: _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7),
            nibble: _mm256_set1_epi8(0x0F),
            slash: _mm256_set1_epi8(b'/' as i8),
            pairs: _mm256_set1_epi32(0x0140_0140),
            quads: _mm256_set1_epi32(0x0001_1000),
        }
    }

    /// 32 characters decoded: the 24 octets (then 8 of no meaning), and a
    /// vector whose nonzero lanes mark the characters outside the alphabet.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn decode32(t: &Tables, chars: __m256i) -> (__m256i, __m256i) {
        let hi_nibbles = _mm256_and_si256(_mm256_srli_epi32(chars, 4), t.nibble);
        let lo_nibbles = _mm256_and_si256(chars, t.nibble);
        let lo = _mm256_shuffle_epi8(t.lut_lo, lo_nibbles);
        let hi = _mm256_shuffle_epi8(t.lut_hi, hi_nibbles);
        let outside = _mm256_and_si256(lo, hi);
        let is_slash = _mm256_cmpeq_epi8(chars, t.slash);
        let roll = _mm256_shuffle_epi8(t.lut_roll, _mm256_add_epi8(is_slash, hi_nibbles));
        let values = _mm256_add_epi8(chars, roll);
        // 6-bit values to 12-bit pairs to 24-bit groups, then packed.
        let merged = _mm256_madd_epi16(_mm256_maddubs_epi16(values, t.pairs), t.quads);
        let packed = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(merged, t.order), t.lanes);
        (packed, outside)
    }

    /// See [`super::decode_blocks`].
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn decode_blocks(input: &[u8], out: &mut Vec<u8>) -> usize {
        // A block stores 32 octets, of which at most 24 are kept: room for
        // 3 per 4 characters and 8 past the last.
        out.reserve(input.len() / 4 * 3 + 8);
        let t = tables();
        let base = input.as_ptr();
        let load = |at: usize| {
            debug_assert!(at + 32 <= input.len());
            // SAFETY: every caller below checks at + 32 <= input.len().
            unsafe { _mm256_loadu_si256(base.add(at).cast::<__m256i>()) }
        };
        let dest = out.as_mut_ptr();
        let store = |at: usize, v: __m256i| {
            // SAFETY: callers store at most 8 octets past the output kept
            // so far (each at what 3 per 4 characters used gives), inside
            // the room reserved above.
            unsafe { _mm256_storeu_si256(dest.add(at).cast::<__m256i>(), v) }
        };
        let mut len = out.len();
        let mut used = 0;
        // Mail's base64 comes in lines of one length: once a line of whole
        // quads (32 characters or more) ended in CRLF, each next line is
        // tried at that length, its blocks at fixed offsets (the last one
        // overlapping), so no load waits for the one before.
        let mut line_len = 0;
        let mut line_start = 0;
        loop {
            if line_len != 0
                && used + line_len + 2 <= input.len()
                && input[used + line_len] == b'\r'
                && input[used + line_len + 1] == b'\n'
            {
                let mut whole = true;
                let mut off = 0;
                while off < line_len {
                    let at = off.min(line_len - 32);
                    let (packed, outside) = decode32(&t, load(used + at));
                    if _mm256_testz_si256(outside, outside) == 0 {
                        whole = false;
                        break;
                    }
                    store(len + at / 4 * 3, packed);
                    off = at + 32;
                }
                if whole {
                    len += line_len / 4 * 3;
                    used += line_len + 2;
                    line_start = used;
                    continue;
                }
            }
            if used + 32 > input.len() {
                break;
            }
            let (packed, outside) = decode32(&t, load(used));
            let zero = _mm256_setzero_si256();
            // One bit per character outside the alphabet.
            let bits = !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(outside, zero)) as u32);
            // The whole quads before the first such character are kept.
            let good = bits.trailing_zeros() as usize;
            let whole = good / 4 * 4;
            store(len, packed);
            len += whole / 4 * 3;
            used += whole;
            if whole == 32 {
                continue;
            }
            if whole != good {
                break;
            }
            // A line break after whole quads is passed over; anything else
            // is left to the portable decoder.
            let this_line = used - line_start;
            match &input[used..] {
                [b'\r', b'\n', ..] => {
                    used += 2;
                    if this_line >= 32 && this_line % 4 == 0 {
                        line_len = this_line;
                    }
                }
                [b'\n', ..] => used += 1,
                _ => break,
            }
            line_start = used;
        }
        // SAFETY: the octets up to `len` were all written above.
        unsafe { out.set_len(len) };
        used
    }
}

#[cfg(test)]
mod tests {
    use super::{decode_blocks, name_len, newline_mask, plain_ascii, scan_value, utf8_string};
    use proptest::prelude::*;

    /// Octets drawn mostly from the ones the scans look for.
    fn octets(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                4 => b'a'..=b'z',
                1 => Just(b'='),
                1 => Just(b'\r'),
                1 => Just(b'\n'),
                1 => Just(b' '),
                1 => any::<u8>(),
            ],
            0..max,
        )
    }

    proptest! {
        #[test]
        fn plain_ascii_is_ascii_without_breaks_or_equals(v in octets(80)) {
            let plain = v.iter().all(|&b| b.is_ascii() && !matches!(b, b'=' | b'\r' | b'\n'));
            prop_assert_eq!(plain_ascii(&v), plain.then(|| std::str::from_utf8(&v).unwrap()));
        }

        #[test]
        fn name_len_stops_at_the_first_octet_a_name_cannot_hold(
            mut v in octets(40),
            name in "[!-9;-~]{0,40}",
        ) {
            v.splice(0..0, name.bytes());
            let expected = v
                .iter()
                .position(|&b| !(33..=126).contains(&b) || b == b':')
                .unwrap_or(v.len());
            prop_assert_eq!(name_len(&v), expected);
        }

        #[test]
        fn scan_value_finds_breaks_words_and_other_octets(
            v in proptest::collection::vec(
                prop_oneof![4 => b'a'..=b'z', 1 => Just(b'='), 1 => Just(b'?'), 1 => Just(b'\r'),
                    1 => Just(b'\n'), 1 => any::<u8>()],
                0..100,
            )
        ) {
            let scan = scan_value(&v);
            let has_word = v.windows(2).any(|w| w == b"=?");
            prop_assert_eq!(scan.has_word, has_word);
            if !has_word {
                prop_assert_eq!(scan.first_break, v.iter().position(|&b| b == b'\r' || b == b'\n'));
                prop_assert_eq!(scan.ascii, v.is_ascii().then(|| std::str::from_utf8(&v).unwrap()));
            }
        }

        #[test]
        fn newline_mask_marks_every_line_feed(v in octets(64)) {
            let mut block = [b'x'; 64];
            block[..v.len()].copy_from_slice(&v);
            let expected = (0..64).fold(0u64, |m, i| m | (u64::from(block[i] == b'\n') << i));
            prop_assert_eq!(newline_mask(&block), expected);
        }
    }

    #[test]
    fn utf8_text_is_kept_and_anything_else_given_back_as_std_reads_it() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pieces: [&[u8]; 8] = [
            b"plain ",
            "café ".as_bytes(),
            "привет ".as_bytes(),
            "漢字".as_bytes(),
            "😀".as_bytes(),
            b"\xC3",
            b"\xFF",
            b"\xE2\x9C",
        ];
        for _ in 0..2000 {
            let mut bytes = Vec::new();
            for _ in 0..next() % 40 {
                bytes.extend_from_slice(
                    pieces[(next() % 5 + u64::from(next() % 16 == 0) * 3) as usize % 8],
                );
            }
            let expected = String::from_utf8(bytes.clone()).map_err(|e| e.into_bytes());
            assert_eq!(utf8_string(bytes), expected);
        }
    }

    fn has_avx2() -> bool {
        #[cfg(target_arch = "x86_64")]
        return std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    #[test]
    fn decodes_whole_blocks_and_stops_at_the_first_other_character() {
        let text =
            b"TWFueSBoYW5kcyBtYWtlIGxpZ2h0IHdvcmsuIE1hbnkgaGFuZHMgbWFrZSBsaWdodCB3b3JrLiAr/w==";
        let mut out = b"kept".to_vec();
        let used = decode_blocks(text, &mut out);
        if !has_avx2() {
            assert_eq!((used, &out[..]), (0, &b"kept"[..]));
            return;
        }
        assert_eq!(used, 64);
        assert_eq!(
            &out[..],
            &b"keptMany hands make light work. Many hands make ligh"[..]
        );
        // '+', '/' and the last values of each range decode too.
        let mut out = Vec::new();
        assert_eq!(
            decode_blocks(b"+/+/AZaz09zzzzzzzzzzzzzzzzzzzzzz", &mut out),
            32
        );
        let mut portable = Vec::new();
        crate::transfer::decode_base64_portable(b"+/+/AZaz09zzzzzzzzzzzzzzzzzzzzzz", &mut portable);
        assert_eq!(out, portable);
        // A line break after whole quads is passed over; one inside a quad
        // or junk stops the vector path where the portable one goes on.
        for (broken, stop) in [
            ([&text[..40], b"\r\n", &text[40..]].concat(), 74),
            ([&text[..40], b"\n", &text[40..]].concat(), 73),
            ([&text[..42], b"\r\n", &text[42..]].concat(), 40),
            ([&text[..40], b"*", &text[40..]].concat(), 40),
        ] {
            let mut out = Vec::new();
            assert_eq!(decode_blocks(&broken, &mut out), stop);
            let mut portable = Vec::new();
            crate::transfer::decode_base64_portable(&broken[..stop], &mut portable);
            assert_eq!(out, portable);
        }
    }
}
