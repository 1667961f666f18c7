//! Delivery straight to each recipient domain's mail exchangers, for
//! programs with no submission server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sansmail_mx::driver::{
    ResolveError, random_seed, resolve, system_nameservers, validated_records,
};
use sansmail_mx::mta_sts::{Mode, Policy};
use sansmail_mx::tls_rpt::{Collector, PolicyDescription, PolicyType, ResultType, SessionResult};
use sansmail_mx::{DeliveryPlan, MxHost, RecordType};
use sansmail_smtp::client::{Config, RecipientOutcome, TlsPolicy};
use sansmail_smtp::types::{ForwardPath, Host};

use crate::dane::{DaneVerifier, Tlsa};
use crate::mta_sts::Discovery;
use crate::smtp::{set_timeouts, unsent};
use crate::{ConfigProblem, Endpoint, Error, Outgoing, Report, SmtpConnection, TlsProblem, Trust};

/// Delivers like an MTA: looks up each recipient domain's MX hosts
/// (RFC 5321 §5), tries them in preference order (every address of each)
/// until one takes the transaction.
///
/// How each host is protected, strongest rule first:
/// - **DANE** (RFC 7672, when turned on with [`DirectMailer::dane`]): a
///   host with DNSSEC-validated TLSA records gets mail only over STARTTLS
///   with a certificate those records match;
/// - **MTA-STS** (RFC 8461, on by default): a domain whose policy is in
///   `enforce` mode gets mail only at the MX hosts the policy names, over
///   STARTTLS with a certificate valid for the host name;
/// - otherwise **opportunistic TLS** (RFC 7435): STARTTLS whenever the host
///   offers it, the certificate not checked (an active attacker could still
///   strip it).
///
/// A host that fails its rule is skipped, never tried in plaintext; when
/// no host is left the recipients get a temporary failure (4.7.5).
///
/// A message may ask for more or less: [`Outgoing::require_tls`]
/// (REQUIRETLS, RFC 8689) allows only hosts with a verified certificate
/// (DANE, or the MX name found through DNSSEC or in an MTA-STS policy)
/// that offer REQUIRETLS themselves; `TLS-Required: No` in its header sets
/// DANE and MTA-STS aside.
///
/// Most receivers only take direct mail from hosts with a matching
/// reverse DNS name, SPF and DKIM; for mail to the wider Internet a
/// submission server ([`Mailer`](crate::Mailer)) is usually the better road.
///
/// ```no_run
/// # async fn f() -> Result<(), sansmail::Error> {
/// use sansmail::{DirectMailer, Outgoing};
///
/// let mailer = DirectMailer::new("app.example.com")?;
/// let message = Outgoing::new(&b"From: app@example.com\r\nTo: ops@example.net\r\nSubject: disk full\r\n\r\n/var is full\r\n"[..])?;
/// let report = mailer.send(&message).await?;
/// assert!(report.all_accepted());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DirectMailer {
    hello_name: String,
    nameservers: Option<Vec<SocketAddr>>,
    port: u16,
    timeout: Option<Duration>,
    dane: bool,
    mta_sts_on: bool,
    mta_sts: Discovery,
    tls_reports: Option<Arc<std::sync::Mutex<Collector>>>,
}

/// What the message asks of the hops (RFC 8689).
#[derive(Clone, Copy, Debug)]
struct Demands {
    /// REQUIRETLS.
    require_tls: bool,
    /// `TLS-Required: No`.
    tls_optional: bool,
}

/// How one MX host must be talked to.
#[derive(Clone, Debug)]
enum HostRule {
    /// STARTTLS when offered, any certificate.
    Opportunistic,
    /// STARTTLS required, any certificate (DANE with only unusable records, given).
    Encrypted(Vec<String>),
    /// STARTTLS required, a certificate the TLSA records match.
    Dane(Arc<DaneVerifier>),
    /// STARTTLS required, a certificate valid for the host name (MTA-STS).
    Verified,
    /// As `Verified`, but a failure is only reported (MTA-STS `testing`).
    Testing,
    /// Not to be tried: why, and the failure to report if it is one.
    Refused(String, Option<ResultType>),
}

