//! mail-server end to end over loopback, with real clients (Python's
//! smtplib/imaplib/poplib, swaks, curl, mutt, mbsync, fetchmail), real
//! mail exchangers behind a real DNS server (NSD), real filters (spamd,
//! clamd), restarts and a crash.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// The ports of one mail-server.
#[derive(Clone, Copy)]
struct Ports {
    smtp: u16,
    submission: u16,
    submissions: u16,
    imap: u16,
    imaps: u16,
    pop3: u16,
    pop3s: u16,
}

impl Ports {
    fn free() -> Ports {
        Ports {
            smtp: free_port(),
            submission: free_port(),
            submissions: free_port(),
            imap: free_port(),
            imaps: free_port(),
            pop3: free_port(),
            pop3s: free_port(),
        }
    }
}

/// A running mail-server with its own data directory.
struct MailServer {
    ports: Ports,
    dir: TempDir,
    args: Vec<String>,
    child: Option<Child>,
}

impl MailServer {
    /// Serves example.test for alice and bob (plus `args`) on free ports.
    fn start(args: &[&str]) -> MailServer {
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

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn launch(&mut self) {
        let p = self.ports;
        let at = |port: u16| format!("127.0.0.1:{port}");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mail-server"))
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
        ] {
            self.wait_listening(port);
        }
    }

