//! Header blocks (RFC 5322 §2.2): fields split, names checked, values kept
//! raw and unfolded on demand.

use std::borrow::Cow;
use std::ops::Range;

use crate::defect::{Defect, DefectKind};

/// One header field, borrowed from the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field name as written (compare with [`Field::is`]).
    pub name: &'a [u8],
    /// The value after the colon, folding line breaks included, final line break excluded.
    pub raw_value: &'a [u8],
    /// Where the whole field (name through final line break) lies in the input.
    pub range: Range<usize>,
}

impl<'a> Field<'a> {
    /// True when the name is `name`, ignoring ASCII case.
    #[inline]
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The value unfolded (RFC 5322 §2.2.3: CRLF before whitespace removed)
    /// and trimmed; borrowed when there was nothing to remove.
    pub fn value(&self) -> Cow<'a, [u8]> {
        unfold(trim(self.raw_value))
    }
}

impl<'a> Field<'a> {
    /// An unstructured value (Subject, Comments, ...) as text: unfolded,
    /// leading whitespace removed (trailing kept, as written), RFC 2047
    /// words decoded, raw 8-bit bytes read as UTF-8 or else windows-1252.
    /// Borrowed from the message when there was nothing to change (UTF-8
    /// on one line, no encoded word: most fields).
    pub fn text(&self) -> Cow<'a, str> {
        self.text_with(None)
    }

    /// [`Field::text`], reading raw 8-bit bytes that are not UTF-8 in
    /// `fallback` (for example the charset of the message's body, as mail
    /// readers do).
    pub fn text_with(&self, fallback: Option<&'static encoding_rs::Encoding>) -> Cow<'a, str> {
        let v = self.raw_value;
        let start = v
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .unwrap_or(v.len());
        let v = strip_eol(&v[start..]);
        // The usual value, UTF-8 without encoded words: unfolded straight
        // into the text, one copy.
        let has_word = memchr::memchr_iter(b'=', v).any(|i| v.get(i + 1) == Some(&b'?'));
        if !has_word && let Ok(value) = simdutf8::basic::from_utf8(v) {
            let mut breaks = memchr::memchr2_iter(b'\r', b'\n', v);
            let Some(first) = breaks.next() else {
                return Cow::Borrowed(value);
            };
            let mut text = String::with_capacity(value.len());
            text.push_str(&value[..first]);
            let mut from = first + 1;
            // CR and LF are single octets: the pieces between are whole characters.
            for at in breaks {
                text.push_str(&value[from..at]);
                from = at + 1;
            }
            text.push_str(&value[from..]);
            return Cow::Owned(text);
        }
        let unfolded = unfold(v);
        Cow::Owned(
            crate::words::decode_header_text_with(&unfolded, fallback)
                .text
                .into_owned(),
        )
    }
}

/// `v` without its CR and LF octets (a folded value unfolded), copied
/// only when it has any.
fn unfold(v: &[u8]) -> Cow<'_, [u8]> {
    let mut breaks = memchr::memchr2_iter(b'\r', b'\n', v);
    let Some(first) = breaks.next() else {
        return Cow::Borrowed(v);
    };
    let mut out = Vec::with_capacity(v.len());
    out.extend_from_slice(&v[..first]);
    let mut from = first + 1;
    for at in breaks {
        out.extend_from_slice(&v[from..at]);
        from = at + 1;
    }
    out.extend_from_slice(&v[from..]);
    Cow::Owned(out)
}

/// The fields of one header block, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header<'a> {
    /// Every field, in the order written.
    pub fields: Vec<Field<'a>>,
}

impl<'a> Header<'a> {
    /// The header block at the start of `message`, read as
    /// [`crate::Message::parse`] reads the root's, without the body; and
    /// where the body starts. For callers that need only the fields (DKIM
    /// and ARC, say) of messages of any size.
    pub fn parse_top(message: &'a [u8]) -> (Header<'a>, usize) {
        let parsed = parse(
            message,
            0,
            message.len(),
            crate::Limits::default().max_header_len,
            &mut Vec::new(),
        );
        (parsed.header, parsed.body_start)
    }

    /// The first field named `name`.
    pub fn get(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.is(name))
    }

    /// The unstructured text of the first field `name` (see [`Field::text`]).
    pub fn text(&self, name: &str) -> Option<Cow<'a, str>> {
        self.get(name).map(Field::text)
    }

    /// The address list of the first field `name` (From, To, Cc, Bcc, Reply-To, Sender, ...).
    pub fn addresses(&self, name: &str) -> Option<crate::address::AddressList> {
        self.get(name)
            .map(|f| crate::address::parse_addresses(f.raw_value))
    }

    /// The `Date` field, when it holds a readable date.
    pub fn date(&self) -> Option<crate::date::DateTime> {
        crate::date::parse_date(self.get("date")?.raw_value)
    }

    /// The identifiers of the first field `name` (Message-ID, In-Reply-To, References).
    pub fn ids(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|f| crate::ids::parse_ids(f.raw_value))
            .unwrap_or_default()
    }

    /// The `Message-ID`, without brackets.
    pub fn message_id(&self) -> Option<String> {
        self.ids("message-id").into_iter().next()
    }

    /// Every Received field, newest (topmost) first.
    pub fn received(&self) -> Vec<crate::received::Received> {
        self.get_all("received")
            .map(|f| crate::received::parse_received(f.raw_value))
            .collect()
    }

    /// The URLs of an RFC 2369 field (List-Unsubscribe, List-Post, ...).
    pub fn list_urls(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|f| crate::list::parse_list_urls(f.raw_value))
            .unwrap_or_default()
    }

    /// The `List-Id` (RFC 2919).
    pub fn list_id(&self) -> Option<crate::list::ListId> {
        crate::list::parse_list_id(self.get("list-id")?.raw_value)
    }

    /// Every field named `name`, in order.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Field<'a>> + 's {
        self.fields.iter().filter(move |f| f.is(name))
    }
}

