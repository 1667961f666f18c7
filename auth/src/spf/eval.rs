//! `check_host()` (RFC 7208 §4): the evaluation, replayed over the answers
//! known so far.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use super::macros::{self, MacroString, MacroValues};
use super::record::{Mechanism, Qualifier, Record};
use crate::dns::{Answer, QueryKind, Question, Record as Rr};

/// The result of an SPF check (RFC 7208 §2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpfResult {
    /// No SPF record, or no domain to check.
    None,
    /// The domain says nothing about this client.
    Neutral,
    /// The client may send for the domain.
    Pass,
    /// The client may not send for the domain.
    Fail,
    /// The client probably may not send for the domain.
    SoftFail,
    /// A transient DNS error: try again later.
    TempError,
    /// The domain's records are wrong: a person must fix them.
    PermError,
}

impl fmt::Display for SpfResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        })
    }
}

/// How a check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpfOutcome {
    /// The result.
    pub result: SpfResult,
    /// For `fail`: the domain's own explanation (`exp=`), when it gave a
    /// usable one; the caller supplies its default otherwise.
    pub explanation: Option<String>,
    /// The domain checked.
    pub domain: String,
    /// What went wrong, for temperror and permerror.
    pub problem: Option<String>,
}

/// What the check needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Answer this question with [`SpfCheck::answer`], then poll again.
    Lookup(Question),
    /// The check is over.
    Done(SpfOutcome),
}

/// One SPF check of one identity.
#[derive(Clone, Debug)]
pub struct SpfCheck {
    ip: IpAddr,
    /// `local-part@domain`.
    sender: String,
    /// Where the `@` is in `sender`.
    at: usize,
    helo: String,
    receiver: String,
    timestamp: u64,
    /// The answers so far, in the order asked (a check asks at most a few dozen).
    answers: Vec<(Question, Answer)>,
    /// Each domain's SPF record once parsed: every poll replays the
    /// evaluation, and a record is parsed only the first time.
    parsed: Vec<(String, Arc<Record>)>,
    /// What each mechanism already evaluated gave, so a replay does not
    /// evaluate it (nor the includes under it) again.
    settled: Vec<Settled>,
    /// Records parsed by earlier checks, by their text.
    cache: Option<Arc<RecordCache>>,
}

/// SPF records already parsed, by their text, shared by many checks (as a
/// resolver's cache is): a check given one parses a record's text only
/// when no check parsed the same text before. The DNS answers are still
/// the caller's to give; only the parsing is saved. Holds at most 4096
/// records, and starts again empty when full.
#[derive(Debug, Default)]
pub struct RecordCache {
    records: std::sync::Mutex<std::collections::HashMap<Box<str>, Arc<Record>>>,
}

/// The most records a [`RecordCache`] holds.
const CACHE_LIMIT: usize = 4096;

impl RecordCache {
    /// An empty cache.
    pub fn new() -> Self {
        RecordCache::default()
    }

    /// The parsed record of `text`, parsed now if no check did before.
    fn parse(&self, text: &str) -> Result<Arc<Record>, super::record::RecordError> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(record) = records.get(text) {
            return Ok(record.clone());
        }
        let record = Arc::new(Record::parse(text)?);
        if records.len() >= CACHE_LIMIT {
            records.clear();
        }
        records.insert(text.into(), record.clone());
        Ok(record)
    }
}

/// A mechanism whose evaluation finished: where it is, what it gave, and
/// the lookups it used (added again on each replay, which runs the same way).
#[derive(Clone, Debug)]
struct Settled {
    /// The record's place in `parsed`.
    record: usize,
    depth: usize,
    index: usize,
    matched: bool,
    lookups: usize,
    voids: usize,
}

/// The deepest include/redirect nesting followed (the 10-lookup limit
/// stops loops first; this bounds the stack whatever the answers).
const MAX_DEPTH: usize = 12;
/// DNS mechanisms and redirects one check may use (RFC 7208 §4.6.4).
const MAX_LOOKUPS: usize = 10;
/// Lookups answered with no records one check may make.
const MAX_VOID: usize = 2;
/// MX records and PTR names one mechanism may follow.
const MAX_NAMES: usize = 10;

