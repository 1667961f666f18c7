//! DMARC (RFC 7489): the policy a domain publishes for mail that claims it
//! in From, and whether a message's SPF and DKIM results line up with it.
//!
//! [`DmarcCheck`] finds the policy record (at `_dmarc.` of the From
//! domain, else of its organizational domain, by the Public Suffix List
//! of the `psl` crate), then judges the authenticated identities the
//! caller found. Like the SPF check it asks its caller for DNS answers and
//! draws no randomness: the `pct` sample is the caller's.

use std::fmt;

use crate::dns::{Answer, QueryKind, Question, Record};

/// What a domain asks receivers to do with mail that fails DMARC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Policy {
    /// Deliver as usual (monitoring only).
    None,
    /// Treat as suspicious (for example, file as spam).
    Quarantine,
    /// Refuse during the SMTP transaction.
    Reject,
}

/// How closely an authenticated domain must match the From domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Alignment {
    /// The same organizational domain.
    #[default]
    Relaxed,
    /// The very same domain.
    Strict,
}

/// A `mailto:` address reports go to, with its size limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportUri {
    /// The URI as written (`mailto:dmarc@example.com`).
    pub uri: String,
    /// The largest report wanted, in octets (`!10m`).
    pub max_size: Option<u64>,
}

/// A DMARC record (RFC 7489 §6.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcRecord {
    /// `p`: the policy for the domain.
    pub policy: Policy,
    /// `sp`: the policy for its subdomains, when it differs.
    pub subdomain_policy: Option<Policy>,
    /// `pct`: the share of failing mail the policy applies to (0-100).
    pub percent: u8,
    /// `adkim`: DKIM alignment.
    pub dkim_alignment: Alignment,
    /// `aspf`: SPF alignment.
    pub spf_alignment: Alignment,
    /// `rua`: where aggregate reports go.
    pub aggregate_reports: Vec<ReportUri>,
    /// `ruf`: where failure reports go.
    pub failure_reports: Vec<ReportUri>,
    /// `fo`: failure reporting options as written, when given.
    pub failure_options: Option<String>,
    /// `ri`: the aggregate report interval in seconds.
    pub interval: u32,
}

/// Why a TXT record is not a usable DMARC record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DmarcError {
    /// It does not start with `v=DMARC1`.
    #[error("not a DMARC record")]
    NotDmarc,
    /// A tag with a value DMARC does not define.
    #[error("bad value for tag {0}")]
    BadTag(&'static str),
    /// No `p` tag (and no `rua` to fall back to `p=none` with).
    #[error("no policy")]
    NoPolicy,
}

impl DmarcRecord {
    /// Parses a record's text. Unknown tags are ignored (RFC 7489 §6.3);
    /// a record without `p` but with a valid `rua` is read as `p=none`
    /// (§6.6.3).
    pub fn parse(text: &str) -> Result<Self, DmarcError> {
        let mut tags = text.split(';').map(str::trim);
        let version = tags.next().unwrap_or_default();
        let is_dmarc = version
            .split_once('=')
            .is_some_and(|(k, v)| k.trim() == "v" && v.trim() == "DMARC1");
        if !is_dmarc {
            return Err(DmarcError::NotDmarc);
        }
        let mut policy = None;
        let mut record = DmarcRecord {
            policy: Policy::None,
            subdomain_policy: None,
            percent: 100,
            dkim_alignment: Alignment::Relaxed,
            spf_alignment: Alignment::Relaxed,
            aggregate_reports: Vec::new(),
            failure_reports: Vec::new(),
            failure_options: None,
            interval: 86_400,
        };
        for tag in tags.filter(|t| !t.is_empty()) {
            let Some((name, value)) = tag.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "p" => policy = Some(parse_policy(value).ok_or(DmarcError::BadTag("p"))?),
                "sp" => {
                    record.subdomain_policy =
                        Some(parse_policy(value).ok_or(DmarcError::BadTag("sp"))?)
                }
                "pct" => {
                    record.percent = value
                        .parse::<u8>()
                        .ok()
                        .filter(|p| *p <= 100)
                        .ok_or(DmarcError::BadTag("pct"))?
                }
                "adkim" => {
                    record.dkim_alignment =
                        parse_alignment(value).ok_or(DmarcError::BadTag("adkim"))?
                }
                "aspf" => {
                    record.spf_alignment =
                        parse_alignment(value).ok_or(DmarcError::BadTag("aspf"))?
                }
                "rua" => {
                    record.aggregate_reports = parse_uris(value).ok_or(DmarcError::BadTag("rua"))?
                }
                "ruf" => {
                    record.failure_reports = parse_uris(value).ok_or(DmarcError::BadTag("ruf"))?
                }
                "fo" => record.failure_options = Some(value.to_owned()),
                "ri" => record.interval = value.parse().map_err(|_| DmarcError::BadTag("ri"))?,
                _ => {}
            }
        }
        record.policy = match policy {
            Some(p) => p,
            None if !record.aggregate_reports.is_empty() => Policy::None,
            None => return Err(DmarcError::NoPolicy),
        };
        Ok(record)
    }
}

