//! Our client against our server, in memory.
// The tests play the application, which owns the clock: one real Instant starts the virtual clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Instant;

use common::{PASSWORD, Server, USER};
use sansmail_pop3::Output;
use sansmail_pop3::client::{self, ClientCredentials, ClientError, Event, TlsPolicy};
use sansmail_pop3::server::Config;
use sansmail_pop3::types::{ResponseCode, Secret};

/// Runs a client against `server`; `on_ready` issues commands once logged in.
fn run(
    config: client::Config,
    server: &mut Server,
    mut on_ready: impl FnMut(&mut client::Session),
) -> Vec<Event> {
    let now = Instant::now();
    let mut client = client::Session::new(config, now);
    let greeting = server.drain();
    client.handle_input(now, greeting.as_bytes());
    let mut events = Vec::new();
    for _ in 0..10_000 {
        match client.poll_output() {
            Output::Transmit(bytes) => {
                let answer = server.feed(&bytes);
                client.handle_input(now, answer.as_bytes());
                if server.closed {
                    client.handle_eof(now);
                }
            }
            Output::Event(event) => {
                if matches!(event, Event::Ready { .. }) {
                    on_ready(&mut client);
                }
                events.push(event);
            }
            Output::StartTls => client.handle_tls_started(now),
            Output::Timeout(_) => client.handle_eof(now),
            Output::Closed => return events,
        }
    }
    panic!("the pair did not finish");
}

fn bodies(events: &[Event]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::BodyChunk { chunk, .. } => Some(chunk.to_vec()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn stls_server(messages: &[&[u8]]) -> Server {
    let config = Config {
        stls: true,
        ..Config::default()
    };
    Server::new(config, messages)
}

#[test]
fn stls_then_sasl_plain_then_fetch_and_delete() {
    let msg: &[u8] = b"Subject: hi\r\n\r\n.leading dot\r\nbody\r\n";
    let mut server = stls_server(&[msg, b"Subject: two\r\n\r\nx\r\n"]);
    let events = run(client::Config::password(USER, PASSWORD), &mut server, |c| {
        c.stat(std::time::Instant::now()).unwrap();
        c.uidl(std::time::Instant::now(), None).unwrap();
        c.retr(std::time::Instant::now(), 1).unwrap();
        c.top(std::time::Instant::now(), 2, 0).unwrap();
        c.dele(std::time::Instant::now(), 1).unwrap();
        c.quit(std::time::Instant::now()).unwrap();
    });
    assert!(server.starttls);
    let Some(Event::Ready { capabilities }) = events.first() else {
        panic!("{events:?}");
    };
    assert!(capabilities.user() && !capabilities.stls());
    assert!(events.iter().any(|e| matches!(e, Event::Stat { messages: 2, octets, .. } if *octets == (msg.len() + 19) as u64)));
    let uids: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::UniqueId { uid, .. } => Some(uid.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(uids, ["uid-1", "uid-2"]);
    assert_eq!(bodies(&events), [msg, b"Subject: two\r\n\r\n"].concat());
    assert_eq!(server.removed, vec![1]);
    // Every request ends with Done.
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Done { .. }))
            .count(),
        6
    );
    assert!(matches!(
        server.events[1],
        sansmail_pop3::server::Event::Auth { .. }
    ));
}

#[test]
fn apop_login_without_tls() {
    let mut server = Server::rfc1939();
    let mut config = client::Config::password(USER, PASSWORD);
    config.tls = TlsPolicy::Disabled;
    config.apop = true;
    let events = run(config, &mut server, |c| {
        c.list(std::time::Instant::now(), Some(2)).unwrap();
        c.quit(std::time::Instant::now()).unwrap();
    });
    assert!(matches!(
        server.events[1],
        sansmail_pop3::server::Event::Apop { .. }
    ));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Listed {
            message: 2,
            size: 200,
            ..
        }
    )));
}

#[test]
fn user_pass_when_sasl_is_not_offered() {
    let config = Config {
        stls: true,
        auth_mechanisms: Vec::new(),
        ..Config::default()
    };
    let mut server = Server::new(config, &[]);
    let events = run(client::Config::password(USER, PASSWORD), &mut server, |c| {
        c.quit(std::time::Instant::now()).unwrap();
    });
    assert!(matches!(events[0], Event::Ready { .. }));
    assert!(matches!(
        server.events[1],
        sansmail_pop3::server::Event::Login { .. }
    ));
}

#[test]
fn login_failures_are_typed() {
    let mut server = stls_server(&[]);
    let events = run(client::Config::password(USER, "wrong"), &mut server, |_| {});
    let [Event::Failed(ClientError::AuthFailed(r))] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(r.code(), Some(&ResponseCode::Auth));

    let mut server = stls_server(&[]);
    server.locked = true;
    let events = run(
        client::Config::password(USER, PASSWORD),
        &mut server,
        |_| {},
    );
    let [Event::Failed(ClientError::AuthFailed(r))] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(r.code(), Some(&ResponseCode::InUse));
    assert!(r.code().unwrap().is_temporary());
}

