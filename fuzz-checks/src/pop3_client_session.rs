//! A POP3 client session fed arbitrary chunked server bytes never panics or
//! loops, and ends closed after EOF. The first byte steers the configuration.

use std::time::{Duration, Instant};

use crate::pieces;
use sansmail_pop3::Output;
use sansmail_pop3::client::{Config, Event, Session, TlsPolicy};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Some((&knobs, mut rest)) = data.split_first() else {
        return;
    };
    let mut config = Config::password("alice", "pw");
    config.tls = match knobs % 3 {
        0 => TlsPolicy::Disabled,
        1 => TlsPolicy::Opportunistic,
        _ => TlsPolicy::Required,
    };
    config.allow_plaintext_auth = knobs & 4 != 0;
    config.apop = knobs & 8 != 0;
    config.pipelining = knobs & 16 != 0;
    config.max_line_length = 200;
    let mut now = Instant::now();
    let mut session = Session::new(config, now);
    let mut closed = false;
    loop {
        let mut polls = 0;
        loop {
            polls += 1;
            assert!(polls < 100_000, "poll_output does not settle");
            match session.poll_output() {
                Output::Event(Event::Ready { .. }) => {
                    let _ = session.stat(now);
                    let _ = session.uidl(now, None);
                    let _ = session.list(now, Some(1));
                    let _ = session.retr(now, 1);
                    let _ = session.top(now, 2, 3);
                    let _ = session.dele(now, 1);
                    let _ = session.quit(now);
                }
                Output::Event(_) | Output::Transmit(_) => {}
                Output::StartTls => session.handle_tls_started(now),
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
}
