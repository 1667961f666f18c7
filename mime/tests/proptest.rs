//! Structure round-trips: a part tree written with boundaries parses back
//! to the same tree, the same bodies and the same sections, whatever the line ends.

use proptest::prelude::*;
use sansmail_mime::stream::compare_with_whole;
use sansmail_mime::{Body, Message, Part};

#[derive(Clone, Debug)]
enum Tree {
    Leaf(String),
    Multipart(Vec<Tree>),
    Enclosed(Box<Tree>),
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = "[a-z .]{0,12}( [a-z]{1,5}){0,3}".prop_map(Tree::Leaf);
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Tree::Multipart),
            inner.prop_map(|t| Tree::Enclosed(Box::new(t))),
        ]
    })
}

/// Writes `t` as an entity (header block, blank line, body) with line end
/// `nl`; with `reuse`, every multipart has the same boundary (a nested one
/// keeps its own parts: the innermost open multipart takes a delimiter line).
fn write(t: &Tree, nl: &str, depth: usize, reuse: bool, out: &mut String) {
    match t {
        Tree::Leaf(text) => {
            out.push_str(&format!("Content-Type: text/plain{nl}{nl}{text}"));
        }
        Tree::Multipart(parts) => {
            let b = if reuse {
                "bx".to_string()
            } else {
                format!("b{depth}x")
            };
            out.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"{b}\"{nl}{nl}"
            ));
            for p in parts {
                out.push_str(&format!("--{b}{nl}"));
                write(p, nl, depth + 1, reuse, out);
                out.push_str(nl);
            }
            out.push_str(&format!("--{b}--{nl}"));
        }
        Tree::Enclosed(inner) => {
            out.push_str(&format!("Content-Type: message/rfc822{nl}{nl}"));
            write(inner, nl, depth + 1, reuse, out);
        }
    }
}

/// The leaves' texts and the shape, read back from a parsed part.
fn shape(m: &Message<'_>, p: &Part<'_>) -> String {
    match &p.body {
        Body::Leaf => format!("L({})", String::from_utf8_lossy(m.slice(&p.body_range))),
        Body::Multipart { parts, .. } => {
            let inner: Vec<String> = parts.iter().map(|c| shape(m, c)).collect();
            format!("M[{}]", inner.join(","))
        }
        Body::Message(inner) => format!("E({})", shape(m, inner)),
    }
}

/// The shape `t` must parse back to: the line break before a delimiter
/// belongs to the delimiter, so every leaf reads back exactly.
fn expected(t: &Tree) -> String {
    match t {
        Tree::Leaf(text) => format!("L({text})"),
        Tree::Multipart(parts) => {
            let inner: Vec<String> = parts.iter().map(expected).collect();
            format!("M[{}]", inner.join(","))
        }
        Tree::Enclosed(inner) => format!("E({})", expected(inner)),
    }
}

proptest! {
    #[test]
    fn part_trees_round_trip(t in tree(), crlf in any::<bool>(), reuse in any::<bool>()) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        write(&t, nl, 0, reuse, &mut text);
        let m = Message::parse(text.as_bytes());
        prop_assert_eq!(shape(&m, &m.root), expected(&t));
        prop_assert!(m.defects.is_empty(), "{:?}", m.defects);
    }
}

/// Damage that moves line breaks and delimiters around: (where, what).
fn damage() -> impl Strategy<Value = Vec<(prop::sample::Index, u8)>> {
    proptest::collection::vec((any::<prop::sample::Index>(), 0..6u8), 0..6)
}

fn damaged(text: &str, edits: &[(prop::sample::Index, u8)]) -> Vec<u8> {
    let mut raw = text.as_bytes().to_vec();
    for (at, what) in edits {
        let at = at.index(raw.len() + 1);
        match what {
            0 if at < raw.len() => {
                raw.remove(at);
            }
            1 => raw.insert(at, b'\n'),
            2 => raw.insert(at, b'\r'),
            3 => raw.splice(at..at, *b"--").for_each(drop),
            4 => raw.truncate(at),
            _ => raw.splice(at..at, *b"\r\n\r\n").for_each(drop),
        }
    }
    raw
}

