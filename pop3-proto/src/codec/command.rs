//! POP3 commands: parsing a received line and writing one to send.

use bytes::{Buf, BufMut, BytesMut};

use super::{DEFAULT_MAX_LINE, DecodeError, Line, SyntaxError, frame_line};
use crate::sasl::Mechanism;
use crate::types::{InvalidInput, Secret};

/// A POP3 command (RFC 1939, RFC 2449, RFC 2595, RFC 5034, RFC 6856).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `USER name`.
    User(String),
    /// `PASS string`: the rest of the line, spaces included (RFC 1939 §7).
    Pass(Secret<String>),
    /// `APOP name digest`.
    Apop {
        /// The mailbox name.
        name: String,
        /// The MD5 digest in lowercase hex.
        digest: String,
    },
    /// `STAT`.
    Stat,
    /// `LIST [msg]`.
    List(Option<u32>),
    /// `RETR msg`.
    Retr(u32),
    /// `DELE msg`.
    Dele(u32),
    /// `NOOP`.
    Noop,
    /// `RSET`.
    Rset,
    /// `QUIT`.
    Quit,
    /// `TOP msg n`.
    Top {
        /// The message number.
        message: u32,
        /// Body lines wanted after the header.
        lines: u32,
    },
    /// `UIDL [msg]`.
    Uidl(Option<u32>),
    /// `CAPA` (RFC 2449).
    Capa,
    /// `STLS` (RFC 2595).
    Stls,
    /// `AUTH [mechanism [initial-response]]` (RFC 5034); the response is
    /// base64 as sent, `=` for an empty one.
    Auth {
        /// The mechanism; `None` asks for the list of mechanisms.
        mechanism: Option<Mechanism>,
        /// The initial response, still base64-encoded.
        initial_response: Option<Secret<String>>,
    },
    /// `UTF8` (RFC 6856).
    Utf8,
    /// `LANG [tag]` (RFC 6856): list languages, or choose one (`*` for the default).
    Lang(Option<String>),
}

impl Command {
    /// Decodes the first command of `input`, returning the unread rest.
    pub fn decode(input: &[u8]) -> Result<(&[u8], Command), DecodeError> {
        match frame_line(input, DEFAULT_MAX_LINE) {
            Line::Complete { len, total } => match Command::parse_line(&input[..len]) {
                Ok(command) => Ok((&input[total..], command)),
                Err(error) => Err(DecodeError::Failed {
                    error,
                    consumed: total,
                }),
            },
            Line::Bare { total } => Err(DecodeError::Failed {
                error: SyntaxError::BareLineEnding,
                consumed: total,
            }),
            Line::TooLong => Err(DecodeError::Failed {
                error: SyntaxError::LineTooLong,
                consumed: 0,
            }),
            Line::Incomplete => Err(DecodeError::Incomplete),
        }
    }

    /// Decodes the first command of `buf` and removes its line, good or bad.
    pub fn decode_buf(buf: &mut BytesMut) -> Result<Command, DecodeError> {
        let (result, consumed) = match Command::decode(buf) {
            Ok((rest, command)) => (Ok(command), buf.len() - rest.len()),
            Err(DecodeError::Failed { error, consumed }) => {
                (Err(DecodeError::Failed { error, consumed }), consumed)
            }
            Err(e) => (Err(e), 0),
        };
        buf.advance(consumed);
        result
    }

