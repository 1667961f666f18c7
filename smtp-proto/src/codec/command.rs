//! SMTP, ESMTP and LMTP commands (RFC 5321 §4.1, RFC 2033, RFC 3030, RFC 3207, RFC 4954).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::borrow::Cow;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{DEFAULT_MAX_LINE, DecodeError, Line, SyntaxError};
use crate::ascii::CheckedLine;
use crate::types::{
    Borrowed, Folded, ForwardPath, Host, KEYWORD, MailParameter, Mechanism, Path, RcptParameter,
    ReversePath, Secret, Source, Store, Text, VALUE, fold, folded, from_wire_mail, from_wire_rcpt,
    number, parse_host, read_dot_mailbox, read_path,
};

/// One command line, parsed. `S` holds the text of its values: [`Text`]
/// sharing the receive buffer (what the sessions use), or `Cow<str>`
/// borrowed from the line ([`BorrowedCommand`], nothing copied or counted).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<S = Text> {
    /// `EHLO host`
    Ehlo(Host<S>),
    /// `HELO host`
    Helo(Host<S>),
    /// `LHLO host` (LMTP, RFC 2033)
    Lhlo(Host<S>),
    /// `MAIL FROM:<path> [params]`
    Mail {
        /// The reverse path.
        from: ReversePath<S>,
        /// ESMTP parameters, in order.
        params: Vec<MailParameter<S>>,
    },
    /// `RCPT TO:<path> [params]`
    Rcpt {
        /// The forward path.
        to: ForwardPath<S>,
        /// ESMTP parameters, in order.
        params: Vec<RcptParameter<S>>,
    },
    /// `DATA`
    Data,
    /// `BDAT size [LAST]` (RFC 3030)
    Bdat {
        /// Octets of data that follow the command line.
        size: u64,
        /// True for the last chunk.
        last: bool,
    },
    /// `RSET`
    Rset,
    /// `NOOP [string]`
    Noop(Option<S>),
    /// `QUIT`
    Quit,
    /// `VRFY string`
    Vrfy(S),
    /// `EXPN string`
    Expn(S),
    /// `HELP [string]`
    Help(Option<S>),
    /// `STARTTLS` (RFC 3207)
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954)
    Auth {
        /// The SASL mechanism.
        mechanism: Mechanism,
        /// The base64-decoded initial response; `Some(empty)` for `=`.
        initial_response: Option<Secret<Vec<u8>>>,
    },
}

impl Command {
    /// Parses the first command line of `input` (at most [`DEFAULT_MAX_LINE`] octets).
    /// Values of up to 22 octets are copied inline, longer ones one by one
    /// ([`Command::parse`] shares the line instead).
    #[inline]
    pub fn decode(input: &[u8]) -> Result<(&[u8], Command), DecodeError> {
        Self::decode_with_limit(input, DEFAULT_MAX_LINE)
    }

    /// Parses the first command line of `input`, allowing `max_line` octets with CRLF.
    #[inline]
    pub fn decode_with_limit(
        input: &[u8],
        max_line: usize,
    ) -> Result<(&[u8], Command), DecodeError> {
        match CheckedLine::frame(input, max_line) {
            Ok((line, total)) => match read_checked(line) {
                Ok(cmd) => Ok((&input[total..], cmd)),
                Err(error) => Err(DecodeError::Failed {
                    error,
                    consumed: total,
                }),
            },
            Err(other) => Err(framing_error(other)),
        }
    }

    /// Takes the first command line off `buf` and parses it where it lies,
    /// its values made as [`Command::decode`] makes them (no reference to
    /// `buf` is kept, so the buffer is never pinned by a command). On
    /// [`DecodeError::Failed`] the bad line has been removed (except an
    /// over-long one, `consumed == 0`).
    #[inline]
    pub fn decode_buf(buf: &mut BytesMut, max_line: usize) -> Result<Command, DecodeError> {
        let (parsed, total) = match CheckedLine::frame(buf, max_line) {
            Ok((line, total)) => (read_checked(line), total),
            Err(Line::Bare { total }) => (Err(SyntaxError::BareLineEnding), total),
            Err(other) => return Err(framing_error(other)),
        };
        buf.advance(total);
        parsed.map_err(|error| DecodeError::Failed {
            error,
            consumed: total,
        })
    }

    /// Parses one command line given without its CRLF (see [`Command::decode`] for copies).
    pub fn parse_line(line: &[u8]) -> Result<Command, SyntaxError> {
        parse_source(&Source::borrowed(line))
    }

    /// Parses one command line given without its CRLF; text in the command shares `line`.
    pub fn parse(line: &Bytes) -> Result<Command, SyntaxError> {
        parse_source(&Source::shared(line))
    }
}

/// A framed line, parsed into owned values.
#[inline(always)]
fn read_checked(line: CheckedLine<'_>) -> Result<Command, SyntaxError> {
    match bare_command(line.bytes()) {
        Some(cmd) => Ok(cmd),
        None => parse_source(&Source::checked(line)),
    }
}

/// A command whose values borrow from the line it was read from.
pub type BorrowedCommand<'a> = Command<Cow<'a, str>>;

