//! smtp-sink and smtp-send against peers nobody here wrote: Python's smtplib,
//! swaks, curl and Postfix, over loopback.

use std::process::Command;
use std::time::Duration;

use sansmail_test_support::{Postfix, Sink, TempDir, bin, python, require, run};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn smtplib_sends_to_several_recipients() {
    let sink = Sink::start(&["--domain", "example.org"]);
    let out = python(
        r#"
import os, smtplib
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "alice@example.com"; m["To"] = "bob@example.org, carol@example.org"; m["Subject"] = "hello"
m.set_content(".leading dot\nsecond line\n")
with smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]), local_hostname="client.test") as s:
    refused = s.send_message(m)
    print(sorted(s.esmtp_features))
    print("refused", refused)
"#,
        &[("PORT", &sink.port.to_string())],
    );
    assert!(
        out.contains("'pipelining'") && out.contains("'chunking'") && out.contains("'starttls'"),
        "{out}"
    );
    assert!(out.contains("refused {}"), "{out}");
    for owner in ["bob", "carol"] {
        let msgs = sink.messages(owner, 1, WAIT);
        assert_eq!(msgs.len(), 1);
        assert!(
            msgs[0].contains("Subject: hello") && msgs[0].contains("\n.leading dot"),
            "{}",
            msgs[0]
        );
        assert!(
            msgs[0].starts_with("Return-Path: <alice@example.com>\r\nReceived: from client.test")
        );
    }
}

#[test]
fn smtplib_starttls_then_auth_plain_and_login() {
    let sink = Sink::start(&["--user", "alice:s3cret"]);
    let out = python(
        r#"
import os, smtplib, ssl
port = int(os.environ["PORT"])
ctx = ssl.create_default_context(cafile=os.environ["CA"])
for mech in ["PLAIN", "LOGIN"]:
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test")
    s.ehlo()
    assert not s.has_extn("auth"), "AUTH offered before TLS"
    s.starttls(context=ctx)
    s.ehlo()
    assert s.has_extn("auth"), "AUTH missing after TLS"
    s.user, s.password = "alice", "s3cret"
    code, _ = s.auth(mech, getattr(s, "auth_" + mech.lower()))
    print(mech, code)
    s.sendmail("alice@localhost", ["alice@localhost"], b"Subject: " + mech.encode() + b"\r\n\r\nbody\r\n")
    s.quit()
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test")
s.starttls(context=ctx)
try:
    s.login("alice", "wrong")
except smtplib.SMTPAuthenticationError as e:
    print("refused", e.smtp_code, e.smtp_error.decode())
"#,
        &[
            ("PORT", &sink.port.to_string()),
            ("CA", sink.cert().to_str().unwrap()),
        ],
    );
    assert!(
        out.contains("PLAIN 235") && out.contains("LOGIN 235"),
        "{out}"
    );
    assert!(out.contains("refused 535 5.7.8"), "{out}");
    let msgs = sink.messages("alice", 2, WAIT);
    assert_eq!(msgs.len(), 2);
    assert!(msgs.iter().all(|m| m.contains("with ESMTPSA")));
}

#[test]
fn smtplib_smtputf8() {
    let sink = Sink::start(&[]);
    let out = python(
        r#"
import os, smtplib
with smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]), local_hostname="client.test") as s:
    s.ehlo()
    assert s.has_extn("smtputf8")
    msg = "From: jörg@localhost\r\nTo: ünïcode@localhost\r\nSubject: grüße\r\n\r\nHallo\r\n".encode()
    print(s.sendmail("jörg@localhost", ["ünïcode@localhost"], msg, mail_options=["SMTPUTF8", "BODY=8BITMIME"]))
    try:
        s.sendmail("jörg@localhost", ["x@localhost"], b"x")
    except smtplib.SMTPSenderRefused as e:
        print("without SMTPUTF8:", e.smtp_code, e.smtp_error.decode())
"#,
        &[("PORT", &sink.port.to_string())],
    );
    assert!(out.contains("without SMTPUTF8: 553 5.6.7"), "{out}");
    let msgs = sink.messages("ünïcode", 1, WAIT);
    assert!(msgs[0].contains("Subject: grüße"), "{msgs:?}");
}

#[test]
fn smtplib_lmtp_replies_per_recipient() {
    let sink = Sink::start(&["--lmtp", "--user", "alice:x", "--user", "bob:y"]);
    let out = python(
        r#"
import os, smtplib
s = smtplib.LMTP("127.0.0.1", int(os.environ["PORT"]), local_hostname="client.test")
refused = s.sendmail("sender@example.com", ["alice@localhost", "nobody@localhost", "bob@localhost"], b"Subject: lmtp\r\n\r\nhi\r\n")
print("refused", {k: v[0] for k, v in refused.items()})
s.quit()
"#,
        &[("PORT", &sink.port.to_string())],
    );
    assert!(out.contains("refused {'nobody@localhost': 550}"), "{out}");
    assert_eq!(sink.messages("alice", 1, WAIT).len(), 1);
    assert_eq!(sink.messages("bob", 1, WAIT).len(), 1);
    assert!(sink.messages("alice", 1, WAIT)[0].contains("with LMTP"));
}

