//! Character classes of the IMAP grammar (RFC 9051 §9), as a lookup table.

const ATOM: u8 = 1;
const ASTRING: u8 = 2;
const LIST: u8 = 4;
const TEXT: u8 = 8;
const QUOTABLE: u8 = 16;

const fn class(b: u8) -> u8 {
    let ctl = b < 0x20 || b == 0x7f;
    let mut c = 0;
    if !ctl && b < 0x80 {
        let atom_special = matches!(
            b,
            b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\' | b']'
        );
        if !atom_special {
            c |= ATOM | ASTRING | LIST;
        }
        if b == b']' {
            c |= ASTRING | LIST;
        }
        if b == b'%' || b == b'*' {
            c |= LIST;
        }
    }
    if b != 0 && b != b'\r' && b != b'\n' {
        c |= TEXT;
        if b < 0x80 {
            c |= QUOTABLE;
        }
    }
    c
}

static TABLE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = class(i as u8);
        i += 1;
    }
    t
};

/// `ATOM-CHAR`: any CHAR except atom-specials.
#[inline]
pub(crate) fn is_atom_char(b: u8) -> bool {
    TABLE[b as usize] & ATOM != 0
}

/// `ASTRING-CHAR`: `ATOM-CHAR` or `]`.
#[inline]
pub(crate) fn is_astring_char(b: u8) -> bool {
    TABLE[b as usize] & ASTRING != 0
}

/// `list-char`: `ATOM-CHAR`, list wildcards or `]`.
#[inline]
pub(crate) fn is_list_char(b: u8) -> bool {
    TABLE[b as usize] & LIST != 0
}

/// An octet allowed in response text and quoted strings: not NUL, CR or LF.
/// Octets above 0x7f are allowed here (UTF-8 in IMAP4rev2).
#[inline]
pub(crate) fn is_text_char(b: u8) -> bool {
    TABLE[b as usize] & TEXT != 0
}

/// An octet this crate writes inside a quoted string: 7-bit, not NUL, CR or LF.
#[inline]
pub(crate) fn is_quotable(b: u8) -> bool {
    TABLE[b as usize] & QUOTABLE != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(is_atom_char(b'a') && is_atom_char(b'$') && is_atom_char(b'['));
        assert!(!is_atom_char(b']') && is_astring_char(b']'));
        assert!(!is_atom_char(b'%') && is_list_char(b'%') && is_list_char(b'*'));
        assert!(!is_atom_char(b' ') && !is_atom_char(b'"') && !is_atom_char(b'\\'));
        assert!(!is_atom_char(0x80) && !is_atom_char(0x7f) && !is_atom_char(b'{'));
        assert!(is_text_char(0xc3) && !is_text_char(b'\r') && !is_text_char(0));
        assert!(is_quotable(b'"') && !is_quotable(0xc3));
    }
}
