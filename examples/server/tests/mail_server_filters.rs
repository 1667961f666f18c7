//! mail-server's content filters against real spamd and clamd.

use std::time::Duration;

use sansmail_test_support::*;

#[test]
fn filters_tag_spam_refuse_viruses_and_fail_safe() {
    let dir = TempDir::new("filters");
    let (spamd, _spamd) = start_spamd(dir.path());
    let (clamd, clamd_daemon) = start_clamd(dir.path());
    let config = |name: &str, extra: &str| {
        let file = dir.path().join(name);
        std::fs::write(
            &file,
            format!("[filter]\nspamd = \"127.0.0.1:{spamd}\"\nclamd = \"127.0.0.1:{clamd}\"\ntimeout_secs = 20\n{extra}"),
        )
        .unwrap();
        file.display().to_string()
    };
    let tagging = MailServer::start(&["--config", &config("tag.toml", "")]);
    let refusing = MailServer::start(&[
        "--config",
        &config("refuse.toml", "spam_reject_score = 100.0\n"),
    ]);
    let script = format!(
        r#"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
s = smtplib.SMTP(H, P["SMTP"])
s.sendmail("a@elsewhere.example", ["bob@example.test"], "Subject: clean\r\n\r\nNothing to see.\r\n")
code = expect_error(554, s.sendmail, "a@elsewhere.example", ["bob@example.test"], "Subject: infected\r\n\r\n{TEST_VIRUS}\r\n")
assert "Sansmail.Test.Virus" in code, code
try:
    s.sendmail("a@elsewhere.example", ["bob@example.test"], "Subject: spam\r\n\r\n" + GTUBE + "\r\n")
    print("spam accepted")
except smtplib.SMTPDataError as e:
    print("spam refused", e.smtp_code)
s.quit()
"#
    );
    let out = tagging.python(&script);
    assert_eq!(out.trim(), "spam accepted");
    let inbox = tagging.wait_inbox("bob", 2, Duration::from_secs(5));
    assert_eq!(inbox.len(), 2);
    let spam = inbox.iter().find(|m| m.contains("Subject: spam")).unwrap();
    assert!(
        spam.contains("X-Spam-Flag: YES") && spam.contains("X-Spam-Status: Yes, score=100"),
        "{spam}"
    );
    assert!(spam.contains("tests=") && spam.contains("GTUBE"), "{spam}");
    let clean = inbox.iter().find(|m| m.contains("Subject: clean")).unwrap();
    assert!(
        clean.contains("X-Spam-Status: No,") && !clean.contains("X-Spam-Flag"),
        "{clean}"
    );
    assert!(
        tagging.log().contains("Message contains a virus"),
        "the refusal is logged"
    );

    let out = refusing.python(&script);
    assert_eq!(out.trim(), "spam refused 550");
    assert_eq!(refusing.inbox("bob").len(), 1, "only the clean message");

    // With the virus scanner down, mail waits (451) instead of passing unscanned.
    drop(clamd_daemon);
    let out = refusing.python(
        r#"
s = smtplib.SMTP(H, P["SMTP"])
try:
    s.sendmail("a@elsewhere.example", ["bob@example.test"], "Subject: later\r\n\r\nhello\r\n")
    print("accepted")
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
s.noop()
s.quit()
"#,
    );
    assert!(out.starts_with("451 4.7.1"), "{out}");
    assert_eq!(refusing.inbox("bob").len(), 1);
}
