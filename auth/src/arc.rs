//! ARC (RFC 8617): an intermediary's chain of custody, verified and extended.
//!
//! Each forwarding hop adds an ARC set of three fields with the same
//! instance `i=`: `ARC-Authentication-Results` (what it saw),
//! `ARC-Message-Signature` (a DKIM-like signature of the message as it
//! forwarded it) and `ARC-Seal` (a signature over every set up to its own).
//! [`ArcVerifier`] checks a chain, asking its caller for each key record as
//! [`crate::dkim::DkimVerifier`] does; [`ArcSealer`] adds the next set.

use std::collections::HashMap;

use crate::dkim::tags::{compact, tag_list};
use crate::dkim::verify::{Kind, Pending, judge, read_signature};
use crate::dkim::{
    Algorithm, Canon, DkimError, DkimResult, DkimSigner, FieldAt, canonical_header, folded,
    split_as_prepended, split_message,
};
use crate::dns::{Answer, Question};
use crate::results::AuthenticationResults;
use sansmail_mime::transfer::decode_base64;

/// The highest instance a chain may reach (RFC 8617 §4.2.1).
pub const MAX_INSTANCES: usize = 50;

/// The three field names of a set, in the order a seal covers them.
const SET_FIELDS: [&[u8]; 3] = [
    b"arc-authentication-results",
    b"arc-message-signature",
    b"arc-seal",
];

/// The chain's verdict (RFC 8617 §4.4, the `arc=` method of Authentication-Results).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArcResult {
    /// No ARC set.
    None,
    /// Every seal and the newest message signature verify.
    Pass,
    /// The chain is broken, malformed, or marked failed by a sealer.
    Fail,
    /// A key could not be looked up this time.
    TempError,
}

impl ArcResult {
    /// The `cv=` value a sealer writes after this verdict.
    pub fn chain_validation(self) -> &'static str {
        match self {
            ArcResult::None => "none",
            ArcResult::Pass => "pass",
            ArcResult::Fail | ArcResult::TempError => "fail",
        }
    }
}

impl std::fmt::Display for ArcResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ArcResult::None => "none",
            ArcResult::Pass => "pass",
            ArcResult::Fail => "fail",
            ArcResult::TempError => "temperror",
        })
    }
}

/// What the verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArcOutcome {
    /// The verdict.
    pub result: ArcResult,
    /// The number of sets (the newest instance).
    pub instances: usize,
    /// Why the chain did not pass.
    pub reason: Option<String>,
    /// Each set's sealing domain (`d=` of its ARC-Seal), oldest first.
    pub sealers: Vec<String>,
    /// Each set's ARC-Authentication-Results payload (after `i=N;`), oldest first:
    /// what every hop saw, for a receiver that trusts a sealer.
    pub results: Vec<String>,
}

/// What the verifier needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Answer this question with [`ArcVerifier::answer`], then poll again.
    Lookup(Question),
    /// The chain is judged.
    Done(ArcOutcome),
}

/// One message's ARC chain being verified.
#[derive(Clone, Debug)]
pub struct ArcVerifier {
    outcome: ArcOutcome,
    /// The newest message signature, then the seals from the newest down;
    /// empty when the outcome is already known.
    signatures: Vec<(String, Pending)>,
    keys: HashMap<String, Answer>,
}

/// The fields of each set: indexes into the header's fields, by instance.
struct Sets {
    /// `[AAR, AMS, AS]` field indexes of instance `i` at `i - 1`.
    sets: Vec<[usize; 3]>,
}

/// The instance of an ARC field's value (`i=` tag, or the AAR's leading `i=N;`).
fn instance(value: &[u8], kind: usize) -> Option<usize> {
    let text = if kind == 0 {
        let value = String::from_utf8_lossy(value);
        let rest = value.trim_start().strip_prefix("i=")?;
        let (n, _) = rest.split_once(';')?;
        n.trim().to_owned()
    } else {
        let tags = tag_list(value)?;
        let (_, r) = tags.iter().find(|(t, _)| *t == "i")?;
        compact(&value[r.clone()])
    };
    let n: usize = text.parse().ok()?;
    (1..=MAX_INSTANCES).contains(&n).then_some(n)
}

