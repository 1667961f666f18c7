//! The PostgreSQL backend on a private cluster (initdb + pg_ctl on a
//! loopback port): two stores on one database stand for two servers, each
//! with its own connection pool and change feed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sansmail_store::postgres::{STORE, Schema};
use sansmail_store::{
    Database, FlagAction, FlagSet, Keyword, Mailbox, NewMessage, Postgres, Store, StoreError,
    SystemFlag,
};
use sansmail_test_support::{Postgres as Cluster, TempDir};

async fn database(cluster: &Cluster) -> Arc<Database> {
    let db = Database::connect(&cluster.url()).await.unwrap();
    db.migrate(&STORE).await.unwrap();
    db
}

async fn server(cluster: &Cluster, spool: &TempDir, blobs: Option<&TempDir>) -> Store {
    let db = database(cluster).await;
    let backend = Postgres::open(db, blobs.map(|b| b.path()), spool.path())
        .await
        .unwrap();
    Store::new(Box::new(backend), None)
}

fn message(subject: &str) -> NewMessage {
    NewMessage::bytes(
        format!("Subject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\nbody of {subject}\r\n")
            .into_bytes(),
    )
}

fn flag(f: SystemFlag) -> FlagSet {
    let mut set = FlagSet::new();
    set.set(f);
    set
}

