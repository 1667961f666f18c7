//! Writing the grammar's building blocks, choosing the lightest string form
//! that carries the value exactly.

use bytes::{BufMut, Bytes};

use crate::types::chars::{is_astring_char, is_quotable};
use crate::types::{Date, DateTime, Flag, MONTHS, SeqNo, SequenceSet};

/// Longest string written quoted; longer ones go as literals.
const MAX_QUOTED: usize = 1024;

/// Appends to a buffer, counting octets and noting where a sender must
/// wait for `+` (after each synchronising literal announcement).
pub(crate) struct W<'a, B: BufMut> {
    out: &'a mut B,
    len: usize,
    waits: Option<&'a mut Vec<usize>>,
    literal_plus: bool,
    /// Message data this long or longer is not copied: its literal's
    /// announcement is written and the data noted here, with the offset it
    /// belongs at, for the caller to send as it is.
    splices: Option<(usize, &'a mut Vec<(usize, Bytes)>)>,
}

/// Message data at least this long is spliced in rather than copied.
pub(crate) const SPLICE_OVER: usize = 16 * 1024;

impl<'a, B: BufMut> W<'a, B> {
    /// A writer for responses: literals never wait.
    pub(crate) fn new(out: &'a mut B) -> Self {
        W {
            out,
            len: 0,
            waits: None,
            literal_plus: false,
            splices: None,
        }
    }

    /// A writer for responses that leaves long message data out (see `splices`).
    pub(crate) fn splicing(out: &'a mut B, splices: &'a mut Vec<(usize, Bytes)>) -> Self {
        W {
            out,
            len: 0,
            waits: None,
            literal_plus: false,
            splices: Some((SPLICE_OVER, splices)),
        }
    }

    /// Message octets as a literal (`~{n}` when they hold NUL), spliced when long.
    pub(crate) fn message_literal(&mut self, data: &Bytes) {
        let binary = memchr::memchr(0, data).is_some();
        match self.splices.as_mut() {
            Some((over, list)) if data.len() >= *over => {
                let header = format!("{}{{{}}}\r\n", if binary { "~" } else { "" }, data.len());
                self.out.put_slice(header.as_bytes());
                self.len += header.len();
                list.push((self.len, data.clone()));
            }
            _ => self.literal(data, binary),
        }
    }

    /// A writer for commands: sync literals are recorded in `waits`, or
    /// written as `{n+}` with `literal_plus`.
    pub(crate) fn for_command(
        out: &'a mut B,
        waits: &'a mut Vec<usize>,
        literal_plus: bool,
    ) -> Self {
        W {
            out,
            len: 0,
            waits: Some(waits),
            literal_plus,
            splices: None,
        }
    }

    #[inline]
    pub(crate) fn raw(&mut self, b: &[u8]) {
        self.out.put_slice(b);
        self.len += b.len();
    }

    #[inline]
    pub(crate) fn sp(&mut self) {
        self.raw(b" ");
    }

    pub(crate) fn crlf(&mut self) {
        self.raw(b"\r\n");
    }

    pub(crate) fn num(&mut self, n: u64) {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        let mut n = n;
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.raw(&buf[i..]);
    }

    pub(crate) fn quoted(&mut self, s: &[u8]) {
        self.raw(b"\"");
        let mut start = 0;
        for (i, &b) in s.iter().enumerate() {
            if b == b'"' || b == b'\\' {
                self.raw(&s[start..i]);
                self.raw(b"\\");
                start = i;
            }
        }
        self.raw(&s[start..]);
        self.raw(b"\"");
    }

    /// A literal; `binary` writes `~{n}`.
    pub(crate) fn literal(&mut self, s: &[u8], binary: bool) {
        if binary {
            self.raw(b"~");
        }
        self.raw(b"{");
        self.num(s.len() as u64);
        let sync = !self.literal_plus;
        if !sync && self.waits.is_some() {
            self.raw(b"+");
        }
        self.raw(b"}\r\n");
        if sync {
            let len = self.len;
            if let Some(waits) = self.waits.as_deref_mut() {
                waits.push(len);
            }
        }
        self.raw(s);
    }

