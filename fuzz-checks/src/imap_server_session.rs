//! The IMAP server session fed arbitrary bytes in arbitrary chunks, with an
//! application that accepts logins and answers every command: no panic, no
//! hang, and every answer the application gives is accepted in turn.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use sansmail_imap::Output;
use sansmail_imap::server::{Config, Event, SelectInfo, Session};
use sansmail_imap::types::{CommandBody, FetchValue, Flag, StatusKind};

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

fn drain(session: &mut Session, now: Instant) -> bool {
    for _ in 0..100_000 {
        match session.poll_output() {
            Output::Transmit(bytes) => assert!(!bytes.is_empty()),
            Output::Event(event) => match event {
                Event::Connected { ticket }
                | Event::Login { ticket, .. }
                | Event::AppendStart { ticket, .. } => session.accept(now, ticket).unwrap(),
                Event::AppendEnd { ticket } => session
                    .complete(now, ticket, StatusKind::Ok, None, "done")
                    .unwrap(),
                Event::Command { ticket, command } => match command {
                    CommandBody::Select { .. } | CommandBody::Examine { .. } => {
                        let info = SelectInfo {
                            uid_validity: nz(1),
                            uid_next: nz(4),
                            uids: vec![nz(1), nz(2), nz(3)],
                            flags: vec![Flag::Seen],
                            permanent_flags: Vec::new(),
                            highest_modseq: Some(5),
                            recent: 0,
                            first_unseen: None,
                            read_only: false,
                            changed: Vec::new(),
                            vanished: None,
                            mailbox_id: None,
                        };
                        session.selected(now, ticket, info).unwrap();
                    }
                    CommandBody::Fetch { uid, set, .. } => {
                        let targets = session.selected_mailbox().unwrap().resolve(&set, uid);
                        for (_, u) in targets {
                            session
                                .fetch(ticket, u, vec![FetchValue::Flags(vec![])])
                                .unwrap();
                        }
                        session
                            .complete(now, ticket, StatusKind::Ok, None, "done")
                            .unwrap();
                    }
                    CommandBody::Search { .. } => {
                        session.search_result(ticket, &[nz(2)], None).unwrap();
                        session
                            .complete(now, ticket, StatusKind::Ok, None, "done")
                            .unwrap();
                    }
                    CommandBody::Expunge { .. } => {
                        let _ = session.expunged(ticket, nz(2));
                        session
                            .complete(now, ticket, StatusKind::Ok, None, "done")
                            .unwrap();
                    }
                    _ => session
                        .complete(now, ticket, StatusKind::No, None, "no")
                        .unwrap(),
                },
                _ => {}
            },
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
    let mut config = Config::default();
    config.allow_plaintext_auth = true;
    config.max_line = 200;
    config.max_literal = 100;
    config.max_append = 1000;
    config.max_errors = 50;
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
