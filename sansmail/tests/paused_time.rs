//! The readers on tokio's paused clock: a session that sits idle longer
//! than its reply timeout still works, and a watcher renews IDLE without
//! reconnecting. The servers are our own server sessions in the same
//! runtime, so the clock only jumps when both sides wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sansmail::{Endpoint, ImapClient, Pop3Client, Watcher};
use sansmail_common::driver::{Driver, Step, Tls, now};
use sansmail_imap::server as imap;
use sansmail_imap::types::{CommandBody, StatusKind};
use sansmail_pop3::server::{self as pop3, MessageInfo};
use sansmail_pop3::types::UniqueId;
use tokio::net::TcpListener;

mod scripted;
use scripted::inbox;

/// The reply timeout the clients get.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// What an IMAP server saw.
#[derive(Default)]
struct Seen {
    logins: AtomicUsize,
    idles: AtomicUsize,
    idle_ends: AtomicUsize,
}

/// Serves IMAP on a loopback port: one INBOX holding one message; every
/// other command succeeds with nothing to report.
async fn imap_server() -> (u16, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Seen::default());
    let counts = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let seen = counts.clone();
            tokio::spawn(async move {
                let mut config = imap::Config::default();
                config.allow_plaintext_auth = true;
                config.starttls = false;
                let session = imap::Session::new(config, now());
                let mut driver = Driver::new(session, tcp, Tls::None);
                while let Ok(Step::Event(event)) = driver.step(None).await {
                    let session = driver.session();
                    let _ = match event {
                        imap::Event::Login { ticket, .. } => {
                            seen.logins.fetch_add(1, Ordering::SeqCst);
                            session.accept(now(), ticket)
                        }
                        imap::Event::Command {
                            ticket,
                            command: CommandBody::Select { .. },
                        } => session.selected(now(), ticket, inbox()),
                        imap::Event::Command { ticket, .. } => {
                            session.complete(now(), ticket, StatusKind::Ok, None, "done")
                        }
                        imap::Event::IdleStarted => {
                            seen.idles.fetch_add(1, Ordering::SeqCst);
                            Ok(())
                        }
                        imap::Event::IdleEnded => {
                            seen.idle_ends.fetch_add(1, Ordering::SeqCst);
                            Ok(())
                        }
                        other => match other.ticket() {
                            Some(ticket) => session.accept(now(), ticket),
                            None => Ok(()),
                        },
                    };
                }
            });
        }
    });
    (port, seen)
}

/// Serves POP3 on a loopback port: a maildrop of one 3-octet message.
async fn pop3_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let config = pop3::Config {
                    login_requires_tls: false,
                    ..pop3::Config::default()
                };
                let session = pop3::Session::new(config, now());
                let mut driver = Driver::new(session, tcp, Tls::None);
                while let Ok(Step::Event(event)) = driver.step(None).await {
                    let session = driver.session();
                    let _ = match event {
                        pop3::Event::Login { ticket, .. } | pop3::Event::Auth { ticket, .. } => {
                            let uid = UniqueId::new("one").unwrap();
                            session.open(now(), ticket, vec![MessageInfo { size: 3, uid }])
                        }
                        other => match other.ticket() {
                            Some(ticket) => session.accept(now(), ticket),
                            None => Ok(()),
                        },
                    };
                }
            });
        }
    });
    port
}

fn endpoint(scheme: &str, port: u16) -> Endpoint {
    Endpoint::parse(&format!("{scheme}://alice:secret@127.0.0.1:{port}"))
        .unwrap()
        .allow_plaintext_auth(true)
        .timeout(REPLY_TIMEOUT)
}

#[tokio::test(start_paused = true)]
async fn an_imap_client_idle_past_its_reply_timeout_still_selects() {
    let (port, seen) = imap_server().await;
    let mut client = ImapClient::connect_to(&endpoint("imap", port))
        .await
        .unwrap();
    tokio::time::sleep(REPLY_TIMEOUT * 2).await;
    let inbox = client.select("INBOX").await.unwrap();
    assert_eq!(inbox.exists, 1);
    tokio::time::sleep(Duration::from_secs(11 * 60)).await;
    assert!(client.fetch_after(1).await.unwrap().is_empty());
    client.logout().await.unwrap();
    assert_eq!(seen.logins.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_pop3_client_idle_past_its_reply_timeout_still_lists() {
    let port = pop3_server().await;
    let mut client = Pop3Client::connect_to(&endpoint("pop3", port))
        .await
        .unwrap();
    tokio::time::sleep(REPLY_TIMEOUT * 2).await;
    let list = client.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].uid.as_deref(), Some("one"));
    assert_eq!(list[0].size, 3);
    client.quit().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_watcher_renews_idle_without_reconnecting() {
    let (port, seen) = imap_server().await;
    let mut watcher = Watcher::new(endpoint("imap", port), "INBOX");
    watcher.start().await.unwrap();
    // Nothing arrives for an hour: IDLE is renewed at 25 and 50 minutes.
    let waited = tokio::time::timeout(Duration::from_secs(60 * 60), watcher.next()).await;
    assert!(waited.is_err(), "nothing arrived, so nothing is reported");
    assert_eq!(seen.logins.load(Ordering::SeqCst), 1, "no reconnection");
    assert_eq!(seen.idles.load(Ordering::SeqCst), 3);
    assert_eq!(seen.idle_ends.load(Ordering::SeqCst), 2);
}
