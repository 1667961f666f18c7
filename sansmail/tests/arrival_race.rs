//! A message the server announces while a fetch runs, but that the
//! fetch's answer does not hold (it arrived after the server read the
//! folder for that fetch), is still reported: the watcher fetches again
//! instead of waiting in IDLE for a later arrival. The server is our own
//! IMAP server session, scripted to answer that way.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use sansmail::{Endpoint, Watcher};
use sansmail_common::driver::{Driver, Step, Tls, now};
use sansmail_imap::mailbox::Change;
use sansmail_imap::server as imap;
use sansmail_imap::types::{CommandBody, FetchValue, Section, StatusKind};
use tokio::net::TcpListener;

mod scripted;
use scripted::{inbox, nz};

/// An INBOX holding UID 1. The first fetch announces UID 2 (`* 2 EXISTS`)
/// and answers with nothing new; later fetches give UID 2. Counts the
/// IDLE commands it gets.
async fn racing_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let idles = Arc::new(AtomicUsize::new(0));
    let counted = idles.clone();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut config = imap::Config::default();
        config.allow_plaintext_auth = true;
        config.starttls = false;
        let session = imap::Session::new(config, now());
        let mut driver = Driver::new(session, tcp, Tls::None);
        let mut fetches = 0;
        while let Ok(Step::Event(event)) = driver.step(None).await {
            let session = driver.session();
            let _ = match event {
                imap::Event::Command {
                    ticket,
                    command: CommandBody::Select { .. },
                } => session.selected(now(), ticket, inbox()),
                imap::Event::Command {
                    ticket,
                    command: CommandBody::Fetch { .. },
                } => {
                    fetches += 1;
                    if fetches == 1 {
                        session.mailbox_changed(Change::Added { uid: nz(2) });
                    } else {
                        let body = FetchValue::BodySection {
                            section: Section {
                                part: Vec::new(),
                                text: None,
                            },
                            origin: None,
                            data: Some(Bytes::from_static(b"Subject: raced\r\n\r\nhi\r\n")),
                        };
                        let _ = session.fetch(ticket, nz(2), vec![FetchValue::Flags(vec![]), body]);
                    }
                    session.complete(now(), ticket, StatusKind::Ok, None, "done")
                }
                imap::Event::IdleStarted => {
                    counted.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
                other => match other.ticket() {
                    Some(ticket) => session.accept(now(), ticket),
                    None => Ok(()),
                },
            };
        }
    });
    (port, idles)
}

#[tokio::test]
async fn a_message_announced_during_a_fetch_is_reported_without_waiting() {
    let (port, idles) = racing_server().await;
    let endpoint = Endpoint::parse(&format!("imap://alice:secret@127.0.0.1:{port}"))
        .unwrap()
        .allow_plaintext_auth(true)
        .timeout(Duration::from_secs(5));
    let mut watcher = Watcher::new(endpoint, "INBOX");
    watcher.start().await.unwrap();
    let message = tokio::time::timeout(Duration::from_secs(10), watcher.next())
        .await
        .expect("the announced message is fetched, not waited for in IDLE")
        .unwrap();
    assert_eq!(message.uid, 2);
    assert_eq!(message.parse().subject().as_deref(), Some("raced"));
    assert_eq!(idles.load(Ordering::SeqCst), 0, "no IDLE was needed");
}
