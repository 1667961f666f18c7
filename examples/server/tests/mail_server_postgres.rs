//! Two mail-server instances on one PostgreSQL database (a private cluster
//! made with initdb and started with pg_ctl on a loopback port): what one
//! does, the other's sessions see; the queue is shared with leases; the
//! database going away gives temporary failures and loses nothing.

use std::process::Command;
use std::time::Duration;

use sansmail_test_support::{MailServer, Postgres, bin, run};

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
        cluster.migrate_for_mail_server(),
        "store: version 0 -> 1\nserver: version 0 -> 1\n"
    );
    assert_eq!(
        cluster.migrate_for_mail_server(),
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

/// A slow mail exchanger: it waits `delay` seconds before its greeting,
/// then takes every message, writing each one it acknowledged to `out`
/// (named by Message-ID; a second copy of one is a second file).
const SLOW_MX: &str = r#"
import os, socket, socketserver, threading, time, uuid
out, delay = os.environ["OUT"], float(os.environ["DELAY"])
class Session(socketserver.StreamRequestHandler):
    def handle(self):
        time.sleep(delay)
        w = lambda s: self.wfile.write(s.encode() + b"\r\n")
        w("220 slow.remote.test ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                w("250 slow.remote.test")
            elif verb == b"DATA":
                w("354 go on")
                data = b""
                while (l := self.rfile.readline()) not in (b".\r\n", b""):
                    data += l[1:] if l.startswith(b".") else l
                mid = [h for h in data.split(b"\r\n") if h.lower().startswith(b"message-id:")][0]
                name = mid.split(b"<")[1].split(b">")[0].decode() + "." + uuid.uuid4().hex
                open(os.path.join(out, name), "wb").write(data)
                w("250 2.0.0 taken")
            elif verb == b"QUIT":
                w("221 bye")
                return
            else:
                w("250 ok")
class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
Server(("127.0.0.1", int(os.environ["PORT"])), Session).serve_forever()
"#;

#[test]
fn a_killed_instances_queued_messages_are_delivered_by_the_other_exactly_once() {
    use sansmail_test_support::{Daemon, Nsd, TempDir, free_port, require, wait_for_port};
    let cluster = Postgres::start();
    cluster.migrate_for_mail_server();
    let mx_port = free_port();
    let received = TempDir::new("slow-mx");
    let _mx = Daemon {
        child: Command::new(require("python3"))
            .args(["-c", SLOW_MX])
            .env("OUT", received.path())
            .env("DELAY", "3")
            .env("PORT", mx_port.to_string())
            .spawn()
            .unwrap(),
        name: "slow mx".into(),
    };
    wait_for_port(mx_port, "the slow MX");
    let dns = Nsd::start(
        "remote.test",
        "$ORIGIN remote.test.\n$TTL 300\n\
         @ IN SOA ns.remote.test. admin.remote.test. 1 3600 600 86400 300\n\
         @ IN NS ns\nns IN A 127.0.0.1\n@ IN MX 10 mx\nmx IN A 127.0.0.1\n",
    );
    let config = TempDir::new("config");
    let file = config.path().join("mail-server.toml");
    std::fs::write(&file, "[queue]\nlease_secs = 4\nretry_secs = [1]\n").unwrap();
    let url = cluster.url();
    let (dns_addr, port) = (dns.addr().to_string(), mx_port.to_string());
    let args = [
        "--store-url",
        &url,
        "--allow-plaintext",
        "--config",
        file.to_str().unwrap(),
        "--dns",
        &dns_addr,
        "--remote-smtp-port",
        &port,
    ];
    let mut a = MailServer::start(&args);
    a.python(
        r#"
s = smtplib.SMTP("127.0.0.1", P["SUBMISSION"])
s.login("alice", "alice-pw")
for i in range(5):
    s.sendmail("alice@example.test", ["dave@remote.test"],
               f"From: alice@example.test\r\nTo: dave@remote.test\r\nMessage-ID: <m{i}@example.test>\r\nSubject: {i}\r\n\r\nbody {i}\r\n")
s.quit()
"#,
    );
    // A has taken all five and waits for the slow exchanger's greeting.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while cluster.psql("SELECT count(*) FROM queue WHERE leased_by IS NOT NULL") != "5" {
        assert!(
            std::time::Instant::now() < deadline,
            "A did not take the messages"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    a.kill();
    let b = MailServer::start(&args);
    // B takes them over once A's leases run out, and delivers each once.
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    while cluster.psql("SELECT count(*) FROM queue") != "0" {
        assert!(
            std::time::Instant::now() < deadline,
            "B did not deliver A's messages:\n{}",
            b.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut names: Vec<String> = std::fs::read_dir(received.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|n| n.rsplit_once('.').unwrap().0.to_owned())
        .collect();
    names.sort();
    let expected: Vec<String> = (0..5).map(|i| format!("m{i}@example.test")).collect();
    assert_eq!(names, expected, "each message exactly once");
    assert!(b.log().contains("message done"), "{}", b.log());
}

#[test]
fn users_tokens_vacations_lockouts_and_dkim_keys_are_shared_by_every_instance() {
    use sansmail_test_support::TempDir;
    let cluster = Postgres::start();
    let url = cluster.url();
    cluster.migrate_for_mail_server();
    // A DKIM key made in the database before the instances start.
    let made = run(
        Command::new(bin("mail-server")).args([
            "dkim-keygen",
            "example.test",
            "--ed25519",
            "--store-url",
            &url,
        ]),
        b"",
        Duration::from_secs(60),
    );
    let printed = String::from_utf8_lossy(&made.stdout).into_owned();
    assert!(made.status.success(), "{printed}");
    let record = printed.lines().last().unwrap().to_owned();
    assert!(record.starts_with("v=DKIM1; k=ed25519; p="), "{printed}");
    assert_eq!(
        cluster.psql("SELECT domain, selector FROM dkim_keys"),
        "example.test|s1"
    );

    let config = TempDir::new("config");
    let file = config.path().join("mail-server.toml");
    std::fs::write(
        &file,
        "[limits]\nmax_auth_failures = 3\nauth_penalty_max_secs = 0\n",
    )
    .unwrap();
    let (a, b) = two_instances(&cluster, &["--config", file.to_str().unwrap()]);

    // A user added through A's admin command logs in on B.
    let added = run(
        Command::new(bin("mail-server"))
            .args(["user", "add", "carol", "--data"])
            .arg(a.data()),
        b"carol-pw\n",
        Duration::from_secs(30),
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    b.python(
        r#"
deadline = time.monotonic() + 2
while True:
    try:
        m = imaplib.IMAP4("127.0.0.1", P["IMAP"])
        m.login("carol", "carol-pw")
        break
    except imaplib.IMAP4.error:
        assert time.monotonic() < deadline, "carol cannot log in on B"
        time.sleep(0.1)
m.logout()
"#,
    );

    // Mail submitted through B is signed with the database's key.
    let signature = b.python(&format!(
        r#"
import dkim
s = smtplib.SMTP("127.0.0.1", P["SUBMISSION"])
s.login("bob", "bob-pw")
s.sendmail("bob@example.test", ["alice@example.test"],
           "From: bob@example.test\r\nTo: alice@example.test\r\nSubject: signed\r\nMessage-ID: <s@example.test>\r\n\r\nsigned\r\n")
s.quit()
m = imaplib.IMAP4("127.0.0.1", P["IMAP"])
m.login("alice", "alice-pw")
m.select("INBOX")
deadline = time.monotonic() + 5
while True:
    typ, data = m.search(None, "HEADER", "Message-ID", "s@example.test")
    if data[0] or time.monotonic() > deadline:
        break
    time.sleep(0.1)
    m.noop()
typ, msg = m.fetch(data[0].split()[0], "(BODY.PEEK[])")
raw = msg[0][1]
record = """{record}""".encode()
assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record), raw
print([l for l in raw.split(b"\r\n") if l.startswith(b"DKIM-Signature")][0].decode())
"#
    ));
    assert!(signature.contains("d=example.test; s=s1"), "{signature}");

    // A JMAP API token issued in the database works on both instances,
    // and a vacation response set through A answers mail delivered by B.
    let issued = run(
        Command::new(bin("mail-server")).args(["token", "carol", "--store-url", &url]),
        b"",
        Duration::from_secs(30),
    );
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    let token = String::from_utf8_lossy(&issued.stdout).trim().to_owned();
    b.python(&format!(
        r#"
import json, urllib.request
insecure = ssl._create_unverified_context()
def jmap(port, body=None):
    url = f"https://127.0.0.1:{{port}}/jmap/" + ("api" if body else "session")
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
        headers={{"Authorization": "Bearer {token}", "Content-Type": "application/json"}})
    return json.load(urllib.request.urlopen(request, context=insecure))
for port in ({a_https}, {b_https}):
    session = jmap(port)
    assert session["username"] == "carol", session
account = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
done = jmap({a_https}, {{"using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:vacationresponse"],
    "methodCalls": [["VacationResponse/set", {{"accountId": account,
        "update": {{"singleton": {{"isEnabled": True, "subject": "Away", "textBody": "Back soon."}}}}}}, "0"]]}})
assert done["methodResponses"][0][1]["updated"] == {{"singleton": None}}, done
got = jmap({b_https}, {{"using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:vacationresponse"],
    "methodCalls": [["VacationResponse/get", {{"accountId": account}}, "0"]]}})
assert got["methodResponses"][0][1]["list"][0]["subject"] == "Away", got
s = smtplib.SMTP("127.0.0.1", P["SMTP"])
s.sendmail("erin@remote.test", ["carol@example.test"],
           "From: erin@remote.test\r\nTo: carol@example.test\r\nSubject: hello\r\nMessage-ID: <v@remote.test>\r\n\r\nhi\r\n")
s.quit()
"#,
        a_https = a.ports.https,
        b_https = b.ports.https,
    ));
    // B answered with the vacation reply A's JMAP set (the reply then
    // goes through the shared queue).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !b
        .log()
        .contains("vacation reply queued user=\"carol\" to=\"erin@remote.test\"")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no vacation reply:\n{}",
            b.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Three failed logins on A lock the address out on B too: B refuses
    // its connections.
    let locked = b.python(&format!(
        r#"
for user in ["x1", "x2", "x3"]:
    a = imaplib.IMAP4("127.0.0.1", {a_imap})
    try:
        a.login(user, "wrong")
        raise AssertionError("a wrong password was taken")
    except imaplib.IMAP4.error:
        pass
# B is asked without logging in: a success there would rightly clear
# the failures A may still be counting.
deadline = time.monotonic() + 2
while True:
    try:
        m = imaplib.IMAP4("127.0.0.1", P["IMAP"])
        m.noop()
        m.logout()
        assert time.monotonic() < deadline, "B still takes connections from the address"
        time.sleep(0.1)
    except (imaplib.IMAP4.error, ConnectionError, EOFError) as e:
        print(e)
        break
"#,
        a_imap = a.ports.imap
    ));
    assert!(!locked.trim().is_empty());
    assert_eq!(
        cluster.psql("SELECT failures, locked_until IS NOT NULL FROM login_failures"),
        "3|t"
    );
}

#[test]
fn a_database_restarted_under_load_gives_temporary_failures_and_loses_nothing_acknowledged() {
    let cluster = Postgres::start();
    cluster.migrate_for_mail_server();
    let (a, b) = two_instances(&cluster, &[]);
    // Senders on both instances run throughout; each message acknowledged
    // with 250 is written down, and every refusal must be temporary.
    let load = format!(
        r#"
import threading
stop = False
acked, refused, errors = [], [], []
def smtp_load(port, tag):
    n = 0
    while not stop:
        n += 1
        mid = f"{{tag}}{{n}}@load.test"
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=30)
            s.sendmail("load@remote.test", ["alice@example.test"],
                       f"From: load@remote.test\r\nTo: alice@example.test\r\nMessage-ID: <{{mid}}>\r\n\r\nload\r\n")
            acked.append(mid)
            s.quit()
        except smtplib.SMTPResponseException as e:
            (refused if 400 <= e.smtp_code < 500 else errors).append((mid, e.smtp_code))
        except smtplib.SMTPRecipientsRefused as e:
            code = list(e.recipients.values())[0][0]
            (refused if 400 <= code < 500 else errors).append((mid, code))
        time.sleep(0.02)
# Writes (APPEND) and reads of message octets (RETR) need the database.
m = imaplib.IMAP4("127.0.0.1", {b_imap})
m.login("bob", "bob-pw")
m.append("INBOX", None, None, b"Subject: first\r\n\r\nfirst\r\n")
m.logout()
def imap_probe(port):
    seen = []
    m = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    m.login("bob", "bob-pw")
    while not stop:
        typ, data = m.append("INBOX", None, None, b"Subject: probe\r\n\r\nprobe\r\n")
        if typ == "NO":
            assert b"[UNAVAILABLE]" in data[0], data
        seen.append(typ)
        time.sleep(0.05)
    m.logout()
    probes.append(seen)
def pop3_probe(port):
    seen = []
    while not stop:
        p = poplib.POP3("127.0.0.1", port, timeout=30)
        p.user("bob")
        p.pass_("bob-pw")
        try:
            p.retr(1)
            seen.append("+OK")
        except poplib.error_proto as e:
            assert str(e).startswith("b'-ERR"), e
            seen.append("-ERR")
        p.quit()
        time.sleep(0.05)
    probes.append(seen)
probes = []
threads = [threading.Thread(target=smtp_load, args=({a_smtp}, "a")),
           threading.Thread(target=smtp_load, args=({b_smtp}, "b")),
           threading.Thread(target=imap_probe, args=({b_imap},)),
           threading.Thread(target=pop3_probe, args=({a_pop3},))]
for t in threads: t.start()
open(os.environ["WORK"] + "/started", "w").close()
while not os.path.exists(os.environ["WORK"] + "/stop"):
    time.sleep(0.05)
stop = True
for t in threads: t.join()
assert not errors, errors
print(" ".join(acked))
print(len(refused))
print(" ".join(",".join(p) for p in probes))
"#,
        a_smtp = a.ports.smtp,
        b_smtp = b.ports.smtp,
        b_imap = b.ports.imap,
        a_pop3 = a.ports.pop3,
    );
    let child = sansmail_test_support::python_background(&a, &load);
    let work = a.dir.path().to_owned();
    sansmail_test_support::wait_for_file(&work.join("started"), "the load");
    std::thread::sleep(Duration::from_secs(1));
    cluster.stop();
    std::thread::sleep(Duration::from_secs(3));
    cluster.start_server();
    // Let both instances serve again before the load stops.
    std::thread::sleep(Duration::from_secs(4));
    std::fs::write(work.join("stop"), b"").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    let acked: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let refused: usize = lines.next().unwrap().parse().unwrap();
    let probes = lines.next().unwrap();
    assert!(refused > 0, "the outage refused nothing: {stdout}");
    assert!(
        probes.contains("NO") && probes.contains("-ERR"),
        "IMAP and POP3 saw no temporary failure: {probes}"
    );
    for probe in probes.split(' ') {
        assert!(
            probe.ends_with("OK") || probe.ends_with("+OK"),
            "not serving again after the restart: {probe}"
        );
    }
    // Every acknowledged message is in the mailbox, and each once.
    let stored = cluster.psql(
        "SELECT count(*) FROM messages m JOIN mailboxes f ON f.id = m.mailbox
         JOIN accounts a ON a.id = f.account WHERE a.name = 'alice' AND f.name = 'INBOX'",
    );
    assert_eq!(stored, acked.len().to_string(), "{stdout}");
    let tail_a = acked.iter().filter(|m| m.starts_with('a')).count();
    let tail_b = acked.len() - tail_a;
    assert!(tail_a > 0 && tail_b > 0);
}

#[test]
fn an_unreachable_database_or_an_old_schema_stops_the_server_with_a_clear_error() {
    use sansmail_test_support::free_port;
    let start = |url: &str| {
        let out = run(
            Command::new(bin("mail-server")).args([
                "--store-url",
                url,
                "--data",
                &std::env::temp_dir()
                    .join(format!("sansmail-pg-start-{}", std::process::id()))
                    .display()
                    .to_string(),
                "--smtp",
                "off",
                "--submission",
                "off",
                "--submissions",
                "off",
                "--imap",
                "off",
                "--imaps",
                "off",
                "--pop3",
                "off",
                "--pop3s",
                "off",
                "--https",
                "off",
            ]),
            b"",
            Duration::from_secs(60),
        );
        assert!(!out.status.success(), "mail-server started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let nowhere = format!("postgres://mail:secret@127.0.0.1:{}/mail", free_port());
    let said = start(&nowhere);
    assert!(
        said.contains("store: cannot use the database at postgres://mail:***@127.0.0.1:"),
        "{said}"
    );
    assert!(!said.contains("secret"), "the password is shown: {said}");
    let cluster = Postgres::start();
    let said = start(&cluster.url());
    assert!(
        said.contains("schema is version 0, this binary needs 1: run `mail-server migrate`"),
        "{said}"
    );
}

#[test]
fn jmap_push_on_one_instance_tells_of_a_delivery_through_the_other_within_a_second() {
    let cluster = Postgres::start();
    cluster.migrate_for_mail_server();
    let (a, b) = two_instances(&cluster, &[]);
    let took = b.python(&format!(
        r#"
import base64, http.client, json
insecure = ssl._create_unverified_context()
push = http.client.HTTPSConnection("127.0.0.1", {b_https}, context=insecure, timeout=10)
auth = base64.b64encode(b"alice:alice-pw").decode()
push.request("GET", "/jmap/eventsource?types=*&closeafter=no&ping=0",
             headers={{"Authorization": "Basic " + auth, "Accept": "text/event-stream"}})
events = push.getresponse()
assert events.status == 200, events.status
def next_state():
    while True:
        line = events.fp.readline()
        assert line, "the event stream ended"
        if line.startswith(b"data: "):
            return json.loads(line[6:])
first = next_state()
s = smtplib.SMTP("127.0.0.1", {a_smtp})
s.sendmail("dave@remote.test", ["alice@example.test"],
           "From: dave@remote.test\r\nTo: alice@example.test\r\nSubject: push\r\n\r\nhi\r\n")
accepted = time.monotonic()
s.quit()
second = next_state()
took = time.monotonic() - accepted
account = next(iter(first["changed"]))
assert first["changed"][account]["Email"] != second["changed"][account]["Email"], (first, second)
assert took < 1.0, took
print(f"{{took:.3f}}")
"#,
        b_https = b.ports.https,
        a_smtp = a.ports.smtp,
    ));
    eprintln!(
        "JMAP push on B told of A's delivery after {} s",
        took.trim()
    );
}

#[test]
fn migrations_run_at_once_wait_for_each_other_and_the_queue_is_one_for_every_instance() {
    use sansmail_test_support::free_port;
    let cluster = Postgres::start();
    // Two migrations at once: one makes the tables, the other waits and
    // finds them current.
    let url = cluster.url();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                run(
                    Command::new(bin("mail-server")).args(["migrate", "--store-url", &url]),
                    b"",
                    Duration::from_secs(60),
                )
            })
        })
        .collect();
    let said: Vec<String> = runs
        .into_iter()
        .map(|r| {
            let out = r.join().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect();
    // Each component is made by exactly one of them.
    let all = said.concat();
    for component in ["store", "server"] {
        assert_eq!(
            all.matches(&format!("{component}: version 0 -> 1\n"))
                .count(),
            1,
            "{all}"
        );
        assert_eq!(
            all.matches(&format!("{component}: version 1, current\n"))
                .count(),
            1,
            "{all}"
        );
    }
    // A message for a domain no resolver answers for stays queued.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let (a, b) = two_instances(&cluster, &["--dns", &nowhere]);
    a.python(
        r#"
s = smtplib.SMTP("127.0.0.1", P["SUBMISSION"])
s.login("alice", "alice-pw")
s.sendmail("alice@example.test", ["erin@remote.test"], "From: alice@example.test\r\nSubject: stays\r\n\r\nqueued\r\n")
s.quit()
"#,
    );
    let admin = |server: &MailServer, args: &[&str]| {
        let out = run(
            Command::new(bin("mail-server"))
                .args(args)
                .arg("--data")
                .arg(server.data()),
            b"",
            Duration::from_secs(30),
        );
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let id = cluster.psql("SELECT id FROM queue");
    assert!(!id.is_empty());
    // B lists and holds what A queued.
    let (ok, listed) = admin(&b, &["queue", "list"]);
    assert!(ok && listed.contains(&id), "{listed}");
    assert!(admin(&b, &["queue", "hold", &id]).0);
    assert_eq!(cluster.psql("SELECT held FROM queue"), "t");
    // Once the attempt under way (on whichever instance took it) is over,
    // the hold keeps it from being taken again.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while cluster.psql("SELECT leased_by IS NULL FROM queue") != "t" {
        assert!(
            std::time::Instant::now() < deadline,
            "the attempt did not end"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // While a third instance holds its lease, no one deletes it.
    cluster.psql("UPDATE queue SET leased_by = 'elsewhere', lease_until = 9999999999");
    let (ok, said) = admin(&b, &["queue", "delete", &id]);
    assert!(
        !ok && said.contains("is being delivered by another instance"),
        "{said}"
    );
    cluster.psql("UPDATE queue SET leased_by = NULL, lease_until = NULL");
    let (ok, said) = admin(&a, &["queue", "delete", &id]);
    assert!(ok, "{said}");
    assert_eq!(cluster.psql("SELECT count(*) FROM queue"), "0");
    // And B's user list shows the database's users beside the file's.
    let added = run(
        Command::new(bin("mail-server"))
            .args(["user", "add", "frank", "--data"])
            .arg(a.data()),
        b"frank-pw\n",
        Duration::from_secs(30),
    );
    assert!(added.status.success());
    let (ok, users) = admin(&b, &["user", "list"]);
    assert!(
        ok && users.contains("frank") && users.contains("alice"),
        "{users}"
    );
}