impl SpfCheck {
    /// Checks the MAIL FROM identity (`mail_from` empty: the HELO identity,
    /// as RFC 7208 §2.4 asks for the null sender).
    pub fn mail_from(ip: IpAddr, mail_from: &str, helo: &str) -> Self {
        if mail_from.is_empty() {
            return SpfCheck::helo(ip, helo);
        }
        let (local, domain) = match mail_from.rsplit_once('@') {
            Some((l, d)) => (l, d),
            None => ("", mail_from),
        };
        SpfCheck::new(ip, local, domain, helo)
    }

    /// Checks the HELO identity.
    pub fn helo(ip: IpAddr, helo: &str) -> Self {
        SpfCheck::new(ip, "", helo, helo)
    }

    fn new(ip: IpAddr, local: &str, domain: &str, helo: &str) -> Self {
        let local = if local.is_empty() {
            "postmaster"
        } else {
            local
        };
        // An IPv4-mapped IPv6 client is the IPv4 client it stands for.
        let ip = match ip {
            IpAddr::V6(a) => a.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        SpfCheck {
            ip,
            sender: [local, "@", domain].concat(),
            at: local.len(),
            helo: helo.to_owned(),
            receiver: String::new(),
            timestamp: 0,
            // Room for a typical check (a few includes, a or mx) at once.
            answers: Vec::with_capacity(8),
            parsed: Vec::with_capacity(4),
            settled: Vec::with_capacity(8),
            cache: None,
        }
    }

    /// Parses records through `cache`, sharing them with other checks.
    pub fn with_cache(mut self, cache: Arc<RecordCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The domain checked.
    fn domain(&self) -> &str {
        &self.sender[self.at + 1..]
    }

    /// The receiving host's name, for `%{r}` in explanations.
    pub fn with_receiver(mut self, name: &str) -> Self {
        self.receiver = name.to_owned();
        self
    }

    /// The current time (seconds since the epoch), for `%{t}`.
    pub fn at_time(mut self, unix_seconds: u64) -> Self {
        self.timestamp = unix_seconds;
        self
    }

    /// The next question, or the outcome.
    pub fn poll(&mut self) -> Step {
        let mut parsed = std::mem::take(&mut self.parsed);
        let mut settled = std::mem::take(&mut self.settled);
        let mut run = Run {
            check: self,
            parsed: &mut parsed,
            settled: &mut settled,
            lookups: 0,
            voids: 0,
        };
        let outcome = run.check_host(self.domain(), 0);
        self.parsed = parsed;
        self.settled = settled;
        match outcome {
            Ok((result, explanation)) => Step::Done(SpfOutcome {
                result,
                explanation,
                domain: self.domain().to_owned(),
                problem: None,
            }),
            Err(Stop::Need(q)) => Step::Lookup(q),
            Err(Stop::Error(result, problem)) => Step::Done(SpfOutcome {
                result,
                explanation: None,
                domain: self.domain().to_owned(),
                problem: Some(problem),
            }),
        }
    }

    /// The answer to a question [`poll`](Self::poll) asked.
    pub fn answer(&mut self, question: Question, answer: Answer) {
        match self.answers.iter_mut().find(|(q, _)| *q == question) {
            Some((_, a)) => *a = answer,
            None => self.answers.push((question, answer)),
        }
    }
}

/// Why an evaluation stopped before its end.
enum Stop {
    /// It needs this answer first.
    Need(Question),
    /// temperror or permerror, and why.
    Error(SpfResult, String),
}

type Flow<T> = Result<T, Stop>;

fn perm<T>(why: impl Into<String>) -> Flow<T> {
    Err(Stop::Error(SpfResult::PermError, why.into()))
}

fn temp<T>(why: impl Into<String>) -> Flow<T> {
    Err(Stop::Error(SpfResult::TempError, why.into()))
}

/// One replay of the evaluation.
struct Run<'c> {
    check: &'c SpfCheck,
    parsed: &'c mut Vec<(String, Arc<Record>)>,
    settled: &'c mut Vec<Settled>,
    lookups: usize,
    voids: usize,
}

/// A name as DNS is asked about it: lowercase, without the trailing dot.
fn normal(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// `name` when it already is as DNS is asked about it (no trailing dot,
/// lowercase, at most 253 octets).
fn as_asked(name: &str) -> Option<&str> {
    let fits =
        name.len() <= 253 && !name.ends_with('.') && !name.bytes().any(|b| b.is_ascii_uppercase());
    fits.then_some(name)
}

/// RFC 7208 §4.3: a multi-label name of non-empty labels of at most 63 octets.
fn valid_domain(domain: &str) -> bool {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    d.len() <= 253 && d.contains('.') && labels_fit(d)
}

/// True when every label of `name` is 1 to 63 octets long.
fn labels_fit(name: &str) -> bool {
    let mut label = 0usize;
    for &b in name.as_bytes() {
        if b == b'.' {
            if label == 0 {
                return false;
            }
            label = 0;
        } else {
            label += 1;
            if label > 63 {
                return false;
            }
        }
    }
    label > 0
}

impl<'c> Run<'c> {
    /// The answer to a question, or a stop to ask it.
    fn ask(&self, name: &str, kind: QueryKind) -> Flow<&'c Answer> {
        let bare = name.strip_suffix('.').unwrap_or(name);
        let known = self
            .check
            .answers
            .iter()
            .find(|(q, _)| q.kind == kind && q.name.eq_ignore_ascii_case(bare));
        match known {
            Some((_, a)) => Ok(a),
            None => Err(Stop::Need(Question {
                name: normal(name),
                kind,
            })),
        }
    }

    /// The records of `kind` at `name`: `None` when the name does not
    /// exist; a stop with temperror when the lookup failed.
    fn records(
        &self,
        name: &str,
        kind: QueryKind,
    ) -> Flow<Option<impl Iterator<Item = &'c Rr> + Clone + 'c>> {
        Ok(self.answered(name, kind)?.map(move |r| {
            r.iter().filter(move |r| {
                matches!(
                    (r, kind),
                    (Rr::Txt(_), QueryKind::Txt)
                        | (Rr::A(_), QueryKind::A)
                        | (Rr::Aaaa(_), QueryKind::Aaaa)
                        | (Rr::Mx { .. }, QueryKind::Mx)
                        | (Rr::Ptr(_), QueryKind::Ptr)
                )
            })
        }))
    }

    /// The records answered for `name` (of any type): `None` when the
    /// name does not exist; a stop with temperror when the lookup failed.
    fn answered(&self, name: &str, kind: QueryKind) -> Flow<Option<&'c [Rr]>> {
        match self.ask(name, kind)? {
            Answer::TempFail => temp(format!("DNS failure for {name}")),
            Answer::NxDomain => Ok(None),
            Answer::Records(r) => Ok(Some(r)),
        }
    }

