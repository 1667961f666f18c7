//! The `sansmail` app-facing API against real servers over loopback:
//! Postfix (submission with STARTTLS and AUTH, and as the MX of a test
//! zone served by NSD), Dovecot (IMAP with IDLE, POP3, LMTP from
//! Postfix), and our own smtp-sink, imap-server and pop3-server.

use std::collections::HashSet;
use std::time::Duration;

use sansmail::mime::Mailbox;
use sansmail::mime::builder::{Entity, MessageBuilder};
use sansmail::{
    DeliveryStatus, DirectMailer, Endpoint, Error, Flag, ImapClient, Mailer, Outgoing, Pop3Client,
    SmtpConnection, TlsProblem, Watcher,
};
use sansmail_test_support::{
    Dovecot, ImapServer, Nsd, Pop3Server, Postfix, Sink, TempDir, fill_maildir,
};

const LIMIT: Duration = Duration::from_secs(60);

/// A message with an attachment, from the builder.
fn report_message(subject: &str, to: &[&str]) -> Outgoing {
    let message = MessageBuilder::new(Entity::mixed(vec![
        Entity::text("The numbers are attached.\n"),
        Entity::attachment("text/csv", "numbers.csv", b"day,count\nmon,3\n".as_slice()),
    ]))
    .from("Reports <alice@example.test>".parse::<Mailbox>().unwrap())
    .to(to.iter().map(|a| Mailbox::new(None, a)).collect::<Vec<_>>())
    .subject(subject);
    Outgoing::from_builder(&message).unwrap()
}

/// Dovecot (IMAP, POP3, LMTP, SASL) behind Postfix (STARTTLS, AUTH, the
/// virtual domain example.test delivered over LMTP).
struct Stack {
    dovecot: Dovecot,
    postfix: Postfix,
}

impl Stack {
    fn start() -> Stack {
        let dovecot = Dovecot::start_mail_store("alice", "wonderland");
        let (cert, key) = dovecot.cert_files();
        let users = dovecot.dir.path().join("virtual-users");
        std::fs::write(&users, "alice@example.test alice/\n").unwrap();
        let postfix = Postfix::start_with(
            &format!(
                "smtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\n\
             smtpd_tls_security_level = may\nsmtpd_tls_loglevel = 1\n\
             smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\n\
             smtpd_sasl_path = {sasl}\nsmtpd_tls_auth_only = yes\n\
             smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination\n\
             virtual_mailbox_domains = example.test\n\
             virtual_mailbox_maps = texthash:{users}\n\
             virtual_transport = lmtp:inet:127.0.0.1:{lmtp}\n\
             queue_run_delay = 1s\nminimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n",
                cert = cert.display(),
                key = key.display(),
                sasl = dovecot.auth_socket().display(),
                users = users.display(),
                lmtp = dovecot.port_of("lmtp"),
            ),
            true,
        );
        Stack { dovecot, postfix }
    }

    /// A URL for `scheme` on `port` as alice, trusting Dovecot's certificate.
    fn endpoint(&self, scheme: &str, port: u16, password: &str) -> Endpoint {
        Endpoint::parse(&format!("{scheme}://alice:{password}@localhost:{port}"))
            .unwrap()
            .trust_pem(&self.dovecot.cert_pem())
            .unwrap()
            .timeout(LIMIT)
    }

    fn submission(&self, password: &str) -> Endpoint {
        self.endpoint("smtp+starttls", self.postfix.port, password)
    }

    fn imap(&self) -> Endpoint {
        self.endpoint("imap+starttls", self.dovecot.port_of("imap"), "wonderland")
    }

