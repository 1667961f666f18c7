//! Writing messages: header fields folded at 78 characters with encoded
//! words only where needed, RFC 2231 file names, address lists quoted as
//! needed, multiparts with boundaries that cannot occur in their content,
//! and each body in the transfer encoding its content needs.
//!
//! ```
//! use sansmail_mime::builder::{Entity, MessageBuilder};
//! use sansmail_mime::{DateTime, Mailbox, Message};
//!
//! let body = Entity::mixed(vec![
//!     Entity::alternative(vec![Entity::text("Hello\n"), Entity::html("<p>Hello</p>\n")]),
//!     Entity::attachment("application/pdf", "résumé.pdf", b"%PDF-1.7 ..."),
//! ]);
//! let raw = MessageBuilder::new(body)
//!     .from(Mailbox { name: Some("Zoë".into()), address: "zoe@example.com".into() })
//!     .to(vec![Mailbox { name: None, address: "bob@example.net".into() }])
//!     .subject("Café tomorrow?")
//!     .date(DateTime::from_unix_time(1_700_000_000, 60))
//!     .message_id(0x1234_5678_9abc_def0, "example.com")
//!     .to_vec(42);
//! let parsed = Message::parse(&raw);
//! assert_eq!(parsed.subject().as_deref(), Some("Café tomorrow?"));
//! assert_eq!(parsed.leaves()[2].1.filename().as_deref(), Some("résumé.pdf"));
//! ```

use std::borrow::Cow;
use std::io::{self, Write};

use crate::address::Mailbox;
use crate::date::DateTime;
use crate::transfer;
use crate::words::encode_header_text;

/// The longest line the builder aims for (RFC 5322 §2.1.1 "SHOULD").
const FOLD_AT: usize = 78;
/// The longest line it ever writes, CRLF excluded (RFC 5322 §2.1.1 "MUST").
const MAX_LINE: usize = 998;

/// One MIME entity to write: a leaf with content, or a multipart.
#[derive(Clone, Debug)]
pub struct Entity<'a> {
    media_type: String,
    params: Vec<(String, String)>,
    disposition: Option<&'static str>,
    filename: Option<String>,
    content_id: Option<String>,
    fields: Vec<(String, String)>,
    body: Content<'a>,
}