#[test]
fn required_tls_fails_without_stls_and_nothing_leaks() {
    let mut server = Server::rfc1939();
    let events = run(
        client::Config::password(USER, PASSWORD),
        &mut server,
        |_| {},
    );
    assert_eq!(events, vec![Event::Failed(ClientError::TlsUnavailable)]);
    assert!(server.events.len() == 1, "no login was attempted");

    let mut server = Server::rfc1939();
    let mut config = client::Config::password(USER, PASSWORD);
    config.tls = TlsPolicy::Opportunistic;
    let events = run(config, &mut server, |_| {});
    assert!(matches!(
        events[0],
        Event::Failed(ClientError::AuthUnavailable(_))
    ));
}

#[test]
fn xoauth2_failure_round_ends_in_auth_failed() {
    let config = Config {
        implicit_tls: true,
        auth_mechanisms: vec![sansmail_pop3::sasl::Mechanism::XOAuth2],
        ..Config::default()
    };
    let mut server = Server::new(config, &[]);
    let mut config = client::Config::new(ClientCredentials::XOAuth2 {
        user: USER.into(),
        token: Secret::new("token".into()),
    });
    config.implicit_tls = true;
    let events = run(config, &mut server, |_| {});
    assert!(
        matches!(events[0], Event::Failed(ClientError::AuthFailed(_))),
        "{events:?}"
    );
}

#[test]
fn refused_commands_leave_the_session_usable() {
    let mut server = stls_server(&[b"x\r\n"]);
    let events = run(client::Config::password(USER, PASSWORD), &mut server, |c| {
        c.retr(std::time::Instant::now(), 5).unwrap();
        c.dele(std::time::Instant::now(), 1).unwrap();
        c.dele(std::time::Instant::now(), 1).unwrap();
        c.rset(std::time::Instant::now()).unwrap();
        c.noop(std::time::Instant::now()).unwrap();
        c.quit(std::time::Instant::now()).unwrap();
    });
    let refused = events
        .iter()
        .filter(|e| matches!(e, Event::Refused { .. }))
        .count();
    assert_eq!(refused, 2);
    assert!(server.removed.is_empty());
    assert!(server.closed);
}

#[test]
fn without_pipelining_the_client_waits_for_each_answer() {
    let config = Config {
        stls: true,
        pipelining: false,
        ..Config::default()
    };
    let mut server = Server::new(config, &[b"a\r\n", b"b\r\n"]);
    let events = run(client::Config::password(USER, PASSWORD), &mut server, |c| {
        c.retr(std::time::Instant::now(), 1).unwrap();
        c.retr(std::time::Instant::now(), 2).unwrap();
        c.quit(std::time::Instant::now()).unwrap();
    });
    assert_eq!(bodies(&events), b"a\r\nb\r\n", "{events:?}");
    assert!(!server.feed(b"").contains("-ERR"));
}

#[test]
fn client_reads_the_rfc_2449_capa_example() {
    let now = Instant::now();
    let mut config = client::Config::password(USER, PASSWORD);
    config.tls = TlsPolicy::Disabled;
    config.allow_plaintext_auth = true;
    let mut c = client::Session::new(config, now);
    c.handle_input(
        now,
        b"+OK POP3 server ready\r\n+OK Capability list follows\r\nTOP\r\nUSER\r\n\
          SASL CRAM-MD5 KERBEROS_V4\r\nRESP-CODES\r\nLOGIN-DELAY 900\r\nPIPELINING\r\n\
          EXPIRE 60\r\nUIDL\r\nIMPLEMENTATION Shlemazle-Plotz-v302\r\n.\r\n",
    );
    let mut sent = Vec::new();
    while let Output::Transmit(b) = c.poll_output() {
        sent.extend_from_slice(&b);
    }
    // Neither offered mechanism is usable: USER/PASS it is.
    assert_eq!(sent, b"CAPA\r\nUSER mrose\r\n");
    let caps = c.capabilities();
    assert!(caps.pipelining() && caps.user());
    assert!(caps.has(&sansmail_pop3::types::Capability::LoginDelay {
        seconds: 900,
        per_user: false
    }));
    assert!(caps.has(&sansmail_pop3::types::Capability::Implementation(
        "Shlemazle-Plotz-v302".into()
    )));
}

#[test]
fn client_drops_responses_injected_before_tls() {
    let now = Instant::now();
    let mut c = client::Session::new(client::Config::password(USER, PASSWORD), now);
    c.handle_input(now, b"+OK ready\r\n+OK\r\nSTLS\r\n.\r\n");
    while let Output::Transmit(_) = c.poll_output() {}
    // The STLS answer and a forged login answer arrive in one plaintext read.
    c.handle_input(
        now,
        b"+OK begin TLS\r\n+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n+OK logged in\r\n",
    );
    assert_eq!(c.poll_output(), Output::StartTls);
    c.handle_tls_started(now);
    let Output::Transmit(sent) = c.poll_output() else {
        panic!("CAPA is asked again over TLS");
    };
    assert_eq!(&sent[..], b"CAPA\r\n");
    assert!(
        c.capabilities().0.is_empty(),
        "nothing from before TLS was kept"
    );
    assert!(matches!(c.poll_output(), Output::Timeout(Some(_))));
}
