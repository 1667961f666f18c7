//! Signing (RFC 6376 §5): a `DKIM-Signature` field for a message.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use sansmail_mime::transfer::encode_base64;

use super::canon::{self, Canon};
use super::{Algorithm, DkimError, split_as_prepended};

/// A private key.
#[derive(Debug)]
pub enum SigningKey {
    /// An RSA key (2048 bits or more is what receivers expect).
    Rsa(RsaKeyPair),
    /// An Ed25519 key.
    Ed25519(Ed25519KeyPair),
}

impl SigningKey {
    /// An RSA key from PKCS#8 DER.
    pub fn rsa_pkcs8(der: &[u8]) -> Result<Self, DkimError> {
        RsaKeyPair::from_pkcs8(der)
            .map(SigningKey::Rsa)
            .map_err(|e| DkimError::Key(e.to_string()))
    }

    /// An Ed25519 key from PKCS#8 DER.
    pub fn ed25519_pkcs8(der: &[u8]) -> Result<Self, DkimError> {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map(SigningKey::Ed25519)
            .map_err(|e| DkimError::Key(e.to_string()))
    }

    /// A PKCS#8 key in PEM (`-----BEGIN PRIVATE KEY-----`), RSA or Ed25519.
    pub fn from_pem(pem: &str) -> Result<Self, DkimError> {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let mut der = Vec::new();
        sansmail_mime::transfer::decode_base64(body.as_bytes(), &mut der);
        SigningKey::rsa_pkcs8(&der).or_else(|_| SigningKey::ed25519_pkcs8(&der))
    }

    /// A new key (RSA 2048 bits, or Ed25519) and its PKCS#8 PEM, to store
    /// and read back with [`SigningKey::from_pem`].
    pub fn generate(algorithm: Algorithm) -> Result<(SigningKey, String), DkimError> {
        use aws_lc_rs::encoding::AsDer;
        let failed = |e: aws_lc_rs::error::Unspecified| DkimError::Key(e.to_string());
        let der = match algorithm {
            Algorithm::RsaSha256 => {
                let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(failed)?;
                key.as_der().map_err(failed)?.as_ref().to_vec()
            }
            Algorithm::Ed25519Sha256 => Ed25519KeyPair::generate_pkcs8v1(&SystemRandom::new())
                .map_err(failed)?
                .as_ref()
                .to_vec(),
        };
        let b64 = base64_text(&der);
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        Ok((SigningKey::from_pem(&pem)?, pem))
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            SigningKey::Rsa(_) => Algorithm::RsaSha256,
            SigningKey::Ed25519(_) => Algorithm::Ed25519Sha256,
        }
    }

    /// The public key as the key record's `p=` value.
    pub fn public_key_record(&self) -> String {
        use aws_lc_rs::signature::KeyPair;
        let (kind, key) = match self {
            SigningKey::Rsa(k) => ("rsa", spki_rsa(k.public_key().as_ref())),
            SigningKey::Ed25519(k) => ("ed25519", k.public_key().as_ref().to_vec()),
        };
        let b64 = base64_text(&key);
        format!("v=DKIM1; k={kind}; p={b64}")
    }
}

/// `bytes` in base64 on one line.
fn base64_text(bytes: &[u8]) -> String {
    let mut lines = Vec::new();
    encode_base64(bytes, &mut lines);
    lines
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|&b| b as char)
        .collect()
}

/// Wraps an RSAPublicKey in a SubjectPublicKeyInfo, as `p=` holds it.
fn spki_rsa(pkcs1: &[u8]) -> Vec<u8> {
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .iter()
                .copied()
                .skip_while(|&b| b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }
    // rsaEncryption, NULL parameters.
    let algorithm = der(
        0x30,
        &[
            0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00,
        ],
    );
    let mut bits = vec![0];
    bits.extend_from_slice(pkcs1);
    let mut content = algorithm;
    content.extend(der(0x03, &bits));
    der(0x30, &content)
}

/// Signs messages for one domain and selector.
#[derive(Debug)]
pub struct DkimSigner {
    domain: String,
    selector: String,
    key: SigningKey,
    headers: Vec<String>,
    over_sign: bool,
}

