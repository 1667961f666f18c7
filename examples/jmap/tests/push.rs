//! Push watches: a change made after a watch is taken wakes it, even when
//! it lands before anyone waits, so a push loop that reads the state after
//! taking the watch never misses the last change.

use std::time::Duration;

use sansmail_jmap::{Jmap, Limits};
use sansmail_store::NewMessage;

mod common;
use common::{alices_inbox, maildir_store};

#[tokio::test]
async fn a_change_before_the_wait_still_wakes_the_watch() {
    let (_dir, store) = maildir_store("push");
    let jmap = Jmap::new(store.clone(), Limits::default(), vec!["test.host".into()]);
    let before = jmap.state_change("alice").await.unwrap();

    let mut changes = jmap.watch("alice").await.unwrap();
    let inbox = alices_inbox(&store).await;
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
