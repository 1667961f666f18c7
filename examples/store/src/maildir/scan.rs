//! Reading a folder's directories: what files are there, and how they
//! differ from what the index knows. New mail that other programs put in
//! `new/` moves to `cur/`.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::flags::Keyword;
use crate::ids::{EmailId, ThreadId, header_of};
use crate::maildir::names;
use crate::maildir::watch::Expected;

/// A file nobody gave a UID yet, measured.
#[derive(Clone, Debug)]
pub struct NewFile {
    /// Its name in `cur/`.
    pub key: Box<str>,
    /// Octets.
    pub size: u64,
    /// Octets with CRLF line ends.
    pub vsize: u64,
    /// Its modification time (the internal date).
    pub received: i64,
    /// From its content.
    pub email_id: EmailId,
    /// From its header.
    pub thread_id: ThreadId,
}

/// How the directories differ from what is known.
#[derive(Debug, Default)]
pub struct Differences {
    /// Known messages found, with their file name now (`uid`, name).
    pub present: Vec<(u32, Box<str>)>,
    /// Known messages whose file is gone.
    pub missing: Vec<u32>,
    /// Files no UID was given to, oldest first.
    pub new: Vec<NewFile>,
}

/// Measures a message file.
pub fn measure(path: &Path, key: &str) -> io::Result<NewFile> {
    let data = fs::read(path)?;
    let meta = fs::metadata(path)?;
    let received = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    let email_id = EmailId::of_content(&data);
    Ok(NewFile {
        key: key.into(),
        size: data.len() as u64,
        vsize: names::crlf_size(&data),
        received,
        email_id,
        thread_id: ThreadId::of_header(header_of(&data), email_id),
    })
}

/// Compares the folder at `dir` with `known` (base name → UID).
pub fn differences(
    dir: &Path,
    hostname: &str,
    known: &HashMap<String, u32>,
    expected: &Expected,
) -> io::Result<Differences> {
    let cur = dir.join("cur");
    let mut out = Differences::default();
    let mut seen_bases = HashSet::new();
    let mut found_uids = HashSet::new();
    let mut fresh = Vec::new();
    // Mail delivered to new/ by other programs moves to cur/ first, under
    // a base name of its own if cur/ has one like it (a link cannot
    // replace a file, so nothing is overwritten).
    let mut in_cur: HashSet<String> = HashSet::new();
    for entry in fs::read_dir(&cur)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        in_cur.insert(names::split_key(&name).0.to_owned());
    }
    for entry in fs::read_dir(dir.join("new"))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type()?.is_file() {
            continue;
        }
        let (base, info) = names::split_key(&name);
        let base = if in_cur.contains(base) {
            names::unique_base(hostname)
        } else {
            base.to_owned()
        };
        let target = cur.join(format!("{base}:2,{info}"));
        expected.add(entry.path());
        expected.add(target.clone());
        match fs::hard_link(entry.path(), &target) {
            Ok(()) => {
                in_cur.insert(base);
                fs::remove_file(entry.path())?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
    for entry in fs::read_dir(&cur)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type()?.is_file() {
            continue;
        }
        let base = names::split_key(&name).0.to_owned();
        if !seen_bases.insert(base.clone()) {
            // Two files with one base name (copied in by hand): the later
            // gets a name of its own, so each keeps a UID of its own.
            let (_, info) = names::split_key(&name);
            let renamed = format!("{}:2,{info}", names::unique_base(hostname));
            expected.add(entry.path());
            expected.add(cur.join(&renamed));
            fs::rename(entry.path(), cur.join(&renamed))?;
            fresh.push(renamed);
            continue;
        }
        match known.get(&base) {
            Some(&uid) => {
                found_uids.insert(uid);
                out.present.push((uid, name.into()));
            }
            None => fresh.push(name),
        }
    }
    out.missing = known
        .values()
        .filter(|uid| !found_uids.contains(uid))
        .copied()
        .collect();
    out.missing.sort_unstable();
    for key in fresh {
        match measure(&cur.join(&key), &key) {
            Ok(file) => out.new.push(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
    out.new
        .sort_by(|a, b| (a.received, &a.key).cmp(&(b.received, &b.key)));
    Ok(out)
}

/// The keyword table in `dovecot-keywords` (letters `a`..`z` by line number).
pub fn read_keywords(dir: &Path) -> Vec<Keyword> {
    parse_keywords(&fs::read_to_string(dir.join("dovecot-keywords")).unwrap_or_default())
}

/// The keyword table a `dovecot-keywords` text gives.
pub fn parse_keywords(text: &str) -> Vec<Keyword> {
    let mut table: Vec<Option<Keyword>> = Vec::new();
    for line in text.lines() {
        if let Some((i, name)) = line.split_once(' ')
            && let (Ok(i), Ok(k)) = (i.parse::<usize>(), Keyword::new(name))
            && i < names::KEYWORD_LETTERS
        {
            if table.len() <= i {
                table.resize(i + 1, None);
            }
            table[i] = Some(k);
        }
    }
    // A gap cannot be represented: the table ends at the first one.
    table.into_iter().map_while(|k| k).collect()
}

/// The text of `dovecot-keywords` for a table.
pub fn keywords_text(table: &[Keyword]) -> String {
    table
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{i} {k}\n"))
        .collect()
}
