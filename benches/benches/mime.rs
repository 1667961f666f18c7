//! sansmail-mime beside mail-parser 0.11 and mailparse 0.18 on the corpus
//! tiers (small, mixed, large): (a) structure only, (b) everything decoded
//! (all headers typed, all bodies decoded to bytes and text); and base64
//! decoding beside the base64 crate.
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

/// Everything: typed headers of every message header, every body decoded,
/// text bodies to UTF-8.
fn ours_everything(raw: &[u8]) -> usize {
    let m = Message::parse(raw);
    let mut n = 0;
    m.for_each_part(|part, is_message| {
        if is_message {
            let h = &part.header;
            for name in ["from", "to", "cc", "reply-to"] {
                n += h.addresses(name).map_or(0, |l| l.addresses.len());
            }
            n += h.date().is_some() as usize;
            n += h.text("subject").map_or(0, |s| s.len());
            n += h.ids("message-id").len() + h.ids("references").len() + h.ids("in-reply-to").len();
            n += h.received().len();
        }
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
    let Some(m) = mail_parser::MessageParser::default().parse(raw) else {
        return 0;
    };
    let mut n = 0;
    for part in &m.parts {
        n += part.headers.len();
        n += match &part.body {
            mail_parser::PartType::Text(t) | mail_parser::PartType::Html(t) => t.len(),
            mail_parser::PartType::Binary(b) | mail_parser::PartType::InlineBinary(b) => b.len(),
            _ => 0,
        };
    }
    n
}

fn mailparse_structure(raw: &[u8]) -> usize {
    mailparse::parse_mail(raw).map_or(0, |m| m.subparts.len())
}

fn mailparse_everything(raw: &[u8]) -> usize {
    let Ok(m) = mailparse::parse_mail(raw) else {
        return 0;
    };
    fn walk(p: &mailparse::ParsedMail<'_>, n: &mut usize) {
        use mailparse::MailHeaderMap;
        for name in ["From", "To", "Cc", "Reply-To"] {
            if let Some(h) = p.headers.get_first_header(name) {
                *n += mailparse::addrparse_header(h).map_or(0, |l| l.len());
            }
        }
        if let Some(d) = p.headers.get_first_value("Date") {
            *n += mailparse::dateparse(&d).is_ok() as usize;
        }
        for name in ["Subject", "Message-ID", "References", "In-Reply-To"] {
            *n += p.headers.get_first_value(name).map_or(0, |v| v.len());
        }
        *n += p.headers.get_all_values("Received").len();
        if p.subparts.is_empty() {
            if p.ctype.mimetype.starts_with("text/") {
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
    let mut out = Vec::with_capacity(data.len());
    group.bench_function("sansmail", |b| {
        b.iter(|| {
            out.clear();
            sansmail_mime::transfer::decode_base64(black_box(&encoded), &mut out);
            out.len()
        })
    });
    group.bench_function("base64-crate (lines stripped first)", |b| {
        b.iter(|| {
            let joined: Vec<u8> = black_box(&encoded)
                .iter()
                .copied()
                .filter(|&c| c != b'\r' && c != b'\n')
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(joined)
                .map_or(0, |v| v.len())
        })
    });
    group.finish();
}

criterion_group!(benches, parsers, base64_decoding);
criterion_main!(benches);
