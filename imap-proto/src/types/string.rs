//! [`Str`]: the octets of an IMAP string, atom or name.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// Longest value kept inline.
const INLINE: usize = 22;

/// The octets of a string value (a name, an atom, a search string...).
/// Short values (most tags, atoms and names) are stored inline, costing
/// neither an allocation nor a reference count; longer ones share the
/// buffer they were parsed from. The value is 24 octets, so commands and
/// responses stay small to move.
#[derive(Clone)]
pub struct Str(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE] },
    Static(&'static [u8]),
    Shared(Box<Bytes>),
}

impl Str {
    /// The empty string.
    pub const fn new() -> Self {
        Str(Repr::Inline {
            len: 0,
            buf: [0; INLINE],
        })
    }

    /// A string of static octets, neither copied nor counted.
    pub const fn from_static(octets: &'static [u8]) -> Self {
        Str(Repr::Static(octets))
    }

    /// A part of this string.
    pub fn slice(&self, range: std::ops::RangeFrom<usize>) -> Self {
        match &self.0 {
            Repr::Shared(b) if b.len() - range.start > INLINE => {
                Str(Repr::Shared(Box::new(b.slice(range))))
            }
            Repr::Static(s) => Str(Repr::Static(&s[range])),
            _ => Self::copy_from_slice(&self.as_bytes()[range]),
        }
    }

    /// A copy of `octets`.
    #[inline]
    pub fn copy_from_slice(octets: &[u8]) -> Self {
        if octets.len() <= INLINE {
            let mut buf = [0; INLINE];
            buf[..octets.len()].copy_from_slice(octets);
            Str(Repr::Inline {
                len: octets.len() as u8,
                buf,
            })
        } else {
            Str(Repr::Shared(Box::new(Bytes::copy_from_slice(octets))))
        }
    }

    /// A part of a shared buffer: copied when short, else shared.
    #[inline]
    pub fn from_shared(source: &Bytes, range: std::ops::Range<usize>) -> Self {
        if range.len() <= INLINE {
            // A fixed-size copy when the buffer allows: cheaper than a
            // variable one; the octets past `len` are never read.
            let mut buf = [0; INLINE];
            match source.get(range.start..range.start + INLINE) {
                Some(window) => buf.copy_from_slice(window),
                None => buf[..range.len()].copy_from_slice(&source[range.clone()]),
            }
            Str(Repr::Inline {
                len: range.len() as u8,
                buf,
            })
        } else {
            Str(Repr::Shared(Box::new(source.slice(range))))
        }
    }

    /// The octets.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..usize::from(*len)],
            Repr::Static(s) => s,
            Repr::Shared(b) => b,
        }
    }

    /// The octets as [`Bytes`].
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Repr::Inline { .. } => Bytes::copy_from_slice(self.as_bytes()),
            Repr::Static(s) => Bytes::from_static(s),
            Repr::Shared(b) => Bytes::clone(b),
        }
    }

    /// The octets as text, when they are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }
}

impl Default for Str {
    fn default() -> Self {
        Str::new()
    }
}

impl Deref for Str {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Str {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for Str {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Str {}

impl PartialEq<[u8]> for Str {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Str {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for Str {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", bytes::Bytes::copy_from_slice(self.as_bytes()))
    }
}

impl From<Bytes> for Str {
    fn from(b: Bytes) -> Self {
        if b.len() <= INLINE {
            Self::copy_from_slice(&b)
        } else {
            Str(Repr::Shared(Box::new(b)))
        }
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Self::copy_from_slice(s.as_bytes())
    }
}

impl From<&[u8]> for Str {
    fn from(s: &[u8]) -> Self {
        Self::copy_from_slice(s)
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Bytes::from(s).into()
    }
}

impl From<Vec<u8>> for Str {
    fn from(v: Vec<u8>) -> Self {
        Bytes::from(v).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_inline_long_shared() {
        let source = Bytes::from(vec![b'x'; 100]);
        let short = Str::from_shared(&source, 0..22);
        let long = Str::from_shared(&source, 0..23);
        assert!(matches!(short.0, Repr::Inline { .. }));
        assert!(matches!(long.0, Repr::Shared(_)));
        assert_eq!(short.len(), 22);
        assert_eq!(long.to_bytes().len(), 23);
        assert_eq!(Str::from("abc"), Str::copy_from_slice(b"abc"));
        assert_eq!(std::mem::size_of::<Str>(), 24);
    }
}