proptest! {
    /// The incremental parser gives what the whole parse gives, wherever the
    /// message is cut into two chunks and when it comes in many.
    #[test]
    fn streaming_is_the_same_at_every_split_point(
        t in tree(),
        crlf in any::<bool>(),
        reuse in any::<bool>(),
        edits in damage(),
        many in proptest::collection::vec(1..40usize, 1..60),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        write(&t, nl, 0, reuse, &mut text);
        let raw = damaged(&text, &edits);
        let limits = sansmail_mime::Limits::default();
        for cut in 0..=raw.len() {
            let result = compare_with_whole(&raw, &[cut], limits);
            prop_assert!(result.is_ok(), "{:?} cut at {}: {}", String::from_utf8_lossy(&raw), cut, result.unwrap_err());
        }
        let cuts: Vec<usize> = many.iter().scan(0, |at, step| { *at += step; Some(*at) }).collect();
        let result = compare_with_whole(&raw, &cuts, limits);
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }
}

proptest! {
    /// The header alone reads as the whole parse reads the root's header,
    /// damaged messages included.
    #[test]
    fn the_top_header_alone_is_the_root_header(
        t in tree(),
        crlf in any::<bool>(),
        edits in damage(),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        write(&t, nl, 0, false, &mut text);
        let raw = damaged(&text, &edits);
        let whole = Message::parse(&raw);
        let (header, body) = sansmail_mime::Header::parse_top(&raw);
        prop_assert_eq!(body, whole.root.body_range.start);
        let names = |h: &sansmail_mime::Header<'_>| -> Vec<(Vec<u8>, std::ops::Range<usize>)> {
            h.fields().map(|f| (f.name.to_vec(), f.range)).collect()
        };
        prop_assert_eq!(names(&header), names(&whole.root.header));
    }
}

mod codecs {
    use proptest::prelude::*;
    use sansmail_mime::transfer::{
        decode_base64, decode_base64_portable, decode_quoted_printable, encode_base64,
        encode_quoted_printable,
    };

