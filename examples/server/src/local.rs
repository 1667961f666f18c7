//! Local delivery: a message into a user's INBOX through the store, synced
//! before the caller answers. A message for several users is written once
//! to a spool file and linked into each mailbox.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use sansmail_store::{FlagSet, Source, Store, StoreError};

/// Local mailboxes.
pub struct Local {
    store: Arc<Store>,
}

impl Local {
    /// Delivery into `store`.
    pub fn new(store: Arc<Store>) -> Local {
        Local { store }
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// A new spool file for a message being received.
    pub async fn spool(&self) -> std::io::Result<(PathBuf, tokio::fs::File)> {
        let path = self
            .store
            .spool_dir()
            .join(sansmail_store::plain::unique_name("spool"));
        let file = tokio::fs::File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok((path, file))
    }

    /// Delivers a written and synced spool file to `user`.
    pub async fn deliver_file(&self, spool: &Path, user: &str) -> Result<(), StoreError> {
        self.deliver(Source::File(spool.to_owned()), user).await
    }

    /// Delivers these octets to `user`.
    pub async fn deliver_bytes(&self, message: Bytes, user: &str) -> Result<(), StoreError> {
        self.deliver(Source::Bytes(message), user).await
    }

    async fn deliver(&self, source: Source, user: &str) -> Result<(), StoreError> {
        let account = self.store.account(user).await?;
        account.deliver("INBOX", source, FlagSet::new()).await?;
        Ok(())
    }
}
