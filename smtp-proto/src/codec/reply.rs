//! Reply decoding: single and multi-line replies (RFC 5321 §4.2.1).

use std::borrow::Cow;

use compact_str::CompactString;

use super::{DEFAULT_MAX_REPLY, DecodeError, SyntaxError};
use crate::ascii::first_control;
use crate::types::{EnhancedStatus, Reply, ReplyCode};

impl Reply {
    /// Parses the first complete reply of `input` (at most [`DEFAULT_MAX_REPLY`] octets).
    #[inline]
    pub fn decode(input: &[u8]) -> Result<(&[u8], Reply), DecodeError> {
        Self::decode_with_limit(input, DEFAULT_MAX_REPLY)
    }

    /// Parses the first complete reply of `input`, all lines together at most `max` octets.
    ///
    /// A reply of well-formed lines of printable text (the usual case) is
    /// read by `decode_plain`: one scan per line for its end, and the text
    /// copied once into the reply's string. Anything else
    /// (control characters, invalid UTF-8, many lines, incomplete or bad
    /// input) is read line by line here: invalid UTF-8 and control
    /// characters become `?`, and every error gets its precise reason.
    #[inline]
    pub fn decode_with_limit(input: &[u8], max: usize) -> Result<(&[u8], Reply), DecodeError> {
        if let Some((consumed, reply)) = decode_plain(&input[..input.len().min(max)]) {
            return Ok((&input[consumed..], reply));
        }
        decode_lines(input, max)
    }
}

/// The general path of [`Reply::decode_with_limit`]: line by line, every
/// text accepted (lossily), every error named.
fn decode_lines(input: &[u8], max: usize) -> Result<(&[u8], Reply), DecodeError> {
    let fail = |error, consumed| Err(DecodeError::Failed { error, consumed });
    let mut pos = 0;
    let mut code: Option<ReplyCode> = None;
    let mut status = None;
    let mut text = String::new();
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
        pos = total;
        let n = match line {
            [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
            }
            _ => return fail(SyntaxError::Reply("missing reply code"), total),
        };
        let (more, body) = match line.get(3) {
            None => (false, &b""[..]),
            Some(b' ') => (false, &line[4..]),
            Some(b'-') => (true, &line[4..]),
            Some(_) => return fail(SyntaxError::Reply("bad separator after code"), total),
        };
        match code {
            None => {
                let Ok(first) = ReplyCode::new(n) else {
                    return fail(SyntaxError::Reply("invalid reply code"), total);
                };
                code = Some(first);
                status = EnhancedStatus::parse_prefix(body)
                    .map(|(s, _)| s)
                    .filter(|s| u16::from(s.class()) == n / 100);
            }
            Some(c) if c.get() != n => {
                return fail(
                    SyntaxError::Reply("reply code changed between lines"),
                    total,
                );
            }
            Some(_) => text.push('\n'),
        }
        let body = match status.and_then(|_| EnhancedStatus::parse_prefix(body)) {
            Some((s, len)) if Some(s) == status => {
                body[len..].strip_prefix(b" ").unwrap_or(&body[len..])
            }
            _ => body,
        };
        if push_text(&mut text, body).is_err() {
            return fail(SyntaxError::BareLineEnding, total);
        }
        if !more {
            break;
        }
    }
    // The loop ran at least once and set the code.
    let code = code.ok_or(DecodeError::Incomplete)?;
    Ok((
        &input[pos..],
        Reply::from_checked(code, status, text.into()),
    ))
}

/// Most lines a reply may have for [`decode_plain`] (EHLO replies have 10 or so).
const PLAIN_LINES: usize = 16;

