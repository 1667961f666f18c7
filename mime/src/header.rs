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
        // The usual short value: one line of ASCII with no `=`, taken as
        // it is (longer ones are mostly folded: the scan below finds out).
        if v.len() <= 64
            && let Some(plain) = crate::wide::plain_ascii(v)
        {
            return Cow::Borrowed(plain);
        }
        // UTF-8 without encoded words: unfolded straight into the text,
        // one copy. One scan finds words, breaks and other octets.
        let scan = crate::wide::scan_value(v);
        if !scan.has_word
            && let Some(value) = scan.ascii.or_else(|| simdutf8::basic::from_utf8(v).ok())
        {
            let Some(first) = scan.first_break else {
                return Cow::Borrowed(value);
            };
            let breaks = memchr::memchr2_iter(b'\r', b'\n', &v[first + 1..]).map(|i| i + first + 1);
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

/// The fields of one header block, in order. Each field is kept as its
/// place in the block (12 octets: start, end, colon and name length, not a
/// [`Field`]'s 48); [`Header::fields`] and [`Header::get`] give them out as
/// borrowed [`Field`] views.
#[derive(Clone, Default)]
pub struct Header<'a> {
    /// The octets the offsets point into.
    block: &'a [u8],
    /// Where `block` starts in the input the ranges of the fields refer to.
    at: usize,
    /// The fields, in the order written.
    spots: Vec<Spot>,
}

/// Where one field lies in its block: name at `start`, final line break
/// ending at `end`; the colon `colon` octets after `start` and the name
/// (trailing blanks trimmed) `name_len` long. A name or colon further out
/// than 16 bits holds `u16::MAX` and is found again from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Spot {
    start: u32,
    end: u32,
    colon: u16,
    name_len: u16,
}

impl Spot {
    /// The spot of a field whose line starts at `start` (in the block).
    fn new(start: u32, colon: usize, name_len: usize, end: u32) -> Spot {
        Spot {
            start,
            end,
            colon: u16::try_from(colon).unwrap_or(u16::MAX),
            name_len: u16::try_from(name_len).unwrap_or(u16::MAX),
        }
    }
}

impl std::fmt::Debug for Header<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.fields()).finish()
    }
}

impl PartialEq for Header<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.fields().eq(other.fields())
    }
}

impl Eq for Header<'_> {}

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

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.spots.len()
    }

    /// True when the block has no field.
    pub fn is_empty(&self) -> bool {
        self.spots.is_empty()
    }

    /// Every field, in the order written.
    pub fn fields(&self) -> impl DoubleEndedIterator<Item = Field<'a>> + ExactSizeIterator + '_ {
        self.spots.iter().map(|s| self.view(s))
    }

    /// The field at `index` (0 is the topmost).
    pub fn field(&self, index: usize) -> Option<Field<'a>> {
        self.spots.get(index).map(|s| self.view(s))
    }

    /// The first field named `name`.
    pub fn get(&self, name: &str) -> Option<Field<'a>> {
        self.get_all(name).next()
    }

    /// Every field named `name`, in order.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = Field<'a>> + 's {
        let name = name.as_bytes();
        // Most names differ in length: compared first, from the spot alone.
        self.spots
            .iter()
            .filter(move |s| {
                (s.name_len == u16::MAX || usize::from(s.name_len) == name.len())
                    && self.name(s).eq_ignore_ascii_case(name)
            })
            .map(|s| self.view(s))
    }

    /// Where the colon of the field at `spot` is, in the block.
    #[inline]
    fn colon(&self, spot: &Spot) -> usize {
        let start = spot.start as usize;
        if spot.colon < u16::MAX {
            return start + usize::from(spot.colon);
        }
        let line = &self.block[start..spot.end as usize];
        start + memchr::memchr(b':', line).unwrap_or(line.len())
    }

    /// The name of the field at `spot`.
    #[inline]
    fn name(&self, spot: &Spot) -> &'a [u8] {
        let block = self.block;
        let start = spot.start as usize;
        if spot.name_len < u16::MAX {
            return &block[start..start + usize::from(spot.name_len)];
        }
        trim_end_wsp(&block[start..self.colon(spot)])
    }

    /// The field at `spot` as a borrowed view.
    #[inline]
    fn view(&self, spot: &Spot) -> Field<'a> {
        let block = self.block;
        let (start, end) = (spot.start as usize, spot.end as usize);
        Field {
            name: self.name(spot),
            raw_value: strip_eol(&block[(self.colon(spot) + 1).min(end)..end]),
            range: self.at + start..self.at + end,
        }
    }

    /// The same fields, with ranges counted from `at` octets further on
    /// (for a block held apart from the input it was cut from).
    pub(crate) fn shift(&mut self, by: usize) {
        self.at += by;
    }

    /// The unstructured text of the first field `name` (see [`Field::text`]).
    pub fn text(&self, name: &str) -> Option<Cow<'a, str>> {
        self.get(name).map(|f| f.text())
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
        // Counted first: the list is allocated once, at its size.
        let mut all = Vec::with_capacity(self.get_all("received").count());
        all.extend(
            self.get_all("received")
                .map(|f| crate::received::parse_received(f.raw_value)),
        );
        all
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
#[inline(always)]
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
    let plain = crate::wide::name_len(content);
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
    // Offsets within the block are kept as u32: no block may be longer.
    let max_len = max_len.min(u32::MAX as usize / 2);
    let block = &input[start..end];
    let offset = |at: usize| (at - start) as u32;
    let mut spots = SpotList::default();
    let mut pos = start;
    let mut first = true;
    let mut defect = |kind, offset| defects.push(Defect { kind, offset });
    let mut line_feeds = LineFeeds::new(block);
    while pos < end {
        let line_end = line_feeds.next().map_or(end, |i| start + i + 1);
        let content = strip_eol(&input[pos..line_end]);
        if too_long(start, pos + content.len(), max_len) {
            defect(DefectKind::HeaderTooLong, pos);
            break;
        }
        let kind = classify_line(content, first);
        first = false;
        match kind {
            // The blank line: the body follows it.
            LineKind::Blank => return finish(block, start, spots, line_end),
            LineKind::Continuation => match spots.last_mut() {
                Some(spot) => spot.end = offset(line_end),
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
                let name_len = trim_end_wsp(&content[..colon]).len();
                spots.push(Spot::new(offset(pos), colon, name_len, offset(line_end)));
            }
        }
        pos = line_end;
    }
    finish(block, start, spots, pos)
}

