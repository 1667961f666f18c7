//! The admin commands against a running mail-server: the queue (list, show,
//! retry, hold, release, delete), users (add, passwd, del, list) taking
//! effect at once, reloads by SIGHUP and `mail-server reload` without
//! dropping sessions, and `check-config`.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sansmail_test_support::*;

/// `mail-server ARGS --data DATA` with `input` on standard input.
fn admin(data: &Path, args: &[&str], input: &str) -> Output {
    run(
        Command::new(bin("mail-server"))
            .args(args)
            .arg("--data")
            .arg(data),
        input.as_bytes(),
        Duration::from_secs(60),
    )
}

/// The command's standard output; it must succeed.
fn admin_ok(data: &Path, args: &[&str], input: &str) -> String {
    let out = admin(data, args, input);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    stdout
}

/// The command's error message; it must fail with exit code 1.
fn admin_err(data: &Path, args: &[&str], input: &str) -> String {
    let out = admin(data, args, input);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The attempts count of `id` in a `queue list`.
fn attempts(listing: &str, id: &str) -> u32 {
    let line = listing
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("{id} is not listed:\n{listing}"));
    let after = line.split("attempts ").nth(1).unwrap();
    after.split(' ').next().unwrap().parse().unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn queue_commands_act_on_the_running_server() {
    // Without a server, the commands say so.
    let nobody = TempDir::new("no-server");
    let err = admin_err(nobody.path(), &["queue", "list"], "");
    assert!(err.contains("no mail-server is running on"), "{err}");

    // The exchanger refuses connections: messages wait, retried hourly.
    let remote_port = free_port();
    let (_dns, _config, server) = relaying_server(
        "later IN MX 10 mx\nmx IN A 127.0.0.1\n",
        "retry_secs = [3600]\n",
        remote_port,
    );
    let data = server.data();
    #[cfg(unix)]
    assert_eq!(mode(&data.join("control.sock")), 0o600);
    assert_eq!(
        admin_ok(&data, &["queue", "list"], ""),
        "the queue is empty\n"
    );
    for subject in ["first", "second"] {
        submit(
            &server,
            &["someone@later.remote.test"],
            &message_text("alice@example.test", "someone@later.remote.test", subject),
        );
    }
    wait_until("two deferrals", || {
        server.log().matches("deferred").count() >= 2
    });
    let listing = admin_ok(&data, &["queue", "list"], "");
    let ids: Vec<String> = listing
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "{listing}");
    assert!(listing.contains("from alice@example.test"), "{listing}");
    assert!(
        listing.contains("    someone@later.remote.test pending: 451 4.4.1 no mail exchanger of later.remote.test took the message: mx.remote.test (127.0.0.1): cannot connect"),
        "{listing}"
    );
    assert!(listing.contains("next attempt in 59m") || listing.contains("next attempt in 60m"));
    let shown = admin_ok(&data, &["queue", "show", &ids[0]], "");
    assert!(shown.contains("Subject: first\r\n"), "{shown}");

    // Held: a retry of everything leaves it alone.
    assert_eq!(
        admin_ok(&data, &["queue", "hold", &ids[0]], ""),
        format!("{}: held\n", ids[0])
    );
    assert!(admin_ok(&data, &["queue", "list"], "").contains("attempts 1  held\n"));
    assert_eq!(
        admin_ok(&data, &["queue", "retry"], ""),
        "1 message(s) due now\n"
    );
    wait_until("the second message's retry", || {
        attempts(&admin_ok(&data, &["queue", "list"], ""), &ids[1]) == 2
    });
    assert_eq!(
        attempts(&admin_ok(&data, &["queue", "list"], ""), &ids[0]),
        1
    );
    // Released: due at once; then one message retried by its id.
    admin_ok(&data, &["queue", "release", &ids[0]], "");
    wait_until("the released message's attempt", || {
        attempts(&admin_ok(&data, &["queue", "list"], ""), &ids[0]) == 2
    });
    admin_ok(&data, &["queue", "retry", &ids[1]], "");
    wait_until("the retry by id", || {
        attempts(&admin_ok(&data, &["queue", "list"], ""), &ids[1]) == 3
    });

    // Deleted: gone from the list and the disk, never bounced.
    admin_ok(&data, &["queue", "delete", &ids[1]], "");
    let listing = admin_ok(&data, &["queue", "list"], "");
    assert!(!listing.contains(&ids[1]), "{listing}");
    assert!(!data.join(format!("queue/{}.msg", ids[1])).exists());
    for args in [
        &["queue", "show", "nope"][..],
        &["queue", "hold", "nope"],
        &["queue", "delete", "nope"],
    ] {
        let err = admin_err(&data, args, "");
        assert!(err.contains("no message nope in the queue"), "{err}");
    }
    let err = admin_err(&data, &["queue", "frobnicate"], "");
    assert!(err.contains("unknown command"), "{err}");
    assert!(server.log().contains("admin command"));
}

