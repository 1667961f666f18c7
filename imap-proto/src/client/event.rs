//! What a client session tells the application.

use bytes::Bytes;

use crate::types::{Capability, Status, Tag, Text, Untagged};

/// Something for the application.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// Greeting, STARTTLS and login are done: commands may be issued.
    Ready {
        /// What the server announced after login.
        capabilities: Vec<Capability>,
    },
    /// A data or status response (EXISTS, FETCH, LIST, SEARCH, `OK [ALERT]`...).
    Untagged(Untagged),
    /// A FETCH literal larger than `stream_over` starts: its octets follow
    /// as chunks, and the FETCH response after them holds an empty value
    /// in its place.
    LiteralStart {
        /// The message number of the FETCH response.
        seq: u32,
        /// The literal's size.
        size: u32,
    },
    /// Octets of a streamed literal, in order.
    LiteralChunk(Bytes),
    /// The server asks for more of a command: IDLE is now running (call
    /// [`done`](super::Session::done) to end it).
    Continue {
        /// The command it is for.
        tag: Tag,
        /// The server's text.
        text: Text,
    },
    /// A command completed (OK, NO or BAD).
    Done {
        /// The command's tag.
        tag: Tag,
        /// The tagged status.
        status: Status,
    },
    /// The session failed and closes; commands still open get no answer.
    Failed(ClientError),
}

/// Why a client session failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The greeting was BYE.
    #[error("the server refused the connection")]
    GreetingRefused(Status),
    /// TLS is required but the server does not offer STARTTLS.
    #[error("the server does not offer STARTTLS")]
    TlsUnavailable,
    /// TLS is required but STARTTLS was refused.
    #[error("STARTTLS refused")]
    TlsRefused(Status),
    /// Logging in needs TLS (or the server disabled it).
    #[error("login is not possible without TLS")]
    LoginDisabled,
    /// The server refused the login.
    #[error("login refused")]
    AuthFailed(Status),
    /// The server said BYE.
    #[error("the server closed the session")]
    Bye(Status),
    /// A response could not be parsed or broke a limit.
    #[error("bad response: {0}")]
    Protocol(String),
    /// No response within the timeout.
    #[error("timed out waiting for the server")]
    Timeout,
    /// The server closed the connection.
    #[error("connection closed by the server")]
    Closed,
}

/// A command the session cannot send now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The session is not ready (still logging in, idling, or closed).
    #[error("the session is not ready for commands")]
    NotReady,
    /// The session handles this command itself (STARTTLS, LOGIN, AUTHENTICATE, IDLE).
    #[error("use the session's own method for this command")]
    UseMethod,
    /// DONE without IDLE running.
    #[error("no IDLE to end")]
    NotIdling,
}
