//! DANE (RFC 7672): the TLSA record that publishes the server's key, so
//! senders that validate DNSSEC can insist on it: `3 1 1`, DANE-EE of the
//! certificate's public key (SubjectPublicKeyInfo), SHA-256.

use sha2::{Digest, Sha256};

/// The TLSA record for `host`'s SMTP service on `port`, from the private
/// key the server's certificate is for (`key_pem`, PKCS#8).
pub fn tlsa_record(key_pem: &str, host: &str, port: u16) -> Result<String, String> {
    let key = rcgen::KeyPair::from_pem(key_pem).map_err(|e| e.to_string())?;
    let digest = Sha256::digest(key.public_key_der());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let host = host.trim_end_matches('.');
    Ok(format!("_{port}._tcp.{host}. IN TLSA 3 1 1 {hex}"))
}
