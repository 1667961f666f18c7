//! The durable outbound queue: each message is two files in `DATA/queue/`,
//! `<id>.msg` (the message) and `<id>.json` (its envelope and each
//! recipient's state). Both are synced to disk, the envelope last (written
//! under a temporary name and renamed), before the message is acknowledged;
//! a message without its envelope was never acknowledged and is removed at
//! start. With a PostgreSQL store the queue is a table shared by every
//! instance instead ([`crate::queue_db`]).

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::queue_db::DbQueue;

/// A recipient's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not delivered yet.
    Pending,
    /// Taken by the receiving server.
    Delivered,
    /// Refused for good, or expired.
    Failed,
}

/// One recipient of a queued message.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Recipient {
    /// The address (`local@domain`).
    pub address: String,
    /// What became of it so far.
    pub state: State,
    /// The last reply about it, as `code status text`.
    pub reply: String,
    /// True once the sender was told of its failure.
    pub reported: bool,
}

/// A queued message's envelope and progress.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// The queue id (also the file names).
    pub id: String,
    /// The envelope sender; empty for the null sender (bounces).
    pub from: String,
    /// Every recipient with its state.
    pub recipients: Vec<Recipient>,
    /// When it was queued (Unix seconds).
    pub created: u64,
    /// Delivery attempts made.
    pub attempts: u32,
    /// When to try next (Unix seconds).
    pub next_attempt: u64,
    /// Received with REQUIRETLS (RFC 8689): relayed only over verified TLS
    /// to servers that take REQUIRETLS too.
    #[serde(default)]
    pub require_tls: bool,
    /// Put on hold by the administrator: no delivery until released.
    #[serde(default)]
    pub held: bool,
}

impl Envelope {
    /// A message queued at `now` for `recipients`, due at once.
    pub fn new(
        id: &str,
        from: &str,
        recipients: &[String],
        now: u64,
        require_tls: bool,
    ) -> Envelope {
        Envelope {
            id: id.to_owned(),
            from: from.to_owned(),
            recipients: recipients
                .iter()
                .map(|address| Recipient {
                    address: address.clone(),
                    state: State::Pending,
                    reply: String::new(),
                    reported: false,
                })
                .collect(),
            created: now,
            attempts: 0,
            next_attempt: now,
            require_tls,
            held: false,
        }
    }

    /// The recipients still to deliver.
    pub fn pending(&self) -> impl Iterator<Item = &Recipient> {
        self.recipients.iter().filter(|r| r.state == State::Pending)
    }
}

/// What the queue keeps in memory about one message.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// When it is next due (Unix seconds).
    due: u64,
    /// When it was queued.
    created: u64,
    /// On hold: never due until released.
    held: bool,
}

