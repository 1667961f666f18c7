//! Sender authentication of inbound mail at the end of DATA: SPF, DKIM and
//! ARC verified at once over DNS, then DMARC on their results; one
//! `Authentication-Results` field (RFC 8601) records them all, and the From
//! domain's DMARC policy decides whether the message is refused, sent to
//! Junk or delivered.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use sansmail_auth::arc::{ArcOutcome, ArcResult, ArcVerifier};
use sansmail_auth::dkim::{DkimResult, DkimVerifier, SignatureResult};
use sansmail_auth::dmarc::{DmarcCheck, DmarcOutcome, DmarcResult, Policy};
use sansmail_auth::driver::{Config, Resolver};
use sansmail_auth::results::{AuthenticationResults, MethodResult};
use sansmail_auth::spf::{SpfCheck, SpfOutcome, SpfResult};
use sansmail_mime::Message;
use sansmail_smtp::types::Reply;

use super::config::{DmarcMode, SenderAuth};

/// What to do with the message.
#[derive(Debug, PartialEq)]
pub enum Action {
    /// Deliver as usual.
    Deliver,
    /// Deliver to the Junk folder (DMARC `p=quarantine`).
    Junk,
    /// Refuse it (DMARC `p=reject`).
    Reject(Reply),
}

/// The checks' outcome.
#[derive(Debug)]
pub struct Verdict {
    /// The `Authentication-Results` field to add, CRLF included.
    pub field: String,
    /// What the policy decided.
    pub action: Action,
    /// `spf=pass dkim=pass arc=none dmarc=pass`, for the transaction's log line.
    pub summary: String,
    /// The results written in `field`, for an ARC set when the message is forwarded.
    pub results: AuthenticationResults,
    /// The ARC chain's verdict, when it was checked.
    pub arc: Option<ArcResult>,
}

/// The checker the SMTP service shares.
#[derive(Debug)]
pub struct Checker {
    settings: SenderAuth,
    resolver: Resolver,
    hostname: String,
    /// SPF records parsed by earlier checks.
    spf_records: std::sync::Arc<sansmail_auth::spf::RecordCache>,
}

/// The envelope of the message checked.
pub struct Envelope<'a> {
    /// The client's address.
    pub ip: IpAddr,
    /// The EHLO/HELO name.
    pub helo: &'a str,
    /// MAIL FROM, empty for the null sender.
    pub mail_from: &'a str,
}

impl Checker {
    /// A checker asking `nameservers` (empty: those of `/etc/resolv.conf`).
    pub fn new(
        settings: SenderAuth,
        nameservers: Vec<std::net::SocketAddr>,
        hostname: &str,
    ) -> Self {
        let nameservers = if nameservers.is_empty() {
            sansmail_mx::driver::system_nameservers().unwrap_or_default()
        } else {
            nameservers
        };
        let mut config = Config::new(nameservers, sansmail_mx::driver::random_seed());
        config.timeout = Duration::from_secs(3);
        Checker {
            settings,
            resolver: Resolver::new(config),
            hostname: hostname.to_owned(),
            spf_records: Default::default(),
        }
    }

    /// The verdict on `message`'s ARC chain alone (for sealing mail whose
    /// sender was not checked).
    pub async fn arc_chain(&self, message: &[u8]) -> ArcResult {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let limit = Duration::from_secs(self.settings.timeout_secs);
        tokio::time::timeout(limit, self.resolver.arc(ArcVerifier::new(message, now)))
            .await
            .map_or(ArcResult::TempError, |o| o.result)
    }

    /// True when mail from `ip` is checked at all.
    pub fn applies_to(&self, ip: IpAddr) -> bool {
        let any = self.settings.spf
            || self.settings.dkim
            || self.settings.arc
            || self.settings.dmarc != DmarcMode::Off;
        any && (self.settings.check_loopback || !ip.is_loopback())
    }

    /// The id results are written under (our host name).
    pub fn authserv_id(&self) -> &str {
        &self.hostname
    }

