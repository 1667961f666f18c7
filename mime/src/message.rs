//! The structure of a message: parts, their headers and byte ranges.

use std::borrow::Cow;
use std::ops::Range;

use crate::charset::{DecodedText, decode_text};
use crate::content_type::{ContentType, Disposition, Param};
use crate::defect::{Defect, DefectKind};
use crate::header::{self, Header};
use crate::transfer::{self, DecodeFlaws, TransferEncoding};
use crate::words::decode_header_text;

/// Bounds that keep hostile input linear and the stack shallow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of multiparts and enclosed messages. Default 64.
    pub max_depth: usize,
    /// Most parts in the whole message. Default 10 000.
    pub max_parts: usize,
    /// Longest header block in octets. Default 1 MiB; at most 2 GiB
    /// (fields are kept as 32-bit offsets into their block).
    pub max_header_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_parts: 10_000,
            max_header_len: 1024 * 1024,
        }
    }
}

/// What a part's body holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// Content (text, image, ...): decode it from `body_range`.
    Leaf,
    /// A multipart: the boundary and the parts between its delimiter lines.
    Multipart {
        /// The boundary parameter.
        boundary: Cow<'a, [u8]>,
        /// The parts, in order.
        parts: Vec<Part<'a>>,
        /// The text before the first delimiter line.
        preamble: Range<usize>,
        /// The text after the closing delimiter line.
        epilogue: Range<usize>,
    },
    /// An enclosed message (`message/rfc822`, `message/global`).
    Message(Box<Part<'a>>),
}

/// One entity: a header block and a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part<'a> {
    /// The fields of its header block.
    pub header: Header<'a>,
    /// Where the header block lies, blank line included.
    pub header_range: Range<usize>,
    /// Where the body lies (for a part of a multipart: up to the line break before the next delimiter).
    pub body_range: Range<usize>,
    /// The content type given, or the default of its context (RFC 2045 §5.2, RFC 2046 §5.1.5).
    pub content_type: ContentType<'a>,
    /// True when `content_type` came from a `Content-Type` field that parsed.
    pub content_type_given: bool,
    /// What the body holds.
    pub body: Body<'a>,
}

impl<'a> Part<'a> {
    /// The `Content-Transfer-Encoding` (7bit when absent).
    pub fn transfer_encoding(&self) -> TransferEncoding {
        self.header
            .get("content-transfer-encoding")
            .map_or(TransferEncoding::SevenBit, |f| {
                TransferEncoding::parse(f.raw_value)
            })
    }

    /// The `Content-Disposition`, when present and readable.
    pub fn disposition(&self) -> Option<Disposition<'a>> {
        Disposition::parse(self.header.get("content-disposition")?.raw_value)
    }

    /// The `charset` parameter as given (not the RFC 2045 default).
    pub fn charset(&self) -> Option<&[u8]> {
        if self.content_type_given {
            return self.content_type.param("charset");
        }
        // A Content-Type with a damaged media type may still name its charset.
        let field = self.header.get("content-type")?;
        crate::content_type::find_param(field.raw_value, "charset")
    }

    /// The file name: Content-Disposition `filename`, else Content-Type
    /// `name`, decoded (RFC 2231 charset, RFC 2047 words, raw UTF-8).
    pub fn filename(&self) -> Option<String> {
        let from_disposition = self
            .disposition()
            .and_then(|d| d.params.into_iter().find(|p| p.name == "filename"));
        let param = from_disposition.or_else(|| {
            self.content_type
                .params
                .iter()
                .find(|p| p.name == "name")
                .cloned()
        })?;
        Some(param_text(&param))
    }

    /// True for a `text/*` part.
    pub fn is_text(&self) -> bool {
        self.content_type.kind == "text"
    }
}

/// Fields RFC 5322 §3.6 allows at most once in a message header.
const SINGLETONS: &[&str] = &[
    "date",
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "message-id",
    "in-reply-to",
    "references",
    "subject",
];

