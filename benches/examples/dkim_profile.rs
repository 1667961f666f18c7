//! Our DKIM verification of the small tier's messages, signed first, for
//! counting instructions with callgrind: `dkim_profile (rsa2048|ed25519)
//! ROUNDS` (run once with 0 and subtract: that is the setup and signing).

#[allow(dead_code)] // the SPF half of the shared module is not used here
#[path = "../benches/work/spf.rs"]
mod spf_work;

use std::collections::HashMap;

use sansmail_auth::dkim::{DkimSigner, DkimVerifier, SigningKey, Step};

const RSA_PEM: &str = include_str!("../benches/auth-rsa.pem");
const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINYDwA+8XDw40J7KpNNSOstONYGSaZ5vPWor3UzWXWWW\n-----END PRIVATE KEY-----\n";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let pem = match args.get(1).map(String::as_str) {
        Some("ed25519") => ED25519_PEM,
        _ => RSA_PEM,
    };
    let rounds: usize = args
        .get(2)
        .map_or(1, |r| r.parse().expect("a number of rounds"));
    let key = SigningKey::from_pem(pem).expect("the test key");
    let record = key.public_key_record();
    let signer = DkimSigner::new("example.com", "sel", key);
    let signed: Vec<Vec<u8>> = sansmail_benches::tier("T1-small")
        .iter()
        .filter_map(|m| Some([signer.sign(m, spf_work::NOW).ok()?.as_bytes(), m].concat()))
        .collect();
    let zone = spf_work::Zone(HashMap::from([spf_work::txt(
        "sel._domainkey.example.com",
        &record,
    )]));
    let mut results = 0;
    for _ in 0..rounds {
        for m in &signed {
            let mut v = DkimVerifier::new(m, spf_work::NOW);
            results += loop {
                match v.poll() {
                    Step::Lookup(q) => {
                        let a = zone.answer(&q.name, q.kind);
                        v.answer(q, a);
                    }
                    Step::Done(r) => break r.len(),
                }
            };
        }
    }
    println!("{} messages, {results} results", signed.len());
}
