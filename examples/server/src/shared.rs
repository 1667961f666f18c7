//! What several mail-server instances share through PostgreSQL besides the
//! mail (`[store] backend = "postgres"`): the outbound queue, the users
//! managed with `mail-server user`, login failures and lockouts, DKIM
//! keys, JMAP API tokens and users' settings (the vacation response). Their tables are the `server` component of the schema, made and
//! upgraded by `mail-server migrate` with the store's.

use std::future::Future;
use std::sync::Arc;

use sansmail_store::Database;
use sansmail_store::postgres::{STORE, Schema};

use crate::config::{Settings, StoreBackend};

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
    last_failure_ms bigint NOT NULL,
    locked_until bigint
);
-- Per-user settings (the JMAP vacation response, whom it answered).
CREATE TABLE user_settings (
    user_name text NOT NULL,
    name text NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (user_name, name)
);
-- JMAP API tokens (`mail-server token`): SHA-256 digests only.
CREATE TABLE api_tokens (
    digest text PRIMARY KEY,
    user_name text NOT NULL
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

/// Users' settings (the JMAP vacation response and whom it answered) in
/// the `user_settings` table, the same on every instance.
pub struct DbSettings(pub Arc<Database>);

impl sansmail_jmap::settings::Settings for DbSettings {
    fn load(&self, user: &str, name: &str) -> Option<Vec<u8>> {
        block(async {
            let row = self
                .0
                .client()
                .await
                .ok()?
                .query_opt(
                    "SELECT value FROM user_settings WHERE user_name = $1 AND name = $2",
                    &[&user, &name],
                )
                .await
                .ok()??;
            Some(row.get(0))
        })
    }

    fn save(&self, user: &str, name: &str, value: &[u8]) -> std::io::Result<()> {
        block(async {
            self.0
                .client()
                .await
                .map_err(std::io::Error::other)?
                .execute(
                    "INSERT INTO user_settings (user_name, name, value) VALUES ($1, $2, $3)
                     ON CONFLICT (user_name, name) DO UPDATE SET value = EXCLUDED.value",
                    &[&user, &name, &value],
                )
                .await
                .map_err(std::io::Error::other)?;
            Ok(())
        })
    }
}

/// Where `settings` keep users' settings: the database when the store is
/// PostgreSQL, the data directory otherwise.
pub fn user_settings(
    settings: &Settings,
    db: Option<&Arc<Database>>,
) -> Arc<dyn sansmail_jmap::settings::Settings> {
    match db {
        Some(db) => Arc::new(DbSettings(db.clone())),
        None => Arc::new(sansmail_jmap::settings::SettingsDir(settings.data.clone())),
    }
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