impl<'a> Command<Cow<'a, str>> {
    /// Parses the first command line of `input`, allowing `max_line` octets
    /// with CRLF, and returns the rest of `input` with it. The command's
    /// values borrow from `input`: nothing is copied, counted or allocated
    /// except a parameter list and a decoded xtext or AUTH response. It
    /// accepts exactly the lines [`Command::decode`] accepts.
    #[inline]
    pub fn decode_borrowed(
        input: &'a [u8],
        max_line: usize,
    ) -> Result<(&'a [u8], Self), DecodeError> {
        match CheckedLine::frame(input, max_line) {
            Ok((line, total)) => match bare_command(line.bytes()) {
                Some(cmd) => Ok((&input[total..], cmd)),
                None => match parse_source(&Borrowed::checked(line)) {
                    Ok(cmd) => Ok((&input[total..], cmd)),
                    Err(error) => Err(DecodeError::Failed {
                        error,
                        consumed: total,
                    }),
                },
            },
            Err(other) => Err(framing_error(other)),
        }
    }

    /// Parses one command line given without its CRLF; values borrow from it.
    pub fn parse_borrowed(line: &'a [u8]) -> Result<Self, SyntaxError> {
        parse_source(&Borrowed::new(line))
    }
}

/// One pass over the line: the verb, then each argument read and
/// checked as the cursor moves (lookup tables for the character
/// classes). No field accepts a NUL, so a line holding one never
/// parses; the NUL is looked for only then, to name it as the reason.
#[inline(always)]
fn parse_source<'a, L: Store<'a>>(line: &L) -> Result<Command<L::Str>, SyntaxError> {
    if let Some(cmd) = envelope(line) {
        return Ok(cmd);
    }
    parse_fields(line).map_err(|error| {
        if memchr::memchr(0, line.bytes()).is_some() {
            SyntaxError::Nul
        } else {
            error
        }
    })
}

/// `MAIL FROM:<local@domain>` and `RCPT TO:<local@domain>`, with
/// parameters or without, in any case: the commonest lines, read straight
/// into their command (the verb and keyword matched as one word, the path
/// by [`read_dot_mailbox`]). `None` for any other line and on any error:
/// [`parse_fields`] then reads the line, and names the error.
#[inline(always)]
fn envelope<'a, L: Store<'a>>(line: &L) -> Option<Command<L::Str>> {
    // Bit 5 is cleared on the letters only, so that only letters match letters.
    const RCPT_LETTERS: u64 = u64::from_le_bytes([0xdf, 0xdf, 0xdf, 0xdf, 0xff, 0xdf, 0xdf, 0xff]);
    const MAIL_LETTERS: u64 = u64::from_le_bytes([0xdf, 0xdf, 0xdf, 0xdf, 0xff, 0xdf, 0xdf, 0xdf]);
    const RCPT_TO: u64 = u64::from_le_bytes(*b"RCPT TO:");
    const MAIL_FRO: u64 = u64::from_le_bytes(*b"MAIL FRO");
    let bytes = line.bytes();
    let head = u64::from_le_bytes(*bytes.first_chunk::<8>()?);
    if head & RCPT_LETTERS == RCPT_TO && bytes.get(8) == Some(&b'<') {
        let (mailbox, rest) = read_dot_mailbox(line, &bytes[9..])?;
        let to = ForwardPath::Mailbox(mailbox);
        // Checked here too: most RCPTs have no parameters, and this saves
        // the call (callgrind: 700 -> 669 instructions a RCPT).
        let params = match rest.is_empty() {
            true => Vec::new(),
            false => params(line, rest, from_wire_rcpt).ok()?,
        };
        return Some(Command::Rcpt { to, params });
    }
    if head & MAIL_LETTERS == MAIL_FRO
        && let Some(&[m, b':', b'<']) = bytes.get(8..11)
        && m & 0xdf == b'M'
    {
        let (mailbox, rest) = read_dot_mailbox(line, &bytes[11..])?;
        let from = ReversePath::Mailbox(mailbox);
        let params = match rest.is_empty() {
            true => Vec::new(),
            false => params(line, rest, from_wire_mail).ok()?,
        };
        return Some(Command::Mail { from, params });
    }
    None
}

/// [`parse_source`] but for naming a NUL.
fn parse_fields<'a, L: Store<'a>>(line: &L) -> Result<Command<L::Str>, SyntaxError> {
    let bytes = line.bytes();
    let Some((verb, args)) = read_verb(bytes) else {
        return Err(SyntaxError::UnknownCommand);
    };
    let no_args = |cmd: Command<L::Str>| match args {
        None => Ok(cmd),
        Some(_) => Err(SyntaxError::Arguments("no arguments allowed")),
    };
    let text = |arg: &'a [u8]| text_arg(line, arg);
    match verb {
        MAIL => parse_mail(line, args.unwrap_or_default()),
        RCPT => parse_rcpt(line, args.unwrap_or_default()),
        EHLO => Ok(Command::Ehlo(hello_host(line, args)?)),
        HELO => Ok(Command::Helo(hello_host(line, args)?)),
        LHLO => Ok(Command::Lhlo(hello_host(line, args)?)),
        DATA => no_args(Command::Data),
        RSET => no_args(Command::Rset),
        QUIT => no_args(Command::Quit),
        STARTTLS => no_args(Command::StartTls),
        NOOP => Ok(Command::Noop(args.map(text).transpose()?)),
        HELP => Ok(Command::Help(args.map(text).transpose()?)),
        VRFY => Ok(Command::Vrfy(text(required(args)?)?)),
        EXPN => Ok(Command::Expn(text(required(args)?)?)),
        BDAT => parse_bdat(required(args)?),
        AUTH => parse_auth(required(args)?),
        _ => Err(SyntaxError::UnknownCommand),
    }
}

