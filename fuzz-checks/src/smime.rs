//! S/MIME from any input: verifying and decrypting never panic (they
//! refuse with an error).

use std::sync::OnceLock;

use sansmail_mime::smime::{self, Certificate, Identity, TrustStore};

/// A test identity, made once with `openssl req -x509 -newkey rsa:2048`.
fn identity() -> &'static Identity {
    static IDENTITY: OnceLock<Identity> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        Identity::from_pem(
            include_bytes!("../data/smime-test.pem"),
            include_str!("../data/smime-test.key"),
        )
        .expect("the test identity reads")
    })
}

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let identity = identity();
    let trust = TrustStore::new(vec![identity.certificate().clone()]);
    let _ = smime::verify(data, &trust, 1_800_000_000);
    let _ = smime::decrypt(data, identity);
    let _ = Certificate::from_pem(data);
    let _ = Certificate::from_der(data);
}
