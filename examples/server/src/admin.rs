//! What the admin commands and SIGHUP change in a running server: users
//! added with `mail-server user add` (kept in `DATA/users.json`, name →
//! argon2 hash, beside the configuration file's), and the configuration
//! reloaded (users, aliases, forwards, domains, the certificate) without
//! dropping sessions. Listening addresses and the other settings take a
//! restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing::{info, warn};

use crate::config::{Secret, Settings, UserName};
use crate::control;
use crate::tls::Certificates;
use crate::users::Directory;

/// The file of users managed with `mail-server user`.
pub const USERS_FILE: &str = "users.json";

/// Reads the settings again (the configuration file and the command line).
pub type Reread = Box<dyn Fn() -> Result<Settings, String> + Send + Sync>;

/// The users in `DATA/users.json` (none when it does not exist).
pub fn managed_users(data: &Path) -> Result<BTreeMap<String, String>, String> {
    let path = data.join(USERS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn save_managed_users(data: &Path, users: &BTreeMap<String, String>) -> Result<(), String> {
    let path = data.join(USERS_FILE);
    let tmp = data.join(format!("{USERS_FILE}.tmp"));
    let json = serde_json::to_vec_pretty(users).map_err(|e| e.to_string())?;
    crate::server::write_private(&tmp, &json)?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `settings` with the managed users added (the configuration file's win
/// a name both have) and, when there are no users at all, the demo user.
pub fn with_managed_users(mut settings: Settings) -> Result<Settings, String> {
    for (name, hash) in managed_users(&settings.data)? {
        let user = UserName::try_from(name.clone())?;
        if settings.users.contains_key(&user) {
            warn!(user = %name, "a user in both the configuration file and users.json: the file's is used");
            continue;
        }
        let secret = Secret::try_from(hash).map_err(|e| format!("users.json: {name}: {e}"))?;
        settings.users.insert(user, secret);
    }
    crate::server::ensure_demo_user(&mut settings)?;
    Ok(settings)
}

/// The running server's side of the admin commands.
pub struct Reloader {
    reread: Reread,
    /// The settings as last read, before the managed users were added.
    base: Mutex<Settings>,
    data: PathBuf,
    directory: Arc<Directory>,
    certificates: Arc<Certificates>,
    /// True when the certificate comes from ACME (not from files).
    acme: bool,
}

impl Reloader {
    /// Acts on `directory` and `certificates`, re-reading with `reread`.
    pub fn new(
        reread: Reread,
        base: Settings,
        directory: Arc<Directory>,
        certificates: Arc<Certificates>,
    ) -> Arc<Reloader> {
        Arc::new(Reloader {
            reread,
            data: base.data.clone(),
            acme: base.tls.acme.is_some(),
            base: Mutex::new(base),
            directory,
            certificates,
        })
    }

    fn base(&self) -> Settings {
        self.base.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Rebuilds the directory from `base` and the managed users.
    fn apply(&self, base: &Settings) -> Result<Settings, String> {
        let merged = with_managed_users(base.clone())?;
        self.directory.reload(&merged);
        Ok(merged)
    }

    fn config_user(&self, name: &str) -> bool {
        UserName::try_from(name.to_owned()).is_ok_and(|u| self.base().users.contains_key(&u))
    }
}

impl control::Admin for Reloader {
    fn reload(&self) -> Result<String, String> {
        let settings = (self.reread)()?;
        if settings.data != self.data {
            return Err("the data directory cannot change without a restart".into());
        }
        let merged = self.apply(&settings)?;
        let certificate = match self.acme {
            true => "kept (from ACME)",
            false => {
                let identity = crate::server::tls_identity(&settings)?;
                self.certificates
                    .replace(identity)
                    .map_err(|e| format!("certificate: {e}"))?;
                "reloaded"
            }
        };
        *self.base.lock().unwrap_or_else(|e| e.into_inner()) = settings;
        let summary = format!(
            "reloaded: {} users, {} aliases, domains {}; certificate {certificate}",
            merged.users.len(),
            merged.aliases.len(),
            merged
                .domains
                .iter()
                .map(|d| d.0.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        info!(%summary, "configuration reloaded");
        Ok(summary)
    }

    fn users(&self) -> Vec<(String, bool)> {
        let base = self.base();
        let mut users: Vec<(String, bool)> =
            base.users.keys().map(|u| (u.0.clone(), true)).collect();
        for name in managed_users(&self.data).unwrap_or_default().into_keys() {
            if !users.iter().any(|(u, _)| *u == name) {
                users.push((name, false));
            }
        }
        users.sort();
        users
    }

    fn set_password(&self, name: &str, password: &str, create: bool) -> Result<(), String> {
        let user = UserName::try_from(name.to_owned())?;
        if self.config_user(&user.0) {
            return Err(format!(
                "{} is defined in the configuration file; change it there (mail-server hash-password) and reload",
                user.0
            ));
        }
        let mut users = managed_users(&self.data)?;
        match (create, users.contains_key(&user.0)) {
            (true, true) => return Err(format!("{} already exists", user.0)),
            (false, false) => return Err(format!("no user {}", user.0)),
            _ => {}
        }
        users.insert(user.0.clone(), crate::users::hash_password(password));
        save_managed_users(&self.data, &users)?;
        self.apply(&self.base()).map(|_| ())
    }

    fn remove_user(&self, name: &str) -> Result<(), String> {
        let user = UserName::try_from(name.to_owned())?;
        if self.config_user(&user.0) {
            return Err(format!(
                "{} is defined in the configuration file; remove it there and reload",
                user.0
            ));
        }
        let mut users = managed_users(&self.data)?;
        if users.remove(&user.0).is_none() {
            return Err(format!("no user {}", user.0));
        }
        save_managed_users(&self.data, &users)?;
        self.apply(&self.base()).map(|_| ())
    }
}
