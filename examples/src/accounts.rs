//! Who may log in: the check the IMAP, POP3 and SMTP services ask for.

use std::collections::HashMap;

/// Checks a user's password.
pub trait Passwords: Send + Sync {
    /// True when `password` is `user`'s (the user name in lower case).
    fn verify(&self, user: &str, password: &str) -> bool;

    /// Checks a login from `peer`; stores that count failures per address
    /// refuse here while one is locked out.
    fn verify_from(&self, _peer: std::net::IpAddr, user: &str, password: &str) -> bool {
        self.verify(user, password)
    }

    /// The password itself, where it is stored so (APOP needs it); `None`
    /// for stores that keep only hashes.
    fn plain(&self, _user: &str) -> Option<String> {
        None
    }
}

/// Plain passwords from the command line (`--user NAME:PASSWORD`), as the
/// demo servers take them.
impl Passwords for HashMap<String, String> {
    fn verify(&self, user: &str, password: &str) -> bool {
        self.get(user).is_some_and(|p| p == password)
    }

    fn plain(&self, user: &str) -> Option<String> {
        self.get(user).cloned()
    }
}
