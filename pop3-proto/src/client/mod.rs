//! The client session: greeting, CAPA, STLS, login (APOP, AUTH or
//! USER/PASS), then the commands the application issues, with listings
//! and message bodies streamed as events.
//!
//! ```
//! use std::time::Instant;
//! use sansmail_pop3::Output;
//! use sansmail_pop3::client::{Config, Event, Session, TlsPolicy};
//!
//! let now = Instant::now();
//! let mut config = Config::password("alice", "secret");
//! config.tls = TlsPolicy::Disabled;
//! config.allow_plaintext_auth = true;
//! let mut session = Session::new(config, now);
//! // What a server says, one read per response.
//! let mut server: &[&[u8]] = &[
//!     b"+OK ready\r\n",
//!     b"+OK\r\nUSER\r\nUIDL\r\n.\r\n",
//!     b"+OK send PASS\r\n",
//!     b"+OK logged in\r\n",
//!     b"+OK 5 octets\r\n..hi\r\n.\r\n",
//!     b"+OK bye\r\n",
//! ];
//! let mut body = Vec::new();
//! loop {
//!     match session.poll_output() {
//!         Output::Transmit(_bytes) => {} // write them to the server
//!         Output::Event(Event::Ready { .. }) => {
//!             session.retr(now, 1).unwrap();
//!             session.quit(now).unwrap();
//!         }
//!         Output::Event(Event::BodyChunk { chunk, .. }) => body.extend_from_slice(&chunk),
//!         Output::Event(_) => {}
//!         Output::StartTls => unreachable!("TLS is disabled here"),
//!         Output::Timeout(_) => match server.split_first() {
//!             Some((next, rest)) => { session.handle_input(now, next); server = rest; }
//!             None => session.handle_eof(now),
//!         },
//!         Output::Closed => break,
//!     }
//! }
//! assert_eq!(body, b".hi\r\n");
//! ```

mod config;
mod event;

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Buf, BytesMut};

pub use config::{ClientCredentials, Config, TlsPolicy};
pub use event::{ClientError, Event, RequestId, UsageError};

use crate::Output;
use crate::codec::{
    Command, Line, SyntaxError, decode_sasl, encode_base64, frame_line, parse_scan_line,
    parse_stat, parse_uid_line,
};
use crate::multiline::{BodyDecoder, BodyStep};
use crate::sasl::{self, Mechanism};
use crate::types::{Capabilities, Capability, Response, Secret};

/// What the next status line answers.
#[derive(Debug)]
enum Expect {
    Greeting,
    Capa,
    Stls,
    Utf8,
    User,
    Pass,
    Apop,
    Auth(AuthStep),
    Request(Request),
}

/// Where a SASL exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthStep {
    /// AUTH was sent; a challenge or the result comes next.
    Started,
    /// LOGIN: the user name was sent.
    LoginUser,
    /// LOGIN: the password was sent, or the single response of another mechanism.
    Sent,
    /// The server sent an error challenge; the dummy reply went out.
    Failing,
}

#[derive(Debug, Clone)]
struct Request {
    id: RequestId,
    command: Command,
}

/// What the bytes after a `+OK` are.
#[derive(Debug)]
enum Reading {
    /// Status lines (and SASL challenges).
    Status,
    /// CAPA lines.
    Capabilities(Vec<Capability>),
    /// LIST or UIDL lines.
    Listing(Request, Response),
    /// A RETR or TOP body.
    Body(Request, Response, BodyDecoder),
}

/// A client session. See the module docs for the driving loop.
#[derive(Debug)]
pub struct Session {
    config: Config,
    input: BytesMut,
    out: BytesMut,
    events: VecDeque<Event>,
    /// Sent commands, oldest first: each waits for its response.
    inflight: VecDeque<Expect>,
    /// Requests not yet sent (the server does not pipeline, or login is running).
    waiting: VecDeque<Request>,
    reading: Reading,
    capabilities: Capabilities,
    timestamp: Option<String>,
    /// A SASL initial response too long for the AUTH line, sent at the first challenge.
    pending_response: Option<String>,
    tls: bool,
    stls_tried: bool,
    utf8_tried: bool,
    ready: bool,
    quit_sent: bool,
    starttls_pending: bool,
    awaiting_tls: bool,
    next_id: u64,
    deadline: Option<Instant>,
    eof: bool,
    closed: bool,
}

