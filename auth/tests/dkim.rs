//! DKIM signing and verification: our signatures verify here and with
//! dkimpy (Python's DKIM library), dkimpy's verify here, and every way of
//! breaking one is caught.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use sansmail_auth::dkim::{
    DkimResult, DkimSigner, DkimVerifier, MAX_SIGNATURES, SignatureResult, SigningKey, Step,
};
use sansmail_auth::dns::{Answer, Record};
use sansmail_test_support::{TempDir, openssl_key, require, rsa_pem, run};

const MESSAGE: &[u8] = b"From: Ann <ann@example.com>\r\nTo: bob@example.org\r\nSubject: Lunch\r\n\
Date: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.com>\r\n\r\nShall we?\r\n  Noon  \r\n\r\n\r\n";

fn verify(message: &[u8], zone: &HashMap<String, Answer>) -> (Vec<SignatureResult>, usize) {
    let mut v = DkimVerifier::new(message, 1_800_000_000);
    let mut asked = 0;
    loop {
        match v.poll() {
            Step::Lookup(q) => {
                asked += 1;
                let answer = zone.get(&q.name).cloned().unwrap_or(Answer::NxDomain);
                v.answer(q, answer);
            }
            Step::Done(results) => return (results, asked),
        }
    }
}

fn zone_for(key: &SigningKey) -> HashMap<String, Answer> {
    HashMap::from([(
        "sel._domainkey.example.com".to_owned(),
        Answer::records(vec![Record::Txt(key.public_key_record().into_bytes())]),
    )])
}

fn signed(signer: &DkimSigner, message: &[u8]) -> Vec<u8> {
    let field = signer.sign(message, 1_790_000_000).unwrap();
    [field.as_bytes(), message].concat()
}

#[test]
fn rsa_and_ed25519_signatures_verify_and_every_change_breaks_them() {
    for pem in [rsa_pem(), openssl_key(&["-algorithm", "ed25519"])] {
        let key = SigningKey::from_pem(&pem).unwrap();
        let zone = zone_for(&key);
        let signer = DkimSigner::new("example.com", "sel", SigningKey::from_pem(&pem).unwrap());
        let message = signed(&signer, MESSAGE);
        let (results, _) = verify(&message, &zone);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].result, DkimResult::Pass, "{:?}", results[0]);
        assert_eq!(results[0].domain, "example.com");
        // Whitespace changes relaxed canonicalization forgives.
        let respaced = String::from_utf8(message.clone())
            .unwrap()
            .replace("Subject: Lunch", "Subject:   Lunch")
            .replace("  Noon  ", " Noon");
        assert_eq!(
            verify(respaced.as_bytes(), &zone).0[0].result,
            DkimResult::Pass
        );
        // Changes it does not.
        let text = String::from_utf8(message.clone()).unwrap();
        for broken in [
            text.replace("Shall we?", "Shall we not?"),
            text.replace("Subject: Lunch", "Subject: Dinner"),
            text.replace(
                "To: bob@example.org\r\n",
                "To: bob@example.org\r\nFrom: mallory@example.net\r\n",
            ),
            text.replace(
                "Message-ID: <m1@example.com>\r\n",
                "Message-ID: <m1@example.com>\r\nSubject: extra\r\n",
            ),
        ] {
            let (r, _) = verify(broken.as_bytes(), &zone);
            assert_eq!(r[0].result, DkimResult::Fail, "{broken}");
        }
    }
}

