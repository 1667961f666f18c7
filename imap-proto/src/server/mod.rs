//! The server session: IMAP4rev2 and IMAP4rev1 (RFC 9051, RFC 3501) with
//! the extensions listed in the crate docs.
//!
//! The session frames commands (lines and literals), answers what needs
//! no mail store itself (CAPABILITY, NOOP, LOGOUT, ID, ENABLE, STARTTLS,
//! IDLE, UNSELECT, CHECK, the SASL exchange), keeps the selected mailbox's
//! message numbers in step ([`SelectedMailbox`]), and hands the rest to
//! the application as typed [`Event`]s answered with typed calls.
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::time::Instant;
//! use sansmail_imap::Output;
//! use sansmail_imap::server::{Config, Event, Session};
//! use sansmail_imap::types::{CommandBody, StatusKind};
//!
//! let now = Instant::now();
//! let mut config = Config::default();
//! config.allow_plaintext_auth = true;
//! let mut session = Session::new(config, now);
//! let mut input: &[&[u8]] = &[b"a1 LOGIN alice secret\r\na2 NAMESPACE\r\n", b"a3 LOGOUT\r\n"];
//! let mut wire = Vec::new();
//! loop {
//!     match session.poll_output() {
//!         Output::Transmit(bytes) => wire.extend_from_slice(&bytes),
//!         Output::Event(Event::Command { ticket, command: CommandBody::Namespace }) => {
//!             // A real server asks its store; every command carries a ticket.
//!             session.complete(now, ticket, StatusKind::Ok, None, "NAMESPACE completed").unwrap();
//!         }
//!         Output::Event(event) => {
//!             if let Some(ticket) = event.ticket() {
//!                 session.accept(now, ticket).unwrap(); // greeting and login
//!             }
//!         }
//!         Output::StartTls => unreachable!("not asked for"),
//!         Output::Timeout(_) => match input.split_first() {
//!             Some((next, rest)) => { session.handle_input(now, next); input = rest; }
//!             None => session.handle_eof(now),
//!         },
//!         Output::Closed => break,
//!     }
//! }
//! let wire = String::from_utf8(wire).unwrap();
//! assert!(wire.contains("a1 OK [CAPABILITY "));
//! assert!(wire.ends_with("* BYE Logging out\r\na3 OK LOGOUT completed\r\n"));
//! ```

mod answers;
mod append;
mod auth;
mod config;
mod deflate;
mod dispatch;
mod event;
mod framing;
mod reading;
mod writing;

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

pub use config::Config;
pub use event::{AnswerError, AppendAbort, Event, SelectInfo, Ticket};

use crate::Output;
use crate::mailbox::{Change, SelectedMailbox};
use crate::sasl::server::Exchange;
use crate::types::{
    Capability, Code, Mailbox, QResyncParams, SearchReturn, Status, StatusKind, Str, Tag, Text,
};

/// The protocol state (RFC 9051 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Before LOGIN or AUTHENTICATE.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated,
    /// A mailbox is selected.
    Selected,
    /// LOGOUT was given or the session ended.
    Logout,
}

/// What the session is reading.
#[derive(Debug)]
enum Phase {
    /// Waiting for the application to accept the connection.
    Greeting,
    /// Command lines (and the lines between literals).
    Command,
    /// The octets of a literal inside a command.
    Literal { remaining: u32 },
    /// Octets of a refused non-synchronising literal, dropped.
    Skip { remaining: u32 },
    /// The octets of an APPEND message, passed on as chunks.
    AppendData { remaining: u32 },
    /// An AUTHENTICATE exchange: its response lines (also the answer to
    /// an error challenge), and its credentials while they are checked.
    Auth {
        tag: Tag,
        exchange: Exchange<Status>,
    },
    /// IDLE: waiting for DONE.
    Idle { tag: Tag },
    /// After the OK to STARTTLS, until the application says TLS is up.
    AwaitingTls,
    /// Finished.
    Closed,
}

/// What a pending command is, for checking answers and placing updates.
#[derive(Clone, Debug)]
struct Running {
    tag: Tag,
    name: &'static str,
    uid: bool,
    /// The command names messages by number: EXPUNGE may not be sent.
    by_number: bool,
    /// The command may report its own expunges (EXPUNGE, UID EXPUNGE, MOVE).
    expunges: bool,
    /// SELECT or EXAMINE: what the client asked for.
    select: Option<SelectRequest>,
    /// SEARCH: how to report the result.
    search: Option<SearchRequest>,
    /// CLOSE: unselect when done.
    close: bool,
}

#[derive(Clone, Debug)]
struct SelectRequest {
    read_only: bool,
    condstore: bool,
    qresync: Option<Box<QResyncParams>>,
}