impl HostRule {
    /// True when the session must not go on in plaintext.
    fn requires_tls(&self) -> bool {
        !matches!(self, HostRule::Opportunistic | HostRule::Testing)
    }
}

/// The policy a host's sessions are reported under (RFC 8460 §4.3).
fn describe(
    rule: &HostRule,
    domain: &str,
    host: &MxHost,
    policy: Option<&Policy>,
) -> PolicyDescription {
    let tlsa = |records: Vec<String>| PolicyDescription {
        policy_type: PolicyType::Tlsa,
        policy_string: records,
        policy_domain: domain.to_owned(),
        mx_host: vec![host.name.clone()],
    };
    match rule {
        HostRule::Dane(v) => tlsa(v.records().iter().map(Tlsa::to_string).collect()),
        HostRule::Encrypted(records) => tlsa(records.clone()),
        HostRule::Refused(_, Some(ResultType::DnssecInvalid)) => tlsa(Vec::new()),
        _ => describe_sts(domain, policy.filter(|p| p.mode != Mode::None)),
    }
}

/// An MTA-STS policy as reported, or no policy.
fn describe_sts(domain: &str, policy: Option<&Policy>) -> PolicyDescription {
    PolicyDescription {
        policy_type: match policy {
            Some(_) => PolicyType::Sts,
            None => PolicyType::NoPolicyFound,
        },
        policy_string: policy.map_or_else(Vec::new, |p| {
            p.to_string().lines().map(str::to_owned).collect()
        }),
        policy_domain: domain.to_owned(),
        mx_host: policy.map_or_else(Vec::new, |p| p.mx.clone()),
    }
}

fn failure(kind: ResultType, host: &str, address: Option<std::net::IpAddr>) -> SessionResult {
    SessionResult::Failure {
        result_type: kind,
        mx_host: host.to_owned(),
        address,
    }
}

/// The report's name for a failed TLS session; `None` when the failure was
/// not about TLS (no connection, a timeout).
fn tls_result(error: &Error) -> Option<ResultType> {
    let Error::Tls { problem, .. } = error else {
        return None;
    };
    Some(match problem {
        TlsProblem::NotOffered | TlsProblem::Refused(_) => ResultType::StarttlsNotSupported,
        TlsProblem::WrongName => ResultType::CertificateHostMismatch,
        TlsProblem::Expired | TlsProblem::NotValidYet => ResultType::CertificateExpired,
        TlsProblem::UnknownIssuer => ResultType::CertificateNotTrusted,
        _ => ResultType::ValidationFailure,
    })
}

impl DirectMailer {
    /// Delivers as `hello_name` (sent with EHLO: the sending host's name).
    pub fn new(hello_name: &str) -> Result<DirectMailer, Error> {
        Host::parse(hello_name).map_err(|_| ConfigProblem::HostName(hello_name.to_owned()))?;
        Ok(DirectMailer {
            hello_name: hello_name.to_owned(),
            nameservers: None,
            port: 25,
            timeout: None,
            dane: false,
            mta_sts_on: true,
            mta_sts: Discovery {
                tls: crate::client_tls_config(&Trust::WebPki),
                port: 443,
                timeout: Duration::from_secs(60),
                cache: Arc::default(),
            },
            tls_reports: None,
        })
    }

    /// Applies DANE (RFC 7672): TLSA records of each MX host, when the
    /// name servers say they are DNSSEC-validated, bind the host's
    /// certificate. Off by default: turn it on only when the name servers
    /// are validating resolvers on a path you trust (such as `unbound` on
    /// loopback), since their word (the AD bit) is all it rests on.
    pub fn dane(mut self, on: bool) -> Self {
        self.dane = on;
        self
    }

    /// Applies MTA-STS (RFC 8461; on by default): policies are fetched over
    /// HTTPS and kept for their `max_age`, shared by the clones of this mailer.
    pub fn mta_sts(mut self, on: bool) -> Self {
        self.mta_sts_on = on;
        self
    }

