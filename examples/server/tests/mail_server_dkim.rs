//! mail-server signs submitted mail with DKIM: the delivered message
//! verifies with dkimpy (Python's DKIM library) and with sansmail-auth,
//! against the record `mail-server dkim-record` prints.

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
        Answer::Records(vec![Record::Txt(record.into_bytes())]),
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
