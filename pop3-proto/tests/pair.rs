//! Our client against our server, in memory.
// The tests play the application, which owns the clock: one real Instant starts the virtual clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Instant;

use common::{PASSWORD, Server, USER};
use sansmail_pop3::Output;
use sansmail_pop3::client::{self, ClientCredentials, ClientError, Event, TlsPolicy};
use sansmail_pop3::pair::{Pair, Side};
use sansmail_pop3::server::Config;
use sansmail_pop3::types::{ResponseCode, Secret};

/// Runs a client against `server` on a virtual clock until both wait or
/// close; `on_ready` issues commands once logged in.
fn run(
    config: client::Config,
    server: &mut Server,
    mut on_ready: impl FnMut(Instant, &mut client::Session),
) -> Vec<Event> {
    let now = server.now;
    let mut pair = Pair::new(client::Session::new(config, now), server, now);
    let mut events = Vec::new();
    pair.run(|now, client, _, side| {
        if let Side::Client(event) = side {
            if matches!(event, Event::Ready { .. }) {
                on_ready(now, client);
            }
            events.push(event);
        }
    });
    events
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
    let events = run(
        client::Config::password(USER, PASSWORD),
        &mut server,
        |now, c| {
            c.stat(now).unwrap();
            c.uidl(now, None).unwrap();
            c.retr(now, 1).unwrap();
            c.top(now, 2, 0).unwrap();
            c.dele(now, 1).unwrap();
            c.quit(now).unwrap();
        },
    );
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
    let events = run(config, &mut server, |now, c| {
        c.list(now, Some(2)).unwrap();
        c.quit(now).unwrap();
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
    let events = run(
        client::Config::password(USER, PASSWORD),
        &mut server,
        |now, c| {
            c.quit(now).unwrap();
        },
    );
    assert!(matches!(events[0], Event::Ready { .. }));
    assert!(matches!(
        server.events[1],
        sansmail_pop3::server::Event::Login { .. }
    ));
}

#[test]
fn login_failures_are_typed() {
    let mut server = stls_server(&[]);
    let events = run(
        client::Config::password(USER, "wrong"),
        &mut server,
        |_, _| {},
    );
    let [Event::Failed(ClientError::AuthFailed(r))] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(r.code(), Some(&ResponseCode::Auth));

    let mut server = stls_server(&[]);
    server.locked = true;
    let events = run(
        client::Config::password(USER, PASSWORD),
        &mut server,
        |_, _| {},
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
        |_, _| {},
    );
    assert_eq!(events, vec![Event::Failed(ClientError::TlsUnavailable)]);
    assert!(server.events.len() == 1, "no login was attempted");

    let mut server = Server::rfc1939();
    let mut config = client::Config::password(USER, PASSWORD);
    config.tls = TlsPolicy::Opportunistic;
    let events = run(config, &mut server, |_, _| {});
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
    let events = run(config, &mut server, |_, _| {});
    assert!(
        matches!(events[0], Event::Failed(ClientError::AuthFailed(_))),
        "{events:?}"
    );
}

#[test]
fn refused_commands_leave_the_session_usable() {
    let mut server = stls_server(&[b"x\r\n"]);
    let events = run(
        client::Config::password(USER, PASSWORD),
        &mut server,
        |now, c| {
            c.retr(now, 5).unwrap();
            c.dele(now, 1).unwrap();
            c.dele(now, 1).unwrap();
            c.rset(now).unwrap();
            c.noop(now).unwrap();
            c.quit(now).unwrap();
        },
    );
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
    let events = run(
        client::Config::password(USER, PASSWORD),
        &mut server,
        |now, c| {
            c.retr(now, 1).unwrap();
            c.retr(now, 2).unwrap();
            c.quit(now).unwrap();
        },
    );
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

#[test]
fn a_client_idle_longer_than_its_reply_timeout_still_lists() {
    let config = Config {
        stls: true,
        idle_timeout: std::time::Duration::from_secs(3600),
        ..Config::default()
    };
    let mut server = Server::new(config, &[b"a\r\n"]);
    let client_config = client::Config::password(USER, PASSWORD);
    let timeout = client_config.timeout;
    let now = server.now;
    let mut pair = Pair::new(client::Session::new(client_config, now), &mut server, now);
    let mut events = Vec::new();
    let mut collect = |_, _: &mut client::Session, _: &mut &mut Server, side| {
        if let Side::Client(event) = side {
            events.push(event);
        }
    };
    pair.run(&mut collect);
    // Logged in, the client has nothing due: it sets no deadline.
    let stop = pair.run(&mut collect);
    assert_eq!(
        stop,
        sansmail_pop3::pair::Stop::Waiting {
            client: None,
            server: Some(now + std::time::Duration::from_secs(3600))
        }
    );
    pair.advance(timeout + std::time::Duration::from_secs(60));
    let now = pair.now;
    pair.client.list(now, None).unwrap();
    pair.run(&mut collect);
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::Listed {
                message: 1,
                size: 3,
                ..
            }
        )),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|e| matches!(e, Event::Failed(_))),
        "{events:?}"
    );
}
