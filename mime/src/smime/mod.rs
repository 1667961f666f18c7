//! S/MIME (RFC 8551) with RustCrypto's `cms` and `x509-cert`, `rsa` and
//! the AES modes, and `rustls-webpki` for certificate paths (feature
//! `smime`): sign (detached `multipart/signed`, or opaque
//! `application/pkcs7-mime`), verify against a caller-given trust store,
//! encrypt (enveloped-data with AES-256-CBC, or auth-enveloped-data with
//! AES-GCM) to RSA recipients (key transport) and P-256 recipients (ECDH
//! key agreement, RFC 5753), and decrypt all of these (RSA with PKCS #1
//! v1.5 or OAEP). Identities sign with RSA or ECDSA P-256.
//!
//! Messages go in and come out whole, as in [`crate::openpgp`]: envelope
//! fields outside, the content entity protected. Time is the caller's: no
//! clock is read here.

use std::fmt;

use aes::{Aes128, Aes192, Aes256};
use cipher::block_padding::Pkcs7;
use cipher::{BlockDecryptMut, KeyIvInit};
use cms::builder::{
    ContentEncryptionAlgorithm, EnvelopedDataBuilder, KeyEncryptionInfo,
    KeyTransRecipientInfoBuilder, RecipientInfoBuilder, SignedDataBuilder, SignerInfoBuilder,
    create_signing_time_attribute,
};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::ContentInfo;
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, RecipientIdentifier, RecipientInfo,
};
use cms::signed_data::{EncapsulatedContentInfo, SignedData, SignerIdentifier};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::OctetString;
use der::referenced::OwnedToRef;
use der::{Any, Decode, Encode, Tag};
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate as X509;

use crate::protect::{assemble, boundary, crlf, multipart_body, replace_entity, split};
use crate::{Body, Message};

mod ecdh;

/// The content type of AuthEnvelopedData (RFC 5083).
const AUTH_ENVELOPED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.23");
/// id-aes128-GCM and id-aes256-GCM (RFC 5084).
const ID_AES_128_GCM: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.6");
const ID_AES_256_GCM: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.46");
/// The extended key usage for S/MIME (id-kp-emailProtection), DER contents.
const EMAIL_PROTECTION: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04];

/// Why an S/MIME operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmimeError {
    /// Not S/MIME of the kind asked.
    NotSmime(&'static str),
    /// A certificate or key could not be read.
    BadKey(String),
    /// The signature does not match the content, or no certificate for it.
    BadSignature(String),
    /// The signer's certificate does not chain to the trust store (or is
    /// expired, or not for email).
    Untrusted(String),
    /// Not for this key, or damaged.
    CannotDecrypt(String),
    /// An algorithm this module does not handle.
    Unsupported(String),
}

impl fmt::Display for SmimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmimeError::NotSmime(why) => write!(f, "not S/MIME: {why}"),
            SmimeError::BadKey(why) => write!(f, "bad certificate or key: {why}"),
            SmimeError::BadSignature(why) => write!(f, "bad signature: {why}"),
            SmimeError::Untrusted(why) => write!(f, "untrusted signer: {why}"),
            SmimeError::CannotDecrypt(why) => write!(f, "cannot decrypt: {why}"),
            SmimeError::Unsupported(why) => write!(f, "unsupported: {why}"),
        }
    }
}

impl std::error::Error for SmimeError {}

fn bad_key(e: impl fmt::Display) -> SmimeError {
    SmimeError::BadKey(e.to_string())
}

/// A certificate (someone to encrypt to, or a trusted root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    parsed: X509,
}

impl Certificate {
    /// Every certificate in PEM text, in order.
    pub fn from_pem(pem: &[u8]) -> Result<Vec<Certificate>, SmimeError> {
        // x509-cert's chain reader underflows on input that is empty once
        // trailing line breaks go: refuse what holds no certificate first.
        if memchr::memmem::find(pem, b"-----END CERTIFICATE-----").is_none() {
            return Err(SmimeError::BadKey("no PEM certificate".into()));
        }
        let chain = X509::load_pem_chain(pem).map_err(bad_key)?;
        chain
            .into_iter()
            .map(|parsed| {
                let der = parsed.to_der().map_err(bad_key)?;
                Ok(Certificate { der, parsed })
            })
            .collect()
    }

