//! Base64 decoding 32 characters at a time with AVX2 (the vector lookup
//! and packing of Muła and Lemire, "Faster Base64 Encoding and Decoding
//! Using AVX2 Instructions", 2018). The one unsafe module of the crate
//! (DESIGN.md §8: a measured hot path, the body decoding that dominates
//! large messages); `transfer`'s proptests check it against the portable
//! decoder, and the `mime_parse` fuzz target runs it.
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

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Both 128-bit halves of a 256-bit vector set to `half`.
    #[target_feature(enable = "avx2")]
    fn twice(half: [i8; 16]) -> __m256i {
        let [
            a0,
            a1,
            a2,
            a3,
            a4,
            a5,
            a6,
            a7,
            a8,
            a9,
            a10,
            a11,
            a12,
            a13,
            a14,
            a15,
        ] = half;
        _mm256_setr_epi8(
            a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a0, a1, a2, a3,
            a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15,
        )
    }

    /// See [`super::decode_blocks`].
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn decode_blocks(input: &[u8], out: &mut Vec<u8>) -> usize {
        let blocks = input.len() / 32;
        // Each block stores 32 octets of which 24 are kept: 8 of room past the last.
        out.reserve(blocks * 24 + 8);
        // Bit flags of the characters by low nibble and by high nibble:
        // a character is in the alphabet when its two flags share no bit.
        let lut_lo = twice([
            0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B,
            0x1B, 0x1A,
        ]);
        let lut_hi = twice([
            0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
            0x10, 0x10,
        ]);
        // What to add to a character, by high nibble ('/' gets its own entry).
        let lut_roll = twice([0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0]);
        // The three octets of each 32-bit lane, high first, then the lanes together.
        let order = twice([2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1]);
        let lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
        let nibble = _mm256_set1_epi8(0x0F);
        let slash = _mm256_set1_epi8(b'/' as i8);
        let pairs = _mm256_set1_epi32(0x0140_0140);
        let quads = _mm256_set1_epi32(0x0001_1000);
        let mut len = out.len();
        let mut used = 0;
        while used < blocks * 32 {
            // SAFETY: used + 32 <= blocks * 32 <= input.len().
            let chars = unsafe { _mm256_loadu_si256(input.as_ptr().add(used).cast::<__m256i>()) };
            let hi_nibbles = _mm256_and_si256(_mm256_srli_epi32(chars, 4), nibble);
            let lo_nibbles = _mm256_and_si256(chars, nibble);
            let lo = _mm256_shuffle_epi8(lut_lo, lo_nibbles);
            let hi = _mm256_shuffle_epi8(lut_hi, hi_nibbles);
            if _mm256_testz_si256(lo, hi) == 0 {
                break;
            }
            let is_slash = _mm256_cmpeq_epi8(chars, slash);
            let roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(is_slash, hi_nibbles));
            let values = _mm256_add_epi8(chars, roll);
            // 6-bit values to 12-bit pairs to 24-bit groups, then packed.
            let merged = _mm256_madd_epi16(_mm256_maddubs_epi16(values, pairs), quads);
            let packed = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(merged, order), lanes);
            // SAFETY: the reserve above left room for 24 octets per block
            // plus 8, so the 32-octet store stays inside the allocation.
            unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(len).cast::<__m256i>(), packed) };
            len += 24;
            used += 32;
        }
        // SAFETY: the octets up to `len` were all written above.
        unsafe { out.set_len(len) };
        used
    }
}

#[cfg(test)]
mod tests {
    use super::decode_blocks;

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
        // A line break in the second block: only the first is taken.
        let mut out = Vec::new();
        let broken = [&text[..40], b"\r\n", &text[40..]].concat();
        assert_eq!(decode_blocks(&broken, &mut out), 32);
        assert_eq!(out.len(), 24);
    }
}
