//! One open mailbox, shared by every session and delivery of the process:
//! its index in memory, writes serialised and made durable through the
//! backend, and a change feed.
//!
//! Reads ([`Mailbox::index`]) take a short read lock and never wait for
//! storage. Writes take the mailbox's write lock, ask the backend to make
//! the change durable, then apply it to the index and tell the feed, so
//! every session sees changes in the order they were made, with
//! mod-sequences that only grow. Appends that arrive while another commit
//! is on disk are committed together ("group commit": one directory sync
//! for all of them).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{oneshot, watch};

use crate::backend::{
    Commit, Counters, FlagUpdate, MailboxStorage, Removal, Source, Staged, WatchGuard,
};
use crate::error::{Result, StoreError};
use crate::flags::{FlagAction, FlagSet, Flags, Keyword, SystemFlag};
use crate::ids::MailboxId;
use crate::index::{Entry, Index};

/// How often a write refused for a [`StoreError::Conflict`] is tried again
/// (each time after reading what the other server changed).
const CONFLICT_RETRIES: usize = 16;

/// Runs `$write` (which uses `$counters`) until it is not refused for a
/// [`StoreError::Conflict`]: after each refusal the other server's changes
/// are read first, so the next try starts from what the storage holds (a
/// backend may keep the mailbox locked between the two, as PostgreSQL's
/// does, so that the next try cannot be refused).
macro_rules! retrying {
    ($mailbox:expr, $counters:expr, $write:expr) => {{
        let mut tries = 0;
        loop {
            match $write {
                Err(StoreError::Conflict) if tries < CONFLICT_RETRIES => {
                    tries += 1;
                    if let Err(e) = $mailbox.rescan_locked($counters).await {
                        break Err(e);
                    }
                }
                other => break other,
            }
        }
    }};
}

/// A message to add.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// Its octets.
    pub source: Source,
    /// Its flags.
    pub flags: FlagSet,
    /// Its internal date (seconds since the epoch); now when `None`.
    pub received: Option<i64>,
}

impl NewMessage {
    /// A message from bytes, without flags, arriving now.
    pub fn bytes(data: impl Into<Bytes>) -> NewMessage {
        NewMessage {
            source: Source::Bytes(data.into()),
            flags: FlagSet::new(),
            received: None,
        }
    }
}

/// What an append or copy added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The mailbox's UIDVALIDITY.
    pub uid_validity: u32,
    /// The new messages' UIDs, in the order given.
    pub uids: Vec<u32>,
}

/// One message's flags after a STORE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The message.
    pub uid: u32,
    /// Its flags now.
    pub flags: Flags,
    /// Its mod-sequence now.
    pub modseq: u64,
    /// False when the flags were already so (nothing was written).
    pub changed: bool,
}

/// What a STORE did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlagsOutcome {
    /// Each message named that still exists, except `modified` ones.
    pub stored: Vec<Stored>,
    /// UIDs whose mod-sequence was above UNCHANGEDSINCE: left alone.
    pub modified: Vec<u32>,
    /// Keywords that did not fit the mailbox's table and were not kept.
    pub dropped_keywords: Vec<Keyword>,
}

/// The octets used by an account, once counted.
#[derive(Debug, Default)]
pub struct Usage {
    bytes: AtomicU64,
    known: AtomicBool,
}

impl Usage {
    /// The count, when known.
    pub fn get(&self) -> Option<u64> {
        self.known
            .load(Ordering::Acquire)
            .then(|| self.bytes.load(Ordering::Acquire))
    }

    /// Sets the count.
    pub fn set(&self, bytes: u64) {
        self.bytes.store(bytes, Ordering::Release);
        self.known.store(true, Ordering::Release);
    }

    /// Forgets the count: it is made again when next asked for.
    pub fn forget(&self) {
        self.known.store(false, Ordering::Release);
    }

    fn add(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::AcqRel);
    }

    fn sub(&self, bytes: u64) {
        let _ = self
            .bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                Some(b.saturating_sub(bytes))
            });
    }
}

struct Pending {
    items: Vec<(Staged, FlagSet, i64)>,
    done: oneshot::Sender<Result<Appended>>,
}

