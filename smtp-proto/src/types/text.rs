//! Text received on the wire, kept without copying.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use bytestring::ByteString;

/// Validated UTF-8 that shares the buffer it was received in: parsing a
/// command slices the line instead of copying each address and parameter.
/// (Keeping short values inline instead was measured slower: the copy and
/// the tag cost more than the reference count they save.)
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Text(ByteString);

impl Text {
    /// The text as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part `sub` of the line `source` (which must lie inside it), if it is UTF-8.
    pub(crate) fn slice_of(source: &Source<'_>, sub: &[u8]) -> Option<Text> {
        let start = source.offset_of(sub);
        let shared = source.buffer().slice(start..start + sub.len());
        ByteString::try_from(shared).ok().map(Text)
    }
}

/// Where a parser takes the text of its values from: a received line
/// whose parts become [`Text`] ([`Source`]) or borrowed `str`s
/// ([`Borrowed`]). The parsers are written once over this trait, so the
/// owned and the borrowed forms of a command accept exactly the same lines.
pub(crate) trait Store<'a> {
    /// The text type of the values made.
    type Str: AsRef<str>;
    /// The line's octets.
    fn bytes(&self) -> &'a [u8];
    /// The part `sub` of the line (which must lie inside it), if it is UTF-8.
    fn text(&self, sub: &'a [u8]) -> Option<Self::Str>;
    /// Text that is not a part of the line (a decoded xtext).
    fn owned(&self, text: String) -> Self::Str;
}

impl<'a> Store<'a> for Source<'a> {
    type Str = Text;

    fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    fn text(&self, sub: &'a [u8]) -> Option<Text> {
        Text::slice_of(self, sub)
    }

    fn owned(&self, text: String) -> Text {
        Text::from(text)
    }
}

/// A line whose values borrow from it as `Cow<str>`: nothing is copied
/// or counted. The line is checked for ASCII once, so most values need
/// no UTF-8 check of their own.
pub(crate) struct Borrowed<'a>(crate::ascii::CheckedLine<'a>);

impl<'a> Borrowed<'a> {
    /// Values will borrow from `line`.
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Borrowed(crate::ascii::CheckedLine::new(line))
    }

    /// Values will borrow from `line`, already checked.
    pub(crate) fn checked(line: crate::ascii::CheckedLine<'a>) -> Self {
        Borrowed(line)
    }
}

impl<'a> Store<'a> for Borrowed<'a> {
    type Str = Cow<'a, str>;

    fn bytes(&self) -> &'a [u8] {
        self.0.bytes()
    }

    #[inline(always)]
    fn text(&self, sub: &'a [u8]) -> Option<Cow<'a, str>> {
        self.0.str_of(sub).map(Cow::Borrowed)
    }

    fn owned(&self, text: String) -> Cow<'a, str> {
        Cow::Owned(text)
    }
}

/// A received line that [`Text`] values are taken from: given as the
/// buffer it was received in, or as a plain slice that is copied once,
/// when the first value needs it (a command without values copies nothing).
pub(crate) struct Source<'a> {
    bytes: &'a [u8],
    buffer: Buffer<'a>,
}

enum Buffer<'a> {
    Given(&'a Bytes),
    Copied(OnceCell<Bytes>),
}

impl<'a> Source<'a> {
    /// A line in its own receive buffer: values share it.
    pub(crate) fn shared(line: &'a Bytes) -> Self {
        Source {
            bytes: line,
            buffer: Buffer::Given(line),
        }
    }

    /// A line as a plain slice: copied once if a value needs it.
    pub(crate) fn borrowed(line: &'a [u8]) -> Self {
        Source {
            bytes: line,
            buffer: Buffer::Copied(OnceCell::new()),
        }
    }

    fn buffer(&self) -> &Bytes {
        match &self.buffer {
            Buffer::Given(line) => line,
            Buffer::Copied(copy) => copy.get_or_init(|| Bytes::copy_from_slice(self.bytes)),
        }
    }

    /// Where `sub`, a part of the line, starts in it.
    fn offset_of(&self, sub: &[u8]) -> usize {
        if sub.is_empty() {
            return 0;
        }
        let offset = (sub.as_ptr() as usize).wrapping_sub(self.bytes.as_ptr() as usize);
        // Every caller passes a part of the line: a violation is a bug here.
        assert!(
            offset + sub.len() <= self.bytes.len(),
            "not a part of the line"
        );
        offset
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(ByteString::from(s.to_owned()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(ByteString::from(s))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_share_the_line_or_one_copy_of_it() {
        let line = Bytes::from_static(b"MAIL FROM:<a.rather.long.local.part.here@example.com>");
        let source = Source::shared(&line);
        let local = Text::slice_of(&source, &line[11..40]).unwrap();
        assert_eq!(local, "a.rather.long.local.part.here");
        assert_eq!(local.0.as_bytes().as_ptr(), line[11..].as_ptr());
        // A borrowed line is copied once, on the first value taken from it.
        let borrowed = Source::borrowed(&line);
        let domain = Text::slice_of(&borrowed, &line[41..52]).unwrap();
        let again = Text::slice_of(&borrowed, &line[41..52]).unwrap();
        assert_eq!(domain, "example.com");
        assert_eq!(domain.0.as_bytes().as_ptr(), again.0.as_bytes().as_ptr());
        assert!(Text::slice_of(&borrowed, &line[..0]).is_some());
    }
}
