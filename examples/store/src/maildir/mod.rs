//! The maildir backend, the embedded default: `ROOT/<user>/Maildir` with
//! Maildir++ folders, laid out and named as Dovecot does, so Dovecot (and
//! mutt, and any maildir reader) can read the same mail, and mail other
//! programs deliver into `new/` is picked up.
//!
//! Per folder: message files in `cur/` (written to a staging directory
//! beside the tree, synced, then renamed in: several staging directories
//! let concurrent deliveries make their files in parallel), keywords in
//! `dovecot-keywords`, and UIDs,
//! mod-sequences and ids in the `sansmail-index` journal. A folder's
//! first load adopts the UIDs of a `dovecot-uidlist` when there is one.

pub mod journal;
pub mod names;
pub mod scan;
pub mod watch;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::backend::{
    AccountStorage, Backend, BoxFuture, Commit, Counters, Findings, FlagUpdate, MailboxStorage,
    Removal, Source, Staged, Wake, WatchGuard,
};
use crate::error::{Result, StoreError, joined};
use crate::flags::{Flags, Keyword};
use crate::ids::{EmailId, MailboxId, ThreadId, header_of};
use crate::index::{Entry, Index};
use journal::{Journal, Snapshot};
use watch::{Expected, Watcher};

/// Runs blocking storage work off the reactor threads.
fn blocking<T, F>(work: F) -> BoxFuture<'static, Result<T>>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    Box::pin(async move { tokio::task::spawn_blocking(work).await.map_err(joined)? })
}

fn not_found_as_store(e: io::Error) -> StoreError {
    if e.kind() == io::ErrorKind::NotFound {
        StoreError::NotFound
    } else {
        StoreError::Io(e)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn make_maildir(dir: &Path) -> io::Result<()> {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub))?;
    }
    Ok(())
}

