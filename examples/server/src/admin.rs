//! What the admin commands and SIGHUP change in a running server: users
//! added with `mail-server user add` (kept in `DATA/users.json`, name →
//! argon2 hash, beside the configuration file's; in the `users` table,
//! shared by every instance, with a PostgreSQL store), and the configuration
//! reloaded (users, aliases, forwards, domains, the certificate) without
//! dropping sessions. Listening addresses and the other settings take a
//! restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing::{info, warn};

use sansmail_store::Database;

use crate::config::{Secret, Settings, UserName};
use crate::control;
use crate::shared::block;
use crate::tls::Certificates;
use crate::users::Directory;

/// The file of users managed with `mail-server user`.
pub const USERS_FILE: &str = "users.json";

/// Reads the settings again (the configuration file and the command line).
pub type Reread = Box<dyn Fn() -> Result<Settings, String> + Send + Sync>;

/// Where the users managed with `mail-server user` are kept.
#[derive(Clone)]
pub enum ManagedUsers {
    /// `DATA/users.json`.
    File(PathBuf),
    /// The `users` table, shared by every instance.
    Database(Arc<Database>),
}

impl ManagedUsers {
    /// Where `settings` keep them (`db` is the store's database, if any).
    pub fn of(settings: &Settings, db: Option<&Arc<Database>>) -> ManagedUsers {
        match db {
            Some(db) => ManagedUsers::Database(db.clone()),
            None => ManagedUsers::File(settings.data.clone()),
        }
    }

    /// Every managed user: name → argon2 hash. Blocking.
    pub fn read(&self) -> Result<BTreeMap<String, String>, String> {
        match self {
            ManagedUsers::File(data) => managed_users(data),
            ManagedUsers::Database(db) => block(async {
                let rows = db
                    .client()
                    .await
                    .map_err(|e| e.to_string())?
                    .query("SELECT name, hash FROM users", &[])
                    .await
                    .map_err(|e| format!("users: {e}"))?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            }),
        }
    }

    /// Sets `name`'s hash (`create`: a new user; otherwise an existing
    /// one), or removes the user (`hash` None). Blocking.
    fn write(&self, name: &str, hash: Option<&str>, create: bool) -> Result<(), String> {
        match self {
            ManagedUsers::File(data) => {
                let mut users = managed_users(data)?;
                match (hash, create, users.contains_key(name)) {
                    (Some(_), true, true) => return Err(format!("{name} already exists")),
                    (Some(_), false, false) | (None, _, false) => {
                        return Err(format!("no user {name}"));
                    }
                    _ => {}
                }
                match hash {
                    Some(hash) => users.insert(name.to_owned(), hash.to_owned()),
                    None => users.remove(name),
                };
                save_managed_users(data, &users)
            }
            ManagedUsers::Database(db) => block(async {
                let client = db.client().await.map_err(|e| e.to_string())?;
                let hash = hash.unwrap_or_default();
                let sql = match (hash.is_empty(), create) {
                    (false, true) => {
                        "INSERT INTO users (name, hash) VALUES ($1, $2) ON CONFLICT DO NOTHING"
                    }
                    (false, false) => "UPDATE users SET hash = $2 WHERE name = $1",
                    (true, _) => "DELETE FROM users WHERE name = $1 AND $2 = ''",
                };
                let changed = client
                    .execute(sql, &[&name, &hash])
                    .await
                    .map_err(|e| format!("users: {e}"))?;
                if changed == 0 {
                    return Err(match create {
                        true => format!("{name} already exists"),
                        false => format!("no user {name}"),
                    });
                }
                // Every instance reloads its users.
                db.announce("u", name).await.map_err(|e| e.to_string())
            }),
        }
    }

    /// With no user anywhere: the demo user, made once for every instance
    /// sharing the database (its password printed by the one that made it).
    fn ensure_demo(&self, settings: &mut Settings) -> Result<(), String> {
        let ManagedUsers::Database(_) = self else {
            return crate::server::ensure_demo_user(settings);
        };
        if !settings.users.is_empty() {
            return Ok(());
        }
        let password = crate::users::random_password();
        let domain = settings.domains[0].0.clone();
        match self.write("demo", Some(&crate::users::hash_password(&password)), true) {
            Ok(()) => println!(
                "demo user: demo@{domain}  password: {password}\n(printed only now; its hash is kept in the database)"
            ),
            Err(_) => println!("demo user: demo@{domain} (password printed when it was made)"),
        }
        if let Some(hash) = self.read()?.remove("demo") {
            let secret = Secret::try_from(hash).map_err(|e| format!("users: demo: {e}"))?;
            settings.users.insert(UserName("demo".into()), secret);
        }
        Ok(())
    }
}

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
pub fn with_managed_users(
    mut settings: Settings,
    managed: &ManagedUsers,
) -> Result<Settings, String> {
    for (name, hash) in managed.read()? {
        let user = UserName::try_from(name.clone())?;
        if settings.users.contains_key(&user) {
            warn!(user = %name, "a user in both the configuration file and users.json: the file's is used");
            continue;
        }
        let secret = Secret::try_from(hash).map_err(|e| format!("users.json: {name}: {e}"))?;
        settings.users.insert(user, secret);
    }
    managed.ensure_demo(&mut settings)?;
    Ok(settings)
}

/// The running server's side of the admin commands.
pub struct Reloader {
    reread: Reread,
    /// The settings as last read, before the managed users were added.
    base: Mutex<Settings>,
    data: PathBuf,
    managed: ManagedUsers,
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
        managed: ManagedUsers,
        directory: Arc<Directory>,
        certificates: Arc<Certificates>,
    ) -> Arc<Reloader> {
        Arc::new(Reloader {
            reread,
            managed,
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

    /// Reads the managed users again (another instance changed them).
    pub fn users_changed(&self) -> Result<(), String> {
        self.apply(&self.base()).map(|_| ())
    }

    /// Rebuilds the directory from `base` and the managed users.
    fn apply(&self, base: &Settings) -> Result<Settings, String> {
        let merged = with_managed_users(base.clone(), &self.managed)?;
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
        for name in self.managed.read().unwrap_or_default().into_keys() {
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
        let hash = crate::users::hash_password(password);
        self.managed.write(&user.0, Some(&hash), create)?;
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
        self.managed.write(&user.0, None, false)?;
        self.apply(&self.base()).map(|_| ())
    }
}
