//! A POP3 server session fed arbitrary chunked bytes never panics or loops,
//! and closes cleanly. The first byte steers the configuration and answers.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::pieces;
use sansmail_pop3::Output;
use sansmail_pop3::sasl::Mechanism;
use sansmail_pop3::server::{Config, Event, MessageInfo, Session};
use sansmail_pop3::types::{Response, ResponseCode, UniqueId};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Some((&knobs, mut rest)) = data.split_first() else {
        return;
    };
    let config = Config {
        stls: true,
        implicit_tls: knobs & 1 != 0,
        login_requires_tls: knobs & 2 != 0,
        pipelining: knobs & 4 == 0,
        auth_mechanisms: vec![
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::XOAuth2,
            Mechanism::OAuthBearer,
        ],
        languages: vec![("en".into(), "English".into())],
        max_line_length: 120,
        max_auth_line_length: 300,
        ..Config::default()
    };
    let messages = [
        Bytes::from_static(b"A: b\r\n\r\n.dot\r\nbody\n"),
        Bytes::from_static(b"no header end\r"),
    ];
    let mut now = Instant::now();
    let mut session = Session::new(config, now);
    let mut decisions = 0u32;
    let mut closed = false;
    loop {
        let mut polls = 0;
        loop {
            polls += 1;
            assert!(polls < 100_000, "poll_output does not settle");
            match session.poll_output() {
                Output::Event(event) => {
                    decisions += 1;
                    let refuse = decisions.is_multiple_of(4);
                    let no = Response::err(Some(ResponseCode::SysTemp), "no").unwrap();
                    match event {
                        Event::Login { ticket, .. }
                        | Event::Apop { ticket, .. }
                        | Event::Auth { ticket, .. } => {
                            if refuse {
                                let _ = session.reject(now, ticket, no);
                            } else {
                                let maildrop = (0..2)
                                    .map(|i| MessageInfo {
                                        size: messages[i].len() as u64,
                                        uid: UniqueId::new(format!("u{i}")).unwrap(),
                                    })
                                    .collect();
                                let _ = session.open(now, ticket, maildrop);
                            }
                        }
                        Event::Retrieve {
                            ticket, message, ..
                        } => {
                            if refuse {
                                let _ = session.reject(now, ticket, no);
                            } else {
                                let _ = session.accept(now, ticket);
                                let body = &messages[(message as usize - 1) % 2];
                                for piece in body.chunks(3) {
                                    let _ =
                                        session.write_body(ticket, Bytes::copy_from_slice(piece));
                                }
                                let _ = session.finish_body(now, ticket);
                            }
                        }
                        other => {
                            if let Some(t) = other.ticket() {
                                if refuse {
                                    let _ = session.reject(now, t, no);
                                } else {
                                    let _ = session.accept(now, t);
                                }
                            }
                        }
                    }
                }
                Output::StartTls => session.handle_tls_started(now),
                Output::Transmit(_) => {}
                Output::Timeout(_) => break,
                Output::Closed => {
                    closed = true;
                    break;
                }
            }
        }
        if closed || rest.is_empty() {
            break;
        }
        let (piece, jump_clock) = pieces::next_piece(&mut rest);
        if jump_clock {
            now += Duration::from_secs(601);
            session.handle_timeout(now);
        }
        session.handle_input(now, piece);
    }
    if !closed {
        session.handle_eof(now);
        let mut polls = 0;
        while session.poll_output() != Output::Closed {
            polls += 1;
            assert!(polls < 100_000, "no close after EOF");
        }
    }
    assert_eq!(session.poll_output(), Output::Closed);
}