#[test]
fn key_problems_give_the_results_rfc_6376_names() {
    let pem = rsa_pem();
    let signer = DkimSigner::new("example.com", "sel", SigningKey::from_pem(&pem).unwrap());
    let message = signed(&signer, MESSAGE);
    let with = |answer: Answer| {
        let zone = HashMap::from([("sel._domainkey.example.com".to_owned(), answer)]);
        verify(&message, &zone).0[0].result
    };
    assert_eq!(with(Answer::TempFail), DkimResult::TempError);
    assert_eq!(with(Answer::NxDomain), DkimResult::PermError);
    assert_eq!(
        with(Answer::records(vec![Record::Txt(
            b"v=DKIM1; k=rsa; p=".to_vec()
        )])),
        DkimResult::Fail
    );
    assert_eq!(
        with(Answer::records(vec![Record::Txt(
            b"v=DKIM1; k=ed25519; p=AAAA".to_vec()
        )])),
        DkimResult::PermError
    );
    // The key record's own limits: hash algorithms, service types, testing.
    let key = SigningKey::from_pem(&pem).unwrap();
    let record = key.public_key_record();
    let flagged = |extra: &str| {
        let text = record.replace("v=DKIM1; ", &format!("v=DKIM1; {extra}; "));
        let zone = HashMap::from([(
            "sel._domainkey.example.com".to_owned(),
            Answer::records(vec![Record::Txt(text.into_bytes())]),
        )]);
        verify(&message, &zone).0.remove(0)
    };
    assert_eq!(flagged("h=sha1").result, DkimResult::PermError);
    assert_eq!(flagged("h=sha1:sha256").result, DkimResult::Pass);
    assert_eq!(flagged("s=tlsrpt").result, DkimResult::PermError);
    assert_eq!(flagged("s=email").result, DkimResult::Pass);
    let testing = flagged("t=y");
    assert_eq!((testing.result, testing.testing), (DkimResult::Pass, true));
    // Two records, or a version other than DKIM1, are no key.
    let two = Answer::records(vec![
        Record::Txt(record.clone().into_bytes()),
        Record::Txt(record.clone().into_bytes()),
    ]);
    assert_eq!(with(two), DkimResult::PermError);
    let v2 = record.replace("v=DKIM1", "v=DKIM2");
    assert_eq!(
        with(Answer::records(vec![Record::Txt(v2.into_bytes())])),
        DkimResult::PermError
    );
    // A 1024-bit key is still a key (RFC 8301): the signature is just wrong for it.
    let dir = TempDir::new("dkim-1024");
    let path = dir.path().join("small.pem");
    std::fs::write(
        &path,
        openssl_key(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]),
    )
    .unwrap();
    let out = run(
        Command::new(require("openssl"))
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&path),
        b"",
        Duration::from_secs(60),
    );
    let mut b64 = Vec::new();
    sansmail_mime::transfer::encode_base64(&out.stdout, &mut b64);
    let b64: String = String::from_utf8(b64).unwrap().split_whitespace().collect();
    let record = format!("v=DKIM1; k=rsa; p={b64}");
    assert_eq!(
        with(Answer::records(vec![Record::Txt(record.into_bytes())])),
        DkimResult::Fail
    );
}

#[test]
fn hundreds_of_signatures_cost_a_bounded_amount_of_work() {
    let pem = rsa_pem();
    let signer = DkimSigner::new("example.com", "sel", SigningKey::from_pem(&pem).unwrap());
    let one = signer.sign(MESSAGE, 1_790_000_000).unwrap();
    let mut message = one.repeat(300).into_bytes();
    message.extend_from_slice(MESSAGE);
    let (results, asked) = verify(&message, &zone_for(&SigningKey::from_pem(&pem).unwrap()));
    assert_eq!(results.len(), MAX_SIGNATURES);
    assert!(asked <= MAX_SIGNATURES);
    assert!(results.iter().all(|r| r.result == DkimResult::Pass));
}

