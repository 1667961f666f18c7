//! DKIM verification of any message: it never panics, looks up at most
//! one key per checked signature, and judges at most `MAX_SIGNATURES`.

use sansmail_auth::dkim::{DkimVerifier, MAX_SIGNATURES, Step};
use sansmail_auth::dns::{Answer, Record};

/// Runs the check on one input; panics when a property fails.
///
/// Every key lookup gets the same record: an Ed25519 key, or an RSA
/// record whose key is junk, chosen by the input's length.
pub fn check(data: &[u8]) {
    let record: &[u8] = if data.len().is_multiple_of(2) {
        b"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    } else {
        b"v=DKIM1; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAjunk"
    };
    let mut verifier = DkimVerifier::new(data, 1_800_000_000);
    let mut asked = 0;
    loop {
        match verifier.poll() {
            Step::Lookup(q) => {
                asked += 1;
                assert!(asked <= MAX_SIGNATURES, "more lookups than signatures");
                verifier.answer(q, Answer::Records(vec![Record::Txt(record.to_vec())]));
            }
            Step::Done(results) => {
                assert!(results.len() <= MAX_SIGNATURES);
                return;
            }
        }
    }
}
