//! DKIM in mail-server: submitted mail is signed and verifies with dkimpy
//! and sansmail-auth against the record `mail-server dkim-record` prints;
//! relayed to a Postfix whose OpenDKIM milter verifies it, it passes; and
//! mail Postfix signs through the OpenDKIM milter passes at mail-server.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use sansmail_auth::dkim::{DkimResult, DkimVerifier, Step};
use sansmail_auth::dns::{Answer, Record};
use sansmail_test_support::*;

#[test]
fn submitted_mail_is_signed_and_the_signature_verifies() {
    let dir = TempDir::new("dkim");
    let key = dir.path().join("example.test.pem");
    let made = run(
        Command::new(require("openssl"))
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&key),
        b"",
        Duration::from_secs(60),
    );
    assert!(made.status.success());
    let config = dir.path().join("dkim.toml");
    std::fs::write(
        &config,
        format!(
            "[[dkim]]\ndomain = \"example.test\"\nselector = \"s1\"\nkey = \"{}\"\n",
            key.display()
        ),
    )
    .unwrap();
    let printed = run(
        Command::new(bin("mail-server"))
            .arg("dkim-record")
            .arg(&key),
        b"",
        Duration::from_secs(30),
    );
    assert!(printed.status.success());
    let record = String::from_utf8(printed.stdout).unwrap().trim().to_owned();
    assert!(record.starts_with("v=DKIM1; k=rsa; p=MII"), "{record}");

    let server = MailServer::start(&["--config", &config.display().to_string()]);
    server.python(
        r#"
s = smtplib.SMTP(H, P["SUBMISSION"])
s.starttls(context=TLS)
s.login("alice", "alice-pw")
msg = "From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: signed\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <dkim-1@example.test>\r\n\r\nThis one is signed.\r\n"
s.sendmail("alice@example.test", ["bob@example.test"], msg)
s.quit()
"#,
    );
    let inbox = server.wait_inbox("bob", 1, Duration::from_secs(5));
    let delivered = inbox[0].replace("\r\n", "\n").replace('\n', "\r\n");
    assert!(
        delivered.contains(
            "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=s1;"
        ),
        "{delivered}"
    );

    // dkimpy, with the published record as its DNS.
    let file = dir.path().join("delivered.eml");
    std::fs::write(&file, &delivered).unwrap();
    let out = run(
        Command::new(require("python3")).arg("-c").arg(format!(
            "import dkim\nrecord = {record:?}.encode()\ndns = lambda name, timeout=5: record if name == b's1._domainkey.example.test.' else None\nprint(dkim.verify(open({:?}, 'rb').read(), dnsfunc=dns))",
            file.display().to_string()
        )),
        b"",
        Duration::from_secs(60),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "True",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // sansmail-auth's verifier.
    let zone = HashMap::from([(
        "s1._domainkey.example.test".to_owned(),
        Answer::records(vec![Record::Txt(record.into_bytes())]),
    )]);
    let mut v = DkimVerifier::new(delivered.as_bytes(), 1_800_000_000);
    let results = loop {
        match v.poll() {
            Step::Lookup(q) => {
                let a = zone.get(&q.name).cloned().unwrap_or(Answer::NxDomain);
                v.answer(q, a);
            }
            Step::Done(r) => break r,
        }
    };
    assert_eq!(results[0].result, DkimResult::Pass, "{results:?}");
}

/// A private OpenDKIM milter with `settings` (its mode and keys).
fn opendkim_milter(dir: &std::path::Path, settings: &str) -> (u16, Daemon) {
    let port = free_port();
    let conf = dir.join("opendkim.conf");
    std::fs::write(
        &conf,
        format!(
            "Syslog no\nRequireSafeKeys no\nAuthservID opendkim.test\n\
             Socket inet:{port}@127.0.0.1\n{settings}"
        ),
    )
    .unwrap();
    let child = Command::new(require("/usr/sbin/opendkim"))
        .arg("-f")
        .arg("-x")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("opendkim.log")).unwrap())
        .spawn()
        .expect("start opendkim");
    (port, listening(child, "opendkim", port))
}

