//! Content-Transfer-Encoding (RFC 2045 §6): decoding base64, quoted-printable
//! and uuencode, and encoding base64 and quoted-printable for the builder.

/// A `Content-Transfer-Encoding` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferEncoding {
    /// `7bit`, the default: the body is as written.
    SevenBit,
    /// `8bit`: as written.
    EightBit,
    /// `binary`: as written.
    Binary,
    /// `quoted-printable`.
    QuotedPrintable,
    /// `base64`.
    Base64,
    /// `x-uuencode` and its aliases (`uuencode`, `uue`, `x-uue`).
    UuEncode,
    /// Any other value, lowercased: the body is left as written.
    Other(String),
}

impl TransferEncoding {
    /// Reads a field value; case and surrounding whitespace do not matter.
    pub fn parse(value: &[u8]) -> Self {
        let v = crate::header::trim(value);
        let is = |name: &str| v.eq_ignore_ascii_case(name.as_bytes());
        if v.is_empty() || is("7bit") {
            TransferEncoding::SevenBit
        } else if is("quoted-printable") {
            TransferEncoding::QuotedPrintable
        } else if is("base64") {
            TransferEncoding::Base64
        } else if is("8bit") {
            TransferEncoding::EightBit
        } else if is("binary") {
            TransferEncoding::Binary
        } else if ["x-uuencode", "uuencode", "uue", "x-uue"]
            .into_iter()
            .any(is)
        {
            TransferEncoding::UuEncode
        } else {
            TransferEncoding::Other(crate::charset::lossy(v).to_ascii_lowercase())
        }
    }

    /// The name as written in a header field.
    pub fn as_str(&self) -> &str {
        match self {
            TransferEncoding::SevenBit => "7bit",
            TransferEncoding::EightBit => "8bit",
            TransferEncoding::Binary => "binary",
            TransferEncoding::QuotedPrintable => "quoted-printable",
            TransferEncoding::Base64 => "base64",
            TransferEncoding::UuEncode => "x-uuencode",
            TransferEncoding::Other(name) => name,
        }
    }
}

/// What went wrong while decoding, if anything (the output is still usable).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeFlaws {
    /// Base64: characters outside the alphabet were skipped.
    pub invalid_characters: bool,
    /// Base64: the data did not end on a 4-character boundary, or a lone
    /// character was left over and dropped.
    pub bad_padding: bool,
    /// Quoted-printable: an `=` not followed by two hex digits or a line break, kept as is.
    pub bad_escape: bool,
    /// Uuencode: no `begin` line, a bad line or no `end` line.
    pub bad_uuencode: bool,
}

impl DecodeFlaws {
    /// True when nothing went wrong.
    pub fn is_clean(&self) -> bool {
        *self == DecodeFlaws::default()
    }
}

const INVALID: u32 = 0x100;

/// Alphabet value of each octet; [`INVALID`] for the rest (`=` included).
const BASE64_VALUE: [u32; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = BASE64_ALPHABET;
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u32;
        i += 1;
    }
    table
};

/// The four alphabet values shifted into place and merged: each table maps a
/// character at one position of a quad to its bits of the 24-bit group, with
/// a high bit set for characters outside the alphabet.
const fn shifted(shift: u32) -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let v = BASE64_VALUE[i];
        table[i] = if v == INVALID {
            0x0100_0000
        } else {
            v << shift
        };
        i += 1;
    }
    table
}
const QUAD0: [u32; 256] = shifted(18);
const QUAD1: [u32; 256] = shifted(12);
const QUAD2: [u32; 256] = shifted(6);
const QUAD3: [u32; 256] = shifted(0);

/// The 24 bits four characters stand for, with a bit above them set when
/// any of them is outside the alphabet.
#[inline]
fn quad_bits(c: &[u8]) -> u32 {
    QUAD0[c[0] as usize] | QUAD1[c[1] as usize] | QUAD2[c[2] as usize] | QUAD3[c[3] as usize]
}

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Decodes base64, appending to `out`. Line breaks and whitespace are
/// skipped; other characters outside the alphabet are skipped and flagged;
/// decoding stops at the first complete padding (`=`), as mail readers do.
pub fn decode_base64(input: &[u8], out: &mut Vec<u8>) -> DecodeFlaws {
    decode_base64_with(input, out, true)
}