    /// Base64 as mail has it, then damaged: runs of the alphabet, line
    /// breaks of both kinds, padding, spaces and junk, at any offset.
    fn base64ish() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            8 => "[A-Za-z0-9+/]{1,80}".prop_map(String::into_bytes),
            2 => Just(b"\r\n".to_vec()),
            1 => Just(b"\n".to_vec()),
            1 => "[= \t\r\n*.\x00\u{e9}-]{1,3}".prop_map(String::into_bytes),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
    }

    /// Quoted-printable decoded the plain way, line by line (RFC 2045
    /// §6.7): trailing blanks dropped, `=` at the end a soft break, a bad
    /// escape kept as `=`, line breaks kept as written.
    fn quoted_printable_by_lines(input: &[u8]) -> (Vec<u8>, bool) {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        let (mut out, mut bad) = (Vec::new(), false);
        let mut rest = input;
        while !rest.is_empty() {
            let (line, eol, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(n) => {
                    let end = if n > 0 && rest[n - 1] == b'\r' {
                        n - 1
                    } else {
                        n
                    };
                    (&rest[..end], &rest[end..=n], &rest[n + 1..])
                }
                None => (rest, &rest[rest.len()..], &rest[rest.len()..]),
            };
            rest = next;
            let keep = line
                .iter()
                .rposition(|b| !matches!(b, b' ' | b'\t'))
                .map_or(0, |e| e + 1);
            let body = &line[..keep];
            let mut soft = false;
            let mut i = 0;
            while i < body.len() {
                if body[i] != b'=' {
                    out.push(body[i]);
                    i += 1;
                } else if i + 1 == body.len() {
                    soft = true;
                    i += 1;
                } else if let (Some(h), Some(l)) =
                    (hex(body[i + 1]), body.get(i + 2).and_then(|&b| hex(b)))
                {
                    out.push(h << 4 | l);
                    i += 3;
                } else {
                    bad = true;
                    out.push(b'=');
                    i += 1;
                }
            }
            if !soft {
                out.extend_from_slice(eol);
            }
        }
        (out, bad)
    }

    proptest! {
        /// The one-scan decoder reads quoted-printable as the line-by-line
        /// reading of RFC 2045 does, damaged input included.
        #[test]
        fn quoted_printable_matches_the_line_by_line_reading(
            input in proptest::collection::vec(
                prop_oneof![Just(b'='), Just(b'\r'), Just(b'\n'), Just(b' '), Just(b'\t'),
                            Just(b'A'), Just(b'f'), Just(b'3'), Just(b'x'), Just(0xC3u8)],
                0..200,
            ),
        ) {
            let mut out = Vec::new();
            let flaws = decode_quoted_printable(&input, &mut out);
            let (expected, bad) = quoted_printable_by_lines(&input);
            prop_assert_eq!(out, expected);
            prop_assert_eq!(flaws.bad_escape, bad);
        }

        /// The vector decoder gives what the portable one gives, octet for
        /// octet and flaw for flaw, on clean and damaged input alike.
        #[test]
        fn base64_vector_path_matches_the_portable_one(input in base64ish(), kept in 0..40usize) {
            let mut wide = vec![7u8; kept];
            let mut portable = vec![7u8; kept];
            let a = decode_base64(&input, &mut wide);
            let b = decode_base64_portable(&input, &mut portable);
            prop_assert_eq!(a, b);
            prop_assert_eq!(wide, portable);
        }

        /// Lines of one length (the vector path's fast case) with damage
        /// here and there: the two decoders still agree.
        #[test]
        fn base64_damaged_lines_decode_alike(
            data in proptest::collection::vec(any::<u8>(), 0..3000),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), 0..6u8), 0..4),
        ) {
            let mut encoded = Vec::new();
            encode_base64(&data, &mut encoded);
            for (at, what) in edits {
                let at = at.index(encoded.len() + 1);
                match what {
                    0 if at < encoded.len() => { encoded.remove(at); }
                    1 => encoded.insert(at, b'*'),
                    2 => encoded.insert(at, b'='),
                    3 => encoded.insert(at, b'\r'),
                    4 => encoded.insert(at, b'\n'),
                    _ => encoded.splice(at..at, *b"\r\n").for_each(drop),
                }
            }
            let mut wide = Vec::new();
            let mut portable = Vec::new();
            let a = decode_base64(&encoded, &mut wide);
            let b = decode_base64_portable(&encoded, &mut portable);
            prop_assert_eq!(a, b);
            prop_assert_eq!(wide, portable);
        }

        #[test]
        fn base64_lines_decode_alike(data in proptest::collection::vec(any::<u8>(), 0..4000)) {
            let mut encoded = Vec::new();
            encode_base64(&data, &mut encoded);
            let mut wide = Vec::new();
            let mut portable = Vec::new();
            prop_assert!(decode_base64(&encoded, &mut wide).is_clean());
            prop_assert!(decode_base64_portable(&encoded, &mut portable).is_clean());
            prop_assert_eq!(&wide, &data);
            prop_assert_eq!(&portable, &data);
        }

        #[test]
        fn base64_round_trips(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut encoded = Vec::new();
            encode_base64(&data, &mut encoded);
            prop_assert!(encoded.split(|&b| b == b'\n').all(|l| l.len() <= 78));
            let mut decoded = Vec::new();
            prop_assert!(decode_base64(&encoded, &mut decoded).is_clean());
            prop_assert_eq!(decoded, data);
        }

        #[test]
        fn quoted_printable_round_trips_binary(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut encoded = Vec::new();
            encode_quoted_printable(&data, false, &mut encoded);
            prop_assert!(encoded.split(|&b| b == b'\n').all(|l| l.len() <= 78));
            let mut decoded = Vec::new();
            prop_assert!(decode_quoted_printable(&encoded, &mut decoded).is_clean());
            prop_assert_eq!(decoded, data);
        }

        #[test]
        fn quoted_printable_round_trips_text(text in "([a-zé =.\t]{0,90}\r\n){0,6}[a-zé =.]{0,90}") {
            let mut encoded = Vec::new();
            encode_quoted_printable(text.as_bytes(), true, &mut encoded);
            prop_assert!(encoded.split(|&b| b == b'\n').all(|l| l.len() <= 78));
            let mut decoded = Vec::new();
            decode_quoted_printable(&encoded, &mut decoded);
            prop_assert_eq!(String::from_utf8(decoded).unwrap(), text);
        }
    }
}

