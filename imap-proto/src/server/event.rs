//! What a server session tells the application, and how it answers.

use std::num::NonZeroU32;

use bytes::Bytes;

use crate::sasl::Credentials;
use crate::types::{Capability, CommandBody, DateTime, Flag, IdParams, Mailbox};

/// Identifies a decision or command the session waits on; pass it back
/// with the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket(pub(crate) u64);

/// Why the messages of an APPEND were dropped: the application discards
/// everything it kept of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppendAbort {
    /// The application refused one of the messages (MULTIAPPEND is all or nothing).
    Refused,
    /// What followed a message literal was not valid APPEND syntax.
    Syntax,
    /// The client went away, timed out or the session closed.
    Closed,
}

/// Something the application must know or decide.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A client connected: [`accept`](super::Session::accept) to greet it
    /// (or [`preauth`](super::Session::preauth)), or
    /// [`reject`](super::Session::reject) to send `* BYE` and close.
    Connected {
        /// Answer with this.
        ticket: Ticket,
    },
    /// LOGIN or AUTHENTICATE: verify the credentials, then accept or reject.
    Login {
        /// Answer with this.
        ticket: Ticket,
        /// What the client presented.
        credentials: Credentials,
    },
    /// A command that needs the mail store. Answer with data
    /// ([`data`](super::Session::data), [`fetch`](super::Session::fetch),
    /// [`expunged`](super::Session::expunged),
    /// [`search_result`](super::Session::search_result),
    /// [`selected`](super::Session::selected)) and finish with
    /// [`complete`](super::Session::complete). A `$` in the command was
    /// already replaced by the saved search result.
    Command {
        /// Answer with this.
        ticket: Ticket,
        /// The command.
        command: CommandBody,
    },
    /// APPEND announced a message: accept (the client then sends it) or
    /// reject, e.g. `NO [TRYCREATE]`. With MULTIAPPEND one comes per message.
    AppendStart {
        /// Answer with this.
        ticket: Ticket,
        /// The target mailbox.
        mailbox: Mailbox,
        /// Flags to set.
        flags: Vec<Flag>,
        /// The internal date to give it.
        date: Option<DateTime>,
        /// The message size in octets.
        size: u32,
        /// Sent as `~{n}` (BINARY): may hold NUL.
        binary: bool,
    },
    /// Octets of the accepted message, in order.
    AppendChunk(Bytes),
    /// The message after the last chunk is complete.
    AppendMessageEnd,
    /// All messages of the APPEND arrived: store them, then
    /// [`complete`](super::Session::complete) (with `APPENDUID`).
    AppendEnd {
        /// Answer with this.
        ticket: Ticket,
    },
    /// The APPEND was dropped; discard its messages.
    AppendAborted {
        /// Why.
        reason: AppendAbort,
    },
    /// The client enabled extensions (ENABLE, or SELECT with CONDSTORE).
    Enabled {
        /// What is now on.
        capabilities: Vec<Capability>,
    },
    /// The client sent ID (RFC 2971); the session answered with the configured fields.
    Id {
        /// The client's fields.
        params: Option<IdParams>,
    },
    /// IDLE began: changes pushed with [`mailbox_changed`](super::Session::mailbox_changed)
    /// now go out at once.
    IdleStarted,
    /// IDLE ended.
    IdleEnded,
    /// The selected mailbox was closed without expunging (UNSELECT, a
    /// failed SELECT, or SELECT of another mailbox).
    Unselected,
    /// The client logged out or the connection ended.
    Closed,
    /// Bytes that followed STARTTLS in the same plaintext read were thrown
    /// away (RFC 9051 §11.1; the CVE-2011-0411 class of injection).
    PipelinedInputDiscarded {
        /// How many.
        bytes: usize,
    },
}

impl Event {
    /// The ticket to answer, for events that wait for an answer.
    pub fn ticket(&self) -> Option<Ticket> {
        match self {
            Event::Connected { ticket }
            | Event::Login { ticket, .. }
            | Event::Command { ticket, .. }
            | Event::AppendStart { ticket, .. }
            | Event::AppendEnd { ticket } => Some(*ticket),
            _ => None,
        }
    }
}

/// Why an answer was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// No such decision is pending (answered already, or another one's ticket).
    #[error("unknown or answered ticket")]
    UnknownTicket,
    /// This answer does not fit the pending event (e.g. `selected` for a FETCH).
    #[error("answer does not fit the pending command")]
    WrongAnswer,
    /// The response is not allowed now: an EXPUNGE during a command that
    /// names messages by number, or data for a message the client does not know.
    #[error("response not allowed during this command")]
    NotAllowed,
}

/// What SELECT or EXAMINE found: the application's answer to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectInfo {
    /// The mailbox's UIDVALIDITY.
    pub uid_validity: NonZeroU32,
    /// The next UID to be assigned.
    pub uid_next: NonZeroU32,
    /// The messages' UIDs, ascending.
    pub uids: Vec<NonZeroU32>,
    /// Flags defined in the mailbox.
    pub flags: Vec<Flag>,
    /// Flags the client can change permanently; empty when read-only.
    pub permanent_flags: Vec<crate::types::PermanentFlag>,
    /// The highest mod-sequence, or `None` when the mailbox has none (`NOMODSEQ`).
    pub highest_modseq: Option<u64>,
    /// Messages with `\Recent` (IMAP4rev1 clients only).
    pub recent: u32,
    /// The first unseen message number (IMAP4rev1 clients only).
    pub first_unseen: Option<NonZeroU32>,
    /// The mailbox cannot be changed (EXAMINE, or no write access).
    pub read_only: bool,
    /// For QRESYNC: messages changed since the client's mod-sequence, with
    /// their flags and mod-sequence.
    pub changed: Vec<(NonZeroU32, Vec<Flag>, u64)>,
    /// For QRESYNC: UIDs expunged since the client's mod-sequence, when
    /// the store knows them; otherwise the session reports every UID the
    /// client named that no longer exists.
    pub vanished: Option<Vec<u32>>,
    /// The mailbox's id (OBJECTID).
    pub mailbox_id: Option<crate::types::Atom>,
}
