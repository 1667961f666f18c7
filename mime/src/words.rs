//! RFC 2047 encoded words (`=?charset?B|Q?text?=`) in header text, decoded
//! the way mail readers do: adjacent words joined (so a character split
//! across two words survives), words glued to text decoded too, and raw
//! UTF-8 (RFC 6532) or legacy 8-bit text kept readable.

use std::borrow::Cow;

use encoding_rs::Encoding;

use crate::charset::decode_text;
use crate::transfer::decode_base64;

/// Header text decoded to UTF-8, with what had to be repaired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderText<'a> {
    /// The text.
    pub text: Cow<'a, str>,
    /// An encoded word was damaged (bad base64 or escape) or its charset unknown.
    pub bad_encoded_word: bool,
    /// The raw text held 8-bit bytes that are not UTF-8 (read as windows-1252).
    pub non_utf8: bool,
}

/// One encoded word found in the text.
struct Word<'a> {
    start: usize,
    end: usize,
    charset: &'a [u8],
    bytes: Vec<u8>,
    damaged: bool,
}

/// Parses the encoded word that starts at `input[start..]` (which begins with `=?`).
fn word_at(input: &[u8], start: usize) -> Option<Word<'_>> {
    let rest = &input[start + 2..];
    let q1 = memchr::memchr(b'?', rest)?;
    let charset_and_lang = &rest[..q1];
    if charset_and_lang.is_empty()
        || charset_and_lang
            .iter()
            .any(|&b| b <= b' ' || b >= 0x7f || b == b'=')
    {
        return None;
    }
    let charset = match memchr::memchr(b'*', charset_and_lang) {
        Some(star) => &charset_and_lang[..star],
        None => charset_and_lang,
    };
    let encoding = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let text_len = memchr::memmem::find(&rest[text_start..], b"?=")?;
    let text = &rest[text_start..text_start + text_len];
    if text.iter().any(|&b| b == b' ' || b == b'\t') {
        return None;
    }
    let mut bytes = Vec::with_capacity(text.len());
    let damaged = match encoding.to_ascii_uppercase() {
        b'B' => !decode_base64(text, &mut bytes).is_clean(),
        b'Q' => decode_q(text, &mut bytes),
        _ => return None,
    };
    Some(Word {
        start,
        end: start + 2 + text_start + text_len + 2,
        charset,
        bytes,
        damaged,
    })
}

/// The Q encoding (RFC 2047 §4.2); returns true when an escape was bad.
fn decode_q(text: &[u8], out: &mut Vec<u8>) -> bool {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut damaged = false;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => match (
                text.get(i + 1).and_then(|&b| hex(b)),
                text.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => {
                    damaged = true;
                    out.push(b'=');
                }
            },
            b => out.push(b),
        }
        i += 1;
    }
    damaged
}

/// Decodes the encoded words of an unfolded header value (unstructured text,
/// a display name or a parameter value). Whitespace between two encoded
/// words is dropped; words in the same charset are joined before decoding.
pub fn decode_header_text(raw: &[u8]) -> HeaderText<'_> {
    decode_header_text_with(raw, None)
}

/// [`decode_header_text`], reading raw 8-bit text that is not UTF-8 in
/// `fallback` (default windows-1252).
pub fn decode_header_text_with<'a>(
    raw: &'a [u8],
    fallback: Option<&'static Encoding>,
) -> HeaderText<'a> {
    let literal = |bytes| decode_literal(bytes, fallback);
    let mut words: Vec<Word<'_>> = Vec::new();
    let mut from = 0;
    // Header values are short: a search for `=` beats setting up a
    // substring searcher for `=?` each time.
    while let Some(at) = memchr::memchr(b'=', &raw[from..]).map(|i| i + from) {
        if raw.get(at + 1) != Some(&b'?') {
            from = at + 1;
            continue;
        }
        match word_at(raw, at) {
            Some(w) => {
                from = w.end;
                words.push(w);
            }
            None => from = at + 2,
        }
    }
    if words.is_empty() {
        let (text, non_utf8) = literal(raw);
        return HeaderText {
            text,
            bad_encoded_word: false,
            non_utf8,
        };
    }
    let mut text = String::with_capacity(raw.len());
    let mut bad_encoded_word = false;
    let mut non_utf8 = false;
    let mut literal_from = 0;
    let mut i = 0;
    while i < words.len() {
        let between = &raw[literal_from..words[i].start];
        let skip = i > 0
            && between
                .iter()
                .all(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        if !skip {
            let (decoded, bad) = literal(between);
            non_utf8 |= bad;
            text.push_str(&decoded);
        }
        // Join the run of words in this charset separated only by whitespace
        // (not for ISO-2022-JP, whose decoder rejects back-to-back escapes:
        // each of its words is complete anyway).
        let charset = words[i].charset;
        let stateful =
            crate::charset::encoding_for(charset).is_some_and(|e| !e.is_ascii_compatible());
        let mut bytes = std::mem::take(&mut words[i].bytes);
        bad_encoded_word |= words[i].damaged;
        let mut j = i + 1;
        while j < words.len()
            && !stateful
            && words[j].charset.eq_ignore_ascii_case(charset)
            && raw[words[j - 1].end..words[j].start]
                .iter()
                .all(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            bytes.extend_from_slice(&words[j].bytes);
            bad_encoded_word |= words[j].damaged;
            j += 1;
        }
        let decoded = decode_text(&bytes, Some(charset));
        bad_encoded_word |= decoded.unknown_charset || decoded.malformed;
        text.push_str(&decoded.text);
        literal_from = words[j - 1].end;
        i = j;
    }
    let tail = &raw[literal_from..];
    let (decoded, bad) = literal(tail);
    non_utf8 |= bad;
    text.push_str(&decoded);
    HeaderText {
        text: Cow::Owned(text),
        bad_encoded_word,
        non_utf8,
    }
}

