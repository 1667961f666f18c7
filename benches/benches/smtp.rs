//! sansmail-smtp beside Stalwart's smtp-proto 0.2.5 on the same inputs:
//! command parsing, DATA unstuffing, and whole server sessions.
#![allow(missing_docs)] // criterion_group! makes an undocumented function

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sansmail_smtp::Output;
use sansmail_smtp::codec::Command;
use sansmail_smtp::data::{DataStep, DotUnstuffer};
use sansmail_smtp::server::{Config, Event, Session};

const MAIL: &[u8] = b"MAIL FROM:<sender.name@example.com> SIZE=123456 BODY=8BITMIME RET=HDRS ENVID=QQ314159 SMTPUTF8\r\n";
const RCPT: &[u8] = b"RCPT TO:<recipient.one@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;recipient.one@example.org\r\n";
const SESSION_MIX: &[u8] = b"EHLO client.example.com\r\n\
MAIL FROM:<alice@example.com> SIZE=4096 BODY=8BITMIME\r\n\
RCPT TO:<bob@example.org>\r\n\
RCPT TO:<carol@example.org> NOTIFY=FAILURE\r\n\
RCPT TO:<dave@example.org>\r\n\
DATA\r\n\
RSET\r\n\
NOOP\r\n\
AUTH PLAIN AHVzZXIAcGFzc3dvcmQ=\r\n\
STARTTLS\r\n\
VRFY postmaster\r\n\
QUIT\r\n";

fn count_commands(input: &[u8]) -> u64 {
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

/// The session's path: each read is appended to the session's receive
/// buffer (reused once the commands split from it are dropped), and every
/// line is split off it and parsed without further copies.
fn ours_parse_buf(buf: &mut BytesMut, input: &[u8]) -> usize {
    buf.extend_from_slice(input);
    let mut n = 0;
    while !buf.is_empty() {
        let cmd = Command::decode_buf(buf, 4096).expect("valid input");
        black_box(&cmd);
        n += 1;
    }
    n
}

fn stalwart_parse_all(input: &[u8]) -> usize {
    let mut it = input.iter();
    let mut n = 0;
    while it.len() > 0 {
        let req = stalwart_smtp_proto::Request::parse(&mut it).expect("valid input");
        black_box(&req);
        n += 1;
    }
    n
}

/// Stalwart's parse made owned, as a server must before handing commands to
/// an application that outlives the receive buffer (a reference row).
fn stalwart_parse_owned(input: &[u8]) -> usize {
    let mut it = input.iter();
    let mut n = 0;
    while it.len() > 0 {
        let req = stalwart_smtp_proto::Request::parse(&mut it)
            .expect("valid input")
            .into_owned();
        black_box(&req);
        n += 1;
    }
    n
}

fn command_parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("command_parse");
    for (name, input) in [
        ("mail_with_params", MAIL),
        ("rcpt_with_params", RCPT),
        ("session_mix", SESSION_MIX),
    ] {
        assert_eq!(ours_parse_all(input), stalwart_parse_all(input));
        group.throughput(Throughput::Elements(count_commands(input)));
        let mut buf = BytesMut::with_capacity(4096);
        assert_eq!(ours_parse_buf(&mut buf, input), stalwart_parse_all(input));
        group.bench_with_input(BenchmarkId::new("sansmail", name), input, |b, i| {
            b.iter(|| ours_parse_buf(&mut buf, black_box(i)))
        });
        group.bench_with_input(
            BenchmarkId::new("sansmail_slice_api", name),
            input,
            |b, i| b.iter(|| ours_parse_all(black_box(i))),
        );
        group.bench_with_input(BenchmarkId::new("stalwart", name), input, |b, i| {
            b.iter(|| stalwart_parse_all(black_box(i)))
        });
        group.bench_with_input(BenchmarkId::new("stalwart_owned", name), input, |b, i| {
            b.iter(|| stalwart_parse_owned(black_box(i)))
        });
    }
    group.finish();
}

