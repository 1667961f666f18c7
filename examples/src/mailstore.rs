//! The mailbox store the server examples share: one maildir per user
//! (`ROOT/<user>/Maildir`, the layout smtp-sink writes and Dovecot reads)
//! with Maildir++ folders (`.Sent`, `.Archive.2024`, names in modified
//! UTF-7), flags in file names (`:2,FRS` plus keyword letters listed in
//! `dovecot-keywords`), and UIDVALIDITY, UIDs and mod-sequences kept in
//! `sansmail-uidlist`. Every change happens under a lock file, so several
//! sessions and a delivering process can share a mailbox.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sansmail_imap::types::{
    Atom, Flag, MailboxAttr, Str, decode_modified_utf7, encode_modified_utf7,
};

use crate::maildir::unique_name;

/// The hierarchy delimiter: Maildir++ joins levels with dots.
pub const DELIMITER: char = '.';

/// Folders made at first login, with their special use (RFC 6154).
pub const SPECIAL_USE: [(&str, MailboxAttr); 4] = [
    ("Sent", MailboxAttr::Sent),
    ("Drafts", MailboxAttr::Drafts),
    ("Trash", MailboxAttr::Trash),
    ("Junk", MailboxAttr::Junk),
];

const UIDLIST: &str = "sansmail-uidlist";
const KEYWORDS: &str = "dovecot-keywords";

/// A user's mailboxes.
#[derive(Clone, Debug)]
pub struct UserStore {
    dir: PathBuf,
    hostname: String,
}

/// A mailbox as LIST shows it.
#[derive(Clone, Debug)]
pub struct FolderInfo {
    /// The name (Unicode).
    pub name: String,
    /// Its special use, if any.
    pub special_use: Option<MailboxAttr>,
    /// True when a folder below it exists.
    pub has_children: bool,
}

impl UserStore {
    /// The store of the maildir at `dir` (created when missing).
    pub fn open(dir: &Path, hostname: &str) -> io::Result<Self> {
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        Ok(UserStore {
            dir: dir.to_owned(),
            hostname: hostname.to_owned(),
        })
    }

    /// Creates the special-use folders that are missing, subscribed.
    pub fn ensure_special_use(&self) -> io::Result<()> {
        for (name, _) in &SPECIAL_USE {
            if !self.folder_dir(name).is_some_and(|d| d.is_dir()) {
                self.create(name)?;
                self.subscribe(name, true)?;
            }
        }
        Ok(())
    }

    /// The directory of a folder; `None` for a name that cannot be one.
    pub fn folder_dir(&self, name: &str) -> Option<PathBuf> {
        if name.eq_ignore_ascii_case("INBOX") {
            return Some(self.dir.clone());
        }
        let valid = !name.is_empty()
            && !name.starts_with(DELIMITER)
            && !name.ends_with(DELIMITER)
            && !name.contains("..")
            && !name.contains(['/', '\0', '\r', '\n'])
            && name.len() <= 200;
        valid.then(|| self.dir.join(format!(".{}", encode_modified_utf7(name))))
    }

