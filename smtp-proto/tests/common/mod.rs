//! Test harness: a server session driven by a simple policy, with a virtual clock.

#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use sansmail_smtp::sasl::Credentials;
use sansmail_smtp::server::{Config, Event, Session};
use sansmail_smtp::types::{ForwardPath, Reply};
use sansmail_smtp::{Output, SessionIo};

/// Everything observable about a server session: the bytes it sent and the events it gave.
pub struct Server {
    pub session: Session,
    pub now: Instant,
    pub wire: Vec<u8>,
    /// Everything the client sent.
    pub received: Vec<u8>,
    pub events: Vec<Event>,
    pub messages: Vec<Vec<u8>>,
    pub body: Vec<u8>,
    pub closed: bool,
    pub tls_upgrades: usize,
    /// When true, TLS upgrades are completed at once (an in-memory stand-in for a handshake).
    pub auto_tls: bool,
}

/// The policy the harness applies: recipients whose local part is `reject`
/// get 550 5.1.1, `later` gets 450 4.2.1; passwords other than `secret` get 535.
pub fn decide(event: &Event) -> Option<Result<(), Reply>> {
    match event {
        Event::RcptTo {
            to: ForwardPath::Mailbox(m),
            ..
        } if m.local_part.as_str() == "reject" => {
            Some(Err(Reply::text(550, (5, 1, 1), "No such user").unwrap()))
        }
        Event::RcptTo {
            to: ForwardPath::Mailbox(m),
            ..
        } if m.local_part.as_str() == "later" => {
            Some(Err(Reply::text(450, (4, 2, 1), "Mailbox busy").unwrap()))
        }
        Event::Auth { credentials, .. } => match credentials {
            Credentials::XOAuth2 { token, .. } | Credentials::OAuthBearer { token, .. }
                if token.expose() == "good-token" =>
            {
                Some(Ok(()))
            }
            c if c.password() == Some("secret") => Some(Ok(())),
            _ => Some(Err(Reply::text(
                535,
                (5, 7, 8),
                "Authentication credentials invalid",
            )
            .unwrap())),
        },
        e if e.ticket().is_some() => Some(Ok(())),
        _ => None,
    }
}

impl Server {
    pub fn new(config: Config) -> Self {
        let now = Instant::now();
        let mut s = Server {
            session: Session::new(config, now),
            now,
            wire: Vec::new(),
            received: Vec::new(),
            events: Vec::new(),
            messages: Vec::new(),
            body: Vec::new(),
            closed: false,
            tls_upgrades: 0,
            auto_tls: true,
        };
        s.drive();
        s
    }

    /// Polls until the session waits; answers decisions with [`decide`].
    pub fn drive(&mut self) {
        loop {
            match self.session.poll_output() {
                Output::Transmit(b) => self.wire.extend_from_slice(&b),
                Output::Event(e) => self.on_event(e),
                Output::StartTls => {
                    self.tls_upgrades += 1;
                    if self.auto_tls {
                        self.session.handle_tls_started(self.now);
                    }
                }
                Output::Timeout(_) => return,
                Output::Closed => {
                    self.closed = true;
                    return;
                }
            }
        }
    }

    /// Records an event and answers it with [`decide`].
    fn on_event(&mut self, e: Event) {
        match &e {
            Event::DataChunk(c) => self.body.extend_from_slice(c),
            Event::MessageEnd { .. } => self.messages.push(std::mem::take(&mut self.body)),
            Event::TransactionAborted { .. } => self.body.clear(),
            _ => {}
        }
        let answer = decide(&e);
        let ticket = e.ticket();
        self.events.push(e);
        match (answer, ticket) {
            (Some(Ok(())), Some(t)) => self.session.accept(self.now, t).unwrap(),
            (Some(Err(r)), Some(t)) => self.session.reject(self.now, t, r).unwrap(),
            _ => {}
        }
    }

    pub fn input(&mut self, bytes: &[u8]) {
        self.session.handle_input(self.now, bytes);
        self.drive();
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.session.handle_timeout(self.now);
        self.drive();
    }

    /// The reply lines sent since the last call.
    pub fn take_lines(&mut self) -> Vec<String> {
        let text = String::from_utf8(std::mem::take(&mut self.wire)).unwrap();
        text.split_terminator("\r\n").map(str::to_owned).collect()
    }