#[derive(Clone, Debug)]
enum Content<'a> {
    Text(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
    Multipart(Vec<Entity<'a>>),
}

impl<'a> Entity<'a> {
    fn leaf(media_type: &str, body: Content<'a>) -> Self {
        Entity {
            media_type: media_type.to_ascii_lowercase(),
            params: Vec::new(),
            disposition: None,
            filename: None,
            content_id: None,
            fields: Vec::new(),
            body,
        }
    }

    /// `text/plain; charset=utf-8`.
    pub fn text(text: impl Into<Cow<'a, str>>) -> Self {
        Entity::leaf("text/plain", Content::Text(text.into())).param("charset", "utf-8")
    }

    /// `text/html; charset=utf-8`.
    pub fn html(html: impl Into<Cow<'a, str>>) -> Self {
        Entity::leaf("text/html", Content::Text(html.into())).param("charset", "utf-8")
    }

    /// Any content of type `media_type` (`type/subtype`); `text/*` content
    /// that is UTF-8 should use [`Entity::text`] or add its charset.
    pub fn bytes(media_type: &str, data: impl Into<Cow<'a, [u8]>>) -> Self {
        Entity::leaf(media_type, Content::Bytes(data.into()))
    }

    /// An attachment (`Content-Disposition: attachment`) with a file name.
    pub fn attachment(media_type: &str, filename: &str, data: impl Into<Cow<'a, [u8]>>) -> Self {
        let mut e = Entity::bytes(media_type, data);
        e.disposition = Some("attachment");
        e.filename = Some(filename.to_owned());
        e
    }

    /// An inline part referred to as `cid:<content_id>` from HTML (RFC 2392).
    pub fn inline(media_type: &str, content_id: &str, data: impl Into<Cow<'a, [u8]>>) -> Self {
        let mut e = Entity::bytes(media_type, data);
        e.disposition = Some("inline");
        e.content_id = Some(content_id.trim_matches(['<', '>']).to_owned());
        e
    }

    /// `multipart/<subtype>` holding `parts`.
    pub fn multipart(subtype: &str, parts: Vec<Entity<'a>>) -> Self {
        Entity::leaf(&format!("multipart/{subtype}"), Content::Multipart(parts))
    }

    /// `multipart/mixed`: a body and attachments.
    pub fn mixed(parts: Vec<Entity<'a>>) -> Self {
        Entity::multipart("mixed", parts)
    }

    /// `multipart/alternative`: the same content in several forms, simplest first.
    pub fn alternative(parts: Vec<Entity<'a>>) -> Self {
        Entity::multipart("alternative", parts)
    }

    /// `multipart/related`: HTML and the inline parts it refers to.
    pub fn related(parts: Vec<Entity<'a>>) -> Self {
        Entity::multipart("related", parts)
    }

    /// Adds a Content-Type parameter.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Adds a header field to this entity (for example Content-Language).
    pub fn field(mut self, name: &str, value: &str) -> Self {
        self.fields.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the file name (with `attachment` disposition unless one is set).
    pub fn filename(mut self, filename: &str) -> Self {
        self.disposition.get_or_insert("attachment");
        self.filename = Some(filename.to_owned());
        self
    }
}

/// A whole message: its header fields and its body entity.
#[derive(Clone, Debug)]
pub struct MessageBuilder<'a> {
    fields: Vec<(String, FieldValue)>,
    body: Entity<'a>,
}

#[derive(Clone, Debug)]
enum FieldValue {
    Text(String),
    Addresses(Vec<Mailbox>),
    Raw(String),
}

impl<'a> MessageBuilder<'a> {
    /// A message with `body` and no header fields yet.
    pub fn new(body: Entity<'a>) -> Self {
        MessageBuilder {
            fields: Vec::new(),
            body,
        }
    }

    fn push(mut self, name: &str, value: FieldValue) -> Self {
        self.fields.push((name.to_owned(), value));
        self
    }

    /// Adds `mailboxes` to the address field `name`, made on first use.
    fn add(mut self, name: &str, mailboxes: impl IntoMailboxes) -> Self {
        let mut mailboxes = mailboxes.into_mailboxes();
        let existing = self.fields.iter_mut().find(|(n, _)| n == name);
        match existing {
            Some((_, FieldValue::Addresses(list))) => list.append(&mut mailboxes),
            _ => self
                .fields
                .push((name.to_owned(), FieldValue::Addresses(mailboxes))),
        }
        self
    }

    /// `From` (set again, it adds an author).
    pub fn from(self, mailbox: impl IntoMailboxes) -> Self {
        self.add("From", mailbox)
    }

    /// Adds recipients to `To`: one mailbox or several, call after call.
    pub fn to(self, mailboxes: impl IntoMailboxes) -> Self {
        self.add("To", mailboxes)
    }

    /// Adds recipients to `Cc`.
    pub fn cc(self, mailboxes: impl IntoMailboxes) -> Self {
        self.add("Cc", mailboxes)
    }

    /// Adds blind recipients: in the envelope ([`MessageBuilder::recipients`]),
    /// never in what [`MessageBuilder::write_to`] writes.
    pub fn bcc(self, mailboxes: impl IntoMailboxes) -> Self {
        self.add("Bcc", mailboxes)
    }

    /// Adds addresses to `Reply-To`.
    pub fn reply_to(self, mailboxes: impl IntoMailboxes) -> Self {
        self.add("Reply-To", mailboxes)
    }

    /// `Sender`, when the one sending is not the author.
    pub fn sender(self, mailbox: Mailbox) -> Self {
        self.add("Sender", mailbox)
    }

    /// Who sends, for the SMTP envelope: `Sender` if set, else the first `From`.
    pub fn envelope_sender(&self) -> Option<&Mailbox> {
        let first = |name: &str| self.mailboxes(name).next();
        first("Sender").or_else(|| first("From"))
    }

    /// Every recipient, for the SMTP envelope: `To`, `Cc` and `Bcc` in order.
    pub fn recipients(&self) -> impl Iterator<Item = &Mailbox> {
        ["To", "Cc", "Bcc"]
            .into_iter()
            .flat_map(|name| self.mailboxes(name))
    }

    /// The mailboxes of the address field `name` (as set through this builder).
    fn mailboxes(&self, name: &str) -> impl Iterator<Item = &Mailbox> {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, value)| match value {
                FieldValue::Addresses(list) => list.as_slice(),
                _ => &[],
            })
    }

    /// True when a field named `name` (any case) is set.
    pub fn has_field(&self, name: &str) -> bool {
        self.fields
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// `Subject`, encoded where it is not plain ASCII.
    pub fn subject(self, subject: &str) -> Self {
        self.push("Subject", FieldValue::Text(subject.to_owned()))
    }

    /// `Date`, from the caller's clock.
    pub fn date(self, date: DateTime) -> Self {
        self.push("Date", FieldValue::Raw(date.to_rfc5322()))
    }

    /// `Message-ID: <hex(random)@domain>`, from the caller's randomness.
    pub fn message_id(self, random: u128, domain: &str) -> Self {
        self.push(
            "Message-ID",
            FieldValue::Raw(format!("<{random:032x}@{domain}>")),
        )
    }

    /// `In-Reply-To` and `References` for a reply to `parent_ids` (oldest first, the parent last).
    pub fn in_reply_to(self, parent_ids: &[String]) -> Self {
        let Some(parent) = parent_ids.last() else {
            return self;
        };
        let references = parent_ids
            .iter()
            .map(|id| format!("<{id}>"))
            .collect::<Vec<_>>()
            .join(" ");
        self.push("In-Reply-To", FieldValue::Raw(format!("<{parent}>")))
            .push("References", FieldValue::Raw(references))
    }

    /// Any other field; an unstructured value is encoded where needed.
    pub fn field(self, name: &str, value: &str) -> Self {
        self.push(name, FieldValue::Text(value.to_owned()))
    }

    /// Writes the message, every field but `Bcc`; `boundary_seed` (the
    /// caller's randomness) makes the multipart boundaries.
    pub fn write_to(&self, out: &mut impl Write, boundary_seed: u64) -> io::Result<()> {
        for (name, value) in &self.fields {
            if name.eq_ignore_ascii_case("Bcc") {
                continue;
            }
            let text = match value {
                FieldValue::Text(t) => encode_header_text(t, false, " ").into_owned(),
                FieldValue::Addresses(list) => list
                    .iter()
                    .map(format_mailbox)
                    .collect::<Vec<_>>()
                    .join(", "),
                FieldValue::Raw(r) => r.clone(),
            };
            write_field(out, name, &text)?;
        }
        write_field(out, "MIME-Version", "1.0")?;
        let mut counter = 0;
        write_entity(out, &self.body, boundary_seed, &mut counter)
    }

    /// The message as bytes.
    pub fn to_vec(&self, boundary_seed: u64) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out, boundary_seed)
            .expect("writing to a Vec cannot fail");
        out
    }
}

