//! Names on disk, as Dovecot writes and reads them: Maildir++ folder
//! directories (`.Work.Projects`, levels in modified UTF-7), message file
//! names `BASE,S=<size>,W=<vsize>:2,<letters>` with keyword letters
//! `a`..`z` numbered by `dovecot-keywords`, and the `subscriptions` file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sansmail_imap::types::{decode_modified_utf7, encode_modified_utf7};

use crate::account::DELIMITER;
use crate::error::{Result, StoreError};
use crate::flags::{Flags, SystemFlag};

/// How many keywords file names can carry (letters `a` to `z`).
pub const KEYWORD_LETTERS: usize = 26;

/// The directory of folder `name` in the account at `account`.
pub fn folder_dir(account: &Path, name: &str) -> Result<PathBuf> {
    if name == "INBOX" {
        return Ok(account.to_owned());
    }
    crate::account::check_name(name)?;
    let encoded = encode_modified_utf7(name);
    if encoded.len() > 250 || encoded.contains("..") {
        return Err(StoreError::BadName(name.to_owned()));
    }
    Ok(account.join(format!(".{encoded}")))
}

/// The folder a directory entry of the account holds, if it is one.
pub fn folder_of_dir(entry: &str) -> Option<String> {
    let wire = entry.strip_prefix('.')?;
    if wire.is_empty() || wire.starts_with('.') {
        return None;
    }
    Some(decode_modified_utf7(wire.as_bytes()).unwrap_or_else(|| wire.to_owned()))
}

/// The directory name of a user's account: letters made lower case, and
/// `None` for a name that could leave the tree.
pub fn user_dir(user: &str) -> Option<String> {
    let ok = !user.is_empty()
        && !user.starts_with('.')
        && user.len() <= 128
        && user
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'));
    ok.then(|| user.to_lowercase())
}

/// `time.M<micros>P<pid>Q<counter>.<host>`: a base name unique on this
/// host; names made within a second sort in the order they were made.
pub fn unique_base(hostname: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.M{:06}P{}Q{}.{}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        hostname.replace(['/', ':', ','], "_")
    )
}

/// A new base name carrying the sizes, as Dovecot's: `BASE,S=size,W=vsize`.
pub fn sized_base(hostname: &str, size: u64, vsize: u64) -> String {
    format!("{},S={size},W={vsize}", unique_base(hostname))
}

/// `(S=, W=)` from a base name, where present.
pub fn sizes_in(base: &str) -> (Option<u64>, Option<u64>) {
    let mut size = None;
    let mut vsize = None;
    for field in base.split(',').skip(1) {
        if let Some(v) = field.strip_prefix("S=") {
            size = v.parse().ok();
        } else if let Some(v) = field.strip_prefix("W=") {
            vsize = v.parse().ok();
        }
    }
    (size, vsize)
}

/// `(base, info)` of a file name; info is what follows `:2,`.
pub fn split_key(key: &str) -> (&str, &str) {
    match key.split_once(":2,") {
        Some((base, info)) => (base, info),
        None => (key, ""),
    }
}

/// The flags an info field's letters stand for.
pub fn flags_from_info(info: &str) -> Flags {
    let letters = info.split(',').next().unwrap_or("");
    let mut flags = Flags::default();
    for c in letters.chars() {
        if let Some(f) = SystemFlag::from_letter(c) {
            flags.system |= f.bit();
        } else if c.is_ascii_lowercase() {
            flags.keywords |= 1 << (c as u8 - b'a');
        }
    }
    flags
}

/// The file name of `key`'s message with `flags`: letters in ASCII order;
/// letters we do not know (`P`assed...) and Dovecot's fields after a comma kept.
pub fn key_with_flags(key: &str, flags: Flags) -> String {
    let (base, info) = split_key(key);
    let (letters, tail) = match info.split_once(',') {
        Some((l, t)) => (l, Some(t)),
        None => (info, None),
    };
    let mut out: Vec<char> = letters
        .chars()
        .filter(|c| SystemFlag::from_letter(*c).is_none() && !c.is_ascii_lowercase())
        .collect();
    out.extend(flags.system_flags().map(SystemFlag::letter));
    out.extend(
        flags
            .keyword_bits()
            .filter(|i| *i < KEYWORD_LETTERS)
            .map(|i| (b'a' + i as u8) as char),
    );
    out.sort_unstable();
    out.dedup();
    let mut name = format!("{base}:2,");
    name.extend(out);
    if let Some(tail) = tail {
        name.push(',');
        name.push_str(tail);
    }
    name
}

