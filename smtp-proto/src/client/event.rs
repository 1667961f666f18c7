//! What a client session tells the application.

use crate::codec::SyntaxError;
use crate::types::{ForwardPath, Reply};

/// What became of one recipient: what a queue needs to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// The server took responsibility for the message (2xx).
    Delivered(Reply),
    /// A temporary failure (4xx, or the connection failed): try again later.
    TemporaryFailure(Reply),
    /// A permanent failure (5xx): bounce.
    PermanentFailure(Reply),
}

impl DeliveryStatus {
    /// Classifies a reply: 2xx delivered, 5xx permanent, anything else temporary.
    pub fn from_reply(reply: Reply) -> Self {
        if reply.code().is_positive_completion() {
            DeliveryStatus::Delivered(reply)
        } else if reply.code().is_permanent() {
            DeliveryStatus::PermanentFailure(reply)
        } else {
            DeliveryStatus::TemporaryFailure(reply)
        }
    }

    /// The server's reply (or the session's own, when the connection failed).
    pub fn reply(&self) -> &Reply {
        match self {
            DeliveryStatus::Delivered(r)
            | DeliveryStatus::TemporaryFailure(r)
            | DeliveryStatus::PermanentFailure(r) => r,
        }
    }

    /// True for [`DeliveryStatus::Delivered`].
    pub fn is_delivered(&self) -> bool {
        matches!(self, DeliveryStatus::Delivered(_))
    }
}

/// The outcome for one recipient of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientOutcome {
    /// The recipient, as given in the envelope.
    pub recipient: ForwardPath,
    /// What happened.
    pub status: DeliveryStatus,
}

/// Something for the application.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Greeting, EHLO, TLS and AUTH are done: `send_mail` may be called.
    Ready,
    /// The server waits for the body: call `write_body`, then `finish_body`.
    SendBody,
    /// A transaction ended; one outcome per envelope recipient, in order.
    /// The session is ready for the next `send_mail` unless it failed.
    TransactionComplete(Vec<RecipientOutcome>),
    /// The session failed and closes; any transaction in flight was completed first.
    Failed(ClientError),
}

/// Why a client session failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server's greeting was not 220.
    #[error("greeting refused: {0}")]
    GreetingRefused(Reply),
    /// EHLO/LHLO (and HELO) were refused.
    #[error("hello refused: {0}")]
    HelloRefused(Reply),
    /// TLS is required but the server does not offer STARTTLS.
    #[error("the server does not offer STARTTLS")]
    TlsUnavailable,
    /// TLS is required but STARTTLS was refused.
    #[error("STARTTLS refused: {0}")]
    TlsRefused(Reply),
    /// Credentials are set but no usable mechanism (or no TLS for them).
    #[error("no usable authentication: {0}")]
    AuthUnavailable(&'static str),
    /// The server refused the credentials.
    #[error("authentication failed: {0}")]
    AuthFailed(Reply),
    /// The server said it is closing (421).
    #[error("server closing: {0}")]
    ServerClosing(Reply),
    /// No reply within the RFC 5321 §4.5.3.2 timeout.
    #[error("timed out waiting for the server")]
    Timeout,
    /// The server closed the connection.
    #[error("connection closed by the server")]
    ConnectionClosed,
    /// The server sent something that is not a valid reply.
    #[error("protocol error: {0}")]
    Protocol(SyntaxError),
}

/// A call that does not fit the session's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// `send_mail` before [`Event::Ready`], or during another transaction.
    #[error("the session is not ready for a new message")]
    NotReady,
    /// An envelope without recipients.
    #[error("the envelope has no recipients")]
    NoRecipients,
    /// `write_body`/`finish_body` when no body is expected.
    #[error("no message body is expected now")]
    NotSendingBody,
}
