//! The IMAP client session fed an arbitrary server in arbitrary chunks:
//! no panic, no hang; once ready it keeps issuing commands.

use std::time::{Duration, Instant};

use sansmail_imap::Output;
use sansmail_imap::client::{Config, Event, Session, TlsPolicy};
use sansmail_imap::types::{CommandBody, Mailbox, SelectParams};

fn drain(session: &mut Session, now: Instant) -> bool {
    for _ in 0..100_000 {
        match session.poll_output() {
            Output::Transmit(bytes) => assert!(!bytes.is_empty()),
            Output::Event(Event::Ready { .. }) => {
                let _ = session.command(
                    now,
                    CommandBody::Select {
                        mailbox: Mailbox::inbox(),
                        params: SelectParams::default(),
                    },
                );
                let _ = session.idle(now);
            }
            Output::Event(Event::Continue { .. }) => {
                let _ = session.done(now);
            }
            Output::Event(_) => {}
            Output::StartTls => session.handle_tls_started(now),
            Output::Timeout(_) => return true,
            Output::Closed => return false,
        }
    }
    panic!("the session did not settle");
}

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Some((&sizes, data)) = data.split_first() else {
        return;
    };
    let mut config = Config::password("alice", "secret");
    config.tls = if sizes & 0x80 != 0 {
        TlsPolicy::Opportunistic
    } else {
        TlsPolicy::Disabled
    };
    config.allow_plaintext_auth = true;
    config.max_line = 300;
    config.max_literal = 200;
    config.stream_over = 20;
    config.max_depth = 8;
    let mut now = Instant::now();
    let mut session = Session::new(config, now);
    let chunk = usize::from(sizes % 16) + 1;
    let mut open = drain(&mut session, now);
    for piece in data.chunks(chunk) {
        if !open {
            break;
        }
        session.handle_input(now, piece);
        open = drain(&mut session, now);
    }
    if open {
        now += Duration::from_secs(3600);
        session.handle_timeout(now);
        drain(&mut session, now);
    }
}