/// An open mailbox.
pub struct Mailbox {
    name: Mutex<String>,
    index: RwLock<Index>,
    writer: tokio::sync::Mutex<Counters>,
    queue: Mutex<Vec<Pending>>,
    storage: Box<dyn MailboxStorage>,
    feed: watch::Sender<u64>,
    usage: Arc<Usage>,
    quota: Option<u64>,
    watched: AtomicBool,
    watch_guard: Mutex<Option<Box<dyn WatchGuard>>>,
    deleted: AtomicBool,
    /// UIDs from here on are `\Recent` for the next session to select the mailbox.
    recent_from: Mutex<u32>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn copy_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::OverQuota => StoreError::OverQuota,
        StoreError::TooManyKeywords => StoreError::TooManyKeywords,
        StoreError::Io(io) => StoreError::Io(std::io::Error::new(io.kind(), io.to_string())),
        other => StoreError::Io(std::io::Error::other(other.to_string())),
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Mailbox {
    /// Loads a folder through its storage and starts watching it for
    /// changes made by other programs.
    pub async fn load(
        name: &str,
        storage: Box<dyn MailboxStorage>,
        usage: Arc<Usage>,
        quota: Option<u64>,
    ) -> Result<Arc<Mailbox>> {
        let mut index = storage.load().await?;
        let counters = Counters {
            uid_next: index.uid_next,
            modseq: index.highest_modseq,
        };
        let (vanished, floor) = index.vanished();
        index.start_logs(vanished, floor);
        let highest = index.highest_modseq;
        let recent_from = index.recent_from;
        let mailbox = Arc::new(Mailbox {
            name: Mutex::new(name.to_owned()),
            index: RwLock::new(index),
            writer: tokio::sync::Mutex::new(counters),
            queue: Mutex::new(Vec::new()),
            storage,
            feed: watch::Sender::new(highest),
            usage,
            quota,
            watched: AtomicBool::new(false),
            watch_guard: Mutex::new(None),
            deleted: AtomicBool::new(false),
            recent_from: Mutex::new(recent_from),
        });
        // Called on the notification thread: the mailbox is only touched
        // (and perhaps dropped) in a task on the runtime.
        let weak: Weak<Mailbox> = Arc::downgrade(&mailbox);
        let scheduled = Arc::new(AtomicBool::new(false));
        let runtime = tokio::runtime::Handle::current();
        let wake = Arc::new(move || {
            if scheduled.swap(true, Ordering::AcqRel) {
                return;
            }
            let (weak, scheduled) = (weak.clone(), scheduled.clone());
            runtime.spawn(async move {
                // Let a burst of file events settle into one look.
                tokio::time::sleep(Duration::from_millis(20)).await;
                scheduled.store(false, Ordering::Release);
                if let Some(mailbox) = weak.upgrade()
                    && let Err(e) = mailbox.rescan().await
                {
                    tracing::warn!(mailbox = %mailbox.name(), error = %e, "cannot read outside changes");
                }
            });
        });
        if let Some(guard) = mailbox.storage.watch(wake) {
            *lock(&mailbox.watch_guard) = Some(guard);
            mailbox.watched.store(true, Ordering::Release);
        }
        Ok(mailbox)
    }

    /// The folder's name.
    pub fn name(&self) -> String {
        lock(&self.name).clone()
    }

    /// The folder's id.
    pub fn id(&self) -> MailboxId {
        self.index().id
    }

    /// The index, for reading. Hold it briefly: writers wait for it.
    pub fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn index_mut(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The messages no session has seen yet (`\Recent`), without claiming them.
    pub fn recent_uids(&self) -> Vec<u32> {
        let from = *lock(&self.recent_from);
        let index = self.index();
        let start = index.messages.partition_point(|m| m.uid < from);
        index.messages[start..].iter().map(|m| m.uid).collect()
    }

    /// Claims the messages no session has seen yet: they are `\Recent` for
    /// the caller alone (RFC 3501 §2.3.2).
    pub fn claim_recent(&self) -> Vec<u32> {
        let mut from = lock(&self.recent_from);
        let index = self.index();
        let start = index.messages.partition_point(|m| m.uid < *from);
        let claimed = index.messages[start..].iter().map(|m| m.uid).collect();
        *from = index.uid_next.max(*from);
        claimed
    }

    /// A receiver told the highest mod-sequence after every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.feed.subscribe()
    }

    /// True while other programs' changes are noticed as they happen;
    /// otherwise call [`rescan`](Self::rescan) to look for them.
    pub fn is_watched(&self) -> bool {
        self.watched.load(Ordering::Acquire)
    }

    /// True once the folder was deleted: sessions that have it selected
    /// should let their clients go.
    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }

