//! sansmail-pop3 beside pop3-codec 0.3.0 on the same inputs, the same side
//! of the protocol, after checking both read the same values: command
//! parsing (the server side), and reading a 10 MB RETR response (the
//! client side) beside a plain memcpy of the same bytes. A RETR through
//! our server and client sessions together is a reference row.
#![allow(missing_docs)] // criterion_group! makes an undocumented function

use std::hint::black_box;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sansmail_pop3::Output;
use sansmail_pop3::client;
use sansmail_pop3::codec::Command;
use sansmail_pop3::multiline::{BodyDecoder, BodyEncoder, BodyStep};
use sansmail_pop3::server::{self, MessageInfo};
use sansmail_pop3::types::{Response, UniqueId};

const COMMANDS: &[u8] = b"USER alice@example.com\r\n\
PASS correct horse battery staple\r\n\
STAT\r\n\
LIST\r\n\
UIDL\r\n\
LIST 12\r\n\
UIDL 12\r\n\
TOP 12 10\r\n\
RETR 12\r\n\
DELE 12\r\n\
NOOP\r\n\
RSET\r\n\
APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n\
QUIT\r\n";

fn count_lines(input: &[u8]) -> u64 {
    input.iter().filter(|&&b| b == b'\n').count() as u64
}

fn ours_parse_all(input: &[u8]) -> usize {
    let mut rest = input;
    let mut n = 0;
    while !rest.is_empty() {
        let (r, cmd) = Command::decode(rest).expect("valid input");
        black_box(&cmd);
        rest = r;
        n += 1;
    }
    n
}

fn peer_parse_all(input: &[u8]) -> usize {
    let mut rest = input;
    let mut n = 0;
    while !rest.is_empty() {
        let (r, cmd) = pop3_codec::parse::command(rest).expect("valid input");
        black_box(&cmd);
        rest = r;
        n += 1;
    }
    n
}

/// Both parsers read every command of `input` to the same command: each
/// one's wire form, written back by its own parser, is the same.
fn assert_same_commands(input: &[u8]) {
    let (mut ours, mut theirs) = (input, input);
    while !ours.is_empty() {
        let (rest, cmd) = Command::decode(ours).expect("valid input");
        let (peer_rest, peer) = pop3_codec::parse::command(theirs).expect("valid input");
        assert_eq!(
            String::from_utf8_lossy(&cmd.to_bytes()),
            String::from_utf8_lossy(&peer.serialize())
        );
        (ours, theirs) = (rest, peer_rest);
    }
    assert!(theirs.is_empty());
}

fn commands(c: &mut Criterion) {
    assert_same_commands(COMMANDS);
    assert_eq!(ours_parse_all(COMMANDS), peer_parse_all(COMMANDS));
    let mut group = c.benchmark_group("pop3_commands");
    group.throughput(Throughput::Elements(count_lines(COMMANDS)));
    group.bench_function("sansmail", |b| {
        b.iter(|| ours_parse_all(black_box(COMMANDS)))
    });
    group.bench_function("pop3-codec", |b| {
        b.iter(|| peer_parse_all(black_box(COMMANDS)))
    });
    group.finish();
}

/// About 10 MB of mail text: 76-character lines, CRLF, a dot-started line now and then.
fn big_message() -> Bytes {
    let mut m = b"From: a@example.com\r\nSubject: large\r\n\r\n".to_vec();
    let mut i = 0u64;
    while m.len() < 10 * 1024 * 1024 {
        let line = if i.is_multiple_of(5000) {
            format!(".{:075}\r\n", i)
        } else {
            format!("{:076}\r\n", i * 7919)
        };
        m.extend_from_slice(line.as_bytes());
        i += 1;
    }
    Bytes::from(m)
}

const CHUNK: usize = 64 * 1024;