    /// A certificate in DER.
    pub fn from_der(der: &[u8]) -> Result<Certificate, SmimeError> {
        let parsed = X509::from_der(der).map_err(bad_key)?;
        Ok(Certificate {
            der: der.to_vec(),
            parsed,
        })
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject, as text (`CN=Alice,O=Example`).
    pub fn subject(&self) -> String {
        self.parsed.tbs_certificate.subject.to_string()
    }

    fn issuer_and_serial(&self) -> IssuerAndSerialNumber {
        IssuerAndSerialNumber {
            issuer: self.parsed.tbs_certificate.issuer.clone(),
            serial_number: self.parsed.tbs_certificate.serial_number.clone(),
        }
    }

    /// The certificate's key, RSA or P-256.
    fn public_key(&self) -> Result<PublicKey, SmimeError> {
        let spki = &self.parsed.tbs_certificate.subject_public_key_info;
        if let Ok(rsa) = RsaPublicKey::try_from(spki.owned_to_ref()) {
            return Ok(PublicKey::Rsa(rsa));
        }
        p256::PublicKey::try_from(spki.owned_to_ref())
            .map(PublicKey::P256)
            .map_err(|e| SmimeError::Unsupported(format!("keys other than RSA and P-256: {e}")))
    }
}

/// A certificate's public key.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PublicKey {
    Rsa(RsaPublicKey),
    P256(p256::PublicKey),
}

/// An identity's private key.
#[derive(Clone, Debug)]
enum PrivateKey {
    Rsa(Box<RsaPrivateKey>),
    P256(p256::SecretKey),
}

impl PrivateKey {
    fn public(&self) -> PublicKey {
        match self {
            PrivateKey::Rsa(k) => PublicKey::Rsa(RsaPublicKey::from(k.as_ref())),
            PrivateKey::P256(k) => PublicKey::P256(k.public_key()),
        }
    }
}

/// Whom verification trusts: root certificates.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    roots: Vec<Certificate>,
}

impl TrustStore {
    /// Trusts these roots.
    pub fn new(roots: Vec<Certificate>) -> TrustStore {
        TrustStore { roots }
    }
}

/// A signer and decrypter: a certificate (with its chain) and its key
/// (RSA, or P-256 for ECDSA and ECDH).
#[derive(Clone, Debug)]
pub struct Identity {
    chain: Vec<Certificate>,
    key: PrivateKey,
}

impl Identity {
    /// The certificate chain (own first) and a PKCS#8 key, both PEM.
    pub fn from_pem(chain_pem: &[u8], key_pem: &str) -> Result<Identity, SmimeError> {
        let chain = Certificate::from_pem(chain_pem)?;
        if chain.is_empty() {
            return Err(SmimeError::BadKey("no certificate".into()));
        }
        let key = match RsaPrivateKey::from_pkcs8_pem(key_pem) {
            Ok(rsa) => PrivateKey::Rsa(Box::new(rsa)),
            Err(_) => PrivateKey::P256(p256::SecretKey::from_pkcs8_pem(key_pem).map_err(bad_key)?),
        };
        if key.public() != chain[0].public_key()? {
            return Err(SmimeError::BadKey(
                "the key does not belong to the certificate".into(),
            ));
        }
        Ok(Identity { chain, key })
    }

    /// Its own certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.chain[0]
    }
}

/// Who signed a verified message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The signer's certificate.
    pub signer: Certificate,
    /// The signed entity (its `Content-*` fields and body).
    pub entity: Vec<u8>,
}

