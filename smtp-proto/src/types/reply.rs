//! Reply codes (RFC 5321 §4.2) and enhanced status codes (RFC 3463).

use std::fmt;

use compact_str::CompactString;

use super::InvalidInput;

/// A three-digit reply code: first digit 2–5, second 0–5, third 0–9.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplyCode(u16);

impl ReplyCode {
    /// Validates a reply code.
    pub const fn new(code: u16) -> Result<Self, InvalidInput> {
        let (a, b) = (code / 100, (code / 10) % 10);
        if code >= 200 && code <= 599 && a >= 2 && b <= 5 {
            Ok(ReplyCode(code))
        } else {
            Err(InvalidInput::ReplyCode)
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// 2xx: the requested action was completed.
    pub const fn is_positive_completion(self) -> bool {
        self.0 / 100 == 2
    }

    /// 3xx: the server waits for more (354, 334).
    pub const fn is_intermediate(self) -> bool {
        self.0 / 100 == 3
    }

    /// 4xx: a temporary failure, worth trying again later.
    pub const fn is_transient(self) -> bool {
        self.0 / 100 == 4
    }

    /// 5xx: a permanent failure.
    pub const fn is_permanent(self) -> bool {
        self.0 / 100 == 5
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An RFC 3463 enhanced status code `class.subject.detail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    class: u8,
    subject: u16,
    detail: u16,
}

impl EnhancedStatus {
    /// Validates the three parts: class 2, 4 or 5; subject and detail 0–999.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Result<Self, InvalidInput> {
        if matches!(class, 2 | 4 | 5) && subject <= 999 && detail <= 999 {
            Ok(EnhancedStatus {
                class,
                subject,
                detail,
            })
        } else {
            Err(InvalidInput::EnhancedStatus)
        }
    }

    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub const fn class(self) -> u8 {
        self.class
    }

    /// The subject (1 addressing, 2 mailbox, 3 mail system, 4 network, 5 protocol, 6 content, 7 security).
    pub const fn subject(self) -> u16 {
        self.subject
    }

    /// The detail within the subject.
    pub const fn detail(self) -> u16 {
        self.detail
    }

    /// Parses `c.s.d` at the start of `text`, returning it and the length it took.
    pub(crate) fn parse_prefix(text: &[u8]) -> Option<(Self, usize)> {
        // The usual form, one digit each (`2.0.0`), without the loop.
        if let [
            c @ b'0'..=b'9',
            b'.',
            s @ b'0'..=b'9',
            b'.',
            d @ b'0'..=b'9',
            rest @ ..,
        ] = text
            && matches!(rest.first(), None | Some(b' '))
        {
            let status = EnhancedStatus::new(c - b'0', u16::from(s - b'0'), u16::from(d - b'0'));
            return Some((status.ok()?, 5));
        }
        let mut parts = [0u16; 3];
        let mut i = 0;
        for (n, part) in parts.iter_mut().enumerate() {
            let start = i;
            while i < text.len() && text[i].is_ascii_digit() && i - start < 3 {
                *part = *part * 10 + u16::from(text[i] - b'0');
                i += 1;
            }
            let digits = i - start;
            let max_digits = if n == 0 { 1 } else { 3 };
            if digits == 0 || digits > max_digits {
                return None;
            }
            if n < 2 {
                if text.get(i) != Some(&b'.') {
                    return None;
                }
                i += 1;
            }
        }
        // The code must stand alone: followed by nothing or a space.
        if !matches!(text.get(i), None | Some(b' ')) {
            return None;
        }
        let status = EnhancedStatus::new(parts[0] as u8, parts[1], parts[2]).ok()?;
        Some((status, i))
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// A complete reply: code, optional enhanced status and one or more lines of text.
///
/// The lines are kept in one string, joined by LF (a line never holds
/// one): inline when they fit in 24 octets (most one-line replies), else
/// one allocation; [`Reply::lines`] borrows them on demand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    code: ReplyCode,
    status: Option<EnhancedStatus>,
    text: CompactString,
}

impl Reply {
    /// Builds a reply. Every line must be free of CR, LF and other control
    /// characters; an empty `lines` stands for one empty line.
    pub fn new(
        code: ReplyCode,
        status: Option<EnhancedStatus>,
        lines: Vec<String>,
    ) -> Result<Self, InvalidInput> {
        if lines
            .iter()
            .any(|l| l.bytes().any(|b| (b < 32 && b != b'\t') || b == 127))
        {
            return Err(InvalidInput::ReplyText);
        }
        Ok(Reply {
            code,
            status,
            text: CompactString::from(lines.join("\n")),
        })
    }

    /// A reply from text already checked: lines joined by LF, no other
    /// control character but tab.
    #[inline]
    pub(crate) fn from_checked(
        code: ReplyCode,
        status: Option<EnhancedStatus>,
        text: CompactString,
    ) -> Self {
        debug_assert!(
            !text
                .bytes()
                .any(|b| (b < 32 && b != b'\t' && b != b'\n') || b == 127)
        );
        Reply { code, status, text }
    }

    /// Shorthand for the replies the crate writes itself: a valid code,
    /// status and a single line of plain text.
    pub(crate) fn fixed(code: u16, status: Option<(u8, u16, u16)>, text: &str) -> Self {
        // Only called with literal codes, statuses and texts that are valid.
        Reply {
            code: ReplyCode::new(code).expect("literal reply code is valid"),
            status: status
                .map(|(c, s, d)| EnhancedStatus::new(c, s, d).expect("literal status is valid")),
            text: CompactString::from(text),
        }
    }

    /// A one-line reply with an enhanced status: `Reply::text(550, (5,1,1), "No such user")`.
    pub fn text(code: u16, status: (u8, u16, u16), text: &str) -> Result<Self, InvalidInput> {
        let status = EnhancedStatus::new(status.0, status.1, status.2)?;
        Reply::new(ReplyCode::new(code)?, Some(status), vec![text.to_owned()])
    }

    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status code, when the server sent one.
    pub fn status(&self) -> Option<EnhancedStatus> {
        self.status
    }

    /// The text lines, without code or status (at least one, maybe empty).
    pub fn lines(&self) -> std::str::Split<'_, char> {
        self.text.split('\n')
    }

    /// The first text line (for a greeting or EHLO reply, the server's name first).
    pub fn first_line(&self) -> &str {
        self.lines().next().unwrap_or_default()
    }

    /// All the text: the lines joined by LF.
    pub fn joined_text(&self) -> &str {
        self.text.as_str()
    }

    /// True for 2xx replies.
    pub fn is_positive(&self) -> bool {
        self.code.is_positive_completion()
    }

    /// Appends the wire form, one `code-status text` line per text line.
    pub fn write(&self, out: &mut impl bytes::BufMut) {
        self.write_with_status(out, true);
    }

    /// Appends the wire form, leaving the enhanced status out unless
    /// `with_status` (RFC 2034 allows it only after ENHANCEDSTATUSCODES was offered).
    pub fn write_with_status(&self, out: &mut impl bytes::BufMut, with_status: bool) {
        let status = self.status.filter(|_| with_status);
        let mut digits = itoa3(self.code.0);
        let mut lines = self.lines().peekable();
        while let Some(line) = lines.next() {
            digits[3] = if lines.peek().is_none() { b' ' } else { b'-' };
            out.put_slice(&digits);
            if let Some(status) = status {
                out.put_slice(status.to_string().as_bytes());
                if !line.is_empty() {
                    out.put_u8(b' ');
                }
            }
            out.put_slice(line.as_bytes());
            out.put_slice(b"\r\n");
        }
    }

    /// The wire form as a string (for logs and tests).
    pub fn to_wire_string(&self) -> String {
        let mut out = Vec::new();
        self.write(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn itoa3(code: u16) -> [u8; 4] {
    [
        b'0' + (code / 100) as u8,
        b'0' + ((code / 10) % 10) as u8,
        b'0' + (code % 10) as u8,
        b' ',
    ]
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(s) = self.status {
            write!(f, " {s}")?;
        }
        let mut lines = self.lines();
        write!(f, " {}", lines.next().unwrap_or_default())?;
        lines.try_for_each(|line| write!(f, " / {line}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert!(ReplyCode::new(250).is_ok());
        assert!(ReplyCode::new(199).is_err());
        assert!(ReplyCode::new(260).is_err());
        assert!(ReplyCode::new(600).is_err());
        assert!(ReplyCode::new(421).unwrap().is_transient());
    }

    #[test]
    fn status_prefix() {
        assert_eq!(
            EnhancedStatus::parse_prefix(b"5.1.1 No such user"),
            Some((EnhancedStatus::new(5, 1, 1).unwrap(), 5))
        );
        assert_eq!(
            EnhancedStatus::parse_prefix(b"2.0.0"),
            Some((EnhancedStatus::new(2, 0, 0).unwrap(), 5))
        );
        assert_eq!(EnhancedStatus::parse_prefix(b"3.0.0 x"), None);
        assert_eq!(EnhancedStatus::parse_prefix(b"5.1.1x"), None);
        assert_eq!(EnhancedStatus::parse_prefix(b"5.1000.1 x"), None);
    }

    #[test]
    fn writes_multiline() {
        let r = Reply::new(
            ReplyCode::new(250).unwrap(),
            Some(EnhancedStatus::new(2, 0, 0).unwrap()),
            vec!["one".into(), "two".into()],
        )
        .unwrap();
        assert_eq!(r.to_wire_string(), "250-2.0.0 one\r\n250 2.0.0 two\r\n");
        assert!(Reply::new(ReplyCode::new(250).unwrap(), None, vec!["a\r\nb".into()]).is_err());
    }
}
