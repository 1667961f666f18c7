//! The server session: POP3 (RFC 1939) with CAPA, RESP-CODES and PIPELINING
//! (RFC 2449), STLS (RFC 2595), AUTH (RFC 5034), UTF8 and LANG (RFC 6856).
//!
//! The session enforces the AUTHORIZATION → TRANSACTION → UPDATE states,
//! answers STAT, LIST, UIDL, DELE, RSET and NOOP itself from the maildrop
//! listing the application gives at login, byte-stuffs and cuts (TOP) the
//! message content the application streams, and runs the autologout timer.
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use sansmail_pop3::Output;
//! use sansmail_pop3::server::{Config, Event, MessageInfo, Session};
//! use sansmail_pop3::types::UniqueId;
//!
//! let now = Instant::now();
//! let config = Config { login_requires_tls: false, ..Config::default() };
//! let mut session = Session::new(config, now);
//! let mut input: &[&[u8]] = &[b"USER alice\r\nPASS secret\r\n", b"STAT\r\nRETR 1\r\nQUIT\r\n"];
//! let mut wire = Vec::new();
//! loop {
//!     match session.poll_output() {
//!         Output::Transmit(bytes) => wire.extend_from_slice(&bytes),
//!         Output::Event(Event::Login { ticket, user, password }) => {
//!             // A real server checks the password and locks the maildrop here.
//!             assert_eq!((user.as_str(), password.expose().as_str()), ("alice", "secret"));
//!             let uid = UniqueId::new("msg-1").unwrap();
//!             session.open(now, ticket, vec![MessageInfo { size: 9, uid }]).unwrap();
//!         }
//!         Output::Event(Event::Retrieve { ticket, .. }) => {
//!             session.accept(now, ticket).unwrap();
//!             session.write_body(ticket, Bytes::from_static(b"Hi\r\n.dot\r\n")).unwrap();
//!             session.finish_body(now, ticket).unwrap();
//!         }
//!         Output::Event(event) => {
//!             if let Some(ticket) = event.ticket() {
//!                 session.accept(now, ticket).unwrap();
//!             }
//!         }
//!         Output::StartTls => unreachable!("not offered"),
//!         Output::Timeout(_) => match input.split_first() {
//!             Some((next, rest)) => { session.handle_input(now, next); input = rest; }
//!             None => session.handle_eof(now),
//!         },
//!         Output::Closed => break,
//!     }
//! }
//! let wire = String::from_utf8(wire).unwrap();
//! assert!(wire.contains("+OK 1 9\r\n+OK 9 octets\r\nHi\r\n..dot\r\n.\r\n"));
//! ```

mod config;
mod event;

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};

pub use config::Config;
pub use event::{AnswerError, BodyFlow, Event, MessageInfo, Ticket};

use crate::Output;
use crate::codec::{Command, SyntaxError, write_scan_line, write_uid_line};
use crate::multiline::BodyEncoder;
use crate::sasl::server::{Exchange, Failure, Step};
use crate::sasl::{self, Mechanism};
use crate::types::{Capability, Response, ResponseCode, Secret, UniqueId};
use sansmail_common::line::{LineError, LineReader};

/// Input kept while the application decides, beyond which the session closes.
const MAX_BUFFERED_INPUT: usize = 64 * 1024;

/// The RFC 1939 session states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Authorization,
    Transaction,
    Update,
}

/// What the session is reading or doing.
#[derive(Debug)]
enum Phase {
    /// Waiting for the application to accept the connection.
    Greeting,
    /// Command lines.
    Command,
    /// A SASL exchange: its response lines (also the one after an error
    /// challenge), and its credentials while the application checks them.
    AuthResponse(Exchange<Response>),
    /// Message content from the application.
    Streaming(BodyEncoder),
    /// After `+OK` to STLS, until the application says TLS is up.
    AwaitingTls,
    /// Finished.
    Closed,
}

/// A decision the application owes.
#[derive(Debug)]
enum Pending {
    Connect,
    Login,
    Retrieve { index: usize, top: Option<u32> },
    Body,
    Update,
}

