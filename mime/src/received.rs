//! Received fields (RFC 5321 §4.4): the clauses `from`, `by`, `via`,
//! `with`, `id`, `for` and the date, read leniently since every MTA writes
//! them its own way.

use std::net::IpAddr;

use crate::date::{DateTime, parse_date};

/// One Received field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// The `from` clause's name (as the client introduced itself or was looked up).
    pub from: Option<String>,
    /// The comments after `from` (often `(helo name [address])`).
    pub from_comment: Option<String>,
    /// The client's address: the first bracketed or bare IP in the `from` clause.
    pub from_ip: Option<IpAddr>,
    /// The name given in `HELO`/`EHLO`, when a comment says it.
    pub helo: Option<String>,
    /// The receiving host.
    pub by: Option<String>,
    /// The `via` link.
    pub via: Option<String>,
    /// The protocol (`SMTP`, `ESMTPS`, `LMTP`, ...).
    pub with: Option<String>,
    /// The receiver's queue id.
    pub id: Option<String>,
    /// The recipient (`for <a@b>`), without brackets.
    pub for_address: Option<String>,
    /// The date after the last `;`.
    pub date: Option<DateTime>,
}

/// Reads a Received value; fields it cannot find stay `None`.
pub fn parse_received(value: &[u8]) -> Received {
    let (clauses, date) = match memchr::memrchr(b';', value) {
        Some(semi) => (&value[..semi], parse_date(&value[semi + 1..])),
        None => (value, None),
    };
    let mut received = Received {
        date,
        ..Received::default()
    };
    let mut clause = "";
    let mut expect_value = false;
    for (is_comment, item) in items(clauses) {
        if is_comment {
            if clause == "from" {
                let comment = received.from_comment.get_or_insert_with(String::new);
                if !comment.is_empty() {
                    comment.push(' ');
                }
                comment.push_str(&crate::charset::lossy(item));
            }
            continue;
        }
        if let Some(keyword) = ["from", "by", "via", "with", "id", "for"]
            .into_iter()
            .find(|k| item.eq_ignore_ascii_case(k.as_bytes()))
        {
            clause = keyword;
            expect_value = true;
            continue;
        }
        if !expect_value {
            continue;
        }
        expect_value = false;
        let slot = match clause {
            "from" => &mut received.from,
            "by" => &mut received.by,
            "via" => &mut received.via,
            "with" => &mut received.with,
            "id" => &mut received.id,
            _ => &mut received.for_address,
        };
        if slot.is_none() {
            let start = item.iter().position(|&b| b != b'<').unwrap_or(item.len());
            let end = item
                .iter()
                .rposition(|&b| b != b'>')
                .map_or(start, |e| e + 1);
            *slot = Some(crate::charset::lossy(&item[start..end.max(start)]).into_owned());
        }
    }
    let from_words = [received.from.as_deref(), received.from_comment.as_deref()];
    received.from_ip = from_words.iter().flatten().find_map(|w| first_ip(w));
    received.helo = received.from_comment.as_deref().and_then(helo_name);
    received
}

/// Octets that end a word: ASCII whitespace and `(`.
const ENDS_WORD: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = (i as u8).is_ascii_whitespace() || i == b'(' as usize;
        i += 1;
    }
    table
};

/// The words and comments of `v` in order: (true, text inside the
/// parentheses) for a comment, (false, word) for a word.
fn items(v: &[u8]) -> impl Iterator<Item = (bool, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        at += v[at..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        if at >= v.len() {
            return None;
        }
        let start = at;
        if v[at] == b'(' {
            let mut depth = 0;
            while let Some(n) = memchr::memchr2(b'(', b')', &v[at..]) {
                at += n + 1;
                if v[at - 1] == b'(' {
                    depth += 1;
                    continue;
                }
                depth -= 1;
                if depth == 0 {
                    return Some((true, &v[start + 1..at - 1]));
                }
            }
            at = v.len();
            return Some((true, &v[start + 1..]));
        }
        at = v[at..]
            .iter()
            .position(|&b| ENDS_WORD[usize::from(b)])
            .map_or(v.len(), |n| at + n);
        Some((false, &v[start..at]))
    })
}

/// The first IP address in `text`, bracketed (`[192.0.2.1]`, `[IPv6:2001:db8::1]`) or bare.
fn first_ip(text: &str) -> Option<IpAddr> {
    let separator =
        |c: &u8| c.is_ascii_whitespace() || matches!(c, b'[' | b']' | b'(' | b')' | b',' | b'=');
    text.as_bytes()
        .split(separator)
        .map(|w| match w.get(..5) {
            Some(prefix) if prefix.eq_ignore_ascii_case(b"ipv6:") => &w[5..],
            _ => w,
        })
        // Only words made of address characters are worth parsing.
        .filter(|w| {
            !w.is_empty()
                && w.iter()
                    .all(|&c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        })
        .find_map(|w| std::str::from_utf8(w).ok()?.parse().ok())
}

/// `helo NAME` or `HELO=NAME` inside the from comment.
fn helo_name(comment: &str) -> Option<String> {
    let bytes = comment.as_bytes();
    let at = (0..bytes.len().saturating_sub(3)).find(|&i| {
        matches!(bytes[i] | 0x20, b'h' | b'e')
            && (bytes[i..i + 4].eq_ignore_ascii_case(b"helo")
                || bytes[i..i + 4].eq_ignore_ascii_case(b"ehlo"))
    })?;
    let rest = comment[at + 4..].trim_start_matches([' ', '=', ':']);
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ')' | ']' | '[' | ','))
        .unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_common_received_fields() {
        let r = parse_received(
            b"from out-25.smtp.github.com (out-25.smtp.github.com. [192.30.252.208]) (using TLSv1.3 with cipher TLS13_AES_256_GCM_SHA384)\r\n\t by mail.stalw.art (Stalwart SMTP) with ESMTPS id 41A2C80D73C\r\n\tfor <jane@example.org>;\r\n\tTue, 29 Aug 2023 16:20:12 +0000",
        );
        assert_eq!(r.from.as_deref(), Some("out-25.smtp.github.com"));
        assert_eq!(r.from_ip, Some("192.30.252.208".parse().unwrap()));
        assert_eq!(r.by.as_deref(), Some("mail.stalw.art"));
        assert_eq!(r.with.as_deref(), Some("ESMTPS"));
        assert_eq!(r.id.as_deref(), Some("41A2C80D73C"));
        assert_eq!(r.for_address.as_deref(), Some("jane@example.org"));
        assert_eq!(r.date.unwrap().unix_time(), 1_693_326_012);
        let r = parse_received(
            b"from client.example (HELO mx.example) ([IPv6:2001:db8::1]) by host; 1 Jan 2024 00:00:00 +0000",
        );
        assert_eq!(r.helo.as_deref(), Some("mx.example"));
        assert_eq!(r.from_ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(parse_received(b"garbage"), Received::default());
    }
}