impl<S: AsRef<str>> Command<S> {
    /// Appends the command line with its CRLF.
    pub fn write(&self, out: &mut impl BufMut) {
        let line = match self {
            Command::Ehlo(h) => format!("EHLO {h}"),
            Command::Helo(h) => format!("HELO {h}"),
            Command::Lhlo(h) => format!("LHLO {h}"),
            Command::Mail { from, params } => {
                let mut s = format!("MAIL FROM:{from}");
                params.iter().for_each(|p| p.write(&mut s));
                s
            }
            Command::Rcpt { to, params } => {
                let mut s = format!("RCPT TO:{to}");
                params.iter().for_each(|p| p.write(&mut s));
                s
            }
            Command::Data => "DATA".into(),
            Command::Bdat { size, last: true } => format!("BDAT {size} LAST"),
            Command::Bdat { size, last: false } => format!("BDAT {size}"),
            Command::Rset => "RSET".into(),
            Command::Noop(None) => "NOOP".into(),
            Command::Noop(Some(s)) => format!("NOOP {}", s.as_ref()),
            Command::Quit => "QUIT".into(),
            Command::Vrfy(s) => format!("VRFY {}", s.as_ref()),
            Command::Expn(s) => format!("EXPN {}", s.as_ref()),
            Command::Help(None) => "HELP".into(),
            Command::Help(Some(s)) => format!("HELP {}", s.as_ref()),
            Command::StartTls => "STARTTLS".into(),
            Command::Auth {
                mechanism,
                initial_response: None,
            } => format!("AUTH {mechanism}"),
            Command::Auth {
                mechanism,
                initial_response: Some(ir),
            } if ir.expose().is_empty() => format!("AUTH {mechanism} ="),
            Command::Auth {
                mechanism,
                initial_response: Some(ir),
            } => format!("AUTH {mechanism} {}", BASE64.encode(ir.expose())),
        };
        out.put_slice(line.as_bytes());
        out.put_slice(b"\r\n");
    }

    /// The command's wire form as bytes (for tests and logs; AUTH data included).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

/// The verb of a command line as one word with its length (see [`verb`]),
/// and the arguments after its space; `None` for a verb over eight octets.
/// The first eight octets are read as one word and the space found in it
/// (no copy through memory: a narrow store read back wide stalls the CPU).
#[inline]
fn read_verb(bytes: &[u8]) -> Option<(Verb, Option<&[u8]>)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let word = match bytes.first_chunk::<8>() {
        Some(head) => u64::from_le_bytes(*head),
        None => bytes
            .iter()
            .enumerate()
            .fold(0, |word, (i, &b)| word | u64::from(b) << (8 * i)),
    };
    // Octets equal to a space become zero; the lowest flagged one is exact.
    let spaces = word ^ (ONES * u64::from(b' '));
    let flagged = spaces.wrapping_sub(ONES) & !spaces & (ONES << 7);
    let len = if flagged != 0 {
        (flagged.trailing_zeros() / 8) as usize
    } else if bytes.len() <= 8 || bytes[8] == b' ' {
        bytes.len().min(8)
    } else {
        return None;
    };
    let args = (len < bytes.len()).then(|| &bytes[len + 1..]);
    let kept = if len == 8 {
        u64::MAX
    } else {
        (1 << (8 * len)) - 1
    };
    // Letters uppercased by clearing bit 5 (only `a`-`z` and `A`-`Z` give
    // a letter that way), matched with the length, so that a NUL is never
    // taken for the padding.
    Some(((len, word & kept & 0xdfdf_dfdf_dfdf_dfdf), args))
}

/// A line that is one of the verbs that stand alone (DATA, RSET, QUIT,
/// NOOP, HELP, STARTTLS), read as one word: the commonest lines, answered
/// before the general parser and built where the caller wants them.
#[inline]
fn bare_command<S>(line: &[u8]) -> Option<Command<S>> {
    const UPPER: u64 = 0xdfdf_dfdf_dfdf_dfdf;
    let verb = match line.first_chunk::<8>() {
        Some(word) if line.len() == 8 => (8, u64::from_le_bytes(*word) & UPPER),
        _ => match line.first_chunk::<4>() {
            Some(word) if line.len() == 4 => (4, u64::from(u32::from_le_bytes(*word)) & UPPER),
            _ => return None,
        },
    };
    Some(match verb {
        DATA => Command::Data,
        RSET => Command::Rset,
        QUIT => Command::Quit,
        NOOP => Command::Noop(None),
        HELP => Command::Help(None),
        STARTTLS => Command::StartTls,
        _ => return None,
    })
}

/// A verb as [`Command::parse`] compares it: its length, and up to eight
/// uppercase letters in one word.
type Verb = (usize, u64);

/// [`Verb`] for a verb's name.
const fn verb(name: &[u8]) -> Verb {
    let mut padded = [0u8; 8];
    let mut i = 0;
    while i < name.len() {
        padded[i] = name[i];
        i += 1;
    }
    (name.len(), u64::from_le_bytes(padded))
}

const MAIL: Verb = verb(b"MAIL");
const RCPT: Verb = verb(b"RCPT");
const EHLO: Verb = verb(b"EHLO");
const HELO: Verb = verb(b"HELO");
const LHLO: Verb = verb(b"LHLO");
const DATA: Verb = verb(b"DATA");
const RSET: Verb = verb(b"RSET");
const QUIT: Verb = verb(b"QUIT");
const STARTTLS: Verb = verb(b"STARTTLS");
const NOOP: Verb = verb(b"NOOP");
const HELP: Verb = verb(b"HELP");
const VRFY: Verb = verb(b"VRFY");
const EXPN: Verb = verb(b"EXPN");
const BDAT: Verb = verb(b"BDAT");
const AUTH: Verb = verb(b"AUTH");

