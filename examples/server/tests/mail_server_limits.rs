//! mail-server's limits: each gives a clear error and keeps what was
//! already accepted.

use sansmail_test_support::*;

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
