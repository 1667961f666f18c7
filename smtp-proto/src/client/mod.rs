//! The client session: greeting, EHLO (HELO fallback), STARTTLS by policy,
//! AUTH, pipelined transactions with DATA or BDAT, LMTP, and an outcome per
//! recipient.
//!
//! ```
//! use std::time::Instant;
//! use sansmail_smtp::Output;
//! use sansmail_smtp::client::{Config, Envelope, Event, Session};
//! use sansmail_smtp::types::{ForwardPath, Host, Mailbox, ReversePath};
//!
//! let now = Instant::now();
//! let mut session = Session::new(Config::new(Host::parse("client.example").unwrap()), now);
//! // Canned server replies stand in for a socket here.
//! let mut replies: &[&[u8]] = &[
//!     b"220 mx.example ESMTP\r\n",
//!     b"250-mx.example\r\n250 PIPELINING\r\n",
//!     b"250 OK\r\n250 OK\r\n354 Go ahead\r\n",
//!     b"250 Queued\r\n",
//!     b"221 Bye\r\n",
//! ];
//! let to = ForwardPath::Mailbox(Mailbox::parse("bob@mx.example").unwrap());
//! let mut outcomes = Vec::new();
//! loop {
//!     match session.poll_output() {
//!         Output::Transmit(_bytes) => {} // write to the socket
//!         Output::Event(Event::Ready) => {
//!             let from = ReversePath::Mailbox(Mailbox::parse("alice@client.example").unwrap());
//!             session.send_mail(now, Envelope::new(from, [to.clone()])).unwrap();
//!         }
//!         Output::Event(Event::SendBody) => {
//!             session.write_body(now, b"Subject: hi\r\n\r\nHello\r\n").unwrap();
//!             session.finish_body(now).unwrap();
//!         }
//!         Output::Event(Event::TransactionComplete(o)) => { outcomes = o; session.quit(now); }
//!         Output::Event(Event::Failed(e)) => panic!("{e}"),
//!         Output::Event(_) => {}
//!         Output::StartTls => unreachable!(),
//!         Output::Timeout(_) => match replies.split_first() {
//!             Some((next, rest)) => { session.handle_input(now, next); replies = rest; }
//!             None => session.handle_eof(now),
//!         },
//!         Output::Closed => break,
//!     }
//! }
//! assert!(outcomes[0].status.is_delivered());
//! ```

mod config;
mod event;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{BufMut, BytesMut};

pub use config::{ClientCredentials, Config, Envelope, Recipient, Timeouts, TlsPolicy};
pub use event::{ClientError, DeliveryStatus, Event, RecipientOutcome, UsageError};

use crate::codec::{Command, DecodeError};
use crate::data::DotStuffer;
use crate::types::{Capabilities, Extension, MailParameter, Mechanism, Reply, Secret};
use crate::{Mode, Output, sasl};

/// The reply the client waits for next, in the order the commands went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    AuthChallenge(AuthStep),
    Rset,
    Mail,
    Rcpt(usize),
    Data,
    DataEnd,
    LmtpRcpt(usize),
    Bdat { last: bool },
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthStep {
    LoginUser,
    LoginPassword,
    Final,
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    Handshake,
    AwaitingTls,
    Ready,
    Transaction,
    Quitting,
    Closed,
}

/// How the body goes out.
#[derive(Debug, PartialEq, Eq)]
enum BodyStage {
    /// Not yet asked for.
    NotYet,
    /// The application is writing it.
    Writing,
    /// Finished, or not needed.
    Done,
}

#[derive(Debug)]
struct Transaction {
    envelope: Envelope,
    outcomes: Vec<Option<DeliveryStatus>>,
    accepted: Vec<usize>,
    mail_failed: bool,
    pipelined_data: bool,
    use_bdat: bool,
    body: BodyStage,
    /// A failure that applies to every accepted recipient (DATA or BDAT refused).
    failure: Option<Reply>,
    /// Replies still expected for this transaction.
    outstanding: usize,
    /// DATA got 354 although no recipient was accepted: the empty body's reply is ignored.
    ignore_final: bool,
}