/// Writes a file whole: to a temporary name, synced, renamed into place.
fn replace_file(path: &Path, body: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = File::create(&tmp)?;
    f.write_all(body)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// A lock file made with O_EXCL (Dovecot's dot-locks), removed on drop;
/// one older than 30 seconds was left by a crash and is broken.
struct DotLock(PathBuf);

impl DotLock {
    fn take(path: PathBuf) -> io::Result<DotLock> {
        let deadline = SystemTime::now() + Duration::from_secs(10);
        loop {
            match File::options().write(true).create_new(true).open(&path) {
                Ok(_) => return Ok(DotLock(path)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let stale = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > Duration::from_secs(30));
                    if stale {
                        let _ = fs::remove_file(&path);
                    } else if SystemTime::now() > deadline {
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "mailbox is locked"));
                    } else {
                        // A blocking-pool thread: waiting here holds no reactor.
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for DotLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A UIDVALIDITY for a new folder: the time, but never one this process
/// gave before (a folder deleted and made again within a second must not
/// get its old value, RFC 9051 §2.3.1.1).
fn fresh_uid_validity(now_secs: u64) -> u32 {
    static LAST: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let now = (now_secs as u32).max(1);
    let mut given = now;
    let _ = LAST.fetch_update(
        std::sync::atomic::Ordering::AcqRel,
        std::sync::atomic::Ordering::Acquire,
        |last| {
            given = now.max(last.wrapping_add(1)).max(1);
            Some(given)
        },
    );
    given
}

/// How many staging directories new messages are written in.
const STAGING_DIRS: usize = 8;

/// A tree of maildirs: `ROOT/<user>/Maildir`, and `ROOT/.spool` (spool
/// files, and the staging directories `ROOT/.spool/stage-N`).
pub struct Maildir {
    root: PathBuf,
    hostname: String,
    watcher: Option<Arc<Watcher>>,
    staging: Arc<Vec<PathBuf>>,
}

impl Maildir {
    /// Opens (making it if needed) the tree at `root`; `hostname` goes into
    /// new file names. Spool files a crash left behind were never
    /// acknowledged, and are removed.
    pub fn open(root: &Path, hostname: &str) -> io::Result<Maildir> {
        let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", root.display()));
        let spool = root.join(".spool");
        fs::create_dir_all(&spool).map_err(named)?;
        let staging: Vec<PathBuf> = (0..STAGING_DIRS)
            .map(|i| spool.join(format!("stage-{i}")))
            .collect();
        for dir in std::iter::once(&spool).chain(&staging) {
            fs::create_dir_all(dir).map_err(named)?;
            for entry in fs::read_dir(dir).map_err(named)?.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_file()) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        let probe = spool.join(format!(".probe-{}", std::process::id()));
        File::create(&probe).map_err(named)?;
        fs::remove_file(&probe).map_err(named)?;
        Ok(Maildir {
            root: root.to_owned(),
            hostname: hostname.replace(['/', ':', ','], "_"),
            watcher: Watcher::new(),
            staging: Arc::new(staging),
        })
    }

    /// The maildir of `user`, or `None` for a name that cannot be one.
    pub fn user_maildir(&self, user: &str) -> Option<PathBuf> {
        Some(self.root.join(names::user_dir(user)?).join("Maildir"))
    }
}

impl Backend for Maildir {
    fn account(&self, user: &str) -> BoxFuture<'_, Result<Box<dyn AccountStorage>>> {
        let dir = self.user_maildir(user);
        let account = dir.map(|dir| MaildirAccount {
            dir,
            user: user.to_owned(),
            hostname: self.hostname.clone(),
            watcher: self.watcher.clone(),
            staging: self.staging.clone(),
        });
        Box::pin(async move {
            let account = account.ok_or_else(|| StoreError::BadName("user name".into()))?;
            let dir = account.dir.clone();
            blocking(move || make_maildir(&dir).map_err(StoreError::from)).await?;
            Ok(Box::new(account) as Box<dyn AccountStorage>)
        })
    }

    fn spool_dir(&self) -> PathBuf {
        self.root.join(".spool")
    }
}

/// One user's maildir.
struct MaildirAccount {
    dir: PathBuf,
    user: String,
    hostname: String,
    watcher: Option<Arc<Watcher>>,
    staging: Arc<Vec<PathBuf>>,
}

fn list_folders(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = vec!["INBOX".to_owned()];
    let mut others = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(name) = names::folder_of_dir(&file)
            && entry.file_type()?.is_dir()
            && entry.path().join("cur").is_dir()
        {
            others.push(name);
        }
    }
    others.sort();
    names.extend(others);
    Ok(names)
}

impl AccountStorage for MaildirAccount {
    fn folders(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        let dir = self.dir.clone();
        blocking(move || Ok(list_folders(&dir)?))
    }

    fn create(&self, name: &str) -> BoxFuture<'_, Result<()>> {
        let dir = names::folder_dir(&self.dir, name);
        blocking(move || {
            let dir = dir?;
            if dir.join("cur").is_dir() {
                return Err(StoreError::AlreadyExists);
            }
            make_maildir(&dir)?;
            // Maildir++ marks folders with this file.
            File::create(dir.join("maildirfolder"))?;
            Ok(())
        })
    }

    fn delete(&self, name: &str) -> BoxFuture<'_, Result<()>> {
        let dir = names::folder_dir(&self.dir, name);
        blocking(move || {
            fs::remove_dir_all(dir?).map_err(not_found_as_store)?;
            Ok(())
        })
    }

    fn rename(&self, from: &str, to: &str) -> BoxFuture<'_, Result<()>> {
        let (account, from, to) = (self.dir.clone(), from.to_owned(), to.to_owned());
        blocking(move || {
            let prefix = format!("{from}.");
            let children: Vec<String> = list_folders(&account)?
                .into_iter()
                .filter(|n| n.starts_with(&prefix))
                .collect();
            fs::rename(
                names::folder_dir(&account, &from)?,
                names::folder_dir(&account, &to)?,
            )
            .map_err(not_found_as_store)?;
            for child in children {
                let new = format!("{to}{}", &child[from.len()..]);
                fs::rename(
                    names::folder_dir(&account, &child)?,
                    names::folder_dir(&account, &new)?,
                )?;
            }
            Ok(())
        })
    }

    fn subscriptions(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        let path = self.dir.join("subscriptions");
        blocking(move || match fs::read_to_string(&path) {
            Ok(text) => Ok(names::parse_subscriptions(&text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        })
    }

    fn set_subscriptions(&self, list: Vec<String>) -> BoxFuture<'_, Result<()>> {
        let dir = self.dir.clone();
        blocking(move || {
            let _lock = DotLock::take(dir.join("subscriptions.lock"))?;
            replace_file(
                &dir.join("subscriptions"),
                names::write_subscriptions(&list).as_bytes(),
            )?;
            Ok(())
        })
    }

    fn mailbox(&self, name: &str) -> BoxFuture<'_, Result<Box<dyn MailboxStorage>>> {
        let folder = names::folder_dir(&self.dir, name).map(|dir| MaildirFolder {
            inner: Arc::new(Folder {
                account: self.dir.clone(),
                dir: Mutex::new(dir),
                user: self.user.clone(),
                name: Mutex::new(name.to_owned()),
                hostname: self.hostname.clone(),
                journal: Mutex::new(None),
                watcher: self.watcher.clone(),
                expected: Arc::new(Expected::default()),
                watching: Mutex::new(None),
                staging: self.staging.clone(),
            }),
        });
        Box::pin(async move {
            let folder = folder?;
            let dir = folder.inner.dir();
            let exists = blocking(move || Ok(dir.join("cur").is_dir())).await?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            Ok(Box::new(folder) as Box<dyn MailboxStorage>)
        })
    }

    fn usage(&self) -> BoxFuture<'_, Result<u64>> {
        let dir = self.dir.clone();
        blocking(move || {
            let mut total = 0;
            for name in list_folders(&dir)? {
                let folder = names::folder_dir(&dir, &name)?;
                for sub in ["cur", "new"] {
                    let Ok(entries) = fs::read_dir(folder.join(sub)) else {
                        continue;
                    };
                    for entry in entries.flatten() {
                        let file = entry.file_name().to_string_lossy().into_owned();
                        total += match names::sizes_in(names::split_key(&file).0).0 {
                            Some(size) => size,
                            None => entry.metadata().map_or(0, |m| m.len()),
                        };
                    }
                }
            }
            Ok(total)
        })
    }
}

