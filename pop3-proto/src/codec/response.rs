//! Status responses and the lines of LIST, UIDL and STAT answers.

use bytes::BufMut;

use super::{DEFAULT_MAX_RESPONSE_LINE, DecodeError, Line, SyntaxError, frame_line};
use crate::types::{Response, ResponseCode, UniqueId};

impl Response {
    /// Decodes the first status line of `input`, returning the unread rest.
    pub fn decode(input: &[u8]) -> Result<(&[u8], Response), DecodeError> {
        Response::decode_with_limit(input, DEFAULT_MAX_RESPONSE_LINE)
    }

    /// [`Response::decode`] with a line limit, CRLF included.
    pub fn decode_with_limit(input: &[u8], max: usize) -> Result<(&[u8], Response), DecodeError> {
        match frame_line(input, max) {
            Line::Complete { len, total } => match Response::parse_line(&input[..len]) {
                Ok(r) => Ok((&input[total..], r)),
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

    /// Parses one status line, CRLF removed. The text is read as UTF-8,
    /// with invalid bytes replaced (greetings in legacy charsets exist).
    pub fn parse_line(line: &[u8]) -> Result<Response, SyntaxError> {
        if line.contains(&0) {
            return Err(SyntaxError::Nul);
        }
        let (ok, rest) = if line.len() >= 3 && line[..3].eq_ignore_ascii_case(b"+OK") {
            (true, &line[3..])
        } else if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"-ERR") {
            (false, &line[4..])
        } else {
            return Err(SyntaxError::Response("no +OK or -ERR"));
        };
        let rest = match rest {
            [] => &[][..],
            [b' ', tail @ ..] => tail,
            _ => return Err(SyntaxError::Response("status indicator runs into text")),
        };
        let text = String::from_utf8_lossy(rest);
        // "[CODE] text": a code only when the brackets hold a valid one.
        if let Some(after) = text.strip_prefix('[')
            && let Some((code, tail)) = after.split_once(']')
            && let Some(code) = ResponseCode::parse(code)
        {
            let tail = tail.strip_prefix(' ').unwrap_or(tail);
            return Ok(Response::parsed(ok, Some(code), tail.to_owned()));
        }
        Ok(Response::parsed(ok, None, text.into_owned()))
    }

    /// Appends the status line, CRLF included.
    pub fn write(&self, out: &mut impl BufMut) {
        out.put_slice(if self.is_ok() { b"+OK" } else { b"-ERR" });
        if let Some(code) = self.code() {
            code.write(out);
        }
        if !self.text().is_empty() {
            out.put_u8(b' ');
            out.put_slice(self.text().as_bytes());
        }
        out.put_slice(b"\r\n");
    }
}

fn two_words(line: &[u8]) -> Option<(&str, &str)> {
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    Some((words.next()?, words.next()?))
}

fn message_number(word: &str) -> Option<u32> {
    word.parse().ok().filter(|n| *n > 0)
}

/// Parses a scan listing line `msg size` (RFC 1939 §5: more may follow; it is ignored).
pub fn parse_scan_line(line: &[u8]) -> Option<(u32, u64)> {
    let (n, size) = two_words(line)?;
    Some((message_number(n)?, size.parse().ok()?))
}

/// Parses a unique-id listing line `msg uid`.
pub fn parse_uid_line(line: &[u8]) -> Option<(u32, UniqueId)> {
    let (n, uid) = two_words(line)?;
    Some((message_number(n)?, UniqueId::new(uid).ok()?))
}

/// Parses the text of a positive STAT response: `count size`.
pub fn parse_stat(text: &str) -> Option<(u32, u64)> {
    let (n, size) = two_words(text.as_bytes())?;
    Some((n.parse().ok()?, size.parse().ok()?))
}

/// Appends `msg size` and CRLF.
pub fn write_scan_line(message: u32, size: u64, out: &mut impl BufMut) {
    out.put_slice(format!("{message} {size}\r\n").as_bytes());
}

/// Appends `msg uid` and CRLF.
pub fn write_uid_line(message: u32, uid: &UniqueId, out: &mut impl BufMut) {
    out.put_slice(format!("{message} {uid}\r\n").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        let r = Response::parse_line(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>")
            .unwrap();
        assert!(r.is_ok());
        assert_eq!(
            r.text(),
            "POP3 server ready <1896.697170952@dbc.mtview.ca.us>"
        );
        let r = Response::parse_line(b"-ERR [IN-USE] maildrop locked").unwrap();
        assert_eq!(r.code(), Some(&ResponseCode::InUse));
        assert_eq!(r.text(), "maildrop locked");
        let r = Response::parse_line(b"-ERR [not a code] text").unwrap();
        assert_eq!(r.code(), None);
        assert_eq!(Response::parse_line(b"+OK").unwrap().text(), "");
        assert!(Response::parse_line(b"+OKAY").is_err());
        assert!(Response::parse_line(b"* BYE").is_err());
        let mut out = Vec::new();
        r.write(&mut out);
        assert_eq!(out, b"-ERR [not a code] text\r\n");
    }

    #[test]
    fn parses_listing_lines() {
        assert_eq!(parse_scan_line(b"1 120"), Some((1, 120)));
        assert_eq!(parse_scan_line(b"2 200 extra info"), Some((2, 200)));
        assert_eq!(parse_scan_line(b"0 200"), None);
        assert_eq!(
            parse_uid_line(b"1 whqtswO00WBw418f9t5JxYwZ"),
            Some((1, UniqueId::new("whqtswO00WBw418f9t5JxYwZ").unwrap()))
        );
        assert_eq!(parse_stat("2 320"), Some((2, 320)));
        assert_eq!(parse_stat("maildrop has 2"), None);
    }
}
