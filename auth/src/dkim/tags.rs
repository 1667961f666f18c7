//! Tag=value lists (RFC 6376 §3.2) with where each value lies.

use std::ops::Range;

/// The tags of a list: names and value ranges in `text` (whitespace
/// around values excluded). `None` when a tag is malformed or repeated.
pub(crate) fn tag_list(text: &[u8]) -> Option<Vec<(String, Range<usize>)>> {
    let mut tags: Vec<(String, Range<usize>)> = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let end = text[at..]
            .iter()
            .position(|&b| b == b';')
            .map_or(text.len(), |p| at + p);
        let item = &text[at..end];
        if item.iter().all(|b| b.is_ascii_whitespace()) {
            at = end + 1;
            continue;
        }
        let eq = item.iter().position(|&b| b == b'=')?;
        let name = String::from_utf8(trim(&item[..eq]).to_vec()).ok()?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        if tags.iter().any(|(n, _)| *n == name) {
            return None;
        }
        let v = &item[eq + 1..];
        let lead = v.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let value_len = trim(v).len();
        let start = at + eq + 1 + lead;
        tags.push((name, start..start + value_len));
        at = end + 1;
    }
    Some(tags)
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end]
}

/// A value without any whitespace (base64 of `b=` and `bh=`, folded `h=`).
pub(crate) fn compact(v: &[u8]) -> String {
    v.iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|&b| b as char)
        .collect()
}
