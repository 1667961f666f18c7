//! sansmail-smtp beside Stalwart's smtp-proto 0.2.5 on the same inputs
//! (`sansmail_benches::smtp_inputs`): 10,000 commands, 5,000 replies, a
//! 1 MiB DATA body, and whole server sessions. Before timing, each
//! benchmark checks that both read every input to the same values.
//! Commands are timed in both our forms: `sansmail` is the session's path
//! (values sharing the receive buffer), `sansmail-borrowed` borrows its
//! values from the input as smtp-proto's `Request<Cow<str>>` does.
#![allow(missing_docs)] // criterion_group! makes an undocumented function

#[path = "../shared/smtp_passes.rs"]
mod smtp_passes;

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sansmail_smtp::Output;
use sansmail_smtp::codec::{BorrowedReply, Command};
use sansmail_smtp::data::{DataStep, DotUnstuffer};
use sansmail_smtp::server::{Config, Event, Session};
use sansmail_smtp::types::Reply;

/// What a command says, in one form both parsers' results map to, so the
/// benchmark can check they read every input the same before timing them.
#[derive(Debug, PartialEq)]
enum Said {
    Hello(&'static str, String),
    Mail {
        from: String,
        size: u64,
        flags: u64,
        env_id: Option<String>,
    },
    Rcpt {
        to: String,
        notify: u64,
        orcpt: Option<String>,
    },
    Bare(&'static str),
    Text(&'static str, String),
    Bdat(u64, bool),
    Auth(&'static str, Option<Vec<u8>>),
}

fn ours_said<S: AsRef<str> + std::fmt::Debug>(c: &Command<S>) -> Said {
    use sansmail_smtp::types::{BodyType, DsnReturn, MailParameter, RcptParameter};
    use stalwart_smtp_proto as st;
    let text = |t: &Option<S>| t.as_ref().map_or(String::new(), |t| t.as_ref().to_owned());
    match c {
        Command::Ehlo(h) => Said::Hello("EHLO", h.to_string()),
        Command::Helo(h) => Said::Hello("HELO", h.to_string()),
        Command::Lhlo(h) => Said::Hello("LHLO", h.to_string()),
        Command::Mail { from, params } => {
            let (mut size, mut flags, mut env_id) = (0, 0, None);
            for p in params {
                match p {
                    MailParameter::Size(n) => size = *n,
                    MailParameter::Body(BodyType::EightBitMime) => flags |= st::MAIL_BODY_8BITMIME,
                    MailParameter::Body(BodyType::SevenBit) => flags |= st::MAIL_BODY_7BIT,
                    MailParameter::Body(BodyType::BinaryMime) => flags |= st::MAIL_BODY_BINARYMIME,
                    MailParameter::SmtpUtf8 => flags |= st::MAIL_SMTPUTF8,
                    MailParameter::Ret(DsnReturn::Full) => flags |= st::MAIL_RET_FULL,
                    MailParameter::Ret(DsnReturn::Headers) => flags |= st::MAIL_RET_HDRS,
                    MailParameter::EnvId(id) => env_id = Some(id.as_ref().to_owned()),
                    other => panic!("not in the input: {other:?}"),
                }
            }
            let from = from.mailbox().map_or(String::new(), |m| m.to_string());
            Said::Mail {
                from,
                size,
                flags,
                env_id,
            }
        }
        Command::Rcpt { to, params } => {
            let (mut notify, mut orcpt) = (0, None);
            for p in params {
                match p {
                    RcptParameter::Notify(n) if n.is_never() => notify |= st::RCPT_NOTIFY_NEVER,
                    RcptParameter::Notify(n) => {
                        notify |= if n.success {
                            st::RCPT_NOTIFY_SUCCESS
                        } else {
                            0
                        } | if n.failure {
                            st::RCPT_NOTIFY_FAILURE
                        } else {
                            0
                        } | if n.delay { st::RCPT_NOTIFY_DELAY } else { 0 }
                    }
                    RcptParameter::Orcpt { address, .. } => {
                        orcpt = Some(address.as_ref().to_owned())
                    }
                    other => panic!("not in the input: {other:?}"),
                }
            }
            let to = to
                .mailbox()
                .map_or("Postmaster".to_owned(), |m| m.to_string());
            Said::Rcpt { to, notify, orcpt }
        }
        Command::Data => Said::Bare("DATA"),
        Command::Rset => Said::Bare("RSET"),
        Command::Quit => Said::Bare("QUIT"),
        Command::StartTls => Said::Bare("STARTTLS"),
        Command::Noop(t) => Said::Text("NOOP", text(t)),
        Command::Help(t) => Said::Text("HELP", text(t)),
        Command::Vrfy(t) => Said::Text("VRFY", t.as_ref().to_owned()),
        Command::Expn(t) => Said::Text("EXPN", t.as_ref().to_owned()),
        Command::Bdat { size, last } => Said::Bdat(*size, *last),
        Command::Auth {
            mechanism,
            initial_response,
        } => Said::Auth(
            match mechanism.to_string().as_str() {
                "PLAIN" => "PLAIN",
                "LOGIN" => "LOGIN",
                other => panic!("not in the input: {other}"),
            },
            initial_response.as_ref().map(|r| r.expose().clone()),
        ),
        other => panic!("not in the input: {other:?}"),
    }
}

fn stalwart_said(r: &stalwart_smtp_proto::Request<std::borrow::Cow<'_, str>>) -> Said {
    use base64::Engine as _;
    use stalwart_smtp_proto as st;
    match r {
        st::Request::Ehlo { host } => Said::Hello("EHLO", host.to_string()),
        st::Request::Helo { host } => Said::Hello("HELO", host.to_string()),
        st::Request::Lhlo { host } => Said::Hello("LHLO", host.to_string()),
        st::Request::Mail { from } => Said::Mail {
            from: from.address.to_string(),
            size: from.size as u64,
            flags: from.flags,
            env_id: from.env_id.as_ref().map(|e| e.to_string()),
        },
        st::Request::Rcpt { to } => Said::Rcpt {
            to: to.address.to_string(),
            notify: to.flags,
            orcpt: to.orcpt.as_ref().map(|o| o.to_string()),
        },
        st::Request::Data => Said::Bare("DATA"),
        st::Request::Rset => Said::Bare("RSET"),
        st::Request::Quit => Said::Bare("QUIT"),
        st::Request::StartTls => Said::Bare("STARTTLS"),
        st::Request::Noop { value } => Said::Text("NOOP", value.to_string()),
        st::Request::Help { value } => Said::Text("HELP", value.to_string()),
        st::Request::Vrfy { value } => Said::Text("VRFY", value.to_string()),
        st::Request::Expn { value } => Said::Text("EXPN", value.to_string()),
        st::Request::Bdat {
            chunk_size,
            is_last,
        } => Said::Bdat(*chunk_size as u64, *is_last),
        st::Request::Auth {
            mechanism,
            initial_response,
        } => Said::Auth(
            match *mechanism {
                st::AUTH_PLAIN => "PLAIN",
                st::AUTH_LOGIN => "LOGIN",
                other => panic!("not in the input: {other}"),
            },
            match initial_response.as_ref() {
                "" => None,
                "=" => Some(Vec::new()),
                b64 => Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .unwrap(),
                ),
            },
        ),
        other => panic!("not in the input: {}", other.name()),
    }
}

/// Both parsers read every command of `input` to the same values, and
/// so does our borrowed form.
fn assert_same_commands(input: &[u8]) {
    let mut ours = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let (r, cmd) = Command::decode(rest).expect("valid input");
        ours.push(ours_said(&cmd));
        rest = r;
    }
    let mut borrowed = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let (r, cmd) = Command::decode_borrowed(rest, 4096).expect("valid input");
        borrowed.push(ours_said(&cmd));
        rest = r;
    }
    assert_eq!(ours, borrowed, "the borrowed form reads differently");
    let mut theirs = Vec::new();
    let mut it = input.iter();
    while it.len() > 0 {
        let req = stalwart_smtp_proto::Request::parse(&mut it).expect("valid input");
        theirs.push(stalwart_said(&req));
    }
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "command {i} read differently");
    }
}

