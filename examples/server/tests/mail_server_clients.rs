//! mail-server with the clients people use: Python's smtplib, imaplib and
//! poplib, swaks, curl, mutt, mbsync and fetchmail, and the Quick start on
//! built-in defaults.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use sansmail_test_support::*;

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
line = m.readline()
while line.startswith(b"* "):  # * 1 RECENT, for this IMAP4rev1 client
    line = m.readline()
assert line.startswith(b"i1 OK"), line
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

/// Three messages for bob, submitted by alice, as the mirroring and
/// downloading peers find them.
fn three_for_bob(server: &MailServer) -> [&'static str; 3] {
    let subjects = ["first", "second", "third"];
    for subject in subjects {
        submit(
            server,
            &["bob@example.test"],
            &message_text("alice@example.test", "bob@example.test", subject),
        );
    }
    assert_eq!(
        server.wait_inbox("bob", 3, Duration::from_secs(10)).len(),
        3
    );
    subjects
}

#[test]
fn swaks_submits_over_implicit_tls_with_auth_login() {
    let server = MailServer::start(&[]);
    let out = succeed(
        Command::new(require("swaks"))
            .args([
                "--server",
                &format!("127.0.0.1:{}", server.ports.submissions),
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
    let inbox = server.wait_inbox("bob", 1, Duration::from_secs(10));
    assert!(inbox[0].contains("Subject: via swaks"), "{}", inbox[0]);
    assert!(inbox[0].contains("with ESMTPSA"), "authenticated over TLS");
}

#[test]
fn curl_submits_over_starttls_and_reads_over_imaps_and_pop3s() {
    let server = MailServer::start(&[]);
    let p = server.ports;
    let cert = server.cert();
    let home = TempDir::new("curl");
    let message = home.path().join("message.eml");
    std::fs::write(
        &message,
        message_text("alice@example.test", "bob@example.test", "via-curl"),
    )
    .unwrap();
    // The certificate is checked on every connection.
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
    let inbox = server.wait_inbox("bob", 1, Duration::from_secs(10));
    assert!(inbox[0].contains("with ESMTPSA"), "authenticated over TLS");
    let fetched = succeed(
        Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(&cert)
            .arg(format!("imaps://127.0.0.1:{}/INBOX;UID=1", p.imaps))
            .args(["--user", "bob:bob-pw"]),
        b"",
    );
    assert!(fetched.contains("Subject: via-curl"), "{fetched}");
    let listed = succeed(
        Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(&cert)
            .arg(format!("pop3s://127.0.0.1:{}/", p.pop3s))
            .args(["--user", "bob:bob-pw"]),
        b"",
    );
    assert_eq!(listed.trim(), format!("1 {}", inbox[0].len()), "{listed}");
}

#[test]
fn mutt_sends_through_submission() {
    let server = MailServer::start(&[]);
    let home = TempDir::new("mutt");
    let muttrc = home.path().join("muttrc");
    std::fs::write(
        &muttrc,
        format!(
            "set smtp_url=\"smtp://alice@127.0.0.1:{}/\"\nset smtp_pass=\"alice-pw\"\n\
             set ssl_starttls=yes\nset ssl_force_tls=yes\nset certificate_file=\"{}\"\n\
             set from=\"alice@example.test\"\nset use_from=yes\nset realname=\"Alice\"\n\
             set record=\"\"\nset folder=\"{d}\"\nset spoolfile=\"{d}\"\nset mbox_type=Maildir\n",
            server.ports.submission,
            server.cert().display(),
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
    let inbox = server.wait_inbox("bob", 1, Duration::from_secs(10));
    let message = &inbox[0];
    assert!(message.contains("Subject: via mutt"), "{message}");
    assert!(
        message.contains("From: Alice <alice@example.test>"),
        "{message}"
    );
    assert!(message.contains("written with mutt"), "{message}");
    assert!(message.contains("with ESMTPSA"), "authenticated over TLS");
}

#[test]
fn mbsync_mirrors_the_folders_and_pushes_a_flag_back() {
    let server = MailServer::start(&[]);
    three_for_bob(&server);
    let home = TempDir::new("mbsync");
    let local = home.path().join("mirror");
    let rc = home.path().join("mbsyncrc");
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount test\nHost 127.0.0.1\nPort {}\nUser bob\nPass bob-pw\nSSLType STARTTLS\nCertificateFile {}\n\n\
             IMAPStore remote\nAccount test\n\n\
             MaildirStore local\nPath {d}/\nInbox {d}/INBOX\nSubFolders Verbatim\n\n\
             Channel sync\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nSync All\nSyncState *\n",
            server.ports.imap,
            server.cert().display(),
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
}

#[test]
fn fetchmail_downloads_over_pop3_with_stls_and_deletes() {
    let server = MailServer::start(&[]);
    let subjects = three_for_bob(&server);
    let home = TempDir::new("fetchmail");
    let delivered = home.path().join("fetched");
    let rcfile = home.path().join("fetchmailrc");
    std::fs::write(
        &rcfile,
        format!(
            "set no syslog\npoll 127.0.0.1 service {} protocol POP3 uidl auth password:\n\
             \tuser \"bob\" there with password \"bob-pw\" is \"bob\" here\n\
             \tsslproto 'tls1.2+' sslcertck sslcertfile \"{}\" sslcommonname \"mail.example.test\"\n\
             \tfetchall no keep mda \"/bin/sh -c 'cat >> {}'\"\n",
            server.ports.pop3,
            server.cert().display(),
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
    for subject in subjects {
        assert!(
            fetched.contains(&format!("Subject: {subject}")),
            "{subject} not fetched"
        );
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
        let child = Command::new(bin("mail-server"))
            .current_dir(cwd.path())
            .stdout(out)
            .stderr(std::fs::File::create(cwd.path().join("stderr")).unwrap())
            .spawn()
            .unwrap();
        let daemon = Daemon {
            child,
            name: "mail-server".into(),
        };
        for port in [2525, 5587, 4465, 1143, 1993, 1110, 1995, 8443] {
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
