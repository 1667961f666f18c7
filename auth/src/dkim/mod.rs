//! DKIM (RFC 6376, RFC 8301, RFC 8463): signatures verified and made.
//!
//! [`DkimVerifier`] checks every `DKIM-Signature` of a message (at most
//! [`MAX_SIGNATURES`]; more cost nothing), asking its caller for each
//! key record; [`DkimSigner`] signs with rsa-sha256 or ed25519-sha256.
//! The cryptography is `aws-lc-rs`'s.

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

/// The header fields of `message` and where the body starts, as a verifier
/// will read them once a field is put on top: a message whose first line
/// is not a field (an mbox `From ` line, say) reads differently with and
/// without one, and a signer must sign what the verifier will see. A
/// message starting with a continuation line cannot be signed (it would
/// join whatever field is put above it), nor one whose header is not
/// ended by an empty line.
pub(crate) fn split_as_prepended(message: &[u8]) -> Result<(Vec<FieldAt<'_>>, usize), DkimError> {
    const TOP: &[u8] = b"X: x\r\n";
    if message.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return Err(DkimError::Message(
            "the header starts with a continuation line",
        ));
    }
    let whole = [TOP, message].concat();
    let (header, body) = sansmail_mime::Header::parse_top(&whole);
    let fields = header
        .fields()
        .filter(|f| f.range.start >= TOP.len())
        .map(|f| {
            let range = f.range.start - TOP.len()..f.range.end - TOP.len();
            (&message[range.start..range.start + f.name.len()], range)
        })
        .collect();
    let body = body.saturating_sub(TOP.len());
    // A header ended by something other than an empty line is read
    // differently by different verifiers: not signed.
    let head = &message[..body.min(message.len())];
    if body < message.len() && !(head.ends_with(b"\n\r\n") || head.ends_with(b"\n\n")) {
        return Err(DkimError::Message(
            "the header is not ended by an empty line",
        ));
    }
    Ok((fields, body))
}

/// The header fields of `message` and where the body starts.
pub(crate) fn split_message(message: &[u8]) -> (Vec<FieldAt<'_>>, usize) {
    let (header, body) = sansmail_mime::Header::parse_top(message);
    let fields = header.fields().map(|f| (f.name, f.range)).collect();
    (fields, body)
}