/// Trims RFC 5322 whitespace (and line breaks) from both ends.
pub(crate) fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map_or(start, |e| e + 1);
    &v[start..end]
}

/// A header block parsed from `input[start..end]`.
pub(crate) struct Parsed<'a> {
    pub header: Header<'a>,
    /// Where the body starts (after the blank line, or where the header block broke off).
    pub body_start: usize,
}

/// What one line of a header block is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// The empty line that ends the block.
    Blank,
    /// Starts with whitespace: continues the field before it.
    Continuation,
    /// An mbox `From ` line as the first line: skipped.
    MboxFrom,
    /// A field; `bad_name` when its name breaks RFC 5322 but is kept.
    Field { colon: usize, bad_name: bool },
    /// Not a field: the body starts at this line.
    NotAField,
}

/// Classifies a header line's `content` (line break removed).
pub(crate) fn classify_line(content: &[u8], first: bool) -> LineKind {
    if content.is_empty() {
        return LineKind::Blank;
    }
    if matches!(content[0], b' ' | b'\t') {
        return LineKind::Continuation;
    }
    if first && content.starts_with(b"From ") {
        return LineKind::MboxFrom;
    }
    // The usual name: visible ASCII up to the colon.
    let plain = content
        .iter()
        .position(|&b| !NAME_OCTET[b as usize])
        .unwrap_or(content.len());
    if plain > 0 && content.get(plain) == Some(&b':') {
        return LineKind::Field {
            colon: plain,
            bad_name: false,
        };
    }
    // Anything else in one pass over the name: blanks may only end it.
    let mut name_end = 0;
    let mut blank_seen = false;
    let mut bad_octet = false;
    for (i, &b) in content.iter().enumerate() {
        match b {
            b':' if name_end == 0 => return LineKind::NotAField,
            b':' => {
                return LineKind::Field {
                    colon: i,
                    bad_name: bad_octet || name_end != i,
                };
            }
            b' ' | b'\t' => blank_seen = true,
            _ if blank_seen => return LineKind::NotAField,
            _ => {
                bad_octet |= !(33..=126).contains(&b);
                name_end = i + 1;
            }
        }
    }
    LineKind::NotAField
}

/// True for the octets of a field name (RFC 5322 §3.6.8: visible ASCII but the colon).
const NAME_OCTET: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 33;
    while b <= 126 {
        table[b] = b != b':' as usize;
        b += 1;
    }
    table
};

/// True when a line whose content ends at `content_end` takes a header
/// block that starts at `start` past `max_len` octets.
pub(crate) fn too_long(start: usize, content_end: usize, max_len: usize) -> bool {
    content_end - start > max_len
}

/// Parses the header block at `input[start..end]`, noting defects.
pub(crate) fn parse<'a>(
    input: &'a [u8],
    start: usize,
    end: usize,
    max_len: usize,
    defects: &mut Vec<Defect>,
) -> Parsed<'a> {
    let mut fields: Vec<Field<'a>> = Vec::with_capacity(16);
    let mut value_start = start;
    let mut pos = start;
    let mut first = true;
    let mut defect = |kind, offset| defects.push(Defect { kind, offset });
    while pos < end {
        let line_end = memchr::memchr(b'\n', &input[pos..end]).map_or(end, |i| pos + i + 1);
        let content = strip_eol(&input[pos..line_end]);
        if too_long(start, pos + content.len(), max_len) {
            defect(DefectKind::HeaderTooLong, pos);
            break;
        }
        let kind = classify_line(content, first);
        first = false;
        match kind {
            // The blank line: the body follows it.
            LineKind::Blank => return finish(fields, line_end),
            LineKind::Continuation => match fields.last_mut() {
                Some(field) => {
                    field.raw_value = strip_eol(&input[value_start..line_end]);
                    field.range.end = line_end;
                }
                None => defect(DefectKind::FirstHeaderLineIsContinuation, pos),
            },
            LineKind::MboxFrom => {}
            LineKind::NotAField => {
                defect(DefectKind::MissingHeaderBodySeparator, pos);
                break;
            }
            LineKind::Field { colon, bad_name } => {
                if bad_name {
                    defect(DefectKind::InvalidHeaderName, pos);
                }
                value_start = pos + colon + 1;
                fields.push(Field {
                    name: trim_end_wsp(&content[..colon]),
                    raw_value: strip_eol(&input[value_start..line_end]),
                    range: pos..line_end,
                });
            }
        }
        pos = line_end;
    }
    finish(fields, pos)
}

/// The parsed block, its field list no larger than it needs to be.
fn finish(mut fields: Vec<Field<'_>>, body_start: usize) -> Parsed<'_> {
    if fields.capacity() - fields.len() > fields.len() / 4 {
        fields.shrink_to_fit();
    }
    Parsed {
        header: Header { fields },
        body_start,
    }
}

pub(crate) fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_end_wsp(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |e| e + 1);
    &v[..end]
}
