//! What several mail-server instances share through PostgreSQL besides the
//! mail (`[store] backend = "postgres"`): the outbound queue, the users
//! managed with `mail-server user`, login failures and lockouts, and DKIM
//! keys. Their tables are the `server` component of the schema, made and
//! upgraded by `mail-server migrate` with the store's.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use sansmail_store::Database;
use sansmail_store::postgres::{STORE, Schema};

use crate::config::{Settings, StoreBackend};
use crate::limits::{Guard, Ledger};
use crate::queue::now;

/// The server's tables.
pub const SERVER: Schema = Schema {
    component: "server",
    migrations: &[r#"
-- The outbound queue: a message is leased by the server delivering it
-- until lease_until; an expired lease (a crashed server) frees it.
CREATE TABLE queue (
    id text PRIMARY KEY,
    envelope text NOT NULL,
    message bytea NOT NULL,
    created bigint NOT NULL,
    next_attempt bigint NOT NULL,
    held boolean NOT NULL DEFAULT false,
    leased_by text,
    lease_until bigint
);
CREATE INDEX queue_by_due ON queue (next_attempt) WHERE NOT held;
-- Users added with `mail-server user add`: name -> argon2 hash.
CREATE TABLE users (
    name text PRIMARY KEY,
    hash text NOT NULL
);
-- Failed logins per client address, and its lockout.
CREATE TABLE login_failures (
    ip text PRIMARY KEY,
    failures integer NOT NULL,
    window_start bigint NOT NULL,
    locked_until bigint
);
-- DKIM signing keys made with `mail-server dkim-keygen`.
CREATE TABLE dkim_keys (
    domain text NOT NULL,
    selector text NOT NULL,
    pem text NOT NULL,
    PRIMARY KEY (domain, selector)
);
"#],
};

/// Every schema mail-server keeps in the database, in the order made.
pub const SCHEMAS: [&Schema; 2] = [&STORE, &SERVER];

/// Runs a database call from code that must not be async (the queue's and
/// the admin commands' blocking interfaces) on the current runtime.
pub fn block<F: Future>(work: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(work))
}

