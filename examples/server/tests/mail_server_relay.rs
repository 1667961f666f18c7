//! mail-server relaying to other domains' exchangers found through a real
//! DNS server (NSD): MX order and fallback, retries, bounces, expiry.

use std::process::Command;
use std::time::{Duration, Instant};

use sansmail_test_support::*;

#[test]
fn relays_through_dns_with_fallback_retry_and_bounces() {
    // Postfix is the mail exchanger of retry.remote.test: it answers 451
    // until its access table changes. Every exchanger listens on its port.
    let vmail = TempDir::new("vmail");
    std::fs::write(
        vmail.path().join("access"),
        "later@retry.remote.test 451 4.3.0 not now\n",
    )
    .unwrap();
    std::fs::create_dir_all(vmail.path().join("box")).unwrap();
    chown_nobody(vmail.path());
    let postfix = Postfix::start(&format!(
        "smtpd_recipient_restrictions = check_recipient_access texthash:{v}/access, permit_mynetworks, reject
virtual_mailbox_domains = retry.remote.test
virtual_mailbox_base = {v}/box
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100",
        v = vmail.path().display()
    ));
    let port = postfix.port;
    let first = Sink::start_at(
        &format!("127.0.0.2:{port}"),
        &[
            "--domain",
            "pref.remote.test",
            "--domain",
            "bounce.remote.test",
            "--user",
            "known:pw",
        ],
    );
    let second = Sink::start_at(
        &format!("127.0.0.3:{port}"),
        &[
            "--domain",
            "pref.remote.test",
            "--domain",
            "fallback.remote.test",
        ],
    );
    let (_dns, _config, server) = relaying_server(
        "pref IN MX 10 mx1\npref IN MX 20 mx2\n\
         fallback IN MX 10 down\nfallback IN MX 20 mx2\n\
         retry IN MX 10 mx-postfix\n\
         bounce IN MX 10 mx1\n\
         nullmx IN MX 0 .\n\
         mx1 IN A 127.0.0.2\nmx2 IN A 127.0.0.3\ndown IN A 127.0.0.4\nmx-postfix IN A 127.0.0.1\n",
        "retry_secs = [1]\ntimeout_secs = 10\n",
        port,
    );

    let raw = "From: alice@example.test\r\nTo: many\r\nSubject: relayed\r\nMessage-ID: <relayed@example.test>\r\n\r\nout into the world\r\n";
    submit(
        &server,
        &[
            "known@pref.remote.test",
            "someone@fallback.remote.test",
            "later@retry.remote.test",
            "nobody@bounce.remote.test",
            "x@nullmx.remote.test",
            "y@nx.remote.test",
        ],
        raw,
    );

    // The preferred exchanger got its recipient; the second took the fallback domain's.
    let got = first.messages("known", 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1, "{}", server.log());
    assert!(
        got[0].contains("Subject: relayed") && got[0].contains("by mail.example.test"),
        "{}",
        got[0]
    );
    assert_eq!(
        got[0].matches("Return-Path:").count(),
        1,
        "only the final delivery adds one: {}",
        got[0]
    );
    let got = second.messages("someone", 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1, "{}", server.log());
    assert!(
        second.messages("known", 0, Duration::ZERO).is_empty(),
        "the preferred MX was up"
    );

    // One bounce to alice, naming the three permanent failures.
    let inbox = server.wait_inbox("alice", 1, Duration::from_secs(20));
    assert_eq!(inbox.len(), 1, "{}", server.log());
    let bounce = &inbox[0];
    assert!(bounce.starts_with("Return-Path: <>\r\n"), "{bounce}");
    assert!(
        bounce.contains("multipart/report") && bounce.contains("report-type=\"delivery-status\""),
        "{bounce}"
    );
    for failed in [
        "nobody@bounce.remote.test",
        "x@nullmx.remote.test",
        "y@nx.remote.test",
    ] {
        assert!(
            bounce.contains(&format!("Final-Recipient: rfc822; {failed}")),
            "{failed}: {bounce}"
        );
    }
    assert!(bounce.contains("Status: 5.1.1"), "{bounce}");
    assert!(
        bounce.contains("Status: 5.1.10") || bounce.contains("556"),
        "null MX: {bounce}"
    );
    assert!(
        !bounce.contains("later@retry"),
        "the deferred recipient is not bounced: {bounce}"
    );
    assert!(
        bounce.contains("Message-ID: <relayed@example.test>"),
        "the original headers come back"
    );

    // Postfix deferred its recipient; once it accepts, the retry delivers.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log().contains("deferred") {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        postfix
            .log()
            .contains("451 4.3.0 <later@retry.remote.test>"),
        "{}",
        postfix.log()
    );
    std::fs::write(vmail.path().join("access"), "").unwrap();
    let out = run(
        Command::new("postfix")
            .arg("-c")
            .arg(postfix.dir.path().join("etc"))
            .arg("reload"),
        b"",
        Duration::from_secs(30),
    );
    assert!(out.status.success());
    let delivered = vmail.path().join("box/inbox/new");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&delivered).map_or(0, |d| d.count()) == 0 {
        assert!(
            Instant::now() < deadline,
            "never retried:\n{}\n{}",
            server.log(),
            postfix.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(server.data().join("queue"))
        .unwrap()
        .count()
        > 0
    {
        assert!(
            Instant::now() < deadline,
            "the queue keeps a finished message"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(server.inbox("alice").len(), 1, "no second bounce");
}

#[test]
fn a_message_past_its_lifetime_bounces_as_expired() {
    let (_dns, _config, server) = relaying_server(
        "down IN MX 10 mx\nmx IN A 127.0.0.4\n",
        "retry_secs = [1]\nlifetime_secs = 3\n",
        free_port(),
    );
    submit(
        &server,
        &["someone@down.remote.test"],
        "From: alice@example.test\r\nSubject: never arrives\r\n\r\nhi\r\n",
    );
    let inbox = server.wait_inbox("alice", 1, Duration::from_secs(30));
    assert_eq!(inbox.len(), 1, "{}", server.log());
    let bounce = &inbox[0];
    assert!(
        bounce.contains("Final-Recipient: rfc822; someone@down.remote.test"),
        "{bounce}"
    );
    assert!(
        bounce.contains("Status: 4.4.1") && bounce.contains("delivery time expired"),
        "{bounce}"
    );
    let attempts = server.log().matches("deferred").count();
    assert!(attempts >= 2, "retried before expiring:\n{}", server.log());
}
