//! PGP/MIME (RFC 3156) with OpenPGP (RFC 9580) from the `pgp` crate
//! (feature `openpgp`): sign a message (`multipart/signed`), verify it,
//! encrypt it (`multipart/encrypted`, signed inside when asked) and
//! decrypt it; and the `Autocrypt` header field that carries a sender's
//! key to its correspondents.
//!
//! Messages go in and come out whole (RFC 5322, CRLF): the envelope fields
//! (From, To, Subject, ...) stay outside, the content entity (the
//! `Content-*` fields and the body) is what gets signed or encrypted. Sign
//! only 7-bit content (quoted-printable or base64 as the builder writes):
//! a server that converts 8-bit text would break the signature.
//!
//! ```
//! use sansmail_mime::openpgp::{self, SecretKey};
//!
//! let alice = SecretKey::generate("Alice <alice@example.com>")?;
//! let raw = b"From: alice@example.com\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nhello\r\n";
//! let signed = openpgp::sign(raw, &alice, 1)?;
//! let verified = openpgp::verify(&signed, &[alice.public()])?;
//! assert_eq!(verified.fingerprint, alice.public().fingerprint());
//! # Ok::<(), openpgp::PgpError>(())
//! ```

use std::fmt;

use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, EncryptionCaps, KeyType,
    Message as PgpMessage, MessageBuilder, SecretKeyParamsBuilder, SignedPublicKey,
    SignedSecretKey, SubkeyParamsBuilder,
};
use pgp::crypto::ecc_curve::ECCCurve;
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::ser::Serialize;
use pgp::types::{KeyDetails, Password};

use crate::protect::{assemble, boundary, multipart_body, replace_entity, split};
use crate::{Body, Message};

/// Why an OpenPGP operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgpError {
    /// The message is not PGP/MIME of the kind asked (not `multipart/signed`
    /// with `application/pgp-signature`, or not `multipart/encrypted`).
    NotPgpMime(&'static str),
    /// No given key made or checks the signature.
    BadSignature,
    /// None of the given keys can decrypt it, or it is damaged.
    CannotDecrypt(String),
    /// A key has no part fit for the job (no encryption subkey).
    UnusableKey(String),
    /// What the `pgp` crate said.
    Pgp(String),
}

impl fmt::Display for PgpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgpError::NotPgpMime(why) => write!(f, "not PGP/MIME: {why}"),
            PgpError::BadSignature => f.write_str("no given key verifies the signature"),
            PgpError::CannotDecrypt(why) => write!(f, "cannot decrypt: {why}"),
            PgpError::UnusableKey(why) => write!(f, "unusable key: {why}"),
            PgpError::Pgp(why) => write!(f, "OpenPGP: {why}"),
        }
    }
}

impl std::error::Error for PgpError {}

fn pgp_error(e: impl fmt::Display) -> PgpError {
    PgpError::Pgp(e.to_string())
}

/// A certificate: a public key with its user ids and subkeys.
#[derive(Clone, Debug)]
pub struct PublicKey(SignedPublicKey);

/// A secret key with its subkeys (not passphrase-protected).
#[derive(Clone, Debug)]
pub struct SecretKey(SignedSecretKey);

impl PublicKey {
    /// Reads an armored (`-----BEGIN PGP PUBLIC KEY BLOCK-----`) or binary
    /// certificate and checks its self-signatures.
    pub fn parse(input: &[u8]) -> Result<PublicKey, PgpError> {
        let (key, _) = SignedPublicKey::from_reader_single(input).map_err(pgp_error)?;
        key.verify_bindings().map_err(pgp_error)?;
        Ok(PublicKey(key))
    }

    /// The primary key's fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> String {
        format!("{:X}", self.0.fingerprint())
    }

    /// The certificate, armored.
    pub fn to_armored(&self) -> String {
        self.0
            .to_armored_string(ArmorOptions::default())
            .expect("a parsed key serialises")
    }

    /// The certificate, binary (as Autocrypt's `keydata` carries it).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().expect("a parsed key serialises")
    }

    /// Whether `signature` over `data` is this key's (primary or a subkey).
    fn verifies(&self, signature: &DetachedSignature, data: &[u8]) -> bool {
        signature.verify(&self.0, data).is_ok()
            || self
                .0
                .public_subkeys
                .iter()
                .any(|sub| signature.verify(sub, data).is_ok())
    }
}

impl SecretKey {
    /// Reads an armored or binary secret key and checks its self-signatures.
    pub fn parse(input: &[u8]) -> Result<SecretKey, PgpError> {
        let (key, _) = SignedSecretKey::from_reader_single(input).map_err(pgp_error)?;
        key.verify_bindings().map_err(pgp_error)?;
        Ok(SecretKey(key))
    }

