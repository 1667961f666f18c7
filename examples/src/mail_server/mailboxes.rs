//! Local delivery into `DATA/mail/<user>/Maildir`, telling the user's IMAP
//! sessions at once.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::maildir::MaildirRoot;

/// The mailboxes and who waits for arrivals in them.
pub struct Mailboxes {
    root: MaildirRoot,
    arrivals: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Mailboxes {
    /// The mailboxes under `root`. Spool files a crash left behind were
    /// never acknowledged, and are removed.
    pub fn new(root: MaildirRoot) -> Mailboxes {
        if let Ok(entries) = std::fs::read_dir(root.root().join(".spool")) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Mailboxes {
            root,
            arrivals: Mutex::new(HashMap::new()),
        }
    }

    /// The maildir tree.
    pub fn root(&self) -> &MaildirRoot {
        &self.root
    }

    /// What is notified when mail arrives for `user`.
    pub fn arrivals(&self, user: &str) -> Arc<Notify> {
        let mut map = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, n| Arc::strong_count(n) > 1);
        map.entry(user.to_owned()).or_default().clone()
    }

    fn notify(&self, user: &str) {
        let map = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get(user) {
            n.notify_waiters();
        }
    }

    /// Delivers a synced spool file to `user`. Blocking.
    pub fn deliver_file(&self, spool: &Path, user: &str) -> io::Result<()> {
        self.root.deliver(spool, user)?;
        self.notify(user);
        Ok(())
    }

    /// Delivers the concatenation of `parts` to `user`. Blocking.
    pub fn deliver_bytes(&self, parts: &[&[u8]], user: &str) -> io::Result<()> {
        let (path, mut file) = self.root.create_spool()?;
        let written = (|| {
            for part in parts {
                file.write_all(part)?;
            }
            file.sync_all()?;
            self.deliver_file(&path, user)
        })();
        let _ = std::fs::remove_file(&path);
        written
    }
}