/// One mailbox or several: what the address methods of [`MessageBuilder`] take.
///
/// ```
/// use sansmail_mime::Mailbox;
/// use sansmail_mime::builder::{Entity, MessageBuilder};
///
/// let ann: Mailbox = "Ann <ann@example.com>".parse().unwrap();
/// let bob = Mailbox::new(None, "bob@example.com");
/// let message = MessageBuilder::new(Entity::text("Hello\n"))
///     .from(ann.clone())
///     .to(bob.clone())
///     .to(vec![Mailbox::new(Some("Cy"), "cy@example.com")])
///     .bcc(Mailbox::new(None, "archive@example.com"));
/// assert_eq!(message.envelope_sender(), Some(&ann));
/// assert_eq!(message.recipients().count(), 3);
/// let text = String::from_utf8(message.to_vec(1)).unwrap();
/// assert!(text.contains("To: <bob@example.com>, Cy <cy@example.com>\r\n"));
/// assert!(!text.contains("archive@"));
/// ```
pub trait IntoMailboxes {
    /// The mailboxes, in order.
    fn into_mailboxes(self) -> Vec<Mailbox>;
}

impl IntoMailboxes for Mailbox {
    fn into_mailboxes(self) -> Vec<Mailbox> {
        vec![self]
    }
}

impl IntoMailboxes for Vec<Mailbox> {
    fn into_mailboxes(self) -> Vec<Mailbox> {
        self
    }
}

impl<const N: usize> IntoMailboxes for [Mailbox; N] {
    fn into_mailboxes(self) -> Vec<Mailbox> {
        self.into()
    }
}