/// The session's path: each read is appended to the session's receive
/// buffer (reused once the commands split from it are dropped), and every
/// line is split off it and parsed without further copies. The copy into
/// the buffer is timed too.
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

fn command_parsing(c: &mut Criterion) {
    let input = sansmail_benches::smtp_inputs::commands(10_000);
    assert_same_commands(&input);
    let mut group = c.benchmark_group("command_parse");
    group.throughput(Throughput::Elements(10_000));
    let mut buf = BytesMut::with_capacity(input.len());
    assert_eq!(ours_parse_buf(&mut buf, &input), 10_000);
    assert_eq!(smtp_passes::borrowed_commands(&input), 10_000);
    group.bench_function("sansmail/10k_commands", |b| {
        b.iter(|| ours_parse_buf(&mut buf, black_box(&input)))
    });
    group.bench_function("sansmail-borrowed/10k_commands", |b| {
        b.iter(|| smtp_passes::borrowed_commands(black_box(&input)))
    });
    group.bench_function("stalwart/10k_commands", |b| {
        b.iter(|| smtp_passes::stalwart_commands(black_box(&input)))
    });
    group.finish();
}

/// Both parsers read every reply of `input` to the same code, enhanced
/// status and text (lines joined by LF, as smtp-proto gives them), and so
/// does our borrowed form.
fn assert_same_replies(input: &[u8]) {
    let (mut rest, mut borrowed_rest) = (input, input);
    let mut it = input.iter();
    let mut receiver = stalwart_smtp_proto::response::parser::ResponseReceiver::default();
    let mut n = 0;
    while !rest.is_empty() {
        let (r, ours) = Reply::decode(rest).expect("valid input");
        rest = r;
        let (r, borrowed) = BorrowedReply::decode(borrowed_rest, 64 * 1024).expect("valid input");
        borrowed_rest = r;
        let theirs = receiver.parse(&mut it).expect("valid input");
        receiver.reset();
        let status = ours.status().map_or([0, 0, 0], |s| {
            [s.class(), s.subject() as u8, s.detail() as u8]
        });
        assert_eq!(
            (ours.code().get(), status, ours.joined_text()),
            (theirs.code, theirs.esc, theirs.message.as_str()),
            "reply {n} read differently"
        );
        assert_eq!(
            (borrowed.code(), borrowed.status(), borrowed.text()),
            (ours.code(), ours.status(), ours.joined_text().into()),
            "reply {n} read differently by the borrowed form"
        );
        n += 1;
    }
    assert_eq!(it.len(), 0);
    assert!(borrowed_rest.is_empty());
}

