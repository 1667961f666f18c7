//! imap-fetch against Dovecot and imap-server, over loopback.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sansmail_test_support::{
    Dovecot, IMAP_ONE as ONE, IMAP_TWO as TWO, bin, imap_server_with_two_messages as server, run,
};

const LIMIT: Duration = Duration::from_secs(60);

/// Reads lines from a child's stdout until `want` lines match, or the time is up.
fn read_lines_until(
    reader: &mut impl BufRead,
    done: impl Fn(&[String]) -> bool,
    limit: Duration,
) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut lines = Vec::new();
    while Instant::now() < deadline && !done(&lines) {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => lines.push(line.trim_end().to_owned()),
            Err(_) => break,
        }
    }
    lines
}

#[test]
fn imap_fetch_against_dovecot_lists_and_idles() {
    let dovecot = Dovecot::start_imap("carol", "dovepw", &[ONE, TWO]);
    let mut child = Command::new(bin("imap-fetch"))
        .args([
            "--server",
            &format!("127.0.0.1:{}", dovecot.port),
            "--starttls",
            "--insecure",
        ])
        .args(["--user", "carol", "--password", "dovepw", "--idle"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start imap-fetch");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let first = read_lines_until(&mut reader, |l| l.iter().any(|x| x == "idling"), LIMIT);
    assert!(first.contains(&"folder INBOX".to_string()), "{first:?}");
    assert!(
        first
            .iter()
            .any(|l| l.starts_with("message 1 | Ann <ann@example.com> | one |")),
        "{first:?}"
    );
    assert!(
        first
            .iter()
            .any(|l| l.starts_with("message 2 | b@example.com | Re: one |")),
        "{first:?}"
    );
    // A delivery into Dovecot's maildir reaches imap-fetch through IDLE.
    let new = dovecot.maildir("carol").join("new/1800000001.M1P1Q1.test");
    std::fs::write(
        &new,
        "From: dan@example.com\r\nSubject: pushed\r\n\r\nhi\r\n",
    )
    .unwrap();
    if sansmail_test_support::running_as_root() {
        sansmail_test_support::chown_nobody(&new);
    }
    let more = read_lines_until(
        &mut reader,
        |l| l.iter().any(|x| x.contains("pushed")),
        Duration::from_secs(30),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        more.iter()
            .any(|l| l.starts_with("message 3 | dan@example.com | pushed")),
        "{more:?}"
    );
}

#[test]
fn imap_fetch_against_our_server_over_implicit_tls() {
    let port = sansmail_test_support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let (root, _server) = server(&["--tls-listen", &listen]);
    sansmail_test_support::wait_for_port(port, "imap-server TLS listener");
    let out = run(
        Command::new(bin("imap-fetch"))
            .args(["--server", &listen, "--tls", "--ca"])
            .arg(root.path().join("imap-server-cert.pem"))
            .args(["--user", "alice", "--password", "secret pw"]),
        b"",
        LIMIT,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        vec![
            "folder INBOX",
            "folder Archive",
            "folder Drafts",
            "folder Junk",
            "folder Sent",
            "folder Trash",
            "message 1 | Ann <ann@example.com> | one | Mon, 23 Nov 2026 10:00:00 +0000",
            "message 2 | b@example.com | Re: one | Mon, 23 Nov 2026 11:00:00 +0000",
        ]
    );
}
