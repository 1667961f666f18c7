//! One session's view of its selected mailbox: message sequence numbers
//! and UIDs kept in step with changes made by other sessions and by
//! deliveries, and the untagged responses that tell the client about them.
//!
//! Changes are queued with [`SelectedMailbox::push`] as they happen and
//! applied by [`SelectedMailbox::flush`] only where RFC 9051 §7.5.1 lets a
//! server report them: message numbers do not shift under a client while
//! it runs a command that names messages by number.
//!
//! ```
//! use std::num::NonZeroU32;
//! use sansmail_imap::mailbox::{Change, SelectedMailbox};
//! use sansmail_imap::types::Untagged;
//!
//! let uid = |n| NonZeroU32::new(n).unwrap();
//! let mut view = SelectedMailbox::new(uid(7), vec![uid(1), uid(2), uid(5)]);
//! view.push(Change::Expunged { uid: uid(2) });
//! view.push(Change::Added { uid: uid(6) });
//! let mut out = Vec::new();
//! view.flush(false, &mut out); // during FETCH: nothing may shift yet
//! assert!(out.is_empty());
//! view.flush(true, &mut out);
//! assert_eq!(out, vec![Untagged::Expunge(uid(2)), Untagged::Exists(3)]);
//! assert_eq!(view.seq_of(uid(6)), Some(uid(3)));
//! ```

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;

use crate::types::{
    Code, FetchValue, Flag, PermanentFlag, SeqNo, SequenceSet, Status, StatusKind, Untagged,
};

/// Something that happened to the mailbox, as the store reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A message arrived (UIDs only grow).
    Added {
        /// Its UID.
        uid: NonZeroU32,
    },
    /// A message was expunged.
    Expunged {
        /// Its UID.
        uid: NonZeroU32,
    },
    /// The messages with `\Recent` changed (IMAP4rev1). From then on the
    /// view tells the client with `RECENT`, after any new `EXISTS`, how
    /// many of them it knows whenever that number changes: a message not
    /// announced yet counts once it is, an expunged one stops counting,
    /// so the count never passes `EXISTS`.
    Recent {
        /// Every message `\Recent` for the session now.
        uids: Vec<NonZeroU32>,
    },
    /// The flags defined in the mailbox changed (a new keyword): the
    /// client is told with `FLAGS` and `PERMANENTFLAGS` before any message
    /// shows it.
    Defined {
        /// Every flag now defined.
        flags: Vec<Flag>,
        /// What the client may set (`\*` while keywords can be made).
        permanent: Vec<PermanentFlag>,
    },
    /// A message's flags changed.
    Flags {
        /// Its UID.
        uid: NonZeroU32,
        /// All its flags now.
        flags: Vec<Flag>,
        /// Its new mod-sequence (CONDSTORE).
        modseq: Option<u64>,
    },
}

/// A session's view of the selected mailbox.
#[derive(Clone, Debug)]
pub struct SelectedMailbox {
    uid_validity: NonZeroU32,
    /// UIDs in message-number order (ascending).
    uids: Vec<NonZeroU32>,
    pending: VecDeque<Change>,
    /// Report MODSEQ in unsolicited FETCH responses (CONDSTORE in use).
    condstore: bool,
    /// Report expunges as VANISHED and add UID to FETCH (QRESYNC enabled).
    qresync: bool,
    read_only: bool,
    /// The highest mod-sequence the client was told of (CONDSTORE).
    highest_modseq: u64,
    /// The newest mod-sequence of each message whose flags the client was
    /// told with one: news of an older change that arrives later (another
    /// session's, delivered after this session's own) is not sent, so the
    /// client is never taken back to older flags.
    told: HashMap<NonZeroU32, u64>,
    /// The messages `\Recent` for this session (ascending), once the
    /// application has said which they are.
    recent: Option<Vec<NonZeroU32>>,
    /// The `RECENT` count the client was last told.
    recent_told: u32,
}

impl SelectedMailbox {
    /// A view of a mailbox holding `uids` (ascending).
    pub fn new(uid_validity: NonZeroU32, mut uids: Vec<NonZeroU32>) -> Self {
        uids.sort_unstable();
        uids.dedup();
        SelectedMailbox {
            uid_validity,
            uids,
            pending: VecDeque::new(),
            condstore: false,
            qresync: false,
            read_only: false,
            highest_modseq: 0,
            told: HashMap::new(),
            recent: None,
            recent_told: 0,
        }
    }

