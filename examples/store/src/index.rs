//! The in-memory index of one mailbox, shared by every session that has it
//! open: its messages by UID with flags and mod-sequences, its keyword
//! table, and the log of recent changes that feeds the sessions.

use std::collections::VecDeque;

use crate::flags::{Flags, Keyword, SystemFlag};
use crate::ids::{EmailId, MailboxId, ThreadId};

/// How many changes the log keeps; a session further behind resynchronises
/// from the whole index.
pub const LOG_CAPACITY: usize = 10_000;
/// How many expunged UIDs are remembered for QRESYNC (`VANISHED (EARLIER)`).
pub const VANISHED_CAPACITY: usize = 100_000;

/// One message in a mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its UID.
    pub uid: u32,
    /// Its flags.
    pub flags: Flags,
    /// The mod-sequence of its last change.
    pub modseq: u64,
    /// Octets as stored.
    pub size: u64,
    /// Octets with CRLF line ends (IMAP RFC822.SIZE, POP3 sizes).
    pub vsize: u64,
    /// When it arrived (IMAP INTERNALDATE), seconds since the epoch.
    pub received: i64,
    /// Its email id.
    pub email_id: EmailId,
    /// Its thread id.
    pub thread_id: ThreadId,
    /// The backend's name for it (maildir: the file name in `cur/`).
    pub key: Box<str>,
}

impl Entry {
    /// The stable part of the key (maildir: the base name before `:2,`),
    /// which POP3 uses as its unique id.
    pub fn stable_key(&self) -> &str {
        self.key
            .split_once(":2,")
            .map_or(&self.key, |(base, _)| base)
    }
}

/// Something that happened to a mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A message arrived.
    Added {
        /// Its UID.
        uid: u32,
    },
    /// A message's flags changed.
    Flags {
        /// Its UID.
        uid: u32,
        /// All its flags now.
        flags: Flags,
    },
    /// A message was expunged.
    Expunged {
        /// Its UID.
        uid: u32,
        /// Its flags when it went.
        flags: Flags,
        /// Its mod-sequence before it went.
        last_modseq: u64,
    },
    /// The keyword table grew: sessions announce the new list (IMAP FLAGS)
    /// before any message shows the new keywords.
    Keywords {
        /// The table's length now.
        count: usize,
    },
}

/// A change with the mod-sequence it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Unique and increasing within the mailbox.
    pub modseq: u64,
    /// What happened.
    pub change: Change,
}

/// A mailbox's state.
#[derive(Clone, Debug)]
pub struct Index {
    /// The folder's id.
    pub id: MailboxId,
    /// UIDVALIDITY.
    pub uid_validity: u32,
    /// The UID the next message gets.
    pub uid_next: u32,
    /// The highest mod-sequence given so far (the mailbox's state token).
    pub highest_modseq: u64,
    /// Keyword table: bit `i` of [`Flags::keywords`] is `keywords[i]`.
    pub keywords: Vec<Keyword>,
    /// How many keywords the backend can keep (maildir: 26 letters).
    pub keyword_limit: usize,
    /// Messages by ascending UID.
    pub messages: Vec<Entry>,
    /// Messages from this UID on arrived since any session last had the
    /// mailbox selected (IMAP4rev1's `\Recent`).
    pub recent_from: u32,
    log: VecDeque<LogEntry>,
    /// Every change after this mod-sequence is in the log.
    log_floor: u64,
    vanished: VecDeque<(u32, u64)>,
    /// Every expunge after this mod-sequence is in `vanished`.
    vanished_floor: u64,
}

impl Index {
    /// An empty mailbox.
    pub fn new(id: MailboxId, uid_validity: u32, keyword_limit: usize) -> Index {
        Index {
            id,
            uid_validity,
            uid_next: 1,
            highest_modseq: 1,
            keywords: Vec::new(),
            keyword_limit,
            messages: Vec::new(),
            recent_from: 1,
            log: VecDeque::new(),
            log_floor: 1,
            vanished: VecDeque::new(),
            vanished_floor: 1,
        }
    }

    /// Starts the logs at the current mod-sequence (after loading), with
    /// the expunges known since `vanished_floor`.
    pub fn start_logs(&mut self, vanished: Vec<(u32, u64)>, vanished_floor: u64) {
        self.log.clear();
        self.log_floor = self.highest_modseq;
        self.vanished = vanished.into();
        self.vanished_floor = vanished_floor;
        while self.vanished.len() > VANISHED_CAPACITY {
            if let Some((_, m)) = self.vanished.pop_front() {
                self.vanished_floor = m;
            }
        }
    }

    /// The position of `uid` in [`messages`](Self::messages).
    pub fn position(&self, uid: u32) -> Option<usize> {
        self.messages.binary_search_by_key(&uid, |m| m.uid).ok()
    }

    /// The message with `uid`.
    pub fn get(&self, uid: u32) -> Option<&Entry> {
        self.position(uid).map(|i| &self.messages[i])
    }

