//! Dovecot's imaptest, the compliance and stress tester IMAP servers are
//! judged by, against both IMAP listeners we ship: imap-server and
//! mail-server's. scripts/test.sh builds it (from ../shared/tools/imaptest)
//! into target/imaptest; `IMAPTEST=path` names another build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sansmail_test_support::*;

fn imaptest() -> PathBuf {
    let path = std::env::var_os("IMAPTEST")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/imaptest/imaptest")
        });
    assert!(
        path.is_file(),
        "{} is missing: scripts/test.sh builds imaptest (from ../shared/tools/imaptest)",
        path.display()
    );
    path
}

/// Runs every scripted test group against `port` as `user`; returns the output.
fn compliance(port: u16, user: &str, pass: &str) -> String {
    let bin = imaptest();
    let tests = bin.parent().unwrap().join("tests");
    let out = run(
        Command::new(&bin)
            .arg("host=127.0.0.1")
            .arg(format!("port={port}"))
            .arg(format!("user={user}"))
            .arg(format!("pass={pass}"))
            .arg(format!("test={}", tests.display())),
        b"",
        Duration::from_secs(600),
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn assert_compliant(out: &str) {
    let summary: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("test groups") || l.contains("individual commands failed"))
        .collect();
    assert_eq!(summary.len(), 3, "no imaptest summary:\n{out}");
    assert!(summary[0].contains(": 0 failed"), "{out}");
    assert!(summary[1].starts_with("base protocol: 0/"), "{out}");
    assert!(summary[2].starts_with("extensions: 0/"), "{out}");
}

/// The stress run (10 clients over 5 users, `secs` seconds, a generated
/// mbox); returns (commands, error lines, output).
fn stress(port: u16, secs: u32) -> (u64, Vec<String>, String) {
    let dir = TempDir::new("imaptest-mbox");
    let mbox = dir.path().join("stress.mbox");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/scripts/make-mbox.py");
    let made = run(
        Command::new(require("python3"))
            .arg(script)
            .arg(&mbox)
            .arg("200"),
        b"",
        Duration::from_secs(60),
    );
    assert!(made.status.success());
    let out = run(
        Command::new(imaptest())
            .arg("host=127.0.0.1")
            .arg(format!("port={port}"))
            .args(["user=u%d", "users=5", "pass=pw", "clients=10"])
            .arg(format!("secs={secs}"))
            .arg(format!("mbox={}", mbox.display())),
        b"",
        Duration::from_secs(u64::from(secs) + 120),
    );
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let errors: Vec<String> = text
        .lines()
        .filter(|l| l.contains("Error"))
        .map(str::to_owned)
        .collect();
    let totals = text
        .lines()
        .skip_while(|l| !l.starts_with("Totals:"))
        .nth(4)
        .unwrap_or_default();
    let commands = totals
        .split_whitespace()
        .filter_map(|n| n.parse::<u64>().ok())
        .sum();
    (commands, errors, text)
}

const STRESS_USERS: [&str; 5] = ["u1:pw", "u2:pw", "u3:pw", "u4:pw", "u5:pw"];

#[test]
fn imap_server_passes_every_compliance_group() {
    let root = TempDir::new("imaptest");
    let server = ImapServer::start(root.path(), &["--user", "tester:pw", "--allow-plaintext"]);
    assert_compliant(&compliance(server.port, "tester", "pw"));
}

#[test]
fn mail_server_passes_every_compliance_group() {
    let server = MailServer::start(&["--allow-plaintext"]);
    assert_compliant(&compliance(server.ports.imap, "alice", "alice-pw"));
}

#[test]
fn imap_server_takes_the_stress_run_without_an_error() {
    let root = TempDir::new("imaptest-stress");
    let mut args = vec!["--allow-plaintext"];
    for user in STRESS_USERS {
        args.extend(["--user", user]);
    }
    let server = ImapServer::start(root.path(), &args);
    let (commands, errors, out) = stress(server.port, 20);
    assert!(
        errors.is_empty(),
        "{} error lines:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(commands > 1000, "the stress did run:\n{out}");
}

#[test]
fn mail_server_takes_the_stress_run_without_an_error() {
    let mut args = vec!["--allow-plaintext"];
    for user in STRESS_USERS {
        args.extend(["--user", user]);
    }
    let config = TempDir::new("config");
    let file = config.path().join("many.toml");
    // Every stress client comes from 127.0.0.1.
    std::fs::write(&file, "[limits]\nmax_connections_per_ip = 1000\n").unwrap();
    let file = file.display().to_string();
    args.extend(["--config", &file]);
    let server = MailServer::start(&args);
    let (commands, errors, out) = stress(server.ports.imap, 20);
    assert!(
        errors.is_empty(),
        "{} error lines:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(commands > 1000, "the stress did run:\n{out}");
}

/// Two mail-server instances on one PostgreSQL database: imaptest's
/// compliance groups against the first while the second takes deliveries.
#[test]
fn mail_server_on_postgres_passes_every_compliance_group_while_another_instance_delivers() {
    let cluster = Postgres::start();
    cluster.migrate_for_mail_server();
    let url = cluster.url();
    let args = ["--allow-plaintext", "--store-url", &url];
    let a = MailServer::start(&args);
    let b = MailServer::start(&args);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let delivering = {
        let (stop, port) = (stop.clone(), b.ports.smtp);
        std::thread::spawn(move || {
            let mut sent = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let message = format!(
                    "From: x@remote.test\r\nTo: alice@example.test\r\nSubject: load {sent}\r\n\r\nload\r\n"
                );
                let done = run(
                    Command::new(require("swaks")).args([
                        "--server",
                        &format!("127.0.0.1:{port}"),
                        "--from",
                        "x@remote.test",
                        "--to",
                        "bob@example.test",
                        "--data",
                        "-",
                        "--silent",
                        "2",
                    ]),
                    message.as_bytes(),
                    Duration::from_secs(30),
                );
                assert!(done.status.success(), "a delivery through B failed");
                sent += 1;
            }
            sent
        })
    };
    let out = compliance(a.ports.imap, "alice", "alice-pw");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = delivering.join().unwrap();
    assert_compliant(&out);
    assert!(sent > 0);
    assert_eq!(
        cluster.psql(
            "SELECT count(*) FROM messages m JOIN mailboxes f ON f.id = m.mailbox \
             JOIN accounts u ON u.id = f.account WHERE u.name = 'bob'"
        ),
        sent.to_string()
    );
}

/// The stress run against two instances on one database at once, the same
/// five users on both: every mailbox is changed through both instances.
#[test]
fn mail_server_on_postgres_takes_the_stress_run_on_two_instances_at_once() {
    let cluster = Postgres::start();
    cluster.migrate_for_mail_server();
    let url = cluster.url();
    let config = TempDir::new("config");
    let file = config.path().join("many.toml");
    std::fs::write(&file, "[limits]\nmax_connections_per_ip = 1000\n").unwrap();
    let file = file.display().to_string();
    let mut args = vec!["--allow-plaintext", "--store-url", &url, "--config", &file];
    for user in STRESS_USERS {
        args.extend(["--user", user]);
    }
    let a = MailServer::start(&args);
    let b = MailServer::start(&args);
    let on_b = {
        let port = b.ports.imap;
        std::thread::spawn(move || stress(port, 20))
    };
    let (commands_a, errors_a, out_a) = stress(a.ports.imap, 20);
    let (commands_b, errors_b, out_b) = on_b.join().unwrap();
    for (errors, out) in [(errors_a, &out_a), (errors_b, &out_b)] {
        assert!(
            errors.is_empty(),
            "{} error lines:\n{}\n{out}",
            errors.len(),
            errors.join("\n")
        );
    }
    assert!(commands_a > 1000 && commands_b > 1000, "{out_a}\n{out_b}");
    eprintln!("two instances: {commands_a} + {commands_b} commands in 20 s");
}