fn parse_policy(v: &str) -> Option<Policy> {
    match v.to_ascii_lowercase().as_str() {
        "none" => Some(Policy::None),
        "quarantine" => Some(Policy::Quarantine),
        "reject" => Some(Policy::Reject),
        _ => None,
    }
}

fn parse_alignment(v: &str) -> Option<Alignment> {
    match v.to_ascii_lowercase().as_str() {
        "r" => Some(Alignment::Relaxed),
        "s" => Some(Alignment::Strict),
        _ => None,
    }
}

/// `uri[!size[k|m|g|t]]` separated by commas.
fn parse_uris(v: &str) -> Option<Vec<ReportUri>> {
    v.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            let (uri, size) = match u.rsplit_once('!') {
                Some((uri, size)) => (uri, Some(size)),
                None => (u, None),
            };
            if !uri.contains(':') {
                return None;
            }
            let max_size = match size {
                None => None,
                Some(s) => {
                    let (digits, unit) =
                        s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
                    let n: u64 = digits.parse().ok()?;
                    let shift = match unit.to_ascii_lowercase().as_str() {
                        "" => 0,
                        "k" => 10,
                        "m" => 20,
                        "g" => 30,
                        "t" => 40,
                        _ => return None,
                    };
                    Some(n.checked_shl(shift)?)
                }
            };
            Some(ReportUri {
                uri: uri.to_owned(),
                max_size,
            })
        })
        .collect()
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        })
    }
}

impl fmt::Display for DmarcRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v=DMARC1; p={}", self.policy)?;
        if let Some(sp) = self.subdomain_policy {
            write!(f, "; sp={sp}")?;
        }
        if self.percent != 100 {
            write!(f, "; pct={}", self.percent)?;
        }
        if self.dkim_alignment == Alignment::Strict {
            f.write_str("; adkim=s")?;
        }
        if self.spf_alignment == Alignment::Strict {
            f.write_str("; aspf=s")?;
        }
        for (tag, uris) in [
            ("rua", &self.aggregate_reports),
            ("ruf", &self.failure_reports),
        ] {
            if uris.is_empty() {
                continue;
            }
            write!(f, "; {tag}=")?;
            for (i, u) in uris.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                f.write_str(&u.uri)?;
                if let Some(size) = u.max_size {
                    write!(f, "!{size}")?;
                }
            }
        }
        if let Some(fo) = &self.failure_options {
            write!(f, "; fo={fo}")?;
        }
        if self.interval != 86_400 {
            write!(f, "; ri={}", self.interval)?;
        }
        Ok(())
    }
}

/// The organizational domain of `domain` (RFC 7489 §3.2): its registrable
/// part by the Public Suffix List, or the name itself when it has none.
pub fn organizational_domain(domain: &str) -> String {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    psl::domain_str(&d).map_or(d.clone(), str::to_owned)
}

/// True when `authenticated` lines up with `from` under `mode`.
pub fn aligned(authenticated: &str, from: &str, mode: Alignment) -> bool {
    let a = authenticated.trim_end_matches('.').to_ascii_lowercase();
    let f = from.trim_end_matches('.').to_ascii_lowercase();
    match mode {
        Alignment::Strict => a == f,
        Alignment::Relaxed => organizational_domain(&a) == organizational_domain(&f),
    }
}

/// The DMARC result (RFC 7489 §11.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmarcResult {
    /// An aligned identity passed.
    Pass,
    /// None did.
    Fail,
    /// The domain publishes no policy.
    None,
    /// The policy could not be looked up now.
    TempError,
}

