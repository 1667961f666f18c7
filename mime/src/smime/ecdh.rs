//! ECDH key agreement for S/MIME (RFC 5753 §3.1, RFC 8551): the
//! content-encryption key wrapped (RFC 3394, `aes-kw`) under a key drawn
//! from a P-256 shared secret with the ANSI X9.63 KDF over ECC-CMS-SharedInfo.

use aes_kw::{KekAes128, KekAes192, KekAes256};
use cms::builder::{RecipientInfoBuilder, RecipientInfoType};
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{
    EncryptedKey, KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo, OriginatorIdentifierOrKey,
    OriginatorPublicKey, RecipientEncryptedKey, RecipientInfo,
};
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, OctetString};
use der::{Any, Encode};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;

use super::SmimeError;

/// id-ecPublicKey.
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// dhSinglePass-stdDH-sha1kdf-scheme (OpenSSL's default) and the SHA-2 ones.
const STD_DH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.133.16.840.63.0.2");
const STD_DH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.11.1");
const STD_DH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.11.2");
const STD_DH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.11.3");
/// id-aes128-wrap, id-aes192-wrap, id-aes256-wrap.
const AES128_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.5");
const AES192_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.25");
const AES256_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.45");

/// ECC-CMS-SharedInfo (RFC 5753 §7.2): the KDF's other input.
#[derive(Clone, Debug, der::Sequence)]
struct SharedInfo {
    key_info: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    entity_u_info: Option<OctetString>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    supp_pub_info: OctetString,
}

fn failed(why: impl std::fmt::Display) -> SmimeError {
    SmimeError::CannotDecrypt(why.to_string())
}

/// The key-encryption key: ANSI X9.63 (SEC 1 §3.6.1) with hash `D`,
/// `hash(Z || counter || SharedInfo)` for counter 1, 2, ... until `len`
/// octets are made.
fn x963<D: Digest>(z: &[u8], shared_info: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut counter: u32 = 1;
    while out.len() < len {
        let mut hash = D::new();
        hash.update(z);
        hash.update(counter.to_be_bytes());
        hash.update(shared_info);
        out.extend_from_slice(&hash.finalize());
        counter += 1;
    }
    out.truncate(len);
    out
}

/// The KEK for `wrap` from shared secret `z`, with the scheme's hash.
fn kek(
    scheme: ObjectIdentifier,
    wrap: &AlgorithmIdentifierOwned,
    ukm: Option<&OctetString>,
    z: &[u8],
) -> Result<Vec<u8>, SmimeError> {
    let len = match wrap.oid {
        AES128_WRAP => 16,
        AES192_WRAP => 24,
        AES256_WRAP => 32,
        other => return Err(SmimeError::Unsupported(format!("key wrap {other}"))),
    };
    let info = SharedInfo {
        key_info: wrap.clone(),
        entity_u_info: ukm.cloned(),
        supp_pub_info: OctetString::new(((len * 8) as u32).to_be_bytes().to_vec())
            .map_err(failed)?,
    }
    .to_der()
    .map_err(failed)?;
    Ok(match scheme {
        STD_DH_SHA1 => x963::<sha1::Sha1>(z, &info, len),
        STD_DH_SHA256 => x963::<sha2::Sha256>(z, &info, len),
        STD_DH_SHA384 => x963::<sha2::Sha384>(z, &info, len),
        STD_DH_SHA512 => x963::<sha2::Sha512>(z, &info, len),
        other => return Err(SmimeError::Unsupported(format!("key agreement {other}"))),
    })
}

/// A recipient with a P-256 key: an ephemeral key of ours, the SHA-256 KDF
/// and AES-256 key wrap.
pub(super) struct EcdhRecipient {
    /// Who the recipient is.
    pub rid: IssuerAndSerialNumber,
    /// Their key.
    pub public: p256::PublicKey,
}

impl RecipientInfoBuilder for EcdhRecipient {
    fn recipient_info_type(&self) -> RecipientInfoType {
        RecipientInfoType::Kari
    }

