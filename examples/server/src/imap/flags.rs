//! Flags between the store's bits and IMAP's names.

use sansmail_imap::types::{Flag, PermanentFlag};
use sansmail_store::{FlagSet, Flags, Keyword, SystemFlag};

/// The store flag for an IMAP system flag.
fn system(flag: &Flag) -> Option<SystemFlag> {
    Some(match flag {
        Flag::Seen => SystemFlag::Seen,
        Flag::Answered => SystemFlag::Answered,
        Flag::Flagged => SystemFlag::Flagged,
        Flag::Deleted => SystemFlag::Deleted,
        Flag::Draft => SystemFlag::Draft,
        _ => return None,
    })
}

fn imap_system(flag: SystemFlag) -> Flag {
    match flag {
        SystemFlag::Seen => Flag::Seen,
        SystemFlag::Answered => Flag::Answered,
        SystemFlag::Flagged => Flag::Flagged,
        SystemFlag::Deleted => Flag::Deleted,
        SystemFlag::Draft => Flag::Draft,
    }
}

/// Flags a client named, for the store (`\Recent` and unknown `\`-flags
/// cannot be stored and are dropped).
pub(super) fn to_set(flags: &[Flag]) -> FlagSet {
    let mut set = FlagSet::new();
    for f in flags {
        if let Some(s) = system(f) {
            set.set(s);
        } else if let Flag::Keyword(k) = f
            && let Ok(k) = Keyword::new(k.as_str())
        {
            set.add_keyword(k);
        }
    }
    set
}

/// A message's flags as IMAP names them (system flags first, in the
/// order RFC 9051 lists them, then keywords).
pub(super) fn to_imap(flags: &Flags, table: &[Keyword]) -> Vec<Flag> {
    let mut out = Vec::new();
    for s in [
        SystemFlag::Seen,
        SystemFlag::Answered,
        SystemFlag::Flagged,
        SystemFlag::Deleted,
        SystemFlag::Draft,
    ] {
        if flags.has(s) {
            out.push(imap_system(s));
        }
    }
    for i in flags.keyword_bits() {
        if let Some(k) = table.get(i).and_then(|k| Flag::keyword(k.as_str())) {
            out.push(k);
        }
    }
    out
}

/// FLAGS: the system flags and the mailbox's keywords.
pub(super) fn defined(table: &[Keyword]) -> Vec<Flag> {
    let mut out = vec![
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Seen,
        Flag::Draft,
    ];
    out.extend(table.iter().filter_map(|k| Flag::keyword(k.as_str())));
    out
}

/// PERMANENTFLAGS: every defined flag, and `\*` while the table has room.
pub(super) fn permanent(table: &[Keyword], limit: usize) -> Vec<PermanentFlag> {
    let mut out: Vec<PermanentFlag> = defined(table)
        .into_iter()
        .map(PermanentFlag::Flag)
        .collect();
    if table.len() < limit {
        out.push(PermanentFlag::CreateKeywords);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bits_round_trip() {
        let table = vec![
            Keyword::new("$Junk").unwrap(),
            Keyword::new("work").unwrap(),
        ];
        let flags = Flags {
            system: SystemFlag::Seen.bit() | SystemFlag::Draft.bit(),
            keywords: 0b10,
        };
        let named = to_imap(&flags, &table);
        assert_eq!(
            named,
            vec![Flag::Seen, Flag::Draft, Flag::keyword("work").unwrap()]
        );
        let set = to_set(&named);
        assert_eq!(set.system, flags.system);
        assert_eq!(set.keywords, vec![Keyword::new("work").unwrap()]);
        assert!(to_set(&[Flag::Recent]).system == 0);
        assert_eq!(
            permanent(&table, 2).len(),
            7,
            "no \\* when the table is full"
        );
    }
}
