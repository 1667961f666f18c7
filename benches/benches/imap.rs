//! sansmail-imap beside imap-codec 2.0.0-alpha.10 and imap-proto 0.17 on
//! the same inputs: decoding a realistic client's commands, decoding a
//! FETCH response carrying a 64 KiB literal, and encoding FETCH responses;
//! and a server session answering 10 000 pipelined commands from memory.
#![allow(missing_docs)] // criterion_group! makes an undocumented function

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imap_codec::decode::Decoder;
use imap_codec::encode::Encoder;
use imap_codec::{CommandCodec, ResponseCodec};
use sansmail_imap::codec::{parse_command, parse_response, write_response};

/// What a desktop client sends over a session: log in, list, select,
/// synchronise flags, fetch headers, mark, search, move, idle.
const COMMANDS: &[u8] = b"a1 CAPABILITY\r\n\
a2 LOGIN alice \"correct horse battery staple\"\r\n\
a3 LIST \"\" \"*\"\r\n\
a4 LSUB \"\" \"*\"\r\n\
a5 STATUS Sent (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)\r\n\
a6 SELECT INBOX\r\n\
a7 UID FETCH 1:* (FLAGS)\r\n\
a8 UID FETCH 4567:4600 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n\
a9 UID FETCH 4599 (UID RFC822.SIZE BODY.PEEK[])\r\n\
a10 UID STORE 4599 +FLAGS (\\Seen)\r\n\
a11 UID SEARCH UNSEEN SINCE 1-Jan-2024 NOT DELETED\r\n\
a12 UID COPY 4590:4592,4595 Trash\r\n\
a13 UID STORE 4590:4592,4595 +FLAGS.SILENT (\\Deleted)\r\n\
a14 EXPUNGE\r\n\
a15 NOOP\r\n\
a16 IDLE\r\n\
a17 EXAMINE Drafts\r\n\
a18 FETCH 1:20 (ENVELOPE BODYSTRUCTURE INTERNALDATE)\r\n\
a19 CLOSE\r\n\
a20 LOGOUT\r\n";

fn count_lines(input: &[u8]) -> u64 {
    input.iter().filter(|&&b| b == b'\n').count() as u64
}

fn ours_commands(input: &[u8]) -> usize {
    let mut rest = input;
    let mut n = 0;
    while !rest.is_empty() {
        let (r, cmd) = parse_command(rest).expect("valid input");
        black_box(&cmd);
        rest = r;
        n += 1;
    }
    n
}

fn codec_commands(input: &[u8]) -> usize {
    let codec = CommandCodec::default();
    let mut rest = input;
    let mut n = 0;
    while !rest.is_empty() {
        let (r, cmd) = codec.decode(rest).expect("valid input");
        black_box(&cmd);
        rest = r;
        n += 1;
    }
    n
}

fn commands(c: &mut Criterion) {
    let input = COMMANDS;
    let lines = count_lines(COMMANDS);
    assert_eq!(ours_commands(input) as u64, lines);
    assert_eq!(codec_commands(COMMANDS) as u64, lines);
    let mut group = c.benchmark_group("imap command decoding");
    group.throughput(Throughput::Elements(lines));
    group.bench_function("sansmail-imap", |b| {
        b.iter(|| ours_commands(black_box(input)))
    });
    group.bench_function("imap-codec", |b| {
        b.iter(|| codec_commands(black_box(COMMANDS)))
    });
    group.finish();
}

fn literal_response() -> Vec<u8> {
    let mut body = Vec::with_capacity(64 * 1024);
    let line = b"The quick brown fox jumps over the lazy dog, again and again.\r\n";
    while body.len() + line.len() <= 64 * 1024 {
        body.extend_from_slice(line);
    }
    body.resize(64 * 1024, b'.');
    let mut wire = format!(
        "* 12 FETCH (UID 4599 RFC822.SIZE {} BODY[] {{{}}}\r\n",
        body.len(),
        body.len()
    )
    .into_bytes();
    wire.extend_from_slice(&body);
    wire.extend_from_slice(b")\r\n");
    wire
}

fn literal(c: &mut Criterion) {
    let wire = literal_response();
    let input = Bytes::from(wire.clone());
    let codec = ResponseCodec::default();
    assert!(parse_response(&input).is_ok());
    assert!(codec.decode(&wire).is_ok());
    assert!(imap_proto::Response::parse(&wire).is_ok());
    let mut group = c.benchmark_group("imap response decoding, 64 KiB literal");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("sansmail-imap", |b| {
        b.iter(|| black_box(parse_response(black_box(&input)).unwrap()))
    });
    group.bench_function("imap-codec", |b| {
        b.iter(|| black_box(codec.decode(black_box(&wire)).unwrap()))
    });
    group.bench_function("imap-proto", |b| {
        b.iter(|| black_box(imap_proto::Response::parse(black_box(&wire)).unwrap()))
    });
    group.finish();
}

/// FETCH responses as a server sends them for a header listing.
fn fetch_responses() -> Vec<u8> {
    let mut wire = Vec::new();
    for i in 1..=50u32 {
        let header = format!(
            "From: Terry Gray <gray@cac.washington.edu>\r\nTo: imap@cac.washington.edu\r\nSubject: IMAP4rev2 WG mtg summary {i}\r\nDate: Wed, 17 Jul 1996 02:23:25 -0700\r\nMessage-ID: <B27397-{i}@cac.washington.edu>\r\n\r\n"
        );
        wire.extend_from_slice(format!(
            "* {i} FETCH (UID {} FLAGS (\\Seen $Forwarded) RFC822.SIZE 4286 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23 NIL NIL NIL NIL)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73 NIL (\"ATTACHMENT\" (\"FILENAME\" \"cc.diff\")) NIL NIL) \"MIXED\" (\"BOUNDARY\" \"----=_NextPart\") NIL NIL NIL) BODY[HEADER.FIELDS (From To Subject Date Message-ID)] {{{}}}\r\n{header})\r\n",
            1000 + i,
            header.len()
        ).as_bytes());
    }
    wire
}

