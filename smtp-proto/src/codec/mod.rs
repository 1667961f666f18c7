//! Stateless parsing and writing of commands and replies.
//!
//! Parsers take the bytes received so far and return the value with the
//! unread rest, or [`DecodeError::Incomplete`] when more bytes are needed.
//! Writers append to a [`bytes::BufMut`]. `parse(write(x)) == x` for every value.

mod command;
mod reply;

pub use command::{BorrowedCommand, Command};
pub use reply::BorrowedReply;

pub(crate) use sansmail_common::line::Line;

use crate::types::Reply;

/// Longest command line accepted by [`Command::decode`], CRLF included. Sessions take theirs from `Config`.
pub const DEFAULT_MAX_LINE: usize = 4096;
/// Longest reply (all lines together) accepted by [`Reply::decode`].
pub const DEFAULT_MAX_REPLY: usize = 64 * 1024;

/// Why a parser returned no value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ends before the value does: call again with more bytes.
    #[error("incomplete input")]
    Incomplete,
    /// The input is not a valid value. `consumed` bytes belong to the bad
    /// line and may be skipped to resynchronise.
    #[error("{error}")]
    Failed {
        /// What was wrong.
        error: SyntaxError,
        /// How many bytes the bad line took (0 when the line is not yet complete).
        consumed: usize,
    },
}

/// What was wrong with a command or reply; [`SyntaxError::reply`] gives the server's answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyntaxError {
    /// The line is longer than the limit.
    #[error("line too long")]
    LineTooLong,
    /// A CR without LF or an LF without CR.
    #[error("bare CR or LF")]
    BareLineEnding,
    /// A NUL byte.
    #[error("NUL byte")]
    Nul,
    /// Not a command this crate knows.
    #[error("unrecognized command")]
    UnknownCommand,
    /// The command's arguments are malformed.
    #[error("syntax error in arguments: {0}")]
    Arguments(&'static str),
    /// A malformed reverse path (MAIL FROM).
    #[error("bad sender address syntax")]
    SenderAddress,
    /// A malformed forward path (RCPT TO).
    #[error("bad recipient address syntax")]
    RecipientAddress,
    /// A malformed ESMTP parameter.
    #[error("invalid parameter {0}")]
    Parameter(String),
    /// A malformed reply.
    #[error("malformed reply: {0}")]
    Reply(&'static str),
}

impl SyntaxError {
    /// The reply a server sends for this error (RFC 5321 §4.2.3 codes, RFC 3463 statuses).
    pub fn reply(&self) -> Reply {
        match self {
            SyntaxError::LineTooLong => Reply::fixed(500, Some((5, 5, 6)), "Line too long"),
            SyntaxError::BareLineEnding => {
                Reply::fixed(500, Some((5, 5, 2)), "Bare CR or LF not allowed")
            }
            SyntaxError::Nul => Reply::fixed(500, Some((5, 5, 2)), "NUL byte not allowed"),
            SyntaxError::UnknownCommand => {
                Reply::fixed(500, Some((5, 5, 1)), "Command unrecognized")
            }
            SyntaxError::Arguments(what) => Reply::fixed(
                501,
                Some((5, 5, 4)),
                &format!("Syntax error in arguments: {what}"),
            ),
            SyntaxError::SenderAddress => {
                Reply::fixed(501, Some((5, 1, 7)), "Bad sender address syntax")
            }
            SyntaxError::RecipientAddress => {
                Reply::fixed(501, Some((5, 1, 3)), "Bad recipient address syntax")
            }
            SyntaxError::Parameter(_) => {
                Reply::fixed(501, Some((5, 5, 4)), "Invalid parameter value")
            }
            SyntaxError::Reply(_) => Reply::fixed(500, Some((5, 5, 2)), "Malformed reply"),
        }
    }
}