    /// Whom MTA-STS trusts: for the policy servers' certificates and, in
    /// `enforce` mode, the MX hosts'. Default the Mozilla root store; a
    /// private CA for tests.
    pub fn mta_sts_trust(mut self, trust: &Trust) -> Self {
        self.mta_sts.tls = crate::client_tls_config(trust);
        self
    }

    /// Counts every session to a host under a TLS policy (MTA-STS, DANE,
    /// or none) in `collector`, for TLS reports (RFC 8460) the application
    /// sends to the domains that ask for them.
    pub fn tls_reports(mut self, collector: Arc<std::sync::Mutex<Collector>>) -> Self {
        self.tls_reports = Some(collector);
        self
    }

    /// Fetches MTA-STS policies from this port instead of 443 (for tests
    /// with a local policy server).
    pub fn mta_sts_port(mut self, port: u16) -> Self {
        self.mta_sts.port = port;
        self
    }

    /// Asks these name servers instead of those in `/etc/resolv.conf`.
    pub fn nameservers(mut self, servers: Vec<SocketAddr>) -> Self {
        self.nameservers = Some(servers);
        self
    }

    /// Connects to this port instead of 25 (for tests with local MX sinks).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// How long to wait for each server reply (default RFC 5321's).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Delivers `message` to every recipient's domain. `Ok` when at least
    /// one recipient was accepted; the report gives each one's outcome
    /// (with DNS failures as 4xx or 5xx replies of their own).
    pub async fn send<M>(&self, message: M) -> Result<Report, Error>
    where
        M: TryInto<Outgoing>,
        Error: From<M::Error>,
    {
        let message: Outgoing = message.try_into()?;
        let mut by_domain: BTreeMap<String, Vec<ForwardPath>> = BTreeMap::new();
        for recipient in message.recipients() {
            let domain = match recipient.mailbox() {
                Some(m) => m.host.to_string().to_ascii_lowercase(),
                None => "localhost".to_owned(),
            };
            by_domain.entry(domain).or_default().push(recipient.clone());
        }
        let nameservers = match &self.nameservers {
            Some(servers) => servers.clone(),
            None => system_nameservers().map_err(ConfigProblem::Resolvers)?,
        };
        let mut outcomes = Vec::new();
        for (domain, recipients) in by_domain {
            let part = message.for_recipients(recipients);
            outcomes.extend(self.deliver_domain(&domain, &part, &nameservers).await);
        }
        // Report in envelope order.
        let order =
            |r: &RecipientOutcome| message.recipients().iter().position(|p| *p == r.recipient);
        outcomes.sort_by_key(order);
        Report {
            recipients: outcomes,
        }
        .into_result()
    }