/// [`decode_base64`] without the vector instructions, to check them against.
#[doc(hidden)]
pub fn decode_base64_portable(input: &[u8], out: &mut Vec<u8>) -> DecodeFlaws {
    decode_base64_with(input, out, false)
}

fn decode_base64_with(input: &[u8], out: &mut Vec<u8>, wide: bool) -> DecodeFlaws {
    let mut flaws = DecodeFlaws::default();
    // The most base64 can give, and the 8 octets of room the vector path
    // writes past it, so it never has to grow the buffer.
    out.reserve(input.len() / 4 * 3 + 8);
    let mut quad = [0u8; 4];
    let mut filled = 0usize;
    let mut pads = 0usize;
    let mut i = 0;
    while i < input.len() {
        // Fast path: whole quads of clean alphabet at a quad boundary.
        if filled == 0 {
            if wide {
                i += crate::wide::decode_blocks(&input[i..], out);
            }
            while i + 8 <= input.len() {
                let (a, b) = (quad_bits(&input[i..i + 4]), quad_bits(&input[i + 4..i + 8]));
                if (a | b) & 0xFF00_0000 != 0 {
                    break;
                }
                out.extend_from_slice(&[
                    (a >> 16) as u8,
                    (a >> 8) as u8,
                    a as u8,
                    (b >> 16) as u8,
                    (b >> 8) as u8,
                    b as u8,
                ]);
                i += 8;
            }
            // The rest of a line of 76: one more quad.
            if i + 4 <= input.len() {
                let a = quad_bits(&input[i..i + 4]);
                if a & 0xFF00_0000 == 0 {
                    out.extend_from_slice(&[(a >> 16) as u8, (a >> 8) as u8, a as u8]);
                    i += 4;
                }
            }
            // The line break.
            if input.get(i..i + 2) == Some(b"\r\n") {
                i += 2;
                continue;
            }
            if i >= input.len() {
                break;
            }
        }
        let c = input[i];
        i += 1;
        let v = BASE64_VALUE[c as usize];
        if v == INVALID {
            if c == b'=' {
                if filled >= 2 {
                    pads += 1;
                    if filled + pads >= 4 {
                        break;
                    }
                }
            } else if !matches!(c, b'\r' | b'\n' | b' ' | b'\t') {
                flaws.invalid_characters = true;
            }
            continue;
        }
        pads = 0;
        quad[filled] = v as u8;
        filled += 1;
        if filled == 4 {
            let n = (u32::from(quad[0]) << 18)
                | (u32::from(quad[1]) << 12)
                | (u32::from(quad[2]) << 6)
                | u32::from(quad[3]);
            out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
            filled = 0;
        }
    }
    let n = (u32::from(quad[0]) << 18) | (u32::from(quad[1]) << 12) | (u32::from(quad[2]) << 6);
    match filled {
        0 => {}
        1 => flaws.bad_padding = true,
        2 => out.push((n >> 16) as u8),
        _ => out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8]),
    }
    if filled >= 2 && filled + pads < 4 {
        flaws.bad_padding = true;
    }
    flaws
}

