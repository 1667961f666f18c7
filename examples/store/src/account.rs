//! One user's mail: folders (made with their superiors, renamed with
//! their inferiors, deleted, subscribed), the mailboxes open in this
//! process, and the quota.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::backend::{AccountStorage, Source};
use crate::error::{Result, StoreError};
use crate::flags::FlagSet;
use crate::mailbox::{Appended, Mailbox, NewMessage, Usage};

/// The hierarchy delimiter of folder names.
pub const DELIMITER: char = '.';

/// What a folder is for (RFC 6154), known by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecialUse {
    /// Sent mail.
    Sent,
    /// Drafts.
    Drafts,
    /// Deleted mail.
    Trash,
    /// Spam.
    Junk,
    /// Archived mail.
    Archive,
}

/// Folders every account gets at first login, with their use.
pub const DEFAULT_FOLDERS: [(&str, SpecialUse); 5] = [
    ("Sent", SpecialUse::Sent),
    ("Drafts", SpecialUse::Drafts),
    ("Trash", SpecialUse::Trash),
    ("Junk", SpecialUse::Junk),
    ("Archive", SpecialUse::Archive),
];

/// A folder as a listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderInfo {
    /// Its full name (INBOX, or levels joined by [`DELIMITER`]).
    pub name: String,
    /// False for a level that exists only because folders below it do.
    pub selectable: bool,
    /// True when a folder below it exists.
    pub has_children: bool,
    /// True when subscribed.
    pub subscribed: bool,
    /// Its special use, if any.
    pub special_use: Option<SpecialUse>,
}

/// The folder name as the store keys it: `INBOX` in any case is INBOX.
pub fn canonical(name: &str) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        "INBOX".into()
    } else {
        name.to_owned()
    }
}

/// Checks a folder name: not empty, no empty level, no control characters.
pub fn check_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() > 255
        || name.split(DELIMITER).any(|level| level.is_empty())
        || name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        || name.starts_with('~');
    if bad {
        return Err(StoreError::BadName(name.to_owned()));
    }
    Ok(())
}

/// One user's account.
pub struct Account {
    user: String,
    storage: Box<dyn AccountStorage>,
    open: Mutex<HashMap<String, Arc<Mailbox>>>,
    opening: tokio::sync::Mutex<()>,
    folders: tokio::sync::Mutex<()>,
    usage: Arc<Usage>,
    quota: Option<u64>,
    pub(crate) last_used: AtomicU64,
    /// Counts changes to the folder list and subscriptions.
    generation: AtomicU64,
}

/// Counts one more change when dropped.
struct GenerationGuard<'a>(&'a AtomicU64);

impl Drop for GenerationGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Account {
    pub(crate) fn new(user: &str, storage: Box<dyn AccountStorage>, quota: Option<u64>) -> Account {
        Account {
            user: user.to_owned(),
            storage,
            open: Mutex::new(HashMap::new()),
            opening: tokio::sync::Mutex::new(()),
            folders: tokio::sync::Mutex::new(()),
            usage: Arc::new(Usage::default()),
            quota,
            last_used: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        }
    }