    async fn deliver_domain(
        &self,
        domain: &str,
        message: &Outgoing,
        nameservers: &[SocketAddr],
    ) -> Vec<RecipientOutcome> {
        let all = |code: u16, status: (u8, u16, u16), text: &str| {
            let recipients = message.recipients().iter().cloned();
            recipients.map(|r| unsent(r, code, status, text)).collect()
        };
        let config = sansmail_mx::Config::new(nameservers.to_vec(), random_seed());
        let plan = match resolve(domain, config.clone()).await {
            Ok(plan) => plan,
            Err(ResolveError::Lookup(e)) => {
                let (code, status, _) = e.smtp_reply();
                return all(code, status, &format!("{domain}: {e}"));
            }
            Err(e) => return all(451, (4, 4, 3), &format!("{domain}: {e}")),
        };
        let demands = Demands {
            require_tls: message.requires_tls(),
            tls_optional: message.tls_optional(),
        };
        let policy = match self.mta_sts_on && !demands.tls_optional {
            true => {
                let found = self.mta_sts.policy(domain, &config).await;
                if let Some((kind, why)) = &found.fetch_error {
                    let policy = describe_sts(domain, None);
                    let host = format!("mta-sts.{domain}");
                    self.report(&policy, failure(*kind, &host, None));
                    tracing::warn!(domain, error = %why, "MTA-STS policy fetch failed");
                }
                found.policy
            }
            false => None,
        };
        let mut last_error = None;
        let mut security_failure = false;
        for host in &plan.hosts {
            let rule = self
                .rule(&plan, host, policy.as_ref(), &config, demands)
                .await;
            let described = describe(&rule, domain, host, policy.as_ref());
            if let HostRule::Refused(why, kind) = &rule {
                tracing::warn!(domain, host = %host.name, reason = %why, "MX host skipped");
                if let Some(kind) = kind {
                    self.report(&described, failure(*kind, &host.name, None));
                }
                last_error = Some(why.clone());
                security_failure = true;
                continue;
            }
            for address in &host.addresses {
                let mut attempt = self.try_address(host, *address, &rule, message).await;
                // MTA-STS testing: a failed check is reported, then the
                // host gets the message the opportunistic way.
                if let (HostRule::Testing, Err(e)) = (&rule, &attempt)
                    && let Some(kind) = tls_result(e)
                {
                    self.report(&described, failure(kind, &host.name, Some(*address)));
                    attempt = self
                        .try_address(host, *address, &HostRule::Opportunistic, message)
                        .await;
                    if let Ok((outcomes, _)) = attempt {
                        return outcomes;
                    }
                } else {
                    match &attempt {
                        Ok((_, true)) => self.report(&described, SessionResult::Success),
                        Ok((_, false)) => self.report(
                            &described,
                            failure(ResultType::StarttlsNotSupported, &host.name, Some(*address)),
                        ),
                        Err(e) => {
                            if let Some(kind) = tls_result(e) {
                                self.report(&described, failure(kind, &host.name, Some(*address)));
                            }
                        }
                    }
                }
                match attempt {
                    Ok((outcomes, _)) => return outcomes,
                    Err(e) => {
                        security_failure = rule.requires_tls();
                        last_error = Some(format!("{} ({address}): {e}", host.name));
                    }
                }
            }
        }
        let why = last_error.unwrap_or_else(|| "no address to try".to_owned());
        let status = if security_failure {
            (4, 7, 5)
        } else {
            (4, 4, 1)
        };
        all(
            451,
            status,
            &format!("no mail exchanger of {domain} took the message: {why}"),
        )
    }

    /// Counts one session for TLS reporting, when reports are collected.
    fn report(&self, policy: &PolicyDescription, result: SessionResult) {
        if let Some(collector) = &self.tls_reports {
            let mut collector = collector.lock().unwrap_or_else(|e| e.into_inner());
            collector.record(policy, result);
        }
    }

    /// One address of one host under `rule`: the outcomes and whether TLS
    /// protected the session, or why no transaction ran.
    async fn try_address(
        &self,
        host: &MxHost,
        address: std::net::IpAddr,
        rule: &HostRule,
        message: &Outgoing,
    ) -> Result<(Vec<RecipientOutcome>, bool), Error> {
        let tls = match rule {
            HostRule::Opportunistic | HostRule::Encrypted(_) | HostRule::Refused(..) => {
                crate::client_tls_config(&Trust::Anything)
            }
            HostRule::Verified | HostRule::Testing => self.mta_sts.tls.clone(),
            HostRule::Dane(verifier) => dane_tls_config(verifier.clone()),
        };
        let url = format!("smtp://{}:{}", host.name, self.port);
        let endpoint = Endpoint::parse(&url)?.at_address(SocketAddr::new(address, self.port), tls);
        self.try_host(&endpoint, message, rule.requires_tls()).await
    }

