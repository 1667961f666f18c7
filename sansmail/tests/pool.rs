//! The pool against a scripted SMTP server on loopback: it reconnects when
//! an idle connection went away, and never sends a message twice when the
//! connection is lost after the message went out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sansmail::{Endpoint, Error, Mailer, Outgoing};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the scripted server does after a message's final dot.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AfterBody {
    /// Replies 250, then closes the connection (an idle timeout, early).
    AcceptThenClose,
    /// Closes without a reply: the client cannot know.
    Vanish,
}

/// A minimal SMTP server: counts the messages it received whole; message
/// number `n` (from 1) gets `what`, the others a 250.
async fn scripted(n: usize, what: AfterBody) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = Arc::new(AtomicUsize::new(0));
    let count = bodies.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let count = count.clone();
            tokio::spawn(async move {
                let (read, mut write) = tcp.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 scripted ready\r\n").await.unwrap();
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            let number = count.fetch_add(1, Ordering::SeqCst) + 1;
                            if number == n {
                                if what == AfterBody::Vanish {
                                    return;
                                }
                                write.write_all(b"250 2.0.0 queued\r\n").await.unwrap();
                                return;
                            }
                            write.write_all(b"250 2.0.0 queued\r\n").await.unwrap();
                        }
                        continue;
                    }
                    let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 scripted\r\n",
                        "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.1.0 ok\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"502 5.5.1 no\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, bodies)
}

fn mailer(addr: SocketAddr) -> Mailer {
    let endpoint = Endpoint::parse(&format!("smtp://{addr}")).unwrap();
    Mailer::with_endpoint(endpoint, 1)
}

fn message(n: u32) -> Outgoing {
    let text =
        format!("From: a@example.test\r\nTo: b@example.test\r\nSubject: {n}\r\n\r\nbody\r\n");
    Outgoing::with_envelope("a@example.test", &["b@example.test"], text.into_bytes()).unwrap()
}

#[tokio::test]
async fn a_connection_lost_after_the_body_is_reported_not_resent() {
    let (addr, bodies) = scripted(2, AfterBody::Vanish).await;
    let mailer = mailer(addr);
    assert!(mailer.send(&message(1)).await.unwrap().all_accepted());
    // The pooled connection is reused; the server takes the body and vanishes.
    let error = mailer.send(&message(2)).await.unwrap_err();
    assert!(matches!(error, Error::OutcomeUnknown { .. }), "{error:?}");
    assert!(
        error.to_string().contains("may have been delivered"),
        "{error}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(bodies.load(Ordering::SeqCst), 2, "sent once, not again");
    // The pool goes on with a fresh connection.
    assert!(mailer.send(&message(3)).await.unwrap().all_accepted());
    assert_eq!(bodies.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_idle_connection_the_server_closed_is_replaced_before_anything_is_sent() {
    let (addr, bodies) = scripted(1, AfterBody::AcceptThenClose).await;
    let mailer = mailer(addr);
    assert!(mailer.send(&message(1)).await.unwrap().all_accepted());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let report = mailer.send(&message(2)).await.unwrap();
    assert!(report.all_accepted());
    assert_eq!(bodies.load(Ordering::SeqCst), 2, "each message once");
}