    /// A number that changes after every change to the folder list or the
    /// subscriptions made through this account (read it before reading
    /// the folders: a change under way then shows as a new number).
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Marks a change of the folder list or subscriptions: now, and again
    /// when the guard is dropped (after the change, whatever its outcome).
    fn changing(&self) -> GenerationGuard<'_> {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        GenerationGuard(&self.generation)
    }

    /// Another server sharing the store changed the folder list: the
    /// folders opened here are looked up again at their next open (sessions
    /// holding one keep it; a deleted one finds out at its next rescan).
    pub(crate) fn folders_changed_elsewhere(&self) {
        let _changing = self.changing();
        lock(&self.open).clear();
        self.usage.forget();
    }

    /// The user's name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Every folder, INBOX first, then by name; levels that exist only
    /// as the parents of others are listed as not selectable.
    pub async fn folders(&self) -> Result<Vec<FolderInfo>> {
        let names = self.storage.folders().await?;
        let subscribed: BTreeSet<String> =
            self.storage.subscriptions().await?.into_iter().collect();
        let real: BTreeSet<String> = names.iter().map(|n| canonical(n)).collect();
        let mut all = real.clone();
        for name in &real {
            let mut at = 0;
            while let Some(i) = name[at..].find(DELIMITER) {
                all.insert(name[..at + i].to_owned());
                at += i + 1;
            }
        }
        let mut out: Vec<FolderInfo> = all
            .iter()
            .map(|name| {
                let prefix = format!("{name}{DELIMITER}");
                FolderInfo {
                    name: name.clone(),
                    selectable: real.contains(name),
                    has_children: all.iter().any(|n| n.starts_with(&prefix)),
                    subscribed: subscribed.contains(name),
                    special_use: special_use(name),
                }
            })
            .collect();
        out.sort_by(|a, b| (a.name != "INBOX", &a.name).cmp(&(b.name != "INBOX", &b.name)));
        Ok(out)
    }

    /// The subscribed names, including those of folders that no longer exist.
    pub async fn subscriptions(&self) -> Result<Vec<String>> {
        self.storage.subscriptions().await
    }

    /// Makes a folder and any missing level above it (RFC 9051 §6.3.4).
    pub async fn create(&self, name: &str) -> Result<()> {
        let name = name.trim_end_matches(DELIMITER);
        check_name(name)?;
        let _folders = self.folders.lock().await;
        let _changing = self.changing();
        let existing: BTreeSet<String> = self
            .storage
            .folders()
            .await?
            .into_iter()
            .map(|n| canonical(&n))
            .collect();
        let name = canonical(name);
        if existing.contains(&name) {
            return Err(StoreError::AlreadyExists);
        }
        let mut at = 0;
        while let Some(i) = name[at..].find(DELIMITER) {
            let superior = &name[..at + i];
            if !existing.contains(superior) {
                self.storage.create(superior).await?;
            }
            at += i + 1;
        }
        self.storage.create(&name).await
    }

    /// Makes the [`DEFAULT_FOLDERS`] that are missing, subscribed.
    pub async fn ensure_default_folders(&self) -> Result<()> {
        let existing = self.storage.folders().await?;
        for (name, _) in DEFAULT_FOLDERS {
            if !existing.iter().any(|n| n == name) {
                match self.create(name).await {
                    Ok(()) | Err(StoreError::AlreadyExists) => {}
                    Err(e) => return Err(e),
                }
                self.subscribe(name, true).await?;
            }
        }
        Ok(())
    }

    /// Deletes a folder and its messages; folders below it stay (RFC 9051 §6.3.5).
    pub async fn delete(&self, name: &str) -> Result<()> {
        let name = canonical(name);
        if name == "INBOX" {
            return Err(StoreError::NotAllowed("INBOX cannot be deleted"));
        }
        let _folders = self.folders.lock().await;
        let _changing = self.changing();
        if !self.storage.folders().await?.contains(&name) {
            return Err(StoreError::NotFound);
        }
        let open = lock(&self.open).remove(&name);
        if let Some(mailbox) = open {
            mailbox.empty_for_deletion().await?;
            mailbox.close();
        } else if self.usage.get().is_some() {
            // The usage count would need the folder's sizes: count again later.
            self.usage.forget();
        }
        self.storage.delete(&name).await
    }

    /// Renames a folder and the folders below it. Renaming INBOX moves its
    /// messages to a new folder and leaves INBOX empty (RFC 9051 §6.3.6).
    pub async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (from, to) = (canonical(from), canonical(to.trim_end_matches(DELIMITER)));
        check_name(&to)?;
        if to == "INBOX" {
            return Err(StoreError::AlreadyExists);
        }
        if to.starts_with(&format!("{from}{DELIMITER}")) {
            return Err(StoreError::NotAllowed("a mailbox cannot move below itself"));
        }
        if from == "INBOX" {
            self.create(&to).await?;
            let inbox = self.open("INBOX").await?;
            let target = self.open(&to).await?;
            let all: Vec<u32> = inbox.index().messages.iter().map(|m| m.uid).collect();
            inbox.move_to(&all, &target).await?;
            return Ok(());
        }
        let _folders = self.folders.lock().await;
        let _changing = self.changing();
        let existing = self.storage.folders().await?;
        if !existing.contains(&from) {
            return Err(StoreError::NotFound);
        }
        if existing.contains(&to) {
            return Err(StoreError::AlreadyExists);
        }
        // Superiors of the new name are made, as CREATE would.
        let mut at = 0;
        while let Some(i) = to[at..].find(DELIMITER) {
            let superior = &to[..at + i];
            if !existing.iter().any(|n| n == superior) && superior != from {
                self.storage.create(superior).await?;
            }
            at += i + 1;
        }
        self.storage.rename(&from, &to).await?;
        let prefix = format!("{from}{DELIMITER}");
        let mut open = lock(&self.open);
        let moved: Vec<String> = open
            .keys()
            .filter(|k| **k == from || k.starts_with(&prefix))
            .cloned()
            .collect();
        for old in moved {
            if let Some(mailbox) = open.remove(&old) {
                let new = format!("{to}{}", &old[from.len()..]);
                mailbox.renamed(&new);
                open.insert(new, mailbox);
            }
        }
        Ok(())
    }

    /// Subscribes to a name or unsubscribes from it.
    pub async fn subscribe(&self, name: &str, on: bool) -> Result<()> {
        let name = canonical(name);
        let _folders = self.folders.lock().await;
        let _changing = self.changing();
        let mut names = self.storage.subscriptions().await?;
        let had = names.contains(&name);
        if on == had {
            return Ok(());
        }
        names.retain(|n| *n != name);
        if on {
            names.push(name);
        }
        self.storage.set_subscriptions(names).await
    }

    /// Opens a folder: the same [`Mailbox`] for every caller in the process.
    pub async fn open(&self, name: &str) -> Result<Arc<Mailbox>> {
        let name = canonical(name);
        if let Some(m) = lock(&self.open).get(&name) {
            return Ok(m.clone());
        }
        let _opening = self.opening.lock().await;
        if let Some(m) = lock(&self.open).get(&name) {
            return Ok(m.clone());
        }
        let storage = self.storage.mailbox(&name).await?;
        let mailbox = Mailbox::load(&name, storage, self.usage.clone(), self.quota).await?;
        lock(&self.open).insert(name, mailbox.clone());
        Ok(mailbox)
    }

    /// Octets used by every message.
    pub async fn usage(&self) -> Result<u64> {
        if let Some(used) = self.usage.get()
            && !self.storage.usage_changes_elsewhere()
        {
            return Ok(used);
        }
        let used = self.storage.usage().await?;
        self.usage.set(used);
        Ok(used)
    }

    /// The quota in octets, if there is one.
    pub fn quota(&self) -> Option<u64> {
        self.quota
    }

    /// Delivers one message into `folder` (checked against the quota).
    pub async fn deliver(&self, folder: &str, source: Source, flags: FlagSet) -> Result<Appended> {
        if self.quota.is_some() {
            self.usage().await?;
        }
        let mailbox = self.open(folder).await?;
        mailbox
            .append(vec![NewMessage {
                source,
                flags,
                received: None,
            }])
            .await
    }

    /// Closes mailboxes no one else holds (after `idle`), keeping INBOX
    /// open while anything else is. Returns how many stay open.
    pub(crate) fn sweep(&self, keep_all: bool) -> usize {
        let mut open = lock(&self.open);
        if !keep_all {
            open.retain(|_, m| {
                let held = Arc::strong_count(m) > 1;
                if !held {
                    m.close();
                }
                held
            });
        }
        open.len()
    }

    /// Closes every open mailbox (at shutdown).
    pub(crate) fn close_all(&self) {
        for (_, m) in lock(&self.open).drain() {
            m.close();
        }
    }

    pub(crate) fn touch(&self, now: u64) {
        self.last_used.store(now, Ordering::Relaxed);
    }
}

fn special_use(name: &str) -> Option<SpecialUse> {
    DEFAULT_FOLDERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, u)| *u)
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account").field("user", &self.user).finish()
    }
}