    /// `string`: quoted when short and 7-bit, else a literal.
    pub(crate) fn string(&mut self, s: &[u8]) {
        if s.len() <= MAX_QUOTED && s.iter().all(|&b| is_quotable(b)) {
            self.quoted(s);
        } else {
            self.literal(s, false);
        }
    }

    /// `astring`: bare when it is all `ASTRING-CHAR`, else a string.
    pub(crate) fn astring(&mut self, s: &[u8]) {
        if !s.is_empty() && s.iter().all(|&b| is_astring_char(b)) {
            self.raw(s);
        } else {
            self.string(s);
        }
    }

    pub(crate) fn nstring(&mut self, s: Option<&[u8]>) {
        match s {
            Some(s) => self.string(s),
            None => self.raw(b"NIL"),
        }
    }

    /// `(a b c)`.
    pub(crate) fn list<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) {
        self.raw(b"(");
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                self.sp();
            }
            item(self, x);
        }
        self.raw(b")");
    }

    pub(crate) fn sequence_set(&mut self, set: &SequenceSet) {
        match set {
            SequenceSet::Saved => self.raw(b"$"),
            SequenceSet::Ranges(ranges) => {
                for (i, r) in ranges.iter().enumerate() {
                    if i > 0 {
                        self.raw(b",");
                    }
                    self.seq_no(r.start);
                    if r.end != r.start {
                        self.raw(b":");
                        self.seq_no(r.end);
                    }
                }
            }
        }
    }

    fn seq_no(&mut self, n: SeqNo) {
        match n {
            SeqNo::Value(n) => self.num(u64::from(n.get())),
            SeqNo::Last => self.raw(b"*"),
        }
    }

    pub(crate) fn flag(&mut self, flag: &Flag) {
        match flag {
            Flag::Seen => self.raw(b"\\Seen"),
            Flag::Answered => self.raw(b"\\Answered"),
            Flag::Flagged => self.raw(b"\\Flagged"),
            Flag::Deleted => self.raw(b"\\Deleted"),
            Flag::Draft => self.raw(b"\\Draft"),
            Flag::Recent => self.raw(b"\\Recent"),
            Flag::Keyword(a) => self.raw(a.as_bytes()),
            Flag::Extension(a) => {
                self.raw(b"\\");
                self.raw(a.as_bytes());
            }
        }
    }

    pub(crate) fn flag_list(&mut self, flags: &[Flag]) {
        self.list(flags, |w, f| w.flag(f));
    }

    fn two_digits(&mut self, n: u8) {
        self.raw(&[b'0' + n / 10, b'0' + n % 10]);
    }

    /// `d-Mon-yyyy`.
    pub(crate) fn date(&mut self, d: &Date) {
        self.num(u64::from(d.day()));
        self.raw(b"-");
        self.raw(d.month_name().as_bytes());
        self.raw(b"-");
        self.raw(format!("{:04}", d.year()).as_bytes());
    }

    /// `"dd-Mon-yyyy hh:mm:ss +zzzz"`.
    pub(crate) fn date_time(&mut self, dt: &DateTime) {
        let d = dt.date();
        let (h, m, s) = dt.time();
        self.raw(b"\"");
        self.two_digits(d.day());
        self.raw(b"-");
        self.raw(MONTHS[usize::from(d.month() - 1)].as_bytes());
        self.raw(b"-");
        self.raw(format!("{:04}", d.year()).as_bytes());
        self.sp();
        self.two_digits(h);
        self.raw(b":");
        self.two_digits(m);
        self.raw(b":");
        self.two_digits(s);
        self.sp();
        let offset = dt.offset();
        self.raw(if offset < 0 { b"-" } else { b"+" });
        let abs = offset.unsigned_abs();
        self.two_digits((abs / 60) as u8);
        self.two_digits((abs % 60) as u8);
        self.raw(b"\"");
    }
}
