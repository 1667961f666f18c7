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

mod config;
mod deflate;
mod event;
mod framing;

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

pub use config::Config;
pub use event::{AnswerError, AppendAbort, Event, SelectInfo, Ticket};

use crate::Output;
use crate::codec::{self, DecodeError, Parser, W};
use crate::mailbox::{Change, SelectedMailbox};
use crate::sasl::server::{Exchange, Failure, Step};
use crate::sasl::{self, Credentials, Mechanism, Secret};
use crate::types::{
    Capability, Code, Command, CommandBody, Continue, EsearchItem, FetchAttr, FetchValue,
    ListSelect, Mailbox, QResyncParams, Response, SearchKey, SearchReturn, SequenceSet, Status,
    StatusItem, StatusKind, Str, Tag, Tagged, Text, Thread, Untagged,
};
use framing::{announcement, leading_tag};
use sansmail_common::line::{Line, frame_line};

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

    // ----- answers -------------------------------------------------------

    /// Accepts the pending decision: greets a client, logs a user in, or
    /// takes an APPEND message. Each answer that ends a decision starts
    /// the client's idle timer again at `now`.
    pub fn accept(&mut self, now: Instant, ticket: Ticket) -> Result<(), AnswerError> {
        match self.take_pending(now, ticket)? {
            Pending::Connect => {
                self.phase = Phase::Command;
                let caps = self.config.capabilities(self.tls, false);
                let text = format!("{} IMAP4rev2 server ready", self.config.hostname);
                self.write_untagged(&Untagged::Status(Status::new(
                    StatusKind::Ok,
                    Some(Code::Capability(caps)),
                    text_of(&text),
                )));
            }
            Pending::Login { tag } => {
                // The AUTHENTICATE exchange is over.
                if matches!(self.phase, Phase::Auth { .. }) {
                    self.phase = Phase::Command;
                }
                self.logged_in(&tag)
            }
            Pending::AppendStart { sync } => {
                if sync {
                    self.write(&Response::Continue(Continue {
                        code: None,
                        text: Text::from("Ready for literal data"),
                    }));
                }
                if let Some(a) = self.append.as_mut() {
                    a.accepted += 1;
                }
            }
            other => {
                self.pending = Some((ticket, other));
                return Err(AnswerError::WrongAnswer);
            }
        }
        Ok(())
    }

    /// Greets the client as already logged in (`* PREAUTH`), e.g. after a
    /// client certificate identified it.
    pub fn preauth(&mut self, now: Instant, ticket: Ticket) -> Result<(), AnswerError> {
        match self.take_pending(now, ticket)? {
            Pending::Connect => {
                self.phase = Phase::Command;
                self.state = State::Authenticated;
                let caps = self.config.capabilities(self.tls, true);
                let text = format!("{} IMAP4rev2 server logged in", self.config.hostname);
                self.write_untagged(&Untagged::Status(Status::new(
                    StatusKind::PreAuth,
                    Some(Code::Capability(caps)),
                    text_of(&text),
                )));
                Ok(())
            }
            other => {
                self.pending = Some((ticket, other));
                Err(AnswerError::WrongAnswer)
            }
        }
    }

    /// Refuses the pending decision: `* BYE` for a connection, `NO` for a
    /// login (`AUTHENTICATIONFAILED` unless another code is given), or a
    /// refused APPEND message (e.g. `TRYCREATE`, `TOOBIG`, `OVERQUOTA`).
    pub fn reject(
        &mut self,
        now: Instant,
        ticket: Ticket,
        code: Option<Code>,
        text: &str,
    ) -> Result<(), AnswerError> {
        match self.take_pending(now, ticket)? {
            Pending::Connect => {
                self.untagged_status(StatusKind::Bye, code, text);
                self.close();
            }
            Pending::Login { tag } => {
                let status = Status::new(
                    StatusKind::No,
                    Some(code.unwrap_or(Code::AuthenticationFailed)),
                    text_of(text),
                );
                let status = match std::mem::replace(&mut self.phase, Phase::Command) {
                    // RFC 7628 §3.2.2: an error challenge, the client's answer, then the NO.
                    Phase::Auth { tag, mut exchange } => match exchange.refuse(status) {
                        Ok(challenge) => {
                            self.send_continue(challenge);
                            self.phase = Phase::Auth { tag, exchange };
                            return Ok(());
                        }
                        Err(status) => status,
                    },
                    other => {
                        self.phase = other;
                        status
                    }
                };
                self.tagged(&tag, status);
                self.count_error();
            }
            Pending::AppendStart { sync } => {
                let status = Status::new(StatusKind::No, code, text_of(text));
                if let Some(a) = self.append.as_mut() {
                    a.refused = Some(status);
                }
                if sync {
                    // The client does not send the literal: the command ends here.
                    self.phase = Phase::Command;
                    self.finish_refused_append();
                } else if let Phase::AppendData { remaining } = self.phase {
                    self.phase = Phase::Skip { remaining };
                }
            }
            other => {
                self.pending = Some((ticket, other));
                return Err(AnswerError::WrongAnswer);
            }
        }
        Ok(())
    }

    /// Sends a data response for the running command. EXPUNGE and VANISHED
    /// go through [`expunged`](Self::expunged) (VANISHED (EARLIER) for UID
    /// FETCH comes here), FETCH through [`fetch`](Self::fetch).
    pub fn data(&mut self, ticket: Ticket, response: Untagged) -> Result<(), AnswerError> {
        self.running(ticket)?;
        match &response {
            // VANISHED (EARLIER) answers UID FETCH (VANISHED): it renumbers nothing.
            Untagged::Expunge(_)
            | Untagged::Vanished { earlier: false, .. }
            | Untagged::Fetch { .. } => Err(AnswerError::NotAllowed),
            _ => {
                if let (Untagged::Flags(_), Some(view)) = (&response, self.selected.as_mut()) {
                    // The flags defined now replace older news of them.
                    view.defined_reported();
                }
                self.write_untagged(&response);
                Ok(())
            }
        }
    }

    /// Sends a FETCH response for the message with this UID, numbered as
    /// the client knows it; UID commands get the UID item added.
    pub fn fetch(
        &mut self,
        ticket: Ticket,
        uid: NonZeroU32,
        mut items: Vec<FetchValue>,
    ) -> Result<(), AnswerError> {
        let running = self.running(ticket)?;
        let with_uid = running.uid || self.enabled.qresync;
        let seq = self
            .selected
            .as_ref()
            .and_then(|v| v.seq_of(uid))
            .ok_or(AnswerError::NotAllowed)?;
        if with_uid && !items.iter().any(|i| matches!(i, FetchValue::Uid(_))) {
            items.insert(0, FetchValue::Uid(uid));
        }
        if items.is_empty() {
            return Err(AnswerError::WrongAnswer);
        }
        // The client now knows these flags: older queued news of them would
        // take it back in time (and its MODSEQ backwards).
        if items.iter().any(|i| matches!(i, FetchValue::Flags(_))) {
            let modseq = items.iter().find_map(|i| match i {
                FetchValue::ModSeq(m) => Some(*m),
                _ => None,
            });
            if let Some(view) = self.selected.as_mut() {
                view.flags_reported(uid, modseq);
            }
        }
        // Long message data goes out as the application gave it, uncopied.
        let mut head = BytesMut::new();
        let splices = codec::write_untagged_spliced(&mut head, &Untagged::Fetch { seq, items });
        if splices.is_empty() {
            self.out.extend_from_slice(&head);
            return Ok(());
        }
        let mut head = head.freeze();
        let mut taken = 0;
        let earlier = std::mem::take(&mut self.out);
        if !earlier.is_empty() {
            self.chunks.push_back(earlier.freeze());
        }
        for (at, data) in splices {
            self.chunks.push_back(head.split_to(at - taken));
            taken = at;
            self.chunks.push_back(data);
        }
        self.chunks.push_back(head);
        Ok(())
    }

    /// Reports a message the running EXPUNGE, UID EXPUNGE or MOVE removed.
    pub fn expunged(&mut self, ticket: Ticket, uid: NonZeroU32) -> Result<(), AnswerError> {
        if !self.running(ticket)?.expunges {
            return Err(AnswerError::NotAllowed);
        }
        // Changes queued before this one keep their numbers: report them first.
        self.flush_updates(true);
        let view = self.selected.as_mut().ok_or(AnswerError::NotAllowed)?;
        if let Some(response) = view.expunge_now(uid) {
            self.write_untagged(&response);
        }
        Ok(())
    }

    /// The result of SEARCH: the matching messages' UIDs (ascending), and
    /// when the search used MODSEQ each one's mod-sequence (in the same
    /// order). The session numbers them, writes SEARCH or ESEARCH as the
    /// client asked (with the highest mod-sequence of the messages it
    /// returns, RFC 7162 §3.1.5), and keeps the result for `$` after SAVE.
    pub fn search_result(
        &mut self,
        ticket: Ticket,
        uids: &[NonZeroU32],
        modseqs: Option<&[u64]>,
    ) -> Result<(), AnswerError> {
        let highest = |among: &[usize]| -> Option<u64> {
            let m = modseqs?;
            among.iter().filter_map(|&i| m.get(i)).copied().max()
        };
        let all: Vec<usize> = (0..uids.len()).collect();
        let running = self.running(ticket)?.clone();
        let Some(search) = &running.search else {
            return Err(AnswerError::WrongAnswer);
        };
        let ids = self.numbers(uids, running.uid);
        let esearch = search.returns.is_some() || self.enabled.rev2;
        let returns = search.returns.clone().unwrap_or_default();
        if returns.contains(&SearchReturn::Save) {
            let only_min_max = returns.iter().all(|r| {
                matches!(
                    r,
                    SearchReturn::Save | SearchReturn::Min | SearchReturn::Max
                )
            }) && returns.len() > 1;
            let mut keep: Vec<NonZeroU32> = uids.to_vec();
            if only_min_max {
                // RFC 5182 §2.1: SAVE with MIN and/or MAX keeps just those.
                let first = uids.first().copied();
                let last = uids.last().copied();
                keep = [
                    returns
                        .contains(&SearchReturn::Min)
                        .then_some(first)
                        .flatten(),
                    returns
                        .contains(&SearchReturn::Max)
                        .then_some(last)
                        .flatten(),
                ]
                .into_iter()
                .flatten()
                .collect();
                keep.dedup();
            }
            self.saved = Some(keep);
        }
        if !esearch {
            self.write_untagged(&Untagged::Search {
                ids: ids.clone(),
                modseq: highest(&all).filter(|_| !ids.is_empty()),
            });
            return Ok(());
        }
        let wanted: Vec<SearchReturn> = match returns.as_slice() {
            [] => vec![SearchReturn::All],
            [SearchReturn::Save] => Vec::new(),
            r => r.to_vec(),
        };
        let mut items = Vec::new();
        for r in &wanted {
            match r {
                SearchReturn::Min => items.extend(ids.iter().min().map(|&n| EsearchItem::Min(n))),
                SearchReturn::Max => items.extend(ids.iter().max().map(|&n| EsearchItem::Max(n))),
                SearchReturn::All => items.extend(
                    SequenceSet::from_numbers(ids.iter().map(|n| n.get())).map(EsearchItem::All),
                ),
                SearchReturn::Count => items.push(EsearchItem::Count(ids.len() as u32)),
                SearchReturn::Save => {}
            }
        }
        // The messages returned: all of them, or only the first and last.
        let returned: Vec<usize> = if wanted
            .iter()
            .any(|r| matches!(r, SearchReturn::All | SearchReturn::Count))
        {
            all
        } else {
            let mut ends = Vec::new();
            if wanted.contains(&SearchReturn::Min) && !uids.is_empty() {
                ends.push(0);
            }
            if wanted.contains(&SearchReturn::Max) && !uids.is_empty() {
                ends.push(uids.len() - 1);
            }
            ends
        };
        if let (Some(m), false) = (highest(&returned), ids.is_empty()) {
            items.push(EsearchItem::ModSeq(m));
        }
        // SAVE alone answers with no ESEARCH at all (RFC 5182 §2.1).
        if !wanted.is_empty() {
            self.write_untagged(&Untagged::Esearch {
                tag: Some(running.tag.clone()),
                uid: running.uid,
                items,
            });
        }
        Ok(())
    }

    /// The result of SORT: UIDs in sorted order; the session numbers them.
    pub fn sort_result(
        &mut self,
        ticket: Ticket,
        uids: &[NonZeroU32],
        modseq: Option<u64>,
    ) -> Result<(), AnswerError> {
        let running = self.running(ticket)?;
        if running.name != "SORT" {
            return Err(AnswerError::WrongAnswer);
        }
        let uid = running.uid;
        let ids = self.numbers(uids, uid);
        self.write_untagged(&Untagged::Sort { ids, modseq });
        Ok(())
    }

    /// The result of THREAD, in UIDs; the session numbers them.
    pub fn thread_result(&mut self, ticket: Ticket, threads: &[Thread]) -> Result<(), AnswerError> {
        let running = self.running(ticket)?;
        if running.name != "THREAD" {
            return Err(AnswerError::WrongAnswer);
        }
        let uid = running.uid;
        let threads = threads.iter().map(|t| self.number_thread(t, uid)).collect();
        self.write_untagged(&Untagged::Thread(threads));
        Ok(())
    }

    /// Completes SELECT or EXAMINE: writes what the client needs to know
    /// of the mailbox and `OK [READ-WRITE]` (or `[READ-ONLY]`).
    pub fn selected(
        &mut self,
        now: Instant,
        ticket: Ticket,
        info: SelectInfo,
    ) -> Result<(), AnswerError> {
        let running = self.running(ticket)?.clone();
        let Some(request) = &running.select else {
            return Err(AnswerError::WrongAnswer);
        };
        self.pending = None;
        self.last_input = now;
        let read_only = request.read_only || info.read_only;
        let condstore = request.condstore || self.enabled.condstore || self.enabled.qresync;
        if request.condstore && !self.enabled.condstore {
            self.enabled.condstore = true;
            self.events.push_back(Event::Enabled {
                capabilities: vec![Capability::CondStore],
            });
        }
        let mut view = SelectedMailbox::new(info.uid_validity, info.uids.clone());
        view.set_modes(condstore, self.enabled.qresync);
        view.set_read_only(read_only);
        view.set_highest_modseq(info.highest_modseq.unwrap_or(0));
        let rev1 = !self.enabled.rev2;
        self.write_untagged(&Untagged::Exists(view.exists()));
        if rev1 {
            self.write_untagged(&Untagged::Recent(info.recent));
        }
        self.untagged_status(
            StatusKind::Ok,
            Some(Code::UidValidity(info.uid_validity)),
            "UIDs valid",
        );
        self.untagged_status(
            StatusKind::Ok,
            Some(Code::UidNext(info.uid_next)),
            "Predicted next UID",
        );
        self.write_untagged(&Untagged::Flags(info.flags.clone()));
        let permanent = if read_only {
            Vec::new()
        } else {
            info.permanent_flags.clone()
        };
        self.untagged_status(
            StatusKind::Ok,
            Some(Code::PermanentFlags(permanent)),
            "Limited",
        );
        if let (true, Some(n)) = (rev1, info.first_unseen) {
            self.untagged_status(StatusKind::Ok, Some(Code::Unseen(n)), "First unseen");
        }
        if let Some(id) = &info.mailbox_id {
            self.untagged_status(StatusKind::Ok, Some(Code::MailboxId(id.clone())), "Ok");
        }
        if condstore {
            match info.highest_modseq {
                Some(m) => {
                    self.untagged_status(StatusKind::Ok, Some(Code::HighestModSeq(m)), "Highest")
                }
                None => {
                    self.untagged_status(StatusKind::Ok, Some(Code::NoModSeq), "No mod-sequences")
                }
            }
        }
        if let Some(q) = &request.qresync {
            self.write_qresync(&view, q, &info);
        }
        self.selected = Some(view);
        self.state = State::Selected;
        let code = if read_only {
            Code::ReadOnly
        } else {
            Code::ReadWrite
        };
        let text = format!("{} completed", running.name);
        self.tagged(
            &running.tag,
            Status::new(StatusKind::Ok, Some(code), text_of(&text)),
        );
        Ok(())
    }

    /// QRESYNC (RFC 7162 §3.2.5.2): VANISHED (EARLIER), then changed flags.
    fn write_qresync(&mut self, view: &SelectedMailbox, q: &QResyncParams, info: &SelectInfo) {
        if q.uid_validity != info.uid_validity {
            return;
        }
        let gone: Vec<u32> = match &info.vanished {
            Some(v) => v.clone(),
            None => {
                let known = q.known_uids.clone().unwrap_or_else(SequenceSet::all);
                let largest = info.uid_next.get().saturating_sub(1);
                known
                    .normalized(largest)
                    .into_iter()
                    .flat_map(|(lo, hi)| lo..=hi)
                    .filter(|&u| NonZeroU32::new(u).is_some_and(|u| view.seq_of(u).is_none()))
                    .take(1_000_000)
                    .collect()
            }
        };
        if let Some(uids) = SequenceSet::from_numbers(gone) {
            self.write_untagged(&Untagged::Vanished {
                earlier: true,
                uids,
            });
        }
        for (uid, flags, modseq) in &info.changed {
            if let Some(seq) = view.seq_of(*uid) {
                self.write_untagged(&Untagged::Fetch {
                    seq,
                    items: vec![
                        FetchValue::Uid(*uid),
                        FetchValue::Flags(flags.clone()),
                        FetchValue::ModSeq(*modseq),
                    ],
                });
            }
        }
    }

    /// Finishes the running command (or an APPEND) with a tagged status.
    /// Queued mailbox changes are reported first, where allowed.
    pub fn complete(
        &mut self,
        now: Instant,
        ticket: Ticket,
        kind: StatusKind,
        code: Option<Code>,
        text: &str,
    ) -> Result<(), AnswerError> {
        if matches!(kind, StatusKind::PreAuth | StatusKind::Bye) {
            return Err(AnswerError::WrongAnswer);
        }
        let status = Status::new(kind, code, text_of(text));
        match self.take_pending(now, ticket)? {
            Pending::Command(running) => {
                if running.select.is_some() {
                    // A failed SELECT leaves no mailbox selected (RFC 9051 §6.3.2).
                    if kind == StatusKind::Ok {
                        self.pending = Some((ticket, Pending::Command(running)));
                        return Err(AnswerError::WrongAnswer);
                    }
                    self.state = State::Authenticated;
                } else if running.close {
                    self.unselect(false);
                } else {
                    self.flush_updates(!running.by_number);
                }
                self.tagged(&running.tag, status);
            }
            Pending::AppendEnd { tag } => {
                self.flush_updates(true);
                self.tagged(&tag, status);
            }
            other => {
                self.pending = Some((ticket, other));
                return Err(AnswerError::WrongAnswer);
            }
        }
        Ok(())
    }

    fn running(&self, ticket: Ticket) -> Result<&Running, AnswerError> {
        match &self.pending {
            Some((t, Pending::Command(r))) if *t == ticket => Ok(r),
            Some((t, _)) if *t == ticket => Err(AnswerError::WrongAnswer),
            _ => Err(AnswerError::UnknownTicket),
        }
    }

    /// Ends the pending decision; the client's idle timer starts at `now`.
    fn take_pending(&mut self, now: Instant, ticket: Ticket) -> Result<Pending, AnswerError> {
        match self.pending.take() {
            Some((t, p)) if t == ticket => {
                self.last_input = now;
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

    /// UIDs as the client numbers them: UIDs for UID commands, else message numbers.
    fn numbers(&self, uids: &[NonZeroU32], uid: bool) -> Vec<NonZeroU32> {
        if uid {
            return uids.to_vec();
        }
        let Some(view) = &self.selected else {
            return Vec::new();
        };
        uids.iter().filter_map(|u| view.seq_of(*u)).collect()
    }

    fn number_thread(&self, t: &Thread, uid: bool) -> Thread {
        Thread {
            members: self.numbers(&t.members, uid),
            children: t
                .children
                .iter()
                .map(|c| self.number_thread(c, uid))
                .collect(),
        }
    }

    // ----- writing -------------------------------------------------------

    fn write(&mut self, response: &Response) {
        codec::write_response(&mut self.out, response);
    }

    fn write_untagged(&mut self, u: &Untagged) {
        let mut w = W::new(&mut self.out);
        w.raw(b"* ");
        codec::write_untagged_body(&mut w, u);
        w.crlf();
    }

    fn untagged_status(&mut self, kind: StatusKind, code: Option<Code>, text: &str) {
        self.write_untagged(&Untagged::Status(Status::new(kind, code, text_of(text))));
    }

    fn tagged(&mut self, tag: &Tag, status: Status) {
        if status.kind == StatusKind::Bad {
            self.errors += 1;
        }
        self.write(&Response::Tagged(Tagged {
            tag: tag.clone(),
            status,
        }));
        if self.errors >= self.config.max_errors && !self.closing {
            self.untagged_status(StatusKind::Bye, None, "Too many errors");
            self.close();
        }
    }

    fn bad(&mut self, tag: Option<&Tag>, code: Option<Code>, text: &str) {
        let status = Status::new(StatusKind::Bad, code, text_of(text));
        match tag {
            Some(tag) => self.tagged(tag, status),
            None => {
                self.errors += 1;
                self.write_untagged(&Untagged::Status(status));
                if self.errors >= self.config.max_errors && !self.closing {
                    self.untagged_status(StatusKind::Bye, None, "Too many errors");
                    self.close();
                }
            }
        }
    }

    fn count_error(&mut self) {
        self.errors += 1;
        if self.errors >= self.config.max_errors && !self.closing {
            self.untagged_status(StatusKind::Bye, None, "Too many errors");
            self.close();
        }
    }

    fn send_continue(&mut self, text: &str) {
        self.write(&Response::Continue(Continue {
            code: None,
            text: text_of(text),
        }));
    }

    /// Reports queued mailbox changes that may go out now.
    fn flush_updates(&mut self, expunges_allowed: bool) {
        let Some(view) = self.selected.as_mut() else {
            return;
        };
        if !view.has_pending() {
            return;
        }
        let mut out = Vec::new();
        view.flush(expunges_allowed, &mut out);
        for u in &out {
            self.write_untagged(u);
        }
    }

    fn unselect(&mut self, announce: bool) {
        if self.selected.take().is_some() {
            self.state = State::Authenticated;
            self.saved = None;
            if announce {
                self.events.push_back(Event::Unselected);
            }
        }
    }

    fn logged_in(&mut self, tag: &Tag) {
        self.state = State::Authenticated;
        self.errors = 0;
        let caps = self.config.capabilities(self.tls, true);
        self.tagged(
            tag,
            Status::new(StatusKind::Ok, Some(Code::Capability(caps)), "Logged in"),
        );
    }

    fn ok(&mut self, tag: &Tag, text: &str) {
        self.tagged(tag, Status::new(StatusKind::Ok, None, text_of(text)));
    }

    fn no(&mut self, tag: &Tag, code: Option<Code>, text: &str) {
        self.tagged(tag, Status::new(StatusKind::No, code, text_of(text)));
    }

    /// SELECT or EXAMINE: closes any selected mailbox, then asks the store.
    fn select(
        &mut self,
        tag: Tag,
        mailbox: Mailbox,
        params: crate::types::SelectParams,
        read_only: bool,
    ) {
        if params.qresync.is_some() && !self.enabled.qresync {
            return self.bad(Some(&tag), None, "QRESYNC must be enabled first");
        }
        if self.selected.is_some() {
            self.unselect(true);
            // RFC 7162 §3.2.11, RFC 9051 §7.1: the old mailbox is closed.
            self.untagged_status(
                StatusKind::Ok,
                Some(Code::Closed),
                "Previous mailbox closed",
            );
        }
        self.state = State::Authenticated;
        let running = Running {
            tag,
            name: if read_only { "EXAMINE" } else { "SELECT" },
            uid: false,
            by_number: false,
            expunges: false,
            select: Some(SelectRequest {
                read_only,
                condstore: params.condstore,
                qresync: params.qresync.clone(),
            }),
            search: None,
            close: false,
        };
        let command = if read_only {
            CommandBody::Examine { mailbox, params }
        } else {
            CommandBody::Select { mailbox, params }
        };
        let ticket = self.wait_for(Pending::Command(Box::new(running)));
        self.events.push_back(Event::Command { ticket, command });
    }

    /// Hands a store command to the application, `$` resolved.
    fn ask_application(&mut self, tag: Tag, mut body: CommandBody) {
        if !self.enabled.condstore && enables_condstore(&body) {
            // RFC 7162 §3.1: a CONDSTORE-enabling command turns it on; in the
            // selected state the client is told the HIGHESTMODSEQ at once.
            self.enabled.condstore = true;
            self.events.push_back(Event::Enabled {
                capabilities: vec![Capability::CondStore],
            });
            if let Some(view) = self.selected.as_mut() {
                let qresync = view.qresync();
                view.set_modes(true, qresync);
                let highest = view.highest_modseq();
                self.untagged_status(
                    StatusKind::Ok,
                    Some(Code::HighestModSeq(highest)),
                    "Highest",
                );
            }
        }
        if !self.resolve_saved(&mut body) {
            // `$` names no messages: nothing to do (RFC 5182 §2.1).
            self.flush_updates(!body.uses_sequence_numbers());
            let text = format!("{} completed", body.name());
            return self.ok(&tag, &text);
        }
        let out_of_range = match (&self.selected, number_set(&body)) {
            (Some(view), Some(set)) => view.out_of_range(set),
            _ => false,
        };
        if out_of_range {
            return self.bad(Some(&tag), None, "Message number out of range");
        }
        let running = Running {
            tag,
            name: body.name(),
            uid: is_uid(&body),
            by_number: body.uses_sequence_numbers(),
            expunges: matches!(body, CommandBody::Expunge { .. } | CommandBody::Move { .. }),
            select: None,
            search: match &body {
                CommandBody::Search { returns, .. } => Some(SearchRequest {
                    returns: returns.clone(),
                }),
                _ => None,
            },
            close: matches!(body, CommandBody::Close),
        };
        let ticket = self.wait_for(Pending::Command(Box::new(running)));
        self.events.push_back(Event::Command {
            ticket,
            command: body,
        });
    }

    /// Replaces `$` by the saved result; false when it names nothing.
    fn resolve_saved(&self, body: &mut CommandBody) -> bool {
        // UID EXPUNGE and UID commands name UIDs.
        let uid = is_uid(body);
        let saved = self.saved.as_deref().unwrap_or_default();
        let as_set = |by_uid: bool| -> Option<SequenceSet> {
            if by_uid {
                SequenceSet::from_numbers(saved.iter().map(|u| u.get()))
            } else {
                let view = self.selected.as_ref()?;
                SequenceSet::from_numbers(
                    saved
                        .iter()
                        .filter_map(|u| view.seq_of(*u))
                        .map(|n| n.get()),
                )
            }
        };
        match body {
            CommandBody::Fetch { set, .. }
            | CommandBody::Store { set, .. }
            | CommandBody::Copy { set, .. }
            | CommandBody::Move { set, .. }
            | CommandBody::Expunge { uids: Some(set) } => {
                if *set == SequenceSet::Saved {
                    match as_set(uid) {
                        Some(s) => *set = s,
                        None => return false,
                    }
                }
                true
            }
            CommandBody::Search { keys, .. }
            | CommandBody::Sort { keys, .. }
            | CommandBody::Thread { keys, .. } => {
                for key in keys.iter_mut() {
                    replace_saved_in_key(key, &as_set);
                }
                true
            }
            _ => true,
        }
    }

    /// AUTHENTICATE: decodes the SASL exchange itself, then asks to verify.
    fn authenticate(
        &mut self,
        tag: Tag,
        mechanism: &str,
        initial: Option<Str>,
        authenticated: bool,
    ) {
        if authenticated {
            return self.bad(Some(&tag), None, "Already logged in");
        }
        if !self.tls && !self.config.allow_plaintext_auth {
            return self.no(
                &tag,
                Some(Code::PrivacyRequired),
                "AUTHENTICATE needs TLS first",
            );
        }
        let mech = Mechanism::parse(mechanism);
        let Some(mech) =
            mech.filter(|m| self.config.mechanisms.contains(m) && sasl::is_supported(m))
        else {
            return self.no(
                &tag,
                Some(Code::Cannot),
                "Unsupported authentication mechanism",
            );
        };
        let initial = match initial {
            None => None,
            Some(data) => match sasl::server::decode_response(data.as_bytes()) {
                Some(data) => Some(data),
                None => return self.bad(Some(&tag), None, "Invalid base64"),
            },
        };
        let (exchange, step) = Exchange::start(mech, initial);
        self.auth_step(tag, exchange, step);
    }

    /// Carries out what the SASL exchange asks for.
    fn auth_step(&mut self, tag: Tag, exchange: Exchange<Status>, step: Step<Status>) {
        match step {
            Step::Challenge(challenge) => {
                self.send_continue(challenge);
                self.phase = Phase::Auth { tag, exchange };
            }
            Step::Credentials(credentials) => {
                // Kept while the application decides, for the error round of a refusal.
                self.phase = Phase::Auth {
                    tag: tag.clone(),
                    exchange,
                };
                let ticket = self.wait_for(Pending::Login { tag });
                self.events.push_back(Event::Login {
                    ticket,
                    credentials,
                });
            }
            Step::Refused(status) => {
                self.tagged(&tag, status);
                self.count_error();
            }
            Step::Failed(Failure::Cancelled) => {
                self.bad(Some(&tag), None, "Authentication canceled")
            }
            Step::Failed(e) => self.bad(Some(&tag), None, &e.to_string()),
        }
    }

    // ----- reading -------------------------------------------------------

    /// Makes progress on buffered input; false when nothing more can be done now.
    fn step(&mut self) -> bool {
        if self.closing || self.starttls_pending || self.input.is_empty() {
            return false;
        }
        // An accepted APPEND message streams while its end is awaited.
        if self.pending.is_some()
            && !matches!(self.phase, Phase::AppendData { .. } | Phase::Skip { .. })
        {
            return false;
        }
        if matches!(self.pending, Some((_, Pending::AppendStart { .. }))) {
            return false;
        }
        match self.phase {
            Phase::Command => self.step_line(),
            Phase::Literal { remaining } => {
                let n = (remaining as usize).min(self.input.len());
                self.cmd.extend_from_slice(&self.input[..n]);
                self.input.advance(n);
                let left = remaining - n as u32;
                self.phase = if left == 0 {
                    Phase::Command
                } else {
                    Phase::Literal { remaining: left }
                };
                true
            }
            Phase::Skip { remaining } => {
                let n = (remaining as usize).min(self.input.len());
                self.input.advance(n);
                let left = remaining - n as u32;
                if left > 0 {
                    self.phase = Phase::Skip { remaining: left };
                } else {
                    self.phase = Phase::Command;
                }
                true
            }
            Phase::AppendData { remaining } => {
                let n = (remaining as usize).min(self.input.len());
                let chunk = self.input.split_to(n).freeze();
                self.events.push_back(Event::AppendChunk(chunk));
                let left = remaining - n as u32;
                if left > 0 {
                    self.phase = Phase::AppendData { remaining: left };
                } else {
                    self.events.push_back(Event::AppendMessageEnd);
                    self.phase = Phase::Command;
                }
                true
            }
            Phase::Auth { .. } | Phase::Idle { .. } => self.step_line(),
            Phase::Greeting | Phase::AwaitingTls | Phase::Closed => false,
        }
    }

    fn step_line(&mut self) -> bool {
        let max = self.config.max_line + 2;
        let (len, total) = match frame_line(&self.input, max) {
            Line::Complete { len, total } => (len, total),
            Line::Incomplete => return false,
            Line::Bare { total } => {
                let line = self.input.split_to(total);
                let tag = if self.cmd.is_empty() {
                    leading_tag(&line)
                } else {
                    leading_tag(&self.cmd)
                };
                self.abandon_command(AppendAbort::Syntax);
                self.bad(tag.as_ref(), None, "Line must end with CRLF");
                return true;
            }
            Line::TooLong => {
                self.input = BytesMut::new();
                self.abandon_command(AppendAbort::Syntax);
                self.untagged_status(StatusKind::Bye, Some(Code::TooBig), "Command line too long");
                self.close();
                return true;
            }
        };
        let line = self.input.split_to(total);
        let line = &line[..len];
        if memchr::memchr(0, line).is_some() {
            let tag = if self.cmd.is_empty() {
                leading_tag(line)
            } else {
                leading_tag(&self.cmd)
            };
            self.abandon_command(AppendAbort::Syntax);
            self.bad(tag.as_ref(), None, "NUL in command line");
            return true;
        }
        match std::mem::replace(&mut self.phase, Phase::Command) {
            Phase::Auth { tag, mut exchange } => {
                let step = exchange.respond(line);
                self.auth_step(tag, exchange, step);
            }
            Phase::Idle { tag } => {
                self.events.push_back(Event::IdleEnded);
                if line.eq_ignore_ascii_case(b"DONE") {
                    self.flush_updates(true);
                    self.tagged(&tag, Status::new(StatusKind::Ok, None, "IDLE terminated"));
                } else {
                    self.bad(Some(&tag), None, "Expected DONE");
                }
            }
            _ => self.command_line(line),
        }
        true
    }

    /// Drops a half-assembled command.
    fn abandon_command(&mut self, reason: AppendAbort) {
        self.cmd.clear();
        self.discard = None;
        if self.append.take().is_some() {
            self.events.push_back(Event::AppendAborted { reason });
        }
    }

    /// One line of a command: the whole command, or a segment before a literal.
    fn command_line(&mut self, line: &[u8]) {
        if self.append.is_some() && self.discard.is_none() {
            return self.append_segment(line);
        }
        let segment_start = self.cmd.len();
        if self.discard.is_none() && segment_start + line.len() + 2 > self.config.max_command {
            let tag = leading_tag(if self.cmd.is_empty() { line } else { &self.cmd });
            self.cmd.clear();
            self.discard = Some((
                tag,
                Status::new(StatusKind::Bad, Some(Code::TooBig), "Command too long"),
            ));
        }
        if self.discard.is_none() {
            self.cmd.extend_from_slice(line);
            self.cmd.extend_from_slice(b"\r\n");
        }
        match announcement(line) {
            None => self.command_complete(),
            Some(Err(())) => {
                let tag = leading_tag(if self.cmd.is_empty() { line } else { &self.cmd });
                self.cmd.clear();
                self.discard = None;
                self.bad(tag.as_ref(), None, "Invalid literal announcement");
            }
            Some(Ok(a)) if self.discard.is_some() => self.skip_or_finish(a),
            Some(Ok(a)) => {
                let at = segment_start + a.start;
                // Before login an APPEND is only a command with a literal.
                let appending = self.state != State::NotAuthenticated;
                if let Some((flags, date)) = appending.then(|| self.append_prefix(at)).flatten() {
                    self.cmd.clear();
                    return self.append_message(flags, date, a);
                }
                self.literal_announced(a);
            }
        }
    }

    /// A literal of a command being dropped: skip it, or (sync) answer now,
    /// since the client waits for a `+` that will not come.
    fn skip_or_finish(&mut self, a: framing::Announcement) {
        if a.sync {
            self.finish_discard();
        } else {
            self.phase = Phase::Skip {
                remaining: a.length,
            };
        }
    }

    fn literal_announced(&mut self, a: framing::Announcement) {
        let too_big = a.length > self.config.max_literal
            || self.cmd.len() + a.length as usize > self.config.max_command;
        if too_big && !a.sync && self.state == State::NotAuthenticated {
            // RFC 7888 §4: a literal too large that is coming anyway, from
            // someone not logged in, is refused and the connection closed,
            // rather than read to the end only to be thrown away.
            let tag = leading_tag(&self.cmd);
            self.cmd.clear();
            let bad = Status::new(StatusKind::Bad, Some(Code::TooBig), "Literal too large");
            match tag {
                Some(tag) => self.tagged(&tag, bad),
                None => self.write_untagged(&Untagged::Status(bad)),
            }
            self.untagged_status(StatusKind::Bye, None, "Literal too large before login");
            self.close();
            return;
        }
        if too_big {
            let tag = leading_tag(&self.cmd);
            self.cmd.clear();
            self.discard = Some((
                tag,
                Status::new(StatusKind::Bad, Some(Code::TooBig), "Literal too large"),
            ));
            return self.skip_or_finish(a);
        }
        if a.sync {
            self.send_continue("Ready for literal data");
        }
        if a.length > 0 {
            self.phase = Phase::Literal {
                remaining: a.length,
            };
        }
    }

    /// Answers a command that was being dropped.
    fn finish_discard(&mut self) {
        self.cmd.clear();
        if let Some((tag, status)) = self.discard.take() {
            match tag {
                Some(tag) => self.tagged(&tag, status),
                None => {
                    self.errors += 1;
                    self.write_untagged(&Untagged::Status(status));
                }
            }
        }
    }

    /// If `cmd[..end]` is `tag APPEND mailbox [flags] [date] [UTF8 (]`, the
    /// literal announced at `end` is a message: starts the APPEND.
    fn append_prefix(
        &mut self,
        end: usize,
    ) -> Option<(Vec<crate::types::Flag>, Option<crate::types::DateTime>)> {
        // Parsed up to the announcement, which is still there to end the tokens.
        let mut p = Parser::over_slice(&self.cmd, self.config.max_depth, true);
        let tag = p.tag().ok()?;
        p.sp().ok()?;
        if !p.keyword("APPEND").ok()? {
            return None;
        }
        p.sp().ok()?;
        let mailbox = p.mailbox().ok()?;
        p.sp().ok()?;
        let (flags, date) = codec::append_options(&mut p).ok()?;
        let utf8_open = codec::append_utf8_open(&mut p).ok()?;
        if p.pos != end {
            return None;
        }
        if !matches!(self.state, State::Authenticated | State::Selected) {
            // Not allowed now: answered like any command in the wrong state.
            return None;
        }
        self.append = Some(Append {
            tag,
            mailbox,
            utf8_open,
            refused: None,
            accepted: 0,
        });
        Some((flags, date))
    }

    /// A message of the APPEND was announced.
    fn append_message(
        &mut self,
        flags: Vec<crate::types::Flag>,
        date: Option<crate::types::DateTime>,
        a: framing::Announcement,
    ) {
        let Some(append) = self.append.as_mut() else {
            return;
        };
        if append.utf8_open && !a.binary {
            // RFC 6855 §4: the UTF8 form carries a literal8.
            return self.append_syntax_error(a, "UTF8 needs ~{n}");
        }
        if append.refused.is_none() && a.length > self.config.max_append {
            append.refused = Some(Status::new(
                StatusKind::No,
                Some(Code::TooBig),
                "Message too large",
            ));
        }
        if append.refused.is_some() {
            if a.sync {
                return self.finish_refused_append();
            }
            self.phase = Phase::Skip {
                remaining: a.length,
            };
            return;
        }
        let mailbox = append.mailbox.clone();
        let ticket = self.wait_for(Pending::AppendStart { sync: a.sync });
        self.events.push_back(Event::AppendStart {
            ticket,
            mailbox,
            flags,
            date,
            size: a.length,
            binary: a.binary,
        });
        self.phase = Phase::AppendData {
            remaining: a.length,
        };
        if a.length == 0 {
            self.events.push_back(Event::AppendMessageEnd);
            self.phase = Phase::Command;
        }
    }

    /// The line after an APPEND message: the end, or the next message (MULTIAPPEND).
    fn append_segment(&mut self, line: &[u8]) {
        let Some(append) = self.append.as_mut() else {
            return;
        };
        let mut rest = line;
        if append.utf8_open {
            match rest.strip_prefix(b")") {
                Some(r) => rest = r,
                None => {
                    let a = announcement(line).and_then(Result::ok);
                    return self.append_syntax_error_opt(a, "Expected )");
                }
            }
        }
        if rest.is_empty() {
            if append.refused.is_some() {
                return self.finish_refused_append();
            }
            let tag = append.tag.clone();
            self.append = None;
            let ticket = self.wait_for(Pending::AppendEnd { tag });
            self.events.push_back(Event::AppendEnd { ticket });
            return;
        }
        let a = match announcement(rest) {
            Some(Ok(a)) => a,
            _ => {
                return self
                    .append_syntax_error_opt(None, "Expected another message or end of line");
            }
        };
        let mut p = Parser::over_slice(rest, self.config.max_depth, true);
        let parsed = (|| {
            p.sp()?;
            let (flags, date) = codec::append_options(&mut p)?;
            let utf8_open = codec::append_utf8_open(&mut p)?;
            Ok::<_, DecodeError>((flags, date, utf8_open))
        })();
        match parsed {
            Ok((flags, date, utf8_open)) if p.pos == a.start => {
                append.utf8_open = utf8_open;
                self.append_message(flags, date, a);
            }
            _ => self.append_syntax_error(a, "Invalid APPEND message options"),
        }
    }

    fn append_syntax_error(&mut self, a: framing::Announcement, text: &str) {
        self.append_syntax_error_opt(Some(a), text);
    }

    /// Drops the APPEND with BAD, skipping a non-synchronising literal first.
    fn append_syntax_error_opt(&mut self, a: Option<framing::Announcement>, text: &str) {
        let Some(append) = self.append.take() else {
            return;
        };
        self.events.push_back(Event::AppendAborted {
            reason: AppendAbort::Syntax,
        });
        let status = Status::new(StatusKind::Bad, None, text_of(text));
        self.discard = Some((Some(append.tag), status));
        match a {
            Some(a) => self.skip_or_finish(a),
            None => self.finish_discard(),
        }
    }

    /// Answers a refused APPEND; earlier messages of it are dropped.
    fn finish_refused_append(&mut self) {
        let Some(append) = self.append.take() else {
            return;
        };
        if append.accepted > 0 {
            self.events.push_back(Event::AppendAborted {
                reason: AppendAbort::Refused,
            });
        }
        let status = append
            .refused
            .unwrap_or_else(|| Status::new(StatusKind::No, None, "APPEND refused"));
        self.tagged(&append.tag, status);
    }

    /// A command's lines and literals are all in: parse and run it.
    fn command_complete(&mut self) {
        if self.discard.is_some() {
            return self.finish_discard();
        }
        let cmd = std::mem::take(&mut self.cmd);
        match codec::parse_command_with(&cmd, self.config.max_depth) {
            Ok((_, command)) => self.execute(command),
            Err(DecodeError::Failed { expected, .. }) => {
                let tag = leading_tag(&cmd);
                let text = format!("Syntax error: expected {expected}");
                self.bad(tag.as_ref(), None, &text);
            }
            Err(_) => {
                let tag = leading_tag(&cmd);
                self.bad(tag.as_ref(), None, "Incomplete command");
            }
        }
        // Keep the allocation for the next command unless it grew large.
        if cmd.capacity() <= 64 * 1024 {
            self.cmd = cmd;
            self.cmd.clear();
        }
    }

    /// Runs a parsed command in the current state.
    fn execute(&mut self, command: Command) {
        let Command { tag, body } = command;
        let state = self.state;
        let authenticated = matches!(state, State::Authenticated | State::Selected);
        let selected = state == State::Selected;
        match body {
            CommandBody::Capability => {
                let caps = self.config.capabilities(self.tls, authenticated);
                self.write_untagged(&Untagged::Capability(caps));
                self.ok(&tag, "CAPABILITY completed");
            }
            CommandBody::Noop | CommandBody::Check => {
                self.flush_updates(true);
                let text = format!("{} completed", body.name());
                self.ok(&tag, &text);
            }
            CommandBody::Logout => {
                self.untagged_status(StatusKind::Bye, None, "Logging out");
                self.ok(&tag, "LOGOUT completed");
                self.close();
            }
            CommandBody::Id(params) => {
                let ours = self
                    .config
                    .id
                    .iter()
                    .map(|(k, v)| (Str::from(k.as_str()), Some(Str::from(v.as_str()))))
                    .collect();
                self.write_untagged(&Untagged::Id(Some(ours)));
                self.events.push_back(Event::Id { params });
                self.ok(&tag, "ID completed");
            }
            CommandBody::StartTls => {
                if authenticated || self.tls || !self.config.starttls {
                    self.bad(Some(&tag), None, "STARTTLS not available now");
                } else {
                    self.ok(&tag, "Begin TLS negotiation now");
                    // Anything pipelined after STARTTLS is plaintext an
                    // attacker may have injected: drop it (CVE-2011-0411 class).
                    let bytes = self.input.len();
                    self.input = BytesMut::new();
                    if bytes > 0 {
                        self.events
                            .push_back(Event::PipelinedInputDiscarded { bytes });
                    }
                    self.starttls_pending = true;
                }
            }
            CommandBody::Login { username, password } => {
                if authenticated {
                    self.bad(Some(&tag), None, "Already logged in");
                } else if !self.tls && !self.config.allow_plaintext_auth {
                    self.no(&tag, Some(Code::PrivacyRequired), "LOGIN needs TLS first");
                } else {
                    let credentials = Credentials::Login {
                        username: String::from_utf8_lossy(&username).into_owned(),
                        password: Secret::new(
                            String::from_utf8_lossy(password.expose()).into_owned(),
                        ),
                    };
                    let ticket = self.wait_for(Pending::Login { tag });
                    self.events.push_back(Event::Login {
                        ticket,
                        credentials,
                    });
                }
            }
            CommandBody::Authenticate { mechanism, initial } => self.authenticate(
                tag,
                mechanism.as_str(),
                initial.map(|i| i.expose().clone()),
                authenticated,
            ),
            CommandBody::Enable(caps) if state == State::Authenticated => {
                let mut now_on = Vec::new();
                for cap in caps {
                    let flag = match cap {
                        Capability::CondStore => &mut self.enabled.condstore,
                        Capability::QResync => &mut self.enabled.qresync,
                        Capability::Utf8Accept => &mut self.enabled.utf8,
                        Capability::Imap4rev2 => &mut self.enabled.rev2,
                        _ => continue,
                    };
                    if !*flag {
                        *flag = true;
                        now_on.push(cap);
                    }
                }
                if now_on.contains(&Capability::QResync) && !self.enabled.condstore {
                    self.enabled.condstore = true;
                }
                self.write_untagged(&Untagged::Enabled(now_on.clone()));
                if !now_on.is_empty() {
                    self.events.push_back(Event::Enabled {
                        capabilities: now_on,
                    });
                }
                self.ok(&tag, "ENABLE completed");
            }
            CommandBody::Enable(_) => self.bad(
                Some(&tag),
                None,
                "ENABLE is only valid after login, before SELECT",
            ),
            _ if !authenticated => self.bad(Some(&tag), None, "Log in first"),
            CommandBody::Compress(algorithm) => {
                if self.deflate.is_some() {
                    self.no(
                        &tag,
                        Some(Code::CompressionActive),
                        "DEFLATE active via COMPRESS",
                    );
                } else if !self.config.compress || !algorithm.eq_ignore_case("DEFLATE") {
                    self.no(&tag, Some(Code::Cannot), "Unsupported compression");
                } else {
                    self.ok(&tag, "DEFLATE active");
                    // Everything up to this OK goes out uncompressed.
                    let earlier = std::mem::take(&mut self.out);
                    self.chunks.push_back(earlier.freeze());
                    self.plain_chunks = self.chunks.len();
                    let mut deflate = deflate::Deflate::new();
                    // A client must wait for this OK; anything it sent after
                    // COMPRESS is already compressed.
                    let pending = std::mem::take(&mut self.input);
                    let mut plain = Vec::new();
                    if deflate.decompress(&pending, &mut plain).is_none() {
                        self.close();
                    }
                    self.input.extend_from_slice(&plain);
                    self.deflate = Some(deflate);
                }
            }
            CommandBody::Idle => {
                self.send_continue("idling");
                self.flush_updates(true);
                self.events.push_back(Event::IdleStarted);
                self.phase = Phase::Idle { tag };
            }
            CommandBody::Unselect if selected => {
                self.unselect(true);
                self.ok(&tag, "UNSELECT completed");
            }
            CommandBody::Select { mailbox, params } => self.select(tag, mailbox, params, false),
            CommandBody::Examine { mailbox, params } => self.select(tag, mailbox, params, true),
            body if body.needs_selected() && !selected => {
                self.bad(Some(&tag), None, "No mailbox selected")
            }
            // RFC 5258 §3: RECURSIVEMATCH qualifies another selection option.
            CommandBody::List { selection, .. }
                if selection.contains(&ListSelect::RecursiveMatch)
                    && selection
                        .iter()
                        .all(|s| matches!(s, ListSelect::RecursiveMatch | ListSelect::Remote)) =>
            {
                self.bad(
                    Some(&tag),
                    None,
                    "RECURSIVEMATCH needs another selection option",
                )
            }
            body => self.ask_application(tag, body),
        }
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

fn is_uid(body: &CommandBody) -> bool {
    match body {
        CommandBody::Fetch { uid, .. }
        | CommandBody::Store { uid, .. }
        | CommandBody::Copy { uid, .. }
        | CommandBody::Move { uid, .. }
        | CommandBody::Search { uid, .. }
        | CommandBody::Sort { uid, .. }
        | CommandBody::Thread { uid, .. } => *uid,
        CommandBody::Expunge { uids } => uids.is_some(),
        _ => false,
    }
}

/// True for the commands that turn CONDSTORE on (RFC 7162 §3.1): FETCH
/// with MODSEQ or CHANGEDSINCE, STORE with UNCHANGEDSINCE, a search with a
/// MODSEQ key, STATUS with HIGHESTMODSEQ.
fn enables_condstore(body: &CommandBody) -> bool {
    let modseq_key = |keys: &[SearchKey]| {
        keys.iter()
            .any(|k| k.any(&|k| matches!(k, SearchKey::ModSeq { .. })))
    };
    match body {
        CommandBody::Fetch {
            items,
            changed_since,
            ..
        } => changed_since.is_some() || items.expand().contains(&FetchAttr::ModSeq),
        CommandBody::Store {
            unchanged_since, ..
        } => unchanged_since.is_some(),
        CommandBody::Search { keys, .. }
        | CommandBody::Sort { keys, .. }
        | CommandBody::Thread { keys, .. } => modseq_key(keys),
        CommandBody::Status { items, .. } => items.contains(&StatusItem::HighestModSeq),
        _ => false,
    }
}

/// The message-number set a command names, for range checks.
fn number_set(body: &CommandBody) -> Option<&SequenceSet> {
    match body {
        CommandBody::Fetch {
            uid: false, set, ..
        }
        | CommandBody::Store {
            uid: false, set, ..
        }
        | CommandBody::Copy {
            uid: false, set, ..
        }
        | CommandBody::Move {
            uid: false, set, ..
        } => Some(set),
        _ => None,
    }
}

/// Replaces `$` in a search key: as message numbers, or as UIDs after `UID`.
fn replace_saved_in_key(key: &mut SearchKey, as_set: &dyn Fn(bool) -> Option<SequenceSet>) {
    let nothing = || SearchKey::Not(Box::new(SearchKey::All));
    key.for_each_leaf_mut(&mut |leaf| match leaf {
        SearchKey::SequenceSet(SequenceSet::Saved) => {
            *leaf = as_set(false).map_or_else(nothing, SearchKey::SequenceSet)
        }
        SearchKey::Uid(SequenceSet::Saved) => {
            *leaf = as_set(true).map_or_else(nothing, SearchKey::Uid)
        }
        _ => {}
    });
}