#[test]
fn dkimpy_verifies_ours_and_we_verify_dkimpy() {
    let python = require("python3");
    let dir = TempDir::new("dkim");
    let pem = rsa_pem();
    let key_path = dir.path().join("key.pem");
    std::fs::write(&key_path, &pem).unwrap();
    let key = SigningKey::from_pem(&pem).unwrap();
    let record = key.public_key_record();
    let signer = DkimSigner::new("example.com", "sel", key);
    let ours = signed(&signer, MESSAGE);
    let msg_path = dir.path().join("ours.eml");
    std::fs::write(&msg_path, &ours).unwrap();
    let script = format!(
        r#"
import dkim, sys
record = {record:?}.encode()
dns = lambda name, timeout=5: record if name == b"sel._domainkey.example.com." else None
ours = open({msg:?}, "rb").read()
print("verified" if dkim.verify(ours, dnsfunc=dns) else "not verified")
message = {message:?}.encode()
sig = dkim.sign(message, b"sel", b"example.com", open({key:?}, "rb").read(), canonicalize=(b"relaxed", b"simple"))
sys.stdout.write(sig.decode() + message.decode())
"#,
        msg = msg_path.display().to_string(),
        key = key_path.display().to_string(),
        message = String::from_utf8(MESSAGE.to_vec()).unwrap(),
    );
    let out = run(
        Command::new(python).arg("-c").arg(script),
        b"",
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (first, theirs) = stdout.split_once('\n').unwrap();
    assert_eq!(first, "verified", "dkimpy did not verify our signature");
    let theirs = theirs.replace("\r\n", "\n").replace('\n', "\r\n");
    let zone = HashMap::from([(
        "sel._domainkey.example.com".to_owned(),
        Answer::records(vec![Record::Txt(record.into_bytes())]),
    )]);
    let (results, _) = verify(theirs.as_bytes(), &zone);
    assert_eq!(results[0].result, DkimResult::Pass, "{results:?}\n{theirs}");
    assert!(!results[0].unsigned_body);
    // With l=, what is added after the signed length is no part of what
    // verifies, and the result says so.
    let with_l = dkimpy_signed(
        &key_path,
        "canonicalize=(b\"relaxed\", b\"relaxed\"), length=True",
    );
    assert!(with_l.contains("l="), "{with_l}");
    let (results, _) = verify(with_l.as_bytes(), &zone);
    assert_eq!(
        (results[0].result, results[0].unsigned_body),
        (DkimResult::Pass, false)
    );
    let extended = format!("{with_l}Click here: http://phish.example/\r\n");
    let (results, _) = verify(extended.as_bytes(), &zone);
    assert_eq!(
        (results[0].result, results[0].unsigned_body),
        (DkimResult::Pass, true)
    );
}

/// OpenDKIM's test mode (`opendkim -t`) on `message` with `config` lines;
/// returns what it printed (the fields it would add, and its verdict).
fn opendkim(dir: &TempDir, config: &str, message: &[u8]) -> String {
    let conf = dir.path().join("opendkim.conf");
    std::fs::write(
        &conf,
        format!("Syslog no\nRequireSafeKeys no\nAuthservID opendkim.test\n{config}"),
    )
    .unwrap();
    let msg = dir.path().join("message.eml");
    std::fs::write(&msg, message).unwrap();
    let out = run(
        Command::new(require("/usr/sbin/opendkim"))
            .arg("-x")
            .arg(&conf)
            .arg("-t")
            .arg(&msg)
            .arg("-vv"),
        b"",
        Duration::from_secs(60),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "opendkim: {text}");
    text
}

/// MESSAGE signed by dkimpy as example.com, selector sel, with the key at
/// `key` and `extra` arguments to `dkim.sign`.
fn dkimpy_signed(key: &std::path::Path, extra: &str) -> String {
    let script = format!(
        "import dkim, sys\nmessage = {message:?}.encode()\n\
         sig = dkim.sign(message, b'sel', b'example.com', open({key:?}, 'rb').read(), {extra})\n\
         sys.stdout.write(sig.decode() + message.decode())\n",
        key = key.display().to_string(),
        message = String::from_utf8(MESSAGE.to_vec()).unwrap(),
    );
    let out = run(
        Command::new(require("python3")).arg("-c").arg(script),
        b"",
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
}

/// MESSAGE signed by OpenDKIM as example.com, selector sel, with the key
/// at `key` and `extra` settings: the signature's value, and the message
/// with it on top.
fn opendkim_signed(dir: &TempDir, key: &std::path::Path, extra: &str) -> (String, String) {
    let printed = opendkim(
        dir,
        &format!(
            "Mode s\nDomain example.com\nSelector sel\nKeyFile {}\n{extra}",
            key.display()
        ),
        MESSAGE,
    );
    let value = printed
        .split("hname='DKIM-Signature' hvalue='")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no signature in {printed}"))
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    let signed = format!(
        "DKIM-Signature: {value}\r\n{}",
        String::from_utf8(MESSAGE.to_vec()).unwrap()
    );
    (value, signed)
}

#[test]
fn opendkim_verifies_ours_and_we_verify_opendkim() {
    let dir = TempDir::new("opendkim");
    for (kind, pem) in [
        ("rsa", rsa_pem()),
        ("ed25519", openssl_key(&["-algorithm", "ed25519"])),
    ] {
        let key = SigningKey::from_pem(&pem).unwrap();
        let keys = dir.path().join("keys");
        std::fs::write(
            &keys,
            format!("sel._domainkey.example.com {}\n", key.public_key_record()),
        )
        .unwrap();
        let signer = DkimSigner::new("example.com", "sel", key);
        let printed = opendkim(
            &dir,
            &format!("Mode v\nTestPublicKeys {}\n", keys.display()),
            &signed(&signer, MESSAGE),
        );
        assert!(
            printed.contains("dkim=pass") && printed.contains("header.d=example.com"),
            "OpenDKIM did not pass our {kind} signature: {printed}"
        );
        // A changed body fails there too.
        let changed = String::from_utf8(signed(&signer, MESSAGE))
            .unwrap()
            .replace("Shall we?", "Shall we not?");
        let printed = opendkim(
            &dir,
            &format!("Mode v\nTestPublicKeys {}\n", keys.display()),
            changed.as_bytes(),
        );
        assert!(printed.contains("dkim=fail"), "{kind}: {printed}");
    }
    // OpenDKIM signs (relaxed/simple, its usual choice); we verify.
    let pem = rsa_pem();
    let key_path = dir.path().join("signing.pem");
    std::fs::write(&key_path, &pem).unwrap();
    let (_, theirs) = opendkim_signed(&dir, &key_path, "Canonicalization relaxed/simple\n");
    let zone = zone_for(&SigningKey::from_pem(&pem).unwrap());
    let (results, _) = verify(theirs.as_bytes(), &zone);
    assert_eq!(results[0].result, DkimResult::Pass, "{results:?}\n{theirs}");
}

#[test]
fn a_message_starting_with_an_mbox_line_is_not_signed_into_a_broken_signature() {
    // Alone, the first line would be skipped as an mbox separator; under a
    // signature field it ends the header block without an empty line, and
    // verifiers differ on what follows. The signer reads it so, and refuses.
    let message = b"From ann@example.com Wed Dec  2 10:00:00 2026\r\nFrom: ann@example.com\r\nSubject: x\r\n\r\nbody\r\n";
    let pem = openssl_key(&["-algorithm", "ed25519"]);
    let signer = DkimSigner::new("example.com", "sel", SigningKey::from_pem(&pem).unwrap());
    let error = signer.sign(message, 1_790_000_000).unwrap_err();
    assert!(
        error.to_string().contains("not ended by an empty line"),
        "{error}"
    );
    // A first line that continues nothing would join the signature field.
    let error = signer
        .sign(
            b" folded\r\nFrom: ann@example.com\r\n\r\nbody\r\n",
            1_790_000_000,
        )
        .unwrap_err();
    assert!(error.to_string().contains("continuation line"), "{error}");
    // Nor a header that ends without an empty line: verifiers differ on it.
    let error = signer
        .sign(b"From: ann@example.com\r\nnot a field\r\n", 1_790_000_000)
        .unwrap_err();
    assert!(error.to_string().contains("empty line"), "{error}");
    // Without that line it signs, and verifies.
    let zone = zone_for(&SigningKey::from_pem(&pem).unwrap());
    let (results, _) = verify(&signed(&signer, &message[47..]), &zone);
    assert_eq!(results[0].result, DkimResult::Pass, "{results:?}");
}

#[test]
fn generated_keys_read_back_and_sign_what_verifies() {
    use sansmail_auth::dkim::Algorithm;
    for (algorithm, kind) in [
        (Algorithm::RsaSha256, "rsa"),
        (Algorithm::Ed25519Sha256, "ed25519"),
    ] {
        let (key, pem) = SigningKey::generate(algorithm).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        assert!(
            key.public_key_record()
                .starts_with(&format!("v=DKIM1; k={kind}; p="))
        );
        // OpenSSL reads the PEM as the key it is.
        let dir = TempDir::new("keygen");
        let path = dir.path().join("key.pem");
        std::fs::write(&path, &pem).unwrap();
        let out = run(
            Command::new(require("openssl"))
                .args(["pkey", "-noout", "-text", "-in"])
                .arg(&path),
            b"",
            Duration::from_secs(30),
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = if kind == "rsa" {
            "Private-Key: (2048 bit"
        } else {
            "ED25519 Private-Key"
        };
        assert!(text.contains(expected), "{text}");
        let zone = zone_for(&SigningKey::from_pem(&pem).unwrap());
        let signer = DkimSigner::new("example.com", "sel", key);
        let (results, _) = verify(&signed(&signer, MESSAGE), &zone);
        assert_eq!(results[0].result, DkimResult::Pass, "{kind}: {results:?}");
    }
}

#[test]
fn expired_signatures_and_subdomain_identities_are_judged_as_rfc_6376_says() {
    let dir = TempDir::new("dkim-x-i");
    let pem = rsa_pem();
    let key_path = dir.path().join("key.pem");
    std::fs::write(&key_path, &pem).unwrap();
    let key = SigningKey::from_pem(&pem).unwrap();
    let record = key.public_key_record();
    // OpenDKIM signs with x= one hour after t=.
    let (value, signed) = opendkim_signed(&dir, &key_path, "SignatureTTL 3600\n");
    assert!(value.contains("x="), "{value}");
    let t: u64 = value
        .split("t=")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|t| t.trim().parse().ok())
        .expect("t=");
    let zone = zone_for(&key);
    let judge = |now: u64, zone: &HashMap<String, Answer>| {
        let mut v = DkimVerifier::new(signed.as_bytes(), now);
        loop {
            match v.poll() {
                Step::Lookup(q) => {
                    let a = zone.get(&q.name).cloned().unwrap_or(Answer::NxDomain);
                    v.answer(q, a);
                }
                Step::Done(r) => break r,
            }
        }
    };
    assert_eq!(judge(t + 60, &zone)[0].result, DkimResult::Pass);
    let late = judge(t + 7200, &zone);
    assert_eq!(late[0].result, DkimResult::Policy, "{late:?}");
    assert_eq!(late[0].reason.as_deref(), Some("signature expired"));

    // dkimpy signs with i= in a subdomain: fine, unless the key says t=s.
    let with_i = dkimpy_signed(&key_path, "identity=b\"ann@mail.example.com\"");
    assert!(with_i.contains("i=ann@mail.example.com"), "{with_i}");
    let (results, _) = verify(with_i.as_bytes(), &zone);
    assert_eq!(results[0].result, DkimResult::Pass, "{results:?}");
    let strict = HashMap::from([(
        "sel._domainkey.example.com".to_owned(),
        Answer::records(vec![Record::Txt(format!("{record}; t=s").into_bytes())]),
    )]);
    let (results, _) = verify(with_i.as_bytes(), &strict);
    assert_eq!(results[0].result, DkimResult::PermError, "{results:?}");
    assert_eq!(
        results[0].reason.as_deref(),
        Some("key forbids subdomains in i=")
    );
    // An i= outside d= is refused whatever the key says.
    let outside = with_i.replace("i=ann@mail.example.com", "i=ann@example.org");
    let (results, _) = verify(outside.as_bytes(), &zone);
    assert_eq!(results[0].reason.as_deref(), Some("i= is outside d="));
}
