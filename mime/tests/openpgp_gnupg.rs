//! PGP/MIME against GnuPG: what we sign and encrypt, gpg verifies and
//! decrypts; what gpg signs and encrypts, we verify and decrypt.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use sansmail_mime::openpgp::{self, Autocrypt, PgpError, PublicKey, SecretKey};
use sansmail_mime::protect::Protection;
use sansmail_mime::{Body, Message};

/// A private GnuPG home, removed at the end.
struct Gpg(PathBuf);

impl Gpg {
    fn new(name: &str) -> Gpg {
        let dir = std::env::temp_dir().join(format!("sansmail-gpg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        Gpg(dir)
    }

    /// Runs gpg with `args` and `input`; stdout, or panics with stderr.
    fn run(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let (ok, out, err) = self.try_run(args, input);
        assert!(ok, "gpg {args:?}: {err}");
        out
    }

    fn try_run(&self, args: &[&str], input: &[u8]) -> (bool, Vec<u8>, String) {
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(&self.0)
            .args([
                "--batch",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg (GnuPG) is installed by scripts/test.sh");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn file(&self, name: &str, data: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, data).unwrap();
        path.display().to_string()
    }

    /// A new Ed25519 key with an X25519 subkey for `uid`: (public, secret) armored.
    fn generate(&self, uid: &str) -> (Vec<u8>, Vec<u8>) {
        self.run(&["--quick-gen-key", uid, "ed25519", "sign", "never"], b"");
        let fpr = self.fingerprint(uid);
        self.run(&["--quick-add-key", &fpr, "cv25519", "encr", "never"], b"");
        let public = self.run(&["--armor", "--export", uid], b"");
        let secret = self.run(&["--armor", "--export-secret-keys", uid], b"");
        (public, secret)
    }

    fn fingerprint(&self, uid: &str) -> String {
        let listing = self.run(&["--with-colons", "--list-keys", uid], b"");
        let listing = String::from_utf8(listing).unwrap();
        listing
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .unwrap()
            .to_owned()
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.0)
            .args(["--kill", "all"])
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const MESSAGE: &[u8] = b"From: Alice <alice@example.com>\r\nTo: Bob <bob@example.net>\r\nSubject: plans\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nMeet at noon.\r\n";

/// The two parts of a multipart message, as raw bytes (header and body).
fn parts(raw: &[u8]) -> Vec<Vec<u8>> {
    let m = Message::parse(raw);
    let Body::Multipart { parts, .. } = &m.root.body else {
        panic!("not multipart: {}", String::from_utf8_lossy(raw));
    };
    parts
        .iter()
        .map(|p| raw[p.header_range.start..p.body_range.end].to_vec())
        .collect()
}

fn body_of(part: &[u8]) -> &[u8] {
    let at = part.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    &part[at + 4..]
}

#[test]
fn gnupg_verifies_what_we_sign_and_we_verify_what_gnupg_signs() {
    let gpg = Gpg::new("sign");
    let alice = SecretKey::generate("Alice <alice@example.com>").unwrap();
    gpg.run(&["--import"], alice.public().to_armored().as_bytes());

    let signed = openpgp::sign(MESSAGE, &alice, 42).unwrap();
    let text = String::from_utf8(signed.clone()).unwrap();
    assert!(
        text.starts_with("From: Alice <alice@example.com>\r\n"),
        "{text}"
    );
    assert!(
        text.contains("multipart/signed; micalg=pgp-sha256"),
        "{text}"
    );
    assert_eq!(Message::parse(&signed).security(), Protection::PgpSigned);
    // A stripped signature is a clear result, not a pass.
    let boundary = format!("=_protected_{:032x}", 42);
    let signature_part = format!("\r\n--{boundary}\r\nContent-Type: application/pgp-signature");
    let cut = text.find(&signature_part).unwrap();
    let stripped = format!("{}\r\n--{boundary}--\r\n", &text[..cut]);
    assert_eq!(
        Message::parse(stripped.as_bytes()).security(),
        Protection::Damaged,
        "{stripped}"
    );
    assert!(openpgp::verify(stripped.as_bytes(), &[alice.public()]).is_err());
    let [entity, signature] = &parts(&signed)[..] else {
        panic!()
    };
    assert!(
        entity.starts_with(b"Content-Type: text/plain; charset=us-ascii\r\n\r\nMeet at noon.\r\n")
    );
    let data = gpg.file("entity", entity);
    let sig = gpg.file("entity.asc", body_of(signature));
    let (ok, _, err) = gpg.try_run(&["--verify", &sig, &data], b"");
    assert!(ok && err.contains("Good signature"), "{err}");
    let tampered = gpg.file("tampered", &[entity.as_slice(), b"x"].concat());
    assert!(!gpg.try_run(&["--verify", &sig, &tampered], b"").0);
    let verified = openpgp::verify(&signed, &[alice.public()]).unwrap();
    assert_eq!(verified.fingerprint, alice.public().fingerprint());
    assert_eq!(&verified.entity, entity);

    // GnuPG signs an entity; we check it against its certificate, and not another's.
    let (bob_public, _) = gpg.generate("Bob <bob@example.net>");
    let bob = PublicKey::parse(&bob_public).unwrap();
    assert_eq!(bob.fingerprint(), gpg.fingerprint("bob@example.net"));
    let entity = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by GnuPG.\r\n";
    let signature = gpg.run(
        &[
            "--armor",
            "--detach-sign",
            "--digest-algo",
            "SHA256",
            "-u",
            "bob@example.net",
        ],
        entity,
    );
    let signature = String::from_utf8(signature).unwrap().replace('\n', "\r\n");
    let message = format!(
        "From: bob@example.net\r\nSubject: from gpg\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"b1\"\r\n\r\n\
         --b1\r\n{}\r\n--b1\r\nContent-Type: application/pgp-signature\r\n\r\n{signature}\r\n--b1--\r\n",
        String::from_utf8_lossy(entity)
            .trim_end_matches("\r\n")
            .to_owned()
            + "\r\n"
    );
    let verified = openpgp::verify(message.as_bytes(), &[alice.public(), bob.clone()]).unwrap();
    assert_eq!(verified.fingerprint, bob.fingerprint());
    assert_eq!(
        openpgp::verify(message.as_bytes(), &[alice.public()]),
        Err(PgpError::BadSignature)
    );
    assert!(matches!(
        openpgp::verify(MESSAGE, &[bob]),
        Err(PgpError::NotPgpMime(_))
    ));
}

#[test]
fn gnupg_decrypts_what_we_encrypt_and_we_decrypt_what_gnupg_encrypts() {
    let gpg = Gpg::new("crypt");
    let alice = SecretKey::generate("Alice <alice@example.com>").unwrap();
    let (bob_public, bob_secret) = gpg.generate("Bob <bob@example.net>");
    let bob = PublicKey::parse(&bob_public).unwrap();
    gpg.run(&["--import"], alice.public().to_armored().as_bytes());

    // Signed by alice, encrypted to bob and to alice herself.
    let encrypted =
        openpgp::encrypt(MESSAGE, &[bob.clone(), alice.public()], Some(&alice), 7).unwrap();
    let text = String::from_utf8(encrypted.clone()).unwrap();
    assert_eq!(
        Message::parse(&encrypted).security(),
        Protection::PgpEncrypted
    );
    assert!(text.contains("Subject: plans\r\n"), "{text}");
    assert!(!text.contains("Meet at noon"), "{text}");
    assert!(
        text.contains("protocol=\"application/pgp-encrypted\""),
        "{text}"
    );
    let [version, armored] = &parts(&encrypted)[..] else {
        panic!()
    };
    assert!(version.ends_with(b"\r\nVersion: 1"));
    let (ok, plain, err) = gpg.try_run(&["--decrypt"], body_of(armored));
    assert!(ok, "{err}");
    let inner = String::from_utf8(plain).unwrap();
    assert!(
        inner.contains("multipart/signed") && inner.contains("Meet at noon."),
        "{inner}"
    );

    // Without the key, the body view (IMAP's and JMAP's) offers only the
    // encrypted part as a file; with it, the decrypted message shows its text.
    let sealed = Message::parse(&encrypted);
    let view = sealed.body_view();
    assert!(
        view.text_body
            .iter()
            .all(|(_, p)| p.content_type.kind != "text")
    );
    assert!(!view.attachments.is_empty());
    let opened = openpgp::decrypt(&encrypted, &alice).unwrap();
    let opened = openpgp::verify(&opened, &[alice.public()]).unwrap().entity;
    let inner = Message::parse(&opened);
    let text = inner.body_view().text_body;
    assert_eq!(text.len(), 1);
    assert_eq!(&inner.decoded_body(text[0].1).0[..], b"Meet at noon.\r\n");

    // We decrypt our own copy, and the signature inside checks out.
    let decrypted = openpgp::decrypt(&encrypted, &alice).unwrap();
    let verified = openpgp::verify(&decrypted, &[alice.public()]).unwrap();
    assert_eq!(verified.fingerprint, alice.public().fingerprint());
    assert!(String::from_utf8_lossy(&decrypted).starts_with("From: Alice <alice@example.com>\r\n"));

    // GnuPG encrypts a MIME entity to alice; we decrypt it with her key.
    let entity = b"Content-Type: text/plain; charset=utf-8\r\n\r\nFrom GnuPG, for Alice.\r\n";
    let armored = gpg.run(
        &[
            "--armor",
            "--encrypt",
            "--trust-model",
            "always",
            "-r",
            "alice@example.com",
        ],
        entity,
    );
    let message = format!(
        "From: bob@example.net\r\nTo: alice@example.com\r\nSubject: secret\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"x\"\r\n\r\n\
         --x\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n\
         --x\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n--x--\r\n",
        String::from_utf8(armored).unwrap().replace('\n', "\r\n")
    );
    let decrypted = openpgp::decrypt(message.as_bytes(), &alice).unwrap();
    let parsed = Message::parse(&decrypted);
    assert_eq!(
        parsed.root.header.text("Subject").as_deref(),
        Some("secret")
    );
    let (body, _) = parsed.decoded_body(&parsed.root);
    assert_eq!(&body[..], b"From GnuPG, for Alice.\r\n");

    // GnuPG's secret key works here too; a key it was not for does not.
    let bob_secret = SecretKey::parse(&bob_secret).unwrap();
    assert!(openpgp::decrypt(&encrypted, &bob_secret).is_ok());
    let stranger = SecretKey::generate("Eve <eve@example.org>").unwrap();
    assert!(matches!(
        openpgp::decrypt(&encrypted, &stranger),
        Err(PgpError::CannotDecrypt(_))
    ));
}

#[test]
fn autocrypt_headers_carry_a_key_gnupg_can_import() {
    let gpg = Gpg::new("autocrypt");
    let alice = SecretKey::generate("Alice <alice@example.com>").unwrap();
    let header = Autocrypt::new("alice@example.com", &alice.public(), true);
    let value = header.to_string();
    assert!(value.starts_with("addr=alice@example.com; prefer-encrypt=mutual; keydata=\r\n "));
    assert!(value.lines().all(|l| l.len() <= 78), "{value}");
    let parsed = Autocrypt::parse(&value.replace("\r\n", "")).unwrap();
    assert_eq!(parsed, header);
    assert_eq!(
        parsed.key().unwrap().fingerprint(),
        alice.public().fingerprint()
    );
    let keyfile = gpg.file("autocrypt.key", &parsed.keydata);
    gpg.run(&["--import", &keyfile], b"");
    assert_eq!(
        gpg.fingerprint("alice@example.com"),
        alice.public().fingerprint()
    );
    // A critical attribute we do not know makes the header unusable.
    assert!(Autocrypt::parse("addr=a@b.example; future=1; keydata=AAAA").is_none());
    assert!(Autocrypt::parse("addr=a@b.example; _optional=1; keydata=AAAA").is_some());
}
