//! Text in any charset to UTF-8, through `encoding_rs`, with the aliases
//! mail uses beyond the WHATWG labels and a fallback for unknown names.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// Labels seen in mail that the WHATWG Encoding Standard does not list.
const MAIL_ALIASES: &[(&str, &Encoding)] = &[
    ("latin-1", WINDOWS_1252),
    ("iso-latin-1", WINDOWS_1252),
    ("cp-1252", WINDOWS_1252),
    ("win-1252", WINDOWS_1252),
    ("8859-1", WINDOWS_1252),
    ("utf8mb4", UTF_8),
    ("unicode-1-1-utf-8", UTF_8),
    ("shift-jis", encoding_rs::SHIFT_JIS),
    ("cp932", encoding_rs::SHIFT_JIS),
    ("x-euc-jp", encoding_rs::EUC_JP),
    ("iso-2022-jp-1", encoding_rs::ISO_2022_JP),
    ("iso-2022-jp-2", encoding_rs::ISO_2022_JP),
    ("iso-2022-jp-3", encoding_rs::ISO_2022_JP),
    ("ks_c_5601", encoding_rs::EUC_KR),
    ("ks_c_5601-1989", encoding_rs::EUC_KR),
    ("euckr", encoding_rs::EUC_KR),
    ("cp949", encoding_rs::EUC_KR),
    ("uhc", encoding_rs::EUC_KR),
    ("gb_2312-80", encoding_rs::GBK),
    ("cp936", encoding_rs::GBK),
    ("euc-cn", encoding_rs::GBK),
    ("big5hkscs", encoding_rs::BIG5),
    ("cp950", encoding_rs::BIG5),
    ("tis620", encoding_rs::WINDOWS_874),
    ("cp874", encoding_rs::WINDOWS_874),
    ("koi8r", encoding_rs::KOI8_R),
    ("koi8u", encoding_rs::KOI8_U),
];

/// The encoding a charset label names: the WHATWG labels (which already map
/// `us-ascii` and `iso-8859-1` to windows-1252, as mail readers do), the same
/// with `_` read as `-`, then common mail aliases. `None` when unknown.
pub fn encoding_for(label: &[u8]) -> Option<&'static Encoding> {
    let label = crate::header::trim(label);
    let label = label
        .strip_prefix(b"\"")
        .and_then(|l| l.strip_suffix(b"\""))
        .unwrap_or(label);
    if let Some(e) = Encoding::for_label_no_replacement(label) {
        return Some(e);
    }
    let normal: Vec<u8> = label
        .iter()
        .map(|&b| {
            if b == b'_' {
                b'-'
            } else {
                b.to_ascii_lowercase()
            }
        })
        .collect();
    if let Some(e) = Encoding::for_label_no_replacement(&normal) {
        return Some(e);
    }
    // cp125x and windows-125x written without the dash or with "ms-".
    let name = std::str::from_utf8(&normal).ok()?;
    if let Some(number) = name
        .strip_prefix("cp")
        .or_else(|| name.strip_prefix("ms-"))
        .or_else(|| name.strip_prefix("windows"))
        && number.len() == 4
        && let Some(e) = Encoding::for_label_no_replacement(format!("windows-{number}").as_bytes())
    {
        return Some(e);
    }
    MAIL_ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, e)| *e)
}

/// Text decoded to UTF-8, and whether that needed guessing or replacing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedText<'a> {
    /// The text.
    pub text: Cow<'a, str>,
    /// The charset was unknown, so UTF-8 or else windows-1252 was assumed.
    pub unknown_charset: bool,
    /// Some bytes were not valid in the charset and became U+FFFD.
    pub malformed: bool,
}

/// Decodes `bytes` in the charset `label` (none given: UTF-8 if it is valid,
/// as RFC 6532 allows, else windows-1252). An unknown label is read the
/// same way and flagged. Borrows when the bytes are already valid UTF-8 in
/// an ASCII-compatible charset.
pub fn decode_text<'a>(bytes: &'a [u8], label: Option<&[u8]>) -> DecodedText<'a> {
    let (encoding, unknown_charset) = chosen(label);
    let (text, malformed) = match as_utf8(bytes, encoding) {
        Some(text) => (Cow::Borrowed(text), false),
        None => decode_other(bytes, encoding),
    };
    DecodedText {
        text,
        unknown_charset,
        malformed,
    }
}