/// The line feeds of a header block in order, found 64 octets at a time
/// (one vector compare per 16), so each line costs a bit scan rather than
/// a search call of its own.
struct LineFeeds<'a> {
    block: &'a [u8],
    /// Where the 64 octets `mask` covers start.
    at: usize,
    /// The line feeds not yet given out, as bits.
    mask: u64,
}

impl<'a> LineFeeds<'a> {
    fn new(block: &'a [u8]) -> Self {
        let mut feeds = LineFeeds {
            block,
            at: 0,
            mask: 0,
        };
        feeds.mask = feeds.load();
        feeds
    }

    /// The mask of the 64 octets at `at` (zeros past the block's end).
    fn load(&self) -> u64 {
        match self.block.get(self.at..self.at + 64) {
            Some(whole) => crate::wide::newline_mask(whole.try_into().unwrap_or(&[0; 64])),
            None => {
                let mut padded = [0u8; 64];
                let rest = self.block.get(self.at..).unwrap_or_default();
                padded[..rest.len()].copy_from_slice(rest);
                crate::wide::newline_mask(&padded)
            }
        }
    }

    /// The offset of the next line feed in the block.
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.at += 64;
            if self.at >= self.block.len() {
                return None;
            }
            self.mask = self.load();
        }
        let i = self.at + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(i)
    }
}

/// The parsed block, its field list exactly as large as it needs to be.
fn finish(block: &[u8], at: usize, spots: SpotList, body_start: usize) -> Parsed<'_> {
    Parsed {
        header: Header {
            block,
            at,
            spots: spots.into_vec(),
        },
        body_start,
    }
}

/// Fields as they are found: the first ones on the stack, so the list
/// handed out is allocated once at its final size.
struct SpotList {
    head: [Spot; SpotList::HEAD],
    len: usize,
    /// Every field, once there are more than `head` holds.
    spill: Vec<Spot>,
}

impl Default for SpotList {
    fn default() -> Self {
        let none = Spot::new(0, 0, 0, 0);
        SpotList {
            head: [none; SpotList::HEAD],
            len: 0,
            spill: Vec::new(),
        }
    }
}

impl SpotList {
    /// Enough for most header blocks.
    const HEAD: usize = 48;

    fn push(&mut self, spot: Spot) {
        if self.len < Self::HEAD {
            self.head[self.len] = spot;
        } else {
            if self.spill.is_empty() {
                self.spill.reserve(2 * Self::HEAD);
                self.spill.extend_from_slice(&self.head);
            }
            self.spill.push(spot);
        }
        self.len += 1;
    }

    fn last_mut(&mut self) -> Option<&mut Spot> {
        if self.len > Self::HEAD {
            self.spill.last_mut()
        } else {
            self.len.checked_sub(1).map(|i| &mut self.head[i])
        }
    }

    fn into_vec(self) -> Vec<Spot> {
        if self.len > Self::HEAD {
            self.spill
        } else {
            self.head[..self.len].to_vec()
        }
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

#[cfg(test)]
mod tests {
    use super::LineFeeds;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn line_feeds_are_found_in_order(
            v in proptest::collection::vec(prop_oneof![6 => Just(b'a'), 1 => Just(b'\n'), 1 => any::<u8>()], 0..300)
        ) {
            let mut feeds = LineFeeds::new(&v);
            let found: Vec<usize> = std::iter::from_fn(|| feeds.next()).collect();
            prop_assert_eq!(found, memchr::memchr_iter(b'\n', &v).collect::<Vec<_>>());
        }
    }
}