    /// The SPF record of `domain`, parsed and kept for later replays;
    /// `None` when it has none.
    fn record(&mut self, domain: &str) -> Flow<Option<Arc<Record>>> {
        let Some(txt) = self.records(domain, QueryKind::Txt)? else {
            return Ok(None);
        };
        let mut spf = txt.filter_map(|r| match r {
            Rr::Txt(t) if Record::is_spf(t) => Some(t.as_slice()),
            _ => None,
        });
        let text = match (spf.next(), spf.next()) {
            (None, _) => return Ok(None),
            (Some(one), None) => one,
            (Some(_), Some(_)) => return perm(format!("{domain} has more than one SPF record")),
        };
        let Ok(text) = std::str::from_utf8(text) else {
            return perm(format!("{domain}: the SPF record is not text"));
        };
        let parsed = match &self.check.cache {
            Some(cache) => cache.parse(text),
            None => Record::parse(text).map(Arc::new),
        };
        let record = match parsed {
            Ok(r) => r,
            Err(e) => return perm(format!("{domain}: {e}")),
        };
        self.parsed.push((domain.to_owned(), record.clone()));
        Ok(Some(record))
    }

    fn count_lookup(&mut self) -> Flow<()> {
        self.lookups += 1;
        if self.lookups > MAX_LOOKUPS {
            return perm("more than 10 DNS lookups");
        }
        Ok(())
    }