/// A SignedData over `entity` by `identity`: detached (no content inside)
/// or with the content.
fn signed_data(entity: &[u8], identity: &Identity, detached: bool) -> Result<Vec<u8>, SmimeError> {
    let digest = Sha256::digest(entity);
    let content = EncapsulatedContentInfo {
        econtent_type: rfc5911::ID_DATA,
        econtent: match detached {
            true => None,
            false => Some(
                Any::new(
                    Tag::OctetString,
                    OctetString::new(entity)
                        .map_err(bad_key)?
                        .to_der()
                        .map_err(bad_key)?,
                )
                .map_err(bad_key)?,
            ),
        },
    };
    let sha256 = AlgorithmIdentifierOwned {
        oid: rfc5912::ID_SHA_256,
        parameters: None,
    };
    let sid = SignerIdentifier::IssuerAndSerialNumber(identity.certificate().issuer_and_serial());
    let external = detached.then_some(&digest[..]);
    let mut builder = SignedDataBuilder::new(&content);
    builder
        .add_digest_algorithm(sha256.clone())
        .map_err(bad_key)?;
    for cert in &identity.chain {
        builder
            .add_certificate(CertificateChoices::Certificate(cert.parsed.clone()))
            .map_err(bad_key)?;
    }
    let signing_time = create_signing_time_attribute().map_err(bad_key)?;
    match &identity.key {
        PrivateKey::Rsa(key) => {
            let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.as_ref().clone());
            let mut info = SignerInfoBuilder::new(&signer, sid, sha256, &content, external)
                .map_err(bad_key)?;
            info.add_signed_attribute(signing_time).map_err(bad_key)?;
            builder
                .add_signer_info::<_, rsa::pkcs1v15::Signature>(info)
                .map_err(bad_key)?;
        }
        PrivateKey::P256(key) => {
            let signer = p256::ecdsa::SigningKey::from(key.clone());
            let mut info = SignerInfoBuilder::new(&signer, sid, sha256, &content, external)
                .map_err(bad_key)?;
            info.add_signed_attribute(signing_time).map_err(bad_key)?;
            builder
                .add_signer_info::<_, p256::ecdsa::DerSignature>(info)
                .map_err(bad_key)?;
        }
    }
    builder.build().map_err(bad_key)?.to_der().map_err(bad_key)
}

/// Base64 in lines of 76, CRLF.
fn base64_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    crate::transfer::encode_base64(data, &mut out);
    out
}

/// Signs `raw` (a whole message): `multipart/signed` with an
/// `application/pkcs7-signature` part (RFC 8551 §3.5.3), readable by
/// agents without S/MIME. `random` makes the boundary.
pub fn sign(raw: &[u8], identity: &Identity, random: u128) -> Result<Vec<u8>, SmimeError> {
    let parts = split(raw);
    let der = signed_data(&parts.entity, identity, true)?;
    let mut signature_part = b"Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
        Content-Transfer-Encoding: base64\r\n\
        Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n"
        .to_vec();
    signature_part.extend_from_slice(base64_lines(&der).trim_ascii_end());
    let b = boundary(random, &[&parts.entity]);
    let body = multipart_body(
        &b,
        "This is an S/MIME signed message.",
        &[&parts.entity, &signature_part],
    );
    let content_type = format!(
        "multipart/signed; protocol=\"application/pkcs7-signature\";\r\n micalg=sha-256; boundary=\"{b}\""
    );
    Ok(assemble(&parts.envelope, &content_type, &body))
}

/// Signs `raw` with the content inside the signature: `application/pkcs7-mime;
/// smime-type=signed-data` (RFC 8551 §3.5.2), for paths that would alter
/// a clear-signed entity.
pub fn sign_opaque(raw: &[u8], identity: &Identity) -> Result<Vec<u8>, SmimeError> {
    let parts = split(raw);
    let der = signed_data(&parts.entity, identity, false)?;
    Ok(pkcs7_mime(&parts.envelope, "signed-data", &der))
}

fn pkcs7_mime(envelope: &[u8], smime_type: &str, der: &[u8]) -> Vec<u8> {
    let content_type = format!(
        "application/pkcs7-mime; smime-type={smime_type}; name=\"smime.p7m\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"smime.p7m\""
    );
    assemble(envelope, &content_type, &base64_lines(der))
}

