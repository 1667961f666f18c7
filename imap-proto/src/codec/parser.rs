//! A cursor over a receive buffer with the IMAP grammar's building blocks.
//! Every primitive reports `Incomplete` when the input ends where more
//! octets could still make it valid, and `Failed` only on a wrong octet.

use std::num::NonZeroU32;

use bytes::Bytes;

use super::{DecodeError, LiteralMode};
use crate::types::MONTHS;
use crate::types::chars::{is_astring_char, is_atom_char, is_list_char, is_text_char};
use crate::types::{
    Atom, Date, DateTime, Flag, Mailbox, PermanentFlag, SeqNo, SeqRange, SequenceSet, Str, Tag,
    Text,
};

pub(crate) type PResult<T> = Result<T, DecodeError>;

/// Where parsing is.
pub(crate) struct Parser<'a> {
    /// The input as shared bytes, when it is: long strings and literals
    /// are then sliced from it instead of copied.
    src: Option<&'a Bytes>,
    buf: &'a [u8],
    pub(crate) pos: usize,
    depth: usize,
    max_depth: usize,
    /// Commands stop at a synchronising literal announcement (so the server
    /// can answer `+`); responses just need more input.
    pub(crate) commands: bool,
    /// Literals are refused (inside response codes).
    no_literals: bool,
}

impl<'a> Parser<'a> {
    /// A parser over shared input (responses: literals are not copied).
    pub(crate) fn new(src: &'a Bytes, max_depth: usize, commands: bool) -> Self {
        Parser {
            src: Some(src),
            buf: src.as_ref(),
            pos: 0,
            depth: 0,
            max_depth,
            commands,
            no_literals: false,
        }
    }

    /// A parser over borrowed input (commands: strings are small and copied).
    pub(crate) fn over_slice(buf: &'a [u8], max_depth: usize, commands: bool) -> Self {
        Parser {
            src: None,
            buf,
            pos: 0,
            depth: 0,
            max_depth,
            commands,
            no_literals: false,
        }
    }

