//! The store: accounts by user name, each opened once per process and
//! shared by every service.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::account::Account;
use crate::backend::Backend;
use crate::error::Result;

/// The mail store of a process.
pub struct Store {
    backend: Box<dyn Backend>,
    accounts: Arc<Mutex<HashMap<String, Arc<Account>>>>,
    opening: tokio::sync::Mutex<()>,
    quota: Option<u64>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Store {
    /// A store over `backend`; each account may hold `quota` octets.
    pub fn new(backend: Box<dyn Backend>, quota: Option<u64>) -> Store {
        let accounts: Arc<Mutex<HashMap<String, Arc<Account>>>> = Arc::default();
        let weak = Arc::downgrade(&accounts);
        backend.on_folders_changed(Arc::new(move |user: &str| {
            let Some(accounts) = weak.upgrade() else {
                return;
            };
            let account = lock(&accounts).get(user).cloned();
            if let Some(account) = account {
                account.folders_changed_elsewhere();
            }
        }));
        Store {
            backend,
            accounts,
            opening: tokio::sync::Mutex::new(()),
            quota,
        }
    }

    /// The account of `user` (a name the caller already checked), made at
    /// first use.
    pub async fn account(&self, user: &str) -> Result<Arc<Account>> {
        let found = lock(&self.accounts).get(user).cloned();
        let account = match found {
            Some(a) => a,
            None => {
                let _opening = self.opening.lock().await;
                let found = lock(&self.accounts).get(user).cloned();
                match found {
                    Some(a) => a,
                    None => {
                        let storage = self.backend.account(user).await?;
                        let account = Arc::new(Account::new(user, storage, self.quota));
                        lock(&self.accounts).insert(user.to_owned(), account.clone());
                        account
                    }
                }
            }
        };
        account.touch(now_secs());
        Ok(account)
    }

    /// Where to write a message once before it goes to several mailboxes
    /// ([`Source::File`](crate::Source::File)).
    pub fn spool_dir(&self) -> PathBuf {
        self.backend.spool_dir()
    }

    /// Closes mailboxes and accounts that nobody has used for `idle`: their
    /// indexes leave memory and are read again when next needed.
    pub fn sweep(&self, idle: Duration) {
        let now = now_secs();
        let mut accounts = lock(&self.accounts);
        accounts.retain(|_, account| {
            let recent = now
                .saturating_sub(account.last_used.load(std::sync::atomic::Ordering::Relaxed))
                < idle.as_secs();
            let open = account.sweep(recent);
            recent || open > 0 || Arc::strong_count(account) > 1
        });
    }

    /// Closes everything cleanly (at shutdown).
    pub fn close(&self) {
        for (_, account) in lock(&self.accounts).drain() {
            account.close_all();
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}
