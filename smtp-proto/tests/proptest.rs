//! Property tests: write→parse round-trips, and chunking invariance (the
//! same bytes split anywhere give the same events and replies).
// The tests play the application, which owns the clock: one real Instant starts the virtual clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Instant;

use bytes::BytesMut;
use proptest::prelude::*;
use sansmail_smtp::Output;
use sansmail_smtp::codec::Command;
use sansmail_smtp::data::{DataStep, DotStuffer, DotUnstuffer};
use sansmail_smtp::server::{self, Event};
use sansmail_smtp::types::*;

fn label() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", "[a-zäöüß]{1,6}",]
}

fn domain() -> impl Strategy<Value = Domain> {
    prop::collection::vec(label(), 1..4).prop_map(|l| Domain::new(&l.join(".")).unwrap())
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        4 => domain().prop_map(Host::Domain),
        1 => any::<[u8; 4]>().prop_map(|a| Host::Ipv4(a.into())),
        1 => any::<[u16; 8]>().prop_map(|a| Host::Ipv6(a.into())),
        1 => ("x-[a-z]{1,5}", "[a-zA-Z0-9.:-]{1,10}").prop_map(|(tag, content)| Host::General(Box::new(GeneralLiteral { tag: tag.into(), content: content.into() }))),
    ]
}

fn local_part() -> impl Strategy<Value = LocalPart> {
    prop_oneof![
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\\.[a-z0-9]{1,5}){0,2}"
            .prop_map(|s| LocalPart::parse(&s).unwrap()),
        "[ -~ä]{0,12}".prop_map(|s| LocalPart::from_text(&s).unwrap()),
    ]
}

fn mailbox() -> impl Strategy<Value = Mailbox> {
    (local_part(), host()).prop_map(|(local_part, host)| Mailbox { local_part, host })
}

fn xtext_string() -> impl Strategy<Value = String> {
    "[ -~é]{1,20}"
}

fn mail_param() -> impl Strategy<Value = MailParameter> {
    prop_oneof![
        any::<u64>().prop_map(MailParameter::Size),
        prop_oneof![
            Just(BodyType::SevenBit),
            Just(BodyType::EightBitMime),
            Just(BodyType::BinaryMime)
        ]
        .prop_map(MailParameter::Body),
        Just(MailParameter::SmtpUtf8),
        Just(MailParameter::RequireTls),
        prop_oneof![Just(DsnReturn::Full), Just(DsnReturn::Headers)].prop_map(MailParameter::Ret),
        xtext_string().prop_map(|s| MailParameter::EnvId(s.into())),
        proptest::option::of(xtext_string()).prop_map(|s| MailParameter::Auth(s.map(Text::from))),
        (-9i8..=9).prop_map(MailParameter::MtPriority),
        (-999_999_999i64..=999_999_999, any::<bool>(), any::<bool>()).prop_map(
            |(seconds, r, trace)| MailParameter::By {
                seconds,
                mode: if r { ByMode::Return } else { ByMode::Notify },
                trace
            }
        ),
        any::<u64>().prop_map(MailParameter::HoldFor),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z"
            .prop_map(|s| MailParameter::HoldUntil(s.into())),
        ("X-[A-Z]{1,6}", proptest::option::of("[!-<>-~]{1,10}")).prop_map(|(keyword, value)| {
            MailParameter::Unknown {
                keyword: keyword.into(),
                value: value.map(Text::from),
            }
        }),
    ]
}

fn rcpt_param() -> impl Strategy<Value = RcptParameter> {
    prop_oneof![
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(success, failure, delay)| {
            RcptParameter::Notify(Notify {
                success,
                failure,
                delay,
            })
        }),
        ("rfc822|utf-8", xtext_string()).prop_map(|(addr_type, address)| RcptParameter::Orcpt {
            addr_type: addr_type.into(),
            address: address.into()
        }),
        (
            "2026-[01][0-9]-[0-3][0-9]T00:00:00Z",
            proptest::option::of(prop_oneof![
                Just(RrvsAction::Reject),
                Just(RrvsAction::Continue)
            ])
        )
            .prop_map(|(time, action)| RcptParameter::Rrvs {
                time: time.into(),
                action
            }),
        ("X-[A-Z]{1,6}", proptest::option::of("[!-<>-~]{1,10}")).prop_map(|(keyword, value)| {
            RcptParameter::Unknown {
                keyword: keyword.into(),
                value: value.map(Text::from),
            }
        }),
    ]
}

