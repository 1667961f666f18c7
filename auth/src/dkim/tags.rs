//! Tag=value lists (RFC 6376 §3.2) with where each value lies.

use std::ops::Range;

/// The tags of a list: names and value ranges in `text` (whitespace
/// around values excluded). `None` when a tag is malformed or repeated.
pub(crate) fn tag_list(text: &[u8]) -> Option<Vec<(&str, Range<usize>)>> {
    let mut tags: Vec<(&str, Range<usize>)> = Vec::with_capacity(12);
    let mut at = 0;
    while at < text.len() {
        // memchr: `b=` and `p=` are hundreds of octets of base64.
        let end = memchr::memchr(b';', &text[at..]).map_or(text.len(), |p| at + p);
        let item = &text[at..end];
        if item.iter().all(|b| b.is_ascii_whitespace()) {
            at = end + 1;
            continue;
        }
        let eq = item.iter().position(|&b| b == b'=')?;
        let name = trim(&item[..eq]);
        if name.is_empty() || !name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            return None;
        }
        // Letters, digits and `_` only: always UTF-8.
        let name = std::str::from_utf8(name).ok()?;
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
    without_whitespace(v).map(char::from).collect()
}

/// The octets of `v` that are not whitespace.
pub(crate) fn without_whitespace(v: &[u8]) -> impl Iterator<Item = u8> + '_ {
    v.iter().copied().filter(|b| !b.is_ascii_whitespace())
}

/// True when `v` without its whitespace is `want`.
pub(crate) fn is(v: &[u8], want: &str) -> bool {
    without_whitespace(v).eq(want.bytes())
}
