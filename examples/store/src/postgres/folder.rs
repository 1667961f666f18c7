//! One account's folders and one folder's messages in PostgreSQL.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use deadpool_postgres::GenericClient;
use sha2::{Digest, Sha256};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::{Database, db_error};
use crate::account::DELIMITER;
use crate::backend::{
    AccountStorage, BoxFuture, Commit, Counters, Findings, FlagUpdate, MailboxStorage, Removal,
    Source, Staged, Wake, WatchGuard,
};
use crate::error::{Result, StoreError};
use crate::flags::{Flags, Keyword};
use crate::ids::{EmailId, MailboxId, ThreadId, header_of};
use crate::index::{Entry, Index};
use crate::maildir::names::crlf_size;

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Statements through the connection's cache of prepared statements: one
/// used again costs one round trip instead of two.
trait Cached: GenericClient {
    async fn exec(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<u64, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.execute(&statement, params).await
    }

    async fn rows(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query(&statement, params).await
    }

    async fn one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<tokio_postgres::Row, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query_one(&statement, params).await
    }

    async fn opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<Option<tokio_postgres::Row>, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query_opt(&statement, params).await
    }
}

impl<T: GenericClient> Cached for T {}

/// Bits of [`Flags::keywords`]: a mailbox keeps up to 64 keywords.
const KEYWORD_LIMIT: usize = 64;

/// One user's folders.
pub(super) struct PgAccount {
    db: Arc<Database>,
    blob_dir: Option<Arc<Path>>,
    id: i64,
    user: String,
}

impl PgAccount {
    /// The account of `user`, made (with its INBOX) at first use.
    pub(super) async fn open(
        db: Arc<Database>,
        blob_dir: Option<Arc<Path>>,
        user: &str,
    ) -> Result<PgAccount> {
        let client = db.client().await?;
        let id: i64 = client
            .one(
                "INSERT INTO accounts (name) VALUES ($1)
                 ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                &[&user],
            )
            .await
            .map_err(db_error)?
            .get(0);
        let account = PgAccount {
            db: db.clone(),
            blob_dir,
            id,
            user: user.to_owned(),
        };
        account.make("INBOX", &client).await.or_else(|e| match e {
            StoreError::AlreadyExists => Ok(()),
            e => Err(e),
        })?;
        Ok(account)
    }

    async fn make(&self, name: &str, client: &impl GenericClient) -> Result<()> {
        let made = client
            .opt(
                "INSERT INTO mailboxes (account, name, jmap_id) VALUES ($1, $2, 0)
                 ON CONFLICT (account, name) DO NOTHING RETURNING id",
                &[&self.id, &name],
            )
            .await
            .map_err(db_error)?;
        let Some(row) = made else {
            return Err(StoreError::AlreadyExists);
        };
        let id: i64 = row.get(0);
        let jmap = MailboxId::made(&self.user, name, id as u64).0 as i64;
        client
            .exec(
                "UPDATE mailboxes SET jmap_id = $2 WHERE id = $1",
                &[&id, &jmap],
            )
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn folders_changed(&self, client: &impl GenericClient) {
        let notice = self.db.folders_notice(&self.user);
        let _ = client
            .exec("SELECT pg_notify($1, $2)", &[&super::CHANNEL, &notice])
            .await;
    }
}

impl AccountStorage for PgAccount {
    fn folders(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move {
            let client = self.db.client().await?;
            let rows = client
                .rows(
                    "SELECT name FROM mailboxes WHERE account = $1 ORDER BY name",
                    &[&self.id],
                )
                .await
                .map_err(db_error)?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn create(&self, name: &str) -> BoxFuture<'_, Result<()>> {
        let name = name.to_owned();
        Box::pin(async move {
            let client = self.db.client().await?;
            self.make(&name, &client).await?;
            self.folders_changed(&client).await;
            Ok(())
        })
    }

    fn delete(&self, name: &str) -> BoxFuture<'_, Result<()>> {
        let name = name.to_owned();
        Box::pin(async move {
            let mut client = self.db.client().await?;
            let tx = client.transaction().await.map_err(db_error)?;
            // The mailbox row first, as every write locks it before the account's.
            tx.exec(
                "SELECT id FROM mailboxes WHERE account = $1 AND name = $2 FOR UPDATE",
                &[&self.id, &name],
            )
            .await
            .map_err(db_error)?;
            tx.exec(
                "UPDATE accounts SET used = used - (
                   SELECT coalesce(sum(b.size), 0)::bigint FROM messages m
                   JOIN mailboxes f ON f.id = m.mailbox JOIN blobs b ON b.hash = m.blob
                   WHERE f.account = $1 AND f.name = $2)
                 WHERE id = $1",
                &[&self.id, &name],
            )
            .await
            .map_err(db_error)?;
            let gone = tx
                .opt(
                    "DELETE FROM mailboxes WHERE account = $1 AND name = $2 RETURNING id",
                    &[&self.id, &name],
                )
                .await
                .map_err(db_error)?;
            let Some(row) = gone else {
                return Err(StoreError::NotFound);
            };
            let id: i64 = row.get(0);
            notify(&tx, &self.db.mailbox_notice(id)).await?;
            notify(&tx, &self.db.folders_notice(&self.user)).await?;
            tx.commit().await.map_err(db_error)?;
            self.db.wake_local(id, 0);
            Ok(())
        })
    }

