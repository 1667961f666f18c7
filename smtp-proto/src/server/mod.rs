//! The server session: SMTP, ESMTP and LMTP (RFC 5321, RFC 2033) with
//! PIPELINING, CHUNKING, STARTTLS and AUTH.
//!
//! ```
//! use std::time::Instant;
//! use sansmail_smtp::Output;
//! use sansmail_smtp::server::{Config, Event, Session};
//!
//! let now = Instant::now();
//! let mut session = Session::new(Config::default(), now);
//! let mut wire = Vec::new();
//! let mut input: &[&[u8]] = &[b"EHLO client.example\r\nMAIL FROM:<a@example.com>\r\n",
//!                             b"RCPT TO:<b@localhost>\r\nDATA\r\n", b"Hi\r\n.\r\nQUIT\r\n"];
//! let mut body = Vec::new();
//! loop {
//!     match session.poll_output() {
//!         Output::Transmit(bytes) => wire.extend_from_slice(&bytes),
//!         Output::Event(Event::DataChunk(chunk)) => body.extend_from_slice(&chunk),
//!         Output::Event(event) => {
//!             // A real server checks policy here; every decision carries a ticket.
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
//! assert_eq!(body, b"Hi\r\n");
//! assert!(String::from_utf8(wire).unwrap().ends_with("221 2.0.0 localhost closing connection\r\n"));
//! ```

mod config;
mod event;

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};

pub use crate::Mode;
pub use config::{Config, Offer};
pub use event::{AbortReason, AnswerError, Event, HelloKind, Ticket};

use crate::Output;
use crate::codec::{Command, DecodeError, SyntaxError};
use crate::data::{DataStep, DotUnstuffer};
use crate::sasl;
use crate::sasl::server::{Exchange, Failure, Step};
use crate::types::{
    BodyType, ForwardPath, MailParameter, Mechanism, RcptParameter, Reply, ReversePath,
};
use sansmail_common::line::{LineError, LineReader};

/// A reply the session writes itself: code, optional enhanced status, text.
type Fixed<'a> = (u16, Option<(u8, u16, u16)>, &'a str);

const NEED_MAIL: Fixed<'static> = (503, Some((5, 5, 1)), "Need MAIL command first");
const NO_RECIPIENTS: Fixed<'static> = (554, Some((5, 5, 1)), "No valid recipients");
const TOO_LARGE: Fixed<'static> = (
    552,
    Some((5, 3, 4)),
    "Message size exceeds fixed maximum message size",
);
const NOT_OFFERED: Fixed<'static> = (
    555,
    Some((5, 5, 4)),
    "Parameter not recognized or not offered",
);

/// What the session is reading.
#[derive(Debug)]
enum Phase {
    /// Waiting for the application to accept the connection.
    Greeting,
    /// Command lines.
    Command,
    /// A SASL response line (also the one after an error challenge).
    AuthResponse(Exchange<Reply>),
    /// A DATA body.
    Data(DotUnstuffer),
    /// The octets of a BDAT chunk.
    Bdat {
        remaining: u64,
        size: u64,
        last: bool,
        refusal: Option<Reply>,
    },
    /// After the 220 to STARTTLS, until the application says TLS is up.
    AwaitingTls,
    /// Finished.
    Closed,
}

/// A decision the application owes.
#[derive(Debug)]
enum Pending {
    Connect,
    Hello(event::HelloKind),
    Auth(Exchange<Reply>),
    Mail { smtputf8: bool, body: BodyType },
    Rcpt,
    Message,
    Verify,
}

/// The envelope and progress of the current mail transaction.
#[derive(Debug)]
struct Transaction {
    smtputf8: bool,
    body: BodyType,
    recipients: usize,
    size: u64,
    used_bdat: bool,
    /// Set when the body was refused mid-way; sent once the data ends.
    failure: Option<Reply>,
}

/// A server session. See the module docs for the driving loop.
#[derive(Debug)]
pub struct Session {
    config: Config,
    phase: Phase,
    input: BytesMut,
    out: BytesMut,
    events: VecDeque<Event>,
    pending: Option<(Ticket, Pending)>,
    next_ticket: u64,
    hello: Option<HelloKind>,
    tls: bool,
    authenticated: bool,
    tx: Option<Transaction>,
    errors: usize,
    lines: LineReader,
    deadline: Option<Instant>,
    eof: bool,
    /// Input piled up past its bound while a decision was pending.
    overflowed: bool,
    closing: bool,
    starttls_pending: bool,
}

