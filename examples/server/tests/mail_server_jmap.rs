//! JMAP on mail-server's web listener, against a real client library
//! (Python's `jmapc`) and `curl`: the session, queries, reading, keywords
//! and moves seen through IMAP (imaplib), blob download, and the
//! request-level errors.

use std::process::Command;
use std::time::Duration;

use sansmail_test_support::*;

const ATTACHMENT: &str = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nThe report is attached, caf\u{e9}.\r\n--b\r\n\
Content-Type: application/octet-stream; name=report.bin\r\n\
Content-Disposition: attachment; filename=report.bin\r\n\
Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgc=\r\n--b--\r\n";

fn curl(server: &MailServer, args: &[&str]) -> (String, String) {
    let out = run(
        Command::new(require("curl"))
            .args(["-s", "--cacert"])
            .arg(server.cert())
            .args(["-w", "\n%{http_code}"])
            .args(args),
        b"",
        Duration::from_secs(30),
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (body.to_owned(), code.to_owned())
}

#[test]
fn jmapc_reads_flags_and_moves_mail_seen_over_imap() {
    let server = MailServer::start(&[]);
    let report = format!(
        "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Report\r\n\
         Message-ID: <report@test>\r\nDate: Thu, 03 Dec 2026 07:00:00 +0100\r\nMIME-Version: 1.0\r\n{ATTACHMENT}"
    );
    let reply = "From: Carol <carol@elsewhere.example>\r\nTo: alice@example.test\r\n\
                 Subject: Re: Report\r\nMessage-ID: <reply@test>\r\nIn-Reply-To: <report@test>\r\n\
                 References: <report@test>\r\n\r\nThanks!\r\n";
    let sent = server.python(&format!(
        r#"
s = smtplib.SMTP(H, P["SMTP"])
s.sendmail("bob@example.test", ["alice@example.test"], {report:?}.encode())
s.sendmail("carol@elsewhere.example", ["alice@example.test"], {reply:?}.encode())
s.quit()
print("sent")
"#
    ));
    assert_eq!(sent.trim(), "sent");
    server.wait_inbox("alice", 2, Duration::from_secs(20));
    let base = format!("https://localhost:{}", server.ports.https);

    // curl: authentication, the session, and the request-level errors.
    let (_, code) = curl(&server, &[&format!("{base}/.well-known/jmap")]);
    assert_eq!(code, "401");
    let (_, code) = curl(
        &server,
        &["-u", "alice:wrong", &format!("{base}/.well-known/jmap")],
    );
    assert_eq!(code, "401");
    let (session, code) = curl(
        &server,
        &["-u", "alice:alice-pw", &format!("{base}/.well-known/jmap")],
    );
    assert_eq!(code, "200", "{session}");
    assert!(
        session.contains(&format!("\"apiUrl\":\"{base}/jmap/api\"")),
        "{session}"
    );
    for (body, kind) in [
        ("{not json", "notJSON"),
        ("[1]", "notRequest"),
        (
            r#"{"using":["urn:example:nope"],"methodCalls":[]}"#,
            "unknownCapability",
        ),
    ] {
        let (answer, code) = curl(
            &server,
            &[
                "-u",
                "alice:alice-pw",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                body,
                &format!("{base}/jmap/api"),
            ],
        );
        assert_eq!(code, "400", "{answer}");
        assert!(
            answer.contains(&format!("urn:ietf:params:jmap:error:{kind}")),
            "{answer}"
        );
    }
    let many = format!(
        r#"{{"using":["urn:ietf:params:jmap:core"],"methodCalls":[{}]}}"#,
        vec![r#"["Core/echo",{},"c"]"#; 40].join(",")
    );
    let (answer, code) = curl(
        &server,
        &[
            "-u",
            "alice:alice-pw",
            "--data-binary",
            &many,
            &format!("{base}/jmap/api"),
        ],
    );
    assert_eq!(code, "400");
    assert!(
        answer.contains("\"limit\":\"maxCallsInRequest\""),
        "{answer}"
    );
    let (answer, _) = curl(
        &server,
        &[
            "-u",
            "alice:alice-pw",
            "--data-binary",
            r#"{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Mailbox/get",{"accountId":"x"},"c1"],["Email/frob",{},"c2"]]}"#,
            &format!("{base}/jmap/api"),
        ],
    );
    assert!(answer.contains(r#"["error",{"description":"Mailbox/get needs urn:ietf:params:jmap:mail in \"using\"","type":"unknownMethod"},"c1"]"#), "{answer}");

    // jmapc: find the inbox, list it newest first, read, flag, move, download.
    let out = python(
        r#"
import os, imaplib, ssl
from jmapc import Client, Ref, EmailQueryFilterCondition, MailboxQueryFilterCondition, Comparator
from jmapc.methods import MailboxQuery, MailboxGet, EmailQuery, EmailGet, EmailSet, ThreadGet

client = Client.create_with_password(host=os.environ["HOST"], user="alice", password="alice-pw")
results = client.request([
    MailboxQuery(filter=MailboxQueryFilterCondition(role="inbox")),
    MailboxGet(ids=Ref("/ids")),
])
inbox = results[1].response.data[0]
results = client.request([
    EmailQuery(filter=EmailQueryFilterCondition(in_mailbox=inbox.id),
               sort=[Comparator(property="receivedAt", is_ascending=False)], calculate_total=True),
    EmailGet(ids=Ref("/ids"), fetch_text_body_values=True),
])
results = [None, None] + results
assert inbox.role == "inbox" and inbox.total_emails == 2 and inbox.unread_emails == 2, inbox
query = results[2].response
assert query.total == 2, query
emails = {e.subject: e for e in results[3].response.data}
report, reply = emails["Report"], emails["Re: Report"]
assert report.mail_from[0].email == "bob@example.test" and report.mail_from[0].name == "Bob"
assert report.has_attachment and not reply.has_attachment
text = report.body_values[report.text_body[0].part_id].value
assert "The report is attached, café." in text, text
assert report.thread_id == reply.thread_id, "the reply joins the report's thread"
assert report.message_id == ["report@test"] and reply.in_reply_to == ["report@test"]
thread = client.request(ThreadGet(ids=[report.thread_id])).data[0]
assert thread.email_ids == [report.id, reply.id], thread

# Attachments by blob.
attachment = report.attachments[0]
assert attachment.name == "report.bin" and attachment.size == 8
client.download_attachment(attachment, os.environ["WORK"] + "/report.bin")
assert open(os.environ["WORK"] + "/report.bin", "rb").read() == bytes(range(8))

# Flags and moves, then what IMAP sees.
archive = client.request(MailboxQuery(filter=MailboxQueryFilterCondition(role="archive"))).ids[0]
done = client.request(EmailSet(update={
    report.id: {"keywords/$seen": True, "keywords/$flagged": True},
    reply.id: {"mailboxIds": {archive: True}},
}))
assert set(done.updated) == {report.id, reply.id}, done
unread = client.request(EmailQuery(filter=EmailQueryFilterCondition(not_keyword="$seen"))).ids
assert unread == [reply.id], unread
# A thread counts as flagged when one of its emails is; sorted by sender.
results = client.request([
    EmailQuery(filter=EmailQueryFilterCondition(some_in_thread_have_keyword="$flagged"),
               sort=[Comparator(property="from"), Comparator(property="receivedAt")]),
    EmailQuery(filter=EmailQueryFilterCondition(all_in_thread_have_keyword="$flagged")),
    EmailQuery(filter=EmailQueryFilterCondition(header=["In-Reply-To"])),
])
assert results[0].response.ids == [report.id, reply.id], results[0]
assert results[1].response.ids == [], results[1]
assert results[2].response.ids == [reply.id], results[2]
m = imaplib.IMAP4_SSL("localhost", int(os.environ["IMAPS"]), ssl_context=ssl.create_default_context(cafile=os.environ["REQUESTS_CA_BUNDLE"]))
m.login("alice", "alice-pw")
m.select("INBOX")
typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
inbox_view = [d for d in data if isinstance(d, tuple)]
assert len(inbox_view) == 1 and b"\\Seen" in inbox_view[0][0] and b"\\Flagged" in inbox_view[0][0], data
m.select("Archive")
typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert b"Re: Report" in data[0][1], data
m.logout()
print("ok")
"#,
        &[
            ("HOST", &format!("localhost:{}", server.ports.https)),
            ("REQUESTS_CA_BUNDLE", server.cert().to_str().unwrap()),
            ("IMAPS", &server.ports.imaps.to_string()),
            ("WORK", server.dir.path().to_str().unwrap()),
        ],
    );
    assert_eq!(out.trim(), "ok");
    assert!(server.log().contains("service=\"jmap\""));
}

#[test]
fn one_jmap_request_sends_mail_through_the_queue_to_imap_and_postfix() {
    // Postfix is the remote domain's exchanger, into a maildir.
    let vmail = TempDir::new("vmail");
    let postfix = Postfix::start(&format!(
        "virtual_mailbox_domains = far.remote.test
virtual_mailbox_base = {v}/box
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100",
        v = vmail.path().display()
    ));
    std::fs::set_permissions(
        vmail.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let (_dns, _config, server) = relaying_server(
        "far IN MX 10 mx\nmx IN A 127.0.0.1\n",
        "retry_secs = [1]\ntimeout_secs = 10\n",
        postfix.port,
    );
    let attachment = server.dir.path().join("notes.txt");
    std::fs::write(&attachment, "line one\nline two\n").unwrap();
    let out = python(
        r##"
import os
from jmapc import Client, Email, EmailAddress, EmailBodyPart, EmailBodyValue, EmailSubmission, Envelope, Address, MailboxQueryFilterCondition
from jmapc.methods import MailboxQuery, IdentityGet, EmailSet, EmailSubmissionSet, EmailGet

client = Client.create_with_password(host=os.environ["HOST"], user="alice", password="alice-pw")
identities = client.request(IdentityGet()).data
identity = [i for i in identities if i.email == "alice@example.test"][0]
drafts = client.request(MailboxQuery(filter=MailboxQueryFilterCondition(role="drafts"))).ids[0]
sent = client.request(MailboxQuery(filter=MailboxQueryFilterCondition(role="sent"))).ids[0]
blob = client.upload_blob(os.environ["ATTACHMENT"])
results = client.request([
    EmailSet(create={"draft": Email(
        mail_from=[EmailAddress(name="Alice", email="alice@example.test")],
        to=[EmailAddress(email="bob@example.test"), EmailAddress(email="zed@far.remote.test")],
        subject="Sent over JMAP",
        keywords={"$draft": True},
        mailbox_ids={drafts: True},
        body_values={"body": EmailBodyValue(value="Hello from a program.\n")},
        text_body=[EmailBodyPart(part_id="body", type="text/plain")],
        attachments=[EmailBodyPart(blob_id=blob.id, type="text/plain", name="notes.txt")],
    )}),
    EmailSubmissionSet(
        create={"send": EmailSubmission(email_id="#draft", identity_id=identity.id)},
        on_success_update_email={"#send": {"mailboxIds": {sent: True}, "keywords/$draft": None}},
    ),
])
created = results[0].response.created["draft"]
submission = results[1].response
assert "send" in submission.created, submission
moved = results[2].response
assert moved.updated is not None and created.id in moved.updated, moved
email = client.request(EmailGet(ids=[created.id], properties=["mailboxIds", "keywords"])).data[0]
assert email.mailbox_ids == {sent: True} and "$draft" not in (email.keywords or {}), email

# Refused: a From address that is not alice's.
results = client.request([
    EmailSet(create={"forged": Email(
        mail_from=[EmailAddress(email="bob@example.test")],
        to=[EmailAddress(email="zed@far.remote.test")],
        subject="forged", mailbox_ids={drafts: True},
        body_values={"b": EmailBodyValue(value="x")},
        text_body=[EmailBodyPart(part_id="b", type="text/plain")],
    )}),
    EmailSubmissionSet(create={"s": EmailSubmission(email_id="#forged", identity_id=identity.id)}),
])
refused = results[1].response.not_created["s"]
assert refused.type == "forbiddenToSend" and "is not one of your addresses" in refused.description, refused
print("ok")
"##,
        &[
            ("HOST", &format!("localhost:{}", server.ports.https)),
            ("REQUESTS_CA_BUNDLE", server.cert().to_str().unwrap()),
            ("ATTACHMENT", attachment.to_str().unwrap()),
        ],
    );
    assert_eq!(out.trim(), "ok");

    // bob reads it over IMAP, attachment included.
    let bob = server.wait_inbox("bob", 1, Duration::from_secs(20));
    assert!(bob[0].contains("Subject: Sent over JMAP"), "{}", bob[0]);
    assert!(bob[0].contains("filename=notes.txt") || bob[0].contains("filename=\"notes.txt\""));
    assert!(!bob[0].contains("X-Draft"), "{}", bob[0]);
    let imap = server.python(
        r#"
m = imaplib.IMAP4_SSL(H, P["IMAPS"], ssl_context=TLS)
m.login("bob", "bob-pw")
m.select("INBOX")
typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
print(data[0][1].decode().strip())
"#,
    );
    assert!(imap.contains("Subject: Sent over JMAP"), "{imap}");
    // Postfix took the relayed copy.
    let delivered = vmail.path().join("box/inbox/new");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let text = loop {
        if let Some(file) = std::fs::read_dir(&delivered)
            .ok()
            .and_then(|mut d| d.next())
        {
            break std::fs::read_to_string(file.unwrap().path()).unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Postfix never got it:\n{}\n{}",
            server.log(),
            postfix.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(text.contains("Subject: Sent over JMAP"), "{text}");
    assert!(
        text.contains("with HTTPS id"),
        "the trace says how it came: {text}"
    );
    assert!(server.log().contains("message submitted over JMAP"));
}

#[test]
fn a_delivery_is_pushed_over_event_source_at_once() {
    let server = MailServer::start(&[]);
    let out = python(
        r#"
import os, signal, smtplib, threading, time
from jmapc import Client
signal.alarm(30)
client = Client.create_with_password(host=os.environ["HOST"], user="alice", password="alice-pw")
events = client.events
first = next(events)
before = first.data.changed[client.account_id]
def deliver():
    time.sleep(0.5)
    s = smtplib.SMTP("localhost", int(os.environ["SMTP"]))
    s.sendmail("bob@example.test", ["alice@example.test"], b"Subject: push\r\n\r\nnew mail\r\n")
    s.quit()
threading.Thread(target=deliver).start()
started = time.monotonic()
second = next(events)
waited = time.monotonic() - started
after = second.data.changed[client.account_id]
assert after.email != before.email, (before, after)
assert waited < 3, waited
print("ok")
"#,
        &[
            ("HOST", &format!("localhost:{}", server.ports.https)),
            ("REQUESTS_CA_BUNDLE", server.cert().to_str().unwrap()),
            ("SMTP", &server.ports.smtp.to_string()),
        ],
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn api_tokens_open_the_account_until_revoked() {
    let server = MailServer::start(&[]);
    let data = server.data();
    let mail_server = |args: &[&str], input: &str| {
        run(
            Command::new(bin("mail-server"))
                .args(args)
                .arg("--data")
                .arg(&data),
            input.as_bytes(),
            Duration::from_secs(60),
        )
    };
    assert!(
        mail_server(&["user", "add", "carol"], "carol-pw\n")
            .status
            .success()
    );
    let unknown = mail_server(&["token", "nobody"], "");
    assert_eq!(unknown.status.code(), Some(1));
    let issued = mail_server(&["token", "carol"], "");
    assert!(issued.status.success(), "{issued:?}");
    let token = String::from_utf8_lossy(&issued.stdout).trim().to_owned();
    assert!(token.starts_with("smt_"), "{token}");
    let stored = std::fs::read_to_string(data.join("tokens.json")).unwrap();
    assert!(!stored.contains(&token[4..]), "only a digest is kept");

    let session = |token: &str| {
        python(
            r#"
import os
from jmapc import Client
try:
    client = Client.create_with_api_token(host=os.environ["HOST"], api_token=os.environ["TOKEN"])
    print(client.jmap_session.username)
except Exception as e:
    print("refused", type(e).__name__)
"#,
            &[
                ("HOST", &format!("localhost:{}", server.ports.https)),
                ("REQUESTS_CA_BUNDLE", server.cert().to_str().unwrap()),
                ("TOKEN", token),
            ],
        )
        .trim()
        .to_owned()
    };
    assert_eq!(session(&token), "carol");
    assert_eq!(session("smt_not-a-token"), "refused HTTPError");
    let revoked = mail_server(&["token", "revoke", "carol"], "");
    assert_eq!(
        String::from_utf8_lossy(&revoked.stdout).trim(),
        "1 token(s) of carol revoked"
    );
    assert_eq!(session(&token), "refused HTTPError");
}

#[test]
fn mailboxes_are_made_and_changes_are_told_since_a_state() {
    let server = MailServer::start(&[]);
    let out = python(
        r#"
import os, imaplib, smtplib, ssl
from jmapc import Client, Mailbox, MailboxQueryFilterCondition
from jmapc.methods import MailboxGet, MailboxSet, MailboxChanges, EmailChanges, EmailGet, EmailQuery, EmailSet

client = Client.create_with_password(host=os.environ["HOST"], user="alice", password="alice-pw")
start = client.request(EmailGet(ids=[])).state

made = client.request(MailboxSet(create={"p": Mailbox(name="Projects")}))
projects = made.created["p"].id
made = client.request(MailboxSet(create={"y": Mailbox(name="2026", parent_id=projects)}))
year = made.created["y"].id
bad = client.request(MailboxSet(create={"x": Mailbox(name="a.b")}))
assert bad.not_created["x"].type == "invalidProperties", bad
mailboxes = {m.id: m for m in client.request(MailboxGet(ids=None)).data}
assert mailboxes[year].parent_id == projects and mailboxes[year].name == "2026"

s = smtplib.SMTP("localhost", int(os.environ["SMTP"]))
s.sendmail("bob@example.test", ["alice@example.test"], b"Subject: one\r\n\r\nfirst\r\n")
s.sendmail("bob@example.test", ["alice@example.test"], b"Subject: two\r\n\r\nsecond\r\n")
s.quit()
changes = client.request(EmailChanges(since_state=start))
assert len(changes.created) == 2 and not changes.updated and not changes.destroyed, changes
mid = changes.new_state
by_subject = {e.subject: e.id for e in client.request(EmailGet(ids=changes.created, properties=["subject"])).data}
first, second = by_subject["one"], by_subject["two"]
client.request(EmailSet(update={first: {"keywords/$seen": True}, second: {"mailboxIds": {year: True}}}))
client.request(EmailSet(destroy=[first]))
changes = client.request(EmailChanges(since_state=mid))
assert changes.destroyed == [first] and changes.updated == [second] and not changes.created, changes
boxes = client.request(MailboxChanges(since_state=start))
assert projects in boxes.created and year in boxes.created, boxes
old = client.request(EmailChanges(since_state="nonsense"), raise_errors=False)
assert old.type == "cannotCalculateChanges", old

renamed = client.request(MailboxSet(update={projects: {"name": "Work"}}))
assert projects in renamed.updated, renamed
full = client.request(MailboxSet(destroy=[year]))
assert full.not_destroyed[year].type == "mailboxHasEmail", full
inbox = client.request(MailboxGet(ids=None)).data
inbox_id = [m.id for m in inbox if m.role == "inbox"][0]
assert client.request(MailboxSet(destroy=[inbox_id])).not_destroyed[inbox_id].type == "forbidden"

m = imaplib.IMAP4_SSL("localhost", int(os.environ["IMAPS"]), ssl_context=ssl.create_default_context(cafile=os.environ["REQUESTS_CA_BUNDLE"]))
m.login("alice", "alice-pw")
names = b" ".join(l for l in m.list()[1])
assert b"Work.2026" in names and b"Projects" not in names, names
m.select("Work.2026")
typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert b"Subject: two" in data[0][1], data
m.logout()
gone = client.request(MailboxSet(destroy=[year], on_destroy_remove_emails=True))
assert gone.destroyed == [year], gone
print("ok")
"#,
        &[
            ("HOST", &format!("localhost:{}", server.ports.https)),
            ("REQUESTS_CA_BUNDLE", server.cert().to_str().unwrap()),
            ("SMTP", &server.ports.smtp.to_string()),
            ("IMAPS", &server.ports.imaps.to_string()),
        ],
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn websocket_answers_requests_pushes_changes_and_tells_query_changes() {
    let server = MailServer::start(&[]);
    let out = python(
        r#"
import base64, json, os, signal, smtplib, ssl
from websockets.sync.client import connect
from websockets.exceptions import InvalidStatus
signal.alarm(60)
url = f"wss://localhost:{os.environ['HTTPS']}/jmap/ws"
context = ssl.create_default_context(cafile=os.environ["CERT"])
auth = {"Authorization": "Basic " + base64.b64encode(b"alice:alice-pw").decode()}

for headers, subprotocols, status in [
    ({}, ["jmap"], 401),
    (auth, None, 400),
    ({**auth, "Origin": "https://evil.example"}, ["jmap"], 403),
]:
    try:
        connect(url, ssl=context, additional_headers=headers, subprotocols=subprotocols).close()
        raise AssertionError(f"connected with {headers}, {subprotocols}")
    except InvalidStatus as e:
        assert e.response.status_code == status, (e.response.status_code, status)

ws = connect(url, ssl=context, additional_headers=auth, subprotocols=["jmap"])
assert ws.subprotocol == "jmap"
def call(request_id, *calls):
    ws.send(json.dumps({"@type": "Request", "id": request_id,
        "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"], "methodCalls": list(calls)}))
    answer = json.loads(ws.recv(timeout=10))
    while answer["@type"] == "StateChange":  # a push sent before the disable
        answer = json.loads(ws.recv(timeout=10))
    assert answer["@type"] == "Response" and answer["requestId"] == request_id, answer
    return [args for _, args, _ in answer["methodResponses"]]

session = json.loads(__import__("urllib.request").request.urlopen(__import__("urllib.request").request.Request(
    f"https://localhost:{os.environ['HTTPS']}/jmap/session", headers=auth), context=context).read())
assert session["capabilities"]["urn:ietf:params:jmap:websocket"] == {"url": url, "supportsPush": True}, session
account = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
inbox = call("m", ["Mailbox/query", {"accountId": account, "filter": {"role": "inbox"}}, "0"])[0]["ids"][0]
query = {"accountId": account, "filter": {"inMailbox": inbox}, "sort": [{"property": "receivedAt", "isAscending": False}]}
first = call("q1", ["Email/query", query, "0"])[0]
assert first["ids"] == [] and first["canCalculateChanges"], first

ws.send(json.dumps({"@type": "WebSocketPushEnable", "dataTypes": ["Email"]}))
initial = json.loads(ws.recv(timeout=10))
assert initial["@type"] == "StateChange" and list(initial["changed"][account]) == ["Email"], initial
s = smtplib.SMTP("localhost", int(os.environ["SMTP"]))
for subject in ["one", "two"]:
    s.sendmail("bob@example.test", ["alice@example.test"], f"Subject: {subject}\r\n\r\nbody {subject}\r\n".encode())
s.quit()
pushed = json.loads(ws.recv(timeout=10))
assert pushed["@type"] == "StateChange" and pushed["changed"][account]["Email"] != initial["changed"][account]["Email"], pushed
ws.send(json.dumps({"@type": "WebSocketPushDisable"}))

changes = call("c1", ["Email/queryChanges", {**query, "sinceQueryState": first["queryState"], "calculateTotal": True}, "0"])[0]
now = call("q2", ["Email/query", query, "0"])[0]
assert changes["removed"] == [] and changes["total"] == 2, changes
assert [a["index"] for a in changes["added"]] == [0, 1] and [a["id"] for a in changes["added"]] == now["ids"], (changes, now)
assert changes["newQueryState"] == now["queryState"] and changes["oldQueryState"] == first["queryState"]
same = call("c2", ["Email/queryChanges", {**query, "sinceQueryState": now["queryState"]}, "0"])[0]
assert same["added"] == [] and same["removed"] == [], same
other = call("c3", ["Email/queryChanges", {**query, "sort": [{"property": "size"}], "sinceQueryState": now["queryState"]}, "0"])[0]
assert other == {"type": "cannotCalculateChanges", "description": other["description"]}, other
anchored = call("a", ["Email/query", {**query, "anchor": now["ids"][1], "anchorOffset": -1, "limit": 1}, "0"])[0]
assert anchored["position"] == 0 and anchored["ids"] == now["ids"][:1], anchored
missing = call("a2", ["Email/query", {**query, "anchor": "Mnope"}, "0"])[0]
assert missing["type"] == "anchorNotFound", missing

ws.send("not json")
error = json.loads(ws.recv(timeout=10))
assert error["@type"] == "RequestError" and error["type"].endswith(":notJSON"), error
ws.send(json.dumps({"@type": "Request", "id": "bad", "using": ["urn:example:nope"], "methodCalls": []}))
error = json.loads(ws.recv(timeout=10))
assert error["requestId"] == "bad" and error["type"].endswith(":unknownCapability"), error
ws.close()
print("ok")
"#,
        &[
            ("HTTPS", &server.ports.https.to_string()),
            ("CERT", server.cert().to_str().unwrap()),
            ("SMTP", &server.ports.smtp.to_string()),
        ],
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn snippets_parse_copy_and_a_vacation_response_that_answers_once() {
    let server = MailServer::start(&[]);
    let out = python(
        r##"
import imaplib, json, os, smtplib, ssl, time, requests
base = f"https://localhost:{os.environ['HTTPS']}"
session = requests.Session()
session.auth = ("alice", "alice-pw")
account = session.get(base + "/jmap/session").json()["primaryAccounts"]["urn:ietf:params:jmap:mail"]
USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:vacationresponse"]
def call(*calls):
    answer = session.post(base + "/jmap/api", json={"using": USING, "methodCalls": list(calls)})
    assert answer.status_code == 200, answer.text
    return [args for _, args, _ in answer.json()["methodResponses"]]

# The vacation response: off, then on (no dates), seen by get.
got = call(["VacationResponse/get", {"accountId": account}, "0"])[0]
assert got["list"] == [{"id": "singleton", "isEnabled": False, "fromDate": None, "toDate": None,
                        "subject": None, "textBody": None, "htmlBody": None}], got
done = call(["VacationResponse/set", {"accountId": account, "update": {"singleton": {
    "isEnabled": True, "subject": "Out of office", "textBody": "Back on Monday, <b>promise</b>."}}}, "0"])[0]
assert done["updated"] == {"singleton": None}, done
bad = call(["VacationResponse/set", {"accountId": account, "create": {"x": {}}, "update": {"singleton": {"toDate": "soon"}}}, "0"])[0]
assert bad["notCreated"]["x"]["type"] == "singleton" and bad["notUpdated"]["singleton"]["type"] == "invalidProperties", bad

message = ("From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Budget meeting\r\n"
           "Message-ID: <budget@test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           "--b\r\nContent-Type: text/plain\r\n\r\nThe quarterly budget needs your review before Friday & no later.\r\n"
           "--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: carol@elsewhere.example\r\nSubject: Old numbers\r\n\r\nLast year's budget.\r\n--b--\r\n")
s = smtplib.SMTP("localhost", int(os.environ["SMTP"]))
s.sendmail("bob@example.test", ["alice@example.test"], message.encode())
s.sendmail("bob@example.test", ["alice@example.test"], b"Subject: again\r\n\r\nsecond\r\n")
s.sendmail("news@example.test", ["alice@example.test"], b"Subject: digest\r\nPrecedence: bulk\r\n\r\nbulk\r\n")
s.quit()

# Bob gets one vacation reply, however many he sends; nobody answers the bulk sender.
context = ssl.create_default_context(cafile=os.environ["REQUESTS_CA_BUNDLE"])
deadline = time.time() + 20
while True:
    m = imaplib.IMAP4_SSL("localhost", int(os.environ["IMAPS"]), ssl_context=context)
    m.login("bob", "bob-pw")
    m.select("INBOX")
    ids = m.search(None, "ALL")[1][0].split()
    if ids or time.time() > deadline:
        break
    m.logout()
    time.sleep(0.2)
time.sleep(1)
ids = m.search(None, "ALL")[1][0].split()
assert len(ids) == 1, ids
reply = m.fetch(ids[0], "(BODY.PEEK[])")[1][0][1].decode()
m.logout()
for expected in ["Subject: Out of office", "Auto-Submitted: auto-replied", "In-Reply-To: <budget@test>",
                 "From: <alice@example.test>", "Back on Monday, <b>promise</b>."]:
    assert expected in reply, (expected, reply)
assert "Return-Path: <>" in reply, reply

# SearchSnippet/get: the words in <mark>, escaped text around them.
query, snippets = call(
    ["Email/query", {"accountId": account, "filter": {"text": "budget"}}, "q"],
    ["SearchSnippet/get", {"accountId": account, "filter": {"text": "budget"},
        "#emailIds": {"resultOf": "q", "name": "Email/query", "path": "/ids"}}, "s"],
)
assert len(query["ids"]) == 1, query
snippet = snippets["list"][0]
assert snippet["subject"] == "<mark>Budget</mark> meeting", snippet
assert "quarterly <mark>budget</mark> needs your review before Friday &amp; no later." in snippet["preview"], snippet
other = call(["SearchSnippet/get", {"accountId": account, "filter": {"text": "zebra"}, "emailIds": query["ids"] + ["Mnope"]}, "s"])[0]
assert other["list"][0]["subject"] is None and other["list"][0]["preview"] is None and other["notFound"] == ["Mnope"], other

# Email/parse: the attached message, and an uploaded one.
email = call(["Email/get", {"accountId": account, "ids": query["ids"], "properties": ["attachments"]}, "g"])[0]["list"][0]
attached = email["attachments"][0]
assert attached["type"] == "message/rfc822", attached
upload = session.post(f"{base}/jmap/upload/{account}", data=b"From: dave@example.net\r\nSubject: Uploaded\r\n\r\nhello\r\n",
                      headers={"Content-Type": "message/rfc822"}).json()
junk = session.post(f"{base}/jmap/upload/{account}", data=b"\x00\x01 not a message", headers={"Content-Type": "application/octet-stream"}).json()
parsed = call(["Email/parse", {"accountId": account, "blobIds": [attached["blobId"], upload["blobId"], junk["blobId"], "Mmissing"],
    "fetchTextBodyValues": True}, "p"])[0]
old = parsed["parsed"][attached["blobId"]]
assert old["subject"] == "Old numbers" and old["from"] == [{"name": None, "email": "carol@elsewhere.example"}], old
assert old.get("id") is None and "mailboxIds" not in old, old
asked = call(["Email/parse", {"accountId": account, "blobIds": [attached["blobId"]], "properties": ["id", "mailboxIds", "blobId", "size"]}, "p"])[0]
assert asked["parsed"][attached["blobId"]]["id"] is None and asked["parsed"][attached["blobId"]]["mailboxIds"] is None, asked
assert asked["parsed"][attached["blobId"]]["blobId"] == attached["blobId"], asked
text_part = old["textBody"][0]
assert old["bodyValues"][text_part["partId"]]["value"].strip() == "Last year's budget.", old
assert session.get(f"{base}/jmap/download/{account}/{text_part['blobId']}/t.txt").content.strip() == b"Last year's budget."
assert parsed["parsed"][upload["blobId"]]["subject"] == "Uploaded", parsed
assert parsed["notParsable"] == [junk["blobId"]] and parsed["notFound"] == ["Mmissing"], parsed

# Email/copy: one account per user, none shared.
same = call(["Email/copy", {"accountId": account, "fromAccountId": account, "create": {}}, "c"])[0]
assert same["type"] == "invalidArguments", same
other = call(["Email/copy", {"accountId": account, "fromAccountId": "aother", "create": {}}, "c"])[0]
assert other["type"] == "fromAccountNotFound", other
print("ok")
"##,
        &[
            ("HTTPS", &server.ports.https.to_string()),
            ("IMAPS", &server.ports.imaps.to_string()),
            ("REQUESTS_CA_BUNDLE", server.cert().to_str().unwrap()),
            ("SMTP", &server.ports.smtp.to_string()),
        ],
    );
    assert_eq!(out.trim(), "ok");
    let log = server.log();
    assert!(log.contains("vacation reply queued"), "{log}");
    assert!(log.contains("why=\"replied already this week\""), "{log}");
    assert!(log.contains("why=\"bulk message\""), "{log}");
}
