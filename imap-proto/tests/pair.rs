//! Our client against our server, in memory with a virtual clock.

mod common;

use bytes::Bytes;
use common::Harness;
use sansmail_imap::client::{self, ClientError, Event, TlsPolicy};
use sansmail_imap::server::Config;
use sansmail_imap::types::*;
use sansmail_imap::{Output, pair};

/// Our client against the harness's server on a virtual clock, and the
/// client's events.
struct Pair {
    sessions: pair::Pair<client::Session, Harness>,
    events: Vec<Event>,
}

impl Pair {
    fn new(server_config: Config, client_config: client::Config) -> Self {
        let server = Harness::new(server_config);
        let now = server.now;
        let client = client::Session::new(client_config, now);
        let mut pair = Pair {
            sessions: pair::Pair::new(client, server, now),
            events: Vec::new(),
        };
        pair.run();
        pair
    }

    /// Moves bytes both ways until both sides wait or close.
    fn run(&mut self) -> pair::Stop {
        let events = &mut self.events;
        self.sessions.run(|_, _, _, side| {
            if let pair::Side::Client(e) = side {
                events.push(e);
            }
        })
    }

    fn server(&mut self) -> &mut Harness {
        &mut self.sessions.server
    }

    fn ready(&self) -> bool {
        self.events.iter().any(|e| matches!(e, Event::Ready { .. }))
    }
}

fn plaintext() -> (Config, client::Config) {
    let mut server = Config::default();
    server.allow_plaintext_auth = true;
    let mut client = client::Config::password("alice", "secret");
    client.tls = TlsPolicy::Disabled;
    client.allow_plaintext_auth = true;
    (server, client)
}

#[test]
fn logs_in_with_sasl_ir_and_runs_commands() {
    let (s, c) = plaintext();
    let mut p = Pair::new(s, c);
    assert!(p.ready(), "{:?}", p.events);
    let tag = p
        .sessions
        .client
        .command(
            p.sessions.now,
            CommandBody::Select {
                mailbox: Mailbox::inbox(),
                params: SelectParams::default(),
            },
        )
        .unwrap();
    p.run();
    assert!(p.events.contains(&Event::Untagged(Untagged::Exists(3))));
    assert!(p.events.iter().any(|e| matches!(e, Event::Done { tag: t, status } if *t == tag && status.kind == StatusKind::Ok)));
    // A literal the server must accept with `+` (no LITERAL+ after login? it is offered: no wait).
    p.sessions
        .client
        .command(
            p.sessions.now,
            CommandBody::Append {
                mailbox: Mailbox::inbox(),
                messages: vec![AppendMessage {
                    flags: vec![Flag::Seen],
                    date: None,
                    data: Bytes::from_static(b"Subject: new\r\n\r\nbody\r\n"),
                    binary: false,
                    utf8: false,
                }],
            },
        )
        .unwrap();
    p.run();
    assert_eq!(p.server().folders["INBOX"].messages.len(), 4);
    assert!(p.events.iter().any(|e| matches!(e, Event::Done { status, .. } if matches!(status.code, Some(Code::AppendUid { .. })))));
    p.sessions.client.logout(p.sessions.now).unwrap();
    p.run();
    assert!(p.server().closed);
}

#[test]
fn starttls_then_login_and_idle() {
    let mut server = Config::default();
    server.allow_plaintext_auth = false;
    let client_config = client::Config::password("alice", "secret");
    let mut p = Pair::new(server, client_config);
    assert!(p.server().tls_upgrades == 1 && p.sessions.client.is_tls());
    assert!(p.ready(), "{:?}", p.events);
    p.sessions
        .client
        .command(
            p.sessions.now,
            CommandBody::Select {
                mailbox: Mailbox::inbox(),
                params: SelectParams::default(),
            },
        )
        .unwrap();
    p.run();
    let idle = p.sessions.client.idle(p.sessions.now).unwrap();
    p.run();
    assert!(
        p.events
            .iter()
            .any(|e| matches!(e, Event::Continue { tag, .. } if *tag == idle))
    );
    p.server()
        .folders
        .get_mut("INBOX")
        .unwrap()
        .add(b"x", vec![]);
    // The store tells the session; the pair carries the push to the client.
    p.server()
        .session
        .mailbox_changed(sansmail_imap::mailbox::Change::Added { uid: common::nz(4) });
    p.run();
    assert!(p.events.contains(&Event::Untagged(Untagged::Exists(4))));
    p.sessions.client.done(p.sessions.now).unwrap();
    p.run();
    assert!(
        p.events
            .iter()
            .any(|e| matches!(e, Event::Done { tag, .. } if *tag == idle))
    );
}

#[test]
fn wrong_password_and_missing_tls_fail_cleanly() {
    let (s, mut c) = plaintext();
    c.password = Secret::new("nope".into());
    let p = Pair::new(s, c);
    assert!(
        p.events
            .iter()
            .any(|e| matches!(e, Event::Failed(ClientError::AuthFailed(_))))
    );
    let mut server = Config::default();
    server.starttls = false;
    let p = Pair::new(server, client::Config::password("alice", "secret"));
    assert!(
        p.events
            .contains(&Event::Failed(ClientError::TlsUnavailable))
    );
}

