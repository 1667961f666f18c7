//! Round-trips and chunking invariance.
// The tests play the application, which owns the clock: one real Instant starts the virtual clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use sansmail_pop3::Output;
use sansmail_pop3::client;
use sansmail_pop3::codec::Command;
use sansmail_pop3::multiline::{BodyDecoder, BodyEncoder, BodyStep};
use sansmail_pop3::sasl::Mechanism;
use sansmail_pop3::types::{Response, ResponseCode, Secret};

fn word() -> impl Strategy<Value = String> {
    "[!-~]{1,40}"
}

fn number() -> impl Strategy<Value = u32> {
    1u32..=u32::MAX
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        word().prop_map(Command::User),
        "[ -~]{1,60}"
            .prop_filter("no leading space", |p| !p.is_empty())
            .prop_map(|p| Command::Pass(Secret::new(p))),
        (word(), "[0-9a-f]{32}").prop_map(|(name, digest)| Command::Apop { name, digest }),
        Just(Command::Stat),
        proptest::option::of(number()).prop_map(Command::List),
        number().prop_map(Command::Retr),
        number().prop_map(Command::Dele),
        Just(Command::Noop),
        Just(Command::Rset),
        Just(Command::Quit),
        (number(), any::<u32>()).prop_map(|(message, lines)| Command::Top { message, lines }),
        proptest::option::of(number()).prop_map(Command::Uidl),
        Just(Command::Capa),
        Just(Command::Stls),
        Just(Command::Utf8),
        proptest::option::of("[a-z]{2}(-[A-Z]{2})?").prop_map(Command::Lang),
        (
            prop_oneof![
                Just(Mechanism::Plain),
                Just(Mechanism::Login),
                Just(Mechanism::XOAuth2)
            ],
            proptest::option::of(prop_oneof![
                Just("=".to_owned()),
                proptest::collection::vec(any::<u8>(), 1..50).prop_map(|b| {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.encode(b)
                }),
            ])
        )
            .prop_map(|(m, r)| Command::Auth {
                mechanism: Some(m),
                initial_response: r.map(Secret::new),
            }),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    let code = proptest::option::of(prop_oneof![
        Just(ResponseCode::InUse),
        Just(ResponseCode::LoginDelay),
        Just(ResponseCode::SysTemp),
        Just(ResponseCode::SysPerm),
        Just(ResponseCode::Auth),
        Just(ResponseCode::Utf8),
        "X-[A-Z]{1,8}(/[A-Z]{1,8})?".prop_map(ResponseCode::Other),
    ]);
    (any::<bool>(), code, "[^\\[\\p{Cc}][^\\p{Cc}]{0,80}|")
        .prop_map(|(ok, code, text)| Response::new(ok, code, text).unwrap())
}

/// What a client reads back from content: CRLF line ends, and a last line ended.
fn normalized(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'\r' if content.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn split_points(len: usize, cuts: &[usize]) -> Vec<usize> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
    points.push(0);
    points.push(len);
    points.sort_unstable();
    points.dedup();
    points
}

fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    split_points(data.len(), cuts)
        .windows(2)
        .map(|w| &data[w[0]..w[1]])
        .collect()
}

/// The server's whole transmission for `input` fed in pieces.
fn server_wire(input: &[u8], cuts: &[usize]) -> String {
    let mut s = common::Server::rfc1939();
    s.chunk_size = 5;
    let mut wire = s.drain();
    for piece in pieces(input, cuts) {
        wire += &s.feed(piece);
    }
    s.session.handle_eof(s.now);
    wire + &s.drain()
}