/// [`decode_text`] of owned bytes: text that is already UTF-8 keeps its buffer.
pub(crate) fn decode_text_owned(bytes: Vec<u8>, label: Option<&[u8]>) -> DecodedText<'static> {
    let (encoding, unknown_charset) = chosen(label);
    // Text that reads as UTF-8 as it is keeps its buffer, validated once.
    let as_it_is = match encoding {
        None => true,
        Some(e) if e == UTF_8 => !bytes.starts_with(b"\xEF\xBB\xBF"),
        Some(e) => e.is_ascii_compatible() && bytes.is_ascii(),
    };
    let bytes = if as_it_is {
        match crate::wide::utf8_string(bytes) {
            Ok(text) => {
                return DecodedText {
                    text: Cow::Owned(text),
                    unknown_charset,
                    malformed: false,
                };
            }
            Err(bytes) => bytes,
        }
    } else {
        bytes
    };
    let (text, malformed) = match as_utf8(&bytes, encoding) {
        Some(text) => (text.to_owned(), false),
        None => {
            let (text, malformed) = decode_other(&bytes, encoding);
            (text.into_owned(), malformed)
        }
    };
    DecodedText {
        text: Cow::Owned(text),
        unknown_charset,
        malformed,
    }
}

/// The encoding `label` names (`None`: guess), and whether the label was unknown.
fn chosen(label: Option<&[u8]>) -> (Option<&'static Encoding>, bool) {
    match label.map(encoding_for) {
        Some(None) => (None, true),
        Some(found) => (found, false),
        None => (None, false),
    }
}

/// `bytes` as they are, when that reads them right: UTF-8 (BOM dropped),
/// or ASCII in an ASCII-compatible charset, or a guess that finds valid UTF-8.
fn as_utf8<'a>(bytes: &'a [u8], encoding: Option<&'static Encoding>) -> Option<&'a str> {
    match encoding {
        None => simdutf8::basic::from_utf8(bytes).ok(),
        Some(e) if e == UTF_8 => {
            simdutf8::basic::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).ok()
        }
        // Every ASCII-compatible encoding reads ASCII as itself.
        Some(e) if e.is_ascii_compatible() && bytes.is_ascii() => {
            simdutf8::basic::from_utf8(bytes).ok()
        }
        Some(_) => None,
    }
}

/// Decodes what [`as_utf8`] could not take as it is: a guess that is not
/// UTF-8 is windows-1252 (which maps every byte).
fn decode_other<'a>(bytes: &'a [u8], encoding: Option<&'static Encoding>) -> (Cow<'a, str>, bool) {
    let encoding = encoding.unwrap_or(WINDOWS_1252);
    let bytes = if encoding == UTF_8 {
        bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
    } else {
        bytes
    };
    encoding.decode_without_bom_handling(bytes)
}

/// `bytes` as text, invalid UTF-8 replaced: like `String::from_utf8_lossy`,
/// with the fast validation for the usual case of valid input.
pub(crate) fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_encodings_by_mail_labels() {
        for (label, name) in [
            ("UTF-8", "UTF-8"),
            ("us-ascii", "windows-1252"),
            ("ISO_8859-15", "ISO-8859-15"),
            ("iso8859_1", "windows-1252"),
            ("cp1251", "windows-1251"),
            ("\"koi8-r\"", "KOI8-R"),
            ("ks_c_5601-1987", "EUC-KR"),
            ("iso-2022-jp", "ISO-2022-JP"),
            ("gb2312", "GBK"),
            ("shift-jis", "Shift_JIS"),
        ] {
            assert_eq!(
                encoding_for(label.as_bytes()).map(|e| e.name()),
                Some(name),
                "{label}"
            );
        }
        assert!(encoding_for(b"x-no-such").is_none());
    }

    #[test]
    fn decodes_and_falls_back() {
        let t = decode_text(b"caf\xe9", Some(b"iso-8859-1"));
        assert_eq!(t.text, "café");
        let t = decode_text(b"\x1b$B$3$s$K$A$O\x1b(B", Some(b"ISO-2022-JP"));
        assert_eq!(t.text, "こんにちは");
        let t = decode_text("café".as_bytes(), Some(b"unknown-8bit"));
        assert_eq!((t.text.as_ref(), t.unknown_charset), ("café", true));
        let t = decode_text(b"caf\xe9", None);
        assert_eq!(t.text, "café");
        let t = decode_text(b"\xff", Some(b"utf-8"));
        assert!(t.malformed);
    }
}