fn text() -> impl Strategy<Value = String> {
    "[!-~][ -~]{0,20}"
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        host().prop_map(Command::Ehlo),
        host().prop_map(Command::Helo),
        host().prop_map(Command::Lhlo),
        (
            proptest::option::of(mailbox()),
            prop::collection::vec(mail_param(), 0..4)
        )
            .prop_map(|(m, params)| Command::Mail {
                from: m.map_or(ReversePath::Null, ReversePath::Mailbox),
                params
            }),
        (
            proptest::option::of(mailbox()),
            prop::collection::vec(rcpt_param(), 0..3)
        )
            .prop_map(|(m, params)| Command::Rcpt {
                to: m.map_or(ForwardPath::Postmaster, ForwardPath::Mailbox),
                params
            }),
        Just(Command::Data),
        (0u64..=9_999_999_999_999_999_999, any::<bool>())
            .prop_map(|(size, last)| Command::Bdat { size, last }),
        Just(Command::Rset),
        proptest::option::of(text()).prop_map(|s| Command::Noop(s.map(Text::from))),
        Just(Command::Quit),
        text().prop_map(|s| Command::Vrfy(s.into())),
        text().prop_map(|s| Command::Expn(s.into())),
        proptest::option::of(text()).prop_map(|s| Command::Help(s.map(Text::from))),
        Just(Command::StartTls),
        (
            prop_oneof![
                Just(Mechanism::Plain),
                Just(Mechanism::Login),
                Just(Mechanism::XOAuth2),
                Just(Mechanism::OAuthBearer),
                "X-[A-Z0-9]{1,8}".prop_map(Mechanism::Other)
            ],
            proptest::option::of(prop::collection::vec(any::<u8>(), 0..40))
        )
            .prop_map(|(mechanism, ir)| Command::Auth {
                mechanism,
                initial_response: ir.map(Secret::new)
            }),
    ]
}

/// Lines that start like commands and go on with the octets that matter
/// to them: brackets, `@`, dots, quotes, `=`, spaces, UTF-8, invalid
/// UTF-8, NUL, CR and LF (longer than 16 octets, so the vector scan runs).
fn command_like_line() -> impl Strategy<Value = Vec<u8>> {
    let verb = prop::sample::select(vec![
        "MAIL FROM:",
        "mail from: ",
        "RCPT TO:",
        "EHLO ",
        "HELO ",
        "LHLO ",
        "NOOP ",
        "VRFY ",
        "EXPN ",
        "HELP ",
        "AUTH PLAIN ",
        "BDAT ",
        "DATA",
        "QUIT",
        "STARTTLS",
        "",
    ]);
    let piece = prop::sample::select(vec![
        &b"<"[..],
        b">",
        b"@",
        b".",
        b"\"",
        b"\\",
        b"=",
        b"+2B",
        b" ",
        b"SIZE=10",
        b" NOTIFY=NEVER",
        b" ORCPT=rfc822;a+40b",
        b"[192.0.2.1]",
        b"[IPv6:::1]",
        b"alice",
        b"example.com",
        b"-",
        "j\u{f6}rg".as_bytes(),
        b"\xff",
        b"\0",
        b"\r",
        b"\n",
        b"Postmaster",
        b"LAST",
        b"dGVzdA==",
    ]);
    (verb, prop::collection::vec(piece, 0..12)).prop_map(|(verb, pieces)| {
        let mut line = verb.as_bytes().to_vec();
        pieces.iter().for_each(|p| line.extend_from_slice(p));
        line
    })
}

fn reply() -> impl Strategy<Value = Reply> {
    (
        2u16..=5,
        0u16..=5,
        0u16..=9,
        any::<bool>(),
        0u16..=999,
        0u16..=999,
        prop::collection::vec("([A-Za-z][ -~]{0,30})?", 1..4),
    )
        .prop_map(|(a, b, c, with_status, s, d, lines)| {
            let code = ReplyCode::new(a * 100 + b * 10 + c).unwrap();
            let status =
                (with_status && a != 3).then(|| EnhancedStatus::new(a as u8, s, d).unwrap());
            Reply::new(code, status, lines).unwrap()
        })
}

