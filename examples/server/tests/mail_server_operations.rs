//! Running mail-server: SIGTERM, restarts, a crash under load, configuration
//! files and password hashes.

use std::process::Command;
use std::time::{Duration, Instant};

use sansmail_test_support::*;

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
    // Every listener closes at once (the session in flight goes on).
    let p = server.ports;
    let deadline = Instant::now() + Duration::from_secs(10);
    for port in [
        p.smtp,
        p.submission,
        p.submissions,
        p.imap,
        p.imaps,
        p.pop3,
        p.pop3s,
    ] {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            assert!(
                Instant::now() < deadline,
                "port {port} still takes connections after SIGTERM:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
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
    // Spool files and half-written messages in the staging directories.
    let spool = server.data().join("mail/.spool");
    let mut left = 0;
    for entry in std::fs::read_dir(&spool).unwrap().flatten() {
        left += match entry.file_type().unwrap().is_dir() {
            true => std::fs::read_dir(entry.path()).unwrap().count(),
            false => 1,
        };
    }
    assert_eq!(left, 0, "restart clears what the crash left half written");
}

#[test]
fn config_files_hashes_and_errors() {
    let bin = &bin("mail-server");
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