impl fmt::Display for DmarcResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DmarcResult::Pass => "pass",
            DmarcResult::Fail => "fail",
            DmarcResult::None => "none",
            DmarcResult::TempError => "temperror",
        })
    }
}

/// How a DMARC check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcOutcome {
    /// The result.
    pub result: DmarcResult,
    /// What to do with the message: the policy for a failure (after `pct`
    /// sampling), [`Policy::None`] otherwise.
    pub disposition: Policy,
    /// The policy record found, and the domain it was found at.
    pub record: Option<(String, DmarcRecord)>,
}

/// What the check needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Answer this question with [`DmarcCheck::answer`], then poll again.
    Lookup(Question),
    /// The check is over.
    Done(DmarcOutcome),
}

/// One DMARC check of one message.
#[derive(Clone, Debug)]
pub struct DmarcCheck {
    from_domain: String,
    spf_pass: Vec<String>,
    dkim_pass: Vec<String>,
    sample: u8,
    answers: Vec<(Question, Answer)>,
}

impl DmarcCheck {
    /// A check of mail whose From domain is `from_domain`.
    pub fn new(from_domain: &str) -> Self {
        DmarcCheck {
            from_domain: from_domain.trim_end_matches('.').to_ascii_lowercase(),
            spf_pass: Vec::new(),
            dkim_pass: Vec::new(),
            sample: 0,
            answers: Vec::new(),
        }
    }

    /// SPF passed for this domain (the MAIL FROM domain, or HELO for the null sender).
    pub fn spf_passed(mut self, domain: &str) -> Self {
        self.spf_pass.push(domain.to_owned());
        self
    }

    /// A DKIM signature of this `d=` domain verified.
    pub fn dkim_passed(mut self, domain: &str) -> Self {
        self.dkim_pass.push(domain.to_owned());
        self
    }

    /// The caller's random draw in 0..100 for `pct` (default 0: the policy applies).
    pub fn with_sample(mut self, sample: u8) -> Self {
        self.sample = sample;
        self
    }

    /// The answer to a question [`poll`](Self::poll) asked.
    pub fn answer(&mut self, question: Question, answer: Answer) {
        self.answers.push((question, answer));
    }

    fn known(&self, name: &str) -> Option<&Answer> {
        self.answers
            .iter()
            .find(|(q, _)| q.name == name)
            .map(|(_, a)| a)
    }