    /// Sends `input` and returns the reply lines it produced.
    pub fn exchange(&mut self, input: &str) -> Vec<String> {
        self.input(input.as_bytes());
        self.take_lines()
    }
}

/// Replays a transcript of `C:` and `S:` lines. Consecutive `C:` lines go in
/// as one write (a pipelined group); each `S:` line must be a prefix of the
/// next reply line the server sent. `S: 250-... A !B` stands for the rest of a
/// multi-line reply, which must have a line starting `A` and none starting `B`.
pub fn replay(config: Config, transcript: &str) -> Server {
    let mut server = Server::new(config);
    let mut pending = String::new();
    let mut sent: Vec<String> = server.take_lines();
    let mut idx = 0;
    for raw in transcript.lines() {
        let line = raw.trim_start();
        if let Some(c) = line.strip_prefix("C: ") {
            pending.push_str(c);
            pending.push_str("\r\n");
        } else if let Some(c) = line.strip_prefix("C:") {
            pending.push_str(c);
            pending.push_str("\r\n");
        } else if let Some(expected) = line.strip_prefix("S: ") {
            if !pending.is_empty() {
                server.input(pending.as_bytes());
                pending.clear();
                sent.extend(server.take_lines());
            }
            if let Some((code, wants)) = expected.split_once("-...") {
                let start = idx;
                while sent
                    .get(idx)
                    .is_some_and(|l| l.starts_with(&format!("{code}-")))
                {
                    idx += 1;
                }
                let last = sent
                    .get(idx)
                    .unwrap_or_else(|| panic!("no end to the {code} reply in {sent:?}"));
                assert!(
                    last.starts_with(&format!("{code} ")),
                    "line {idx}: {last:?} does not end a {code} reply"
                );
                idx += 1;
                let reply = &sent[start..idx];
                let has = |want: &str| reply.iter().any(|l| l[4..].starts_with(want));
                for want in wants.split_whitespace() {
                    match want.strip_prefix('!') {
                        Some(absent) => assert!(!has(absent), "{absent} offered in {reply:?}"),
                        None => assert!(has(want), "{want} missing from {reply:?}"),
                    }
                }
                continue;
            }
            let actual = sent.get(idx).unwrap_or_else(|| {
                panic!("expected {expected:?}, server sent nothing more (sent {sent:?})")
            });
            assert!(
                actual.starts_with(expected),
                "line {idx}: expected {expected:?}, got {actual:?}\nall: {sent:#?}"
            );
            idx += 1;
        }
    }
    if !pending.is_empty() {
        server.input(pending.as_bytes());
        sent.extend(server.take_lines());
    }
    assert_eq!(
        idx,
        sent.len(),
        "unchecked server lines: {:?}",
        &sent[idx..]
    );
    server
}

pub fn tls_auth_config() -> Config {
    Config {
        starttls: true,
        auth_mechanisms: vec![
            sansmail_smtp::types::Mechanism::Plain,
            sansmail_smtp::types::Mechanism::Login,
            sansmail_smtp::types::Mechanism::XOAuth2,
            sansmail_smtp::types::Mechanism::OAuthBearer,
        ],
        ..Config::default()
    }
}

/// The harness as a session whose application is [`decide`], for
/// [`sansmail_common::pair::Pair`]: it answers its own events and reports none.
impl SessionIo for Server {
    type Event = ();

    fn poll_output(&mut self) -> Output<()> {
        if !self.wire.is_empty() {
            return Output::Transmit(std::mem::take(&mut self.wire).into());
        }
        loop {
            match self.session.poll_output() {
                Output::Event(e) => self.on_event(e),
                Output::StartTls => {
                    self.tls_upgrades += 1;
                    return Output::StartTls;
                }
                Output::Closed => {
                    self.closed = true;
                    return Output::Closed;
                }
                Output::Transmit(b) => return Output::Transmit(b),
                Output::Timeout(t) => return Output::Timeout(t),
            }
        }
    }

    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.now = now;
        self.received.extend_from_slice(data);
        self.session.handle_input(now, data);
    }

    fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        self.session.handle_eof(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.session.handle_timeout(now);
    }

    fn handle_tls_started(&mut self, now: Instant) {
        self.now = now;
        self.session.handle_tls_started(now);
    }
}
