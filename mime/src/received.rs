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
    let text = String::from_utf8_lossy(value);
    let (clauses, date) = match text.rfind(';') {
        Some(semi) => (&text[..semi], parse_date(text[semi + 1..].as_bytes())),
        None => (text.as_ref(), None),
    };
    let mut received = Received {
        date,
        ..Received::default()
    };
    // Words and comments in order.
    let mut items: Vec<(bool, &str)> = Vec::new();
    let mut chars = clauses.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '(' {
            let mut depth = 1;
            let mut end = clauses.len();
            for (j, d) in chars.by_ref() {
                match d {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            items.push((true, &clauses[i + 1..end]));
            continue;
        }
        let mut end = clauses.len();
        while let Some(&(j, d)) = chars.peek() {
            if d.is_whitespace() || d == '(' {
                end = j;
                break;
            }
            chars.next();
        }
        items.push((false, &clauses[i..end]));
    }
    let mut clause = "";
    let mut expect_value = false;
    for (is_comment, item) in &items {
        if *is_comment {
            if clause == "from" {
                let comment = received.from_comment.get_or_insert_with(String::new);
                if !comment.is_empty() {
                    comment.push(' ');
                }
                comment.push_str(item);
            }
            continue;
        }
        if let Some(keyword) = ["from", "by", "via", "with", "id", "for"]
            .into_iter()
            .find(|k| item.eq_ignore_ascii_case(k))
        {
            clause = keyword;
            expect_value = true;
            continue;
        }
        if !expect_value {
            continue;
        }
        expect_value = false;
        let value = item.trim_matches(|c| c == '<' || c == '>').to_owned();
        let slot = match clause {
            "from" => &mut received.from,
            "by" => &mut received.by,
            "via" => &mut received.via,
            "with" => &mut received.with,
            "id" => &mut received.id,
            _ => &mut received.for_address,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
    let from_words = [received.from.as_deref(), received.from_comment.as_deref()];
    received.from_ip = from_words.iter().flatten().find_map(|w| first_ip(w));
    received.helo = received.from_comment.as_deref().and_then(helo_name);
    received
}

/// The first IP address in `text`, bracketed (`[192.0.2.1]`, `[IPv6:2001:db8::1]`) or bare.
fn first_ip(text: &str) -> Option<IpAddr> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | '(' | ')' | ',' | '='))
        .map(|w| {
            w.strip_prefix("IPv6:")
                .or_else(|| w.strip_prefix("ipv6:"))
                .unwrap_or(w)
        })
        .filter(|w| {
            w.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_hexdigit() || b == b':')
        })
        .find_map(|w| w.parse().ok())
}

/// `helo NAME` or `HELO=NAME` inside the from comment.
fn helo_name(comment: &str) -> Option<String> {
    let at = comment
        .as_bytes()
        .windows(4)
        .position(|w| w.eq_ignore_ascii_case(b"helo") || w.eq_ignore_ascii_case(b"ehlo"))?;
    let rest = comment[at + 4..].trim_start_matches([' ', '=', ':']);
    let name: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ')' | ']' | '[' | ','))
        .collect();
    (!name.is_empty()).then_some(name)
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