    fn recipient_info_version(&self) -> CmsVersion {
        CmsVersion::V3
    }

    fn build(&mut self, content_key: &[u8]) -> Result<RecipientInfo, cms::builder::Error> {
        let error = |e: &dyn std::fmt::Display| cms::builder::Error::Builder(e.to_string());
        let ephemeral = p256::ecdh::EphemeralSecret::random(&mut rand::rngs::OsRng);
        let shared = ephemeral.diffie_hellman(&self.public);
        let wrap = AlgorithmIdentifierOwned {
            oid: AES256_WRAP,
            parameters: None,
        };
        let kek = kek(
            STD_DH_SHA256,
            &wrap,
            None,
            shared.raw_secret_bytes().as_slice(),
        )
        .map_err(|e| error(&e))?;
        let kek: [u8; 32] = kek.try_into().map_err(|_| error(&"KEK length"))?;
        let wrapped = KekAes256::from(kek)
            .wrap_vec(content_key)
            .map_err(|e| error(&e))?;
        let point = ephemeral.public_key().to_encoded_point(false);
        Ok(RecipientInfo::Kari(KeyAgreeRecipientInfo {
            version: CmsVersion::V3,
            originator: OriginatorIdentifierOrKey::OriginatorKey(OriginatorPublicKey {
                algorithm: AlgorithmIdentifierOwned {
                    oid: EC_PUBLIC_KEY,
                    parameters: None,
                },
                public_key: BitString::from_bytes(point.as_bytes())?,
            }),
            ukm: None,
            key_enc_alg: AlgorithmIdentifierOwned {
                oid: STD_DH_SHA256,
                parameters: Some(Any::encode_from(&wrap)?),
            },
            recipient_enc_keys: vec![RecipientEncryptedKey {
                rid: KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(self.rid.clone()),
                enc_key: EncryptedKey::new(wrapped)?,
            }],
        }))
    }
}

/// The content-encryption key from a KeyAgreeRecipientInfo, when one of
/// its keys is for `ours` and `secret` opens it.
pub(super) fn unwrap(
    kari: &KeyAgreeRecipientInfo,
    ours: &IssuerAndSerialNumber,
    secret: &p256::SecretKey,
) -> Result<Option<Vec<u8>>, SmimeError> {
    let Some(encrypted) = kari.recipient_enc_keys.iter().find(
        |k| matches!(&k.rid, KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(id) if id == ours),
    ) else {
        return Ok(None);
    };
    let OriginatorIdentifierOrKey::OriginatorKey(originator) = &kari.originator else {
        return Err(SmimeError::Unsupported(
            "key agreement with a static originator key".into(),
        ));
    };
    let point = originator
        .public_key
        .as_bytes()
        .ok_or_else(|| failed("the originator key is not whole octets"))?;
    let theirs = p256::PublicKey::from_sec1_bytes(point).map_err(failed)?;
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), theirs.as_affine());
    let wrap: AlgorithmIdentifierOwned = kari
        .key_enc_alg
        .parameters
        .as_ref()
        .ok_or_else(|| failed("no key wrap algorithm"))?
        .decode_as()
        .map_err(failed)?;
    let kek = kek(
        kari.key_enc_alg.oid,
        &wrap,
        kari.ukm.as_ref(),
        shared.raw_secret_bytes().as_slice(),
    )?;
    let wrapped = encrypted.enc_key.as_bytes();
    let bad = |_| failed("wrong key or damaged key wrap");
    let key = match kek.len() {
        16 => KekAes128::from(<[u8; 16]>::try_from(&kek[..]).map_err(bad)?).unwrap_vec(wrapped),
        24 => KekAes192::from(<[u8; 24]>::try_from(&kek[..]).map_err(bad)?).unwrap_vec(wrapped),
        _ => KekAes256::from(<[u8; 32]>::try_from(&kek[..]).map_err(bad)?).unwrap_vec(wrapped),
    };
    key.map(Some)
        .map_err(|_| failed("wrong key or damaged key wrap"))
}
