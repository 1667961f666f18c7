//! S/MIME against OpenSSL's `cms` command: what we sign and encrypt,
//! OpenSSL verifies and decrypts; what it signs and encrypts (AES-CBC,
//! AES-GCM, RSA PKCS #1 v1.5 and OAEP), we verify and decrypt.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use sansmail_mime::Message;
use sansmail_mime::protect::Protection;
use sansmail_mime::smime::{self, Certificate, ContentCipher, Identity, SmimeError, TrustStore};

/// A directory with a CA and two users' certificates and keys.
struct Pki(PathBuf);

impl Pki {
    fn new(name: &str) -> Pki {
        let dir =
            std::env::temp_dir().join(format!("sansmail-smime-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pki = Pki(dir);
        pki.openssl(&[
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
            "/CN=Test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        // alice and bob have RSA keys, carol a P-256 one.
        let users: [(&str, &[&str], &str); 3] = [
            ("alice", &["-newkey", "rsa:2048"], "keyEncipherment"),
            ("bob", &["-newkey", "rsa:2048"], "keyEncipherment"),
            (
                "carol",
                &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
                "keyAgreement",
            ),
        ];
        for (user, key, usage) in users {
            let (keyout, csr, subject) = (
                format!("{user}.key"),
                format!("{user}.csr"),
                format!("/CN={user}/emailAddress={user}@example.com"),
            );
            let mut args = vec!["req"];
            args.extend_from_slice(key);
            args.extend_from_slice(&[
                "-nodes", "-keyout", &keyout, "-out", &csr, "-subj", &subject,
            ]);
            pki.openssl(&args);
            std::fs::write(
                pki.path(&format!("{user}.ext")),
                format!("subjectAltName=email:{user}@example.com\nextendedKeyUsage=emailProtection\nkeyUsage=digitalSignature,{usage}\n"),
            )
            .unwrap();
            pki.openssl(&[
                "x509",
                "-req",
                "-in",
                &format!("{user}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{user}.pem"),
                "-days",
                "30",
                "-extfile",
                &format!("{user}.ext"),
            ]);
        }
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    fn write(&self, name: &str, data: &[u8]) -> String {
        std::fs::write(self.path(name), data).unwrap();
        name.to_owned()
    }

    fn openssl(&self, args: &[&str]) -> Vec<u8> {
        let (ok, out, err) = self.try_openssl(args);
        assert!(ok, "openssl {args:?}: {err}");
        out
    }

    fn try_openssl(&self, args: &[&str]) -> (bool, Vec<u8>, String) {
        let out = Command::new("openssl")
            .current_dir(&self.0)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("openssl is installed");
        (
            out.status.success(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn identity(&self, user: &str) -> Identity {
        // PKCS #8, as `openssl req -nodes` writes it.
        let key = String::from_utf8(self.read(&format!("{user}.key"))).unwrap();
        Identity::from_pem(&self.read(&format!("{user}.pem")), &key).unwrap()
    }

    fn cert(&self, user: &str) -> Certificate {
        Certificate::from_pem(&self.read(&format!("{user}.pem")))
            .unwrap()
            .remove(0)
    }

    fn trust(&self) -> TrustStore {
        TrustStore::new(Certificate::from_pem(&self.read("ca.pem")).unwrap())
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const MESSAGE: &[u8] = b"From: alice@example.com\r\nTo: bob@example.com\r\nSubject: contract\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThe contract is attached in spirit.\r\n";

/// The time for verification: the test is the application, it owns the clock.
#[allow(clippy::disallowed_methods)]
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn body_text(raw: &[u8]) -> String {
    let m = Message::parse(raw);
    String::from_utf8(m.decoded_body(&m.root).0.into_owned()).unwrap()
}

#[test]
fn openssl_verifies_what_we_sign_and_we_verify_what_openssl_signs() {
    let pki = Pki::new("sign");
    let alice = pki.identity("alice");

    for (name, signed) in [
        ("detached.eml", smime::sign(MESSAGE, &alice, 3).unwrap()),
        ("opaque.eml", smime::sign_opaque(MESSAGE, &alice).unwrap()),
    ] {
        let text = String::from_utf8(signed.clone()).unwrap();
        assert!(text.starts_with("From: alice@example.com\r\n"), "{text}");
        pki.write(name, &signed);
        let (ok, out, err) = pki.try_openssl(&["cms", "-verify", "-in", name, "-CAfile", "ca.pem"]);
        assert!(
            ok && err.contains("Verification successful"),
            "{name}: {err}"
        );
        assert!(String::from_utf8_lossy(&out).contains("The contract is attached in spirit."));
        assert_eq!(Message::parse(&signed).security(), Protection::SmimeSigned);
        let verified = smime::verify(&signed, &pki.trust(), now()).unwrap();
        assert_eq!(verified.signer, pki.cert("alice"));
        assert!(
            verified
                .entity
                .ends_with(b"The contract is attached in spirit.\r\n")
        );
    }

    // OpenSSL signs, clear and opaque; we check both against the CA.
    let entity = pki.write(
        "entity",
        b"Content-Type: text/plain\r\n\r\nSigned by OpenSSL.\r\n",
    );
    for extra in [&[][..], &["-nodetach"][..]] {
        let mut args = vec![
            "cms", "-sign", "-in", &entity, "-signer", "bob.pem", "-inkey", "bob.key", "-crlfeol",
        ];
        args.extend_from_slice(extra);
        let signed = pki.openssl(&args);
        let verified = smime::verify(&signed, &pki.trust(), now())
            .unwrap_or_else(|e| panic!("{extra:?}: {e}\n{}", String::from_utf8_lossy(&signed)));
        assert_eq!(verified.signer.subject(), pki.cert("bob").subject());
        assert!(verified.entity.ends_with(b"Signed by OpenSSL.\r\n"));
    }

    // Altered content, another CA, and a time after expiry all fail, each as what it is.
    let signed = smime::sign(MESSAGE, &alice, 3).unwrap();
    let text = String::from_utf8(signed)
        .unwrap()
        .replace("in spirit", "in letter");
    assert!(matches!(
        smime::verify(text.as_bytes(), &pki.trust(), now()),
        Err(SmimeError::BadSignature(_))
    ));
    let signed = smime::sign(MESSAGE, &alice, 3).unwrap();
    let stranger = Pki::new("stranger");
    assert!(matches!(
        smime::verify(&signed, &stranger.trust(), now()),
        Err(SmimeError::Untrusted(_))
    ));
    assert!(matches!(
        smime::verify(&signed, &pki.trust(), now() + 60 * 86_400),
        Err(SmimeError::Untrusted(_))
    ));
}

#[test]
fn openssl_decrypts_what_we_encrypt_and_we_decrypt_what_openssl_encrypts() {
    let pki = Pki::new("crypt");
    let bob = pki.identity("bob");

    for (cipher, smime_type) in [
        (ContentCipher::Aes256Cbc, "smime-type=enveloped-data"),
        (ContentCipher::Aes256Gcm, "smime-type=authEnveloped-data"),
        (ContentCipher::Aes128Gcm, "smime-type=authEnveloped-data"),
    ] {
        let recipients = [pki.cert("bob"), pki.cert("alice")];
        let encrypted = smime::encrypt(MESSAGE, &recipients, cipher).unwrap();
        let text = String::from_utf8(encrypted.clone()).unwrap();
        assert!(
            text.contains(smime_type) && !text.contains("in spirit"),
            "{text}"
        );
        assert!(text.contains("Subject: contract\r\n"));
        pki.write("enc.eml", &encrypted);
        let plain = pki.openssl(&[
            "cms", "-decrypt", "-in", "enc.eml", "-recip", "bob.pem", "-inkey", "bob.key",
        ]);
        assert!(
            String::from_utf8_lossy(&plain).contains("The contract is attached in spirit."),
            "{cipher:?}"
        );
        let decrypted = smime::decrypt(&encrypted, &bob).unwrap();
        assert_eq!(
            body_text(&decrypted),
            "The contract is attached in spirit.\r\n"
        );
        assert!(String::from_utf8_lossy(&decrypted).starts_with("From: alice@example.com\r\n"));
    }

    // OpenSSL encrypts with CBC, GCM, and RSA-OAEP key transport.
    let entity = pki.write(
        "entity",
        b"Content-Type: text/plain\r\n\r\nFor Bob only.\r\n",
    );
    let cases: [&[&str]; 4] = [
        &["-aes256"],
        &["-aes128"],
        &["-aes-256-gcm"],
        &["-aes256", "-keyopt", "rsa_padding_mode:oaep"],
    ];
    for extra in cases {
        let mut args = vec![
            "cms", "-encrypt", "-in", &entity, "-crlfeol", "-recip", "bob.pem",
        ];
        args.extend_from_slice(extra);
        let encrypted = pki.openssl(&args);
        let decrypted =
            smime::decrypt(&encrypted, &bob).unwrap_or_else(|e| panic!("{extra:?}: {e}"));
        assert_eq!(body_text(&decrypted), "For Bob only.\r\n", "{extra:?}");
    }

    // Not for alice's key.
    let only_bob = smime::encrypt(MESSAGE, &[pki.cert("bob")], ContentCipher::Aes256Gcm).unwrap();
    assert!(matches!(
        smime::decrypt(&only_bob, &pki.identity("alice")),
        Err(SmimeError::CannotDecrypt(_))
    ));
}

mod round_trips {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn pki() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(|| Pki::new("proptest"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Signed then verified, encrypted then decrypted: the same content.
        #[test]
        fn what_is_protected_comes_back_the_same(
            lines in proptest::collection::vec("[ -~]{0,70}", 0..20),
            subject in "[A-Za-z0-9 ]{0,30}",
        ) {
            let pki = pki();
            let body: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
            let raw = format!("From: alice@example.com\r\nSubject: {subject}\r\n\r\n{body}");
            let alice = pki.identity("alice");
            let signed = smime::sign(raw.as_bytes(), &alice, 9).unwrap();
            let verified = smime::verify(&signed, &pki.trust(), now()).unwrap();
            let expected = format!("Content-Type: text/plain; charset=us-ascii\r\n\r\n{body}");
            prop_assert_eq!(String::from_utf8(verified.entity).unwrap(), expected);
            let encrypted = smime::encrypt(raw.as_bytes(), &[pki.cert("alice")], ContentCipher::Aes256Cbc).unwrap();
            let decrypted = smime::decrypt(&encrypted, &alice).unwrap();
            prop_assert_eq!(body_text(&decrypted), body);
        }
    }
}

#[test]
fn what_holds_no_certificate_is_refused() {
    for pem in [
        &b""[..],
        b"\n",
        b"\r\n\r\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n",
    ] {
        assert!(Certificate::from_pem(pem).is_err());
    }
}

#[test]
fn p256_identities_sign_with_ecdsa_and_receive_through_ecdh() {
    let pki = Pki::new("ecdh");
    let carol = pki.identity("carol");

    // ECDSA signatures, both ways.
    let signed = smime::sign(MESSAGE, &carol, 5).unwrap();
    pki.write("ec-signed.eml", &signed);
    let (ok, _, err) = pki.try_openssl(&[
        "cms",
        "-verify",
        "-in",
        "ec-signed.eml",
        "-CAfile",
        "ca.pem",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        smime::verify(&signed, &pki.trust(), now()).unwrap().signer,
        pki.cert("carol")
    );
    let entity = pki.write(
        "entity",
        b"Content-Type: text/plain\r\n\r\nFrom Carol's key.\r\n",
    );
    let signed = pki.openssl(&[
        "cms",
        "-sign",
        "-in",
        &entity,
        "-signer",
        "carol.pem",
        "-inkey",
        "carol.key",
        "-crlfeol",
    ]);
    assert_eq!(
        smime::verify(&signed, &pki.trust(), now()).unwrap().signer,
        pki.cert("carol")
    );

    // We encrypt to carol (ECDH) and bob (RSA) at once; OpenSSL opens both copies.
    for cipher in [ContentCipher::Aes256Cbc, ContentCipher::Aes256Gcm] {
        let encrypted =
            smime::encrypt(MESSAGE, &[pki.cert("carol"), pki.cert("bob")], cipher).unwrap();
        pki.write("to-carol.eml", &encrypted);
        for user in ["carol", "bob"] {
            let (cert, key) = (format!("{user}.pem"), format!("{user}.key"));
            let (ok, plain, err) = pki.try_openssl(&[
                "cms",
                "-decrypt",
                "-in",
                "to-carol.eml",
                "-recip",
                &cert,
                "-inkey",
                &key,
            ]);
            assert!(ok, "{cipher:?} {user}: {err}");
            assert!(
                String::from_utf8_lossy(&plain).contains("The contract is attached in spirit.")
            );
        }
        let decrypted = smime::decrypt(&encrypted, &carol).unwrap();
        assert_eq!(
            body_text(&decrypted),
            "The contract is attached in spirit.\r\n"
        );
    }

    // OpenSSL encrypts to carol with its default SHA-1 KDF and with SHA-256.
    let entity = pki.write(
        "entity",
        b"Content-Type: text/plain\r\n\r\nFor Carol only.\r\n",
    );
    let cases: [&[&str]; 3] = [
        &["-aes256"],
        &["-aes128", "-keyopt", "ecdh_kdf_md:sha256"],
        &["-aes-256-gcm", "-keyopt", "ecdh_kdf_md:sha256"],
    ];
    for extra in cases {
        let mut args = vec![
            "cms",
            "-encrypt",
            "-in",
            &entity,
            "-crlfeol",
            "-recip",
            "carol.pem",
        ];
        args.extend_from_slice(extra);
        let encrypted = pki.openssl(&args);
        let decrypted =
            smime::decrypt(&encrypted, &carol).unwrap_or_else(|e| panic!("{extra:?}: {e}"));
        assert_eq!(body_text(&decrypted), "For Carol only.\r\n", "{extra:?}");
    }
}