    /// A new key for `user_id` (`Name <address>`): Ed25519 to sign and
    /// certify, with an X25519 subkey to encrypt to, as GnuPG makes them.
    pub fn generate(user_id: &str) -> Result<SecretKey, PgpError> {
        let mut encrypt = SubkeyParamsBuilder::default();
        encrypt
            .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
            .can_sign(false)
            .can_encrypt(EncryptionCaps::All)
            .can_authenticate(false);
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .can_encrypt(EncryptionCaps::None)
            .primary_user_id(user_id.into())
            .subkeys(vec![encrypt.build().map_err(pgp_error)?]);
        let params = params.build().map_err(pgp_error)?;
        let key = params.generate(rand::thread_rng()).map_err(pgp_error)?;
        Ok(SecretKey(key))
    }

    /// Its certificate.
    pub fn public(&self) -> PublicKey {
        PublicKey(SignedPublicKey::from(self.0.clone()))
    }

    /// The key, armored (`-----BEGIN PGP PRIVATE KEY BLOCK-----`).
    pub fn to_armored(&self) -> String {
        self.0
            .to_armored_string(ArmorOptions::default())
            .expect("a parsed key serialises")
    }
}

/// Who signed a verified message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The fingerprint of the certificate whose key made the signature.
    pub fingerprint: String,
    /// The signed entity as it was signed (its `Content-*` fields and body).
    pub entity: Vec<u8>,
}

/// Signs `raw` (a whole message) with `key`: the message comes back as
/// `multipart/signed` (RFC 3156 §5), its envelope fields outside.
/// `random` makes the boundary.
pub fn sign(raw: &[u8], key: &SecretKey, random: u128) -> Result<Vec<u8>, PgpError> {
    let parts = split(raw);
    let signature = detached_signature(&parts.entity, key)?;
    let signature_part = format!(
        "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n\
         Content-Description: OpenPGP digital signature\r\n\
         Content-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n{signature}"
    );
    let b = boundary(random, &[&parts.entity]);
    let body = multipart_body(
        &b,
        "This is an OpenPGP/MIME signed message (RFC 3156).",
        &[&parts.entity, signature_part.trim_end().as_bytes()],
    );
    let content_type = format!(
        "multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\"; boundary=\"{b}\""
    );
    Ok(assemble(&parts.envelope, &content_type, &body))
}

/// An armored detached signature over `data`.
fn detached_signature(data: &[u8], key: &SecretKey) -> Result<String, PgpError> {
    let signature = DetachedSignature::sign_binary_data(
        rand::thread_rng(),
        &key.0.primary_key,
        &Password::empty(),
        HashAlgorithm::Sha256,
        data,
    )
    .map_err(pgp_error)?;
    let armored = signature
        .to_armored_string(ArmorOptions::default())
        .map_err(pgp_error)?;
    Ok(crate::protect::crlf(armored.as_bytes())
        .into_iter()
        .map(char::from)
        .collect())
}

/// Checks a `multipart/signed` message against `keys`: who signed it and
/// what was signed.
pub fn verify(raw: &[u8], keys: &[PublicKey]) -> Result<Verified, PgpError> {
    let message = Message::parse(raw);
    let root = &message.root;
    let protocol = root.content_type.param("protocol").unwrap_or_default();
    if root.content_type.kind != "multipart"
        || root.content_type.subtype != "signed"
        || !protocol.eq_ignore_ascii_case(b"application/pgp-signature")
    {
        return Err(PgpError::NotPgpMime(
            "not multipart/signed with application/pgp-signature",
        ));
    }
    let Body::Multipart { parts, .. } = &root.body else {
        return Err(PgpError::NotPgpMime("no parts"));
    };
    let [signed, signature] = &parts[..] else {
        return Err(PgpError::NotPgpMime(
            "multipart/signed needs exactly two parts",
        ));
    };
    let entity = &raw[signed.header_range.start..signed.body_range.end];
    let (armored, _) = message.decoded_body(signature);
    let (signature, _) = DetachedSignature::from_reader_single(&armored[..])
        .map_err(|_| PgpError::NotPgpMime("the second part is not an OpenPGP signature"))?;
    let signer = keys
        .iter()
        .find(|k| k.verifies(&signature, entity))
        .ok_or(PgpError::BadSignature)?;
    Ok(Verified {
        fingerprint: signer.fingerprint(),
        entity: entity.to_vec(),
    })
}

