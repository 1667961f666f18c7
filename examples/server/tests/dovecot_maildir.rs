//! One maildir, two servers: Dovecot serves what mail-server wrote, and
//! mail-server serves what Dovecot wrote, with the same folders,
//! subscriptions, flags and keywords (and, from Dovecot, the same UIDs).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sansmail_test_support::*;

/// Copies a maildir tree as an administrator moving mail would.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let out = run(
        Command::new("cp").arg("-a").arg(from).arg(to),
        b"",
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "cp failed");
}

/// What a client sees of a mailbox store: folders with their
/// subscriptions, and each message's subject, flags and UID.
const INSPECT: &str = r#"
import imaplib, os, email, re
m = imaplib.IMAP4("127.0.0.1", int(os.environ["PORT"]))
m.login(os.environ["USER_NAME"], os.environ["PASS"])
def names(lines):
    out = []
    for l in lines:
        if l is None:
            continue
        l = l.decode()
        name = l.rsplit(' "." ', 1)[1].strip('"')
        out.append(name)
    return sorted(out)
print("folders", names(m.list()[1]))
print("subscribed", names(m.lsub()[1]))
for folder in ["INBOX", "Work.Projects", "Entw&APw-rfe"]:
    typ, _ = m.select(folder, readonly=True)
    typ, data = m.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    rows = []
    for part in data:
        if isinstance(part, tuple):
            meta = part[0].decode()
            uid = re.search(r"UID (\d+)", meta).group(1)
            flags = sorted(f for f in re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split() if f != "\\Recent")
            subject = email.message_from_bytes(part[1])["Subject"]
            rows.append((subject, flags, uid))
    print(folder, sorted(rows))
m.logout()
"#;

fn inspect(port: u16, user: &str, pass: &str) -> String {
    python(
        INSPECT,
        &[
            ("PORT", &port.to_string()),
            ("USER_NAME", user),
            ("PASS", pass),
        ],
    )
}

/// Fills a store through IMAP: folders (with a non-ASCII name), a
/// subscription, messages with flags and keywords.
const FILL: &str = r#"
import imaplib, os
m = imaplib.IMAP4("127.0.0.1", int(os.environ["PORT"]))
m.login(os.environ["USER_NAME"], os.environ["PASS"])
assert m.create("Work")[0] == "OK"
assert m.create("Work.Projects")[0] == "OK"
assert m.create("Entw&APw-rfe")[0] == "OK"
assert m.subscribe("Work.Projects")[0] == "OK"
def put(folder, subject, flags):
    typ, data = m.append(folder, flags, None, f"From: a@example.test\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n".encode())
    assert typ == "OK", data
put("INBOX", "plain", None)
put("INBOX", "read and flagged", r"(\Seen \Flagged)")
put("INBOX", "labelled", r"($Forwarded Work \Answered)")
put("Work.Projects", "project", r"(\Draft)")
put("Entw&APw-rfe", "draft", r"($Junk)")
m.select("INBOX")
m.store("1", "+FLAGS", r"(\Deleted)")
m.store("1", "-FLAGS", r"(\Deleted)")
m.logout()
print("filled")
"#;

fn fill(port: u16, user: &str, pass: &str) {
    let out = python(
        FILL,
        &[
            ("PORT", &port.to_string()),
            ("USER_NAME", user),
            ("PASS", pass),
        ],
    );
    assert_eq!(out.trim(), "filled");
}

fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}

