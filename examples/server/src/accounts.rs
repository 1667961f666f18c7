//! Who may log in: the check every service (SMTP AUTH, IMAP, POP3) makes,
//! through one function, [`login`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// What a password check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The password is right.
    Accepted,
    /// It is not; answer after `delay` (a penalty that grows with repeated
    /// failures of the same address and user).
    Refused {
        /// How long to wait before saying so.
        delay: Duration,
    },
}

/// Checks users' passwords.
pub trait Passwords: Send + Sync {
    /// The account a login names: a user name or a full address, in any
    /// case. `None` when it names no account.
    fn account_of(&self, login: &str) -> Option<String>;

    /// True when `password` is `user`'s (`user` as [`account_of`](Self::account_of) gave it).
    fn verify(&self, user: &str, password: &str) -> bool;

    /// Checks a login from `peer`; stores that count failures refuse here
    /// while the address is locked out, and say how long to wait.
    fn verify_from(&self, _peer: IpAddr, user: &str, password: &str) -> Verdict {
        if self.verify(user, password) {
            Verdict::Accepted
        } else {
            Verdict::Refused {
                delay: Duration::ZERO,
            }
        }
    }

    /// The password itself, where it is stored so (APOP needs it); `None`
    /// for stores that keep only hashes.
    fn plain(&self, _user: &str) -> Option<String> {
        None
    }
}

/// Checks a login (off the reactor threads: password hashes are slow on
/// purpose) and returns the account it opens. A refusal comes only after
/// its penalty delay.
pub async fn login(
    passwords: &Arc<dyn Passwords>,
    peer: IpAddr,
    login: &str,
    password: &str,
) -> Option<String> {
    let passwords = passwords.clone();
    let (login, password) = (login.to_owned(), password.to_owned());
    let checked = tokio::task::spawn_blocking(move || {
        // An unknown name is checked as a wrong password of its own, so
        // both cost the same and are counted the same.
        let account = passwords.account_of(&login);
        let user = account.clone().unwrap_or_else(|| login.to_lowercase());
        match passwords.verify_from(peer, &user, &password) {
            Verdict::Accepted if account.is_some() => Ok(user),
            Verdict::Accepted => Err(Duration::ZERO),
            Verdict::Refused { delay } => Err(delay),
        }
    })
    .await;
    match checked {
        Ok(Ok(user)) => Some(user),
        Ok(Err(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        Err(_) => None,
    }
}

/// Plain passwords from the command line (`--user NAME:PASSWORD`), as the
/// single-protocol servers take them. A login may give the name or
/// `name@any.domain`.
impl Passwords for HashMap<String, String> {
    fn account_of(&self, login: &str) -> Option<String> {
        let lower = login.to_lowercase();
        if self.contains_key(&lower) {
            return Some(lower);
        }
        let local = lower.rsplit_once('@')?.0;
        self.contains_key(local).then(|| local.to_owned())
    }

    fn verify(&self, user: &str, password: &str) -> bool {
        self.get(user).is_some_and(|p| p == password)
    }

    fn plain(&self, user: &str) -> Option<String> {
        self.get(user).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_and_addresses_log_in() {
        let users: HashMap<String, String> = [("bob".to_owned(), "pw".to_owned())].into();
        let users: Arc<dyn Passwords> = Arc::new(users);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(login(&users, ip, "Bob", "pw").await.as_deref(), Some("bob"));
        assert_eq!(
            login(&users, ip, "bob@example.org", "pw").await.as_deref(),
            Some("bob")
        );
        assert_eq!(login(&users, ip, "bob", "wrong").await, None);
        assert_eq!(login(&users, ip, "nobody", "pw").await, None);
    }
}