    fn rename(&self, from: &str, to: &str) -> BoxFuture<'_, Result<()>> {
        let (from, to) = (from.to_owned(), to.to_owned());
        Box::pin(async move {
            let client = self.db.client().await?;
            let below = format!("{from}{DELIMITER}");
            let moved = client
                .exec(
                    "UPDATE mailboxes SET name = $3 || substr(name, length($2) + 1)
                     WHERE account = $1 AND (name = $2 OR starts_with(name, $4))",
                    &[&self.id, &from, &to, &below],
                )
                .await
                .map_err(unique_as_exists)?;
            if moved == 0 {
                return Err(StoreError::NotFound);
            }
            self.folders_changed(&client).await;
            Ok(())
        })
    }

    fn subscriptions(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move {
            let client = self.db.client().await?;
            let row = client
                .one(
                    "SELECT subscriptions FROM accounts WHERE id = $1",
                    &[&self.id],
                )
                .await
                .map_err(db_error)?;
            Ok(row.get(0))
        })
    }

    fn set_subscriptions(&self, names: Vec<String>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let client = self.db.client().await?;
            client
                .exec(
                    "UPDATE accounts SET subscriptions = $2 WHERE id = $1",
                    &[&self.id, &names],
                )
                .await
                .map_err(db_error)?;
            self.folders_changed(&client).await;
            Ok(())
        })
    }

    fn mailbox(&self, name: &str) -> BoxFuture<'_, Result<Box<dyn MailboxStorage>>> {
        let name = name.to_owned();
        Box::pin(async move {
            let client = self.db.client().await?;
            let row = client
                .opt(
                    "SELECT id FROM mailboxes WHERE account = $1 AND name = $2",
                    &[&self.id, &name],
                )
                .await
                .map_err(db_error)?
                .ok_or(StoreError::NotFound)?;
            let token = self.db.next_watcher.fetch_add(1, Ordering::Relaxed);
            Ok(Box::new(PgFolder {
                db: self.db.clone(),
                blob_dir: self.blob_dir.clone(),
                id: row.get(0),
                synced: AtomicU64::new(0),
                token,
                pending: Default::default(),
                held: Default::default(),
            }) as Box<dyn MailboxStorage>)
        })
    }

    fn usage(&self) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            let client = self.db.client().await?;
            let used: i64 = client
                .one("SELECT used FROM accounts WHERE id = $1", &[&self.id])
                .await
                .map_err(db_error)?
                .get(0);
            Ok(used.max(0) as u64)
        })
    }

    fn usage_changes_elsewhere(&self) -> bool {
        true
    }
}

fn unique_as_exists(e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::AlreadyExists
    } else {
        db_error(e)
    }
}