/// Encrypts `raw` (a whole message) to every key of `recipients` (include
/// the sender's own to keep a readable copy), signed first by `signer`
/// when given: `multipart/encrypted` (RFC 3156 §4), envelope fields outside.
pub fn encrypt(
    raw: &[u8],
    recipients: &[PublicKey],
    signer: Option<&SecretKey>,
    random: u128,
) -> Result<Vec<u8>, PgpError> {
    let parts = split(raw);
    let entity = match signer {
        // RFC 3156 §6.1: the signed multipart is what gets encrypted.
        Some(key) => split(&sign(raw, key, random ^ 0x5a5a)?).entity,
        None => parts.entity,
    };
    let mut builder = MessageBuilder::from_bytes("", entity)
        .seipd_v1(rand::thread_rng(), SymmetricKeyAlgorithm::AES256);
    for recipient in recipients {
        let subkey = recipient
            .0
            .public_subkeys
            .iter()
            .find(|s| s.algorithm().can_encrypt())
            .ok_or_else(|| {
                PgpError::UnusableKey(format!(
                    "{} has no encryption subkey",
                    recipient.fingerprint()
                ))
            })?;
        builder
            .encrypt_to_key(rand::thread_rng(), subkey)
            .map_err(pgp_error)?;
    }
    let armored = builder
        .to_armored_string(rand::thread_rng(), ArmorOptions::default())
        .map_err(pgp_error)?;
    let armored = crate::protect::crlf(armored.trim_end().as_bytes());
    let mut encrypted_part = b"Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\
         Content-Description: OpenPGP encrypted message\r\n\
         Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n"
        .to_vec();
    encrypted_part.extend_from_slice(&armored);
    let version_part: &[u8] = b"Content-Type: application/pgp-encrypted\r\n\
        Content-Description: PGP/MIME version identification\r\n\r\nVersion: 1";
    let b = boundary(random, &[&encrypted_part]);
    let body = multipart_body(
        &b,
        "This is an OpenPGP/MIME encrypted message (RFC 3156).",
        &[version_part, &encrypted_part],
    );
    let content_type = format!(
        "multipart/encrypted;\r\n protocol=\"application/pgp-encrypted\"; boundary=\"{b}\""
    );
    Ok(assemble(&parts.envelope, &content_type, &body))
}

/// Decrypts a `multipart/encrypted` message with `key`: the message with
/// the decrypted entity in place (which may be `multipart/signed`: check
/// it with [`verify`]).
pub fn decrypt(raw: &[u8], key: &SecretKey) -> Result<Vec<u8>, PgpError> {
    let message = Message::parse(raw);
    let root = &message.root;
    let protocol = root.content_type.param("protocol").unwrap_or_default();
    if root.content_type.kind != "multipart"
        || root.content_type.subtype != "encrypted"
        || !protocol.eq_ignore_ascii_case(b"application/pgp-encrypted")
    {
        return Err(PgpError::NotPgpMime(
            "not multipart/encrypted with application/pgp-encrypted",
        ));
    }
    let Body::Multipart { parts, .. } = &root.body else {
        return Err(PgpError::NotPgpMime("no parts"));
    };
    let Some(encrypted) = parts.get(1) else {
        return Err(PgpError::NotPgpMime("multipart/encrypted needs two parts"));
    };
    let (armored, _) = message.decoded_body(encrypted);
    let (pgp_message, _) =
        PgpMessage::from_armor(&armored[..]).map_err(|e| PgpError::CannotDecrypt(e.to_string()))?;
    let mut plain = pgp_message
        .decrypt(&Password::empty(), &key.0)
        .map_err(|e| PgpError::CannotDecrypt(e.to_string()))?;
    if plain.is_compressed() {
        plain = plain
            .decompress()
            .map_err(|e| PgpError::CannotDecrypt(e.to_string()))?;
    }
    let entity = plain
        .as_data_vec()
        .map_err(|e| PgpError::CannotDecrypt(e.to_string()))?;
    let envelope = split(raw).envelope;
    Ok(replace_entity(&envelope, &crate::protect::crlf(&entity)))
}

impl crate::builder::MessageBuilder<'_> {
    /// The message written (`random` makes its boundaries and id) and
    /// signed with PGP/MIME: see [`sign`].
    pub fn sign_pgp(&self, key: &SecretKey, random: u64) -> Result<Vec<u8>, PgpError> {
        sign(&self.to_vec(random), key, u128::from(random))
    }

    /// The message written and encrypted with PGP/MIME (signed inside by
    /// `signer` when given): see [`encrypt`].
    pub fn encrypt_pgp(
        &self,
        recipients: &[PublicKey],
        signer: Option<&SecretKey>,
        random: u64,
    ) -> Result<Vec<u8>, PgpError> {
        encrypt(&self.to_vec(random), recipients, signer, u128::from(random))
    }
}