/// A complete reply of at most [`PLAIN_LINES`] lines of printable text
/// (tabs and UTF-8 allowed) in `input`, and the bytes it took; `None` when
/// the reply is anything else. The lines are checked in one pass that
/// notes where each text lies ([`scan_plain`]); then the texts are copied
/// into the reply's string.
#[inline]
fn decode_plain(input: &[u8]) -> Option<(usize, Reply)> {
    let mut spans = [(0u32, 0u32); PLAIN_LINES];
    let mut lines = 0;
    let mut text_len = 0;
    let (pos, code, status) = scan_plain(input, |start, end| {
        *spans.get_mut(lines)? = (u32::try_from(start).ok()?, u32::try_from(end).ok()?);
        text_len += end - start + usize::from(lines > 0);
        lines += 1;
        Some(())
    })?;
    // Every span starts and ends at an ASCII byte, so at a character boundary.
    let all = crate::ascii::as_str(&input[..pos])?;
    let span = |&(a, b): &(u32, u32)| all.get(a as usize..b as usize);
    let text = if lines == 1 {
        CompactString::from(span(&spans[0])?)
    } else {
        let mut text = String::with_capacity(text_len);
        for (i, s) in spans[..lines].iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(span(s)?);
        }
        CompactString::from(text)
    };
    Some((pos, Reply::from_checked(code, status, text)))
}

/// One pass over a complete reply of printable lines at the front of
/// `input`: calls `each` with where each line's text starts and ends
/// (code, separator and a repeated status left out) and gives the
/// octets the reply took, its code and status. `None` when the reply is
/// anything else, or when `each` says so. The octets are not yet
/// checked as UTF-8.
#[inline(always)]
fn scan_plain(
    input: &[u8],
    mut each: impl FnMut(usize, usize) -> Option<()>,
) -> Option<(usize, ReplyCode, Option<EnhancedStatus>)> {
    let mut pos = 0;
    let mut status: Option<EnhancedStatus> = None;
    let mut code = None;
    loop {
        let line = &input[pos..];
        // The line ends at its first control character, which must be the CR of CRLF.
        let mut end = first_control(line)?;
        while line[end] == b'\t' {
            end += 1 + first_control(&line[end + 1..])?;
        }
        if line[end] != b'\r' || line.get(end + 1) != Some(&b'\n') || end < 3 {
            return None;
        }
        let [a, b, c] = [line[0], line[1], line[2]];
        if !(a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()) {
            return None;
        }
        let n = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
        let (more, mut start) = match line[3] {
            b'\r' => (false, 3),
            b' ' => (false, 4),
            b'-' => (true, 4),
            _ => return None,
        };
        match code {
            None => {
                code = Some(n);
                // The status, taken off the first line here and off the others below.
                if let Some((s, len)) = EnhancedStatus::parse_prefix(&line[start..end])
                    && u16::from(s.class()) == n / 100
                {
                    status = Some(s);
                    start = (start + len + 1).min(end);
                }
            }
            Some(first) if first != n => return None,
            Some(_) => start = end - strip_status(&line[start..end], status).len(),
        }
        each(pos + start, pos + end)?;
        pos += end + 2;
        if !more {
            break;
        }
    }
    Some((pos, ReplyCode::new(code?).ok()?, status))
}

/// A reply whose text borrows from the input it was read from: decoding
/// copies and allocates nothing for a reply of printable lines (the usual
/// case), however many lines it has; the texts are cut from the received
/// lines when asked for. A reply with control characters or invalid UTF-8
/// is read as [`Reply::decode`] reads it and kept as that [`Reply`].
/// It accepts exactly the replies [`Reply::decode`] accepts, with the same
/// code, status and lines.
///
/// ```
/// use sansmail_smtp::codec::BorrowedReply;
///
/// let input = b"250-mx.example.com Hello\r\n250-SIZE 10240000\r\n250 PIPELINING\r\n";
/// let (rest, reply) = BorrowedReply::decode(input, 64 * 1024).unwrap();
/// assert!(rest.is_empty());
/// assert_eq!(reply.code().get(), 250);
/// assert!(reply.lines().eq(["mx.example.com Hello", "SIZE 10240000", "PIPELINING"]));
/// // Kept past the input's life: copy the text out.
/// let owned = reply.to_reply();
/// assert_eq!(owned.first_line(), "mx.example.com Hello");
/// ```
#[derive(Clone, Debug)]
pub struct BorrowedReply<'a>(Form<'a>);

#[derive(Clone, Debug)]
enum Form<'a> {
    /// Printable lines, as received.
    Lines {
        code: ReplyCode,
        status: Option<EnhancedStatus>,
        /// The reply's lines, CRLFs included.
        raw: &'a str,
        /// Where the first line's text starts in `raw`.
        first: usize,
    },
    /// A reply read the general way.
    Owned(Reply),
}

