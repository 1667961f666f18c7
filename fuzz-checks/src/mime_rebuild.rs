//! Parse -> build -> parse: a message rebuilt from what the parser read
//! (subject, leaf types, file names, decoded bodies) parses back to the same.

use sansmail_mime::builder::{Entity, MessageBuilder};
use sansmail_mime::{Limits, Message};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let limits = Limits {
        max_depth: 8,
        max_parts: 50,
        max_header_len: 4096,
    };
    let first = Message::parse_with(data, limits);
    let leaves: Vec<(String, Vec<u8>, Option<String>)> = first
        .leaves()
        .into_iter()
        .map(|(_, p)| {
            let media = format!("{}/{}", p.content_type.kind, p.content_type.subtype);
            (media, first.decoded_body(p).0.into_owned(), p.filename())
        })
        .collect();
    let parts: Vec<Entity<'_>> = leaves
        .iter()
        .map(|(media, body, name)| {
            let media = if media.starts_with("multipart/") || media.starts_with("message/") {
                "application/octet-stream"
            } else {
                media.as_str()
            };
            let media = if media.starts_with("text/") {
                "application/octet-stream"
            } else {
                media
            };
            match name {
                Some(name) => Entity::attachment(media, name, body.as_slice()),
                None => Entity::bytes(media, body.as_slice()),
            }
        })
        .collect();
    let mut builder = MessageBuilder::new(Entity::mixed(parts));
    let subject = first.subject();
    if let Some(subject) = &subject {
        builder = builder.subject(subject);
    }
    let raw = builder.to_vec(7);
    let second = Message::parse(&raw);
    assert!(second.defects.is_empty(), "{:?}", second.defects);
    let again = second.leaves();
    assert_eq!(again.len(), leaves.len());
    for ((_, part), (_, body, name)) in again.iter().zip(&leaves) {
        assert_eq!(&second.decoded_body(part).0.into_owned(), body);
        assert_eq!(&part.filename(), name);
    }
    if let Some(subject) = subject {
        let expected: String = subject.trim_start().to_owned();
        let got = second.subject().unwrap_or_default();
        assert_eq!(
            got.split_whitespace().collect::<Vec<_>>(),
            expected.split_whitespace().collect::<Vec<_>>()
        );
    }
}