/// The queue directory.
pub struct Queue {
    dir: PathBuf,
    /// Queue id → its schedule, for every message in the queue. The hold
    /// flag here is the truth: every save writes it.
    entries: Mutex<HashMap<String, Entry>>,
    /// The shared queue, when the store is PostgreSQL (the files are unused).
    db: Option<DbQueue>,
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A new queue id: time, process, a counter and a random word, in hex;
/// unique on this host, and among the instances sharing a queue.
pub fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut random = [0u8; 4];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
    format!(
        "{:x}{:05x}{:x}{:x}{:08x}",
        t.as_secs(),
        t.subsec_micros(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        u32::from_le_bytes(random)
    )
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Queue {
    /// Opens (creating) the queue at `dir`: removes what a crash left half
    /// written, and indexes every complete message.
    pub fn open(dir: &Path) -> io::Result<Queue> {
        let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", dir.display()));
        fs::create_dir_all(dir).map_err(named)?;
        let mut due = HashMap::new();
        let mut messages = Vec::new();
        for entry in fs::read_dir(dir).map_err(named)? {
            let path = entry.map_err(named)?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(id) = name.strip_suffix(".json") {
                match Self::read_envelope(&path) {
                    Ok(env) if dir.join(format!("{id}.msg")).exists() => {
                        due.insert(
                            env.id,
                            Entry {
                                due: env.next_attempt,
                                created: env.created,
                                held: env.held,
                            },
                        );
                    }
                    Ok(_) => fs::remove_file(&path).map_err(named)?,
                    Err(e) => {
                        tracing::error!(file = %path.display(), error = %e, "unreadable envelope left in the queue")
                    }
                }
            } else if let Some(id) = name.strip_suffix(".msg") {
                messages.push(id.to_owned());
            } else if name.ends_with(".tmp") {
                fs::remove_file(&path).map_err(named)?;
            }
        }
        for id in messages {
            if !dir.join(format!("{id}.json")).exists() {
                fs::remove_file(dir.join(format!("{id}.msg"))).map_err(named)?;
            }
        }
        Ok(Queue {
            dir: dir.to_owned(),
            entries: Mutex::new(due),
            db: None,
        })
    }

    /// The queue shared by every instance in the database.
    pub fn shared(db: DbQueue) -> Queue {
        Queue {
            dir: PathBuf::new(),
            entries: Mutex::new(HashMap::new()),
            db: Some(db),
        }
    }

    /// How long a lease on a message lasts, for a shared queue (a worker
    /// renews it at a third of that while it delivers).
    pub fn lease(&self) -> Option<std::time::Duration> {
        self.db
            .as_ref()
            .map(|db| std::time::Duration::from_secs(db.lease_secs()))
    }

    /// Extends this instance's lease on `id` (shared queue; blocking).
    pub fn renew(&self, id: &str) -> io::Result<()> {
        match &self.db {
            Some(db) => db.renew(id),
            None => Ok(()),
        }
    }

    /// Gives the lease on `id` back after an attempt (shared queue; blocking).
    pub fn release(&self, id: &str) -> io::Result<()> {
        match &self.db {
            Some(db) => db.release(id),
            None => Ok(()),
        }
    }

    fn read_envelope(path: &Path) -> io::Result<Envelope> {
        serde_json::from_slice(&fs::read(path)?).map_err(io::Error::other)
    }

    /// The message file of `id`.
    pub fn message_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.msg"))
    }

    /// Queues `message` under `id` for `recipients` (with REQUIRETLS when
    /// `require_tls`); returns once both files are on disk. Blocking.
    pub fn enqueue(
        &self,
        id: &str,
        from: &str,
        recipients: &[String],
        message: &[u8],
        require_tls: bool,
    ) -> io::Result<()> {
        if let Some(db) = &self.db {
            return db.enqueue(id, from, recipients, message, require_tls);
        }
        let msg = self.message_path(id);
        let mut file = File::options().write(true).create_new(true).open(&msg)?;
        file.write_all(message)?;
        file.sync_all()?;
        let envelope = Envelope::new(id, from, recipients, now(), require_tls);
        if let Err(e) = self.save(&envelope) {
            let _ = fs::remove_file(&msg);
            return Err(e);
        }
        Ok(())
    }

    /// Writes `envelope` durably (temporary file, sync, rename, sync the
    /// directory) and schedules it, keeping the hold the queue knows of.
    /// Blocking.
    pub fn save(&self, envelope: &Envelope) -> io::Result<()> {
        if let Some(db) = &self.db {
            return db.save(envelope);
        }
        let mut entries = self.lock_entries();
        let held = entries.get(&envelope.id).is_some_and(|e| e.held);
        let mut envelope = envelope.clone();
        envelope.held = held;
        let tmp = self.dir.join(format!("{}.json.tmp", envelope.id));
        let mut file = File::create(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(&envelope).map_err(io::Error::other)?)?;
        file.sync_all()?;
        fs::rename(&tmp, self.dir.join(format!("{}.json", envelope.id)))?;
        sync_dir(&self.dir)?;
        entries.insert(
            envelope.id.clone(),
            Entry {
                due: envelope.next_attempt,
                created: envelope.created,
                held,
            },
        );
        Ok(())
    }

    /// Every queued message's envelope, oldest first. Blocking.
    pub fn list(&self) -> Vec<Envelope> {
        if let Some(db) = &self.db {
            return db.list();
        }
        let ids: Vec<String> = self.lock_entries().keys().cloned().collect();
        let mut envelopes: Vec<Envelope> = ids
            .iter()
            .filter_map(|id| Self::read_envelope(&self.dir.join(format!("{id}.json"))).ok())
            .collect();
        envelopes.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        envelopes
    }

    /// Holds or releases `id`: a held message is kept but not delivered.
    /// Blocking.
    pub fn set_held(&self, id: &str, held: bool) -> io::Result<()> {
        if let Some(db) = &self.db {
            return db.set_held(id, held);
        }
        self.known(id)?;
        self.lock_entries()
            .entry(id.to_owned())
            .and_modify(|e| e.held = held);
        let (envelope, _) = self.load(id)?;
        self.save(&envelope)
    }

    /// Makes `id` due now (unless held). Blocking.
    pub fn retry_now(&self, id: &str) -> io::Result<()> {
        if let Some(db) = &self.db {
            return db.retry_now(id);
        }
        self.known(id)?;
        let (mut envelope, _) = self.load(id)?;
        envelope.next_attempt = now();
        self.save(&envelope)
    }

    /// The ids of every message not on hold.
    pub fn unheld(&self) -> Vec<String> {
        if let Some(db) = &self.db {
            return db.unheld();
        }
        let entries = self.lock_entries();
        entries
            .iter()
            .filter(|(_, e)| !e.held)
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn known(&self, id: &str) -> io::Result<()> {
        match self.lock_entries().contains_key(id) {
            true => Ok(()),
            false => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no message {id} in the queue"),
            )),
        }
    }

