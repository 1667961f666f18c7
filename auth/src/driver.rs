//! An async driver (feature `tokio`): every question of a check answered
//! over DNS by `sansmail-mx`'s resolver, the same machinery that finds MX
//! hosts (retries across servers, TCP after truncation, CNAME chains).
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use sansmail_auth::driver::Resolver;
//! use sansmail_auth::spf::SpfCheck;
//!
//! let resolver = Resolver::system()?;
//! let check = SpfCheck::mail_from("192.0.2.1".parse().unwrap(), "ann@example.org", "mx.example.org");
//! let outcome = resolver.spf(check).await;
//! println!("spf={}", outcome.result);
//! # Ok(()) }
//! ```

use sansmail_mx::driver::{ResolveError, random_seed, records, system_nameservers};
use sansmail_mx::{InputError, MxError, RData, RecordType};

/// The resolver's settings: name servers, timeouts, attempts, query limits.
pub use sansmail_mx::Config;

use crate::arc::{self, ArcOutcome, ArcVerifier};
use crate::dkim::{self, DkimVerifier, SignatureResult};
use crate::dmarc::{self, DmarcCheck, DmarcOutcome};
use crate::dns::{Answer, QueryKind, Question, Record};
use crate::spf::{self, SpfCheck, SpfOutcome};

/// Answers the questions of checks from DNS.
#[derive(Clone, Debug)]
pub struct Resolver {
    config: Config,
}

impl Resolver {
    /// A resolver with `config` (name servers, timeouts, query limits).
    pub fn new(config: Config) -> Self {
        Resolver { config }
    }

    /// A resolver asking the name servers of `/etc/resolv.conf`.
    pub fn system() -> std::io::Result<Self> {
        Ok(Resolver::new(Config::new(
            system_nameservers()?,
            random_seed(),
        )))
    }

    /// The answer to one question: its records, NXDOMAIN, or a temporary
    /// failure when no server answered usefully.
    pub async fn answer(&self, question: &Question) -> Answer {
        let rtype = match question.kind {
            QueryKind::Txt => RecordType::TXT,
            QueryKind::A => RecordType::A,
            QueryKind::Aaaa => RecordType::AAAA,
            QueryKind::Mx => RecordType::MX,
            QueryKind::Ptr => RecordType::PTR,
        };
        match records(&question.name, rtype, self.config.clone()).await {
            Ok(found) => Answer::records(found.iter().filter_map(record).collect::<Vec<_>>()),
            Err(ResolveError::Lookup(MxError::NxDomain { .. })) => Answer::NxDomain,
            // A name no server could hold (an empty label, over 255 octets) does not exist.
            Err(ResolveError::Input(InputError::NotAHostname { .. } | InputError::TooLong)) => {
                Answer::NxDomain
            }
            // No name server configured, or no socket: nothing was asked.
            Err(_) => Answer::TempFail,
        }
    }

    /// Runs an SPF check to its result.
    pub async fn spf(&self, check: SpfCheck) -> SpfOutcome {
        self.run(check).await
    }

    /// Verifies every DKIM signature of a message.
    pub async fn dkim(&self, verifier: DkimVerifier) -> Vec<SignatureResult> {
        self.run(verifier).await
    }

    /// Runs a DMARC check to its outcome.
    pub async fn dmarc(&self, check: DmarcCheck) -> DmarcOutcome {
        self.run(check).await
    }

    /// Validates a message's ARC chain.
    pub async fn arc(&self, verifier: ArcVerifier) -> ArcOutcome {
        self.run(verifier).await
    }

    /// Answers `check`'s questions until it ends.
    async fn run<C: Check>(&self, mut check: C) -> C::Outcome {
        loop {
            match check.next() {
                Ok(question) => {
                    let answer = self.answer(&question).await;
                    check.take(question, answer);
                }
                Err(outcome) => return outcome,
            }
        }
    }
}

/// What every check does: ask a question or end; take an answer.
trait Check {
    type Outcome;
    fn next(&mut self) -> Result<Question, Self::Outcome>;
    fn take(&mut self, question: Question, answer: Answer);
}

macro_rules! check {
    ($type:ty, $step:path, $outcome:ty) => {
        impl Check for $type {
            type Outcome = $outcome;
            fn next(&mut self) -> Result<Question, $outcome> {
                use $step as S;
                match self.poll() {
                    S::Lookup(q) => Ok(q),
                    S::Done(outcome) => Err(outcome),
                }
            }
            fn take(&mut self, question: Question, answer: Answer) {
                self.answer(question, answer);
            }
        }
    };
}
check!(SpfCheck, spf::Step, SpfOutcome);
check!(DkimVerifier, dkim::Step, Vec<SignatureResult>);
check!(DmarcCheck, dmarc::Step, DmarcOutcome);
check!(ArcVerifier, arc::Step, ArcOutcome);

/// One DNS record as the checks take it; other types are dropped.
fn record(data: &RData) -> Option<Record> {
    let name = |n: &sansmail_mx::Name| n.to_ascii().trim_end_matches('.').to_ascii_lowercase();
    Some(match data {
        RData::TXT(txt) => Record::Txt(txt.txt_data.concat()),
        RData::A(a) => Record::A(a.0),
        RData::AAAA(a) => Record::Aaaa(a.0),
        RData::MX(mx) => Record::Mx {
            preference: mx.preference,
            exchange: name(&mx.exchange),
        },
        RData::PTR(ptr) => Record::Ptr(name(&ptr.0)),
        _ => return None,
    })
}
