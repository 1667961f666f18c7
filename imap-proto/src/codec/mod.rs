//! Stateless parsing and writing of commands and responses.
//!
//! Parsers return the rest of the input with the value, or a
//! [`DecodeError`] that keeps "need more input" apart from "bad input".
//! Responses are parsed from [`Bytes`], so message bodies in literals are
//! sliced out of the receive buffer without copying; commands are parsed
//! from a plain slice, their strings being small.
//! Writers append to any [`BufMut`] and pick the lightest form that carries
//! each string exactly (atom, quoted or literal), so that for every value
//! `parse(write(x)) == x`.
//!
//! ```
//! use sansmail_imap::codec::{parse_command, write_command};
//! use sansmail_imap::types::CommandBody;
//!
//! let input = b"a1 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n";
//! let (rest, command) = parse_command(input).unwrap();
//! assert!(rest.is_empty());
//! assert!(matches!(command.body, CommandBody::Fetch { uid: true, .. }));
//! let mut out = Vec::new();
//! write_command(&mut out, &command);
//! assert_eq!(out, input);
//! ```

mod decode_command;
mod decode_response;
mod encode_command;
mod encode_response;
mod parser;
mod writer;

use bytes::{BufMut, Bytes};

use crate::types::{Command, Response};

pub(crate) use decode_command::{append_options, append_utf8_open};
pub(crate) use decode_response::normalize_thread;
pub(crate) use parser::Parser;
pub(crate) use writer::W;

/// Nesting of parentheses (search keys, body structures) allowed by default.
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// Whether the client waits for `+` before sending a literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LiteralMode {
    /// `{n}`: the client waits for the server's `+`.
    Sync,
    /// `{n+}` (LITERAL+/LITERAL-): the octets follow at once.
    NonSync,
}

/// Why parsing stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends before the value does: read more and try again.
    #[error("incomplete input")]
    Incomplete,
    /// The input ends just after a literal announcement (commands only): a
    /// server answers `+` (or refuses) before the client sends the octets.
    #[error("literal of {length} octets announced")]
    Literal {
        /// Announced size.
        length: u32,
        /// Sync or not.
        mode: LiteralMode,
        /// `~{n}`: may hold NUL.
        binary: bool,
    },
    /// The input does not match the grammar at `position`.
    #[error("syntax error at octet {position}: expected {expected}")]
    Failed {
        /// Offset into the input.
        position: usize,
        /// What the grammar wanted there.
        expected: &'static str,
    },
}

/// Parses one command from the start of `input`. Strings are copied out
/// (short ones inline, without allocating); APPEND bodies, the one large
/// thing a command carries, are streamed by the server session instead.
pub fn parse_command(input: &[u8]) -> Result<(&[u8], Command), DecodeError> {
    parse_command_with(input, DEFAULT_MAX_DEPTH)
}

/// Parses one command, allowing at most `max_depth` nested parentheses.
pub fn parse_command_with(input: &[u8], max_depth: usize) -> Result<(&[u8], Command), DecodeError> {
    let mut p = Parser::over_slice(input, max_depth, true);
    let command = decode_command::command(&mut p)?;
    Ok((p.rest_slice(), command))
}

/// Parses one response from the start of `input`. Literals (message
/// bodies) and long strings share `input`'s buffer instead of being copied.
pub fn parse_response(input: &Bytes) -> Result<(Bytes, Response), DecodeError> {
    parse_response_with(input, DEFAULT_MAX_DEPTH)
}

/// Parses one response, allowing at most `max_depth` nested parentheses.
pub fn parse_response_with(
    input: &Bytes,
    max_depth: usize,
) -> Result<(Bytes, Response), DecodeError> {
    let mut p = Parser::new(input, max_depth, false);
    let response = decode_response::response(&mut p)?;
    Ok((p.rest(), response))
}

/// Writes a command whole, literals announced as `{n}`. A client sending
/// it must wait for `+` after each announcement: see [`encode_command`].
pub fn write_command(out: &mut impl BufMut, command: &Command) {
    let mut waits = Vec::new();
    encode_command::command(&mut W::for_command(out, &mut waits, false), command);
}

/// A command ready to send, with the places a client must wait for `+`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedCommand {
    /// The whole command.
    pub bytes: Bytes,
    /// Offsets into `bytes` just after each synchronising literal
    /// announcement: send up to there, then wait for `+`.
    pub waits: Vec<usize>,
}

/// Writes a command for sending: with `literal_plus` (the server offered
/// LITERAL+) literals go as `{n+}` and nobody waits.
pub fn encode_command(command: &Command, literal_plus: bool) -> EncodedCommand {
    let mut out = Vec::new();
    let mut waits = Vec::new();
    encode_command::command(
        &mut W::for_command(&mut out, &mut waits, literal_plus),
        command,
    );
    EncodedCommand {
        bytes: Bytes::from(out),
        waits,
    }
}

/// Writes an untagged response, leaving out message data of
/// [`writer::SPLICE_OVER`] octets or more: each such literal's data is
/// returned with the offset in `out` where it belongs.
pub(crate) fn write_untagged_spliced(
    out: &mut bytes::BytesMut,
    u: &crate::types::Untagged,
) -> Vec<(usize, bytes::Bytes)> {
    let mut splices = Vec::new();
    {
        let mut w = W::splicing(out, &mut splices);
        w.raw(b"* ");
        encode_response::untagged(&mut w, u);
        w.crlf();
    }
    splices
}

/// Writes the part of an untagged response after `* `.
pub(crate) fn write_untagged_body<B: BufMut>(w: &mut W<'_, B>, u: &crate::types::Untagged) {
    encode_response::untagged(w, u);
}

/// Writes a response.
pub fn write_response(out: &mut impl BufMut, response: &Response) {
    encode_response::response(&mut W::new(out), response);
}
