//! Push watches: a change made after a watch is taken wakes it, even when
//! it lands before anyone waits, so a push loop that reads the state after
//! taking the watch never misses the last change.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sansmail_jmap::{Jmap, Limits};
use sansmail_store::{Maildir, NewMessage, Store};

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_change_before_the_wait_still_wakes_the_watch() {
    let dir = TempDir(std::env::temp_dir().join(format!("jmap-push-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let store = Arc::new(Store::new(
        Box::new(Maildir::open(&dir.0, "test.host").unwrap()),
        None,
    ));
    let jmap = Jmap::new(store.clone(), Limits::default(), vec!["test.host".into()]);
    let before = jmap.state_change("alice").await.unwrap();

    let mut changes = jmap.watch("alice").await.unwrap();
    let inbox = store
        .account("alice")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    inbox
        .append(vec![NewMessage::bytes(
            b"Subject: last\r\n\r\nbody\r\n".to_vec(),
        )])
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), changes.wait())
        .await
        .expect("the delivery made after the watch was taken wakes it");
    assert_ne!(jmap.state_change("alice").await.unwrap(), before);

    // Nothing else changed: a second wait stays asleep.
    let quiet = tokio::time::timeout(Duration::from_millis(200), changes.wait()).await;
    assert!(quiet.is_err(), "no change, no wake-up");
}