    fn notify(&self) {
        let highest = self.index().highest_modseq;
        self.feed.send_replace(highest);
    }

    /// Picks up what other programs changed (new files, renames, removals;
    /// other servers' writes to a shared store).
    pub async fn rescan(&self) -> Result<()> {
        let mut counters = self.writer.lock().await;
        self.rescan_locked(&mut counters).await
    }

    /// [`rescan`](Self::rescan) for a caller holding the write lock. The
    /// findings join the index in mod-sequence order, so the change log
    /// stays ordered whatever order the backend found them in.
    async fn rescan_locked(&self, counters: &mut Counters) -> Result<()> {
        let (known, keywords) = {
            let index = self.index();
            let known = index
                .messages
                .iter()
                .map(|m| (m.uid, m.key.clone()))
                .collect();
            (known, index.keywords.clone())
        };
        let (found, next) = match self.storage.rescan(known, keywords, *counters).await {
            Ok(found) => found,
            Err(StoreError::NotFound) => {
                // Deleted by another server sharing the store.
                self.deleted.store(true, Ordering::Release);
                self.notify();
                return Err(StoreError::NotFound);
            }
            Err(e) => return Err(e),
        };
        *counters = next;
        enum Found {
            Keywords(Vec<Keyword>),
            Removed(u32),
            Flags(u32, Flags, Box<str>),
            Added(Entry),
        }
        let mut all: Vec<(u64, Found)> = Vec::new();
        if let Some((table, modseq)) = found.keywords {
            all.push((modseq, Found::Keywords(table)));
        }
        all.extend(
            found
                .removed
                .into_iter()
                .map(|(uid, m)| (m, Found::Removed(uid))),
        );
        all.extend(
            found
                .flags
                .into_iter()
                .map(|(uid, flags, m, key)| (m, Found::Flags(uid, flags, key))),
        );
        all.extend(found.added.into_iter().map(|e| (e.modseq, Found::Added(e))));
        if all.is_empty() {
            return Ok(());
        }
        all.sort_by_key(|(modseq, _)| *modseq);
        {
            let mut index = self.index_mut();
            for (modseq, change) in all {
                match change {
                    Found::Keywords(table) => {
                        let new: Vec<Keyword> =
                            table[index.keywords.len().min(table.len())..].to_vec();
                        if !new.is_empty() {
                            index.add_keywords(new, modseq);
                        }
                    }
                    Found::Removed(uid) => {
                        if let Some(gone) = index.remove(uid, modseq) {
                            self.usage.sub(gone.size);
                        }
                    }
                    Found::Flags(uid, flags, key) => index.set_flags(uid, flags, modseq, key),
                    Found::Added(entry) => {
                        self.usage.add(entry.size);
                        index.add(entry);
                    }
                }
            }
            index.highest_modseq = index.highest_modseq.max(next.modseq);
            index.uid_next = index.uid_next.max(next.uid_next);
        }
        self.notify();
        Ok(())
    }

    /// Bits for named flags, growing the keyword table where needed (the
    /// grown table is saved and announced before any message uses it).
    /// Returns the bits and the keywords that did not fit.
    async fn resolve(
        &self,
        counters: &mut Counters,
        sets: &[&FlagSet],
        grow: bool,
    ) -> Result<(Vec<Flags>, Vec<Keyword>)> {
        let (mut table, limit) = {
            let index = self.index();
            (index.keywords.clone(), index.keyword_limit)
        };
        let known = table.len();
        let mut dropped = Vec::new();
        if grow {
            for set in sets {
                for k in &set.keywords {
                    if !table.contains(k) {
                        if table.len() < limit {
                            table.push(k.clone());
                        } else if !dropped.contains(k) {
                            dropped.push(k.clone());
                        }
                    }
                }
            }
        }
        if table.len() > known {
            let modseq = counters.take_modseq();
            self.storage.save_keywords(table.clone(), modseq).await?;
            self.index_mut()
                .add_keywords(table[known..].to_vec(), modseq);
        }
        let bits = sets
            .iter()
            .map(|set| {
                let mut keywords = 0u64;
                for k in &set.keywords {
                    if let Some(i) = table.iter().position(|t| t == k) {
                        keywords |= 1 << i;
                    }
                }
                Flags {
                    system: set.system,
                    keywords,
                }
            })
            .collect();
        Ok((bits, dropped))
    }