    /// Messages without `\Seen`.
    pub fn unseen(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| !m.flags.has(SystemFlag::Seen))
            .count()
    }

    /// Octets of all messages.
    pub fn total_size(&self) -> u64 {
        self.messages.iter().map(|m| m.size).sum()
    }

    /// The keywords of `flags`, by name.
    pub fn keyword_names(&self, flags: &Flags) -> Vec<&Keyword> {
        flags
            .keyword_bits()
            .filter_map(|i| self.keywords.get(i))
            .collect()
    }

    /// The bit of `keyword`, if the table has it.
    pub fn keyword_bit(&self, keyword: &Keyword) -> Option<usize> {
        self.keywords.iter().position(|k| k == keyword)
    }

    /// Changes after `modseq`, oldest first; `None` when the log no longer
    /// reaches back that far.
    pub fn changes_since(&self, modseq: u64) -> Option<impl Iterator<Item = &LogEntry>> {
        if modseq < self.log_floor {
            return None;
        }
        let start = self.log.partition_point(|e| e.modseq <= modseq);
        Some(self.log.range(start..))
    }

    /// Every change the log still holds, oldest first.
    pub fn log(&self) -> impl DoubleEndedIterator<Item = &LogEntry> {
        self.log.iter()
    }

    /// UIDs expunged after `modseq`; `None` when that is too long ago to know.
    pub fn vanished_since(&self, modseq: u64) -> Option<Vec<u32>> {
        if modseq < self.vanished_floor {
            return None;
        }
        let start = self.vanished.partition_point(|(_, m)| *m <= modseq);
        let mut uids: Vec<u32> = self.vanished.range(start..).map(|(u, _)| *u).collect();
        uids.sort_unstable();
        Some(uids)
    }

    /// The expunges still remembered, oldest first, and the floor below
    /// which they are forgotten (for persisting).
    pub fn vanished(&self) -> (Vec<(u32, u64)>, u64) {
        (self.vanished.iter().copied().collect(), self.vanished_floor)
    }

    /// Gives the next mod-sequence.
    pub fn next_modseq(&mut self) -> u64 {
        self.highest_modseq += 1;
        self.highest_modseq
    }

    fn record(&mut self, modseq: u64, change: Change) {
        if let Change::Expunged { uid, .. } = change {
            self.vanished.push_back((uid, modseq));
            if self.vanished.len() > VANISHED_CAPACITY
                && let Some((_, m)) = self.vanished.pop_front()
            {
                self.vanished_floor = m;
            }
        }
        self.log.push_back(LogEntry { modseq, change });
        if self.log.len() > LOG_CAPACITY
            && let Some(old) = self.log.pop_front()
        {
            self.log_floor = old.modseq;
        }
    }

    /// Adds a message whose UID and mod-sequence were given by
    /// [`next_modseq`](Self::next_modseq) and `uid_next`.
    pub fn add(&mut self, entry: Entry) {
        let (uid, modseq) = (entry.uid, entry.modseq);
        self.uid_next = self.uid_next.max(uid + 1);
        self.highest_modseq = self.highest_modseq.max(modseq);
        let at = self.messages.partition_point(|m| m.uid < uid);
        self.messages.insert(at, entry);
        self.record(modseq, Change::Added { uid });
    }

    /// Sets a message's flags, with their new mod-sequence and key.
    pub fn set_flags(&mut self, uid: u32, flags: Flags, modseq: u64, key: Box<str>) {
        self.highest_modseq = self.highest_modseq.max(modseq);
        if let Some(i) = self.position(uid) {
            let m = &mut self.messages[i];
            m.flags = flags;
            m.modseq = modseq;
            m.key = key;
            self.record(modseq, Change::Flags { uid, flags });
        }
    }

    /// Removes a message; returns it.
    pub fn remove(&mut self, uid: u32, modseq: u64) -> Option<Entry> {
        self.highest_modseq = self.highest_modseq.max(modseq);
        let i = self.position(uid)?;
        let gone = self.messages.remove(i);
        self.record(
            modseq,
            Change::Expunged {
                uid,
                flags: gone.flags,
                last_modseq: gone.modseq,
            },
        );
        Some(gone)
    }

    /// Adds keywords to the table (the caller checked the limit).
    pub fn add_keywords(&mut self, new: Vec<Keyword>, modseq: u64) {
        self.highest_modseq = self.highest_modseq.max(modseq);
        self.keywords.extend(new);
        let count = self.keywords.len();
        self.record(modseq, Change::Keywords { count });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(uid: u32, modseq: u64) -> Entry {
        Entry {
            uid,
            flags: Flags::default(),
            modseq,
            size: 10,
            vsize: 10,
            received: 0,
            email_id: EmailId(uid as u64),
            thread_id: ThreadId(1),
            key: format!("m{uid}").into(),
        }
    }

    #[test]
    fn the_log_gives_changes_in_order_and_knows_how_far_back_it_reaches() {
        let mut index = Index::new(MailboxId(1), 7, 26);
        for _ in 0..3 {
            let (uid, modseq) = (index.uid_next, index.next_modseq());
            index.add(entry(uid, modseq));
        }
        let seen = Flags::default().with(SystemFlag::Seen);
        let m = index.next_modseq();
        index.set_flags(2, seen, m, "m2:2,S".into());
        let m = index.next_modseq();
        index.remove(1, m);
        let since: Vec<&Change> = index.changes_since(3).unwrap().map(|e| &e.change).collect();
        assert_eq!(
            since,
            vec![
                &Change::Added { uid: 3 },
                &Change::Flags {
                    uid: 2,
                    flags: seen
                },
                &Change::Expunged {
                    uid: 1,
                    flags: Flags::default(),
                    last_modseq: 2,
                },
            ]
        );
        assert_eq!(index.vanished_since(1), Some(vec![1]));
        assert_eq!(index.messages.len(), 2);
        assert_eq!(index.get(2).unwrap().key.as_ref(), "m2:2,S");
        assert_eq!(index.highest_modseq, 6);
        assert!(index.changes_since(0).is_none(), "before the log began");
    }

    #[test]
    fn a_full_log_forgets_its_oldest_changes() {
        let mut index = Index::new(MailboxId(1), 7, 26);
        for _ in 0..LOG_CAPACITY + 5 {
            let (uid, modseq) = (index.uid_next, index.next_modseq());
            index.add(entry(uid, modseq));
        }
        assert!(index.changes_since(3).is_none());
        let recent = index.changes_since(index.highest_modseq - 2).unwrap();
        assert_eq!(recent.count(), 2);
    }
}
