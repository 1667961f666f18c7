//! SEARCH keys (RFC 9051 §6.4.4 with CONDSTORE, SAVEDATE, OBJECTID, WITHIN),
//! ESEARCH return options, and SORT criteria (RFC 5256).

use super::Str;

use super::{Atom, Date, SequenceSet};

/// One search key. A list of keys means all of them (AND).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SearchKey {
    /// `ALL`.
    All,
    /// `ANSWERED`.
    Answered,
    /// `BCC <string>`.
    Bcc(Str),
    /// `BEFORE <date>`: internal date earlier than the date.
    Before(Date),
    /// `BODY <string>`.
    Body(Str),
    /// `CC <string>`.
    Cc(Str),
    /// `DELETED`.
    Deleted,
    /// `DRAFT`.
    Draft,
    /// `FLAGGED`.
    Flagged,
    /// `FROM <string>`.
    From(Str),
    /// `HEADER <field> <string>`.
    Header(Str, Str),
    /// `KEYWORD <keyword>`.
    Keyword(Atom),
    /// `LARGER <n>`.
    Larger(u64),
    /// `NEW` (IMAP4rev1): recent and unseen.
    New,
    /// `NOT <key>`.
    Not(Box<SearchKey>),
    /// `OLD` (IMAP4rev1): not recent.
    Old,
    /// `ON <date>`.
    On(Date),
    /// `OR <key> <key>`.
    Or(Box<SearchKey>, Box<SearchKey>),
    /// `RECENT` (IMAP4rev1).
    Recent,
    /// `SEEN`.
    Seen,
    /// `SENTBEFORE <date>`.
    SentBefore(Date),
    /// `SENTON <date>`.
    SentOn(Date),
    /// `SENTSINCE <date>`.
    SentSince(Date),
    /// `SINCE <date>`.
    Since(Date),
    /// `SMALLER <n>`.
    Smaller(u64),
    /// `SUBJECT <string>`.
    Subject(Str),
    /// `TEXT <string>`: header or body.
    Text(Str),
    /// `TO <string>`.
    To(Str),
    /// `UID <set>`.
    Uid(SequenceSet),
    /// `UNANSWERED`.
    Unanswered,
    /// `UNDELETED`.
    Undeleted,
    /// `UNDRAFT`.
    Undraft,
    /// `UNFLAGGED`.
    Unflagged,
    /// `UNKEYWORD <keyword>`.
    Unkeyword(Atom),
    /// `UNSEEN`.
    Unseen,
    /// A sequence set of message numbers.
    SequenceSet(SequenceSet),
    /// `( <keys> )`: all of them.
    And(Vec<SearchKey>),
    /// `MODSEQ [<entry> <type>] <modseq>` (RFC 7162).
    ModSeq {
        /// The metadata entry and its type (`priv`, `shared`, `all`), when given.
        entry: Option<(Str, Atom)>,
        /// Messages whose mod-sequence is at least this.
        modseq: u64,
    },
    /// `SAVEDBEFORE <date>` (RFC 8514).
    SavedBefore(Date),
    /// `SAVEDON <date>` (RFC 8514).
    SavedOn(Date),
    /// `SAVEDSINCE <date>` (RFC 8514).
    SavedSince(Date),
    /// `SAVEDATESUPPORTED` (RFC 8514).
    SaveDateSupported,
    /// `EMAILID <id>` (RFC 8474).
    EmailId(Atom),
    /// `THREADID <id>` (RFC 8474).
    ThreadId(Atom),
    /// `OLDER <seconds>` (RFC 5032).
    Older(u32),
    /// `YOUNGER <seconds>` (RFC 5032).
    Younger(u32),
}

impl SearchKey {
    /// True when this key, or one nested in it (NOT, OR, parentheses), satisfies `pred`.
    pub fn any(&self, pred: &impl Fn(&SearchKey) -> bool) -> bool {
        pred(self)
            || match self {
                SearchKey::Not(k) => k.any(pred),
                SearchKey::Or(a, b) => a.any(pred) || b.any(pred),
                SearchKey::And(keys) => keys.iter().any(|k| k.any(pred)),
                _ => false,
            }
    }

    /// Calls `f` on every key that nests no other, depth first.
    pub fn for_each_leaf_mut(&mut self, f: &mut impl FnMut(&mut SearchKey)) {
        match self {
            SearchKey::Not(k) => k.for_each_leaf_mut(f),
            SearchKey::Or(a, b) => {
                a.for_each_leaf_mut(f);
                b.for_each_leaf_mut(f);
            }
            SearchKey::And(keys) => keys.iter_mut().for_each(|k| k.for_each_leaf_mut(f)),
            leaf => f(leaf),
        }
    }
}

/// What an ESEARCH-style SEARCH returns (`RETURN (...)`, RFC 4731 and RFC 5182).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SearchReturn {
    /// `MIN`.
    Min,
    /// `MAX`.
    Max,
    /// `ALL`.
    All,
    /// `COUNT`.
    Count,
    /// `SAVE`: keep the result for `$`.
    Save,
}

/// A SORT key (RFC 5256 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// `ARRIVAL`: internal date.
    Arrival,
    /// `CC`: first Cc mailbox.
    Cc,
    /// `DATE`: sent date.
    Date,
    /// `FROM`: first From mailbox.
    From,
    /// `SIZE`.
    Size,
    /// `SUBJECT`: base subject.
    Subject,
    /// `TO`: first To mailbox.
    To,
}

/// A SORT criterion: a key, possibly reversed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    /// `REVERSE` was given.
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}