/// Checks a signed message (`multipart/signed` or opaque signed-data) as of
/// `now` (Unix seconds): the signature over the content, and the signer's
/// certificate path to `trust` for email protection.
pub fn verify(raw: &[u8], trust: &TrustStore, now: u64) -> Result<Verified, SmimeError> {
    let message = Message::parse(raw);
    let root = &message.root;
    let ct = &root.content_type;
    let (der, detached_entity) = if ct.kind == "multipart" && ct.subtype == "signed" {
        let protocol = ct.param("protocol").unwrap_or_default();
        let ok = protocol.eq_ignore_ascii_case(b"application/pkcs7-signature")
            || protocol.eq_ignore_ascii_case(b"application/x-pkcs7-signature");
        let Body::Multipart { parts, .. } = &root.body else {
            return Err(SmimeError::NotSmime("no parts"));
        };
        let [signed, signature] = &parts[..] else {
            return Err(SmimeError::NotSmime("multipart/signed needs two parts"));
        };
        if !ok {
            return Err(SmimeError::NotSmime("not application/pkcs7-signature"));
        }
        let entity = raw[signed.header_range.start..signed.body_range.end].to_vec();
        (message.decoded_body(signature).0.into_owned(), Some(entity))
    } else if is_pkcs7_mime(ct) {
        (message.decoded_body(root).0.into_owned(), None)
    } else {
        return Err(SmimeError::NotSmime(
            "neither multipart/signed nor pkcs7-mime",
        ));
    };
    let info = ContentInfo::from_der(&der).map_err(|e| SmimeError::NotSmime(leak(e)))?;
    if info.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(SmimeError::NotSmime("not signed-data"));
    }
    let signed: SignedData = info
        .content
        .decode_as()
        .map_err(|e| SmimeError::BadSignature(e.to_string()))?;
    let entity = match detached_entity {
        Some(entity) => entity,
        None => {
            let content = signed
                .encap_content_info
                .econtent
                .as_ref()
                .ok_or(SmimeError::NotSmime("signed-data without content"))?;
            let octets: OctetString = content
                .decode_as()
                .map_err(|e| SmimeError::BadSignature(e.to_string()))?;
            octets.into_bytes()
        }
    };
    let certs: Vec<Certificate> = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(cert) => {
                let der = cert.to_der().ok()?;
                Some(Certificate {
                    der,
                    parsed: cert.clone(),
                })
            }
            _ => None,
        })
        .collect();
    let mut last = SmimeError::BadSignature("no signer".into());
    for signer_info in signed.signer_infos.0.iter() {
        let SignerIdentifier::IssuerAndSerialNumber(id) = &signer_info.sid else {
            last = SmimeError::Unsupported("signer named by key identifier".into());
            continue;
        };
        let Some(cert) = certs.iter().find(|c| &c.issuer_and_serial() == id) else {
            last = SmimeError::BadSignature("the signer's certificate is not included".into());
            continue;
        };
        match check_signer(signer_info, cert, &entity)
            .and_then(|()| check_path(cert, &certs, trust, now))
        {
            Ok(()) => {
                return Ok(Verified {
                    signer: cert.clone(),
                    entity,
                });
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// `e` as a static description (DER errors for `NotSmime`).
fn leak(_: impl fmt::Display) -> &'static str {
    "the content is not a CMS structure"
}

fn is_pkcs7_mime(ct: &crate::ContentType<'_>) -> bool {
    ct.kind == "application" && (ct.subtype == "pkcs7-mime" || ct.subtype == "x-pkcs7-mime")
}

/// The signature of one SignerInfo over `content`, with `cert`'s key.
fn check_signer(
    info: &cms::signed_data::SignerInfo,
    cert: &Certificate,
    content: &[u8],
) -> Result<(), SmimeError> {
    let digest_oid = info.digest_alg.oid;
    let digest = match digest_oid {
        rfc5912::ID_SHA_256 => Sha256::digest(content).to_vec(),
        rfc5912::ID_SHA_384 => Sha384::digest(content).to_vec(),
        rfc5912::ID_SHA_512 => Sha512::digest(content).to_vec(),
        other => return Err(SmimeError::Unsupported(format!("digest {other}"))),
    };
    let signed_bytes = match &info.signed_attrs {
        Some(attrs) => {
            let given = attrs
                .iter()
                .find(|a| a.oid == rfc5911::ID_MESSAGE_DIGEST)
                .and_then(|a| a.values.iter().next())
                .and_then(|v| v.decode_as::<OctetString>().ok())
                .ok_or_else(|| SmimeError::BadSignature("no message-digest attribute".into()))?;
            if given.as_bytes() != digest.as_slice() {
                return Err(SmimeError::BadSignature(
                    "the content does not match its digest".into(),
                ));
            }
            attrs
                .to_der()
                .map_err(|e| SmimeError::BadSignature(e.to_string()))?
        }
        None => content.to_vec(),
    };
    let algorithm: &dyn rustls_pki_types::SignatureVerificationAlgorithm =
        match (info.signature_algorithm.oid, digest_oid) {
            (rfc5912::SHA_256_WITH_RSA_ENCRYPTION, _)
            | (rfc5912::RSA_ENCRYPTION, rfc5912::ID_SHA_256) => {
                webpki::ring::RSA_PKCS1_2048_8192_SHA256
            }
            (rfc5912::SHA_384_WITH_RSA_ENCRYPTION, _)
            | (rfc5912::RSA_ENCRYPTION, rfc5912::ID_SHA_384) => {
                webpki::ring::RSA_PKCS1_2048_8192_SHA384
            }
            (rfc5912::SHA_512_WITH_RSA_ENCRYPTION, _)
            | (rfc5912::RSA_ENCRYPTION, rfc5912::ID_SHA_512) => {
                webpki::ring::RSA_PKCS1_2048_8192_SHA512
            }
            (rfc5912::ECDSA_WITH_SHA_256, _) => webpki::ring::ECDSA_P256_SHA256,
            (rfc5912::ECDSA_WITH_SHA_384, _) => webpki::ring::ECDSA_P384_SHA384,
            (other, _) => return Err(SmimeError::Unsupported(format!("signature {other}"))),
        };
    let der = rustls_pki_types::CertificateDer::from(cert.der.as_slice());
    let end_entity =
        webpki::EndEntityCert::try_from(&der).map_err(|e| SmimeError::BadKey(e.to_string()))?;
    end_entity
        .verify_signature(algorithm, &signed_bytes, info.signature.as_bytes())
        .map_err(|e| SmimeError::BadSignature(format!("{e:?}")))
}

/// `cert`'s path to a root of `trust`, through `others`, valid at `now`
/// for email protection (when the certificate names usages at all).
fn check_path(
    cert: &Certificate,
    others: &[Certificate],
    trust: &TrustStore,
    now: u64,
) -> Result<(), SmimeError> {
    let anchors: Vec<rustls_pki_types::TrustAnchor<'_>> = trust
        .roots
        .iter()
        .filter_map(|r| {
            let der = rustls_pki_types::CertificateDer::from(r.der.as_slice());
            webpki::anchor_from_trusted_cert(&der)
                .ok()
                .map(|a| a.to_owned())
        })
        .collect();
    let intermediates: Vec<rustls_pki_types::CertificateDer<'_>> = others
        .iter()
        .filter(|c| c.der != cert.der)
        .map(|c| rustls_pki_types::CertificateDer::from(c.der.as_slice()))
        .collect();
    let der = rustls_pki_types::CertificateDer::from(cert.der.as_slice());
    let end_entity =
        webpki::EndEntityCert::try_from(&der).map_err(|e| SmimeError::BadKey(e.to_string()))?;
    end_entity
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &intermediates,
            rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(now)),
            webpki::KeyUsage::required_if_present(EMAIL_PROTECTION),
            None,
            None,
        )
        .map(|_| ())
        .map_err(|e| SmimeError::Untrusted(format!("{e:?}")))
}