/// A client session. See the module docs for the driving loop.
#[derive(Debug)]
pub struct Session {
    config: Config,
    state: State,
    caps: Capabilities,
    input: BytesMut,
    out: BytesMut,
    events: VecDeque<Event>,
    expect: VecDeque<Expect>,
    deadline: Option<Instant>,
    now: Instant,
    tls: bool,
    starttls_refused: bool,
    authenticated: bool,
    auth_mechanism: Option<Mechanism>,
    tx: Option<Transaction>,
    server_tx_open: bool,
    stuffer: DotStuffer,
    chunk: BytesMut,
    starttls_pending: bool,
    closing: bool,
}

impl Session {
    /// A session on a fresh connection; it waits for the server's greeting.
    pub fn new(config: Config, now: Instant) -> Self {
        let mut session = Session {
            tls: config.implicit_tls,
            config,
            state: State::Handshake,
            caps: Capabilities::default(),
            input: BytesMut::new(),
            out: BytesMut::new(),
            events: VecDeque::new(),
            expect: VecDeque::new(),
            deadline: None,
            now,
            starttls_refused: false,
            authenticated: false,
            auth_mechanism: None,
            tx: None,
            server_tx_open: false,
            stuffer: DotStuffer::new(),
            chunk: BytesMut::new(),
            starttls_pending: false,
            closing: false,
        };
        session.expect_reply(Expect::Greeting);
        session
    }

    /// What the server offered in its last EHLO reply.
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// True once the session runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// True once AUTH succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// True once the session is ending (QUIT sent, or a failure): no more
    /// transactions. A [`Event::TransactionComplete`] that comes with this
    /// set was ended by the failure, not by the server's replies.
    pub fn is_ending(&self) -> bool {
        self.closing || matches!(self.state, State::Quitting | State::Closed)
    }

