//! DANE (RFC 7672): the TLSA record that publishes the server's key, so
//! senders that validate DNSSEC can insist on it: `3 1 1`, DANE-EE of the
//! certificate's public key (SubjectPublicKeyInfo), SHA-256.

use sha2::{Digest, Sha256};

/// The TLSA record for `host`'s SMTP service on `port`, from the first
/// certificate of `cert_pem` (the server's own, first in its chain).
pub fn tlsa_record(cert_pem: &str, host: &str, port: u16) -> Result<String, String> {
    let der = first_certificate(cert_pem).ok_or("no certificate in the PEM text")?;
    let spki = subject_public_key_info(&der).ok_or("the certificate is not X.509 DER")?;
    let digest = Sha256::digest(spki);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let host = host.trim_end_matches('.');
    Ok(format!("_{port}._tcp.{host}. IN TLSA 3 1 1 {hex}"))
}

/// The DER of the first `CERTIFICATE` block.
fn first_certificate(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN CERTIFICATE-----")?;
    let body = &pem[start + "-----BEGIN CERTIFICATE-----".len()..];
    let end = body.find("-----END CERTIFICATE-----")?;
    let text: String = body[..end].split_whitespace().collect();
    let mut der = Vec::new();
    sansmail_mime::transfer::decode_base64(text.as_bytes(), &mut der);
    Some(der)
}

/// The SubjectPublicKeyInfo element (tag and length included) of an X.509
/// certificate: the seventh field of tbsCertificate, or the sixth when the
/// optional version is absent.
fn subject_public_key_info(cert: &[u8]) -> Option<&[u8]> {
    let (certificate, _) = element(cert)?;
    let (tbs, _) = element(content(certificate)?)?;
    let mut rest = content(tbs)?;
    // [0] EXPLICIT version, when present.
    if rest.first() == Some(&0xa0) {
        rest = element(rest)?.1;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        rest = element(rest)?.1;
    }
    let (spki, _) = element(rest)?;
    (spki.first() == Some(&0x30)).then_some(spki)
}

/// The first DER element of `b` (whole) and what follows it.
fn element(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let first = *b.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = len << 8 | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((b.get(..end)?, b.get(end..)?))
}

/// The content of a whole DER element.
fn content(element: &[u8]) -> Option<&[u8]> {
    let first = *element.get(1)?;
    let header = if first < 0x80 {
        2
    } else {
        2 + usize::from(first & 0x7f)
    };
    element.get(header..)
}
