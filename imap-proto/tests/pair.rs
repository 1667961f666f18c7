//! Our client against our server, in memory with a virtual clock.

mod common;

use bytes::Bytes;
use common::Harness;
use sansmail_imap::Output;
use sansmail_imap::client::{self, ClientError, Event, TlsPolicy};
use sansmail_imap::server::Config;
use sansmail_imap::types::*;

struct Pair {
    server: Harness,
    client: client::Session,
    events: Vec<Event>,
    server_tls: bool,
}

impl Pair {
    fn new(server_config: Config, client_config: client::Config) -> Self {
        let server = Harness::new(server_config);
        let client = client::Session::new(client_config, server.now);
        let mut pair = Pair {
            server,
            client,
            events: Vec::new(),
            server_tls: false,
        };
        // The greeting was written when the harness accepted the connection.
        let greeting = pair.server.drain_written();
        pair.client
            .handle_input(pair.server.now, greeting.as_bytes());
        pair.run();
        pair
    }

    /// Shuttles bytes until neither side has anything to say.
    fn run(&mut self) {
        for _ in 0..1000 {
            let mut to_server = Vec::new();
            let mut moved = false;
            loop {
                match self.client.poll_output() {
                    Output::Transmit(b) => to_server.extend_from_slice(&b),
                    Output::Event(e) => {
                        moved = true;
                        self.events.push(e);
                    }
                    Output::StartTls => self.client.handle_tls_started(self.server.now),
                    Output::Timeout(_) | Output::Closed => break,
                }
            }
            if to_server.is_empty() && !moved {
                return;
            }
            if to_server.is_empty() {
                continue;
            }
            let reply = self.server.send(&to_server);
            if reply.contains("<TLS>") {
                self.server_tls = true;
            }
            let reply = reply.replace("<TLS>", "");
            self.client.handle_input(self.server.now, reply.as_bytes());
        }
        panic!("the sessions did not settle");
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
        .client
        .command(
            std::time::Instant::now(),
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
    p.client
        .command(
            std::time::Instant::now(),
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
    assert_eq!(p.server.folders["INBOX"].messages.len(), 4);
    assert!(p.events.iter().any(|e| matches!(e, Event::Done { status, .. } if matches!(status.code, Some(Code::AppendUid { .. })))));
    p.client.logout(std::time::Instant::now()).unwrap();
    p.run();
    assert!(p.server.closed);
}

#[test]
fn starttls_then_login_and_idle() {
    let mut server = Config::default();
    server.allow_plaintext_auth = false;
    let client_config = client::Config::password("alice", "secret");
    let mut p = Pair::new(server, client_config);
    assert!(p.server_tls && p.client.is_tls());
    assert!(p.ready(), "{:?}", p.events);
    p.client
        .command(
            std::time::Instant::now(),
            CommandBody::Select {
                mailbox: Mailbox::inbox(),
                params: SelectParams::default(),
            },
        )
        .unwrap();
    p.run();
    let idle = p.client.idle(std::time::Instant::now()).unwrap();
    p.run();
    assert!(
        p.events
            .iter()
            .any(|e| matches!(e, Event::Continue { tag, .. } if *tag == idle))
    );
    p.server.folders.get_mut("INBOX").unwrap().add(b"x", vec![]);
    let pushed = p
        .server
        .change(sansmail_imap::mailbox::Change::Added { uid: common::nz(4) });
    p.client.handle_input(p.server.now, pushed.as_bytes());
    p.run();
    assert!(p.events.contains(&Event::Untagged(Untagged::Exists(4))));
    p.client.done(std::time::Instant::now()).unwrap();
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
    p.client
        .command(
            std::time::Instant::now(),
            CommandBody::Select {
                mailbox: Mailbox::inbox(),
                params: SelectParams::default(),
            },
        )
        .unwrap();
    p.run();
    let (_, fetch) = sansmail_imap::codec::parse_command(b"x UID FETCH 2 BODY.PEEK[]\r\n").unwrap();
    p.client
        .command(std::time::Instant::now(), fetch.body)
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
