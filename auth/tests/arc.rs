//! ARC: chains we seal verify here and with dkimpy, dkimpy's seals verify
//! here, and every way of breaking a chain is caught.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use sansmail_auth::arc::{ArcOutcome, ArcResult, ArcSealer, ArcVerifier, MAX_INSTANCES, Step};
use sansmail_auth::dkim::{DkimSigner, SigningKey};
use sansmail_auth::dns::{Answer, Record};
use sansmail_auth::results::{AuthenticationResults, MethodResult};
use sansmail_test_support::{TempDir, openssl_key, require, rsa_pem, run};

const MESSAGE: &[u8] = b"From: Ann <ann@example.com>\r\nTo: list@example.org\r\nSubject: Lunch\r\n\
Date: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.com>\r\n\r\nShall we?\r\n";

const NOW: u64 = 1_790_000_000;

/// A sealer for `domain` with selector `arc`, and the zone entry of its key.
fn sealer(domain: &str, pem: &str) -> (ArcSealer, (String, Answer)) {
    let key = SigningKey::from_pem(pem).unwrap();
    let record = key.public_key_record();
    let sealer = ArcSealer::new(DkimSigner::new(domain, "arc", key));
    let entry = (
        format!("arc._domainkey.{domain}"),
        Answer::records(vec![Record::Txt(record.into_bytes())]),
    );
    (sealer, entry)
}

fn verify(message: &[u8], zone: &HashMap<String, Answer>) -> ArcOutcome {
    let mut v = ArcVerifier::new(message, NOW);
    loop {
        match v.poll() {
            Step::Lookup(q) => {
                let answer = zone.get(&q.name).cloned().unwrap_or(Answer::NxDomain);
                v.answer(q, answer);
            }
            Step::Done(outcome) => return outcome,
        }
    }
}

fn results(id: &str, chain: ArcResult) -> AuthenticationResults {
    let mut r = AuthenticationResults::new(id);
    r.results
        .push(MethodResult::new("spf", "pass").with_property("smtp", "mailfrom", "example.com"));
    r.results.push(MethodResult::new("arc", &chain.to_string()));
    r
}

/// Verifies `message`, then seals it as `sealer` would when forwarding.
fn forward(
    message: &[u8],
    sealer: &ArcSealer,
    id: &str,
    zone: &HashMap<String, Answer>,
) -> Vec<u8> {
    let chain = verify(message, zone).result;
    let set = sealer
        .seal(message, &results(id, chain), chain, NOW)
        .unwrap();
    [set.as_bytes(), message].concat()
}

