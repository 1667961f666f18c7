//! A store in PostgreSQL, shared by several servers: accounts, folders,
//! messages (octets in the database, or in a content-addressed blob
//! directory on shared storage), each mailbox's index with its
//! mod-sequences, keyword table and expunges.
//!
//! Each server keeps its own in-memory index of the mailboxes it has open
//! (as with maildir) and writes through to the database. A write is made
//! in a transaction that locks the mailbox's row and is refused with
//! [`StoreError::Conflict`] when another server wrote since this one last
//! read the mailbox; the core then reads those changes and tries again,
//! so every server gives a message the same UID and mod-sequence. Every
//! write is announced with `NOTIFY`; each server `LISTEN`s and rescans the
//! mailboxes it has open, so IDLE and push on one server see what another
//! did within a round trip.

mod folder;
pub mod schema;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{AsyncMessage, NoTls};

use crate::backend::{AccountStorage, Backend, BoxFuture, FoldersChanged, Wake};
use crate::error::{Result, StoreError};

pub use schema::{STORE, Schema};

/// The channel every change is announced on.
const CHANNEL: &str = "sansmail";
/// How long a query waits for a connection, and a connection for the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A database error as a store error (a temporary failure).
pub fn db_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(std::io::Error::other(format!("database: {e}")))
}

/// A connection pool and this server's place in the change feed; shared by
/// the store and whatever else the application keeps in the database.
pub struct Database {
    pool: Pool,
    /// Names this process in the change feed (it skips its own notices).
    instance: u64,
    watchers: Mutex<HashMap<i64, Vec<(u64, Wake)>>>,
    next_watcher: std::sync::atomic::AtomicU64,
    folders_changed: Mutex<Option<FoldersChanged>>,
    handlers: Mutex<HashMap<String, Vec<Notice>>>,
}

/// Called with what another server announced under a kind of notice.
pub type Notice = Arc<dyn Fn(&str) + Send + Sync>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Database {
    /// Connects to `url` (`postgres://user@host:port/db`, or key=value
    /// pairs), checks that it answers, and starts listening for other
    /// servers' changes (reconnecting whenever the connection drops).
    pub async fn connect(url: &str) -> Result<Arc<Database>> {
        let mut config: tokio_postgres::Config = url.parse().map_err(db_error)?;
        config.connect_timeout(CONNECT_TIMEOUT);
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(db_error)?;
        let mut instance = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut instance);
        let db = Arc::new(Database {
            pool,
            instance: u64::from_le_bytes(instance),
            watchers: Mutex::new(HashMap::new()),
            next_watcher: 1.into(),
            folders_changed: Mutex::new(None),
            handlers: Mutex::new(HashMap::new()),
        });
        drop(db.client().await?);
        tokio::spawn(listen(Arc::downgrade(&db), config));
        Ok(db)
    }

    /// Names this server among those sharing the database.
    pub fn instance(&self) -> String {
        format!("{:x}", self.instance)
    }

    /// Calls `handler` with what other servers [`announce`](Self::announce)
    /// under `kind` (a word; `m` and `f` are the store's).
    pub fn on_notice(&self, kind: &str, handler: Notice) {
        lock(&self.handlers)
            .entry(kind.to_owned())
            .or_default()
            .push(handler);
    }

    /// Tells the other servers `what` under `kind` (with `NOTIFY`).
    pub async fn announce(&self, kind: &str, what: &str) -> Result<()> {
        let payload = format!("{kind} {:x} {what}", self.instance);
        self.client()
            .await?
            .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// A pooled connection.
    pub async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(db_error)
    }

    /// Applies the migrations `schema` lacks; returns the versions it went from and to.
    pub async fn migrate(&self, schema: &Schema) -> Result<(i32, i32)> {
        let mut client = self.client().await?;
        schema::migrate(&mut client, schema).await
    }

    /// Refuses a database whose `schema` is older or newer than this binary's.
    pub async fn check(&self, schema: &Schema) -> Result<()> {
        schema::check(&**self.client().await?, schema).await
    }

    /// The `NOTIFY` payload announcing a change to mailbox `id`.
    fn mailbox_notice(&self, id: i64) -> String {
        format!("m {:x} {id}", self.instance)
    }

    /// The `NOTIFY` payload announcing a change to `user`'s folder list.
    fn folders_notice(&self, user: &str) -> String {
        format!("f {:x} {user}", self.instance)
    }

    /// Calls every watcher of mailbox `id` in this process but `except`.
    fn wake_local(&self, id: i64, except: u64) {
        let wakes: Vec<Wake> = lock(&self.watchers)
            .get(&id)
            .map(|list| {
                list.iter()
                    .filter(|(token, _)| *token != except)
                    .map(|(_, w)| w.clone())
                    .collect()
            })
            .unwrap_or_default();
        for wake in wakes {
            wake();
        }
    }

    fn wake_all(&self) {
        let wakes: Vec<Wake> = lock(&self.watchers)
            .values()
            .flatten()
            .map(|(_, w)| w.clone())
            .collect();
        for wake in wakes {
            wake();
        }
    }

    /// Registers `wake` for changes to mailbox `id` (`token` names the
    /// folder handle, which its own writes do not wake).
    fn watch(self: &Arc<Self>, id: i64, token: u64, wake: Wake) -> Watching {
        lock(&self.watchers)
            .entry(id)
            .or_default()
            .push((token, wake));
        Watching {
            db: Arc::downgrade(self),
            id,
            token,
        }
    }

    /// Acts on another server's notice.
    fn heard(&self, payload: &str) {
        let mut parts = payload.splitn(3, ' ');
        let (Some(kind), Some(instance), Some(what)) = (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        if u64::from_str_radix(instance, 16) == Ok(self.instance) {
            return;
        }
        match kind {
            "m" => {
                if let Ok(id) = what.parse() {
                    self.wake_local(id, 0);
                }
            }
            "f" => {
                let changed = lock(&self.folders_changed).clone();
                if let Some(changed) = changed {
                    changed(what);
                }
            }
            other => {
                let handlers = lock(&self.handlers).get(other).cloned().unwrap_or_default();
                for handler in handlers {
                    handler(what);
                }
            }
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("instance", &format_args!("{:x}", self.instance))
            .finish_non_exhaustive()
    }
}

/// Keeps a mailbox watcher registered until dropped.
struct Watching {
    db: std::sync::Weak<Database>,
    id: i64,
    token: u64,
}

impl crate::backend::WatchGuard for Watching {}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Some(db) = self.db.upgrade() {
            let mut watchers = lock(&db.watchers);
            if let Some(list) = watchers.get_mut(&self.id) {
                list.retain(|(t, _)| *t != self.token);
                if list.is_empty() {
                    watchers.remove(&self.id);
                }
            }
        }
    }
}