/// Encodes `input` as base64 in lines of 76 characters ending in CRLF.
pub fn encode_base64(input: &[u8], out: &mut Vec<u8>) {
    out.reserve(input.len() / 57 * 78 + 80);
    for line in input.chunks(57) {
        for group in line.chunks(3) {
            let n = (u32::from(group[0]) << 16)
                | (u32::from(*group.get(1).unwrap_or(&0)) << 8)
                | u32::from(*group.get(2).unwrap_or(&0));
            let chars = [
                BASE64_ALPHABET[(n >> 18) as usize & 63],
                BASE64_ALPHABET[(n >> 12) as usize & 63],
                if group.len() > 1 {
                    BASE64_ALPHABET[(n >> 6) as usize & 63]
                } else {
                    b'='
                },
                if group.len() > 2 {
                    BASE64_ALPHABET[n as usize & 63]
                } else {
                    b'='
                },
            ];
            out.extend_from_slice(&chars);
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// The top bit of each octet of a word.
const TOPS: u64 = 0x8080_8080_8080_8080;

/// The top bit set in exactly the octets of `x` equal to `b` (no carries
/// between octets: each is tested on its low seven bits, then its top one).
fn is_byte(x: u64, b: u8) -> u64 {
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let y = x ^ (u64::from(b) * 0x0101_0101_0101_0101);
    !(((y & LOW) + LOW) | y) & TOPS
}

/// Marks an octet that is no hexadecimal digit in [`HEX_VALUE`].
const NOT_HEX: u8 = 0xFF;

/// The value of each hexadecimal digit (either case), [`NOT_HEX`] for other octets.
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'A' as usize + i] = 10 + i as u8;
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Decodes quoted-printable (RFC 2045 §6.7), appending to `out`: `=XX`
/// escapes (either case), soft line breaks (`=` then optional whitespace
/// and a line break), and trailing whitespace on each line removed as the
/// RFC says; line breaks are kept as written. An `=` that starts nothing
/// valid is kept and flagged.
pub fn decode_quoted_printable(input: &[u8], out: &mut Vec<u8>) -> DecodeFlaws {
    let mut flaws = DecodeFlaws::default();
    let start = out.len();
    // Decoding never lengthens: write into a zeroed tail, cut it at the end.
    // (The room an escape leaves lets text in a single-byte charset become
    // UTF-8 in the same buffer: see `charset`.)
    out.resize(start + input.len(), 0);
    let buf = &mut out[start..];
    let mut w = 0;
    // Where the line's output ends without its trailing blanks (RFC 2045
    // §6.7 (3): blanks at a line end were added in transport); a CR just
    // before the LF belongs to the line break.
    let mut keep = 0;
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        match b {
            b'=' => {
                let h = input.get(i + 1).map_or(NOT_HEX, |&c| HEX_VALUE[c as usize]);
                let l = input.get(i + 2).map_or(NOT_HEX, |&c| HEX_VALUE[c as usize]);
                if (h | l) < 16 {
                    buf[w] = h << 4 | l;
                    w += 1;
                    keep = w;
                    i += 3;
                    continue;
                }
                // `=` and nothing but blanks to the line end: a soft line break.
                let (rest_end, eol) = match memchr::memchr(b'\n', &input[i + 1..]) {
                    Some(n) => (i + 1 + n, 1),
                    None => (input.len(), 0),
                };
                let mut rest = &input[i + 1..rest_end];
                if eol == 1 {
                    rest = rest.strip_suffix(b"\r").unwrap_or(rest);
                }
                if trim_trailing_whitespace(rest).is_empty() {
                    keep = w;
                    i = rest_end + eol;
                } else {
                    flaws.bad_escape = true;
                    buf[w] = b'=';
                    w += 1;
                    keep = w;
                    i += 1;
                }
            }
            b'\n' => {
                w = keep;
                if i > 0 && input[i - 1] == b'\r' {
                    buf[w] = b'\r';
                    w += 1;
                }
                buf[w] = b'\n';
                w += 1;
                keep = w;
                i += 1;
            }
            _ => {
                // Eight octets at a time while none of them is `=`, CR or LF.
                if let Some(chunk) = input.get(i..i + 8) {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(chunk);
                    let x = u64::from_le_bytes(word);
                    if is_byte(x, b'=') | is_byte(x, b'\r') | is_byte(x, b'\n') == 0 {
                        buf[w..w + 8].copy_from_slice(chunk);
                        let text = !(is_byte(x, b' ') | is_byte(x, b'\t')) & TOPS;
                        if text != 0 {
                            // The last octet that is not a blank ends the kept text.
                            keep = w + 8 - (text.leading_zeros() / 8) as usize;
                        }
                        w += 8;
                        i += 8;
                        continue;
                    }
                }
                buf[w] = b;
                w += 1;
                let blank =
                    b == b' ' || b == b'\t' || (b == b'\r' && input.get(i + 1) == Some(&b'\n'));
                if !blank {
                    keep = w;
                }
                i += 1;
            }
        }
    }
    // The last line, without a line break, loses its trailing blanks too.
    out.truncate(start + keep);
    flaws
}

fn trim_trailing_whitespace(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |e| e + 1);
    &line[..end]
}