fn header_defects(part: &Part<'_>, is_message: bool, out: &mut Vec<Defect>) {
    let header = &part.header;
    for (i, field) in header.fields().enumerate() {
        let offset = field.range.start;
        if !field.raw_value.is_ascii() && std::str::from_utf8(field.raw_value).is_err() {
            out.push(Defect {
                kind: DefectKind::NonUtf8HeaderBytes,
                offset,
            });
        }
        if (field.is("subject") || field.is("comments"))
            && decode_header_text(&field.value()).bad_encoded_word
        {
            out.push(Defect {
                kind: DefectKind::BadEncodedWord,
                offset,
            });
        }
        if is_message
            && SINGLETONS.iter().any(|name| field.is(name))
            && header
                .fields()
                .take(i)
                .any(|f| f.name.eq_ignore_ascii_case(field.name))
        {
            out.push(Defect {
                kind: DefectKind::DuplicateSingletonHeader,
                offset,
            });
        }
    }
}

/// A parameter's value as text: in its RFC 2231 charset, else with RFC 2047 words decoded.
fn param_text(param: &Param<'_>) -> String {
    match &param.charset {
        Some(charset) => decode_text(&param.value, Some(charset.as_bytes()))
            .text
            .into_owned(),
        None => decode_header_text(&param.value).text.into_owned(),
    }
}

/// A parsed message borrowing its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The input.
    pub raw: &'a [u8],
    /// The top-level entity.
    pub root: Part<'a>,
    /// What was repaired, with offsets.
    pub defects: Vec<Defect>,
}

impl<'a> Message<'a> {
    /// Parses `raw`; never fails: damage is repaired the way mail clients read it and noted in `defects`.
    pub fn parse(raw: &'a [u8]) -> Self {
        Message::parse_with(raw, Limits::default())
    }

    /// [`Message::parse`] with other limits.
    pub fn parse_with(raw: &'a [u8], limits: Limits) -> Self {
        let mut ctx = Context {
            input: raw,
            limits,
            parts: 0,
            defects: Vec::new(),
            boundaries_overlap: false,
        };
        let root = ctx.entity(0, raw.len(), ContentType::text_plain(), 0, None);
        if ctx.boundaries_overlap {
            // A line may be a delimiter of two open multiparts: the
            // incremental parser settles which (the innermost) line by line.
            return crate::stream::parse_whole(raw, limits);
        }
        Message {
            raw,
            root,
            defects: ctx.defects,
        }
    }

