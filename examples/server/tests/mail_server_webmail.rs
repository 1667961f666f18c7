//! The webmail in a real browser: headless Chromium driven by Selenium
//! (`webmail_browser.py`, run with Debian's python3 and python3-selenium)
//! logs in, reads a message delivered by SMTP, replies with an attachment
//! (seen through IMAP at the recipient and in Sent), sees a new delivery
//! appear without a reload, shows an HTML mail without running its script
//! or fetching its remote image until asked, flags, moves, deletes and
//! searches. Screenshots land in `target/tmp/webmail-screenshots/`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sansmail_test_support::*;

#[test]
fn webmail_in_chromium_reads_replies_and_stays_safe() {
    let python = "/usr/bin/python3";
    assert!(
        Path::new(python).exists() && Path::new("/usr/bin/chromedriver").exists(),
        "the browser test needs Debian's python3, python3-selenium, chromium and \
         chromium-driver (scripts/test.sh installs them)"
    );
    let server = MailServer::start(&[]);
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("webmail-screenshots");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webmail_browser.py");
    let out = run(
        Command::new(python)
            .arg(&script)
            .env("BASE", format!("https://localhost:{}", server.ports.https))
            .env("SMTP", server.ports.smtp.to_string())
            .env("IMAP", server.ports.imap.to_string())
            .env("ARTIFACTS", &artifacts),
        b"",
        Duration::from_secs(300),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser test failed\nstdout: {stdout}\nstderr: {}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("the script's JSON");
    // What the script saw, checked once more here.
    let folders: Vec<&str> = seen["folders"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    for name in ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"] {
        assert!(folders.contains(&name), "{folders:?}");
    }
    assert_eq!(seen["tracker"], serde_json::json!(["/pixel.gif"]));
    let cookie = seen["cookie"].as_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let reply = seen["reply"].as_str().unwrap();
    assert!(reply.contains("Subject: Re: Lunch plans"), "{reply}");
    assert!(reply.contains("agenda.txt"), "{reply}");
    for shot in [
        "01-inbox",
        "02-reading",
        "04-pushed",
        "05-html-blocked",
        "06-search",
    ] {
        let png = std::fs::read(artifacts.join(format!("{shot}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{shot} is not a screenshot");
    }
    // The server answered every webmail request without a server error.
    let log = server.log();
    assert!(log.contains("service=\"webmail\"") || log.contains("service=webmail"));
    assert!(!log.contains("status=500"), "{log}");
}