/// Raw header text: UTF-8 when valid, else in `fallback` or windows-1252;
/// true when it was not UTF-8.
fn decode_literal<'a>(raw: &'a [u8], fallback: Option<&'static Encoding>) -> (Cow<'a, str>, bool) {
    match simdutf8::basic::from_utf8(raw) {
        Ok(text) => (Cow::Borrowed(text), false),
        Err(_) => {
            let encoding = fallback.unwrap_or(encoding_rs::WINDOWS_1252);
            (encoding.decode_without_bom_handling(raw).0, true)
        }
    }
}

/// Encodes `text` for a header where it is not plain ASCII: as is when it
/// needs no encoding, else as encoded words in UTF-8 choosing B or Q by
/// length, each at most 75 characters, separated by `separator` (a folding
/// point such as `"\r\n "`). `phrase` restricts Q to the characters allowed
/// in a display name (RFC 2047 §5 (3)).
pub fn encode_header_text<'t>(text: &'t str, phrase: bool, separator: &str) -> Cow<'t, str> {
    let needs = text.chars().any(|c| !(' '..='~').contains(&c)) || text.contains("=?");
    if !needs {
        return Cow::Borrowed(text);
    }
    let q_len: usize = text
        .bytes()
        .map(|b| {
            if b == b' ' || q_literal(b, phrase) {
                1
            } else {
                3
            }
        })
        .sum();
    let b_len = text.len().div_ceil(3) * 4;
    let use_b = b_len < q_len;
    const PREFIX: &str = "=?utf-8?q?";
    // Room for text in one word: 75 minus "=?utf-8?x?" and "?=".
    let room = 75 - PREFIX.len() - 2;
    let mut out = String::with_capacity(text.len() * 2);
    let mut chunk = String::new();
    let mut chunk_len = 0;
    let flush = |chunk: &mut String, out: &mut String| {
        if chunk.is_empty() {
            return;
        }
        if !out.is_empty() {
            out.push_str(separator);
        }
        let mut encoded = Vec::new();
        if use_b {
            out.push_str("=?utf-8?b?");
            crate::transfer::encode_base64(chunk.as_bytes(), &mut encoded);
            out.push_str(std::str::from_utf8(&encoded).unwrap_or_default().trim_end());
        } else {
            out.push_str(PREFIX);
            for b in chunk.bytes() {
                if b == b' ' {
                    out.push('_');
                } else if q_literal(b, phrase) {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("={b:02X}"));
                }
            }
        }
        out.push_str("?=");
        chunk.clear();
    };
    for c in text.chars() {
        let mut utf8 = [0; 4];
        let bytes = c.encode_utf8(&mut utf8).as_bytes();
        let cost = if use_b {
            // Base64 grows by thirds: measure the whole chunk.
            (chunk.len() + bytes.len()).div_ceil(3) * 4 - chunk_len
        } else {
            bytes
                .iter()
                .map(|&b| {
                    if b == b' ' || q_literal(b, phrase) {
                        1
                    } else {
                        3
                    }
                })
                .sum()
        };
        if chunk_len + cost > room {
            flush(&mut chunk, &mut out);
            let fresh = if use_b {
                bytes.len().div_ceil(3) * 4
            } else {
                cost
            };
            chunk.push(c);
            chunk_len = fresh;
            continue;
        }
        chunk.push(c);
        chunk_len += cost;
    }
    flush(&mut chunk, &mut out);
    Cow::Owned(out)
}

/// Octets Q may leave as they are (RFC 2047 §4.2, and §5 (3) in a phrase).
fn q_literal(b: u8, phrase: bool) -> bool {
    if phrase {
        b.is_ascii_alphanumeric() || b"!*+-/".contains(&b)
    } else {
        (33..=126).contains(&b) && !b"=?_".contains(&b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_joins_words() {
        let t = decode_header_text(b"=?utf-8?q?caf=C3?= =?utf-8?q?=A9?= ok");
        assert_eq!(t.text, "café ok");
        let t = decode_header_text(b"Re: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\t=?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=");
        assert_eq!(
            t.text,
            "Re: If you can read this you understand the example."
        );
        let t = decode_header_text(b"(=?ISO-8859-1?Q?a?= b)");
        assert_eq!(t.text, "(a b)");
        let t = decode_header_text(b"x=?utf-8?q?y?=");
        assert_eq!(t.text, "xy");
        let t = decode_header_text(b"=?utf-8?q?a b?=");
        assert_eq!(t.text, "=?utf-8?q?a b?=");
        let t = decode_header_text(b"=?x-bogus?q?a?=");
        assert!(t.bad_encoded_word);
        let t = decode_header_text(b"caf\xe9");
        assert_eq!((t.text.as_ref(), t.non_utf8), ("café", true));
    }

    #[test]
    fn encodes_only_where_needed() {
        assert_eq!(encode_header_text("plain", false, " "), "plain");
        let e = encode_header_text("café au lait", false, " ");
        assert_eq!(e, "=?utf-8?q?caf=C3=A9_au_lait?=");
        assert_eq!(decode_header_text(e.as_bytes()).text, "café au lait");
        let long = "日本語のテキスト".repeat(10);
        let e = encode_header_text(&long, false, "\r\n ");
        assert!(e.starts_with("=?utf-8?b?"));
        assert!(e.split("\r\n ").all(|w| w.len() <= 75));
        let unfolded = e.replace("\r\n", "");
        assert_eq!(decode_header_text(unfolded.as_bytes()).text, long);
    }
}
