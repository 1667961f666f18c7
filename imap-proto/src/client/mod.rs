//! The client session: greeting, capabilities, STARTTLS and login, then
//! the commands the application issues, each paired with its tagged
//! completion. Literals go as LITERAL+ when offered or wait for `+`; large
//! FETCH literals stream as chunks.
//!
//! ```
//! use std::time::Instant;
//! use sansmail_imap::Output;
//! use sansmail_imap::client::{Config, Event, Session, TlsPolicy};
//! use sansmail_imap::types::{CommandBody, Mailbox, SelectParams, Untagged};
//!
//! let now = Instant::now();
//! let mut config = Config::password("alice", "secret");
//! config.tls = TlsPolicy::Disabled;
//! config.allow_plaintext_auth = true;
//! let mut session = Session::new(config, now);
//! // What a server says, one read per response.
//! let mut server: &[&[u8]] = &[
//!     b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR LITERAL+] ready\r\n",
//!     b"A1 OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] logged in\r\n",
//!     b"* 3 EXISTS\r\nA2 OK [READ-WRITE] done\r\n",
//!     b"* BYE bye\r\nA3 OK done\r\n",
//! ];
//! let mut exists = 0;
//! loop {
//!     match session.poll_output() {
//!         Output::Transmit(_bytes) => {} // write them to the server
//!         Output::Event(Event::Ready { .. }) => {
//!             let select = CommandBody::Select { mailbox: Mailbox::inbox(), params: SelectParams::default() };
//!             session.command(now, select).unwrap();
//!             session.logout(now).unwrap();
//!         }
//!         Output::Event(Event::Untagged(Untagged::Exists(n))) => exists = n,
//!         Output::Event(_) => {}
//!         Output::StartTls => unreachable!("TLS is disabled here"),
//!         Output::Timeout(_) => match server.split_first() {
//!             Some((next, rest)) => { session.handle_input(now, next); server = rest; }
//!             None => session.handle_eof(now),
//!         },
//!         Output::Closed => break,
//!     }
//! }
//! assert_eq!(exists, 3);
//! ```

mod config;
mod event;

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

pub use config::{Config, TlsPolicy};
pub use event::{ClientError, Event, UsageError};

use crate::Output;
use crate::codec::{self, DecodeError};
use crate::types::{
    Capability, Code, Command, CommandBody, Response, Secret, Status, StatusKind, Str, Tag,
    Untagged,
};
use sansmail_common::line::{Line, frame_line};

/// Where the session is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Greeting,
    /// Waiting for the answer to a setup command.
    Setup(Setup),
    /// After the OK to STARTTLS, until the application says TLS is up.
    AwaitingTls,
    Ready,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Capability,
    StartTls,
    Login,
}

/// A command being sent: its bytes, and where it must wait for `+`.
#[derive(Debug)]
struct Outgoing {
    tag: Tag,
    bytes: Bytes,
    waits: VecDeque<usize>,
    sent: usize,
}

/// How the response being read continues.
#[derive(Debug)]
enum Reading {
    Lines,
    /// Octets of a literal kept in the response.
    Literal(u32),
    /// Octets of a streamed literal, passed on.
    Stream(u32),
}

/// A client session. See the module docs for the driving loop.
#[derive(Debug)]
pub struct Session {
    config: Config,
    phase: Phase,
    input: BytesMut,
    out: BytesMut,
    events: VecDeque<Event>,
    capabilities: Vec<Capability>,
    tls: bool,
    next_tag: u64,
    /// Tags of commands sent and not yet completed, in order.
    in_flight: VecDeque<Tag>,
    /// Commands waiting to be (fully) sent.
    queue: VecDeque<Outgoing>,
    /// The response assembled so far (lines and kept literals).
    response: Vec<u8>,
    reading: Reading,
    idle: Option<Tag>,
    /// Login succeeded (setup ends with capabilities then Ready).
    logged_in: bool,
    /// The tag of LOGOUT, once sent.
    logout_tag: Option<Tag>,
    /// The SASL response to send when the server's `+` asks for it.
    sasl_response: Option<Str>,
    last_activity: Instant,
    eof: bool,
    starttls_pending: bool,
}