async fn notify(tx: &impl GenericClient, payload: &str) -> Result<()> {
    tx.exec("SELECT pg_notify($1, $2)", &[&super::CHANNEL, &payload])
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Seconds octets nothing refers to are kept after they were last staged,
/// so that a message being written is never collected under its writer.
pub(super) const GARBAGE_GRACE: i64 = 3600;

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Takes the lock that keeps a blob's row and file consistent while one
/// transaction writes or removes them (the first 8 octets of its hash).
async fn lock_blob(tx: &impl GenericClient, hash: &[u8]) -> Result<()> {
    let key = i64::from_be_bytes(hash[..8].try_into().unwrap_or_default());
    tx.exec("SELECT pg_advisory_xact_lock($1)", &[&key])
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Removes the octets among `hashes` that no message refers to and that
/// were not staged within the grace period; returns how many went.
pub(super) async fn collect_garbage(
    db: &Database,
    blob_dir: Option<&Path>,
    hashes: Vec<Vec<u8>>,
) -> usize {
    let mut gone = 0;
    for hash in hashes {
        match collect_one(db, blob_dir, &hash).await {
            Ok(true) => gone += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot remove unused message octets");
                break;
            }
        }
    }
    gone
}

async fn collect_one(db: &Database, blob_dir: Option<&Path>, hash: &[u8]) -> Result<bool> {
    if hash.len() < 8 {
        return Ok(false);
    }
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(db_error)?;
    lock_blob(&tx, hash).await?;
    let deleted = tx
        .exec(
            "DELETE FROM blobs b WHERE b.hash = $1 AND b.touched < $2
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob = b.hash)",
            &[&hash, &(unix_now() - GARBAGE_GRACE)],
        )
        .await
        .map_err(db_error)?;
    if deleted == 0 {
        return Ok(false);
    }
    // Under the lock, before the commit: a failed commit leaves a row
    // without its file, which nothing refers to and the next stage rewrites.
    if let Some(dir) = blob_dir {
        match std::fs::remove_file(blob_path(dir, &hex(hash))) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await.map_err(db_error)?;
    Ok(true)
}

/// Keeps the newest `keep` expunges of each mailbox (QRESYNC's memory);
/// older ones go, and the mailbox's floor records how far back the rest
/// reaches. Returns how many went.
pub(super) async fn prune_expunged(db: &Database, keep: i64) -> Result<u64> {
    let client = db.client().await?;
    let crowded = client
        .rows(
            "SELECT mailbox FROM expunged GROUP BY mailbox HAVING count(*) > $1",
            &[&keep],
        )
        .await
        .map_err(db_error)?;
    let mut gone = 0;
    for row in crowded {
        let mailbox: i64 = row.get(0);
        let Some(cutoff) = client
            .opt(
                "SELECT modseq FROM expunged WHERE mailbox = $1
                 ORDER BY modseq DESC OFFSET $2 LIMIT 1",
                &[&mailbox, &keep],
            )
            .await
            .map_err(db_error)?
        else {
            continue;
        };
        let cutoff: i64 = cutoff.get(0);
        client
            .exec(
                "UPDATE mailboxes SET vanished_floor = greatest(vanished_floor, $2) WHERE id = $1",
                &[&mailbox, &cutoff],
            )
            .await
            .map_err(db_error)?;
        gone += client
            .exec(
                "DELETE FROM expunged WHERE mailbox = $1 AND modseq <= $2",
                &[&mailbox, &cutoff],
            )
            .await
            .map_err(db_error)?;
    }
    Ok(gone)
}

/// Every blob nothing refers to, past the grace period (up to `limit`).
pub(super) async fn unreferenced(db: &Database, limit: i64) -> Result<Vec<Vec<u8>>> {
    let rows = db
        .client()
        .await?
        .rows(
            "SELECT hash FROM blobs b WHERE b.touched < $1
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob = b.hash) LIMIT $2",
            &[&(unix_now() - GARBAGE_GRACE), &limit],
        )
        .await
        .map_err(db_error)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Where the blob directory keeps octets with this hash (`ab/cdef…`).
fn blob_path(dir: &Path, hash: &str) -> PathBuf {
    dir.join(&hash[..2]).join(&hash[2..])
}

/// A message's key: its UID and the hash of its octets.
fn key_of(uid: u32, hash: &str) -> Box<str> {
    format!("{uid}.{hash}").into()
}

fn hash_of_key(key: &str) -> Option<Vec<u8>> {
    unhex(key.split_once('.').map_or(key, |(_, h)| h))
}

/// Counts `octets` more (or fewer) against the account of mailbox `id`.
async fn add_usage(tx: &impl GenericClient, id: i64, octets: i64) -> Result<()> {
    tx.exec(
        "UPDATE accounts SET used = used + $2
         WHERE id = (SELECT account FROM mailboxes WHERE id = $1)",
        &[&id, &octets],
    )
    .await
    .map_err(db_error)?;
    Ok(())
}

/// One folder's messages.
struct PgFolder {
    db: Arc<Database>,
    blob_dir: Option<Arc<Path>>,
    id: i64,
    /// The mailbox's highest mod-sequence as this folder last read or
    /// wrote it: a write finding another is refused (a conflict).
    synced: AtomicU64,
    /// Names this folder's own wake-ups (it is not woken by its own writes).
    token: u64,
    /// Octets staged and not yet committed or discarded, by token: they
    /// reach the database in the commit's own transaction.
    pending: std::sync::Mutex<HashMap<Box<str>, Pending>>,
    /// The transaction of the last write refused for a conflict.
    held: Arc<std::sync::Mutex<Held>>,
}

/// A staged message's octets and what the database keeps beside them.
struct Pending {
    data: Bytes,
    email_id: EmailId,
    thread_id: ThreadId,
    vsize: u64,
    /// How many staged messages have these octets.
    staged: usize,
}

/// A write transaction on a pooled connection. Dropped before
/// [`commit`](WriteTx::commit), its connection is closed, which rolls the
/// transaction back (a connection is never pooled inside a transaction).
struct WriteTx {
    client: Option<deadpool_postgres::Object>,
}

impl WriteTx {
    async fn begin(db: &Database) -> Result<WriteTx> {
        let client = db.client().await?;
        client.batch_execute("BEGIN").await.map_err(db_error)?;
        Ok(WriteTx {
            client: Some(client),
        })
    }

    fn client(&self) -> &deadpool_postgres::Object {
        self.client
            .as_ref()
            .expect("a write transaction's connection")
    }

    async fn commit(mut self) -> Result<()> {
        let client = self
            .client
            .take()
            .expect("a write transaction's connection");
        let done = client.batch_execute("COMMIT").await.map_err(db_error);
        if done.is_err() {
            drop(deadpool_postgres::Object::take(client));
        }
        done
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// How long a write refused for a conflict keeps the mailbox locked for
/// its retry before giving the lock up.
const HOLD: std::time::Duration = std::time::Duration::from_secs(5);

/// A refused write's transaction, kept (with the mailbox row locked) so
/// that the rescan and the retry run while no other server can write: a
/// write is refused at most once, however busy the mailbox.
#[derive(Default)]
struct Held {
    tx: Option<(u64, WriteTx)>,
    next: u64,
}

impl PgFolder {
    fn synced(&self) -> u64 {
        self.synced.load(Ordering::Acquire)
    }

    /// A write transaction with the mailbox row locked (the one kept from
    /// a refused write, if any), and the stored keyword table; `Conflict`
    /// (keeping the transaction) when another server wrote since this
    /// folder last read the mailbox.
    async fn begin_write(&self) -> Result<(WriteTx, Vec<String>)> {
        let kept = lock(&self.held).tx.take();
        let tx = match kept {
            Some((_, tx)) => tx,
            None => WriteTx::begin(&self.db).await?,
        };
        let row = tx
            .client()
            .opt(
                "SELECT highest_modseq, keywords FROM mailboxes WHERE id = $1 FOR UPDATE",
                &[&self.id],
            )
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound)?;
        let highest: i64 = row.get(0);
        if highest as u64 != self.synced() {
            return Err(self.hold(tx));
        }
        Ok((tx, row.get(1)))
    }

    /// Keeps a refused write's transaction for the retry; gives it up
    /// after [`HOLD`] if no retry came.
    fn hold(&self, tx: WriteTx) -> StoreError {
        let mut held = lock(&self.held);
        held.next += 1;
        let mine = held.next;
        held.tx = Some((mine, tx));
        let weak = Arc::downgrade(&self.held);
        tokio::spawn(async move {
            tokio::time::sleep(HOLD).await;
            if let Some(held) = weak.upgrade() {
                let mut held = lock(&held);
                if held.tx.as_ref().is_some_and(|(id, _)| *id == mine) {
                    held.tx = None;
                }
            }
        });
        StoreError::Conflict
    }

    /// Commits `tx` after announcing the change, then records `modseq` as read.
    async fn finish(&self, tx: WriteTx, modseq: u64) -> Result<()> {
        notify(tx.client(), &self.db.mailbox_notice(self.id)).await?;
        tx.commit().await?;
        self.synced.store(modseq, Ordering::Release);
        self.db.wake_local(self.id, self.token);
        Ok(())
    }

    async fn load(&self) -> Result<Index> {
        let mut client = self.db.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db_error)?;
        let row = tx
            .opt(
                "SELECT jmap_id, uid_next, highest_modseq, keywords, vanished_floor
                 FROM mailboxes WHERE id = $1",
                &[&self.id],
            )
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound)?;
        let (jmap, uid_next, highest): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        let keywords = keywords_of(row.get(3));
        let floor = row.get::<_, i64>(4) as u64;
        let messages = tx
            .rows(
                "SELECT m.uid, m.modseq, m.system_flags, m.keywords, m.received,
                        b.size, b.vsize, b.email_id, b.thread_id, b.hash
                 FROM messages m JOIN blobs b ON b.hash = m.blob
                 WHERE m.mailbox = $1 ORDER BY m.uid",
                &[&self.id],
            )
            .await
            .map_err(db_error)?;
        let vanished = tx
            .rows(
                "SELECT uid, modseq FROM expunged WHERE mailbox = $1 ORDER BY modseq",
                &[&self.id],
            )
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        // UIDVALIDITY: the row's id, never given twice.
        let validity = (self.id as u64 % u64::from(u32::MAX)) as u32 + 1;
        let mut index = Index::new(MailboxId(jmap as u64), validity, KEYWORD_LIMIT);
        index.uid_next = uid_next as u32;
        index.highest_modseq = highest as u64;
        index.keywords = keywords;
        index.messages = messages.iter().map(entry_of).collect();
        index.recent_from = index.uid_next;
        let vanished = vanished
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u32, r.get::<_, i64>(1) as u64))
            .collect();
        index.start_logs(vanished, floor);
        self.synced.store(highest as u64, Ordering::Release);
        Ok(index)
    }

    async fn stage(&self, source: Source) -> Result<Staged> {
        let data = match source {
            Source::Bytes(b) => b,
            Source::File(path) => Bytes::from(std::fs::read(path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    StoreError::NotFound
                } else {
                    e.into()
                }
            })?),
            Source::Stored(key) => return self.stage_stored(&key).await,
        };
        let hash = Sha256::digest(&data).to_vec();
        let email_id = EmailId::of_content(&data);
        let thread_id = ThreadId::of_header(header_of(&data), email_id);
        let (size, vsize) = (data.len() as u64, crlf_size(&data));
        let token: Box<str> = hex(&hash).into();
        lock(&self.pending)
            .entry(token.clone())
            .or_insert(Pending {
                data,
                email_id,
                thread_id,
                vsize,
                staged: 0,
            })
            .staged += 1;
        Ok(Staged {
            token,
            size,
            vsize,
            email_id,
            thread_id,
        })
    }

    /// Forgets staged octets (committed, or given up).
    fn unstage<'a>(&self, tokens: impl Iterator<Item = &'a str>) {
        let mut pending = lock(&self.pending);
        for token in tokens {
            if let Some(p) = pending.get_mut(token) {
                p.staged -= 1;
                if p.staged == 0 {
                    pending.remove(token);
                }
            }
        }
    }

    /// Writes the batch's staged octets in the commit's transaction, each
    /// under its blob lock (taken in hash order), touched so that no sweep
    /// takes them while messages come to refer to them.
    async fn store_pending(&self, tx: &impl GenericClient, batch: &[Commit]) -> Result<()> {
        let mut tokens: Vec<&str> = batch.iter().map(|c| &*c.staged.token).collect();
        tokens.sort_unstable();
        tokens.dedup();
        let upsert = tx
            .prepare_cached(
                "INSERT INTO blobs (hash, size, vsize, email_id, thread_id, touched, data)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (hash) DO UPDATE SET touched = EXCLUDED.touched",
            )
            .await
            .map_err(db_error)?;
        for token in tokens {
            let found = lock(&self.pending)
                .get(token)
                .map(|p| (p.data.clone(), p.email_id, p.thread_id, p.vsize));
            // A copy's octets are already there (staged with their key).
            let Some((data, email_id, thread_id, vsize)) = found else {
                continue;
            };
            let hash = unhex(token).ok_or(StoreError::NotFound)?;
            lock_blob(tx, &hash).await?;
            let kept_in_db = match &self.blob_dir {
                Some(dir) => {
                    write_blob(dir, token, &data)?;
                    None
                }
                None => Some(&data[..]),
            };
            tx.execute(
                &upsert,
                &[
                    &hash,
                    &(data.len() as i64),
                    &(vsize as i64),
                    &(email_id.0 as i64),
                    &(thread_id.0 as i64),
                    &unix_now(),
                    &kept_in_db,
                ],
            )
            .await
            .map_err(db_error)?;
        }
        Ok(())
    }

    /// Stages a message the database already holds: no octets are copied.
    async fn stage_stored(&self, key: &str) -> Result<Staged> {
        let hash = hash_of_key(key).ok_or(StoreError::NotFound)?;
        let client = self.db.client().await?;
        let row = client
            .opt(
                "UPDATE blobs SET touched = $2 WHERE hash = $1
                 RETURNING size, vsize, email_id, thread_id",
                &[&hash, &unix_now()],
            )
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound)?;
        Ok(Staged {
            token: hex(&hash).into(),
            size: row.get::<_, i64>(0) as u64,
            vsize: row.get::<_, i64>(1) as u64,
            email_id: EmailId(row.get::<_, i64>(2) as u64),
            thread_id: ThreadId(row.get::<_, i64>(3) as u64),
        })
    }

    async fn commit(&self, batch: Vec<Commit>, table: Vec<Keyword>) -> Result<Vec<Box<str>>> {
        let (tx, stored) = self.begin_write().await?;
        if stored.len() > table.len() {
            return Err(self.hold(tx));
        }
        self.store_pending(tx.client(), &batch).await?;
        let insert = tx
            .client()
            .prepare_cached(
                "INSERT INTO messages (mailbox, uid, modseq, system_flags, keywords, received, blob)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await
            .map_err(db_error)?;
        let mut keys = Vec::with_capacity(batch.len());
        let (mut uid_next, mut modseq) = (0u32, 0u64);
        for c in &batch {
            let hash = unhex(&c.staged.token).ok_or(StoreError::NotFound)?;
            tx.client()
                .execute(
                    &insert,
                    &[
                        &self.id,
                        &i64::from(c.uid),
                        &(c.modseq as i64),
                        &i16::from(c.flags.system),
                        &(c.flags.keywords as i64),
                        &c.received,
                        &hash,
                    ],
                )
                .await
                .map_err(|e| {
                    if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
                        StoreError::NotFound
                    } else {
                        db_error(e)
                    }
                })?;
            keys.push(key_of(c.uid, &c.staged.token));
            uid_next = uid_next.max(c.uid + 1);
            modseq = modseq.max(c.modseq);
        }
        tx.client()
            .exec(
                "UPDATE mailboxes SET uid_next = $2, highest_modseq = $3 WHERE id = $1",
                &[&self.id, &i64::from(uid_next), &(modseq as i64)],
            )
            .await
            .map_err(db_error)?;
        let added: u64 = batch.iter().map(|c| c.staged.size).sum();
        add_usage(tx.client(), self.id, added as i64).await?;
        self.finish(tx, modseq).await?;
        self.unstage(batch.iter().map(|c| &*c.staged.token));
        Ok(keys)
    }

    async fn set_flags(&self, updates: Vec<FlagUpdate>) -> Result<Vec<Box<str>>> {
        let (tx, _) = self.begin_write().await?;
        let update = tx
            .client()
            .prepare_cached(
                "UPDATE messages SET system_flags = $3, keywords = $4, modseq = $5
                 WHERE mailbox = $1 AND uid = $2",
            )
            .await
            .map_err(db_error)?;
        let mut modseq = 0;
        for u in &updates {
            tx.client()
                .execute(
                    &update,
                    &[
                        &self.id,
                        &i64::from(u.uid),
                        &i16::from(u.flags.system),
                        &(u.flags.keywords as i64),
                        &(u.modseq as i64),
                    ],
                )
                .await
                .map_err(db_error)?;
            modseq = modseq.max(u.modseq);
        }
        tx.client()
            .exec(
                "UPDATE mailboxes SET highest_modseq = $2 WHERE id = $1",
                &[&self.id, &(modseq as i64)],
            )
            .await
            .map_err(db_error)?;
        self.finish(tx, modseq).await?;
        Ok(updates.into_iter().map(|u| u.key).collect())
    }

    async fn save_keywords(&self, table: Vec<Keyword>, modseq: u64) -> Result<()> {
        let (tx, stored) = self.begin_write().await?;
        let extends =
            stored.len() <= table.len() && stored.iter().zip(&table).all(|(s, k)| s == k.as_str());
        if !extends {
            return Err(self.hold(tx));
        }
        let names: Vec<&str> = table.iter().map(Keyword::as_str).collect();
        tx.client()
            .exec(
                "UPDATE mailboxes SET keywords = $2, keywords_modseq = $3, highest_modseq = $3
             WHERE id = $1",
                &[&self.id, &names, &(modseq as i64)],
            )
            .await
            .map_err(db_error)?;
        self.finish(tx, modseq).await
    }

    async fn expunge(&self, removals: Vec<Removal>) -> Result<()> {
        let (tx, _) = self.begin_write().await?;
        let uids: Vec<i64> = removals.iter().map(|r| i64::from(r.uid)).collect();
        let modseqs: Vec<i64> = removals.iter().map(|r| r.modseq as i64).collect();
        let freed: i64 = tx
            .client()
            .rows(
                "DELETE FROM messages m USING blobs b
                 WHERE m.mailbox = $1 AND m.uid = ANY($2) AND b.hash = m.blob RETURNING b.size",
                &[&self.id, &uids],
            )
            .await
            .map_err(db_error)?
            .iter()
            .map(|r| r.get::<_, i64>(0))
            .sum();
        add_usage(tx.client(), self.id, -freed).await?;
        tx.client()
            .exec(
                "INSERT INTO expunged (mailbox, uid, modseq)
             SELECT $1, u, m FROM unnest($2::bigint[], $3::bigint[]) AS x(u, m)
             ON CONFLICT (mailbox, uid) DO UPDATE SET modseq = EXCLUDED.modseq",
                &[&self.id, &uids, &modseqs],
            )
            .await
            .map_err(db_error)?;
        let modseq = removals.iter().map(|r| r.modseq).max().unwrap_or(0);
        tx.client()
            .exec(
                "UPDATE mailboxes SET highest_modseq = $2 WHERE id = $1",
                &[&self.id, &(modseq as i64)],
            )
            .await
            .map_err(db_error)?;
        self.finish(tx, modseq).await
    }

    async fn read(&self, key: &str) -> Result<Bytes> {
        let hash = hash_of_key(key).ok_or(StoreError::NotFound)?;
        let client = self.db.client().await?;
        let row = client
            .opt("SELECT data FROM blobs WHERE hash = $1", &[&hash])
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound)?;
        match (row.get::<_, Option<Vec<u8>>>(0), &self.blob_dir) {
            (Some(data), _) => Ok(Bytes::from(data)),
            (None, Some(dir)) => Ok(Bytes::from(std::fs::read(blob_path(dir, &hex(&hash)))?)),
            (None, None) => Err(StoreError::Io(std::io::Error::other(
                "the message is in a blob directory this server is not given",
            ))),
        }
    }

    /// What other servers changed since this folder last read the mailbox,
    /// with the UIDs and mod-sequences they gave.
    async fn rescan(
        &self,
        known: Vec<(u32, Box<str>)>,
        keywords: Vec<Keyword>,
    ) -> Result<(Findings, Counters)> {
        // After a refused write, read in its transaction: the mailbox stays
        // locked until the retry, so nothing can change in between.
        let kept = lock(&self.held).tx.take();
        if let Some((id, tx)) = kept {
            let read = self.read_changes(tx.client(), known, keywords).await?;
            lock(&self.held).tx = Some((id, tx));
            return Ok(read);
        }
        let mut client = self.db.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db_error)?;
        let read = self.read_changes(&tx, known, keywords).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(read)
    }

    /// The changes since this folder last read the mailbox, as of one
    /// snapshot (or under the mailbox's lock).
    async fn read_changes(
        &self,
        tx: &impl GenericClient,
        known: Vec<(u32, Box<str>)>,
        keywords: Vec<Keyword>,
    ) -> Result<(Findings, Counters)> {
        let row = tx
            .opt(
                "SELECT uid_next, highest_modseq, keywords, keywords_modseq, vanished_floor
                 FROM mailboxes WHERE id = $1",
                &[&self.id],
            )
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound)?;
        let counters = Counters {
            uid_next: row.get::<_, i64>(0) as u32,
            modseq: row.get::<_, i64>(1) as u64,
        };
        let synced = self.synced() as i64;
        let mut found = Findings::default();
        let stored = keywords_of(row.get(2));
        if stored.len() > keywords.len() && stored[..keywords.len()] == keywords[..] {
            found.keywords = Some((stored, row.get::<_, i64>(3) as u64));
        }
        if counters.modseq as i64 != synced {
            let known: HashSet<u32> = known.into_iter().map(|(uid, _)| uid).collect();
            let changed = tx
                .rows(
                    "SELECT m.uid, m.modseq, m.system_flags, m.keywords, m.received,
                            b.size, b.vsize, b.email_id, b.thread_id, b.hash
                     FROM messages m JOIN blobs b ON b.hash = m.blob
                     WHERE m.mailbox = $1 AND m.modseq > $2 ORDER BY m.modseq",
                    &[&self.id, &synced],
                )
                .await
                .map_err(db_error)?;
            for row in &changed {
                let entry = entry_of(row);
                if known.contains(&entry.uid) {
                    found
                        .flags
                        .push((entry.uid, entry.flags, entry.modseq, entry.key));
                } else {
                    found.added.push(entry);
                }
            }
            if synced >= row.get::<_, i64>(4) {
                let gone = tx
                    .rows(
                        "SELECT uid, modseq FROM expunged WHERE mailbox = $1 AND modseq > $2",
                        &[&self.id, &synced],
                    )
                    .await
                    .map_err(db_error)?;
                for row in &gone {
                    let uid = row.get::<_, i64>(0) as u32;
                    if known.contains(&uid) {
                        found.removed.push((uid, row.get::<_, i64>(1) as u64));
                    }
                }
            } else {
                // So far behind that the expunges it missed were pruned:
                // whatever it knows that is no longer there is gone.
                let present: HashSet<u32> = tx
                    .rows("SELECT uid FROM messages WHERE mailbox = $1", &[&self.id])
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|r| r.get::<_, i64>(0) as u32)
                    .collect();
                let mut missing: Vec<u32> = known.difference(&present).copied().collect();
                missing.sort_unstable();
                found
                    .removed
                    .extend(missing.into_iter().map(|uid| (uid, counters.modseq)));
            }
        }
        // Keywords are announced before any change that may use them: the
        // table's last growth may come after a message took its first new
        // keyword (several growths read at once).
        let earliest = found
            .added
            .iter()
            .map(|e| e.modseq)
            .chain(found.flags.iter().map(|f| f.2))
            .chain(found.removed.iter().map(|r| r.1))
            .min();
        if let (Some((_, modseq)), Some(earliest)) = (&mut found.keywords, earliest) {
            *modseq = (*modseq).min(earliest);
        }
        self.synced.store(counters.modseq, Ordering::Release);
        Ok((found, counters))
    }
}