/// The URL without its password, for messages.
pub fn shown_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url
            .split(' ')
            .map(|pair| match pair.split_once('=') {
                Some(("password", _)) => "password=***".to_owned(),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Connects to the database `settings` name (none for a maildir store),
/// with a message naming it when it cannot be reached.
pub async fn connect(settings: &Settings) -> Result<Option<Arc<Database>>, String> {
    let (StoreBackend::Postgres, Some(url)) = (settings.store.backend, &settings.store.url) else {
        return Ok(None);
    };
    Database::connect(url)
        .await
        .map(Some)
        .map_err(|e| format!("store: cannot use the database at {}: {e}", shown_url(url)))
}

/// Refuses to start on a database whose schema is not this binary's.
pub async fn check(db: &Database) -> Result<(), String> {
    for schema in SCHEMAS {
        db.check(schema).await.map_err(|e| format!("store: {e}"))?;
    }
    Ok(())
}

/// `mail-server migrate`: makes or upgrades every table; says what it did.
pub async fn migrate(db: &Database) -> Result<String, String> {
    let mut said = Vec::new();
    for schema in SCHEMAS {
        let (from, to) = db.migrate(schema).await.map_err(|e| e.to_string())?;
        said.push(match from == to {
            true => format!("{}: version {to}, current", schema.component),
            false => format!("{}: version {from} -> {to}", schema.component),
        });
    }
    Ok(said.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            shown_url("postgres://mail:secret@db:5432/mail"),
            "postgres://mail:***@db:5432/mail"
        );
        assert_eq!(
            shown_url("postgres://mail@db/mail"),
            "postgres://mail@db/mail"
        );
        assert_eq!(
            shown_url("host=db user=mail password=secret"),
            "host=db user=mail password=***"
        );
    }
}

/// Login failures counted per address in the database, so that an address
/// failing on several instances is locked out on all of them.
pub struct FailureLedger {
    db: Arc<Database>,
    guard: std::sync::Weak<Guard>,
}

impl FailureLedger {
    /// Shares `guard`'s counts through `db`: lockouts in force now apply
    /// at once, and those other instances decide reach it by notice.
    pub async fn share(db: &Arc<Database>, guard: &Arc<Guard>) -> Result<(), String> {
        let rows = db
            .client()
            .await
            .map_err(|e| e.to_string())?
            .query(
                "SELECT ip, locked_until FROM login_failures WHERE locked_until > $1",
                &[&(now() as i64)],
            )
            .await
            .map_err(|e| format!("login failures: {e}"))?;
        for row in rows {
            locked(guard, row.get(0), row.get(1));
        }
        let weak = Arc::downgrade(guard);
        db.on_notice(
            "l",
            Arc::new(move |what| {
                if let (Some(guard), Some((ip, until))) = (weak.upgrade(), what.split_once(' '))
                    && let Ok(until) = until.parse()
                {
                    locked(&guard, ip.to_owned(), until);
                }
            }),
        );
        guard.share(Arc::new(FailureLedger {
            db: db.clone(),
            guard: Arc::downgrade(guard),
        }));
        Ok(())
    }

    async fn count(&self, ip: IpAddr, ok: bool) -> Result<(), String> {
        let client = self.db.client().await.map_err(|e| e.to_string())?;
        let (now, key) = (now() as i64, ip.to_string());
        if ok {
            client
                .execute(
                    "DELETE FROM login_failures WHERE ip = $1
                     AND (locked_until IS NULL OR locked_until <= $2)",
                    &[&key, &now],
                )
                .await
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        // A new count when the hour's window or a lockout is over.
        let row = client
            .query_one(
                "INSERT INTO login_failures (ip, failures, window_start) VALUES ($1, 1, $2)
                 ON CONFLICT (ip) DO UPDATE SET
                   failures = CASE WHEN login_failures.window_start <= $2 - 3600
                                    OR login_failures.locked_until <= $2
                               THEN 1 ELSE login_failures.failures + 1 END,
                   window_start = CASE WHEN login_failures.window_start <= $2 - 3600
                                        OR login_failures.locked_until <= $2
                                   THEN $2 ELSE login_failures.window_start END,
                   locked_until = CASE WHEN login_failures.locked_until > $2
                                   THEN login_failures.locked_until END
                 RETURNING failures, locked_until",
                &[&key, &now],
            )
            .await
            .map_err(|e| e.to_string())?;
        let (failures, locked_until): (i32, Option<i64>) = (row.get(0), row.get(1));
        let Some(guard) = self.guard.upgrade() else {
            return Ok(());
        };
        let policy = guard.policy();
        if locked_until.is_some() || (failures as u32) < policy.lockout_failures {
            return Ok(());
        }
        let until = now + policy.lockout.as_secs() as i64;
        let set = client
            .execute(
                "UPDATE login_failures SET locked_until = $2 WHERE ip = $1 AND locked_until IS NULL",
                &[&key, &until],
            )
            .await
            .map_err(|e| e.to_string())?;
        if set == 1 {
            locked(&guard, key.clone(), until);
            self.db
                .announce("l", &format!("{key} {until}"))
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Applies a lockout of `ip` until `until` (Unix seconds).
fn locked(guard: &Guard, ip: String, until: i64) {
    if let Ok(ip) = ip.parse() {
        let remaining = (until - now() as i64).max(0) as u64;
        guard.lock_out(ip, std::time::Duration::from_secs(remaining));
    }
}

impl Ledger for FailureLedger {
    fn record(&self, ip: IpAddr, ok: bool) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let ledger = FailureLedger {
            db: self.db.clone(),
            guard: self.guard.clone(),
        };
        runtime.spawn(async move {
            if let Err(e) = ledger.count(ip, ok).await {
                tracing::warn!(%ip, error = %e, "cannot count a login in the database");
            }
        });
    }
}
