//! ARC verification of any message against any key record, and sealing:
//! it never panics, looks up at most one key per set plus one, and a
//! message without a chain that we seal verifies.

use sansmail_auth::arc::{ArcResult, ArcSealer, ArcVerifier, MAX_INSTANCES, Step};
use sansmail_auth::dkim::{DkimSigner, SigningKey};
use sansmail_auth::dns::{Answer, Record};
use sansmail_auth::results::AuthenticationResults;

/// The sealing key of the check (a fixed Ed25519 key; test use only).
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINYDwA+8XDw40J7KpNNSOstONYGSaZ5vPWor3UzWXWWW\n-----END PRIVATE KEY-----\n";

/// Verifies `message` answering every key lookup with `record`.
fn verify(message: &[u8], record: &[u8]) -> sansmail_auth::arc::ArcOutcome {
    let mut verifier = ArcVerifier::new(message, 1_800_000_000);
    let mut asked = 0;
    loop {
        match verifier.poll() {
            Step::Lookup(q) => {
                asked += 1;
                assert!(asked <= MAX_INSTANCES + 1, "more lookups than sets");
                verifier.answer(q, Answer::records(vec![Record::Txt(record.to_vec())]));
            }
            Step::Done(outcome) => {
                assert!(outcome.instances <= MAX_INSTANCES);
                assert!(asked <= outcome.instances + 1);
                return outcome;
            }
        }
    }
}

/// Runs the check on one input; panics when a property fails.
///
/// The input's first line is the key record every lookup gets (so the key
/// record parser is fuzzed too); the rest is the message.
pub fn check(data: &[u8]) {
    let (record, message) = match data.iter().position(|&b| b == b'\n') {
        Some(n) => (&data[..n], &data[n + 1..]),
        None => (&b"v=DKIM1; k=ed25519; p=x"[..], data),
    };
    let outcome = verify(message, record);
    if outcome.result != ArcResult::None {
        return;
    }
    let key = SigningKey::from_pem(KEY).expect("the check's key");
    let own_record = key.public_key_record();
    let sealer = ArcSealer::new(DkimSigner::new("fuzz.example", "arc", key));
    let results = AuthenticationResults::new("mx.fuzz.example");
    // A message without From cannot be sealed; any other can, and then verifies.
    if let Ok(set) = sealer.seal(message, &results, ArcResult::None, 1_790_000_000) {
        let sealed = [set.as_bytes(), message].concat();
        let again = verify(&sealed, own_record.as_bytes());
        assert_eq!(again.result, ArcResult::Pass, "{again:?}");
    }
}