    /// Parses one command line, CRLF already removed.
    ///
    /// One scan rejects control characters, the keyword is matched as one
    /// 32-bit word, and the arguments are split at single spaces.
    pub fn parse_line(line: &[u8]) -> Result<Command, SyntaxError> {
        // No early exit: the compiler checks many bytes per step.
        let controls = line
            .iter()
            .fold(false, |found, &b| found | (b < 0x20) | (b == 0x7f));
        if controls {
            return Err(if line.contains(&0) {
                SyntaxError::Nul
            } else {
                SyntaxError::Arguments("control character")
            });
        }
        let line = std::str::from_utf8(line).map_err(|_| SyntaxError::Arguments("not UTF-8"))?;
        // C1 controls are two bytes in UTF-8: only text that is not ASCII can hold them.
        if !line.is_ascii() && line.chars().any(char::is_control) {
            return Err(SyntaxError::Arguments("control character"));
        }
        // Short lines: a plain loop finds a space sooner than a searcher starts.
        let space = |s: &str| s.bytes().position(|b| b == b' ');
        let (keyword, rest) = match space(line) {
            Some(at) => (&line[..at], Some(&line[at + 1..])),
            None => (line, None),
        };
        let keyword = match keyword.as_bytes() {
            [a, b, c] => word([*a, *b, *c, b' ']),
            [a, b, c, d] => word([*a, *b, *c, *d]),
            _ => return Err(SyntaxError::UnknownCommand),
        };
        // PASS takes the rest of the line as it is: passwords may hold spaces.
        if keyword == PASS {
            return match rest {
                Some(p) if !p.is_empty() => Ok(Command::Pass(Secret::new(p.to_owned()))),
                _ => Err(SyntaxError::Arguments("PASS needs a password")),
            };
        }
        // At most two arguments; a third word makes the count wrong for every command.
        let mut words = ["", "", ""];
        let mut count = 0;
        if let Some(mut rest) = rest {
            loop {
                let (word, more) = match space(rest).filter(|_| count < 2) {
                    Some(at) => (&rest[..at], Some(&rest[at + 1..])),
                    None => (rest, None),
                };
                if word.is_empty() {
                    return Err(SyntaxError::Arguments(
                        "arguments are separated by one space",
                    ));
                }
                words[count] = word;
                count += 1;
                match more {
                    Some(next) => rest = next,
                    None => break,
                }
            }
        }
        let args = &words[..count];
        let command = match (keyword, args) {
            (USER, [name]) => Command::User((*name).to_owned()),
            (APOP, [name, digest]) => Command::Apop {
                name: (*name).to_owned(),
                digest: parse_digest(digest)?,
            },
            (STAT, []) => Command::Stat,
            (LIST, []) => Command::List(None),
            (LIST, [n]) => Command::List(Some(message_number(n)?)),
            (RETR, [n]) => Command::Retr(message_number(n)?),
            (DELE, [n]) => Command::Dele(message_number(n)?),
            (NOOP, []) => Command::Noop,
            (RSET, []) => Command::Rset,
            (QUIT, []) => Command::Quit,
            (TOP, [n, lines]) => Command::Top {
                message: message_number(n)?,
                lines: number(lines).ok_or(SyntaxError::Arguments("bad line count"))?,
            },
            (UIDL, []) => Command::Uidl(None),
            (UIDL, [n]) => Command::Uidl(Some(message_number(n)?)),
            (CAPA, []) => Command::Capa,
            (STLS, []) => Command::Stls,
            (AUTH, []) => Command::Auth {
                mechanism: None,
                initial_response: None,
            },
            (AUTH, [mech, initial @ ..]) if initial.len() <= 1 => Command::Auth {
                mechanism: Some(
                    Mechanism::parse(mech).ok_or(SyntaxError::Arguments("bad mechanism name"))?,
                ),
                initial_response: match initial {
                    [] => None,
                    [r] if is_base64_or_empty(r) => Some(Secret::new((*r).to_owned())),
                    _ => return Err(SyntaxError::Arguments("initial response is not base64")),
                },
            },
            (UTF8, []) => Command::Utf8,
            (LANG, []) => Command::Lang(None),
            (LANG, [tag]) if is_language_range(tag) => Command::Lang(Some((*tag).to_owned())),
            (
                USER | APOP | STAT | LIST | RETR | DELE | NOOP | RSET | QUIT | TOP | UIDL | CAPA
                | STLS | AUTH | UTF8 | LANG,
                _,
            ) => return Err(SyntaxError::Arguments("wrong number of arguments")),
            _ => return Err(SyntaxError::UnknownCommand),
        };
        Ok(command)
    }

    /// Checks the arguments a caller built, so `write` gives a line the parser reads back.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        let word = |s: &str| {
            !s.is_empty() && !s.contains(' ') && !s.chars().any(char::is_control) && s.len() <= 255
        };
        let ok = match self {
            Command::User(name) => word(name),
            Command::Pass(p) => {
                let p = p.expose();
                !p.is_empty() && !p.chars().any(char::is_control) && p.len() <= 255
            }
            Command::Apop { name, digest } => word(name) && parse_digest(digest).is_ok(),
            Command::List(Some(0))
            | Command::Uidl(Some(0))
            | Command::Retr(0)
            | Command::Dele(0)
            | Command::Top { message: 0, .. } => false,
            Command::Auth {
                mechanism: None,
                initial_response: Some(_),
            } => false,
            Command::Auth {
                initial_response: Some(r),
                ..
            } => is_base64_or_empty(r.expose()),
            Command::Lang(Some(tag)) => is_language_range(tag),
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(InvalidInput::Argument)
        }
    }

    /// Appends the command line, CRLF included.
    pub fn write(&self, out: &mut impl BufMut) {
        let line = match self {
            Command::User(name) => format!("USER {name}"),
            Command::Pass(p) => format!("PASS {}", p.expose()),
            Command::Apop { name, digest } => format!("APOP {name} {digest}"),
            Command::Stat => "STAT".into(),
            Command::List(None) => "LIST".into(),
            Command::List(Some(n)) => format!("LIST {n}"),
            Command::Retr(n) => format!("RETR {n}"),
            Command::Dele(n) => format!("DELE {n}"),
            Command::Noop => "NOOP".into(),
            Command::Rset => "RSET".into(),
            Command::Quit => "QUIT".into(),
            Command::Top { message, lines } => format!("TOP {message} {lines}"),
            Command::Uidl(None) => "UIDL".into(),
            Command::Uidl(Some(n)) => format!("UIDL {n}"),
            Command::Capa => "CAPA".into(),
            Command::Stls => "STLS".into(),
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                let mut s = String::from("AUTH");
                if let Some(m) = mechanism {
                    s.push(' ');
                    s.push_str(m.as_str());
                }
                if let Some(r) = initial_response {
                    s.push(' ');
                    s.push_str(r.expose());
                }
                s
            }
            Command::Utf8 => "UTF8".into(),
            Command::Lang(None) => "LANG".into(),
            Command::Lang(Some(tag)) => format!("LANG {tag}"),
        };
        out.put_slice(line.as_bytes());
        out.put_slice(b"\r\n");
    }

    /// The command line as bytes, CRLF included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

