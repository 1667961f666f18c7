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
            let encoding = encoding.unwrap_or(WINDOWS_1252);
            if encoding.is_single_byte() {
                single_byte_in_place(bytes, encoding)
            } else {
                let (text, malformed) = decode_other(&bytes, Some(encoding));
                (text.into_owned(), malformed)
            }
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
    let (text, malformed) = decode_sized(bytes, encoding);
    (Cow::Owned(text), malformed)
}

/// `bytes` decoded into a string of exactly the size it needs (decoders
/// otherwise reserve for the worst case, three times the input or more).
fn decode_sized(bytes: &[u8], encoding: &'static Encoding) -> (String, bool) {
    let size = if encoding.is_single_byte() {
        let table = single_byte_table(encoding);
        bytes.len() + extra_octets(bytes, &table)
    } else if encoding == encoding_rs::ISO_2022_JP
        || encoding == encoding_rs::UTF_16BE
        || encoding == encoding_rs::UTF_16LE
    {
        // Octets that are ASCII may still become three-octet characters:
        // measured by a first decoding into a small buffer.
        decoded_len(bytes, encoding)
    } else {
        // In the other multi-octet charsets a character of n octets, at
        // least one of them non-ASCII, needs at most n + 2 in UTF-8; a
        // replacement character needs three for its one non-ASCII octet.
        bytes.len() + 2 * bytes.iter().filter(|&&b| b >= 0x80).count()
    };
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut text = String::with_capacity(size);
    let (result, mut read, mut malformed) = decoder.decode_to_string(bytes, &mut text, true);
    if result == encoding_rs::CoderResult::InputEmpty {
        return (text, malformed);
    }
    // Decoders stop while the space left is below their worst case for
    // one character: the last characters go through a small buffer.
    let mut scratch = [0u8; 256];
    loop {
        let (result, used, written, replaced) =
            decoder.decode_to_utf8(&bytes[read..], &mut scratch, true);
        read += used;
        malformed |= replaced;
        // The decoder writes whole characters only.
        text.push_str(std::str::from_utf8(&scratch[..written]).unwrap_or_default());
        if result == encoding_rs::CoderResult::InputEmpty {
            return (text, malformed);
        }
    }
}

/// How long `bytes` are in UTF-8, decoded from `encoding`.
fn decoded_len(bytes: &[u8], encoding: &'static Encoding) -> usize {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut scratch = [0u8; 1024];
    let (mut read, mut len) = (0, 0);
    loop {
        let (result, used, written, _) = decoder.decode_to_utf8(&bytes[read..], &mut scratch, true);
        read += used;
        len += written;
        if result == encoding_rs::CoderResult::InputEmpty {
            return len;
        }
    }
}

/// What each octet from 0x80 up reads as in a single-byte `encoding`
/// (U+FFFD where it maps to nothing).
fn single_byte_table(encoding: &'static Encoding) -> [char; 128] {
    let mut high = [0u8; 128];
    for (i, b) in high.iter_mut().enumerate() {
        *b = 0x80 + i as u8;
    }
    let mut table = [char::REPLACEMENT_CHARACTER; 128];
    let (decoded, _) = encoding.decode_without_bom_handling(&high);
    for (slot, c) in table.iter_mut().zip(decoded.chars()) {
        *slot = c;
    }
    table
}

/// The octets `bytes` gain in UTF-8 through `table`.
fn extra_octets(bytes: &[u8], table: &[char; 128]) -> usize {
    bytes
        .iter()
        .filter(|&&b| b >= 0x80)
        .map(|&b| table[usize::from(b - 0x80)].len_utf8() - 1)
        .sum()
}

/// `bytes` in a single-byte `encoding` converted to UTF-8 in their own
/// buffer, from the end backwards (each octet becomes one character of one
/// to three octets), so no second buffer is needed.
fn single_byte_in_place(mut bytes: Vec<u8>, encoding: &'static Encoding) -> (String, bool) {
    let table = single_byte_table(encoding);
    let old_len = bytes.len();
    let new_len = old_len + extra_octets(&bytes, &table);
    let mut malformed = false;
    bytes.resize(new_len, 0);
    // Invariant: `write` >= `read`, so what is still to be read is intact.
    let (mut read, mut write) = (old_len, new_len);
    while read > 0 {
        let run = bytes[..read]
            .iter()
            .rposition(|&b| b >= 0x80)
            .map_or(0, |i| i + 1);
        write -= read - run;
        bytes.copy_within(run..read, write);
        if run == 0 {
            break;
        }
        let c = table[usize::from(bytes[run - 1] - 0x80)];
        malformed |= c == char::REPLACEMENT_CHARACTER;
        let mut utf8 = [0u8; 4];
        let utf8 = c.encode_utf8(&mut utf8).as_bytes();
        write -= utf8.len();
        bytes[write..write + utf8.len()].copy_from_slice(utf8);
        read = run - 1;
    }
    match crate::wide::utf8_string(bytes) {
        Ok(text) => (text, malformed),
        Err(bytes) => (String::from_utf8_lossy(&bytes).into_owned(), true),
    }
}

/// `bytes` as text, invalid UTF-8 replaced: like `String::from_utf8_lossy`,
/// with the fast validation for the usual case of valid input.
pub(crate) fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(text) = crate::wide::ascii_str(bytes) {
        return Cow::Borrowed(text);
    }
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

    proptest::proptest! {
        /// The sized and in-place conversions read every charset as
        /// `encoding_rs` does, replacement characters included.
        #[test]
        fn sized_and_in_place_decoding_match_encoding_rs(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            which in 0usize..10,
        ) {
            let encoding = [
                WINDOWS_1252,
                encoding_rs::ISO_8859_2,
                encoding_rs::ISO_8859_8,
                encoding_rs::KOI8_R,
                encoding_rs::WINDOWS_874,
                encoding_rs::SHIFT_JIS,
                encoding_rs::GBK,
                encoding_rs::ISO_2022_JP,
                encoding_rs::UTF_16LE,
                UTF_8,
            ][which];
            let (want, want_malformed) = encoding.decode_without_bom_handling(&bytes);
            let (sized, malformed) = decode_sized(&bytes, encoding);
            proptest::prop_assert_eq!(sized.as_str(), want.as_ref());
            // Exact where it is measured; within the bound elsewhere.
            let measured = encoding.is_single_byte()
                || [encoding_rs::ISO_2022_JP, encoding_rs::UTF_16LE].contains(&encoding);
            if measured {
                proptest::prop_assert_eq!(sized.len(), sized.capacity());
            } else {
                proptest::prop_assert!(sized.capacity() <= 3 * bytes.len().max(1));
            }
            proptest::prop_assert_eq!(malformed, want_malformed);
            if encoding.is_single_byte() {
                let (in_place, malformed) = single_byte_in_place(bytes.clone(), encoding);
                proptest::prop_assert_eq!(in_place.as_str(), want.as_ref());
                proptest::prop_assert_eq!(malformed, want_malformed);
            }
        }
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
