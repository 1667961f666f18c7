//! `sansmail-index`: a folder's UIDs, mod-sequences and ids, as a journal
//! of changes appended to a file (one `write` each, so a crash of the
//! process loses nothing), compacted now and then.
//!
//! ```text
//! sansmail-index 1 V<uidvalidity> I<mailbox id> N<uid next> M<modseq> Z<vanished floor>
//! A <uid> <modseq> <received> <size> <vsize> <email id> <thread id> <file name>
//! F <uid> <modseq> <file name>            flags changed (they are in the name)
//! X <uid> <modseq>                        expunged
//! R <uid> <modseq>                        nothing at or above these was given out yet
//! C <uid next> <modseq>                   closed cleanly with these counters
//! ```
//!
//! A power failure may lose the unsynced tail. The `R` lines, synced
//! before any UID or mod-sequence they cover is handed out, make sure the
//! counters never go back even then: after an unclean stop they restart
//! at the last reservation.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::ids::{EmailId, MailboxId, ThreadId};
use crate::index::Entry;
use crate::maildir::names;

/// The journal's file name in a folder.
pub const FILE: &str = "sansmail-index";
const UID_RESERVE: u32 = 1_000;
const MODSEQ_RESERVE: u64 = 10_000;

/// What a journal says.
#[derive(Debug, Default)]
pub struct Replayed {
    /// UIDVALIDITY.
    pub uid_validity: u32,
    /// The folder's id.
    pub id: u64,
    /// The next UID to give.
    pub uid_next: u32,
    /// The highest mod-sequence given.
    pub modseq: u64,
    /// Live messages (flags not yet known: they come from the files).
    pub entries: BTreeMap<u32, Entry>,
    /// Expunges remembered, oldest first.
    pub vanished: Vec<(u32, u64)>,
    /// Expunges before this are forgotten.
    pub vanished_floor: u64,
    /// Records in the file.
    pub records: usize,
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

/// Reads a journal; `None` when there is none.
pub fn replay(path: &Path) -> io::Result<Option<Replayed>> {
    match fs::read(path) {
        Ok(t) => Ok(parse(&String::from_utf8_lossy(&t))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a journal's text says; `None` when it is not one.
pub fn parse(text: &str) -> Option<Replayed> {
    let mut lines = text.split_inclusive('\n');
    let header = lines.next()?;
    let mut r = Replayed {
        uid_next: 1,
        modseq: 1,
        vanished_floor: 1,
        ..Default::default()
    };
    let mut words = header.split_whitespace();
    if words.next() != Some("sansmail-index") {
        return None;
    }
    for word in words.skip(1) {
        let Some(tag) = word.get(..1) else { continue };
        let value = &word[1..];
        match tag {
            "V" => r.uid_validity = value.parse().unwrap_or(0),
            "I" => r.id = hex(value).unwrap_or(0),
            "N" => r.uid_next = value.parse().unwrap_or(1),
            "M" => r.modseq = value.parse().unwrap_or(1),
            "Z" => r.vanished_floor = value.parse().unwrap_or(1),
            _ => {}
        }
    }
    let (mut reserved_uid, mut reserved_modseq) = (r.uid_next, r.modseq);
    let mut clean: Option<(u32, u64)> = None;
    let (mut max_uid, mut max_modseq) = (0u32, r.modseq);
    for line in lines {
        // A line without its newline was torn by a crash: ignore it.
        let Some(line) = line.strip_suffix('\n') else {
            break;
        };
        r.records += 1;
        let mut f = line.splitn(9, ' ');
        let tag = f.next().unwrap_or("");
        let uid: Option<u32> = f.next().and_then(|v| v.parse().ok());
        let modseq: Option<u64> = f.next().and_then(|v| v.parse().ok());
        let (Some(uid), Some(modseq)) = (uid, modseq) else {
            continue;
        };
        if tag != "R" && tag != "C" {
            max_uid = max_uid.max(uid);
            max_modseq = max_modseq.max(modseq);
        }
        match tag {
            "A" => {
                let rest: Vec<&str> = f.collect();
                if let [received, size, vsize, email, thread, key] = rest[..] {
                    let entry = Entry {
                        uid,
                        flags: Default::default(),
                        modseq,
                        size: size.parse().unwrap_or(0),
                        vsize: vsize.parse().unwrap_or(0),
                        received: received.parse().unwrap_or(0),
                        email_id: EmailId(hex(email).unwrap_or(0)),
                        thread_id: ThreadId(hex(thread).unwrap_or(0)),
                        key: key.into(),
                    };
                    r.entries.insert(uid, entry);
                }
                clean = None;
            }
            "F" => {
                if let (Some(key), Some(e)) = (f.next(), r.entries.get_mut(&uid)) {
                    e.key = key.into();
                    e.modseq = modseq;
                }
                clean = None;
            }
            "X" => {
                r.entries.remove(&uid);
                r.vanished.push((uid, modseq));
                clean = None;
            }
            "R" => {
                reserved_uid = reserved_uid.max(uid);
                reserved_modseq = reserved_modseq.max(modseq);
            }
            "C" => clean = Some((uid, modseq)),
            _ => {}
        }
    }
    let (uid_next, modseq) = match clean {
        Some(counters) => counters,
        None => (reserved_uid, reserved_modseq),
    };
    r.uid_next = uid_next.max(max_uid.saturating_add(1)).max(r.uid_next);
    r.modseq = modseq.max(max_modseq);
    Some(r)
}

/// What an older UID list says.
#[derive(Debug, Default)]
pub struct Migrated {
    /// UIDVALIDITY (0 when unknown).
    pub uid_validity: u32,
    /// The next UID.
    pub uid_next: u32,
    /// The highest mod-sequence.
    pub modseq: u64,
    /// Base name → (UID, mod-sequence when known).
    pub known: BTreeMap<String, (u32, Option<u64>)>,
}

/// UIDs known from an older list: Dovecot's `dovecot-uidlist` or the
/// `sansmail-uidlist` this store wrote before.
pub fn migrate(dir: &Path) -> Option<Migrated> {
    if let Ok(text) = fs::read_to_string(dir.join("sansmail-uidlist")) {
        return parse_old_uidlist(&text);
    }
    parse_dovecot_uidlist(&fs::read_to_string(dir.join("dovecot-uidlist")).ok()?)
}

fn header_words(line: &str) -> impl Iterator<Item = (&str, &str)> {
    line.split_whitespace()
        .filter_map(|w| Some((w.get(..1)?, w.get(1..)?)))
}

/// The `sansmail-uidlist` this store wrote before its journal.
pub fn parse_old_uidlist(text: &str) -> Option<Migrated> {
    let mut lines = text.lines();
    let mut m = Migrated {
        uid_next: 1,
        modseq: 1,
        ..Default::default()
    };
    for (tag, value) in header_words(lines.next()?) {
        match tag {
            "V" => m.uid_validity = value.parse().unwrap_or(0),
            "N" => m.uid_next = value.parse().unwrap_or(1),
            "M" => m.modseq = value.parse().unwrap_or(1),
            _ => {}
        }
    }
    for line in lines {
        let mut p = line.splitn(3, ' ');
        if let (Some(uid), Some(modseq), Some(base)) = (p.next(), p.next(), p.next())
            && let (Ok(uid), Ok(modseq)) = (uid.parse(), modseq.parse())
        {
            m.known.insert(base.to_owned(), (uid, Some(modseq)));
        }
    }
    Some(m)
}

/// Dovecot's `dovecot-uidlist` (version 3): `3 V<validity> N<next> ...`,
/// then `<uid> [fields] :<file name>` per message.
pub fn parse_dovecot_uidlist(text: &str) -> Option<Migrated> {
    let mut lines = text.lines();
    let header = lines.next()?;
    if header.split_whitespace().next() != Some("3") {
        return None;
    }
    let mut m = Migrated {
        uid_next: 1,
        modseq: 1,
        ..Default::default()
    };
    for (tag, value) in header_words(header).skip(1) {
        match tag {
            "V" => m.uid_validity = value.parse().unwrap_or(0),
            "N" => m.uid_next = value.parse().unwrap_or(1),
            _ => {}
        }
    }
    for line in lines {
        let Some((head, name)) = line.split_once(" :") else {
            continue;
        };
        let Some(uid) = head.split_whitespace().next().and_then(|u| u.parse().ok()) else {
            continue;
        };
        m.known
            .insert(names::split_key(name).0.to_owned(), (uid, None));
    }
    Some(m)
}

/// An open journal, appended to.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    reserved_uid: u32,
    reserved_modseq: u64,
    /// Records appended since the file was written whole.
    pub records: usize,
}

/// What a compacted journal holds.
pub struct Snapshot<'a> {
    /// UIDVALIDITY.
    pub uid_validity: u32,
    /// The folder's id.
    pub id: MailboxId,
    /// The next UID.
    pub uid_next: u32,
    /// The highest mod-sequence.
    pub modseq: u64,
    /// Live messages.
    pub entries: &'a [Entry],
    /// Expunges to remember, and the floor below which they are forgotten.
    pub vanished: &'a [(u32, u64)],
    /// The floor.
    pub vanished_floor: u64,
}

/// An `A` line.
pub fn added(e: &Entry) -> String {
    format!(
        "A {} {} {} {} {} {:016x} {:016x} {}\n",
        e.uid, e.modseq, e.received, e.size, e.vsize, e.email_id.0, e.thread_id.0, e.key
    )
}

impl Journal {
    /// Continues the journal at `path` (as [`replay`] read it).
    pub fn open(path: &Path, replayed: &Replayed) -> io::Result<Journal> {
        let file = File::options().append(true).open(path)?;
        Ok(Journal {
            path: path.to_owned(),
            file,
            // Whatever was reserved before is not trusted to be synced:
            // the next hand-out reserves again.
            reserved_uid: replayed.uid_next,
            reserved_modseq: replayed.modseq,
            records: replayed.records,
        })
    }

    /// Writes the journal whole (to a new file, synced, renamed into place).
    pub fn write(path: &Path, s: &Snapshot<'_>) -> io::Result<Journal> {
        let (uid_res, modseq_res) = (s.uid_next + UID_RESERVE, s.modseq + MODSEQ_RESERVE);
        let mut text = format!(
            "sansmail-index 1 V{} I{:016x} N{} M{} Z{}\nR {uid_res} {modseq_res}\n",
            s.uid_validity, s.id.0, s.uid_next, s.modseq, s.vanished_floor
        );
        for e in s.entries {
            text.push_str(&added(e));
        }
        for (uid, modseq) in s.vanished {
            text.push_str(&format!("X {uid} {modseq}\n"));
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut file = File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(Journal {
            path: path.to_owned(),
            file: File::options().append(true).open(path)?,
            reserved_uid: uid_res,
            reserved_modseq: modseq_res,
            records: 0,
        })
    }

    /// Appends records that hand out UIDs below `uid_next` and
    /// mod-sequences up to `modseq`, reserving (synced) more first when needed.
    pub fn append(&mut self, text: &str, uid_next: u32, modseq: u64) -> io::Result<()> {
        if uid_next > self.reserved_uid || modseq >= self.reserved_modseq {
            let (u, m) = (uid_next + UID_RESERVE, modseq + MODSEQ_RESERVE);
            self.file.write_all(format!("R {u} {m}\n").as_bytes())?;
            self.file.sync_data()?;
            self.reserved_uid = u;
            self.reserved_modseq = m;
        }
        self.file.write_all(text.as_bytes())?;
        self.records += text.bytes().filter(|b| *b == b'\n').count();
        Ok(())
    }

    /// Notes a clean close with the exact counters.
    pub fn close(&mut self, uid_next: u32, modseq: u64) -> io::Result<()> {
        self.file
            .write_all(format!("C {uid_next} {modseq}\n").as_bytes())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(uid: u32, modseq: u64) -> Entry {
        Entry {
            uid,
            flags: Default::default(),
            modseq,
            size: 3,
            vsize: 4,
            received: 100,
            email_id: EmailId(0xab),
            thread_id: ThreadId(0xcd),
            key: format!("{uid}.M1P1.h,S=3,W=4:2,").into(),
        }
    }

    #[test]
    fn counters_never_go_back_after_an_unclean_stop() {
        let dir = std::env::temp_dir().join(format!("journal-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(FILE);
        let entries = [entry(1, 2)];
        let snap = Snapshot {
            uid_validity: 9,
            id: MailboxId(5),
            uid_next: 2,
            modseq: 2,
            entries: &entries,
            vanished: &[],
            vanished_floor: 1,
        };
        let mut j = Journal::write(&path, &snap).unwrap();
        j.append(&added(&entry(2, 3)), 3, 3).unwrap();
        j.append("F 2 4 2.M1P1.h,S=3,W=4:2,S\nX 1 5\n", 3, 5)
            .unwrap();
        // Unclean: the counters restart at the reservation.
        let r = replay(&path).unwrap().unwrap();
        assert_eq!(r.uid_validity, 9);
        assert_eq!(r.id, 5);
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.entries[&2].key.as_ref(), "2.M1P1.h,S=3,W=4:2,S");
        assert_eq!(r.entries[&2].modseq, 4);
        assert_eq!(r.vanished, vec![(1, 5)]);
        assert!(
            r.uid_next >= 1002 && r.modseq >= 10_002,
            "{} {}",
            r.uid_next,
            r.modseq
        );
        // Clean: exactly where it stopped.
        j.close(3, 5).unwrap();
        let r = replay(&path).unwrap().unwrap();
        assert_eq!((r.uid_next, r.modseq), (3, 5));
        // A torn last line is ignored.
        let mut f = File::options().append(true).open(&path).unwrap();
        f.write_all(b"A 9 9 1 1").unwrap();
        assert_eq!(replay(&path).unwrap().unwrap().entries.len(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dovecot_uid_lists_are_read() {
        let dir = std::env::temp_dir().join(format!("journal-dv-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("dovecot-uidlist"),
            "3 V1796230671 N3 G99b8\n1 :1796.M2.vm,S=18,W=21\n2 W22 :1797.M3.vm,S=19:2,S\n",
        )
        .unwrap();
        let m = migrate(&dir).unwrap();
        assert_eq!((m.uid_validity, m.uid_next), (1_796_230_671, 3));
        assert_eq!(m.known["1796.M2.vm,S=18,W=21"], (1, None));
        assert_eq!(m.known["1797.M3.vm,S=19"], (2, None));
        fs::remove_dir_all(&dir).unwrap();
    }
}
