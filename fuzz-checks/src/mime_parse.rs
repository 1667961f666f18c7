//! Message structure on arbitrary bytes: no panic, every range inside the
//! input and in order, sections for every leaf; decoding, typed headers,
//! the body view and the defect scan never panic either; the vector base64
//! decoder gives what the portable one gives.

use sansmail_mime::transfer::{decode_base64, decode_base64_portable};
use sansmail_mime::{Body, Limits, Message, Part};

/// True when `part` is or holds a multipart without parts (no leaf).
fn holds_an_empty_multipart(part: &Part<'_>) -> bool {
    match &part.body {
        Body::Leaf => false,
        Body::Multipart { parts, .. } => {
            parts.is_empty() || parts.iter().any(holds_an_empty_multipart)
        }
        Body::Message(inner) => holds_an_empty_multipart(inner),
    }
}

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let limits = Limits {
        max_depth: 8,
        max_parts: 50,
        max_header_len: 4096,
    };
    let m = Message::parse_with(data, limits);
    let leaves = m.leaves();
    assert!(!leaves.is_empty() || holds_an_empty_multipart(&m.root));
    for (section, part) in leaves {
        assert!(!section.is_empty());
        assert!(part.header_range.start <= part.header_range.end);
        assert!(part.header_range.end <= part.body_range.start);
        assert!(part.body_range.start <= part.body_range.end);
        assert!(part.body_range.end <= data.len());
        // Fields lie inside their header, in order, and name what they hold.
        let mut at = part.header_range.start;
        for field in part.header.fields() {
            assert!(at <= field.range.start && field.range.start < field.range.end);
            assert!(field.range.end <= part.header_range.end);
            at = field.range.end;
            let raw = &data[field.range.clone()];
            assert!(raw.starts_with(field.name));
            assert!(field.raw_value.len() < raw.len());
            let _ = field.value();
            let _ = field.text();
        }
        let _ = m.decoded_body(part);
        let _ = m.body_text(part);
        let _ = part.filename();
    }
    // Typed header access never panics.
    let h = &m.root.header;
    let _ = (
        h.addresses("from"),
        h.date(),
        h.ids("references"),
        h.received(),
        h.list_id(),
    );
    let _ = m.body_view();
    for d in m.all_defects() {
        assert!(d.offset <= data.len());
    }
    let (mut wide, mut portable) = (Vec::new(), Vec::new());
    assert_eq!(
        decode_base64(data, &mut wide),
        decode_base64_portable(data, &mut portable)
    );
    assert_eq!(wide, portable);
}