    /// Checks `message` (as received, without our trace fields).
    pub async fn check(&self, message: &[u8], envelope: &Envelope<'_>) -> Verdict {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let limit = Duration::from_secs(self.settings.timeout_secs);
        let spf = async {
            if !self.settings.spf {
                return None;
            }
            let check = SpfCheck::mail_from(envelope.ip, envelope.mail_from, envelope.helo)
                .with_receiver(&self.hostname)
                .at_time(now)
                .with_cache(self.spf_records.clone());
            Some(
                tokio::time::timeout(limit, self.resolver.spf(check))
                    .await
                    .unwrap_or_else(|_| timed_out_spf(envelope)),
            )
        };
        let dkim = async {
            if !self.settings.dkim && self.settings.dmarc == DmarcMode::Off {
                return None;
            }
            let verifier = DkimVerifier::new(message, now);
            tokio::time::timeout(limit, self.resolver.dkim(verifier))
                .await
                .ok()
        };
        let arc = async {
            if !self.settings.arc {
                return None;
            }
            let verifier = ArcVerifier::new(message, now);
            Some(
                tokio::time::timeout(limit, self.resolver.arc(verifier))
                    .await
                    .unwrap_or_else(|_| ArcOutcome {
                        result: ArcResult::TempError,
                        instances: 0,
                        reason: Some("DNS lookups timed out".into()),
                        sealers: Vec::new(),
                        results: Vec::new(),
                    }),
            )
        };
        let (spf, dkim, arc) = tokio::join!(spf, dkim, arc);
        let from_domain = from_domain(message);
        let dmarc = match (&from_domain, self.settings.dmarc) {
            (_, DmarcMode::Off) | (None, _) => None,
            (Some(domain), _) => {
                let mut check = DmarcCheck::new(domain)
                    .with_sample((sansmail_mx::driver::random_seed() % 100) as u8);
                if let Some(s) = spf.as_ref().filter(|s| s.result == SpfResult::Pass) {
                    check = check.spf_passed(&s.domain);
                }
                for sig in dkim.iter().flatten() {
                    if sig.result == DkimResult::Pass {
                        check = check.dkim_passed(&sig.domain);
                    }
                }
                tokio::time::timeout(limit, self.resolver.dmarc(check))
                    .await
                    .ok()
            }
        };
        self.verdict(
            envelope,
            spf,
            dkim.filter(|_| self.settings.dkim),
            arc,
            from_domain,
            dmarc,
        )
    }

