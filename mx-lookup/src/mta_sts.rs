//! MTA-STS (RFC 8461): the `_mta-sts` TXT record and the policy a domain
//! publishes at `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`, read and
//! written, and the policy's test of an MX host name. Fetching the policy
//! over HTTPS and caching it are the caller's: this module does no I/O.

use std::collections::HashMap;
use std::fmt;

use crate::{DeliveryPlan, MxHost};

/// The longest `max_age` a policy may give: one year, in seconds.
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

/// The largest policy file accepted, in octets (RFC 8461 §3.3 lets a
/// sender refuse larger ones; 64 KiB is what it suggests).
pub const MAX_POLICY_SIZE: usize = 64 * 1024;

/// Why a record or policy is not usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StsError {
    /// The TXT record does not start with `v=STSv1`, or its `id` is missing or malformed.
    #[error("not an MTA-STS record: {0}")]
    Record(&'static str),
    /// The policy file is malformed.
    #[error("malformed MTA-STS policy: {0}")]
    Policy(String),
}

/// The `_mta-sts.DOMAIN` TXT record: a policy exists, and which version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsRecord {
    /// The policy's id (1 to 32 letters and digits): a new id means a new policy.
    pub id: String,
}

impl StsRecord {
    /// Parses one TXT record's text (its character-strings joined).
    pub fn parse(text: &str) -> Result<StsRecord, StsError> {
        let mut fields = text.split(';');
        // The version comes first, with nothing before it.
        let first = fields.next().unwrap_or_default().trim_end();
        let fields = fields.map(str::trim);
        if first != "v=STSv1" {
            return Err(StsError::Record("it does not start with v=STSv1"));
        }
        let mut id = None;
        for field in fields.filter(|f| !f.is_empty()) {
            let Some((name, value)) = field.split_once('=') else {
                return Err(StsError::Record("a field is not name=value"));
            };
            let name_ok = !name.is_empty()
                && name.len() <= 32
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
            if !name_ok {
                return Err(StsError::Record("a field name is malformed"));
            }
            if name == "id" {
                if id.is_some() {
                    return Err(StsError::Record("id is given twice"));
                }
                let ok = (1..=32).contains(&value.len())
                    && value.bytes().all(|b| b.is_ascii_alphanumeric());
                if !ok {
                    return Err(StsError::Record("id is not 1 to 32 letters and digits"));
                }
                id = Some(value.to_owned());
            }
        }
        let id = id.ok_or(StsError::Record("no id"))?;
        Ok(StsRecord { id })
    }

    /// The one MTA-STS record among a name's TXT records: several, or
    /// none, means the domain has no policy (RFC 8461 §3.1).
    pub fn from_records<'t>(texts: impl IntoIterator<Item = &'t str>) -> Option<StsRecord> {
        let mut found: Vec<&str> = texts
            .into_iter()
            .filter(|t| t.starts_with("v=STSv1"))
            .collect();
        match found.len() {
            1 => StsRecord::parse(found.remove(0)).ok(),
            _ => None,
        }
    }
}

impl fmt::Display for StsRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v=STSv1; id={}", self.id)
    }
}

/// What a sender does with the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Deliver only to matching MX hosts over TLS with a valid certificate.
    Enforce,
    /// Deliver as usual; report what enforcement would have refused.
    Testing,
    /// The domain withdrew its policy.
    None,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

/// A domain's policy (RFC 8461 §3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// What to do with it.
    pub mode: Mode,
    /// Seconds the policy may be cached, at most [`MAX_AGE_LIMIT`].
    pub max_age: u64,
    /// The MX host patterns: names, or `*.` and a name for one label more.
    pub mx: Vec<String>,
}