    /// The bytes of `range` in the input.
    pub fn slice(&self, range: &Range<usize>) -> &'a [u8] {
        &self.raw[range.clone()]
    }

    /// The decoded `Subject` of the top-level header.
    pub fn subject(&self) -> Option<String> {
        let field = self.root.header.get("subject")?;
        Some(field.text_with(self.header_fallback()).into_owned())
    }

    /// The encoding for raw 8-bit header text that is not UTF-8: that of
    /// the first text part's charset, as mail readers guess it.
    pub fn header_fallback(&self) -> Option<&'static encoding_rs::Encoding> {
        let mut found = None;
        self.for_each_part(|part, _| {
            if found.is_none()
                && part.is_text()
                && let Some(charset) = part.charset()
            {
                found = crate::charset::encoding_for(charset)
                    .filter(|e| e.is_ascii_compatible() && *e != encoding_rs::UTF_8);
            }
        });
        found
    }

    /// The body of `part` with its transfer encoding removed; borrowed for
    /// 7bit, 8bit, binary and unknown encodings.
    pub fn decoded_body(&self, part: &Part<'a>) -> (Cow<'a, [u8]>, DecodeFlaws) {
        let (mut body, flaws) = self.decoded_body_with_room(part);
        // Decoders reserve for the worst case; give back what is far beyond it.
        if let Cow::Owned(out) = &mut body
            && out.capacity() - out.len() > out.len() / 8
        {
            out.shrink_to_fit();
        }
        (body, flaws)
    }

    /// [`Message::decoded_body`] with the room the decoder reserved kept
    /// (for text converted to UTF-8 in place).
    fn decoded_body_with_room(&self, part: &Part<'a>) -> (Cow<'a, [u8]>, DecodeFlaws) {
        let raw = self.slice(&part.body_range);
        let mut out = Vec::new();
        let flaws = match part.transfer_encoding() {
            TransferEncoding::Base64 => transfer::decode_base64(raw, &mut out),
            TransferEncoding::QuotedPrintable => transfer::decode_quoted_printable(raw, &mut out),
            TransferEncoding::UuEncode => {
                let (name, flaws) = transfer::decode_uuencode(raw, &mut out);
                if name.is_none() {
                    return (Cow::Borrowed(raw), flaws);
                }
                flaws
            }
            _ => return (Cow::Borrowed(raw), DecodeFlaws::default()),
        };
        (Cow::Owned(out), flaws)
    }

    /// The body of a text part decoded to UTF-8 in its charset.
    pub fn body_text(&self, part: &Part<'a>) -> DecodedText<'a> {
        let charset = part.content_type.param("charset");
        match self.decoded_body_with_room(part).0 {
            Cow::Borrowed(bytes) => decode_text(bytes, charset),
            Cow::Owned(bytes) => crate::charset::decode_text_owned(bytes, charset),
        }
    }

    /// Every part, depth first, with true for the header of a message (the
    /// top level and each enclosed message), where RFC 5322 fields live.
    pub fn for_each_part(&self, mut visit: impl FnMut(&Part<'a>, bool)) {
        fn go<'p, 'a>(
            part: &'p Part<'a>,
            is_message: bool,
            visit: &mut impl FnMut(&Part<'a>, bool),
        ) {
            visit(part, is_message);
            match &part.body {
                Body::Leaf => {}
                Body::Multipart { parts, .. } => {
                    for p in parts {
                        go(p, false, visit);
                    }
                }
                Body::Message(inner) => go(inner, true, visit),
            }
        }
        go(&self.root, true, &mut visit);
    }

    /// The structural defects found while parsing plus those that decoding
    /// every header and body finds (bad base64 and escapes, bad encoded
    /// words, 8-bit header bytes that are not UTF-8, duplicate singleton
    /// fields, unknown charsets), ordered by offset. This decodes every body.
    pub fn all_defects(&self) -> Vec<Defect> {
        let mut out = self.defects.clone();
        self.for_each_part(|part, is_message| {
            header_defects(part, is_message, &mut out);
            if !matches!(part.body, Body::Leaf) {
                return;
            }
            let offset = part.body_range.start;
            let (_, flaws) = self.decoded_body(part);
            for (flawed, kind) in [
                (
                    flaws.invalid_characters,
                    DefectKind::InvalidBase64Characters,
                ),
                (flaws.bad_padding, DefectKind::InvalidBase64Padding),
                (flaws.bad_escape, DefectKind::InvalidQuotedPrintable),
                (flaws.bad_uuencode, DefectKind::InvalidUuencode),
            ] {
                if flawed {
                    out.push(Defect { kind, offset });
                }
            }
            if part.is_text()
                && let Some(charset) = part.charset()
                && crate::charset::encoding_for(charset).is_none()
            {
                out.push(Defect {
                    kind: DefectKind::UnknownCharset,
                    offset: part.header_range.start,
                });
            }
        });
        out.sort_by_key(|d| d.offset);
        out
    }

    /// The leaf parts in depth-first order with their IMAP section numbers
    /// (RFC 3501 §6.4.5): an enclosed message is a container whose inner
    /// message continues the numbering.
    pub fn leaves(&self) -> Vec<(String, &Part<'a>)> {
        let mut out = Vec::new();
        match &self.root.body {
            Body::Multipart { parts, .. } => {
                for (i, p) in parts.iter().enumerate() {
                    walk(p, (i + 1).to_string(), &mut out);
                }
            }
            _ => walk(&self.root, "1".into(), &mut out),
        }
        out
    }
}

fn walk<'p, 'a>(part: &'p Part<'a>, section: String, out: &mut Vec<(String, &'p Part<'a>)>) {
    match &part.body {
        Body::Leaf => out.push((section, part)),
        Body::Multipart { parts, .. } => {
            for (i, p) in parts.iter().enumerate() {
                walk(p, format!("{section}.{}", i + 1), out);
            }
        }
        Body::Message(inner) => match &inner.body {
            Body::Multipart { parts, .. } => {
                for (i, p) in parts.iter().enumerate() {
                    walk(p, format!("{section}.{}", i + 1), out);
                }
            }
            _ => walk(inner, format!("{section}.1"), out),
        },
    }
}

struct Context<'a> {
    input: &'a [u8],
    limits: Limits,
    parts: usize,
    defects: Vec<Defect>,
    /// A multipart is nested in one whose boundary is a prefix of its own,
    /// or the other way round: some line may be a delimiter of both.
    boundaries_overlap: bool,
}

/// The boundaries of the multiparts a part is nested in, innermost first.
#[derive(Clone, Copy)]
struct Open<'p> {
    boundary: &'p [u8],
    outer: Option<&'p Open<'p>>,
}

