//! The maildir backend's files as other programs (or a crash) may leave
//! them: journals, UID lists, subscriptions, keyword tables, file names.
//! Nothing panics, and what parses writes back to the same.

use sansmail_store::Flags;
use sansmail_store::maildir::{journal, names, scan};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(r) = journal::parse(&text) {
        assert!(r.uid_next >= 1);
        assert!(r.entries.keys().all(|uid| *uid < r.uid_next));
    }
    let _ = journal::parse_old_uidlist(&text);
    if let Some(m) = journal::parse_dovecot_uidlist(&text) {
        assert!(m.known.keys().all(|base| !base.contains(":2,")));
    }
    // Names a folder may have are written and read back the same.
    let subscribed: Vec<String> = names::parse_subscriptions(&text)
        .into_iter()
        .filter(|n| sansmail_store::account::check_name(n).is_ok())
        .collect();
    let again = names::parse_subscriptions(&names::write_subscriptions(&subscribed));
    assert_eq!(again, subscribed);
    let table = scan::parse_keywords(&text);
    assert!(table.len() <= names::KEYWORD_LETTERS);
    assert_eq!(
        scan::parse_keywords(&scan::keywords_text(&table)).len(),
        table.len()
    );
    // Any file name: its flags survive a rename that sets them again.
    let (base, info) = names::split_key(&text);
    let flags = names::flags_from_info(info);
    let renamed = names::key_with_flags(&text, flags);
    assert_eq!(names::split_key(&renamed).0, base);
    assert_eq!(names::flags_from_info(names::split_key(&renamed).1), flags);
    let _ = names::sizes_in(base);
    let cleared = names::key_with_flags(&renamed, Flags::default());
    assert_eq!(
        names::flags_from_info(names::split_key(&cleared).1),
        Flags::default()
    );
    let _ = names::folder_of_dir(&text);
    let _ = names::folder_dir(std::path::Path::new("/m"), &text);
}
