//! The crate's one `unsafe` spot (DESIGN.md §8: a measured hot path).
//! Reply texts are ASCII nearly always; a word-at-a-time ASCII check
//! costs a fraction of UTF-8 validation on them (callgrind: about 120
//! instructions of an 813-instruction reply went to `str::from_utf8`).
//! (The short values of a command gain nothing from it: measured.)
#![allow(unsafe_code)]

/// `bytes` as text: checked as ASCII first, as UTF-8 only when that fails.
#[inline]
pub(crate) fn as_str(bytes: &[u8]) -> Option<&str> {
    if is_ascii(bytes) {
        // SAFETY: ASCII is valid UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
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
    proptest::proptest! {
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