    /// Every folder, INBOX first.
    pub fn list(&self) -> io::Result<Vec<FolderInfo>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some(wire) = file.strip_prefix('.') else {
                continue;
            };
            if wire.is_empty() || wire.starts_with('.') || !entry.file_type()?.is_dir() {
                continue;
            }
            if !entry.path().join("cur").is_dir() {
                continue;
            }
            names.push(decode_modified_utf7(wire.as_bytes()).unwrap_or_else(|| wire.to_owned()));
        }
        names.sort();
        let mut out = vec![FolderInfo {
            name: "INBOX".into(),
            special_use: None,
            has_children: false,
        }];
        for name in &names {
            let prefix = format!("{name}{DELIMITER}");
            out.push(FolderInfo {
                name: name.clone(),
                special_use: SPECIAL_USE
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, a)| a.clone()),
                has_children: names.iter().any(|n| n.starts_with(&prefix)),
            });
        }
        Ok(out)
    }

    /// Creates a folder (and the missing levels above it).
    pub fn create(&self, name: &str) -> io::Result<()> {
        let dir = self
            .folder_dir(name)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad mailbox name"))?;
        if name.eq_ignore_ascii_case("INBOX") || dir.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "mailbox exists",
            ));
        }
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        // Maildir++ marks folders with this file.
        File::create(dir.join("maildirfolder"))?;
        Ok(())
    }

    /// Deletes a folder and its messages; its children stay.
    pub fn delete(&self, name: &str) -> io::Result<()> {
        if name.eq_ignore_ascii_case("INBOX") {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "INBOX cannot be deleted",
            ));
        }
        let dir = self
            .folder_dir(name)
            .filter(|d| d.is_dir())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such mailbox"))?;
        fs::remove_dir_all(dir)?;
        self.subscribe(name, false)
    }

    /// Renames a folder and those below it.
    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (Some(src), Some(dst)) = (self.folder_dir(from), self.folder_dir(to)) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bad mailbox name",
            ));
        };
        if from.eq_ignore_ascii_case("INBOX") || to.eq_ignore_ascii_case("INBOX") {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "INBOX cannot be renamed here",
            ));
        }
        if !src.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such mailbox"));
        }
        if dst.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "mailbox exists",
            ));
        }
        let children: Vec<String> = self
            .list()?
            .into_iter()
            .map(|f| f.name)
            .filter(|n| n.starts_with(&format!("{from}{DELIMITER}")))
            .collect();
        fs::rename(&src, &dst)?;
        for child in children {
            let new = format!("{to}{}", &child[from.len()..]);
            if let (Some(a), Some(b)) = (self.folder_dir(&child), self.folder_dir(&new)) {
                fs::rename(a, b)?;
            }
        }
        Ok(())
    }

    fn subscriptions_path(&self) -> PathBuf {
        self.dir.join("subscriptions")
    }

    /// The subscribed names.
    pub fn subscriptions(&self) -> Vec<String> {
        fs::read_to_string(self.subscriptions_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| decode_modified_utf7(l.as_bytes()).unwrap_or_else(|| l.to_owned()))
            .collect()
    }

    /// Adds or removes a subscription.
    pub fn subscribe(&self, name: &str, on: bool) -> io::Result<()> {
        let _lock = DotLock::acquire(&self.dir.join("subscriptions.lock"))?;
        let mut names = self.subscriptions();
        names.retain(|n| n != name);
        if on {
            names.push(name.to_owned());
        }
        let body: String = names
            .iter()
            .map(|n| encode_modified_utf7(n) + "\n")
            .collect();
        write_atomically(&self.subscriptions_path(), body.as_bytes())
    }

    /// Opens a folder and brings its UID list up to date.
    pub fn open_folder(&self, name: &str) -> io::Result<Folder> {
        let dir = self
            .folder_dir(name)
            .filter(|d| d.join("cur").is_dir())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such mailbox"))?;
        let mut folder = Folder {
            dir,
            hostname: self.hostname.clone(),
            uid_validity: 0,
            next_uid: 1,
            highest_modseq: 1,
            messages: Vec::new(),
            keywords: Vec::new(),
            stamps: None,
        };
        folder.sync()?;
        Ok(folder)
    }

    /// Octets used by all messages (for QUOTA).
    pub fn usage(&self) -> u64 {
        fn walk(dir: &Path) -> u64 {
            fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| match e.file_type() {
                            Ok(t) if t.is_dir() => walk(&e.path()),
                            Ok(_) => e.metadata().map_or(0, |m| m.len()),
                            Err(_) => 0,
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        walk(&self.dir)
    }
}

/// One message of a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// Its UID.
    pub uid: u32,
    /// Its mod-sequence.
    pub modseq: u64,
    /// The maildir base name (before `:2,`).
    pub base: String,
    /// Where the file is now.
    pub path: PathBuf,
    /// Its flags.
    pub flags: Vec<Flag>,
    /// Its size in octets.
    pub size: u64,
    /// When it arrived (file modification time), seconds since the epoch.
    pub received: i64,
}

/// A folder's messages with their UIDs, as of the last [`Folder::sync`].
#[derive(Clone, Debug)]
pub struct Folder {
    dir: PathBuf,
    hostname: String,
    /// UIDVALIDITY.
    pub uid_validity: u32,
    /// The next UID to assign.
    pub next_uid: u32,
    /// The highest mod-sequence.
    pub highest_modseq: u64,
    /// The messages, by ascending UID.
    pub messages: Vec<StoredMessage>,
    keywords: Vec<String>,
    /// Modification times of new/, cur/ and the UID list at the last sync.
    stamps: Option<[SystemTime; 3]>,
}