impl Policy {
    /// Parses a policy file (lines of `key: value`, CRLF or LF). Unknown
    /// keys are ignored; `version`, `mode` and `max_age` must be there,
    /// and `mx` unless the mode is `none`.
    pub fn parse(text: &str) -> Result<Policy, StsError> {
        let bad = |why: &str| Err(StsError::Policy(why.to_owned()));
        if text.len() > MAX_POLICY_SIZE {
            return bad("larger than 64 KiB");
        }
        let (mut version, mut mode, mut max_age) = (None, None, None);
        let mut mx = Vec::new();
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return bad("a line is not key: value");
            };
            let (key, value) = (key.trim(), value.trim());
            let first = |slot: &mut Option<String>| match slot {
                Some(_) => Err(StsError::Policy(format!("{key} is given twice"))),
                None => {
                    *slot = Some(value.to_owned());
                    Ok(())
                }
            };
            match key {
                "version" => first(&mut version)?,
                "mode" => first(&mut mode)?,
                "max_age" => first(&mut max_age)?,
                "mx" => {
                    if !valid_pattern(value) {
                        return Err(StsError::Policy(format!(
                            "mx {value:?} is not a host name pattern"
                        )));
                    }
                    mx.push(value.trim_end_matches('.').to_ascii_lowercase());
                }
                _ => {}
            }
        }
        if version.as_deref() != Some("STSv1") {
            return bad("version is not STSv1");
        }
        let mode = match mode.as_deref() {
            Some("enforce") => Mode::Enforce,
            Some("testing") => Mode::Testing,
            Some("none") => Mode::None,
            _ => return bad("mode is not enforce, testing or none"),
        };
        let max_age = match max_age.as_deref() {
            Some(v) if (1..=10).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) => v
                .parse::<u64>()
                .map_or(MAX_AGE_LIMIT, |n| n.min(MAX_AGE_LIMIT)),
            _ => return bad("max_age is not a number of seconds"),
        };
        if mx.is_empty() && mode != Mode::None {
            return bad("no mx");
        }
        Ok(Policy { mode, max_age, mx })
    }

    /// True when the policy allows delivery to the MX host `host` (RFC 8461
    /// §4.1): equal to a pattern, or one label more than a `*.` pattern.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.mx
            .iter()
            .any(|pattern| match pattern.strip_prefix("*.") {
                Some(parent) => host.split_once('.').is_some_and(|(first, rest)| {
                    !first.is_empty() && rest.eq_ignore_ascii_case(parent)
                }),
                None => host.eq_ignore_ascii_case(pattern),
            })
    }
}

impl fmt::Display for Policy {
    /// The policy file, CRLF line ends.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "version: STSv1\r\nmode: {}\r\n", self.mode.name())?;
        for mx in &self.mx {
            write!(f, "mx: {mx}\r\n")?;
        }
        write!(f, "max_age: {}\r\n", self.max_age)
    }
}

impl Policy {
    /// Splits a delivery plan by the policy: the hosts it allows, in the
    /// plan's order, and those it does not. In `enforce` mode only the
    /// allowed ones may be tried (over TLS with a valid certificate); in
    /// `testing` mode all may, the others only reported; `none` allows all.
    pub fn split(&self, plan: &DeliveryPlan) -> (Vec<MxHost>, Vec<MxHost>) {
        if self.mode == Mode::None {
            return (plan.hosts.clone(), Vec::new());
        }
        plan.hosts
            .iter()
            .cloned()
            .partition(|h| self.allows(&h.name))
    }
}

/// Policies of the domains mail went to, kept for their `max_age` (RFC
/// 8461 §5.1). Times are seconds since the epoch, given by the caller.
#[derive(Clone, Debug, Default)]
pub struct PolicyCache {
    entries: HashMap<String, Cached>,
}

#[derive(Clone, Debug)]
struct Cached {
    id: String,
    policy: Policy,
    fetched: u64,
}

impl PolicyCache {
    /// The policy of `domain` still in force at `now`.
    pub fn get(&self, domain: &str, now: u64) -> Option<&Policy> {
        let c = self.entries.get(&domain.to_ascii_lowercase())?;
        (now < c.fetched.saturating_add(c.policy.max_age)).then_some(&c.policy)
    }

    /// True when the domain's TXT record `record` calls for fetching its
    /// policy: none is kept, the kept one expired, or the record names
    /// another id. With no record found (or none could be looked up) nothing
    /// is fetched, and a kept policy stays in force until its `max_age`.
    pub fn needs_fetch(&self, domain: &str, record: Option<&StsRecord>, now: u64) -> bool {
        let Some(record) = record else {
            return false;
        };
        match self.entries.get(&domain.to_ascii_lowercase()) {
            None => true,
            Some(c) => c.id != record.id || self.get(domain, now).is_none(),
        }
    }

    /// Keeps `policy`, fetched at `now` for the record `id`.
    pub fn store(&mut self, domain: &str, id: &str, policy: Policy, now: u64) {
        let cached = Cached {
            id: id.to_owned(),
            policy,
            fetched: now,
        };
        self.entries.insert(domain.to_ascii_lowercase(), cached);
    }
}