    /// The client was just told `count` with `RECENT` (in the SELECT
    /// answer); the view reports the count again only when it changes.
    pub fn recent_reported(&mut self, count: u32) {
        self.recent_told = count;
    }

    /// Starts mod-sequence tracking at the mailbox's HIGHESTMODSEQ.
    pub fn set_highest_modseq(&mut self, modseq: u64) {
        self.highest_modseq = modseq;
    }

    /// The highest mod-sequence reported to the client so far: what it can
    /// give back in `SELECT (QRESYNC ...)` or `CHANGEDSINCE` next time.
    pub fn highest_modseq(&self) -> u64 {
        self.highest_modseq
    }

    /// Reports mod-sequences (CONDSTORE) and, with `qresync`, VANISHED.
    pub fn set_modes(&mut self, condstore: bool, qresync: bool) {
        self.condstore = condstore || qresync;
        self.qresync = qresync;
    }

    /// Marks the view read-only (EXAMINE).
    pub fn set_read_only(&mut self, read_only: bool) {
        self.read_only = read_only;
    }

    /// True after EXAMINE (or a SELECT the store made read-only).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// True when CONDSTORE is in use for this mailbox.
    pub fn condstore(&self) -> bool {
        self.condstore
    }

    /// True when QRESYNC is enabled.
    pub fn qresync(&self) -> bool {
        self.qresync
    }

    /// The mailbox's UIDVALIDITY.
    pub fn uid_validity(&self) -> NonZeroU32 {
        self.uid_validity
    }

    /// How many messages the client knows of.
    pub fn exists(&self) -> u32 {
        self.uids.len() as u32
    }

    /// UIDs in message-number order, as the client knows them.
    pub fn uids(&self) -> &[NonZeroU32] {
        &self.uids
    }

    /// The message number of a UID, if the client knows that message.
    pub fn seq_of(&self, uid: NonZeroU32) -> Option<NonZeroU32> {
        self.uids
            .binary_search(&uid)
            .ok()
            .and_then(|i| NonZeroU32::new(i as u32 + 1))
    }

    /// The UID of a message number.
    pub fn uid_of(&self, seq: NonZeroU32) -> Option<NonZeroU32> {
        self.uids.get(seq.get() as usize - 1).copied()
    }