impl crate::builder::MessageBuilder<'_> {
    /// The message written (`random` makes its boundaries and id) and
    /// clear-signed with S/MIME: see [`sign`].
    pub fn sign_smime(&self, identity: &Identity, random: u64) -> Result<Vec<u8>, SmimeError> {
        sign(&self.to_vec(random), identity, u128::from(random))
    }

    /// The message written and encrypted with S/MIME: see [`encrypt`].
    pub fn encrypt_smime(
        &self,
        recipients: &[Certificate],
        cipher: ContentCipher,
        random: u64,
    ) -> Result<Vec<u8>, SmimeError> {
        encrypt(&self.to_vec(random), recipients, cipher)
    }
}

/// How the content is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentCipher {
    /// AES-256-CBC in enveloped-data: what every S/MIME agent reads.
    Aes256Cbc,
    /// AES-128-GCM in auth-enveloped-data (RFC 5083, 5084).
    Aes128Gcm,
    /// AES-256-GCM in auth-enveloped-data: authenticated, as RFC 8551
    /// prefers; older agents cannot read it.
    Aes256Gcm,
}

/// Encrypts `raw` (a whole message) to `recipients` (add the sender's own
/// certificate to keep a readable copy) with RSA key transport:
/// `application/pkcs7-mime`, `smime-type=enveloped-data` for CBC and
/// `authEnveloped-data` for GCM.
pub fn encrypt(
    raw: &[u8],
    recipients: &[Certificate],
    cipher: ContentCipher,
) -> Result<Vec<u8>, SmimeError> {
    let parts = split(raw);
    let (content_type, content, smime_type) = match cipher {
        ContentCipher::Aes256Cbc => (
            rfc5911::ID_ENVELOPED_DATA,
            Any::encode_from(&enveloped_cbc(&parts.entity, recipients)?).map_err(bad_key)?,
            "enveloped-data",
        ),
        ContentCipher::Aes128Gcm | ContentCipher::Aes256Gcm => (
            AUTH_ENVELOPED_DATA,
            Any::encode_from(&sealed_gcm(&parts.entity, recipients, cipher)?).map_err(bad_key)?,
            "authEnveloped-data",
        ),
    };
    let der = ContentInfo {
        content_type,
        content,
    }
    .to_der()
    .map_err(bad_key)?;
    Ok(pkcs7_mime(&parts.envelope, smime_type, &der))
}

