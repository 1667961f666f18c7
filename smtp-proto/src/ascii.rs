//! The crate's one `unsafe` spot (DESIGN.md §8: a measured hot path).
//! Reply texts are ASCII nearly always; a word-at-a-time ASCII check
//! costs a fraction of UTF-8 validation on them (callgrind: about 120
//! instructions of an 813-instruction reply went to `str::from_utf8`).
//! (The short values of a command gain nothing from it: measured.)
#![allow(unsafe_code)]

/// `bytes` as text: checked as ASCII first, as UTF-8 only when that fails.
#[inline]
pub(crate) fn as_str(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        /// Whatever the bytes, the answer is `str::from_utf8`'s.
        #[test]
        fn agrees_with_from_utf8(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            proptest::prop_assert_eq!(super::as_str(&bytes), std::str::from_utf8(&bytes).ok());
        }
    }
}