/// The `Autocrypt` header field (Autocrypt Level 1): a sender's address
/// and certificate, so correspondents can encrypt to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Autocrypt {
    /// The sender's address (it must match From).
    pub addr: String,
    /// `prefer-encrypt=mutual`: the sender wants encrypted replies.
    pub prefer_encrypt_mutual: bool,
    /// The certificate, binary.
    pub keydata: Vec<u8>,
}

impl Autocrypt {
    /// The header for `addr` with `key`.
    pub fn new(addr: &str, key: &PublicKey, prefer_encrypt_mutual: bool) -> Autocrypt {
        Autocrypt {
            addr: addr.to_owned(),
            prefer_encrypt_mutual,
            keydata: key.to_bytes(),
        }
    }

    /// Reads a field value (`addr=...; [prefer-encrypt=mutual;] keydata=...`).
    /// Unknown attributes are ignored unless critical (no leading `_`), as
    /// the specification asks: a critical unknown one makes it unusable.
    pub fn parse(value: &str) -> Option<Autocrypt> {
        let mut addr = None;
        let mut mutual = false;
        let mut keydata = None;
        for attribute in value.split(';') {
            let (name, v) = attribute.split_once('=')?;
            let name = name.trim();
            match name {
                "addr" => addr = Some(v.trim().to_owned()),
                "prefer-encrypt" => mutual = v.trim() == "mutual",
                "keydata" => {
                    let mut decoded = Vec::new();
                    let flaws = crate::transfer::decode_base64(v.trim().as_bytes(), &mut decoded);
                    keydata = flaws.is_clean().then_some(decoded);
                }
                _ if name.starts_with('_') => {}
                _ => return None,
            }
        }
        Some(Autocrypt {
            addr: addr.filter(|a| a.contains('@'))?,
            prefer_encrypt_mutual: mutual,
            keydata: keydata.filter(|k| !k.is_empty())?,
        })
    }

    /// The certificate it carries.
    pub fn key(&self) -> Result<PublicKey, PgpError> {
        PublicKey::parse(&self.keydata)
    }
}

impl fmt::Display for Autocrypt {
    /// The field value, `keydata` on folded lines of 76 characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "addr={};", self.addr)?;
        if self.prefer_encrypt_mutual {
            f.write_str(" prefer-encrypt=mutual;")?;
        }
        f.write_str(" keydata=")?;
        let mut encoded = Vec::new();
        crate::transfer::encode_base64(&self.keydata, &mut encoded);
        // Lines of 76, each folded onto a continuation line.
        let lines = encoded
            .split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        for line in lines.filter(|l| !l.is_empty()) {
            f.write_str("\r\n ")?;
            f.write_str(std::str::from_utf8(line).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn autocrypt_headers_round_trip(
            local in "[a-z0-9.]{1,20}",
            domain in "[a-z0-9-]{1,20}\\.[a-z]{2,6}",
            mutual in any::<bool>(),
            keydata in proptest::collection::vec(any::<u8>(), 1..400),
        ) {
            let header = Autocrypt {
                addr: format!("{local}@{domain}"),
                prefer_encrypt_mutual: mutual,
                keydata,
            };
            let unfolded = header.to_string().replace("\r\n", "");
            prop_assert_eq!(Autocrypt::parse(&unfolded), Some(header));
        }
    }

    #[test]
    fn the_builder_signs_and_encrypts_what_it_writes() {
        use crate::builder::{Entity, MessageBuilder};
        let key = SecretKey::generate("Ann <ann@example.com>").unwrap();
        let builder = MessageBuilder::new(Entity::text("Grüße\n"))
            .from(crate::Mailbox {
                name: None,
                address: "ann@example.com".into(),
            })
            .subject("built");
        let signed = builder.sign_pgp(&key, 7).unwrap();
        assert_eq!(
            crate::Message::parse(&signed).security(),
            crate::protect::Protection::PgpSigned
        );
        assert!(verify(&signed, &[key.public()]).is_ok());
        let sealed = builder.encrypt_pgp(&[key.public()], Some(&key), 7).unwrap();
        let opened = decrypt(&sealed, &key).unwrap();
        let inner = crate::Message::parse(&opened);
        assert_eq!(inner.security(), crate::protect::Protection::PgpSigned);
        assert!(verify(&opened, &[key.public()]).is_ok());
    }

    #[test]
    fn what_is_not_pgp_mime_is_refused_without_a_panic() {
        let key = SecretKey::generate("T <t@example.com>").unwrap();
        for raw in [
            &b""[..],
            b"Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
            b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n--b\r\n\r\nVersion: 1\r\n--b\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nAAAA\r\n-----END PGP MESSAGE-----\r\n--b--\r\n",
        ] {
            assert!(verify(raw, &[key.public()]).is_err());
            assert!(decrypt(raw, &key).is_err());
        }
    }
}