    /// A parser over the rest of the current line only, without literals,
    /// starting where this one is. `None` when the line is not complete yet.
    pub(crate) fn line_only<'b>(&self, line: &'b mut Bytes) -> Option<Parser<'b>> {
        let end = self.pos + memchr::memchr(b'\n', &self.buf[self.pos..])?;
        *line = match self.src {
            Some(src) => src.slice(..end),
            None => Bytes::copy_from_slice(&self.buf[..end]),
        };
        let line: &'b Bytes = line;
        Some(Parser {
            src: Some(line),
            buf: line.as_ref(),
            pos: self.pos,
            depth: self.depth,
            max_depth: self.max_depth,
            commands: false,
            no_literals: true,
        })
    }

    pub(crate) fn fail<T>(&self, expected: &'static str) -> PResult<T> {
        Err(DecodeError::Failed {
            position: self.pos,
            expected,
        })
    }

    #[inline]
    pub(crate) fn peek(&self) -> PResult<u8> {
        match self.buf.get(self.pos) {
            Some(&b) => Ok(b),
            None => Err(DecodeError::Incomplete),
        }
    }

    /// The octet after the next one, if the input has it.
    pub(crate) fn peek_at(&self, ahead: usize) -> PResult<u8> {
        match self.buf.get(self.pos + ahead) {
            Some(&b) => Ok(b),
            None => Err(DecodeError::Incomplete),
        }
    }

    #[inline]
    pub(crate) fn byte(&mut self, b: u8, expected: &'static str) -> PResult<()> {
        if self.peek()? == b {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(expected)
        }
    }

    /// Takes `b` when it comes next; false (without failing) otherwise.
    #[inline]
    pub(crate) fn take(&mut self, b: u8) -> PResult<bool> {
        if self.peek()? == b {
            self.pos += 1;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    #[inline]
    pub(crate) fn sp(&mut self) -> PResult<()> {
        self.byte(b' ', "SP")
    }

    pub(crate) fn crlf(&mut self) -> PResult<()> {
        self.byte(b'\r', "CRLF")?;
        self.byte(b'\n', "CRLF")
    }

    /// Takes `word` (ASCII, any case) when it comes next, followed by a
    /// non-atom octet; false otherwise.
    pub(crate) fn keyword(&mut self, word: &str) -> PResult<bool> {
        let w = word.as_bytes();
        let end = self.pos + w.len();
        if end > self.buf.len() {
            // Could still be the word, or not: only a mismatch so far decides.
            let have = &self.buf[self.pos..];
            return if have.eq_ignore_ascii_case(&w[..have.len()]) {
                Err(DecodeError::Incomplete)
            } else {
                Ok(false)
            };
        }
        if !self.buf[self.pos..end].eq_ignore_ascii_case(w) {
            return Ok(false);
        }
        match self.buf.get(end) {
            None => Err(DecodeError::Incomplete),
            Some(&b) if is_atom_char(b) => Ok(false),
            Some(_) => {
                self.pos = end;
                Ok(true)
            }
        }
    }

    #[inline]
    fn span(&mut self, class: impl Fn(u8) -> bool, what: &'static str) -> PResult<(usize, usize)> {
        let start = self.pos;
        let rest = &self.buf[start..];
        match rest.iter().position(|&b| !class(b)) {
            Some(0) => self.fail(what),
            Some(n) => {
                self.pos += n;
                Ok((start, start + n))
            }
            None => Err(DecodeError::Incomplete),
        }
    }

    pub(crate) fn slice(&self, start: usize, end: usize) -> Bytes {
        match self.src {
            Some(src) => src.slice(start..end),
            None => Bytes::copy_from_slice(&self.buf[start..end]),
        }
    }

    /// A string value: copied inline when short, else shared with the input.
    #[inline]
    pub(crate) fn str(&self, start: usize, end: usize) -> Str {
        match self.src {
            Some(src) => Str::from_shared(src, start..end),
            None => Str::copy_from_slice(&self.buf[start..end]),
        }
    }

    /// `atom`.
    #[inline]
    pub(crate) fn atom(&mut self) -> PResult<Atom> {
        let (a, b) = self.span(is_atom_char, "atom")?;
        Ok(Atom::from_valid(self.str(a, b)))
    }

    /// The octets of an atom, uncopied, for matching names.
    #[inline]
    pub(crate) fn atom_bytes(&mut self) -> PResult<&'a [u8]> {
        let (a, b) = self.span(is_atom_char, "atom")?;
        Ok(&self.buf[a..b])
    }

    /// A tag.
    #[inline]
    pub(crate) fn tag(&mut self) -> PResult<Tag> {
        let (a, b) = self.span(|b| is_astring_char(b) && b != b'+', "tag")?;
        Ok(Tag::from_valid(self.str(a, b)))
    }

    pub(crate) fn number64(&mut self) -> PResult<u64> {
        let start = self.pos;
        let mut n: u64 = 0;
        loop {
            match self.buf.get(self.pos) {
                Some(&b) if b.is_ascii_digit() => {
                    n = match n
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(b - b'0')))
                    {
                        Some(n) if n <= i64::MAX as u64 => n,
                        _ => return self.fail("number within range"),
                    };
                    self.pos += 1;
                }
                Some(_) if self.pos > start => return Ok(n),
                Some(_) => return self.fail("number"),
                None => return Err(DecodeError::Incomplete),
            }
        }
    }

    pub(crate) fn number(&mut self) -> PResult<u32> {
        let start = self.pos;
        let n = self.number64()?;
        u32::try_from(n).or_else(|_| {
            self.pos = start;
            self.fail("32-bit number")
        })
    }

    pub(crate) fn nz_number(&mut self) -> PResult<NonZeroU32> {
        let start = self.pos;
        let n = self.number()?;
        NonZeroU32::new(n).map_or_else(
            || {
                self.pos = start;
                self.fail("non-zero number")
            },
            Ok,
        )
    }

    /// `quoted`: the unescaped content.
    pub(crate) fn quoted(&mut self) -> PResult<Str> {
        self.byte(b'"', "quoted string")?;
        let start = self.pos;
        let mut escaped = false;
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(DecodeError::Incomplete);
            };
            match b {
                b'"' => break,
                b'\\' => {
                    match self.buf.get(self.pos + 1) {
                        None => return Err(DecodeError::Incomplete),
                        Some(b'"' | b'\\') => {}
                        Some(_) => {
                            self.pos += 1;
                            return self.fail("\\\" or \\\\ after a backslash");
                        }
                    }
                    escaped = true;
                    self.pos += 2;
                }
                _ if is_text_char(b) => self.pos += 1,
                _ => return self.fail("quoted character"),
            }
        }
        let end = self.pos;
        self.pos += 1;
        if !escaped {
            return Ok(self.str(start, end));
        }
        let mut out = Vec::with_capacity(end - start);
        let mut i = start;
        while i < end {
            if self.buf[i] == b'\\' {
                i += 1;
            }
            out.push(self.buf[i]);
            i += 1;
        }
        Ok(Str::from(out))
    }

    /// `{n}`, `{n+}` or with `binary`, `~{n}`: the octets and whether `~` was used.
    pub(crate) fn literal(&mut self, binary: bool) -> PResult<(Bytes, bool)> {
        if self.no_literals {
            return self.fail("no literal here");
        }
        let tilde = binary && self.take(b'~')?;
        self.byte(b'{', "literal")?;
        let length = self.number()?;
        let plus = self.take(b'+')?;
        self.byte(b'}', "}")?;
        self.crlf()?;
        let start = self.pos;
        let end = start + length as usize;
        if end > self.buf.len() {
            if self.commands && start == self.buf.len() {
                let mode = if plus {
                    LiteralMode::NonSync
                } else {
                    LiteralMode::Sync
                };
                return Err(DecodeError::Literal {
                    length,
                    mode,
                    binary: tilde,
                });
            }
            return Err(DecodeError::Incomplete);
        }
        let data = &self.buf[start..end];
        if !tilde && memchr::memchr(0, data).is_some() {
            return self.fail("literal without NUL (use ~{n})");
        }
        self.pos = end;
        Ok((self.slice(start, end), tilde))
    }

    /// `string`: quoted or literal.
    pub(crate) fn string(&mut self) -> PResult<Str> {
        match self.peek()? {
            b'"' => self.quoted(),
            b'{' => Ok(self.literal(false)?.0.into()),
            _ => self.fail("string"),
        }
    }

    /// `astring`.
    pub(crate) fn astring(&mut self) -> PResult<Str> {
        match self.peek()? {
            b'"' => self.quoted(),
            b'{' => Ok(self.literal(false)?.0.into()),
            _ => {
                let (a, b) = self.span(is_astring_char, "string")?;
                Ok(self.str(a, b))
            }
        }
    }

    /// `nstring`.
    pub(crate) fn nstring(&mut self) -> PResult<Option<Str>> {
        if self.keyword("NIL")? {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// `nstring` holding message data: literals stay shared with the input.
    pub(crate) fn nstring_data(&mut self) -> PResult<Option<Bytes>> {
        match self.peek()? {
            b'{' => Ok(Some(self.literal(false)?.0)),
            b'"' => Ok(Some(self.quoted()?.to_bytes())),
            _ if self.keyword("NIL")? => Ok(None),
            _ => self.fail("string or NIL"),
        }
    }

    /// `mailbox`.
    pub(crate) fn mailbox(&mut self) -> PResult<Mailbox> {
        let start = self.pos;
        let name = self.astring()?;
        if name.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')) {
            self.pos = start;
            return self.fail("mailbox name without CR, LF or NUL");
        }
        Ok(Mailbox::from_valid(name))
    }

    /// `list-mailbox`: list-chars or a string.
    pub(crate) fn list_mailbox(&mut self) -> PResult<Str> {
        match self.peek()? {
            b'"' | b'{' => self.string(),
            _ => {
                let (a, b) = self.span(is_list_char, "mailbox pattern")?;
                Ok(self.str(a, b))
            }
        }
    }

    /// Response text up to CRLF (not consumed); may be empty.
    pub(crate) fn text(&mut self) -> PResult<Text> {
        let start = self.pos;
        let rest = &self.buf[start..];
        match memchr::memchr2(b'\r', b'\n', rest) {
            None => Err(DecodeError::Incomplete),
            Some(n) => {
                if let Some(bad) = rest[..n].iter().position(|&b| b == 0) {
                    self.pos += bad;
                    return self.fail("text without NUL");
                }
                self.pos += n;
                Ok(Text::from_valid(self.str(start, start + n)))
            }
        }
    }

    /// Enters a parenthesised level; fails past the nesting limit.
    pub(crate) fn enter(&mut self) -> PResult<()> {
        if self.depth >= self.max_depth {
            return self.fail("less nesting");
        }
        self.depth += 1;
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }

    /// `"(" item *(SP item) ")"`, or `()` when `allow_empty`.
    pub(crate) fn list<T>(
        &mut self,
        allow_empty: bool,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.byte(b'(', "(")?;
        self.enter()?;
        let mut out = Vec::new();
        if self.take(b')')? {
            self.leave();
            return if allow_empty {
                Ok(out)
            } else {
                self.fail("list item")
            };
        }
        loop {
            out.push(item(self)?);
            if self.take(b')')? {
                self.leave();
                return Ok(out);
            }
            self.sp()?;
        }
    }

    /// Items separated by SP up to (not including) `end` or CRLF.
    pub(crate) fn sp_separated<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        let mut out = vec![item(self)?];
        while self.peek()? == b' ' {
            self.pos += 1;
            out.push(item(self)?);
        }
        Ok(out)
    }

    fn seq_no(&mut self) -> PResult<SeqNo> {
        if self.take(b'*')? {
            Ok(SeqNo::Last)
        } else {
            Ok(SeqNo::Value(self.nz_number()?))
        }
    }

    /// `sequence-set` or `$`.
    pub(crate) fn sequence_set(&mut self) -> PResult<SequenceSet> {
        if self.take(b'$')? {
            return Ok(SequenceSet::Saved);
        }
        let mut ranges = Vec::new();
        loop {
            let start = self.seq_no()?;
            let end = if self.take(b':')? {
                self.seq_no()?
            } else {
                start
            };
            ranges.push(SeqRange { start, end });
            if !self.take(b',')? {
                return Ok(SequenceSet::Ranges(ranges));
            }
        }
    }

    /// `uid-set`: no `*` or `$` (APPENDUID, COPYUID, VANISHED).
    pub(crate) fn uid_set(&mut self) -> PResult<SequenceSet> {
        let start = self.pos;
        let set = self.sequence_set()?;
        match &set {
            SequenceSet::Ranges(r)
                if r.iter()
                    .all(|r| r.start != SeqNo::Last && r.end != SeqNo::Last) =>
            {
                Ok(set)
            }
            _ => {
                self.pos = start;
                self.fail("UID set without * or $")
            }
        }
    }

    /// A flag: `\Name` or a keyword atom.
    pub(crate) fn flag(&mut self) -> PResult<Flag> {
        let backslash = self.take(b'\\')?;
        Ok(Flag::from_atom(backslash, self.atom()?))
    }

    /// `flag-perm`: a flag or `\*`.
    pub(crate) fn permanent_flag(&mut self) -> PResult<PermanentFlag> {
        if self.peek()? == b'\\' && self.peek_at(1)? == b'*' {
            self.pos += 2;
            return Ok(PermanentFlag::CreateKeywords);
        }
        Ok(PermanentFlag::Flag(self.flag()?))
    }

    /// `(flag *(SP flag))`, possibly empty.
    pub(crate) fn flag_list(&mut self) -> PResult<Vec<Flag>> {
        self.list(true, Self::flag)
    }

    fn digits(&mut self, count: usize) -> PResult<u32> {
        let mut n = 0;
        for _ in 0..count {
            let b = self.peek()?;
            if !b.is_ascii_digit() {
                return self.fail("digit");
            }
            n = n * 10 + u32::from(b - b'0');
            self.pos += 1;
        }
        Ok(n)
    }

    fn month(&mut self) -> PResult<u8> {
        let start = self.pos;
        if self.buf.len() < start + 3 {
            return Err(DecodeError::Incomplete);
        }
        let name = &self.buf[start..start + 3];
        match MONTHS
            .iter()
            .position(|m| m.as_bytes().eq_ignore_ascii_case(name))
        {
            Some(i) => {
                self.pos += 3;
                Ok(i as u8 + 1)
            }
            None => self.fail("month name"),
        }
    }

    fn date_text(&mut self) -> PResult<Date> {
        let start = self.pos;
        let day = if self.peek_at(1)?.is_ascii_digit() {
            self.digits(2)?
        } else {
            self.digits(1)?
        };
        self.byte(b'-', "-")?;
        let month = self.month()?;
        self.byte(b'-', "-")?;
        let year = self.digits(4)?;
        Date::new(year as u16, month, day as u8).or_else(|_| {
            self.pos = start;
            self.fail("valid date")
        })
    }

    /// `date`: `d-Mon-yyyy`, bare or quoted.
    pub(crate) fn date(&mut self) -> PResult<Date> {
        if self.take(b'"')? {
            let d = self.date_text()?;
            self.byte(b'"', "\"")?;
            Ok(d)
        } else {
            self.date_text()
        }
    }

    /// `date-time`: `"dd-Mon-yyyy hh:mm:ss +zzzz"`; the day may be space-padded.
    pub(crate) fn date_time(&mut self) -> PResult<DateTime> {
        let start = self.pos;
        self.byte(b'"', "date-time")?;
        let day = if self.take(b' ')? {
            self.digits(1)?
        } else {
            self.digits(2)?
        };
        self.byte(b'-', "-")?;
        let month = self.month()?;
        self.byte(b'-', "-")?;
        let year = self.digits(4)?;
        self.sp()?;
        let hour = self.digits(2)?;
        self.byte(b':', ":")?;
        let minute = self.digits(2)?;
        self.byte(b':', ":")?;
        let second = self.digits(2)?;
        self.sp()?;
        let sign = match self.peek()? {
            b'+' => 1,
            b'-' => -1,
            _ => return self.fail("zone sign"),
        };
        self.pos += 1;
        let zone = self.digits(4)?;
        self.byte(b'"', "\"")?;
        let offset = sign * (zone / 100 * 60 + zone % 100) as i16;
        Date::new(year as u16, month, day as u8)
            .and_then(|date| DateTime::new(date, hour as u8, minute as u8, second as u8, offset))
            .or_else(|_| {
                self.pos = start;
                self.fail("valid date-time")
            })
    }

    /// The input after the parsed value, shared.
    pub(crate) fn rest(&self) -> Bytes {
        self.slice(self.pos, self.buf.len())
    }

    /// The input after the parsed value.
    pub(crate) fn rest_slice(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
}

impl<'a> Parser<'a> {
    /// Octets of the input, uncopied.
    pub(crate) fn bytes(&self, start: usize, end: usize) -> &'a [u8] {
        &self.buf[start..end]
    }
}