/// One RecipientInfo per recipient, each carrying `key`.
fn key_transport(recipients: &[Certificate], key: &[u8]) -> Result<Vec<RecipientInfo>, SmimeError> {
    let mut rngs: Vec<rand::rngs::OsRng> = recipients.iter().map(|_| rand::rngs::OsRng).collect();
    recipient_builders(recipients, &mut rngs)?
        .iter_mut()
        .map(|b| b.build(key).map_err(bad_key))
        .collect()
}

/// How one recipient gets the key, by its certificate's key.
enum Recipient<'r> {
    /// RSA key transport (PKCS #1 v1.5).
    Rsa(KeyTransRecipientInfoBuilder<'r, rand::rngs::OsRng>),
    /// ECDH key agreement.
    Ecdh(ecdh::EcdhRecipient),
}

impl RecipientInfoBuilder for Recipient<'_> {
    fn recipient_info_type(&self) -> cms::builder::RecipientInfoType {
        match self {
            Recipient::Rsa(b) => b.recipient_info_type(),
            Recipient::Ecdh(b) => b.recipient_info_type(),
        }
    }

    fn recipient_info_version(&self) -> cms::content_info::CmsVersion {
        match self {
            Recipient::Rsa(b) => b.recipient_info_version(),
            Recipient::Ecdh(b) => b.recipient_info_version(),
        }
    }

    fn build(&mut self, key: &[u8]) -> Result<RecipientInfo, cms::builder::Error> {
        match self {
            Recipient::Rsa(b) => b.build(key),
            Recipient::Ecdh(b) => b.build(key),
        }
    }
}

/// One builder per recipient; `rngs` has one generator per recipient.
fn recipient_builders<'r>(
    recipients: &[Certificate],
    rngs: &'r mut [rand::rngs::OsRng],
) -> Result<Vec<Recipient<'r>>, SmimeError> {
    recipients
        .iter()
        .zip(rngs.iter_mut())
        .map(|(recipient, rng)| match recipient.public_key()? {
            PublicKey::Rsa(rsa) => {
                let rid = RecipientIdentifier::IssuerAndSerialNumber(recipient.issuer_and_serial());
                KeyTransRecipientInfoBuilder::new(rid, KeyEncryptionInfo::Rsa(rsa), rng)
                    .map(Recipient::Rsa)
                    .map_err(bad_key)
            }
            PublicKey::P256(public) => Ok(Recipient::Ecdh(ecdh::EcdhRecipient {
                rid: recipient.issuer_and_serial(),
                public,
            })),
        })
        .collect()
}

fn enveloped_cbc(entity: &[u8], recipients: &[Certificate]) -> Result<EnvelopedData, SmimeError> {
    let mut rng = rand::rngs::OsRng;
    // One generator per recipient builder, each borrowed until the build.
    let mut rngs: Vec<rand::rngs::OsRng> = recipients.iter().map(|_| rand::rngs::OsRng).collect();
    let builders = recipient_builders(recipients, &mut rngs)?;
    let mut envelope =
        EnvelopedDataBuilder::new(None, entity, ContentEncryptionAlgorithm::Aes256Cbc, None)
            .map_err(bad_key)?;
    for builder in builders {
        envelope.add_recipient_info(builder).map_err(bad_key)?;
    }
    envelope.build_with_rng(&mut rng).map_err(bad_key)
}