/// Octets with every line ending in CRLF (a bare LF counts one more).
pub fn crlf_size(data: &[u8]) -> u64 {
    let lfs = memchr::memchr_iter(b'\n', data).count();
    let crlfs = memchr::memmem::find_iter(data, b"\r\n").count();
    (data.len() + lfs - crlfs) as u64
}

/// The names in a `subscriptions` file: Dovecot's version 2 (levels
/// separated by tabs, UTF-8) or one name per line in modified UTF-7.
pub fn parse_subscriptions(text: &str) -> Vec<String> {
    let mut lines = text.lines();
    let version2 = text.starts_with("V\t2");
    if version2 {
        lines.next();
    }
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            if version2 {
                let levels: Vec<String> = l.split('\t').map(unescape_tab).collect();
                levels.join(&DELIMITER.to_string())
            } else {
                decode_modified_utf7(l.as_bytes()).unwrap_or_else(|| l.to_owned())
            }
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// A `subscriptions` file in Dovecot's version 2 format.
pub fn write_subscriptions(names: &[String]) -> String {
    let mut out = String::from("V\t2\n\n");
    for name in names {
        let levels: Vec<String> = name.split(DELIMITER).map(escape_tab).collect();
        out.push_str(&levels.join("\t"));
        out.push('\n');
    }
    out
}

fn escape_tab(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\x01' => out.push_str("\x011"),
            '\t' => out.push_str("\x01t"),
            '\r' => out.push_str("\x01r"),
            '\n' => out.push_str("\x01n"),
            c => out.push(c),
        }
    }
    out
}

fn unescape_tab(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\x01' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('1') => out.push('\x01'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_carry_flags_as_dovecot_writes_them() {
        let seen_b = Flags {
            system: SystemFlag::Seen.bit(),
            keywords: 1 << 1,
        };
        assert_eq!(
            key_with_flags("1.M2P3.h,S=5,W=6", seen_b),
            "1.M2P3.h,S=5,W=6:2,Sb"
        );
        let mutt = "1.M2P3.h:2,PS";
        assert_eq!(
            key_with_flags(mutt, Flags::default().with(SystemFlag::Flagged)),
            "1.M2P3.h:2,FP",
            "unknown letters are kept"
        );
        assert_eq!(
            key_with_flags("b:2,S,extra", Flags::default()),
            "b:2,,extra"
        );
        assert_eq!(
            flags_from_info("FSac,x"),
            Flags {
                system: SystemFlag::Flagged.bit() | SystemFlag::Seen.bit(),
                keywords: 0b101,
            }
        );
        assert_eq!(sizes_in("1.M2.h,S=18,W=21"), (Some(18), Some(21)));
        assert_eq!(split_key("b:2,S"), ("b", "S"));
    }

    #[test]
    fn folders_and_subscriptions() {
        let root = Path::new("/m");
        assert_eq!(folder_dir(root, "INBOX").unwrap(), root);
        assert_eq!(
            folder_dir(root, "Entwürfe").unwrap(),
            Path::new("/m/.Entw&APw-rfe")
        );
        assert!(folder_dir(root, "a..b").is_err());
        assert!(folder_dir(root, "../x").is_err());
        assert_eq!(
            folder_of_dir(".Work.Projects").as_deref(),
            Some("Work.Projects")
        );
        assert_eq!(folder_of_dir("..").as_deref(), None);
        let names = vec![
            "Work.Projects".to_owned(),
            "INBOX".into(),
            "Tab\tbed".into(),
        ];
        let text = write_subscriptions(&names);
        assert!(text.starts_with("V\t2\n\nWork\tProjects\nINBOX\n"));
        assert_eq!(parse_subscriptions(&text), names);
        assert_eq!(
            parse_subscriptions("Entw&APw-rfe\nINBOX\n"),
            vec!["Entwürfe", "INBOX"]
        );
        assert_eq!(
            user_dir("Alice@Example.com").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(user_dir("../etc"), None);
    }

    #[test]
    fn crlf_sizes() {
        assert_eq!(crlf_size(b"a\r\nb\n"), 6);
        assert_eq!(crlf_size(b"a\nb\n"), 6);
        assert_eq!(crlf_size(b""), 0);
    }
}