#[test]
fn chains_of_one_and_two_sets_verify_and_any_change_breaks_them() {
    let (first, k1) = sealer("forwarder.example", &rsa_pem());
    let (second, k2) = sealer("list.example", &openssl_key(&["-algorithm", "ed25519"]));
    let zone: HashMap<String, Answer> = [k1, k2].into_iter().collect();
    assert_eq!(verify(MESSAGE, &zone).result, ArcResult::None);

    let once = forward(MESSAGE, &first, "mx.forwarder.example", &zone);
    let outcome = verify(&once, &zone);
    assert_eq!(outcome.result, ArcResult::Pass, "{outcome:?}");
    assert_eq!(outcome.instances, 1);
    assert_eq!(outcome.sealers, ["forwarder.example"]);
    assert!(
        outcome.results[0].starts_with("mx.forwarder.example; spf=pass"),
        "{:?}",
        outcome.results
    );

    // A list receives it (the chain passes), tags the subject as lists do,
    // then seals: the changed message carries a chain that still verifies,
    // though set 1's message signature no longer would.
    let chain = verify(&once, &zone).result;
    let tagged = String::from_utf8(once)
        .unwrap()
        .replace("Subject: Lunch", "Subject: [list] Lunch");
    assert_eq!(verify(tagged.as_bytes(), &zone).result, ArcResult::Fail);
    let set = second
        .seal(
            tagged.as_bytes(),
            &results("mx.list.example", chain),
            chain,
            NOW,
        )
        .unwrap();
    let twice = [set.as_bytes(), tagged.as_bytes()].concat();
    let outcome = verify(&twice, &zone);
    assert_eq!(outcome.result, ArcResult::Pass, "{outcome:?}");
    assert_eq!(outcome.instances, 2);
    assert_eq!(outcome.sealers, ["forwarder.example", "list.example"]);
    assert!(String::from_utf8_lossy(&twice).contains("cv=pass"));

    // Only the newest message signature must hold: an older one may break.
    let text = String::from_utf8(twice.clone()).unwrap();
    let body_changed = text.replace("Shall we?", "Shall we not?");
    let outcome = verify(body_changed.as_bytes(), &zone);
    assert_eq!(outcome.result, ArcResult::Fail);
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .starts_with("ARC-Message-Signature i=2"),
        "{outcome:?}"
    );
    // Any change to an earlier set breaks the seals over it.
    let aar_changed = text.replace(
        "mx.forwarder.example; spf=pass",
        "mx.forwarder.example; spf=fail",
    );
    let outcome = verify(aar_changed.as_bytes(), &zone);
    assert_eq!(outcome.result, ArcResult::Fail);
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .starts_with("ARC-Seal i=2"),
        "{outcome:?}"
    );
    // A key that cannot be fetched now is a temporary error, not a failure.
    let mut flaky = zone.clone();
    flaky.insert("arc._domainkey.forwarder.example".into(), Answer::TempFail);
    assert_eq!(verify(&twice, &flaky).result, ArcResult::TempError);
    // A revoked key fails.
    let mut revoked = zone.clone();
    revoked.insert(
        "arc._domainkey.list.example".into(),
        Answer::records(vec![Record::Txt(b"v=DKIM1; k=ed25519; p=".to_vec())]),
    );
    assert_eq!(verify(&twice, &revoked).result, ArcResult::Fail);
}

#[test]
fn malformed_chains_fail_with_the_reason() {
    let (first, k1) = sealer("forwarder.example", &rsa_pem());
    let zone: HashMap<String, Answer> = [k1].into_iter().collect();
    let once = String::from_utf8(forward(MESSAGE, &first, "mx.forwarder.example", &zone)).unwrap();
    let reason = |m: &str| {
        let o = verify(m.as_bytes(), &zone);
        assert_eq!(o.result, ArcResult::Fail, "{m}");
        o.reason.unwrap()
    };
    // A set missing a field.
    let no_aar: String = once
        .split_inclusive("\r\n")
        .filter(|l| !l.starts_with("ARC-Authentication-Results"))
        .collect();
    assert!(reason(&no_aar).contains("incomplete"));
    // Two fields of one instance.
    let doubled = format!("ARC-Authentication-Results: i=1; other; none\r\n{once}");
    assert!(reason(&doubled).contains("two of one field"));
    // Instance numbers out of range or missing.
    assert!(reason(&once.replace("i=1;", "i=51;")).contains("no valid instance"));
    assert!(reason(&once.replace("i=1;", "i=2;")).contains("set 1 is incomplete"));
    // The first seal must say cv=none.
    assert!(reason(&once.replace("cv=none", "cv=pass")).contains("cv=pass, not none"));
    // A chain marked failed by its newest sealer.
    assert!(reason(&once.replace("cv=none", "cv=fail")).contains("marks the chain failed"));
    // More ARC fields than 50 sets is refused before any key lookup.
    let mut many = String::new();
    for i in 1..=MAX_INSTANCES + 1 {
        many.push_str(&format!("ARC-Authentication-Results: i={i}; x; none\r\n"));
        many.push_str(&format!(
            "ARC-Message-Signature: i={i}; a=rsa-sha256; b=x\r\n"
        ));
        many.push_str(&format!("ARC-Seal: i={i}; a=rsa-sha256; b=x\r\n"));
    }
    many.push_str(std::str::from_utf8(MESSAGE).unwrap());
    let mut v = ArcVerifier::new(many.as_bytes(), NOW);
    match v.poll() {
        Step::Done(o) => assert_eq!(
            (o.result, o.reason.unwrap().contains("50 sets")),
            (ArcResult::Fail, true)
        ),
        Step::Lookup(q) => panic!("asked {q} for a chain too long"),
    }
}