/// A server session. See the module docs for the driving loop.
#[derive(Debug)]
pub struct Session {
    config: Config,
    state: State,
    phase: Phase,
    input: BytesMut,
    out: BytesMut,
    /// Transmissions ready to go, in order; `out` follows them.
    queue: VecDeque<Bytes>,
    events: VecDeque<Event>,
    pending: Option<(Ticket, Pending)>,
    next_ticket: u64,
    tls: bool,
    utf8: bool,
    language: Option<String>,
    /// The `<...>` timestamp of the greeting, when it had one (APOP).
    timestamp: Option<String>,
    /// The name given with USER, waiting for PASS.
    user: Option<String>,
    maildrop: Vec<MessageInfo>,
    deleted: Vec<bool>,
    errors: usize,
    lines: LineReader,
    deadline: Option<Instant>,
    eof: bool,
    overflowed: bool,
    closing: bool,
    stls_pending: bool,
}

impl Session {
    /// A session for a client that just connected. The first event is
    /// [`Event::Connected`]; nothing is sent before it is answered.
    pub fn new(config: Config, now: Instant) -> Self {
        let tls = config.implicit_tls;
        let mut session = Session {
            deadline: Some(now + config.idle_timeout),
            config,
            state: State::Authorization,
            phase: Phase::Greeting,
            input: BytesMut::new(),
            out: BytesMut::new(),
            queue: VecDeque::new(),
            events: VecDeque::new(),
            pending: None,
            next_ticket: 0,
            tls,
            utf8: false,
            language: None,
            timestamp: None,
            user: None,
            maildrop: Vec::new(),
            deleted: Vec::new(),
            errors: 0,
            lines: LineReader::default(),
            eof: false,
            overflowed: false,
            closing: false,
            stls_pending: false,
        };
        let ticket = session.wait_for(Pending::Connect);
        session.events.push_back(Event::Connected { ticket });
        session
    }

