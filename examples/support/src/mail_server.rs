//! A private mail-server for tests, and what the tests around it share:
//! Python clients with its ports and certificate, NSD for relaying, spamd
//! and clamd.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::*;

/// The ports of one mail-server.
#[derive(Clone, Copy)]
pub struct Ports {
    pub smtp: u16,
    pub submission: u16,
    pub submissions: u16,
    pub imap: u16,
    pub imaps: u16,
    pub pop3: u16,
    pub pop3s: u16,
    pub https: u16,
}

impl Ports {
    pub fn free() -> Ports {
        Ports {
            smtp: free_port(),
            submission: free_port(),
            submissions: free_port(),
            imap: free_port(),
            imaps: free_port(),
            pop3: free_port(),
            pop3s: free_port(),
            https: free_port(),
        }
    }
}

/// A running mail-server with its own data directory.
pub struct MailServer {
    pub ports: Ports,
    pub dir: TempDir,
    pub args: Vec<String>,
    pub child: Option<Child>,
}

impl MailServer {
    /// Serves example.test for alice and bob (plus `args`) on free ports.
    pub fn start(args: &[&str]) -> MailServer {
        let dir = TempDir::new("mail-server");
        let mut server = MailServer {
            ports: Ports::free(),
            dir,
            args: args.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        server.launch();
        server
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn launch(&mut self) {
        let p = self.ports;
        let at = |port: u16| format!("127.0.0.1:{port}");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .unwrap();
        let child = Command::new(bin("mail-server"))
            .arg("--data")
            .arg(self.data())
            .args([
                "--hostname",
                "mail.example.test",
                "--domain",
                "example.test",
            ])
            .args(["--user", "alice:alice-pw", "--user", "bob:bob-pw"])
            .args(["--smtp", &at(p.smtp), "--submission", &at(p.submission)])
            .args(["--submissions", &at(p.submissions), "--imap", &at(p.imap)])
            .args([
                "--imaps",
                &at(p.imaps),
                "--pop3",
                &at(p.pop3),
                "--pop3s",
                &at(p.pop3s),
                "--https",
                &at(p.https),
            ])
            .args(&self.args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start mail-server");
        self.child = Some(child);
        for port in [
            p.smtp,
            p.submission,
            p.submissions,
            p.imap,
            p.imaps,
            p.pop3,
            p.pop3s,
            p.https,
        ] {
            self.wait_listening(port);
        }
    }

    pub fn wait_listening(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("mail-server exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "mail-server is not listening on {port}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then waits for the exit; returns whether it exited cleanly.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn cert(&self) -> PathBuf {
        self.data().join("tls/cert.pem")
    }

    /// The messages in `user`'s INBOX, as text.
    pub fn inbox(&self, user: &str) -> Vec<String> {
        let dir = self.data().join("mail").join(user).join("Maildir");
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
                for e in entries.flatten() {
                    found.push(
                        String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned(),
                    );
                }
            }
        }
        found.sort();
        found
    }

    /// Waits up to `wait` for `user` to have `count` messages.
    pub fn wait_inbox(&self, user: &str, count: usize, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        loop {
            let found = self.inbox(user);
            if found.len() >= count || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs a Python script with the ports and certificate in its environment.
    pub fn python(&self, script: &str) -> String {
        let p = self.ports;
        let ports = [
            ("SMTP", p.smtp),
            ("SUBMISSION", p.submission),
            ("SUBMISSIONS", p.submissions),
            ("IMAP", p.imap),
            ("IMAPS", p.imaps),
            ("POP3", p.pop3),
            ("POP3S", p.pop3s),
        ]
        .map(|(k, v)| (k, v.to_string()));
        let cert = self.cert().display().to_string();
        let mut env: Vec<(&str, &str)> = ports.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.push(("CERT", &cert));
        python(&format!("{PRELUDE}{script}"), &env)
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Shared by the Python scripts: ports from the environment and a TLS
/// context that trusts the server's certificate.
pub const PRELUDE: &str = r#"
import os, ssl, smtplib, imaplib, poplib, socket, time, email
P = {k: int(os.environ[k]) for k in ["SMTP", "SUBMISSION", "SUBMISSIONS", "IMAP", "IMAPS", "POP3", "POP3S"]}
TLS = ssl.create_default_context(cafile=os.environ["CERT"])
H = "localhost"
def expect_error(code, f, *args):
    try:
        f(*args)
    except (smtplib.SMTPResponseException,) as e:
        assert e.smtp_code == code, (code, e.smtp_code, e.smtp_error)
        return e.smtp_error.decode()
    except smtplib.SMTPRecipientsRefused as e:
        got = list(e.recipients.values())[0]
        assert got[0] == code, (code, got)
        return got[1].decode()
    except smtplib.SMTPSenderRefused as e:
        assert e.smtp_code == code, (code, e.smtp_code, e.smtp_error)
        return e.smtp_error.decode()
    raise AssertionError(f"expected {code}")
"#;

pub fn message_text(from: &str, to: &str, subject: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@test>\r\n\r\nbody of {subject}\r\n"
    )
}

/// Sends `raw` from alice over submission (STARTTLS, AUTH) to `to`.
pub fn submit(server: &MailServer, to: &[&str], raw: &str) {
    let recipients = to
        .iter()
        .map(|r| format!("{r:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let out = server.python(&format!(
        r#"
s = smtplib.SMTP(H, P["SUBMISSION"])
s.starttls(context=TLS)
s.login("alice", "alice-pw")
refused = s.sendmail("alice@example.test", [{recipients}], {raw:?})
assert refused == {{}}, refused
s.quit()
print("ok")
"#
    ));
    assert_eq!(out.trim(), "ok");
}

/// `mail-server dkim-keygen DOMAIN ARGS.. --data DATA`: the key it made
/// (`DATA/dkim/DOMAIN/s1.pem`, or another selector given in `args`) and the
/// TXT record it printed.
pub fn dkim_keygen(data: &Path, domain: &str, args: &[&str]) -> (PathBuf, String) {
    let made = run(
        Command::new(bin("mail-server"))
            .args(["dkim-keygen", domain])
            .args(args)
            .arg("--data")
            .arg(data),
        b"",
        Duration::from_secs(60),
    );
    let printed = String::from_utf8_lossy(&made.stdout).into_owned();
    assert!(
        made.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let key = printed
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .expect("the key's path")
        .into();
    let record = printed.lines().last().unwrap_or_default().to_owned();
    (key, record)
}

/// A mail-server that relays through NSD serving `records` under
/// remote.test, reaching every exchanger on `remote_port`, with `queue`
/// as its `[queue]` settings. The DNS server and config outlive it with it.
pub fn relaying_server(records: &str, queue: &str, remote_port: u16) -> (Nsd, TempDir, MailServer) {
    let zone = format!(
        "$ORIGIN remote.test.\n$TTL 300\n\
         @ IN SOA ns.remote.test. admin.remote.test. 1 3600 600 86400 300\n\
         @ IN NS ns\nns IN A 127.0.0.1\n{records}"
    );
    let dns = Nsd::start("remote.test", &zone);
    let config = TempDir::new("config");
    let file = config.path().join("mail-server.toml");
    std::fs::write(&file, format!("[queue]\n{queue}")).unwrap();
    let server = MailServer::start(&[
        "--config",
        file.to_str().unwrap(),
        "--dns",
        &dns.addr().to_string(),
        "--remote-smtp-port",
        &remote_port.to_string(),
    ]);
    (dns, config, server)
}

/// A private spamd on a free port.
pub fn start_spamd(dir: &Path) -> (u16, Daemon) {
    let port = free_port();
    let child = Command::new(require("/usr/sbin/spamd"))
        .arg(format!("--listen=127.0.0.1:{port}"))
        .args(["-x", "--syslog=stderr", "--max-children=2"])
        .arg(format!("--pidfile={}", dir.join("spamd.pid").display()))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("spamd.log")).unwrap())
        .spawn()
        .expect("start spamd");
    (port, listening(child, "spamd", port))
}

/// The string our own ClamAV signature matches.
pub const TEST_VIRUS: &str = "SANSMAIL-TEST-VIRUS-7f3a";

/// A private clamd with one signature of our own: no downloads.
pub fn start_clamd(dir: &Path) -> (u16, Daemon) {
    let port = free_port();
    let db = dir.join("db");
    std::fs::create_dir_all(&db).unwrap();
    let hex: String = TEST_VIRUS.bytes().map(|b| format!("{b:02x}")).collect();
    std::fs::write(
        db.join("sansmail.ndb"),
        format!("Sansmail.Test.Virus:0:*:{hex}\n"),
    )
    .unwrap();
    let conf = dir.join("clamd.conf");
    std::fs::write(
        &conf,
        format!(
            "Foreground yes\nDatabaseDirectory {}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nLogFile {}\n",
            db.display(),
            dir.join("clamd.log").display()
        ),
    )
    .unwrap();
    let child = Command::new(require("/usr/sbin/clamd"))
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start clamd");
    (port, listening(child, "clamd", port))
}

/// `child` as a daemon, once it listens on `port` (slow starters get a minute).
pub fn listening(child: Child, name: &str, port: u16) -> Daemon {
    let daemon = Daemon {
        child,
        name: name.into(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{name} did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    daemon
}

/// A Python script run in the background, for what must happen while the
/// server is signalled or killed.
pub fn python_background(server: &MailServer, script: &str) -> Child {
    let p = server.ports;
    Command::new(require("python3"))
        .args(["-c", &format!("{PRELUDE}{script}")])
        .env("SMTP", p.smtp.to_string())
        .env("SUBMISSION", p.submission.to_string())
        .env("SUBMISSIONS", p.submissions.to_string())
        .env("IMAP", p.imap.to_string())
        .env("IMAPS", p.imaps.to_string())
        .env("POP3", p.pop3.to_string())
        .env("POP3S", p.pop3s.to_string())
        .env("CERT", server.cert())
        .env("WORK", server.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3")
}

pub fn wait_for_file(path: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn succeed(cmd: &mut Command, input: &[u8]) -> String {
    let out = run(cmd, input, Duration::from_secs(60));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}
