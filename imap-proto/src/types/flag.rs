//! Message flags and mailbox attributes.

use super::Atom;

/// A message flag: a system flag, a keyword, or a `\`-extension.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// `\Seen`.
    Seen,
    /// `\Answered`.
    Answered,
    /// `\Flagged`.
    Flagged,
    /// `\Deleted`.
    Deleted,
    /// `\Draft`.
    Draft,
    /// `\Recent` (IMAP4rev1 only; servers set it, clients cannot store it).
    Recent,
    /// A keyword such as `$Forwarded` or `$Junk`.
    Keyword(Atom),
    /// Another `\`-flag; the atom is stored without the backslash.
    Extension(Atom),
}

impl Flag {
    /// Reads a flag from its wire form (`\Seen`, `$Junk`); system flag names ignore case.
    pub fn from_atom(backslash: bool, atom: Atom) -> Flag {
        if !backslash {
            return Flag::Keyword(atom);
        }
        let system = [
            ("Seen", Flag::Seen),
            ("Answered", Flag::Answered),
            ("Flagged", Flag::Flagged),
            ("Deleted", Flag::Deleted),
            ("Draft", Flag::Draft),
            ("Recent", Flag::Recent),
        ];
        system
            .into_iter()
            .find(|(name, _)| atom.eq_ignore_case(name))
            .map_or(Flag::Extension(atom), |(_, flag)| flag)
    }

    /// A keyword flag; `None` when `name` is not an atom.
    pub fn keyword(name: &str) -> Option<Flag> {
        Atom::new(super::Str::from(name)).ok().map(Flag::Keyword)
    }

    /// The wire form, e.g. `\Seen` or `$Junk`.
    pub fn to_wire(&self) -> String {
        match self {
            Flag::Seen => "\\Seen".into(),
            Flag::Answered => "\\Answered".into(),
            Flag::Flagged => "\\Flagged".into(),
            Flag::Deleted => "\\Deleted".into(),
            Flag::Draft => "\\Draft".into(),
            Flag::Recent => "\\Recent".into(),
            Flag::Keyword(a) => a.as_str().into(),
            Flag::Extension(a) => format!("\\{}", a.as_str()),
        }
    }
}

/// An entry of `PERMANENTFLAGS`: a flag, or `\*` (new keywords may be created).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PermanentFlag {
    /// A flag that can be changed permanently.
    Flag(Flag),
    /// `\*`.
    CreateKeywords,
}

/// A mailbox attribute in a LIST response (RFC 9051, SPECIAL-USE, CHILDREN, LIST-EXTENDED).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MailboxAttr {
    /// `\Noinferiors`: no child can be created.
    NoInferiors,
    /// `\Noselect`: cannot be selected.
    NoSelect,
    /// `\Marked`: may have new messages.
    Marked,
    /// `\Unmarked`: has no new messages.
    Unmarked,
    /// `\NonExistent`: does not exist (LIST-EXTENDED).
    NonExistent,
    /// `\Subscribed`.
    Subscribed,
    /// `\Remote`: on another server.
    Remote,
    /// `\HasChildren`.
    HasChildren,
    /// `\HasNoChildren`.
    HasNoChildren,
    /// `\All` (special use).
    All,
    /// `\Archive` (special use).
    Archive,
    /// `\Drafts` (special use).
    Drafts,
    /// `\Flagged` (special use).
    Flagged,
    /// `\Junk` (special use).
    Junk,
    /// `\Sent` (special use).
    Sent,
    /// `\Trash` (special use).
    Trash,
    /// `\Important` (RFC 8457).
    Important,
    /// Another `\`-attribute, stored without the backslash.
    Extension(Atom),
}

const ATTRS: [(&str, MailboxAttr); 17] = [
    ("Noinferiors", MailboxAttr::NoInferiors),
    ("Noselect", MailboxAttr::NoSelect),
    ("Marked", MailboxAttr::Marked),
    ("Unmarked", MailboxAttr::Unmarked),
    ("NonExistent", MailboxAttr::NonExistent),
    ("Subscribed", MailboxAttr::Subscribed),
    ("Remote", MailboxAttr::Remote),
    ("HasChildren", MailboxAttr::HasChildren),
    ("HasNoChildren", MailboxAttr::HasNoChildren),
    ("All", MailboxAttr::All),
    ("Archive", MailboxAttr::Archive),
    ("Drafts", MailboxAttr::Drafts),
    ("Flagged", MailboxAttr::Flagged),
    ("Junk", MailboxAttr::Junk),
    ("Sent", MailboxAttr::Sent),
    ("Trash", MailboxAttr::Trash),
    ("Important", MailboxAttr::Important),
];

impl MailboxAttr {
    /// Reads an attribute from its name without the backslash; names ignore case.
    pub fn from_atom(atom: Atom) -> MailboxAttr {
        ATTRS
            .iter()
            .find(|(name, _)| atom.eq_ignore_case(name))
            .map_or(MailboxAttr::Extension(atom), |(_, attr)| attr.clone())
    }

    /// The name without the backslash.
    pub fn name(&self) -> &str {
        match self {
            MailboxAttr::Extension(a) => a.as_str(),
            known => ATTRS
                .iter()
                .find(|(_, attr)| attr == known)
                .map_or("", |(name, _)| name),
        }
    }

    /// True for the special-use attributes of RFC 6154 and RFC 8457.
    pub fn is_special_use(&self) -> bool {
        matches!(
            self,
            MailboxAttr::All
                | MailboxAttr::Archive
                | MailboxAttr::Drafts
                | MailboxAttr::Flagged
                | MailboxAttr::Junk
                | MailboxAttr::Sent
                | MailboxAttr::Trash
                | MailboxAttr::Important
        )
    }
}
