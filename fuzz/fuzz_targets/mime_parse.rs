//! Message structure on arbitrary bytes: no panic, every range inside the
//! input and in order, sections for every leaf; decoding, typed headers,
//! the body view and the defect scan never panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_mime::{Limits, Message};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_depth: 8,
        max_parts: 50,
        max_header_len: 4096,
    };
    let m = Message::parse_with(data, limits);
    let leaves = m.leaves();
    assert!(!leaves.is_empty());
    for (section, part) in leaves {
        assert!(!section.is_empty());
        assert!(part.header_range.start <= part.header_range.end);
        assert!(part.body_range.start <= part.body_range.end);
        assert!(part.body_range.end <= data.len());
        for field in &part.header.fields {
            assert!(field.range.end <= data.len());
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
});
