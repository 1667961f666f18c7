//! mail-server relaying with DANE on: Postfix is the mail exchanger, its
//! TLSA records live in a DNSSEC-signed zone (NSD) behind a validating
//! unbound. A wrong record or a man in the middle that strips STARTTLS
//! keeps the message in the queue; it never goes out in plaintext.

use std::time::{Duration, Instant};

use sansmail_test_support::secure::{Ca, Unbound, sign_zone, strip_starttls};
use sansmail_test_support::*;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn dane_relay_delivers_to_matching_hosts_and_defers_the_rest() {
    let ca = Ca::new();
    let certs = TempDir::new("postfix-certs");
    let issued = ca.issue(&["mx.dane.test"]);
    let (cert, key) = issued.write(certs.path(), "postfix");
    let vmail = TempDir::new("vmail");
    std::fs::create_dir_all(vmail.path().join("box")).unwrap();
    chown_nobody(vmail.path());
    let postfix = Postfix::start(&format!(
        "smtpd_tls_security_level = may
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_received_header = yes
virtual_mailbox_domains = good.dane.test, bad.dane.test, strip.dane.test
virtual_mailbox_base = {v}/box
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100",
        cert = cert.display(),
        key = key.display(),
        v = vmail.path().display()
    ));
    let port = postfix.port;
    strip_starttls(&format!("127.0.0.2:{port}"), &postfix.addr());

    let spki = sha256(&issued.spki_der);
    let zone = format!(
        "$ORIGIN dane.test.\n$TTL 300\n@ IN SOA ns.dane.test. admin.dane.test. 1 3600 600 86400 300\n\
         @ IN NS ns\nns IN A 127.0.0.1\n\
         good IN MX 10 mx\nmx IN A 127.0.0.1\n_{port}._tcp.mx IN TLSA 3 1 1 {spki}\n\
         bad IN MX 10 mxbad\nmxbad IN A 127.0.0.1\n_{port}._tcp.mxbad IN TLSA 3 1 1 {zero}\n\
         strip IN MX 10 mxstrip\nmxstrip IN A 127.0.0.2\n_{port}._tcp.mxstrip IN TLSA 3 1 1 {spki}\n",
        zero = "00".repeat(32),
    );
    let (signed, anchor) = sign_zone("dane.test", &zone);
    let nsd = Nsd::start("dane.test", &signed);
    let unbound = Unbound::start("dane.test", &nsd, Some(&anchor));

    let config = TempDir::new("config");
    let file = config.path().join("mail-server.toml");
    std::fs::write(
        &file,
        "[queue]\nretry_secs = [1]\ntimeout_secs = 10\ndane = true\nmta_sts = false\n",
    )
    .unwrap();
    let server = MailServer::start(&[
        "--config",
        file.to_str().unwrap(),
        "--dns",
        &unbound.addr().to_string(),
        "--remote-smtp-port",
        &port.to_string(),
    ]);
    let raw = "From: alice@example.test\r\nTo: many\r\nSubject: dane\r\n\r\nsealed\r\n";
    submit(
        &server,
        &[
            "ann@good.dane.test",
            "bob@bad.dane.test",
            "cid@strip.dane.test",
        ],
        raw,
    );

    // The matching host got its message over TLS.
    let delivered = vmail.path().join("box/inbox/new");
    let deadline = Instant::now() + Duration::from_secs(30);
    let message = loop {
        let found = std::fs::read_dir(&delivered)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect::<Vec<_>>();
        if let Some(m) = found.first() {
            break m.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{}\n{}",
            server.log(),
            postfix.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(message.contains("for <ann@good.dane.test>"), "{message}");
    assert!(message.contains("(using TLS"), "{message}");

    // The others are deferred with 4.7.5, retried, and never delivered.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = server.log();
        let deferred = |who: &str| {
            log.lines()
                .any(|l| l.contains(who) && l.contains("4.7.5") && l.contains("Pending"))
        };
        if deferred("bob@bad.dane.test") && deferred("cid@strip.dane.test") {
            assert!(log.contains("TLSA"), "{log}");
            assert!(log.contains("STARTTLS"), "{log}");
            break;
        }
        assert!(Instant::now() < deadline, "{log}");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    let count = std::fs::read_dir(&delivered).unwrap().count();
    assert_eq!(count, 1, "only ann's copy: {}", postfix.log());
    assert!(
        !postfix.log().contains("bob@bad.dane.test"),
        "{}",
        postfix.log()
    );
    assert!(
        !postfix.log().contains("cid@strip.dane.test"),
        "{}",
        postfix.log()
    );
}

fn sha256(bytes: &[u8]) -> String {
    use std::process::Command;
    let dir = TempDir::new("spki");
    let path = dir.path().join("spki.der");
    std::fs::write(&path, bytes).unwrap();
    let out = run(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-binary"])
            .arg(&path),
        b"",
        Duration::from_secs(10),
    );
    assert!(out.status.success());
    hex(&out.stdout)
}
