//! Signed and encrypted content: sign+verify and encrypt+decrypt of a
//! 100 KB message, ours (sansmail-mime's `smime` and `openpgp`) beside
//! `openssl cms` and `gpg` invoked on the same input and keys of the same
//! kind (RSA-2048 for S/MIME, Ed25519 and X25519 for OpenPGP). The tools run
//! as processes, so their figures include process start: neither offers a
//! way to leave it out from the command line. Before timing, each side's
//! output is read back by both sides and must give the same content.
//!
//! Run by hand: `cargo bench --bench secure` (needs openssl and gpg).
#![allow(missing_docs)] // criterion_group! makes an undocumented function

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sansmail_mime::openpgp::{self, SecretKey};
use sansmail_mime::smime::{self, Certificate, ContentCipher, Identity, TrustStore};

/// A 100 KB text message, 76-column lines.
fn message() -> Vec<u8> {
    let mut m = b"From: alice@example.com\r\nTo: bob@example.com\r\nSubject: benchmark\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n".to_vec();
    let line = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs\r\n";
    while m.len() < 100 * 1024 {
        m.extend_from_slice(line);
    }
    m
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A CA and alice's RSA certificate (email protection) in `dir`.
fn pki(dir: &Path) {
    let o = |args: &[&str]| run(dir, "openssl", args);
    o(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "30",
        "-subj",
        "/CN=Bench CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    o(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "alice.key",
        "-out",
        "alice.csr",
        "-subj",
        "/CN=alice",
    ]);
    std::fs::write(dir.join("ext"), "extendedKeyUsage=emailProtection\n").unwrap();
    o(&[
        "x509",
        "-req",
        "-in",
        "alice.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "alice.pem",
        "-days",
        "30",
        "-extfile",
        "ext",
    ]);
}

