//! Delivery straight to each recipient domain's mail exchangers, for
//! programs with no submission server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use sansmail_mx::driver::{ResolveError, random_seed, resolve, system_nameservers};
use sansmail_smtp::client::{Config, RecipientOutcome, TlsPolicy};
use sansmail_smtp::types::{ForwardPath, Host};

use crate::smtp::{set_timeouts, unsent};
use crate::{ConfigProblem, Endpoint, Error, Outgoing, Report, SmtpConnection};

/// Delivers like an MTA: looks up each recipient domain's MX hosts
/// (RFC 5321 §5), tries them in preference order (every address of each)
/// until one takes the transaction, and upgrades with STARTTLS whenever a
/// host offers it (opportunistic TLS, RFC 7435: the certificate is not
/// checked, as MX hosts rarely have one for their MX name; an active
/// attacker could still strip TLS).
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
        })
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
        let plan = match resolve(domain, config).await {
            Ok(plan) => plan,
            Err(ResolveError::Lookup(e)) => {
                let (code, status, _) = e.smtp_reply();
                return all(code, status, &format!("{domain}: {e}"));
            }
            Err(e) => return all(451, (4, 4, 3), &format!("{domain}: {e}")),
        };
        let mut last_error = None;
        for host in &plan.hosts {
            for address in &host.addresses {
                let url = format!("smtp://{}", SocketAddr::new(*address, self.port));
                let endpoint = match Endpoint::parse(&url) {
                    Ok(e) => e.danger_accept_any_certificate(),
                    Err(e) => {
                        last_error = Some(e);
                        continue;
                    }
                };
                match self.try_host(&endpoint, message).await {
                    Ok(outcomes) => return outcomes,
                    Err(e) => last_error = Some(e),
                }
            }
        }
        let why = last_error.map_or_else(|| "no address to try".to_owned(), |e| e.to_string());
        all(
            451,
            (4, 4, 1),
            &format!("no mail exchanger of {domain} took the message: {why}"),
        )
    }

    /// One host: the outcomes once a transaction ran, or why it could not.
    async fn try_host(
        &self,
        endpoint: &Endpoint,
        message: &Outgoing,
    ) -> Result<Vec<RecipientOutcome>, Error> {
        let hello = Host::parse(&self.hello_name).expect("checked in new");
        let mut config = Config::new(hello);
        config.tls = TlsPolicy::Opportunistic;
        if let Some(t) = self.timeout {
            set_timeouts(&mut config, t);
        }
        let mut connection = SmtpConnection::open(endpoint, config).await?;
        let outcomes = match connection.send_outgoing(message).await {
            Ok(report) => report.recipients,
            Err(Error::Rejected { recipients }) => recipients,
            Err(e) => return Err(e),
        };
        let _ = connection.quit().await;
        Ok(outcomes)
    }
}
