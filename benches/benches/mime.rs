//! sansmail-mime beside mail-parser 0.11 and mailparse 0.18 on the corpus
//! tiers (small, mixed, large): (a) structure only, (b) decoded, the same
//! work in each: every header field of every part decoded as text (From
//! and To as addresses, Date parsed instead), every leaf body decoded,
//! text bodies to UTF-8, enclosed messages followed; and base64 decoding
//! beside the base64 crate, both into kept buffers.
//!
//! The corpus is found as the tests find it (`scripts/mime_corpus.py`);
//! the large tier also needs `python3 gen_large.py` run in it once.
#![allow(missing_docs)] // criterion_group! makes an undocumented function

use std::hint::black_box;

use base64::Engine;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sansmail_benches::tier;
use sansmail_mime::{Body, Message};

/// Structure: the part tree with header fields split, nothing decoded.
fn ours_structure(raw: &[u8]) -> usize {
    let m = Message::parse(raw);
    m.leaves().len()
}

/// The header fields each parser reads as something other than text: the
/// structure's own (Content-*), From and To as addresses, Date as a date.
fn typed_field(name: &[u8]) -> bool {
    [
        "content-type",
        "content-disposition",
        "content-id",
        "from",
        "to",
        "date",
    ]
    .iter()
    .any(|n| name.eq_ignore_ascii_case(n.as_bytes()))
}

/// Decoded, the same work in every parser: every header field of every
/// part (enclosed messages followed) decoded as text, From and To as
/// addresses, Date parsed, every leaf body decoded, text bodies to UTF-8.
fn ours_everything(raw: &[u8]) -> usize {
    let m = Message::parse(raw);
    let mut n = 0;
    m.for_each_part(|part, _| {
        let h = &part.header;
        for field in &h.fields {
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

fn mail_parser_structure(raw: &[u8]) -> usize {
    // mail-parser has no structure-only mode: with no header parsers set it
    // still decodes bodies, so this is its least work.
    mail_parser::MessageParser::new()
        .parse(raw)
        .map_or(0, |m| m.parts.len())
}

fn mail_parser_everything(raw: &[u8]) -> usize {
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

fn mailparse_structure(raw: &[u8]) -> usize {
    mailparse::parse_mail(raw).map_or(0, |m| m.subparts.len())
}

fn mailparse_everything(raw: &[u8]) -> usize {
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

fn parsers(c: &mut Criterion) {
    for name in ["T1-small", "T2-mixed", "T3-large"] {
        let messages = tier(name);
        let bytes: usize = messages.iter().map(Vec::len).sum();
        // A message a peer refuses costs it nothing: say how many, so the
        // figures can be read (ours reads every message).
        let refused_by_mail_parser = messages
            .iter()
            .filter(|m| mail_parser::MessageParser::new().parse(m).is_none())
            .count();
        let refused_by_mailparse = messages
            .iter()
            .filter(|m| mailparse::parse_mail(m).is_err())
            .count();
        eprintln!(
            "{name}: {} messages, {bytes} bytes; refused by mail-parser {refused_by_mail_parser}, by mailparse {refused_by_mailparse}",
            messages.len()
        );
        let mut group = c.benchmark_group(format!("mime/{name}"));
        group.throughput(Throughput::Bytes(bytes as u64));
        group.sample_size(20);
        type Run = fn(&[u8]) -> usize;
        let runs: [(&str, Run); 6] = [
            ("structure/sansmail", ours_structure),
            ("structure/mail-parser", mail_parser_structure),
            ("structure/mailparse", mailparse_structure),
            ("decoded/sansmail", ours_everything),
            ("decoded/mail-parser", mail_parser_everything),
            ("decoded/mailparse", mailparse_everything),
        ];
        for (label, run) in runs {
            group.bench_function(BenchmarkId::from_parameter(label), |b| {
                b.iter(|| messages.iter().map(|m| run(black_box(m))).sum::<usize>())
            });
        }
        group.finish();
    }
}

fn base64_decoding(c: &mut Criterion) {
    // 8 MiB of pseudo-random bytes, encoded in 76-character CRLF lines as mail has them.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..8 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let mut encoded = Vec::new();
    sansmail_mime::transfer::encode_base64(&data, &mut encoded);
    let mut group = c.benchmark_group("mime/base64-decode");
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    group.sample_size(20);
    // Both decode into an output buffer kept from one run to the next; the
    // base64 crate needs the line breaks out first, into a kept buffer too.
    let mut out = Vec::with_capacity(data.len());
    let mut joined = Vec::with_capacity(encoded.len());
    let mut peer_out = Vec::with_capacity(data.len());
    sansmail_mime::transfer::decode_base64(&encoded, &mut out);
    joined.extend(
        encoded
            .iter()
            .copied()
            .filter(|&c| c != b'\r' && c != b'\n'),
    );
    base64::engine::general_purpose::STANDARD
        .decode_vec(&joined, &mut peer_out)
        .unwrap();
    assert!(out == data && peer_out == data);
    group.bench_function("sansmail", |b| {
        b.iter(|| {
            out.clear();
            sansmail_mime::transfer::decode_base64(black_box(&encoded), &mut out);
            out.len()
        })
    });
    group.bench_function("base64-crate (lines stripped first)", |b| {
        b.iter(|| {
            joined.clear();
            joined.extend(
                black_box(&encoded)
                    .iter()
                    .copied()
                    .filter(|&c| c != b'\r' && c != b'\n'),
            );
            peer_out.clear();
            base64::engine::general_purpose::STANDARD
                .decode_vec(&joined, &mut peer_out)
                .expect("valid base64");
            peer_out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, parsers, base64_decoding);
criterion_main!(benches);