    /// Bytes received from the server.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if matches!(self.state, State::Closed | State::AwaitingTls) || self.closing {
            return;
        }
        self.now = now;
        self.input.extend_from_slice(data);
    }

    /// Decodes buffered replies while each one has a command waiting for it
    /// and nothing is left to hand out: what one reply produces goes out
    /// before the next is read, however the input was split.
    fn process_replies(&mut self) {
        while self.events.is_empty()
            && self.out.is_empty()
            && !self.closing
            && !self.starttls_pending
        {
            if self.expect.is_empty() {
                if self.input.len() > self.config.max_reply_size {
                    let error = crate::codec::SyntaxError::Reply("unsolicited data");
                    self.fail(ClientError::Protocol(error), false);
                }
                return;
            }
            match Reply::decode_with_limit(&self.input, self.config.max_reply_size) {
                Ok((rest, reply)) => {
                    let used = self.input.len() - rest.len();
                    let _ = self.input.split_to(used);
                    self.on_reply(reply);
                }
                Err(DecodeError::Incomplete) => return,
                Err(DecodeError::Failed { error, .. }) => {
                    return self.fail(ClientError::Protocol(error), false);
                }
            }
        }
    }

    /// The server closed the connection.
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        if self.state == State::Quitting || self.closing {
            self.closing = true;
        } else if self.state != State::Closed {
            self.fail(ClientError::ConnectionClosed, false);
        }
    }

    /// The deadline from [`Output::Timeout`] passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.deadline.is_some_and(|d| now >= d) && !self.closing {
            self.fail(ClientError::Timeout, false);
        }
    }

    /// The TLS handshake after [`Output::StartTls`] finished at `now`: greet again.
    pub fn handle_tls_started(&mut self, now: Instant) {
        if self.state == State::AwaitingTls {
            self.now = now;
            self.tls = true;
            self.caps = Capabilities::default();
            self.state = State::Handshake;
            self.send_hello();
        }
    }

    /// The next thing to do. Call after every input and call until it
    /// returns [`Output::Timeout`] or [`Output::Closed`].
    pub fn poll_output(&mut self) -> Output<Event> {
        self.process_replies();
        if let Some(event) = self.events.pop_front() {
            return Output::Event(event);
        }
        if !self.out.is_empty() {
            return Output::Transmit(self.out.split().freeze());
        }
        if self.starttls_pending {
            self.starttls_pending = false;
            self.state = State::AwaitingTls;
            return Output::StartTls;
        }
        if self.closing || self.state == State::Closed {
            self.state = State::Closed;
            return Output::Closed;
        }
        Output::Timeout(self.deadline)
    }

    /// Starts a transaction (after [`Event::Ready`] or the previous
    /// [`Event::TransactionComplete`]).
    pub fn send_mail(&mut self, now: Instant, mut envelope: Envelope) -> Result<(), UsageError> {
        if self.state != State::Ready || self.closing {
            return Err(UsageError::NotReady);
        }
        if envelope.recipients.is_empty() {
            return Err(UsageError::NoRecipients);
        }
        self.now = now;
        let local_failure = if let (Some(limit), Some(size)) =
            (self.caps.size_limit(), envelope.size)
            && size > limit
        {
            Some(Reply::fixed(
                552,
                Some((5, 3, 4)),
                "Message size exceeds the server's limit",
            ))
        } else if envelope.needs_smtputf8() && !self.caps.has(&Extension::SmtpUtf8) {
            Some(Reply::fixed(
                553,
                Some((5, 6, 7)),
                "The server does not offer SMTPUTF8",
            ))
        } else if envelope.params.contains(&MailParameter::RequireTls)
            && !(self.tls && self.caps.has(&Extension::RequireTls))
        {
            // RFC 8689 §4.2.1: only to a server that promises to pass it on.
            Some(Reply::fixed(
                550,
                Some((5, 7, 30)),
                "REQUIRETLS support required: the server does not offer it over TLS",
            ))
        } else {
            None
        };
        if let Some(reply) = local_failure {
            let outcomes = envelope
                .recipients
                .into_iter()
                .map(|r| RecipientOutcome {
                    recipient: r.path,
                    status: DeliveryStatus::from_reply(reply.clone()),
                })
                .collect();
            self.events.push_back(Event::TransactionComplete(outcomes));
            return Ok(());
        }
        let has = |p: fn(&MailParameter) -> bool, e: &Envelope| e.params.iter().any(p);
        if let Some(size) = envelope.size
            && self.caps.has_size()
            && !has(|p| matches!(p, MailParameter::Size(_)), &envelope)
        {
            envelope.params.push(MailParameter::Size(size));
        }
        if envelope.needs_smtputf8() && !has(|p| matches!(p, MailParameter::SmtpUtf8), &envelope) {
            envelope.params.push(MailParameter::SmtpUtf8);
        }
        let pipelining = self.config.pipelining && self.caps.has(&Extension::Pipelining);
        let use_bdat = self.config.chunking && self.caps.has(&Extension::Chunking);
        let count = envelope.recipients.len();
        self.state = State::Transaction;
        if self.server_tx_open {
            self.write(&Command::Rset);
            self.expect_reply(Expect::Rset);
            self.server_tx_open = false;
        }
        self.write(&Command::Mail {
            from: envelope.from.clone(),
            params: envelope.params.clone(),
        });
        self.expect_reply(Expect::Mail);
        let mut tx = Transaction {
            outcomes: vec![None; count],
            accepted: Vec::new(),
            mail_failed: false,
            pipelined_data: pipelining && !use_bdat,
            use_bdat,
            body: BodyStage::NotYet,
            failure: None,
            outstanding: 1,
            ignore_final: false,
            envelope,
        };
        if pipelining {
            for i in 0..count {
                self.write_rcpt(&tx, i);
                self.expect_reply(Expect::Rcpt(i));
            }
            tx.outstanding += count;
            if tx.pipelined_data {
                self.write(&Command::Data);
                self.expect_reply(Expect::Data);
                tx.outstanding += 1;
            }
        }
        self.tx = Some(tx);
        Ok(())
    }

    /// Sends a piece of the body (after [`Event::SendBody`]). Dot-stuffing,
    /// line endings and BDAT chunking are done here.
    pub fn write_body(&mut self, now: Instant, chunk: &[u8]) -> Result<(), UsageError> {
        self.now = now;
        let Some(tx) = self.tx.as_mut().filter(|tx| tx.body == BodyStage::Writing) else {
            return Err(UsageError::NotSendingBody);
        };
        if !tx.use_bdat {
            self.stuffer.encode(chunk, &mut self.out);
            return Ok(());
        }
        if tx.failure.is_some() {
            // A chunk was refused: the rest is not sent (RFC 3030 §3).
            return Ok(());
        }
        self.chunk.extend_from_slice(chunk);
        while self.chunk.len() >= self.config.chunk_size {
            let size = self.config.chunk_size;
            self.send_chunk(size, false);
        }
        Ok(())
    }

    /// Ends the body: `.` after DATA, or `BDAT n LAST`.
    pub fn finish_body(&mut self, now: Instant) -> Result<(), UsageError> {
        self.now = now;
        let Some(tx) = self.tx.as_mut().filter(|tx| tx.body == BodyStage::Writing) else {
            return Err(UsageError::NotSendingBody);
        };
        tx.body = BodyStage::Done;
        let lmtp = self.config.mode == Mode::Lmtp;
        if tx.use_bdat && tx.failure.is_some() {
            tx.outstanding += 1;
            self.chunk.clear();
            self.write(&Command::Rset);
            self.expect_reply(Expect::Rset);
            return Ok(());
        }
        if tx.use_bdat {
            let size = self.chunk.len();
            self.send_chunk(size, true);
        } else {
            self.stuffer.finish(&mut self.out);
            if !lmtp {
                tx.outstanding += 1;
                self.expect_reply(Expect::DataEnd);
            }
        }
        if lmtp {
            self.expect_lmtp_replies();
        }
        Ok(())
    }

    /// Ends the session politely with QUIT (or at once, if it cannot).
    pub fn quit(&mut self, now: Instant) {
        self.now = now;
        match self.state {
            State::Ready | State::Handshake if !self.closing => {
                self.write(&Command::Quit);
                self.expect_reply(Expect::Quit);
                self.state = State::Quitting;
            }
            State::Quitting | State::Closed => {}
            _ => self.closing = true,
        }
    }

    fn write(&mut self, command: &Command) {
        command.write(&mut self.out);
    }

    fn write_rcpt(&mut self, tx: &Transaction, i: usize) {
        let r = &tx.envelope.recipients[i];
        Command::Rcpt {
            to: r.path.clone(),
            params: r.params.clone(),
        }
        .write(&mut self.out);
    }

    fn send_chunk(&mut self, size: usize, last: bool) {
        let data = self.chunk.split_to(size);
        self.write(&Command::Bdat {
            size: size as u64,
            last,
        });
        self.out.put_slice(&data);
        if !(last && self.config.mode == Mode::Lmtp) {
            if let Some(tx) = self.tx.as_mut() {
                tx.outstanding += 1;
            }
            self.expect_reply(Expect::Bdat { last });
        }
    }

    fn expect_lmtp_replies(&mut self) {
        let accepted = self
            .tx
            .as_ref()
            .map(|t| t.accepted.clone())
            .unwrap_or_default();
        for i in accepted {
            if let Some(tx) = self.tx.as_mut() {
                tx.outstanding += 1;
            }
            self.expect_reply(Expect::LmtpRcpt(i));
        }
    }

    fn timeout_for(&self, expect: Expect) -> Duration {
        let t = &self.config.timeouts;
        match expect {
            Expect::Greeting => t.greeting,
            Expect::Mail => t.mail,
            Expect::Rcpt(_) => t.rcpt,
            Expect::Data => t.data_initiation,
            Expect::DataEnd | Expect::LmtpRcpt(_) | Expect::Bdat { .. } => t.data_termination,
            _ => t.other,
        }
    }

    fn expect_reply(&mut self, expect: Expect) {
        if self.expect.is_empty() {
            self.deadline = Some(self.now + self.timeout_for(expect));
        }
        self.expect.push_back(expect);
    }

    fn send_hello(&mut self) {
        let host = self.config.hello_name.clone();
        match self.config.mode {
            Mode::Smtp => self.write(&Command::Ehlo(host)),
            Mode::Lmtp => self.write(&Command::Lhlo(host)),
        }
        self.expect_reply(Expect::Ehlo);
    }

    fn on_reply(&mut self, reply: Reply) {
        let Some(expect) = self.expect.pop_front() else {
            return self.fail(
                ClientError::Protocol(crate::codec::SyntaxError::Reply("unexpected reply")),
                false,
            );
        };
        self.deadline = self.expect.front().map(|&e| self.now + self.timeout_for(e));
        if reply.code().get() == 421 && expect != Expect::Quit {
            return self.fail(ClientError::ServerClosing(reply.clone()), false);
        }
        match expect {
            Expect::Greeting if reply.code().get() == 220 => self.send_hello(),
            Expect::Greeting => self.fail(ClientError::GreetingRefused(reply), true),
            Expect::Ehlo if reply.is_positive() => {
                self.caps = Capabilities::from_ehlo_lines(reply.lines());
                self.after_hello();
            }
            Expect::Ehlo if self.config.mode == Mode::Smtp && reply.code().is_permanent() => {
                let host = self.config.hello_name.clone();
                self.write(&Command::Helo(host));
                self.expect_reply(Expect::Helo);
            }
            Expect::Ehlo | Expect::Helo if !reply.is_positive() => {
                self.fail(ClientError::HelloRefused(reply), true)
            }
            Expect::Helo => {
                self.caps = Capabilities::from_ehlo_lines(reply.lines().take(1));
                self.after_hello();
            }
            Expect::StartTls if reply.code().get() == 220 => {
                // Anything the server sent after its 220 came before TLS: drop it.
                self.input.clear();
                self.starttls_pending = true;
            }
            Expect::StartTls if self.config.tls == TlsPolicy::Required => {
                self.fail(ClientError::TlsRefused(reply), true)
            }
            Expect::StartTls => {
                self.starttls_refused = true;
                self.after_hello();
            }
            Expect::AuthChallenge(step) => self.on_auth_reply(step, reply),
            Expect::Quit => self.closing = true,
            Expect::Rset
            | Expect::Mail
            | Expect::Rcpt(_)
            | Expect::Data
            | Expect::DataEnd
            | Expect::LmtpRcpt(_)
            | Expect::Bdat { .. } => self.on_transaction_reply(expect, reply),
            Expect::Ehlo => {}
        }
    }

    fn after_hello(&mut self) {
        let offers_tls = self.caps.has(&Extension::StartTls);
        if !self.tls
            && !self.starttls_refused
            && self.config.tls != TlsPolicy::Disabled
            && offers_tls
        {
            self.write(&Command::StartTls);
            self.expect_reply(Expect::StartTls);
        } else if !self.tls && self.config.tls == TlsPolicy::Required {
            self.fail(ClientError::TlsUnavailable, true);
        } else if self.config.credentials.is_some() && !self.authenticated {
            self.start_auth();
        } else {
            self.state = State::Ready;
            self.events.push_back(Event::Ready);
        }
    }

    fn start_auth(&mut self) {
        if !self.tls && !self.config.allow_plaintext_auth {
            return self.fail(ClientError::AuthUnavailable("credentials need TLS"), true);
        }
        let offered = self.caps.auth_mechanisms().to_vec();
        let Some(credentials) = self.config.credentials.clone() else {
            return;
        };
        let (mechanism, initial) = match &credentials {
            ClientCredentials::Password { username, password } => {
                let mech = self.config.password_mechanisms.iter().find(|m| {
                    offered.contains(m) && matches!(m, Mechanism::Plain | Mechanism::Login)
                });
                match mech {
                    Some(Mechanism::Plain) => (
                        Mechanism::Plain,
                        Some(sasl::encode_plain(None, username, password.expose())),
                    ),
                    Some(_) => (Mechanism::Login, None),
                    None => {
                        return self
                            .fail(ClientError::AuthUnavailable("no common mechanism"), true);
                    }
                }
            }
            ClientCredentials::XOAuth2 { user, token } => (
                Mechanism::XOAuth2,
                Some(sasl::encode_xoauth2(user, token.expose())),
            ),
            ClientCredentials::OAuthBearer { user, token } => (
                Mechanism::OAuthBearer,
                Some(sasl::encode_oauthbearer(user, token.expose())),
            ),
        };
        if !offered.contains(&mechanism) {
            return self.fail(ClientError::AuthUnavailable("mechanism not offered"), true);
        }
        let step = if initial.is_some() {
            AuthStep::Final
        } else {
            AuthStep::LoginUser
        };
        self.auth_mechanism = Some(mechanism.clone());
        self.write(&Command::Auth {
            mechanism,
            initial_response: initial.map(Secret::new),
        });
        self.expect_reply(Expect::AuthChallenge(step));
    }

    fn send_sasl_line(&mut self, data: &[u8]) {
        self.out.put_slice(BASE64.encode(data).as_bytes());
        self.out.put_slice(b"\r\n");
    }

    fn on_auth_reply(&mut self, step: AuthStep, reply: Reply) {
        let Some(ClientCredentials::Password { username, password }) =
            self.config.credentials.clone()
        else {
            // Bearer mechanisms: a 334 carries an error; answer it to get the final reply.
            if reply.code().get() == 334 {
                let dummy: &[u8] = if self.auth_mechanism == Some(Mechanism::OAuthBearer) {
                    b"AQ==\r\n"
                } else {
                    b"\r\n"
                };
                self.out.put_slice(dummy);
                return self.expect_reply(Expect::AuthChallenge(AuthStep::Final));
            }
            return self.auth_result(reply);
        };
        match step {
            AuthStep::LoginUser if reply.code().get() == 334 => {
                self.send_sasl_line(username.as_bytes());
                self.expect_reply(Expect::AuthChallenge(AuthStep::LoginPassword));
            }
            AuthStep::LoginPassword if reply.code().get() == 334 => {
                self.send_sasl_line(password.expose().as_bytes());
                self.expect_reply(Expect::AuthChallenge(AuthStep::Final));
            }
            AuthStep::Final if reply.code().get() == 334 => {
                // PLAIN needs no further round; cancel the exchange.
                self.out.put_slice(b"*\r\n");
                self.expect_reply(Expect::AuthChallenge(AuthStep::Final));
            }
            _ => self.auth_result(reply),
        }
    }

    fn auth_result(&mut self, reply: Reply) {
        if reply.code().get() == 235 {
            self.authenticated = true;
            self.after_hello();
        } else {
            self.fail(ClientError::AuthFailed(reply), true);
        }
    }

    fn on_transaction_reply(&mut self, expect: Expect, reply: Reply) {
        let Some(mut tx) = self.tx.take() else {
            // An RSET before MAIL, or a reply whose transaction already ended.
            return;
        };
        tx.outstanding = tx.outstanding.saturating_sub(1);
        let pipelined = self.config.pipelining && self.caps.has(&Extension::Pipelining);
        let count = tx.outcomes.len();
        match expect {
            Expect::Mail if !reply.is_positive() => {
                tx.mail_failed = true;
                tx.body = BodyStage::Done;
                for o in &mut tx.outcomes {
                    *o = Some(DeliveryStatus::from_reply(reply.clone()));
                }
            }
            Expect::Mail => {
                self.server_tx_open = true;
                if !pipelined {
                    self.write_rcpt(&tx, 0);
                    self.expect_reply(Expect::Rcpt(0));
                    tx.outstanding += 1;
                }
            }
            Expect::Rcpt(_) if tx.mail_failed => {}
            Expect::Rcpt(i) => {
                if reply.is_positive() {
                    tx.accepted.push(i);
                } else {
                    tx.outcomes[i] = Some(DeliveryStatus::from_reply(reply));
                }
                if !pipelined && i + 1 < count {
                    self.write_rcpt(&tx, i + 1);
                    self.expect_reply(Expect::Rcpt(i + 1));
                    tx.outstanding += 1;
                } else if i + 1 == count && !tx.pipelined_data {
                    self.after_recipients(&mut tx);
                }
            }
            Expect::Data if reply.code().get() == 354 => {
                if tx.accepted.is_empty() {
                    // RFC 2920 §3.1 says the server refuses DATA then; this one did not.
                    tx.ignore_final = true;
                    tx.body = BodyStage::Done;
                    self.out.put_slice(b".\r\n");
                    self.expect_reply(Expect::DataEnd);
                    tx.outstanding += 1;
                } else {
                    tx.body = BodyStage::Writing;
                    self.events.push_back(Event::SendBody);
                }
            }
            Expect::Data => {
                tx.body = BodyStage::Done;
                if !tx.accepted.is_empty() {
                    tx.failure = Some(reply);
                }
            }
            Expect::DataEnd if tx.ignore_final => {}
            Expect::DataEnd => {
                self.server_tx_open = false;
                for &i in &tx.accepted {
                    tx.outcomes[i] = Some(DeliveryStatus::from_reply(reply.clone()));
                }
            }
            Expect::LmtpRcpt(i) => {
                self.server_tx_open = false;
                tx.outcomes[i] = Some(DeliveryStatus::from_reply(reply));
            }
            Expect::Bdat { last } => {
                if !reply.is_positive() && tx.failure.is_none() {
                    tx.failure = Some(reply.clone());
                }
                if last {
                    self.server_tx_open = false;
                    let final_reply = tx.failure.clone().unwrap_or(reply);
                    for &i in &tx.accepted {
                        tx.outcomes[i] = Some(DeliveryStatus::from_reply(final_reply.clone()));
                    }
                }
            }
            Expect::Rset => self.server_tx_open = false,
            _ => {}
        }
        if tx.outstanding == 0 && tx.body == BodyStage::Done {
            self.complete(tx);
        } else {
            self.tx = Some(tx);
        }
    }

    fn after_recipients(&mut self, tx: &mut Transaction) {
        if tx.accepted.is_empty() {
            tx.body = BodyStage::Done;
        } else if tx.use_bdat {
            tx.body = BodyStage::Writing;
            self.events.push_back(Event::SendBody);
        } else {
            self.write(&Command::Data);
            self.expect_reply(Expect::Data);
            tx.outstanding += 1;
        }
    }

    fn complete(&mut self, tx: Transaction) {
        // Between messages a pooled connection may idle for long: give back
        // the buffers (an empty BytesMut split from a larger one still holds
        // the whole allocation).
        for buffer in [&mut self.out, &mut self.chunk, &mut self.input] {
            if buffer.is_empty() {
                *buffer = BytesMut::new();
            }
        }
        let fallback = tx.failure.clone().unwrap_or_else(|| {
            Reply::fixed(
                451,
                Some((4, 4, 0)),
                "No reply from the server for this recipient",
            )
        });
        let outcomes = tx
            .envelope
            .recipients
            .into_iter()
            .zip(tx.outcomes)
            .map(|(r, o)| RecipientOutcome {
                recipient: r.path,
                status: o.unwrap_or_else(|| DeliveryStatus::from_reply(fallback.clone())),
            })
            .collect();
        self.events.push_back(Event::TransactionComplete(outcomes));
        self.stuffer = DotStuffer::new();
        self.chunk.clear();
        if self.state == State::Transaction {
            self.state = State::Ready;
        }
    }

    /// Ends the session: completes the transaction in flight with temporary
    /// failures, reports `error`, and sends QUIT when the connection is still sound.
    fn fail(&mut self, error: ClientError, polite: bool) {
        if let Some(mut tx) = self.tx.take() {
            let reply = match &error {
                ClientError::ServerClosing(r) => r.clone(),
                ClientError::Timeout => {
                    Reply::fixed(451, Some((4, 4, 2)), "Timed out waiting for the server")
                }
                _ => Reply::fixed(451, Some((4, 4, 2)), "Connection to the server failed"),
            };
            for i in tx.accepted.clone() {
                if tx.outcomes[i].is_none() {
                    tx.outcomes[i] = Some(DeliveryStatus::TemporaryFailure(reply.clone()));
                }
            }
            tx.failure = Some(reply);
            self.complete(tx);
        }
        self.events.push_back(Event::Failed(error));
        self.expect.clear();
        self.deadline = None;
        if polite {
            self.write(&Command::Quit);
            self.expect_reply(Expect::Quit);
            self.state = State::Quitting;
        } else {
            self.closing = true;
        }
    }
}
