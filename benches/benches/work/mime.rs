//! The decoded benchmark's work, the same in every parser, shared by the
//! criterion benchmark (`mime.rs`) and the callgrind helper
//! (`examples/mime_profile.rs`).

use sansmail_benches::typed_field;
use sansmail_mime::{Body, Message};

/// Decoded, the same work in every parser: every header field of every
/// part (enclosed messages followed) decoded as text, From and To as
/// addresses, Date parsed, every leaf body decoded, text bodies to UTF-8.
pub(crate) fn ours_everything(raw: &[u8]) -> usize {
    let m = Message::parse(raw);
    let mut n = 0;
    m.for_each_part(|part, _| {
        let h = &part.header;
        for field in h.fields() {
            if !typed_field(field.name) {
                n += field.text().len();
            }
        }
        for name in ["from", "to"] {
            n += h.addresses(name).map_or(0, |l| l.mailboxes().count());
        }
        n += h.date().is_some() as usize;
        if matches!(part.body, Body::Leaf) {
            if part.is_text() {
                n += m.body_text(part).text.len();
            } else {
                n += m.decoded_body(part).0.len();
            }
        }
    });
    n
}

pub(crate) fn mail_parser_everything(raw: &[u8]) -> usize {
    use mail_parser::{HeaderName, HeaderValue, PartType};
    // mail-parser decodes bodies and converts text while it parses; its
    // header work is chosen to match: MIME fields for the structure, From
    // and To as addresses, Date as a date, every other field as text.
    let parser = mail_parser::MessageParser::new()
        .with_mime_headers()
        .header_address(HeaderName::From)
        .header_address(HeaderName::To)
        .header_date(HeaderName::Date)
        .default_header_text();
    let Some(m) = parser.parse(raw) else {
        return 0; // counted before timing (see `parsers`)
    };
    fn walk(m: &mail_parser::Message<'_>, n: &mut usize) {
        for part in &m.parts {
            for header in &part.headers {
                *n += match &header.value {
                    HeaderValue::Text(t) => t.len(),
                    HeaderValue::TextList(l) => l.iter().map(|t| t.len()).sum(),
                    HeaderValue::Address(a) => a.iter().count(),
                    HeaderValue::DateTime(_) => 1,
                    _ => 0,
                };
            }
            match &part.body {
                PartType::Text(t) | PartType::Html(t) => *n += t.len(),
                PartType::Binary(b) | PartType::InlineBinary(b) => *n += b.len(),
                PartType::Message(inner) => walk(inner, n),
                PartType::Multipart(_) => {}
            }
        }
    }
    let mut n = 0;
    walk(&m, &mut n);
    n
}

pub(crate) fn mailparse_everything(raw: &[u8]) -> usize {
    let Ok(m) = mailparse::parse_mail(raw) else {
        return 0; // counted before timing (see `parsers`)
    };
    fn walk(p: &mailparse::ParsedMail<'_>, n: &mut usize) {
        use mailparse::MailHeaderMap;
        for h in &p.headers {
            if !typed_field(h.get_key_ref().as_bytes()) {
                *n += h.get_value().len();
            }
        }
        for name in ["From", "To"] {
            if let Some(h) = p.headers.get_first_header(name) {
                *n += mailparse::addrparse_header(h).map_or(0, |l| {
                    l.iter()
                        .map(|a| match a {
                            mailparse::MailAddr::Single(_) => 1,
                            mailparse::MailAddr::Group(g) => g.addrs.len(),
                        })
                        .sum()
                });
            }
        }
        if let Some(d) = p.headers.get_first_value("Date") {
            *n += mailparse::dateparse(&d).is_ok() as usize;
        }
        if p.subparts.is_empty() {
            if p.ctype.mimetype.eq_ignore_ascii_case("message/rfc822") {
                // An enclosed message, followed as the other parsers do.
                if let Ok(raw) = p.get_body_raw()
                    && let Ok(inner) = mailparse::parse_mail(&raw)
                {
                    walk(&inner, n);
                }
            } else if p.ctype.mimetype.starts_with("text/") {
                *n += p.get_body().map_or(0, |b| b.len());
            } else {
                *n += p.get_body_raw().map_or(0, |b| b.len());
            }
        }
        for s in &p.subparts {
            walk(s, n);
        }
    }
    let mut n = 0;
    walk(&m, &mut n);
    n
}