#[test]
fn users_are_added_changed_and_removed_at_once() {
    let server = MailServer::start(&[]);
    let data = server.data();
    let login = |user: &str, password: &str| {
        server
            .python(&format!(
                r#"
m = imaplib.IMAP4_SSL(H, P["IMAPS"], ssl_context=TLS)
try:
    m.login({user:?}, {password:?})
    print("in")
    m.logout()
except imaplib.IMAP4.error:
    print("out")
"#
            ))
            .trim()
            .to_owned()
    };
    assert_eq!(
        admin_ok(&data, &["user", "add", "carol"], "carol-pw\n"),
        "carol: added\n"
    );
    assert_eq!(login("carol", "carol-pw"), "in");
    assert_eq!(login("carol@example.test", "carol-pw"), "in");
    // Mail for the new user is delivered.
    submit(
        &server,
        &["carol@example.test"],
        &message_text("alice@example.test", "carol@example.test", "welcome"),
    );
    assert_eq!(
        server.wait_inbox("carol", 1, Duration::from_secs(20)).len(),
        1
    );
    let stored = std::fs::read_to_string(data.join("users.json")).unwrap();
    assert!(stored.contains("\"carol\": \"$argon2id$"), "{stored}");
    assert!(!stored.contains("carol-pw"));
    #[cfg(unix)]
    assert_eq!(mode(&data.join("users.json")), 0o600);

    admin_ok(&data, &["user", "passwd", "carol"], "new-pw\n");
    assert_eq!(login("carol", "carol-pw"), "out");
    assert_eq!(login("carol", "new-pw"), "in");

    let list = admin_ok(&data, &["user", "list"], "");
    assert!(list.contains("alice\t(configuration file)\n"), "{list}");
    assert!(list.contains("carol\n"), "{list}");
    for (args, input, error) in [
        (&["user", "add", "carol"][..], "x\n", "carol already exists"),
        (&["user", "passwd", "dave"], "x\n", "no user dave"),
        (&["user", "del", "dave"], "", "no user dave"),
        (
            &["user", "del", "alice"],
            "",
            "defined in the configuration file",
        ),
        (&["user", "add", "bad name"], "x\n", "not a plain user name"),
        (
            &["user", "add", "erin"],
            "",
            "no password given on standard input",
        ),
    ] {
        let err = admin_err(&data, args, input);
        assert!(err.contains(error), "{args:?}: {err}");
    }

    assert!(admin_ok(&data, &["user", "del", "carol"], "").starts_with("carol: removed"));
    assert_eq!(login("carol", "new-pw"), "out");
    let refused = server.python(
        r#"
s = smtplib.SMTP(H, P["SMTP"])
s.ehlo("client.example")
s.mail("someone@elsewhere.example")
print(s.rcpt("carol@example.test")[0])
s.quit()
"#,
    );
    assert_eq!(refused.trim(), "550");
    // The mail stays on disk.
    assert_eq!(server.inbox("carol").len(), 1);
}

/// A self-signed certificate for localhost made by openssl: (cert, key, DER).
fn openssl_certificate(dir: &Path, name: &str) -> (String, String, Vec<u8>) {
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    let made = run(
        Command::new(require("openssl")).args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "30",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ]),
        b"",
        Duration::from_secs(30),
    );
    assert!(made.status.success(), "{made:?}");
    let der = run(
        Command::new("openssl").args(["x509", "-outform", "DER", "-in", cert.to_str().unwrap()]),
        b"",
        Duration::from_secs(30),
    )
    .stdout;
    (cert.display().to_string(), key.display().to_string(), der)
}