fn encoding(c: &mut Criterion) {
    let wire = fetch_responses();
    let input = Bytes::from(wire.clone());
    let mut ours = Vec::new();
    let mut rest = input.clone();
    while !rest.is_empty() {
        let (r, resp) = parse_response(&rest).unwrap();
        ours.push(resp);
        rest = r;
    }
    let codec = ResponseCodec::default();
    let mut theirs = Vec::new();
    let mut rest: &[u8] = &wire;
    while !rest.is_empty() {
        let (r, resp) = codec.decode(rest).unwrap();
        theirs.push(resp);
        rest = r;
    }
    let mut out = Vec::with_capacity(wire.len());
    for r in &ours {
        write_response(&mut out, r);
    }
    assert_eq!(out, wire, "our encoding is the input again");
    let mut group = c.benchmark_group("imap FETCH response encoding");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("sansmail-imap", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(wire.len());
            for r in &ours {
                write_response(&mut out, black_box(r));
            }
            black_box(out)
        })
    });
    group.bench_function("imap-codec", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(wire.len());
            for r in &theirs {
                out.extend_from_slice(&codec.encode(black_box(r)).dump());
            }
            black_box(out)
        })
    });
    group.finish();
}

/// Runs a server session over `input` with an application that answers
/// from memory: three messages in INBOX. Returns the bytes written.
fn serve(input: &[u8]) -> usize {
    use sansmail_imap::Output;
    use sansmail_imap::server::{Config, Event, SelectInfo, Session};
    use sansmail_imap::types::{CommandBody, FetchValue, Flag, StatusKind};
    use std::num::NonZeroU32;
    let nz = |n| NonZeroU32::new(n).unwrap();
    let now = std::time::Instant::now();
    let mut config = Config::default();
    config.allow_plaintext_auth = true;
    config.max_pipelined = usize::MAX;
    config.max_errors = usize::MAX;
    let mut session = Session::new(config, now);
    let mut written = 0;
    let mut fed = false;
    loop {
        match session.poll_output() {
            Output::Transmit(b) => written += b.len(),
            Output::Event(Event::Command { ticket, command }) => match command {
                CommandBody::Select { .. } => {
                    let info = SelectInfo {
                        uid_validity: nz(1),
                        uid_next: nz(4),
                        uids: vec![nz(1), nz(2), nz(3)],
                        flags: vec![Flag::Seen],
                        permanent_flags: Vec::new(),
                        highest_modseq: Some(9),
                        recent: 0,
                        first_unseen: None,
                        read_only: false,
                        changed: Vec::new(),
                        vanished: None,
                        mailbox_id: None,
                    };
                    session.selected(now, ticket, info).unwrap();
                }
                CommandBody::Fetch { uid, set, .. } | CommandBody::Store { uid, set, .. } => {
                    let targets = session.selected_mailbox().unwrap().resolve(&set, uid);
                    for (_, u) in targets {
                        session
                            .fetch(ticket, u, vec![FetchValue::Flags(vec![Flag::Seen])])
                            .unwrap();
                    }
                    session
                        .complete(now, ticket, StatusKind::Ok, None, "done")
                        .unwrap();
                }
                CommandBody::Search { .. } => {
                    session
                        .search_result(ticket, &[nz(1), nz(3)], None)
                        .unwrap();
                    session
                        .complete(now, ticket, StatusKind::Ok, None, "done")
                        .unwrap();
                }
                _ => session
                    .complete(now, ticket, StatusKind::Ok, None, "done")
                    .unwrap(),
            },
            Output::Event(event) => {
                if let Some(ticket) = event.ticket() {
                    session.accept(now, ticket).unwrap();
                }
            }
            Output::StartTls => unreachable!(),
            Output::Timeout(_) if !fed => {
                session.handle_input(now, input);
                fed = true;
            }
            Output::Timeout(_) => session.handle_eof(now),
            Output::Closed => return written,
        }
    }
}

fn session(c: &mut Criterion) {
    let mut script = b"a LOGIN alice secret\r\nb SELECT INBOX\r\n".to_vec();
    let mix: [&[u8]; 5] = [
        b"c NOOP\r\n",
        b"d UID FETCH 1:* (FLAGS)\r\n",
        b"e UID STORE 2 +FLAGS.SILENT (\\Seen)\r\n",
        b"f UID SEARCH UNSEEN SINCE 1-Jan-2024\r\n",
        b"g FETCH 1:3 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)])\r\n",
    ];
    for i in 0..10_000 {
        script.extend_from_slice(mix[i % mix.len()]);
    }
    assert!(serve(&script) > 100_000);
    let mut group = c.benchmark_group("imap server session, 10 000 commands");
    group.throughput(Throughput::Elements(10_002));
    group.sample_size(20);
    group.bench_function("sansmail-imap", |b| b.iter(|| serve(black_box(&script))));
    group.finish();
}

criterion_group!(benches, commands, literal, encoding, session);
criterion_main!(benches);
