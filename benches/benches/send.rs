//! Messages per second submitted to a local SMTP sink, over one connection
//! and over a pool of 8, by sansmail's `Mailer`, lettre's tokio transport
//! (0.11) and Stalwart's mail-send (0.7), in one run; then the client heap
//! each holds per open connection. Prints a table; run with
//! `cargo bench -p sansmail-benches --bench send`.
//!
//! The sink is this program again, in a child process on its own core (a
//! single-threaded tokio runtime running our SMTP server session, which
//! offers PIPELINING and CHUNKING and throws the data away). The clients
//! run on one single-threaded runtime, plain TCP, no AUTH: what is timed is
//! each client's own protocol work and round trips. The sink acknowledges
//! every segment at once (TCP_QUICKACK): lettre and mail-send write a
//! command or the end of data in pieces without TCP_NODELAY, and against
//! a receiver that delays its ACKs, as Linux does, Nagle's algorithm then
//! holds each last piece ~40 ms; the quick ACKs keep that stall out of the
//! comparison. `--delayed-acks` measures with the kernel's default instead.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const MESSAGES: usize = 4000;
const POOL: usize = 8;
const IDLE_CONNECTIONS: usize = 200;

fn message() -> Vec<u8> {
    let mut m = String::from(
        "From: App <app@example.com>\r\nTo: user@example.net\r\nSubject: Your receipt\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <bench@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
    );
    while m.len() < 4096 {
        m.push_str("Thank you for your order. Here is what you bought, line by line.\r\n");
    }
    m.into_bytes()
}