fn number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn message_number(s: &str) -> Result<u32, SyntaxError> {
    match number(s) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(SyntaxError::Arguments("bad message number")),
    }
}

/// A keyword as one word: four octets (a three-letter one padded with a
/// space), uppercased, so matching it is one comparison.
const fn word(k: [u8; 4]) -> u32 {
    u32::from_le_bytes([
        k[0].to_ascii_uppercase(),
        k[1].to_ascii_uppercase(),
        k[2].to_ascii_uppercase(),
        k[3].to_ascii_uppercase(),
    ])
}

const USER: u32 = word(*b"USER");
const PASS: u32 = word(*b"PASS");
const APOP: u32 = word(*b"APOP");
const STAT: u32 = word(*b"STAT");
const LIST: u32 = word(*b"LIST");
const RETR: u32 = word(*b"RETR");
const DELE: u32 = word(*b"DELE");
const NOOP: u32 = word(*b"NOOP");
const RSET: u32 = word(*b"RSET");
const QUIT: u32 = word(*b"QUIT");
const TOP: u32 = word(*b"TOP ");
const UIDL: u32 = word(*b"UIDL");
const CAPA: u32 = word(*b"CAPA");
const STLS: u32 = word(*b"STLS");
const AUTH: u32 = word(*b"AUTH");
const UTF8: u32 = word(*b"UTF8");
const LANG: u32 = word(*b"LANG");

fn parse_digest(s: &str) -> Result<String, SyntaxError> {
    if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(SyntaxError::Arguments("APOP digest is 32 hex digits"))
    }
}

fn is_base64_or_empty(s: &str) -> bool {
    s == "=" || super::decode_base64(s.as_bytes()).is_some()
}

/// A language range (RFC 4647 §2.1): `*`, or alphanumeric subtags joined by `-`.
fn is_language_range(s: &str) -> bool {
    s == "*"
        || (s.len() <= 64
            && s.split('-').all(|t| {
                (1..=8).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric())
            }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_1939_commands() {
        let cases: [(&[u8], Command); 9] = [
            (b"USER mrose", Command::User("mrose".into())),
            (
                b"pass secret with spaces",
                Command::Pass(Secret::from("secret with spaces")),
            ),
            (
                b"APOP mrose c4c9334bac560ecc979e58001b3e22fb",
                Command::Apop {
                    name: "mrose".into(),
                    digest: "c4c9334bac560ecc979e58001b3e22fb".into(),
                },
            ),
            (b"LIST 2", Command::List(Some(2))),
            (
                b"TOP 1 10",
                Command::Top {
                    message: 1,
                    lines: 10,
                },
            ),
            (b"UIDL", Command::Uidl(None)),
            (
                b"AUTH PLAIN AGEAYg==",
                Command::Auth {
                    mechanism: Some(Mechanism::Plain),
                    initial_response: Some(Secret::from("AGEAYg==")),
                },
            ),
            (
                b"AUTH",
                Command::Auth {
                    mechanism: None,
                    initial_response: None,
                },
            ),
            (b"LANG *", Command::Lang(Some("*".into()))),
        ];
        for (line, expected) in cases {
            assert_eq!(Command::parse_line(line), Ok(expected.clone()));
            let written = expected.to_bytes();
            let (rest, again) = Command::decode(&written).unwrap();
            assert!(rest.is_empty());
            assert_eq!(again, expected);
        }
    }

    #[test]
    fn refuses_malformed_commands() {
        let bad: [(&[u8], SyntaxError); 9] = [
            (b"RETR 0", SyntaxError::Arguments("bad message number")),
            (b"RETR +1", SyntaxError::Arguments("bad message number")),
            (
                b"RETR 99999999999",
                SyntaxError::Arguments("bad message number"),
            ),
            (
                b"STAT 1",
                SyntaxError::Arguments("wrong number of arguments"),
            ),
            (
                b"LIST  1",
                SyntaxError::Arguments("arguments are separated by one space"),
            ),
            (b"XYZZY", SyntaxError::UnknownCommand),
            (b"US\0R a", SyntaxError::Nul),
            (b"PASS", SyntaxError::Arguments("PASS needs a password")),
            (
                b"APOP a b",
                SyntaxError::Arguments("APOP digest is 32 hex digits"),
            ),
        ];
        for (line, error) in bad {
            assert_eq!(Command::parse_line(line), Err(error), "{line:?}");
        }
        assert_eq!(
            Command::decode(b"STAT\nLIST\r\n"),
            Err(DecodeError::Failed {
                error: SyntaxError::BareLineEnding,
                consumed: 5
            })
        );
        assert_eq!(Command::decode(b"STA"), Err(DecodeError::Incomplete));
    }
}
