//! The seam between the store's shared core (indexes, change feed, group
//! commit, quota) and where mail is kept. The maildir backend implements
//! it; a database backend implements the same traits.
//!
//! The core decides UIDs, mod-sequences and flags; a backend only makes
//! them durable and reads them back. A backend shared by several servers
//! refuses a write with [`StoreError::Conflict`](crate::StoreError::Conflict)
//! when another server changed the mailbox since its last
//! [`rescan`](MailboxStorage::rescan); the core then rescans and tries
//! again with the counters the rescan gave. Every method may block on storage:
//! backends run their work off the async runtime's reactor threads.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use bytes::Bytes;

use crate::error::Result;
use crate::flags::{Flags, Keyword};
use crate::ids::{EmailId, ThreadId};
use crate::index::{Entry, Index};

/// A boxed future, so the traits can be used as objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a new message's octets come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// These bytes.
    Bytes(Bytes),
    /// A file that is already written and synced (a spool file, or a
    /// message in another folder of the same store); linked where possible.
    File(PathBuf),
    /// A message the backend already holds, by the name it gave it (a
    /// copy between folders of a database store shares the stored octets).
    Stored(Box<str>),
}

/// A message written and synced where [`MailboxStorage::commit`] can take
/// it from, not yet in the mailbox.
#[derive(Clone, Debug)]
pub struct Staged {
    /// The backend's handle on it.
    pub token: Box<str>,
    /// Octets.
    pub size: u64,
    /// Octets with CRLF line ends.
    pub vsize: u64,
    /// From the content.
    pub email_id: EmailId,
    /// From the header.
    pub thread_id: ThreadId,
}

/// A staged message with the UID, mod-sequence and flags the core gave it.
#[derive(Clone, Debug)]
pub struct Commit {
    /// What was staged.
    pub staged: Staged,
    /// Its UID.
    pub uid: u32,
    /// Its mod-sequence.
    pub modseq: u64,
    /// Its flags.
    pub flags: Flags,
    /// Its internal date, seconds since the epoch.
    pub received: i64,
}

impl Commit {
    /// The index entry of the committed message, whose key is `key`.
    pub fn entry(&self, key: Box<str>) -> Entry {
        Entry {
            uid: self.uid,
            flags: self.flags,
            modseq: self.modseq,
            size: self.staged.size,
            vsize: self.staged.vsize,
            received: self.received,
            email_id: self.staged.email_id,
            thread_id: self.staged.thread_id,
            key,
        }
    }
}

/// A flag change to make durable.
#[derive(Clone, Debug)]
pub struct FlagUpdate {
    /// The message.
    pub uid: u32,
    /// Its key before the change.
    pub key: Box<str>,
    /// Its flags after.
    pub flags: Flags,
    /// The change's mod-sequence.
    pub modseq: u64,
}

/// A message to remove.
#[derive(Clone, Debug)]
pub struct Removal {
    /// The message.
    pub uid: u32,
    /// Its key.
    pub key: Box<str>,
    /// The expunge's mod-sequence.
    pub modseq: u64,
}

/// The next UID and mod-sequence to give, owned by whoever holds a
/// mailbox's write lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    /// The next UID.
    pub uid_next: u32,
    /// The last mod-sequence given.
    pub modseq: u64,
}

impl Counters {
    /// Gives a UID.
    pub fn take_uid(&mut self) -> u32 {
        let uid = self.uid_next;
        self.uid_next += 1;
        uid
    }

    /// Gives a mod-sequence.
    pub fn take_modseq(&mut self) -> u64 {
        self.modseq += 1;
        self.modseq
    }
}

/// What another program changed in a mailbox, found and made durable by
/// [`MailboxStorage::rescan`] with UIDs and mod-sequences from its counters.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    /// The keyword table when it grew, with the mod-sequence of that
    /// change (before any message's use of the new keywords).
    pub keywords: Option<(Vec<Keyword>, u64)>,
    /// New messages.
    pub added: Vec<Entry>,
    /// `(uid, flags, modseq, key)` of messages whose flags changed.
    pub flags: Vec<(u32, Flags, u64, Box<str>)>,
    /// `(uid, modseq)` of messages that are gone.
    pub removed: Vec<(u32, u64)>,
}

/// Called when another program may have changed a mailbox.
pub type Wake = std::sync::Arc<dyn Fn() + Send + Sync>;

/// Keeps a mailbox watched for outside changes until dropped.
pub trait WatchGuard: Send + Sync {}