fn main() {
    // Both of rustls's providers are built in (mail-auth brings aws-lc-rs):
    // the peers that ask for the process default get ring, as we use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    if std::env::var_os("SANSMAIL_BENCH_SINK").is_some() {
        return sink::run();
    }
    if let Ok(which) = std::env::var("SANSMAIL_BENCH_MEMORY") {
        let port = std::env::var("SANSMAIL_BENCH_PORT")
            .unwrap()
            .parse()
            .unwrap();
        let bytes = runtime().block_on(memory(&which, port));
        println!("{bytes}");
        return;
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` probes bench binaries
    }
    let (mut child, port) = start_sink();
    let rt = runtime();
    // Shared by every sender task for the whole run.
    let raw: &'static [u8] = Box::leak(message().into_boxed_slice());
    println!(
        "{MESSAGES} messages of {} octets, one recipient each, to a local sink\n",
        raw.len()
    );
    println!(
        "{:<12} {:>14} {:>14} {:>16}",
        "client", "1 connection", "pool of 8", "heap/connection"
    );
    let mut rows = Vec::new();
    for which in ["sansmail", "lettre", "mail-send"] {
        let one = rt.block_on(throughput(which, port, raw, 1));
        let pool = rt.block_on(throughput(which, port, raw, POOL));
        let heap = memory_in_child(which, port);
        println!(
            "{which:<12} {one:>10.0} msg/s {pool:>10.0} msg/s {:>12} bytes",
            heap
        );
        rows.push((which, one, pool, heap));
    }
    let ours = rows[0];
    let best_one = rows[1].1.max(rows[2].1);
    let best_pool = rows[1].2.max(rows[2].2);
    println!(
        "\nsansmail / faster peer: {:.2}x over 1 connection, {:.2}x over a pool of 8",
        ours.1 / best_one,
        ours.2 / best_pool
    );
    let _ = child.kill();
    let _ = child.wait();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn start_sink() -> (Child, u16) {
    let quick = if std::env::args().any(|a| a == "--delayed-acks") {
        "0"
    } else {
        "1"
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("SANSMAIL_BENCH_SINK", quick)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().parse().unwrap())
}

/// Messages per second: `MESSAGES` split over `connections` concurrent senders.
async fn throughput(which: &str, port: u16, raw: &'static [u8], connections: usize) -> f64 {
    let per_task = MESSAGES / connections;
    let start = Instant::now();
    match which {
        "sansmail" => {
            let endpoint = sansmail::Endpoint::parse(&format!("smtp://127.0.0.1:{port}")).unwrap();
            let mailer = sansmail::Mailer::with_endpoint(endpoint, connections);
            let message = sansmail::Outgoing::with_envelope(
                "app@example.com",
                &["user@example.net"],
                raw.to_vec(),
            )
            .unwrap();
            let tasks = (0..connections).map(|_| {
                let (mailer, message) = (mailer.clone(), message.clone());
                async move {
                    for _ in 0..per_task {
                        assert!(mailer.send(&message).await.unwrap().all_accepted());
                    }
                }
            });
            futures_join(tasks).await;
        }
        "lettre" => {
            use lettre::AsyncTransport;
            let transport = lettre_transport(port, connections);
            let envelope = lettre::address::Envelope::new(
                Some("app@example.com".parse().unwrap()),
                vec!["user@example.net".parse().unwrap()],
            )
            .unwrap();
            let tasks = (0..connections).map(|_| {
                let (transport, envelope) = (transport.clone(), envelope.clone());
                async move {
                    for _ in 0..per_task {
                        transport.send_raw(&envelope, raw).await.unwrap();
                    }
                }
            });
            futures_join(tasks).await;
        }
        _ => {
            let tasks = (0..connections).map(|_| async move {
                let mut client = mail_send_client(port).await;
                for _ in 0..per_task {
                    let m = mail_send::smtp::message::Message::new(
                        "app@example.com",
                        ["user@example.net"],
                        raw,
                    );
                    client.send(m).await.unwrap();
                }
            });
            futures_join(tasks).await;
        }
    }
    (per_task * connections) as f64 / start.elapsed().as_secs_f64()
}

fn lettre_transport(port: u16, size: usize) -> lettre::AsyncSmtpTransport<lettre::Tokio1Executor> {
    use lettre::transport::smtp::PoolConfig;
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .pool_config(PoolConfig::new().max_size(size as u32))
        .build()
}

async fn mail_send_client(port: u16) -> mail_send::SmtpClient<tokio::net::TcpStream> {
    mail_send::SmtpClientBuilder::new("127.0.0.1", port)
        .unwrap()
        .implicit_tls(false)
        .connect_plain()
        .await
        .unwrap()
}

/// Runs futures concurrently on the current task set and waits for all.
async fn futures_join<F: std::future::Future<Output = ()> + 'static>(
    tasks: impl Iterator<Item = F>,
) {
    let local = tokio::task::LocalSet::new();
    let handles: Vec<_> = tasks.map(|t| local.spawn_local(t)).collect();
    local
        .run_until(async {
            for h in handles {
                h.await.unwrap();
            }
        })
        .await;
}

fn memory_in_child(which: &str, port: u16) -> usize {
    let out = Command::new(std::env::current_exe().unwrap())
        .env("SANSMAIL_BENCH_MEMORY", which)
        .env("SANSMAIL_BENCH_PORT", port.to_string())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// Client heap held per open, idle connection (after one message each).
async fn memory(which: &str, port: u16) -> usize {
    let raw = message();
    let region = Region::new(GLOBAL);
    let held: Box<dyn std::any::Any> = match which {
        "sansmail" => {
            let mut connections = Vec::new();
            let endpoint = sansmail::Endpoint::parse(&format!("smtp://127.0.0.1:{port}")).unwrap();
            let message =
                sansmail::Outgoing::with_envelope("app@example.com", &["user@example.net"], raw)
                    .unwrap();
            for _ in 0..IDLE_CONNECTIONS {
                let mut c = sansmail::SmtpConnection::connect_to(&endpoint)
                    .await
                    .unwrap();
                assert!(c.send(&message).await.unwrap().all_accepted());
                connections.push(c);
            }
            Box::new(connections)
        }
        "lettre" => {
            use lettre::AsyncTransport;
            // The pool is the only way lettre keeps connections open.
            let transport = lettre_transport(port, IDLE_CONNECTIONS);
            let envelope = lettre::address::Envelope::new(
                Some("app@example.com".parse().unwrap()),
                vec!["user@example.net".parse().unwrap()],
            )
            .unwrap();
            let sends = (0..IDLE_CONNECTIONS).map(|_| {
                let (transport, envelope, raw) = (transport.clone(), envelope.clone(), raw.clone());
                async move {
                    transport.send_raw(&envelope, &raw).await.unwrap();
                }
            });
            futures_join(sends).await;
            Box::new(transport)
        }
        _ => {
            let mut clients = Vec::new();
            for _ in 0..IDLE_CONNECTIONS {
                let mut c = mail_send_client(port).await;
                let m = mail_send::smtp::message::Message::new(
                    "app@example.com",
                    ["user@example.net"],
                    raw.as_slice(),
                );
                c.send(m).await.unwrap();
                clients.push(c);
            }
            Box::new(clients)
        }
    };
    let stats = region.change();
    drop(held);
    stats
        .bytes_allocated
        .saturating_sub(stats.bytes_deallocated)
        / IDLE_CONNECTIONS
}

/// The sink: our SMTP server session on the server driver, accepting everything.
mod sink {
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Instant;

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio::net::TcpStream;

    use sansmail_smtp::driver::{Driver, Step, Tls};
    use sansmail_smtp::server::{Config, Event, Session};

    pub(super) fn run() {
        super::runtime().block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            println!("{}", listener.local_addr().unwrap().port());
            let config = Config {
                max_recipients: 1000,
                ..Config::default()
            };
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let _ = tcp.set_nodelay(true);
                let config = config.clone();
                let quick = std::env::var("SANSMAIL_BENCH_SINK").as_deref() == Ok("1");
                tokio::spawn(async move {
                    let session = Session::new(config, Instant::now());
                    let io = QuickAck { tcp, quick };
                    let mut driver = Driver::new(session, io, Tls::None);
                    while let Ok(Step::Event(event)) = driver.step(None).await {
                        let session = driver.session();
                        let _ = match event {
                            Event::Connected { ticket }
                            | Event::Hello { ticket, .. }
                            | Event::MailFrom { ticket, .. }
                            | Event::RcptTo { ticket, .. }
                            | Event::MessageEnd { ticket, .. }
                            | Event::Verify { ticket, .. } => {
                                session.accept(sansmail_smtp::driver::now(), ticket)
                            }
                            _ => Ok(()),
                        };
                    }
                });
            }
        });
    }

    /// TCP that re-arms TCP_QUICKACK after every read (Linux clears it).
    struct QuickAck {
        tcp: TcpStream,
        quick: bool,
    }

    impl AsyncRead for QuickAck {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
            if self.quick && polled.is_ready() {
                let _ = socket2::SockRef::from(&self.tcp).set_tcp_quickack(true);
            }
            polled
        }
    }

    impl AsyncWrite for QuickAck {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.tcp).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.tcp).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.tcp).poll_shutdown(cx)
        }
    }
}
