//! Verifying DKIM signatures (RFC 6376 §6), one key lookup at a time.

use std::collections::HashMap;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{
    ED25519, RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, UnparsedPublicKey,
};
use sansmail_mime::transfer::decode_base64;

use super::canon::{self, Canon};
use super::tags::{compact, is, tag_list, without_whitespace};
use super::{Algorithm, FieldAt, split_message};
use crate::dns::{Answer, QueryKind, Question, Record};

/// The most signatures of one message that are checked; the rest are ignored,
/// so a message with hundreds of them costs no more than this many.
pub const MAX_SIGNATURES: usize = 8;

/// The result of one signature (RFC 8601 §2.7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DkimResult {
    /// The signature verified.
    Pass,
    /// It did not verify (bad signature, body changed, key revoked).
    Fail,
    /// The key could not be fetched now.
    TempError,
    /// The signature or its key record is unusable.
    PermError,
    /// The signature is usable but expired or from the future.
    Policy,
}

impl std::fmt::Display for DkimResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DkimResult::Pass => "pass",
            DkimResult::Fail => "fail",
            DkimResult::TempError => "temperror",
            DkimResult::PermError => "permerror",
            DkimResult::Policy => "policy",
        })
    }
}

/// What one signature came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureResult {
    /// `d=`, lowercased (empty when unreadable).
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// The result.
    pub result: DkimResult,
    /// Why it is not a pass.
    pub reason: Option<String>,
    /// The first characters of `b=` (for `header.b` in Authentication-Results).
    pub header_b: String,
    /// True when the key record says the domain is testing DKIM (`t=y`).
    pub testing: bool,
    /// True when `l=` left part of the body unsigned: what follows the
    /// signed length is not vouched for, whatever the result.
    pub unsigned_body: bool,
}

/// What the verifier needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Answer this question with [`DkimVerifier::answer`], then poll again.
    Lookup(Question),
    /// Every signature is judged, in the order of the message.
    Done(Vec<SignatureResult>),
}

/// A signature read, waiting for its key.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub(crate) algorithm: Algorithm,
    pub(crate) domain: String,
    pub(crate) selector: String,
    pub(crate) identity_domain: Option<String>,
    pub(crate) signed_data: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    pub(crate) body_ok: bool,
    pub(crate) unsigned_body: bool,
    pub(crate) expired: bool,
    pub(crate) header_b: String,
}

impl Pending {
    /// Where its key is published.
    pub(crate) fn key_name(&self) -> String {
        format!("{}._domainkey.{}", self.selector, self.domain).to_ascii_lowercase()
    }
}

/// Which kind of signature field is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `DKIM-Signature` (RFC 6376).
    Dkim,
    /// `ARC-Message-Signature` (RFC 8617 §4.1.2): no `v=`, and `i=` is the instance.
    ArcMessage,
}

/// The verification of one message's signatures.
#[derive(Clone, Debug)]
pub struct DkimVerifier {
    pending: Vec<Result<Pending, SignatureResult>>,
    keys: HashMap<String, Answer>,
}

impl DkimVerifier {
    /// Reads the signatures of `message`; `now` (seconds since the epoch)
    /// judges `x=` expiry.
    pub fn new(message: &[u8], now: u64) -> Self {
        let (fields, body_start) = split_message(message);
        let body = &message[body_start.min(message.len())..];
        let mut body_hashes: HashMap<(bool, Option<usize>), Vec<u8>> = HashMap::new();
        let pending = fields
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(b"dkim-signature"))
            .take(MAX_SIGNATURES)
            .map(|(_, range)| {
                read_signature(
                    Kind::Dkim,
                    message,
                    &fields,
                    range.clone(),
                    body,
                    now,
                    &mut body_hashes,
                )
            })
            .collect();
        DkimVerifier {
            pending,
            keys: HashMap::new(),
        }
    }

    /// The next key to look up, or every result.
    pub fn poll(&mut self) -> Step {
        let mut results = Vec::new();
        for p in &self.pending {
            let p = match p {
                Err(done) => {
                    results.push(done.clone());
                    continue;
                }
                Ok(p) => p,
            };
            let name = p.key_name();
            let Some(answer) = self.keys.get(&name) else {
                return Step::Lookup(Question {
                    name,
                    kind: QueryKind::Txt,
                });
            };
            results.push(judge(p, answer));
        }
        Step::Done(results)
    }

    /// The answer to a question [`poll`](Self::poll) asked.
    pub fn answer(&mut self, question: Question, answer: Answer) {
        self.keys.insert(question.name, answer);
    }
}

