//! Reply decoding: single and multi-line replies (RFC 5321 §4.2.1).

use super::{DEFAULT_MAX_REPLY, DecodeError, SyntaxError};
use crate::types::{EnhancedStatus, Reply, ReplyCode};

impl Reply {
    /// Parses the first complete reply of `input` (at most [`DEFAULT_MAX_REPLY`] octets).
    pub fn decode(input: &[u8]) -> Result<(&[u8], Reply), DecodeError> {
        Self::decode_with_limit(input, DEFAULT_MAX_REPLY)
    }

    /// Parses the first complete reply of `input`, all lines together at most `max` octets.
    pub fn decode_with_limit(input: &[u8], max: usize) -> Result<(&[u8], Reply), DecodeError> {
        let fail = |error, consumed| Err(DecodeError::Failed { error, consumed });
        let mut pos = 0;
        let mut code = None;
        let mut raw_lines: Vec<&[u8]> = Vec::new();
        loop {
            let rest = &input[pos..];
            let Some(lf) = memchr::memchr(b'\n', rest) else {
                if input.len() >= max {
                    return fail(SyntaxError::Reply("reply too long"), 0);
                }
                return Err(DecodeError::Incomplete);
            };
            let total = pos + lf + 1;
            if total > max {
                return fail(SyntaxError::Reply("reply too long"), total);
            }
            let Some(line) = rest[..lf].strip_suffix(b"\r") else {
                return fail(SyntaxError::BareLineEnding, total);
            };
            if line.contains(&b'\r') {
                return fail(SyntaxError::BareLineEnding, total);
            }
            pos = total;
            if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
                return fail(SyntaxError::Reply("missing reply code"), total);
            }
            let n = line[..3]
                .iter()
                .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
            let Ok(this) = ReplyCode::new(n) else {
                return fail(SyntaxError::Reply("invalid reply code"), total);
            };
            if code.is_some_and(|c| c != this) {
                return fail(
                    SyntaxError::Reply("reply code changed between lines"),
                    total,
                );
            }
            code = Some(this);
            let (more, text) = match line.get(3) {
                None => (false, &b""[..]),
                Some(b' ') => (false, &line[4..]),
                Some(b'-') => (true, &line[4..]),
                Some(_) => return fail(SyntaxError::Reply("bad separator after code"), total),
            };
            raw_lines.push(text);
            if !more {
                break;
            }
        }
        // Checked: the loop ran at least once and set the code.
        let code = code.ok_or(DecodeError::Incomplete)?;
        let status = raw_lines
            .first()
            .and_then(|l| EnhancedStatus::parse_prefix(l))
            .map(|(s, _)| s)
            .filter(|s| u16::from(s.class()) == code.get() / 100);
        let lines = raw_lines
            .iter()
            .map(|l| {
                let text = match status.and_then(|_| EnhancedStatus::parse_prefix(l)) {
                    Some((s, len)) if Some(s) == status => {
                        l[len..].strip_prefix(b" ").unwrap_or(&l[len..])
                    }
                    _ => l,
                };
                String::from_utf8_lossy(text).replace(|c: char| c.is_control() && c != '\t', "?")
            })
            .collect();
        match Reply::new(code, status, lines) {
            Ok(reply) => Ok((&input[pos..], reply)),
            Err(_) => fail(SyntaxError::Reply("invalid reply text"), pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_multiline() {
        let input = b"250-mx.example.com\r\n250-SIZE 1000\r\n250 PIPELINING\r\nrest";
        let (rest, reply) = Reply::decode(input).unwrap();
        assert_eq!(rest, b"rest");
        assert_eq!(reply.code().get(), 250);
        assert_eq!(reply.lines(), ["mx.example.com", "SIZE 1000", "PIPELINING"]);
        assert_eq!(reply.status(), None);
    }

    #[test]
    fn decodes_status() {
        let (_, reply) = Reply::decode(b"550-5.1.1 No such\r\n550 5.1.1 user\r\n").unwrap();
        assert_eq!(reply.status(), Some(EnhancedStatus::new(5, 1, 1).unwrap()));
        assert_eq!(reply.lines(), ["No such", "user"]);
        let (_, reply) = Reply::decode(b"250\r\n").unwrap();
        assert_eq!(reply.lines(), [""]);
        // A status whose class disagrees with the code is text.
        let (_, reply) = Reply::decode(b"250 5.0.0 odd\r\n").unwrap();
        assert_eq!(reply.status(), None);
    }

    #[test]
    fn rejects_bad_replies() {
        assert_eq!(Reply::decode(b"250-a\r\n25"), Err(DecodeError::Incomplete));
        assert!(matches!(
            Reply::decode(b"250-a\r\n251 b\r\n"),
            Err(DecodeError::Failed { .. })
        ));
        assert!(matches!(
            Reply::decode(b"250 a\n"),
            Err(DecodeError::Failed { .. })
        ));
        assert!(matches!(
            Reply::decode(b"abc\r\n"),
            Err(DecodeError::Failed { .. })
        ));
        assert!(matches!(
            Reply::decode_with_limit(b"250 aaaaaaaa", 5),
            Err(DecodeError::Failed { .. })
        ));
    }
}
