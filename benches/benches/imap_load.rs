//! IMAP load on mail-server: many concurrent sessions fetching and flagging
//! (commands per second), then many idle logged-in sessions (server memory
//! per idle session, from its resident set size).
//!
//! Build the server first: `cargo build --release --bin mail-server`, then
//! `cargo bench -p sansmail-benches --bench imap_load [-- SESSIONS SECONDS IDLE]`.
//! (`MAIL_SERVER=path` picks another binary.)

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const MESSAGES: usize = 200;

/// A raw IMAP connection: sends a tagged command, reads up to its tagged reply.
struct Imap {
    stream: BufReader<TcpStream>,
    tag: u64,
    line: String,
}

impl Imap {
    async fn connect(port: u16) -> Imap {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        tcp.set_nodelay(true).unwrap();
        let mut imap = Imap {
            stream: BufReader::new(tcp),
            tag: 0,
            line: String::new(),
        };
        imap.read_line().await;
        imap
    }

    async fn read_line(&mut self) {
        self.line.clear();
        let n = self.stream.read_line(&mut self.line).await.expect("read");
        assert!(n > 0, "server closed the connection");
    }

    /// Runs `command`; panics unless it ends in OK.
    async fn run(&mut self, command: &str) {
        self.tag += 1;
        let tag = format!("z{}", self.tag);
        let out = format!("{tag} {command}\r\n");
        self.stream
            .get_mut()
            .write_all(out.as_bytes())
            .await
            .unwrap();
        loop {
            self.read_line().await;
            // Skip literals: `{n}` at the end of a line announces n octets.
            if let Some(n) = self
                .line
                .trim_end()
                .strip_suffix('}')
                .and_then(|l| l.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<usize>().ok())
            {
                let mut skip = vec![0; n];
                self.stream.read_exact(&mut skip).await.unwrap();
                continue;
            }
            if let Some(rest) = self.line.strip_prefix(&tag) {
                assert!(rest.starts_with(" OK"), "{command}: {}", self.line);
                return;
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let sessions: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let idle: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let binary = std::env::var("MAIL_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/mail-server")
        });
    assert!(
        binary.exists(),
        "{}: build it with `cargo build --release --bin mail-server`",
        binary.display()
    );

    let data = std::env::temp_dir().join(format!("imap-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let new = data.join("mail/bob/Maildir/new");
    std::fs::create_dir_all(&new).unwrap();
    for i in 0..MESSAGES {
        let body = format!(
            "From: a@example.org\r\nTo: bob@example.test\r\nSubject: message {i}\r\nMessage-ID: <{i}@load>\r\n\r\n{}",
            "A line of text in the body of the message.\r\n".repeat(100)
        );
        std::fs::write(new.join(format!("{i}.load")), body).unwrap();
    }
    std::fs::write(
        data.join("limits.toml"),
        "[limits]\nmax_connections_per_ip = 100000\n",
    )
    .unwrap();
    let port = free_port();
    let mut server = Command::new(&binary)
        .arg("--config")
        .arg(data.join("limits.toml"))
        .arg("--data")
        .arg(&data)
        .args([
            "--domain",
            "example.test",
            "--user",
            "bob:pw",
            "--allow-plaintext",
        ])
        .args(["--imap", &format!("127.0.0.1:{port}")])
        .args([
            "--smtp",
            "off",
            "--submission",
            "off",
            "--submissions",
            "off",
            "--imaps",
            "off",
            "--pop3",
            "off",
            "--pop3s",
            "off",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start mail-server");
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }

    // Busy sessions: each selects INBOX, then fetches a whole message,
    // flags it, and unflags it, round after round.
    let commands = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for s in 0..sessions {
        let commands = commands.clone();
        tasks.push(tokio::spawn(async move {
            let mut imap = Imap::connect(port).await;
            imap.run("LOGIN bob pw").await;
            imap.run("SELECT INBOX").await;
            let mut uid = s % MESSAGES + 1;
            while Instant::now() < stop {
                imap.run(&format!("UID FETCH {uid} (FLAGS BODY.PEEK[])"))
                    .await;
                imap.run(&format!("UID STORE {uid} +FLAGS.SILENT (\\Flagged)"))
                    .await;
                imap.run(&format!("UID STORE {uid} -FLAGS.SILENT (\\Flagged)"))
                    .await;
                commands.fetch_add(3, Ordering::Relaxed);
                uid = uid % MESSAGES + 1;
            }
            imap.run("LOGOUT").await;
        }));
    }
    let started = Instant::now();
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let done = commands.load(Ordering::Relaxed);

    // Idle sessions: logged in with INBOX selected, then left alone.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(server.id());
    let mut idle_sessions = Vec::new();
    for _ in 0..idle {
        let mut imap = Imap::connect(port).await;
        imap.run("LOGIN bob pw").await;
        imap.run("SELECT INBOX").await;
        idle_sessions.push(imap);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(server.id());

    println!(
        "mail-server IMAP load: {MESSAGES} messages of ~4.5 KB, plaintext on loopback, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  {sessions} sessions fetching and flagging: {done} commands in {elapsed:.1} s = {:.0} commands/s",
        done as f64 / elapsed
    );
    println!(
        "  {idle} idle sessions (logged in, INBOX selected): RSS {before} KiB -> {after} KiB = {:.1} KiB per session",
        (after.saturating_sub(before)) as f64 / idle as f64
    );
    drop(idle_sessions);
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data);
}