/// The certificate (DER, hex) the server presents on IMAPS.
fn presented(server: &MailServer) -> String {
    server
        .python(
            r#"
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with socket.create_connection((H, P["IMAPS"])) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        print(tls.getpeercert(binary_form=True).hex())
"#,
        )
        .trim()
        .to_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn reloads_take_users_domains_and_certificates_without_dropping_sessions() {
    let config = TempDir::new("reload");
    let (cert_a, key_a, der_a) = openssl_certificate(config.path(), "first");
    let file = config.path().join("mail-server.toml");
    let write_config = |users: &str, domains: &str, cert: &str, key: &str| {
        std::fs::write(
            &file,
            format!(
                "domains = [{domains}]\ntls_cert = {cert:?}\ntls_key = {key:?}\n[users]\n{users}"
            ),
        )
        .unwrap();
    };
    let hash = |password: &str| {
        let out = run(
            Command::new(bin("mail-server")).args(["hash-password", password]),
            b"",
            Duration::from_secs(30),
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let (dave, erin) = (hash("dave-pw"), hash("erin-pw"));
    write_config(
        &format!("dave = {dave:?}\n"),
        "\"example.test\"",
        &cert_a,
        &key_a,
    );
    let server = MailServer::start(&["--config", file.to_str().unwrap()]);
    let data = server.data();
    std::fs::create_dir_all(server.cert().parent().unwrap()).unwrap();
    std::fs::write(server.cert(), std::fs::read(&cert_a).unwrap()).unwrap();
    assert_eq!(presented(&server), hex(&der_a));

    // An IMAP session is open across the reload.
    let session = python_background(
        &server,
        r#"
work = os.environ["WORK"]
m = imaplib.IMAP4_SSL(H, P["IMAPS"], ssl_context=TLS)
m.login("dave", "dave-pw")
m.select("INBOX")
open(work + "/ready", "w").close()
while not os.path.exists(work + "/go"):
    time.sleep(0.02)
print(m.noop()[0])
m.logout()
"#,
    );
    wait_for_file(
        &server.dir.path().join("ready"),
        "the session never logged in",
    );

    let (cert_b, key_b, der_b) = openssl_certificate(config.path(), "second");
    write_config(
        &format!("dave = {dave:?}\nerin = {erin:?}\n"),
        "\"example.test\", \"example.org\"",
        &cert_b,
        &key_b,
    );
    let pid = server.child.as_ref().unwrap().id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    wait_until("the reload", || {
        server.log().contains("configuration reloaded")
    });
    assert_eq!(
        presented(&server),
        hex(&der_b),
        "the new certificate is presented"
    );
    std::fs::write(server.cert(), std::fs::read(&cert_b).unwrap()).unwrap();
    let after = server.python(
        r#"
m = imaplib.IMAP4_SSL(H, P["IMAPS"], ssl_context=TLS)
print(m.login("erin@example.org", "erin-pw")[0])
m.logout()
s = smtplib.SMTP(H, P["SMTP"])
s.ehlo("client.example")
s.mail("someone@elsewhere.example")
print(s.rcpt("erin@example.org")[0])
s.quit()
"#,
    );
    assert_eq!(after.split_whitespace().collect::<Vec<_>>(), ["OK", "250"]);
    std::fs::write(server.dir.path().join("go"), "").unwrap();
    let out = session.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "OK",
        "the session went on"
    );

    // A broken file is refused: the server goes on with what it had.
    std::fs::write(&file, "domains = [\"example.test\"\n").unwrap();
    let err = admin_err(&data, &["reload"], "");
    assert!(err.contains("mail-server.toml:"), "{err}");
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    wait_until("the refused reload", || {
        server.log().contains("the configuration was not reloaded")
    });
    assert_eq!(presented(&server), hex(&der_b));
    write_config(
        &format!("dave = {dave:?}\n"),
        "\"example.test\"",
        &cert_a,
        &key_a,
    );
    let summary = admin_ok(&data, &["reload"], "");
    // dave from the file, alice and bob from the command line.
    assert!(summary.starts_with("reloaded: 3 users"), "{summary}");
    assert!(summary.contains("domains example.test;"), "{summary}");
    assert_eq!(presented(&server), hex(&der_a));
}

#[test]
fn check_config_reports_what_is_wrong() {
    let dir = TempDir::new("check-config");
    let check = |args: &[&str]| {
        run(
            Command::new(bin("mail-server"))
                .arg("check-config")
                .args(args),
            b"",
            Duration::from_secs(30),
        )
    };
    let out = check(&[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("the built-in defaults: ok\n"), "{text}");
    assert!(text.contains("smtp 0.0.0.0:2525"), "{text}");

    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "domains = [\"example.com\"]\n[listen]\nmetrics = \"127.0.0.1:9100\"\n",
    )
    .unwrap();
    let out = check(&[good.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("metrics 127.0.0.1:9100"));

    for (text, error) in [
        (
            "[limits]\nmax_recipients = \"many\"\n",
            ":2: key `max_recipients`:",
        ),
        (
            "tls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"/nonexistent/key.pem\"\n",
            "/nonexistent/cert.pem",
        ),
        (
            "[tls.acme]\ndirectory = \"https://ca.example/dir\"\ndomains = []\n",
            "tls.acme.domains",
        ),
        (
            "[tls.acme]\ndirectory = \"https://ca.example/dir\"\ndomains = [\"a.example\"]\nchallenge = \"dns-01\"\n",
            "tls.acme.challenge",
        ),
    ] {
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, text).unwrap();
        let out = check(&[bad.to_str().unwrap()]);
        assert!(!out.status.success(), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(error), "{text}: {err}");
    }
}
