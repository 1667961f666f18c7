//! What the JMAP tests share: a store on a fresh maildir, removed after.

use std::path::PathBuf;
use std::sync::Arc;

use sansmail_store::{Mailbox, Maildir, Store};

/// A directory removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A store on an empty maildir named after `test` and this process.
pub(crate) fn maildir_store(test: &str) -> (TempDir, Arc<Store>) {
    let dir = std::env::temp_dir().join(format!("jmap-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::new(Box::new(Maildir::open(&dir, "test.host").unwrap()), None);
    (TempDir(dir), Arc::new(store))
}

/// alice's INBOX, opened.
pub(crate) async fn alices_inbox(store: &Store) -> Arc<Mailbox> {
    store
        .account("alice")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap()
}