/// Maildir flag letters, in the order file names list them.
const LETTERS: [(char, Flag); 5] = [
    ('D', Flag::Draft),
    ('F', Flag::Flagged),
    ('R', Flag::Answered),
    ('S', Flag::Seen),
    ('T', Flag::Deleted),
];

impl Folder {
    /// The message with this UID.
    pub fn get(&self, uid: u32) -> Option<&StoredMessage> {
        self.messages
            .binary_search_by_key(&uid, |m| m.uid)
            .ok()
            .map(|i| &self.messages[i])
    }

    /// Re-reads the maildir under the lock: new files get UIDs, gone ones
    /// are dropped, flags are read from the names. Skipped when no one
    /// touched new/, cur/ or the UID list since the last sync (times a
    /// second old or more, so a coarse clock cannot hide a change).
    pub fn sync(&mut self) -> io::Result<()> {
        let now = self.stamps_now();
        let settled = now.is_some_and(|s| {
            s.iter()
                .all(|t| t.elapsed().is_ok_and(|age| age >= Duration::from_secs(1)))
        });
        if settled && now == self.stamps {
            return Ok(());
        }
        let _lock = DotLock::acquire(&self.dir.join(format!("{UIDLIST}.lock")))?;
        self.sync_locked()
    }

    fn stamps_now(&self) -> Option<[SystemTime; 3]> {
        let time = |p: PathBuf| fs::metadata(p).and_then(|m| m.modified()).ok();
        Some([
            time(self.dir.join("new"))?,
            time(self.dir.join("cur"))?,
            time(self.dir.join(UIDLIST))?,
        ])
    }