mod builder {
    use proptest::prelude::*;
    use sansmail_mime::builder::{Entity, MessageBuilder};
    use sansmail_mime::{DateTime, Mailbox, Message};

    fn mailbox() -> impl Strategy<Value = Mailbox> {
        (
            proptest::option::of("[A-Za-zé\"\\\\,.()<> ]{1,30}"),
            "[a-z0-9.]{1,12}@[a-z]{1,10}\\.test",
        )
            .prop_map(|(name, address)| Mailbox {
                name: name
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty() && !n.contains("  ")),
                address,
            })
    }

    #[test]
    fn only_one_plain_mailbox_parses() {
        let ann: Mailbox = "\"Ann, Smith\" <ann@example.com>".parse().unwrap();
        assert_eq!(ann, Mailbox::new(Some("Ann, Smith"), "ann@example.com"));
        let bare: Mailbox = "bob@example.com".parse().unwrap();
        assert_eq!(bare, Mailbox::new(None, "bob@example.com"));
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "Ann <>",
            "a@example.com, b@example.com",
            "Team: a@example.com;",
            "a@example.com\r\nBcc: b@example.com",
        ] {
            let error = bad.parse::<Mailbox>().unwrap_err();
            assert!(error.to_string().contains("is not one mailbox"), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn a_mailbox_written_parses_back(m in mailbox()) {
            prop_assert_eq!(m.to_string().parse::<Mailbox>(), Ok(m));
        }

        #[test]
        fn what_the_builder_writes_parses_back(
            subject in "[!-~][ -~é日本\t]{0,150}[!-~]",
            from in mailbox(),
            to in proptest::collection::vec(mailbox(), 1..4),
            text in "([ -~é]{0,120}\n){0,5}",
            html in "(<p>[ -~日]{0,200}</p>\n){0,3}",
            attachment in proptest::collection::vec(any::<u8>(), 0..2000),
            filename in "[a-zA-Z0-9 éü._-]{1,90}",
            when in 0i64..4_000_000_000,
            seed in any::<u64>(),
        ) {
            let body = Entity::mixed(vec![
                Entity::alternative(vec![Entity::text(text.as_str()), Entity::html(html.as_str())]),
                Entity::attachment("application/octet-stream", &filename, attachment.as_slice()),
            ]);
            let date = DateTime::from_unix_time(when, -300);
            let raw = MessageBuilder::new(body)
                .from(from.clone())
                .to(to.clone())
                .subject(&subject)
                .date(date)
                .message_id(u128::from(seed), "x.test")
                .to_vec(seed);
            prop_assert!(raw.split(|&b| b == b'\n').all(|l| l.len() <= 998));
            let m = Message::parse(&raw);
            prop_assert!(m.defects.is_empty(), "{:?}", m.defects);
            prop_assert_eq!(m.subject(), Some(subject));
            let h = &m.root.header;
            let parsed_from: Vec<Mailbox> = h.addresses("from").unwrap().mailboxes().cloned().collect();
            prop_assert_eq!(parsed_from, vec![from]);
            let parsed_to: Vec<Mailbox> = h.addresses("to").unwrap().mailboxes().cloned().collect();
            prop_assert_eq!(parsed_to, to);
            prop_assert_eq!(h.date(), Some(date));
            prop_assert_eq!(h.message_id(), Some(format!("{:032x}@x.test", u128::from(seed))));
            let leaves = m.leaves();
            prop_assert_eq!(leaves.len(), 3);
            let crlf = |s: &str| s.replace('\n', "\r\n");
            prop_assert_eq!(m.body_text(leaves[0].1).text.into_owned(), crlf(&text));
            prop_assert_eq!(m.body_text(leaves[1].1).text.into_owned(), crlf(&html));
            prop_assert_eq!(m.decoded_body(leaves[2].1).0.into_owned(), attachment);
            prop_assert_eq!(leaves[2].1.filename(), Some(filename));
        }
    }
}