/// The first `byte` in a short slice (memchr's dispatch costs more than it saves here).
fn find(s: &[u8], byte: u8) -> Option<usize> {
    s.iter().position(|&b| b == byte)
}

fn framing_error(line: Line) -> DecodeError {
    match line {
        Line::Bare { total } => DecodeError::Failed {
            error: SyntaxError::BareLineEnding,
            consumed: total,
        },
        Line::TooLong => DecodeError::Failed {
            error: SyntaxError::LineTooLong,
            consumed: 0,
        },
        Line::Incomplete | Line::Complete { .. } => DecodeError::Incomplete,
    }
}

fn required(args: Option<&[u8]>) -> Result<&[u8], SyntaxError> {
    match args {
        Some(a) if !a.is_empty() => Ok(a),
        _ => Err(SyntaxError::Arguments("argument required")),
    }
}

/// Free text (VRFY, EXPN, NOOP, HELP): printable UTF-8.
fn text_arg<'a, L: Store<'a>>(line: &L, arg: &'a [u8]) -> Result<L::Str, SyntaxError> {
    let text = line
        .text(arg)
        .ok_or(SyntaxError::Arguments("invalid UTF-8"))?;
    let str = text.as_ref();
    if str.is_empty() || str.chars().any(char::is_control) {
        return Err(SyntaxError::Arguments("invalid text"));
    }
    Ok(text)
}

fn hello_host<'a, L: Store<'a>>(
    line: &L,
    args: Option<&'a [u8]>,
) -> Result<Host<L::Str>, SyntaxError> {
    parse_host(line, required(args)?)
        .map_err(|_| SyntaxError::Arguments("invalid domain or address literal"))
}

/// Strips `prefix` (ASCII case-insensitive) and any spaces after it. The RFC
/// allows none, but `MAIL FROM: <a@b>` is unambiguous and common.
fn strip_keyword<'a>(args: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = args.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = &args[prefix.len()..];
    let spaces = rest.iter().take_while(|&&b| b == b' ').count();
    Some(&rest[spaces..])
}