    /// The rule for one MX host: DANE when it has validated TLSA records,
    /// else the domain's MTA-STS policy, else opportunistic TLS; what the
    /// message itself asks for (RFC 8689) comes first.
    async fn rule(
        &self,
        plan: &DeliveryPlan,
        host: &MxHost,
        policy: Option<&Policy>,
        dns: &sansmail_mx::Config,
        demands: Demands,
    ) -> HostRule {
        if demands.tls_optional {
            return HostRule::Opportunistic;
        }
        let rule = self.recipient_rule(plan, host, policy, dns).await;
        if !demands.require_tls {
            return rule;
        }
        // RFC 8689 §4.2.1: a verified certificate of a host the sender can
        // trust to be the MX: DANE, or PKIX with the MX name found through
        // DNSSEC or listed in an MTA-STS policy.
        let listed = policy.is_some_and(|p| p.mode != Mode::None && p.allows(&host.name));
        match rule {
            HostRule::Dane(_) | HostRule::Refused(..) => rule,
            _ if listed || (self.dane && plan.authenticated) => HostRule::Verified,
            _ => HostRule::Refused(
                format!(
                    "REQUIRETLS: {} is neither found through DNSSEC nor listed in an MTA-STS policy",
                    host.name
                ),
                None,
            ),
        }
    }

    /// The recipient domain's rule for one MX host (see [`Self::rule`]).
    async fn recipient_rule(
        &self,
        plan: &DeliveryPlan,
        host: &MxHost,
        policy: Option<&Policy>,
        dns: &sansmail_mx::Config,
    ) -> HostRule {
        if self.dane && plan.authenticated {
            let name = format!("_{}._tcp.{}", self.port, host.name);
            match validated_records(&name, RecordType::TLSA, dns.clone()).await {
                // RFC 7672 §2.2: a failed TLSA lookup of a secure host
                // leaves it unusable for now (it may have records).
                Err(e) => {
                    return HostRule::Refused(
                        format!("DANE: TLSA lookup {name}: {e}"),
                        Some(ResultType::DnssecInvalid),
                    );
                }
                Ok(found) if found.authenticated && !found.records.is_empty() => {
                    let records = Tlsa::from_records(&found.records);
                    let texts = records.iter().map(Tlsa::to_string).collect();
                    return match DaneVerifier::new(records, crate::endpoint::provider()) {
                        Some(verifier) => HostRule::Dane(Arc::new(verifier)),
                        // §3.1.3: none usable: TLS still required, unauthenticated.
                        None => HostRule::Encrypted(texts),
                    };
                }
                Ok(_) => {}
            }
        }
        match policy {
            Some(p) if p.mode == Mode::Enforce && p.allows(&host.name) => HostRule::Verified,
            Some(p) if p.mode == Mode::Enforce => HostRule::Refused(
                format!("MTA-STS: {} is not among the policy's MX hosts", host.name),
                Some(ResultType::ValidationFailure),
            ),
            Some(p) if p.mode == Mode::Testing && !p.allows(&host.name) => {
                tracing::warn!(
                    domain = %plan.domain, host = %host.name,
                    "MTA-STS (testing): the host is not among the policy's MX hosts"
                );
                HostRule::Opportunistic
            }
            Some(p) if p.mode == Mode::Testing => HostRule::Testing,
            _ => HostRule::Opportunistic,
        }
    }

    /// One host: the outcomes once a transaction ran, or why it could not.
    async fn try_host(
        &self,
        endpoint: &Endpoint,
        message: &Outgoing,
        tls_required: bool,
    ) -> Result<(Vec<RecipientOutcome>, bool), Error> {
        let hello = Host::parse(&self.hello_name).expect("checked in new");
        let mut config = Config::new(hello);
        config.tls = match tls_required {
            true => TlsPolicy::Required,
            false => TlsPolicy::Opportunistic,
        };
        if let Some(t) = self.timeout {
            set_timeouts(&mut config, t);
        }
        let mut connection = SmtpConnection::open(endpoint, config).await?;
        let outcomes = match connection.send_outgoing(message).await {
            Ok(report) => report.recipients,
            Err(Error::Rejected { recipients }) => recipients,
            Err(e) => return Err(e),
        };
        let tls = connection.is_tls();
        let _ = connection.quit().await;
        Ok((outcomes, tls))
    }
}

/// A client configuration that checks certificates with `verifier`.
fn dane_tls_config(verifier: Arc<DaneVerifier>) -> Arc<rustls::ClientConfig> {
    let config = rustls::ClientConfig::builder_with_provider(crate::endpoint::provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Arc::new(config)
}