    fn verdict(
        &self,
        envelope: &Envelope<'_>,
        spf: Option<SpfOutcome>,
        dkim: Option<Vec<SignatureResult>>,
        arc: Option<ArcOutcome>,
        from_domain: Option<String>,
        dmarc: Option<DmarcOutcome>,
    ) -> Verdict {
        let mut results = AuthenticationResults::new(&self.hostname);
        let mut summary = Vec::new();
        if let Some(spf) = &spf {
            let mut r = MethodResult::new("spf", &spf.result.to_string());
            r = if envelope.mail_from.is_empty() {
                r.with_property("smtp", "helo", envelope.helo)
            } else {
                r.with_property("smtp", "mailfrom", envelope.mail_from)
            };
            if let Some(problem) = &spf.problem {
                r = r.with_reason(problem);
            }
            summary.push(format!("spf={}", spf.result));
            results.results.push(r);
        }
        if let Some(signatures) = &dkim {
            if signatures.is_empty() {
                results.results.push(MethodResult::new("dkim", "none"));
                summary.push("dkim=none".to_owned());
            }
            for sig in signatures {
                let mut r = MethodResult::new("dkim", &sig.result.to_string());
                if let Some(reason) = &sig.reason {
                    r = r.with_reason(reason);
                }
                if !sig.domain.is_empty() {
                    r = r.with_property("header", "d", &sig.domain);
                }
                if !sig.selector.is_empty() {
                    r = r.with_property("header", "s", &sig.selector);
                }
                if !sig.header_b.is_empty() {
                    r = r.with_property("header", "b", &sig.header_b);
                }
                summary.push(format!("dkim={}", sig.result));
                results.results.push(r);
            }
        }
        if let Some(arc) = &arc {
            results
                .results
                .push(MethodResult::new("arc", &arc.result.to_string()));
            summary.push(format!("arc={}", arc.result));
        }
        let vouched = arc.as_ref().and_then(|a| self.trusted_forwarder(a));
        let mut action = Action::Deliver;
        if let (Some(domain), Some(dmarc)) = (&from_domain, &dmarc) {
            let mut r = MethodResult::new("dmarc", &dmarc.result.to_string())
                .with_property("header", "from", domain);
            if let Some((_, record)) = &dmarc.record {
                r = r.with_property("policy", "dmarc", &record.policy.to_string());
            }
            if let (DmarcResult::Fail, Some(sealer)) = (dmarc.result, &vouched) {
                r = r.with_reason(&format!("delivered: ARC sealed by trusted {sealer}"));
                summary.push(format!("dmarc=fail(arc-override={sealer})"));
            } else {
                summary.push(format!("dmarc={}", dmarc.result));
            }
            results.results.push(r);
            if self.settings.dmarc == DmarcMode::Enforce
                && dmarc.result == DmarcResult::Fail
                && vouched.is_none()
            {
                action = match dmarc.disposition {
                    Policy::Reject => Action::Reject(
                        Reply::text(
                            550,
                            (5, 7, 1),
                            &format!("Message rejected by the DMARC policy of {domain}"),
                        )
                        .unwrap_or_else(|_| {
                            Reply::text(550, (5, 7, 1), "Message rejected by DMARC policy")
                                .expect("fixed reply text is valid")
                        }),
                    ),
                    Policy::Quarantine => Action::Junk,
                    Policy::None => Action::Deliver,
                };
            }
        }
        Verdict {
            field: folded_field(&results.to_string()),
            action,
            summary: summary.join(" "),
            results,
            arc: arc.map(|a| a.result),
        }
    }

    /// The trusted sealer that vouches for a message DMARC refuses: the
    /// chain passes, its newest set is sealed by a domain in
    /// `trusted_arc_sealers`, and that set's results say DMARC passed.
    fn trusted_forwarder(&self, arc: &ArcOutcome) -> Option<String> {
        if arc.result != ArcResult::Pass {
            return None;
        }
        let sealer = arc.sealers.last()?;
        let trusted = self
            .settings
            .trusted_arc_sealers
            .iter()
            .any(|t| t.trim_end_matches('.').eq_ignore_ascii_case(sealer));
        let seen = AuthenticationResults::parse(arc.results.last()?).ok()?;
        let passed = seen
            .results
            .iter()
            .any(|r| r.method == "dmarc" && r.result == "pass");
        (trusted && passed).then(|| sealer.clone())
    }
}

/// SPF's outcome when its lookups ran out of time.
fn timed_out_spf(envelope: &Envelope<'_>) -> SpfOutcome {
    let domain = match envelope.mail_from.rsplit_once('@') {
        Some((_, d)) => d,
        None => envelope.helo,
    };
    SpfOutcome {
        result: SpfResult::TempError,
        explanation: None,
        domain: domain.to_owned(),
        problem: Some("DNS lookups timed out".into()),
    }
}

/// The domain of the message's From address, when it has exactly one.
fn from_domain(message: &[u8]) -> Option<String> {
    let end = memchr::memmem::find(message, b"\r\n\r\n").map_or(message.len(), |i| i + 2);
    let parsed = Message::parse(&message[..end]);
    let list = parsed.root.header.addresses("from")?;
    let mut mailboxes = list.mailboxes();
    let first = mailboxes.next()?;
    if mailboxes.next().is_some() {
        return None;
    }
    let (_, domain) = first.address.rsplit_once('@')?;
    Some(domain.trim_end_matches('.').to_ascii_lowercase())
}

/// `Authentication-Results: VALUE`, folded before each result (`; `) so
/// no line grows long.
fn folded_field(value: &str) -> String {
    format!(
        "Authentication-Results: {}\r\n",
        value.replace("; ", ";\r\n\t")
    )
}

