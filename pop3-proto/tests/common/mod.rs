//! A server driven by a fixed policy, for transcript and limit tests.
#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use sansmail_pop3::server::{Config, Event, MessageInfo, Session, Ticket};
use sansmail_pop3::types::{Response, ResponseCode, UniqueId};
use sansmail_pop3::{Output, SessionIo};

/// The greeting timestamp of RFC 1939 §7's example.
pub const TIMESTAMP: &str = "<1896.697170952@dbc.mtview.ca.us>";
/// The user and shared secret of that example.
pub const USER: &str = "mrose";
/// The password.
pub const PASSWORD: &str = "tanstaaf";

/// A server session with a maildrop and an application that answers every event.
pub struct Server {
    pub session: Session,
    pub now: Instant,
    pub messages: Vec<Bytes>,
    /// Messages removed at UPDATE.
    pub removed: Vec<u32>,
    /// Refuse the UPDATE (as when the store fails).
    pub fail_update: bool,
    /// Refuse logins as if the maildrop were locked.
    pub locked: bool,
    /// Pieces the application streams a message in.
    pub chunk_size: usize,
    pub events: Vec<Event>,
    pub closed: bool,
    pub starttls: bool,
}

impl Server {
    pub fn new(config: Config, messages: &[&[u8]]) -> Self {
        let now = Instant::now();
        Server {
            session: Session::new(config, now),
            now,
            messages: messages.iter().map(|m| Bytes::copy_from_slice(m)).collect(),
            removed: Vec::new(),
            fail_update: false,
            locked: false,
            chunk_size: 7,
            events: Vec::new(),
            closed: false,
            starttls: false,
        }
    }

    /// A plaintext-login server with the RFC 1939 example's two messages (120 and 200 octets).
    pub fn rfc1939() -> Self {
        let config = Config {
            login_requires_tls: false,
            hostname: "dewey".into(),
            ..Config::default()
        };
        Server::new(config, &[&message(120, b'a'), &message(200, b'b')])
    }

    pub fn maildrop(&self) -> Vec<MessageInfo> {
        self.messages
            .iter()
            .enumerate()
            .map(|(i, m)| MessageInfo {
                size: m.len() as u64,
                uid: UniqueId::new(format!("uid-{}", i + 1)).unwrap(),
            })
            .collect()
    }

    fn login(&mut self, ticket: Ticket, ok: bool) {
        if self.locked {
            let r = Response::err(Some(ResponseCode::InUse), "maildrop locked").unwrap();
            self.session.reject(self.now, ticket, r).unwrap();
        } else if ok {
            let maildrop = self.maildrop();
            self.session.open(self.now, ticket, maildrop).unwrap();
        } else {
            let r = Response::err(Some(ResponseCode::Auth), "invalid credentials").unwrap();
            self.session.reject(self.now, ticket, r).unwrap();
        }
    }

    /// Answers events and collects what the session transmits until it waits.
    pub fn drain(&mut self) -> String {
        let mut wire = Vec::new();
        loop {
            match self.session.poll_output() {
                Output::Transmit(b) => wire.extend_from_slice(&b),
                Output::Event(event) => {
                    self.events.push(event.clone());
                    self.answer(event);
                }
                Output::StartTls => {
                    self.starttls = true;
                    self.session.handle_tls_started(self.now);
                }
                Output::Timeout(_) => break,
                Output::Closed => {
                    self.closed = true;
                    break;
                }
            }
        }
        String::from_utf8(wire).unwrap()
    }

    fn answer(&mut self, event: Event) {
        match event {
            Event::Connected { ticket } => {
                let greeting = Response::ok(format!("POP3 server ready {TIMESTAMP}")).unwrap();
                self.session.respond(self.now, ticket, greeting).unwrap();
            }
            Event::Login {
                ticket,
                user,
                password,
            } => self.login(ticket, user == USER && password.expose() == PASSWORD),
            Event::Apop {
                ticket,
                user,
                digest,
                timestamp,
            } => {
                let ok = user == USER && digest == sansmail_pop3::apop_digest(&timestamp, PASSWORD);
                self.login(ticket, ok)
            }
            Event::Auth {
                ticket,
                credentials,
                ..
            } => {
                let ok = credentials.username() == Some(USER)
                    && credentials.password() == Some(PASSWORD);
                self.login(ticket, ok)
            }
            Event::Retrieve {
                ticket, message, ..
            } => {
                let content = self.messages[message as usize - 1].clone();
                self.session.accept(self.now, ticket).unwrap();
                for start in (0..content.len()).step_by(self.chunk_size.max(1)) {
                    let end = (start + self.chunk_size).min(content.len());
                    self.session
                        .write_body(ticket, content.slice(start..end))
                        .unwrap();
                }
                self.session.finish_body(self.now, ticket).unwrap();
            }
            Event::Update { ticket, deleted } => {
                if self.fail_update {
                    let r = Response::err(
                        Some(ResponseCode::SysTemp),
                        "some deleted messages not removed",
                    )
                    .unwrap();
                    self.session.reject(self.now, ticket, r).unwrap();
                } else {
                    self.removed = deleted;
                    self.session.accept(self.now, ticket).unwrap();
                }
            }
            _ => {}
        }
    }

    /// Feeds bytes, then drains.
    pub fn feed(&mut self, input: &[u8]) -> String {
        self.session.handle_input(self.now, input);
        self.drain()
    }

    /// Moves the clock.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }
}

/// A message of exactly `size` octets with CRLF line ends.
pub fn message(size: usize, fill: u8) -> Vec<u8> {
    let mut m = b"Subject: test\r\n\r\n".to_vec();
    while m.len() < size {
        let line = (size - m.len()).min(40);
        if line <= 2 {
            m.extend(std::iter::repeat_n(fill, line));
        } else {
            m.extend(std::iter::repeat_n(fill, line - 2));
            m.extend_from_slice(b"\r\n");
        }
    }
    m
}

/// Replays `C:`/`S:` lines: each `C:` line is sent, and the `S:` lines that
/// follow must be exactly what the server transmits.
pub fn replay(server: &mut Server, transcript: &str) {
    let mut expected = String::new();
    let mut pending_input: Option<String> = None;
    let flush = |server: &mut Server, input: Option<String>, expected: &mut String| {
        let got = match input {
            Some(c) => server.feed(format!("{c}\r\n").as_bytes()),
            None => server.drain(),
        };
        assert_eq!(got, *expected, "after {:?}", "input");
        expected.clear();
    };
    for line in transcript
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty())
    {
        if let Some(c) = line.strip_prefix("C: ") {
            flush(server, pending_input.take(), &mut expected);
            pending_input = Some(c.to_owned());
        } else if let Some(s) = line.strip_prefix("S: ") {
            expected.push_str(s);
            expected.push_str("\r\n");
        } else if line == "S:" {
            expected.push_str("\r\n");
        } else {
            panic!("bad transcript line {line}");
        }
    }
    flush(server, pending_input, &mut expected);
}

/// The harness as a session whose application answers every event, for
/// [`sansmail_pop3::pair::Pair`]; it reports no events of its own.
impl SessionIo for Server {
    type Event = ();

    fn poll_output(&mut self) -> Output<()> {
        loop {
            match self.session.poll_output() {
                Output::Event(event) => {
                    self.events.push(event.clone());
                    self.answer(event);
                }
                Output::StartTls => {
                    self.starttls = true;
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