    fn sync_locked(&mut self) -> io::Result<()> {
        self.keywords = read_keywords(&self.dir);
        let (validity, next, highest, known) = read_uidlist(&self.dir.join(UIDLIST));
        let mut uid_validity = validity;
        if uid_validity == 0 {
            uid_validity = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_secs() as u32)
                .max(1);
        }
        let mut next_uid = next.max(1);
        let mut highest_modseq = highest.max(1);
        let files = self.scan()?;
        let mut messages = Vec::new();
        let mut fresh = Vec::new();
        let previous: HashMap<&Path, (u64, i64)> = self
            .messages
            .iter()
            .map(|m| (m.path.as_path(), (m.size, m.received)))
            .collect();
        let mut measured = Vec::with_capacity(files.len());
        for (base, path, info) in files {
            // A file seen before under the same name kept its size and time.
            let (size, received) = match previous.get(path.as_path()) {
                Some(&known) => known,
                None => {
                    let meta = fs::metadata(&path)?;
                    let received = meta
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_secs() as i64);
                    (meta.len(), received)
                }
            };
            measured.push((base, path, info, size, received));
        }
        for (base, path, info, size, received) in measured {
            let flags = self.flags_from(&info);
            let message = StoredMessage {
                uid: 0,
                modseq: 0,
                base: base.clone(),
                path,
                flags,
                size,
                received,
            };
            match known.get(&base) {
                Some(&(uid, modseq)) => messages.push(StoredMessage {
                    uid,
                    modseq,
                    ..message
                }),
                None => fresh.push(message),
            }
        }
        fresh.sort_by(|a, b| (a.received, &a.base).cmp(&(b.received, &b.base)));
        for mut m in fresh {
            m.uid = next_uid;
            next_uid += 1;
            highest_modseq += 1;
            m.modseq = highest_modseq;
            messages.push(m);
        }
        messages.sort_by_key(|m| m.uid);
        // A flag change made by another program (e.g. a rename by mutt) also bumps the modseq.
        let before: HashMap<&str, &StoredMessage> =
            self.messages.iter().map(|o| (o.base.as_str(), o)).collect();
        for m in &mut messages {
            if let Some(old) = before.get(m.base.as_str())
                && old.flags != m.flags
                && old.modseq == m.modseq
            {
                highest_modseq += 1;
                m.modseq = highest_modseq;
            }
        }
        // The UID list is rewritten (and synced) only when it would change.
        let unchanged = uid_validity == validity
            && next_uid == next
            && highest_modseq == highest
            && messages.len() == known.len()
            && messages
                .iter()
                .all(|m| known.get(&m.base) == Some(&(m.uid, m.modseq)));
        self.uid_validity = uid_validity;
        self.next_uid = next_uid;
        self.highest_modseq = highest_modseq;
        self.messages = messages;
        if unchanged {
            return Ok(());
        }
        self.write_uidlist()
    }

    /// `(base name, path, flag info after ":2,")` of every message file; new/ files move to cur/.
    fn scan(&self) -> io::Result<Vec<(String, PathBuf, String)>> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // cur/ first: files moved out of new/ below must not be seen twice.
        for sub in ["cur", "new"] {
            for entry in fs::read_dir(self.dir.join(sub))? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || !entry.file_type()?.is_file() {
                    continue;
                }
                let (base, info) = match name.split_once(":2,") {
                    Some((b, i)) => (b.to_owned(), i.to_owned()),
                    None => (
                        name.split(':').next().unwrap_or(&name).to_owned(),
                        String::new(),
                    ),
                };
                let path = entry.path();
                let (base, mut path) = if !seen.insert(base.clone()) {
                    // Two files with one base name (copied in by hand): the
                    // later one gets a name of its own, so each keeps its UID.
                    let fresh = unique_name(&self.hostname);
                    let renamed = self.dir.join(sub).join(format!("{fresh}:2,{info}"));
                    fs::rename(&path, &renamed)?;
                    (fresh, renamed)
                } else {
                    (base, path)
                };
                if sub == "new" {
                    let moved = self.dir.join("cur").join(format!("{base}:2,{info}"));
                    if fs::rename(&path, &moved).is_ok() {
                        path = moved;
                    }
                }
                out.push((base, path, info));
            }
        }
        Ok(out)
    }

    fn flags_from(&self, info: &str) -> Vec<Flag> {
        let mut flags = Vec::new();
        for c in info.chars() {
            if let Some((_, f)) = LETTERS.iter().find(|(l, _)| *l == c) {
                flags.push(f.clone());
            } else if c.is_ascii_lowercase() {
                let i = (c as u8 - b'a') as usize;
                if let Some(k) = self.keywords.get(i).and_then(|k| Flag::keyword(k)) {
                    flags.push(k);
                }
            }
        }
        flags
    }

    fn info_for(&mut self, flags: &[Flag]) -> io::Result<String> {
        let mut letters: Vec<char> = LETTERS
            .iter()
            .filter(|(_, f)| flags.contains(f))
            .map(|(c, _)| *c)
            .collect();
        for f in flags {
            if let Flag::Keyword(k) = f {
                let i = match self
                    .keywords
                    .iter()
                    .position(|x| x.eq_ignore_ascii_case(k.as_str()))
                {
                    Some(i) => i,
                    None if self.keywords.len() < 26 => {
                        self.keywords.push(k.as_str().to_owned());
                        write_keywords(&self.dir, &self.keywords)?;
                        self.keywords.len() - 1
                    }
                    None => continue, // no letter left: the keyword is not kept
                };
                letters.push((b'a' + i as u8) as char);
            }
        }
        letters.sort_unstable();
        letters.dedup();
        Ok(letters.into_iter().collect())
    }

    fn write_uidlist(&mut self) -> io::Result<()> {
        let body = self.uidlist_text();
        // Unchanged: leave the file (and its time, which `sync` watches) alone.
        if fs::read(self.dir.join(UIDLIST)).is_ok_and(|old| old == body.as_bytes()) {
            self.stamps = self.stamps_now();
            return Ok(());
        }
        write_atomically(&self.dir.join(UIDLIST), body.as_bytes())?;
        self.stamps = self.stamps_now();
        Ok(())
    }

    fn uidlist_text(&self) -> String {
        let mut body = format!(
            "sansmail-uidlist 1 V{} N{} M{}\n",
            self.uid_validity, self.next_uid, self.highest_modseq
        );
        for m in &self.messages {
            body.push_str(&format!("{} {} {}\n", m.uid, m.modseq, m.base));
        }
        body
    }

    /// Sets a message's flags; returns its new mod-sequence, or `None` when it is gone.
    pub fn set_flags(&mut self, uid: u32, flags: &[Flag]) -> io::Result<Option<u64>> {
        let _lock = DotLock::acquire(&self.dir.join(format!("{UIDLIST}.lock")))?;
        self.sync_locked()?;
        let info = self.info_for(flags)?;
        let Ok(i) = self.messages.binary_search_by_key(&uid, |m| m.uid) else {
            return Ok(None);
        };
        let target = self
            .dir
            .join("cur")
            .join(format!("{}:2,{info}", self.messages[i].base));
        if target != self.messages[i].path {
            fs::rename(&self.messages[i].path, &target)?;
        }
        self.highest_modseq += 1;
        let new_flags = self.flags_from(&info);
        let m = &mut self.messages[i];
        m.path = target;
        m.flags = new_flags;
        m.modseq = self.highest_modseq;
        let modseq = m.modseq;
        self.write_uidlist()?;
        Ok(Some(modseq))
    }

    /// Adds a message (written to tmp/, synced, moved to cur/); returns its UID.
    pub fn append(
        &mut self,
        data: &[u8],
        flags: &[Flag],
        received: Option<i64>,
    ) -> io::Result<u32> {
        let _lock = DotLock::acquire(&self.dir.join(format!("{UIDLIST}.lock")))?;
        self.sync_locked()?;
        let info = self.info_for(flags)?;
        let base = unique_name(&self.hostname);
        let tmp = self.dir.join("tmp").join(&base);
        let mut file = File::options().write(true).create_new(true).open(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        drop(file);
        if let Some(t) = received {
            let time = UNIX_EPOCH + Duration::from_secs(t.max(0) as u64);
            let _ = File::options()
                .write(true)
                .open(&tmp)
                .and_then(|f| f.set_modified(time));
        }
        let path = self.dir.join("cur").join(format!("{base}:2,{info}"));
        fs::rename(&tmp, &path)?;
        File::open(self.dir.join("cur"))?.sync_all()?;
        let uid = self.next_uid;
        self.next_uid += 1;
        self.highest_modseq += 1;
        let meta = fs::metadata(&path)?;
        self.messages.push(StoredMessage {
            uid,
            modseq: self.highest_modseq,
            base,
            path,
            flags: self.flags_from(&info),
            size: meta.len(),
            received: received.unwrap_or_else(|| {
                meta.modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs() as i64)
            }),
        });
        self.write_uidlist()?;
        Ok(uid)
    }

    /// Removes messages; returns the UIDs actually removed.
    pub fn expunge(&mut self, uids: &[u32]) -> io::Result<Vec<u32>> {
        let _lock = DotLock::acquire(&self.dir.join(format!("{UIDLIST}.lock")))?;
        self.sync_locked()?;
        let mut gone = Vec::new();
        for &uid in uids {
            if let Some(m) = self.get(uid) {
                match fs::remove_file(&m.path) {
                    Ok(()) => gone.push(uid),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => gone.push(uid),
                    Err(e) => return Err(e),
                }
            }
        }
        self.messages.retain(|m| !gone.contains(&m.uid));
        if !gone.is_empty() {
            self.highest_modseq += 1;
        }
        self.write_uidlist()?;
        Ok(gone)
    }

    /// The octets of a message.
    pub fn read(&self, uid: u32) -> io::Result<Vec<u8>> {
        let m = self
            .get(uid)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such message"))?;
        fs::read(&m.path)
    }

    /// Flags defined in this folder (system flags and known keywords).
    pub fn defined_flags(&self) -> Vec<Flag> {
        let mut flags: Vec<Flag> = LETTERS.iter().map(|(_, f)| f.clone()).collect();
        flags.extend(self.keywords.iter().filter_map(|k| Flag::keyword(k)));
        flags
    }

    /// The folder's id (OBJECTID): stable while UIDVALIDITY is.
    pub fn mailbox_id(&self) -> Option<Atom> {
        Atom::new(Str::from(format!("F{:08x}", self.uid_validity))).ok()
    }
}