#[test]
fn smtplib_sees_policy_refusals() {
    let sink = Sink::start(&["--user", "alice:x"]);
    let out = python(
        r#"
import os, smtplib
with smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]), local_hostname="client.test") as s:
    for rcpt in ["ghost@localhost", "someone@elsewhere.example"]:
        try:
            s.sendmail("a@example.com", [rcpt], b"x")
        except smtplib.SMTPRecipientsRefused as e:
            code, text = e.recipients[rcpt]
            print(rcpt, code, text.decode())
    print(s.noop())
"#,
        &[("PORT", &sink.port.to_string())],
    );
    assert!(
        out.contains("ghost@localhost 550 5.1.1 No such user"),
        "{out}"
    );
    assert!(
        out.contains("someone@elsewhere.example 550 5.7.1 Relaying denied"),
        "{out}"
    );
    assert!(out.contains("(250, b'2.0.0 OK')"), "{out}");
}

#[test]
fn swaks_pipelining_and_starttls_auth() {
    let swaks = require("swaks");
    let sink = Sink::start(&["--user", "alice:pw"]);
    let out = run(
        Command::new(&swaks).args([
            "--server",
            &sink.addr(),
            "--from",
            "bob@example.com",
            "--to",
            "alice@localhost",
            "--pipeline",
            "--header",
            "Subject: pipelined",
        ]),
        b"",
        WAIT,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // swaks sends MAIL, RCPT and DATA in one group and then reads the three replies.
    assert!(text.contains(" -> MAIL FROM:<bob@example.com>\n -> RCPT TO:<alice@localhost>\n -> DATA\n<-  250 2.1.0"), "{text}");
    let out = run(
        Command::new(&swaks).args([
            "--server",
            &sink.addr(),
            "--from",
            "alice@localhost",
            "--to",
            "alice@localhost",
            "-tls",
            "--auth",
            "LOGIN",
            "--auth-user",
            "alice",
            "--auth-password",
            "pw",
            "--header",
            "Subject: tls-auth",
        ]),
        b"",
        WAIT,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("235 2.7.0"), "{text}");
    let msgs = sink.messages("alice", 2, WAIT);
    assert!(msgs.iter().any(|m| m.contains("Subject: pipelined")));
    assert!(
        msgs.iter()
            .any(|m| m.contains("Subject: tls-auth") && m.contains("ESMTPSA"))
    );
}

#[test]
fn curl_smtp_plain_and_starttls() {
    let curl = require("curl");
    let sink = Sink::start(&["--user", "alice:pw"]);
    let dir = TempDir::new("curl");
    let msg = dir.path().join("msg.eml");
    std::fs::write(
        &msg,
        "From: a@example.com\r\nSubject: from curl\r\n\r\n.dot\r\nline\r\n",
    )
    .unwrap();
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let out = run(
        Command::new(&curl)
            .args([
                "-sS",
                &url,
                "--mail-from",
                "a@example.com",
                "--mail-rcpt",
                "alice@localhost",
                "-T",
            ])
            .arg(&msg),
        b"",
        WAIT,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        Command::new(&curl)
            .args(["-sS", &url, "--ssl-reqd", "--cacert"])
            .arg(sink.cert())
            .args([
                "--user",
                "alice:pw",
                "--mail-from",
                "alice@localhost",
                "--mail-rcpt",
                "alice@localhost",
                "-T",
            ])
            .arg(&msg),
        b"",
        WAIT,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = sink.messages("alice", 2, WAIT);
    assert_eq!(msgs.len(), 2);
    assert!(
        msgs.iter()
            .all(|m| m.contains("Subject: from curl\r\n\r\n.dot\r\nline\r\n"))
    );
    assert!(msgs.iter().any(|m| m.contains("ESMTPSA")));
}

#[test]
fn postfix_relays_into_smtp_sink_over_starttls() {
    let sink = Sink::start(&[]);
    let postfix = Postfix::start(&format!(
        "relayhost = [127.0.0.1]:{}\nsmtp_tls_security_level = may",
        sink.port
    ));
    let swaks = require("swaks");
    let out = run(
        Command::new(&swaks).args([
            "--server",
            &postfix.addr(),
            "--from",
            "a@example.com",
            "--to",
            "relayed@localhost",
            "--header",
            "Subject: through postfix",
        ]),
        b"",
        WAIT,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let msgs = sink.messages("relayed", 1, WAIT);
    assert_eq!(
        msgs.len(),
        1,
        "nothing arrived; postfix log:\n{}",
        postfix.log()
    );
    // Postfix's SMTP client negotiated STARTTLS with smtp-sink.
    assert!(
        msgs[0].contains("Received: from postfix.test") && msgs[0].contains("with ESMTPS"),
        "{}",
        msgs[0]
    );
    assert!(
        postfix.log().contains("status=sent (250 2.0.0"),
        "{}",
        postfix.log()
    );
}

#[test]
fn postfix_delivers_over_lmtp_into_smtp_sink() {
    let sink = Sink::start(&["--lmtp", "--user", "one:x", "--user", "two:y"]);
    let postfix = Postfix::start(&format!(
        "default_transport = lmtp:inet:127.0.0.1:{}",
        sink.port
    ));
    let out = run(
        Command::new(require("swaks")).args([
            "--server",
            &postfix.addr(),
            "--from",
            "a@example.com",
            "--to",
            "one@localhost,two@localhost,three@localhost",
        ]),
        b"",
        WAIT,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(sink.messages("one", 1, WAIT).len(), 1, "{}", postfix.log());
    assert_eq!(sink.messages("two", 1, WAIT).len(), 1, "{}", postfix.log());
    // The refused recipient is bounced by Postfix, with our reply in its log.
    let deadline = std::time::Instant::now() + WAIT;
    while !postfix.log().contains("three@localhost") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        postfix.log().contains("550 5.1.1 No such user"),
        "{}",
        postfix.log()
    );
}

#[test]
fn bdat_over_a_real_socket() {
    // Exim's BDAT is tested below; no packaged client sends BINARYMIME
    // chunks with NUL octets, so Python's socket module does here.
    let sink = Sink::start(&[]);
    let out = python(
        r#"
import os, socket
s = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])))
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        line = f.readline().decode()
        lines.append(line.strip())
        if line[3] == " ":
            return lines
reply()
s.sendall(b"EHLO client.test\r\n"); print(reply()[-1])
body1 = b"Subject: bdat\r\n\r\n"
body2 = b"binary \x00 ok\r\n.\r\nend\r\n"
s.sendall(b"MAIL FROM:<a@example.com> BODY=BINARYMIME\r\nRCPT TO:<chunky@localhost>\r\nBDAT %d\r\n" % len(body1) + body1 + b"BDAT %d LAST\r\n" % len(body2) + body2)
for _ in range(4):
    print(reply()[-1])
s.sendall(b"QUIT\r\n"); print(reply()[-1])
"#,
        &[("PORT", &sink.port.to_string())],
    );
    assert!(
        out.contains("250 2.0.0 17 octets received") && out.contains("250 2.0.0 Message accepted"),
        "{out}"
    );
    let msgs = sink.messages("chunky", 1, WAIT);
    assert!(
        msgs[0].ends_with("Subject: bdat\r\n\r\nbinary \0 ok\r\n.\r\nend\r\n"),
        "{:?}",
        msgs[0]
    );
}

