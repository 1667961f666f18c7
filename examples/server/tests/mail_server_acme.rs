//! Certificates from ACME (RFC 8555) against Pebble, Let's Encrypt's test
//! CA (Debian's `pebble`), with `pebble-challtestsrv` as its DNS: issued
//! through TLS-ALPN-01 on the IMAPS port, renewed on request without a
//! restart, used again after a restart, and renewed through HTTP-01 on the
//! plain web listener.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sansmail_test_support::secure::Ca;
use sansmail_test_support::*;

/// The leaf certificate (DER, hex) presented on `port` for
/// mail.example.test, checked against `root`; panics when it does not verify.
fn verified_leaf(port: u16, root: &std::path::Path) -> String {
    python(
        r#"
import os, socket, ssl
ctx = ssl.create_default_context(cafile=os.environ["ROOT"])
with socket.create_connection(("127.0.0.1", int(os.environ["PORT"]))) as raw:
    with ctx.wrap_socket(raw, server_hostname="mail.example.test") as tls:
        print(tls.getpeercert(binary_form=True).hex())
"#,
        &[
            ("ROOT", root.to_str().unwrap()),
            ("PORT", &port.to_string()),
        ],
    )
    .trim()
    .to_owned()
}

fn wait_for_log(server: &MailServer, text: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while server.log().matches(text).count() < count {
        assert!(
            Instant::now() < deadline,
            "no {text:?} in the log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn renew(server: &MailServer) -> String {
    let out = run(
        Command::new(bin("mail-server"))
            .args(["cert", "renew", "--data"])
            .arg(server.data()),
        b"",
        Duration::from_secs(120),
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    text
}

#[test]
fn certificates_come_from_pebble_and_are_renewed_without_a_restart() {
    let work = TempDir::new("acme");
    let ports = Ports::free();
    let http_port = free_port();

    // Pebble's own HTTPS, from a CA the server is told to trust.
    let ca = Ca::new();
    let (pebble_cert, pebble_key) = ca
        .issue(&["127.0.0.1", "localhost"])
        .write(work.path(), "pebble");
    let ca_file = work.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();

    // Every name resolves to 127.0.0.1 (and to no IPv6 address).
    let (dns_port, dns_admin) = (free_port(), free_port());
    let challtestsrv = Command::new(require("pebble-challtestsrv"))
        .args(["-dns01", &format!("127.0.0.1:{dns_port}")])
        .args(["-management", &format!("127.0.0.1:{dns_admin}")])
        .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
        .args(["-defaultIPv6", ""])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pebble-challtestsrv");
    let _dns = listening(challtestsrv, "pebble-challtestsrv", dns_admin);

    // Pebble validates TLS-ALPN-01 on the IMAPS port and HTTP-01 on the web listener.
    let (acme_port, acme_admin) = (free_port(), free_port());
    let config = work.path().join("pebble.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"pebble": {{
  "listenAddress": "127.0.0.1:{acme_port}",
  "managementListenAddress": "127.0.0.1:{acme_admin}",
  "certificate": "{}",
  "privateKey": "{}",
  "httpPort": {http_port},
  "tlsPort": {},
  "ocspResponderURL": "",
  "externalAccountBindingRequired": false
}}}}"#,
            pebble_cert.display(),
            pebble_key.display(),
            ports.imaps
        ),
    )
    .unwrap();
    let pebble = Command::new(require("pebble"))
        .arg("-config")
        .arg(&config)
        .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env("PEBBLE_WFE_NONCEREJECT", "0")
        // Every order is validated again, so renewals prove the challenge.
        .env("PEBBLE_AUTHZREUSE", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pebble");
    let _pebble = listening(pebble, "pebble", acme_port);
    // The root Pebble issues under, to check what the server presents.
    let root = work.path().join("pebble-root.pem");
    let fetched = run(
        Command::new(require("curl")).args([
            "-sf",
            "--cacert",
            ca_file.to_str().unwrap(),
            &format!("https://127.0.0.1:{acme_admin}/roots/0"),
            "-o",
            root.to_str().unwrap(),
        ]),
        b"",
        Duration::from_secs(30),
    );
    assert!(fetched.status.success(), "{fetched:?}");

    let server_config = work.path().join("mail-server.toml");
    let write_config = |challenge: &str| {
        std::fs::write(
            &server_config,
            format!(
                "[tls.acme]\ndirectory = \"https://127.0.0.1:{acme_port}/dir\"\n\
                 contact = [\"mailto:postmaster@example.test\"]\n\
                 domains = [\"mail.example.test\"]\nchallenge = \"{challenge}\"\nca = {:?}\n",
                ca_file.display()
            ),
        )
        .unwrap();
    };
    write_config("tls-alpn-01");
    let mut server = MailServer {
        ports,
        dir: TempDir::new("mail-server"),
        args: vec![
            "--config".into(),
            server_config.display().to_string(),
            "--http".into(),
            format!("127.0.0.1:{http_port}"),
        ],
        child: None,
    };
    server.launch();
    wait_for_log(&server, "ACME certificate installed", 1);
    let first = verified_leaf(ports.imaps, &root);
    // Every listener presents it, STARTTLS ones included.
    assert_eq!(verified_leaf(ports.submissions, &root), first);
    let starttls = python(
        r#"
import os, smtplib, ssl
ctx = ssl.create_default_context(cafile=os.environ["ROOT"])
s = smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]))
s._host = "mail.example.test"
s.starttls(context=ctx)
print(s.sock.getpeercert(binary_form=True).hex())
s.quit()
"#,
        &[
            ("ROOT", root.to_str().unwrap()),
            ("PORT", &ports.submission.to_string()),
        ],
    );
    assert_eq!(starttls.trim(), first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::metadata(server.data().join("acme/key.pem")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }

    // Renewed on request: a new certificate, presented at once.
    let said = renew(&server);
    assert!(
        said.starts_with("renewed: mail.example.test (expires "),
        "{said}"
    );
    let second = verified_leaf(ports.imaps, &root);
    assert_ne!(second, first);
    assert_eq!(verified_leaf(ports.submissions, &root), second);

    // After a restart the stored certificate is presented from the start;
    // renewal now goes through HTTP-01 on the plain web listener.
    assert!(server.stop());
    write_config("http-01");
    server.launch();
    assert_eq!(verified_leaf(ports.imaps, &root), second);
    renew(&server);
    let third = verified_leaf(ports.imaps, &root);
    assert_ne!(third, second);
    let log = server.log();
    assert!(
        log.lines()
            .any(|l| l.contains("/.well-known/acme-challenge/") && l.contains("status=200")),
        "Pebble fetched the HTTP-01 answer:\n{log}"
    );
}
