//! Mailbox names, and the modified UTF-7 of RFC 3501 §5.1.3.

use std::fmt;

use super::Str;

use super::{InvalidValue, invalid};

/// A mailbox name as it travels on the wire: modified UTF-7, or UTF-8 once
/// UTF8=ACCEPT is enabled. `INBOX` in any case is kept as `INBOX`, since
/// that name is case-insensitive (RFC 9051 §5.1).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mailbox(Str);

impl Mailbox {
    /// The inbox.
    pub fn inbox() -> Self {
        Mailbox(Str::from_static(b"INBOX"))
    }

    /// A mailbox from its wire octets; NUL, CR and LF are refused.
    pub fn new(name: impl Into<Str>) -> Result<Self, InvalidValue> {
        let name = name.into();
        if name.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')) {
            return Err(invalid("mailbox name"));
        }
        Ok(Self::from_valid(name))
    }

    pub(crate) fn from_valid(name: Str) -> Self {
        if name.eq_ignore_ascii_case(b"INBOX") {
            Self::inbox()
        } else {
            Mailbox(name)
        }
    }

    /// A mailbox from a Unicode name, encoded in modified UTF-7 for the wire.
    pub fn from_name(name: &str) -> Result<Self, InvalidValue> {
        Self::new(encode_modified_utf7(name))
    }

    /// A mailbox from a Unicode name sent as UTF-8 (after `ENABLE UTF8=ACCEPT`).
    pub fn from_utf8_name(name: &str) -> Result<Self, InvalidValue> {
        Self::new(Str::copy_from_slice(name.as_bytes()))
    }

    /// True for the inbox.
    pub fn is_inbox(&self) -> bool {
        self.0.as_ref() == b"INBOX"
    }

    /// The wire octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The wire octets, shared.
    pub fn to_bytes(&self) -> Str {
        self.0.clone()
    }

    /// The Unicode name: modified UTF-7 decoded when the octets are valid
    /// modified UTF-7, else the octets read as UTF-8 (lossily).
    pub fn name(&self) -> String {
        decode_modified_utf7(&self.0).unwrap_or_else(|| String::from_utf8_lossy(&self.0).into())
    }
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mailbox({:?})", String::from_utf8_lossy(&self.0))
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encodes a Unicode mailbox name in modified UTF-7.
pub fn encode_modified_utf7(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut units: Vec<u16> = Vec::new();
    let flush = |units: &mut Vec<u16>, out: &mut String| {
        if units.is_empty() {
            return;
        }
        out.push('&');
        let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
        for chunk in bytes.chunks(3) {
            let n = chunk.len();
            let v = (u32::from(chunk[0]) << 16)
                | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
                | u32::from(*chunk.get(2).unwrap_or(&0));
            for i in 0..=n {
                out.push(B64[((v >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out.push('-');
        units.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut units, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut units, &mut out);
    out
}

/// Decodes modified UTF-7; `None` when the octets are not valid modified
/// UTF-7 in its canonical form.
pub fn decode_modified_utf7(wire: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(wire.len());
    let mut i = 0;
    while i < wire.len() {
        let b = wire[i];
        if !(0x20..=0x7e).contains(&b) {
            return None;
        }
        if b != b'&' {
            out.push(b as char);
            i += 1;
            continue;
        }
        let end = i + 1 + wire[i + 1..].iter().position(|&c| c == b'-')?;
        let encoded = &wire[i + 1..end];
        i = end + 1;
        if encoded.is_empty() {
            out.push('&');
            continue;
        }
        let mut bits = 0u32;
        let mut nbits = 0;
        let mut units = Vec::new();
        for &c in encoded {
            let v = B64.iter().position(|&x| x == c)? as u32;
            bits = (bits << 6) | v;
            nbits += 6;
            if nbits >= 16 {
                nbits -= 16;
                units.push((bits >> nbits) as u16);
                bits &= (1 << nbits) - 1;
            }
        }
        // Leftover bits must be zero padding of fewer than six bits.
        if nbits >= 6 || bits != 0 {
            return None;
        }
        let text = String::from_utf16(&units).ok()?;
        // Printable ASCII must not be encoded (canonical form).
        if text.chars().any(|c| (' '..='~').contains(&c)) {
            return None;
        }
        out.push_str(&text);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_examples() {
        assert_eq!(
            encode_modified_utf7("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(
            decode_modified_utf7(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-").as_deref(),
            Some("~peter/mail/台北/日本語")
        );
        assert_eq!(encode_modified_utf7("A&B"), "A&-B");
        assert_eq!(decode_modified_utf7(b"A&-B").as_deref(), Some("A&B"));
        assert_eq!(encode_modified_utf7("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(decode_modified_utf7(b"&Jjo-!").as_deref(), Some("☺!"));
        assert_eq!(encode_modified_utf7("😀"), "&2D3eAA-");
        assert_eq!(decode_modified_utf7(b"&2D3eAA-").as_deref(), Some("😀"));
    }

    #[test]
    fn refuses_malformed() {
        assert_eq!(decode_modified_utf7(b"&U,BTFw"), None); // unterminated
        assert_eq!(decode_modified_utf7(b"&AGE-"), None); // encodes ASCII 'a'
        assert_eq!(decode_modified_utf7(b"&U/BTFw-"), None); // '/' is not modified base64
        assert_eq!(decode_modified_utf7("ü".as_bytes()), None);
        assert_eq!(decode_modified_utf7(b"&2D0-"), None); // lone surrogate
    }

    #[test]
    fn inbox_is_case_insensitive() {
        assert!(Mailbox::new("inBox").unwrap().is_inbox());
        assert_eq!(Mailbox::new("inbox").unwrap(), Mailbox::inbox());
        assert!(Mailbox::new("a\r\nb").is_err());
        assert_eq!(
            Mailbox::from_name("Entwürfe").unwrap().as_bytes(),
            b"Entw&APw-rfe"
        );
        assert_eq!(Mailbox::new("Entw&APw-rfe").unwrap().name(), "Entwürfe");
    }
}