#[test]
fn relayed_mail_verifies_at_postfix_with_the_opendkim_milter() {
    let dir = TempDir::new("dkim-relay");
    let keys = dir.path().join("keys");
    let (key, record) = dkim_keygen(&keys, "example.test", &["--ed25519"]);
    assert!(record.starts_with("v=DKIM1; k=ed25519; p="), "{record}");
    let public = dir.path().join("public-keys");
    std::fs::write(&public, format!("s1._domainkey.example.test {record}\n")).unwrap();
    let (milter, _opendkim) = opendkim_milter(
        dir.path(),
        &format!("Mode v\nTestPublicKeys {}\n", public.display()),
    );

    let vmail = TempDir::new("vmail-dkim");
    std::fs::create_dir_all(vmail.path().join("box")).unwrap();
    chown_nobody(vmail.path());
    let postfix = Postfix::start(&format!(
        "smtpd_milters = inet:127.0.0.1:{milter}
milter_default_action = tempfail
virtual_mailbox_domains = dk.remote.test
virtual_mailbox_base = {v}/box
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100",
        v = vmail.path().display()
    ));
    // mail-server signs with the key `dkim-keygen` made, and relays through DNS to Postfix.
    let queue = format!(
        "retry_secs = [1]\ntimeout_secs = 10\n\n[[dkim]]\ndomain = \"example.test\"\nselector = \"s1\"\nkey = \"{}\"\n",
        key.display()
    );
    let (_dns, _config, server) = relaying_server(
        "dk IN MX 10 mx-postfix\nmx-postfix IN A 127.0.0.1\n",
        &queue,
        postfix.port,
    );
    let raw = "From: Alice <alice@example.test>\r\nTo: bob@dk.remote.test\r\nSubject: through Postfix\r\n\
Date: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <dkim-relay@example.test>\r\n\r\nSigned, relayed, verified.\r\n";
    submit(&server, &["bob@dk.remote.test"], raw);
    let inbox = vmail.path().join("box/inbox/new");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let delivered = loop {
        let found: Vec<_> = std::fs::read_dir(&inbox)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        if let Some(path) = found.first() {
            break std::fs::read_to_string(path).unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing delivered\nmail-server: {}\npostfix: {}",
            server.log(),
            postfix.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let unfolded = delivered.replace("\n\t", " ");
    let verdict = unfolded
        .lines()
        .find(|l| l.starts_with("Authentication-Results: opendkim.test"))
        .unwrap_or_else(|| panic!("OpenDKIM added no result: {delivered}"));
    assert!(
        verdict.contains("dkim=pass") && verdict.contains("header.d=example.test"),
        "{verdict}"
    );
}

#[test]
fn postfix_signing_with_the_opendkim_milter_verifies_at_mail_server() {
    let dir = TempDir::new("dkim-inbound");
    let key = dir.path().join("od.pem");
    std::fs::write(&key, rsa_pem()).unwrap();
    let printed = run(
        Command::new(bin("mail-server"))
            .arg("dkim-record")
            .arg(&key),
        b"",
        Duration::from_secs(30),
    );
    let record = String::from_utf8(printed.stdout).unwrap().trim().to_owned();
    let dns = Nsd::start(
        "example.net",
        &format!(
            "$ORIGIN example.net.\n$TTL 300\n\
             @ IN SOA ns.example.net. admin.example.net. 1 3600 600 86400 300\n\
             @ IN NS ns\nns IN A 127.0.0.1\n\
             sign IN TXT \"v=spf1 ip4:127.0.0.1 -all\"\n\
             od._domainkey.sign IN TXT {}\n",
            zone_txt(&record)
        ),
    );
    // mail-server checks mail from loopback too, asking NSD.
    let config = dir.path().join("mail-server.toml");
    std::fs::write(&config, "[sender_auth]\ncheck_loopback = true\n").unwrap();
    let server = MailServer::start(&[
        "--config",
        &config.display().to_string(),
        "--dns",
        &dns.addr().to_string(),
    ]);
    // Postfix signs through OpenDKIM and relays to mail-server.
    let (milter, _opendkim) = opendkim_milter(
        dir.path(),
        &format!(
            "Mode s\nDomain sign.example.net\nSelector od\nKeyFile {}\n",
            key.display()
        ),
    );
    let postfix = Postfix::start(&format!(
        "smtpd_milters = inet:127.0.0.1:{milter}\nmilter_default_action = tempfail\n\
         relayhost = [127.0.0.1]:{}",
        server.ports.smtp
    ));
    let out = python(
        &format!(
            r#"
import smtplib
s = smtplib.SMTP("127.0.0.1", {port})
s.sendmail("ann@sign.example.net", ["bob@example.test"],
    "From: Ann <ann@sign.example.net>\r\nTo: bob@example.test\r\nSubject: signed by OpenDKIM\r\n"
    "Date: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <od-1@sign.example.net>\r\n\r\nVia Postfix.\r\n")
s.quit()
print("ok")
"#,
            port = postfix.port
        ),
        &[],
    );
    assert_eq!(out.trim(), "ok");
    let inbox = server.wait_inbox("bob", 1, Duration::from_secs(30));
    assert_eq!(
        inbox.len(),
        1,
        "nothing arrived\npostfix: {}\nmail-server: {}",
        postfix.log(),
        server.log()
    );
    let unfolded = inbox[0].replace("\r\n\t", " ").replace("\n\t", " ");
    assert!(
        unfolded.contains("DKIM-Signature: v=1; a=rsa-sha256;") && unfolded.contains("s=od;"),
        "OpenDKIM did not sign: {unfolded}"
    );
    let verdict = unfolded
        .lines()
        .find(|l| l.starts_with("Authentication-Results: mail.example.test;"))
        .unwrap_or_else(|| panic!("no verdict: {unfolded}"));
    assert!(
        verdict.contains("dkim=pass header.d=sign.example.net header.s=od"),
        "{verdict}"
    );
    assert!(verdict.contains("dmarc=none"), "{verdict}");
}