#[allow(clippy::disallowed_methods)] // the benchmark is the application: it owns the clock
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn body(raw: &[u8]) -> Vec<u8> {
    let m = sansmail_mime::Message::parse(raw);
    m.decoded_body(&m.root).0.into_owned()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sansmail-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn smime_benches(c: &mut Criterion) {
    let dir = temp("smime");
    pki(&dir);
    let raw = message();
    let entity = sansmail_mime::protect::split(&raw).entity;
    std::fs::write(dir.join("entity"), &entity).unwrap();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let alice = Identity::from_pem(
        &read("alice.pem"),
        &String::from_utf8(read("alice.key")).unwrap(),
    )
    .unwrap();
    let cert = alice.certificate().clone();
    let trust = TrustStore::new(Certificate::from_pem(&read("ca.pem")).unwrap());
    let content = body(&raw);

    // Same work checked first: each side's output read back by the other.
    let ours = smime::sign(&raw, &alice, 1).unwrap();
    std::fs::write(dir.join("ours.eml"), &ours).unwrap();
    let theirs = run(
        &dir,
        "openssl",
        &["cms", "-verify", "-in", "ours.eml", "-CAfile", "ca.pem"],
    );
    assert!(theirs.ends_with(&content) || body(&theirs) == content);
    let signed = run(
        &dir,
        "openssl",
        &[
            "cms",
            "-sign",
            "-in",
            "entity",
            "-signer",
            "alice.pem",
            "-inkey",
            "alice.key",
            "-crlfeol",
        ],
    );
    assert_eq!(
        body(&smime::verify(&signed, &trust, now()).unwrap().entity),
        content
    );
    let sealed =
        smime::encrypt(&raw, std::slice::from_ref(&cert), ContentCipher::Aes256Cbc).unwrap();
    std::fs::write(dir.join("sealed.eml"), &sealed).unwrap();
    let opened = run(
        &dir,
        "openssl",
        &[
            "cms",
            "-decrypt",
            "-in",
            "sealed.eml",
            "-recip",
            "alice.pem",
            "-inkey",
            "alice.key",
        ],
    );
    assert_eq!(body(&opened), content);

    let mut g = c.benchmark_group("smime 100 KB");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function("sign+verify sansmail", |b| {
        b.iter(|| smime::verify(&smime::sign(&raw, &alice, 1).unwrap(), &trust, now()).unwrap())
    });
    g.bench_function("sign+verify openssl cms", |b| {
        b.iter(|| {
            run(
                &dir,
                "openssl",
                &[
                    "cms",
                    "-sign",
                    "-in",
                    "entity",
                    "-signer",
                    "alice.pem",
                    "-inkey",
                    "alice.key",
                    "-out",
                    "s.eml",
                ],
            );
            run(
                &dir,
                "openssl",
                &[
                    "cms", "-verify", "-in", "s.eml", "-CAfile", "ca.pem", "-out", "v.out",
                ],
            );
        })
    });
    g.bench_function("encrypt+decrypt sansmail", |b| {
        b.iter(|| {
            let sealed =
                smime::encrypt(&raw, std::slice::from_ref(&cert), ContentCipher::Aes256Cbc)
                    .unwrap();
            smime::decrypt(&sealed, &alice).unwrap()
        })
    });
    g.bench_function("encrypt+decrypt openssl cms", |b| {
        b.iter(|| {
            run(
                &dir,
                "openssl",
                &[
                    "cms",
                    "-encrypt",
                    "-aes256",
                    "-in",
                    "entity",
                    "-out",
                    "e.eml",
                    "alice.pem",
                ],
            );
            run(
                &dir,
                "openssl",
                &[
                    "cms",
                    "-decrypt",
                    "-in",
                    "e.eml",
                    "-recip",
                    "alice.pem",
                    "-inkey",
                    "alice.key",
                    "-out",
                    "d.out",
                ],
            );
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn pgp_benches(c: &mut Criterion) {
    let dir = temp("pgp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let home = dir.display().to_string();
    let gpg = |args: &[&str]| {
        let mut all = vec![
            "--homedir",
            &home,
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--trust-model",
            "always",
        ];
        all.extend_from_slice(args);
        run(&dir, "gpg", &all)
    };
    let raw = message();
    let entity = sansmail_mime::protect::split(&raw).entity;
    std::fs::write(dir.join("entity"), &entity).unwrap();
    let alice = SecretKey::generate("Alice <alice@example.com>").unwrap();
    std::fs::write(dir.join("alice.asc"), alice.to_armored()).unwrap();
    gpg(&["--import", "alice.asc"]);

    // Same work checked first.
    let ours = openpgp::encrypt(&raw, &[alice.public()], Some(&alice), 1).unwrap();
    let m = sansmail_mime::Message::parse(&ours);
    let sansmail_mime::Body::Multipart { parts, .. } = &m.root.body else {
        panic!()
    };
    std::fs::write(dir.join("ours.asc"), m.decoded_body(&parts[1]).0).unwrap();
    let inner = gpg(&["--decrypt", "ours.asc"]);
    assert!(
        openpgp::verify(
            &[b"MIME-Version: 1.0\r\n".as_slice(), &inner].concat(),
            &[alice.public()]
        )
        .is_ok()
    );

    let mut g = c.benchmark_group("openpgp 100 KB");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function("sign+verify sansmail", |b| {
        b.iter(|| {
            openpgp::verify(&openpgp::sign(&raw, &alice, 1).unwrap(), &[alice.public()]).unwrap()
        })
    });
    g.bench_function("sign+verify gpg", |b| {
        b.iter(|| {
            gpg(&[
                "--armor",
                "--output",
                "e.sig",
                "--detach-sign",
                "-u",
                "alice@example.com",
                "entity",
            ]);
            gpg(&["--verify", "e.sig", "entity"]);
        })
    });
    g.bench_function("encrypt+decrypt sansmail", |b| {
        b.iter(|| {
            let sealed = openpgp::encrypt(&raw, &[alice.public()], None, 1).unwrap();
            openpgp::decrypt(&sealed, &alice).unwrap()
        })
    });
    g.bench_function("encrypt+decrypt gpg", |b| {
        b.iter(|| {
            gpg(&[
                "--armor",
                "--output",
                "e.asc",
                "--encrypt",
                "-r",
                "alice@example.com",
                "entity",
            ]);
            gpg(&["--output", "d.out", "--decrypt", "e.asc"]);
        })
    });
    g.finish();
    let _ = Command::new("gpgconf")
        .args(["--homedir", &home, "--kill", "all"])
        .status();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, smime_benches, pgp_benches);
criterion_main!(benches);