/// One folder's persistence.
pub trait MailboxStorage: Send + Sync {
    /// Reads the folder: its persisted index reconciled with what is
    /// stored (messages other programs added or removed meanwhile).
    fn load(&self) -> BoxFuture<'_, Result<Index>>;

    /// Writes and syncs a message where [`commit`](Self::commit) takes it from.
    fn stage(&self, source: Source, received: Option<i64>) -> BoxFuture<'_, Result<Staged>>;

    /// Drops staged messages that will not be committed.
    fn discard(&self, staged: Vec<Staged>) -> BoxFuture<'_, ()>;

    /// Makes staged messages part of the folder, durably, in one go;
    /// returns each one's key. `keywords` is the keyword table their
    /// flags refer to.
    fn commit(
        &self,
        batch: Vec<Commit>,
        keywords: Vec<Keyword>,
    ) -> BoxFuture<'_, Result<Vec<Box<str>>>>;

    /// Records flag changes; returns each message's new key.
    fn set_flags(
        &self,
        updates: Vec<FlagUpdate>,
        keywords: Vec<Keyword>,
    ) -> BoxFuture<'_, Result<Vec<Box<str>>>>;

    /// Saves a grown keyword table before messages use it; `modseq` is
    /// the mod-sequence the core gave the change.
    fn save_keywords(&self, keywords: Vec<Keyword>, modseq: u64) -> BoxFuture<'_, Result<()>>;

    /// Removes messages.
    fn expunge(&self, removals: Vec<Removal>) -> BoxFuture<'_, Result<()>>;

    /// The octets of a message.
    fn read(&self, key: Box<str>) -> BoxFuture<'_, Result<Bytes>>;

    /// Where a copy can take this message from.
    fn source(&self, key: &str) -> Source;

    /// Looks for changes other programs made, given what the core knows
    /// (`uid`, key) and its counters; gives them UIDs and mod-sequences.
    fn rescan(
        &self,
        known: Vec<(u32, Box<str>)>,
        keywords: Vec<Keyword>,
        counters: Counters,
    ) -> BoxFuture<'_, Result<(Findings, Counters)>>;

    /// Follows the folder to its new name after a rename.
    fn relocate(&self, name: &str);

    /// Calls `wake` when another program may have changed the folder;
    /// `None` when the backend cannot tell (the core then rescans on demand).
    fn watch(&self, wake: Wake) -> Option<Box<dyn WatchGuard>>;

    /// Writes what a clean shutdown leaves (the next load is quicker).
    fn close(&self, index: &Index);
}

/// One user's folders.
pub trait AccountStorage: Send + Sync {
    /// The selectable folders, INBOX first.
    fn folders(&self) -> BoxFuture<'_, Result<Vec<String>>>;
    /// Makes a folder (not its superiors).
    fn create(&self, name: &str) -> BoxFuture<'_, Result<()>>;
    /// Removes a folder and its messages (not its inferiors).
    fn delete(&self, name: &str) -> BoxFuture<'_, Result<()>>;
    /// Renames a folder and its inferiors.
    fn rename(&self, from: &str, to: &str) -> BoxFuture<'_, Result<()>>;
    /// The subscribed names.
    fn subscriptions(&self) -> BoxFuture<'_, Result<Vec<String>>>;
    /// Replaces the subscribed names.
    fn set_subscriptions(&self, names: Vec<String>) -> BoxFuture<'_, Result<()>>;
    /// The storage of an existing folder.
    fn mailbox(&self, name: &str) -> BoxFuture<'_, Result<Box<dyn MailboxStorage>>>;
    /// Octets used by every message of every folder.
    fn usage(&self) -> BoxFuture<'_, Result<u64>>;
    /// True when other servers change the usage too (a shared store): it
    /// is then read again for every check instead of counted here.
    fn usage_changes_elsewhere(&self) -> bool {
        false
    }
}

/// A store's accounts.
pub trait Backend: Send + Sync {
    /// The storage of `user`'s account (made when missing).
    fn account(&self, user: &str) -> BoxFuture<'_, Result<Box<dyn AccountStorage>>>;
    /// A directory for spool files: messages written once before they go
    /// to several mailboxes.
    fn spool_dir(&self) -> PathBuf;
    /// Calls `changed` with a user's name when another server sharing the
    /// storage changed that user's folder list (nothing for a backend that
    /// only this process writes).
    fn on_folders_changed(&self, changed: FoldersChanged) {
        let _ = changed;
    }
}

/// Told the name of a user whose folders another server changed.
pub type FoldersChanged = std::sync::Arc<dyn Fn(&str) + Send + Sync>;
