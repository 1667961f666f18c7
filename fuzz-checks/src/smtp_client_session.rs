//! A client session fed arbitrary chunked server bytes never panics or loops.

use std::time::{Duration, Instant};

use crate::pieces;
use sansmail_smtp::Output;
use sansmail_smtp::client::{ClientCredentials, Config, Envelope, Event, Session};
use sansmail_smtp::types::{ForwardPath, Host, Mailbox, ReversePath, Secret};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Some((&knobs, mut rest)) = data.split_first() else {
        return;
    };
    let mut config = Config::new(Host::parse("client.example").unwrap());
    config.allow_plaintext_auth = true;
    config.chunk_size = 16;
    config.chunking = knobs & 1 != 0;
    if knobs & 2 != 0 {
        config.credentials = Some(ClientCredentials::Password {
            username: "u".into(),
            password: Secret::new("p".into()),
        });
    }
    let mut now = Instant::now();
    let mut session = Session::new(config, now);
    let rcpt = |s: &str| ForwardPath::Mailbox(Mailbox::parse(s).unwrap());
    loop {
        let mut polls = 0;
        let mut closed = false;
        loop {
            polls += 1;
            assert!(polls < 100_000, "poll_output does not settle");
            match session.poll_output() {
                Output::Event(Event::Ready) => {
                    let env = Envelope::new(
                        ReversePath::Null,
                        [rcpt("a@x.example"), rcpt("b@x.example")],
                    )
                    .with_size(40);
                    let _ = session.send_mail(now, env);
                }
                Output::Event(Event::SendBody) => {
                    let _ = session.write_body(now, b".line one\r\nline two\n.\r\n");
                    let _ = session.finish_body(now);
                }
                Output::Event(Event::TransactionComplete(o)) => {
                    assert_eq!(o.len(), 2);
                    session.quit(now);
                }
                Output::StartTls => session.handle_tls_started(now),
                Output::Event(_) | Output::Transmit(_) => {}
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
}