    /// The messages a set names, as `(number, UID)` in ascending order.
    /// With `uid` the set holds UIDs, and `*` is the largest UID; a range
    /// reaching past the largest UID still includes it (RFC 9051 §6.4.9).
    /// `$` names nothing here: the session resolves it first.
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Vec<(NonZeroU32, NonZeroU32)> {
        let SequenceSet::Ranges(ranges) = set else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if uid {
            let largest = self.uids.last().map_or(0, |u| u.get());
            for r in ranges {
                let (lo, hi) = r.bounds(largest);
                let start = self.uids.partition_point(|u| u.get() < lo);
                for (i, u) in self.uids[start..].iter().enumerate() {
                    if u.get() > hi {
                        break;
                    }
                    out.push((seq(start + i), *u));
                }
            }
        } else {
            let exists = self.exists();
            for r in ranges {
                // `*` in an empty mailbox names nothing.
                if exists == 0 && (r.start == SeqNo::Last || r.end == SeqNo::Last) {
                    continue;
                }
                let (lo, hi) = r.bounds(exists);
                for n in lo..=hi.min(exists) {
                    let i = n as usize - 1;
                    out.push((seq(i), self.uids[i]));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// True when a set of message numbers names a message past the end
    /// (a client error: RFC 9051 asks for BAD).
    pub fn out_of_range(&self, set: &SequenceSet) -> bool {
        match set {
            SequenceSet::Saved => false,
            SequenceSet::Ranges(ranges) => ranges.iter().any(|r| {
                [r.start, r.end].iter().any(|n| match n {
                    SeqNo::Value(v) => v.get() > self.exists(),
                    SeqNo::Last => false,
                })
            }),
        }
    }

    /// Queues a change for the next [`flush`](Self::flush).
    pub fn push(&mut self, change: Change) {
        self.pending.push_back(change);
    }

    /// A message's flags were just reported (with `modseq`, if known): queued
    /// flag changes of it that are not newer are dropped, so the client is
    /// never taken back to older flags.
    pub fn flags_reported(&mut self, uid: NonZeroU32, modseq: Option<u64>) {
        self.pending.retain(|c| match c {
            Change::Flags {
                uid: u,
                modseq: queued,
                ..
            } if *u == uid => match (modseq, queued) {
                (Some(now), Some(old)) => *old > now,
                _ => false,
            },
            _ => true,
        });
        if let Some(m) = modseq {
            self.highest_modseq = self.highest_modseq.max(m);
            self.note_told(uid, m);
        }
    }

    /// A message's MODSEQ was just reported without its flags: news of
    /// older changes of it is no longer sent (it would take the client's
    /// MODSEQ back).
    pub fn modseq_reported(&mut self, uid: NonZeroU32, modseq: u64) {
        self.highest_modseq = self.highest_modseq.max(modseq);
        self.note_told(uid, modseq);
    }

    /// Records that the client knows `uid`'s flags as of `modseq`; false
    /// when it already knew them as of that or a newer one.
    fn note_told(&mut self, uid: NonZeroU32, modseq: u64) -> bool {
        let known = self.told.entry(uid).or_insert(0);
        if *known >= modseq {
            return false;
        }
        *known = modseq;
        true
    }

    /// The flags defined in the mailbox were just reported: queued news of
    /// older definitions is dropped (it would take keywords back).
    pub fn defined_reported(&mut self) {
        self.pending
            .retain(|c| !matches!(c, Change::Defined { .. }));
    }

    /// True when news of the flags defined waits to be reported.
    pub fn has_pending_defined(&self) -> bool {
        self.pending
            .iter()
            .any(|c| matches!(c, Change::Defined { .. }))
    }

    /// True when a flag change of `uid` waits to be reported.
    pub fn has_pending_flags(&self, uid: NonZeroU32) -> bool {
        self.pending
            .iter()
            .any(|c| matches!(c, Change::Flags { uid: u, .. } if *u == uid))
    }

    /// True when changes wait to be reported.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Removes a message the session itself expunged (EXPUNGE, MOVE) and
    /// gives the response that reports it, or `None` if it was unknown.
    pub fn expunge_now(&mut self, uid: NonZeroU32) -> Option<Untagged> {
        let i = self.uids.binary_search(&uid).ok()?;
        self.uids.remove(i);
        Some(if self.qresync {
            Untagged::Vanished {
                earlier: false,
                uids: SequenceSet::single(uid),
            }
        } else {
            Untagged::Expunge(seq(i))
        })
    }

    /// Applies queued changes in order and appends the responses that
    /// report them. Without `expunges_allowed` (a command naming messages
    /// by number is running) it stops at the first expunge, so that no
    /// later change is reported with numbers the client cannot know yet.
    pub fn flush(&mut self, expunges_allowed: bool, out: &mut Vec<Untagged>) {
        let mut grew = false;
        let mut vanished: Vec<u32> = Vec::new();
        while let Some(change) = self.pending.front() {
            if matches!(change, Change::Expunged { .. }) && !expunges_allowed {
                break;
            }
            let Some(change) = self.pending.pop_front() else {
                break;
            };
            match change {
                Change::Added { uid } => {
                    if self.seq_of(uid).is_none() {
                        let at = self.uids.partition_point(|u| *u < uid);
                        if at < self.uids.len() {
                            // A UID below one already seen cannot be given a
                            // number without renumbering: report what came first.
                            continue;
                        }
                        Self::flush_vanished(&mut vanished, out);
                        self.uids.push(uid);
                        grew = true;
                    }
                }
                Change::Expunged { uid } => {
                    if grew {
                        out.push(Untagged::Exists(self.exists()));
                        grew = false;
                    }
                    self.told.remove(&uid);
                    if let Ok(i) = self.uids.binary_search(&uid) {
                        self.uids.remove(i);
                        if self.qresync {
                            vanished.push(uid.get());
                        } else {
                            out.push(Untagged::Expunge(seq(i)));
                        }
                    }
                }
                Change::Recent { mut uids } => {
                    uids.sort_unstable();
                    uids.dedup();
                    self.recent = Some(uids);
                }
                Change::Defined { flags, permanent } => {
                    if grew {
                        out.push(Untagged::Exists(self.exists()));
                        grew = false;
                    }
                    Self::flush_vanished(&mut vanished, out);
                    out.push(Untagged::Flags(flags));
                    if !self.read_only {
                        out.push(Untagged::Status(Status::new(
                            StatusKind::Ok,
                            Some(Code::PermanentFlags(permanent)),
                            "Flags permitted",
                        )));
                    }
                }
                Change::Flags { uid, flags, modseq } => {
                    if let Some(m) = modseq {
                        self.highest_modseq = self.highest_modseq.max(m);
                        if !self.note_told(uid, m) {
                            continue;
                        }
                    }
                    if grew {
                        out.push(Untagged::Exists(self.exists()));
                        grew = false;
                    }
                    Self::flush_vanished(&mut vanished, out);
                    if let Some(n) = self.seq_of(uid) {
                        let mut items = vec![FetchValue::Flags(flags)];
                        if self.qresync {
                            items.push(FetchValue::Uid(uid));
                        }
                        if let (true, Some(m)) = (self.condstore, modseq) {
                            items.push(FetchValue::ModSeq(m));
                        }
                        out.push(Untagged::Fetch { seq: n, items });
                    }
                }
            }
        }
        Self::flush_vanished(&mut vanished, out);
        if grew {
            out.push(Untagged::Exists(self.exists()));
        }
        if let Some(recent) = &self.recent {
            let known = recent.iter().filter(|u| self.uids.binary_search(u).is_ok());
            let count = known.count() as u32;
            if count != self.recent_told {
                self.recent_told = count;
                out.push(Untagged::Recent(count));
            }
        }
    }

    fn flush_vanished(vanished: &mut Vec<u32>, out: &mut Vec<Untagged>) {
        if let Some(uids) = SequenceSet::from_numbers(vanished.drain(..)) {
            out.push(Untagged::Vanished {
                earlier: false,
                uids,
            });
        }
    }
}

/// A message number from a zero-based index.
fn seq(index: usize) -> NonZeroU32 {
    // Invariant: index + 1 >= 1 and message counts fit in u32.
    NonZeroU32::new(index as u32 + 1).unwrap_or(NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SeqRange;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    fn view(uids: &[u32]) -> SelectedMailbox {
        SelectedMailbox::new(nz(1), uids.iter().map(|&u| nz(u)).collect())
    }

    fn range(a: SeqNo, b: SeqNo) -> SequenceSet {
        SequenceSet::Ranges(vec![SeqRange { start: a, end: b }])
    }

    #[test]
    fn resolves_numbers_and_uids() {
        let v = view(&[3, 5, 9, 12]);
        let all = range(SeqNo::Value(nz(1)), SeqNo::Last);
        assert_eq!(v.resolve(&all, false).len(), 4);
        // UID 10:* includes the largest UID even though 12 > 10 only.
        let tail = range(SeqNo::Value(nz(10)), SeqNo::Last);
        assert_eq!(v.resolve(&tail, true), vec![(nz(4), nz(12))]);
        // UID 20:* with 12 the largest: `*` is 12, so 12:20 names UID 12.
        let past = range(SeqNo::Value(nz(20)), SeqNo::Last);
        assert_eq!(v.resolve(&past, true), vec![(nz(4), nz(12))]);
        let mid = range(SeqNo::Value(nz(4)), SeqNo::Value(nz(9)));
        assert_eq!(v.resolve(&mid, true), vec![(nz(2), nz(5)), (nz(3), nz(9))]);
        assert!(v.out_of_range(&SequenceSet::single(nz(5))));
        assert!(!v.out_of_range(&SequenceSet::single(nz(4))));
        assert!(view(&[]).resolve(&all, false).is_empty());
    }

    #[test]
    fn expunges_wait_and_keep_order() {
        let mut v = view(&[1, 2, 3]);
        v.push(Change::Flags {
            uid: nz(3),
            flags: vec![Flag::Seen],
            modseq: Some(9),
        });
        v.push(Change::Expunged { uid: nz(1) });
        v.push(Change::Flags {
            uid: nz(3),
            flags: vec![],
            modseq: Some(10),
        });
        let mut out = Vec::new();
        v.flush(false, &mut out);
        // The flag change before the expunge goes; the one after waits,
        // since it would name message 3 by its new number 2.
        assert_eq!(
            out,
            vec![Untagged::Fetch {
                seq: nz(3),
                items: vec![FetchValue::Flags(vec![Flag::Seen])]
            }]
        );
        out.clear();
        v.flush(true, &mut out);
        assert_eq!(out[0], Untagged::Expunge(nz(1)));
        assert_eq!(
            out[1],
            Untagged::Fetch {
                seq: nz(2),
                items: vec![FetchValue::Flags(vec![])]
            }
        );
        assert_eq!(v.uids(), &[nz(2), nz(3)]);
    }

    #[test]
    fn new_keywords_are_defined_before_a_message_shows_them() {
        let mut v = view(&[1]);
        let junk = Flag::keyword("$Junk").unwrap();
        v.push(Change::Defined {
            flags: vec![Flag::Seen, junk.clone()],
            permanent: vec![
                PermanentFlag::Flag(junk.clone()),
                PermanentFlag::CreateKeywords,
            ],
        });
        v.push(Change::Flags {
            uid: nz(1),
            flags: vec![junk.clone()],
            modseq: None,
        });
        let mut out = Vec::new();
        v.flush(false, &mut out);
        assert_eq!(out[0], Untagged::Flags(vec![Flag::Seen, junk.clone()]));
        assert!(
            matches!(&out[1], Untagged::Status(s) if s.code == Some(Code::PermanentFlags(vec![PermanentFlag::Flag(junk.clone()), PermanentFlag::CreateKeywords])))
        );
        assert!(matches!(out[2], Untagged::Fetch { .. }));
    }

    #[test]
    fn news_older_than_what_the_client_was_told_is_not_sent() {
        let mut v = view(&[1]);
        v.set_modes(true, false);
        let flagged = |modseq| Change::Flags {
            uid: nz(1),
            flags: vec![Flag::Flagged],
            modseq: Some(modseq),
        };
        // The session's own STORE reported modseq 143; another session's
        // change at 140 is delivered afterwards.
        v.flags_reported(nz(1), Some(143));
        v.push(flagged(140));
        v.push(flagged(143));
        let mut out = Vec::new();
        v.flush(true, &mut out);
        assert!(out.is_empty(), "{out:?}");
        // Newer news goes out, once.
        v.push(flagged(150));
        v.push(flagged(150));
        v.flush(true, &mut out);
        assert_eq!(out.len(), 1);
        assert!(
            matches!(&out[0], Untagged::Fetch { items, .. } if items.contains(&FetchValue::ModSeq(150)))
        );
    }

    #[test]
    fn a_modseq_reported_alone_keeps_older_news_from_going_out() {
        let mut v = view(&[1]);
        v.set_modes(true, false);
        // News of a change at 140 waits; a FETCH then reports MODSEQ 145
        // without FLAGS (an application that did not send them).
        v.push(Change::Flags {
            uid: nz(1),
            flags: vec![Flag::Flagged],
            modseq: Some(140),
        });
        v.modseq_reported(nz(1), 145);
        assert_eq!(v.highest_modseq(), 145);
        let mut out = Vec::new();
        v.flush(true, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn qresync_reports_vanished_and_uids() {
        let mut v = view(&[1, 2, 3, 4]);
        v.set_modes(false, true);
        v.set_highest_modseq(50);
        v.push(Change::Expunged { uid: nz(2) });
        v.push(Change::Expunged { uid: nz(3) });
        v.push(Change::Added { uid: nz(8) });
        v.push(Change::Flags {
            uid: nz(8),
            flags: vec![Flag::Flagged],
            modseq: Some(77),
        });
        let mut out = Vec::new();
        v.flush(true, &mut out);
        assert_eq!(v.highest_modseq(), 77);
        assert_eq!(
            out,
            vec![
                Untagged::Vanished {
                    earlier: false,
                    uids: SequenceSet::from_numbers([2, 3]).unwrap()
                },
                Untagged::Exists(3),
                Untagged::Fetch {
                    seq: nz(3),
                    items: vec![
                        FetchValue::Flags(vec![Flag::Flagged]),
                        FetchValue::Uid(nz(8)),
                        FetchValue::ModSeq(77)
                    ]
                }
            ]
        );
    }

    #[test]
    fn recent_counts_only_messages_the_client_knows() {
        let mut v = view(&[1, 2]);
        v.recent_reported(1);
        // UID 3 is recent but not announced yet (it arrived after the
        // refresh that listed it), UID 2 already was.
        v.push(Change::Recent {
            uids: vec![nz(3), nz(2)],
        });
        let mut out = Vec::new();
        v.flush(true, &mut out);
        assert!(out.is_empty(), "the count the client knows is still 1");
        v.push(Change::Added { uid: nz(3) });
        v.flush(true, &mut out);
        assert_eq!(out, vec![Untagged::Exists(3), Untagged::Recent(2)]);
        // A UID below one already shown is never announced, so never counted.
        out.clear();
        v.push(Change::Recent {
            uids: vec![nz(2), nz(3), nz(4)],
        });
        v.push(Change::Added { uid: nz(5) });
        v.push(Change::Added { uid: nz(4) });
        v.flush(true, &mut out);
        assert_eq!(out, vec![Untagged::Exists(4)]);
        // An expunged recent message stops counting.
        out.clear();
        v.push(Change::Expunged { uid: nz(2) });
        v.flush(true, &mut out);
        assert_eq!(out, vec![Untagged::Expunge(nz(2)), Untagged::Recent(1)]);
    }
}
