//! Versioned schemas: each component (the store, and whatever else an
//! application keeps in the same database) lists its migrations in order;
//! `migrate` applies the missing ones, `check` refuses a database whose
//! schema is older or newer than the binary.

use tokio_postgres::GenericClient;

use super::db_error;
use crate::error::{Result, StoreError};

/// One component's schema: its name and its migrations, oldest first
/// (migration `i` takes the schema to version `i + 1`).
#[derive(Clone, Copy, Debug)]
pub struct Schema {
    /// The component's name in `sansmail_schema`.
    pub component: &'static str,
    /// SQL run in one transaction per version.
    pub migrations: &'static [&'static str],
}

impl Schema {
    /// The version this binary needs.
    pub fn version(&self) -> i32 {
        self.migrations.len() as i32
    }
}

/// The store's tables.
pub const STORE: Schema = Schema {
    component: "store",
    migrations: &[r#"
-- `used`: octets of every message in the account's folders (the quota's
-- count, kept by every write so that each server reads it current).
CREATE TABLE accounts (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    subscriptions text[] NOT NULL DEFAULT '{}',
    used bigint NOT NULL DEFAULT 0
);
CREATE TABLE mailboxes (
    id bigserial PRIMARY KEY,
    account bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name text NOT NULL,
    jmap_id bigint NOT NULL,
    uid_next bigint NOT NULL DEFAULT 1,
    highest_modseq bigint NOT NULL DEFAULT 1,
    keywords text[] NOT NULL DEFAULT '{}',
    keywords_modseq bigint NOT NULL DEFAULT 1,
    -- Every expunge after this mod-sequence is still in `expunged`.
    vanished_floor bigint NOT NULL DEFAULT 1,
    UNIQUE (account, name)
);
-- Message octets by content (SHA-256): copies share one row. `data` is
-- NULL when the octets are in the blob directory. `touched` is when they
-- were last staged: octets nothing refers to are removed an hour after.
CREATE TABLE blobs (
    hash bytea PRIMARY KEY,
    size bigint NOT NULL,
    vsize bigint NOT NULL,
    email_id bigint NOT NULL,
    thread_id bigint NOT NULL,
    touched bigint NOT NULL,
    data bytea
);
CREATE TABLE messages (
    mailbox bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid bigint NOT NULL,
    modseq bigint NOT NULL,
    system_flags smallint NOT NULL,
    keywords bigint NOT NULL,
    received bigint NOT NULL,
    blob bytea NOT NULL REFERENCES blobs(hash),
    PRIMARY KEY (mailbox, uid)
);
CREATE INDEX messages_by_modseq ON messages (mailbox, modseq);
CREATE INDEX messages_by_blob ON messages (blob);
-- Expunged UIDs with the mod-sequence of their expunge (QRESYNC, and how
-- other servers learn of the expunge).
CREATE TABLE expunged (
    mailbox bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid bigint NOT NULL,
    modseq bigint NOT NULL,
    PRIMARY KEY (mailbox, uid)
);
CREATE INDEX expunged_by_modseq ON expunged (mailbox, modseq);
"#],
};

const VERSIONS: &str = "CREATE TABLE IF NOT EXISTS sansmail_schema (
    component text PRIMARY KEY,
    version integer NOT NULL
)";

/// Applies the migrations `schema`'s database lacks; returns the versions
/// it went from and to. Servers migrating at once wait for each other.
pub async fn migrate(client: &mut tokio_postgres::Client, schema: &Schema) -> Result<(i32, i32)> {
    let tx = client.transaction().await.map_err(db_error)?;
    // One migration at a time, whoever runs it.
    tx.execute("SELECT pg_advisory_xact_lock(7270617)", &[])
        .await
        .map_err(db_error)?;
    tx.batch_execute(VERSIONS).await.map_err(db_error)?;
    let from = version_in(&tx, schema).await?;
    if from > schema.version() {
        return Err(newer(schema, from));
    }
    for (i, sql) in schema.migrations.iter().enumerate().skip(from as usize) {
        tx.batch_execute(sql).await.map_err(db_error)?;
        tx.execute(
            "INSERT INTO sansmail_schema (component, version) VALUES ($1, $2)
             ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
            &[&schema.component, &(i as i32 + 1)],
        )
        .await
        .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)?;
    Ok((from, schema.version()))
}

/// Refuses a database whose `schema` is not the version this binary needs.
pub async fn check(client: &impl GenericClient, schema: &Schema) -> Result<()> {
    let exists: bool = client
        .query_one("SELECT to_regclass('sansmail_schema') IS NOT NULL", &[])
        .await
        .map_err(db_error)?
        .get(0);
    let found = if exists {
        version_in(client, schema).await?
    } else {
        0
    };
    if found < schema.version() {
        return Err(StoreError::Io(std::io::Error::other(format!(
            "the database's {} schema is version {found}, this binary needs {}: run `mail-server migrate`",
            schema.component,
            schema.version()
        ))));
    }
    if found > schema.version() {
        return Err(newer(schema, found));
    }
    Ok(())
}

async fn version_in(client: &impl GenericClient, schema: &Schema) -> Result<i32> {
    Ok(client
        .query_opt(
            "SELECT version FROM sansmail_schema WHERE component = $1",
            &[&schema.component],
        )
        .await
        .map_err(db_error)?
        .map_or(0, |row| row.get(0)))
}

fn newer(schema: &Schema, found: i32) -> StoreError {
    StoreError::Io(std::io::Error::other(format!(
        "the database's {} schema is version {found}, newer than this binary's {}: run a newer mail-server",
        schema.component,
        schema.version()
    )))
}