impl<'a> BorrowedReply<'a> {
    /// Parses the first complete reply of `input`, all lines together at
    /// most `max` octets, and returns the rest of `input` with it.
    #[inline]
    pub fn decode(input: &'a [u8], max: usize) -> Result<(&'a [u8], Self), DecodeError> {
        let head = &input[..input.len().min(max)];
        let mut first = 0;
        let plain = scan_plain(head, |start, _| {
            if first == 0 {
                first = start;
            }
            Some(())
        });
        if let Some((pos, code, status)) = plain
            && let Some(raw) = crate::ascii::as_str(&input[..pos])
        {
            let form = Form::Lines {
                code,
                status,
                raw,
                first,
            };
            return Ok((&input[pos..], BorrowedReply(form)));
        }
        let (rest, reply) = decode_lines(input, max)?;
        Ok((rest, BorrowedReply(Form::Owned(reply))))
    }

    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        match &self.0 {
            Form::Lines { code, .. } => *code,
            Form::Owned(reply) => reply.code(),
        }
    }

    /// The enhanced status code, when the server sent one.
    pub fn status(&self) -> Option<EnhancedStatus> {
        match &self.0 {
            Form::Lines { status, .. } => *status,
            Form::Owned(reply) => reply.status(),
        }
    }

    /// The text lines, without code or status (at least one, maybe empty).
    pub fn lines(&self) -> impl Iterator<Item = &str> + '_ {
        let (raw, first, status, owned) = match &self.0 {
            Form::Lines {
                raw, first, status, ..
            } => (*raw, *first, *status, None),
            Form::Owned(reply) => ("", 0, None, Some(reply.lines())),
        };
        let received = raw
            .split_terminator("\r\n")
            .enumerate()
            .map(move |(i, line)| {
                if i == 0 {
                    return &line[first..];
                }
                let body = line.get(4..).unwrap_or_default();
                // What is left after a repeated status starts after an ASCII octet.
                &body[body.len() - strip_status(body.as_bytes(), status).len()..]
            });
        received.chain(owned.into_iter().flatten())
    }

    /// All the text: the lines joined by LF, borrowed when there is one line.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.0 {
            Form::Lines { raw, first, .. } if raw.len() - 2 == raw.find('\r').unwrap_or(0) => {
                Cow::Borrowed(&raw[*first..raw.len() - 2])
            }
            Form::Owned(reply) => Cow::Borrowed(reply.joined_text()),
            Form::Lines { .. } => Cow::Owned(self.lines().collect::<Vec<_>>().join("\n")),
        }
    }

    /// The reply with its text copied out.
    pub fn to_reply(&self) -> Reply {
        match &self.0 {
            Form::Owned(reply) => reply.clone(),
            Form::Lines { .. } => {
                Reply::from_checked(self.code(), self.status(), CompactString::from(self.text()))
            }
        }
    }
}

/// A line's text without the enhanced status, when it repeats the reply's.
fn strip_status(body: &[u8], status: Option<EnhancedStatus>) -> &[u8] {
    if status.is_some()
        && body.first().is_some_and(u8::is_ascii_digit)
        && let Some((s, len)) = EnhancedStatus::parse_prefix(body)
        && Some(s) == status
    {
        return &body[(len + 1).min(body.len())..];
    }
    body
}