/// The client's events for `server_bytes` fed in pieces.
fn client_events(server_bytes: &[u8], cuts: &[usize]) -> Vec<client::Event> {
    let now = Instant::now();
    let mut config = client::Config::password("mrose", "tanstaaf");
    config.tls = client::TlsPolicy::Disabled;
    config.allow_plaintext_auth = true;
    let mut c = client::Session::new(config, now);
    let mut events = Vec::new();
    let drain = |c: &mut client::Session, events: &mut Vec<client::Event>| loop {
        match c.poll_output() {
            Output::Event(e) => {
                if matches!(e, client::Event::Ready { .. }) {
                    c.uidl(now, None).unwrap();
                    c.retr(now, 1).unwrap();
                    c.quit(now).unwrap();
                }
                events.push(e);
            }
            Output::Transmit(_) | Output::StartTls => {}
            Output::Timeout(_) | Output::Closed => break,
        }
    };
    for piece in pieces(server_bytes, cuts) {
        c.handle_input(now, piece);
        drain(&mut c, &mut events);
    }
    // Body chunks may be cut anywhere: join them to compare.
    let mut joined: Vec<client::Event> = Vec::new();
    for e in events {
        match (joined.last_mut(), e) {
            (
                Some(client::Event::BodyChunk { chunk: prev, .. }),
                client::Event::BodyChunk { chunk, .. },
            ) => *prev = Bytes::from([prev.as_ref(), chunk.as_ref()].concat()),
            (_, e) => joined.push(e),
        }
    }
    joined
}

const SCRIPT: &[u8] = b"CAPA\r\nUSER mrose\r\nPASS tanstaaf\r\nSTAT\r\nLIST\r\nUIDL 2\r\n\
TOP 1 1\r\nRETR 2\r\nDELE 1\r\nNOOP\r\nRSET\r\nDELE 2\r\nQUIT\r\n";

const SERVER_SIDE: &[u8] = b"+OK ready\r\n+OK\r\nUSER\r\nPIPELINING\r\n.\r\n+OK\r\n+OK in\r\n\
+OK\r\n1 a\r\n2 b\r\n.\r\n+OK 9 octets\r\nA: b\r\n\r\n..x\r\n.\r\n+OK bye\r\n";

proptest! {
    #[test]
    fn commands_round_trip(command in command()) {
        let bytes = command.to_bytes();
        let (rest, parsed) = Command::decode(&bytes).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(parsed, command.clone());
        prop_assert!(command.validate().is_ok());
    }

    #[test]
    fn responses_round_trip(response in response()) {
        let mut out = Vec::new();
        response.write(&mut out);
        let (rest, parsed) = Response::decode(&out).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(parsed, response);
    }

    #[test]
    fn body_encode_decode_round_trip(
        content in proptest::collection::vec(prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'a')], 0..200),
        enc_cuts in proptest::collection::vec(any::<usize>(), 0..6),
        dec_cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut encoder = BodyEncoder::new();
        let mut wire = Vec::new();
        for piece in pieces(&content, &enc_cuts) {
            wire.extend_from_slice(&encoder.encode(Bytes::copy_from_slice(piece)));
        }
        let mut tail = BytesMut::new();
        encoder.finish(&mut tail);
        wire.extend_from_slice(&tail);
        wire.extend_from_slice(b"+OK next");
        let mut decoder = BodyDecoder::new();
        let mut buf = BytesMut::new();
        let mut decoded = Vec::new();
        let mut ended = false;
        for piece in pieces(&wire, &dec_cuts) {
            buf.extend_from_slice(piece);
            while !ended {
                match decoder.decode(&mut buf) {
                    BodyStep::Chunk(c) => decoded.extend_from_slice(&c),
                    BodyStep::NeedMore => break,
                    BodyStep::End => ended = true,
                }
            }
        }
        prop_assert!(ended);
        prop_assert_eq!(&buf[..], b"+OK next");
        prop_assert_eq!(decoded, normalized(&content));
    }

    #[test]
    fn server_output_does_not_depend_on_input_chunking(
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        prop_assert_eq!(server_wire(SCRIPT, &cuts), server_wire(SCRIPT, &[]));
    }

    #[test]
    fn client_events_do_not_depend_on_input_chunking(
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let whole = client_events(SERVER_SIDE, &[]);
        prop_assert!(whole.len() > 5, "{:?}", whole);
        prop_assert_eq!(client_events(SERVER_SIDE, &cuts), whole);
    }
}

#[test]
fn server_output_at_every_single_split() {
    let whole = server_wire(SCRIPT, &[]);
    assert!(whole.contains("+OK Message 2 deleted"), "{whole}");
    for split in 0..SCRIPT.len() {
        assert_eq!(server_wire(SCRIPT, &[split]), whole, "split at {split}");
    }
}