/// How a folder is woken, and the watch doing it (`None` while the
/// system refuses one).
type Watched = (Wake, Option<Box<dyn WatchGuard>>);

/// One folder's files and journal.
struct Folder {
    account: PathBuf,
    dir: Mutex<PathBuf>,
    user: String,
    name: Mutex<String>,
    hostname: String,
    journal: Mutex<Option<Journal>>,
    watcher: Option<Arc<Watcher>>,
    expected: Arc<Expected>,
    /// The wake function and guard while watched (kept to follow a rename).
    watching: Mutex<Option<Watched>>,
    /// Where new messages are written before they join the folder.
    staging: Arc<Vec<PathBuf>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Folder {
    fn dir(&self) -> PathBuf {
        lock(&self.dir).clone()
    }

    fn cur(&self) -> PathBuf {
        self.dir().join("cur")
    }

    /// Appends journal records; the counters say what they hand out.
    fn record(&self, text: &str, uid_next: u32, modseq: u64) -> io::Result<()> {
        let mut journal = lock(&self.journal);
        match journal.as_mut() {
            Some(j) => j.append(text, uid_next, modseq),
            None => Err(io::Error::other("the folder's journal is not open")),
        }
    }

    fn load(&self) -> Result<Index> {
        let dir = self.dir();
        make_maildir(&dir)?;
        let keywords = scan::read_keywords(&dir);
        let path = dir.join(journal::FILE);
        let replayed = journal::replay(&path)?;
        let mut rewrite = false;
        // (uid → entry known from the journal) and (base → uid) for the scan.
        let (validity, id, mut counters, mut entries, vanished, floor, records) = match replayed {
            Some(r) => {
                let counters = Counters {
                    uid_next: r.uid_next,
                    modseq: r.modseq,
                };
                *lock(&self.journal) = Some(Journal::open(&path, &r)?);
                let entries: HashMap<u32, Entry> = r.entries.into_iter().collect();
                (
                    r.uid_validity,
                    r.id,
                    counters,
                    entries,
                    r.vanished,
                    r.vanished_floor,
                    r.records,
                )
            }
            None => {
                rewrite = true;
                let stamp = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                let id = MailboxId::made(&self.user, &lock(&self.name), stamp.as_nanos() as u64).0;
                let journal::Migrated {
                    uid_validity: validity,
                    uid_next,
                    modseq,
                    known: migrated,
                } = journal::migrate(&dir).unwrap_or_default();
                let validity = if validity == 0 {
                    fresh_uid_validity(stamp.as_secs())
                } else {
                    validity
                };
                // Migrated UIDs are measured from their files below.
                let entries = migrated
                    .into_iter()
                    .map(|(base, (uid, modseq))| {
                        let e = Entry {
                            uid,
                            flags: Flags::default(),
                            modseq: modseq.unwrap_or(0),
                            size: u64::MAX,
                            vsize: 0,
                            received: 0,
                            email_id: EmailId(0),
                            thread_id: ThreadId(0),
                            key: base.into(),
                        };
                        (uid, e)
                    })
                    .collect();
                let counters = Counters {
                    uid_next: uid_next.max(1),
                    modseq: modseq.max(1),
                };
                (validity, id, counters, entries, Vec::new(), 1, 0)
            }
        };
        let known: HashMap<String, u32> = entries
            .values()
            .map(|e| (names::split_key(&e.key).0.to_owned(), e.uid))
            .collect();
        let diff = scan::differences(&dir, &self.hostname, &known, &self.expected)?;
        let mut lines = String::new();
        let mut vanished = vanished;
        for uid in diff.missing {
            entries.remove(&uid);
            let modseq = counters.take_modseq();
            vanished.push((uid, modseq));
            lines.push_str(&format!("X {uid} {modseq}\n"));
        }
        let cur = dir.join("cur");
        let table_len = keywords.len();
        let known_flags = |key: &str| {
            let mut f = names::flags_from_info(names::split_key(key).1);
            f.keywords &= (1u64 << table_len) - 1;
            f
        };
        for (uid, key) in diff.present {
            let Some(e) = entries.get_mut(&uid) else {
                continue;
            };
            let flags = known_flags(&key);
            if e.size == u64::MAX {
                // Adopted from an older UID list: measure it once.
                let file = scan::measure(&cur.join(&*key), &key)?;
                e.size = file.size;
                e.vsize = file.vsize;
                e.received = file.received;
                e.email_id = file.email_id;
                e.thread_id = file.thread_id;
                if e.modseq == 0 {
                    e.modseq = counters.take_modseq();
                }
            } else if e.key != key && flags != known_flags(&e.key) {
                e.modseq = counters.take_modseq();
                lines.push_str(&format!("F {uid} {} {key}\n", e.modseq));
            }
            e.flags = flags;
            e.key = key;
        }
        // What arrived while no one was looking is recent.
        let recent_from = counters.uid_next;
        for file in diff.new {
            let e = Entry {
                uid: counters.take_uid(),
                flags: known_flags(&file.key),
                modseq: counters.take_modseq(),
                size: file.size,
                vsize: file.vsize,
                received: file.received,
                email_id: file.email_id,
                thread_id: file.thread_id,
                key: file.key,
            };
            lines.push_str(&journal::added(&e));
            entries.insert(e.uid, e);
        }
        let mut messages: Vec<Entry> = entries.into_values().collect();
        messages.sort_by_key(|e| e.uid);
        let mut index = Index::new(MailboxId(id), validity, names::KEYWORD_LETTERS);
        index.uid_next = counters.uid_next;
        index.highest_modseq = counters.modseq;
        index.keywords = keywords;
        index.messages = messages;
        index.recent_from = recent_from;
        let live = index.messages.len();
        index.start_logs(vanished, floor);
        if rewrite || records > 2 * live + 10_000 {
            self.compact(&index)?;
        } else if !lines.is_empty() {
            self.record(&lines, counters.uid_next, counters.modseq)?;
        }
        Ok(index)
    }

    fn compact(&self, index: &Index) -> io::Result<()> {
        let (vanished, floor) = index.vanished();
        let snapshot = Snapshot {
            uid_validity: index.uid_validity,
            id: index.id,
            uid_next: index.uid_next,
            modseq: index.highest_modseq,
            entries: &index.messages,
            vanished: &vanished,
            vanished_floor: floor,
        };
        let written = Journal::write(&self.dir().join(journal::FILE), &snapshot)?;
        *lock(&self.journal) = Some(written);
        Ok(())
    }

    /// A staging directory for the next message (round robin).
    fn staging_dir(&self) -> (usize, &Path) {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let i = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.staging.len();
        (i, &self.staging[i])
    }

    /// The staged file a token names (`N/base`).
    fn staged_path(&self, token: &str) -> Option<PathBuf> {
        let (i, base) = token.split_once('/')?;
        Some(self.staging.get(i.parse::<usize>().ok()?)?.join(base))
    }

    fn stage(&self, source: Source, received: Option<i64>) -> Result<Staged> {
        let (slot, tmp) = self.staging_dir();
        let (data, from) = match source {
            Source::Bytes(b) => (b, None),
            Source::File(path) => (
                Bytes::from(fs::read(&path).map_err(not_found_as_store)?),
                Some(path),
            ),
            Source::Stored(key) => {
                let path = self.cur().join(&*key);
                (
                    Bytes::from(fs::read(&path).map_err(not_found_as_store)?),
                    Some(path),
                )
            }
        };
        let size = data.len() as u64;
        let vsize = names::crlf_size(&data);
        let email_id = EmailId::of_content(&data);
        let thread_id = ThreadId::of_header(header_of(&data), email_id);
        let base = names::sized_base(&self.hostname, size, vsize);
        let path = tmp.join(&base);
        let linked = from.is_some_and(|from| fs::hard_link(from, &path).is_ok());
        // The modification time is the internal date, as Dovecot reads it;
        // a file written now already has it.
        let stamp = |f: &File| {
            if let Some(t) = received {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                if t != now {
                    let _ = f.set_modified(UNIX_EPOCH + Duration::from_secs(t.max(0) as u64));
                }
            }
        };
        if linked {
            if let Ok(f) = File::options().write(true).open(&path) {
                stamp(&f);
            }
        } else {
            let mut file = File::options().write(true).create_new(true).open(&path)?;
            file.write_all(&data)?;
            stamp(&file);
            file.sync_data()?;
        }
        Ok(Staged {
            token: format!("{slot}/{base}").into(),
            size,
            vsize,
            email_id,
            thread_id,
        })
    }

    fn commit(&self, batch: Vec<Commit>) -> Result<Vec<Box<str>>> {
        let cur = self.cur();
        let mut keys: Vec<Box<str>> = Vec::with_capacity(batch.len());
        let mut lines = String::new();
        let mut counters = Counters {
            uid_next: 1,
            modseq: 0,
        };
        for c in &batch {
            let (_, base) = c
                .staged
                .token
                .split_once('/')
                .unwrap_or(("", &c.staged.token));
            let key = names::key_with_flags(base, c.flags);
            let target = cur.join(&key);
            self.expected.add(target.clone());
            let staged = self
                .staged_path(&c.staged.token)
                .ok_or_else(|| io::Error::other("not a staged message"))?;
            if let Err(e) = fs::rename(staged, &target) {
                for done in &keys {
                    let _ = fs::remove_file(cur.join(&**done));
                }
                return Err(e.into());
            }
            lines.push_str(&journal::added(&c.entry(key.clone().into())));
            counters.uid_next = counters.uid_next.max(c.uid + 1);
            counters.modseq = counters.modseq.max(c.modseq);
            keys.push(key.into());
        }
        // One directory sync makes every rename of the batch durable.
        sync_dir(&cur)?;
        self.record(&lines, counters.uid_next, counters.modseq)?;
        Ok(keys)
    }

    fn set_flags(&self, updates: Vec<FlagUpdate>) -> Result<Vec<Box<str>>> {
        let cur = self.cur();
        let mut keys = Vec::with_capacity(updates.len());
        let mut lines = String::new();
        let mut modseq = 0;
        for u in &updates {
            let key = names::key_with_flags(&u.key, u.flags);
            if key != *u.key {
                let (from, to) = (cur.join(&*u.key), cur.join(&key));
                self.expected.add(from.clone());
                self.expected.add(to.clone());
                fs::rename(from, to)?;
            }
            lines.push_str(&format!("F {} {} {key}\n", u.uid, u.modseq));
            modseq = modseq.max(u.modseq);
            keys.push(key.into());
        }
        self.record(&lines, 0, modseq)?;
        Ok(keys)
    }

    fn save_keywords(&self, table: &[Keyword]) -> Result<()> {
        let dir = self.dir();
        // Dovecot writes dovecot-keywords under the UID list's lock.
        let _lock = DotLock::take(dir.join("dovecot-uidlist.lock"))?;
        replace_file(
            &dir.join("dovecot-keywords"),
            scan::keywords_text(table).as_bytes(),
        )?;
        Ok(())
    }

    fn expunge(&self, removals: Vec<Removal>) -> Result<()> {
        let cur = self.cur();
        let mut lines = String::new();
        let mut modseq = 0;
        for r in &removals {
            let path = cur.join(&*r.key);
            self.expected.add(path.clone());
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            lines.push_str(&format!("X {} {}\n", r.uid, r.modseq));
            modseq = modseq.max(r.modseq);
        }
        self.record(&lines, 0, modseq)?;
        Ok(())
    }

    fn rescan(
        &self,
        known: Vec<(u32, Box<str>)>,
        keywords: Vec<Keyword>,
        mut counters: Counters,
    ) -> Result<(Findings, Counters)> {
        let dir = self.dir();
        let mut found = Findings::default();
        let on_disk = scan::read_keywords(&dir);
        let mut table = keywords;
        if on_disk.len() > table.len() && on_disk[..table.len()] == table[..] {
            table = on_disk;
            found.keywords = Some((table.clone(), counters.take_modseq()));
        }
        let by_base: HashMap<String, u32> = known
            .iter()
            .map(|(uid, key)| (names::split_key(key).0.to_owned(), *uid))
            .collect();
        let keys: HashMap<u32, Box<str>> = known.into_iter().collect();
        let diff = scan::differences(&dir, &self.hostname, &by_base, &self.expected)?;
        let mask = if table.len() >= 64 {
            u64::MAX
        } else {
            (1u64 << table.len()) - 1
        };
        let flags_of = |key: &str| {
            let mut f = names::flags_from_info(names::split_key(key).1);
            f.keywords &= mask;
            f
        };
        let mut lines = String::new();
        for uid in diff.missing {
            let modseq = counters.take_modseq();
            found.removed.push((uid, modseq));
            lines.push_str(&format!("X {uid} {modseq}\n"));
        }
        for (uid, key) in diff.present {
            let Some(old) = keys.get(&uid) else { continue };
            if *old != key {
                let flags = flags_of(&key);
                let modseq = counters.take_modseq();
                lines.push_str(&format!("F {uid} {modseq} {key}\n"));
                found.flags.push((uid, flags, modseq, key));
            }
        }
        for file in diff.new {
            let e = Entry {
                uid: counters.take_uid(),
                flags: flags_of(&file.key),
                modseq: counters.take_modseq(),
                size: file.size,
                vsize: file.vsize,
                received: file.received,
                email_id: file.email_id,
                thread_id: file.thread_id,
                key: file.key,
            };
            lines.push_str(&journal::added(&e));
            found.added.push(e);
        }
        if !lines.is_empty() {
            self.record(&lines, counters.uid_next, counters.modseq)?;
        }
        Ok((found, counters))
    }

    fn rewatch(&self) {
        let mut watching = lock(&self.watching);
        let Some((wake, guard)) = watching.as_mut() else {
            return;
        };
        *guard = None;
        if let Some(watcher) = &self.watcher {
            let dir = self.dir();
            *guard = watcher.watch(
                vec![dir.join("cur"), dir.join("new")],
                wake.clone(),
                self.expected.clone(),
            );
        }
    }
}

/// A folder's storage handle.
struct MaildirFolder {
    inner: Arc<Folder>,
}

/// Keeps the folder's watch: dropping it stops the notifications.
struct Watching(Arc<Folder>);

impl WatchGuard for Watching {}

impl Drop for Watching {
    fn drop(&mut self) {
        *lock(&self.0.watching) = None;
    }
}

impl MailboxStorage for MaildirFolder {
    fn load(&self) -> BoxFuture<'_, Result<Index>> {
        let inner = self.inner.clone();
        blocking(move || inner.load())
    }