/// Removes `Authentication-Results` fields claiming `authserv_id` from the
/// header of `message` (RFC 8601 §5: only we may write ours); `None` when
/// there is none.
pub fn strip_forged_results(message: &[u8], authserv_id: &str) -> Option<Vec<u8>> {
    let end = memchr::memmem::find(message, b"\r\n\r\n").map_or(message.len(), |i| i + 2);
    let parsed = Message::parse(&message[..end]);
    let forged: Vec<std::ops::Range<usize>> = parsed
        .root
        .header
        .get_all("authentication-results")
        .filter(|f| {
            let value = String::from_utf8_lossy(&message[f.range.clone()]);
            let value = value.split_once(':').map_or("", |(_, v)| v);
            match AuthenticationResults::parse(value) {
                Ok(r) => r.authserv_id.eq_ignore_ascii_case(authserv_id),
                // One we cannot read is ours when its first word is our id.
                Err(_) => value
                    .split([';', ' ', '\t', '\r', '\n'])
                    .find(|w| !w.is_empty())
                    .is_some_and(|w| w.eq_ignore_ascii_case(authserv_id)),
            }
        })
        .map(|f| f.range.clone())
        .collect();
    if forged.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(message.len());
    let mut at = 0;
    for range in forged {
        out.extend_from_slice(&message[at..range.start]);
        at = range.end;
    }
    out.extend_from_slice(&message[at..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sansmail_auth::dmarc::DmarcRecord;

    fn checker(trusted: &[&str]) -> Checker {
        let settings = SenderAuth {
            trusted_arc_sealers: trusted.iter().map(|s| s.to_string()).collect(),
            ..SenderAuth::default()
        };
        Checker::new(
            settings,
            vec!["127.0.0.1:53".parse().unwrap()],
            "mx.example.test",
        )
    }

    /// The action for a message whose From domain's `p=reject` failed, after `arc`.
    fn decide(checker: &Checker, arc: ArcOutcome) -> (Action, String) {
        let envelope = Envelope {
            ip: "192.0.2.1".parse().unwrap(),
            helo: "list.example",
            mail_from: "bounces@list.example",
        };
        let dmarc = DmarcOutcome {
            result: DmarcResult::Fail,
            disposition: Policy::Reject,
            record: Some((
                "strict.example".into(),
                DmarcRecord::parse("v=DMARC1; p=reject").unwrap(),
            )),
        };
        let v = checker.verdict(
            &envelope,
            None,
            None,
            Some(arc),
            Some("strict.example".into()),
            Some(dmarc),
        );
        (v.action, v.field)
    }

    fn chain(result: ArcResult, sealer: &str, seen: &str) -> ArcOutcome {
        ArcOutcome {
            result,
            instances: 1,
            reason: None,
            sealers: vec![sealer.into()],
            results: vec![format!("mx.{sealer}; {seen}")],
        }
    }

    #[test]
    fn a_trusted_forwarder_that_saw_dmarc_pass_overrides_the_policy() {
        let trusting = checker(&["list.example"]);
        let (action, field) = decide(
            &trusting,
            chain(
                ArcResult::Pass,
                "list.example",
                "dmarc=pass header.from=strict.example",
            ),
        );
        assert_eq!(action, Action::Deliver);
        assert!(
            field.contains("dmarc=fail reason=\"delivered: ARC sealed by trusted list.example\""),
            "{field}"
        );
        // Anything less and the policy applies.
        for arc in [
            chain(ArcResult::Pass, "other.example", "dmarc=pass"),
            chain(ArcResult::Pass, "list.example", "dmarc=fail"),
            chain(ArcResult::Fail, "list.example", "dmarc=pass"),
            chain(ArcResult::TempError, "list.example", "dmarc=pass"),
        ] {
            let (action, _) = decide(&trusting, arc.clone());
            assert!(matches!(action, Action::Reject(_)), "{arc:?}");
        }
        let (action, _) = decide(
            &checker(&[]),
            chain(ArcResult::Pass, "list.example", "dmarc=pass"),
        );
        assert!(matches!(action, Action::Reject(_)));
    }
}
