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

/// A word of up to eight octets as [`folded`] gives it: its length, and
/// its octets in one integer (the first in the low byte) with bit 5
/// cleared, which uppercases letters.
pub(crate) type Folded = (usize, u64);

/// [`Folded`] for a name written in capitals, digits and hyphens.
pub(crate) const fn fold(name: &[u8]) -> Folded {
    let mut word = 0u64;
    let mut i = 0;
    while i < name.len() {
        word |= ((name[i] & 0xdf) as u64) << (8 * i);
        i += 1;
    }
    (name.len(), word)
}

/// `s` as one [`Folded`] word, or `None` past eight octets: a keyword or
/// value is matched against names with one comparison, in any case.
/// For octets of [`KEYWORD`] and [`VALUE`] this matches exactly the
/// names [`fold`] makes: clearing bit 5 of a digit or hyphen gives a
/// control octet, which neither class holds, and it changes no other
/// octet into a letter.
#[inline]
pub(crate) fn folded(s: &[u8]) -> Option<Folded> {
    const UPPER: u64 = 0xdfdf_dfdf_dfdf_dfdf;
    let n = s.len();
    // Overlapping loads, so no octet past the end is read.
    let word = match n {
        0 => 0,
        1..=3 => {
            u64::from(s[0])
                | u64::from(s[n / 2]) << (8 * (n / 2))
                | u64::from(s[n - 1]) << (8 * (n - 1))
        }
        4..=7 => {
            let low = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
            let high = u32::from_le_bytes([s[n - 4], s[n - 3], s[n - 2], s[n - 1]]);
            u64::from(low) | u64::from(high) << (8 * (n - 4))
        }
        8 => u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]),
        _ => return None,
    };
    Some((n, word & UPPER))
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

    proptest::proptest! {
        /// A folded word equals a name's exactly when the word is the
        /// name in some mix of cases: the name's octets in random case,
        /// one of them perhaps swapped for any keyword or value octet,
        /// perhaps cut short or lengthened.
        #[test]
        fn folded_words_match_names_in_any_case(
            name in proptest::sample::select(vec![
                &b"SIZE"[..], b"BODY", b"8BITMIME", b"7BIT", b"RET", b"FULL", b"HDRS", b"ENVID",
                b"SMTPUTF8", b"AUTH", b"BY", b"NOTIFY", b"NEVER", b"SUCCESS", b"FAILURE", b"DELAY",
                b"ORCPT", b"RRVS", b"HOLDFOR", b"A-1", b"X", b"HOLDUNTIL",
            ]),
            cases in proptest::num::u16::ANY,
            swap in proptest::option::of((0..16usize, proptest::sample::select(
                (0..=255u8).filter(|&b| KEYWORD[usize::from(b)] || VALUE[usize::from(b)]).collect::<Vec<_>>()
            ))),
            length in proptest::option::of(0..10usize),
        ) {
            let mut word: Vec<u8> = name
                .iter()
                .enumerate()
                .map(|(i, &b)| if cases >> i & 1 == 1 { b.to_ascii_lowercase() } else { b })
                .collect();
            if let Some((at, b)) = swap {
                word[at % name.len()] = b;
            }
            if let Some(length) = length {
                word.resize(length, b'A');
            }
            let same = word.eq_ignore_ascii_case(name);
            proptest::prop_assert_eq!(name.len() <= 8 && folded(&word) == Some(fold(name)), same && name.len() <= 8);
            proptest::prop_assert_eq!(folded(&word).is_none(), word.len() > 8);
        }
    }
}