#[test]
fn dovecot_serves_what_mail_server_wrote() {
    let mut server = MailServer::start(&["--allow-plaintext"]);
    fill(server.ports.imap, "bob", "bob-pw");
    let ours = inspect(server.ports.imap, "bob", "bob-pw");
    assert!(server.stop(), "mail-server stops cleanly");
    let place = TempDir::new("to-dovecot");
    let maildir = place.path().join("Maildir");
    copy_tree(&server.data().join("mail/bob/Maildir"), &maildir);
    let mut perms = std::fs::metadata(place.path()).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(place.path(), perms).unwrap();
    let dovecot = Dovecot::start_imap_at("bob", "bob-pw", &maildir);
    let theirs = python(
        &INSPECT.replace(
            "m = imaplib.IMAP4(\"127.0.0.1\", int(os.environ[\"PORT\"]))",
            "import ssl\nm = imaplib.IMAP4(\"127.0.0.1\", int(os.environ[\"PORT\"]))\nm.starttls(ssl_context=ssl._create_unverified_context())",
        ),
        &[
            ("PORT", &dovecot.port.to_string()),
            ("USER_NAME", "bob"),
            ("PASS", "bob-pw"),
        ],
    );
    for key in ["folders", "subscribed"] {
        assert_eq!(
            line(&ours, key),
            line(&theirs, key),
            "\nours:\n{ours}\ntheirs:\n{theirs}"
        );
    }
    // Dovecot gives its own UIDs to mail it did not index; the rest is the same.
    let no_uids = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("folders") && !l.starts_with("subscribed"))
            .map(|l| {
                let mut t = l.to_owned();
                while let Some(i) = t.find(", '") {
                    let end = t[i + 3..].find('\'').map_or(t.len(), |j| i + 3 + j + 1);
                    t.replace_range(i..end, "");
                }
                t
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        no_uids(&ours),
        no_uids(&theirs),
        "\nours:\n{ours}\ntheirs:\n{theirs}"
    );
    assert!(line(&theirs, "INBOX").contains("'$Forwarded'"), "{theirs}");
    assert!(
        line(&theirs, "Entw&APw-rfe").contains("'$Junk'"),
        "{theirs}"
    );
}

#[test]
fn mail_server_serves_what_dovecot_wrote_with_its_uids() {
    let place = TempDir::new("from-dovecot");
    let mut perms = std::fs::metadata(place.path()).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(place.path(), perms).unwrap();
    let maildir = place.path().join("Maildir");
    std::fs::create_dir_all(&maildir).unwrap();
    let theirs = {
        let dovecot = Dovecot::start_imap_at("bob", "bob-pw", &maildir);
        let tls = |script: &str| {
            script.replace(
                "m = imaplib.IMAP4(\"127.0.0.1\", int(os.environ[\"PORT\"]))",
                "import ssl\nm = imaplib.IMAP4(\"127.0.0.1\", int(os.environ[\"PORT\"]))\nm.starttls(ssl_context=ssl._create_unverified_context())",
            )
        };
        let env = [
            ("PORT", dovecot.port.to_string()),
            ("USER_NAME", "bob".into()),
            ("PASS", "bob-pw".into()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(python(&tls(FILL), &env).trim(), "filled");
        python(&tls(INSPECT), &env)
    };
    // Dovecot stops; its maildir becomes bob's under mail-server.
    let mut server = MailServer::start(&["--allow-plaintext"]);
    assert!(server.stop());
    let target = server.data().join("mail/bob/Maildir");
    let _ = std::fs::remove_dir_all(&target);
    copy_tree(&maildir, &target);
    server.launch();
    // mail-server adds its default folders (Sent, Drafts...) at first login.
    let defaults = [
        "'Archive', ",
        "'Drafts', ",
        "'Junk', ",
        "'Sent', ",
        "'Trash', ",
    ];
    let ours = defaults
        .iter()
        .fold(inspect(server.ports.imap, "bob", "bob-pw"), |s, d| {
            s.replace(d, "")
        });
    for key in [
        "folders",
        "subscribed",
        "INBOX",
        "Work.Projects",
        "Entw&APw-rfe",
    ] {
        assert_eq!(
            line(&ours, key),
            line(&theirs, key),
            "\nours:\n{ours}\ntheirs:\n{theirs}"
        );
    }
    // Dovecot keeps lines as LF; IMAP sends them as CRLF, sized so.
    let out = python(
        r#"
import imaplib, os
m = imaplib.IMAP4("127.0.0.1", int(os.environ["PORT"]))
m.login("bob", "bob-pw")
m.select("INBOX")
typ, data = m.fetch("1", "(RFC822.SIZE BODY.PEEK[])")
size = int(data[0][0].decode().split("RFC822.SIZE ")[1].split()[0])
body = data[0][1]
assert size == len(body), (size, len(body))
assert b"\r\n" in body and b"\n" not in body.replace(b"\r\n", b""), body
print("ok")
"#,
        &[("PORT", &server.ports.imap.to_string())],
    );
    assert_eq!(out.trim(), "ok");
}