proptest! {
    #[test]
    fn commands_round_trip(cmd in command()) {
        let wire = cmd.to_bytes();
        let (rest, parsed) = Command::decode(&wire).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(&parsed, &cmd);
        // The borrowed form reads the same command, its mailbox a part of the wire.
        let (rest, borrowed) = Command::decode_borrowed(&wire, 4096).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(borrowed.to_bytes(), wire.clone());
        if let Command::Rcpt { to: ForwardPath::Mailbox(m), .. } = &borrowed {
            let local = m.local_part.as_str().as_bytes().as_ptr() as usize;
            let wire_at = wire.as_ptr() as usize;
            prop_assert!((wire_at..wire_at + wire.len()).contains(&local));
        }
    }

    /// Whatever the line, the owned and the borrowed parsers agree: the
    /// same command (written back alike) or the same error.
    #[test]
    fn borrowed_and_owned_parsers_read_any_line_alike(line in command_like_line()) {
        let owned = Command::parse_line(&line).map(|c| c.to_bytes());
        let borrowed = Command::parse_borrowed(&line).map(|c| c.to_bytes());
        prop_assert_eq!(owned, borrowed);
    }

    /// The same for whole buffers: framing (CRLF, bare CR or LF, the line
    /// limit, an unfinished line) and what is left after the line.
    #[test]
    fn borrowed_and_owned_decoders_frame_any_buffer_alike(
        buf in prop::collection::vec(command_like_line(), 1..3).prop_map(|lines| lines.join(&b"\r\n"[..])),
        max in 4usize..80,
    ) {
        let owned = Command::decode_with_limit(&buf, max).map(|(rest, c)| (rest.len(), c.to_bytes()));
        let borrowed = Command::decode_borrowed(&buf, max).map(|(rest, c)| (rest.len(), c.to_bytes()));
        prop_assert_eq!(format!("{owned:?}"), format!("{borrowed:?}"));
    }

    #[test]
    fn replies_round_trip(r in reply()) {
        let wire = r.to_wire_string();
        let (rest, parsed) = Reply::decode(wire.as_bytes()).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(parsed, r);
    }

    #[test]
    fn xtext_round_trips(s in "\\PC{0,30}") {
        let mut enc = String::new();
        xtext_encode(&s, &mut enc);
        prop_assert_eq!(xtext_decode(enc.as_bytes()).unwrap(), s);
    }

    #[test]
    fn ehlo_extensions_round_trip(size in proptest::option::of(1u64..u64::MAX), mechs in prop::collection::vec("[A-Z][A-Z0-9-]{0,10}", 1..4)) {
        let exts = vec![
            Extension::Size(size),
            Extension::Auth(mechs.iter().map(|m| Mechanism::parse(m).unwrap()).collect()),
            Extension::DeliverBy(size),
        ];
        for e in exts {
            prop_assert_eq!(Extension::parse(&e.to_string()).unwrap(), e);
        }
    }

    /// Stuffing any body and unstuffing it gives the body back with line ends made CRLF.
    #[test]
    fn stuffing_round_trips(body in prop::collection::vec(prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'a')], 0..200), split in 0usize..200) {
        let mut wire = Vec::new();
        let mut st = DotStuffer::new();
        let split = split.min(body.len());
        st.encode(&body[..split], &mut wire);
        st.encode(&body[split..], &mut wire);
        st.finish(&mut wire);
        let mut buf = BytesMut::from(&wire[..]);
        let mut un = DotUnstuffer::new();
        let mut out = Vec::new();
        loop {
            match un.decode(&mut buf) {
                DataStep::Chunk(c) => out.extend_from_slice(&c),
                DataStep::End => break,
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(out, normalize(&body));
    }

    #[test]
    fn server_is_chunking_invariant(splits in prop::collection::vec(0usize..SESSION.len(), 0..12)) {
        let whole = run_server(&[SESSION]);
        let mut points = splits;
        points.sort_unstable();
        points.dedup();
        let mut pieces = Vec::new();
        let mut last = 0;
        for p in points {
            pieces.push(&SESSION[last..p]);
            last = p;
        }
        pieces.push(&SESSION[last..]);
        prop_assert_eq!(run_server(&pieces), whole);
    }
}

/// The body as the receiver sees it: every line end CRLF, a final CRLF added.
fn normalize(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\r' if body.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
            }
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

const SESSION: &[u8] = b"EHLO client.example\r\nMAIL FROM:<a@example.com> SIZE=100\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<reject@example.com>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\n.\r\nMAIL FROM:<> BODY=BINARYMIME\r\nRCPT TO:<c@example.com>\r\nBDAT 5\r\n\r\n.\r\nBDAT 3 LAST\r\nabcNOOP\r\nFOO\r\n\r\nQUIT\r\n";

/// Runs a server over `pieces`; returns the replies and the events with data chunks joined.
fn run_server(pieces: &[&[u8]]) -> (Vec<u8>, Vec<String>) {
    let now = Instant::now();
    let mut s = server::Session::new(server::Config::default(), now);
    let mut wire = Vec::new();
    let mut events: Vec<String> = Vec::new();
    let mut data = Vec::new();
    let drain = |s: &mut server::Session,
                 wire: &mut Vec<u8>,
                 events: &mut Vec<String>,
                 data: &mut Vec<u8>| loop {
        match s.poll_output() {
            Output::Transmit(b) => wire.extend_from_slice(&b),
            Output::Event(Event::DataChunk(c)) => data.extend_from_slice(&c),
            Output::Event(e) => {
                if !data.is_empty() {
                    events.push(format!("data {:?}", String::from_utf8_lossy(data)));
                    data.clear();
                }
                events.push(format!("{e:?}"));
                match common::decide(&e) {
                    Some(Ok(())) => s.accept(now, e.ticket().unwrap()).unwrap(),
                    Some(Err(r)) => s.reject(now, e.ticket().unwrap(), r).unwrap(),
                    None => {}
                }
            }
            _ => return,
        }
    };
    drain(&mut s, &mut wire, &mut events, &mut data);
    for piece in pieces {
        s.handle_input(now, piece);
        drain(&mut s, &mut wire, &mut events, &mut data);
    }
    (wire, events)
}

#[test]
fn server_is_invariant_at_every_single_split_point() {
    let whole = run_server(&[SESSION]);
    assert!(String::from_utf8_lossy(&whole.0).contains("221 2.0.0"));
    for i in 0..=SESSION.len() {
        assert_eq!(
            run_server(&[&SESSION[..i], &SESSION[i..]]),
            whole,
            "split at {i}"
        );
    }
    // And byte by byte.
    let bytes: Vec<&[u8]> = SESSION.chunks(1).collect();
    assert_eq!(run_server(&bytes), whole);
}

#[test]
fn client_is_invariant_at_every_split_point_of_the_replies() {
    use sansmail_smtp::client::{self, Envelope};
    const REPLIES: &[u8] = b"220 mx ESMTP\r\n250-mx\r\n250-PIPELINING\r\n250 SIZE 1000\r\n250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no\r\n354 go\r\n250 2.0.0 queued\r\n221 bye\r\n";
    let run = |pieces: &[&[u8]]| {
        let now = Instant::now();
        let mut c =
            client::Session::new(client::Config::new(Host::parse("c.example").unwrap()), now);
        let mut log = Vec::new();
        let drain = |c: &mut client::Session, log: &mut Vec<String>| loop {
            match c.poll_output() {
                Output::Transmit(b) => log.push(String::from_utf8_lossy(&b).into_owned()),
                Output::Event(client::Event::Ready) => {
                    let to = ["b@x.example", "d@x.example"]
                        .map(|t| ForwardPath::Mailbox(Mailbox::parse(t).unwrap()));
                    c.send_mail(now, Envelope::new(ReversePath::Null, to).with_size(3))
                        .unwrap();
                }
                Output::Event(client::Event::SendBody) => {
                    c.write_body(now, b"hi\r\n").unwrap();
                    c.finish_body(now).unwrap();
                }
                Output::Event(client::Event::TransactionComplete(o)) => {
                    log.push(format!("{o:?}"));
                    c.quit(now);
                }
                Output::Event(e) => log.push(format!("{e:?}")),
                Output::Closed => {
                    log.push("closed".into());
                    return;
                }
                _ => return,
            }
        };
        drain(&mut c, &mut log);
        for p in pieces {
            if log.last().is_some_and(|l| l == "closed") {
                break;
            }
            c.handle_input(now, p);
            drain(&mut c, &mut log);
        }
        // Transmit boundaries depend on timing; compare the bytes and events in order.
        log.concat()
    };
    let whole = run(&[REPLIES]);
    assert!(whole.ends_with("closed"), "{whole}");
    for i in 0..=REPLIES.len() {
        assert_eq!(run(&[&REPLIES[..i], &REPLIES[i..]]), whole, "split at {i}");
    }
}
