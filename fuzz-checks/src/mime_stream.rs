//! The incremental parser against the whole-message parser: the first
//! octets choose chunk sizes, the rest is the message; the outline, the
//! defects and every body octet must be the same.

use sansmail_mime::Limits;
use sansmail_mime::stream::compare_with_whole;

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(count % 16).min(rest.len());
    let (sizes, message) = rest.split_at(count);
    let mut cuts = Vec::new();
    let mut at = 0;
    for &size in sizes {
        at += usize::from(size);
        cuts.push(at);
    }
    // Small limits so that fuzzing reaches them.
    let limits = Limits {
        max_depth: 6,
        max_parts: 12,
        max_header_len: 300,
    };
    if let Err(e) = compare_with_whole(message, &cuts, limits) {
        panic!("{e}");
    }
}
