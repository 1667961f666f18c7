//! DKIM (RFC 6376, RFC 8301, RFC 8463): signatures verified and made.
//!
//! [`DkimVerifier`] checks every `DKIM-Signature` of a message (at most
//! [`MAX_SIGNATURES`]; more cost nothing), asking its caller for each
//! key record; [`DkimSigner`] signs with rsa-sha256 or ed25519-sha256.
//! The cryptography is `ring`'s.

mod canon;
mod sign;
pub(crate) mod tags;
pub(crate) mod verify;

pub use canon::Canon;
pub(crate) use canon::header as canonical_header;
pub(crate) use sign::folded;
pub use sign::{DkimSigner, SigningKey};
pub use verify::{DkimResult, DkimVerifier, MAX_SIGNATURES, SignatureResult, Step};

/// The signing algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaSha256,
    /// Ed25519 over the SHA-256 hash (RFC 8463).
    Ed25519Sha256,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 => "rsa-sha256",
            Algorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }
}

/// Why a key or message cannot be used for signing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DkimError {
    /// The key is not a PKCS#8 key of the algorithm.
    #[error("unusable key: {0}")]
    Key(String),
    /// The message has no header block or no From field.
    #[error("the message cannot be signed: {0}")]
    Message(&'static str),
}

/// A header field: its name, and where it lies (name through final CRLF).
pub(crate) type FieldAt<'a> = (&'a [u8], std::ops::Range<usize>);

/// The header fields of `message` and where the body starts.
pub(crate) fn split_message(message: &[u8]) -> (Vec<FieldAt<'_>>, usize) {
    let parsed = sansmail_mime::Message::parse(message);
    let fields = parsed
        .root
        .header
        .fields
        .iter()
        .map(|f| (f.name, f.range.clone()))
        .collect();
    (fields, parsed.root.body_range.start)
}
