//! imap-server against IMAP software nobody here wrote: Python's imaplib,
//! curl, mbsync and fetchmail, over loopback.

use std::process::Command;
use std::time::Duration;

use sansmail_test_support::{
    IMAP_ONE as ONE, TempDir, imap_server_with_two_messages as server, maildir_messages, python,
    require, run,
};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn imaplib_runs_every_command_it_has() {
    let (root, server) = server(&[]);
    let new_dir = root.path().join("alice/Maildir/new");
    let out = python(
        r#"
import imaplib, os, ssl, time, socket
port = int(os.environ["PORT"])
M = imaplib.IMAP4("127.0.0.1", port)
assert "LOGINDISABLED" in M.capabilities and "STARTTLS" in M.capabilities
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
M.starttls(ssl_context=ctx)
assert "AUTH=PLAIN" in M.capabilities, M.capabilities
typ, _ = M.authenticate("PLAIN", lambda _: b"\0alice\0secret pw")
assert typ == "OK"
def ok(r):
    typ, data = r
    assert typ == "OK", (typ, data)
    return data
print("noop", ok(M.noop()))
print("capability", "IDLE" in ok(M.capability())[0].decode())
print("namespace", ok(M.namespace()))
print("list", sorted(ok(M.list())))
ok(M.create("Work")); ok(M.create("Work.2024")); ok(M.rename("Work", "Job"))
print("list2", sorted(x.decode() for x in ok(M.list('""', "Job*"))))
ok(M.subscribe("Job")); print("lsub", ok(M.lsub('""', "Job")))
ok(M.unsubscribe("Job")); ok(M.delete("Job.2024")); ok(M.delete("Job"))
print("status", ok(M.status("INBOX", "(MESSAGES UIDNEXT UNSEEN SIZE)")))
print("examine", ok(M.select("INBOX", readonly=True)))
print("store-ro", M.store("1", "+FLAGS", "\\Seen")[0])
print("select", ok(M.select("INBOX")))
print("fetch", ok(M.fetch("1:2", "(UID FLAGS RFC822.SIZE ENVELOPE)")))
print("bodystructure", ok(M.fetch("2", "(BODYSTRUCTURE)")))
print("body", ok(M.fetch("2", "(BODY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[2])")))
print("partial", ok(M.fetch("1", "(BODY.PEEK[TEXT]<0.5>)")))
print("search", ok(M.search(None, "SUBJECT", "one")))
M.literal = "GR\u00dc\u00dfE".encode()
print("search-utf8", ok(M.search("UTF-8", "BODY")))
print("sort", ok(M.sort("(REVERSE DATE)", "UTF-8", "ALL")))
print("thread", ok(M.thread("REFERENCES", "UTF-8", "ALL")))
print("store", ok(M.store("1", "+FLAGS", "(\\Flagged $Important)")))
print("uid-search", ok(M.uid("SEARCH", None, "FLAGGED")))
print("uid-fetch", ok(M.uid("FETCH", "1", "(FLAGS)")))
print("copy", ok(M.copy("1", "Trash")))
print("move", ok(M.uid("MOVE", "2", "Junk")))
print("append", ok(M.append("INBOX", "(\\Draft)", imaplib.Time2Internaldate(time.time()), b"Subject: appended\r\n\r\nhi\r\n")))
print("check", ok(M.check()))
ok(M.store("1", "+FLAGS", "\\Deleted"))
print("expunge", ok(M.expunge()))
print("uid-expunge", M.uid("EXPUNGE", "999")[0])
print("quota", ok(M.getquotaroot("INBOX")), ok(M.getquota('""')))
print("setquota", M.setquota('""', "(STORAGE 10)")[0])
print("id", ok(M.xatom("ID", '("name" "imaplib")')))
for name, call in [("myrights", lambda: M.myrights("INBOX")), ("getacl", lambda: M.getacl("INBOX")),
                   ("setacl", lambda: M.setacl("INBOX", "bob", "lr")), ("deleteacl", lambda: M.deleteacl("INBOX", "bob")),
                   ("getannotation", lambda: M.getannotation("INBOX", "/comment", "value.shared")),
                   ("proxyauth", lambda: M.proxyauth("bob")), ("partial", lambda: M.partial("1", "BODY[]", "0", "10"))]:
    try:
        print("unsupported", name, call()[0])
    except M.error as e:
        print("unsupported", name, "BAD")
print("noop-after", ok(M.noop()))
# IDLE (raw: imaplib gained idle() only in 3.14), with a delivery from outside.
tag = M._new_tag()
M.send(tag + b" IDLE\r\n")
line = M.readline()
assert line.startswith(b"+"), line
open(os.path.join(os.environ["NEW"], "1800000000.M9P9Q9.test"), "wb").write(b"Subject: pushed\r\n\r\nx\r\n")
deadline = time.time() + 10
pushed = None
while time.time() < deadline:
    line = M.readline()
    if b"EXISTS" in line:
        pushed = line.strip()
        break
print("idle-pushed", pushed)
M.send(b"DONE\r\n")
while True:
    line = M.readline()
    if line.startswith(tag):
        print("idle-done", line.strip())
        break
print("unselect", ok(M.unselect()))
print("enable", ok(M.enable("CONDSTORE")))
print("close-state", M.close()[0] if False else "skipped")
print("logout", M.logout()[0])
"#,
        &[
            ("PORT", &server.port.to_string()),
            ("NEW", &new_dir.display().to_string()),
        ],
    );
    let line = |key: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} line in:\n{out}"))
            .to_owned()
    };
    assert!(
        line("list").contains("\\\\Sent") && line("list").contains("INBOX"),
        "{out}"
    );
    assert!(line("list2").contains("Job.2024"), "{out}");
    assert!(
        line("status").contains("MESSAGES 2") && line("status").contains("UNSEEN 2"),
        "{out}"
    );
    assert_eq!(line("store-ro"), "store-ro NO");
    assert!(line("select").contains("'2'"), "{out}");
    assert!(line("fetch").contains("ENVELOPE (\"Mon, 23 Nov 2026 10:00:00 +0000\" \"one\" ((\"Ann\" NIL \"ann\" \"example.com\"))"), "{out}");
    assert!(
        line("bodystructure").contains("\"MIXED\" (\"BOUNDARY\" \"b\")"),
        "{out}"
    );
    assert!(
        line("body").contains("BINARY[2] ~{3}") && line("body").contains("\\x00\\x01\\x02"),
        "{out}"
    );
    assert!(
        line("partial").contains("BODY[TEXT]<0> {5}") && line("partial").contains("first"),
        "{out}"
    );
    assert_eq!(line("search"), "search [b'1 2']");
    assert_eq!(line("search-utf8"), "search-utf8 [b'2']");
    assert_eq!(line("sort"), "sort [b'2 1']");
    assert_eq!(line("thread"), "thread [b'(1 2)']");
    assert!(line("store").contains("\\\\Flagged $Important"), "{out}");
    assert_eq!(line("uid-search"), "uid-search [b'1']");
    assert!(line("copy").contains("COPYUID"), "{out}");
    assert!(line("append").contains("APPENDUID"), "{out}");
    assert!(line("expunge").contains("b'1'"), "{out}");
    assert!(line("quota").contains("STORAGE"), "{out}");
    assert_eq!(line("setquota"), "setquota NO");
    assert!(
        line("id").contains("OK") || line("id").contains("ID completed"),
        "{out}"
    );
    for name in [
        "myrights",
        "getacl",
        "setacl",
        "deleteacl",
        "getannotation",
        "proxyauth",
        "partial",
    ] {
        assert_eq!(
            line(&format!("unsupported {name}")),
            format!("unsupported {name} BAD"),
            "{out}"
        );
    }
    assert!(line("noop-after").contains("NOOP completed"), "{out}");
    assert!(line("idle-pushed").contains("EXISTS"), "{out}");
    assert!(line("idle-done").contains("OK IDLE terminated"), "{out}");
    assert!(line("enable").contains("ENABLE completed"), "{out}");
    assert_eq!(line("logout"), "logout BYE");
    // The moved message is in Junk on disk, the deleted one gone from INBOX.
    let junk = maildir_messages(&root.path().join("alice/Maildir/.Junk"));
    assert!(junk.iter().any(|m| m.contains("Subject: Re: one")));
    let inbox = maildir_messages(&root.path().join("alice/Maildir"));
    assert!(!inbox.iter().any(|m| m.contains("Subject: one\r\n")));
}

