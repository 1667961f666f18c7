//! What a server session tells the application, and how the application answers.

use bytes::Bytes;

use crate::sasl::Credentials;
use crate::types::{ForwardPath, Host, MailParameter, Mechanism, RcptParameter, ReversePath, Text};

/// Identifies a decision the session waits for; pass it back with the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket(pub(crate) u64);

/// Which greeting the client used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelloKind {
    /// `HELO`: plain SMTP, no extensions.
    Helo,
    /// `EHLO`: ESMTP.
    Ehlo,
    /// `LHLO`: LMTP.
    Lhlo,
}

/// Why the current transaction was dropped; the application discards
/// everything it kept of it (envelope and body chunks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbortReason {
    /// The client sent RSET.
    Reset,
    /// The client greeted again (EHLO/HELO/LHLO reset the state).
    Hello,
    /// STARTTLS reset the state (RFC 3207 §4.2).
    StartTls,
    /// The message grew past `max_message_size`; 552 follows after the data.
    MessageTooLarge,
    /// A NUL byte in DATA; 554 follows after the data.
    NulInData,
    /// A bare CR or LF in DATA; the session closes.
    BareLineEnding,
    /// The client quit, went away or timed out mid-transaction.
    Closed,
}

/// Something the application must know or decide.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A client connected: accept (220 greeting) or reject (e.g. 554, then close).
    Connected {
        /// Answer with this.
        ticket: Ticket,
    },
    /// EHLO/HELO/LHLO: accept to send the greeting reply, or reject.
    Hello {
        /// Answer with this.
        ticket: Ticket,
        /// Which greeting.
        kind: HelloKind,
        /// The name the client gave.
        client: Host,
    },
    /// AUTH finished its exchange: verify the credentials, accept (235) or reject (535).
    Auth {
        /// Answer with this.
        ticket: Ticket,
        /// The mechanism used.
        mechanism: Mechanism,
        /// What the client presented.
        credentials: Credentials,
    },
    /// MAIL FROM: accept the sender or reject it.
    MailFrom {
        /// Answer with this.
        ticket: Ticket,
        /// The reverse path.
        from: ReversePath,
        /// Its parameters (already checked against what was offered).
        params: Vec<MailParameter>,
    },
    /// RCPT TO: accept the recipient or reject it.
    RcptTo {
        /// Answer with this.
        ticket: Ticket,
        /// The forward path.
        to: ForwardPath,
        /// Its parameters.
        params: Vec<RcptParameter>,
    },
    /// A piece of the message body, transparency dots already removed.
    DataChunk(Bytes),
    /// The whole body has arrived: accept (store it, then 250) or reject.
    /// In LMTP mode answer once per accepted recipient with `respond_each`.
    MessageEnd {
        /// Answer with this.
        ticket: Ticket,
        /// Octets of body delivered as chunks.
        size: u64,
        /// Recipients accepted in this transaction.
        recipients: usize,
    },
    /// The current transaction ended without a message.
    TransactionAborted {
        /// Why.
        reason: AbortReason,
    },
    /// VRFY: answer with `respond` (250/251/252/550/553); accept sends 252.
    Verify {
        /// Answer with this.
        ticket: Ticket,
        /// The string to verify.
        query: Text,
    },
    /// EXPN: answer with `respond`; accept sends 252.
    Expand {
        /// Answer with this.
        ticket: Ticket,
        /// The list to expand.
        query: Text,
    },
    /// Bytes that followed STARTTLS in the same plaintext read were thrown away
    /// (RFC 3207 §5, CVE-2011-0411).
    PipelinedInputDiscarded {
        /// How many.
        bytes: usize,
    },
}

/// An answer that does not fit the decision the session waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// No decision with this ticket is pending (answered twice, or out of turn).
    #[error("no decision with this ticket is pending")]
    UnknownTicket,
    /// `reject` needs a 4xx or 5xx reply.
    #[error("a rejection needs a 4xx or 5xx reply")]
    NotNegative,
    /// This decision takes no custom positive reply (EHLO writes its own).
    #[error("this decision takes no custom positive reply")]
    CustomReplyNotAllowed,
    /// `respond_each` is for LMTP sessions only.
    #[error("per-recipient replies are for LMTP sessions")]
    NotLmtp,
    /// `respond_each` needs one reply per accepted recipient.
    #[error("expected {expected} replies, got {got}")]
    ReplyCount {
        /// Replies expected.
        expected: usize,
        /// Replies given.
        got: usize,
    },
}