/// Appends a line's text: printable ASCII and tabs as they are (checked
/// in one pass the compiler vectorises), anything else with invalid UTF-8
/// and control characters as `?`. A CR is an error: it has no place
/// inside a line.
fn push_text(text: &mut String, body: &[u8]) -> Result<(), ()> {
    let plain = !body.iter().fold(false, |odd, &b| {
        odd | ((b < 0x20) & (b != b'\t')) | (b >= 0x7f)
    });
    if plain {
        // Printable ASCII is UTF-8.
        text.push_str(std::str::from_utf8(body).map_err(|_| ())?);
        return Ok(());
    }
    if body.contains(&b'\r') {
        return Err(());
    }
    let lossy = String::from_utf8_lossy(body);
    text.extend(
        lossy
            .chars()
            .map(|c| if c.is_control() && c != '\t' { '?' } else { c }),
    );
    Ok(())
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
        assert!(
            reply
                .lines()
                .eq(["mx.example.com", "SIZE 1000", "PIPELINING"])
        );
        assert_eq!(reply.status(), None);
    }

    #[test]
    fn decodes_status() {
        let (_, reply) = Reply::decode(b"550-5.1.1 No such\r\n550 5.1.1 user\r\n").unwrap();
        assert_eq!(reply.status(), Some(EnhancedStatus::new(5, 1, 1).unwrap()));
        assert!(reply.lines().eq(["No such", "user"]));
        let (_, reply) = Reply::decode(b"250\r\n").unwrap();
        assert!(reply.lines().eq([""]));
        // A status whose class disagrees with the code is text.
        let (_, reply) = Reply::decode(b"250 5.0.0 odd\r\n").unwrap();
        assert_eq!(reply.status(), None);
    }

    #[test]
    fn first_control_finds_the_first_control_byte() {
        for len in 0..40 {
            for at in 0..=len {
                for special in [0u8, b'\t', b'\r', b'\n', 0x1f, 0x7f] {
                    let mut line = vec![b'a'; len];
                    // Bytes at 0x80 and above are not control bytes.
                    if len > 2 {
                        line[len / 2] = 0xc3;
                    }
                    if at < len {
                        line[at] = special;
                    }
                    let expect = line.iter().position(|&b| b < 0x20 || b == 0x7f);
                    assert_eq!(first_control(&line), expect, "{line:?}");
                }
            }
        }
    }

    #[test]
    fn plain_and_general_paths_agree() {
        for input in [
            &b"250 ok\r\n"[..],
            b"250\r\n",
            b"250 \r\n",
            b"250-2.0.0\r\n250 2.0.0 done\r\n",
            b"550-5.1.1 a\r\n550-5.1.1\r\n550 b\r\n",
            b"250-mx\ttab\r\n250 caf\xc3\xa9\r\n",
            b"250 5.0.0 class differs\r\n",
            b"421-4.3.2 x\r\n421 4.3.2x y\r\nnext",
            b"250-2.0.0 a\r\n250 2.00.0 b\r\n",
        ] {
            let (consumed, plain) = decode_plain(input).expect("plain");
            let (rest, general) = decode_lines(input, DEFAULT_MAX_REPLY).unwrap();
            assert_eq!((rest, &general), (&input[consumed..], &plain), "{input:?}");
        }
        // Not plain: a bare LF, a control byte, invalid UTF-8, a code
        // change, an unfinished reply.
        for input in [
            &b"250 a\n"[..],
            b"250 a\x01b\r\n",
            b"250 \xff\r\n",
            b"250-a\r\n251 b\r\n",
            b"250-a\r\n",
        ] {
            assert!(decode_plain(input).is_none(), "{input:?}");
        }
    }

    proptest::proptest! {
        /// Whenever the plain path reads a reply, the general path reads
        /// the same reply from the same bytes.
        #[test]
        fn the_plain_path_agrees_with_the_general_one(
            lines in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["250", "550", "421", "25", "2x0", "354"]),
                    proptest::sample::select(vec!["-", " ", "", "x"]),
                    proptest::collection::vec(
                        proptest::sample::select(vec![
                            "ok", "2.0.0", "5.1.1", " ", "\t", "\r", "\n", "\u{7f}", "é", "\u{1}", "4.00.1",
                        ]),
                        0..5,
                    ),
                ),
                1..5,
            )
        ) {
            let mut wire = Vec::new();
            for (code, sep, words) in &lines {
                wire.extend_from_slice(code.as_bytes());
                wire.extend_from_slice(sep.as_bytes());
                wire.extend_from_slice(words.concat().as_bytes());
                wire.extend_from_slice(b"\r\n");
            }
            if let Some((consumed, plain)) = decode_plain(&wire) {
                let (rest, general) = decode_lines(&wire, DEFAULT_MAX_REPLY).unwrap();
                proptest::prop_assert_eq!(rest, &wire[consumed..]);
                proptest::prop_assert_eq!(general, plain);
            }
            // The borrowed form reads every input as the owned one does,
            // errors included, at any limit.
            for max in [DEFAULT_MAX_REPLY, wire.len(), wire.len() / 2] {
                let owned = Reply::decode_with_limit(&wire, max);
                let borrowed = BorrowedReply::decode(&wire, max);
                proptest::prop_assert_eq!(
                    borrowed.as_ref().map(|(rest, b)| (*rest, b.to_reply())).map_err(Clone::clone),
                    owned.clone()
                );
                if let (Ok((_, b)), Ok((_, o))) = (borrowed, owned) {
                    proptest::prop_assert!(b.lines().eq(o.lines()));
                    proptest::prop_assert_eq!(b.text(), o.joined_text());
                    proptest::prop_assert_eq!((b.code(), b.status()), (o.code(), o.status()));
                }
            }
        }
    }

    #[test]
    fn borrowed_replies_cut_their_texts_from_the_input() {
        let input = b"250-mx.example.com Hello\r\n250-2.0.0 SIZE 1000\r\n250 PIPELINING\r\nrest";
        let (rest, reply) = BorrowedReply::decode(input, DEFAULT_MAX_REPLY).unwrap();
        assert_eq!(rest, b"rest");
        assert!(
            reply
                .lines()
                .eq(["mx.example.com Hello", "2.0.0 SIZE 1000", "PIPELINING"])
        );
        let first = reply.lines().next().unwrap();
        assert_eq!(first.as_ptr(), input[4..].as_ptr());
        assert_eq!(
            reply.text(),
            "mx.example.com Hello\n2.0.0 SIZE 1000\nPIPELINING"
        );
        // One line: the text itself is borrowed, the repeated status left out.
        let input = b"550 5.1.1 <a@example.com>: Recipient address rejected\r\n";
        let (_, reply) = BorrowedReply::decode(input, DEFAULT_MAX_REPLY).unwrap();
        assert_eq!(reply.status(), Some(EnhancedStatus::new(5, 1, 1).unwrap()));
        assert!(matches!(
            reply.text(),
            Cow::Borrowed("<a@example.com>: Recipient address rejected")
        ));
        let input = b"550-5.7.1 a\r\n550-5.7.1\r\n550 5.7.1 b\r\n";
        let (_, reply) = BorrowedReply::decode(input, DEFAULT_MAX_REPLY).unwrap();
        assert!(reply.lines().eq(["a", "", "b"]));
        // More lines than the owned form's one-pass path takes: still borrowed.
        let mut long = Vec::new();
        for i in 0..40 {
            long.extend_from_slice(format!("250-line {i}\r\n").as_bytes());
        }
        long.extend_from_slice(b"250 end\r\n");
        let (_, reply) = BorrowedReply::decode(&long, DEFAULT_MAX_REPLY).unwrap();
        assert!(matches!(reply.0, Form::Lines { .. }));
        assert_eq!(reply.lines().count(), 41);
        assert_eq!(reply.to_reply(), Reply::decode(&long).unwrap().1);
        // Control characters and invalid UTF-8 are read the general way.
        let (_, reply) = BorrowedReply::decode(b"250 a\x01b \xff\r\n", DEFAULT_MAX_REPLY).unwrap();
        assert!(
            reply.lines().eq(["a?b \u{fffd}"]),
            "{:?}",
            reply.lines().collect::<Vec<_>>()
        );
        // Errors as the owned form gives them.
        assert_eq!(
            BorrowedReply::decode(b"250-a\r\n25", DEFAULT_MAX_REPLY).unwrap_err(),
            DecodeError::Incomplete
        );
        assert_eq!(
            BorrowedReply::decode(b"250-a\r\n251 b\r\n", DEFAULT_MAX_REPLY).unwrap_err(),
            Reply::decode(b"250-a\r\n251 b\r\n").unwrap_err()
        );
        assert_eq!(
            BorrowedReply::decode(b"250 aaaaaaaa", 5).unwrap_err(),
            Reply::decode_with_limit(b"250 aaaaaaaa", 5).unwrap_err()
        );
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
