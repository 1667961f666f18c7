//! Two mail-server instances on one PostgreSQL database (a private cluster
//! made with initdb and started with pg_ctl on a loopback port): what one
//! does, the other's sessions see; the queue is shared with leases; the
//! database going away gives temporary failures and loses nothing.

use std::process::Command;
use std::time::Duration;

use sansmail_test_support::{MailServer, Postgres, bin, run};

/// Makes the tables with `mail-server migrate`; returns what it printed.
fn migrate(url: &str) -> String {
    let out = run(
        Command::new(bin("mail-server")).args(["migrate", "--store-url", url]),
        b"",
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two instances sharing `cluster`, each with `extra` arguments.
fn two_instances(cluster: &Postgres, extra: &[&str]) -> (MailServer, MailServer) {
    let url = cluster.url();
    let mut args = vec!["--store-url", url.as_str(), "--allow-plaintext"];
    args.extend_from_slice(extra);
    (MailServer::start(&args), MailServer::start(&args))
}

#[test]
fn mail_delivered_through_one_instance_reaches_an_idle_session_on_the_other_within_a_second() {
    let cluster = Postgres::start();
    assert_eq!(
        migrate(&cluster.url()),
        "store: version 0 -> 1\nserver: version 0 -> 1\n"
    );
    assert_eq!(
        migrate(&cluster.url()),
        "store: version 1, current\nserver: version 1, current\n"
    );
    let (a, b) = two_instances(&cluster, &[]);
    // B's session idles on INBOX while A takes a message over SMTP.
    let script = format!(
        r#"
import threading
b = imaplib.IMAP4("127.0.0.1", {b_imap})
b.login("alice", "alice-pw")
b.select("INBOX")
b.send(b"i1 IDLE\r\n")
assert b.readline().startswith(b"+"), "no continuation"
def send():
    s = smtplib.SMTP("127.0.0.1", {a_smtp})
    s.sendmail("carol@remote.test", ["alice@example.test"],
               "From: carol@remote.test\r\nTo: alice@example.test\r\nSubject: across\r\n\r\nhello\r\n")
    s.quit()
    global accepted
    accepted = time.monotonic()
accepted = None
sender = threading.Thread(target=send)
sender.start()
line = b.readline()
seen = time.monotonic()
sender.join()
assert line == b"* 1 EXISTS\r\n", line
took = seen - accepted
assert took < 1.0, took
b.send(b"DONE\r\n")
while not (line := b.readline()).startswith(b"i1 "):
    assert line.startswith(b"* "), line
assert line.startswith(b"i1 OK"), line
# B sets a flag; A's session sees it with the same mod-sequence.
b.store("1", "+FLAGS", "(\\Flagged)")
a = imaplib.IMAP4("127.0.0.1", {a_imap})
a.login("alice", "alice-pw")
a.enable("CONDSTORE")
a.select("INBOX")
deadline = time.monotonic() + 1
while True:
    typ, data = a.fetch("1", "(FLAGS MODSEQ)")
    if b"\\Flagged" in data[0] or time.monotonic() > deadline:
        break
    a.noop()
assert b"\\Flagged" in data[0], data
typ, bdata = b.fetch("1", "(FLAGS MODSEQ)")
modseq = lambda d: d[0].split(b"MODSEQ (")[1].split(b")")[0]
assert modseq(data) == modseq(bdata), (data, bdata)
# The message reads the same on both.
typ, body_a = a.fetch("1", "(BODY.PEEK[])")
typ, body_b = b.fetch("1", "(BODY.PEEK[])")
assert body_a[0][1] == body_b[0][1]
assert b"Subject: across" in body_a[0][1]
print(f"{{took:.3f}}")
"#,
        b_imap = b.ports.imap,
        a_smtp = a.ports.smtp,
        a_imap = a.ports.imap,
    );
    let took = a.python(&script);
    eprintln!("IDLE on B saw A's delivery after {} s", took.trim());
}