impl Session {
    /// A session for a client that just connected. The first event is
    /// [`Event::Connected`]; nothing is sent before it is answered.
    pub fn new(config: Config, now: Instant) -> Self {
        let tls = config.implicit_tls;
        let mut session = Session {
            deadline: Some(now + config.idle_timeout),
            config,
            phase: Phase::Greeting,
            input: BytesMut::new(),
            out: BytesMut::new(),
            events: VecDeque::new(),
            pending: None,
            next_ticket: 0,
            hello: None,
            tls,
            authenticated: false,
            tx: None,
            errors: 0,
            lines: LineReader::default(),
            eof: false,
            overflowed: false,
            closing: false,
            starttls_pending: false,
        };
        let ticket = session.wait_for(Pending::Connect);
        session.events.push_back(Event::Connected { ticket });
        session
    }

    /// Bytes received from the client.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        match self.phase {
            // Plaintext bytes between STARTTLS and the handshake are never commands.
            Phase::AwaitingTls | Phase::Closed => return,
            _ => {}
        }
        if self.eof || self.overflowed {
            return;
        }
        self.input.extend_from_slice(data);
        self.deadline = Some(now + self.config.idle_timeout);
        // While the application decides, nothing drains the buffer: bound it
        // at one largest message plus some pipelined commands. The pending
        // answer still goes out first; then the session closes with 421.
        let cap = self.config.max_message_size.saturating_add(64 * 1024);
        if self.pending.is_some() && self.input.len() as u64 > cap {
            self.input = BytesMut::new();
            self.overflowed = true;
        }
    }

    /// The client closed its side of the connection.
    pub fn handle_eof(&mut self, _now: Instant) {
        self.eof = true;
    }

    /// The deadline from [`Output::Timeout`] passed: close with 421 4.4.2.
    pub fn handle_timeout(&mut self, now: Instant) {
        let waiting_for_client = self.pending.is_none() && !self.closing;
        if waiting_for_client && self.deadline.is_some_and(|d| now >= d) {
            self.abort_transaction(AbortReason::Closed);
            let text = format!("{} Timeout, closing connection", self.config.hostname);
            self.send((421, Some((4, 4, 2)), &text));
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

    /// True once AUTH succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// The next thing to do. Call after every input and answer until it
    /// returns [`Output::Timeout`] or [`Output::Closed`].
    pub fn poll_output(&mut self) -> Output<Event> {
        while self.events.is_empty() && self.step() {}
        if let Some(event) = self.events.pop_front() {
            return Output::Event(event);
        }
        if !self.out.is_empty() {
            // Take the whole buffer, so none of it stays allocated while idle.
            return Output::Transmit(std::mem::take(&mut self.out).freeze());
        }
        if self.starttls_pending {
            self.starttls_pending = false;
            self.phase = Phase::AwaitingTls;
            return Output::StartTls;
        }
        if self.overflowed && self.pending.is_none() && !self.closing {
            self.abort_transaction(AbortReason::Closed);
            let text = format!(
                "{} Too much input while busy, closing connection",
                self.config.hostname
            );
            self.send((421, Some((4, 7, 0)), &text));
            self.closing = true;
            return self.poll_output();
        }
        if self.eof && self.pending.is_none() && !self.closing {
            self.abort_transaction(AbortReason::Closed);
            self.closing = true;
            if let Some(event) = self.events.pop_front() {
                return Output::Event(event);
            }
        }
        if self.closing || matches!(self.phase, Phase::Closed) {
            self.phase = Phase::Closed;
            self.input = BytesMut::new();
            return Output::Closed;
        }
        if self.input.is_empty() && self.input.capacity() > 4096 {
            // Give back a large receive buffer while idle.
            self.input = BytesMut::new();
        }
        let deadline = if self.pending.is_some() {
            None
        } else {
            self.deadline
        };
        Output::Timeout(deadline)
    }

    /// Accepts the pending decision with the standard positive reply.
    /// Each answer takes the time it is given: the client's idle timer
    /// starts again from `now`.
    pub fn accept(&mut self, now: Instant, ticket: Ticket) -> Result<(), AnswerError> {
        let pending = self.take_pending(now, ticket)?;
        self.on_accept(pending, None);
        Ok(())
    }

    /// Refuses the pending decision with `reply` (4xx or 5xx).
    pub fn reject(
        &mut self,
        now: Instant,
        ticket: Ticket,
        reply: Reply,
    ) -> Result<(), AnswerError> {
        if reply.code().is_positive_completion() || reply.code().is_intermediate() {
            return Err(AnswerError::NotNegative);
        }
        let pending = self.take_pending(now, ticket)?;
        self.on_reject(pending, reply);
        Ok(())
    }

    /// Answers the pending decision with `reply`: a 2xx accepts with that
    /// text, a 4xx or 5xx refuses. EHLO writes its own positive reply.
    pub fn respond(
        &mut self,
        now: Instant,
        ticket: Ticket,
        reply: Reply,
    ) -> Result<(), AnswerError> {
        if reply.code().is_permanent() || reply.code().is_transient() {
            return self.reject(now, ticket, reply);
        }
        match &self.pending {
            Some((t, _)) if *t != ticket => Err(AnswerError::UnknownTicket),
            None => Err(AnswerError::UnknownTicket),
            Some((_, Pending::Hello(_))) => Err(AnswerError::CustomReplyNotAllowed),
            Some(_) if reply.code().is_intermediate() => Err(AnswerError::CustomReplyNotAllowed),
            Some(_) => {
                let pending = self.take_pending(now, ticket)?;
                self.on_accept(pending, Some(reply));
                Ok(())
            }
        }
    }

    /// Answers an LMTP [`Event::MessageEnd`] with one reply per accepted recipient, in RCPT order.
    pub fn respond_each(
        &mut self,
        now: Instant,
        ticket: Ticket,
        replies: &[Reply],
    ) -> Result<(), AnswerError> {
        let expected = match (&self.pending, &self.tx) {
            (Some((t, Pending::Message)), Some(tx)) if *t == ticket => tx.recipients,
            _ => return Err(AnswerError::UnknownTicket),
        };
        if self.config.mode != Mode::Lmtp {
            return Err(AnswerError::NotLmtp);
        }
        if replies.len() != expected {
            return Err(AnswerError::ReplyCount {
                expected,
                got: replies.len(),
            });
        }
        self.pending = None;
        self.deadline = Some(now + self.config.idle_timeout);
        for reply in replies {
            self.reply(reply);
        }
        self.tx = None;
        Ok(())
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

    fn on_accept(&mut self, pending: Pending, custom: Option<Reply>) {
        let hostname = self.config.hostname.clone();
        let positive = |default: Fixed<'_>, s: &mut Self| match &custom {
            Some(r) => s.reply(r),
            None => s.send(default),
        };
        match pending {
            Pending::Connect => {
                self.phase = Phase::Command;
                positive((220, None, &format!("{hostname} ESMTP ready")), self);
            }
            Pending::Hello(kind) => {
                self.hello = Some(kind);
                self.write_hello_reply(kind);
            }
            Pending::Auth(_) => {
                self.authenticated = true;
                positive((235, Some((2, 7, 0)), "Authentication successful"), self);
            }
            Pending::Mail { smtputf8, body } => {
                self.tx = Some(Transaction {
                    smtputf8,
                    body,
                    recipients: 0,
                    size: 0,
                    used_bdat: false,
                    failure: None,
                });
                positive((250, Some((2, 1, 0)), "Sender OK"), self);
            }
            Pending::Rcpt => {
                if let Some(tx) = &mut self.tx {
                    tx.recipients += 1;
                }
                positive((250, Some((2, 1, 5)), "Recipient OK"), self);
            }
            Pending::Message => {
                let count = match self.config.mode {
                    Mode::Lmtp => self.tx.as_ref().map_or(1, |t| t.recipients),
                    Mode::Smtp => 1,
                };
                for _ in 0..count {
                    positive(
                        (250, Some((2, 0, 0)), "Message accepted for delivery"),
                        self,
                    );
                }
                self.tx = None;
            }
            Pending::Verify => positive(
                (
                    252,
                    Some((2, 5, 0)),
                    "Cannot verify, but will accept the message",
                ),
                self,
            ),
        }
    }

    fn on_reject(&mut self, pending: Pending, reply: Reply) {
        match pending {
            Pending::Connect => {
                self.reply(&reply);
                self.closing = true;
            }
            Pending::Auth(mut exchange) => match exchange.refuse(reply) {
                // RFC 7628 §3.2.2: an error challenge, the client's dummy reply, then the failure.
                Ok(challenge) => {
                    self.send((334, None, challenge));
                    self.phase = Phase::AuthResponse(exchange);
                }
                Err(reply) => self.error(&reply),
            },
            Pending::Message => {
                let count = match self.config.mode {
                    Mode::Lmtp => self.tx.as_ref().map_or(1, |t| t.recipients),
                    Mode::Smtp => 1,
                };
                for _ in 0..count {
                    self.reply(&reply);
                }
                self.tx = None;
            }
            Pending::Hello(_) | Pending::Mail { .. } | Pending::Rcpt | Pending::Verify => {
                self.reply(&reply)
            }
        }
    }

    /// Enhanced status codes go out only after EHLO/LHLO offered them (RFC 2034 §3).
    fn use_status(&self) -> bool {
        self.config.offer.enhanced_status_codes
            && matches!(self.hello, Some(HelloKind::Ehlo | HelloKind::Lhlo))
    }

    fn reply(&mut self, reply: &Reply) {
        let with_status = self.use_status();
        reply.write_with_status(&mut self.out, with_status);
    }

    fn send(&mut self, (code, status, text): Fixed<'_>) {
        let with_status = self.use_status();
        let out = &mut self.out;
        out.put_slice(&[
            b'0' + (code / 100) as u8,
            b'0' + ((code / 10) % 10) as u8,
            b'0' + (code % 10) as u8,
            b' ',
        ]);
        if let (Some((c, s, d)), true) = (status, with_status) {
            out.put_slice(format!("{c}.{s}.{d} ").as_bytes());
        }
        out.put_slice(text.as_bytes());
        out.put_slice(b"\r\n");
    }

    /// An error reply that counts towards `max_errors`.
    fn error(&mut self, reply: &Reply) {
        self.reply(reply);
        self.count_error();
    }

    fn error_fixed(&mut self, fixed: Fixed<'_>) {
        self.send(fixed);
        self.count_error();
    }

    fn count_error(&mut self) {
        self.errors += 1;
        if self.errors >= self.config.max_errors && !self.closing {
            self.abort_transaction(AbortReason::Closed);
            let text = format!(
                "{} Too many errors, closing connection",
                self.config.hostname
            );
            self.send((421, Some((4, 7, 0)), &text));
            self.closing = true;
        }
    }

    fn abort_transaction(&mut self, reason: AbortReason) {
        if self.tx.take().is_some() {
            self.events.push_back(Event::TransactionAborted { reason });
        }
    }

    /// Makes progress on buffered input; false when nothing more can be done now.
    fn step(&mut self) -> bool {
        if self.pending.is_some() || self.closing || self.starttls_pending || self.input.is_empty()
        {
            return false;
        }
        match self.phase {
            Phase::Command => self.step_command(),
            Phase::AuthResponse(_) => self.step_auth_line(),
            Phase::Data(_) => self.step_data(),
            Phase::Bdat { .. } => self.step_bdat(),
            Phase::Greeting | Phase::AwaitingTls | Phase::Closed => false,
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

    /// Parses the next command where it lies in the receive buffer (its
    /// values copied out as short texts, with no reference to the buffer).
    fn step_command(&mut self) -> bool {
        let max = self.config.max_line_length;
        if self.lines.is_discarding() {
            // The rest of an over-long line, reported already, is skipped.
            let _ = self.lines.next_line(&mut self.input, max);
            return !self.input.is_empty();
        }
        match Command::decode_buf(&mut self.input, max) {
            Ok(command) => self.handle_command(command),
            Err(DecodeError::Incomplete) => return false,
            Err(DecodeError::Failed {
                error: SyntaxError::LineTooLong,
                ..
            }) => {
                // The line reader reports it again and skips the rest.
                let _ = self.lines.next_line(&mut self.input, max);
                self.error(&SyntaxError::LineTooLong.reply());
            }
            Err(DecodeError::Failed { error, .. }) => self.error(&error.reply()),
        }
        true
    }

    fn handle_command(&mut self, command: Command) {
        let lmtp = self.config.mode == Mode::Lmtp;
        match command {
            Command::Ehlo(client) if !lmtp => self.hello(HelloKind::Ehlo, client),
            Command::Helo(client) if !lmtp => self.hello(HelloKind::Helo, client),
            Command::Lhlo(client) if lmtp => self.hello(HelloKind::Lhlo, client),
            Command::Ehlo(_) | Command::Helo(_) | Command::Lhlo(_) => {
                self.error_fixed((500, Some((5, 5, 1)), "Command unrecognized in this mode"))
            }
            Command::Mail { from, params } => self.mail(from, params),
            Command::Rcpt { to, params } => self.rcpt(to, params),
            Command::Data => self.data(),
            Command::Bdat { size, last } => self.bdat(size, last),
            Command::Rset => {
                self.abort_transaction(AbortReason::Reset);
                self.send((250, Some((2, 0, 0)), "OK"));
            }
            Command::Noop(_) => self.send((250, Some((2, 0, 0)), "OK")),
            Command::Quit => {
                self.abort_transaction(AbortReason::Closed);
                let text = format!("{} closing connection", self.config.hostname);
                self.send((221, Some((2, 0, 0)), &text));
                self.closing = true;
            }
            Command::Vrfy(query) => {
                let ticket = self.wait_for(Pending::Verify);
                self.events.push_back(Event::Verify { ticket, query });
            }
            Command::Expn(query) => {
                let ticket = self.wait_for(Pending::Verify);
                self.events.push_back(Event::Expand { ticket, query });
            }
            Command::Help(_) => self.send((
                214,
                Some((2, 0, 0)),
                "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY STARTTLS AUTH",
            )),
            Command::StartTls => self.starttls(),
            Command::Auth {
                mechanism,
                initial_response,
            } => self.auth(mechanism, initial_response.map(|s| s.expose().clone())),
        }
    }

    fn hello(&mut self, kind: HelloKind, client: crate::types::Host) {
        self.abort_transaction(AbortReason::Hello);
        let ticket = self.wait_for(Pending::Hello(kind));
        self.events.push_back(Event::Hello {
            ticket,
            kind,
            client,
        });
    }

    fn auth_offered(&self) -> bool {
        !self.config.auth_mechanisms.is_empty() && (self.tls || !self.config.auth_requires_tls)
    }

    fn write_hello_reply(&mut self, kind: HelloKind) {
        let host = self.config.hostname.clone();
        if kind == HelloKind::Helo {
            self.send((250, None, &host));
            return;
        }
        let offer = &self.config.offer;
        let mut lines = vec![format!("{host} greets you")];
        let mut add = |on: bool, text: &str| {
            if on {
                lines.push(text.to_owned());
            }
        };
        add(offer.pipelining, "PIPELINING");
        add(true, &format!("SIZE {}", self.config.max_message_size));
        add(offer.eight_bit_mime, "8BITMIME");
        add(offer.chunking, "CHUNKING");
        add(offer.chunking && offer.binary_mime, "BINARYMIME");
        add(offer.smtputf8, "SMTPUTF8");
        add(offer.dsn, "DSN");
        add(offer.enhanced_status_codes, "ENHANCEDSTATUSCODES");
        add(self.config.starttls && !self.tls, "STARTTLS");
        add(offer.require_tls && self.tls, "REQUIRETLS");
        add(offer.mt_priority, "MT-PRIORITY");
        if let Some(min) = offer.deliver_by {
            add(true, &format!("DELIVERBY {min}"));
        }
        if let Some((interval, date)) = &offer.future_release {
            add(true, &format!("FUTURERELEASE {interval} {date}"));
        }
        add(offer.rrvs, "RRVS");
        let names: Vec<&str> = self
            .config
            .auth_mechanisms
            .iter()
            .map(Mechanism::as_str)
            .collect();
        add(self.auth_offered(), &format!("AUTH {}", names.join(" ")));
        add(true, "HELP");
        let reply = Reply::new(
            crate::types::ReplyCode::new(250).expect("250 is valid"),
            None,
            lines,
        )
        .expect("EHLO lines hold no control characters");
        reply.write_with_status(&mut self.out, false);
    }

    fn mail(&mut self, from: ReversePath, params: Vec<MailParameter>) {
        if self.hello.is_none() {
            return self.error_fixed((503, Some((5, 5, 1)), "Send EHLO or HELO first"));
        }
        if self.tx.is_some() {
            return self.error_fixed((503, Some((5, 5, 1)), "Nested MAIL command"));
        }
        if self.config.require_tls && !self.tls {
            return self.error_fixed((530, Some((5, 7, 0)), "Must issue a STARTTLS command first"));
        }
        if self.config.require_auth && !self.authenticated {
            return self.error_fixed((530, Some((5, 7, 0)), "Authentication required"));
        }
        if self.hello == Some(HelloKind::Helo) && !params.is_empty() {
            return self.error_fixed(NOT_OFFERED);
        }
        let offer = &self.config.offer;
        let mut smtputf8 = false;
        let mut body = BodyType::SevenBit;
        for param in &params {
            let offered = match param {
                MailParameter::Size(n) if *n > self.config.max_message_size => {
                    return self.error_fixed(TOO_LARGE);
                }
                MailParameter::Size(_) => true,
                MailParameter::Body(b) => {
                    body = *b;
                    match b {
                        BodyType::SevenBit => true,
                        BodyType::EightBitMime => offer.eight_bit_mime,
                        BodyType::BinaryMime => offer.chunking && offer.binary_mime,
                    }
                }
                MailParameter::SmtpUtf8 => {
                    smtputf8 = true;
                    offer.smtputf8
                }
                MailParameter::Ret(_) | MailParameter::EnvId(_) => offer.dsn,
                MailParameter::Auth(_) => self.auth_offered(),
                MailParameter::MtPriority(_) => offer.mt_priority,
                MailParameter::RequireTls if offer.require_tls && !self.tls => {
                    return self.error_fixed((530, Some((5, 7, 10)), "REQUIRETLS needs TLS"));
                }
                MailParameter::RequireTls => offer.require_tls,
                MailParameter::By { .. } => offer.deliver_by.is_some(),
                MailParameter::HoldFor(n) => match &offer.future_release {
                    Some((max, _)) if n > max => {
                        return self.error_fixed((501, Some((5, 5, 4)), "HOLDFOR too long"));
                    }
                    other => other.is_some(),
                },
                MailParameter::HoldUntil(_) => offer.future_release.is_some(),
                _ => false,
            };
            if !offered {
                return self.error_fixed(NOT_OFFERED);
            }
        }
        if has_duplicates(params.iter().map(std::mem::discriminant)) {
            return self.error_fixed((501, Some((5, 5, 4)), "Duplicate parameter"));
        }
        if from.mailbox().is_some_and(|m| !m.is_ascii()) && !smtputf8 {
            return self.error_fixed((553, Some((5, 6, 7)), "Non-ASCII address needs SMTPUTF8"));
        }
        let ticket = self.wait_for(Pending::Mail { smtputf8, body });
        self.events.push_back(Event::MailFrom {
            ticket,
            from,
            params,
        });
    }

    fn rcpt(&mut self, to: ForwardPath, params: Vec<RcptParameter>) {
        let Some(tx) = &self.tx else {
            return self.error_fixed(NEED_MAIL);
        };
        if tx.recipients >= self.config.max_recipients {
            // RFC 5321 §4.5.3.1.10: 452, and the recipients already accepted stay.
            return self.send((452, Some((4, 5, 3)), "Too many recipients"));
        }
        let offer = &self.config.offer;
        let all_offered = params.iter().all(|p| match p {
            RcptParameter::Notify(_) | RcptParameter::Orcpt { .. } => offer.dsn,
            RcptParameter::Rrvs { .. } => offer.rrvs,
            _ => false,
        });
        if !all_offered {
            return self.error_fixed(NOT_OFFERED);
        }
        if has_duplicates(params.iter().map(std::mem::discriminant)) {
            return self.error_fixed((501, Some((5, 5, 4)), "Duplicate parameter"));
        }
        if !to.is_ascii() && !tx.smtputf8 {
            return self.error_fixed((553, Some((5, 6, 7)), "Non-ASCII address needs SMTPUTF8"));
        }
        let ticket = self.wait_for(Pending::Rcpt);
        self.events.push_back(Event::RcptTo { ticket, to, params });
    }

    fn data(&mut self) {
        let Some(tx) = &self.tx else {
            return self.error_fixed(NEED_MAIL);
        };
        if tx.recipients == 0 {
            return self.error_fixed(NO_RECIPIENTS);
        }
        if tx.body == BodyType::BinaryMime || tx.used_bdat {
            return self.error_fixed((503, Some((5, 5, 1)), "Use BDAT for this transaction"));
        }
        self.send((354, None, "End data with <CR><LF>.<CR><LF>"));
        self.phase = Phase::Data(DotUnstuffer::new());
    }

    fn bdat(&mut self, size: u64, last: bool) {
        // The chunk's octets always follow the command, so they are read even
        // when the chunk is refused: they are never taken for commands.
        let refusal = match &mut self.tx {
            _ if !self.config.offer.chunking => {
                Some(Reply::fixed(502, Some((5, 5, 1)), "BDAT not offered"))
            }
            None => Some(Reply::fixed(NEED_MAIL.0, NEED_MAIL.1, NEED_MAIL.2)),
            Some(tx) if tx.recipients == 0 => Some(Reply::fixed(
                NO_RECIPIENTS.0,
                NO_RECIPIENTS.1,
                NO_RECIPIENTS.2,
            )),
            Some(tx) => {
                tx.used_bdat = true;
                let too_large = tx.size.saturating_add(size) > self.config.max_message_size;
                if too_large && tx.failure.is_none() {
                    tx.failure = Some(Reply::fixed(TOO_LARGE.0, TOO_LARGE.1, TOO_LARGE.2));
                    self.events.push_back(Event::TransactionAborted {
                        reason: AbortReason::MessageTooLarge,
                    });
                }
                None
            }
        };
        self.phase = Phase::Bdat {
            remaining: size,
            size,
            last,
            refusal,
        };
        if size == 0 {
            self.finish_chunk();
        }
    }

    fn step_bdat(&mut self) -> bool {
        let Phase::Bdat {
            remaining, refusal, ..
        } = &mut self.phase
        else {
            return false;
        };
        let n = (*remaining).min(self.input.len() as u64) as usize;
        *remaining -= n as u64;
        let done = *remaining == 0;
        let chunk = self.input.split_to(n).freeze();
        let accepting = refusal.is_none();
        if let Some(tx) = self
            .tx
            .as_mut()
            .filter(|tx| tx.failure.is_none() && accepting)
        {
            tx.size += n as u64;
            self.events.push_back(Event::DataChunk(chunk));
        }
        if done {
            self.finish_chunk();
        }
        true
    }

    fn finish_chunk(&mut self) {
        let Phase::Bdat {
            size,
            last,
            refusal,
            ..
        } = std::mem::replace(&mut self.phase, Phase::Command)
        else {
            return;
        };
        if let Some(reply) = refusal {
            return self.error(&reply);
        }
        match self.tx.as_ref().and_then(|tx| tx.failure.clone()) {
            Some(reply) if last => self.refuse_message(&reply),
            Some(reply) => self.error(&reply),
            None if last => self.message_end(),
            None => self.send((250, Some((2, 0, 0)), &format!("{size} octets received"))),
        }
    }

    /// Refuses a message at the end of its data: once, or in LMTP once per
    /// accepted recipient (RFC 2033 §4.2), and ends the transaction.
    fn refuse_message(&mut self, reply: &Reply) {
        let count = match self.config.mode {
            Mode::Lmtp => self.tx.as_ref().map_or(1, |t| t.recipients.max(1)),
            Mode::Smtp => 1,
        };
        self.tx = None;
        for _ in 1..count {
            self.reply(reply);
        }
        self.error(reply);
    }

    fn message_end(&mut self) {
        let (size, recipients) = self.tx.as_ref().map_or((0, 0), |t| (t.size, t.recipients));
        let ticket = self.wait_for(Pending::Message);
        self.events.push_back(Event::MessageEnd {
            ticket,
            size,
            recipients,
        });
    }

    fn step_data(&mut self) -> bool {
        let Phase::Data(unstuffer) = &mut self.phase else {
            return false;
        };
        let step = unstuffer.decode(&mut self.input);
        let saw_nul = unstuffer.saw_nul();
        let Some(tx) = self.tx.as_mut() else {
            self.phase = Phase::Command;
            return true;
        };
        match step {
            DataStep::Chunk(chunk) => {
                if tx.failure.is_some() {
                    return true;
                }
                tx.size += chunk.len() as u64;
                if tx.size > self.config.max_message_size {
                    tx.failure = Some(Reply::fixed(TOO_LARGE.0, TOO_LARGE.1, TOO_LARGE.2));
                    self.events.push_back(Event::TransactionAborted {
                        reason: AbortReason::MessageTooLarge,
                    });
                } else if saw_nul {
                    tx.failure = Some(Reply::fixed(
                        554,
                        Some((5, 6, 0)),
                        "NUL byte in message data",
                    ));
                    self.events.push_back(Event::TransactionAborted {
                        reason: AbortReason::NulInData,
                    });
                } else {
                    self.events.push_back(Event::DataChunk(chunk));
                }
                true
            }
            DataStep::NeedMore => false,
            DataStep::End => {
                self.phase = Phase::Command;
                match tx.failure.take() {
                    Some(reply) => self.refuse_message(&reply),
                    None => self.message_end(),
                }
                true
            }
            DataStep::BareLineEnding => {
                // The end of the message cannot be told apart from a smuggled one: close.
                let had_failure = tx.failure.is_some();
                self.tx = None;
                if !had_failure {
                    self.events.push_back(Event::TransactionAborted {
                        reason: AbortReason::BareLineEnding,
                    });
                }
                self.send((
                    554,
                    Some((5, 5, 2)),
                    "Bare CR or LF in message data, closing connection",
                ));
                self.closing = true;
                true
            }
        }
    }

    fn starttls(&mut self) {
        if !self.config.starttls {
            return self.error_fixed((502, Some((5, 5, 1)), "STARTTLS not offered"));
        }
        if self.tls {
            return self.error_fixed((503, Some((5, 5, 1)), "TLS already active"));
        }
        self.send((220, Some((2, 0, 0)), "Ready to start TLS"));
        let discarded = self.input.len();
        self.input.clear();
        if discarded > 0 {
            self.events
                .push_back(Event::PipelinedInputDiscarded { bytes: discarded });
        }
        // RFC 3207 §4.2: forget everything learned from the client.
        self.abort_transaction(AbortReason::StartTls);
        self.hello = None;
        self.authenticated = false;
        self.starttls_pending = true;
    }

    fn auth(&mut self, mechanism: Mechanism, initial: Option<Vec<u8>>) {
        if self.config.auth_mechanisms.is_empty() {
            return self.error_fixed((502, Some((5, 5, 1)), "AUTH not offered"));
        }
        if !matches!(self.hello, Some(HelloKind::Ehlo | HelloKind::Lhlo)) {
            return self.error_fixed((503, Some((5, 5, 1)), "Send EHLO first"));
        }
        if self.authenticated {
            return self.error_fixed((503, Some((5, 5, 1)), "Already authenticated"));
        }
        if self.tx.is_some() {
            return self.error_fixed((
                503,
                Some((5, 5, 1)),
                "AUTH not allowed in a mail transaction",
            ));
        }
        if self.config.auth_requires_tls && !self.tls {
            return self.error_fixed((
                538,
                Some((5, 7, 11)),
                "Encryption required for authentication",
            ));
        }
        if !self.config.auth_mechanisms.contains(&mechanism) || !sasl::is_supported(&mechanism) {
            return self.error_fixed((504, Some((5, 5, 4)), "Unrecognized authentication type"));
        }
        let (exchange, step) = Exchange::start(mechanism, initial);
        self.auth_step(exchange, step);
    }

    fn step_auth_line(&mut self) -> bool {
        let discarding = self.lines.is_discarding();
        let line = match self.next_line(self.config.max_auth_line_length) {
            None => return discarding && !self.input.is_empty(),
            Some(line) => line,
        };
        match (std::mem::replace(&mut self.phase, Phase::Command), line) {
            (Phase::AuthResponse(_), Err(e)) => self.error(&e.reply()),
            (Phase::AuthResponse(mut exchange), Ok(line)) => {
                let step = exchange.respond(&line);
                self.auth_step(exchange, step);
            }
            _ => {}
        }
        true
    }

    /// Carries out what the SASL exchange asks for.
    fn auth_step(&mut self, exchange: Exchange<Reply>, step: Step<Reply>) {
        match step {
            Step::Challenge(challenge) => {
                self.send((334, None, challenge));
                self.phase = Phase::AuthResponse(exchange);
            }
            Step::Credentials(credentials) => {
                let mechanism = exchange.mechanism().clone();
                let ticket = self.wait_for(Pending::Auth(exchange));
                self.events.push_back(Event::Auth {
                    ticket,
                    mechanism,
                    credentials,
                });
            }
            Step::Refused(reply) => self.error(&reply),
            Step::Failed(Failure::Cancelled) => {
                self.error_fixed((501, Some((5, 0, 0)), "Authentication cancelled"))
            }
            Step::Failed(Failure::InvalidBase64) => {
                self.error_fixed((501, Some((5, 5, 2)), "Invalid base64 data"))
            }
            Step::Failed(_) => {
                self.error_fixed((501, Some((5, 5, 2)), "Malformed authentication data"))
            }
        }
    }
}

impl Event {
    /// The ticket to answer this event with, for events that wait for a decision.
    pub fn ticket(&self) -> Option<Ticket> {
        match self {
            Event::Connected { ticket }
            | Event::Hello { ticket, .. }
            | Event::Auth { ticket, .. }
            | Event::MailFrom { ticket, .. }
            | Event::RcptTo { ticket, .. }
            | Event::MessageEnd { ticket, .. }
            | Event::Verify { ticket, .. }
            | Event::Expand { ticket, .. } => Some(*ticket),
            Event::DataChunk(_)
            | Event::TransactionAborted { .. }
            | Event::PipelinedInputDiscarded { .. } => None,
        }
    }
}

fn has_duplicates<T: PartialEq>(items: impl Iterator<Item = T>) -> bool {
    let items: Vec<T> = items.collect();
    items
        .iter()
        .enumerate()
        .any(|(i, a)| items[..i].contains(a))
}