#[test]
fn a_failed_chain_is_sealed_once_more_and_never_again() {
    let (first, k1) = sealer("forwarder.example", &rsa_pem());
    let (second, k2) = sealer("list.example", &rsa_pem());
    let zone: HashMap<String, Answer> = [k1, k2].into_iter().collect();
    let once = String::from_utf8(forward(MESSAGE, &first, "mx.forwarder.example", &zone)).unwrap();
    let broken = once.replace("Shall we?", "Changed.");
    assert_eq!(verify(broken.as_bytes(), &zone).result, ArcResult::Fail);
    let sealed = forward(broken.as_bytes(), &second, "mx.list.example", &zone);
    let text = String::from_utf8_lossy(&sealed);
    assert!(text.contains("i=2; a=rsa-sha256; cv=fail"), "{text}");
    let outcome = verify(&sealed, &zone);
    assert_eq!(outcome.result, ArcResult::Fail);
    assert!(outcome.reason.unwrap().contains("marks the chain failed"));
    let error = second
        .seal(
            &sealed,
            &results("again", ArcResult::Fail),
            ArcResult::Fail,
            NOW,
        )
        .unwrap_err();
    assert!(
        error.to_string().contains("already marked failed"),
        "{error}"
    );
}

#[test]
fn dkimpy_verifies_our_chain_and_we_verify_dkimpy_seals() {
    let python = require("python3");
    let dir = TempDir::new("arc");
    let pem = rsa_pem();
    let key_path = dir.path().join("key.pem");
    std::fs::write(&key_path, &pem).unwrap();
    let (ours, (_, key_answer)) = sealer("forwarder.example", &pem);
    let Answer::Records(records) = &key_answer else {
        unreachable!()
    };
    let Record::Txt(record) = &records[0] else {
        unreachable!()
    };
    let record = String::from_utf8(record.clone()).unwrap();
    let zone: HashMap<String, Answer> = [
        (
            "arc._domainkey.forwarder.example".to_owned(),
            key_answer.clone(),
        ),
        ("arc._domainkey.list.example".to_owned(), key_answer.clone()),
    ]
    .into_iter()
    .collect();
    let one = forward(MESSAGE, &ours, "mx.forwarder.example", &zone);
    let msg_path = dir.path().join("ours.eml");
    std::fs::write(&msg_path, &one).unwrap();
    // dkimpy checks our set, then adds a second as list.example (it takes cv
    // from the arc= result of its own Authentication-Results field).
    let script = format!(
        r#"
import dkim, sys
record = {record:?}.encode()
keys = {{b"arc._domainkey.forwarder.example.": record, b"arc._domainkey.list.example.": record}}
dns = lambda name, timeout=5: keys.get(name)
ours = open({msg:?}, "rb").read()
cv, results, reason = dkim.arc_verify(ours, dnsfunc=dns)
print(cv.decode(), reason)
stamped = b"Authentication-Results: mx.list.example; arc=pass\r\n" + ours
sig = dkim.arc_sign(stamped, b"arc", b"list.example", open({key:?}, "rb").read(), b"mx.list.example", timestamp={NOW})
sys.stdout.write(b"".join(sig).decode() + stamped.decode())
"#,
        msg = msg_path.display().to_string(),
        key = key_path.display().to_string(),
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
    assert!(
        first.starts_with("pass"),
        "dkimpy did not pass our chain: {first}"
    );
    let theirs = theirs.replace("\r\n", "\n").replace('\n', "\r\n");
    assert!(theirs.contains("ARC-Seal: i=2"), "{theirs}");
    let outcome = verify(theirs.as_bytes(), &zone);
    assert_eq!(outcome.result, ArcResult::Pass, "{outcome:?}\n{theirs}");
    assert_eq!(outcome.instances, 2);
    assert_eq!(outcome.sealers, ["forwarder.example", "list.example"]);
}