fn result(
    domain: &str,
    selector: &str,
    r: DkimResult,
    why: &str,
    header_b: &str,
) -> SignatureResult {
    SignatureResult {
        domain: domain.to_owned(),
        selector: selector.to_owned(),
        result: r,
        reason: (r != DkimResult::Pass).then(|| why.to_owned()),
        header_b: header_b.to_owned(),
        testing: false,
        unsigned_body: false,
    }
}

/// Reads one signature field and computes what it covers.
pub(crate) fn read_signature(
    kind: Kind,
    message: &[u8],
    fields: &[FieldAt<'_>],
    range: std::ops::Range<usize>,
    body: &[u8],
    now: u64,
    body_hashes: &mut HashMap<(bool, Option<usize>), Vec<u8>>,
) -> Result<Pending, SignatureResult> {
    let raw = &message[range.clone()];
    let colon = raw.iter().position(|&b| b == b':').unwrap_or(0);
    let value = &raw[colon + 1..];
    let perm = |why: &str, d: &str, s: &str| Err(result(d, s, DkimResult::PermError, why, ""));
    let Some(tags) = tag_list(value) else {
        return perm("malformed tag list", "", "");
    };
    let get = |n: &str| {
        tags.iter()
            .find(|(t, _)| *t == n)
            .map(|(_, r)| &value[r.clone()])
    };
    let text = |n: &str| get(n).map(String::from_utf8_lossy);
    let domain = text("d").unwrap_or_default().to_ascii_lowercase();
    let selector = text("s").unwrap_or_default().into_owned();
    if kind == Kind::Dkim && get("v") != Some(b"1") {
        return perm("v= is not 1", &domain, &selector);
    }
    let algorithm = match get("a") {
        Some(b"rsa-sha256") => Algorithm::RsaSha256,
        Some(b"ed25519-sha256") => Algorithm::Ed25519Sha256,
        Some(b"rsa-sha1") => {
            return perm(
                "rsa-sha1 is no longer accepted (RFC 8301)",
                &domain,
                &selector,
            );
        }
        _ => return perm("unknown algorithm", &domain, &selector),
    };
    let (Some(b), Some(bh), Some(h)) = (get("b"), get("bh"), get("h")) else {
        return perm("b=, bh= or h= missing", &domain, &selector);
    };
    if domain.is_empty() || selector.is_empty() {
        return perm("d= or s= missing", &domain, &selector);
    }
    let header_b: String = without_whitespace(b).take(8).map(char::from).collect();
    let h = compact(h);
    let signed = || h.split(':');
    if !signed().any(|n| n.eq_ignore_ascii_case("from")) {
        return perm("From is not signed", &domain, &selector);
    }
    if kind == Kind::ArcMessage && signed().any(|n| n.eq_ignore_ascii_case("arc-seal")) {
        return perm("an ARC-Seal is signed", &domain, &selector);
    }
    let identity_domain = match text("i").filter(|_| kind == Kind::Dkim) {
        Some(i) => {
            let d = i
                .rsplit_once('@')
                .map_or(&*i, |(_, d)| d)
                .to_ascii_lowercase();
            if d != domain && !d.ends_with(&format!(".{domain}")) {
                return perm("i= is outside d=", &domain, &selector);
            }
            Some(d)
        }
        None => None,
    };
    let (header_canon, body_canon) = match get("c").unwrap_or(b"simple") {
        b"simple" | b"simple/simple" => (Canon::Simple, Canon::Simple),
        b"relaxed" | b"relaxed/simple" => (Canon::Relaxed, Canon::Simple),
        b"simple/relaxed" => (Canon::Simple, Canon::Relaxed),
        b"relaxed/relaxed" => (Canon::Relaxed, Canon::Relaxed),
        _ => return perm("unknown canonicalization", &domain, &selector),
    };
    let limit = match text("l") {
        Some(l) => Some(l.parse::<usize>().map_err(|_| {
            result(
                &domain,
                &selector,
                DkimResult::PermError,
                "bad l=",
                &header_b,
            )
        })?),
        None => None,
    };
    let expired = text("x")
        .and_then(|x| x.parse::<u64>().ok())
        .is_some_and(|x| x < now);
    // The body hash, once per canonicalization and length.
    let key = (body_canon == Canon::Relaxed, limit);
    let mut unsigned_body = false;
    if limit.is_some() || !body_hashes.contains_key(&key) {
        let canonical = canon::body(body, body_canon);
        unsigned_body = limit.is_some_and(|l| l < canonical.len());
        let hash = match limit {
            // Content past the signed length never counts as signed; a
            // length past the body is a broken signature.
            Some(l) if l > canonical.len() => Vec::new(),
            Some(l) => digest(&SHA256, &canonical[..l]).as_ref().to_vec(),
            None => digest(&SHA256, &canonical).as_ref().to_vec(),
        };
        body_hashes.insert(key, hash);
    }
    // The base64 decoder skips the folding whitespace itself.
    let mut expected_bh = Vec::new();
    decode_base64(bh, &mut expected_bh);
    let body_ok = body_hashes
        .get(&key)
        .is_some_and(|h| !h.is_empty() && *h == expected_bh);
    // The signed header fields, each from the bottom up, then this field without b=.
    let header_len = message.len() - body.len();
    let mut data = Vec::with_capacity(header_len);
    let mut used = vec![false; fields.len()];
    for name in signed() {
        if let Some(i) = (0..fields.len())
            .rev()
            .find(|&i| !used[i] && fields[i].0.eq_ignore_ascii_case(name.as_bytes()))
        {
            used[i] = true;
            canon::header(&message[fields[i].1.clone()], header_canon, &mut data);
        }
    }
    let b_range = tags
        .iter()
        .find(|(t, _)| *t == "b")
        .map(|(_, r)| r.clone())
        .unwrap_or(0..0);
    let start = range.start + colon + 1;
    let mut own = message[range.start..start + b_range.start].to_vec();
    own.extend_from_slice(&message[start + b_range.end..range.end]);
    let before = data.len();
    canon::header(&own, header_canon, &mut data);
    // The signature field is hashed without its final line break.
    let kept = if data.ends_with(b"\r\n") {
        data.len() - 2
    } else {
        data.len()
    };
    data.truncate(kept.max(before));
    let mut signature = Vec::new();
    decode_base64(b, &mut signature);
    Ok(Pending {
        algorithm,
        domain,
        selector,
        identity_domain,
        signed_data: data,
        signature,
        body_ok,
        unsigned_body,
        expired,
        header_b,
    })
}

/// Judges a signature against the answer to its key lookup.
pub(crate) fn judge(p: &Pending, answer: &Answer) -> SignatureResult {
    let r = |res, why: &str| SignatureResult {
        unsigned_body: p.unsigned_body,
        ..result(&p.domain, &p.selector, res, why, &p.header_b)
    };
    let records = match answer {
        Answer::TempFail => return r(DkimResult::TempError, "key lookup failed"),
        Answer::NxDomain => return r(DkimResult::PermError, "no key record"),
        Answer::Records(records) => records,
    };
    let mut texts = records.iter().filter_map(|rec| match rec {
        Record::Txt(t) => Some(t.as_slice()),
        _ => None,
    });
    let (Some(text), None) = (texts.next(), texts.next()) else {
        return r(DkimResult::PermError, "not exactly one key record");
    };
    let Some(tags) = tag_list(text) else {
        return r(DkimResult::PermError, "malformed key record");
    };
    // Values as they lie (the base64 decoder skips whitespace), and
    // without their whitespace where they are lists.
    let raw = |n: &str| {
        tags.iter()
            .find(|(t, _)| *t == n)
            .map(|(_, rg)| &text[rg.clone()])
    };
    let get = |n: &str| raw(n).map(compact);
    if raw("v").is_some_and(|v| !is(v, "DKIM1")) {
        return r(DkimResult::PermError, "key record version is not DKIM1");
    }
    let expected = match p.algorithm {
        Algorithm::RsaSha256 => "rsa",
        Algorithm::Ed25519Sha256 => "ed25519",
    };
    if !raw("k").map_or(expected == "rsa", |k| is(k, expected)) {
        return r(
            DkimResult::PermError,
            "key type does not match the algorithm",
        );
    }
    if get("h").is_some_and(|h| !h.split(':').any(|a| a == "sha256")) {
        return r(DkimResult::PermError, "key does not allow sha256");
    }
    if get("s").is_some_and(|s| !s.split(':').any(|a| a == "email" || a == "*")) {
        return r(DkimResult::PermError, "key is not for email");
    }
    let flags = get("t").unwrap_or_default();
    let testing = flags.split(':').any(|f| f == "y");
    if flags.split(':').any(|f| f == "s")
        && p.identity_domain.as_ref().is_some_and(|d| *d != p.domain)
    {
        return r(DkimResult::PermError, "key forbids subdomains in i=");
    }
    let Some(key_b64) = raw("p") else {
        return r(DkimResult::PermError, "key record has no p=");
    };
    if without_whitespace(key_b64).next().is_none() {
        return r(DkimResult::Fail, "key revoked");
    }
    let mut key = Vec::new();
    decode_base64(key_b64, &mut key);
    if !p.body_ok {
        return with_testing(r(DkimResult::Fail, "body hash did not verify"), testing);
    }
    let verified = match p.algorithm {
        Algorithm::RsaSha256 => {
            let der = rsa_public_key(&key).unwrap_or(&key);
            UnparsedPublicKey::new(&RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, der)
                .verify(&p.signed_data, &p.signature)
                .is_ok()
        }
        Algorithm::Ed25519Sha256 => {
            let hash = digest(&SHA256, &p.signed_data);
            UnparsedPublicKey::new(&ED25519, &key)
                .verify(hash.as_ref(), &p.signature)
                .is_ok()
        }
    };
    let out = match (verified, p.expired) {
        (false, _) => r(DkimResult::Fail, "signature did not verify"),
        (true, true) => r(DkimResult::Policy, "signature expired"),
        (true, false) => r(DkimResult::Pass, ""),
    };
    with_testing(out, testing)
}

fn with_testing(mut r: SignatureResult, testing: bool) -> SignatureResult {
    r.testing = testing;
    r
}

/// The RSAPublicKey inside a SubjectPublicKeyInfo (what `p=` usually
/// holds); `None` when `der` is not one (then it may be the key itself).
fn rsa_public_key(der: &[u8]) -> Option<&[u8]> {
    // SEQUENCE { SEQUENCE { algorithm }, BIT STRING { 0 unused bits, key } }
    let (outer, _) = der_item(der, 0x30)?;
    let (_, rest) = der_item(outer, 0x30)?;
    let (bits, _) = der_item(rest, 0x03)?;
    bits.strip_prefix(&[0])
}

/// The content of the DER item of `tag` at the start of `b`, and what follows.
fn der_item(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *b.first()? != tag {
        return None;
    }
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
    Some((b.get(header..end)?, b.get(end..)?))
}