    fn pop3(&self) -> Endpoint {
        self.endpoint("pop3+starttls", self.dovecot.port_of("pop3"), "wonderland")
    }
}

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {LIMIT:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_to_postfix_then_read_from_dovecot() {
    let stack = Stack::start();
    let mut imap = ImapClient::connect_to(&stack.imap()).await.unwrap();
    let folders = imap.list().await.unwrap();
    let archive = folders
        .iter()
        .find(|f| f.name == "Archive")
        .expect("Archive");
    assert_eq!(archive.special_use.as_deref(), Some("Archive"));
    assert!(folders.iter().any(|f| f.name == "INBOX" && f.selectable));
    assert_eq!(imap.select("INBOX").await.unwrap().exists, 0);

    // Submission: STARTTLS, AUTH PLAIN, one recipient accepted, one refused for good.
    let mailer = Mailer::with_endpoint(stack.submission("wonderland"), 2);
    let message = report_message(
        "Weekly numbers",
        &["alice@example.test", "nobody@example.test"],
    );
    let report = within("submission", mailer.send(&message)).await.unwrap();
    let accepted: Vec<String> = report.accepted().map(|r| r.to_string()).collect();
    assert_eq!(accepted, ["<alice@example.test>"]);
    let refused: Vec<_> = report.refused().collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].recipient.to_string(), "<nobody@example.test>");
    assert!(
        matches!(refused[0].status, DeliveryStatus::PermanentFailure(_)),
        "{refused:?}"
    );
    assert!(
        stack.postfix.log().contains("sasl_username=alice"),
        "{}",
        stack.postfix.log()
    );

    // Postfix delivers over LMTP; IDLE hears of it.
    assert!(
        within("IDLE", imap.wait_for_arrival(LIMIT)).await.unwrap(),
        "no arrival seen"
    );
    let unseen = imap.fetch_unseen().await.unwrap();
    assert_eq!(unseen.len(), 1);
    let parsed = unseen[0].parse();
    assert_eq!(parsed.subject().as_deref(), Some("Weekly numbers"));
    let leaves = parsed.leaves();
    assert_eq!(leaves[1].1.filename().as_deref(), Some("numbers.csv"));
    assert!(!unseen[0].is_seen());
    let uid = unseen[0].uid;

    // POP3 sees the same message, and resumes by UIDL.
    let mut pop = Pop3Client::connect_to(&stack.pop3()).await.unwrap();
    let listed = pop.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    let raw = pop.retrieve(listed[0].number).await.unwrap();
    assert_eq!(raw, unseen[0].raw);
    let known: HashSet<String> = listed.iter().filter_map(|m| m.uid.clone()).collect();
    assert_eq!(known.len(), 1, "Dovecot gives UIDLs");
    assert!(
        pop.new_messages(|u| known.contains(u))
            .await
            .unwrap()
            .is_empty()
    );
    pop.quit().await.unwrap();

    // Flags, move, delete.
    imap.add_flags(&[uid], &[Flag::Flagged]).await.unwrap();
    imap.mark_seen(&[uid]).await.unwrap();
    let fetched = imap.fetch(&[uid]).await.unwrap();
    assert!(fetched[0].flags.contains(&Flag::Flagged) && fetched[0].is_seen());
    assert!(imap.fetch_unseen().await.unwrap().is_empty());
    imap.remove_flags(&[uid], &[Flag::Flagged]).await.unwrap();
    imap.move_to(&[uid], "Archive").await.unwrap();
    assert_eq!(imap.select("INBOX").await.unwrap().exists, 0);
    assert_eq!(imap.select("Archive").await.unwrap().exists, 1);
    let moved = imap.fetch_after(0).await.unwrap();
    assert_eq!(moved.len(), 1);
    assert!(!moved[0].flags.contains(&Flag::Flagged));
    imap.delete(&[moved[0].uid]).await.unwrap();
    assert_eq!(imap.select("Archive").await.unwrap().exists, 0);

    // Implicit TLS (port 465 style) on one connection, arriving in INBOX:
    // the builder itself is sent, its Bcc recipient in the envelope only.
    let smtps = stack.endpoint("smtps", stack.postfix.smtps_port.unwrap(), "wonderland");
    let mut connection = SmtpConnection::connect_to(&smtps).await.unwrap();
    assert!(connection.is_tls());
    let second = MessageBuilder::new(Entity::text("blind copy\n"))
        .from("Reports <alice@example.test>".parse::<Mailbox>().unwrap())
        .bcc(Mailbox::new(Some("Alice"), "alice@example.test"))
        .subject("Over smtps");
    assert!(connection.send(second).await.unwrap().all_accepted());
    connection.quit().await.unwrap();
    imap.select("INBOX").await.unwrap();
    let mut arrived = imap.fetch_after(uid).await.unwrap();
    if arrived.is_empty() {
        assert!(
            within("smtps arrival", imap.wait_for_arrival(LIMIT))
                .await
                .unwrap()
        );
        arrived = imap.fetch_after(uid).await.unwrap();
    }
    assert_eq!(arrived[0].parse().subject().as_deref(), Some("Over smtps"));
    let header_end = arrived[0]
        .raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap();
    let header = String::from_utf8_lossy(&arrived[0].raw[..header_end]);
    assert!(!header.contains("Bcc:"), "{header}");
    imap.logout().await.unwrap();
    mailer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_what_to_fix() {
    let stack = Stack::start();
    let message = report_message("x", &["alice@example.test"]);

    let wrong = SmtpConnection::connect_to(&stack.submission("not the password")).await;
    assert!(
        matches!(&wrong, Err(Error::AuthRefused { reply, .. }) if reply.starts_with("535")),
        "{:?}",
        wrong.err()
    );
    let imap = ImapClient::connect_to(&stack.endpoint(
        "imap+starttls",
        stack.dovecot.port_of("imap"),
        "nope",
    ))
    .await;
    assert!(
        matches!(imap, Err(Error::AuthRefused { .. })),
        "{:?}",
        imap.err()
    );
    let pop = Pop3Client::connect_to(&stack.endpoint(
        "pop3+starttls",
        stack.dovecot.port_of("pop3"),
        "nope",
    ))
    .await;
    assert!(
        matches!(pop, Err(Error::AuthRefused { .. })),
        "{:?}",
        pop.err()
    );

    // The Mozilla roots do not know Dovecot's self-signed certificate.
    let url = format!(
        "imap+starttls://alice:wonderland@localhost:{}",
        stack.dovecot.port_of("imap")
    );
    let untrusted = ImapClient::connect(&url).await;
    match untrusted {
        Err(
            e @ Error::Tls {
                problem: TlsProblem::UnknownIssuer,
                ..
            },
        ) => {
            assert!(e.to_string().contains("unknown issuer"), "{e}");
            assert!(!e.is_temporary());
        }
        other => panic!("{:?}", other.err()),
    }
    // Trusted, but for localhost, not 127.0.0.1.
    let url = format!(
        "smtp+starttls://alice:wonderland@127.0.0.1:{}",
        stack.postfix.port
    );
    let endpoint = Endpoint::parse(&url)
        .unwrap()
        .trust_pem(&stack.dovecot.cert_pem())
        .unwrap();
    let wrong_name = SmtpConnection::connect_to(&endpoint).await;
    assert!(
        matches!(
            wrong_name,
            Err(Error::Tls {
                problem: TlsProblem::WrongName,
                ..
            })
        ),
        "{:?}",
        wrong_name.err()
    );

    // Every recipient refused: an error carrying each outcome, permanent.
    let nobody = report_message("x", &["nobody@example.test", "ghost@example.test"]);
    let rejected = SmtpConnection::connect_to(&stack.submission("wonderland"))
        .await
        .unwrap()
        .send(&nobody)
        .await;
    match rejected {
        Err(e @ Error::Rejected { .. }) => {
            assert!(!e.is_temporary());
            assert!(e.to_string().contains("<ghost@example.test>: 550"), "{e}");
        }
        other => panic!("{other:?}"),
    }

    // Nothing listening: a temporary connection error.
    let closed = sansmail_test_support::free_port();
    let endpoint = Endpoint::parse(&format!("smtp://127.0.0.1:{closed}")).unwrap();
    let down = Mailer::with_endpoint(endpoint, 1).send(&message).await;
    assert!(
        matches!(&down, Err(e @ Error::Connect { .. }) if e.is_temporary()),
        "{down:?}"
    );

    // A server that accepts the connection and never greets: a timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let endpoint = Endpoint::parse(&url)
        .unwrap()
        .timeout(Duration::from_millis(300));
    let timed_out = SmtpConnection::connect_to(&endpoint).await;
    assert!(
        matches!(&timed_out, Err(e @ Error::Timeout { waiting_for: "the greeting", .. }) if e.is_temporary()),
        "{:?}",
        timed_out.err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_delivery_follows_the_mx_plan_with_opportunistic_tls() {
    let stack = Stack::start();
    // mx1 is preferred but nothing listens on 127.0.0.2; mx2 is Postfix.
    let zone = "$ORIGIN example.test.\n$TTL 300\n\
                @ IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 300\n\
                @ IN NS ns\nns IN A 127.0.0.1\n\
                @ IN MX 10 mx1\n@ IN MX 20 mx2\nmx1 IN A 127.0.0.2\nmx2 IN A 127.0.0.1\n\
                nullmx IN MX 0 .\n";
    let dns = Nsd::start("example.test", zone);
    let direct = DirectMailer::new("sender.example.org")
        .unwrap()
        .nameservers(vec![dns.addr()])
        .port(stack.postfix.port)
        .timeout(LIMIT);
    let message = Outgoing::with_envelope(
        "app@sender.example.org",
        &["alice@example.test", "bob@nullmx.example.test", "carol@missing.example.test"],
        &b"From: app@sender.example.org\r\nTo: alice@example.test\r\nSubject: direct\r\n\r\nstraight to the MX\r\n"[..],
    )
    .unwrap();
    let report = within("direct delivery", direct.send(&message))
        .await
        .unwrap();
    let outcome = |who: &str| {
        let r = report
            .recipients
            .iter()
            .find(|r| r.recipient.to_string() == who)
            .unwrap();
        (r.status.is_delivered(), r.status.reply().code().get())
    };
    assert_eq!(outcome("<alice@example.test>"), (true, 250));
    assert_eq!(
        outcome("<bob@nullmx.example.test>"),
        (false, 556),
        "null MX"
    );
    let (delivered, code) = outcome("<carol@missing.example.test>");
    assert!(
        !delivered && (500..600).contains(&code),
        "NXDOMAIN is permanent: {code}"
    );
    let mut imap = ImapClient::connect_to(&stack.imap()).await.unwrap();
    imap.select("INBOX").await.unwrap();
    let mut arrived = imap.fetch_after(0).await.unwrap();
    if arrived.is_empty() {
        assert!(
            within("arrival", imap.wait_for_arrival(LIMIT))
                .await
                .unwrap()
        );
        arrived = imap.fetch_after(0).await.unwrap();
    }
    let parsed = arrived[0].parse();
    assert_eq!(parsed.subject().as_deref(), Some("direct"));
    // Postfix's trace field: our EHLO name, and ESMTPS (STARTTLS was used).
    let received: Vec<String> = parsed
        .root
        .header
        .get_all("Received")
        .map(|f| f.text().into_owned())
        .collect();
    let received = received
        .iter()
        .find(|r| r.starts_with("from sender.example.org"))
        .unwrap_or_else(|| panic!("no Received from our EHLO name: {received:?}"));
    assert!(
        received.contains("with ESMTPS"),
        "opportunistic STARTTLS: {received}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_reports_only_new_arrivals_from_postfix() {
    let stack = Stack::start();
    let mailer = Mailer::with_endpoint(stack.submission("wonderland"), 1);
    assert!(
        mailer
            .send(&report_message("before", &["alice@example.test"]))
            .await
            .unwrap()
            .all_accepted()
    );
    // Wait until the first is in the mailbox, so the watcher starts after
    // it: short waits, looking again after each, within one overall limit.
    let mut imap = ImapClient::connect_to(&stack.imap()).await.unwrap();
    imap.select("INBOX").await.unwrap();
    let deadline = std::time::Instant::now() + LIMIT;
    while imap.fetch_after(0).await.unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "first arrival took longer than {LIMIT:?}: {}",
            stack.postfix.log()
        );
        imap.wait_for_arrival(std::time::Duration::from_secs(2))
            .await
            .unwrap();
    }
    let mut watcher = Watcher::new(stack.imap(), "INBOX");
    // Watching begins here: "before" is already in the folder.
    watcher.start().await.unwrap();
    assert!(
        mailer
            .send(&report_message("after", &["alice@example.test"]))
            .await
            .unwrap()
            .all_accepted()
    );
    let next = tokio::spawn(async move {
        within("watcher", watcher.next())
            .await
            .map(|m| (m, watcher))
    });
    let (message, mut watcher) = next.await.unwrap().unwrap();
    assert_eq!(message.parse().subject().as_deref(), Some("after"));
    assert!(
        mailer
            .send(&report_message("third", &["alice@example.test"]))
            .await
            .unwrap()
            .all_accepted()
    );
    let third = within("watcher", watcher.next()).await.unwrap();
    assert_eq!(third.parse().subject().as_deref(), Some("third"));
    assert!(third.uid > message.uid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_8_sends_to_smtp_sink_and_replaces_connections_it_lost() {
    let mut args = vec!["--user", "app:pw", "--domain", "example.test"];
    for user in ["user0:x", "user1:x", "user2:x", "user3:x"] {
        args.extend(["--user", user]);
    }
    let sink = Sink::start(&args);
    // The sink makes a new self-signed certificate each start: accept any.
    let endpoint = Endpoint::parse(&format!("smtp+starttls://app:pw@localhost:{}", sink.port))
        .unwrap()
        .danger_accept_any_certificate();
    let mailer = Mailer::with_endpoint(endpoint, 8);
    let send = |mailer: Mailer, i: usize| async move {
        let to = format!("user{}@example.test", i % 4);
        let raw =
            format!("From: app@example.test\r\nTo: {to}\r\nSubject: n{i}\r\n\r\nbody {i}\r\n");
        mailer.send(&Outgoing::new(raw.into_bytes()).unwrap()).await
    };
    let tasks: Vec<_> = (0..40)
        .map(|i| tokio::spawn(send(mailer.clone(), i)))
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().unwrap().all_accepted());
    }
    let delivered: usize = (0..4)
        .map(|u| sink.messages(&format!("user{u}"), 10, LIMIT).len())
        .sum();
    assert_eq!(delivered, 40);

    // The sink goes away and comes back: the pooled connections are dead,
    // and the next send opens a new one instead of failing.
    let port = sink.port;
    drop(sink);
    let again = Sink::start_on(port, &args);
    assert!(send(mailer.clone(), 0).await.unwrap().all_accepted());
    assert_eq!(again.messages("user0", 1, LIMIT).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_imap_and_pop3_servers_with_the_clients() {
    let root = TempDir::new("api");
    let one = "From: a@example.test\r\nTo: alice@example.test\r\nSubject: one\r\nMessage-ID: <1@x>\r\n\r\nfirst\r\n";
    let two = "From: b@example.test\r\nTo: alice@example.test\r\nSubject: two\r\nMessage-ID: <2@x>\r\n\r\nsecond\r\n";
    fill_maildir(root.path(), "alice", &[one, two]);
    let (imaps_port, pop3s_port) = (
        sansmail_test_support::free_port(),
        sansmail_test_support::free_port(),
    );
    let imaps = format!("127.0.0.1:{imaps_port}");
    let pop3s = format!("127.0.0.1:{pop3s_port}");
    let imap_server =
        ImapServer::start(root.path(), &["--user", "alice:pw", "--tls-listen", &imaps]);
    let pop3_server =
        Pop3Server::start(root.path(), &["--user", "alice:pw", "--tls-listen", &pop3s]);
    sansmail_test_support::wait_for_port(imaps_port, "imap-server (imaps)");
    sansmail_test_support::wait_for_port(pop3s_port, "pop3-server (pop3s)");
    let cert = |name: &str| std::fs::read(root.path().join(name)).unwrap();

    let imap = Endpoint::parse(&format!(
        "imap+starttls://alice:pw@localhost:{}",
        imap_server.port
    ))
    .unwrap()
    .trust_pem(&cert("imap-server-cert.pem"))
    .unwrap();
    let mut client = ImapClient::connect_to(&imap).await.unwrap();
    client.select("INBOX").await.unwrap();
    let unseen = client.fetch_unseen().await.unwrap();
    let subjects: Vec<_> = unseen
        .iter()
        .map(|m| m.parse().subject().unwrap())
        .collect();
    assert_eq!(subjects, ["one", "two"]);
    client.mark_seen(&[unseen[0].uid]).await.unwrap();
    assert_eq!(client.fetch_unseen().await.unwrap().len(), 1);
    client.logout().await.unwrap();

    let pop3 = Endpoint::parse(&format!(
        "pop3+starttls://alice:pw@localhost:{}",
        pop3_server.port
    ))
    .unwrap()
    .trust_pem(&cert("pop3-server-cert.pem"))
    .unwrap();
    let mut pop = Pop3Client::connect_to(&pop3).await.unwrap();
    let listed = pop.list().await.unwrap();
    assert_eq!(listed.len(), 2);
    let first = pop.retrieve(listed[0].number).await.unwrap();
    assert!(first.starts_with(b"From: a@example.test"));
    pop.delete(listed[0].number).await.unwrap();
    pop.quit().await.unwrap();
    let mut pop = Pop3Client::connect_to(&pop3).await.unwrap();
    let left = pop.list().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].uid, listed[1].uid,
        "UIDLs are stable across sessions"
    );
    pop.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_reconnects_when_the_server_restarts() {
    let root = TempDir::new("watch");
    fill_maildir(root.path(), "alice", &[]);
    let server = ImapServer::start(root.path(), &["--user", "alice:pw", "--allow-plaintext"]);
    let port = server.port;
    let endpoint = Endpoint::parse(&format!("imap://alice:pw@127.0.0.1:{port}"))
        .unwrap()
        .danger_accept_any_certificate();
    let mut watcher = Watcher::new(endpoint, "INBOX").after_uid(0);
    let first = "From: a@example.test\r\nSubject: first\r\n\r\n1\r\n";
    fill_maildir(root.path(), "alice", &[first]);
    let got = within("first", watcher.next()).await.unwrap();
    assert_eq!(got.parse().subject().as_deref(), Some("first"));

    // The server goes down while the watcher idles; mail arrives meanwhile.
    let waiting = tokio::spawn(async move { within("after restart", watcher.next()).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(server);
    let second = "From: a@example.test\r\nSubject: while down\r\n\r\n2\r\n";
    fill_maildir(root.path(), "alice", &[second]);
    let _server = ImapServer::start_on(
        port,
        root.path(),
        &["--user", "alice:pw", "--allow-plaintext"],
    );
    let got = waiting.await.unwrap().unwrap();
    assert_eq!(got.parse().subject().as_deref(), Some("while down"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_backs_off_while_the_server_is_unreachable() {
    // A server that takes connections and drops them at once: every
    // attempt fails, and each waits longer than the one before.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let attempts = tokio::spawn(async move {
        let mut at = Vec::new();
        while at.len() < 4 {
            let (tcp, _) = listener.accept().await.unwrap();
            drop(tcp);
            at.push(std::time::Instant::now());
        }
        at
    });
    let endpoint = Endpoint::parse(&format!("imap://alice:pw@127.0.0.1:{port}")).unwrap();
    let mut watcher = Watcher::new(endpoint, "INBOX");
    let watching = tokio::spawn(async move { watcher.next().await });
    let at = within("four attempts", attempts).await.unwrap();
    watching.abort();
    let gaps: Vec<f64> = at.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
    assert!(
        gaps[0] >= 0.9 && gaps[1] >= 1.9 && gaps[2] >= 3.9,
        "1 s, 2 s, 4 s: {gaps:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_starts_over_when_the_folder_is_made_anew() {
    let root = TempDir::new("watch-validity");
    fill_maildir(root.path(), "alice", &[]);
    let feed = root.path().join("alice/Maildir/.Feed");
    let make_feed = || {
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(feed.join(sub)).unwrap();
        }
    };
    make_feed();
    let deliver = |subject: &str| {
        let name = format!("{subject}.M1P1Q1.test");
        let text = format!("From: a@example.test\r\nSubject: {subject}\r\n\r\nx\r\n");
        std::fs::write(feed.join("tmp").join(&name), text).unwrap();
        std::fs::rename(feed.join("tmp").join(&name), feed.join("new").join(&name)).unwrap();
    };
    let args = ["--user", "alice:pw", "--allow-plaintext"];
    let server = ImapServer::start(root.path(), &args);
    let port = server.port;
    let endpoint = Endpoint::parse(&format!("imap://alice:pw@127.0.0.1:{port}"))
        .unwrap()
        .danger_accept_any_certificate();
    let mut watcher = Watcher::new(endpoint, "Feed");
    within("start", watcher.start()).await.unwrap();
    deliver("first");
    let got = within("first", watcher.next()).await.unwrap();
    assert_eq!(got.parse().subject().as_deref(), Some("first"));
    let first_uid = got.uid;
    // The folder is made anew while the server is down: a new UIDVALIDITY,
    // and UIDs that start again from 1.
    drop(server);
    std::fs::remove_dir_all(&feed).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    make_feed();
    let _server = ImapServer::start_on(port, root.path(), &args);
    let waiting = tokio::spawn(async move {
        let got = within("after the new folder", watcher.next()).await;
        (got, watcher)
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    deliver("second");
    let (got, _watcher) = waiting.await.unwrap();
    let got = got.unwrap();
    assert_eq!(got.parse().subject().as_deref(), Some("second"));
    assert!(got.uid <= first_uid, "UIDs of the new folder start again");
}