impl IntoMailboxes for &[Mailbox] {
    fn into_mailboxes(self) -> Vec<Mailbox> {
        self.to_vec()
    }
}

/// `Name <address>` with the name quoted or encoded as it needs.
pub fn format_mailbox(m: &Mailbox) -> String {
    let address = if m.address.is_empty() {
        "<>".to_owned()
    } else {
        format!("<{}>", m.address)
    };
    match m.name.as_deref().filter(|n| !n.is_empty()) {
        None => address,
        Some(name) if !name.is_ascii() || name.contains("=?") => {
            format!("{} {address}", encode_header_text(name, true, " "))
        }
        Some(name)
            if name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b" !#$%&'*+-/=?^_`{|}~".contains(&b))
                && !name.starts_with(' ')
                && !name.ends_with(' ')
                && !name.contains("  ") =>
        {
            format!("{name} {address}")
        }
        Some(name) => {
            let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{escaped}\" {address}")
        }
    }
}

/// Writes `Name: value`, folding at spaces so lines stay within 78
/// characters where a space allows (and 998 always, by splitting words).
fn write_field(out: &mut impl Write, name: &str, value: &str) -> io::Result<()> {
    out.write_all(name.as_bytes())?;
    out.write_all(b":")?;
    let mut line_len = name.len() + 1;
    for (i, word) in value.split(' ').enumerate() {
        // Each word goes after a space (the first after the colon's space);
        // a fold puts the line break before that space.
        if i > 0 || !word.is_empty() {
            if !word.is_empty() && line_len + 1 + word.len() > FOLD_AT && line_len > name.len() + 1
            {
                out.write_all(b"\r\n")?;
                line_len = 0;
            }
            out.write_all(b" ")?;
            line_len += 1;
        }
        let mut rest = word;
        while line_len + rest.len() > MAX_LINE {
            let mut cut = MAX_LINE - line_len;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            out.write_all(&rest.as_bytes()[..cut])?;
            out.write_all(b"\r\n ")?;
            rest = &rest[cut..];
            line_len = 1;
        }
        out.write_all(rest.as_bytes())?;
        line_len += rest.len();
    }
    out.write_all(b"\r\n")
}

/// How a leaf's content goes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    SevenBit,
    QuotedPrintable,
    Base64,
}

/// 7bit when ASCII with lines of at most 998 octets and no NUL or bare CR;
/// quoted-printable for text that is mostly ASCII (so it stays shorter
/// than base64 and readable); base64 otherwise.
fn choose_encoding(data: &[u8], text: bool) -> Encoding {
    let mut line = 0usize;
    let mut long_line = false;
    let mut bare_cr = false;
    let mut eight_bit = 0usize;
    let mut nul = false;
    for (i, &b) in data.iter().enumerate() {
        match b {
            b'\n' => line = 0,
            b'\r' => {
                bare_cr |= data.get(i + 1) != Some(&b'\n');
                line = 0;
            }
            0 => nul = true,
            _ => {
                line += 1;
                long_line |= line > MAX_LINE;
                eight_bit += usize::from(b >= 0x80);
            }
        }
    }
    if text && !long_line && !bare_cr && !nul && eight_bit == 0 {
        Encoding::SevenBit
    } else if text && !nul && eight_bit * 6 < data.len() {
        Encoding::QuotedPrintable
    } else {
        Encoding::Base64
    }
}