impl Session {
    /// A session for a connection just opened; it reads the greeting first.
    pub fn new(config: Config, now: Instant) -> Self {
        Session {
            tls: config.implicit_tls,
            config,
            phase: Phase::Greeting,
            input: BytesMut::new(),
            out: BytesMut::new(),
            events: VecDeque::new(),
            capabilities: Vec::new(),
            next_tag: 1,
            in_flight: VecDeque::new(),
            queue: VecDeque::new(),
            response: Vec::new(),
            reading: Reading::Lines,
            idle: None,
            logged_in: false,
            logout_tag: None,
            sasl_response: None,
            last_activity: now,
            eof: false,
            starttls_pending: false,
        }
    }

    /// Bytes received from the server.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if matches!(self.phase, Phase::AwaitingTls | Phase::Closed) {
            return;
        }
        self.input.extend_from_slice(data);
        self.last_activity = now;
    }

    /// The server closed the connection.
    pub fn handle_eof(&mut self, now: Instant) {
        self.eof = true;
        self.last_activity = now;
    }

    /// The deadline from [`Output::Timeout`] passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.waiting() && now >= self.last_activity + self.config.timeout {
            self.fail(ClientError::Timeout);
        }
    }

    /// The TLS handshake after [`Output::StartTls`] finished at `now`.
    pub fn handle_tls_started(&mut self, now: Instant) {
        if self.phase == Phase::AwaitingTls {
            self.tls = true;
            self.last_activity = now;
            // Capabilities learned before TLS may have been forged (RFC 9051 §6.2.1).
            self.capabilities.clear();
            self.send_setup(CommandBody::Capability, Setup::Capability);
        }
    }

    /// True once the session runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// What the server announced most recently.
    pub fn capabilities(&self) -> &[Capability] {
        &self.capabilities
    }

    /// True when the server announced `capability`.
    pub fn has(&self, capability: &Capability) -> bool {
        self.capabilities.contains(capability)
    }

    /// Sends a command; its completion comes as [`Event::Done`] with the
    /// returned tag. Literals go as LITERAL+ when the server offers it,
    /// else each waits for the server's `+`. The reply is due within the
    /// configured timeout of `now` (or of the reply before, when commands
    /// are already in flight).
    pub fn command(&mut self, now: Instant, body: CommandBody) -> Result<Tag, UsageError> {
        if self.phase != Phase::Ready || self.idle.is_some() {
            return Err(UsageError::NotReady);
        }
        if matches!(
            body,
            CommandBody::StartTls
                | CommandBody::Login { .. }
                | CommandBody::Authenticate { .. }
                | CommandBody::Idle
        ) {
            return Err(UsageError::UseMethod);
        }
        self.start_waiting(now);
        Ok(self.send(body))
    }

    /// Starts IDLE; [`Event::Continue`] says it runs, [`done`](Self::done) ends it.
    pub fn idle(&mut self, now: Instant) -> Result<Tag, UsageError> {
        if self.phase != Phase::Ready || self.idle.is_some() {
            return Err(UsageError::NotReady);
        }
        self.start_waiting(now);
        let tag = self.send(CommandBody::Idle);
        self.idle = Some(tag.clone());
        Ok(tag)
    }

    /// Ends IDLE; its tagged OK is due within the timeout of `now`.
    pub fn done(&mut self, now: Instant) -> Result<(), UsageError> {
        if self.idle.take().is_none() {
            return Err(UsageError::NotIdling);
        }
        self.last_activity = now;
        self.out.extend_from_slice(b"DONE\r\n");
        Ok(())
    }

    /// Sends LOGOUT; the session closes when the server answers.
    pub fn logout(&mut self, now: Instant) -> Result<Tag, UsageError> {
        let tag = self.command(now, CommandBody::Logout)?;
        self.logout_tag = Some(tag.clone());
        Ok(tag)
    }

    /// The next thing to do. Call after every input and answer until it
    /// returns [`Output::Timeout`] or [`Output::Closed`].
    pub fn poll_output(&mut self) -> Output<Event> {
        while self.events.is_empty() && self.step() {}
        if let Some(event) = self.events.pop_front() {
            return Output::Event(event);
        }
        self.pump_queue();
        if !self.out.is_empty() {
            return Output::Transmit(std::mem::take(&mut self.out).freeze());
        }
        if self.starttls_pending {
            self.starttls_pending = false;
            self.phase = Phase::AwaitingTls;
            return Output::StartTls;
        }
        if self.phase == Phase::Closed {
            return Output::Closed;
        }
        if self.eof {
            let error = if self.in_flight.is_empty() && self.phase == Phase::Ready {
                None
            } else {
                Some(ClientError::Closed)
            };
            match error {
                Some(e) => self.fail(e),
                None => self.phase = Phase::Closed,
            }
            return self.poll_output();
        }
        Output::Timeout(if self.waiting() {
            Some(self.last_activity + self.config.timeout)
        } else {
            None
        })
    }

    /// Starts the reply timer at `now` unless a reply is already due.
    fn start_waiting(&mut self, now: Instant) {
        if !self.waiting() {
            self.last_activity = now;
        }
    }

    /// True while a response is due (IDLE waits as long as the application likes).
    fn waiting(&self) -> bool {
        let idling = self.idle.is_some() && self.in_flight.len() == 1;
        (!self.in_flight.is_empty() && !idling) || self.phase == Phase::Greeting
    }

    fn fail(&mut self, error: ClientError) {
        if self.phase != Phase::Closed {
            self.events.push_back(Event::Failed(error));
            self.phase = Phase::Closed;
            self.input = BytesMut::new();
            self.queue.clear();
        }
    }

    fn new_tag(&mut self) -> Tag {
        let tag =
            Tag::new(Str::from(format!("A{}", self.next_tag))).expect("A and digits make a tag");
        self.next_tag += 1;
        tag
    }

    fn send(&mut self, body: CommandBody) -> Tag {
        let tag = self.new_tag();
        let literal_plus = self.has(&Capability::LiteralPlus);
        let encoded = codec::encode_command(
            &Command {
                tag: tag.clone(),
                body,
            },
            literal_plus,
        );
        self.in_flight.push_back(tag.clone());
        self.queue.push_back(Outgoing {
            tag: tag.clone(),
            bytes: encoded.bytes,
            waits: encoded.waits.into(),
            sent: 0,
        });
        self.pump_queue();
        tag
    }

    fn send_setup(&mut self, body: CommandBody, setup: Setup) {
        self.phase = Phase::Setup(setup);
        self.send(body);
    }

    /// Moves queued command bytes out, up to the next point that waits for `+`.
    fn pump_queue(&mut self) {
        while let Some(front) = self.queue.front_mut() {
            let until = front.waits.front().copied().unwrap_or(front.bytes.len());
            if front.sent < until {
                self.out.extend_from_slice(&front.bytes[front.sent..until]);
                front.sent = until;
            }
            if front.sent < front.bytes.len() {
                return; // waits for `+`
            }
            self.queue.pop_front();
        }
    }

    /// The server's `+`: the front command may send its next literal.
    fn continue_received(&mut self, text: crate::types::Text) {
        if self.phase == Phase::Setup(Setup::Login)
            && let Some(response) = self.sasl_response.take()
        {
            self.out.extend_from_slice(&response);
            self.out.extend_from_slice(b"\r\n");
            return;
        }
        if let Some(front) = self.queue.front_mut()
            && front.waits.front() == Some(&front.sent)
        {
            front.waits.pop_front();
            self.pump_queue();
            return;
        }
        if let Some(tag) = self.idle.clone() {
            self.events.push_back(Event::Continue { tag, text });
        }
    }

    // ----- reading -------------------------------------------------------

    fn step(&mut self) -> bool {
        if self.phase == Phase::Closed || self.starttls_pending || self.input.is_empty() {
            return false;
        }
        match self.reading {
            Reading::Literal(n) => {
                let take = (n as usize).min(self.input.len());
                self.response.extend_from_slice(&self.input[..take]);
                self.input.advance(take);
                let left = n - take as u32;
                self.reading = if left == 0 {
                    Reading::Lines
                } else {
                    Reading::Literal(left)
                };
                true
            }
            Reading::Stream(n) => {
                let take = (n as usize).min(self.input.len());
                let chunk = self.input.split_to(take).freeze();
                self.events.push_back(Event::LiteralChunk(chunk));
                let left = n - take as u32;
                self.reading = if left == 0 {
                    Reading::Lines
                } else {
                    Reading::Stream(left)
                };
                true
            }
            Reading::Lines => self.step_line(),
        }
    }

    fn step_line(&mut self) -> bool {
        let (len, total) = match frame_line(&self.input, self.config.max_line) {
            Line::Complete { len, total } => (len, total),
            Line::Incomplete => return false,
            Line::Bare { .. } => {
                self.fail(ClientError::Protocol("line without CRLF".into()));
                return true;
            }
            Line::TooLong => {
                self.fail(ClientError::Protocol("response line too long".into()));
                return true;
            }
        };
        let line = self.input.split_to(total);
        let start = self.response.len();
        self.response.extend_from_slice(&line);
        match literal_at_end(&line[..len]) {
            None => {
                let response = std::mem::take(&mut self.response);
                self.response_complete(Bytes::from(response));
            }
            Some(size) => {
                let streams = size > self.config.stream_over && is_untagged_fetch(&self.response);
                if streams {
                    // Keep `{0}` in its place; the octets go out as chunks.
                    let at = start + literal_start(&line[..len]);
                    self.response.truncate(at);
                    self.response.extend_from_slice(b"{0}\r\n");
                    let seq = fetch_number(&self.response).unwrap_or(0);
                    self.events.push_back(Event::LiteralStart { seq, size });
                    self.reading = Reading::Stream(size);
                } else if size > self.config.max_literal {
                    self.fail(ClientError::Protocol(format!("literal of {size} octets")));
                } else {
                    self.reading = Reading::Literal(size);
                }
            }
        }
        true
    }

    fn response_complete(&mut self, wire: Bytes) {
        let response = match codec::parse_response_with(&wire, self.config.max_depth) {
            Ok((_, r)) => r,
            Err(DecodeError::Failed { expected, position }) => {
                let line = String::from_utf8_lossy(&wire[..wire.len().min(200)]).into_owned();
                return self.fail(ClientError::Protocol(format!(
                    "expected {expected} at {position} in {line:?}"
                )));
            }
            Err(e) => return self.fail(ClientError::Protocol(e.to_string())),
        };
        match response {
            Response::Continue(c) => self.continue_received(c.text),
            Response::Untagged(u) => self.untagged(u),
            Response::Tagged(t) => self.tagged(t.tag, t.status),
        }
    }

    fn learn(&mut self, code: &Option<Code>) {
        if let Some(Code::Capability(caps)) = code {
            self.capabilities = caps.clone();
        }
    }

    fn untagged(&mut self, u: Untagged) {
        match (&self.phase, &u) {
            (Phase::Greeting, Untagged::Status(s)) => {
                let s = s.clone();
                self.learn(&s.code);
                match s.kind {
                    StatusKind::Bye => self.fail(ClientError::GreetingRefused(s)),
                    StatusKind::PreAuth => self.after_login(),
                    _ => self.after_greeting(),
                }
                return;
            }
            (_, Untagged::Capability(caps)) => self.capabilities = caps.clone(),
            _ => {}
        }
        if let Untagged::Status(s) = &u {
            self.learn(&s.code);
            // BYE answers LOGOUT; otherwise the server is leaving.
            if s.kind == StatusKind::Bye && self.logout_tag.is_none() {
                let s = s.clone();
                self.events.push_back(Event::Untagged(u));
                return self.fail(ClientError::Bye(s));
            }
        }
        self.events.push_back(Event::Untagged(u));
    }

    fn tagged(&mut self, tag: Tag, status: Status) {
        let Some(position) = self.in_flight.iter().position(|t| *t == tag) else {
            return self.fail(ClientError::Protocol(format!(
                "completion for unknown tag {}",
                String::from_utf8_lossy(tag.as_bytes())
            )));
        };
        self.in_flight.remove(position);
        // A command refused before all its literals went drops the rest.
        if self.queue.front().is_some_and(|o| o.tag == tag) {
            self.queue.pop_front();
        }
        if self.idle.as_ref() == Some(&tag) {
            self.idle = None;
        }
        self.learn(&status.code);
        let ok = status.kind == StatusKind::Ok;
        match self.phase {
            Phase::Setup(Setup::Capability) => self.after_capability(),
            Phase::Setup(Setup::StartTls) if ok => {
                // Anything the server sent after its OK predates TLS: drop it.
                self.input = BytesMut::new();
                self.starttls_pending = true;
            }
            Phase::Setup(Setup::StartTls) => {
                if self.config.tls == TlsPolicy::Required {
                    self.fail(ClientError::TlsRefused(status));
                } else {
                    self.login();
                }
            }
            Phase::Setup(Setup::Login) if ok => {
                if matches!(status.code, Some(Code::Capability(_))) {
                    self.after_login();
                } else {
                    self.capabilities.clear();
                    self.send_setup(CommandBody::Capability, Setup::Capability);
                    // Remember that login is done: after_capability goes to Ready.
                    self.logged_in = true;
                }
            }
            Phase::Setup(Setup::Login) => self.fail(ClientError::AuthFailed(status)),
            _ => {
                let logout = self.logout_tag.as_ref() == Some(&tag);
                self.events.push_back(Event::Done { tag, status });
                if logout {
                    self.phase = Phase::Closed;
                }
            }
        }
    }
}