    /// The number of messages and the age of the oldest at `now`.
    pub fn size_and_oldest(&self, now: u64) -> (usize, u64) {
        if let Some(db) = &self.db {
            return db.size_and_oldest(now);
        }
        let entries = self.lock_entries();
        let oldest = entries.values().map(|e| e.created).min();
        (entries.len(), oldest.map_or(0, |c| now.saturating_sub(c)))
    }

    /// Reads the envelope and message of `id`. Blocking.
    pub fn load(&self, id: &str) -> io::Result<(Envelope, Vec<u8>)> {
        if let Some(db) = &self.db {
            return db.load(id);
        }
        let envelope = Self::read_envelope(&self.dir.join(format!("{id}.json")))?;
        let message = fs::read(self.message_path(id))?;
        Ok((envelope, message))
    }

    /// Removes `id` once every recipient is settled (or the administrator
    /// deletes it). Blocking.
    pub fn remove(&self, id: &str) -> io::Result<()> {
        if let Some(db) = &self.db {
            return db.remove(id);
        }
        self.known(id)?;
        self.lock_entries().remove(id);
        fs::remove_file(self.dir.join(format!("{id}.json")))?;
        fs::remove_file(self.message_path(id))?;
        sync_dir(&self.dir)
    }

    /// Up to `limit` ids due at `now` (not counting `busy` or held ones),
    /// and when the next of the others falls due. A shared queue leases
    /// them to this instance (blocking).
    pub fn due(
        &self,
        now: u64,
        busy: &dyn Fn(&str) -> bool,
        limit: usize,
    ) -> io::Result<(Vec<String>, Option<u64>)> {
        if let Some(db) = &self.db {
            return db.due(now, limit);
        }
        let due = self.lock_entries();
        let mut ready: Vec<(u64, String)> = Vec::new();
        let mut next: Option<u64> = None;
        for (id, entry) in due.iter() {
            if busy(id) || entry.held {
                continue;
            }
            let at = &entry.due;
            if *at <= now {
                ready.push((*at, id.clone()));
            } else {
                next = Some(next.map_or(*at, |n| n.min(*at)));
            }
        }
        ready.sort();
        if ready.len() > limit {
            let first_left = ready[limit].0;
            next = Some(next.map_or(first_left, |n| n.min(first_left)));
            ready.truncate(limit);
        }
        Ok((ready.into_iter().map(|(_, id)| id).collect(), next))
    }

