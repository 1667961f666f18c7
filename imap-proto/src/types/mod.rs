//! Validated IMAP values: tags, atoms, mailbox names, sequence sets, flags,
//! dates, capabilities, and the typed commands and responses built from them.
//!
//! Strings are [`Str`]: parsing slices them out of the receive buffer
//! without copying, and clones are cheap. Constructors validate, so a value
//! that exists can always be written.

mod body;
mod capability;
pub(crate) mod chars;
mod command;
mod datetime;
mod fetch;
mod flag;
mod mailbox;
mod response;
mod search;
mod sequence;
mod string;

use std::fmt;

pub use body::{
    BasicFields, BodyExtension, BodyStructure, Disposition, ExtensionValue, SinglePart,
};
pub use capability::Capability;
pub use command::{
    AppendMessage, Command, CommandBody, ListReturn, ListSelect, QResyncParams, SelectParams,
    StatusItem, StoreAction, ThreadAlgorithm,
};
pub(crate) use datetime::MONTHS;
pub use datetime::{Date, DateTime};
pub use fetch::{
    Envelope, EnvelopeAddress, FetchAttr, FetchItems, FetchValue, Section, SectionText,
};
pub use flag::{Flag, MailboxAttr, PermanentFlag};
pub use mailbox::{Mailbox, decode_modified_utf7, encode_modified_utf7};
pub use response::{
    Code, Continue, EsearchItem, ListItem, Namespace, NamespaceDescr, QuotaResource, Response,
    Status, StatusKind, StatusValue, Tagged, Thread, Untagged,
};
pub use search::{SearchKey, SearchReturn, SortCriterion, SortKey};
pub use sequence::{SeqNo, SeqRange, SequenceSet};
pub use string::Str;

/// ID fields (RFC 2971): names and values, `NIL` values as `None`.
pub type IdParams = Vec<(Str, Option<Str>)>;

/// SASL data and passwords: `Debug` prints `<redacted>`.
pub use sansmail_common::Secret;

/// A value that does not meet the grammar of its type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}")]
pub struct InvalidValue {
    /// Which kind of value.
    pub what: &'static str,
}

fn invalid(what: &'static str) -> InvalidValue {
    InvalidValue { what }
}

/// A command tag: one or more `ASTRING-CHAR` except `+`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tag(Str);

impl Tag {
    /// Validates a tag.
    pub fn new(tag: impl Into<Str>) -> Result<Self, InvalidValue> {
        let tag = tag.into();
        if !tag.is_empty() && tag.iter().all(|&b| chars::is_astring_char(b) && b != b'+') {
            Ok(Tag(tag))
        } else {
            Err(invalid("tag"))
        }
    }

    pub(crate) fn from_valid(tag: Str) -> Self {
        Tag(tag)
    }

    /// The tag's octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({})", String::from_utf8_lossy(&self.0))
    }
}

/// An atom: one or more `ATOM-CHAR` (keywords, capability names, charsets).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom(Str);

impl Atom {
    /// Validates an atom.
    pub fn new(atom: impl Into<Str>) -> Result<Self, InvalidValue> {
        let atom = atom.into();
        if !atom.is_empty() && atom.iter().all(|&b| chars::is_atom_char(b)) {
            Ok(Atom(atom))
        } else {
            Err(invalid("atom"))
        }
    }

    pub(crate) fn from_valid(atom: Str) -> Self {
        Atom(atom)
    }

    /// The atom's octets (always ASCII).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The atom as text.
    pub fn as_str(&self) -> &str {
        // Invariant: atoms are validated to be ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Compares ignoring ASCII case, as IMAP compares atoms.
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other.as_bytes())
    }
}

impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Atom({})", self.as_str())
    }
}

/// Human-readable response text: any octets but NUL, CR and LF (UTF-8 in
/// IMAP4rev2). It must not start with `[` when no response code precedes
/// it, or it would be read as one.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(Str);

impl Text {
    /// Validates response text.
    pub fn new(text: impl Into<Str>) -> Result<Self, InvalidValue> {
        let text = text.into();
        if text.iter().all(|&b| chars::is_text_char(b)) {
            Ok(Text(text))
        } else {
            Err(invalid("text"))
        }
    }

    pub(crate) fn from_valid(text: Str) -> Self {
        Text(text)
    }

    /// The text's octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<&'static str> for Text {
    /// Text from a literal; CR, LF and NUL are replaced by spaces.
    fn from(s: &'static str) -> Self {
        if s.bytes().all(chars::is_text_char) {
            Text(Str::from_static(s.as_bytes()))
        } else {
            let cleaned: Vec<u8> = s
                .bytes()
                .map(|b| if chars::is_text_char(b) { b } else { b' ' })
                .collect();
            Text(Str::from(cleaned))
        }
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}