/// A host name, or `*.` and a host name of at least two labels.
fn valid_pattern(value: &str) -> bool {
    let name = value.trim_end_matches('.');
    let (name, wildcard) = match name.strip_prefix("*.") {
        Some(rest) => (rest, true),
        None => (name, false),
    };
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && (!wildcard || labels.len() >= 2)
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_examples_of_rfc_8461() {
        let record = StsRecord::parse("v=STSv1; id=20160831085700Z;").unwrap();
        assert_eq!(record.id, "20160831085700Z");
        assert_eq!(record.to_string(), "v=STSv1; id=20160831085700Z");
        let policy = Policy::parse(
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n",
        )
        .unwrap();
        assert_eq!(policy.mode, Mode::Enforce);
        assert_eq!(policy.max_age, 604_800);
        assert_eq!(
            policy.mx,
            ["mail.example.com", "*.example.net", "backupmx.example.com"]
        );
        assert!(policy.allows("mail.example.com"));
        assert!(policy.allows("MAIL.Example.COM."));
        assert!(policy.allows("mx1.example.net"));
        // The wildcard stands for exactly one label.
        assert!(!policy.allows("example.net"));
        assert!(!policy.allows("a.b.example.net"));
        assert!(!policy.allows("mail.example.org"));
    }

    #[test]
    fn records_that_are_not_one_valid_sts_record_mean_no_policy() {
        for bad in [
            "v=STSv2; id=1",
            "v=STSv1",
            "v=STSv1; id=",
            "v=STSv1; id=has space",
            "v=STSv1; id=123456789012345678901234567890123",
            "v=STSv1; id=1; id=2",
            " v=STSv1; id=1",
        ] {
            assert!(StsRecord::parse(bad).is_err(), "{bad}");
        }
        // Unknown fields are fine.
        assert!(StsRecord::parse("v=STSv1; id=1; ext=x").is_ok());
        assert_eq!(
            StsRecord::from_records(["v=spf1 -all", "v=STSv1; id=abc"]),
            Some(StsRecord { id: "abc".into() })
        );
        assert_eq!(
            StsRecord::from_records(["v=STSv1; id=a", "v=STSv1; id=b"]),
            None
        );
        assert_eq!(StsRecord::from_records(["v=spf1 -all"]), None);
    }

    #[test]
    fn plans_split_by_the_policy_and_policies_are_kept_for_max_age() {
        let host = |name: &str| MxHost {
            preference: 10,
            name: name.into(),
            addresses: vec!["192.0.2.1".parse().unwrap()],
        };
        let plan = DeliveryPlan {
            domain: "example.com".into(),
            hosts: vec![
                host("mx1.example.com"),
                host("evil.example.org"),
                host("mx2.example.com"),
            ],
            implicit: false,
            authenticated: false,
        };
        let policy =
            Policy::parse("version: STSv1\nmode: enforce\nmx: *.example.com\nmax_age: 100\n")
                .unwrap();
        let (allowed, refused) = policy.split(&plan);
        let names = |h: &[MxHost]| h.iter().map(|h| h.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&allowed), ["mx1.example.com", "mx2.example.com"]);
        assert_eq!(names(&refused), ["evil.example.org"]);
        let none = Policy {
            mode: Mode::None,
            ..policy.clone()
        };
        assert_eq!(none.split(&plan).0.len(), 3);

        let mut cache = PolicyCache::default();
        let record = StsRecord { id: "one".into() };
        assert!(cache.needs_fetch("example.com", Some(&record), 1000));
        assert!(
            !cache.needs_fetch("example.com", None, 1000),
            "no record, nothing kept: no policy"
        );
        cache.store("Example.COM", "one", policy.clone(), 1000);
        assert_eq!(cache.get("example.com", 1099), Some(&policy));
        assert!(!cache.needs_fetch("example.com", Some(&record), 1050));
        // The record vanishing does not drop a policy in force.
        assert!(!cache.needs_fetch("example.com", None, 1050));
        // A new id, or max_age passed, means fetching again.
        assert!(cache.needs_fetch("example.com", Some(&StsRecord { id: "two".into() }), 1050));
        assert_eq!(cache.get("example.com", 1100), None);
        assert!(cache.needs_fetch("example.com", Some(&record), 1100));
    }

    #[test]
    fn malformed_policies_are_refused_with_the_reason() {
        let refused = |text: &str, why: &str| {
            let e = Policy::parse(text).unwrap_err().to_string();
            assert!(e.contains(why), "{text:?}: {e}");
        };
        refused("mode: enforce\nmx: a.example\nmax_age: 1\n", "version");
        refused(
            "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",
            "mode",
        );
        refused("version: STSv1\nmode: enforce\nmax_age: 1\n", "no mx");
        refused(
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
            "max_age",
        );
        refused(
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n",
            "max_age",
        );
        refused(
            "version: STSv1\nmode: enforce\nmx: *.com\nmax_age: 1\n",
            "pattern",
        );
        refused(
            "version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n",
            "pattern",
        );
        refused(
            "version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 1\n",
            "twice",
        );
        refused("version: STSv1\ngarbage\n", "key: value");
        refused(&"x".repeat(MAX_POLICY_SIZE + 1), "64 KiB");
        // mode none needs no mx; max_age over a year is cut to a year; unknown keys are skipped.
        let p =
            Policy::parse("version: STSv1\nmode: none\nmax_age: 99999999\nfuture: yes\n").unwrap();
        assert_eq!(
            (p.mode, p.max_age, p.mx.len()),
            (Mode::None, MAX_AGE_LIMIT, 0)
        );
    }
}