/// Listens for other servers' notices while the database lives; after a
/// reconnection every watched mailbox looks again (notices sent while the
/// connection was down are lost).
async fn listen(db: std::sync::Weak<Database>, config: tokio_postgres::Config) {
    let mut reconnected = false;
    loop {
        if db.strong_count() == 0 {
            return;
        }
        if let Ok((client, mut connection)) = config.connect(NoTls).await {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let driver = tokio::spawn(async move {
                while let Some(message) =
                    std::future::poll_fn(|cx| connection.poll_message(cx)).await
                {
                    match message {
                        Ok(AsyncMessage::Notification(n)) => {
                            let _ = tx.send(n.payload().to_owned());
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            });
            if client
                .batch_execute(&format!("LISTEN {CHANNEL}"))
                .await
                .is_ok()
            {
                if reconnected && let Some(db) = db.upgrade() {
                    db.wake_all();
                }
                reconnected = true;
                while let Some(payload) = rx.recv().await {
                    let Some(db) = db.upgrade() else { return };
                    db.heard(&payload);
                }
            }
            driver.abort();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Mail in PostgreSQL: the [`Backend`] over a [`Database`].
pub struct Postgres {
    db: Arc<Database>,
    blob_dir: Option<PathBuf>,
    spool: PathBuf,
}

impl Postgres {
    /// A store in `db`, whose schema must be current. Message octets go in
    /// the database, or in `blob_dir` (shared by every server) when given;
    /// `spool` is a local directory for messages on their way in.
    pub async fn open(
        db: Arc<Database>,
        blob_dir: Option<&Path>,
        spool: &Path,
    ) -> Result<Postgres> {
        db.check(&STORE).await?;
        std::fs::create_dir_all(spool)?;
        if let Some(dir) = blob_dir {
            std::fs::create_dir_all(dir)?;
        }
        let store = Postgres {
            db,
            blob_dir: blob_dir.map(Path::to_path_buf),
            spool: spool.to_path_buf(),
        };
        let (db, dir) = (Arc::downgrade(&store.db), store.blob_dir.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(GARBAGE_EVERY).await;
                let Some(db) = db.upgrade() else { return };
                collect(&db, dir.as_deref()).await;
                let keep = crate::index::VANISHED_CAPACITY as i64;
                if let Err(e) = folder::prune_expunged(&db, keep).await {
                    tracing::warn!(error = %e, "cannot prune old expunges");
                }
            }
        });
        Ok(store)
    }

    /// Removes the message octets nothing refers to any more (expunged
    /// an hour or more after they were written); returns how many. Runs
    /// by itself every ten minutes.
    pub async fn collect_garbage(&self) -> usize {
        collect(&self.db, self.blob_dir.as_deref()).await
    }

    /// Keeps each mailbox's newest `keep` expunges (the sweep keeps
    /// [`VANISHED_CAPACITY`](crate::index::VANISHED_CAPACITY), as many as
    /// an index remembers); returns how many older ones went.
    pub async fn prune_expunged(&self, keep: usize) -> Result<u64> {
        folder::prune_expunged(&self.db, keep as i64).await
    }
}

/// How often unused octets are looked for.
const GARBAGE_EVERY: Duration = Duration::from_secs(600);

async fn collect(db: &Database, blob_dir: Option<&Path>) -> usize {
    let mut gone = 0;
    loop {
        let Ok(batch) = folder::unreferenced(db, 1000).await else {
            return gone;
        };
        let found = batch.len();
        let removed = folder::collect_garbage(db, blob_dir, batch).await;
        gone += removed;
        if found < 1000 || removed == 0 {
            return gone;
        }
    }
}

impl Backend for Postgres {
    fn account(&self, user: &str) -> BoxFuture<'_, Result<Box<dyn AccountStorage>>> {
        let user = user.to_owned();
        Box::pin(async move {
            let account = folder::PgAccount::open(
                self.db.clone(),
                self.blob_dir.clone().map(Arc::from),
                &user,
            )
            .await?;
            Ok(Box::new(account) as Box<dyn AccountStorage>)
        })
    }

    fn spool_dir(&self) -> PathBuf {
        self.spool.clone()
    }

    fn on_folders_changed(&self, changed: FoldersChanged) {
        *lock(&self.db.folders_changed) = Some(changed);
    }
}