#[derive(Clone, Debug)]
struct SearchRequest {
    returns: Option<Vec<SearchReturn>>,
}

/// A decision the application owes.
#[derive(Debug)]
enum Pending {
    Connect,
    Login { tag: Tag },
    Command(Box<Running>),
    AppendStart { sync: bool },
    AppendEnd { tag: Tag },
}

/// An APPEND in progress (one or more messages).
#[derive(Debug)]
struct Append {
    tag: Tag,
    mailbox: Mailbox,
    /// The message literal was wrapped in `UTF8 (` (RFC 6855).
    utf8_open: bool,
    /// Set when a message was refused: the rest is skipped, then this goes out.
    refused: Option<Status>,
    accepted: u32,
}

/// Extensions the client turned on.
#[derive(Clone, Copy, Debug, Default)]
struct Enabled {
    condstore: bool,
    qresync: bool,
    utf8: bool,
    rev2: bool,
}

/// A server session. See the module docs for the driving loop.
#[derive(Debug)]
pub struct Session {
    config: Config,
    state: State,
    phase: Phase,
    input: BytesMut,
    out: BytesMut,
    /// Output before `out`: earlier writes and message data sent as given.
    chunks: VecDeque<Bytes>,
    events: VecDeque<Event>,
    pending: Option<(Ticket, Pending)>,
    next_ticket: u64,
    tls: bool,
    /// When the client last sent something (the timeouts count from here).
    last_input: Instant,
    eof: bool,
    overflowed: bool,
    closing: bool,
    starttls_pending: bool,
    errors: usize,
    /// The command being assembled: its lines (with CRLF) and literals.
    cmd: Vec<u8>,
    /// The current command is being dropped; this answers it at its end.
    discard: Option<(Option<Tag>, Status)>,
    enabled: Enabled,
    selected: Option<SelectedMailbox>,
    /// The UIDs saved by `SEARCH RETURN (SAVE)` (RFC 5182).
    saved: Option<Vec<NonZeroU32>>,
    append: Option<Append>,
    /// COMPRESS=DEFLATE is on.
    deflate: Option<deflate::Deflate>,
    /// Chunks written before compression started (up to the OK to COMPRESS).
    plain_chunks: usize,
}

impl Session {
    /// A session for a client that just connected. The first event is
    /// [`Event::Connected`]; nothing is sent before it is answered.
    pub fn new(config: Config, now: Instant) -> Self {
        let tls = config.implicit_tls;
        let mut session = Session {
            last_input: now,
            config,
            state: State::NotAuthenticated,
            phase: Phase::Greeting,
            input: BytesMut::new(),
            out: BytesMut::new(),
            chunks: VecDeque::new(),
            events: VecDeque::new(),
            pending: None,
            next_ticket: 0,
            tls,
            eof: false,
            overflowed: false,
            closing: false,
            starttls_pending: false,
            errors: 0,
            cmd: Vec::new(),
            discard: None,
            enabled: Enabled::default(),
            selected: None,
            saved: None,
            append: None,
            deflate: None,
            plain_chunks: 0,
        };
        let ticket = session.wait_for(Pending::Connect);
        session.events.push_back(Event::Connected { ticket });
        session
    }