    fn check_quota(&self, adding: u64) -> Result<()> {
        if let (Some(limit), Some(used)) = (self.quota, self.usage.get())
            && used.saturating_add(adding) > limit
        {
            return Err(StoreError::OverQuota);
        }
        Ok(())
    }

    /// Adds messages, all or none (MULTIAPPEND). Each is written and synced
    /// before it joins the mailbox; the call returns once they are durable.
    pub async fn append(&self, messages: Vec<NewMessage>) -> Result<Appended> {
        if self.is_deleted() {
            return Err(StoreError::NotFound);
        }
        let mut items = Vec::with_capacity(messages.len());
        for m in messages {
            let received = m.received.unwrap_or_else(now_unix);
            match self.storage.stage(m.source, Some(received)).await {
                Ok(staged) => items.push((staged, m.flags, received)),
                Err(e) => {
                    self.storage
                        .discard(items.into_iter().map(|i| i.0).collect())
                        .await;
                    return Err(e);
                }
            }
        }
        self.commit_staged(items).await
    }

    async fn commit_staged(&self, items: Vec<(Staged, FlagSet, i64)>) -> Result<Appended> {
        let adding: u64 = items.iter().map(|i| i.0.size).sum();
        if let Err(e) = self.check_quota(adding) {
            self.storage
                .discard(items.into_iter().map(|i| i.0).collect())
                .await;
            return Err(e);
        }
        let (done, mut result) = oneshot::channel();
        lock(&self.queue).push(Pending { items, done });
        let mut counters = self.writer.lock().await;
        if let Ok(appended) = result.try_recv() {
            // Committed with an earlier batch while this one waited.
            return appended;
        }
        let batch = std::mem::take(&mut *lock(&self.queue));
        self.commit_batch(&mut counters, batch).await;
        drop(counters);
        result
            .await
            .unwrap_or_else(|_| Err(StoreError::Io(std::io::Error::other("append abandoned"))))
    }

    async fn commit_batch(&self, counters: &mut Counters, batch: Vec<Pending>) {
        let staged: Vec<Staged> = batch
            .iter()
            .flat_map(|p| p.items.iter().map(|i| i.0.clone()))
            .collect();
        let written = retrying!(self, counters, self.try_commit(counters, &batch).await);
        let (commits, keys) = match written {
            Ok(written) => written,
            Err(e) => {
                self.storage.discard(staged).await;
                for p in batch {
                    let _ = p.done.send(Err(copy_error(&e)));
                }
                return;
            }
        };
        let uid_validity = {
            let mut index = self.index_mut();
            for (c, key) in commits.iter().zip(keys) {
                self.usage.add(c.staged.size);
                index.add(c.entry(key));
            }
            index.uid_validity
        };
        self.notify();
        let mut uids = commits.iter().map(|c| c.uid);
        for p in batch {
            let mine = uids.by_ref().take(p.items.len()).collect();
            let _ = p.done.send(Ok(Appended {
                uid_validity,
                uids: mine,
            }));
        }
    }

    /// One try at making a batch durable: UIDs and mod-sequences from
    /// `counters`, flags against the keyword table (grown where needed).
    async fn try_commit(
        &self,
        counters: &mut Counters,
        batch: &[Pending],
    ) -> Result<(Vec<Commit>, Vec<Box<str>>)> {
        let sets: Vec<&FlagSet> = batch
            .iter()
            .flat_map(|p| p.items.iter().map(|i| &i.1))
            .collect();
        let (bits, _) = self.resolve(counters, &sets, true).await?;
        let mut commits = Vec::with_capacity(bits.len());
        let mut flags = bits.into_iter();
        for p in batch {
            for (staged, _, received) in &p.items {
                commits.push(Commit {
                    staged: staged.clone(),
                    uid: counters.take_uid(),
                    modseq: counters.take_modseq(),
                    flags: flags.next().unwrap_or_default(),
                    received: *received,
                });
            }
        }
        let table = self.index().keywords.clone();
        let keys = self.storage.commit(commits.clone(), table).await?;
        Ok((commits, keys))
    }