    /// How many messages are queued.
    pub fn len(&self) -> usize {
        if let Some(db) = &self.db {
            return db.count();
        }
        self.lock_entries().len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock_entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("queue-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn survives_reopening_and_drops_half_written_files() {
        let dir = temp_dir("reopen");
        let queue = Queue::open(&dir).unwrap();
        let id = new_id();
        queue
            .enqueue(
                &id,
                "a@example.com",
                &["b@example.net".into()],
                b"Subject: x\r\n\r\nhi\r\n",
                false,
            )
            .unwrap();
        // What a crash between the two writes leaves: a message without envelope.
        fs::write(dir.join("orphan.msg"), b"x").unwrap();
        fs::write(dir.join("other.json.tmp"), b"{").unwrap();
        drop(queue);
        let queue = Queue::open(&dir).unwrap();
        assert_eq!(queue.len(), 1);
        assert!(!dir.join("orphan.msg").exists());
        assert!(!dir.join("other.json.tmp").exists());
        let (env, msg) = queue.load(&id).unwrap();
        assert_eq!(env.from, "a@example.com");
        assert_eq!(env.pending().count(), 1);
        assert_eq!(msg, b"Subject: x\r\n\r\nhi\r\n");
        let (ready, _) = queue.due(now(), &|_| false, usize::MAX).unwrap();
        assert_eq!(ready, vec![id.clone()]);
        let (ready, _) = queue.due(now(), &|i| i == id, usize::MAX).unwrap();
        assert!(ready.is_empty(), "busy ids are not handed out twice");
        queue.remove(&id).unwrap();
        assert!(queue.is_empty());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn saving_reschedules() {
        let dir = temp_dir("schedule");
        let queue = Queue::open(&dir).unwrap();
        let id = new_id();
        queue
            .enqueue(&id, "", &["b@example.net".into()], b"x", true)
            .unwrap();
        let (mut env, _) = queue.load(&id).unwrap();
        assert!(env.require_tls, "REQUIRETLS is kept with the message");
        env.next_attempt = now() + 100;
        env.attempts = 1;
        queue.save(&env).unwrap();
        let (ready, next) = queue.due(now(), &|_| false, usize::MAX).unwrap();
        assert!(ready.is_empty());
        assert_eq!(next, Some(env.next_attempt));
        let reopened = Queue::open(&dir).unwrap();
        assert_eq!(
            reopened.due(now() + 100, &|_| false, usize::MAX).unwrap().0,
            vec![id]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn held_messages_wait_until_released_even_across_saves_and_restarts() {
        let dir = temp_dir("hold");
        let queue = Queue::open(&dir).unwrap();
        let id = new_id();
        queue
            .enqueue(&id, "a@example.com", &["b@example.net".into()], b"x", false)
            .unwrap();
        let (envelope, _) = queue.load(&id).unwrap();
        queue.set_held(&id, true).unwrap();
        // A delivery attempt under way when the hold came saves its copy.
        queue.save(&envelope).unwrap();
        let (ready, next) = queue.due(now() + 1000, &|_| false, usize::MAX).unwrap();
        assert!(ready.is_empty() && next.is_none(), "held: never due");
        assert!(queue.unheld().is_empty());
        let reopened = Queue::open(&dir).unwrap();
        assert!(reopened.load(&id).unwrap().0.held);
        assert!(
            reopened
                .due(now() + 1000, &|_| false, usize::MAX)
                .unwrap()
                .0
                .is_empty()
        );
        reopened.set_held(&id, false).unwrap();
        reopened.retry_now(&id).unwrap();
        assert_eq!(
            reopened.due(now(), &|_| false, usize::MAX).unwrap().0,
            vec![id.clone()]
        );
        assert_eq!(reopened.list().len(), 1);
        assert_eq!(reopened.size_and_oldest(now()).0, 1);
        let missing = reopened.set_held("nope", true).unwrap_err();
        assert!(missing.to_string().contains("no message nope"));
        reopened.remove(&id).unwrap();
        assert!(reopened.remove(&id).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