    fn wait_listening(&mut self, port: u16) {
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
    fn stop(&mut self) -> bool {
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
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn cert(&self) -> PathBuf {
        self.data().join("tls/cert.pem")
    }

    /// The messages in `user`'s INBOX, as text.
    fn inbox(&self, user: &str) -> Vec<String> {
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
    fn wait_inbox(&self, user: &str, count: usize, wait: Duration) -> Vec<String> {
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
    fn python(&self, script: &str) -> String {
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
const PRELUDE: &str = r#"
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

fn message_text(from: &str, to: &str, subject: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@test>\r\n\r\nbody of {subject}\r\n"
    )
}

#[test]
fn python_clients_submit_receive_and_read() {
    let server = MailServer::start(&[]);
    let out = server.python(r#"
# Submission with STARTTLS and AUTH: one local and one remote-looking recipient is not needed here.
s = smtplib.SMTP(H, P["SUBMISSION"])
s.ehlo()
assert not s.has_extn("auth"), "no AUTH before TLS"
s.starttls(context=TLS)
s.ehlo()
assert "PLAIN" in s.esmtp_features["auth"]
expect_error(535, s.login, "alice", "wrong")
s.login("alice", "alice-pw")
msg = "From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: from alice\r\n\r\nhello bob\r\n"
s.sendmail("alice@example.test", ["bob@example.test"], msg)
# Forged senders: the envelope, then the header.
expect_error(553, s.sendmail, "bob@example.test", ["bob@example.test"], msg)
forged = msg.replace("From: Alice <alice@example.test>", "From: Bob <bob@example.test>")
expect_error(553, s.sendmail, "alice@example.test", ["bob@example.test"], forged)
s.quit()

# Submission without AUTH is refused.
s = smtplib.SMTP(H, P["SUBMISSION"])
s.starttls(context=TLS)
expect_error(530, s.sendmail, "alice@example.test", ["bob@example.test"], msg)
s.quit()

# Implicit TLS submission.
s = smtplib.SMTP_SSL(H, P["SUBMISSIONS"], context=TLS)
s.login("bob", "bob-pw")
s.sendmail("bob@example.test", ["alice+notes@example.test"], "From: bob@example.test\r\nSubject: to alice\r\n\r\nhi\r\n")
s.quit()

# Inbound: local users only.
s = smtplib.SMTP(H, P["SMTP"])
s.ehlo("mx.elsewhere.example")
assert not s.has_extn("auth")
s.sendmail("someone@elsewhere.example", ["bob@example.test"], "Subject: inbound\r\n\r\nfrom afar\r\n")
expect_error(550, s.sendmail, "someone@elsewhere.example", ["carol@example.test"], "Subject: x\r\n\r\nx\r\n")
expect_error(550, s.sendmail, "someone@elsewhere.example", ["victim@elsewhere.example"], "Subject: x\r\n\r\nx\r\n")
s.quit()

# IMAP over STARTTLS: bob has two messages.
m = imaplib.IMAP4(H, P["IMAP"])
m.starttls(ssl_context=TLS)
m.login("bob", "bob-pw")
typ, data = m.select("INBOX")
assert data == [b"2"], data
typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT RETURN-PATH)])")
headers = b"".join(part[1] for part in data if isinstance(part, tuple))
assert b"Subject: from alice" in headers and b"Subject: inbound" in headers, headers
assert b"Return-Path: <alice@example.test>" in headers, headers
m.logout()

# POP3 over implicit TLS: alice got bob's message at her +notes address.
p = poplib.POP3_SSL(H, P["POP3S"], context=TLS)
p.user("alice"); p.pass_("alice-pw")
count, size = p.stat()
assert count == 1, count
lines = p.retr(1)[1]
assert b"Subject: to alice" in lines, lines
p.dele(1)
p.quit()
p = poplib.POP3(H, P["POP3"])
p.stls(context=TLS)
p.user("alice"); p.pass_("alice-pw")
assert p.stat()[0] == 0
p.quit()

# IDLE: a delivery is announced while the client waits.
m = imaplib.IMAP4_SSL(H, P["IMAPS"], ssl_context=TLS)
m.login("bob", "bob-pw")
m.select("INBOX")
m.send(b"i1 IDLE\r\n")
assert m.readline().startswith(b"+"), "IDLE accepted"
s = smtplib.SMTP(H, P["SMTP"])
s.sendmail("someone@elsewhere.example", ["bob@example.test"], "Subject: while idle\r\n\r\nnews\r\n")
s.quit()
assert m.readline() == b"* 3 EXISTS\r\n"
m.send(b"DONE\r\n")
assert m.readline().startswith(b"i1 OK")
m.logout()
print("ok")
"#);
    assert_eq!(out.trim(), "ok");
    let log = server.log();
    assert!(
        log.contains("message received") && log.contains("queue_id="),
        "{log}"
    );
    assert!(log.contains("message refused"), "{log}");
}

/// Sends `raw` from alice over submission (STARTTLS, AUTH) to `to`.
fn submit(server: &MailServer, to: &[&str], raw: &str) {
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

/// A mail-server that relays through NSD serving `records` under
/// remote.test, reaching every exchanger on `remote_port`, with `queue`
/// as its `[queue]` settings. The DNS server and config outlive it with it.
fn relaying_server(records: &str, queue: &str, remote_port: u16) -> (Nsd, TempDir, MailServer) {
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

#[test]
fn relays_through_dns_with_fallback_retry_and_bounces() {
    // Postfix is the mail exchanger of retry.remote.test: it answers 451
    // until its access table changes. Every exchanger listens on its port.
    let vmail = TempDir::new("vmail");
    std::fs::write(
        vmail.path().join("access"),
        "later@retry.remote.test 451 4.3.0 not now\n",
    )
    .unwrap();
    std::fs::create_dir_all(vmail.path().join("box")).unwrap();
    chown_nobody(vmail.path());
    let postfix = Postfix::start(&format!(
        "smtpd_recipient_restrictions = check_recipient_access texthash:{v}/access, permit_mynetworks, reject
virtual_mailbox_domains = retry.remote.test
virtual_mailbox_base = {v}/box
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100",
        v = vmail.path().display()
    ));
    let port = postfix.port;
    let first = Sink::start_at(
        &format!("127.0.0.2:{port}"),
        &[
            "--domain",
            "pref.remote.test",
            "--domain",
            "bounce.remote.test",
            "--user",
            "known:pw",
        ],
    );
    let second = Sink::start_at(
        &format!("127.0.0.3:{port}"),
        &[
            "--domain",
            "pref.remote.test",
            "--domain",
            "fallback.remote.test",
        ],
    );
    let (_dns, _config, server) = relaying_server(
        "pref IN MX 10 mx1\npref IN MX 20 mx2\n\
         fallback IN MX 10 down\nfallback IN MX 20 mx2\n\
         retry IN MX 10 mx-postfix\n\
         bounce IN MX 10 mx1\n\
         nullmx IN MX 0 .\n\
         mx1 IN A 127.0.0.2\nmx2 IN A 127.0.0.3\ndown IN A 127.0.0.4\nmx-postfix IN A 127.0.0.1\n",
        "retry_secs = [1]\ntimeout_secs = 10\n",
        port,
    );

    let raw = "From: alice@example.test\r\nTo: many\r\nSubject: relayed\r\nMessage-ID: <relayed@example.test>\r\n\r\nout into the world\r\n";
    submit(
        &server,
        &[
            "known@pref.remote.test",
            "someone@fallback.remote.test",
            "later@retry.remote.test",
            "nobody@bounce.remote.test",
            "x@nullmx.remote.test",
            "y@nx.remote.test",
        ],
        raw,
    );

    // The preferred exchanger got its recipient; the second took the fallback domain's.
    let got = first.messages("known", 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1, "{}", server.log());
    assert!(
        got[0].contains("Subject: relayed") && got[0].contains("by mail.example.test"),
        "{}",
        got[0]
    );
    assert_eq!(
        got[0].matches("Return-Path:").count(),
        1,
        "only the final delivery adds one: {}",
        got[0]
    );
    let got = second.messages("someone", 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1, "{}", server.log());
    assert!(
        second.messages("known", 0, Duration::ZERO).is_empty(),
        "the preferred MX was up"
    );

    // One bounce to alice, naming the three permanent failures.
    let inbox = server.wait_inbox("alice", 1, Duration::from_secs(20));
    assert_eq!(inbox.len(), 1, "{}", server.log());
    let bounce = &inbox[0];
    assert!(bounce.starts_with("Return-Path: <>\r\n"), "{bounce}");
    assert!(
        bounce.contains("multipart/report") && bounce.contains("report-type=\"delivery-status\""),
        "{bounce}"
    );
    for failed in [
        "nobody@bounce.remote.test",
        "x@nullmx.remote.test",
        "y@nx.remote.test",
    ] {
        assert!(
            bounce.contains(&format!("Final-Recipient: rfc822; {failed}")),
            "{failed}: {bounce}"
        );
    }
    assert!(bounce.contains("Status: 5.1.1"), "{bounce}");
    assert!(
        bounce.contains("Status: 5.1.10") || bounce.contains("556"),
        "null MX: {bounce}"
    );
    assert!(
        !bounce.contains("later@retry"),
        "the deferred recipient is not bounced: {bounce}"
    );
    assert!(
        bounce.contains("Message-ID: <relayed@example.test>"),
        "the original headers come back"
    );

    // Postfix deferred its recipient; once it accepts, the retry delivers.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log().contains("deferred") {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        postfix
            .log()
            .contains("451 4.3.0 <later@retry.remote.test>"),
        "{}",
        postfix.log()
    );
    std::fs::write(vmail.path().join("access"), "").unwrap();
    let out = run(
        Command::new("postfix")
            .arg("-c")
            .arg(postfix.dir.path().join("etc"))
            .arg("reload"),
        b"",
        Duration::from_secs(30),
    );
    assert!(out.status.success());
    let delivered = vmail.path().join("box/inbox/new");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&delivered).map_or(0, |d| d.count()) == 0 {
        assert!(
            Instant::now() < deadline,
            "never retried:\n{}\n{}",
            server.log(),
            postfix.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(server.data().join("queue"))
        .unwrap()
        .count()
        > 0
    {
        assert!(
            Instant::now() < deadline,
            "the queue keeps a finished message"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(server.inbox("alice").len(), 1, "no second bounce");
}

/// A private spamd on a free port.
fn start_spamd(dir: &Path) -> (u16, Daemon) {
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
const TEST_VIRUS: &str = "SANSMAIL-TEST-VIRUS-7f3a";

/// A private clamd with one signature of our own: no downloads.
fn start_clamd(dir: &Path) -> (u16, Daemon) {
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
fn listening(child: Child, name: &str, port: u16) -> Daemon {
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

#[test]
fn filters_tag_spam_refuse_viruses_and_fail_safe() {
    let dir = TempDir::new("filters");
    let (spamd, _spamd) = start_spamd(dir.path());
    let (clamd, clamd_daemon) = start_clamd(dir.path());
    let config = |name: &str, extra: &str| {
        let file = dir.path().join(name);
        std::fs::write(
            &file,
            format!("[filter]\nspamd = \"127.0.0.1:{spamd}\"\nclamd = \"127.0.0.1:{clamd}\"\ntimeout_secs = 20\n{extra}"),
        )
        .unwrap();
        file.display().to_string()
    };
    let tagging = MailServer::start(&["--config", &config("tag.toml", "")]);
    let refusing = MailServer::start(&[
        "--config",
        &config("refuse.toml", "spam_reject_score = 100.0\n"),
    ]);
    let script = format!(
        r#"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
s = smtplib.SMTP(H, P["SMTP"])
s.sendmail("a@elsewhere.example", ["bob@example.test"], "Subject: clean\r\n\r\nNothing to see.\r\n")
code = expect_error(554, s.sendmail, "a@elsewhere.example", ["bob@example.test"], "Subject: infected\r\n\r\n{TEST_VIRUS}\r\n")
assert "Sansmail.Test.Virus" in code, code
try:
    s.sendmail("a@elsewhere.example", ["bob@example.test"], "Subject: spam\r\n\r\n" + GTUBE + "\r\n")
    print("spam accepted")
except smtplib.SMTPDataError as e:
    print("spam refused", e.smtp_code)
s.quit()
"#
    );
    let out = tagging.python(&script);
    assert_eq!(out.trim(), "spam accepted");
    let inbox = tagging.wait_inbox("bob", 2, Duration::from_secs(5));
    assert_eq!(inbox.len(), 2);
    let spam = inbox.iter().find(|m| m.contains("Subject: spam")).unwrap();
    assert!(
        spam.contains("X-Spam-Flag: YES") && spam.contains("X-Spam-Status: Yes, score=100"),
        "{spam}"
    );
    assert!(spam.contains("tests=") && spam.contains("GTUBE"), "{spam}");
    let clean = inbox.iter().find(|m| m.contains("Subject: clean")).unwrap();
    assert!(
        clean.contains("X-Spam-Status: No,") && !clean.contains("X-Spam-Flag"),
        "{clean}"
    );
    assert!(
        tagging.log().contains("Message contains a virus"),
        "the refusal is logged"
    );

    let out = refusing.python(&script);
    assert_eq!(out.trim(), "spam refused 550");
    assert_eq!(refusing.inbox("bob").len(), 1, "only the clean message");

    // With the virus scanner down, mail waits (451) instead of passing unscanned.
    drop(clamd_daemon);
    let out = refusing.python(
        r#"
s = smtplib.SMTP(H, P["SMTP"])
try:
    s.sendmail("a@elsewhere.example", ["bob@example.test"], "Subject: later\r\n\r\nhello\r\n")
    print("accepted")
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
s.noop()
s.quit()
"#,
    );
    assert!(out.starts_with("451 4.7.1"), "{out}");
    assert_eq!(refusing.inbox("bob").len(), 1);
}

/// A Python script run in the background, for what must happen while the
/// server is signalled or killed.
fn python_background(server: &MailServer, script: &str) -> Child {
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

fn wait_for_file(path: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_finishes_sessions_and_the_queue_survives_restarts() {
    let remote_port = free_port();
    let (_dns, _config, mut server) = relaying_server(
        "later IN MX 10 mx\nmx IN A 127.0.0.2\n",
        "retry_secs = [1]\n",
        remote_port,
    );
    // The exchanger is down: the message waits in the queue.
    submit(
        &server,
        &["someone@later.remote.test"],
        "From: alice@example.test\r\nSubject: patience\r\n\r\nhi\r\n",
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log().contains("deferred") {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }

    // A session in the middle of a transaction when SIGTERM comes is let finish.
    let client = python_background(
        &server,
        r#"
work = os.environ["WORK"]
s = smtplib.SMTP(H, P["SMTP"])
s.ehlo()
s.mail("a@elsewhere.example")
s.rcpt("bob@example.test")
open(work + "/ready", "w").close()
while not os.path.exists(work + "/go"):
    time.sleep(0.02)
code, text = s.data("Subject: in flight\r\n\r\nstill here\r\n")
print(code)
s.quit()
"#,
    );
    wait_for_file(
        &server.dir.path().join("ready"),
        "the client never got to RCPT",
    );
    let pid = server.child.as_ref().unwrap().id();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("shutting down") {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", server.ports.smtp)).is_err(),
        "no new connections after SIGTERM"
    );
    std::fs::write(server.dir.path().join("go"), "").unwrap();
    let out = client.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "250",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        server.stop(),
        "a clean exit after the last session:\n{}",
        server.log()
    );
    assert!(
        server.log().contains("stopped queued=1"),
        "{}",
        server.log()
    );
    assert_eq!(server.inbox("bob").len(), 1);

    // A bounce that cannot be delivered is dropped, never bounced: put one
    // in the queue as the server would have left it.
    let queue = server.data().join("queue");
    std::fs::write(
        queue.join("nullsender.msg"),
        "From: MAILER-DAEMON@mail.example.test\r\nSubject: Undelivered\r\n\r\nx\r\n",
    )
    .unwrap();
    std::fs::write(
        queue.join("nullsender.json"),
        r#"{"id":"nullsender","from":"","recipients":[{"address":"gone@nx.remote.test","state":"pending","reply":"","reported":false}],"created":1,"attempts":0,"next_attempt":0}"#,
    )
    .unwrap();

    // Restarted with the exchanger up, the queued message goes out.
    let sink = Sink::start_at(
        &format!("127.0.0.2:{remote_port}"),
        &["--domain", "later.remote.test"],
    );
    server.launch();
    let got = sink.messages("someone", 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1, "{}", server.log());
    assert!(got[0].contains("Subject: patience"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log().contains("dropped, not bounced") {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(&queue).unwrap().count() > 0 {
        assert!(
            Instant::now() < deadline,
            "the queue keeps a finished message"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.inbox("alice").len(), 0, "no bounce of a bounce");
}

#[test]
fn kill_9_during_load_loses_no_acknowledged_message() {
    let mut server = MailServer::start(&[]);
    let load = python_background(
        &server,
        r#"
import threading
work = os.environ["WORK"]
acked = open(work + "/acked", "a")
lock = threading.Lock()
def sender(t):
    try:
        s = smtplib.SMTP(H, P["SMTP"], timeout=10)
        for n in range(100000):
            subject = f"load-{t}-{n}"
            s.sendmail("load@elsewhere.example", ["bob@example.test"], f"Subject: {subject}\r\n\r\n{subject}\r\n")
            with lock:
                acked.write(subject + "\n"); acked.flush()
    except Exception as e:
        pass
threads = [threading.Thread(target=sender, args=(t,)) for t in range(8)]
for t in threads: t.start()
for t in threads: t.join()
"#,
    );
    let acked = server.dir.path().join("acked");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&acked).map_or(0, |s| s.lines().count()) < 300 {
        assert!(
            Instant::now() < deadline,
            "the load did not get going:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill();
    let out = load.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let acked = std::fs::read_to_string(&acked).unwrap();
    let acked: Vec<&str> = acked.lines().collect();

    server.launch();
    let mut delivered = std::collections::HashMap::<String, usize>::new();
    for message in server.inbox("bob") {
        let subject = message
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned();
        *delivered.entry(subject).or_default() += 1;
    }
    for subject in &acked {
        assert_eq!(
            delivered.get(*subject),
            Some(&1),
            "{subject} was acknowledged"
        );
    }
    assert!(
        delivered.values().all(|&n| n == 1),
        "nothing is delivered twice"
    );
    // At most one message per connection was in flight when the server died.
    assert!(
        delivered.len() <= acked.len() + 8,
        "{} delivered, {} acknowledged",
        delivered.len(),
        acked.len()
    );
    let spool = server.data().join("mail/.spool");
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        0,
        "restart clears what the crash left half written"
    );
}

#[test]
fn limits_give_clear_errors_and_keep_what_was_accepted() {
    let config = TempDir::new("config");
    let file = config.path().join("limits.toml");
    std::fs::write(
        &file,
        "[limits]\nmax_connections_per_ip = 3\nmax_auth_failures = 3\nmax_message_size = 2000\nmax_recipients = 2\n",
    )
    .unwrap();
    let server = MailServer::start(&["--config", file.to_str().unwrap()]);
    let out = server.python(r#"
s = smtplib.SMTP(H, P["SMTP"])
s.sendmail("a@elsewhere.example", ["bob@example.test"], "Subject: small\r\n\r\n" + "x" * 500 + "\r\n")
# Too large: 552 when SIZE announces it, 552 after DATA when it does not;
# the session goes on either way.
big = "Subject: big\r\n\r\n" + ("y" * 70 + "\r\n") * 100
expect_error(552, s.sendmail, "a@elsewhere.example", ["bob@example.test"], big)
s.mail("a@elsewhere.example")
s.rcpt("bob@example.test")
code, text = s.data(big)
assert code == 552, (code, text)
# Too many recipients: the third gets 452, the first two get the message.
s.mail("a@elsewhere.example")
assert s.rcpt("alice@example.test")[0] == 250
assert s.rcpt("bob@example.test")[0] == 250
code, text = s.rcpt("postmaster@example.test")
assert code == 452, (code, text)
assert s.data("Subject: two\r\n\r\nfor two\r\n")[0] == 250
s.quit()

# Three connections at once from one address; the fourth is turned away.
open_ = [socket.create_connection((H, P["SMTP"])) for _ in range(3)]
for c in open_:
    assert c.recv(100).startswith(b"220")
extra = socket.create_connection((H, P["IMAP"]))
line = extra.recv(200)
assert line.startswith(b"* BYE") and b"too many connections" in line, line
open_.pop().close()
time.sleep(0.2)
again = socket.create_connection((H, P["POP3"]))
assert again.recv(100).startswith(b"+OK"), "a closed connection frees its place"
again.close()
for c in open_: c.close()
time.sleep(0.2)

# Three failed logins lock the address out of every service.
m = imaplib.IMAP4(H, P["IMAP"])
m.starttls(ssl_context=TLS)
for _ in range(2):
    try:
        m.login("alice", "wrong"); raise AssertionError("logged in")
    except imaplib.IMAP4.error:
        pass
p = poplib.POP3(H, P["POP3"])
p.stls(context=TLS)
p.user("bob")
try:
    p.pass_("wrong"); raise AssertionError("logged in")
except poplib.error_proto:
    pass
try:
    m.login("alice", "alice-pw"); raise AssertionError("logged in while locked out")
except imaplib.IMAP4.error:
    pass
s = socket.create_connection((H, P["SMTP"]))
line = s.recv(200)
assert line.startswith(b"421 4.7.0") and b"failed logins" in line, line
print("ok")
"#);
    assert_eq!(out.trim(), "ok");
    let bob = server.inbox("bob");
    assert_eq!(bob.len(), 2, "the small message and the two-recipient one");
    assert!(bob.iter().any(|m| m.contains("Subject: small")));
    assert_eq!(server.inbox("alice").len(), 1);
    assert!(
        server.log().contains("connection refused"),
        "{}",
        server.log()
    );
}

#[test]
fn config_files_hashes_and_errors() {
    let bin = env!("CARGO_BIN_EXE_mail-server");
    let out = run(
        Command::new(bin).args(["hash-password", "carol-pw"]),
        b"",
        Duration::from_secs(30),
    );
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let out = run(
        Command::new(bin).arg("hash-password"),
        b"carol-pw\n",
        Duration::from_secs(30),
    );
    let from_stdin = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        from_stdin.starts_with("$argon2id$") && from_stdin != hash,
        "a fresh salt each time"
    );

    let dir = TempDir::new("config");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "hostname = \"mx.example.test\"\n\n[limits]\nmax_recipients = -1\n",
    )
    .unwrap();
    let out = run(
        Command::new(bin).arg("--config").arg(&bad),
        b"",
        Duration::from_secs(30),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("{}:4: key `max_recipients`:", bad.display())),
        "{err}"
    );
    let out = run(
        Command::new(bin).args(["--smtp", "nowhere"]),
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--smtp"));

    // A user from the file logs in with the password the hash was made from.
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        format!("[users]\ncarol = \"{hash}\"\n[aliases]\ninfo = \"carol\"\n"),
    )
    .unwrap();
    let server = MailServer::start(&["--config", good.to_str().unwrap()]);
    let out = server.python(
        r#"
s = smtplib.SMTP(H, P["SMTP"])
s.sendmail("a@elsewhere.example", ["info@example.test"], "Subject: for info\r\n\r\nhi\r\n")
s.quit()
m = imaplib.IMAP4_SSL(H, P["IMAPS"], ssl_context=TLS)
m.login("carol", "carol-pw")
assert m.select("INBOX")[1] == [b"1"]
m.logout()
print("ok")
"#,
    );
    assert_eq!(out.trim(), "ok");
}

fn succeed(cmd: &mut Command, input: &[u8]) -> String {
    let out = run(cmd, input, Duration::from_secs(60));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn swaks_curl_mutt_mbsync_and_fetchmail() {
    let server = MailServer::start(&[]);
    let p = server.ports;
    let cert = server.cert();
    let home = TempDir::new("clients");

    // swaks over implicit TLS with AUTH LOGIN.
    let out = succeed(
        Command::new(require("swaks"))
            .args([
                "--server",
                &format!("127.0.0.1:{}", p.submissions),
                "--tls-on-connect",
            ])
            .args([
                "--auth",
                "LOGIN",
                "--auth-user",
                "alice",
                "--auth-password",
                "alice-pw",
            ])
            .args(["--from", "alice@example.test", "--to", "bob@example.test"])
            .args(["--h-From", "alice@example.test", "--h-Subject", "via swaks"]),
        b"",
    );
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");

    // curl submits over STARTTLS, checking the certificate.
    let message = home.path().join("message.eml");
    std::fs::write(
        &message,
        message_text("alice@example.test", "bob@example.test", "via-curl"),
    )
    .unwrap();
    succeed(
        Command::new(require("curl"))
            .args(["-sS", "--ssl-reqd", "--cacert"])
            .arg(&cert)
            .arg(format!("smtp://127.0.0.1:{}", p.submission))
            .args([
                "--user",
                "alice:alice-pw",
                "--mail-from",
                "alice@example.test",
            ])
            .args(["--mail-rcpt", "bob@example.test", "--upload-file"])
            .arg(&message),
        b"",
    );

    // mutt in batch mode through submission.
    let muttrc = home.path().join("muttrc");
    std::fs::write(
        &muttrc,
        format!(
            "set smtp_url=\"smtp://alice@127.0.0.1:{}/\"\nset smtp_pass=\"alice-pw\"\n\
             set ssl_starttls=yes\nset ssl_force_tls=yes\nset certificate_file=\"{}\"\n\
             set from=\"alice@example.test\"\nset use_from=yes\nset realname=\"Alice\"\n\
             set record=\"\"\nset folder=\"{d}\"\nset spoolfile=\"{d}\"\nset mbox_type=Maildir\n",
            p.submission,
            cert.display(),
            d = home.path().display()
        ),
    )
    .unwrap();
    succeed(
        Command::new(require("mutt"))
            .args(["-n", "-F"])
            .arg(&muttrc)
            .args(["-s", "via mutt", "bob@example.test"])
            .env("HOME", home.path()),
        b"written with mutt\n",
    );
    let inbox = server.wait_inbox("bob", 3, Duration::from_secs(10));
    assert_eq!(inbox.len(), 3, "{}", server.log());
    for subject in [
        "Subject: via swaks",
        "Subject: via-curl",
        "Subject: via mutt",
    ] {
        assert!(
            inbox.iter().any(|m| m.contains(subject)),
            "{subject} missing"
        );
    }
    assert!(
        inbox.iter().all(|m| m.contains("with ESMTPSA")),
        "authenticated over TLS"
    );

    // curl reads one message over IMAPS and lists over POP3S.
    let fetched = succeed(
        Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(&cert)
            .arg(format!("imaps://127.0.0.1:{}/INBOX;UID=1", p.imaps))
            .args(["--user", "bob:bob-pw"]),
        b"",
    );
    assert!(fetched.contains("Subject: via swaks"), "{fetched}");
    let listed = succeed(
        Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(&cert)
            .arg(format!("pop3s://127.0.0.1:{}/", p.pop3s))
            .args(["--user", "bob:bob-pw"]),
        b"",
    );
    assert_eq!(listed.lines().count(), 3, "{listed}");

    // mbsync mirrors bob's INBOX and pushes a flag back.
    let local = home.path().join("mirror");
    let rc = home.path().join("mbsyncrc");
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount test\nHost 127.0.0.1\nPort {}\nUser bob\nPass bob-pw\nSSLType STARTTLS\nCertificateFile {}\n\n\
             IMAPStore remote\nAccount test\n\n\
             MaildirStore local\nPath {d}/\nInbox {d}/INBOX\nSubFolders Verbatim\n\n\
             Channel sync\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nSync All\nSyncState *\n",
            p.imap,
            cert.display(),
            d = local.display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(&local).unwrap();
    let mbsync = || {
        succeed(
            Command::new(require("mbsync"))
                .arg("-c")
                .arg(&rc)
                .arg("-a")
                .env("HOME", home.path()),
            b"",
        )
    };
    mbsync();
    let mirrored: Vec<PathBuf> = ["new", "cur"]
        .iter()
        .flat_map(|s| {
            std::fs::read_dir(local.join("INBOX").join(s))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
        })
        .collect();
    assert_eq!(mirrored.len(), 3);
    assert!(
        local.join("Sent").exists() && local.join("Trash").exists(),
        "special-use folders synced"
    );
    // Flag one message locally (maildir flag F) and sync it up.
    let one = &mirrored[0];
    let name = one.file_name().unwrap().to_string_lossy().into_owned();
    let flagged = if name.contains(":2,") {
        format!("{name}F")
    } else {
        format!("{name}:2,F")
    };
    std::fs::rename(one, local.join("INBOX/cur").join(flagged)).unwrap();
    mbsync();
    let flags = server.python(
        r#"
m = imaplib.IMAP4_SSL(H, P["IMAPS"], ssl_context=TLS)
m.login("bob", "bob-pw")
m.select("INBOX", readonly=True)
print(m.search(None, "FLAGGED")[1][0].decode())
"#,
    );
    assert_eq!(flags.split_whitespace().count(), 1, "{flags}");

    // fetchmail downloads over POP3 with STLS and deletes.
    let delivered = home.path().join("fetched");
    let rcfile = home.path().join("fetchmailrc");
    std::fs::write(
        &rcfile,
        format!(
            "set no syslog\npoll 127.0.0.1 service {} protocol POP3 uidl auth password:\n\
             \tuser \"bob\" there with password \"bob-pw\" is \"bob\" here\n\
             \tsslproto 'tls1.2+' sslcertck sslcertfile \"{}\" sslcommonname \"mail.example.test\"\n\
             \tfetchall no keep mda \"/bin/sh -c 'cat >> {}'\"\n",
            p.pop3,
            cert.display(),
            delivered.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&rcfile).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    std::fs::set_permissions(&rcfile, perms).unwrap();
    succeed(
        Command::new(require("fetchmail"))
            .args(["--nodetach", "-f"])
            .arg(&rcfile)
            .env("FETCHMAILHOME", home.path())
            .env("HOME", home.path()),
        b"",
    );
    let fetched = std::fs::read_to_string(&delivered).unwrap();
    for subject in [
        "Subject: via swaks",
        "Subject: via-curl",
        "Subject: via mutt",
    ] {
        assert!(fetched.contains(subject), "{subject} not fetched");
    }
    assert!(
        server.inbox("bob").is_empty(),
        "fetchmail deleted what it fetched"
    );
}

#[test]
fn quick_start_runs_on_built_in_defaults() {
    let cwd = TempDir::new("quick-start");
    let start = || {
        let out = std::fs::File::create(cwd.path().join("stdout")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mail-server"))
            .current_dir(cwd.path())
            .stdout(out)
            .stderr(std::fs::File::create(cwd.path().join("stderr")).unwrap())
            .spawn()
            .unwrap();
        let daemon = Daemon {
            child,
            name: "mail-server".into(),
        };
        for port in [2525, 5587, 4465, 1143, 1993, 1110, 1995] {
            wait_for_port(port, "mail-server on its default ports");
        }
        daemon
    };
    let first = start();
    let printed = std::fs::read_to_string(cwd.path().join("stdout")).unwrap();
    let password = printed
        .split_whitespace()
        .skip_while(|w| *w != "password:")
        .nth(1)
        .unwrap_or_else(|| panic!("no password printed: {printed}"))
        .to_owned();
    let cert_before = std::fs::read(cwd.path().join("mail-data/tls/cert.pem")).unwrap();
    let mode = std::fs::metadata(cwd.path().join("mail-data"))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o700,
        "only the server reads its data"
    );
    let script = format!(
        r#"
import ssl, smtplib, imaplib
tls = ssl.create_default_context(cafile="mail-data/tls/cert.pem")
s = smtplib.SMTP("localhost", 5587)
s.starttls(context=tls)
s.login("demo", "{password}")
s.sendmail("demo@localhost", ["demo@localhost"], "From: demo@localhost\r\nSubject: first mail\r\n\r\nhello\r\n")
s.quit()
m = imaplib.IMAP4("localhost", 1143)
m.starttls(ssl_context=tls)
m.login("demo", "{password}")
m.select("INBOX")
print(m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1].decode().strip())
"#
    );
    let out = run(
        Command::new("python3").arg("-").current_dir(cwd.path()),
        script.as_bytes(),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Subject: first mail"
    );
    drop(first);

    // A second start keeps the password and the certificate, and prints no password.
    let _second = start();
    let printed = std::fs::read_to_string(cwd.path().join("stdout")).unwrap();
    assert!(
        !printed.contains(&password) && printed.contains("printed at first start"),
        "{printed}"
    );
    assert_eq!(
        std::fs::read(cwd.path().join("mail-data/tls/cert.pem")).unwrap(),
        cert_before
    );
}

#[test]
fn a_message_past_its_lifetime_bounces_as_expired() {
    let (_dns, _config, server) = relaying_server(
        "down IN MX 10 mx\nmx IN A 127.0.0.4\n",
        "retry_secs = [1]\nlifetime_secs = 3\n",
        free_port(),
    );
    submit(
        &server,
        &["someone@down.remote.test"],
        "From: alice@example.test\r\nSubject: never arrives\r\n\r\nhi\r\n",
    );
    let inbox = server.wait_inbox("alice", 1, Duration::from_secs(30));
    assert_eq!(inbox.len(), 1, "{}", server.log());
    let bounce = &inbox[0];
    assert!(
        bounce.contains("Final-Recipient: rfc822; someone@down.remote.test"),
        "{bounce}"
    );
    assert!(
        bounce.contains("Status: 4.4.1") && bounce.contains("delivery time expired"),
        "{bounce}"
    );
    let attempts = server.log().matches("deferred").count();
    assert!(attempts >= 2, "retried before expiring:\n{}", server.log());
}
