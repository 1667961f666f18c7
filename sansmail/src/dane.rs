//! DANE for SMTP (RFC 7672, RFC 6698): TLSA records and the certificate
//! check they call for, as a rustls verifier.
//!
//! Only DANE-TA(2) and DANE-EE(3) are usable for SMTP (RFC 7672 §3.1.3);
//! records with other usages, selectors or matching types are ignored.
//! DANE-EE matches the server's own certificate or key, and neither names
//! nor dates are checked (RFC 7672 §3.1.1). DANE-TA matches a certificate
//! the server sends in its chain, which then anchors an ordinary chain
//! check, with the MX host name as the reference identifier.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sansmail_mx::RData;
use sha2::{Digest, Sha256, Sha512};

/// One TLSA record (RFC 6698 §2.1).
#[derive(Clone, PartialEq, Eq)]
pub struct Tlsa {
    /// Certificate usage: 2 DANE-TA, 3 DANE-EE (0 and 1 are not for SMTP).
    pub usage: u8,
    /// 0 the whole certificate, 1 its SubjectPublicKeyInfo.
    pub selector: u8,
    /// 0 exact, 1 SHA-256, 2 SHA-512.
    pub matching: u8,
    /// The certificate association data.
    pub data: Vec<u8>,
}

impl fmt::Debug for Tlsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Tlsa {
    /// The presentation form: `3 1 1 ab12...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} ", self.usage, self.selector, self.matching)?;
        self.data.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl Tlsa {
    /// The TLSA records among DNS records.
    pub fn from_records(records: &[RData]) -> Vec<Tlsa> {
        records
            .iter()
            .filter_map(|r| match r {
                RData::TLSA(t) => Some(Tlsa {
                    usage: t.cert_usage.into(),
                    selector: t.selector.into(),
                    matching: t.matching.into(),
                    data: t.cert_data.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Whether an SMTP client can use this record (RFC 7672 §3.1): usage
    /// DANE-TA or DANE-EE, a known selector and matching type, and data of
    /// the digest's length.
    pub fn is_usable(&self) -> bool {
        let length_ok = match self.matching {
            0 => !self.data.is_empty(),
            1 => self.data.len() == 32,
            2 => self.data.len() == 64,
            _ => false,
        };
        matches!(self.usage, 2 | 3) && self.selector <= 1 && length_ok
    }

    /// Whether `cert` (DER) is what this record names.
    pub fn matches(&self, cert: &CertificateDer<'_>) -> bool {
        let selected = match self.selector {
            0 => cert.as_ref().to_vec(),
            1 => match webpki::EndEntityCert::try_from(cert) {
                Ok(parsed) => parsed.subject_public_key_info().as_ref().to_vec(),
                Err(_) => return false,
            },
            _ => return false,
        };
        match self.matching {
            0 => selected == self.data,
            1 => Sha256::digest(&selected).as_slice() == self.data,
            2 => Sha512::digest(&selected).as_slice() == self.data,
            _ => false,
        }
    }
}

/// A rustls verifier that accepts a server certificate only when one of
/// the usable TLSA records matches it (see the module docs). Handshake
/// signatures are checked as usual.
#[derive(Debug)]
pub struct DaneVerifier {
    records: Vec<Tlsa>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl DaneVerifier {
    /// A verifier for these records; unusable ones are dropped. `None`
    /// when none is usable: DANE then does not apply (RFC 7672 §2.2).
    pub fn new(
        records: Vec<Tlsa>,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> Option<DaneVerifier> {
        let records: Vec<Tlsa> = records.into_iter().filter(Tlsa::is_usable).collect();
        (!records.is_empty()).then_some(DaneVerifier { records, provider })
    }

    /// The usable records it checks against.
    pub fn records(&self) -> &[Tlsa] {
        &self.records
    }

    /// A DANE-TA record's trust anchor in the chain, checked as the root of
    /// an ordinary chain to `end_entity` for `name`.
    fn trust_anchor_accepts(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        now: UnixTime,
    ) -> bool {
        let anchors = self.records.iter().filter(|r| r.usage == 2);
        for record in anchors {
            for candidate in intermediates.iter().filter(|c| record.matches(c)) {
                let mut roots = rustls::RootCertStore::empty();
                if roots.add(candidate.clone().into_owned()).is_err() {
                    continue;
                }
                let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    self.provider.clone(),
                )
                .build();
                let Ok(verifier) = verifier else { continue };
                if verifier
                    .verify_server_cert(end_entity, intermediates, name, &[], now)
                    .is_ok()
                {
                    return true;
                }
            }
        }
        false
    }
}

impl ServerCertVerifier for DaneVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let end_entity_matches = self
            .records
            .iter()
            .any(|r| r.usage == 3 && r.matches(end_entity));
        if end_entity_matches
            || self.trust_anchor_accepts(end_entity, intermediates, server_name, now)
        {
            return Ok(ServerCertVerified::assertion());
        }
        Err(rustls::Error::General(
            "DANE: no TLSA record matches the server's certificate".into(),
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(usage: u8, selector: u8, matching: u8, data: Vec<u8>) -> Tlsa {
        Tlsa {
            usage,
            selector,
            matching,
            data,
        }
    }

    #[test]
    fn only_dane_ta_and_dane_ee_with_known_digests_are_usable() {
        assert!(record(3, 1, 1, vec![0; 32]).is_usable());
        assert!(record(2, 0, 2, vec![0; 64]).is_usable());
        assert!(record(3, 0, 0, vec![1, 2]).is_usable());
        assert!(!record(1, 1, 1, vec![0; 32]).is_usable(), "PKIX-EE");
        assert!(!record(0, 1, 1, vec![0; 32]).is_usable(), "PKIX-TA");
        assert!(!record(3, 2, 1, vec![0; 32]).is_usable(), "selector 2");
        assert!(!record(3, 1, 3, vec![0; 32]).is_usable(), "matching 3");
        assert!(!record(3, 1, 1, vec![0; 31]).is_usable(), "short digest");
        assert!(!record(3, 1, 0, vec![]).is_usable(), "no data");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        assert!(DaneVerifier::new(vec![record(1, 1, 1, vec![0; 32])], provider).is_none());
    }

    #[test]
    fn dane_ee_matches_the_certificate_and_its_key_by_every_digest() {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["mx.example.com".into()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let der = cert.der().clone();
        let spki = key.public_key_der();
        let cases = [
            record(3, 0, 0, der.to_vec()),
            record(3, 0, 1, Sha256::digest(&der).to_vec()),
            record(3, 0, 2, Sha512::digest(&der).to_vec()),
            record(3, 1, 0, spki.clone()),
            record(3, 1, 1, Sha256::digest(&spki).to_vec()),
            record(3, 1, 2, Sha512::digest(&spki).to_vec()),
        ];
        for case in cases {
            assert!(case.matches(&der), "{case}");
            let mut wrong = case.clone();
            *wrong.data.last_mut().unwrap() ^= 1;
            assert!(!wrong.matches(&der), "{wrong}");
        }
        assert_eq!(
            record(3, 1, 1, vec![0xab, 0x01]).to_string(),
            "3 1 1 ab01",
            "presentation form"
        );
    }
}