impl Open<'_> {
    /// True when a line could be a delimiter of both `boundary` and one of these.
    fn overlaps(&self, boundary: &[u8]) -> bool {
        let mut open = Some(self);
        while let Some(o) = open {
            if o.boundary.starts_with(boundary) || boundary.starts_with(o.boundary) {
                return true;
            }
            open = o.outer;
        }
        false
    }
}

impl<'a> Context<'a> {
    fn defect(&mut self, kind: DefectKind, offset: usize) {
        self.defects.push(Defect { kind, offset });
    }

    /// Parses the entity at `input[start..end]`.
    fn entity(
        &mut self,
        start: usize,
        end: usize,
        default: ContentType<'a>,
        depth: usize,
        open: Option<&Open<'_>>,
    ) -> Part<'a> {
        let parsed = header::parse(
            self.input,
            start,
            end,
            self.limits.max_header_len,
            &mut self.defects,
        );
        let header = parsed.header;
        let body_start = parsed.body_start;
        let (content_type, content_type_given) =
            ContentType::resolve(header.get("content-type").map(|f| f.raw_value), default);
        let mut part = Part {
            header,
            header_range: start..body_start,
            body_range: body_start..end,
            content_type,
            content_type_given,
            body: Body::Leaf,
        };
        if depth >= self.limits.max_depth {
            if part.content_type.is_multipart() || part.content_type.is_message() {
                self.defect(DefectKind::NestingTooDeep, body_start);
            }
            return part;
        }
        if part.content_type.is_multipart() {
            part.body = self.multipart(&part.content_type, body_start, end, depth, open);
        } else if part.content_type.is_message() {
            self.parts += 1;
            let inner = self.entity(body_start, end, ContentType::text_plain(), depth + 1, open);
            part.body = Body::Message(Box::new(inner));
        }
        part
    }

    fn multipart(
        &mut self,
        ct: &ContentType<'a>,
        start: usize,
        end: usize,
        depth: usize,
        open: Option<&Open<'_>>,
    ) -> Body<'a> {
        let Some(boundary) = ct
            .params
            .iter()
            .find(|p| p.name == "boundary")
            .map(|p| p.value.clone())
        else {
            self.defect(DefectKind::NoBoundaryInMultipart, start);
            return Body::Leaf;
        };
        if open.is_some_and(|o| o.overlaps(&boundary)) {
            self.boundaries_overlap = true;
            return Body::Leaf;
        }
        let digest = ct.subtype == "digest";
        let delimiters = self.delimiters(&boundary, start, end);
        let Some(first) = delimiters.first() else {
            self.defect(DefectKind::StartBoundaryNotFound, start);
            return Body::Leaf;
        };
        if first.close {
            // A multipart without parts.
            self.defect(DefectKind::StartBoundaryNotFound, start);
        }
        let inner = Open {
            boundary: &boundary,
            outer: open,
        };
        let preamble = start..before_line_break(self.input, start, first.line_start);
        let mut parts = Vec::new();
        let mut closed = None;
        for (i, d) in delimiters.iter().enumerate() {
            if d.close {
                closed = Some(d.line_end);
                break;
            }
            let part_end = match delimiters.get(i + 1) {
                Some(next) => before_line_break(self.input, d.line_end, next.line_start),
                // Unterminated: the last line break still belongs to the missing delimiter.
                None => before_line_break(self.input, d.line_end, end),
            };
            if self.parts >= self.limits.max_parts {
                self.defect(DefectKind::TooManyParts, d.line_start);
                let rest = Part {
                    header: Header::default(),
                    header_range: d.line_end..d.line_end,
                    body_range: d.line_end..end,
                    content_type: ContentType::text_plain(),
                    content_type_given: false,
                    body: Body::Leaf,
                };
                parts.push(rest);
                closed = Some(end);
                break;
            }
            self.parts += 1;
            let default = if digest {
                ContentType::message_rfc822()
            } else {
                ContentType::text_plain()
            };
            parts.push(self.entity(d.line_end, part_end, default, depth + 1, Some(&inner)));
        }
        let epilogue = match closed {
            Some(after) => after..end,
            None => {
                self.defect(DefectKind::CloseBoundaryNotFound, end);
                end..end
            }
        };
        Body::Multipart {
            boundary,
            parts,
            preamble,
            epilogue,
        }
    }

    /// The delimiter lines `--boundary` and `--boundary--` in `input[start..end]`,
    /// each at a line start (RFC 2046 §5.1.1).
    fn delimiters(&self, boundary: &[u8], start: usize, end: usize) -> Vec<Delimiter> {
        let mut needle = b"--".to_vec();
        needle.extend_from_slice(boundary);
        let finder = memchr::memmem::Finder::new(&needle);
        let mut found = Vec::new();
        let mut from = start;
        let input = self.input;
        while from < end {
            let Some(at) = finder.find(&input[from..end]).map(|i| i + from) else {
                break;
            };
            // The line as written, even where it runs past this part's end
            // (a stray CR before the parent's line break stays in the line),
            // so the whole parse and the incremental one judge the same line.
            let real_end = memchr::memchr(b'\n', &input[at..]).map_or(input.len(), |i| at + i + 1);
            let line_end = real_end.min(end);
            let is_line_start = at == start || input[at - 1] == b'\n';
            match delimiter_line(&input[at..real_end], boundary) {
                Some(close) if is_line_start => {
                    found.push(Delimiter {
                        line_start: at,
                        line_end,
                        close,
                    });
                    if close {
                        break;
                    }
                    from = line_end;
                }
                _ => from = at + 1,
            }
        }
        found
    }
}