fn reply_parsing(c: &mut Criterion) {
    let input = sansmail_benches::smtp_inputs::replies(5_000);
    assert_same_replies(&input);
    let n = smtp_passes::stalwart_replies(&input);
    assert_eq!(smtp_passes::owned_replies(&input), n);
    assert_eq!(smtp_passes::borrowed_replies(&input), n);
    let mut group = c.benchmark_group("reply_parse");
    group.throughput(Throughput::Elements(5_000));
    group.bench_function("sansmail/5k_replies", |b| {
        b.iter(|| smtp_passes::owned_replies(black_box(&input)))
    });
    group.bench_function("sansmail-borrowed/5k_replies", |b| {
        b.iter(|| smtp_passes::borrowed_replies(black_box(&input)))
    });
    group.bench_function("stalwart/5k_replies", |b| {
        b.iter(|| smtp_passes::stalwart_replies(black_box(&input)))
    });
    group.finish();
}

/// Feeds `reads` one after another through the receive buffer `buf` (the
/// copy into it stands for the socket read) and hands each chunk of
/// unstuffed body to `each`, as the server session does.
fn ours_unstuff(reads: &[&[u8]], buf: &mut BytesMut, mut each: impl FnMut(&[u8])) {
    let mut dec = DotUnstuffer::new();
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            match dec.decode(buf) {
                DataStep::Chunk(c) => each(&c),
                DataStep::NeedMore => break,
                DataStep::End => return,
                DataStep::BareLineEnding => panic!("bad input"),
            }
        }
    }
}

/// smtp-proto copies the unstuffed body into `out` (its only way to give it).
fn stalwart_unstuff(reads: &[&[u8]], out: &mut Vec<u8>) -> usize {
    let mut rx = stalwart_smtp_proto::request::receiver::DataReceiver::new();
    out.clear();
    for read in reads {
        if rx.ingest(&mut read.iter(), out) {
            break;
        }
    }
    out.len()
}

fn data_unstuffing(c: &mut Criterion) {
    let body = sansmail_benches::smtp_inputs::data_body(1 << 20);
    let whole: Vec<&[u8]> = vec![&body];
    let reads: Vec<&[u8]> = body.chunks(64 * 1024).collect();
    // Both give the same bytes, whole and in reads.
    let (mut buf, mut ours, mut theirs) = (BytesMut::new(), Vec::new(), Vec::new());
    for input in [&whole, &reads] {
        ours.clear();
        ours_unstuff(input, &mut buf, |c| ours.extend_from_slice(c));
        stalwart_unstuff(input, &mut theirs);
        assert_eq!(ours, theirs);
        assert!(buf.is_empty());
    }
    assert_eq!(
        smtp_passes::unstuff_in_place(BytesMut::from(&body[..])).0,
        theirs.len()
    );
    let mut group = c.benchmark_group("data_unstuff_1MiB");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("sansmail/one_buffer", |b| {
        b.iter_batched(
            || BytesMut::from(&body[..]),
            smtp_passes::unstuff_in_place,
            BatchSize::LargeInput,
        )
    });
    group.bench_function("stalwart/one_buffer", |b| {
        b.iter(|| stalwart_unstuff(black_box(&whole), &mut theirs))
    });
    let mut total = 0;
    group.bench_function("sansmail/64KiB_reads_copied_in", |b| {
        b.iter(|| ours_unstuff(black_box(&reads), &mut buf, |c| total += c.len()))
    });
    group.bench_function("stalwart/64KiB_reads", |b| {
        b.iter(|| stalwart_unstuff(black_box(&reads), &mut theirs))
    });
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

criterion_group!(
    benches,
    command_parsing,
    reply_parsing,
    data_unstuffing,
    server_sessions
);
criterion_main!(benches);
