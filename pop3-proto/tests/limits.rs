//! Every limit gives a precise -ERR and keeps what was already accepted.
// The tests play the application, which owns the clock: one real Instant starts the virtual clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Server, replay};
use sansmail_pop3::Output;
use sansmail_pop3::server::{AnswerError, BodyFlow, Config, Event, MessageInfo, Session};
use sansmail_pop3::types::{Response, UniqueId};

fn logged_in() -> Server {
    let mut s = Server::rfc1939();
    s.drain();
    s.feed(b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
    assert!(s.session.is_authenticated());
    s
}

#[test]
fn over_long_line_is_refused_and_the_session_goes_on() {
    let mut s = logged_in();
    s.feed(b"DELE 1\r\n");
    let long = format!("LIST {}\r\n", "1".repeat(300));
    assert_eq!(s.feed(long.as_bytes()), "-ERR Line too long\r\n");
    // The same line arriving in pieces longer than any buffer limit.
    let mut out = s.feed(&[b'X'; 20_000]);
    out += &s.feed(b"\r\nSTAT\r\n");
    assert_eq!(out, "-ERR Line too long\r\n+OK 1 200\r\n");
    // The DELE from before the errors still holds.
    s.feed(b"QUIT\r\n");
    assert_eq!(s.removed, vec![1]);
}

#[test]
fn a_command_line_fits_exactly_255_octets() {
    let mut s = Server::rfc1939();
    s.drain();
    let user = "u".repeat(255 - "USER \r\n".len());
    assert_eq!(
        s.feed(format!("USER {user}\r\n").as_bytes()),
        "+OK Send PASS\r\n"
    );
    let user = "u".repeat(256 - "USER \r\n".len());
    assert_eq!(
        s.feed(format!("USER {user}\r\n").as_bytes()),
        "-ERR Line too long\r\n"
    );
}

#[test]
fn bare_line_endings_and_nul_are_refused() {
    let mut s = logged_in();
    assert_eq!(
        s.feed(b"DELE 1\nSTAT\r\n"),
        "-ERR Bare CR or LF not allowed\r\n+OK 2 320\r\n"
    );
    assert_eq!(
        s.feed(b"DELE 1\rX\r\n"),
        "-ERR Bare CR or LF not allowed\r\n"
    );
    assert_eq!(s.feed(b"DELE \x001\r\n"), "-ERR NUL byte not allowed\r\n");
    replay(
        &mut s,
        "C: STAT
         S: +OK 2 320",
    );
}

#[test]
fn too_many_errors_close_the_session() {
    let config = Config {
        login_requires_tls: false,
        max_errors: 3,
        ..Config::default()
    };
    let mut s = Server::new(config, &[]);
    s.drain();
    let out = s.feed(
        b"USER mrose\r\nPASS a\r\nUSER mrose\r\nPASS b\r\nUSER mrose\r\nPASS c\r\nUSER mrose\r\n",
    );
    assert_eq!(
        out,
        "+OK Send PASS\r\n-ERR [AUTH] invalid credentials\r\n\
         +OK Send PASS\r\n-ERR [AUTH] invalid credentials\r\n\
         +OK Send PASS\r\n-ERR [AUTH] invalid credentials\r\n\
         -ERR Too many errors, closing connection\r\n"
    );
    assert!(s.closed);
}

#[test]
fn autologout_closes_silently_after_ten_minutes() {
    let mut s = logged_in();
    s.feed(b"DELE 1\r\n");
    let Output::Timeout(Some(deadline)) = s.session.poll_output() else {
        panic!("an idle session has a deadline");
    };
    assert!(deadline >= s.now + Duration::from_secs(600));
    s.session.handle_timeout(deadline - Duration::from_secs(1));
    assert_eq!(s.drain(), "");
    assert!(!s.closed);
    s.session.handle_timeout(deadline);
    // RFC 1939 §3: no response, and the UPDATE state is not entered.
    assert_eq!(s.drain(), "");
    assert!(s.closed);
    assert!(!s.events.iter().any(|e| matches!(e, Event::Update { .. })));
}

#[test]
fn input_piling_up_while_the_application_decides_closes_after_the_answer() {
    let config = Config {
        login_requires_tls: false,
        ..Config::default()
    };
    let now = Instant::now();
    let mut session = Session::new(config, now);
    let Output::Event(Event::Connected { ticket }) = session.poll_output() else {
        panic!()
    };
    session.accept(now, ticket).unwrap();
    session.handle_input(now, b"USER a\r\nPASS b\r\n");
    let ticket = loop {
        match session.poll_output() {
            Output::Event(Event::Login { ticket, .. }) => break ticket,
            Output::Transmit(_) => {}
            other => panic!("{other:?}"),
        }
    };
    while let Output::Transmit(_) = session.poll_output() {}
    session.handle_input(now, &vec![b'N'; 100_000]);
    session.open(now, ticket, Vec::new()).unwrap();
    let mut wire = Vec::new();
    let closed = loop {
        match session.poll_output() {
            Output::Transmit(b) => wire.extend_from_slice(&b),
            Output::Closed => break true,
            other => panic!("{other:?}"),
        }
    };
    assert!(closed);
    assert_eq!(
        String::from_utf8(wire).unwrap(),
        "+OK maildrop has 0 messages (0 octets)\r\n-ERR Too much input while busy, closing connection\r\n"
    );
}

#[test]
fn sasl_lines_have_their_own_limit() {
    let config = Config {
        implicit_tls: true,
        max_auth_line_length: 400,
        ..Config::default()
    };
    let mut s = Server::new(config, &[]);
    s.drain();
    // Longer than the command limit, within the SASL one: accepted.
    let token = "A".repeat(300);
    let out = s.feed(format!("AUTH PLAIN {token}\r\n").as_bytes());
    assert_eq!(out, "-ERR Malformed SASL response\r\n");
    let token = "A".repeat(400);
    let out = s.feed(format!("AUTH PLAIN {token}\r\n").as_bytes());
    assert_eq!(out, "-ERR Line too long\r\n");
    // Other commands keep the 255-octet limit.
    let out = s.feed(format!("USER {}\r\n", "u".repeat(300)).as_bytes());
    assert_eq!(out, "-ERR Line too long\r\n");
    assert_eq!(s.feed(b"AUTH PLAIN\r\n"), "+ \r\n");
    assert_eq!(
        s.feed(format!("{}\r\n", "A".repeat(500)).as_bytes()),
        "-ERR Line too long\r\n"
    );
    assert_eq!(
        s.feed(b"AUTH PLAIN AG1yb3NlAHRhbnN0YWFm\r\n"),
        "+OK maildrop has 0 messages (0 octets)\r\n"
    );
}

#[test]
fn answers_out_of_turn_are_typed_errors() {
    let config = Config {
        login_requires_tls: false,
        ..Config::default()
    };
    let now = Instant::now();
    let mut session = Session::new(config, now);
    let Output::Event(Event::Connected { ticket: greeting }) = session.poll_output() else {
        panic!()
    };
    assert_eq!(
        session.reject(now, greeting, Response::ok("fine").unwrap()),
        Err(AnswerError::NotNegative)
    );
    session.accept(now, greeting).unwrap();
    assert_eq!(
        session.accept(now, greeting),
        Err(AnswerError::UnknownTicket)
    );
    session.handle_input(now, b"USER a\r\nPASS b\r\n");
    let login = loop {
        match session.poll_output() {
            Output::Event(Event::Login { ticket, .. }) => break ticket,
            Output::Transmit(_) => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        session.accept(now, login),
        Err(AnswerError::MaildropRequired)
    );
    assert_eq!(
        session.write_body(login, Bytes::new()),
        Err(AnswerError::NoBody)
    );
    let uid = UniqueId::new("1").unwrap();
    session
        .open(now, login, vec![MessageInfo { size: 3, uid }])
        .unwrap();
    assert_eq!(
        session.open(now, login, Vec::new()),
        Err(AnswerError::UnknownTicket)
    );
    session.handle_input(now, b"TOP 1 0\r\n");
    let retrieve = loop {
        match session.poll_output() {
            Output::Event(Event::Retrieve { ticket, .. }) => break ticket,
            Output::Transmit(_) => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        session.open(now, retrieve, Vec::new()),
        Err(AnswerError::NotALogin)
    );
    assert_eq!(session.finish_body(now, retrieve), Err(AnswerError::NoBody));
    session.accept(now, retrieve).unwrap();
    assert_eq!(
        session.accept(now, retrieve),
        Err(AnswerError::UnknownTicket)
    );
    assert_eq!(
        session.write_body(retrieve, Bytes::from_static(b"A: b\r\n\r\nbody\r\n")),
        Ok(BodyFlow::Enough)
    );
    session.finish_body(now, retrieve).unwrap();
    assert_eq!(session.finish_body(now, retrieve), Err(AnswerError::NoBody));
}

#[test]
fn a_refused_retrieve_keeps_the_session() {
    let config = Config {
        login_requires_tls: false,
        ..Config::default()
    };
    let now = Instant::now();
    let mut session = Session::new(config, now);
    let mut wire = Vec::new();
    session.handle_input(now, b"USER a\r\nPASS b\r\nRETR 1\r\nSTAT\r\n");
    loop {
        match session.poll_output() {
            Output::Event(Event::Connected { ticket }) => session.accept(now, ticket).unwrap(),
            Output::Event(Event::Login { ticket, .. }) => {
                let uid = UniqueId::new("1").unwrap();
                session
                    .open(now, ticket, vec![MessageInfo { size: 3, uid }])
                    .unwrap()
            }
            Output::Event(Event::Retrieve { ticket, .. }) => {
                let gone = Response::err(
                    Some(sansmail_pop3::types::ResponseCode::SysTemp),
                    "message cannot be read",
                )
                .unwrap();
                session.reject(now, ticket, gone).unwrap()
            }
            Output::Transmit(b) => wire.extend_from_slice(&b),
            Output::Timeout(_) => break,
            other => panic!("{other:?}"),
        }
    }
    let wire = String::from_utf8(wire).unwrap();
    assert!(
        wire.ends_with("-ERR [SYS/TEMP] message cannot be read\r\n+OK 1 3\r\n"),
        "{wire}"
    );
}

#[test]
fn without_pipelining_queued_commands_are_refused() {
    let config = Config {
        login_requires_tls: false,
        pipelining: false,
        ..Config::default()
    };
    let mut s = Server::new(config, &[]);
    s.drain();
    assert_eq!(s.feed(b"USER mrose\r\n"), "+OK Send PASS\r\n");
    assert_eq!(
        s.feed(b"PASS tanstaaf\r\nSTAT\r\n"),
        "-ERR Pipelining is not offered\r\n"
    );
    assert!(!s.session.is_authenticated());
    assert_eq!(s.feed(b"CAPA\r\n").matches("PIPELINING").count(), 0);
}

#[test]
fn the_idle_timer_starts_again_when_the_application_answers() {
    let now = Instant::now();
    let config = Config::default();
    let idle = config.idle_timeout;
    let mut session = Session::new(config, now);
    let Output::Event(Event::Connected { ticket }) = session.poll_output() else {
        panic!()
    };
    // The application takes four minutes to decide on the greeting.
    let answered = now + Duration::from_secs(240);
    session.accept(answered, ticket).unwrap();
    assert!(matches!(session.poll_output(), Output::Transmit(b) if b.starts_with(b"+OK")));
    assert_eq!(
        session.poll_output(),
        Output::Timeout(Some(answered + idle))
    );
    // Past the client's last byte plus the idle time, but not past the answer.
    session.handle_timeout(now + idle + Duration::from_secs(1));
    assert_eq!(
        session.poll_output(),
        Output::Timeout(Some(answered + idle))
    );
}