#[test]
fn bad_arguments_and_unusable_ports_exit_non_zero() {
    let sink = Sink::start(&[]);
    let out = run(Command::new(bin("smtp-sink")).args(["--bogus"]), b"", WAIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument"));
    let dir = TempDir::new("busy");
    let out = run(
        Command::new(bin("smtp-sink"))
            .args(["--listen", &sink.addr(), "--maildir"])
            .arg(dir.path()),
        b"",
        WAIT,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen on"));
    let out = run(
        Command::new(bin("smtp-sink")).args(["--maildir", "/proc/no-such-place"]),
        b"",
        WAIT,
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn exim_sends_bdat_over_starttls_into_smtp_sink() {
    let sink = Sink::start(&[]);
    let mut body = b"Subject: via exim\r\n\r\n.a line with a leading dot\r\n".to_vec();
    for i in 0..3000 {
        body.extend_from_slice(
            format!("line {i} of a message long enough to be worth chunking\r\n").as_bytes(),
        );
    }
    let log = sansmail_test_support::exim_send(
        sink.port,
        "sender@example.com",
        "chunked@localhost",
        &body,
    );
    // "K": Exim sent the message with CHUNKING; "X=TLS": over STARTTLS.
    let delivery = log
        .lines()
        .find(|l| l.contains("=> chunked@localhost"))
        .unwrap_or_else(|| panic!("no delivery in exim's log:\n{log}"));
    assert!(
        delivery.contains(" K ")
            && delivery.contains("X=TLS")
            && delivery.contains("C=\"250 2.0.0"),
        "{delivery}"
    );
    let msgs = sink.messages("chunked", 1, WAIT);
    assert_eq!(msgs.len(), 1);
    assert!(
        msgs[0].contains("\r\n\r\n.a line with a leading dot\r\n")
            && msgs[0].ends_with("line 2999 of a message long enough to be worth chunking\r\n")
    );
}
