//! Inbound sender authentication in mail-server, with NSD serving the
//! senders' SPF, DKIM and DMARC records on loopback and dkimpy signing:
//! one Authentication-Results field per message, a forged From of a
//! `p=reject` domain refused at the end of DATA, `p=quarantine` delivered
//! to Junk, and the policy turned down to monitoring in the config.

use std::process::Command;
use std::time::Duration;

use sansmail_test_support::*;

/// The senders' zone: one domain per policy.
fn zone(dkim_record: &str) -> String {
    format!(
        "$ORIGIN example.net.\n$TTL 300\n\
         @ IN SOA ns.example.net. admin.example.net. 1 3600 600 86400 300\n\
         @ IN NS ns\nns IN A 127.0.0.1\n\
         signed IN TXT \"v=spf1 ip4:127.0.0.0/8 -all\"\n\
         _dmarc.signed IN TXT \"v=DMARC1; p=reject; rua=mailto:reports@signed.example.net\"\n\
         s1._domainkey.signed IN TXT {}\n\
         strict IN TXT \"v=spf1 -all\"\n\
         _dmarc.strict IN TXT \"v=DMARC1; p=reject\"\n\
         quar IN TXT \"v=spf1 -all\"\n\
         _dmarc.quar IN TXT \"v=DMARC1; p=quarantine\"\n\
         open IN TXT \"v=spf1 ?all\"\n",
        zone_txt(dkim_record)
    )
}

/// A key for signed.example.net, made by `mail-server dkim-keygen`, and its record.
fn keygen(dir: &TempDir) -> (std::path::PathBuf, String) {
    let data = dir.path().join("keys");
    let out = run(
        Command::new(bin("mail-server"))
            .args(["dkim-keygen", "signed.example.net", "--data"])
            .arg(&data),
        b"",
        Duration::from_secs(120),
    );
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = data.join("dkim/signed.example.net/s1.pem");
    assert!(
        printed.contains(&format!("key: {}", key.display())),
        "{printed}"
    );
    assert!(printed.contains("publish this TXT record at s1._domainkey.signed.example.net:"));
    let record = printed.lines().last().unwrap().to_owned();
    assert!(record.starts_with("v=DKIM1; k=rsa; p=MII"), "{record}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key is the owner's alone");
    }
    // A second run keeps the key.
    let again = run(
        Command::new(bin("mail-server"))
            .args(["dkim-keygen", "signed.example.net", "--data"])
            .arg(&data),
        b"",
        Duration::from_secs(60),
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));
    (key, record)
}

fn server(dir: &TempDir, dns: &Nsd, dmarc: &str) -> MailServer {
    let config = dir.path().join(format!("{dmarc}.toml"));
    std::fs::write(
        &config,
        format!("[sender_auth]\ncheck_loopback = true\ndmarc = \"{dmarc}\"\ntimeout_secs = 10\n"),
    )
    .unwrap();
    let dns = dns.addr().to_string();
    MailServer::start(&["--config", &config.display().to_string(), "--dns", &dns])
}

/// The header of a delivered message, unfolded.
fn results_field(message: &str) -> String {
    let unfolded = message.replace("\r\n\t", " ").replace("\n\t", " ");
    let fields: Vec<&str> = unfolded
        .lines()
        .filter(|l| l.starts_with("Authentication-Results:"))
        .collect();
    assert_eq!(fields.len(), 1, "one field: {unfolded}");
    fields[0].to_owned()
}

