//! DKIM verification of any message against any key record: it never
//! panics, looks up at most one key per checked signature, and judges at
//! most `MAX_SIGNATURES`.

use sansmail_auth::dkim::{DkimVerifier, MAX_SIGNATURES, Step};
use sansmail_auth::dns::{Answer, Record};

/// Runs the check on one input; panics when a property fails.
///
/// The input's first line is the key record every lookup gets (so the key
/// record parser is fuzzed too); the rest is the message.
pub fn check(data: &[u8]) {
    let (record, message) = match data.iter().position(|&b| b == b'\n') {
        Some(n) => (&data[..n], &data[n + 1..]),
        None => (
            &b"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="[..],
            data,
        ),
    };
    let mut verifier = DkimVerifier::new(message, 1_800_000_000);
    let mut asked = 0;
    loop {
        match verifier.poll() {
            Step::Lookup(q) => {
                asked += 1;
                assert!(asked <= MAX_SIGNATURES, "more lookups than signatures");
                verifier.answer(q, Answer::records(vec![Record::Txt(record.to_vec())]));
            }
            Step::Done(results) => {
                assert!(results.len() <= MAX_SIGNATURES);
                return;
            }
        }
    }
}
