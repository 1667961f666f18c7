//! Where per-user settings are kept (the vacation response, and what its
//! host records beside it): a directory of JSON files, or whatever the
//! host shares between its instances.

use std::io;
use std::path::{Path, PathBuf};

use crate::account_id;

/// Per-user settings by name (`vacation`, `vacation.replied`...).
pub trait Settings: Send + Sync {
    /// The stored value, or `None` when there is none (or it cannot be read).
    fn load(&self, user: &str, name: &str) -> Option<Vec<u8>>;
    /// Replaces the stored value.
    fn save(&self, user: &str, name: &str, value: &[u8]) -> io::Result<()>;
}

/// Settings as files under a directory: `NAME/ACCOUNT.json` for a name
/// without a dot, `FIRST/ACCOUNT.REST.json` for `FIRST.REST`.
#[derive(Clone, Debug)]
pub struct SettingsDir(pub PathBuf);

impl SettingsDir {
    fn path(&self, user: &str, name: &str) -> PathBuf {
        let id = account_id(user);
        let (folder, file) = match name.split_once('.') {
            Some((folder, rest)) => (folder, format!("{id}.{rest}.json")),
            None => (name, format!("{id}.json")),
        };
        self.0.join(folder).join(file)
    }
}

impl Settings for SettingsDir {
    fn load(&self, user: &str, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(user, name)).ok()
    }

    fn save(&self, user: &str, name: &str, value: &[u8]) -> io::Result<()> {
        let file = self.path(user, name);
        std::fs::create_dir_all(file.parent().unwrap_or(Path::new(".")))?;
        let temporary = file.with_extension("tmp");
        std::fs::write(&temporary, value)?;
        std::fs::rename(temporary, file)
    }
}
