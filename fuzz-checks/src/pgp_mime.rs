//! PGP/MIME and Autocrypt from any input: verifying and decrypting never
//! panic (they refuse), and an Autocrypt header that parses is written
//! back as one that parses to the same value.

use std::sync::OnceLock;

use sansmail_mime::openpgp::{self, Autocrypt, SecretKey};

/// A fixed test key (made with GnuPG), so kept inputs encrypted to it
/// reach the decrypted content.
fn key() -> &'static SecretKey {
    static KEY: OnceLock<SecretKey> = OnceLock::new();
    KEY.get_or_init(|| {
        SecretKey::parse(include_bytes!("../data/pgp-test.asc")).expect("the test key reads")
    })
}

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let key = key();
    let _ = openpgp::verify(data, &[key.public()]);
    let _ = openpgp::decrypt(data, key);
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(header) = Autocrypt::parse(text)
    {
        let unfolded = header.to_string().replace("\r\n", "");
        assert_eq!(Autocrypt::parse(&unfolded), Some(header));
    }
}
