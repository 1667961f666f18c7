//! What a server session tells the application, and how the application answers.

use crate::sasl::{Credentials, Mechanism};
use crate::types::{Secret, UniqueId};

/// Identifies a decision the session waits for; pass it back with the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket(pub(crate) u64);

/// One message of the maildrop, as the application lists it when it opens
/// the maildrop. Message `n` of the session is entry `n - 1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageInfo {
    /// Size in octets as the message goes out: with CRLF line ends, before stuffing.
    pub size: u64,
    /// The unique id, stable across sessions (UIDL).
    pub uid: UniqueId,
}

/// Something the application must know or decide.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A client connected: `accept` sends `+OK <hostname> POP3 ready`;
    /// `respond` with a `+OK` of your own to offer APOP, putting a unique
    /// `<timestamp@host>` in it (RFC 1939 §7); `reject` sends `-ERR` and closes.
    Connected {
        /// Answer with this.
        ticket: Ticket,
    },
    /// USER and PASS: check them, then `open` the maildrop or `reject`
    /// (`[AUTH]` for bad credentials, `[IN-USE]` for a locked maildrop,
    /// `[LOGIN-DELAY]`, `[SYS/TEMP]`).
    Login {
        /// Answer with this.
        ticket: Ticket,
        /// The user name.
        user: String,
        /// The password.
        password: Secret<String>,
    },
    /// APOP: compare `digest` with [`crate::apop_digest`]`(timestamp, secret)`,
    /// then `open` or `reject` as for [`Event::Login`].
    Apop {
        /// Answer with this.
        ticket: Ticket,
        /// The mailbox name.
        user: String,
        /// The client's digest, lowercase hex.
        digest: String,
        /// The timestamp from the greeting, brackets included.
        timestamp: String,
    },
    /// AUTH finished its exchange: verify, then `open` or `reject`.
    Auth {
        /// Answer with this.
        ticket: Ticket,
        /// The mechanism used.
        mechanism: Mechanism,
        /// What the client presented.
        credentials: Credentials,
    },
    /// RETR or TOP: `accept`, then `write_body` the message content and
    /// `finish_body`; or `reject` (for example `[SYS/TEMP]` when it cannot be read).
    Retrieve {
        /// Answer with this.
        ticket: Ticket,
        /// The message number; entry `message - 1` of the maildrop.
        message: u32,
        /// Its unique id.
        uid: UniqueId,
        /// For TOP: the body lines wanted. The session cuts the content itself.
        top: Option<u32>,
    },
    /// QUIT after DELE: remove these messages, then `accept` (`+OK`) or
    /// `reject` (`[SYS/TEMP]` when some could not be removed). The session closes either way.
    Update {
        /// Answer with this.
        ticket: Ticket,
        /// The message numbers marked as deleted, ascending.
        deleted: Vec<u32>,
    },
    /// Bytes that followed STLS in the same plaintext read were thrown away
    /// (RFC 2595 §4, CVE-2011-0411).
    PipelinedInputDiscarded {
        /// How many.
        bytes: usize,
    },
}

impl Event {
    /// The ticket to answer with, when the event is a decision.
    pub fn ticket(&self) -> Option<Ticket> {
        match self {
            Event::Connected { ticket }
            | Event::Login { ticket, .. }
            | Event::Apop { ticket, .. }
            | Event::Auth { ticket, .. }
            | Event::Retrieve { ticket, .. }
            | Event::Update { ticket, .. } => Some(*ticket),
            Event::PipelinedInputDiscarded { .. } => None,
        }
    }
}

/// Whether a body stream should go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFlow {
    /// Send more content, then `finish_body`.
    More,
    /// TOP has all it needs: call `finish_body`; more content would be dropped.
    Enough,
}

/// An answer that does not fit the decision the session waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// No decision with this ticket is pending (answered twice, or out of turn).
    #[error("no decision with this ticket is pending")]
    UnknownTicket,
    /// `reject` needs a `-ERR` response.
    #[error("a rejection needs a -ERR response")]
    NotNegative,
    /// A login is accepted with `open`, which needs the maildrop listing.
    #[error("accept a login with open and the maildrop listing")]
    MaildropRequired,
    /// `open` answers logins only.
    #[error("open answers a login")]
    NotALogin,
    /// `write_body` and `finish_body` come after accepting a Retrieve.
    #[error("no message body is being sent")]
    NoBody,
    /// The maildrop has more messages than POP3 message numbers can address.
    #[error("too many messages in the maildrop")]
    MaildropTooLarge,
}
