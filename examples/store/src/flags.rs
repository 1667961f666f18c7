//! Message flags: the five system flags of RFC 9051 §2.3.2 and keywords.
//!
//! A message's [`Flags`] are bits: one per system flag, and one per
//! keyword, numbered by the mailbox's keyword table (which only grows
//! while the mailbox is open, so a bit keeps its meaning). Clients name
//! flags; a [`FlagSet`] carries them by name until the mailbox turns
//! them into bits.

use std::fmt;

/// A system flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SystemFlag {
    /// `\Draft`
    Draft,
    /// `\Flagged`
    Flagged,
    /// `\Answered`
    Answered,
    /// `\Seen`
    Seen,
    /// `\Deleted`
    Deleted,
}

impl SystemFlag {
    /// All five, in maildir letter order (`D F R S T`).
    pub const ALL: [SystemFlag; 5] = [
        SystemFlag::Draft,
        SystemFlag::Flagged,
        SystemFlag::Answered,
        SystemFlag::Seen,
        SystemFlag::Deleted,
    ];

    /// Its bit in [`Flags::system`].
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Its maildir info letter.
    pub fn letter(self) -> char {
        match self {
            SystemFlag::Draft => 'D',
            SystemFlag::Flagged => 'F',
            SystemFlag::Answered => 'R',
            SystemFlag::Seen => 'S',
            SystemFlag::Deleted => 'T',
        }
    }

    /// The flag a maildir info letter stands for.
    pub fn from_letter(c: char) -> Option<SystemFlag> {
        SystemFlag::ALL.into_iter().find(|f| f.letter() == c)
    }
}

/// A keyword (`$Junk`, `$Forwarded`, `NonJunk`...): an IMAP atom that is
/// not a system flag, compared without regard to ASCII case.
#[derive(Clone, Eq)]
pub struct Keyword(Box<str>);

/// Why a name is not a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a valid keyword")]
pub struct BadKeyword;

impl Keyword {
    /// The longest keyword kept.
    pub const MAX_LEN: usize = 100;

    /// Checks `name`: 1 to 100 atom characters, not starting with `\`.
    pub fn new(name: &str) -> Result<Keyword, BadKeyword> {
        let atom = |b: u8| {
            b > b' '
                && b < 0x7f
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
        };
        if name.is_empty() || name.len() > Self::MAX_LEN || !name.bytes().all(atom) {
            return Err(BadKeyword);
        }
        Ok(Keyword(name.into()))
    }

    /// The name as first given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Keyword {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl fmt::Debug for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One message's flags: system flag bits and keyword-table bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// [`SystemFlag::bit`]s.
    pub system: u8,
    /// Bit `i` set: the mailbox's keyword `i`.
    pub keywords: u64,
}

impl Flags {
    /// True when `flag` is set.
    pub fn has(&self, flag: SystemFlag) -> bool {
        self.system & flag.bit() != 0
    }

    /// These flags with `flag` set.
    pub fn with(mut self, flag: SystemFlag) -> Flags {
        self.system |= flag.bit();
        self
    }

    /// The system flags set, in letter order.
    pub fn system_flags(&self) -> impl Iterator<Item = SystemFlag> + '_ {
        SystemFlag::ALL.into_iter().filter(|f| self.has(*f))
    }

    /// Positions of the keywords set.
    pub fn keyword_bits(&self) -> impl Iterator<Item = usize> + '_ {
        (0..64).filter(|i| self.keywords & (1 << i) != 0)
    }
}

/// Flags by name, as a client or a delivery gives them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlagSet {
    /// [`SystemFlag::bit`]s.
    pub system: u8,
    /// Keywords, each once.
    pub keywords: Vec<Keyword>,
}

impl FlagSet {
    /// No flags.
    pub fn new() -> FlagSet {
        FlagSet::default()
    }

    /// Adds a system flag.
    pub fn set(&mut self, flag: SystemFlag) {
        self.system |= flag.bit();
    }

    /// Adds a keyword (once).
    pub fn add_keyword(&mut self, keyword: Keyword) {
        if !self.keywords.contains(&keyword) {
            self.keywords.push(keyword);
        }
    }
}

/// How a flag change applies to the flags a message has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagAction {
    /// The given flags replace all others.
    Replace,
    /// The given flags are added.
    Add,
    /// The given flags are removed.
    Remove,
}

impl FlagAction {
    /// The flags after the action, where `given` are the action's flags as bits.
    pub fn apply(self, old: Flags, given: Flags) -> Flags {
        match self {
            FlagAction::Replace => given,
            FlagAction::Add => Flags {
                system: old.system | given.system,
                keywords: old.keywords | given.keywords,
            },
            FlagAction::Remove => Flags {
                system: old.system & !given.system,
                keywords: old.keywords & !given.keywords,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_atoms_compared_without_case() {
        assert_eq!(
            Keyword::new("$Junk").unwrap(),
            Keyword::new("$JUNK").unwrap()
        );
        for bad in ["", "a b", "\\Seen", "a(b", "x]", "é"] {
            assert!(Keyword::new(bad).is_err(), "{bad:?}");
        }
        assert!(Keyword::new(&"k".repeat(101)).is_err());
    }

    #[test]
    fn actions() {
        let seen = Flags::default().with(SystemFlag::Seen);
        let both = seen.with(SystemFlag::Flagged);
        assert_eq!(FlagAction::Add.apply(seen, both), both);
        assert_eq!(
            FlagAction::Remove.apply(both, seen),
            Flags::default().with(SystemFlag::Flagged)
        );
        assert_eq!(
            FlagAction::Replace.apply(both, Flags::default()),
            Flags::default()
        );
        assert_eq!(SystemFlag::from_letter('T'), Some(SystemFlag::Deleted));
    }
}
