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
use sansmail_mime::Message;

#[path = "work/mime.rs"]
mod work;
use work::{mail_parser_everything, mailparse_everything, ours_everything};

/// Structure: the part tree with header fields split, nothing decoded.
fn ours_structure(raw: &[u8]) -> usize {
    let m = Message::parse(raw);
    m.leaves().len()
}

fn mail_parser_structure(raw: &[u8]) -> usize {
    // mail-parser has no structure-only mode: with no header parsers set it
    // still decodes bodies, so this is its least work.
    mail_parser::MessageParser::new()
        .parse(raw)
        .map_or(0, |m| m.parts.len())
}

fn mailparse_structure(raw: &[u8]) -> usize {
    mailparse::parse_mail(raw).map_or(0, |m| m.subparts.len())
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
