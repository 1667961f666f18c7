//! Round trips of everything the maildir backend writes and reads back:
//! flags in file names, the journal, subscriptions and keyword files.

use proptest::prelude::*;
use sansmail_store::index::Entry;
use sansmail_store::maildir::{journal, names, scan};
use sansmail_store::{EmailId, Flags, Keyword, MailboxId, ThreadId};

fn flags() -> impl Strategy<Value = Flags> {
    (0u8..32, 0u64..(1 << 26)).prop_map(|(system, keywords)| Flags { system, keywords })
}

fn base() -> impl Strategy<Value = String> {
    "[0-9]{10}\\.M[0-9]{6}P[0-9]{1,5}Q[0-9]{1,3}\\.[a-z.]{1,12}(,S=[0-9]{1,6},W=[0-9]{1,6})?"
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        1u32..1_000_000,
        1u64..u64::MAX / 2,
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        -10_000_000_000i64..10_000_000_000,
        base(),
        flags(),
    )
        .prop_map(
            |(uid, modseq, size, vsize, ids, received, base, flags)| Entry {
                uid,
                flags: Flags::default(),
                modseq,
                size,
                vsize,
                received,
                email_id: EmailId(ids),
                thread_id: ThreadId(ids.rotate_left(7)),
                key: names::key_with_flags(&base, flags).into(),
            },
        )
}

fn folder_name() -> impl Strategy<Value = String> {
    prop::collection::vec("[A-Za-z0-9 äöüß&+_-]{1,8}", 1..4).prop_map(|levels| levels.join("."))
}

proptest! {
    #[test]
    fn flags_survive_a_file_name(base in base(), flags in flags(), old in flags()) {
        let earlier = names::key_with_flags(&base, old);
        let key = names::key_with_flags(&earlier, flags);
        let (b, info) = names::split_key(&key);
        prop_assert_eq!(b, base.as_str());
        prop_assert_eq!(names::flags_from_info(info), flags);
    }

    #[test]
    fn a_written_journal_reads_back(mut entries in prop::collection::vec(entry(), 0..20), validity in 1u32.., id in any::<u64>()) {
        entries.sort_by_key(|e| e.uid);
        entries.dedup_by_key(|e| e.uid);
        let dir = std::env::temp_dir().join(format!("journal-prop-{}-{}", std::process::id(), id));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(journal::FILE);
        let uid_next = entries.last().map_or(1, |e| e.uid + 1);
        let modseq = entries.iter().map(|e| e.modseq).max().unwrap_or(1);
        let snapshot = journal::Snapshot {
            uid_validity: validity,
            id: MailboxId(id),
            uid_next,
            modseq,
            entries: &entries,
            vanished: &[(uid_next + 5, modseq)],
            vanished_floor: 1,
        };
        let mut written = journal::Journal::write(&path, &snapshot).unwrap();
        written.close(uid_next, modseq).unwrap();
        let back = journal::replay(&path).unwrap().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        prop_assert_eq!(back.uid_validity, validity);
        prop_assert_eq!(back.id, id);
        prop_assert_eq!(back.vanished, vec![(uid_next + 5, modseq)]);
        prop_assert_eq!(back.entries.into_values().collect::<Vec<_>>(), entries);
    }

    #[test]
    fn subscriptions_read_back(list in prop::collection::vec(folder_name(), 0..8)) {
        let text = names::write_subscriptions(&list);
        prop_assert_eq!(names::parse_subscriptions(&text), list);
    }

    #[test]
    fn keyword_tables_read_back(words in prop::collection::vec("[A-Za-z$][A-Za-z0-9$_-]{0,10}", 0..26)) {
        let table: Vec<Keyword> = words.iter().map(|w| Keyword::new(w).unwrap()).collect();
        let text = scan::keywords_text(&table);
        let back = scan::parse_keywords(&text);
        prop_assert_eq!(back.len(), table.len());
        for (a, b) in back.iter().zip(&table) {
            prop_assert_eq!(a.as_str(), b.as_str());
        }
    }

    #[test]
    fn names_of_folders_map_to_directories_and_back(name in folder_name()) {
        if let Ok(dir) = names::folder_dir(std::path::Path::new("/m"), &name) {
            let entry = dir.file_name().unwrap().to_str().unwrap().to_owned();
            prop_assert_eq!(names::folder_of_dir(&entry), Some(name));
        }
    }
}