#[test]
fn curl_lists_fetches_and_uploads() {
    let (root, server) = server(&[]);
    let curl = require("curl");
    let base = format!("imap://127.0.0.1:{}", server.port);
    let get = |url: &str, extra: &[&str]| {
        let out = run(
            Command::new(&curl)
                .args(["-s", "-S", "--ssl-reqd", "-k", "-u", "alice:secret pw"])
                .args(extra)
                .arg(url),
            b"",
            LIMIT,
        );
        assert!(
            out.status.success(),
            "curl {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list = get(&format!("{base}/"), &[]);
    assert!(list.contains("INBOX") && list.contains("Trash"), "{list}");
    let message = get(&format!("{base}/INBOX;UID=1"), &[]);
    assert_eq!(message, ONE);
    let search = get(&format!("{base}/INBOX?SUBJECT%20one"), &[]);
    assert!(search.contains("SEARCH 1 2"), "{search}");
    let upload = root.path().join("upload.eml");
    std::fs::write(&upload, "Subject: uploaded by curl\r\n\r\nhello\r\n").unwrap();
    get(&format!("{base}/Sent"), &["-T", upload.to_str().unwrap()]);
    let sent = maildir_messages(&root.path().join("alice/Maildir/.Sent"));
    assert!(
        sent.iter().any(|m| m.contains("uploaded by curl")),
        "{sent:?}"
    );
}

#[test]
fn mbsync_syncs_both_ways() {
    let (root, server) = server(&[]);
    let mbsync = require("mbsync");
    let local = TempDir::new("mbsync");
    let rc = local.path().join("mbsyncrc");
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount test\nHost 127.0.0.1\nPort {port}\nUser alice\nPass \"secret pw\"\nSSLType STARTTLS\n\
             CertificateFile {cert}\n\n\
             IMAPStore remote\nAccount test\n\n\
             MaildirStore local\nPath {dir}/\nInbox {dir}/INBOX\nSubFolders Verbatim\n\n\
             Channel sync\nFar :remote:\nNear :local:\nPatterns INBOX Trash\nCreate Both\nExpunge Both\nSync All\nSyncState *\n",
            port = server.port,
            cert = root.path().join("imap-server-cert.pem").display(),
            dir = local.path().display(),
        ),
    )
    .unwrap();
    let sync = || {
        let out = run(
            Command::new(&mbsync)
                .arg("-c")
                .arg(&rc)
                .args(["-a"])
                .env("HOME", local.path()),
            b"",
            LIMIT,
        );
        assert!(
            out.status.success(),
            "mbsync failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sync();
    let inbox = local.path().join("INBOX");
    let files = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        ["new", "cur"]
            .iter()
            .flat_map(|s| {
                std::fs::read_dir(dir.join(s))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
            })
            .collect()
    };
    assert_eq!(files(&inbox).len(), 2, "both messages arrived");
    // Near side: flag one as seen and flagged, delete the other.
    for f in files(&inbox) {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let base = name.split(":2,").next().unwrap().to_owned();
        let flags = if text.contains("Subject: one") {
            "FS"
        } else {
            "ST"
        };
        std::fs::rename(&f, inbox.join("cur").join(format!("{base}:2,{flags}"))).unwrap();
    }
    // Far side: a new message arrives.
    std::fs::write(
        root.path().join("alice/Maildir/new/1800000000.M7P7Q7.test"),
        "Subject: three\r\n\r\nthird\r\n",
    )
    .unwrap();
    sync();
    let remote = root.path().join("alice/Maildir");
    let remote_files: Vec<String> = files(&remote)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let contents = maildir_messages(&remote);
    assert!(
        !contents.iter().any(|m| m.contains("Subject: Re: one")),
        "the deletion reached the server: {remote_files:?}"
    );
    assert!(
        remote_files.iter().any(|n| n.ends_with(":2,FS")),
        "flags reached the server: {remote_files:?}"
    );
    let near: Vec<String> = files(&inbox)
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        near.iter().any(|m| m.contains("Subject: three")),
        "the new message reached the near side"
    );
    assert_eq!(near.len(), 2);
}