/// Calls `each` with every `keyword[=value]` in `rest` (what follows a
/// path), which must be empty or start with a space. One pass checks the
/// separators and the keyword and value characters together.
fn each_param<'a>(
    rest: &'a [u8],
    mut each: impl FnMut(&'a [u8], Option<&'a [u8]>) -> Result<(), SyntaxError>,
) -> Result<(), SyntaxError> {
    if rest.is_empty() {
        return Ok(());
    }
    if rest[0] != b' ' {
        return Err(SyntaxError::Arguments("garbage after path"));
    }
    let n = rest.len();
    let mut i = 1;
    while i < n {
        if rest[i] == b' ' {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && KEYWORD[usize::from(rest[i])] {
            i += 1;
        }
        let keyword = &rest[start..i];
        let value = if i < n && rest[i] == b'=' {
            i += 1;
            let value_start = i;
            i = value_end(rest, i);
            Some(&rest[value_start..i])
        } else {
            None
        };
        let well_formed = !keyword.is_empty()
            && keyword[0].is_ascii_alphanumeric()
            && value.is_none_or(|v| !v.is_empty())
            && (i == n || rest[i] == b' ');
        if !well_formed {
            // Report the whole offending word.
            let end = rest[start..]
                .iter()
                .position(|&b| b == b' ')
                .map_or(n, |p| start + p);
            return Err(bad_param(&rest[start..end]));
        }
        each(keyword, value)?;
    }
    Ok(())
}

/// Where the `esmtp-value` starting at `start` in `rest` ends: at the
/// first octet that is not a value octet (a control, space, `=` or DEL),
/// or at the end. Eight octets are checked at a time while eight remain.
#[inline]
fn value_end(rest: &[u8], start: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let mut i = start;
    while let Some(chunk) = rest.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // Each term flags its first match exactly (a borrow only flags
        // octets after a true one), so the lowest flag is the answer.
        let below_bang = x.wrapping_sub(ONES * 0x21) & !x;
        let equals = x ^ (ONES * u64::from(b'='));
        let del = x ^ (ONES * 0x7f);
        let flagged =
            (below_bang | (equals.wrapping_sub(ONES) & !equals) | (del.wrapping_sub(ONES) & !del))
                & TOPS;
        if flagged != 0 {
            return i + (flagged.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < rest.len() && VALUE[usize::from(rest[i])] {
        i += 1;
    }
    i
}

fn bad_param(keyword: &[u8]) -> SyntaxError {
    SyntaxError::Parameter(String::from_utf8_lossy(keyword).into_owned())
}

fn parse_mail<'a, L: Store<'a>>(line: &L, args: &'a [u8]) -> Result<Command<L::Str>, SyntaxError> {
    let rest =
        strip_keyword(args, b"FROM:").ok_or(SyntaxError::Arguments("expected FROM:<path>"))?;
    let (from, rest) = match read_path(line, rest) {
        Ok((Path::Null, rest)) => (ReversePath::Null, rest),
        Ok((Path::Mailbox(m), rest)) => (ReversePath::Mailbox(m), rest),
        Ok((Path::Postmaster, _)) | Err(_) => return Err(SyntaxError::SenderAddress),
    };
    let params = params(line, rest, from_wire_mail)?;
    Ok(Command::Mail { from, params })
}

/// The parameters after a path (`rest` empty or starting with a space),
/// each read by `read` (MAIL's or RCPT's reader).
#[inline]
fn params<'a, L: Store<'a>, P>(
    line: &L,
    rest: &'a [u8],
    read: impl Fn(&L, &'a [u8], Option<&'a [u8]>) -> Result<P, crate::types::InvalidInput>,
) -> Result<Vec<P>, SyntaxError> {
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    // Room for the usual few at once: growing from empty costs more.
    let mut params = Vec::with_capacity(4);
    each_param(rest, |k, v| {
        params.push(read(line, k, v).map_err(|_| bad_param(k))?);
        Ok(())
    })?;
    Ok(params)
}

fn parse_rcpt<'a, L: Store<'a>>(line: &L, args: &'a [u8]) -> Result<Command<L::Str>, SyntaxError> {
    let rest = strip_keyword(args, b"TO:").ok_or(SyntaxError::Arguments("expected TO:<path>"))?;
    let (to, rest) = match read_path(line, rest) {
        Ok((Path::Postmaster, rest)) => (ForwardPath::Postmaster, rest),
        Ok((Path::Mailbox(m), rest)) => (ForwardPath::Mailbox(m), rest),
        Ok((Path::Null, _)) | Err(_) => return Err(SyntaxError::RecipientAddress),
    };
    let params = params(line, rest, from_wire_rcpt)?;
    Ok(Command::Rcpt { to, params })
}

fn parse_bdat<S>(args: &[u8]) -> Result<Command<S>, SyntaxError> {
    let bad = SyntaxError::Arguments("expected BDAT size [LAST]");
    let (size, last) = match find(args, b' ') {
        None => (args, false),
        Some(sp) if args[sp + 1..].eq_ignore_ascii_case(b"LAST") => (&args[..sp], true),
        Some(_) => return Err(bad),
    };
    // Nineteen digits always fit in 64 bits.
    let size = number(size, 19).map_err(|_| bad)?;
    Ok(Command::Bdat { size, last })
}

fn parse_auth<S>(args: &[u8]) -> Result<Command<S>, SyntaxError> {
    let (mech, ir) = match find(args, b' ') {
        None => (args, None),
        Some(sp) => (&args[..sp], Some(&args[sp + 1..])),
    };
    let mechanism = known_mechanism(mech)
        .or_else(|| std::str::from_utf8(mech).ok().and_then(Mechanism::parse))
        .ok_or(SyntaxError::Arguments("invalid mechanism name"))?;
    let initial_response = match ir {
        None => None,
        Some(b"=") => Some(Secret::new(Vec::new())),
        Some(data) => Some(Secret::new(
            decode_base64(data).ok_or(SyntaxError::Arguments("invalid base64"))?,
        )),
    };
    Ok(Command::Auth {
        mechanism,
        initial_response,
    })
}

/// The usual mechanism names matched as one folded word, in any case
/// (`None` for any other name: [`Mechanism::parse`] reads it). Folding
/// clears bit 5, which only letters share with their other case, except
/// that the digit `2` shares it with the control 0x12: that one octet is
/// compared as it is.
#[inline]
fn known_mechanism(name: &[u8]) -> Option<Mechanism> {
    const PLAIN: Folded = fold(b"PLAIN");
    const LOGIN: Folded = fold(b"LOGIN");
    const XOAUTH2: Folded = fold(b"XOAUTH2");
    match folded(name)? {
        PLAIN => Some(Mechanism::Plain),
        LOGIN => Some(Mechanism::Login),
        XOAUTH2 if name[6] == b'2' => Some(Mechanism::XOAuth2),
        _ => None,
    }
}

/// The value of each base64 character (RFC 4648 §4); 0xff for any other octet.
static BASE64_VALUES: [u8; 256] = {
    let mut values = [0xff; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        values[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    values
};

/// Strict base64 (RFC 4954 §4: no whitespace, padding required, unused
/// bits zero), four characters at a time; what the `base64` crate's
/// standard engine accepts (a property test checks it).
pub(crate) fn decode_base64(data: &[u8]) -> Option<Vec<u8>> {
    if data.is_empty() || !data.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    let (body, last) = data.split_at(data.len() - 4);
    let value = |c: u8| {
        let v = BASE64_VALUES[usize::from(c)];
        (v != 0xff).then_some(u32::from(v))
    };
    let sextets = |q: &[u8]| -> Option<u32> {
        Some(value(q[0])? << 18 | value(q[1])? << 12 | value(q[2])? << 6 | value(q[3])?)
    };
    for quad in body.chunks_exact(4) {
        let n = sextets(quad)?;
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    match *last {
        [a, b, b'=', b'='] => {
            let n = value(a)? << 18 | value(b)? << 12;
            if n & 0xffff != 0 {
                return None;
            }
            out.push((n >> 16) as u8);
        }
        [a, b, c, b'='] => {
            let n = value(a)? << 18 | value(b)? << 12 | value(c)? << 6;
            if n & 0xff != 0 {
                return None;
            }
            out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8]);
        }
        _ => {
            let n = sextets(last)?;
            out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{BodyType, Mailbox};

    fn parse(s: &str) -> Result<Command, SyntaxError> {
        Command::parse_line(s.as_bytes())
    }

    #[test]
    fn borrowed_commands_share_the_input_and_its_limits() {
        let input = b"RCPT TO:<j\xc3\xb6rg@example.com> NOTIFY=NEVER\r\nDATA\r\n";
        let (rest, cmd) = Command::decode_borrowed(input, 512).unwrap();
        assert_eq!(rest, b"DATA\r\n");
        let Command::Rcpt {
            to: ForwardPath::Mailbox(m),
            params,
        } = &cmd
        else {
            panic!("{cmd:?}");
        };
        assert_eq!(m.local_part.as_str(), "j\u{f6}rg");
        assert!(matches!(m.local_part.text(), Cow::Borrowed(_)));
        assert_eq!(
            params,
            &[RcptParameter::Notify(crate::types::Notify::NEVER)]
        );
        // An escaped xtext is the one value that cannot borrow.
        let (_, cmd) = Command::decode_borrowed(b"MAIL FROM:<> ENVID=a+2Bb\r\n", 512).unwrap();
        assert!(matches!(&cmd, Command::Mail { params, .. }
            if matches!(&params[..], [MailParameter::EnvId(Cow::Owned(id))] if id == "a+b")));
        // The line limit, a bare line ending and an unfinished line.
        let long = [&b"NOOP "[..], &[b'x'; 600], b"\r\n"].concat();
        assert!(matches!(
            Command::decode_borrowed(&long, 512),
            Err(DecodeError::Failed {
                error: SyntaxError::LineTooLong,
                consumed: 0
            })
        ));
        assert!(matches!(
            Command::decode_borrowed(b"NOOP\nQUIT\r\n", 512),
            Err(DecodeError::Failed {
                error: SyntaxError::BareLineEnding,
                consumed: 5
            })
        ));
        assert!(matches!(
            Command::decode_borrowed(b"MAIL FROM:<a@b", 512),
            Err(DecodeError::Incomplete)
        ));
        // A bad command is named and its line consumed, the next one intact.
        let input = b"MAIL FROM:<a..b@example.com>\r\nQUIT\r\n";
        let Err(DecodeError::Failed { error, consumed }) = Command::decode_borrowed(input, 512)
        else {
            panic!("accepted");
        };
        assert_eq!(error, SyntaxError::SenderAddress);
        assert_eq!(
            Command::decode_borrowed(&input[consumed..], 512).unwrap().1,
            Command::Quit
        );
    }

    #[test]
    fn verbs_are_read_from_the_first_eight_octets() {
        assert_eq!(read_verb(b"STARTTLS"), Some((STARTTLS, None)));
        assert_eq!(read_verb(b"starttls x"), Some((STARTTLS, Some(&b"x"[..]))));
        assert_eq!(read_verb(b"STARTTLSX"), None);
        assert_eq!(read_verb(b"STARTTLSX "), None);
        assert_eq!(read_verb(b"quit"), Some((QUIT, None)));
        assert_eq!(read_verb(b"QUIT "), Some((QUIT, Some(&b""[..]))));
        assert_eq!(
            read_verb(b"Mail FROM:<a@b>"),
            Some((MAIL, Some(&b"FROM:<a@b>"[..])))
        );
        assert_eq!(read_verb(b""), Some(((0, 0), None)));
        // A NUL is not a padding octet: "DATA\0" is five octets long.
        assert_ne!(read_verb(b"DATA\0").map(|(v, _)| v), Some(DATA));
        assert!(matches!(
            parse("STARTTLSX"),
            Err(SyntaxError::UnknownCommand)
        ));
        assert!(matches!(parse(""), Err(SyntaxError::UnknownCommand)));
    }

    #[test]
    fn parses_commands() {
        assert!(matches!(
            parse("ehlo client.example").unwrap(),
            Command::Ehlo(Host::Domain(_))
        ));
        assert!(matches!(
            parse("HELO [127.0.0.1]").unwrap(),
            Command::Helo(Host::Ipv4(_))
        ));
        assert_eq!(parse("DATA").unwrap(), Command::Data);
        assert_eq!(
            parse("data extra"),
            Err(SyntaxError::Arguments("no arguments allowed"))
        );
        assert_eq!(
            parse("BDAT 1000 LAST").unwrap(),
            Command::Bdat {
                size: 1000,
                last: true
            }
        );
        assert_eq!(
            parse("BDAT 0").unwrap(),
            Command::Bdat {
                size: 0,
                last: false
            }
        );
        assert!(parse("BDAT x").is_err());
        assert!(parse("BDAT 10 NOTLAST").is_err());
        // Nineteen digits at most (all of them fit in 64 bits), no sign.
        assert_eq!(
            parse("BDAT 9999999999999999999").unwrap(),
            Command::Bdat {
                size: 9_999_999_999_999_999_999,
                last: false
            }
        );
        for bad in [
            "BDAT 10000000000000000000",
            "BDAT +1",
            "BDAT 12a4",
            "BDAT  1",
        ] {
            assert_eq!(
                parse(bad),
                Err(SyntaxError::Arguments("expected BDAT size [LAST]")),
                "{bad}"
            );
        }
        assert_eq!(parse("FOO"), Err(SyntaxError::UnknownCommand));
        assert_eq!(parse("NOOP\0"), Err(SyntaxError::Nul));
    }

    #[test]
    fn parses_mail_and_rcpt() {
        let cmd = parse("MAIL FROM:<user@example.com> SIZE=1024 BODY=8BITMIME").unwrap();
        assert_eq!(
            cmd,
            Command::Mail {
                from: ReversePath::Mailbox(Mailbox::parse("user@example.com").unwrap()),
                params: vec![
                    MailParameter::Size(1024),
                    MailParameter::Body(BodyType::EightBitMime)
                ],
            }
        );
        assert_eq!(
            parse("MAIL FROM:<>").unwrap(),
            Command::Mail {
                from: ReversePath::Null,
                params: vec![]
            }
        );
        assert!(matches!(
            parse("mail from: <a@b.example>").unwrap(),
            Command::Mail { .. }
        ));
        assert_eq!(
            parse("MAIL FROM:<a@b.example>junk"),
            Err(SyntaxError::Arguments("garbage after path"))
        );
        assert_eq!(
            parse("MAIL FROM:a@b.example"),
            Err(SyntaxError::SenderAddress)
        );
        assert_eq!(
            parse("RCPT TO:<Postmaster>").unwrap(),
            Command::Rcpt {
                to: ForwardPath::Postmaster,
                params: vec![]
            }
        );
        assert_eq!(parse("RCPT TO:<>"), Err(SyntaxError::RecipientAddress));
        assert!(matches!(
            parse("MAIL FROM:<a@b.example> SIZE=abc"),
            Err(SyntaxError::Parameter(_))
        ));
        assert!(matches!(
            parse("MAIL FROM:<a@b.example> =x"),
            Err(SyntaxError::Parameter(_))
        ));
    }

    #[test]
    fn parses_auth() {
        let Command::Auth {
            mechanism,
            initial_response,
        } = parse("AUTH PLAIN AGEAYg==").unwrap()
        else {
            panic!("not AUTH")
        };
        assert_eq!(mechanism, Mechanism::Plain);
        assert_eq!(initial_response.unwrap().expose(), b"\0a\0b");
        assert!(
            matches!(parse("AUTH LOGIN =").unwrap(), Command::Auth { initial_response: Some(ir), .. } if ir.expose().is_empty())
        );
        assert!(parse("AUTH PLAIN !!!").is_err());
    }

    #[test]
    fn a_nul_anywhere_is_named() {
        for good in [
            "EHLO client.example",
            "HELO [192.0.2.1]",
            "LHLO [IPv6:2001:db8::1]",
            "MAIL FROM:<a.b@c.example> SIZE=10 BODY=8BITMIME ENVID=QQ+2B1 AUTH=<>",
            "MAIL FROM:<@relay.example,@[192.0.2.1]:\"a b\"@c.example>",
            "MAIL FROM:<>",
            "RCPT TO:<Postmaster> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@c.example",
            "RCPT TO:<jörg@bücher.example> X-FOO=bar",
            "RCPT TO:<u@[tag:content]>",
            "DATA",
            "BDAT 100 LAST",
            "AUTH PLAIN AGEAYg==",
            "AUTH XOAUTH2 =",
            "NOOP hello",
            "HELP",
            "VRFY someone",
            "EXPN list",
            "RSET",
            "QUIT",
            "STARTTLS",
        ] {
            assert!(parse(good).is_ok(), "{good}");
            for at in 0..=good.len() {
                if !good.is_char_boundary(at) {
                    continue;
                }
                let bad = format!("{}\0{}", &good[..at], &good[at..]);
                assert_eq!(parse(&bad), Err(SyntaxError::Nul), "{bad:?}");
            }
        }
    }

    #[test]
    fn decode_buf_reads_each_line_as_parse_does() {
        for line in [
            "DATA",
            "rset",
            "QUIT",
            "STARTTLS",
            "NOOP",
            "NOOP hi",
            "noop hi",
            "HELP",
            "help me",
            "BDAT 10 LAST",
            "AUTH PLAIN AGEAYg==",
            "EHLO a.example",
            "mail from:<a@b.example>",
            "RCPT TO:<Postmaster>",
            "RCPT TO:<a.local.part.of.thirty.octets@mail.example.com> ORCPT=rfc822;x+2Bb@c",
            "VRFY x",
            "EXPN y",
            "DATA x",
            "XYZZY",
            "NOOP\0",
        ] {
            let mut buf = BytesMut::from(format!("{line}\r\nRSET\r\n").as_bytes());
            let decoded = Command::decode_buf(&mut buf, 512).map_err(|e| match e {
                DecodeError::Failed { error, .. } => error,
                DecodeError::Incomplete => panic!("complete"),
            });
            assert_eq!(decoded, parse(line), "{line}");
            assert_eq!(&buf[..], b"RSET\r\n", "{line}");
        }
    }

    #[test]
    fn decode_buf_keeps_no_part_of_the_buffer() {
        let line = "RCPT TO:<a.local.part.of.thirty.octets@mail.example.com>\r\n";
        let mut buf = BytesMut::from(line.as_bytes());
        let held = buf.as_ptr_range();
        let Ok(Command::Rcpt {
            to: ForwardPath::Mailbox(mailbox),
            ..
        }) = Command::decode_buf(&mut buf, 512)
        else {
            panic!("a recipient");
        };
        // The long local part is a copy, the short domain is kept inline.
        let local = mailbox.local_part.as_str();
        let domain = mailbox.host.to_string();
        assert_eq!(local, "a.local.part.of.thirty.octets");
        assert_eq!(domain, "mail.example.com");
        assert!(!held.contains(&local.as_ptr()));
        assert!(buf.is_empty());
        // Nothing else holds the buffer: it is reused, not reallocated.
        buf.reserve(line.len());
        assert_eq!(buf.as_ptr(), held.start);
    }

    #[test]
    fn decode_reports_framing() {
        assert_eq!(Command::decode(b"NOOP"), Err(DecodeError::Incomplete));
        assert_eq!(
            Command::decode(b"NOOP\nRSET\r\n"),
            Err(DecodeError::Failed {
                error: SyntaxError::BareLineEnding,
                consumed: 5
            })
        );
        let (rest, cmd) = Command::decode(b"RSET\r\nQUIT\r\n").unwrap();
        assert_eq!((rest, cmd), (&b"QUIT\r\n"[..], Command::Rset));
    }

    proptest::proptest! {
        /// Whatever the envelope fast path reads, the general parser reads
        /// to the same command; and it reads the usual lines.
        #[test]
        fn the_envelope_path_agrees_with_the_general_one(
            verb in proptest::sample::select(vec![
                "RCPT TO:", "rcpt to:", "Rcpt To:", "MAIL FROM:", "mail from:", "MAIL FROM: ",
                "RCPT\0TO:", "RCPT TO;", "MAIL FROMM:", "RCPT TO", "RCPT  TO:", "MAIL FR\x0fM:",
            ]),
            local in proptest::collection::vec(proptest::sample::select(vec![
                "a", "Z9", ".", "+", "-", "\"", "é", "@", ">", " ", "\0", "x.y", "Postmaster",
            ]), 0..5),
            domain in proptest::collection::vec(proptest::sample::select(vec![
                "example", ".", "com", "-", "[192.0.2.1]", "a-b", "x", "\0", "é", "sub.domain.example.org",
            ]), 0..5),
            close in proptest::sample::select(vec![">", "", ">>", "> "]),
            params in proptest::collection::vec(proptest::sample::select(vec![
                " SIZE=100", " BODY=8BITMIME", " NOTIFY=NEVER", " ORCPT=rfc822;a+2Bb@x.example",
                " SMTPUTF8", " X-Y=z", " =", " SIZE=x", "  ", " \0",
            ]), 0..3),
        ) {
            let line = format!("{verb}<{}@{}{close}{}", local.concat(), domain.concat(), params.concat());
            let bytes = line.as_bytes();
            let general = parse_fields(&Borrowed::new(bytes));
            if let Some(fast) = envelope(&Borrowed::new(bytes)) {
                proptest::prop_assert_eq!(Ok(fast), general);
            }
            if let Some(fast) = envelope(&Source::borrowed(bytes)) {
                proptest::prop_assert_eq!(Ok(fast), parse_fields(&Source::borrowed(bytes)));
            }
        }
    }

    #[test]
    fn the_envelope_path_reads_the_usual_lines() {
        for line in [
            &b"RCPT TO:<bob@example.org>"[..],
            b"rcpt to:<first.last+tag@mail.example.co.uk> NOTIFY=NEVER",
            b"MAIL FROM:<alice@example.com> SIZE=1000 BODY=8BITMIME",
            b"mail from:<a@sub.domain.example.com>",
        ] {
            let fast = envelope(&Borrowed::new(line));
            assert!(fast.is_some(), "{line:?}");
            assert_eq!(fast.map(Ok), Some(parse_fields(&Borrowed::new(line))));
        }
        // Left to the general parser, which names the error or reads the rest.
        for line in [
            &b"RCPT TO:<Postmaster>"[..],
            b"MAIL FROM:<>",
            b"MAIL FROM: <a@b.example>",
            b"RCPT TO:<a@b.example> NOTIFY=x",
            b"RCPT TO:<\"q\"@b.example>",
        ] {
            assert!(envelope(&Borrowed::new(line)).is_none(), "{line:?}");
        }
    }

    #[test]
    fn xoauth2_with_a_control_octet_is_refused() {
        assert_eq!(known_mechanism(b"xoauth2"), Some(Mechanism::XOAuth2));
        assert_eq!(known_mechanism(b"XOAUTH\x12"), None);
        assert_eq!(
            parse("AUTH XOAUTH\x12"),
            Err(SyntaxError::Arguments("invalid mechanism name"))
        );
    }

    proptest::proptest! {
        /// Mechanism names matched as folded words are the ones the
        /// general reader gives, for any octets.
        #[test]
        fn known_mechanisms_agree_with_the_general_reader(
            name in proptest::collection::vec(proptest::prop_oneof![
                4 => proptest::sample::select(b"PLAINlogInXOAUTH2xoauth".to_vec()),
                1 => proptest::prelude::any::<u8>(),
            ], 0..9),
        ) {
            if let Some(known) = known_mechanism(&name) {
                let general = std::str::from_utf8(&name).ok().and_then(Mechanism::parse);
                proptest::prop_assert_eq!(Some(known), general);
            }
        }

        /// Our base64 decoder accepts exactly what the `base64` crate's
        /// strict standard engine accepts, and gives the same octets.
        #[test]
        fn base64_decodes_as_the_base64_crate(
            data in proptest::collection::vec(proptest::prop_oneof![
                8 => proptest::sample::select(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".to_vec()),
                1 => proptest::prelude::Just(b'='),
                1 => proptest::prelude::any::<u8>(),
            ], 0..40),
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..30),
        ) {
            let expected = if data.is_empty() { None } else { BASE64.decode(&data).ok() };
            proptest::prop_assert_eq!(decode_base64(&data), expected);
            let encoded = BASE64.encode(&bytes);
            let round = if bytes.is_empty() { None } else { Some(bytes.clone()) };
            proptest::prop_assert_eq!(decode_base64(encoded.as_bytes()), round);
        }

        /// A value's end found eight octets at a time is where the
        /// octet-by-octet class check puts it, for any octets and start.
        #[test]
        fn value_ends_match_the_octet_class(
            rest in proptest::collection::vec(proptest::prop_oneof![
                6 => b'!'..=b'~',
                1 => proptest::prelude::any::<u8>(),
                1 => proptest::sample::select(vec![b' ', b'=', 0x7f, 0x20, 0x21, 0x80, 0xff, 0]),
            ], 0..40),
            start in 0..40usize,
        ) {
            let start = start.min(rest.len());
            let slow = start + rest[start..].iter().take_while(|&&b| VALUE[usize::from(b)]).count();
            proptest::prop_assert_eq!(value_end(&rest, start), slow);
        }
    }
}