/// The longest delimiter line, line break excluded: RFC 5322's 998 octets and some slack.
pub(crate) const MAX_DELIMITER_LINE: usize = 1000;

/// Whether `line` (line break included, if any) is a delimiter line of
/// `boundary`: `--boundary`, then `--` for the closing one, then only spaces
/// or tabs (RFC 2046 §5.1.1). `Some(true)` for the closing delimiter.
pub(crate) fn delimiter_line(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let content = crate::header::strip_eol(line);
    // A CR inside is not a line break here: only LF and CRLF end the line.
    if content.len() > MAX_DELIMITER_LINE || content.ends_with(b"\r") {
        return None;
    }
    let rest = content.strip_prefix(b"--")?.strip_prefix(boundary)?;
    let (close, rest) = match rest.strip_prefix(b"--") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    rest.iter()
        .all(|&b| b == b' ' || b == b'\t')
        .then_some(close)
}

struct Delimiter {
    line_start: usize,
    line_end: usize,
    close: bool,
}

/// The line break before a delimiter belongs to it (RFC 2046 §5.1.1).
fn before_line_break(input: &[u8], floor: usize, at: usize) -> usize {
    let mut end = at;
    if end > floor && input[end - 1] == b'\n' {
        end -= 1;
        if end > floor && input[end - 1] == b'\r' {
            end -= 1;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &[u8] = b"From: a@example.com\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
preamble\r\n\
--outer\r\n\
Content-Type: text/plain\r\n\
\r\n\
one\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=inner\r\n\
\r\n\
--inner\r\n\
\r\n\
two-a\r\n\
--inner\r\n\
Content-Type: text/html\r\n\
\r\n\
<p>two-b</p>\r\n\
--inner--\r\n\
--outer\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Subject: inner\r\n\
\r\n\
three\r\n\
--outer--\r\n\
epilogue\r\n";

    #[test]
    fn splits_nested_multiparts_with_sections() {
        let m = Message::parse(NESTED);
        assert!(m.defects.is_empty(), "{:?}", m.defects);
        let leaves: Vec<(String, String, &[u8])> = m
            .leaves()
            .into_iter()
            .map(|(s, p)| {
                let ct = format!("{}/{}", p.content_type.kind, p.content_type.subtype);
                (s, ct, m.slice(&p.body_range))
            })
            .collect();
        assert_eq!(
            leaves,
            vec![
                ("1".to_string(), "text/plain".to_string(), &b"one"[..]),
                ("2.1".into(), "text/plain".into(), &b"two-a"[..]),
                ("2.2".into(), "text/html".into(), &b"<p>two-b</p>"[..]),
                ("3.1".into(), "text/plain".into(), &b"three"[..]),
            ]
        );
        let Body::Multipart {
            preamble, epilogue, ..
        } = &m.root.body
        else {
            panic!("multipart")
        };
        assert_eq!(m.slice(preamble), b"preamble");
        assert_eq!(m.slice(epilogue), b"epilogue\r\n");
    }

    /// (section, type/subtype, file name, body) of every leaf.
    fn leaf_summary(m: &Message<'_>) -> Vec<(String, String, Option<String>, String)> {
        m.leaves()
            .into_iter()
            .map(|(s, p)| {
                let ct = format!("{}/{}", p.content_type.kind, p.content_type.subtype);
                let body = String::from_utf8_lossy(m.slice(&p.body_range)).into_owned();
                (s, ct, p.filename(), body)
            })
            .collect()
    }

    fn leaf(
        section: &str,
        ct: &str,
        name: Option<&str>,
        body: &str,
    ) -> (String, String, Option<String>, String) {
        (section.into(), ct.into(), name.map(Into::into), body.into())
    }

    #[test]
    fn a_nested_multipart_that_reuses_its_parents_boundary_keeps_its_parts() {
        // As Thunderbird, MimeKit and Dovecot read it: the innermost open
        // multipart takes the delimiter line, so the attachment after the
        // inner multipart's closing line is the outer one's second part.
        let raw = b"Content-Type: multipart/mixed; boundary=\"B\"\n\npre\n--B\n\
Content-Type: multipart/alternative; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\ntext\n\
--B\nContent-Type: text/html\n\n<p>html</p>\n--B--\n\n--B\n\
Content-Type: image/gif; name=\"xx.gif\"\nContent-Disposition: attachment\n\nGIF\n--B--\n";
        let m = Message::parse(raw);
        assert_eq!(
            leaf_summary(&m),
            vec![
                leaf("1.1", "text/plain", None, "text"),
                leaf("1.2", "text/html", None, "<p>html</p>"),
                leaf("2", "image/gif", Some("xx.gif"), "GIF"),
            ]
        );
        assert!(m.defects.is_empty(), "{:?}", m.defects);
        crate::stream::compare_with_whole(raw, &[], Limits::default()).unwrap();
    }

    #[test]
    fn an_empty_boundary_splits_at_lines_of_two_hyphens() {
        let m = Message::parse(
            b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\nContent-Type: text/plain\n\nhello\n--\n\nworld\n----\n",
        );
        assert_eq!(
            leaf_summary(&m),
            vec![
                leaf("1", "text/plain", None, "hello"),
                leaf("2", "text/plain", None, "world"),
            ]
        );
        assert!(m.defects.is_empty(), "{:?}", m.defects);
    }

    #[test]
    fn a_content_type_without_a_subtype_is_text_that_keeps_its_parameters() {
        let m = Message::parse(
            b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\
Content-Type: application-x-gzip; name=\"logs.gz\"\n\ndata\n--b--\n",
        );
        assert_eq!(
            leaf_summary(&m),
            vec![leaf("1", "text/plain", Some("logs.gz"), "data")]
        );
        let part = m.leaves()[0].1;
        assert!(!part.content_type_given);
        assert_eq!(part.content_type.param("charset"), Some(&b"us-ascii"[..]));
        assert_eq!(part.charset(), None);
    }

    #[test]
    fn a_multipart_of_only_its_closing_delimiter_has_no_parts() {
        let m = Message::parse(
            b"Content-Type: multipart/mixed; boundary=b\n\npreamble\n--b--\nepilogue\n",
        );
        let Body::Multipart {
            parts,
            preamble,
            epilogue,
            ..
        } = &m.root.body
        else {
            panic!("multipart: {:?}", m.root.body)
        };
        assert!(parts.is_empty());
        assert_eq!(m.slice(preamble), b"preamble");
        assert_eq!(m.slice(epilogue), b"epilogue\n");
        assert!(m.leaves().is_empty());
        assert_eq!(m.defects[0].kind, DefectKind::StartBoundaryNotFound);
    }

    #[test]
    fn a_disposition_without_a_type_still_names_the_file() {
        let m = Message::parse(
            b"Content-Type: image/png\nContent-Disposition: ; filename=\"x.png\"\n\nPNG",
        );
        assert_eq!(m.root.filename().as_deref(), Some("x.png"));
        assert_eq!(m.root.disposition().unwrap().kind, "attachment");
        assert_eq!(Disposition::parse(b" ; "), None);
    }

    #[test]
    fn notes_defects_and_keeps_reading() {
        let m = Message::parse(b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nunfinished\n");
        assert_eq!(m.defects[0].kind, DefectKind::CloseBoundaryNotFound);
        // The last line break belongs to the missing delimiter, as Python's email reads it.
        assert_eq!(m.slice(&m.leaves()[0].1.body_range), b"unfinished");
        let m = Message::parse(b"Content-Type: multipart/mixed\n\nno boundary\n");
        assert_eq!(m.defects[0].kind, DefectKind::NoBoundaryInMultipart);
        let m = Message::parse(b"Subject: x\nnot a header line\nbody\n");
        assert_eq!(m.defects[0].kind, DefectKind::MissingHeaderBodySeparator);
        assert_eq!(m.slice(&m.root.body_range), b"not a header line\nbody\n");
        let m = Message::parse(b"Subject: a\n folded\n\tagain\n\nbody");
        assert_eq!(
            m.root.header.get("subject").unwrap().value().as_ref(),
            b"a folded\tagain"
        );
    }

    #[test]
    fn a_boundary_inside_a_line_is_content() {
        let m = Message::parse(
            b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\ntext --b not a delimiter\n--bx\n--b--\n",
        );
        let leaves = m.leaves();
        assert_eq!(leaves.len(), 1);
        assert_eq!(
            m.slice(&leaves[0].1.body_range),
            b"text --b not a delimiter\n--bx"
        );
    }

    #[test]
    fn delimiter_lines_end_at_a_line_break_and_are_bounded() {
        // A CR alone does not end a delimiter line: "--b\rx" is content.
        let m = Message::parse(
            b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\rx\n--b--\n",
        );
        assert_eq!(m.slice(&m.leaves()[0].1.body_range), b"one\n--b\rx");
        // Trailing whitespace is allowed up to the 1000-octet line limit, not beyond.
        let mut raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b".to_vec();
        raw.resize(raw.len() + MAX_DELIMITER_LINE - 3, b' ');
        raw.extend_from_slice(b"\ntwo\n--b");
        raw.resize(raw.len() + MAX_DELIMITER_LINE - 2, b' ');
        raw.extend_from_slice(b"\nstill two\n--b--\n");
        let m = Message::parse(&raw);
        let leaves = m.leaves();
        assert_eq!(leaves.len(), 2);
        assert!(m.slice(&leaves[1].1.body_range).starts_with(b"two\n--b  "));
        assert!(m.slice(&leaves[1].1.body_range).ends_with(b"still two"));
    }

    #[test]
    fn deep_nesting_and_many_parts_hit_limits() {
        let mut deep = Vec::new();
        for _ in 0..10_000 {
            deep.extend_from_slice(b"Content-Type: message/rfc822\n\n");
        }
        let m = Message::parse(&deep);
        assert!(
            m.defects
                .iter()
                .any(|d| d.kind == DefectKind::NestingTooDeep)
        );
        let mut many = b"Content-Type: multipart/mixed; boundary=b\n\n".to_vec();
        for _ in 0..20_000 {
            many.extend_from_slice(b"--b\n\nx\n");
        }
        many.extend_from_slice(b"--b--\n");
        let m = Message::parse(&many);
        assert!(m.defects.iter().any(|d| d.kind == DefectKind::TooManyParts));
        assert!(m.leaves().len() <= 10_001);
    }
}

#[cfg(test)]
mod typed_tests {
    use super::*;

    #[test]
    fn field_names_and_colons_past_16_bits_are_still_read() {
        let long = "X".repeat(70_000);
        let far = format!("Far{}", " ".repeat(70_000));
        let raw = format!("{long}: v\r\n{far}: w\r\nSubject: s\r\n\r\nbody");
        let (h, body) = Header::parse_top(raw.as_bytes());
        assert_eq!(&raw.as_bytes()[body..], b"body");
        assert_eq!(h.len(), 3);
        let first = h.field(0).unwrap();
        assert_eq!((first.name.len(), first.raw_value), (70_000, &b" v"[..]));
        assert_eq!(h.get(&long).unwrap().range, 0..70_005);
        assert_eq!(h.get("far").unwrap().raw_value, b" w");
        assert_eq!(h.text("subject").as_deref(), Some("s"));
    }

    #[test]
    fn header_fields_are_typed() {
        let m = Message::parse(
            b"Received: from a.test ([192.0.2.1]) by b.test with ESMTP id X1; Tue, 1 Jul 2003 10:52:37 +0200\r\n\
From: =?utf-8?q?Ren=C3=A9?= <rene@x.test>\r\nTo: team: a@x.test, b@x.test;\r\n\
Date: Tue, 1 Jul 2003 10:52:37 +0200\r\nMessage-ID: <id1@x.test>\r\nReferences: <r1@x> <r2@x>\r\n\
List-Id: Team list <team.x.test>\r\nList-Unsubscribe: <mailto:leave@x.test>, <https://x.test/leave>\r\n\r\nbody",
        );
        let h = &m.root.header;
        let from = h.addresses("from").unwrap();
        assert_eq!(
            from.mailboxes().next().unwrap().name.as_deref(),
            Some("René")
        );
        assert_eq!(h.addresses("to").unwrap().mailboxes().count(), 2);
        assert_eq!(h.date().unwrap().unix_time(), 1_057_049_557);
        assert_eq!(h.message_id().as_deref(), Some("id1@x.test"));
        assert_eq!(h.ids("references"), ["r1@x", "r2@x"]);
        assert_eq!(h.received()[0].with.as_deref(), Some("ESMTP"));
        assert_eq!(h.list_id().unwrap().id, "team.x.test");
        assert_eq!(h.list_urls("list-unsubscribe").len(), 2);
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn a_header_block_over_the_limit_ends_with_a_defect_and_keeps_earlier_fields() {
        let mut raw = b"Subject: kept\r\n".to_vec();
        for i in 0..200 {
            raw.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(60)).as_bytes());
        }
        raw.extend_from_slice(b"\r\nbody\r\n");
        let limits = Limits {
            max_header_len: 4096,
            ..Limits::default()
        };
        let m = Message::parse_with(&raw, limits);
        let defect = m
            .defects
            .iter()
            .find(|d| d.kind == DefectKind::HeaderTooLong)
            .expect("HeaderTooLong");
        // The field that would cross the limit starts the body.
        assert!(defect.offset <= 4096 && defect.offset > 4096 - 100);
        assert_eq!(m.subject().as_deref(), Some("kept"));
        assert!(m.root.header.len() < 200);
        assert_eq!(m.root.body_range.start, defect.offset);
    }

    #[test]
    fn a_ten_megabyte_header_line_is_read_as_body() {
        let mut raw = b"Subject: kept\r\nX-Huge: ".to_vec();
        raw.resize(raw.len() + 10 * 1024 * 1024, b'a');
        raw.extend_from_slice(b"\r\n\r\nbody\r\n");
        let m = Message::parse(&raw);
        assert_eq!(m.defects[0].kind, DefectKind::HeaderTooLong);
        assert_eq!(m.defects[0].offset, 15);
        assert_eq!(m.root.header.len(), 1);
        assert_eq!(m.root.body_range, 15..raw.len());
    }
}