#[test]
fn fetchmail_over_imap_with_starttls() {
    let (root, server) = server(&[]);
    let home = TempDir::new("fetchmail-imap");
    let out = home.path().join("delivered");
    let rcfile = home.path().join("fetchmailrc");
    std::fs::write(
        &rcfile,
        format!(
            "set no syslog\n\
             poll 127.0.0.1 service {port} protocol IMAP auth password:\n\
             \tuser \"alice\" there with password \"secret pw\" is \"alice\" here\n\
             \tsslproto 'tls1.2+' no sslcertck\n\
             \tfetchall keep mda \"/bin/sh -c 'cat >> {out}'\"\n",
            port = server.port,
            out = out.display(),
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&rcfile).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    std::fs::set_permissions(&rcfile, perms).unwrap();
    let result = run(
        Command::new(require("fetchmail"))
            .args(["--nodetach", "-v", "-f"])
            .arg(&rcfile)
            .env("FETCHMAILHOME", home.path())
            .env("HOME", home.path()),
        b"",
        LIMIT,
    );
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(result.status.code(), Some(0), "{log}");
    assert!(
        log.contains("STARTTLS"),
        "fetchmail upgraded the connection: {log}"
    );
    let delivered = std::fs::read_to_string(&out).unwrap();
    assert!(
        delivered.contains("first body") && delivered.contains("Subject: Re: one"),
        "{delivered}"
    );
    // fetchmail marks what it fetched as seen.
    let names: Vec<String> = std::fs::read_dir(root.path().join("alice/Maildir/cur"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.contains(":2,") && n.split(":2,").nth(1).unwrap().contains('S')),
        "{names:?}"
    );
}

#[test]
fn imaplib_sessions_see_each_others_changes_at_the_right_time() {
    let (_root, server) = server(&["--allow-plaintext"]);
    let out = python(
        r#"
import imaplib, os
port = int(os.environ["PORT"])
def connect():
    M = imaplib.IMAP4("127.0.0.1", port)
    M.login("alice", "secret pw")
    return M
A, B = connect(), connect()
print("A select", A.select("INBOX")[1])
B.select("INBOX")
B.store("1", "+FLAGS", "(\\Flagged)")
B.store("2", "+FLAGS", "(\\Deleted)")
B.expunge()
B.append("INBOX", None, None, b"Subject: from B\r\n\r\nx\r\n")
# A FETCH by number: the expunge must wait, so numbers stay as A knows them;
# UID and FLAGS of the expunged message still answer, its body does not.
typ, data = A.fetch("2", "(UID)")
print("A fetch 2", data, "expunge during fetch", A.response("EXPUNGE"))
typ, data = A.fetch("2", "(BODY.PEEK[])")
print("A fetch body", typ, data)
# NOOP: now A learns everything, in order.
typ, data = A.noop()
print("A noop expunge", A.response("EXPUNGE"), "exists", A.response("EXISTS"))
typ, data = A.fetch("1:*", "(UID FLAGS)")
print("A after", sorted(set(d for d in data if d)))
"#,
        &[("PORT", &server.port.to_string())],
    );
    let line = |key: &str| {
        out.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} line in:\n{out}"))
            .to_owned()
    };
    assert_eq!(line("A select"), "A select [b'2']");
    // During FETCH 2 (by number) the flag change on 1 may be told, the expunge of 2 not.
    assert!(line("A fetch 2").contains("2 (UID 2)"), "{out}");
    assert!(
        line("A fetch 2").ends_with("expunge during fetch ('EXPUNGE', [None])"),
        "{out}"
    );
    assert!(
        line("A noop expunge").contains("('EXPUNGE', [b'2'])"),
        "{out}"
    );
    assert!(
        line("A fetch body").starts_with("A fetch body NO [b'[EXPUNGEISSUED]"),
        "{out}"
    );
    // (imaplib keeps SELECT's EXISTS too: the last one is NOOP's.)
    assert!(line("A noop expunge").ends_with("b'2'])"), "{out}");
    assert!(
        // A selected first: the messages that were new are \\Recent for it alone.
        line("A after").contains("1 (UID 1 FLAGS (\\\\Flagged \\\\Recent))")
            && line("A after").contains("2 (UID 3 FLAGS ())"),
        "{out}"
    );
}