    fn count_void(&mut self) -> Flow<()> {
        self.voids += 1;
        if self.voids > MAX_VOID {
            return perm("more than 2 lookups found nothing");
        }
        Ok(())
    }

    /// check_host(): the result and, for fail, the explanation.
    fn check_host(&mut self, domain: &str, depth: usize) -> Flow<(SpfResult, Option<String>)> {
        if depth > MAX_DEPTH {
            return perm("includes nested too deeply");
        }
        if !valid_domain(domain) {
            return Ok((SpfResult::None, None));
        }
        let known = self.parsed.iter().position(|(d, _)| d == domain);
        let (place, record) = match known {
            Some(place) => (place, self.parsed[place].1.clone()),
            None => match self.record(domain)? {
                Some(record) => (self.parsed.len() - 1, record),
                None => return Ok((SpfResult::None, None)),
            },
        };
        for (index, d) in record.directives().enumerate() {
            if self.settle(&d.mechanism, domain, place, depth, index)? {
                let result = match d.qualifier.unwrap_or(Qualifier::Pass) {
                    Qualifier::Pass => SpfResult::Pass,
                    Qualifier::Fail => SpfResult::Fail,
                    Qualifier::SoftFail => SpfResult::SoftFail,
                    Qualifier::Neutral => SpfResult::Neutral,
                };
                let explanation = match result {
                    SpfResult::Fail => self.explain(&record, domain)?,
                    _ => None,
                };
                return Ok((result, explanation));
            }
        }
        if let Some(target) = record.redirect() {
            self.count_lookup()?;
            let target = self.expand_domain(target, domain)?;
            return match self.check_host(&target, depth + 1)? {
                (SpfResult::None, _) => {
                    perm(format!("redirect to {target}, which has no SPF record"))
                }
                found => Ok(found),
            };
        }
        Ok((SpfResult::Neutral, None))
    }

    /// [`Run::matches`], or what it gave on an earlier replay.
    fn settle(
        &mut self,
        mechanism: &Mechanism,
        domain: &str,
        place: usize,
        depth: usize,
        index: usize,
    ) -> Flow<bool> {
        let known = self
            .settled
            .iter()
            .find(|s| s.index == index && s.depth == depth && s.record == place);
        if let Some(s) = known {
            self.lookups += s.lookups;
            self.voids += s.voids;
            return Ok(s.matched);
        }
        let (lookups, voids) = (self.lookups, self.voids);
        let matched = self.matches(mechanism, domain, depth)?;
        self.settled.push(Settled {
            record: place,
            depth,
            index,
            matched,
            lookups: self.lookups - lookups,
            voids: self.voids - voids,
        });
        Ok(matched)
    }

