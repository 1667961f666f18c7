//! smtp-send against Postfix and smtp-sink, over loopback.

use std::process::Command;
use std::time::Duration;

use sansmail_test_support::{Postfix, Sink, TempDir, bin, run};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn smtp_send_submits_to_postfix() {
    let sink = Sink::start(&["--domain", "example.net"]);
    let postfix = Postfix::start(&format!("relayhost = [127.0.0.1]:{}", sink.port));
    let dir = TempDir::new("send");
    let msg = dir.path().join("msg.eml");
    std::fs::write(
        &msg,
        "From: me@example.com\r\nSubject: smtp-send via postfix\r\n\r\n.starts with a dot\r\n",
    )
    .unwrap();
    let out = run(
        Command::new(bin("smtp-send"))
            .args([
                "--server",
                &postfix.addr(),
                "--from",
                "me@example.com",
                "--to",
                "first@example.net",
                "--to",
                "second@example.net",
            ])
            .arg(&msg),
        b"",
        WAIT,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Postfix offers CHUNKING, so smtp-send used BDAT: "Ok: N bytes queued as ID".
    assert!(
        text.contains("<first@example.net>: delivered: 250 2.0.0 Ok: 76 bytes queued as"),
        "{text}"
    );
    for owner in ["first", "second"] {
        let msgs = sink.messages(owner, 1, WAIT);
        assert_eq!(msgs.len(), 1, "{}", postfix.log());
        assert!(
            msgs[0].contains("\r\n\r\n.starts with a dot\r\n"),
            "{}",
            msgs[0]
        );
    }
}

#[test]
fn smtp_send_reports_each_recipient_and_exit_status() {
    let sink = Sink::start(&["--user", "alice:pw"]);
    let send = |extra: &[&str]| {
        run(
            Command::new(bin("smtp-send"))
                .args(["--server", &sink.addr(), "--from", "alice@localhost"])
                .args(extra),
            b"Subject: x\r\n\r\nbody\r\n",
            WAIT,
        )
    };
    let ca = sink.cert();
    let ca = ca.to_str().unwrap();
    let ok = send(&[
        "--starttls",
        "--ca",
        ca,
        "--user",
        "alice",
        "--password",
        "pw",
        "--to",
        "alice@localhost",
        "-",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let mixed = send(&["--to", "alice@localhost", "--to", "ghost@localhost"]);
    let text = String::from_utf8_lossy(&mixed.stdout);
    assert_eq!(mixed.status.code(), Some(1));
    assert!(
        text.contains("<alice@localhost>: delivered")
            && text.contains("<ghost@localhost>: permanent failure: 550 5.1.1"),
        "{text}"
    );
    let bad_password = send(&[
        "--starttls",
        "--ca",
        ca,
        "--user",
        "alice",
        "--password",
        "nope",
        "--to",
        "alice@localhost",
    ]);
    assert_eq!(bad_password.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_password.stderr).contains("authentication failed: 535"));
    let usage = send(&["--to", "not an address"]);
    assert_eq!(usage.status.code(), Some(2));
}