fn keywords_of(names: Vec<String>) -> Vec<Keyword> {
    names.iter().filter_map(|n| Keyword::new(n).ok()).collect()
}

/// A message row (with its blob's columns) as an index entry.
fn entry_of(row: &tokio_postgres::Row) -> Entry {
    let uid = row.get::<_, i64>(0) as u32;
    let hash: Vec<u8> = row.get(9);
    Entry {
        uid,
        modseq: row.get::<_, i64>(1) as u64,
        flags: Flags {
            system: row.get::<_, i16>(2) as u8,
            keywords: row.get::<_, i64>(3) as u64,
        },
        received: row.get(4),
        size: row.get::<_, i64>(5) as u64,
        vsize: row.get::<_, i64>(6) as u64,
        email_id: EmailId(row.get::<_, i64>(7) as u64),
        thread_id: ThreadId(row.get::<_, i64>(8) as u64),
        key: key_of(uid, &hex(&hash)),
    }
}

/// Writes octets into the blob directory once (a file there is never
/// changed: its name is its content's hash), synced before it counts.
fn write_blob(dir: &Path, hash: &str, data: &[u8]) -> Result<()> {
    let path = blob_path(dir, hash);
    if path.exists() {
        return Ok(());
    }
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent)?;
    let mut suffix = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut suffix);
    let tmp = parent.join(format!(".{}.{}", &hash[2..], hex(&suffix)));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(data)?;
    file.sync_data()?;
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(parent)?.sync_all()?;
    Ok(())
}