#[test]
fn inbound_mail_is_authenticated_and_dmarc_policies_apply() {
    let dir = TempDir::new("sender-auth");
    let (key, record) = keygen(&dir);
    let dns = Nsd::start("example.net", &zone(&record));
    let server = server(&dir, &dns, "enforce");
    let key = key.display().to_string();
    server.python(&format!(
        r#"
import dkim
def send(mail_from, msg):
    s = smtplib.SMTP(H, P["SMTP"])
    s.ehlo("mx.example.net")
    s.sendmail(mail_from, ["bob@example.test"], msg)
    s.quit()

# Signed by dkimpy with the key mail-server made, SPF and DMARC aligned;
# a field pretending to be our verdict is dropped.
body = ("Authentication-Results: mail.example.test; dmarc=pass\r\n"
        "From: Ann <ann@signed.example.net>\r\nTo: bob@example.test\r\nSubject: signed\r\n"
        "Date: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <a1@signed.example.net>\r\n\r\nHello.\r\n")
sig = dkim.sign(body.encode(), b"s1", b"signed.example.net", open({key:?}, "rb").read())
send("ann@signed.example.net", sig.decode() + body)

# A forged From of a p=reject domain: refused at the end of DATA.
forged = "From: CEO <ceo@strict.example.net>\r\nTo: bob@example.test\r\nSubject: wire money\r\n\r\nNow.\r\n"
why = expect_error(550, send, "x@open.example.net", forged)
assert "DMARC" in why and "strict.example.net" in why, why

# A p=quarantine domain that fails: accepted, into Junk.
send("news@quar.example.net", "From: news@quar.example.net\r\nTo: bob@example.test\r\nSubject: deal\r\n\r\nBuy.\r\n")
"#
    ));
    let inbox = server.wait_inbox("bob", 1, Duration::from_secs(5));
    assert_eq!(
        inbox.len(),
        1,
        "only the signed message is in the INBOX: {inbox:?}"
    );
    let field = results_field(&inbox[0]);
    for part in [
        "Authentication-Results: mail.example.test;",
        "spf=pass smtp.mailfrom=ann@signed.example.net",
        "dkim=pass header.d=signed.example.net header.s=s1 header.b=",
        "arc=none",
        "dmarc=pass header.from=signed.example.net policy.dmarc=reject",
    ] {
        assert!(field.contains(part), "{part} not in {field}");
    }
    assert!(
        !inbox[0].contains("; dmarc=pass\r\nFrom"),
        "the forged field is gone"
    );
    // The quarantined message, read over IMAP from Junk.
    let junk = server.python(
        r#"
m = imaplib.IMAP4(H, P["IMAP"])
m.starttls(ssl_context=TLS)
m.login("bob", "bob-pw")
typ, data = m.select("Junk")
assert typ == "OK", data
typ, data = m.fetch("1", "(BODY.PEEK[HEADER])")
print(data[0][1].decode())
m.logout()
"#,
    );
    assert!(junk.contains("Subject: deal"), "{junk}");
    let field = results_field(&junk);
    assert!(
        field.contains("spf=fail smtp.mailfrom=news@quar.example.net"),
        "{field}"
    );
    assert!(field.contains("dkim=none"), "{field}");
    assert!(
        field.contains("dmarc=fail header.from=quar.example.net policy.dmarc=quarantine"),
        "{field}"
    );
    // Results are on the transaction's log line.
    let log = server.log();
    assert!(log.contains("sender authentication failed"), "{log}");
    assert!(
        log.contains("auth=spf=pass dkim=pass arc=none dmarc=pass"),
        "{log}"
    );
    assert!(log.contains("junk=true"), "{log}");
}

#[test]
fn monitoring_records_dmarc_failures_and_delivers() {
    let dir = TempDir::new("sender-auth-monitor");
    let dns = Nsd::start("example.net", &zone("v=DKIM1; p="));
    let server = server(&dir, &dns, "monitor");
    server.python(
        r#"
s = smtplib.SMTP(H, P["SMTP"])
s.sendmail("x@open.example.net", ["bob@example.test"], "From: ceo@strict.example.net\r\nSubject: wire money\r\n\r\nNow.\r\n")
s.quit()
"#,
    );
    let inbox = server.wait_inbox("bob", 1, Duration::from_secs(5));
    assert_eq!(inbox.len(), 1);
    let field = results_field(&inbox[0]);
    assert!(
        field.contains("spf=neutral smtp.mailfrom=x@open.example.net"),
        "{field}"
    );
    assert!(
        field.contains("dmarc=fail header.from=strict.example.net policy.dmarc=reject"),
        "{field}"
    );
}
