//! pop3-fetch against Dovecot and pop3-server, over loopback.

use std::process::Command;
use std::time::Duration;

use sansmail_test_support::{
    Dovecot, POP3_ONE as ONE, POP3_TWO as TWO, TempDir, bin, maildir_messages,
    pop3_server_with_two_messages as server, run,
};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn pop3_fetch_from_dovecot_once_per_message() {
    let dovecot = Dovecot::start("carol", "dovepw", &[ONE, TWO]);
    let out = TempDir::new("fetch-dovecot");
    let maildir = out.path().join("Maildir");
    let state = out.path().join("uidl-state");
    let fetch = |extra: &[&str]| {
        let result = run(
            Command::new(bin("pop3-fetch"))
                .args(["--server", &format!("127.0.0.1:{}", dovecot.port), "--stls"])
                .args([
                    "--insecure",
                    "--user",
                    "carol",
                    "--password",
                    "dovepw",
                    "--out",
                ])
                .arg(&maildir)
                .arg("--keep-uidl-state")
                .arg(&state)
                .args(extra),
            b"",
            LIMIT,
        );
        let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
        assert!(
            result.status.success(),
            "pop3-fetch failed: {stdout}{}",
            String::from_utf8_lossy(&result.stderr)
        );
        stdout
    };
    assert!(fetch(&[]).starts_with("fetched 2 new message(s)"));
    let got = maildir_messages(&maildir);
    assert_eq!(got.len(), 2);
    assert!(
        got.iter().any(|m| m.contains("\r\n.starts with a dot\r\n")),
        "{got:?}"
    );
    assert!(got.iter().any(|m| m.contains("second body")), "{got:?}");
    assert_eq!(std::fs::read_to_string(&state).unwrap().lines().count(), 2);
    // Nothing new: nothing fetched.
    assert!(fetch(&[]).starts_with("fetched 0 new message(s)"));
    // A third message arrives; with --delete it is fetched and removed on the server.
    std::fs::write(
        dovecot.maildir("carol").join("new/1800000000.M9P9Q9.test"),
        "Subject: three\n\nnew\n",
    )
    .unwrap();
    let report = fetch(&["--delete"]);
    assert!(report.starts_with("fetched 1 new message(s)"), "{report}");
    assert_eq!(maildir_messages(&maildir).len(), 3);
    let left = maildir_messages(&dovecot.maildir("carol"));
    assert_eq!(
        left.len(),
        2,
        "only the message fetched now is deleted: {left:?}"
    );
}

#[test]
fn pop3_fetch_refuses_a_wrong_password_and_missing_tls() {
    let (_root, server) = server(&[]);
    let out = TempDir::new("fetch-bad");
    let attempt = |extra: &[&str]| {
        run(
            Command::new(bin("pop3-fetch"))
                .args(["--server", &format!("127.0.0.1:{}", server.port)])
                .args(["--user", "alice", "--out"])
                .arg(out.path())
                .args(extra),
            b"",
            LIMIT,
        )
    };
    let wrong = attempt(&["--stls", "--insecure", "--password", "nope"]);
    assert_eq!(wrong.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("login refused: -ERR [AUTH] invalid credentials"),
        "{stderr}"
    );
    let plain = attempt(&["--password", "secret pw"]);
    assert_eq!(plain.status.code(), Some(1));
    assert!(maildir_messages(out.path()).is_empty());
    let usage = attempt(&["--stls", "--tls", "--password", "x"]);
    assert_eq!(usage.status.code(), Some(2));
}