    fn matches(&mut self, mechanism: &Mechanism, domain: &str, depth: usize) -> Flow<bool> {
        let ip = self.check.ip;
        match mechanism {
            Mechanism::All => Ok(true),
            Mechanism::Ip4(net, len) => Ok(match ip {
                IpAddr::V4(a) => in_prefix(&a.octets(), &net.octets(), len.unwrap_or(32)),
                IpAddr::V6(_) => false,
            }),
            Mechanism::Ip6(net, len) => Ok(match ip {
                IpAddr::V6(a) => in_prefix(&a.octets(), &net.octets(), len.unwrap_or(128)),
                IpAddr::V4(_) => false,
            }),
            Mechanism::Include(target) => {
                self.count_lookup()?;
                let target = self.expand_domain(target, domain)?;
                match self.check_host(&target, depth + 1)? {
                    (SpfResult::Pass, _) => Ok(true),
                    (SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral, _) => Ok(false),
                    _ => perm(format!("include:{target} has no SPF record")),
                }
            }
            Mechanism::A(target, cidr) => {
                self.count_lookup()?;
                let target = self.target(target.as_ref(), domain)?;
                let mut addresses = self.addresses(&target, true)?;
                Ok(addresses.any(|a| self.in_cidr(&a, cidr.v4, cidr.v6)))
            }
            Mechanism::Mx(target, cidr) => {
                self.count_lookup()?;
                let target = self.target(target.as_ref(), domain)?;
                let Some(mx) = self.records(&target, QueryKind::Mx)? else {
                    self.count_void()?;
                    return Ok(false);
                };
                match mx.clone().count() {
                    0 => {
                        self.count_void()?;
                        return Ok(false);
                    }
                    n if n > MAX_NAMES => {
                        return perm(format!("{target} has more than 10 MX records"));
                    }
                    _ => {}
                }
                for r in mx {
                    let Rr::Mx { exchange, .. } = r else { continue };
                    let mut addresses = self.addresses(exchange, false)?;
                    if addresses.any(|a| self.in_cidr(&a, cidr.v4, cidr.v6)) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Mechanism::Ptr(target) => {
                self.count_lookup()?;
                let target = self.target(target.as_ref(), domain)?;
                let names = self.validated_names()?;
                Ok(names
                    .iter()
                    .any(|n| n == &target || n.ends_with(&format!(".{target}"))))
            }
            Mechanism::Exists(target) => {
                self.count_lookup()?;
                let target = self.target(Some(target), domain)?;
                let found = self
                    .records(&target, QueryKind::A)?
                    .is_some_and(|mut a| a.next().is_some());
                if !found {
                    self.count_void()?;
                }
                Ok(found)
            }
        }
    }

    /// The name a mechanism looks at: its domain-spec expanded, or the
    /// current domain. A name DNS cannot hold (an empty label, one over 63
    /// octets) is permerror, one of the two results RFC 7208 allows.
    fn target<'a>(&mut self, spec: Option<&'a MacroString>, domain: &'a str) -> Flow<Cow<'a, str>> {
        let name = match spec {
            Some(m) => self.expand_domain(m, domain)?,
            None => match as_asked(domain) {
                Some(name) => Cow::Borrowed(name),
                None => Cow::Owned(normal(domain)),
            },
        };
        if !labels_fit(&name) {
            return perm(format!("{name} is not a valid domain name"));
        }
        Ok(name)
    }

    /// The addresses of `name` in the client's family; a name with none
    /// counts as a void lookup when `void_counts`.
    fn addresses(
        &mut self,
        name: &str,
        void_counts: bool,
    ) -> Flow<impl Iterator<Item = IpAddr> + Clone + 'c> {
        let kind = match self.check.ip {
            IpAddr::V4(_) => QueryKind::A,
            IpAddr::V6(_) => QueryKind::Aaaa,
        };
        let found = self
            .answered(name, kind)?
            .unwrap_or_default()
            .iter()
            .filter_map(move |r| match (r, kind) {
                (Rr::A(a), QueryKind::A) => Some(IpAddr::V4(*a)),
                (Rr::Aaaa(a), QueryKind::Aaaa) => Some(IpAddr::V6(*a)),
                _ => None,
            });
        if void_counts && found.clone().next().is_none() {
            self.count_void()?;
        }
        Ok(found)
    }

    fn in_cidr(&self, a: &IpAddr, v4: Option<u8>, v6: Option<u8>) -> bool {
        match (self.check.ip, a) {
            (IpAddr::V4(ip), IpAddr::V4(a)) => {
                in_prefix(&ip.octets(), &a.octets(), v4.unwrap_or(32))
            }
            (IpAddr::V6(ip), IpAddr::V6(a)) => {
                in_prefix(&ip.octets(), &a.octets(), v6.unwrap_or(128))
            }
            _ => false,
        }
    }

    /// The client's names that resolve back to it (at most 10 tried).
    fn validated_names(&mut self) -> Flow<Vec<String>> {
        let reverse = match self.check.ip {
            IpAddr::V4(a) => {
                let o = a.octets();
                format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
            }
            IpAddr::V6(a) => {
                let mut n = macros::nibbles(&a.octets()).to_ascii_lowercase();
                n = n.split('.').rev().collect::<Vec<_>>().join(".");
                format!("{n}.ip6.arpa")
            }
        };
        let names = match self.records(&reverse, QueryKind::Ptr) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(Vec::new()),
            // A failed PTR lookup makes the mechanism not match (RFC 7208 §5.5).
            Err(Stop::Error(..)) => return Ok(Vec::new()),
            Err(need) => return Err(need),
        };
        let mut validated = Vec::new();
        for r in names.take(MAX_NAMES) {
            let Rr::Ptr(name) = r else { continue };
            match self.addresses(name, false) {
                Ok(a) if a.clone().any(|a| a == self.check.ip) => validated.push(normal(name)),
                Ok(_) | Err(Stop::Error(..)) => {}
                Err(need) => return Err(need),
            }
        }
        Ok(validated)
    }