#[test]
fn a_second_session_is_told_of_the_first_ones_changes_in_order() {
    let (_root, server) = server(&["--allow-plaintext"]);
    let out = python(
        r#"
import os, socket
port = int(os.environ["PORT"])
class S:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port)); self.f = self.s.makefile("rb"); self.n = 0
        self.f.readline()
    def run(self, cmd, literal=None):
        self.n += 1; tag = f"t{self.n}"
        if literal is None:
            self.s.sendall(f"{tag} {cmd}\r\n".encode())
        else:
            self.s.sendall(f"{tag} {cmd} {{{len(literal)}+}}\r\n".encode() + literal + b"\r\n")
        lines = []
        while True:
            l = self.f.readline().decode().rstrip("\r\n")
            if l.startswith(tag + " "):
                assert " OK " in l, (cmd, l)
                return lines
            lines.append(l)
A, B = S(), S()
for s in (A, B):
    s.run('LOGIN alice "secret pw"'); s.run("SELECT INBOX")
B.run("CREATE Other")
B.run("APPEND INBOX", b"Subject: three\r\n\r\n3\r\n")
print("noop after append", A.run("NOOP"))
B.run("STORE 1 +FLAGS (\\Seen)")
print("check after store", A.run("CHECK"))
B.run("COPY 1 INBOX")
B.run("STORE 2 +FLAGS ($Important)")
print("noop after copy and keyword", A.run("NOOP"))
B.run("STORE 2 +FLAGS (\\Deleted)"); B.run("EXPUNGE")
print("noop after expunge", A.run("NOOP"))
"#,
        &[("PORT", &server.port.to_string())],
    );
    let line = |key: &str| {
        out.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} in:\n{out}"))
            .to_owned()
    };
    assert!(line("noop after append").contains("'* 3 EXISTS'"), "{out}");
    assert!(
        line("check after store").contains("'* 1 FETCH (FLAGS (\\\\Seen"),
        "{out}"
    );
    let copy = line("noop after copy and keyword");
    assert!(copy.contains("'* 4 EXISTS'"), "{out}");
    let defined = copy.find("'* FLAGS (").expect("the new keyword is defined");
    let shown = copy.find("$Important)").expect("and shown");
    assert!(
        defined < shown,
        "FLAGS announces $Important before a FETCH shows it: {copy}"
    );
    assert!(
        line("noop after expunge").contains("'* 2 EXPUNGE'"),
        "{out}"
    );
}