impl DkimSigner {
    /// A signer for `domain` with the key published at `selector._domainkey.domain`.
    /// It signs From, To, Cc, Subject, Date, Message-ID, Reply-To, In-Reply-To,
    /// References, MIME-Version, Content-Type and Content-Transfer-Encoding,
    /// each once more than it appears, so none can be added afterwards.
    pub fn new(domain: &str, selector: &str, key: SigningKey) -> Self {
        DkimSigner {
            domain: domain.to_ascii_lowercase(),
            selector: selector.to_owned(),
            key,
            headers: [
                "From",
                "To",
                "Cc",
                "Subject",
                "Date",
                "Message-ID",
                "Reply-To",
                "In-Reply-To",
                "References",
                "MIME-Version",
                "Content-Type",
                "Content-Transfer-Encoding",
            ]
            .map(str::to_owned)
            .to_vec(),
            over_sign: true,
        }
    }

    /// The domain signed for, lowercased.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Signs `message` at `now` (seconds since the epoch); returns the
    /// field to put at the top of the header, CRLF included.
    pub fn sign(&self, message: &[u8], now: u64) -> Result<String, DkimError> {
        self.signature_field("DKIM-Signature", "v=1", message, now)
    }

    /// The key signed with.
    pub(crate) fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The selector of the key.
    pub(crate) fn selector(&self) -> &str {
        &self.selector
    }

    /// A signature field named `field` whose tags start with `first_tag`
    /// (`v=1` for DKIM, `i=N` for an ARC-Message-Signature).
    pub(crate) fn signature_field(
        &self,
        field: &str,
        first_tag: &str,
        message: &[u8],
        now: u64,
    ) -> Result<String, DkimError> {
        let (fields, body_start) = split_as_prepended(message)?;
        if !fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(b"from")) {
            return Err(DkimError::Message("no From field"));
        }
        let body = canon::body(&message[body_start.min(message.len())..], Canon::Relaxed);
        let bh = base64_text(digest(&SHA256, &body).as_ref());
        // h=: every listed field present, bottom-up order per name, plus one
        // more of each listed name when over-signing.
        let mut names: Vec<&str> = Vec::new();
        for name in &self.headers {
            let present = fields
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
                .count();
            let times = present + usize::from(self.over_sign && present > 0);
            names.extend(std::iter::repeat_n(name.as_str(), times));
        }
        let mut data = Vec::new();
        let mut used = vec![false; fields.len()];
        for name in &names {
            if let Some(i) = (0..fields.len())
                .rev()
                .find(|&i| !used[i] && fields[i].0.eq_ignore_ascii_case(name.as_bytes()))
            {
                used[i] = true;
                canon::header(&message[fields[i].1.clone()], Canon::Relaxed, &mut data);
            }
        }
        let value = format!(
            "{first_tag}; a={}; c=relaxed/relaxed; d={}; s={}; t={now};\r\n\th={};\r\n\tbh={bh};\r\n\tb=",
            self.key.algorithm().name(),
            self.domain,
            self.selector,
            names.join(":"),
        );
        let own = format!("{field}: {value}\r\n");
        canon::header(own.as_bytes(), Canon::Relaxed, &mut data);
        data.truncate(data.len() - 2);
        let b = folded(&self.key.sign(&data)?);
        Ok(format!("{field}: {value}{b}\r\n"))
    }
}

impl SigningKey {
    /// The signature of `data` (the canonical header block a signature covers).
    pub(crate) fn sign(&self, data: &[u8]) -> Result<Vec<u8>, DkimError> {
        Ok(match self {
            SigningKey::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), data, &mut sig)
                    .map_err(|e| DkimError::Key(e.to_string()))?;
                sig
            }
            SigningKey::Ed25519(k) => k.sign(digest(&SHA256, data).as_ref()).as_ref().to_vec(),
        })
    }

    /// The `a=` name of the key's algorithm.
    pub(crate) fn algorithm_name(&self) -> &'static str {
        self.algorithm().name()
    }
}

/// A signature as the `b=` value, folded at 72 columns (folding
/// whitespace inside `b=` is ignored).
pub(crate) fn folded(signature: &[u8]) -> String {
    let b = base64_text(signature);
    let lines: Vec<&str> = b
        .as_bytes()
        .chunks(72)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    lines.join("\r\n\t ")
}
