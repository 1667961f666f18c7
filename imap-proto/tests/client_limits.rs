//! The client session's limits: each gives a precise failure and a clean close.
#![allow(clippy::disallowed_methods)] // the virtual clock starts at now

use std::time::{Duration, Instant};

use sansmail_imap::Output;
use sansmail_imap::client::{ClientError, Config, Event, Session, TlsPolicy};
use sansmail_imap::types::{CommandBody, Untagged};

fn run(config: Config, server: &[&[u8]]) -> (Vec<Event>, bool) {
    let now = Instant::now();
    let mut session = Session::new(config, now);
    let mut events = Vec::new();
    let mut input = server;
    for _ in 0..1000 {
        match session.poll_output() {
            Output::Event(Event::Ready { .. }) => {
                events.push(Event::Untagged(Untagged::Exists(0)));
                session.command(now, CommandBody::Noop).unwrap();
            }
            Output::Event(e) => events.push(e),
            Output::Transmit(_) | Output::StartTls => {}
            Output::Timeout(_) => match input.split_first() {
                Some((next, rest)) => {
                    session.handle_input(now, next);
                    input = rest;
                }
                None => {
                    session.handle_timeout(now + Duration::from_secs(3600));
                }
            },
            Output::Closed => return (events, true),
        }
    }
    (events, false)
}

fn config() -> Config {
    let mut c = Config::password("alice", "secret");
    c.tls = TlsPolicy::Disabled;
    c.allow_plaintext_auth = true;
    c
}

const GREETING: &[u8] =
    b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\nA1 OK [CAPABILITY IMAP4rev1] in\r\n";

fn failure(events: &[Event]) -> Option<&ClientError> {
    events.iter().find_map(|e| match e {
        Event::Failed(f) => Some(f),
        _ => None,
    })
}

#[test]
fn response_line_too_long() {
    let mut c = config();
    c.max_line = 100;
    let long = format!("* OK {}\r\n", "x".repeat(200));
    let (events, closed) = run(c, &[GREETING, long.as_bytes()]);
    assert!(closed);
    assert_eq!(
        failure(&events),
        Some(&ClientError::Protocol("response line too long".into()))
    );
}

#[test]
fn literal_too_large() {
    let mut c = config();
    c.max_literal = 10;
    let (events, closed) = run(c, &[GREETING, b"* LIST () \".\" {11}\r\n"]);
    assert!(closed);
    assert_eq!(
        failure(&events),
        Some(&ClientError::Protocol("literal of 11 octets".into()))
    );
}

#[test]
fn nesting_too_deep() {
    let mut c = config();
    c.max_depth = 4;
    let deep = format!(
        "* 1 FETCH (BODYSTRUCTURE {}\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1{})\r\n",
        "(".repeat(6),
        ")".repeat(6)
    );
    let (events, closed) = run(c, &[GREETING, deep.as_bytes()]);
    assert!(closed);
    assert!(
        matches!(failure(&events), Some(ClientError::Protocol(m)) if m.contains("less nesting")),
        "{events:?}"
    );
}

#[test]
fn timeout_and_unknown_tags() {
    // No answer to NOOP: the session times out.
    let (events, closed) = run(config(), &[GREETING]);
    assert!(closed);
    assert_eq!(failure(&events), Some(&ClientError::Timeout));
    // A completion for a tag never sent.
    let (events, _) = run(config(), &[GREETING, b"Z9 OK what\r\n"]);
    assert!(
        matches!(failure(&events), Some(ClientError::Protocol(m)) if m.contains("unknown tag"))
    );
    // BYE out of the blue.
    let (events, _) = run(config(), &[GREETING, b"* BYE going down\r\n"]);
    assert!(matches!(failure(&events), Some(ClientError::Bye(_))));
}

#[test]
fn starttls_drops_what_the_server_sent_before_the_handshake() {
    let now = Instant::now();
    let mut c = Config::password("alice", "secret");
    c.tls = TlsPolicy::Required;
    let mut session = Session::new(c, now);
    let mut events = Vec::new();
    let mut upgraded = false;
    let mut input: &[&[u8]] = &[
        b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n",
        // An attacker appends a forged response after the OK to STARTTLS.
        b"A1 OK begin TLS\r\n* 99 EXISTS\r\n",
        b"* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\nA2 OK done\r\nA3 OK [CAPABILITY IMAP4rev1] in\r\n",
    ];
    for _ in 0..100 {
        match session.poll_output() {
            Output::Event(e) => events.push(e),
            Output::StartTls => {
                upgraded = true;
                session.handle_tls_started(now);
            }
            Output::Transmit(_) => {}
            Output::Timeout(_) => match input.split_first() {
                Some((next, rest)) => {
                    session.handle_input(now, next);
                    input = rest;
                }
                None => break,
            },
            Output::Closed => break,
        }
    }
    assert!(upgraded && session.is_tls());
    assert!(
        events.iter().any(|e| matches!(e, Event::Ready { .. })),
        "{events:?}"
    );
    assert!(
        !events.contains(&Event::Untagged(Untagged::Exists(99))),
        "{events:?}"
    );
}