/// About 1 MB of mail-like lines, some starting with a dot, then the end of
/// data. The first line has no dot: smtp-proto 0.2.5 does not unstuff a dot on
/// the first line of a message (RFC 5321 §4.5.2 says to), and the outputs
/// must match.
fn data_body() -> Vec<u8> {
    let mut body = Vec::with_capacity(1 << 20);
    let mut i = 0u32;
    while body.len() < 1_000_000 {
        if i % 50 == 49 {
            body.extend_from_slice(b"..a line that begins with a stuffed dot\r\n");
        } else {
            body.extend_from_slice(b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor\r\n");
        }
        i += 1;
    }
    body.extend_from_slice(b".\r\n");
    body
}

fn ours_unstuff(reads: &[&[u8]]) -> usize {
    let mut buf = BytesMut::new();
    let mut dec = DotUnstuffer::new();
    let mut total = 0;
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            match dec.decode(&mut buf) {
                DataStep::Chunk(c) => total += c.len(),
                DataStep::NeedMore => break,
                DataStep::End => return total,
                DataStep::BareLineEnding => panic!("bad input"),
            }
        }
    }
    total
}

fn stalwart_unstuff(reads: &[&[u8]]) -> usize {
    let mut rx = stalwart_smtp_proto::request::receiver::DataReceiver::new();
    let mut out = Vec::with_capacity(1 << 20);
    for read in reads {
        if rx.ingest(&mut read.iter(), &mut out) {
            return out.len();
        }
    }
    out.len()
}

fn data_unstuffing(c: &mut Criterion) {
    let body = data_body();
    let whole: Vec<&[u8]> = vec![&body];
    let reads: Vec<&[u8]> = body.chunks(64 * 1024).collect();
    assert_eq!(ours_unstuff(&whole), stalwart_unstuff(&whole));
    let mut group = c.benchmark_group("data_unstuff_1MB");
    group.throughput(Throughput::Bytes(body.len() as u64));
    for (name, input) in [("one_buffer", &whole), ("64KiB_reads", &reads)] {
        group.bench_with_input(BenchmarkId::new("sansmail", name), input, |b, i| {
            b.iter(|| ours_unstuff(black_box(i)))
        });
        group.bench_with_input(BenchmarkId::new("stalwart", name), input, |b, i| {
            b.iter(|| stalwart_unstuff(black_box(i)))
        });
    }
    group.finish();
}

/// A whole SMTP session with a 4 KB message, fed from memory in one read.
fn session_input() -> Vec<u8> {
    let mut s = b"EHLO client.example.com\r\nMAIL FROM:<alice@example.com> SIZE=4096\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n".to_vec();
    for _ in 0..52 {
        s.extend_from_slice(
            b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tem\r\n",
        );
    }
    s.extend_from_slice(b".\r\nQUIT\r\n");
    s
}

fn run_session(input: &[u8], now: Instant) -> usize {
    let mut session = Session::new(Config::default(), now);
    let mut sent = 0;
    let mut fed = false;
    loop {
        match session.poll_output() {
            Output::Transmit(b) => sent += b.len(),
            Output::Event(Event::DataChunk(c)) => {
                black_box(&c);
            }
            Output::Event(e) => {
                if let Some(t) = e.ticket() {
                    session.accept(now, t).expect("pending");
                }
            }
            Output::Timeout(_) if !fed => {
                session.handle_input(now, input);
                fed = true;
            }
            Output::Timeout(_) | Output::StartTls => unreachable!("the input ends with QUIT"),
            Output::Closed => return sent,
        }
    }
}

fn server_sessions(c: &mut Criterion) {
    let input = session_input();
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut group = c.benchmark_group("server_session");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sansmail/ehlo_mail_2rcpt_4KB_quit", |b| {
        b.iter(|| run_session(black_box(&input), now))
    });
    group.finish();
}

criterion_group!(benches, command_parsing, data_unstuffing, server_sessions);
criterion_main!(benches);
