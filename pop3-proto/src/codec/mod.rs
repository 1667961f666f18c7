//! Stateless parsing and writing of commands, status responses and the
//! lines of multi-line listings.
//!
//! Parsers take the bytes received so far and return the value with the
//! unread rest, or [`DecodeError::Incomplete`] when more bytes are needed.
//! Writers append to a [`bytes::BufMut`]. `parse(write(x)) == x` for every value.

mod command;
mod response;

pub use command::Command;
pub use response::{parse_scan_line, parse_stat, parse_uid_line, write_scan_line, write_uid_line};

pub(crate) use sansmail_common::line::{Line, frame_line};

use base64::Engine;

use crate::types::{Response, ResponseCode};

/// Longest command line, CRLF included (RFC 2449 §4: 255 octets).
pub const DEFAULT_MAX_LINE: usize = 255;
/// Longest response line accepted by [`Response::decode`] (RFC 2449 §4 says 512; servers exceed it).
pub const DEFAULT_MAX_RESPONSE_LINE: usize = 8192;

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

/// What was wrong with a command or response; [`SyntaxError::response`] gives the server's answer.
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
    #[error("unknown command")]
    UnknownCommand,
    /// The command's arguments are malformed.
    #[error("syntax error in arguments: {0}")]
    Arguments(&'static str),
    /// A malformed response.
    #[error("malformed response: {0}")]
    Response(&'static str),
}

impl SyntaxError {
    /// The `-ERR` a server sends for this error.
    pub fn response(&self) -> Response {
        let text = match self {
            SyntaxError::LineTooLong => "Line too long",
            SyntaxError::BareLineEnding => "Bare CR or LF not allowed",
            SyntaxError::Nul => "NUL byte not allowed",
            SyntaxError::UnknownCommand => "Unknown command",
            SyntaxError::Arguments(what) => {
                return Response::fixed(false, None, &format!("Syntax error: {what}"));
            }
            SyntaxError::Response(_) => "Malformed response",
        };
        Response::fixed(false, None, text)
    }
}

/// Strict base64 (RFC 4648 §4, padding required), as SASL exchanges use it.
pub(crate) fn decode_base64(input: &[u8]) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(input).ok()
}

/// Decodes one SASL response: empty for `=` or an empty line, else strict base64.
pub(crate) fn decode_sasl(input: &[u8]) -> Option<Vec<u8>> {
    if input.is_empty() || input == b"=" {
        Some(Vec::new())
    } else {
        decode_base64(input)
    }
}

/// Encodes a SASL message; `=` stands for an empty initial response (RFC 5034 §4).
pub(crate) fn encode_base64(input: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(input)
}

impl ResponseCode {
    /// Appends ` [CODE]`.
    fn write(&self, out: &mut impl bytes::BufMut) {
        out.put_slice(b" [");
        out.put_slice(self.as_str().as_bytes());
        out.put_u8(b']');
    }
}
