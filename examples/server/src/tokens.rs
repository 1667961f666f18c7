//! API tokens for JMAP's bearer authentication: `mail-server token USER`
//! issues one (printed once), `mail-server token revoke USER` removes
//! all of a user's. Only SHA-256 digests are kept, in `DATA/tokens.json`
//! (digest → user, mode 0600), or in the `api_tokens` table with a
//! PostgreSQL store (then every instance takes them), read at each use so
//! issuing and revoking need no restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine as _;
use sansmail_store::Database;
use sha2::{Digest, Sha256};

/// The file of token digests in the data directory.
pub const TOKENS_FILE: &str = "tokens.json";

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read(data: &Path) -> Result<BTreeMap<String, String>, String> {
    let path = data.join(TOKENS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn write(data: &Path, tokens: &BTreeMap<String, String>) -> Result<(), String> {
    std::fs::create_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let tmp = data.join(format!("{TOKENS_FILE}.tmp"));
    let json = serde_json::to_vec_pretty(tokens).map_err(|e| e.to_string())?;
    crate::server::write_private(&tmp, &json)?;
    let path = data.join(TOKENS_FILE);
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
}

/// 32 random octets as base64url: a secret no one can guess.
pub fn random() -> String {
    let mut random = [0u8; 32];
    OsRng.fill_bytes(&mut random);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
}

/// A new token for `user` ([`random`], `smt_` first); only its digest is
/// kept.
pub fn issue(data: &Path, user: &str) -> Result<String, String> {
    let token = format!("smt_{}", random());
    let mut tokens = read(data)?;
    tokens.insert(digest(&token), user.to_owned());
    write(data, &tokens)?;
    Ok(token)
}

/// Removes every token of `user`; returns how many there were.
pub fn revoke(data: &Path, user: &str) -> Result<usize, String> {
    let mut tokens = read(data)?;
    let before = tokens.len();
    tokens.retain(|_, u| u != user);
    let removed = before - tokens.len();
    write(data, &tokens)?;
    Ok(removed)
}

/// The user `token` was issued to, when it is a current token.
pub fn user_of(data: &Path, token: &str) -> Option<String> {
    read(data).ok()?.remove(&digest(token))
}

/// Where the token digests are kept.
#[derive(Clone)]
pub enum Tokens {
    /// `DATA/tokens.json`.
    File(PathBuf),
    /// The `api_tokens` table, shared by every instance.
    Database(Arc<Database>),
}

impl Tokens {
    /// The database's table with a PostgreSQL store, the file otherwise.
    pub fn of(data: &Path, db: Option<&Arc<Database>>) -> Tokens {
        match db {
            Some(db) => Tokens::Database(db.clone()),
            None => Tokens::File(data.to_path_buf()),
        }
    }

    /// The user `token` was issued to, when it is a current token.
    pub async fn user_of(&self, token: &str) -> Option<String> {
        match self {
            Tokens::File(data) => user_of(data, token),
            Tokens::Database(db) => db
                .client()
                .await
                .ok()?
                .query_opt(
                    "SELECT user_name FROM api_tokens WHERE digest = $1",
                    &[&digest(token)],
                )
                .await
                .ok()?
                .map(|row| row.get(0)),
        }
    }

    /// A new token for `user`; only its digest is kept.
    pub async fn issue(&self, user: &str) -> Result<String, String> {
        match self {
            Tokens::File(data) => issue(data, user),
            Tokens::Database(db) => {
                let token = format!("smt_{}", random());
                db.client()
                    .await
                    .map_err(|e| e.to_string())?
                    .execute(
                        "INSERT INTO api_tokens (digest, user_name) VALUES ($1, $2)",
                        &[&digest(&token), &user],
                    )
                    .await
                    .map_err(|e| format!("api_tokens: {e}"))?;
                Ok(token)
            }
        }
    }

    /// Removes every token of `user`; returns how many there were.
    pub async fn revoke(&self, user: &str) -> Result<usize, String> {
        match self {
            Tokens::File(data) => revoke(data, user),
            Tokens::Database(db) => db
                .client()
                .await
                .map_err(|e| e.to_string())?
                .execute("DELETE FROM api_tokens WHERE user_name = $1", &[&user])
                .await
                .map(|n| n as usize)
                .map_err(|e| format!("api_tokens: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_issued_found_and_revoked() {
        let dir = std::env::temp_dir().join(format!("tokens-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = issue(&dir, "alice").unwrap();
        let b = issue(&dir, "alice").unwrap();
        let c = issue(&dir, "bob").unwrap();
        assert!(a.starts_with("smt_") && a.len() == 4 + 43 && a != b);
        assert_eq!(user_of(&dir, &a).as_deref(), Some("alice"));
        assert_eq!(user_of(&dir, &c).as_deref(), Some("bob"));
        assert_eq!(user_of(&dir, "smt_guess"), None);
        let stored = std::fs::read_to_string(dir.join(TOKENS_FILE)).unwrap();
        assert!(!stored.contains(&a[4..]), "only digests are kept");
        assert_eq!(revoke(&dir, "alice").unwrap(), 2);
        assert_eq!(user_of(&dir, &a), None);
        assert_eq!(user_of(&dir, &c).as_deref(), Some("bob"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