/// Waits (up to `limit`) until `done` holds for the mailbox; how long it took.
async fn until(mailbox: &Mailbox, limit: Duration, done: impl Fn(&Mailbox) -> bool) -> Duration {
    let start = Instant::now();
    let mut feed = mailbox.subscribe();
    while !done(mailbox) {
        let left = limit.saturating_sub(start.elapsed());
        assert!(!left.is_zero(), "not seen within {limit:?}");
        let _ = tokio::time::timeout(left, feed.changed()).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_see_each_others_deliveries_flags_and_expunges_within_a_second() {
    let cluster = Cluster::start();
    let (spool_a, spool_b) = (TempDir::new("spool-a"), TempDir::new("spool-b"));
    let a = server(&cluster, &spool_a, None).await;
    let b = server(&cluster, &spool_b, None).await;
    let inbox_a = a
        .account("alice")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    let inbox_b = b
        .account("alice")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();

    // A delivery through A reaches B's open mailbox (its IDLE sessions).
    let appended = inbox_a.append(vec![message("one")]).await.unwrap();
    let took = until(&inbox_b, Duration::from_secs(1), |m| {
        m.index().get(appended.uids[0]).is_some()
    })
    .await;
    assert!(took < Duration::from_secs(1));
    assert_eq!(appended.uid_validity, inbox_b.index().uid_validity);
    assert_eq!(
        &inbox_b.content(appended.uids[0]).await.unwrap()[..],
        b"Subject: one\r\nMessage-ID: <one@x>\r\n\r\nbody of one\r\n"
    );

    // Flags set through B appear in A with the same mod-sequence.
    let uid = appended.uids[0];
    let stored = inbox_b
        .store_flags(&[uid], FlagAction::Add, &flag(SystemFlag::Seen), None)
        .await
        .unwrap();
    until(&inbox_a, Duration::from_secs(1), |m| {
        m.index().get(uid).unwrap().flags.has(SystemFlag::Seen)
    })
    .await;
    assert_eq!(
        inbox_a.index().get(uid).unwrap().modseq,
        stored.stored[0].modseq
    );
    assert_eq!(
        inbox_a.index().highest_modseq,
        inbox_b.index().highest_modseq
    );

    // A keyword made on A is announced on B before any message shows it.
    let mut keyword = FlagSet::new();
    keyword.add_keyword(Keyword::new("$Important").unwrap());
    inbox_a
        .store_flags(&[uid], FlagAction::Add, &keyword, None)
        .await
        .unwrap();
    until(&inbox_b, Duration::from_secs(1), |m| {
        m.index().get(uid).unwrap().flags.keywords == 1
    })
    .await;
    assert_eq!(
        inbox_b.index().keywords,
        vec![Keyword::new("$Important").unwrap()]
    );

    // An expunge on A is a VANISHED on B.
    let before = inbox_b.index().highest_modseq;
    inbox_a.expunge(&[uid]).await.unwrap();
    until(&inbox_b, Duration::from_secs(1), |m| {
        m.index().get(uid).is_none()
    })
    .await;
    assert_eq!(inbox_b.index().vanished_since(before), Some(vec![uid]));
    assert!(matches!(
        inbox_b.content(uid).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_racing_on_two_servers_get_distinct_uids_and_agree_afterwards() {
    let cluster = Cluster::start();
    let (spool_a, spool_b) = (TempDir::new("spool-a"), TempDir::new("spool-b"));
    let a = Arc::new(server(&cluster, &spool_a, None).await);
    let b = Arc::new(server(&cluster, &spool_b, None).await);
    let mut tasks = Vec::new();
    for (n, store) in [a.clone(), b.clone()].into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let inbox = store
                .account("bob")
                .await
                .unwrap()
                .open("INBOX")
                .await
                .unwrap();
            let mut uids = Vec::new();
            for i in 0..40 {
                let appended = inbox
                    .append(vec![message(&format!("s{n}-{i}"))])
                    .await
                    .unwrap();
                uids.extend(appended.uids);
                if i % 4 == 0 {
                    inbox
                        .store_flags(
                            &uids[..1],
                            FlagAction::Add,
                            &flag(SystemFlag::Flagged),
                            None,
                        )
                        .await
                        .unwrap();
                }
            }
            uids
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 80, "two servers gave the same UID twice");
    let inbox_a = a.account("bob").await.unwrap().open("INBOX").await.unwrap();
    let inbox_b = b.account("bob").await.unwrap().open("INBOX").await.unwrap();
    inbox_a.rescan().await.unwrap();
    inbox_b.rescan().await.unwrap();
    let view = |m: &Mailbox| {
        let index = m.index();
        (
            index.highest_modseq,
            index
                .messages
                .iter()
                .map(|e| (e.uid, e.modseq, e.flags, e.email_id))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(view(&inbox_a), view(&inbox_b));
    assert_eq!(view(&inbox_a).1.len(), 80);
    // A third server starting now reads the same from the database.
    let spool_c = TempDir::new("spool-c");
    let c = server(&cluster, &spool_c, None).await;
    let inbox_c = c.account("bob").await.unwrap().open("INBOX").await.unwrap();
    assert_eq!(view(&inbox_c), view(&inbox_a));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_made_renamed_and_deleted_on_one_server_are_seen_by_the_other() {
    let cluster = Cluster::start();
    let (spool_a, spool_b) = (TempDir::new("spool-a"), TempDir::new("spool-b"));
    let blobs = TempDir::new("blobs");
    let a = server(&cluster, &spool_a, Some(&blobs)).await;
    let b = server(&cluster, &spool_b, Some(&blobs)).await;
    let alice_a = a.account("alice").await.unwrap();
    let alice_b = b.account("alice").await.unwrap();
    alice_a.create("Work.Reports").await.unwrap();
    let names = |folders: Vec<sansmail_store::FolderInfo>| {
        folders.into_iter().map(|f| f.name).collect::<Vec<_>>()
    };
    assert_eq!(
        names(alice_b.folders().await.unwrap()),
        ["INBOX", "Work", "Work.Reports"]
    );
    // A copy shares the stored octets (in the blob directory here).
    let reports = alice_a.open("Work.Reports").await.unwrap();
    let inbox = alice_a.open("INBOX").await.unwrap();
    let appended = reports.append(vec![message("report")]).await.unwrap();
    reports.copy_to(&appended.uids, &inbox).await.unwrap();
    assert_eq!(cluster.psql("SELECT count(*) FROM blobs"), "1");
    assert_eq!(
        cluster.psql("SELECT count(*) FROM blobs WHERE data IS NULL"),
        "1"
    );
    let files = walk(blobs.path());
    assert_eq!(files, 1, "one file in the blob directory");

    // B had the folder open under its old name; after A renames it, B opens
    // the new name and finds the message, and the old name is gone.
    let old_b = alice_b.open("Work.Reports").await.unwrap();
    assert_eq!(old_b.index().messages.len(), 1);
    alice_a.rename("Work", "Archive").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    while alice_b.open("Work.Reports").await.is_ok() {
        assert!(Instant::now() < deadline, "B still opens the old name");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let renamed = alice_b.open("Archive.Reports").await.unwrap();
    assert_eq!(renamed.index().messages.len(), 1);

    // Deleting it on A tells B's sessions that have it open.
    alice_a.delete("Archive.Reports").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    while !renamed.is_deleted() {
        assert!(Instant::now() < deadline, "B did not learn of the delete");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The copy in INBOX keeps the octets; once it is expunged too, they
    // go (after the grace period that protects octets being written).
    let sweeper = Postgres::open(database(&cluster).await, Some(blobs.path()), spool_a.path())
        .await
        .unwrap();
    cluster.psql("UPDATE blobs SET touched = 0");
    assert_eq!(sweeper.collect_garbage().await, 0);
    assert_eq!(cluster.psql("SELECT count(*) FROM blobs"), "1");
    let uids: Vec<u32> = inbox.index().messages.iter().map(|m| m.uid).collect();
    inbox.expunge(&uids).await.unwrap();
    assert_eq!(
        cluster.psql("SELECT count(*) FROM blobs"),
        "1",
        "within the grace period"
    );
    cluster.psql("UPDATE blobs SET touched = 0");
    assert_eq!(sweeper.collect_garbage().await, 1);
    assert_eq!(cluster.psql("SELECT count(*) FROM blobs"), "0");
    assert_eq!(walk(blobs.path()), 0);
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { walk(&p) } else { 1 })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_is_away_gives_temporary_failures_and_then_serves_again() {
    let cluster = Cluster::start();
    let spool = TempDir::new("spool");
    let a = server(&cluster, &spool, None).await;
    let inbox = a
        .account("carol")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    let first = inbox.append(vec![message("before")]).await.unwrap();

    cluster.stop();
    let failed = inbox.append(vec![message("while away")]).await.unwrap_err();
    assert!(failed.is_temporary(), "{failed}");
    cluster.start_server();
    // The pool reconnects by itself: no restart of the store.
    let deadline = Instant::now() + Duration::from_secs(20);
    let again = loop {
        match inbox.append(vec![message("after")]).await {
            Ok(a) => break a,
            Err(e) => {
                assert!(e.is_temporary(), "{e}");
                assert!(Instant::now() < deadline, "still failing: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert!(again.uids[0] > first.uids[0]);
    assert_eq!(
        cluster.psql("SELECT count(*) FROM messages"),
        "2",
        "the acknowledged messages and nothing else"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_older_than_the_binary_and_an_unreachable_database_are_clear_errors() {
    let cluster = Cluster::start();
    let db = Database::connect(&cluster.url()).await.unwrap();
    let spool = TempDir::new("spool");
    let error = Postgres::open(db.clone(), None, spool.path())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("store schema is version 0, this binary needs 1: run `mail-server migrate`"),
        "{error}"
    );
    assert_eq!(db.migrate(&STORE).await.unwrap(), (0, 1));
    assert_eq!(db.migrate(&STORE).await.unwrap(), (1, 1));
    Postgres::open(db.clone(), None, spool.path())
        .await
        .unwrap();
    // A binary older than the database says so too.
    let older = Schema {
        component: "store",
        migrations: &[],
    };
    let error = db.check(&older).await.unwrap_err().to_string();
    assert!(error.contains("newer than this binary's 0"), "{error}");

    let nobody = format!(
        "postgres://x@127.0.0.1:{}/postgres",
        sansmail_test_support::free_port()
    );
    let error = Database::connect(&nobody).await.unwrap_err().to_string();
    assert!(error.contains("database:"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quota_counts_what_every_server_stored() {
    let cluster = Cluster::start();
    let (spool_a, spool_b) = (TempDir::new("spool-a"), TempDir::new("spool-b"));
    let open = |spool: &TempDir| {
        let spool = spool.path().to_owned();
        let url = cluster.url();
        async move {
            let db = Database::connect(&url).await.unwrap();
            db.migrate(&STORE).await.unwrap();
            let backend = Postgres::open(db, None, &spool).await.unwrap();
            Store::new(Box::new(backend), Some(200))
        }
    };
    let a = open(&spool_a).await;
    let b = open(&spool_b).await;
    let alice_a = a.account("alice").await.unwrap();
    let alice_b = b.account("alice").await.unwrap();
    // B reads the usage first, then A stores most of the quota.
    assert_eq!(alice_b.usage().await.unwrap(), 0);
    let big = NewMessage::bytes(vec![b'x'; 150]);
    alice_a
        .deliver("INBOX", big.source, FlagSet::new())
        .await
        .unwrap();
    assert_eq!(alice_b.usage().await.unwrap(), 150);
    let more = NewMessage::bytes(vec![b'y'; 100]);
    let refused = alice_b
        .deliver("INBOX", more.source.clone(), FlagSet::new())
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::OverQuota), "{refused}");
    // An expunge on A frees the room for B.
    let inbox_a = alice_a.open("INBOX").await.unwrap();
    let uids: Vec<u32> = inbox_a.index().messages.iter().map(|m| m.uid).collect();
    inbox_a.expunge(&uids).await.unwrap();
    alice_b
        .deliver("INBOX", more.source, FlagSet::new())
        .await
        .unwrap();
    assert_eq!(alice_a.usage().await.unwrap(), 100);
    // Deleting a folder gives its octets back.
    alice_a.create("Old").await.unwrap();
    let old = alice_a.open("Old").await.unwrap();
    old.append(vec![NewMessage::bytes(vec![b'z'; 50])])
        .await
        .unwrap();
    assert_eq!(alice_b.usage().await.unwrap(), 150);
    alice_b.delete("Old").await.unwrap();
    assert_eq!(alice_a.usage().await.unwrap(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_expunges_are_pruned_and_the_floor_says_how_far_back_the_rest_reaches() {
    let cluster = Cluster::start();
    let spool = TempDir::new("spool");
    let a = server(&cluster, &spool, None).await;
    let inbox = a.account("dan").await.unwrap().open("INBOX").await.unwrap();
    let messages: Vec<NewMessage> = (0..5).map(|i| message(&format!("m{i}"))).collect();
    let appended = inbox.append(messages).await.unwrap();
    let before = inbox.index().highest_modseq;
    for uid in &appended.uids {
        inbox.expunge(&[*uid]).await.unwrap();
    }
    let pruner = Postgres::open(database(&cluster).await, None, spool.path())
        .await
        .unwrap();
    assert_eq!(pruner.prune_expunged(2).await.unwrap(), 3);
    assert_eq!(cluster.psql("SELECT count(*) FROM expunged"), "2");
    // A server reading the mailbox now knows the last two expunges, and
    // that it cannot list those before them.
    let spool_b = TempDir::new("spool-b");
    let b = server(&cluster, &spool_b, None).await;
    let fresh = b.account("dan").await.unwrap().open("INBOX").await.unwrap();
    {
        let index = fresh.index();
        assert_eq!(index.vanished_since(before), None, "pruned: a full resync");
        let floor = before + 3;
        assert_eq!(
            index.vanished_since(floor),
            Some(appended.uids[3..].to_vec())
        );
    }
    assert_eq!(pruner.prune_expunged(2).await.unwrap(), 0);
}
