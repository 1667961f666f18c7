//! Forwarding: mail for a local address forwarded to another domain is
//! relayed there with an ARC set sealed by mail-server's DKIM key, carrying
//! what mail-server verified; dkimpy validates the chain, and so does
//! sansmail-auth.

use std::process::Command;
use std::time::Duration;

use sansmail_auth::arc::{ArcResult, ArcVerifier, Step};
use sansmail_auth::dns::{Answer, Record};
use sansmail_test_support::*;

#[test]
fn forwarded_mail_is_arc_sealed_and_the_chain_validates() {
    let dir = TempDir::new("forward");
    let keys = dir.path().join("keys");
    let (key, record) = dkim_keygen(&keys, "example.test", &[]);

    let port = free_port();
    let destination = Sink::start_at(
        &format!("127.0.0.2:{port}"),
        &["--domain", "fwd.remote.test", "--user", "ann:pw"],
    );
    // mail-server checks the sender (SPF passes for 127.0.0.1), then
    // forwards ann@example.test to ann@fwd.remote.test.
    let config = format!(
        "retry_secs = [1]\ntimeout_secs = 10\n\n\
         [sender_auth]\ncheck_loopback = true\n\n\
         [forwards]\nann = \"ann@fwd.remote.test\"\n\n\
         [[dkim]]\ndomain = \"example.test\"\nselector = \"s1\"\nkey = \"{}\"\n",
        key.display()
    );
    let (_dns, _config, server) = relaying_server(
        "fwd IN MX 10 mx1\nmx1 IN A 127.0.0.2\nsender IN TXT \"v=spf1 ip4:127.0.0.1 -all\"\n",
        &config,
        port,
    );
    server.python(
        r#"
s = smtplib.SMTP(H, P["SMTP"])
s.ehlo("mx.sender.remote.test")
s.sendmail("bob@sender.remote.test", ["ann@example.test"],
    "From: Bob <bob@sender.remote.test>\r\nTo: ann@example.test\r\nSubject: forwarded\r\n"
    "Date: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <fwd-1@sender.remote.test>\r\n\r\nHello Ann.\r\n")
s.quit()
"#,
    );
    let got = destination.messages("ann", 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1, "nothing forwarded: {}", server.log());
    let forwarded = got[0].replace("\r\n", "\n").replace('\n', "\r\n");
    assert!(
        forwarded.contains("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.test; s=s1;"),
        "{forwarded}"
    );
    let unfolded = forwarded.replace("\r\n\t", " ");
    let aar = unfolded
        .lines()
        .find(|l| l.starts_with("ARC-Authentication-Results: i=1; mail.example.test;"))
        .unwrap_or_else(|| panic!("no AAR: {forwarded}"));
    assert!(
        aar.contains("spf=pass smtp.mailfrom=bob@sender.remote.test"),
        "{aar}"
    );

    // dkimpy, with the published key as its DNS.
    let file = dir.path().join("forwarded.eml");
    std::fs::write(&file, &forwarded).unwrap();
    let out = run(
        Command::new(require("python3")).arg("-c").arg(format!(
            "import dkim\nrecord = {record:?}.encode()\n\
             dns = lambda name, timeout=5: record if name == b's1._domainkey.example.test.' else None\n\
             cv, results, reason = dkim.arc_verify(open({:?}, 'rb').read(), dnsfunc=dns)\n\
             print(cv.decode(), reason)",
            file.display().to_string()
        )),
        b"",
        Duration::from_secs(60),
    );
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.starts_with("pass"),
        "dkimpy: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // sansmail-auth's verifier.
    let mut v = ArcVerifier::new(forwarded.as_bytes(), 1_800_000_000);
    let outcome = loop {
        match v.poll() {
            Step::Lookup(q) => {
                let a = match q.name.as_str() {
                    "s1._domainkey.example.test" => {
                        Answer::records(vec![Record::Txt(record.clone().into_bytes())])
                    }
                    _ => Answer::NxDomain,
                };
                v.answer(q, a);
            }
            Step::Done(o) => break o,
        }
    };
    assert_eq!(outcome.result, ArcResult::Pass, "{outcome:?}");
    assert!(server.log().contains("auth=spf=pass"), "{}", server.log());
}
