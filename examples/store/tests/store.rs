//! The store through its public API, on a real maildir: what sessions see
//! of each other's changes, what survives a restart or a crash, mail other
//! programs deliver, folders, quota and limits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sansmail_store::{
    Change, FlagAction, FlagSet, Keyword, Maildir, NewMessage, Source, Store, StoreError,
    SystemFlag,
};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("store-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn store(root: &Path, quota: Option<u64>) -> Store {
    Store::new(Box::new(Maildir::open(root, "test.host").unwrap()), quota)
}

fn message(subject: &str) -> NewMessage {
    NewMessage::bytes(
        format!("Subject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\nbody\r\n").into_bytes(),
    )
}

fn seen() -> FlagSet {
    let mut f = FlagSet::new();
    f.set(SystemFlag::Seen);
    f
}

fn keyword(name: &str) -> FlagSet {
    let mut f = FlagSet::new();
    f.add_keyword(Keyword::new(name).unwrap());
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_session_sees_every_change_in_order_with_growing_modseqs() {
    let dir = TempDir::new("feed");
    let store = store(&dir.0, None);
    let alice = store.account("alice").await.unwrap();
    let inbox = alice.open("INBOX").await.unwrap();
    let same = alice.open("inbox").await.unwrap();
    assert!(
        Arc::ptr_eq(&inbox, &same),
        "one index per mailbox in the process"
    );
    let mut feed = same.subscribe();
    let start = inbox.index().highest_modseq;
    let added = inbox
        .append(vec![message("one"), message("two"), message("three")])
        .await
        .unwrap();
    assert_eq!(added.uids, vec![1, 2, 3]);
    feed.changed().await.unwrap();
    let stored = inbox
        .store_flags(&[2], FlagAction::Add, &keyword("$Junk"), None)
        .await
        .unwrap();
    assert_eq!(stored.stored.len(), 1);
    assert!(stored.stored[0].changed);
    let gone = inbox.expunge(&[1]).await.unwrap();
    assert_eq!(gone, vec![1]);
    let index = same.index();
    let changes: Vec<_> = index.changes_since(start).unwrap().cloned().collect();
    let modseqs: Vec<u64> = changes.iter().map(|e| e.modseq).collect();
    assert!(modseqs.windows(2).all(|w| w[0] < w[1]), "{modseqs:?}");
    let kinds: Vec<&str> = changes
        .iter()
        .map(|e| match e.change {
            Change::Added { .. } => "added",
            Change::Flags { .. } => "flags",
            Change::Expunged { .. } => "expunged",
            Change::Keywords { .. } => "keywords",
        })
        .collect();
    assert_eq!(
        kinds,
        vec!["added", "added", "added", "keywords", "flags", "expunged"],
        "a new keyword is defined before a message shows it"
    );
    assert_eq!(index.highest_modseq, *modseqs.last().unwrap());
    assert_eq!(index.vanished_since(start), Some(vec![1]));
    assert_eq!(
        index.keyword_names(&index.get(2).unwrap().flags)[0].as_str(),
        "$Junk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_stores_leave_changed_messages_alone() {
    let dir = TempDir::new("unchanged");
    let store = store(&dir.0, None);
    let inbox = store
        .account("a")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    inbox
        .append(vec![message("1"), message("2")])
        .await
        .unwrap();
    let before = inbox.index().highest_modseq;
    inbox
        .store_flags(&[1], FlagAction::Add, &seen(), None)
        .await
        .unwrap();
    let outcome = inbox
        .store_flags(&[1, 2], FlagAction::Replace, &FlagSet::new(), Some(before))
        .await
        .unwrap();
    assert_eq!(outcome.modified, vec![1]);
    assert_eq!(outcome.stored.len(), 1);
    assert!(inbox.index().get(1).unwrap().flags.has(SystemFlag::Seen));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uids_flags_keywords_and_modseqs_survive_a_restart_and_a_crash() {
    let dir = TempDir::new("restart");
    let (highest, validity, id) = {
        let store = store(&dir.0, None);
        let inbox = store
            .account("bob")
            .await
            .unwrap()
            .open("INBOX")
            .await
            .unwrap();
        inbox
            .append(vec![message("a"), message("b"), message("c")])
            .await
            .unwrap();
        inbox
            .store_flags(&[3], FlagAction::Add, &keyword("work"), None)
            .await
            .unwrap();
        inbox
            .store_flags(&[2], FlagAction::Add, &seen(), None)
            .await
            .unwrap();
        inbox.expunge(&[1]).await.unwrap();
        let index = inbox.index();
        let r = (index.highest_modseq, index.uid_validity, index.id);
        drop(index);
        store.close();
        r
    };
    let store2 = store(&dir.0, None);
    let inbox = store2
        .account("bob")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    {
        let index = inbox.index();
        assert_eq!(
            (index.highest_modseq, index.uid_validity, index.id),
            (highest, validity, id)
        );
        let uids: Vec<u32> = index.messages.iter().map(|m| m.uid).collect();
        assert_eq!(uids, vec![2, 3]);
        assert!(index.get(2).unwrap().flags.has(SystemFlag::Seen));
        assert_eq!(
            index.keyword_names(&index.get(3).unwrap().flags)[0].as_str(),
            "work"
        );
        assert_eq!(
            index.vanished_since(1),
            Some(vec![1]),
            "expunges are remembered for QRESYNC"
        );
    }
    // A crash: no clean close. Nothing handed out before may come back.
    inbox.append(vec![message("d")]).await.unwrap();
    let (last_uid, last_modseq) = {
        let index = inbox.index();
        (index.messages.last().unwrap().uid, index.highest_modseq)
    };
    drop(inbox);
    drop(store2);
    let store3 = store(&dir.0, None);
    let inbox = store3
        .account("bob")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    let added = inbox.append(vec![message("e")]).await.unwrap();
    assert!(added.uids[0] > last_uid);
    assert!(inbox.index().highest_modseq > last_modseq);
    assert_eq!(inbox.index().messages.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_commit_together_and_each_gets_its_own_uid() {
    let dir = TempDir::new("group");
    let store = Arc::new(store(&dir.0, None));
    let inbox = store
        .account("c")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let inbox = inbox.clone();
        tasks.push(tokio::spawn(async move {
            inbox
                .append(vec![message(&format!("m{i}"))])
                .await
                .unwrap()
                .uids[0]
        }));
    }
    let mut uids = Vec::new();
    for t in tasks {
        uids.push(t.await.unwrap());
    }
    uids.sort_unstable();
    assert_eq!(uids, (1..=40).collect::<Vec<u32>>());
    store.close();
    let again = self::store(&dir.0, None);
    let inbox = again
        .account("c")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    assert_eq!(inbox.index().messages.len(), 40);
}

/// Waits for the feed to reach a state where `check` holds.
async fn until(inbox: &sansmail_store::Mailbox, check: impl Fn(&sansmail_store::Index) -> bool) {
    let mut feed = inbox.subscribe();
    let wait = async {
        loop {
            if check(&inbox.index()) {
                return;
            }
            feed.changed().await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("the change was noticed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_other_programs_deliver_rename_or_remove_is_noticed() {
    let dir = TempDir::new("outside");
    let store = store(&dir.0, None);
    let inbox = store
        .account("dora")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    assert!(inbox.is_watched());
    let maildir = dir.0.join("dora/Maildir");
    // Postfix or Dovecot's LDA: a file written to tmp/, renamed into new/.
    std::fs::write(
        maildir.join("tmp/1.M1P1.mta"),
        b"Subject: outside\r\n\r\nhi\r\n",
    )
    .unwrap();
    std::fs::rename(
        maildir.join("tmp/1.M1P1.mta"),
        maildir.join("new/1.M1P1.mta"),
    )
    .unwrap();
    until(&inbox, |i| i.messages.len() == 1).await;
    let key = inbox.index().messages[0].key.to_string();
    assert!(key.ends_with(":2,"), "moved to cur/: {key}");
    // A mail client marks it seen by renaming.
    std::fs::rename(
        maildir.join("cur").join(&key),
        maildir.join("cur/1.M1P1.mta:2,S"),
    )
    .unwrap();
    until(&inbox, |i| i.messages[0].flags.has(SystemFlag::Seen)).await;
    // ...and deletes it.
    std::fs::remove_file(maildir.join("cur/1.M1P1.mta:2,S")).unwrap();
    until(&inbox, |i| i.messages.is_empty()).await;
    // Our own changes wake nothing: the log holds just the changes above.
    inbox.append(vec![message("ours")]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let index = inbox.index();
    assert_eq!(index.messages.len(), 1);
    let kinds = index.log().count();
    assert_eq!(
        kinds,
        4,
        "added, flags, expunged, then ours: {:?}",
        index.log().collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dovecot_maildir_keeps_its_uids_and_keywords() {
    let dir = TempDir::new("dovecot");
    let maildir = dir.0.join("erin/Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::write(
        maildir.join("cur/1796.M1P2.vm,S=18,W=21:2,Sa"),
        b"Subject: one\n\nbod\n",
    )
    .unwrap();
    std::fs::write(
        maildir.join("cur/1797.M2P2.vm,S=19,W=22:2,Fb"),
        b"Subject: two\n\nbody2\n",
    )
    .unwrap();
    std::fs::write(
        maildir.join("dovecot-uidlist"),
        "3 V1796230671 N8 G99b8\n5 :1796.M1P2.vm,S=18,W=21\n7 :1797.M2P2.vm,S=19,W=22:2,F\n",
    )
    .unwrap();
    std::fs::write(maildir.join("dovecot-keywords"), "0 $Forwarded\n1 $Junk\n").unwrap();
    let store = store(&dir.0, None);
    let inbox = store
        .account("erin")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    let index = inbox.index();
    assert_eq!(index.uid_validity, 1_796_230_671);
    assert_eq!(index.uid_next, 8);
    let uids: Vec<u32> = index.messages.iter().map(|m| m.uid).collect();
    assert_eq!(uids, vec![5, 7]);
    let first = index.get(5).unwrap();
    assert!(first.flags.has(SystemFlag::Seen));
    assert_eq!(index.keyword_names(&first.flags)[0].as_str(), "$Forwarded");
    assert_eq!(
        first.vsize, 21,
        "sizes with CRLF line ends, for IMAP and POP3"
    );
    assert_eq!(
        index.keyword_names(&index.get(7).unwrap().flags)[0].as_str(),
        "$Junk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_superiors_renames_subscriptions_and_deletes() {
    let dir = TempDir::new("folders");
    let store = store(&dir.0, None);
    let frank = store.account("frank").await.unwrap();
    frank.create("Work.Projects.2026").await.unwrap();
    let names: Vec<String> = frank
        .folders()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(
        names,
        vec!["INBOX", "Work", "Work.Projects", "Work.Projects.2026"]
    );
    assert!(matches!(
        frank.create("Work").await,
        Err(StoreError::AlreadyExists)
    ));
    assert!(matches!(
        frank.create("a..b").await,
        Err(StoreError::BadName(_))
    ));
    let projects = frank.open("Work.Projects").await.unwrap();
    projects.append(vec![message("p")]).await.unwrap();
    frank.subscribe("Work.Projects", true).await.unwrap();
    frank.rename("Work", "Old").await.unwrap();
    assert_eq!(
        projects.name(),
        "Old.Projects",
        "an open mailbox follows its rename"
    );
    projects.append(vec![message("q")]).await.unwrap();
    let reopened = frank.open("Old.Projects").await.unwrap();
    assert_eq!(reopened.index().messages.len(), 2);
    assert!(dir.0.join("frank/Maildir/.Old.Projects.2026/cur").is_dir());
    assert_eq!(
        frank.subscriptions().await.unwrap(),
        vec!["Work.Projects"],
        "subscriptions name names"
    );
    // Deleting a folder with one below it keeps the one below.
    frank.delete("Old.Projects").await.unwrap();
    assert!(reopened.is_deleted());
    let folders = frank.folders().await.unwrap();
    let implied = folders.iter().find(|f| f.name == "Old.Projects").unwrap();
    assert!(!implied.selectable && implied.has_children);
    assert!(matches!(
        frank.delete("INBOX").await,
        Err(StoreError::NotAllowed(_))
    ));
    // The subscriptions file is Dovecot's.
    let text = std::fs::read_to_string(dir.0.join("frank/Maildir/subscriptions")).unwrap();
    assert_eq!(text, "V\t2\n\nWork\tProjects\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_and_moves_keep_flags_dates_and_ids() {
    let dir = TempDir::new("copy");
    let store = store(&dir.0, None);
    let gina = store.account("gina").await.unwrap();
    gina.create("Archive").await.unwrap();
    let inbox = gina.open("INBOX").await.unwrap();
    let archive = gina.open("Archive").await.unwrap();
    let mut dated = message("dated");
    dated.received = Some(1_700_000_000);
    dated.flags = keyword("$Label1");
    inbox.append(vec![dated, message("other")]).await.unwrap();
    let (pairs, validity) = inbox.copy_to(&[1], &archive).await.unwrap();
    assert_eq!(pairs, vec![(1, 1)]);
    assert_eq!(validity, archive.index().uid_validity);
    let (moved, _) = inbox.move_to(&[2], &archive).await.unwrap();
    assert_eq!(moved, vec![(2, 2)]);
    assert_eq!(inbox.index().messages.len(), 1);
    {
        let a = archive.index();
        let i = inbox.index();
        let copy = a.get(1).unwrap();
        let original = i.get(1).unwrap();
        assert_eq!(copy.received, 1_700_000_000);
        assert_eq!(copy.email_id, original.email_id, "a copy is the same email");
        assert_eq!(copy.thread_id, original.thread_id);
        assert_eq!(a.keyword_names(&copy.flags)[0].as_str(), "$Label1");
    }
    assert_eq!(
        inbox.content(1).await.unwrap(),
        archive.content(1).await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_and_keyword_limits_refuse_clearly_and_keep_what_is_there() {
    let dir = TempDir::new("limits");
    let store = store(&dir.0, Some(200));
    let hank = store.account("hank").await.unwrap();
    hank.deliver(
        "INBOX",
        Source::Bytes(vec![b'x'; 150].into()),
        FlagSet::new(),
    )
    .await
    .unwrap();
    let over = hank
        .deliver(
            "INBOX",
            Source::Bytes(vec![b'y'; 100].into()),
            FlagSet::new(),
        )
        .await;
    assert!(matches!(over, Err(StoreError::OverQuota)), "{over:?}");
    let inbox = hank.open("INBOX").await.unwrap();
    assert_eq!(inbox.index().messages.len(), 1, "the first message stays");
    assert_eq!(hank.usage().await.unwrap(), 150);
    // 26 keywords fit in maildir file names; the 27th is not kept.
    for i in 0..26 {
        inbox
            .store_flags(&[1], FlagAction::Add, &keyword(&format!("k{i}")), None)
            .await
            .unwrap();
    }
    let outcome = inbox
        .store_flags(&[1], FlagAction::Add, &keyword("one-too-many"), None)
        .await
        .unwrap();
    assert_eq!(
        outcome.dropped_keywords,
        vec![Keyword::new("one-too-many").unwrap()]
    );
    assert_eq!(inbox.index().keywords.len(), 26);
    assert_eq!(
        inbox
            .index()
            .keyword_names(&inbox.index().messages[0].flags)
            .len(),
        26
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_belongs_to_the_first_session_to_claim_it() {
    let dir = TempDir::new("recent");
    let store = store(&dir.0, None);
    let inbox = store
        .account("ivy")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    inbox
        .append(vec![message("1"), message("2")])
        .await
        .unwrap();
    assert_eq!(inbox.recent_uids(), vec![1, 2], "peeking claims nothing");
    assert_eq!(inbox.claim_recent(), vec![1, 2]);
    assert!(inbox.claim_recent().is_empty());
    inbox.append(vec![message("3")]).await.unwrap();
    assert_eq!(inbox.claim_recent(), vec![3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_and_copying_while_flags_rename_the_file_never_misses_it() {
    let dir = TempDir::new("race");
    let store = store(&dir.0, None);
    let jack = store.account("jack").await.unwrap();
    jack.create("Copies").await.unwrap();
    let inbox = jack.open("INBOX").await.unwrap();
    let copies = jack.open("Copies").await.unwrap();
    inbox.append(vec![message("busy")]).await.unwrap();
    let flipper = {
        let inbox = inbox.clone();
        tokio::spawn(async move {
            let flagged = {
                let mut f = FlagSet::new();
                f.set(SystemFlag::Flagged);
                f
            };
            for i in 0..400 {
                let action = if i % 2 == 0 {
                    FlagAction::Add
                } else {
                    FlagAction::Remove
                };
                inbox
                    .store_flags(&[1], action, &flagged, None)
                    .await
                    .unwrap();
            }
        })
    };
    for _ in 0..200 {
        inbox
            .content(1)
            .await
            .expect("a renamed file is still read");
        inbox
            .copy_to(&[1], &copies)
            .await
            .expect("and still copied");
    }
    flipper.await.unwrap();
    assert_eq!(copies.index().messages.len(), 200);
}