/// Reads `sansmail-uidlist`: (UIDVALIDITY, next UID, highest modseq, base → (uid, modseq)).
fn read_uidlist(path: &Path) -> (u32, u32, u64, HashMap<String, (u32, u64)>) {
    let text = fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines();
    let (mut v, mut n, mut m) = (0, 1, 1);
    if let Some(header) = lines.next() {
        for word in header.split_whitespace() {
            if let Some(x) = word.strip_prefix('V') {
                v = x.parse().unwrap_or(0);
            } else if let Some(x) = word.strip_prefix('N') {
                n = x.parse().unwrap_or(1);
            } else if let Some(x) = word.strip_prefix('M') {
                m = x.parse().unwrap_or(1);
            }
        }
    }
    let mut known = HashMap::new();
    for line in lines {
        let mut parts = line.splitn(3, ' ');
        if let (Some(uid), Some(modseq), Some(base)) = (parts.next(), parts.next(), parts.next())
            && let (Ok(uid), Ok(modseq)) = (uid.parse(), modseq.parse())
        {
            known.insert(base.to_owned(), (uid, modseq));
        }
    }
    (v, n, m, known)
}

fn read_keywords(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in fs::read_to_string(dir.join(KEYWORDS))
        .unwrap_or_default()
        .lines()
    {
        if let Some((i, name)) = line.split_once(' ')
            && let Ok(i) = i.parse::<usize>()
            && i < 26
        {
            if out.len() <= i {
                out.resize(i + 1, String::new());
            }
            out[i] = name.to_owned();
        }
    }
    out
}

