//! A server session fed arbitrary chunked bytes never panics or loops, and
//! closes cleanly. The first bytes steer split sizes and the answers given.

use std::time::{Duration, Instant};

use crate::pieces;
use sansmail_smtp::server::{Config, Session};
use sansmail_smtp::types::{Mechanism, Reply};
use sansmail_smtp::{Mode, Output};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Some((&knobs, mut rest)) = data.split_first() else {
        return;
    };
    let config = Config {
        mode: if knobs & 1 == 0 {
            Mode::Smtp
        } else {
            Mode::Lmtp
        },
        starttls: true,
        implicit_tls: knobs & 2 != 0,
        auth_requires_tls: knobs & 4 != 0,
        auth_mechanisms: vec![
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::XOAuth2,
            Mechanism::OAuthBearer,
        ],
        max_message_size: 200,
        max_recipients: 3,
        max_line_length: 120,
        ..Config::default()
    };
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
                Output::Event(e) => {
                    if let Some(t) = e.ticket() {
                        decisions += 1;
                        if decisions.is_multiple_of(3) {
                            let _ =
                                session.reject(now, t, Reply::text(550, (5, 7, 1), "no").unwrap());
                        } else {
                            let _ = session.accept(now, t);
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
            now += Duration::from_secs(301);
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
