//! sansmail-pop3 beside pop3-codec 0.3.0 on the same inputs: command
//! parsing, and a 10 MB RETR through our server and client sessions beside
//! a plain memcpy of the same bytes and pop3-codec's RETR response parser.
#![allow(missing_docs)] // criterion_group! makes an undocumented function

use std::hint::black_box;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sansmail_pop3::Output;
use sansmail_pop3::client;
use sansmail_pop3::codec::Command;
use sansmail_pop3::multiline::BodyEncoder;
use sansmail_pop3::server::{self, MessageInfo};
use sansmail_pop3::types::UniqueId;

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

fn commands(c: &mut Criterion) {
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

fn retr(c: &mut Criterion) {
    let message = big_message();
    assert_eq!(retr_through_sessions(&message), message.len());
    // The same RETR response as wire bytes, for pop3-codec.
    let mut wire = BytesMut::from(&b"+OK message follows\r\n"[..]);
    let mut enc = BodyEncoder::new();
    wire.extend_from_slice(&enc.encode(message.clone()));
    enc.finish(&mut wire);
    let wire = wire.freeze();

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
    group.bench_function("sansmail server+client sessions", |b| {
        b.iter(|| retr_through_sessions(black_box(&message)))
    });
    group.bench_function("pop3-codec response_retr (client side only)", |b| {
        b.iter(|| {
            let (_, r) = pop3_codec::parse::response_retr(black_box(&wire)).expect("valid");
            black_box(r);
        })
    });
    group.finish();
}

criterion_group!(benches, commands, retr);
criterion_main!(benches);