    fn stage(&self, source: Source, received: Option<i64>) -> BoxFuture<'_, Result<Staged>> {
        let inner = self.inner.clone();
        blocking(move || inner.stage(source, received))
    }

    fn discard(&self, staged: Vec<Staged>) -> BoxFuture<'_, ()> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let _ = tokio::task::spawn_blocking(move || {
                for s in staged {
                    if let Some(path) = inner.staged_path(&s.token) {
                        let _ = fs::remove_file(path);
                    }
                }
            })
            .await;
        })
    }

    fn commit(
        &self,
        batch: Vec<Commit>,
        _keywords: Vec<Keyword>,
    ) -> BoxFuture<'_, Result<Vec<Box<str>>>> {
        let inner = self.inner.clone();
        blocking(move || inner.commit(batch))
    }

    fn set_flags(
        &self,
        updates: Vec<FlagUpdate>,
        _keywords: Vec<Keyword>,
    ) -> BoxFuture<'_, Result<Vec<Box<str>>>> {
        let inner = self.inner.clone();
        blocking(move || inner.set_flags(updates))
    }

    fn save_keywords(&self, keywords: Vec<Keyword>, _modseq: u64) -> BoxFuture<'_, Result<()>> {
        let inner = self.inner.clone();
        blocking(move || inner.save_keywords(&keywords))
    }

    fn expunge(&self, removals: Vec<Removal>) -> BoxFuture<'_, Result<()>> {
        let inner = self.inner.clone();
        blocking(move || inner.expunge(removals))
    }

    fn read(&self, key: Box<str>) -> BoxFuture<'_, Result<Bytes>> {
        let path = self.inner.cur().join(&*key);
        blocking(move || Ok(Bytes::from(fs::read(path).map_err(not_found_as_store)?)))
    }

    fn source(&self, key: &str) -> Source {
        Source::File(self.inner.cur().join(key))
    }

    fn rescan(
        &self,
        known: Vec<(u32, Box<str>)>,
        keywords: Vec<Keyword>,
        counters: Counters,
    ) -> BoxFuture<'_, Result<(Findings, Counters)>> {
        let inner = self.inner.clone();
        blocking(move || inner.rescan(known, keywords, counters))
    }

    fn relocate(&self, name: &str) {
        if let Ok(dir) = names::folder_dir(&self.inner.account, name) {
            *lock(&self.inner.dir) = dir;
            *lock(&self.inner.name) = name.to_owned();
            self.inner.rewatch();
        }
    }

    fn watch(&self, wake: Wake) -> Option<Box<dyn WatchGuard>> {
        self.inner.watcher.as_ref()?;
        *lock(&self.inner.watching) = Some((wake, None));
        self.inner.rewatch();
        let watched = lock(&self.inner.watching)
            .as_ref()
            .is_some_and(|(_, g)| g.is_some());
        if !watched {
            *lock(&self.inner.watching) = None;
            return None;
        }
        Some(Box::new(Watching(self.inner.clone())))
    }

    fn close(&self, index: &Index) {
        let mut journal = lock(&self.inner.journal);
        if let Some(j) = journal.as_mut() {
            if j.records > 2 * index.messages.len() + 1_000 {
                drop(journal);
                if let Err(e) = self.inner.compact(index) {
                    tracing::warn!(error = %e, "cannot compact a folder's index");
                }
                journal = lock(&self.inner.journal);
            }
            if let Some(j) = journal.as_mut() {
                let _ = j.close(index.uid_next, index.highest_modseq);
            }
        }
    }
}