#[test]
fn large_fetch_literals_stream() {
    let (s, mut c) = plaintext();
    c.stream_over = 10;
    let mut p = Pair::new(s, c);
    p.sessions
        .client
        .command(
            p.sessions.now,
            CommandBody::Select {
                mailbox: Mailbox::inbox(),
                params: SelectParams::default(),
            },
        )
        .unwrap();
    p.run();
    let (_, fetch) = sansmail_imap::codec::parse_command(b"x UID FETCH 2 BODY.PEEK[]\r\n").unwrap();
    p.sessions
        .client
        .command(p.sessions.now, fetch.body)
        .unwrap();
    p.run();
    let mut body = Vec::new();
    let mut started = false;
    for e in &p.events {
        match e {
            Event::LiteralStart { seq: 2, size: 24 } => started = true,
            Event::LiteralChunk(c) => body.extend_from_slice(c),
            _ => {}
        }
    }
    assert!(started);
    assert_eq!(body, b"Subject: two\r\n\r\nsecond\r\n");
    // The FETCH response itself still arrives, with the value emptied.
    assert!(p.events.iter().any(|e| matches!(e, Event::Untagged(Untagged::Fetch { items, .. })
        if items.iter().any(|i| matches!(i, FetchValue::BodySection { data: Some(d), .. } if d.is_empty())))));
}

#[test]
fn authenticate_plain_without_sasl_ir_answers_the_continuation() {
    use std::time::Instant;
    #[allow(clippy::disallowed_methods)] // the virtual clock starts at now
    let now = Instant::now();
    let (_, c) = plaintext();
    let mut client = client::Session::new(c, now);
    let mut sent = Vec::new();
    let mut server: &[&[u8]] = &[
        b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n",
        b"+ \r\n",
        b"A1 OK done\r\n* CAPABILITY IMAP4rev1 IDLE\r\nA2 OK done\r\n",
    ];
    let mut ready = false;
    loop {
        match client.poll_output() {
            Output::Transmit(b) => sent.extend_from_slice(&b),
            Output::Event(Event::Ready { .. }) => ready = true,
            Output::Event(Event::Failed(e)) => panic!("{e:?}"),
            Output::Event(_) => {}
            Output::StartTls | Output::Closed => break,
            Output::Timeout(_) => match server.split_first() {
                Some((next, rest)) => {
                    client.handle_input(now, next);
                    server = rest;
                }
                None => break,
            },
        }
    }
    assert!(ready);
    // "\0alice\0secret" in base64, after the server's `+`.
    assert_eq!(
        String::from_utf8(sent).unwrap(),
        "A1 AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nA2 CAPABILITY\r\n"
    );
}

fn select_inbox() -> CommandBody {
    CommandBody::Select {
        mailbox: Mailbox::inbox(),
        params: SelectParams::default(),
    }
}

/// True when the command tagged `tag` completed with OK.
fn completed(p: &Pair, tag: &Tag) -> bool {
    p.events.iter().any(
        |e| matches!(e, Event::Done { tag: t, status } if t == tag && status.kind == StatusKind::Ok),
    )
}

#[test]
fn a_client_idle_longer_than_its_reply_timeout_still_selects() {
    let (s, c) = plaintext();
    let timeout = c.timeout;
    let mut p = Pair::new(s, c);
    assert!(p.ready(), "{:?}", p.events);
    p.sessions
        .advance(timeout + std::time::Duration::from_secs(60));
    let tag = p
        .sessions
        .client
        .command(p.sessions.now, select_inbox())
        .unwrap();
    p.run();
    assert!(completed(&p, &tag), "{:?}", p.events);
    assert!(!p.events.iter().any(|e| matches!(e, Event::Failed(_))));
}

#[test]
fn done_after_a_long_idle_gets_its_own_reply_time() {
    let (s, c) = plaintext();
    let mut p = Pair::new(s, c);
    let tag = p
        .sessions
        .client
        .command(p.sessions.now, select_inbox())
        .unwrap();
    p.run();
    assert!(completed(&p, &tag));
    let idle = p.sessions.client.idle(p.sessions.now).unwrap();
    let stop = p.run();
    // While idling the client sets no deadline of its own.
    assert!(
        matches!(stop, pair::Stop::Waiting { client: None, .. }),
        "{stop:?}"
    );
    // Renewed before the server's 30 minutes, as RFC 2177 advises.
    p.sessions.advance(std::time::Duration::from_secs(25 * 60));
    p.sessions.client.done(p.sessions.now).unwrap();
    p.run();
    assert!(completed(&p, &idle), "{:?}", p.events);
    assert!(!p.events.iter().any(|e| matches!(e, Event::Failed(_))));
}