    /// `%{p}`: a validated name, one within `domain` first.
    fn validated_for(&mut self, domain: &str) -> Flow<String> {
        let names = self.validated_names()?;
        let d = normal(domain);
        let within = names
            .iter()
            .find(|n| **n == d || n.ends_with(&format!(".{d}")));
        Ok(within
            .or(names.first())
            .cloned()
            .unwrap_or_else(|| "unknown".to_owned()))
    }

    fn expand(&mut self, m: &MacroString, domain: &str) -> Flow<String> {
        if let Some(text) = m.literal() {
            return Ok(text.to_owned());
        }
        let validated = if macros::uses_p(m) {
            Some(self.validated_for(domain)?)
        } else {
            None
        };
        let c = self.check;
        let values = MacroValues {
            sender: &c.sender,
            local_part: &c.sender[..c.at],
            sender_domain: c.domain(),
            domain,
            ip: c.ip,
            helo: &c.helo,
            receiver: if c.receiver.is_empty() {
                "unknown"
            } else {
                &c.receiver
            },
            timestamp: c.timestamp,
            validated: validated.as_deref(),
        };
        Ok(macros::expand(m, &values))
    }

    /// A domain-spec expanded (RFC 7208 §7.3): no trailing dot, and left
    /// labels dropped until it fits in 253 octets.
    fn expand_domain<'m>(&mut self, m: &'m MacroString, domain: &str) -> Flow<Cow<'m, str>> {
        if let Some(name) = m.literal().and_then(as_asked) {
            return Ok(Cow::Borrowed(name));
        }
        let mut name = self.expand(m, domain)?;
        if name.ends_with('.') {
            name.pop();
        }
        while name.len() > 253 {
            match name.find('.') {
                Some(dot) => {
                    name.drain(..=dot);
                }
                None => break,
            }
        }
        name.make_ascii_lowercase();
        Ok(Cow::Owned(name))
    }

    /// The domain's own explanation of a fail (RFC 7208 §6.2), if usable.
    fn explain(&mut self, record: &Record, domain: &str) -> Flow<Option<String>> {
        let Some(exp) = record.exp() else {
            return Ok(None);
        };
        let target = self.expand_domain(exp, domain)?;
        if !valid_domain(&target) {
            return Ok(None);
        }
        let mut txt = match self.records(&target, QueryKind::Txt) {
            Ok(Some(t)) => t,
            Ok(None) | Err(Stop::Error(..)) => return Ok(None),
            Err(need) => return Err(need),
        };
        let (Some(Rr::Txt(text)), None) = (txt.next(), txt.next()) else {
            return Ok(None);
        };
        let Ok(text) = std::str::from_utf8(text) else {
            return Ok(None);
        };
        match MacroString::parse(text, true) {
            Ok(m) => Ok(Some(self.expand(&m, domain)?)),
            Err(_) => Ok(None),
        }
    }
}

/// True when `a` and `b` agree on the first `len` bits.
fn in_prefix(a: &[u8], b: &[u8], len: u8) -> bool {
    let len = usize::from(len).min(a.len() * 8);
    let (whole, bits) = (len / 8, len % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    bits == 0 || {
        let mask = 0xFFu8 << (8 - bits);
        a[whole] & mask == b[whole] & mask
    }
}