impl Session {
    /// A session on a connection just opened; it waits for the greeting.
    pub fn new(config: Config, now: Instant) -> Self {
        let tls = config.implicit_tls;
        Session {
            deadline: Some(now + config.timeout),
            config,
            input: BytesMut::new(),
            out: BytesMut::new(),
            events: VecDeque::new(),
            inflight: VecDeque::from([Expect::Greeting]),
            waiting: VecDeque::new(),
            reading: Reading::Status,
            capabilities: Capabilities::default(),
            timestamp: None,
            pending_response: None,
            tls,
            stls_tried: false,
            utf8_tried: false,
            ready: false,
            quit_sent: false,
            starttls_pending: false,
            awaiting_tls: false,
            next_id: 0,
            eof: false,
            closed: false,
        }
    }

    /// Bytes received from the server.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if self.closed || self.awaiting_tls {
            return;
        }
        self.input.extend_from_slice(data);
        if !self.inflight.is_empty() {
            self.deadline = Some(now + self.config.timeout);
        }
    }

    /// The server closed the connection.
    pub fn handle_eof(&mut self, _now: Instant) {
        self.eof = true;
    }

    /// The deadline from [`Output::Timeout`] passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.inflight.is_empty() && self.deadline.is_some_and(|d| now >= d) {
            self.fail(ClientError::Timeout);
        }
    }

    /// The TLS handshake after [`Output::StartTls`] finished at `now`: CAPA is asked again.
    pub fn handle_tls_started(&mut self, now: Instant) {
        if !self.awaiting_tls {
            return;
        }
        self.awaiting_tls = false;
        self.tls = true;
        // Nothing read before the handshake may be taken as a response after it.
        self.input = BytesMut::new();
        self.capabilities = Capabilities::default();
        self.send(Command::Capa, Expect::Capa, now);
    }

    /// True once the session runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// What the server announced in its last CAPA response.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The next thing to do. Call after every input and call until it
    /// returns [`Output::Timeout`] or [`Output::Closed`].
    pub fn poll_output(&mut self) -> Output<Event> {
        while self.events.is_empty() && !self.closed && self.step() {}
        if let Some(event) = self.events.pop_front() {
            return Output::Event(event);
        }
        if !self.out.is_empty() {
            return Output::Transmit(std::mem::take(&mut self.out).freeze());
        }
        if self.starttls_pending {
            self.starttls_pending = false;
            self.awaiting_tls = true;
            return Output::StartTls;
        }
        if self.closed {
            return Output::Closed;
        }
        if self.eof {
            if self.quit_sent && self.inflight.is_empty() {
                self.closed = true;
            } else {
                self.fail(ClientError::ConnectionClosed);
            }
            return self.poll_output();
        }
        if self.input.is_empty() && self.input.capacity() > 64 * 1024 {
            self.input = BytesMut::new();
        }
        Output::Timeout(if self.inflight.is_empty() || self.awaiting_tls {
            None
        } else {
            self.deadline
        })
    }

    /// STAT: answered with [`Event::Stat`].
    pub fn stat(&mut self, now: Instant) -> Result<RequestId, UsageError> {
        self.request(now, Command::Stat)
    }

    /// LIST, of one message or all: answered with [`Event::Listed`] entries, then [`Event::Done`].
    pub fn list(&mut self, now: Instant, message: Option<u32>) -> Result<RequestId, UsageError> {
        check_number(message)?;
        self.request(now, Command::List(message))
    }

    /// UIDL, of one message or all: answered with [`Event::UniqueId`] entries, then [`Event::Done`].
    pub fn uidl(&mut self, now: Instant, message: Option<u32>) -> Result<RequestId, UsageError> {
        check_number(message)?;
        self.request(now, Command::Uidl(message))
    }

    /// RETR: answered with [`Event::BodyChunk`]s, then [`Event::Done`].
    pub fn retr(&mut self, now: Instant, message: u32) -> Result<RequestId, UsageError> {
        check_number(Some(message))?;
        self.request(now, Command::Retr(message))
    }

    /// TOP: the header and `lines` body lines, as for [`Session::retr`].
    pub fn top(&mut self, now: Instant, message: u32, lines: u32) -> Result<RequestId, UsageError> {
        check_number(Some(message))?;
        self.request(now, Command::Top { message, lines })
    }

    /// DELE: marks the message; the server removes it at QUIT.
    pub fn dele(&mut self, now: Instant, message: u32) -> Result<RequestId, UsageError> {
        check_number(Some(message))?;
        self.request(now, Command::Dele(message))
    }

    /// NOOP.
    pub fn noop(&mut self, now: Instant) -> Result<RequestId, UsageError> {
        self.request(now, Command::Noop)
    }

    /// RSET: unmarks deleted messages.
    pub fn rset(&mut self, now: Instant) -> Result<RequestId, UsageError> {
        self.request(now, Command::Rset)
    }

    /// QUIT: the server applies deletions, answers, and the session closes.
    pub fn quit(&mut self, now: Instant) -> Result<RequestId, UsageError> {
        let id = self.request(now, Command::Quit)?;
        self.quit_sent = true;
        Ok(id)
    }

    /// Queues a request; its reply is due within the timeout of `now`, or
    /// of the reply before when requests are already in flight.
    fn request(&mut self, now: Instant, command: Command) -> Result<RequestId, UsageError> {
        if !self.ready || self.quit_sent || self.closed {
            return Err(UsageError::NotReady);
        }
        if self.inflight.is_empty() {
            self.deadline = Some(now + self.config.timeout);
        }
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.waiting.push_back(Request { id, command });
        self.send_waiting();
        Ok(id)
    }

    /// Sends queued requests: all of them when the server pipelines, else one at a time.
    fn send_waiting(&mut self) {
        let pipelining = self.config.pipelining && self.capabilities.pipelining();
        while self.ready && (pipelining || self.inflight.is_empty()) {
            let Some(request) = self.waiting.pop_front() else {
                break;
            };
            request.command.write(&mut self.out);
            self.inflight.push_back(Expect::Request(request));
        }
    }

    fn send(&mut self, command: Command, expect: Expect, now: Instant) {
        command.write(&mut self.out);
        self.inflight.push_back(expect);
        self.deadline = Some(now + self.config.timeout);
    }

    /// Sends a command during setup; the deadline was set by the input that led here.
    fn send_setup(&mut self, command: Command, expect: Expect) {
        command.write(&mut self.out);
        self.inflight.push_back(expect);
    }

    fn fail(&mut self, error: ClientError) {
        if !self.closed {
            self.events.push_back(Event::Failed(error));
            self.closed = true;
            self.inflight.clear();
            self.waiting.clear();
            self.input = BytesMut::new();
        }
    }

    /// Makes progress on buffered input; false when nothing more can be done now.
    fn step(&mut self) -> bool {
        if self.input.is_empty() || self.awaiting_tls || self.starttls_pending {
            return false;
        }
        match &mut self.reading {
            Reading::Body(request, _, decoder) => match decoder.decode(&mut self.input) {
                BodyStep::Chunk(chunk) => {
                    let id = request.id;
                    self.events.push_back(Event::BodyChunk { id, chunk });
                    true
                }
                BodyStep::NeedMore => false,
                BodyStep::End => {
                    if let Reading::Body(request, response, _) =
                        std::mem::replace(&mut self.reading, Reading::Status)
                    {
                        self.complete(request, response);
                    }
                    true
                }
            },
            _ => match self.next_line() {
                Some(Ok(line)) => {
                    self.handle_line(&line);
                    true
                }
                Some(Err(e)) => {
                    self.fail(ClientError::Protocol(e));
                    true
                }
                None => false,
            },
        }
    }

    fn next_line(&mut self) -> Option<Result<Vec<u8>, SyntaxError>> {
        match frame_line(&self.input, self.config.max_line_length) {
            Line::Complete { len, total } => {
                let line = self.input[..len].to_vec();
                self.input.advance(total);
                Some(Ok(line))
            }
            Line::Bare { .. } => Some(Err(SyntaxError::BareLineEnding)),
            Line::TooLong => Some(Err(SyntaxError::LineTooLong)),
            Line::Incomplete => None,
        }
    }

    fn handle_line(&mut self, line: &[u8]) {
        match std::mem::replace(&mut self.reading, Reading::Status) {
            Reading::Status => self.handle_status(line),
            Reading::Capabilities(mut caps) => {
                if line == b"." {
                    self.capabilities = Capabilities(caps);
                    self.after_capa();
                } else {
                    let line = String::from_utf8_lossy(unstuff(line));
                    caps.extend(Capability::parse(&line));
                    self.reading = Reading::Capabilities(caps);
                }
            }
            Reading::Listing(request, response) => {
                if line == b"." {
                    return self.complete(request, response);
                }
                let id = request.id;
                let uid = matches!(request.command, Command::Uidl(_));
                let line = unstuff(line);
                let event = if uid {
                    parse_uid_line(line).map(|(message, uid)| Event::UniqueId { id, message, uid })
                } else {
                    parse_scan_line(line).map(|(message, size)| Event::Listed { id, message, size })
                };
                match event {
                    Some(event) => {
                        self.events.push_back(event);
                        self.reading = Reading::Listing(request, response);
                    }
                    None => self.fail(ClientError::Protocol(SyntaxError::Response(
                        "malformed listing line",
                    ))),
                }
            }
            Reading::Body(..) => {}
        }
    }

    fn handle_status(&mut self, line: &[u8]) {
        // A SASL challenge: "+" alone or "+ base64".
        if matches!(self.inflight.front(), Some(Expect::Auth(_)))
            && (line == b"+" || line.starts_with(b"+ "))
        {
            let challenge = line.get(2..).unwrap_or_default().to_vec();
            return self.challenge(&challenge);
        }
        let response = match Response::parse_line(line) {
            Ok(r) => r,
            Err(e) => return self.fail(ClientError::Protocol(e)),
        };
        let Some(expect) = self.inflight.pop_front() else {
            return self.fail(ClientError::Protocol(SyntaxError::Response(
                "response to no command",
            )));
        };
        let ok = response.is_ok();
        match expect {
            Expect::Greeting if ok => {
                self.timestamp = crate::server::apop_timestamp(response.text());
                if self.config.implicit_tls {
                    self.tls = true;
                }
                self.send_setup(Command::Capa, Expect::Capa);
            }
            Expect::Greeting => self.fail(ClientError::GreetingRefused(response)),
            Expect::Capa if ok => self.reading = Reading::Capabilities(Vec::new()),
            // A server without CAPA (RFC 1939 only): go on with what RFC 1939 has.
            Expect::Capa => self.after_capa(),
            Expect::Stls if ok => self.starttls_pending = true,
            Expect::Stls if self.config.tls == TlsPolicy::Required => {
                self.fail(ClientError::TlsRefused(response))
            }
            Expect::Stls => self.after_capa(),
            Expect::Utf8 => self.login(),
            Expect::User | Expect::Pass | Expect::Apop | Expect::Auth(_) if !ok => {
                self.fail(ClientError::AuthFailed(response))
            }
            Expect::User => {
                if let ClientCredentials::Password { password, .. } = &self.config.credentials {
                    let command = Command::Pass(password.clone());
                    self.send_setup(command, Expect::Pass);
                }
            }
            Expect::Pass | Expect::Apop | Expect::Auth(_) => {
                self.ready = true;
                self.events.push_back(Event::Ready {
                    capabilities: self.capabilities.clone(),
                });
                self.send_waiting();
            }
            Expect::Request(request) => self.answer(request, response),
        }
    }

    /// Chooses what follows CAPA: STLS, UTF8, or the login.
    fn after_capa(&mut self) {
        if !self.tls && !self.stls_tried {
            let offered = self.capabilities.stls();
            match self.config.tls {
                TlsPolicy::Required if !offered && !self.capabilities.0.is_empty() => {
                    return self.fail(ClientError::TlsUnavailable);
                }
                // No CAPA answer: try STLS anyway when TLS is required.
                TlsPolicy::Required | TlsPolicy::Opportunistic
                    if offered || self.config.tls == TlsPolicy::Required =>
                {
                    self.stls_tried = true;
                    return self.send_setup(Command::Stls, Expect::Stls);
                }
                _ => {}
            }
        }
        let non_ascii_user = match &self.config.credentials {
            ClientCredentials::Password { username, .. } => !username.is_ascii(),
            ClientCredentials::XOAuth2 { user, .. }
            | ClientCredentials::OAuthBearer { user, .. } => !user.is_ascii(),
        };
        if !self.utf8_tried
            && (self.config.utf8 || non_ascii_user)
            && self.capabilities.utf8().is_some()
        {
            self.utf8_tried = true;
            return self.send_setup(Command::Utf8, Expect::Utf8);
        }
        self.login();
    }

    fn login(&mut self) {
        let secure = self.tls || self.config.allow_plaintext_auth;
        let offered = self.capabilities.sasl().to_vec();
        let no_capa = self.capabilities.0.is_empty();
        match self.config.credentials.clone() {
            ClientCredentials::Password { username, password } => {
                if self.config.apop
                    && let Some(timestamp) = self.timestamp.clone()
                {
                    let digest = crate::apop_digest(&timestamp, password.expose());
                    let command = Command::Apop {
                        name: username,
                        digest,
                    };
                    return self.send_setup(command, Expect::Apop);
                }
                if !secure {
                    return self.fail(ClientError::AuthUnavailable(
                        "a password needs TLS (allow_plaintext_auth is off)",
                    ));
                }
                let mechanism = self
                    .config
                    .password_mechanisms
                    .iter()
                    .find(|m| offered.contains(m))
                    .cloned();
                match mechanism {
                    Some(Mechanism::Plain) => {
                        let message = sasl::encode_plain(None, &username, password.expose());
                        self.auth(Mechanism::Plain, Some(message));
                    }
                    Some(Mechanism::Login) => self.auth(Mechanism::Login, None),
                    _ if self.capabilities.user() || no_capa => {
                        self.send_setup(Command::User(username), Expect::User)
                    }
                    _ => self.fail(ClientError::AuthUnavailable(
                        "the server offers no password login",
                    )),
                }
            }
            ClientCredentials::XOAuth2 { user, token } => {
                if !secure {
                    return self.fail(ClientError::AuthUnavailable("a token needs TLS"));
                }
                let message = sasl::encode_xoauth2(&user, token.expose());
                self.auth(Mechanism::XOAuth2, Some(message));
            }
            ClientCredentials::OAuthBearer { user, token } => {
                if !secure {
                    return self.fail(ClientError::AuthUnavailable("a token needs TLS"));
                }
                let message = sasl::encode_oauthbearer(&user, token.expose());
                self.auth(Mechanism::OAuthBearer, Some(message));
            }
        }
    }

    fn auth(&mut self, mechanism: Mechanism, initial: Option<Vec<u8>>) {
        let initial = initial.map(|m| match encode_base64(&m) {
            s if s.is_empty() => "=".to_owned(),
            s => s,
        });
        // RFC 5034 §4: an initial response that would make the line longer
        // than 255 octets waits for the empty challenge instead.
        let fits = initial
            .as_ref()
            .is_some_and(|r| r.len() + mechanism.as_str().len() + 8 <= 255);
        let step = if initial.is_some() && !fits {
            self.pending_response = initial.clone();
            AuthStep::Started
        } else if initial.is_some() {
            AuthStep::Sent
        } else {
            AuthStep::Started
        };
        let command = Command::Auth {
            mechanism: Some(mechanism),
            initial_response: initial.filter(|_| fits).map(Secret::new),
        };
        self.send_setup(command, Expect::Auth(step));
    }

    /// Answers a SASL challenge.
    fn challenge(&mut self, challenge: &[u8]) {
        let Some(Expect::Auth(step)) = self.inflight.pop_front() else {
            return;
        };
        if decode_sasl(challenge).is_none() {
            return self.fail(ClientError::Protocol(SyntaxError::Response(
                "challenge is not base64",
            )));
        }
        let (username, secret) = match &self.config.credentials {
            ClientCredentials::Password { username, password } => (username, password.expose()),
            ClientCredentials::XOAuth2 { user, token }
            | ClientCredentials::OAuthBearer { user, token } => (user, token.expose()),
        };
        let (reply, next) = match step {
            AuthStep::Started => match self.pending_response.take() {
                Some(response) => (response, AuthStep::Sent),
                // LOGIN asks for the user name first.
                None => (encode_base64(username.as_bytes()), AuthStep::LoginUser),
            },
            AuthStep::LoginUser => (encode_base64(secret.as_bytes()), AuthStep::Sent),
            // An error challenge (RFC 7628 §3.2.3): send the dummy reply, then read the failure.
            AuthStep::Sent => ("AQ==".to_owned(), AuthStep::Failing),
            AuthStep::Failing => {
                return self.fail(ClientError::Protocol(SyntaxError::Response(
                    "unexpected challenge",
                )));
            }
        };
        self.out.extend_from_slice(reply.as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self.inflight.push_front(Expect::Auth(next));
    }

    /// The status line for an issued command.
    fn answer(&mut self, request: Request, response: Response) {
        let id = request.id;
        if !response.is_ok() {
            self.events.push_back(Event::Refused { id, response });
            return self.after_request(&request.command);
        }
        match &request.command {
            Command::Stat => match parse_stat(response.text()) {
                Some((messages, octets)) => {
                    self.events.push_back(Event::Stat {
                        id,
                        messages,
                        octets,
                    });
                    self.complete(request, response);
                }
                None => self.fail(ClientError::Protocol(SyntaxError::Response(
                    "malformed STAT answer",
                ))),
            },
            Command::List(Some(_)) | Command::Uidl(Some(_)) => {
                let line = response.text().as_bytes();
                let event = match request.command {
                    Command::Uidl(_) => parse_uid_line(line)
                        .map(|(message, uid)| Event::UniqueId { id, message, uid }),
                    _ => parse_scan_line(line).map(|(message, size)| Event::Listed {
                        id,
                        message,
                        size,
                    }),
                };
                match event {
                    Some(event) => {
                        self.events.push_back(event);
                        self.complete(request, response);
                    }
                    None => self.fail(ClientError::Protocol(SyntaxError::Response(
                        "malformed listing answer",
                    ))),
                }
            }
            Command::List(None) | Command::Uidl(None) => {
                self.reading = Reading::Listing(request, response);
            }
            Command::Retr(_) | Command::Top { .. } => {
                self.reading = Reading::Body(request, response, BodyDecoder::new());
            }
            _ => self.complete(request, response),
        }
    }

    fn complete(&mut self, request: Request, response: Response) {
        self.events.push_back(Event::Done {
            id: request.id,
            response,
        });
        self.after_request(&request.command);
    }

    fn after_request(&mut self, command: &Command) {
        if matches!(command, Command::Quit) {
            self.closed = true;
            self.input = BytesMut::new();
            return;
        }
        self.send_waiting();
    }
}

fn check_number(message: Option<u32>) -> Result<(), UsageError> {
    if message == Some(0) {
        Err(UsageError::BadMessageNumber)
    } else {
        Ok(())
    }
}

/// A listing line that starts with a dot has it doubled (RFC 1939 §3).
fn unstuff(line: &[u8]) -> &[u8] {
    match line {
        [b'.', rest @ ..] => rest,
        _ => line,
    }
}