    /// Changes flags. With `unchanged_since`, messages changed after that
    /// mod-sequence are left alone and listed in `modified` (RFC 7162).
    pub async fn store_flags(
        &self,
        uids: &[u32],
        action: FlagAction,
        flags: &FlagSet,
        unchanged_since: Option<u64>,
    ) -> Result<FlagsOutcome> {
        let mut counters = self.writer.lock().await;
        retrying!(
            self,
            &mut counters,
            self.try_store_flags(&mut counters, uids, action, flags, unchanged_since)
                .await
        )
    }

    async fn try_store_flags(
        &self,
        counters: &mut Counters,
        uids: &[u32],
        action: FlagAction,
        flags: &FlagSet,
        unchanged_since: Option<u64>,
    ) -> Result<FlagsOutcome> {
        let grow = action != FlagAction::Remove;
        let (bits, dropped) = self.resolve(counters, &[flags], grow).await?;
        let given = bits[0];
        let mut outcome = FlagsOutcome {
            dropped_keywords: dropped,
            ..Default::default()
        };
        let mut updates = Vec::new();
        {
            let index = self.index();
            for &uid in uids {
                let Some(m) = index.get(uid) else { continue };
                if unchanged_since.is_some_and(|n| m.modseq > n) {
                    outcome.modified.push(uid);
                    continue;
                }
                let new = action.apply(m.flags, given);
                if new == m.flags {
                    outcome.stored.push(Stored {
                        uid,
                        flags: m.flags,
                        modseq: m.modseq,
                        changed: false,
                    });
                } else {
                    updates.push(FlagUpdate {
                        uid,
                        key: m.key.clone(),
                        flags: new,
                        modseq: counters.take_modseq(),
                    });
                }
            }
        }
        if updates.is_empty() {
            return Ok(outcome);
        }
        let table = self.index().keywords.clone();
        let keys = self.storage.set_flags(updates.clone(), table).await?;
        {
            let mut index = self.index_mut();
            for (u, key) in updates.into_iter().zip(keys) {
                index.set_flags(u.uid, u.flags, u.modseq, key);
                outcome.stored.push(Stored {
                    uid: u.uid,
                    flags: u.flags,
                    modseq: u.modseq,
                    changed: true,
                });
            }
        }
        outcome.stored.sort_by_key(|s| s.uid);
        self.notify();
        Ok(outcome)
    }

    /// Expunges messages; returns the UIDs removed, ascending.
    pub async fn expunge(&self, uids: &[u32]) -> Result<Vec<u32>> {
        let mut counters = self.writer.lock().await;
        retrying!(
            self,
            &mut counters,
            self.try_expunge(&mut counters, uids).await
        )
    }

    async fn try_expunge(&self, counters: &mut Counters, uids: &[u32]) -> Result<Vec<u32>> {
        let removals: Vec<Removal> = {
            let index = self.index();
            let mut uids = uids.to_vec();
            uids.sort_unstable();
            uids.dedup();
            uids.iter()
                .filter_map(|&uid| index.get(uid))
                .map(|m| Removal {
                    uid: m.uid,
                    key: m.key.clone(),
                    modseq: 0,
                })
                .collect::<Vec<_>>()
        }
        .into_iter()
        .map(|mut r| {
            r.modseq = counters.take_modseq();
            r
        })
        .collect();
        if removals.is_empty() {
            return Ok(Vec::new());
        }
        self.storage.expunge(removals.clone()).await?;
        {
            let mut index = self.index_mut();
            for r in &removals {
                if let Some(gone) = index.remove(r.uid, r.modseq) {
                    self.usage.sub(gone.size);
                }
            }
        }
        self.notify();
        Ok(removals.iter().map(|r| r.uid).collect())
    }

    /// Expunges every message with `\Deleted` among `within` (all when `None`).
    pub async fn expunge_deleted(&self, within: Option<&[u32]>) -> Result<Vec<u32>> {
        let doomed: Vec<u32> = self
            .index()
            .messages
            .iter()
            .filter(|m| m.flags.has(SystemFlag::Deleted))
            .filter(|m| within.is_none_or(|w| w.binary_search(&m.uid).is_ok()))
            .map(|m| m.uid)
            .collect();
        self.expunge(&doomed).await
    }

