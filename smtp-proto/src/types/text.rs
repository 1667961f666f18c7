//! Text received on the wire: short values inline, long ones shared or copied.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use bytestring::ByteString;

use crate::ascii::{CheckedLine, InlineStr};

/// Validated UTF-8 received on the wire. Up to 22 octets are kept in
/// place, so taking a short value counts no reference and keeps no
/// buffer alive; a longer one shares the line when that was given as
/// `Bytes` ([`Command::parse`](crate::codec::Command::parse)) and is
/// copied otherwise. A `Text` is as large as a `Bytes`.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline(InlineStr),
    Shared(ByteString),
}

impl Text {
    /// The text as a string slice.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline(text) => text.as_str(),
            Repr::Shared(text) => text,
        }
    }

    /// `text` sharing `buffer`, of which it is the part starting at `start`.
    fn shared_part(text: &str, buffer: &Bytes, start: usize) -> Text {
        let shared = buffer.slice(start..start + text.len());
        // The slice holds the octets of `text`, so it is UTF-8.
        Text(Repr::Shared(
            ByteString::try_from(shared).expect("the octets of a str"),
        ))
    }
}

impl Default for Text {
    fn default() -> Self {
        Text(Repr::Inline(InlineStr::EMPTY))
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
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
        self.line.bytes()
    }

    #[inline(always)]
    fn text(&self, sub: &'a [u8]) -> Option<Text> {
        let text = self.line.str_of(sub)?;
        Some(
            match (InlineStr::within(text, self.line.bytes()), self.buffer) {
                (Some(inline), _) => Text(Repr::Inline(inline)),
                (None, Some(buffer)) => Text::shared_part(text, buffer, self.offset_of(sub)),
                (None, None) => Text(Repr::Shared(ByteString::from(text.to_owned()))),
            },
        )
    }

    fn owned(&self, text: String) -> Text {
        Text::from(text)
    }
}

/// A line whose values borrow from it as `Cow<str>`: nothing is copied
/// or counted. The line is checked for ASCII once, so most values need
/// no UTF-8 check of their own.
pub(crate) struct Borrowed<'a>(CheckedLine<'a>);

impl<'a> Borrowed<'a> {
    /// Values will borrow from `line`.
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Borrowed(CheckedLine::new(line))
    }

    /// Values will borrow from `line`, already checked.
    pub(crate) fn checked(line: CheckedLine<'a>) -> Self {
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

/// A received line that [`Text`] values are taken from. Short values are
/// copied inline; long ones share the buffer the line was received in,
/// or, for a line given as a plain slice, are copied one by one.
pub(crate) struct Source<'a> {
    line: CheckedLine<'a>,
    buffer: Option<&'a Bytes>,
}

impl<'a> Source<'a> {
    /// A line in its own receive buffer: long values share it.
    pub(crate) fn shared(line: &'a Bytes) -> Self {
        Source {
            line: CheckedLine::new(line),
            buffer: Some(line),
        }
    }

    /// A line as a plain slice, already checked: long values are copied.
    pub(crate) fn checked(line: CheckedLine<'a>) -> Self {
        Source { line, buffer: None }
    }

    /// A line as a plain slice: long values are copied.
    pub(crate) fn borrowed(line: &'a [u8]) -> Self {
        Self::checked(CheckedLine::new(line))
    }

    /// Where `sub`, a part of the line, starts in it.
    fn offset_of(&self, sub: &[u8]) -> usize {
        let bytes = self.line.bytes();
        let offset = (sub.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
        // Every caller passes a part of the line: a violation is a bug here.
        assert!(offset + sub.len() <= bytes.len(), "not a part of the line");
        offset
    }
}

impl Deref for Text {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    #[inline]
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        match InlineStr::new(s) {
            Some(inline) => Text(Repr::Inline(inline)),
            None => Text(Repr::Shared(ByteString::from(s.to_owned()))),
        }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        match InlineStr::new(&s) {
            Some(inline) => Text(Repr::Inline(inline)),
            None => Text(Repr::Shared(ByteString::from(s))),
        }
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
        f.write_str(self.as_str())
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

    /// Where a value's text lies.
    fn text_at(text: &Text) -> *const u8 {
        text.as_str().as_ptr()
    }

    #[test]
    fn short_values_are_inline_and_long_ones_share_the_line_or_are_copied() {
        let line = Bytes::from_static(b"MAIL FROM:<a.rather.long.local.part.here@example.com>");
        let source = Source::shared(&line);
        let local = source.text(&line[11..40]).unwrap();
        assert_eq!(local, "a.rather.long.local.part.here");
        assert_eq!(text_at(&local), line[11..].as_ptr());
        let domain = source.text(&line[41..52]).unwrap();
        assert_eq!(domain, "example.com");
        assert!(matches!(domain.0, Repr::Inline(_)));
        // From a plain slice, a long value is a copy of its own.
        let copied = Source::borrowed(&line);
        let first = copied.text(&line[11..40]).unwrap();
        assert_eq!(first, "a.rather.long.local.part.here");
        assert_ne!(text_at(&first), line[11..].as_ptr());
        assert_eq!(copied.text(&line[..0]).unwrap(), "");
    }

    #[test]
    fn a_text_is_the_size_of_a_shared_buffer() {
        assert_eq!(std::mem::size_of::<Text>(), std::mem::size_of::<Bytes>());
    }

    #[test]
    fn texts_compare_by_their_text_however_kept() {
        let long = "x".repeat(40);
        let shared = Text::from(long.as_str());
        assert!(matches!(shared.0, Repr::Shared(_)));
        assert_eq!(shared, Text::from(long.clone()));
        let short = Text::from("abc");
        assert_eq!(short, Text::from(String::from("abc")));
        assert!(short < shared);
        assert_eq!(Text::default(), "");
        // Hashed as its str, as `Borrow<str>` requires (maps keyed by text).
        let state = std::collections::hash_map::RandomState::new();
        use std::hash::BuildHasher;
        assert_eq!(state.hash_one(&short), state.hash_one("abc"));
        assert_eq!(state.hash_one(&shared), state.hash_one(long.as_str()));
        assert_eq!(format!("{short} {short:?}"), "abc \"abc\"");
    }
}