/// One RETR of `message` from a logged-in server session to a logged-in
/// client session; returns the body octets the client delivered.
fn retr_through_sessions(message: &Bytes) -> usize {
    let now = Instant::now();
    let config = server::Config {
        login_requires_tls: false,
        ..server::Config::default()
    };
    let mut srv = server::Session::new(config, now);
    let mut cfg = client::Config::password("alice", "pw");
    cfg.tls = client::TlsPolicy::Disabled;
    cfg.allow_plaintext_auth = true;
    let mut cli = client::Session::new(cfg, now);
    let mut received = 0;
    let mut to_client: Vec<Bytes> = Vec::new();
    loop {
        // Server side: answer events, collect what it sends.
        loop {
            match srv.poll_output() {
                Output::Transmit(b) => to_client.push(b),
                Output::Event(server::Event::Connected { ticket }) => {
                    srv.accept(now, ticket).unwrap()
                }
                Output::Event(
                    server::Event::Login { ticket, .. } | server::Event::Auth { ticket, .. },
                ) => {
                    let uid = UniqueId::new("big").unwrap();
                    let info = MessageInfo {
                        size: message.len() as u64,
                        uid,
                    };
                    srv.open(now, ticket, vec![info]).unwrap();
                }
                Output::Event(server::Event::Retrieve { ticket, .. }) => {
                    srv.accept(now, ticket).unwrap();
                    for start in (0..message.len()).step_by(CHUNK) {
                        let end = (start + CHUNK).min(message.len());
                        let _ = srv.write_body(ticket, message.slice(start..end)).unwrap();
                        // Stream: hand each piece to the client before the next.
                        while let Output::Transmit(b) = srv.poll_output() {
                            cli.handle_input(now, &b);
                            while let Output::Event(e) = cli.poll_output() {
                                if let client::Event::BodyChunk { chunk, .. } = e {
                                    received += chunk.len();
                                }
                            }
                        }
                    }
                    srv.finish_body(now, ticket).unwrap();
                }
                Output::Event(_) => {}
                Output::Timeout(_) | Output::Closed | Output::StartTls => break,
            }
        }
        // Client side.
        for b in to_client.drain(..) {
            cli.handle_input(now, &b);
        }
        let mut sent = Vec::new();
        let mut done = false;
        loop {
            match cli.poll_output() {
                Output::Transmit(b) => sent.push(b),
                Output::Event(client::Event::Ready { .. }) => {
                    cli.retr(now, 1).unwrap();
                    cli.quit(now).unwrap();
                }
                Output::Event(client::Event::BodyChunk { chunk, .. }) => received += chunk.len(),
                Output::Event(_) => {}
                Output::Closed => {
                    done = true;
                    break;
                }
                Output::Timeout(_) | Output::StartTls => break,
            }
        }
        if done {
            return received;
        }
        for b in sent {
            srv.handle_input(now, &b);
        }
    }
}

/// The client side of a RETR: the status line, then the body unstuffed,
/// from the receive buffer the response was read into. The chunks share
/// that buffer; returns the body octets.
fn ours_read_retr(mut buf: BytesMut) -> usize {
    let (rest, status) = Response::decode(&buf).expect("valid status line");
    assert!(status.is_ok());
    let head = buf.len() - rest.len();
    buf.advance(head);
    let mut decoder = BodyDecoder::new();
    let mut total = 0;
    loop {
        match decoder.decode(&mut buf) {
            BodyStep::Chunk(c) => total += black_box(c).len(),
            BodyStep::End => return total,
            BodyStep::NeedMore => panic!("the whole response is there"),
        }
    }
}

/// pop3-codec's RETR response as lines of text (it leaves the dots stuffed).
fn peer_read_retr(wire: &[u8]) -> usize {
    let (_, response) = pop3_codec::parse::response_retr(wire).expect("valid response");
    let pop3_codec::types::Response::Ok(multi) = response else {
        panic!("not +OK");
    };
    black_box(&multi.body).len()
}

fn retr(c: &mut Criterion) {
    let message = big_message();
    assert_eq!(retr_through_sessions(&message), message.len());
    // The same RETR response as wire bytes, for both clients.
    let mut wire = BytesMut::from(&b"+OK message follows\r\n"[..]);
    let mut enc = BodyEncoder::new();
    wire.extend_from_slice(&enc.encode(message.clone()));
    enc.finish(&mut wire);
    let wire = wire.freeze();
    // Both read the same message: pop3-codec's lines, unstuffed and joined, are ours.
    let (_, response) = pop3_codec::parse::response_retr(&wire).expect("valid response");
    let pop3_codec::types::Response::Ok(multi) = response else {
        panic!("not +OK");
    };
    let mut theirs = Vec::with_capacity(message.len());
    for line in &multi.body {
        theirs.extend_from_slice(line.strip_prefix('.').unwrap_or(line).as_bytes());
        theirs.extend_from_slice(b"\r\n");
    }
    assert_eq!(theirs, message);
    assert_eq!(ours_read_retr(BytesMut::from(&wire[..])), message.len());

    let mut group = c.benchmark_group("pop3_retr_10mb");
    group.throughput(Throughput::Bytes(message.len() as u64));
    group.sample_size(20);
    let mut target = vec![0u8; message.len()];
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            target.copy_from_slice(black_box(&message));
            black_box(&target);
        })
    });
    group.bench_function("sansmail client side", |b| {
        b.iter_batched(
            || BytesMut::from(&wire[..]),
            ours_read_retr,
            BatchSize::LargeInput,
        )
    });
    group.bench_function("pop3-codec response_retr (client side)", |b| {
        b.iter(|| peer_read_retr(black_box(&wire)))
    });
    group.bench_function(
        "sansmail server+client sessions (both sides, no peer)",
        |b| b.iter(|| retr_through_sessions(black_box(&message))),
    );
    group.finish();
}

criterion_group!(benches, commands, retr);
criterion_main!(benches);
