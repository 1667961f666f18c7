//! `mail-server dane-record` prints the TLSA record (3 1 1) of the
//! certificate the server uses; the digest is OpenSSL's of the same key.

use std::process::Command;
use std::time::Duration;

use sansmail_test_support::*;

/// OpenSSL's SHA-256 of the certificate's SubjectPublicKeyInfo, in hex.
fn openssl_spki_sha256(cert: &std::path::Path) -> String {
    let script = format!(
        "openssl x509 -in '{}' -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r",
        cert.display()
    );
    let out = run(
        Command::new("sh").arg("-c").arg(script),
        b"",
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn dane_record(args: &[&str]) -> std::process::Output {
    run(
        Command::new(bin("mail-server"))
            .arg("dane-record")
            .args(args),
        b"",
        Duration::from_secs(30),
    )
}

#[test]
fn the_tlsa_record_is_the_sha256_of_the_certificate_key() {
    // The self-signed certificate mail-server makes at first start (ECDSA).
    let server = MailServer::start(&[]);
    let data = server.data().display().to_string();
    let out = dane_record(&["--data", &data, "--hostname", "mail.example.test"]);
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = openssl_spki_sha256(&server.cert());
    assert_eq!(
        printed,
        format!("_25._tcp.mail.example.test. IN TLSA 3 1 1 {expected}")
    );
    // An RSA certificate made by OpenSSL, named in the config, on port 465.
    require("openssl");
    let dir = TempDir::new("dane");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = run(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=mx.example.test",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        b"",
        Duration::from_secs(60),
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let config = dir.path().join("mail-server.toml");
    std::fs::write(
        &config,
        format!(
            "hostname = \"mx.example.test\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let out = dane_record(&["--config", &config.display().to_string(), "--port", "465"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "_465._tcp.mx.example.test. IN TLSA 3 1 1 {}",
            openssl_spki_sha256(&cert)
        )
    );
    // No certificate yet: a clear error.
    let out = dane_record(&["--data", &dir.path().join("nothing").display().to_string()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("start the server once"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