/// AuthEnvelopedData with AES-GCM: a fresh key and 12-octet nonce, a
/// 16-octet tag, no authenticated attributes.
fn sealed_gcm(
    entity: &[u8],
    recipients: &[Certificate],
    cipher: ContentCipher,
) -> Result<AuthEnvelopedData, SmimeError> {
    use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
    use aes_gcm::{Aes128Gcm, Aes256Gcm};
    let (key, nonce, sealed, oid) = match cipher {
        ContentCipher::Aes128Gcm => {
            let key = Aes128Gcm::generate_key(OsRng);
            let nonce = Aes128Gcm::generate_nonce(OsRng);
            let sealed = Aes128Gcm::new(&key).encrypt(&nonce, entity);
            (key.to_vec(), nonce.to_vec(), sealed, ID_AES_128_GCM)
        }
        _ => {
            let key = Aes256Gcm::generate_key(OsRng);
            let nonce = Aes256Gcm::generate_nonce(OsRng);
            let sealed = Aes256Gcm::new(&key).encrypt(&nonce, entity);
            (key.to_vec(), nonce.to_vec(), sealed, ID_AES_256_GCM)
        }
    };
    let mut sealed = sealed.map_err(|_| SmimeError::BadKey("AES-GCM failed".into()))?;
    let mac = sealed.split_off(sealed.len() - 16);
    let params = GcmParameters {
        nonce: OctetString::new(nonce).map_err(bad_key)?,
        icv_len: 16,
    };
    let infos = key_transport(recipients, &key)?;
    Ok(AuthEnvelopedData {
        version: cms::content_info::CmsVersion::V0,
        originator_info: None,
        recip_infos: cms::enveloped_data::RecipientInfos::try_from(infos).map_err(bad_key)?,
        auth_encrypted_content: EncryptedContentInfo {
            content_type: rfc5911::ID_DATA,
            content_enc_alg: AlgorithmIdentifierOwned {
                oid,
                parameters: Some(Any::encode_from(&params).map_err(bad_key)?),
            },
            encrypted_content: Some(OctetString::new(sealed).map_err(bad_key)?),
        },
        auth_attrs: None,
        mac: OctetString::new(mac).map_err(bad_key)?,
    })
}

/// Decrypts an `application/pkcs7-mime` enveloped message with `identity`:
/// the message with the decrypted entity in place (check it with
/// [`verify`] when it is signed).
pub fn decrypt(raw: &[u8], identity: &Identity) -> Result<Vec<u8>, SmimeError> {
    let message = Message::parse(raw);
    if !is_pkcs7_mime(&message.root.content_type) {
        return Err(SmimeError::NotSmime("not application/pkcs7-mime"));
    }
    let (der, _) = message.decoded_body(&message.root);
    let info = ContentInfo::from_der(&der).map_err(|e| SmimeError::NotSmime(leak(e)))?;
    let fail = |e: der::Error| SmimeError::CannotDecrypt(e.to_string());
    let entity = if info.content_type == rfc5911::ID_ENVELOPED_DATA {
        let enveloped: EnvelopedData = info.content.decode_as().map_err(fail)?;
        let key = content_key(enveloped.recip_infos.0.iter(), identity)?;
        decrypt_cbc(&enveloped.encrypted_content, &key)?
    } else if info.content_type == AUTH_ENVELOPED_DATA {
        let sealed: AuthEnvelopedData = info.content.decode_as().map_err(fail)?;
        let key = content_key(sealed.recip_infos.0.iter(), identity)?;
        decrypt_gcm(&sealed, &key)?
    } else {
        return Err(SmimeError::NotSmime("not enveloped-data"));
    };
    let envelope = split(raw).envelope;
    Ok(replace_entity(&envelope, &crlf(&entity)))
}

/// The content-encryption key from the RecipientInfo meant for `identity`.
fn content_key<'r>(
    infos: impl Iterator<Item = &'r RecipientInfo>,
    identity: &Identity,
) -> Result<Vec<u8>, SmimeError> {
    let ours = identity.certificate().issuer_and_serial();
    for info in infos {
        let (RecipientInfo::Ktri(ktri), PrivateKey::Rsa(rsa)) = (info, &identity.key) else {
            if let (RecipientInfo::Kari(kari), PrivateKey::P256(secret)) = (info, &identity.key)
                && let Some(key) = ecdh::unwrap(kari, &ours, secret)?
            {
                return Ok(key);
            }
            continue;
        };
        if let RecipientIdentifier::IssuerAndSerialNumber(id) = &ktri.rid
            && id != &ours
        {
            continue;
        }
        let encrypted = ktri.enc_key.as_bytes();
        let key = match ktri.key_enc_alg.oid {
            rfc5912::RSA_ENCRYPTION => rsa.decrypt(Pkcs1v15Encrypt, encrypted),
            rfc5912::ID_RSAES_OAEP => rsa.decrypt(rsa::Oaep::new::<sha1::Sha1>(), encrypted),
            other => return Err(SmimeError::Unsupported(format!("key transport {other}"))),
        };
        return key.map_err(|e| SmimeError::CannotDecrypt(e.to_string()));
    }
    Err(SmimeError::CannotDecrypt(
        "no recipient info for this certificate".into(),
    ))
}

