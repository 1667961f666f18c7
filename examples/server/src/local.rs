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

    /// Delivers a written and synced spool file to `user`'s `folder`.
    pub async fn deliver_file(
        &self,
        spool: &Path,
        user: &str,
        folder: Folder,
    ) -> Result<(), StoreError> {
        self.deliver(Source::File(spool.to_owned()), user, folder)
            .await
    }

    /// Delivers these octets to `user`'s `folder`.
    pub async fn deliver_bytes(
        &self,
        message: Bytes,
        user: &str,
        folder: Folder,
    ) -> Result<(), StoreError> {
        self.deliver(Source::Bytes(message), user, folder).await
    }

    async fn deliver(&self, source: Source, user: &str, folder: Folder) -> Result<(), StoreError> {
        let account = self.store.account(user).await?;
        let name = match folder {
            Folder::Inbox => "INBOX",
            Folder::Junk => {
                // Junk is made at first login; mail may come before that.
                account.ensure_default_folders().await?;
                "Junk"
            }
        };
        account.deliver(name, source, FlagSet::new()).await?;
        Ok(())
    }
}

/// Where a delivered message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folder {
    /// The user's INBOX.
    Inbox,
    /// The Junk folder (made when missing): mail a sender's policy quarantines.
    Junk,
}