    /// The next question, or the outcome.
    pub fn poll(&mut self) -> Step {
        let org = organizational_domain(&self.from_domain);
        let mut places = vec![self.from_domain.clone()];
        if org != self.from_domain {
            places.push(org.clone());
        }
        let mut found = None;
        for place in &places {
            let name = format!("_dmarc.{place}");
            let Some(answer) = self.known(&name) else {
                return Step::Lookup(Question {
                    name,
                    kind: QueryKind::Txt,
                });
            };
            match answer {
                Answer::TempFail => {
                    return Step::Done(DmarcOutcome {
                        result: DmarcResult::TempError,
                        disposition: Policy::None,
                        record: None,
                    });
                }
                Answer::NxDomain => continue,
                Answer::Records(records) => {
                    let dmarc: Vec<&[u8]> = records
                        .iter()
                        .filter_map(|r| match r {
                            Record::Txt(t) if t.starts_with(b"v=DMARC1") => Some(t.as_slice()),
                            _ => None,
                        })
                        .collect();
                    // Exactly one record counts; none or several: look further up.
                    if let [one] = dmarc.as_slice()
                        && let Ok(record) = DmarcRecord::parse(&String::from_utf8_lossy(one))
                    {
                        found = Some((place.clone(), record));
                        break;
                    }
                }
            }
        }
        let Some((place, record)) = found else {
            return Step::Done(DmarcOutcome {
                result: DmarcResult::None,
                disposition: Policy::None,
                record: None,
            });
        };
        let from = &self.from_domain;
        let pass = self
            .spf_pass
            .iter()
            .any(|d| aligned(d, from, record.spf_alignment))
            || self
                .dkim_pass
                .iter()
                .any(|d| aligned(d, from, record.dkim_alignment));
        let disposition = if pass {
            Policy::None
        } else {
            let policy = match record.subdomain_policy {
                Some(sp) if place != *from => sp,
                _ => record.policy,
            };
            // Outside the sample, the next milder policy (RFC 7489 §6.6.4).
            if self.sample >= record.percent {
                match policy {
                    Policy::Reject => Policy::Quarantine,
                    _ => Policy::None,
                }
            } else {
                policy
            }
        };
        Step::Done(DmarcOutcome {
            result: if pass {
                DmarcResult::Pass
            } else {
                DmarcResult::Fail
            },
            disposition,
            record: Some((place, record)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_records_of_rfc_7489() {
        let r =
            DmarcRecord::parse("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com").unwrap();
        assert_eq!(r.policy, Policy::None);
        assert_eq!(
            r.aggregate_reports[0].uri,
            "mailto:dmarc-feedback@example.com"
        );
        let r = DmarcRecord::parse(
            "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m; pct=25; sp=reject; adkim=s",
        )
        .unwrap();
        assert_eq!(
            (r.policy, r.subdomain_policy, r.percent),
            (Policy::Quarantine, Some(Policy::Reject), 25)
        );
        assert_eq!(r.aggregate_reports[1].max_size, Some(10 << 20));
        assert_eq!(r.dkim_alignment, Alignment::Strict);
        assert_eq!(DmarcRecord::parse(&r.to_string()), Ok(r));
        // No p, but a valid rua: p=none.
        assert_eq!(
            DmarcRecord::parse("v=DMARC1; rua=mailto:a@b.example")
                .unwrap()
                .policy,
            Policy::None
        );
        assert_eq!(
            DmarcRecord::parse("v=DMARC1; pct=50"),
            Err(DmarcError::NoPolicy)
        );
        assert_eq!(
            DmarcRecord::parse("v=DMARC1; p=block"),
            Err(DmarcError::BadTag("p"))
        );
        assert_eq!(DmarcRecord::parse("v=spf1 -all"), Err(DmarcError::NotDmarc));
    }

    #[test]
    fn alignment_follows_the_public_suffix_list() {
        assert_eq!(organizational_domain("mail.example.co.uk"), "example.co.uk");
        assert_eq!(organizational_domain("a.b.example.com."), "example.com");
        assert!(aligned(
            "bounce.example.com",
            "example.com",
            Alignment::Relaxed
        ));
        assert!(!aligned(
            "bounce.example.com",
            "example.com",
            Alignment::Strict
        ));
        assert!(!aligned("example.co.uk", "other.co.uk", Alignment::Relaxed));
    }

    fn run(mut check: DmarcCheck, zone: &[(&str, &str)]) -> (DmarcOutcome, Vec<String>) {
        let mut asked = Vec::new();
        loop {
            match check.poll() {
                Step::Lookup(q) => {
                    asked.push(q.name.clone());
                    let records: Vec<Record> = zone
                        .iter()
                        .filter(|(n, _)| *n == q.name)
                        .map(|(_, t)| Record::Txt(t.as_bytes().to_vec()))
                        .collect();
                    let answer = if records.is_empty() {
                        Answer::NxDomain
                    } else {
                        Answer::records(records)
                    };
                    check.answer(q, answer);
                }
                Step::Done(o) => return (o, asked),
            }
        }
    }

    #[test]
    fn the_policy_is_found_at_the_domain_or_its_organization() {
        let zone = [("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine")];
        // Aligned DKIM passes.
        let (o, _) = run(
            DmarcCheck::new("example.com").dkim_passed("mail.example.com"),
            &zone,
        );
        assert_eq!((o.result, o.disposition), (DmarcResult::Pass, Policy::None));
        // A subdomain without its own record gets sp.
        let (o, asked) = run(
            DmarcCheck::new("news.example.com").spf_passed("other.example"),
            &zone,
        );
        assert_eq!(
            (o.result, o.disposition),
            (DmarcResult::Fail, Policy::Quarantine)
        );
        assert_eq!(asked, ["_dmarc.news.example.com", "_dmarc.example.com"]);
        // Outside the pct sample, reject becomes quarantine.
        let zone = [("_dmarc.example.com", "v=DMARC1; p=reject; pct=10")];
        let (o, _) = run(DmarcCheck::new("example.com").with_sample(50), &zone);
        assert_eq!(o.disposition, Policy::Quarantine);
        // No record anywhere.
        let (o, _) = run(DmarcCheck::new("example.org"), &[]);
        assert_eq!(o.result, DmarcResult::None);
    }
}