/// A boundary for the `counter`-th multipart: `=_` cannot occur in
/// quoted-printable or base64 output, and 7bit parts are checked.
fn boundary(seed: u64, counter: &mut u64, parts: &[Entity<'_>]) -> String {
    loop {
        *counter += 1;
        let mixed = seed ^ counter.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let candidate = format!("=_{mixed:016x}{:04x}", *counter & 0xffff);
        let clash = parts.iter().any(|p| contains(p, candidate.as_bytes()));
        if !clash {
            return candidate;
        }
    }
}

fn contains(entity: &Entity<'_>, needle: &[u8]) -> bool {
    match &entity.body {
        Content::Text(t) => memchr::memmem::find(t.as_bytes(), needle).is_some(),
        Content::Bytes(b) => memchr::memmem::find(b, needle).is_some(),
        Content::Multipart(parts) => parts.iter().any(|p| contains(p, needle)),
    }
}

/// RFC 2231 `name*=utf-8''...` (with continuations when long) or a plain quoted value.
fn write_param(header: &mut String, name: &str, value: &str) {
    let plain = value.is_ascii()
        && !value.contains("=?")
        && value.bytes().all(|b| (b' '..=b'~').contains(&b))
        && value.len() <= 60;
    if plain {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        header.push_str(&format!(";\r\n {name}=\"{escaped}\""));
        return;
    }
    let mut encoded = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let mut pieces = Vec::new();
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let mut cut = rest.len().min(50);
        // Never split a %XX escape.
        while cut < rest.len() && rest[..cut].rfind('%').is_some_and(|p| p + 3 > cut) {
            cut -= 1;
        }
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if pieces.len() == 1 {
        header.push_str(&format!(";\r\n {name}*=utf-8''{}", pieces[0]));
    } else {
        for (i, piece) in pieces.iter().enumerate() {
            let prefix = if i == 0 { "utf-8''" } else { "" };
            header.push_str(&format!(";\r\n {name}*{i}*={prefix}{piece}"));
        }
    }
}

fn write_entity(
    out: &mut impl Write,
    entity: &Entity<'_>,
    seed: u64,
    counter: &mut u64,
) -> io::Result<()> {
    let mut content_type = entity.media_type.clone();
    for (name, value) in &entity.params {
        write_param(&mut content_type, name, value);
    }
    let separator = match &entity.body {
        Content::Multipart(parts) => {
            let b = boundary(seed, counter, parts);
            content_type.push_str(&format!(";\r\n boundary=\"{b}\""));
            Some(b)
        }
        _ => None,
    };
    out.write_all(format!("Content-Type: {content_type}\r\n").as_bytes())?;
    if let Some(disposition) = entity.disposition {
        let mut value = disposition.to_owned();
        if let Some(filename) = &entity.filename {
            write_param(&mut value, "filename", filename);
        }
        out.write_all(format!("Content-Disposition: {value}\r\n").as_bytes())?;
    }
    if let Some(id) = &entity.content_id {
        write_field(out, "Content-ID", &format!("<{id}>"))?;
    }
    for (name, value) in &entity.fields {
        write_field(out, name, &encode_header_text(value, false, " "))?;
    }
    match (&entity.body, separator) {
        (Content::Multipart(parts), Some(b)) => {
            out.write_all(b"\r\n")?;
            for part in parts {
                out.write_all(format!("--{b}\r\n").as_bytes())?;
                write_entity(out, part, seed, counter)?;
                out.write_all(b"\r\n")?;
            }
            out.write_all(format!("--{b}--\r\n").as_bytes())
        }
        (Content::Text(text), _) => write_leaf(out, text.as_bytes(), true),
        // message/* keeps a readable 7bit form when its content allows
        // (RFC 2046 §5.2; RFC 3464 requires it for delivery-status).
        (Content::Bytes(data), _) => {
            let textual = ["text/", "message/"]
                .iter()
                .any(|t| entity.media_type.starts_with(t));
            write_leaf(out, data, textual)
        }
        (Content::Multipart(_), None) => Ok(()),
    }
}

/// Writes Content-Transfer-Encoding, the blank line and the encoded body
/// (streamed in slices so an attachment is never held twice).
fn write_leaf(out: &mut impl Write, data: &[u8], text: bool) -> io::Result<()> {
    let encoding = choose_encoding(data, text);
    let name = match encoding {
        Encoding::SevenBit => "7bit",
        Encoding::QuotedPrintable => "quoted-printable",
        Encoding::Base64 => "base64",
    };
    out.write_all(format!("Content-Transfer-Encoding: {name}\r\n\r\n").as_bytes())?;
    let mut buffer = Vec::with_capacity(64 * 1024);
    match encoding {
        Encoding::SevenBit => {
            // Line ends become CRLF.
            for line in data.split_inclusive(|&b| b == b'\n') {
                let content = line.strip_suffix(b"\n").unwrap_or(line);
                let content = content.strip_suffix(b"\r").unwrap_or(content);
                out.write_all(content)?;
                if line.ends_with(b"\n") {
                    out.write_all(b"\r\n")?;
                }
            }
            Ok(())
        }
        Encoding::QuotedPrintable => {
            // Split at line ends so each slice encodes on its own.
            let mut start = 0;
            while start < data.len() {
                let mut end = (start + 48 * 1024).min(data.len());
                if end < data.len() {
                    end = memchr::memrchr(b'\n', &data[start..end]).map_or(end, |i| start + i + 1);
                }
                buffer.clear();
                transfer::encode_quoted_printable(&data[start..end], text, &mut buffer);
                out.write_all(&buffer)?;
                start = end;
            }
            Ok(())
        }
        Encoding::Base64 if text => {
            // Text goes in canonical form, CRLF line ends (RFC 2046 §4.1.1),
            // converted a slice at a time; whole 57-octet lines encode alone.
            let mut pending = Vec::with_capacity(58 * 1024);
            for line in data.split_inclusive(|&b| b == b'\n') {
                match line.strip_suffix(b"\n") {
                    Some(content) => {
                        pending.extend_from_slice(content.strip_suffix(b"\r").unwrap_or(content));
                        pending.extend_from_slice(b"\r\n");
                    }
                    None => pending.extend_from_slice(line),
                }
                if pending.len() >= 57 * 1024 {
                    let whole = pending.len() / 57 * 57;
                    buffer.clear();
                    transfer::encode_base64(&pending[..whole], &mut buffer);
                    out.write_all(&buffer)?;
                    pending.drain(..whole);
                }
            }
            buffer.clear();
            transfer::encode_base64(&pending, &mut buffer);
            out.write_all(&buffer)
        }
        Encoding::Base64 => {
            // 57-octet lines: slices of a multiple of 57 encode independently.
            for slice in data.chunks(57 * 1024) {
                buffer.clear();
                transfer::encode_base64(slice, &mut buffer);
                out.write_all(&buffer)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    #[test]
    fn folds_and_encodes_header_fields() {
        let mut out = Vec::new();
        write_field(&mut out, "Subject", &"word ".repeat(40)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().all(|l| l.len() <= FOLD_AT), "{text}");
        let m = Mailbox {
            name: Some("Doe, John \"JD\"".into()),
            address: "jd@x.test".into(),
        };
        assert_eq!(format_mailbox(&m), "\"Doe, John \\\"JD\\\"\" <jd@x.test>");
        let parsed = crate::address::parse_addresses(format_mailbox(&m).as_bytes());
        assert_eq!(parsed.mailboxes().next(), Some(&m));
    }

    #[test]
    fn chooses_the_transfer_encoding_by_content() {
        assert_eq!(choose_encoding(b"plain\nascii\n", true), Encoding::SevenBit);
        assert_eq!(
            choose_encoding("déjà vu, as they say in France\n".as_bytes(), true),
            Encoding::QuotedPrintable
        );
        assert_eq!(
            choose_encoding(&b"x".repeat(1200), true),
            Encoding::QuotedPrintable
        );
        assert_eq!(choose_encoding(&[0, 1, 2, 255], false), Encoding::Base64);
        assert_eq!(
            choose_encoding("日本語のテキスト".as_bytes(), true),
            Encoding::Base64
        );
    }

    #[test]
    fn message_parts_stay_readable() {
        let status = &b"Reporting-MTA: dns; mx.example.com\r\n\r\nAction: failed\r\n"[..];
        let raw = MessageBuilder::new(Entity::bytes("message/delivery-status", status)).to_vec(1);
        let text = String::from_utf8(raw).unwrap();
        assert!(text.contains("Content-Transfer-Encoding: 7bit"), "{text}");
        assert!(text.contains("Action: failed"), "{text}");
    }

    #[test]
    fn long_file_names_use_continuations_and_read_back() {
        let name = "ünïcödé ".repeat(12) + ".txt";
        let raw = MessageBuilder::new(Entity::attachment("text/plain", &name, &b"x"[..])).to_vec(1);
        assert!(raw.split(|&b| b == b'\n').all(|l| l.len() <= 80));
        let m = Message::parse(&raw);
        assert_eq!(m.leaves()[0].1.filename().as_deref(), Some(name.as_str()));
    }

    #[test]
    fn boundaries_avoid_the_content() {
        let mut counter = 0;
        let first = boundary(7, &mut counter, &[]);
        let mut counter = 0;
        let parts = [Entity::text(format!("--{first}\n"))];
        let second = boundary(7, &mut counter, &parts);
        assert_ne!(first, second);
    }
}
