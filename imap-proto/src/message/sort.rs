//! SORT (RFC 5256 §3) and the base subject of §2.1.

use std::cmp::Ordering;
use std::num::NonZeroU32;

use sansmail_mime::Message;

use super::Metadata;
use crate::types::{SortCriterion, SortKey};

/// Collapses runs of whitespace (tabs, folds) to one space.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    if space {
        out.push(' ');
    }
    out
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// `subj-blob`: `[...]` and the spaces after it; its length.
fn blob_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix('[')?;
    let close = rest.find(['[', ']'])?;
    if rest.as_bytes()[close] != b']' {
        return None;
    }
    let mut end = 1 + close + 1;
    end += s[end..].len() - s[end..].trim_start_matches(' ').len();
    Some(end)
}

/// `subj-leader`: `*subj-blob subj-refwd`, or leading spaces; its length.
fn leader_len(s: &str) -> Option<usize> {
    if s.starts_with(' ') {
        return Some(s.len() - s.trim_start_matches(' ').len());
    }
    let mut i = 0;
    while let Some(n) = blob_len(&s[i..]) {
        i += n;
    }
    let rest = &s[i..];
    let word = ["re", "fwd", "fw"]
        .into_iter()
        .find(|w| starts_with_ci(rest, w))?;
    let mut j = i + word.len();
    j += s[j..].len() - s[j..].trim_start_matches(' ').len();
    if let Some(n) = blob_len(&s[j..]) {
        j += n;
    }
    s[j..].starts_with(':').then_some(j + 1)
}

/// The base subject (RFC 5256 §2.1), and whether anything marking a reply
/// or forward was removed on the way.
pub(crate) fn base_subject_marked(subject: &str) -> (String, bool) {
    let mut s = collapse(subject);
    let mut marked = false;
    loop {
        // (2) trailing "(fwd)" and spaces.
        loop {
            let trimmed = s.trim_end_matches(' ');
            if trimmed.len() >= 5 && trimmed[trimmed.len() - 5..].eq_ignore_ascii_case("(fwd)") {
                s = trimmed[..trimmed.len() - 5].to_string();
                marked = true;
            } else {
                if trimmed.len() != s.len() {
                    s.truncate(trimmed.len());
                }
                break;
            }
        }
        // (3)-(5) leaders and blobs.
        loop {
            let before = s.len();
            if let Some(n) = leader_len(&s) {
                marked |= !s.starts_with(' ');
                s.drain(..n);
            }
            if let Some(n) = blob_len(&s).filter(|&n| n < s.len()) {
                s.drain(..n);
            }
            if s.len() == before {
                break;
            }
        }
        // (6) "[fwd: ... ]".
        if starts_with_ci(&s, "[fwd:") && s.ends_with(']') {
            s = s[5..s.len() - 1].to_string();
            marked = true;
            continue;
        }
        return (s, marked);
    }
}

/// The base subject (RFC 5256 §2.1): encoded words decoded, whitespace
/// collapsed, `Re:`, `Fwd:`, `[list]` tags and `(fwd)` removed.
pub fn base_subject(subject: &str) -> String {
    base_subject_marked(subject).0
}

/// A message's base subject, from its decoded Subject.
pub(crate) fn message_base_subject(message: &Message<'_>) -> (String, bool) {
    base_subject_marked(&message.subject().unwrap_or_default())
}

/// Sent date in seconds (the Date field), else the internal date.
pub(crate) fn sent_time(message: &Message<'_>, meta: &Metadata) -> i64 {
    message
        .root
        .header
        .date()
        .map(|d| d.unix_time())
        .or_else(|| meta.internal_date.map(|d| d.unix()))
        .unwrap_or(0)
}

/// The local part of a field's first address, uppercased for i;ascii-casemap.
/// The addr-mailbox of a field's first address as ENVELOPE lists it
/// (RFC 5256 §3): a mailbox's local part, or a group's name (the group's
/// first ENVELOPE entry carries it as its mailbox).
fn first_mailbox(message: &Message<'_>, field: &str) -> String {
    let first = message
        .root
        .header
        .addresses(field)
        .and_then(|list| list.addresses.into_iter().next());
    match first {
        Some(sansmail_mime::Address::Mailbox(m)) => m
            .address
            .split('@')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase(),
        Some(sansmail_mime::Address::Group { name, .. }) => name.to_ascii_uppercase(),
        None => String::new(),
    }
}

/// Sorts messages by the criteria; ties go by message number. Each item is
/// (message number, parsed message, metadata); the result is their UIDs.
pub fn sort(
    criteria: &[SortCriterion],
    items: &[(NonZeroU32, &Message<'_>, &Metadata)],
) -> Vec<NonZeroU32> {
    // Compute each key once.
    enum K {
        N(i64),
        S(String),
    }
    let keys: Vec<Vec<K>> = items
        .iter()
        .map(|(_, m, meta)| {
            criteria
                .iter()
                .map(|c| match c.key {
                    SortKey::Arrival => K::N(meta.internal_date.map_or(0, |d| d.unix())),
                    SortKey::Date => K::N(sent_time(m, meta)),
                    SortKey::Size => K::N(meta.size as i64),
                    SortKey::Cc => K::S(first_mailbox(m, "cc")),
                    SortKey::From => K::S(first_mailbox(m, "from")),
                    SortKey::To => K::S(first_mailbox(m, "to")),
                    SortKey::Subject => K::S(message_base_subject(m).0.to_ascii_uppercase()),
                })
                .collect()
        })
        .collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        for (i, c) in criteria.iter().enumerate() {
            let o = match (&keys[a][i], &keys[b][i]) {
                (K::N(x), K::N(y)) => x.cmp(y),
                (K::S(x), K::S(y)) => x.cmp(y),
                _ => Ordering::Equal,
            };
            let o = if c.reverse { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        items[a].0.cmp(&items[b].0)
    });
    order.into_iter().map(|i| items[i].2.uid).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_subjects() {
        for (subject, base) in [
            ("Re: hello", "hello"),
            ("RE:  Re: hello", "hello"),
            ("Fwd: hello (fwd)", "hello"),
            ("[list] Re: [other] hello", "hello"),
            ("[fwd: Re: hello]", "hello"),
            ("Re [x]: hello", "hello"),
            ("[only]", "[only]"),
            ("  lots   of\t space  ", "lots of space"),
            ("Re:", ""),
            ("Ref: not a reply", "Ref: not a reply"),
        ] {
            assert_eq!(base_subject(subject), base, "{subject:?}");
        }
        assert!(base_subject_marked("Re: x").1 && !base_subject_marked("x").1);
    }
}
