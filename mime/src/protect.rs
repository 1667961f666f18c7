//! What signed and encrypted messages (PGP/MIME, S/MIME) share: a message
//! split into its envelope fields (From, To, Subject...) and its content
//! entity (the `Content-*` fields and the body), and the entity put back
//! under the envelope fields, wrapped in a new multipart or alone.

use crate::{Body, Header, Message};

/// How a message's content is protected, read from its structure alone
/// ([`Message::security`]); who signed it and whether the signature holds
/// is what `openpgp::verify` and `smime::verify` (features `openpgp`,
/// `smime`) answer, with the reader's keys or trust store.
///
/// Nothing is decrypted behind a reader's back: the body view of an
/// encrypted message (what IMAP and JMAP show) offers only the encrypted
/// part, as a file; a caller holding the key gets, from `openpgp::decrypt`
/// or `smime::decrypt`, the message whose body view shows the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// Neither signed nor encrypted.
    None,
    /// PGP/MIME `multipart/signed` (RFC 3156 §5).
    PgpSigned,
    /// PGP/MIME `multipart/encrypted` (RFC 3156 §4).
    PgpEncrypted,
    /// S/MIME: `multipart/signed` with a PKCS #7 signature, or opaque signed-data.
    SmimeSigned,
    /// S/MIME enveloped-data or authEnveloped-data.
    SmimeEncrypted,
    /// A security multipart (RFC 1847) of another protocol, or one that
    /// lost a part on the way (a stripped signature): treat it as unsigned.
    Damaged,
}

impl Message<'_> {
    /// How the content is protected (see [`Protection`]).
    pub fn security(&self) -> Protection {
        let ct = &self.root.content_type;
        let protocol = ct
            .param("protocol")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let parts = match &self.root.body {
            Body::Multipart { parts, .. } => parts.len(),
            Body::Leaf | Body::Message(_) => 0,
        };
        match (ct.kind.as_ref(), ct.subtype.as_ref()) {
            ("multipart", "signed") if parts != 2 => Protection::Damaged,
            ("multipart", "signed") => match protocol.as_slice() {
                b"application/pgp-signature" => Protection::PgpSigned,
                b"application/pkcs7-signature" | b"application/x-pkcs7-signature" => {
                    Protection::SmimeSigned
                }
                _ => Protection::Damaged,
            },
            ("multipart", "encrypted")
                if parts == 2 && protocol == b"application/pgp-encrypted" =>
            {
                Protection::PgpEncrypted
            }
            ("multipart", "encrypted") => Protection::Damaged,
            ("application", "pkcs7-mime" | "x-pkcs7-mime") => {
                let smime_type = ct
                    .param("smime-type")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                match smime_type.as_slice() {
                    b"signed-data" => Protection::SmimeSigned,
                    b"enveloped-data" | b"authenveloped-data" => Protection::SmimeEncrypted,
                    _ => Protection::Damaged,
                }
            }
            _ => Protection::None,
        }
    }
}

/// A message split at its top header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Every field that is not `Content-*` or `MIME-Version`, as written.
    pub envelope: Vec<u8>,
    /// The `Content-*` fields (a `Content-Type` added when there was none),
    /// the blank line and the body: the MIME entity that gets protected.
    pub entity: Vec<u8>,
}

/// Splits `raw` (CRLF line ends; bare LF is made CRLF) into envelope fields
/// and content entity.
pub fn split(raw: &[u8]) -> Split {
    let raw = crlf(raw);
    let (header, body_start) = Header::parse_top(&raw);
    let mut envelope = Vec::new();
    let mut content = Vec::new();
    for field in header.fields() {
        let bytes = &raw[field.range.clone()];
        let is_content = field.name.len() >= 8 && field.name[..8].eq_ignore_ascii_case(b"content-");
        if is_content {
            content.extend_from_slice(bytes);
        } else if !field.is("MIME-Version") {
            envelope.extend_from_slice(bytes);
        }
    }
    if header.get("Content-Type").is_none() {
        content.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n");
    }
    let mut entity = content;
    entity.extend_from_slice(b"\r\n");
    entity.extend_from_slice(raw.get(body_start..).unwrap_or_default());
    Split { envelope, entity }
}

/// Bare LF made CRLF; CRLF left alone.
pub fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    let mut previous = 0u8;
    for &b in raw {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    out
}

/// A boundary that appears in none of `contents`.
pub fn boundary(random: u128, contents: &[&[u8]]) -> String {
    let mut n = random;
    loop {
        let candidate = format!("=_protected_{n:032x}");
        let clash = contents
            .iter()
            .any(|c| memchr::memmem::find(c, candidate.as_bytes()).is_some());
        if !clash {
            return candidate;
        }
        n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    }
}

/// `envelope` fields, `MIME-Version`, then `content_type` and the body:
/// a whole message.
pub fn assemble(envelope: &[u8], content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(envelope.len() + body.len() + 128);
    out.extend_from_slice(envelope);
    out.extend_from_slice(b"MIME-Version: 1.0\r\nContent-Type: ");
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// A multipart body: `preamble`, then each part (its own header and body)
/// between delimiter lines of `boundary`, then the close delimiter.
pub fn multipart_body(boundary: &str, preamble: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(preamble.as_bytes());
    for part in parts {
        out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
        out.extend_from_slice(part);
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

/// The message with `entity` (a MIME entity: its own `Content-*` fields,
/// blank line, body) in place of the content: envelope fields kept.
pub fn replace_entity(envelope: &[u8], entity: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(envelope.len() + entity.len() + 20);
    out.extend_from_slice(envelope);
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(entity);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_splits_into_envelope_and_entity_and_back() {
        let raw = b"From: a@example.com\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nbody\r\n";
        let s = split(raw);
        assert_eq!(s.envelope, b"From: a@example.com\r\nSubject: hi\r\n");
        assert_eq!(
            s.entity,
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nbody\r\n"
        );
        let back = replace_entity(&s.envelope, &s.entity);
        assert_eq!(
            crate::Message::parse(&back).root.content_type.kind,
            "text",
            "{}",
            String::from_utf8_lossy(&back)
        );
        let plain = split(b"Subject: x\nFrom: b@example.com\n\nline one\nline two\n");
        assert_eq!(
            plain.entity,
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\nline one\r\nline two\r\n"
        );
        assert_eq!(plain.envelope, b"Subject: x\r\nFrom: b@example.com\r\n");
    }

    #[test]
    fn security_reads_the_structure() {
        let cases: [(&[u8], Protection); 6] = [
            (b"Subject: x\r\n\r\nplain\r\n", Protection::None),
            (
                b"Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b\r\n\r\nsig\r\n--b--\r\n",
                Protection::PgpSigned,
            ),
            (
                b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
                Protection::Damaged,
            ),
            (
                b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n--b\r\n\r\nVersion: 1\r\n--b\r\n\r\nx\r\n--b--\r\n",
                Protection::PgpEncrypted,
            ),
            (
                b"Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data\r\n\r\nAAAA\r\n",
                Protection::SmimeEncrypted,
            ),
            (
                b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n\r\nAAAA\r\n",
                Protection::SmimeSigned,
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                Message::parse(raw).security(),
                expected,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn boundaries_avoid_the_content() {
        let first = boundary(7, &[]);
        let clash = format!("text with {first} inside");
        let other = boundary(7, &[clash.as_bytes()]);
        assert_ne!(first, other);
    }
}