/// Reads the sets of a header: every instance from 1 to the newest
/// present exactly once with all three fields, or why not.
fn collect_sets(message: &[u8], fields: &[FieldAt<'_>]) -> Result<Sets, String> {
    let mut slots: Vec<[Option<usize>; 3]> = Vec::new();
    let mut count = 0;
    for (index, (name, range)) in fields.iter().enumerate() {
        let Some(kind) = SET_FIELDS.iter().position(|n| name.eq_ignore_ascii_case(n)) else {
            continue;
        };
        count += 1;
        if count > 3 * MAX_INSTANCES {
            return Err("more ARC fields than 50 sets hold".into());
        }
        let raw = &message[range.clone()];
        let colon = raw.iter().position(|&b| b == b':').unwrap_or(0);
        let Some(i) = instance(&raw[colon + 1..], kind) else {
            return Err(format!(
                "an {} has no valid instance",
                String::from_utf8_lossy(name)
            ));
        };
        if slots.len() < i {
            slots.resize(i, [None; 3]);
        }
        if slots[i - 1][kind].replace(index).is_some() {
            return Err(format!("instance {i} has two of one field"));
        }
    }
    let sets = slots
        .iter()
        .enumerate()
        .map(|(i, s)| match s {
            [Some(a), Some(b), Some(c)] => Ok([*a, *b, *c]),
            _ => Err(format!("set {} is incomplete", i + 1)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Sets { sets })
}

/// The tags of a seal field: text of each, and the `b=` range in the value.
fn seal_tags(raw: &[u8]) -> Option<(HashMap<String, String>, std::ops::Range<usize>, usize)> {
    let colon = raw.iter().position(|&b| b == b':')?;
    let value = &raw[colon + 1..];
    let tags = tag_list(value)?;
    let b = tags.iter().find(|(t, _)| *t == "b")?.1.clone();
    let map = tags
        .iter()
        .map(|(t, r)| (t.to_string(), compact(&value[r.clone()])))
        .collect();
    Some((map, b, colon + 1))
}

/// The canonical bytes of whole sets (AAR, AMS, AS each), oldest first:
/// what a seal covers before the set it belongs to.
fn seal_data(message: &[u8], fields: &[FieldAt<'_>], sets: &[[usize; 3]]) -> Vec<u8> {
    let mut data = Vec::new();
    for set in sets {
        for &f in set {
            canonical_header(&message[fields[f].1.clone()], Canon::Relaxed, &mut data);
        }
    }
    data
}

/// The seal field with its `b=` value removed, canonical, without the final CRLF.
fn unsigned_seal(raw: &[u8], b: &std::ops::Range<usize>, value_start: usize, out: &mut Vec<u8>) {
    let mut own = raw[..value_start + b.start].to_vec();
    own.extend_from_slice(&raw[value_start + b.end..]);
    canonical_header(&own, Canon::Relaxed, out);
    if out.ends_with(b"\r\n") {
        out.truncate(out.len() - 2);
    }
}

impl ArcVerifier {
    /// Reads the chain of `message`; `now` (seconds since the epoch) is
    /// passed on to the message signature's checks.
    pub fn new(message: &[u8], now: u64) -> Self {
        let (fields, body_start) = split_message(message);
        let mut verifier = ArcVerifier {
            outcome: ArcOutcome {
                result: ArcResult::None,
                instances: 0,
                reason: None,
                sealers: Vec::new(),
                results: Vec::new(),
            },
            signatures: Vec::new(),
            keys: HashMap::new(),
        };
        let sets = match collect_sets(message, &fields) {
            Ok(s) if s.sets.is_empty() => return verifier,
            Ok(s) => s.sets,
            Err(why) => return verifier.failed(why),
        };
        verifier.outcome.instances = sets.len();
        for set in &sets {
            let aar = &message[fields[set[0]].1.clone()];
            let aar = String::from_utf8_lossy(aar);
            let payload = aar
                .split_once(':')
                .and_then(|(_, v)| v.split_once(';'))
                .map_or("", |(_, rest)| rest.trim());
            verifier.outcome.results.push(payload.to_owned());
        }
        // The seals, newest first; each states what the chain was before it.
        let mut seals = Vec::new();
        for (i, set) in sets.iter().enumerate().rev() {
            let raw = &message[fields[set[2]].1.clone()];
            let Some((tags, b, value_start)) = seal_tags(raw) else {
                return verifier.failed(format!("ARC-Seal i={} is malformed", i + 1));
            };
            let cv = tags.get("cv").map(String::as_str);
            let expected = if i == 0 { "none" } else { "pass" };
            if cv == Some("fail") && i + 1 == sets.len() {
                return verifier.failed(format!("ARC-Seal i={} marks the chain failed", i + 1));
            }
            if cv != Some(expected) {
                return verifier.failed(format!(
                    "ARC-Seal i={} has cv={}, not {expected}",
                    i + 1,
                    cv.unwrap_or("(none)")
                ));
            }
            let algorithm = match tags.get("a").map(String::as_str) {
                Some("rsa-sha256") => Algorithm::RsaSha256,
                Some("ed25519-sha256") => Algorithm::Ed25519Sha256,
                _ => return verifier.failed(format!("ARC-Seal i={} has no usable a=", i + 1)),
            };
            let (Some(domain), Some(selector)) = (tags.get("d"), tags.get("s")) else {
                return verifier.failed(format!("ARC-Seal i={} lacks d= or s=", i + 1));
            };
            let mut data = seal_data(message, &fields, &sets[..i]);
            for &f in &set[..2] {
                canonical_header(&message[fields[f].1.clone()], Canon::Relaxed, &mut data);
            }
            unsigned_seal(raw, &b, value_start, &mut data);
            let mut signature = Vec::new();
            decode_base64(
                compact(&raw[value_start + b.start..value_start + b.end]).as_bytes(),
                &mut signature,
            );
            seals.push((
                format!("ARC-Seal i={}", i + 1),
                Pending {
                    algorithm,
                    domain: domain.to_ascii_lowercase(),
                    selector: selector.clone(),
                    identity_domain: None,
                    signed_data: data,
                    signature,
                    body_ok: true,
                    unsigned_body: false,
                    expired: false,
                    header_b: String::new(),
                },
            ));
        }
        verifier.outcome.sealers = seals.iter().rev().map(|(_, p)| p.domain.clone()).collect();
        let newest = sets.len();
        let ams = fields[sets[newest - 1][1]].1.clone();
        let body = &message[body_start.min(message.len())..];
        let mut hashes = HashMap::new();
        match read_signature(
            Kind::ArcMessage,
            message,
            &fields,
            ams,
            body,
            now,
            &mut hashes,
        ) {
            Ok(p) => verifier
                .signatures
                .push((format!("ARC-Message-Signature i={newest}"), p)),
            Err(r) => {
                let why = r.reason.unwrap_or_default();
                return verifier.failed(format!("ARC-Message-Signature i={newest}: {why}"));
            }
        }
        verifier.signatures.extend(seals);
        verifier
    }

    fn failed(mut self, why: String) -> Self {
        self.outcome.result = ArcResult::Fail;
        self.outcome.reason = Some(why);
        self.signatures.clear();
        self
    }

    /// The next key to look up, or the verdict.
    pub fn poll(&mut self) -> Step {
        if self.signatures.is_empty() {
            return Step::Done(self.outcome.clone());
        }
        for (label, p) in &self.signatures {
            let name = p.key_name();
            let Some(answer) = self.keys.get(&name) else {
                return Step::Lookup(Question {
                    name,
                    kind: crate::dns::QueryKind::Txt,
                });
            };
            let judged = judge(p, answer);
            let result = match judged.result {
                DkimResult::Pass => continue,
                DkimResult::TempError => ArcResult::TempError,
                _ => ArcResult::Fail,
            };
            let why = judged.reason.unwrap_or_default();
            let mut outcome = self.outcome.clone();
            outcome.result = result;
            outcome.reason = Some(format!("{label}: {why}"));
            return Step::Done(outcome);
        }
        let mut outcome = self.outcome.clone();
        outcome.result = ArcResult::Pass;
        Step::Done(outcome)
    }

    /// The answer to a question [`poll`](Self::poll) asked.
    pub fn answer(&mut self, question: Question, answer: Answer) {
        self.keys.insert(question.name, answer);
    }
}

/// Adds ARC sets for one domain and selector (RFC 8617 §5.1).
#[derive(Debug)]
pub struct ArcSealer {
    signer: DkimSigner,
}

impl ArcSealer {
    /// A sealer signing as `signer`'s domain, selector and key; its message
    /// signature covers the fields its DKIM signatures cover.
    pub fn new(signer: DkimSigner) -> Self {
        ArcSealer { signer }
    }

    /// The next ARC set for `message`, whose chain was judged `chain` (by an
    /// [`ArcVerifier`] on the same message) and which this host judged as
    /// `results` says. Returns the three fields (ARC-Seal first) to put at
    /// the top of the header, CRLF included. A chain whose newest seal
    /// already says `cv=fail`, or that has 50 sets, is not sealed again.
    pub fn seal(
        &self,
        message: &[u8],
        results: &AuthenticationResults,
        chain: ArcResult,
        now: u64,
    ) -> Result<String, DkimError> {
        let (fields, _) = split_as_prepended(message)?;
        let sets = match collect_sets(message, &fields) {
            Ok(s) => s.sets,
            // A chain that cannot be read is sealed as failed, covering only the new set.
            Err(_) => Vec::new(),
        };
        let cv = chain.chain_validation();
        if chain == ArcResult::TempError {
            return Err(DkimError::Message(
                "the chain could not be verified this time",
            ));
        }
        if chain == ArcResult::None && !sets.is_empty() {
            return Err(DkimError::Message(
                "the message has ARC sets: verify them first",
            ));
        }
        if let Some(newest) = sets.last() {
            let raw = &message[fields[newest[2]].1.clone()];
            if seal_tags(raw).is_some_and(|(t, _, _)| t.get("cv").is_some_and(|v| v == "fail")) {
                return Err(DkimError::Message("the chain is already marked failed"));
            }
        }
        let instance = if chain == ArcResult::Fail {
            // A failed chain gets one more set, numbered after every field seen.
            highest_instance(message, &fields) + 1
        } else {
            sets.len() + 1
        };
        if instance > MAX_INSTANCES {
            return Err(DkimError::Message("the chain already has 50 sets"));
        }
        let aar = format!("ARC-Authentication-Results: i={instance}; {results}\r\n");
        let ams = self.signer.signature_field(
            "ARC-Message-Signature",
            &format!("i={instance}"),
            message,
            now,
        )?;
        let key = self.signer.key();
        let seal_value = format!(
            "i={instance}; a={}; cv={cv}; d={}; s={}; t={now};\r\n\tb=",
            key.algorithm_name(),
            self.signer.domain(),
            self.signer.selector(),
        );
        // A passing chain's seal covers every set; a failed one's only its own.
        let mut data = if chain == ArcResult::Pass {
            seal_data(message, &fields, &sets)
        } else {
            Vec::new()
        };
        canonical_header(aar.as_bytes(), Canon::Relaxed, &mut data);
        canonical_header(ams.as_bytes(), Canon::Relaxed, &mut data);
        let own = format!("ARC-Seal: {seal_value}\r\n");
        canonical_header(own.as_bytes(), Canon::Relaxed, &mut data);
        data.truncate(data.len() - 2);
        let b = folded(&key.sign(&data)?);
        Ok(format!("ARC-Seal: {seal_value}{b}\r\n{ams}{aar}"))
    }
}

/// The highest instance any ARC field of the header claims (0 for none).
fn highest_instance(message: &[u8], fields: &[FieldAt<'_>]) -> usize {
    fields
        .iter()
        .filter_map(|(name, range)| {
            let kind = SET_FIELDS
                .iter()
                .position(|n| name.eq_ignore_ascii_case(n))?;
            let raw = &message[range.clone()];
            let colon = raw.iter().position(|&b| b == b':')?;
            instance(&raw[colon + 1..], kind)
        })
        .max()
        .unwrap_or(0)
}
