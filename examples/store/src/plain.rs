//! Plain maildir delivery, for programs that only drop mail in and keep
//! no index (smtp-sink, pop3-fetch): a message is written once to a spool
//! file, synced, then hard-linked into each recipient's `tmp/` and renamed
//! into `new/`, and the directory is synced. A [`Store`](crate::Store)
//! serving the same maildirs picks the files up from `new/`.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::maildir::names;

/// A tree of maildirs: `ROOT/<owner>/Maildir/{tmp,new,cur}`.
#[derive(Clone, Debug)]
pub struct MaildirRoot {
    root: PathBuf,
    hostname: String,
}

impl MaildirRoot {
    /// Opens (creating if needed) the tree at `root` and checks it is writable.
    pub fn open(root: &Path, hostname: &str) -> io::Result<Self> {
        let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", root.display()));
        fs::create_dir_all(root.join(".spool")).map_err(named)?;
        let probe = root
            .join(".spool")
            .join(format!(".probe-{}", std::process::id()));
        File::create(&probe).map_err(named)?;
        fs::remove_file(&probe).map_err(named)?;
        Ok(MaildirRoot {
            root: root.to_owned(),
            hostname: hostname.replace(['/', ':'], "_"),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A new spool file for a message being received.
    pub fn create_spool(&self) -> io::Result<(PathBuf, File)> {
        let path = self.root.join(".spool").join(self.unique_name());
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok((path, file))
    }

    /// The maildir of `owner` (a name made safe by [`folder_name`]).
    pub fn maildir(&self, owner: &str) -> PathBuf {
        self.root.join(owner).join("Maildir")
    }

    /// Delivers the synced spool file into `owner`'s maildir; returns the new file's path.
    pub fn deliver(&self, spool: &Path, owner: &str) -> io::Result<PathBuf> {
        let dir = self.maildir(owner);
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        let name = self.unique_name();
        let tmp = dir.join("tmp").join(&name);
        let new = dir.join("new").join(&name);
        fs::hard_link(spool, &tmp).or_else(|_| fs::copy(spool, &tmp).map(|_| ()))?;
        File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, &new)?;
        File::open(dir.join("new"))?.sync_all()?;
        Ok(new)
    }

    fn unique_name(&self) -> String {
        unique_name(&self.hostname)
    }
}

/// A maildir file name unique on this host (see [`names::unique_base`]).
pub fn unique_name(hostname: &str) -> String {
    names::unique_base(hostname)
}

/// One maildir (`DIR/{tmp,new,cur}`): messages are written into `tmp/`,
/// synced, then renamed into `new/`.
#[derive(Clone, Debug)]
pub struct Maildir {
    dir: PathBuf,
}

impl Maildir {
    /// Opens (creating if needed) the maildir at `dir`.
    pub fn open(dir: &Path) -> io::Result<Self> {
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(dir.join(sub))
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        }
        Ok(Maildir {
            dir: dir.to_owned(),
        })
    }

    /// A new file in `tmp/` for a message being written.
    pub fn create_tmp(&self, hostname: &str) -> io::Result<(PathBuf, File)> {
        let path = self.dir.join("tmp").join(unique_name(hostname));
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok((path, file))
    }

    /// Moves a written and synced `tmp/` file into `new/` and syncs the directory.
    pub fn commit(&self, tmp: &Path) -> io::Result<PathBuf> {
        let name = tmp
            .file_name()
            .ok_or_else(|| io::Error::other("not a maildir file"))?;
        let new = self.dir.join("new").join(name);
        fs::rename(tmp, &new)?;
        File::open(self.dir.join("new"))?.sync_all()?;
        Ok(new)
    }

    /// The messages in `new/` and `cur/`, oldest first (by modification time, then name).
    pub fn messages(&self) -> io::Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            let dir = match fs::read_dir(self.dir.join(sub)) {
                Ok(d) => d,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in dir {
                let entry = entry?;
                let name = entry.file_name();
                if name.to_string_lossy().starts_with('.') || !entry.file_type()?.is_file() {
                    continue;
                }
                let modified = entry.metadata()?.modified().unwrap_or(UNIX_EPOCH);
                found.push((modified, name, entry.path()));
            }
        }
        found.sort();
        Ok(found.into_iter().map(|(_, _, path)| path).collect())
    }
}

/// A directory name for a mailbox owner, or `None` when the local part could
/// escape the tree or is not a plain name. ASCII letters are lowercased.
pub fn folder_name(local_part: &str) -> Option<String> {
    let ok = !local_part.is_empty()
        && !local_part.starts_with('.')
        && local_part.len() <= 64
        && local_part
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'));
    ok.then(|| local_part.to_ascii_lowercase())
}

/// Writes the trace headers a delivering MTA adds (RFC 5321 §4.4).
pub fn write_trace_headers(
    out: &mut impl Write,
    return_path: &str,
    received: &str,
) -> io::Result<()> {
    write!(
        out,
        "Return-Path: {return_path}\r\nReceived: {received}\r\n"
    )
}

/// An RFC 5322 date for `time`, in UTC.
pub fn rfc5322_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    format!(
        "{}, {} {} {} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(UNIX_EPOCH), "Thu, 1 Jan 1970 00:00:00 +0000");
        // Expected values from Python's email.utils.format_datetime.
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(rfc5322_date(t), "Wed, 18 Nov 2026 11:06:40 +0000");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc5322_date(leap), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn folder_names_cannot_escape() {
        assert_eq!(folder_name("Alice"), Some("alice".into()));
        assert_eq!(folder_name("a.b+tag"), Some("a.b+tag".into()));
        assert_eq!(folder_name("../etc"), None);
        assert_eq!(folder_name(".hidden"), None);
        assert_eq!(folder_name("a/b"), None);
        assert_eq!(folder_name(""), None);
    }

    #[test]
    fn delivers_into_new() {
        let dir = std::env::temp_dir().join(format!("maildir-test-{}", std::process::id()));
        let root = MaildirRoot::open(&dir, "test.host").unwrap();
        let (spool, mut f) = root.create_spool().unwrap();
        f.write_all(b"Subject: x\r\n\r\nbody\r\n").unwrap();
        f.sync_all().unwrap();
        let a = root.deliver(&spool, "alice").unwrap();
        let b = root.deliver(&spool, "bob").unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"Subject: x\r\n\r\nbody\r\n");
        assert!(a.starts_with(dir.join("alice/Maildir/new")));
        assert!(b.starts_with(dir.join("bob/Maildir/new")));
        fs::remove_dir_all(&dir).unwrap();
    }
}