    /// Copies messages into `dest` (which may be this mailbox), keeping
    /// their flags and internal dates. Returns `(source UID, new UID)` pairs
    /// and the destination's UIDVALIDITY.
    pub async fn copy_to(&self, uids: &[u32], dest: &Mailbox) -> Result<(Vec<(u32, u32)>, u32)> {
        let mut items = Vec::new();
        let mut sources = Vec::new();
        for &uid in uids {
            match self.stage_copy(uid, dest).await {
                Ok(Some(item)) => {
                    items.push(item);
                    sources.push(uid);
                }
                Ok(None) => {}
                Err(e) => {
                    dest.storage
                        .discard(
                            items
                                .into_iter()
                                .map(|i: (Staged, FlagSet, i64)| i.0)
                                .collect(),
                        )
                        .await;
                    return Err(e);
                }
            }
        }
        if items.is_empty() {
            let validity = dest.index().uid_validity;
            return Ok((Vec::new(), validity));
        }
        let appended = dest.commit_staged(items).await?;
        Ok((
            sources.into_iter().zip(appended.uids).collect(),
            appended.uid_validity,
        ))
    }

    /// Stages a copy of one message in `dest`; `None` when it is gone.
    async fn stage_copy(&self, uid: u32, dest: &Mailbox) -> Result<Option<(Staged, FlagSet, i64)>> {
        let found = |index: &Index| {
            let m = index.get(uid)?;
            let mut names = FlagSet::new();
            names.system = m.flags.system;
            for k in index.keyword_names(&m.flags) {
                names.add_keyword(k.clone());
            }
            Some((self.storage.source(&m.key), names, m.received))
        };
        let Some((source, flags, received)) = found(&self.index()) else {
            return Ok(None);
        };
        match dest.storage.stage(source, Some(received)).await {
            Ok(staged) => return Ok(Some((staged, flags, received))),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
        // Renamed by a flag change in flight: wait for it, then copy from
        // where the index says, while nothing can move the file.
        let _writes = self.writer.lock().await;
        let Some((source, flags, received)) = found(&self.index()) else {
            return Ok(None);
        };
        let staged = dest.storage.stage(source, Some(received)).await?;
        Ok(Some((staged, flags, received)))
    }

    /// Moves messages into `dest`: copied, then expunged here.
    pub async fn move_to(&self, uids: &[u32], dest: &Mailbox) -> Result<(Vec<(u32, u32)>, u32)> {
        let (pairs, validity) = self.copy_to(uids, dest).await?;
        let moved: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        self.expunge(&moved).await?;
        Ok((pairs, validity))
    }

    /// A message's octets.
    pub async fn content(&self, uid: u32) -> Result<Bytes> {
        let key = match self.index().get(uid) {
            Some(m) => m.key.clone(),
            None => return Err(StoreError::NotFound),
        };
        match self.storage.read(key).await {
            Err(StoreError::NotFound) => {}
            other => return other,
        }
        // A flag change renamed the file before the index says so: wait
        // for writes in flight (they hold the write lock), then read where
        // the index says it is, while no write can move it.
        let _writes = self.writer.lock().await;
        let key = match self.index().get(uid) {
            Some(m) => m.key.clone(),
            None => return Err(StoreError::NotFound),
        };
        self.storage.read(key).await
    }

    /// Marks the folder deleted after expunging everything in it, so
    /// sessions that have it selected are told.
    pub(crate) async fn empty_for_deletion(&self) -> Result<()> {
        let all: Vec<u32> = self.index().messages.iter().map(|m| m.uid).collect();
        self.expunge(&all).await?;
        self.deleted.store(true, Ordering::Release);
        self.notify();
        Ok(())
    }

    pub(crate) fn renamed(&self, name: &str) {
        *lock(&self.name) = name.to_owned();
        self.storage.relocate(name);
    }

    /// Writes what a clean shutdown leaves behind.
    pub(crate) fn close(&self) {
        *lock(&self.watch_guard) = None;
        self.storage.close(&self.index());
    }
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("name", &self.name())
            .finish()
    }
}
