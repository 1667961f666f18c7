//! Body sections (RFC 9051 §6.4.5): `BODY[section]<partial>`, `BINARY[part]`
//! and `BINARY.SIZE[part]`, cut from the stored message octets.

use std::borrow::Cow;
use std::num::NonZeroU32;

use sansmail_mime::{Body, Message, Part, TransferEncoding};

use crate::types::{Section, SectionText, Str};

/// The part a path names: `[]` the message itself; in a multipart the Nth
/// part; in a non-multipart message part 1 is its body (whatever its type,
/// message/rfc822 included); below the top, an enclosed message is a
/// container whose numbering goes on inside it (RFC 9051 §6.4.5).
pub fn find_part<'p, 'a>(message: &'p Message<'a>, path: &[NonZeroU32]) -> Option<&'p Part<'a>> {
    let mut part = &message.root;
    for (step, n) in path.iter().enumerate() {
        let index = n.get() as usize - 1;
        // Inside an enclosed message (not the top level), number its body's parts.
        let container = match &part.body {
            Body::Message(inner) if step > 0 => inner.as_ref(),
            _ => part,
        };
        part = match &container.body {
            Body::Multipart { parts, .. } => parts.get(index)?,
            _ if index == 0 => container,
            _ => return None,
        };
    }
    Some(part)
}

/// The header block and body of the message a section's text spec
/// applies to: the top level (whatever its type), or an enclosed message.
fn message_of<'p, 'a>(part: &'p Part<'a>, top: bool) -> Option<&'p Part<'a>> {
    match &part.body {
        _ if top => Some(part),
        Body::Message(inner) => Some(inner.as_ref()),
        _ => None,
    }
}

/// Header fields of `block` whose names are (or with `not`, are not) in
/// `names`, in their order, with the blank line that ends a header.
fn header_fields(raw: &[u8], part: &Part<'_>, names: &[Str], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for field in part.header.fields() {
        let listed = names.iter().any(|n| field.name.eq_ignore_ascii_case(n));
        if listed != not {
            out.extend_from_slice(&raw[field.range.clone()]);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The octets of a section; `None` when the message has no such part.
pub fn section<'a>(message: &Message<'a>, section: &Section) -> Option<Cow<'a, [u8]>> {
    let raw = message.raw;
    let top = section.part.is_empty();
    let part = find_part(message, &section.part)?;
    let bytes = |r: &std::ops::Range<usize>| Cow::Borrowed(&raw[r.clone()]);
    Some(match &section.text {
        None if top => Cow::Borrowed(raw),
        None => bytes(&part.body_range),
        Some(SectionText::Mime) => bytes(&part.header_range),
        Some(SectionText::Header) => bytes(&message_of(part, top)?.header_range),
        Some(SectionText::Text) => bytes(&message_of(part, top)?.body_range),
        Some(SectionText::HeaderFields(names)) => {
            Cow::Owned(header_fields(raw, message_of(part, top)?, names, false))
        }
        Some(SectionText::HeaderFieldsNot(names)) => {
            Cow::Owned(header_fields(raw, message_of(part, top)?, names, true))
        }
    })
}

/// `<start.count>` of some octets: what lies there (empty past the end).
pub fn partial(data: &[u8], start: u32, count: NonZeroU32) -> &[u8] {
    let start = (start as usize).min(data.len());
    let end = start.saturating_add(count.get() as usize).min(data.len());
    &data[start..end]
}

/// Why BINARY could not decode a part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BinaryError {
    /// No such part.
    #[error("no such part")]
    NoSuchPart,
    /// The part's transfer encoding is unknown: answer `NO [UNKNOWN-CTE]`.
    #[error("unknown content transfer encoding")]
    UnknownEncoding,
}

/// The decoded content of a part for BINARY (the whole message for `[]`).
pub fn binary<'a>(
    message: &Message<'a>,
    path: &[NonZeroU32],
) -> Result<Cow<'a, [u8]>, BinaryError> {
    if path.is_empty() {
        return Ok(Cow::Borrowed(message.raw));
    }
    let part = find_part(message, path).ok_or(BinaryError::NoSuchPart)?;
    match (&part.body, part.transfer_encoding()) {
        (Body::Leaf, TransferEncoding::Other(_)) => Err(BinaryError::UnknownEncoding),
        (Body::Leaf, _) => Ok(message.decoded_body(part).0),
        // Containers are not encoded (RFC 2045 §6.4): their octets as they are.
        _ => Ok(Cow::Borrowed(&message.raw[part.body_range.clone()])),
    }
}

/// A message sent with APPEND as binary (`~{n}`, RFC 3516 §4.3) made fit
/// for every client: each part whose content is binary (declared so, or
/// holding NUL) is stored base64-encoded, with its header saying so; BINARY
/// decodes it back. `None` when nothing needs converting.
pub fn binary_to_base64(raw: &[u8]) -> Option<Vec<u8>> {
    let message = Message::parse(raw);
    // (header range, body range, the Content-Transfer-Encoding field's range)
    type Ranges = (
        std::ops::Range<usize>,
        std::ops::Range<usize>,
        Option<std::ops::Range<usize>>,
    );
    let mut convert: Vec<Ranges> = Vec::new();
    message.for_each_part(|part, _| {
        let binary = matches!(part.transfer_encoding(), TransferEncoding::Binary)
            || memchr::memchr(0, &raw[part.body_range.clone()]).is_some();
        if matches!(part.body, Body::Leaf) && binary {
            let cte = part
                .header
                .get("content-transfer-encoding")
                .map(|f| f.range);
            convert.push((part.header_range.clone(), part.body_range.clone(), cte));
        }
    });
    if convert.is_empty() {
        return None;
    }
    convert.sort_by_key(|(h, _, _)| h.start);
    let mut out = Vec::with_capacity(raw.len() * 4 / 3 + 256);
    let mut at = 0;
    for (header, body_range, cte) in convert {
        // The header, its Content-Transfer-Encoding field replaced.
        let header_end = header.end;
        let blank = if raw[..header_end].ends_with(b"\r\n\r\n") {
            header_end - 2
        } else {
            header_end.saturating_sub(1)
        };
        match cte {
            Some(r) => {
                out.extend_from_slice(&raw[at..r.start]);
                out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
                out.extend_from_slice(&raw[r.end..header_end]);
            }
            None => {
                out.extend_from_slice(&raw[at..blank]);
                out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
                out.extend_from_slice(&raw[blank..header_end]);
            }
        }
        // The body: a last line break before the end of the message ends
        // the message, not the content.
        let mut body = &raw[body_range.clone()];
        if body_range.end == raw.len() {
            body = body.strip_suffix(b"\r\n").unwrap_or(body);
        }
        sansmail_mime::transfer::encode_base64(body, &mut out);
        at = body_range.end;
    }
    out.extend_from_slice(&raw[at..]);
    Some(out)
}