fn decrypt_cbc(content: &EncryptedContentInfo, key: &[u8]) -> Result<Vec<u8>, SmimeError> {
    let iv: OctetString = content
        .content_enc_alg
        .parameters
        .as_ref()
        .ok_or_else(|| SmimeError::CannotDecrypt("no IV".into()))?
        .decode_as()
        .map_err(|e| SmimeError::CannotDecrypt(e.to_string()))?;
    let data = content
        .encrypted_content
        .as_ref()
        .ok_or_else(|| SmimeError::CannotDecrypt("no content".into()))?
        .as_bytes();
    let iv = iv.as_bytes();
    let bad = |_| SmimeError::CannotDecrypt("wrong key or damaged content".into());
    let bad_len = |_| SmimeError::CannotDecrypt("bad key or IV length".into());
    match content.content_enc_alg.oid {
        rfc5911::ID_AES_128_CBC => cbc::Decryptor::<Aes128>::new_from_slices(key, iv)
            .map_err(bad_len)?
            .decrypt_padded_vec_mut::<Pkcs7>(data)
            .map_err(bad),
        rfc5911::ID_AES_192_CBC => cbc::Decryptor::<Aes192>::new_from_slices(key, iv)
            .map_err(bad_len)?
            .decrypt_padded_vec_mut::<Pkcs7>(data)
            .map_err(bad),
        rfc5911::ID_AES_256_CBC => cbc::Decryptor::<Aes256>::new_from_slices(key, iv)
            .map_err(bad_len)?
            .decrypt_padded_vec_mut::<Pkcs7>(data)
            .map_err(bad),
        other => Err(SmimeError::Unsupported(format!("content cipher {other}"))),
    }
}

/// AuthEnvelopedData (RFC 5083), as far as decryption needs it.
#[derive(Clone, Debug, der::Sequence)]
struct AuthEnvelopedData {
    version: cms::content_info::CmsVersion,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    originator_info: Option<cms::enveloped_data::OriginatorInfo>,
    recip_infos: cms::enveloped_data::RecipientInfos,
    auth_encrypted_content: EncryptedContentInfo,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    auth_attrs: Option<x509_cert::attr::Attributes>,
    mac: OctetString,
}

/// GCMParameters (RFC 5084).
#[derive(Clone, Debug, der::Sequence)]
struct GcmParameters {
    nonce: OctetString,
    #[asn1(default = "default_icv_len")]
    icv_len: u8,
}

fn default_icv_len() -> u8 {
    12
}

fn decrypt_gcm(sealed: &AuthEnvelopedData, key: &[u8]) -> Result<Vec<u8>, SmimeError> {
    use aes_gcm::aead::{Aead, Payload};
    use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit, Nonce};
    let content = &sealed.auth_encrypted_content;
    let params: GcmParameters = content
        .content_enc_alg
        .parameters
        .as_ref()
        .ok_or_else(|| SmimeError::CannotDecrypt("no GCM parameters".into()))?
        .decode_as()
        .map_err(|e| SmimeError::CannotDecrypt(e.to_string()))?;
    if params.nonce.as_bytes().len() != 12 || params.icv_len != 16 {
        return Err(SmimeError::Unsupported(
            "GCM with other than a 12-octet nonce and a 16-octet tag".into(),
        ));
    }
    let aad = match &sealed.auth_attrs {
        Some(attrs) => attrs
            .to_der()
            .map_err(|e| SmimeError::CannotDecrypt(e.to_string()))?,
        None => Vec::new(),
    };
    let mut data = content
        .encrypted_content
        .as_ref()
        .ok_or_else(|| SmimeError::CannotDecrypt("no content".into()))?
        .as_bytes()
        .to_vec();
    data.extend_from_slice(sealed.mac.as_bytes());
    let nonce = Nonce::from_slice(params.nonce.as_bytes());
    let payload = Payload {
        msg: &data,
        aad: &aad,
    };
    let bad = |_| SmimeError::CannotDecrypt("wrong key or damaged content".into());
    match content.content_enc_alg.oid {
        ID_AES_128_GCM => Aes128Gcm::new_from_slice(key)
            .map_err(|_| SmimeError::CannotDecrypt("bad key length".into()))?
            .decrypt(nonce, payload)
            .map_err(bad),
        ID_AES_256_GCM => Aes256Gcm::new_from_slice(key)
            .map_err(|_| SmimeError::CannotDecrypt("bad key length".into()))?
            .decrypt(nonce, payload)
            .map_err(bad),
        other => Err(SmimeError::Unsupported(format!("content cipher {other}"))),
    }
}
