//! Peak heap while reading each corpus message with everything decoded,
//! against the target "input plus decoded output"; the same for
//! mail-parser 0.11 and mailparse 0.18; and the incremental parser's peak
//! on the large tier. Prints a table; run with
//! `cargo bench -p sansmail-benches --bench mime_memory`.

use std::borrow::Cow;

use peak_alloc::PeakAlloc;
use sansmail_benches::{tier, typed_field};
use sansmail_mime::stream::StreamParser;
use sansmail_mime::{Body, Message};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// The heap `work` needs at its peak beyond what was allocated before it.
fn peak_of<T>(work: impl FnOnce() -> T) -> (usize, T) {
    let before = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let kept = work();
    (HEAP.peak_usage().saturating_sub(before), kept)
}

/// The part tree alone.
fn ours_structure(raw: &[u8]) -> usize {
    Message::parse(raw).leaves().len()
}

/// The decoded benchmark's work (`benches/mime.rs`): every header field of
/// every part decoded as text, From and To as addresses, Date parsed (read
/// and dropped: their peak counts, they are not output), and every leaf
/// body decoded, text to UTF-8, all kept (the decoded output).
fn ours(raw: &[u8]) -> usize {
    let m = Message::parse(raw);
    let mut decoded: Vec<Cow<'_, [u8]>> = Vec::new();
    let mut texts = Vec::new();
    m.for_each_part(|part, _| {
        let h = &part.header;
        for field in h.fields() {
            if !typed_field(field.name) {
                std::hint::black_box(field.text());
            }
        }
        std::hint::black_box((h.addresses("from"), h.addresses("to"), h.date()));
        if matches!(part.body, Body::Leaf) {
            if part.is_text() {
                texts.push(m.body_text(part).text.into_owned());
            } else {
                decoded.push(m.decoded_body(part).0);
            }
        }
    });
    decoded.iter().map(|d| d.len()).sum::<usize>() + texts.iter().map(String::len).sum::<usize>()
}

/// mail-parser set up as in the decoded benchmark: it decodes bodies and
/// headers while it parses and keeps them all.
fn mail_parser(raw: &[u8]) -> usize {
    use mail_parser::HeaderName;
    mail_parser::MessageParser::new()
        .with_mime_headers()
        .header_address(HeaderName::From)
        .header_address(HeaderName::To)
        .header_date(HeaderName::Date)
        .default_header_text()
        .parse(raw)
        .map_or(0, |m| m.parts.len())
}

/// mailparse doing the decoded benchmark's work: header texts, From, To and
/// Date read and dropped, leaf bodies decoded (text to UTF-8) and kept.
fn mailparse(raw: &[u8]) -> usize {
    let Ok(m) = mailparse::parse_mail(raw) else {
        return 0;
    };
    fn walk(p: &mailparse::ParsedMail<'_>, kept: &mut Vec<Vec<u8>>) {
        use mailparse::MailHeaderMap;
        for h in &p.headers {
            if !typed_field(h.get_key_ref().as_bytes()) {
                std::hint::black_box(h.get_value());
            }
        }
        for name in ["From", "To"] {
            if let Some(h) = p.headers.get_first_header(name) {
                std::hint::black_box(mailparse::addrparse_header(h).ok());
            }
        }
        if let Some(d) = p.headers.get_first_value("Date") {
            std::hint::black_box(mailparse::dateparse(&d).ok());
        }
        if p.subparts.is_empty() {
            if p.ctype.mimetype.eq_ignore_ascii_case("message/rfc822") {
                // An enclosed message, followed as the other parsers do.
                if let Ok(raw) = p.get_body_raw()
                    && let Ok(inner) = mailparse::parse_mail(&raw)
                {
                    walk(&inner, kept);
                }
            } else if p.ctype.mimetype.starts_with("text/") {
                kept.push(p.get_body().unwrap_or_default().into_bytes());
            } else {
                kept.push(p.get_body_raw().unwrap_or_default());
            }
        }
        for s in &p.subparts {
            walk(s, kept);
        }
    }
    let mut kept = Vec::new();
    walk(&m, &mut kept);
    kept.len()
}

fn main() {
    // Criterion's arguments are not ours.
    println!(
        "{:10} {:>12} {:>12} | peak heap beyond the input, total (and the worst message as a share of its input + decoded output)",
        "tier", "input", "decoded"
    );
    for name in ["T1-small", "T2-mixed", "T3-large"] {
        let messages = tier(name);
        if messages.is_empty() {
            println!("{name}: no messages (run gen_large.py in the corpus)");
            continue;
        }
        let (mut input, mut output) = (0, 0);
        let mut totals = [0usize; 3];
        let mut structure = 0;
        let mut worst = [0f64; 3];
        for raw in &messages {
            let (peak, decoded) = peak_of(|| ours(raw));
            structure += peak_of(|| ours_structure(raw)).0;
            input += raw.len();
            output += decoded;
            let bound = (raw.len() + decoded) as f64;
            let runs = [
                peak,
                peak_of(|| mail_parser(raw)).0,
                peak_of(|| mailparse(raw)).0,
            ];
            for (i, peak) in runs.into_iter().enumerate() {
                totals[i] += peak;
                worst[i] = worst[i].max(peak as f64 / bound);
            }
        }
        println!(
            "{name:10} {input:>12} {output:>12} | sansmail {} ({:.2}; the part tree alone {structure}), mail-parser {} ({:.2}), mailparse {} ({:.2})",
            totals[0], worst[0], totals[1], worst[1], totals[2], worst[2]
        );
    }
    let large = tier("T3-large");
    let mut most = 0;
    let (peak, ()) = peak_of(|| {
        for raw in &large {
            let mut parser = StreamParser::default();
            for chunk in raw.chunks(64 * 1024) {
                parser.feed(chunk, |_| {});
                most = most.max(parser.held());
            }
            parser.finish(|_| {});
        }
    });
    println!(
        "T3-large streamed in 64 KiB chunks: at most {most} octets held, peak heap {peak} beyond the input"
    );
}