/// The size of a literal announced at the end of a response line.
fn literal_at_end(line: &[u8]) -> Option<u32> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    std::str::from_utf8(&body[open + 1..]).ok()?.parse().ok()
}

/// Where the announcement (`{` or `~{`) starts in the line.
fn literal_start(line: &[u8]) -> usize {
    let open = line.iter().rposition(|&b| b == b'{').unwrap_or(line.len());
    if open > 0 && line[open - 1] == b'~' {
        open - 1
    } else {
        open
    }
}

fn is_untagged_fetch(response: &[u8]) -> bool {
    fetch_number(response).is_some()
}

/// `n` of a response starting `* n FETCH`.
fn fetch_number(response: &[u8]) -> Option<u32> {
    let rest = response.strip_prefix(b"* ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let n = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    rest[digits..]
        .get(..7)
        .filter(|w| w.eq_ignore_ascii_case(b" FETCH "))
        .map(|_| n)
}

impl Session {
    fn after_greeting(&mut self) {
        if self.capabilities.is_empty() {
            self.send_setup(CommandBody::Capability, Setup::Capability);
        } else {
            self.after_capability();
        }
    }

    /// With capabilities known: STARTTLS, login, or ready.
    fn after_capability(&mut self) {
        if self.logged_in {
            return self.after_login();
        }
        if !self.tls && self.config.tls != TlsPolicy::Disabled {
            if self.has(&Capability::StartTls) {
                return self.send_setup(CommandBody::StartTls, Setup::StartTls);
            }
            if self.config.tls == TlsPolicy::Required {
                return self.fail(ClientError::TlsUnavailable);
            }
        }
        self.login();
    }

    fn login(&mut self) {
        if !self.tls && !self.config.allow_plaintext_auth {
            return self.fail(ClientError::LoginDisabled);
        }
        let plain = Capability::Auth(crate::types::Atom::new("PLAIN").expect("atom"));
        let body = if self.has(&plain) {
            use base64::Engine;
            let msg = crate::sasl::encode_plain(
                None,
                &self.config.username,
                self.config.password.expose(),
            );
            let b64 = Str::from(base64::engine::general_purpose::STANDARD.encode(msg));
            // With SASL-IR the response rides on the command; else it answers the `+`.
            let initial = if self.has(&Capability::SaslIr) {
                Some(Secret::new(b64))
            } else {
                self.sasl_response = Some(b64);
                None
            };
            CommandBody::Authenticate {
                mechanism: crate::types::Atom::new("PLAIN").expect("atom"),
                initial,
            }
        } else if self.has(&Capability::LoginDisabled) {
            return self.fail(ClientError::LoginDisabled);
        } else {
            CommandBody::Login {
                username: Str::from(self.config.username.as_str()),
                password: Secret::new(Str::from(self.config.password.expose().as_str())),
            }
        };
        self.send_setup(body, Setup::Login);
    }

    fn after_login(&mut self) {
        self.logged_in = true;
        self.phase = Phase::Ready;
        self.events.push_back(Event::Ready {
            capabilities: self.capabilities.clone(),
        });
    }
}