impl MailboxStorage for PgFolder {
    fn load(&self) -> BoxFuture<'_, Result<Index>> {
        Box::pin(PgFolder::load(self))
    }

    fn stage(&self, source: Source, _received: Option<i64>) -> BoxFuture<'_, Result<Staged>> {
        Box::pin(PgFolder::stage(self, source))
    }

    fn discard(&self, staged: Vec<Staged>) -> BoxFuture<'_, ()> {
        // Staged octets are written only by the commit: nothing to undo.
        self.unstage(staged.iter().map(|s| &*s.token));
        Box::pin(async {})
    }

    fn commit(
        &self,
        batch: Vec<Commit>,
        keywords: Vec<Keyword>,
    ) -> BoxFuture<'_, Result<Vec<Box<str>>>> {
        Box::pin(PgFolder::commit(self, batch, keywords))
    }

    fn set_flags(
        &self,
        updates: Vec<FlagUpdate>,
        _keywords: Vec<Keyword>,
    ) -> BoxFuture<'_, Result<Vec<Box<str>>>> {
        Box::pin(PgFolder::set_flags(self, updates))
    }

    fn save_keywords(&self, keywords: Vec<Keyword>, modseq: u64) -> BoxFuture<'_, Result<()>> {
        Box::pin(PgFolder::save_keywords(self, keywords, modseq))
    }

    fn expunge(&self, removals: Vec<Removal>) -> BoxFuture<'_, Result<()>> {
        Box::pin(PgFolder::expunge(self, removals))
    }

    fn read(&self, key: Box<str>) -> BoxFuture<'_, Result<Bytes>> {
        Box::pin(async move { PgFolder::read(self, &key).await })
    }

    fn source(&self, key: &str) -> Source {
        Source::Stored(key.into())
    }

    fn rescan(
        &self,
        known: Vec<(u32, Box<str>)>,
        keywords: Vec<Keyword>,
        _counters: Counters,
    ) -> BoxFuture<'_, Result<(Findings, Counters)>> {
        Box::pin(PgFolder::rescan(self, known, keywords))
    }

    fn relocate(&self, _name: &str) {}

    fn watch(&self, wake: Wake) -> Option<Box<dyn WatchGuard>> {
        let guard = self.db.watch(self.id, self.token, wake);
        Some(Box::new(guard))
    }

    fn close(&self, _index: &Index) {}
}