    /// Bytes received from the client.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if matches!(self.phase, Phase::AwaitingTls | Phase::Closed) || self.eof || self.overflowed {
            // Plaintext bytes between STARTTLS and the handshake are never commands.
            return;
        }
        match self.deflate.as_mut() {
            Some(deflate) => {
                let mut plain = Vec::new();
                if deflate.decompress(data, &mut plain).is_none() {
                    // The stream is corrupt: nothing more can be understood.
                    self.input = BytesMut::new();
                    self.close();
                    return;
                }
                self.input.extend_from_slice(&plain);
            }
            None => self.input.extend_from_slice(data),
        }
        self.last_input = now;
        // While the application works, nothing drains the buffer: bound the
        // pipelined input (an accepted APPEND message streams regardless).
        let streaming = matches!(self.phase, Phase::AppendData { .. } | Phase::Skip { .. });
        if self.pending.is_some() && !streaming && self.input.len() > self.config.max_pipelined {
            self.input = BytesMut::new();
            self.overflowed = true;
        }
    }

    /// The client closed its side of the connection.
    pub fn handle_eof(&mut self, _now: Instant) {
        self.eof = true;
    }

    /// The deadline from [`Output::Timeout`] passed: `* BYE` and close.
    pub fn handle_timeout(&mut self, now: Instant) {
        let waiting_for_client = self.pending.is_none() && !self.closing;
        if waiting_for_client && now >= self.last_input + self.timeout() {
            self.untagged_status(StatusKind::Bye, None, "Autologout; idle for too long");
            self.close();
        }
    }

    /// The TLS handshake after [`Output::StartTls`] finished at `now`.
    pub fn handle_tls_started(&mut self, now: Instant) {
        if matches!(self.phase, Phase::AwaitingTls) {
            self.tls = true;
            self.phase = Phase::Command;
            self.last_input = now;
        }
    }

    /// True once the session runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The protocol state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The selected mailbox as this client knows it (message numbers and UIDs).
    pub fn selected_mailbox(&self) -> Option<&SelectedMailbox> {
        self.selected.as_ref()
    }

    /// True when the client enabled `capability` (CONDSTORE, QRESYNC,
    /// UTF8=ACCEPT, IMAP4rev2).
    pub fn is_enabled(&self, capability: &Capability) -> bool {
        match capability {
            Capability::CondStore => self.enabled.condstore || self.enabled.qresync,
            Capability::QResync => self.enabled.qresync,
            Capability::Utf8Accept => self.enabled.utf8,
            Capability::Imap4rev2 => self.enabled.rev2,
            _ => false,
        }
    }

    /// Something changed in the selected mailbox (a delivery, another
    /// session's STORE or EXPUNGE). The session tells the client where
    /// RFC 9051 allows: at once during IDLE, else with the next response.
    pub fn mailbox_changed(&mut self, change: Change) {
        let Some(view) = self.selected.as_mut() else {
            return;
        };
        view.push(change);
        if matches!(self.phase, Phase::Idle { .. }) && self.pending.is_none() {
            self.flush_updates(true);
        }
    }

    /// The next thing to do. Call after every input and answer until it
    /// returns [`Output::Timeout`] or [`Output::Closed`].
    pub fn poll_output(&mut self) -> Output<Event> {
        while self.events.is_empty() && self.step() {}
        if let Some(event) = self.events.pop_front() {
            return Output::Event(event);
        }
        while self.chunks.front().is_some_and(|c| c.is_empty()) {
            self.chunks.pop_front();
            self.plain_chunks = self.plain_chunks.saturating_sub(1);
        }
        if let Some(chunk) = self.chunks.pop_front() {
            if self.plain_chunks > 0 {
                self.plain_chunks -= 1;
                return Output::Transmit(chunk);
            }
            return Output::Transmit(match self.deflate.as_mut() {
                Some(deflate) => Bytes::from(deflate.compress(&chunk)),
                None => chunk,
            });
        }
        if !self.out.is_empty() {
            let out = std::mem::take(&mut self.out).freeze();
            return Output::Transmit(match self.deflate.as_mut() {
                Some(deflate) => Bytes::from(deflate.compress(&out)),
                None => out,
            });
        }
        if self.starttls_pending {
            self.starttls_pending = false;
            self.phase = Phase::AwaitingTls;
            return Output::StartTls;
        }
        if self.overflowed && self.pending.is_none() && !self.closing {
            self.untagged_status(
                StatusKind::Bye,
                Some(Code::Limit),
                "Too many commands in flight",
            );
            self.close();
            return self.poll_output();
        }
        if self.eof && self.pending.is_none() && !self.closing {
            self.close();
            return self.poll_output();
        }
        if self.closing || matches!(self.phase, Phase::Closed) {
            if !matches!(self.phase, Phase::Closed) {
                self.phase = Phase::Closed;
                self.state = State::Logout;
                self.input = BytesMut::new();
                self.events.push_back(Event::Closed);
                return self.poll_output();
            }
            return Output::Closed;
        }
        if self.input.is_empty() && self.input.capacity() > 64 * 1024 {
            self.input = BytesMut::new();
        }
        Output::Timeout(if self.pending.is_some() {
            None
        } else {
            Some(self.last_input + self.timeout())
        })
    }

    fn timeout(&self) -> std::time::Duration {
        match self.state {
            State::NotAuthenticated => self.config.login_timeout,
            _ => self.config.idle_timeout,
        }
    }

    /// Ends the session after what is written; drops an unfinished APPEND.
    fn close(&mut self) {
        if self.append.take().is_some() {
            self.events.push_back(Event::AppendAborted {
                reason: AppendAbort::Closed,
            });
        }
        self.closing = true;
    }
}

/// Response text from a string; CR, LF and NUL become spaces.
fn text_of(s: &str) -> Text {
    Text::new(Str::from(s)).unwrap_or_else(|_| {
        let cleaned: String = s
            .chars()
            .map(|c| {
                if matches!(c, '\r' | '\n' | '\0') {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        Text::new(Str::from(cleaned)).unwrap_or_default()
    })
}
