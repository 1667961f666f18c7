//! mail-server's limits: each gives a clear error and keeps what was
//! already accepted.

use sansmail_test_support::*;

#[test]
fn limits_give_clear_errors_and_keep_what_was_accepted() {
    let config = TempDir::new("config");
    let file = config.path().join("limits.toml");
    std::fs::write(
        &file,
        "[limits]\nmax_connections_per_ip = 3\nmax_auth_failures = 6\nauth_penalty_max_secs = 1\nmax_message_size = 2000\nmax_recipients = 2\n",
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
# The server frees a session's place once its task ends, a moment after
# the 221 under load: give it that moment before counting from zero.
time.sleep(0.5)

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

# A phone with alice's old password keeps failing: each failure is
# answered later, but only alice-from-here is slowed, and nothing else.
m = imaplib.IMAP4(H, P["IMAP"])
m.starttls(ssl_context=TLS)
started = time.time()
for _ in range(3):
    try:
        m.login("alice", "wrong"); raise AssertionError("logged in")
    except imaplib.IMAP4.error:
        pass
assert time.time() - started >= 1.5, "failures are answered after a penalty"
# bob, behind the same address, logs in at once, over POP3 and IMAP.
started = time.time()
p = poplib.POP3(H, P["POP3"])
p.stls(context=TLS)
p.user("bob"); p.pass_("bob-pw"); p.quit()
b = imaplib.IMAP4(H, P["IMAP"])
b.starttls(ssl_context=TLS)
b.login("bob@example.test", "bob-pw"); b.logout()
assert time.time() - started < 1.0, "another user is not slowed"
# alice with the right password gets in too (and her count starts again).
m.login("alice@EXAMPLE.test", "alice-pw")
m.logout()
# Many failures from one address (a password sprayer) lock the whole
# address out of every service, the right password included.
for user in ["carol", "dave", "erin", "frank", "gina", "hank"]:
    c = imaplib.IMAP4(H, P["IMAP"])
    c.starttls(ssl_context=TLS)
    try:
        c.login(user, "guess"); raise AssertionError("logged in")
    except imaplib.IMAP4.error:
        pass
    c.logout()
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
    let log = server.log();
    assert!(log.contains("connection refused"), "{log}");
    assert!(
        log.contains("address locked out"),
        "lockouts are logged: {log}"
    );
}

#[test]
fn a_full_mailbox_refuses_more_and_keeps_what_it_has() {
    let config = TempDir::new("config");
    let file = config.path().join("quota.toml");
    std::fs::write(&file, "[limits]\nquota_mb = 1\n").unwrap();
    let server = MailServer::start(&["--config", file.to_str().unwrap()]);
    let out = server.python(r#"
s = smtplib.SMTP(H, P["SMTP"])
body = ("z" * 998 + "\r\n") * 600
s.sendmail("a@elsewhere.example", ["bob@example.test"], "Subject: first\r\n\r\n" + body)
expect_error(452, s.sendmail, "a@elsewhere.example", ["bob@example.test"], "Subject: second\r\n\r\n" + body)
s.quit()
m = imaplib.IMAP4(H, P["IMAP"])
m.starttls(ssl_context=TLS)
m.login("bob", "bob-pw")
typ, data = m.getquotaroot("INBOX")
assert typ == "OK", data
m.select("INBOX")
typ, data = m.append("INBOX", None, None, ("Subject: third\r\n\r\n" + body).encode())
assert typ == "NO" and b"OVERQUOTA" in data[0], (typ, data)
m.logout()
print("ok")
"#);
    assert_eq!(out.trim(), "ok");
    let bob = server.inbox("bob");
    assert_eq!(bob.len(), 1);
    assert!(bob[0].contains("Subject: first"));
}

#[test]
fn a_message_larger_than_memory_spooling_gets_its_trace_fields_once() {
    let server = MailServer::start(&[]);
    server.python(
        r#"
big = "Subject: large\r\n\r\n" + ("z" * 998 + "\r\n") * 2200
s = smtplib.SMTP("127.0.0.1", P["SMTP"])
s.sendmail("someone@elsewhere.example", ["bob@example.test"], big)
s.quit()
"#,
    );
    let inbox = server.wait_inbox("bob", 1, std::time::Duration::from_secs(10));
    assert_eq!(inbox.len(), 1);
    let message = &inbox[0];
    assert!(message.len() > 2_000_000);
    let head = &message[..message.find("\r\n\r\n").unwrap()];
    assert_eq!(head.matches("Return-Path:").count(), 1, "{head}");
    assert_eq!(head.matches("Received:").count(), 1, "{head}");
    assert!(message.ends_with(&format!("{}\r\n", "z".repeat(998))));
}
