//! Who has a mailbox here and who may log in: users with argon2 (or, from
//! the command line, plain) passwords, aliases, and the local domains.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use sansmail_smtp::types::{Host, Mailbox, Reply};
use sha2::{Digest, Sha256};

use super::config::{Secret, Settings};
use super::limits::Guard;
use crate::accounts::{Passwords, Verdict};

/// Where a recipient's mail goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Into this user's mailbox.
    Local(String),
    /// To another domain's mail exchangers.
    Remote,
    /// A local address forwarded to this one at another domain.
    Forward(String),
}

/// Users, aliases and domains, as one configuration gave them.
struct Accounts {
    users: HashMap<String, Secret>,
    aliases: HashMap<String, String>,
    forwards: HashMap<String, String>,
    domains: Vec<String>,
}

impl Accounts {
    /// `postmaster` goes to the first user unless an alias says otherwise.
    fn new(settings: &Settings) -> Accounts {
        let users: HashMap<String, Secret> = settings
            .users
            .iter()
            .map(|(name, secret)| (name.0.clone(), secret.clone()))
            .collect();
        let mut aliases: HashMap<String, String> = settings
            .aliases
            .iter()
            .map(|(a, u)| (a.0.clone(), u.0.clone()))
            .collect();
        if let Some(first) = settings.users.keys().next()
            && !users.contains_key("postmaster")
        {
            aliases
                .entry("postmaster".into())
                .or_insert_with(|| first.0.clone());
        }
        Accounts {
            users,
            aliases,
            forwards: settings
                .forwards
                .iter()
                .map(|(l, t)| (l.0.clone(), t.clone()))
                .collect(),
            domains: settings.domains.iter().map(|d| d.0.clone()).collect(),
        }
    }
}

/// Users, aliases and domains; replaced as a whole when the configuration
/// is reloaded or a user is added or removed.
pub struct Directory {
    accounts: RwLock<Arc<Accounts>>,
    guard: Arc<Guard>,
    /// Digests of (hash, password) pairs already verified, so a client
    /// that logs in again does not pay for argon2 each time. A changed
    /// hash makes its user's entry useless.
    verified: Mutex<HashMap<String, [u8; 32]>>,
}

