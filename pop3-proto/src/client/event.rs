//! What a client session tells the application.

use bytes::Bytes;

use crate::codec::SyntaxError;
use crate::types::{Capabilities, Response, UniqueId};

/// Identifies a command the application issued; its events carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

/// Something for the application.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// Greeting, CAPA, STLS and login are done: commands may be issued.
    Ready {
        /// What the server announced (after TLS, when STLS was used).
        capabilities: Capabilities,
    },
    /// The answer to STAT.
    Stat {
        /// The request.
        id: RequestId,
        /// Messages in the maildrop, deleted ones left out.
        messages: u32,
        /// Their total size in octets.
        octets: u64,
    },
    /// One entry of a LIST answer.
    Listed {
        /// The request.
        id: RequestId,
        /// The message number.
        message: u32,
        /// Its size in octets.
        size: u64,
    },
    /// One entry of a UIDL answer.
    UniqueId {
        /// The request.
        id: RequestId,
        /// The message number.
        message: u32,
        /// Its unique id.
        uid: UniqueId,
    },
    /// A piece of a RETR or TOP body, dot-stuffing removed.
    BodyChunk {
        /// The request.
        id: RequestId,
        /// The content.
        chunk: Bytes,
    },
    /// A command completed with `+OK` (after its listing or body, if any).
    Done {
        /// The request.
        id: RequestId,
        /// The status line.
        response: Response,
    },
    /// A command got `-ERR`; the session goes on.
    Refused {
        /// The request.
        id: RequestId,
        /// The status line.
        response: Response,
    },
    /// The session failed and closes; requests still open get no answer.
    Failed(ClientError),
}

/// Why a client session failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The greeting was `-ERR`.
    #[error("greeting refused: {0}")]
    GreetingRefused(Response),
    /// TLS is required but the server does not offer STLS.
    #[error("the server does not offer STLS")]
    TlsUnavailable,
    /// TLS is required but STLS was refused.
    #[error("STLS refused: {0}")]
    TlsRefused(Response),
    /// No login method fits the credentials, the server and the TLS state.
    #[error("no usable login method: {0}")]
    AuthUnavailable(&'static str),
    /// The server refused the login.
    #[error("login refused: {0}")]
    AuthFailed(Response),
    /// No response within the timeout.
    #[error("timed out waiting for the server")]
    Timeout,
    /// The server closed the connection.
    #[error("connection closed by the server")]
    ConnectionClosed,
    /// The server sent something that is not valid POP3.
    #[error("protocol error: {0}")]
    Protocol(SyntaxError),
}

/// A call that does not fit the session's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// A command before [`Event::Ready`], or after QUIT or a failure.
    #[error("the session is not ready for commands")]
    NotReady,
    /// Message number 0.
    #[error("message numbers start at 1")]
    BadMessageNumber,
}