/// Encodes `input` as quoted-printable with CRLF line ends and lines of at
/// most 76 characters. With `text`, line breaks (CRLF or LF) in the input
/// are written as line breaks; otherwise CR and LF are escaped.
pub fn encode_quoted_printable(input: &[u8], text: bool, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(input.len() + input.len() / 8);
    let mut column = 0;
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if text && (b == b'\n' || (b == b'\r' && input.get(i + 1) == Some(&b'\n'))) {
            out.extend_from_slice(b"\r\n");
            column = 0;
            i += if b == b'\r' { 2 } else { 1 };
            continue;
        }
        let at_line_end = !text
            || match input.get(i + 1) {
                None => true,
                Some(b'\n') => true,
                Some(b'\r') => input.get(i + 2) == Some(&b'\n'),
                _ => false,
            };
        let literal = match b {
            b'=' => false,
            b' ' | b'\t' => !at_line_end,
            33..=126 => true,
            _ => false,
        };
        let width = if literal { 1 } else { 3 };
        if column + width > 75 {
            out.extend_from_slice(b"=\r\n");
            column = 0;
        }
        if literal {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        column += width;
        i += 1;
    }
}

/// Decodes a uuencoded body (`begin MODE NAME` ... `end`), appending the
/// file's bytes to `out`; returns the file name. Lines a broken encoder cut
/// short are decoded as far as they go.
pub fn decode_uuencode(input: &[u8], out: &mut Vec<u8>) -> (Option<Vec<u8>>, DecodeFlaws) {
    let mut flaws = DecodeFlaws::default();
    let mut lines = input
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let mut name = None;
    for line in lines.by_ref() {
        if let Some(rest) = line.strip_prefix(b"begin ") {
            let mut it = rest.splitn(2, |&b| b == b' ');
            let mode = it.next().unwrap_or_default();
            if !mode.is_empty() && mode.iter().all(|b| (b'0'..=b'7').contains(b)) {
                name = Some(it.next().unwrap_or_default().to_vec());
                break;
            }
        }
    }
    if name.is_none() {
        flaws.bad_uuencode = true;
        return (None, flaws);
    }
    let mut ended = false;
    for line in lines {
        if crate::header::trim(line) == b"end" {
            ended = true;
            break;
        }
        if line.is_empty() {
            break;
        }
        let count = usize::from(line[0].wrapping_sub(b' ') & 63);
        let mut produced = 0;
        for group in line[1..].chunks(4) {
            if produced >= count {
                break;
            }
            let v = |k: usize| u32::from(group.get(k).map_or(0, |&c| c.wrapping_sub(b' ') & 63));
            let n = (v(0) << 18) | (v(1) << 12) | (v(2) << 6) | v(3);
            for byte in [(n >> 16) as u8, (n >> 8) as u8, n as u8] {
                if produced < count {
                    out.push(byte);
                    produced += 1;
                }
            }
        }
        if produced < count {
            flaws.bad_uuencode = true;
        }
    }
    if !ended {
        flaws.bad_uuencode = true;
    }
    (name, flaws)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &[u8]) -> (Vec<u8>, DecodeFlaws) {
        let mut out = Vec::new();
        let flaws = decode_base64(s, &mut out);
        (out, flaws)
    }

    #[test]
    fn base64_tolerates_breaks_and_flags_garbage() {
        assert_eq!(b64(b"aGVsbG8gd29y\r\nbGQ=\r\n").0, b"hello world");
        assert!(b64(b"aGVsbG8gd29y\r\nbGQ=\r\n").1.is_clean());
        let (out, flaws) = b64(b"aGV*sbG8=");
        assert_eq!(out, b"hello");
        assert!(flaws.invalid_characters);
        let (out, flaws) = b64(b"aGVsbG8");
        assert_eq!(out, b"hello");
        assert!(flaws.bad_padding);
        assert_eq!(b64(b"QQ==QkI=").0, b"A", "stops at the first padding");
        let (out, flaws) = b64(b"QUJD\nQ");
        assert_eq!(out, b"ABC");
        assert!(flaws.bad_padding);
    }

    #[test]
    fn quoted_printable_decodes_escapes_and_soft_breaks() {
        let mut out = Vec::new();
        let flaws = decode_quoted_printable(b"caf=C3=A9 =\r\nsuite  \r\nend=3d=\n=ZZ", &mut out);
        assert_eq!(out, "café suite\r\nend==ZZ".as_bytes());
        assert!(flaws.bad_escape);
    }

    #[test]
    fn uuencode_decodes_a_file() {
        let mut out = Vec::new();
        let (name, flaws) = decode_uuencode(b"begin 644 cat.txt\n#0V%T\n`\nend\n", &mut out);
        assert_eq!(name.as_deref(), Some(&b"cat.txt"[..]));
        assert_eq!(out, b"Cat");
        assert!(flaws.is_clean());
    }
}
