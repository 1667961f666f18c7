//! Character classes of RFC 5321 §4.1.2 as lookup tables: one load per byte.

const fn table(ranges: &[(u8, u8)], except: &[u8], non_ascii: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < ranges.len() {
        let (lo, hi) = ranges[i];
        let mut b = lo as usize;
        while b <= hi as usize {
            t[b] = true;
            b += 1;
        }
        i += 1;
    }
    let mut i = 0;
    while i < except.len() {
        t[except[i] as usize] = false;
        i += 1;
    }
    if non_ascii {
        let mut b = 0x80;
        while b < 256 {
            t[b] = true;
            b += 1;
        }
    }
    t
}

/// `atext` (RFC 5322 §3.2.3), with UTF-8 octets for SMTPUTF8 (RFC 6531).
pub(crate) static ATEXT: [bool; 256] = table(
    &[
        (b'0', b'9'),
        (b'A', b'Z'),
        (b'a', b'z'),
        (b'!', b'!'),
        (b'#', b'\''),
        (b'*', b'+'),
        (b'-', b'-'),
        (b'/', b'/'),
        (b'=', b'='),
        (b'?', b'?'),
        (b'^', b'`'),
        (b'{', b'~'),
    ],
    &[],
    true,
);

/// Letters, digits and hyphens, with U-label octets.
pub(crate) static LDH: [bool; 256] = table(
    &[(b'0', b'9'), (b'A', b'Z'), (b'a', b'z'), (b'-', b'-')],
    &[],
    true,
);

/// `esmtp-keyword` characters: letters, digits and hyphens.
pub(crate) static KEYWORD: [bool; 256] = table(
    &[(b'0', b'9'), (b'A', b'Z'), (b'a', b'z'), (b'-', b'-')],
    &[],
    false,
);

/// `esmtp-value` characters: printable ASCII but `=`, and UTF-8 octets.
pub(crate) static VALUE: [bool; 256] = table(&[(33, 126)], b"=", true);

/// xtext characters that stand for themselves: printable ASCII but `+` and `=`.
pub(crate) static XCHAR: [bool; 256] = table(&[(33, 126)], b"+=", false);

/// True when every byte of `s` is in `class`.
#[inline]
pub(crate) fn all_in(class: &[bool; 256], s: &[u8]) -> bool {
    s.iter().all(|&b| class[usize::from(b)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        for b in 0..=255u8 {
            let atext =
                b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80;
            assert_eq!(ATEXT[usize::from(b)], atext, "{b}");
            assert_eq!(
                KEYWORD[usize::from(b)],
                b.is_ascii_alphanumeric() || b == b'-',
                "{b}"
            );
            assert_eq!(
                VALUE[usize::from(b)],
                ((33..=126).contains(&b) && b != b'=') || b >= 0x80,
                "{b}"
            );
            assert_eq!(
                XCHAR[usize::from(b)],
                (33..=126).contains(&b) && b != b'+' && b != b'=',
                "{b}"
            );
        }
    }
}
