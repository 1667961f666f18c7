//! mail-server relaying with DANE on: Postfix is the mail exchanger, its
//! TLSA records live in a DNSSEC-signed zone (NSD) behind a validating
//! unbound. A wrong record or a man in the middle that strips STARTTLS
//! keeps the message in the queue; it never goes out in plaintext.

use std::time::{Duration, Instant};

use sansmail_test_support::secure::{Ca, PolicyServer, Unbound, sign_zone, strip_starttls};
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

    // TLS reports: good.dane.test wants them by mail and HTTPS, bad.dane.test by HTTPS.
    let reports = PolicyServer::start(&ca.issue(&["127.0.0.1"]), &[]);
    let post_to = format!("https://127.0.0.1:{}/v1/tlsrpt", reports.port);
    let spki = sha256(&issued.spki_der);
    let zone = format!(
        "$ORIGIN dane.test.\n$TTL 300\n@ IN SOA ns.dane.test. admin.dane.test. 1 3600 600 86400 300\n\
         @ IN NS ns\nns IN A 127.0.0.1\n\
         good IN MX 10 mx\nmx IN A 127.0.0.1\n_{port}._tcp.mx IN TLSA 3 1 1 {spki}\n\
         bad IN MX 10 mxbad\nmxbad IN A 127.0.0.1\n_{port}._tcp.mxbad IN TLSA 3 1 1 {zero}\n\
         strip IN MX 10 mxstrip\nmxstrip IN A 127.0.0.2\n_{port}._tcp.mxstrip IN TLSA 3 1 1 {spki}\n\
         _smtp._tls.good IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@good.dane.test,{post_to}\"\n\
         _smtp._tls.bad IN TXT \"v=TLSRPTv1; rua={post_to}\"\n",
        zero = "00".repeat(32),
    );
    let (signed, anchor) = sign_zone("dane.test", &zone);
    let nsd = Nsd::start("dane.test", &signed);
    let unbound = Unbound::start("dane.test", &nsd, Some(&anchor));

    let config = TempDir::new("config");
    let file = config.path().join("mail-server.toml");
    let ca_file = config.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    std::fs::write(
        &file,
        format!(
            "[queue]\nretry_secs = [1]\ntimeout_secs = 10\ndane = true\nmta_sts = false\n\
             mta_sts_ca = {:?}\n[tls_reports]\ninterval_secs = 3\n",
            ca_file.display().to_string()
        ),
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
    let delivered_messages = || {
        std::fs::read_dir(&delivered)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect::<Vec<_>>()
    };
    // The first delivered message containing `needle`, waiting up to 30 s.
    let wait_for_message = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(m) = delivered_messages()
                .into_iter()
                .find(|m| m.contains(needle))
            {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "{}\n{}",
                server.log(),
                postfix.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let message = wait_for_message("Subject: dane");
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
    // REQUIRETLS: offered over TLS only; Postfix, the DANE-verified MX,
    // does not take it, so the message comes back as undeliverable (5.7.30).
    let out = server.python(
        r#"
s = smtplib.SMTP(H, P["SUBMISSION"])
s.ehlo()
assert not s.has_extn("requiretls")
s.starttls(context=TLS)
s.ehlo()
assert s.has_extn("requiretls")
s.login("alice", "alice-pw")
s.sendmail("alice@example.test", ["dee@good.dane.test"], "From: alice@example.test\r\nSubject: must be sealed\r\n\r\nx\r\n", mail_options=["REQUIRETLS"])
s.quit()
print("ok")
"#,
    );
    assert_eq!(out.trim(), "ok");
    let inbox = server.wait_inbox("alice", 1, Duration::from_secs(20));
    assert_eq!(inbox.len(), 1, "{}", server.log());
    assert!(
        inbox[0].contains("Final-Recipient: rfc822; dee@good.dane.test"),
        "{}",
        inbox[0]
    );
    assert!(inbox[0].contains("Status: 5.7.30"), "{}", inbox[0]);

    // The TLS reports: by mail (through the relay, under DANE itself) ...
    let mailed = wait_for_message("TLS-Report-Domain: good.dane.test");
    let out = run(
        std::process::Command::new(require("python3")).args([
            "-c",
            "import email, gzip, json, sys\n\
             m = email.message_from_bytes(sys.stdin.buffer.read())\n\
             assert m.get_content_type() == 'multipart/report', m.get_content_type()\n\
             assert m.get_param('report-type') == 'tlsrpt'\n\
             assert ' '.join(m['Subject'].split()).startswith('Report Domain: good.dane.test Submitter: mail.example.test Report-ID: <')\n\
             part = [p for p in m.walk() if p.get_content_type() == 'application/tlsrpt+gzip'][0]\n\
             assert part.get_filename().startswith('mail.example.test!good.dane.test!')\n\
             print(gzip.decompress(part.get_payload(decode=True)).decode())",
        ]),
        mailed.as_bytes(),
        Duration::from_secs(20),
    );
    assert!(
        out.status.success(),
        "{}\n{mailed}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let policy = &report["policies"][0];
    assert_eq!(policy["policy"]["policy-type"], "tlsa", "{report}");
    assert_eq!(
        policy["policy"]["policy-domain"], "good.dane.test",
        "{report}"
    );
    assert_eq!(
        policy["policy"]["policy-string"][0],
        format!("3 1 1 {spki}")
    );
    assert!(policy["summary"]["total-successful-session-count"].as_u64() >= Some(1));
    assert_eq!(report["organization-name"], "mail.example.test");
    assert_eq!(report["contact-info"], "postmaster@example.test");

    // ... and by HTTPS POST, gzipped JSON.
    let deadline = Instant::now() + Duration::from_secs(30);
    let bad = loop {
        let found: Vec<serde_json::Value> = reports
            .posted()
            .iter()
            .map(|(kind, body)| {
                assert_eq!(kind, "application/tlsrpt+gzip");
                let mut text = String::new();
                std::io::Read::read_to_string(
                    &mut flate2::read::GzDecoder::new(&body[..]),
                    &mut text,
                )
                .unwrap();
                serde_json::from_str(&text).unwrap()
            })
            .collect();
        let bad = found
            .into_iter()
            .find(|r| r["policies"][0]["policy"]["policy-domain"] == "bad.dane.test");
        if let Some(bad) = bad {
            break bad;
        }
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(200));
    };
    let detail = &bad["policies"][0]["failure-details"][0];
    assert_eq!(detail["result-type"], "validation-failure", "{bad}");
    assert_eq!(detail["receiving-mx-hostname"], "mxbad.dane.test", "{bad}");
    assert!(bad["policies"][0]["summary"]["total-failure-session-count"].as_u64() >= Some(1));

    let count = delivered_messages()
        .iter()
        .filter(|m| !m.contains("TLS-Report-Domain"))
        .count();
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

#[test]
fn serves_its_mta_sts_policy_and_another_sender_enforces_it() {
    let ca = Ca::new();
    let files = TempDir::new("sts-server");
    let (cert, key) = ca
        .issue(&["mail.example.test", "mta-sts.example.test"])
        .write(files.path(), "server");
    let ca_file = files.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let config = files.path().join("mail-server.toml");
    std::fs::write(
        &config,
        "hostname = \"mail.example.test\"\ndomains = [\"example.test\"]\n\
         [mta_sts]\nmode = \"enforce\"\nmx = [\"mail.example.test\"]\nmax_age = 86400\n",
    )
    .unwrap();
    let server = MailServer::start(&[
        "--config",
        config.to_str().unwrap(),
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let https = server.ports.https;

    // curl, checking the certificate, reads the policy by its host name.
    let curl = |host: &str| {
        let out = run(
            std::process::Command::new(require("curl"))
                .args(["-sS", "-D", "-", "--cacert"])
                .arg(&ca_file)
                .arg("--resolve")
                .arg(format!("{host}:{https}:127.0.0.1"))
                .arg(format!("https://{host}:{https}/.well-known/mta-sts.txt")),
            b"",
            Duration::from_secs(20),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let response = curl("mta-sts.example.test");
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{head}"
    );
    let policy = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\nmax_age: 86400\r\n";
    assert_eq!(body, policy);
    let other = curl("mail.example.test");
    assert!(other.starts_with("HTTP/1.1 404"), "{other}");

    // The record to publish names the policy's id.
    let out = run(
        std::process::Command::new(bin("mail-server"))
            .args(["mta-sts-record", "--config"])
            .arg(&config),
        b"",
        Duration::from_secs(20),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record = String::from_utf8(out.stdout).unwrap();
    let id = &sha256(policy.as_bytes())[..32];
    let txt = format!("\"v=STSv1; id={id}\"");
    assert!(
        record.contains(&format!("_mta-sts.example.test. IN TXT {txt}")),
        "{record}"
    );

    // A sender that enforces it delivers to our listed MX over verified TLS.
    let zone = format!(
        "$ORIGIN example.test.\n$TTL 300\n@ IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 300\n\
         @ IN NS ns\nns IN A 127.0.0.1\n@ IN MX 10 mail\nmail IN A 127.0.0.1\n\
         _mta-sts IN TXT {txt}\nmta-sts IN A 127.0.0.1\n"
    );
    let dns = Nsd::start("example.test", &zone);
    let mailer = sansmail::DirectMailer::new("sender.example.org")
        .unwrap()
        .nameservers(vec![dns.addr()])
        .port(server.ports.smtp)
        .timeout(Duration::from_secs(10))
        .mta_sts_trust(&sansmail::Trust::Roots(vec![ca.der().into()]))
        .mta_sts_port(https);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let outgoing = sansmail::Outgoing::with_envelope(
        "someone@example.org",
        &["alice@example.test"],
        &b"From: someone@example.org\r\nSubject: sts\r\n\r\nhello\r\n"[..],
    )
    .unwrap();
    let report = runtime
        .block_on(mailer.send(outgoing))
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    assert!(report.all_accepted());
    let inbox = server.wait_inbox("alice", 1, Duration::from_secs(10));
    assert_eq!(inbox.len(), 1);
    assert!(inbox[0].contains("with ESMTPS"), "{}", inbox[0]);
    assert!(server.log().contains("status=200"), "{}", server.log());
}