fn write_keywords(dir: &Path, keywords: &[String]) -> io::Result<()> {
    let body: String = keywords
        .iter()
        .enumerate()
        .filter(|(_, k)| !k.is_empty())
        .map(|(i, k)| format!("{i} {k}\n"))
        .collect();
    write_atomically(&dir.join(KEYWORDS), body.as_bytes())
}

fn write_atomically(path: &Path, body: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = File::create(&tmp)?;
    f.write_all(body)?;
    f.sync_all()?;
    fs::rename(tmp, path)
}

/// A lock file made with O_EXCL, removed on drop; one left by a crashed
/// process is broken after 30 seconds.
pub struct DotLock {
    path: PathBuf,
}

impl DotLock {
    /// Waits (up to 10 seconds) for the lock.
    pub fn acquire(path: &Path) -> io::Result<DotLock> {
        let deadline = SystemTime::now() + Duration::from_secs(10);
        loop {
            match File::options().write(true).create_new(true).open(path) {
                Ok(_) => {
                    return Ok(DotLock {
                        path: path.to_owned(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let stale = fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > Duration::from_secs(30));
                    if stale {
                        let _ = fs::remove_file(path);
                        continue;
                    }
                    if SystemTime::now() > deadline {
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "mailbox is locked"));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for DotLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mailstore-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn uids_persist_and_flags_live_in_names() {
        let dir = temp("uids");
        let store = UserStore::open(&dir, "host").unwrap();
        store.ensure_special_use().unwrap();
        assert_eq!(store.list().unwrap().len(), 5);
        // A delivery by another process lands in new/.
        fs::write(dir.join("new/1.M1P1Q1.host"), b"Subject: a\r\n\r\nx\r\n").unwrap();
        let mut inbox = store.open_folder("INBOX").unwrap();
        assert_eq!(inbox.messages[0].uid, 1);
        let uid = inbox
            .append(
                b"Subject: b\r\n\r\ny\r\n",
                &[Flag::Seen, Flag::keyword("$Junk").unwrap()],
                None,
            )
            .unwrap();
        assert_eq!(uid, 2);
        let m = inbox
            .set_flags(1, &[Flag::Flagged, Flag::Answered])
            .unwrap()
            .unwrap();
        assert!(m > 2);
        let again = store.open_folder("INBOX").unwrap();
        assert_eq!(again.uid_validity, inbox.uid_validity);
        assert_eq!(again.messages[0].flags, vec![Flag::Flagged, Flag::Answered]);
        assert_eq!(
            again.messages[1].flags,
            vec![Flag::Seen, Flag::keyword("$Junk").unwrap()]
        );
        assert!(again.messages[1].path.to_string_lossy().ends_with(":2,Sa"));
        assert_eq!(fs::read_to_string(dir.join(KEYWORDS)).unwrap(), "0 $Junk\n");
        let mut inbox = again;
        assert_eq!(inbox.expunge(&[1]).unwrap(), vec![1]);
        assert_eq!(store.open_folder("INBOX").unwrap().messages.len(), 1);
        // Folders: hierarchy, rename with children, subscriptions.
        store.create("Archive.2024").unwrap();
        store.create("Entwürfe").unwrap();
        assert!(dir.join(".Entw&APw-rfe").is_dir());
        store.rename("Archive", "Old").unwrap_err();
        store.create("Archive").unwrap();
        store.rename("Archive", "Old").unwrap();
        let names: Vec<String> = store.list().unwrap().into_iter().map(|f| f.name).collect();
        assert!(names.contains(&"Old.2024".to_string()), "{names:?}");
        assert!(store.subscriptions().contains(&"Sent".to_string()));
        fs::remove_dir_all(&dir).unwrap();
    }
}