    /// Bytes received from the client.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if matches!(self.phase, Phase::AwaitingTls | Phase::Closed) || self.eof || self.overflowed {
            // Plaintext bytes between STLS and the handshake are never commands.
            return;
        }
        self.input.extend_from_slice(data);
        self.deadline = Some(now + self.config.idle_timeout);
        // While the application decides (or streams a message), nothing
        // drains the buffer: bound it. The pending answer still goes out
        // first; then the session closes.
        let cap = MAX_BUFFERED_INPUT.max(self.config.max_auth_line_length);
        if self.pending.is_some() && self.input.len() > cap {
            self.input = BytesMut::new();
            self.overflowed = true;
        }
    }

    /// The client closed its side of the connection. Deletions are not
    /// applied: only QUIT enters the UPDATE state (RFC 1939 §6).
    pub fn handle_eof(&mut self, _now: Instant) {
        self.eof = true;
    }

    /// The deadline from [`Output::Timeout`] passed: the autologout timer
    /// expired. The session closes without applying deletions and, as
    /// RFC 1939 §3 says, without sending a response.
    pub fn handle_timeout(&mut self, now: Instant) {
        let waiting_for_client = self.pending.is_none() && !self.closing;
        if waiting_for_client && self.deadline.is_some_and(|d| now >= d) {
            self.closing = true;
        }
    }

    /// The TLS handshake after [`Output::StartTls`] finished at `now`.
    pub fn handle_tls_started(&mut self, now: Instant) {
        if matches!(self.phase, Phase::AwaitingTls) {
            self.tls = true;
            self.phase = Phase::Command;
            self.deadline = Some(now + self.config.idle_timeout);
        }
    }

    /// True once the session runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// True once a login succeeded (TRANSACTION state or later).
    pub fn is_authenticated(&self) -> bool {
        self.state != State::Authorization
    }

    /// True after the client sent UTF8 (RFC 6856): it takes UTF-8 headers as they are.
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    /// The language the client chose with LANG, if any.
    pub fn language(&self) -> Option<&str> {
        self.language.as_deref()
    }

    /// The next thing to do. Call after every input and answer until it
    /// returns [`Output::Timeout`] or [`Output::Closed`].
    pub fn poll_output(&mut self) -> Output<Event> {
        while self.events.is_empty() && self.step() {}
        if let Some(event) = self.events.pop_front() {
            return Output::Event(event);
        }
        if let Some(bytes) = self.queue.pop_front() {
            return Output::Transmit(bytes);
        }
        if !self.out.is_empty() {
            return Output::Transmit(std::mem::take(&mut self.out).freeze());
        }
        if self.stls_pending {
            self.stls_pending = false;
            self.phase = Phase::AwaitingTls;
            return Output::StartTls;
        }
        if self.overflowed && self.pending.is_none() && !self.closing {
            self.send(false, None, "Too much input while busy, closing connection");
            self.closing = true;
            return self.poll_output();
        }
        if self.eof && self.pending.is_none() {
            self.closing = true;
        }
        if self.closing || matches!(self.phase, Phase::Closed) {
            self.phase = Phase::Closed;
            self.input = BytesMut::new();
            return Output::Closed;
        }
        if self.input.is_empty() && self.input.capacity() > 4096 {
            self.input = BytesMut::new();
        }
        Output::Timeout(if self.pending.is_some() {
            None
        } else {
            self.deadline
        })
    }

    /// Accepts the pending decision with the standard positive response.
    /// Logins are accepted with [`Session::open`] instead. Each answer
    /// that ends a decision starts the client's idle timer again at `now`.
    pub fn accept(&mut self, now: Instant, ticket: Ticket) -> Result<(), AnswerError> {
        self.check(ticket)?;
        if matches!(self.pending, Some((_, Pending::Login))) {
            return Err(AnswerError::MaildropRequired);
        }
        if matches!(self.pending, Some((_, Pending::Body))) {
            return Err(AnswerError::UnknownTicket);
        }
        let pending = self.take_pending(now, ticket)?;
        self.on_accept(ticket, pending, None);
        Ok(())
    }

    /// Refuses the pending decision with a `-ERR` response.
    pub fn reject(
        &mut self,
        now: Instant,
        ticket: Ticket,
        response: Response,
    ) -> Result<(), AnswerError> {
        if response.is_ok() {
            return Err(AnswerError::NotNegative);
        }
        self.check(ticket)?;
        if matches!(self.pending, Some((_, Pending::Body))) {
            return Err(AnswerError::UnknownTicket);
        }
        let pending = self.take_pending(now, ticket)?;
        self.on_reject(pending, response);
        Ok(())
    }

    /// Answers the pending decision with `response`: a `+OK` accepts with that
    /// text (a greeting with an APOP timestamp, a sign-off), a `-ERR` refuses.
    pub fn respond(
        &mut self,
        now: Instant,
        ticket: Ticket,
        response: Response,
    ) -> Result<(), AnswerError> {
        if !response.is_ok() {
            return self.reject(now, ticket, response);
        }
        self.check(ticket)?;
        match self.pending {
            Some((_, Pending::Login)) => Err(AnswerError::MaildropRequired),
            Some((_, Pending::Body)) => Err(AnswerError::UnknownTicket),
            _ => {
                let pending = self.take_pending(now, ticket)?;
                self.on_accept(ticket, pending, Some(response));
                Ok(())
            }
        }
    }

    /// Accepts a login ([`Event::Login`], [`Event::Apop`], [`Event::Auth`])
    /// and opens the maildrop: message `n` is `maildrop[n - 1]`.
    pub fn open(
        &mut self,
        now: Instant,
        ticket: Ticket,
        maildrop: Vec<MessageInfo>,
    ) -> Result<(), AnswerError> {
        self.check(ticket)?;
        if !matches!(self.pending, Some((_, Pending::Login))) {
            return Err(AnswerError::NotALogin);
        }
        if u32::try_from(maildrop.len()).is_err() {
            return Err(AnswerError::MaildropTooLarge);
        }
        self.pending = None;
        self.deadline = Some(now + self.config.idle_timeout);
        self.phase = Phase::Command;
        self.deleted = vec![false; maildrop.len()];
        self.maildrop = maildrop;
        self.state = State::Transaction;
        self.user = None;
        let (count, size) = self.stat();
        self.send(
            true,
            None,
            &format!("maildrop has {count} messages ({size} octets)"),
        );
        Ok(())
    }

    /// Sends the next piece of the message being retrieved (after accepting
    /// [`Event::Retrieve`]). Drain `poll_output` between pieces to bound memory.
    pub fn write_body(&mut self, ticket: Ticket, chunk: Bytes) -> Result<BodyFlow, AnswerError> {
        let encoder = self.body_encoder(ticket)?;
        let encoded = encoder.encode(chunk);
        let flow = if encoder.is_done() {
            BodyFlow::Enough
        } else {
            BodyFlow::More
        };
        if !encoded.is_empty() {
            self.flush_out();
            self.queue.push_back(encoded);
        }
        Ok(flow)
    }

    /// Ends the message being retrieved: the terminating `.` line goes out.
    pub fn finish_body(&mut self, now: Instant, ticket: Ticket) -> Result<(), AnswerError> {
        self.body_encoder(ticket)?;
        if let Phase::Streaming(mut encoder) = std::mem::replace(&mut self.phase, Phase::Command) {
            encoder.finish(&mut self.out);
        }
        self.pending = None;
        self.deadline = Some(now + self.config.idle_timeout);
        Ok(())
    }

    fn body_encoder(&mut self, ticket: Ticket) -> Result<&mut BodyEncoder, AnswerError> {
        match (&self.pending, &mut self.phase) {
            (Some((t, Pending::Body)), Phase::Streaming(encoder)) if *t == ticket => Ok(encoder),
            _ => Err(AnswerError::NoBody),
        }
    }

    fn check(&self, ticket: Ticket) -> Result<(), AnswerError> {
        match &self.pending {
            Some((t, _)) if *t == ticket => Ok(()),
            _ => Err(AnswerError::UnknownTicket),
        }
    }

    /// Ends the pending decision; the client's idle timer starts at `now`.
    fn take_pending(&mut self, now: Instant, ticket: Ticket) -> Result<Pending, AnswerError> {
        match self.pending.take() {
            Some((t, p)) if t == ticket => {
                self.deadline = Some(now + self.config.idle_timeout);
                Ok(p)
            }
            other => {
                self.pending = other;
                Err(AnswerError::UnknownTicket)
            }
        }
    }

    fn wait_for(&mut self, pending: Pending) -> Ticket {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        self.pending = Some((ticket, pending));
        ticket
    }

    fn on_accept(&mut self, ticket: Ticket, pending: Pending, custom: Option<Response>) {
        match pending {
            Pending::Connect => {
                self.phase = Phase::Command;
                let greeting = custom.unwrap_or_else(|| {
                    Response::fixed(true, None, &format!("{} POP3 ready", self.config.hostname))
                });
                self.timestamp = apop_timestamp(greeting.text());
                self.respond_line(&greeting);
            }
            Pending::Retrieve { index, top } => {
                let default = match top {
                    None => format!("{} octets", self.maildrop[index].size),
                    Some(_) => "top of message follows".to_owned(),
                };
                match custom {
                    Some(r) => self.respond_line(&r),
                    None => self.send(true, None, &default),
                }
                self.phase = Phase::Streaming(match top {
                    None => BodyEncoder::new(),
                    Some(lines) => BodyEncoder::top(lines),
                });
                // The body continues the same answer, under the same ticket.
                self.pending = Some((ticket, Pending::Body));
            }
            Pending::Update => {
                let left = self.deleted.iter().filter(|d| !**d).count();
                match custom {
                    Some(r) => self.respond_line(&r),
                    None => self.send(
                        true,
                        None,
                        &format!(
                            "{} POP3 server signing off ({left} messages left)",
                            self.config.hostname
                        ),
                    ),
                }
                self.closing = true;
            }
            Pending::Login | Pending::Body => {}
        }
    }

    fn on_reject(&mut self, pending: Pending, response: Response) {
        match pending {
            Pending::Connect | Pending::Update => {
                self.respond_line(&response);
                self.closing = true;
            }
            Pending::Login => {
                self.user = None;
                let response = match std::mem::replace(&mut self.phase, Phase::Command) {
                    // RFC 7628 §3.2.2: an error challenge, the client's dummy reply, then the failure.
                    Phase::AuthResponse(mut exchange) => match exchange.refuse(response) {
                        Ok(challenge) => {
                            self.challenge(challenge);
                            self.phase = Phase::AuthResponse(exchange);
                            return;
                        }
                        Err(response) => response,
                    },
                    _ => response,
                };
                self.error(&response);
            }
            Pending::Retrieve { .. } => self.respond_line(&response),
            Pending::Body => {}
        }
    }

    fn respond_line(&mut self, response: &Response) {
        response.write(&mut self.out);
    }

    fn send(&mut self, ok: bool, code: Option<ResponseCode>, text: &str) {
        Response::fixed(ok, code, text).write(&mut self.out);
    }

    fn flush_out(&mut self) {
        if !self.out.is_empty() {
            self.queue.push_back(std::mem::take(&mut self.out).freeze());
        }
    }

    /// A `-ERR` that counts towards `max_errors`.
    fn error(&mut self, response: &Response) {
        self.respond_line(response);
        self.errors += 1;
        if self.errors >= self.config.max_errors && !self.closing {
            self.send(false, None, "Too many errors, closing connection");
            self.closing = true;
        }
    }

    fn error_text(&mut self, code: Option<ResponseCode>, text: &str) {
        self.error(&Response::fixed(false, code, text));
    }

    /// Makes progress on buffered input; false when nothing more can be done now.
    fn step(&mut self) -> bool {
        if self.pending.is_some() || self.closing || self.stls_pending || self.input.is_empty() {
            return false;
        }
        match self.phase {
            Phase::Command => self.step_command(),
            Phase::AuthResponse(_) => self.step_auth_line(),
            Phase::Greeting | Phase::Streaming(_) | Phase::AwaitingTls | Phase::Closed => false,
        }
    }

    /// Frames the next line, handling over-long and bare-ending lines.
    fn next_line(&mut self, max: usize) -> Option<Result<Bytes, SyntaxError>> {
        let line = self.lines.next_line(&mut self.input, max)?;
        Some(line.map_err(|e| match e {
            LineError::BareLineEnding => SyntaxError::BareLineEnding,
            LineError::TooLong => SyntaxError::LineTooLong,
        }))
    }

    fn step_command(&mut self) -> bool {
        let discarding = self.lines.is_discarding();
        let max = self
            .config
            .max_line_length
            .max(self.config.max_auth_line_length);
        match self.next_line(max) {
            Some(Ok(line)) => {
                // Only AUTH may use the longer SASL limit.
                let is_auth = line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"AUTH ");
                if line.len() + 2 > self.config.max_line_length && !is_auth {
                    self.error(&SyntaxError::LineTooLong.response());
                } else {
                    self.handle_command(&line);
                }
            }
            Some(Err(e)) => self.error(&e.response()),
            None => return discarding && !self.input.is_empty(),
        }
        true
    }

    fn handle_command(&mut self, line: &[u8]) {
        let command = match Command::parse_line(line) {
            Ok(c) => c,
            Err(e) => return self.error(&e.response()),
        };
        if !self.config.pipelining && !self.input.is_empty() {
            // Without PIPELINING a client waits for each response; input
            // already queued behind this command was sent out of turn.
            self.input.clear();
            return self.error_text(None, "Pipelining is not offered");
        }
        match (self.state, command) {
            (_, Command::Capa) => self.capa(),
            (_, Command::Quit) => self.quit(),
            (_, Command::Lang(tag)) => self.lang(tag),
            (State::Authorization, Command::User(name)) => self.user(name),
            (State::Authorization, Command::Pass(password)) => self.pass(password),
            (State::Authorization, Command::Apop { name, digest }) => self.apop(name, digest),
            (
                State::Authorization,
                Command::Auth {
                    mechanism,
                    initial_response,
                },
            ) => self.auth(mechanism, initial_response),
            (State::Authorization, Command::Stls) => self.stls(),
            (State::Authorization, Command::Utf8) => self.utf8(),
            (State::Transaction, Command::Stat) => {
                let (count, size) = self.stat();
                self.send(true, None, &format!("{count} {size}"));
            }
            (State::Transaction, Command::List(n)) => self.list(n),
            (State::Transaction, Command::Uidl(n)) => self.uidl(n),
            (State::Transaction, Command::Retr(n)) => self.retrieve(n, None),
            (State::Transaction, Command::Top { message, lines }) => {
                self.retrieve(message, Some(lines))
            }
            (State::Transaction, Command::Dele(n)) => self.dele(n),
            (State::Transaction, Command::Noop) => self.send(true, None, ""),
            (State::Transaction, Command::Rset) => {
                self.deleted.iter_mut().for_each(|d| *d = false);
                let (count, size) = self.stat();
                self.send(
                    true,
                    None,
                    &format!("maildrop has {count} messages ({size} octets)"),
                );
            }
            _ => self.error_text(None, "Command not valid in this state"),
        }
    }

    fn login_allowed(&self) -> bool {
        self.tls || !self.config.login_requires_tls
    }

    fn capa(&mut self) {
        let mut caps = vec![Capability::Top];
        let login = self.login_allowed() && self.state == State::Authorization;
        if self.config.user_pass && login {
            caps.push(Capability::User);
        }
        if !self.config.auth_mechanisms.is_empty() && login {
            caps.push(Capability::Sasl(self.config.auth_mechanisms.clone()));
        }
        caps.extend([Capability::RespCodes, Capability::AuthRespCode]);
        if self.config.pipelining {
            caps.push(Capability::Pipelining);
        }
        caps.push(Capability::Uidl);
        if self.config.stls && !self.tls && self.state == State::Authorization {
            caps.push(Capability::Stls);
        }
        let per_user = false;
        if let Some(policy) = self.config.expire {
            caps.push(Capability::Expire { policy, per_user });
        }
        if let Some(seconds) = self.config.login_delay {
            caps.push(Capability::LoginDelay { seconds, per_user });
        }
        if self.config.utf8 {
            caps.push(Capability::Utf8 { user: true });
        }
        if !self.config.languages.is_empty() {
            caps.push(Capability::Lang);
        }
        if let Some(text) = &self.config.implementation {
            caps.push(Capability::Implementation(text.clone()));
        }
        self.send(true, None, "Capability list follows");
        for cap in caps {
            self.out.put_slice(cap.to_string().as_bytes());
            self.out.put_slice(b"\r\n");
        }
        self.out.put_slice(b".\r\n");
    }

    fn quit(&mut self) {
        let deleted: Vec<u32> = (1u32..)
            .zip(&self.deleted)
            .filter(|(_, d)| **d)
            .map(|(n, _)| n)
            .collect();
        if self.state == State::Transaction && !deleted.is_empty() {
            self.state = State::Update;
            let ticket = self.wait_for(Pending::Update);
            self.events.push_back(Event::Update { ticket, deleted });
            return;
        }
        let hostname = self.config.hostname.clone();
        self.send(true, None, &format!("{hostname} POP3 server signing off"));
        self.closing = true;
    }

    fn lang(&mut self, tag: Option<String>) {
        if self.config.languages.is_empty() {
            return self.error_text(None, "LANG is not offered");
        }
        match tag {
            None => {
                self.send(true, None, "Language listing follows");
                for (tag, description) in self.config.languages.clone() {
                    self.out
                        .put_slice(format!("{tag} {description}\r\n").as_bytes());
                }
                self.out.put_slice(b".\r\n");
            }
            Some(tag) => {
                let chosen = if tag == "*" {
                    self.config.languages.first()
                } else {
                    self.config
                        .languages
                        .iter()
                        .find(|(t, _)| t.eq_ignore_ascii_case(&tag))
                };
                match chosen.map(|(t, _)| t.clone()) {
                    Some(t) => {
                        self.send(true, None, &format!("{t} Language changed"));
                        self.language = Some(t);
                    }
                    None => self.error_text(None, "Unsupported language"),
                }
            }
        }
    }

    /// Non-ASCII names and passwords need UTF8 first (RFC 6856 §2).
    fn ascii_or_utf8(&mut self, text: &str) -> bool {
        if text.is_ascii() || self.utf8 {
            return true;
        }
        self.error_text(None, "UTF-8 user names and passwords need the UTF8 command");
        false
    }

    fn refuse_plaintext(&mut self) -> bool {
        if self.login_allowed() {
            return false;
        }
        self.error_text(
            Some(ResponseCode::Auth),
            "Plaintext authentication disallowed before STLS",
        );
        true
    }

    fn user(&mut self, name: String) {
        if !self.config.user_pass {
            return self.error_text(None, "USER is not offered");
        }
        if self.refuse_plaintext() || !self.ascii_or_utf8(&name) {
            return;
        }
        self.user = Some(name);
        // The same answer for every name, so users cannot be probed.
        self.send(true, None, "Send PASS");
    }

    fn pass(&mut self, password: Secret<String>) {
        let Some(user) = self.user.take() else {
            return self.error_text(None, "Send USER first");
        };
        if self.refuse_plaintext() || !self.ascii_or_utf8(password.expose()) {
            return;
        }
        let ticket = self.wait_for(Pending::Login);
        self.events.push_back(Event::Login {
            ticket,
            user,
            password,
        });
    }

    fn apop(&mut self, user: String, digest: String) {
        let Some(timestamp) = self.timestamp.clone() else {
            return self.error_text(None, "APOP is not offered");
        };
        if !self.ascii_or_utf8(&user) {
            return;
        }
        let ticket = self.wait_for(Pending::Login);
        self.events.push_back(Event::Apop {
            ticket,
            user,
            digest,
            timestamp,
        });
    }

    fn stls(&mut self) {
        if !self.config.stls {
            return self.error_text(None, "STLS is not offered");
        }
        if self.tls {
            return self.error_text(None, "Already running TLS");
        }
        self.send(true, None, "Begin TLS negotiation");
        self.user = None;
        if !self.input.is_empty() {
            let bytes = self.input.len();
            self.input = BytesMut::new();
            self.events
                .push_back(Event::PipelinedInputDiscarded { bytes });
        }
        self.stls_pending = true;
    }

    fn utf8(&mut self) {
        if !self.config.utf8 {
            return self.error_text(None, "UTF8 is not offered");
        }
        self.utf8 = true;
        self.send(true, None, "UTF8 enabled");
    }

    fn auth(&mut self, mechanism: Option<Mechanism>, initial: Option<Secret<String>>) {
        if self.config.auth_mechanisms.is_empty() {
            return self.error_text(None, "AUTH is not offered");
        }
        if self.refuse_plaintext() {
            return;
        }
        let Some(mechanism) = mechanism else {
            // RFC 1734's bare AUTH: list the mechanisms.
            self.send(true, None, "Methods follow");
            for m in self.config.auth_mechanisms.clone() {
                self.out.put_slice(m.as_str().as_bytes());
                self.out.put_slice(b"\r\n");
            }
            self.out.put_slice(b".\r\n");
            return;
        };
        if !self.config.auth_mechanisms.contains(&mechanism) || !sasl::is_supported(&mechanism) {
            return self.error_text(None, "Unrecognized authentication type");
        }
        let initial = match initial {
            None => None,
            Some(r) => match sasl::server::decode_response(r.expose().as_bytes()) {
                Some(bytes) => Some(bytes),
                None => return self.error_text(None, "Invalid base64"),
            },
        };
        let (exchange, step) = Exchange::start(mechanism, initial);
        self.auth_step(exchange, step);
    }

    /// Sends a challenge, already base64.
    fn challenge(&mut self, challenge: &str) {
        self.out.put_slice(b"+ ");
        self.out.put_slice(challenge.as_bytes());
        self.out.put_slice(b"\r\n");
    }

    /// Carries out what the SASL exchange asks for.
    fn auth_step(&mut self, exchange: Exchange<Response>, step: Step<Response>) {
        self.phase = Phase::Command;
        match step {
            Step::Challenge(challenge) => {
                self.challenge(challenge);
                self.phase = Phase::AuthResponse(exchange);
            }
            Step::Credentials(credentials) => {
                let mechanism = exchange.mechanism().clone();
                if let Some(user) = credentials.username()
                    && !user.is_ascii()
                    && !self.utf8
                {
                    return self.error_text(None, "UTF-8 user names need the UTF8 command");
                }
                // Kept while the application decides, for the error round of a refusal.
                self.phase = Phase::AuthResponse(exchange);
                let ticket = self.wait_for(Pending::Login);
                self.events.push_back(Event::Auth {
                    ticket,
                    mechanism,
                    credentials,
                });
            }
            Step::Refused(response) => self.error(&response),
            Step::Failed(Failure::Cancelled) => self.error_text(None, "Authentication cancelled"),
            Step::Failed(Failure::InvalidBase64) => self.error_text(None, "Invalid base64"),
            Step::Failed(_) => self.error_text(None, "Malformed SASL response"),
        }
    }

    fn step_auth_line(&mut self) -> bool {
        let line = match self.next_line(self.config.max_auth_line_length) {
            Some(Ok(line)) => line,
            Some(Err(e)) => {
                self.phase = Phase::Command;
                self.error(&e.response());
                return true;
            }
            None => return false,
        };
        if let Phase::AuthResponse(mut exchange) =
            std::mem::replace(&mut self.phase, Phase::Command)
        {
            let step = exchange.respond(&line);
            self.auth_step(exchange, step);
        }
        true
    }

    /// The index of live message `n`, or the `-ERR` already sent.
    fn live_message(&mut self, n: u32) -> Option<usize> {
        let index = (n as usize).checked_sub(1)?;
        match self.deleted.get(index) {
            Some(false) => Some(index),
            Some(true) => {
                self.error_text(None, &format!("Message {n} already deleted"));
                None
            }
            None => {
                let count = self.maildrop.len();
                self.error_text(
                    None,
                    &format!("No such message, only {count} messages in maildrop"),
                );
                None
            }
        }
    }

    fn stat(&self) -> (usize, u64) {
        self.maildrop
            .iter()
            .zip(&self.deleted)
            .filter(|(_, d)| !**d)
            .fold((0, 0), |(n, size), (m, _)| (n + 1, size + m.size))
    }

    fn live(&self) -> impl Iterator<Item = (u32, &MessageInfo)> {
        (1u32..)
            .zip(self.maildrop.iter().zip(&self.deleted))
            .filter(|(_, (_, d))| !**d)
            .map(|(n, (m, _))| (n, m))
    }

    fn list(&mut self, n: Option<u32>) {
        match n {
            Some(n) => {
                if let Some(i) = self.live_message(n) {
                    let size = self.maildrop[i].size;
                    self.send(true, None, &format!("{n} {size}"));
                }
            }
            None => {
                let (count, size) = self.stat();
                self.send(true, None, &format!("{count} messages ({size} octets)"));
                let mut out = std::mem::take(&mut self.out);
                for (n, m) in self.live() {
                    write_scan_line(n, m.size, &mut out);
                }
                out.put_slice(b".\r\n");
                self.out = out;
            }
        }
    }

    fn uidl(&mut self, n: Option<u32>) {
        match n {
            Some(n) => {
                if let Some(i) = self.live_message(n) {
                    let uid = self.maildrop[i].uid.clone();
                    self.send(true, None, &format!("{n} {uid}"));
                }
            }
            None => {
                self.send(true, None, "Unique-ID listing follows");
                let mut out = std::mem::take(&mut self.out);
                for (n, m) in self.live() {
                    write_uid_line(n, &m.uid, &mut out);
                }
                out.put_slice(b".\r\n");
                self.out = out;
            }
        }
    }

    fn retrieve(&mut self, n: u32, top: Option<u32>) {
        let Some(index) = self.live_message(n) else {
            return;
        };
        let uid: UniqueId = self.maildrop[index].uid.clone();
        let ticket = self.wait_for(Pending::Retrieve { index, top });
        self.events.push_back(Event::Retrieve {
            ticket,
            message: n,
            uid,
            top,
        });
    }

    fn dele(&mut self, n: u32) {
        if let Some(index) = self.live_message(n) {
            self.deleted[index] = true;
            self.send(true, None, &format!("Message {n} deleted"));
        }
    }
}

/// The `<...>` msg-id of a greeting that offers APOP (RFC 1939 §7).
pub(crate) fn apop_timestamp(text: &str) -> Option<String> {
    let start = text.find('<')?;
    let len = text[start..].find('>')? + 1;
    let stamp = &text[start..start + len];
    (stamp.contains('@') && !stamp[1..len - 1].contains(['<', ' '])).then(|| stamp.to_owned())
}