impl Directory {
    /// The users, aliases and domains of `settings`; logins are counted by `guard`.
    /// `postmaster` goes to the first user unless an alias says otherwise.
    pub fn new(settings: &Settings, guard: Arc<Guard>) -> Directory {
        Directory {
            accounts: RwLock::new(Arc::new(Accounts::new(settings))),
            guard,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// From now on, the users, aliases, forwards and domains of `settings`.
    pub fn reload(&self, settings: &Settings) {
        let accounts = Arc::new(Accounts::new(settings));
        *self.accounts.write().unwrap_or_else(|e| e.into_inner()) = accounts;
    }

    fn accounts(&self) -> Arc<Accounts> {
        self.accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// True when mail for `domain` is delivered here.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.accounts()
            .domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The user whose mailbox a local part names: by name or alias, in any
    /// case, with a `+detail` ignored.
    pub fn owner(&self, local_part: &str) -> Option<String> {
        let lower = local_part.to_ascii_lowercase();
        let base = match lower.split_once('+') {
            Some((base, _)) if !base.is_empty() => base,
            _ => &lower,
        };
        let accounts = self.accounts();
        if accounts.users.contains_key(base) {
            return Some(base.to_owned());
        }
        accounts.aliases.get(base).cloned()
    }

    /// Where mail for `mailbox` goes, or the refusal. Local parts that could
    /// be read as routing elsewhere (`%`, `!`, `@`, quoting) are refused for
    /// local domains, and address literals are never local.
    pub fn route(&self, mailbox: &Mailbox) -> Result<Route, Reply> {
        let Host::Domain(domain) = &mailbox.host else {
            return Ok(Route::Remote);
        };
        if !self.is_local_domain(domain.as_str()) {
            return Ok(Route::Remote);
        }
        let raw = mailbox.local_part.as_str();
        let plain = raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
        if !plain {
            return Err(reply(
                550,
                (5, 1, 3),
                "Bad destination mailbox address syntax",
            ));
        }
        if let Some(target) = self.accounts().forwards.get(&raw.to_ascii_lowercase()) {
            return Ok(Route::Forward(target.clone()));
        }
        self.owner(raw)
            .map(Route::Local)
            .ok_or_else(|| reply(550, (5, 1, 1), "No such user here"))
    }

    /// True when `user` may send as `mailbox`: one of the user's own
    /// addresses (name or alias, any local domain).
    pub fn owns(&self, user: &str, mailbox: &Mailbox) -> bool {
        matches!(self.route(mailbox), Ok(Route::Local(owner)) if owner == user)
    }

    /// The user names, sorted.
    pub fn user_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.accounts().users.keys().cloned().collect();
        names.sort();
        names
    }

    fn check(&self, user: &str, password: &str) -> bool {
        match self.accounts().users.get(user) {
            Some(Secret::Plain(p)) => p == password,
            Some(Secret::Argon2(hash)) => {
                let digest: [u8; 32] = Sha256::new()
                    .chain_update(hash.as_bytes())
                    .chain_update([0])
                    .chain_update(password.as_bytes())
                    .finalize()
                    .into();
                let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
                if verified.get(user) == Some(&digest) {
                    return true;
                }
                let ok = argon2::PasswordHash::new(hash).is_ok_and(|h| {
                    argon2::Argon2::default()
                        .verify_password(password.as_bytes(), &h)
                        .is_ok()
                });
                if ok {
                    verified.insert(user.to_owned(), digest);
                }
                ok
            }
            None => false,
        }
    }
}

impl Passwords for Directory {
    fn account_of(&self, login: &str) -> Option<String> {
        let lower = login.to_lowercase();
        let accounts = self.accounts();
        if accounts.users.contains_key(&lower) {
            return Some(lower);
        }
        let (local, domain) = lower.rsplit_once('@')?;
        (self.is_local_domain(domain) && accounts.users.contains_key(local))
            .then(|| local.to_owned())
    }

    fn verify(&self, user: &str, password: &str) -> bool {
        self.check(user, password)
    }

    fn verify_from(&self, peer: IpAddr, user: &str, password: &str) -> Verdict {
        if self.guard.is_locked_out(peer) {
            return Verdict::Refused {
                delay: std::time::Duration::ZERO,
            };
        }
        let ok = self.check(user, password);
        let outcome = if ok { "success" } else { "failure" };
        crate::metrics::count("sansmail_auth_attempts_total", &[("outcome", outcome)]);
        let delay = self.guard.record_login(peer, user, ok);
        if ok {
            Verdict::Accepted
        } else {
            Verdict::Refused { delay }
        }
    }

    fn plain(&self, user: &str) -> Option<String> {
        match self.accounts().users.get(user) {
            Some(Secret::Plain(p)) => Some(p.clone()),
            _ => None,
        }
    }
}

/// An argon2id hash of `password` with a fresh random salt, in PHC form.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters takes any password")
        .to_string()
}

/// A random password of 20 letters and digits.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

fn reply(code: u16, status: (u8, u16, u16), text: &str) -> Reply {
    Reply::text(code, status, text).expect("fixed reply text is valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn directory() -> Directory {
        let text = format!(
            "domains = [\"example.com\", \"example.net\"]\n[users]\nalice = \"{}\"\nbob = \"{}\"\n[aliases]\nsales = \"bob\"\n",
            hash_password("right"),
            hash_password("other")
        );
        let settings = Settings::from_toml(&text, "test").unwrap();
        Directory::new(
            &settings,
            Guard::new(crate::limits::Policy {
                max_connections: 10,
                lockout_failures: 3,
                lockout: Duration::from_secs(60),
                max_penalty: Duration::ZERO,
            }),
        )
    }

    fn mailbox(s: &str) -> Mailbox {
        Mailbox::parse(s).unwrap()
    }

    #[test]
    fn routes_users_aliases_and_details() {
        let d = directory();
        let local = |u: &str| Ok(Route::Local(u.into()));
        assert_eq!(d.route(&mailbox("Alice@Example.COM")), local("alice"));
        assert_eq!(d.route(&mailbox("alice+lists@example.net")), local("alice"));
        assert_eq!(d.route(&mailbox("sales@example.com")), local("bob"));
        assert_eq!(d.route(&mailbox("postmaster@example.com")), local("alice"));
        assert_eq!(d.route(&mailbox("x@elsewhere.org")), Ok(Route::Remote));
        assert_eq!(d.route(&mailbox("alice@[127.0.0.1]")), Ok(Route::Remote));
        let code = |s: &str| d.route(&mailbox(s)).unwrap_err().code().get();
        assert_eq!(code("carol@example.com"), 550);
    }

    #[test]
    fn local_parts_that_route_elsewhere_are_refused() {
        let d = directory();
        for trick in [
            "alice%elsewhere.org@example.com",
            "elsewhere.org!alice@example.com",
            "\"alice@elsewhere.org\"@example.com",
            "\"alice\"@example.com",
        ] {
            let refusal = d.route(&mailbox(trick)).unwrap_err();
            assert_eq!(refusal.code().get(), 550, "{trick}");
        }
    }

    #[test]
    fn senders_are_the_users_own_addresses() {
        let d = directory();
        assert!(d.owns("bob", &mailbox("sales@example.net")));
        assert!(d.owns("alice", &mailbox("ALICE@example.com")));
        assert!(!d.owns("alice", &mailbox("bob@example.com")));
        assert!(!d.owns("alice", &mailbox("alice@elsewhere.org")));
    }

    #[test]
    fn argon2_passwords_logins_and_lockout() {
        let d = directory();
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        let ok = |v: Verdict| v == Verdict::Accepted;
        assert!(ok(d.verify_from(ip, "alice", "right")));
        assert!(
            ok(d.verify_from(ip, "alice", "right")),
            "the second time from the cache"
        );
        assert!(!ok(d.verify_from(ip, "alice", "wrong")));
        assert!(!ok(d.verify_from(ip, "nobody", "right")));
        assert!(!ok(d.verify_from(ip, "bob", "right")));
        assert!(
            !ok(d.verify_from(ip, "alice", "right")),
            "locked out after three failures, even with the right password"
        );
        assert!(d.plain("alice").is_none(), "hashes give no plain password");
        assert_eq!(d.account_of("ALICE").as_deref(), Some("alice"));
        assert_eq!(d.account_of("alice@Example.net").as_deref(), Some("alice"));
        assert_eq!(d.account_of("alice@elsewhere.org"), None);
        assert_eq!(
            d.account_of("sales@example.com"),
            None,
            "aliases receive mail, they do not log in"
        );
    }

    proptest::proptest! {
        /// Whatever the local part, a local-domain address is delivered
        /// locally only when it is a plain name: nothing in it can route
        /// the message elsewhere.
        #[test]
        fn only_plain_local_parts_are_local(local in "[a-zA-Z0-9.%!+_\\-]{1,20}") {
            static DIRECTORY: std::sync::OnceLock<Directory> = std::sync::OnceLock::new();
            let d = DIRECTORY.get_or_init(directory);
            if let Ok(mailbox) = Mailbox::parse(&format!("{local}@example.com"))
                && let Ok(Route::Local(owner)) = d.route(&mailbox)
            {
                proptest::prop_assert!(!local.contains(['%', '!', '@', '"']));
                proptest::prop_assert!(owner == "alice" || owner == "bob");
            }
        }
    }

    #[test]
    fn random_passwords_differ() {
        let (a, b) = (random_password(), random_password());
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
    }
}
