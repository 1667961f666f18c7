//! mail-server's settings: built-in defaults, then a TOML file
//! (`--config FILE`, every key shown in `examples/server/mail-server.toml`), then
//! command-line overrides.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use sansmail_examples::args::{Args, UsageError};

/// Everything mail-server is told.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Where mail, the queue and the generated certificate live.
    pub data: PathBuf,
    /// The server's own name: greetings, `Received:` and EHLO when relaying.
    pub hostname: String,
    /// Domains whose mail is delivered here.
    pub domains: Vec<DomainName>,
    /// Allow IMAP/POP3 login and SMTP AUTH before TLS.
    pub allow_plaintext: bool,
    /// A PEM certificate chain (default: self-signed, made at first start).
    pub tls_cert: Option<PathBuf>,
    /// Its private key.
    pub tls_key: Option<PathBuf>,
    /// Certificates from an ACME CA (`[tls.acme]`).
    pub tls: Tls,
    /// Listening addresses.
    pub listen: Listen,
    /// User name → argon2 password hash (from `mail-server hash-password`).
    pub users: BTreeMap<UserName, Secret>,
    /// Local part → the user who receives its mail.
    pub aliases: BTreeMap<UserName, UserName>,
    /// Local part → an address at another domain its mail is forwarded to
    /// (ARC-sealed, RFC 8617, when a DKIM key is configured).
    pub forwards: BTreeMap<UserName, String>,
    /// The outbound queue.
    pub queue: Queue,
    /// Session limits.
    pub limits: Limits,
    /// Content filters run at the end of DATA.
    pub filter: Filter,
    /// DKIM keys: mail submitted with a From address in one of these
    /// domains is signed with its key.
    pub dkim: Vec<DkimKey>,
    /// Sender authentication of inbound mail (SPF, DKIM, ARC, DMARC).
    pub sender_auth: SenderAuth,
    /// Our own MTA-STS policy, served on the web listener.
    pub mta_sts: MtaSts,
    /// TLS reports (RFC 8460) about our deliveries, to the domains that ask.
    pub tls_reports: TlsReports,
    /// Where mail, the queue, users and keys are kept (`[store]`).
    pub store: StoreSettings,
}

/// Where mail is kept (`[store]`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// `maildir` (the default: everything under the data directory) or
    /// `postgres` (mail, the queue, users, login failures and DKIM keys in
    /// PostgreSQL, shared by every server given the same `url`).
    pub backend: StoreBackend,
    /// The database, `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`.
    pub url: Option<String>,
    /// Keep message octets as files in this directory (shared storage
    /// every server mounts) instead of in the database.
    pub blob_dir: Option<PathBuf>,
}

/// The kinds of store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// Maildirs under the data directory, used by this server alone.
    #[default]
    Maildir,
    /// PostgreSQL, shared by several servers.
    Postgres,
}

/// Certificate management (`[tls]`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tls {
    /// Obtain and renew the certificate from an ACME CA.
    pub acme: Option<Acme>,
}

/// An ACME CA to take the certificate from (RFC 8555).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acme {
    /// The CA's directory URL.
    pub directory: String,
    /// Contact URIs for the account (`mailto:...`).
    #[serde(default)]
    pub contact: Vec<String>,
    /// The names the certificate is for; the first is the hostname's usually.
    pub domains: Vec<String>,
    /// `http-01` or `tls-alpn-01`; default HTTP-01 when the plain web
    /// listener is on, TLS-ALPN-01 otherwise.
    #[serde(default)]
    pub challenge: Option<String>,
    /// A PEM root to trust for the directory's HTTPS instead of the system's
    /// (test CAs such as Pebble).
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// Renew this many days before the certificate expires.
    #[serde(default = "default_renew_days")]
    pub renew_days: u64,
}

fn default_renew_days() -> u64 {
    30
}

/// TLS reporting (`[tls_reports]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsReports {
    /// Send reports to domains whose `_smtp._tls` record asks for them.
    pub enabled: bool,
    /// The organization named in reports; default the hostname.
    pub organization: Option<String>,
    /// The contact named in reports, and their envelope sender; default
    /// `postmaster@` the first domain.
    pub contact: Option<String>,
    /// Seconds each report covers (one day; shorter only for tests).
    pub interval_secs: u64,
}

impl Default for TlsReports {
    fn default() -> Self {
        TlsReports {
            enabled: true,
            organization: None,
            contact: None,
            interval_secs: 86_400,
        }
    }
}

/// The MTA-STS policy this server publishes (`[mta_sts]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MtaSts {
    /// `enforce`, `testing`, `none`, or `off` (no policy served).
    pub mode: String,
    /// MX host names or `*.` patterns; empty means the hostname.
    pub mx: Vec<String>,
    /// Seconds senders keep the policy.
    pub max_age: u64,
}

impl Default for MtaSts {
    fn default() -> Self {
        MtaSts {
            mode: "off".into(),
            mx: Vec::new(),
            max_age: 604_800,
        }
    }
}

impl Settings {
    /// The policy file served at `mta-sts.DOMAIN`, when one is configured.
    pub fn mta_sts_policy(&self) -> Result<Option<sansmail_mx::mta_sts::Policy>, String> {
        if self.mta_sts.mode == "off" {
            return Ok(None);
        }
        let mx = match self.mta_sts.mx.is_empty() {
            true => vec![self.hostname.clone()],
            false => self.mta_sts.mx.clone(),
        };
        let mut text = format!("version: STSv1\nmode: {}\n", self.mta_sts.mode);
        for host in &mx {
            text.push_str(&format!("mx: {host}\n"));
        }
        text.push_str(&format!("max_age: {}\n", self.mta_sts.max_age));
        sansmail_mx::mta_sts::Policy::parse(&text)
            .map(Some)
            .map_err(|e| format!("mta_sts: {e}"))
    }
}

/// What is checked of inbound mail at the end of DATA (`[sender_auth]`).
/// The results go into one `Authentication-Results` field.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SenderAuth {
    /// Check SPF for the MAIL FROM identity (HELO for the null sender).
    pub spf: bool,
    /// Verify DKIM signatures.
    pub dkim: bool,
    /// Verify an ARC chain.
    pub arc: bool,
    /// `"enforce"`: the From domain's `p=reject` refuses the message (550
    /// 5.7.1) and `p=quarantine` delivers it to Junk; `"monitor"`: results
    /// only; `"off"`: no DMARC check.
    pub dmarc: DmarcMode,
    /// Also check mail from loopback addresses (local programs are trusted otherwise).
    pub check_loopback: bool,
    /// Forwarders (mailing lists, say) whose ARC seal is trusted: when DMARC
    /// fails but the ARC chain passes, its newest set is sealed by one of
    /// these and their results say DMARC passed there, the message is
    /// delivered as if DMARC passed (RFC 8617 §7.2).
    pub trusted_arc_sealers: Vec<String>,
    /// Seconds the DNS lookups of one message may take; past it, temperror.
    pub timeout_secs: u64,
}

/// How DMARC results are used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DmarcMode {
    /// Apply the domain's policy.
    Enforce,
    /// Record the result only.
    Monitor,
    /// Do not check.
    Off,
}

impl Default for SenderAuth {
    fn default() -> Self {
        SenderAuth {
            spf: true,
            dkim: true,
            arc: true,
            dmarc: DmarcMode::Enforce,
            check_loopback: false,
            trusted_arc_sealers: Vec::new(),
            timeout_secs: 20,
        }
    }
}

/// Where each service listens; `"off"` turns one off.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    /// Inbound SMTP (port 25 in production).
    pub smtp: ListenAddr,
    /// Submission with STARTTLS (587).
    pub submission: ListenAddr,
    /// Submission over implicit TLS (465).
    pub submissions: ListenAddr,
    /// IMAP with STARTTLS (143).
    pub imap: ListenAddr,
    /// IMAP over implicit TLS (993).
    pub imaps: ListenAddr,
    /// POP3 with STLS (110).
    pub pop3: ListenAddr,
    /// POP3 over implicit TLS (995).
    pub pop3s: ListenAddr,
    /// The web listener over TLS (443).
    pub https: ListenAddr,
    /// The web listener without TLS, for behind a TLS-terminating proxy
    /// (and ACME HTTP-01 validation).
    pub http: ListenAddr,
    /// Prometheus metrics at `/metrics`, plain HTTP (off by default).
    pub metrics: ListenAddr,
}

/// The outbound queue's settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Queue {
    /// Seconds to wait before each retry; the last repeats.
    pub retry_secs: Vec<u64>,
    /// Seconds after which an undelivered message bounces.
    pub lifetime_secs: u64,
    /// Messages delivered at once.
    pub workers: usize,
    /// The DNS server to ask (default: `/etc/resolv.conf`'s).
    pub dns: Option<SocketAddr>,
    /// The port remote mail exchangers listen on.
    pub remote_smtp_port: u16,
    /// Seconds to wait for each remote reply.
    pub timeout_secs: u64,
    /// Apply MTA-STS policies (RFC 8461).
    pub mta_sts: bool,
    /// CAs (PEM) trusted for MTA-STS instead of the Mozilla roots.
    pub mta_sts_ca: Option<PathBuf>,
    /// The port MTA-STS policies are fetched from.
    pub mta_sts_port: u16,
    /// Apply DANE (RFC 7672); only with a trusted validating resolver.
    pub dane: bool,
    /// With a PostgreSQL store: seconds a server holds a message it is
    /// delivering before another may take it (renewed while it works), so
    /// a crashed server's deliveries are taken over after this long.
    pub lease_secs: u64,
}

/// Session limits.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest message accepted, in octets.
    pub max_message_size: u64,
    /// Recipients per message.
    pub max_recipients: usize,
    /// Connections at once from one IP address, over all services.
    pub max_connections_per_ip: usize,
    /// Failed logins from one IP address within an hour before the whole
    /// address is locked out (a success from it starts the count again).
    pub max_auth_failures: u32,
    /// Seconds a lockout lasts.
    pub auth_lockout_secs: u64,
    /// The longest wait before a failed login is answered: 2 seconds after
    /// the first failure of an address and user, doubling up to this.
    pub auth_penalty_max_secs: u64,
    /// Seconds an idle SMTP or POP3 session is kept.
    pub idle_timeout_secs: u64,
    /// Storage per user, in MiB (0: no quota). Deliveries and APPENDs over
    /// it are refused (452 4.2.2, `NO [OVERQUOTA]`).
    pub quota_mb: u64,
}

/// A DKIM signing key for one domain (`[[dkim]]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimKey {
    /// The domain signed for (`d=`).
    pub domain: String,
    /// The selector (`s=`): the key record is at `SELECTOR._domainkey.DOMAIN`.
    pub selector: String,
    /// A PKCS#8 PEM private key, RSA (2048 bits or more) or Ed25519.
    pub key: PathBuf,
}

/// Content filters; each is off unless its address is set.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Filter {
    /// SpamAssassin's spamd, `HOST:PORT`.
    pub spamd: Option<SocketAddr>,
    /// Refuse (550) spam scoring at least this; below it, spam is tagged.
    pub spam_reject_score: Option<f64>,
    /// ClamAV's clamd, `HOST:PORT` or a Unix socket path.
    pub clamd: Option<String>,
    /// Seconds to wait for a filter's verdict.
    pub timeout_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data: "mail-data".into(),
            hostname: "localhost".into(),
            domains: vec![DomainName("localhost".into())],
            allow_plaintext: false,
            tls_cert: None,
            tls_key: None,
            listen: Listen::default(),
            users: BTreeMap::new(),
            aliases: BTreeMap::new(),
            forwards: BTreeMap::new(),
            queue: Queue::default(),
            limits: Limits::default(),
            filter: Filter::default(),
            dkim: Vec::new(),
            sender_auth: SenderAuth::default(),
            mta_sts: MtaSts::default(),
            tls_reports: TlsReports::default(),
            tls: Tls::default(),
            store: StoreSettings::default(),
        }
    }
}

impl Default for Listen {
    fn default() -> Self {
        let on = |port: u16| ListenAddr(Some(SocketAddr::from(([0, 0, 0, 0], port))));
        Listen {
            smtp: on(2525),
            submission: on(5587),
            submissions: on(4465),
            imap: on(1143),
            imaps: on(1993),
            pop3: on(1110),
            pop3s: on(1995),
            https: on(8443),
            http: ListenAddr(None),
            metrics: ListenAddr(None),
        }
    }
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            retry_secs: vec![60, 300, 900, 1800, 3600, 7200, 14_400],
            lifetime_secs: 5 * 86_400,
            workers: 8,
            dns: None,
            remote_smtp_port: 25,
            timeout_secs: 300,
            mta_sts: true,
            mta_sts_ca: None,
            mta_sts_port: 443,
            dane: false,
            lease_secs: 60,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 35 * 1024 * 1024,
            max_recipients: 100,
            max_connections_per_ip: 20,
            max_auth_failures: 100,
            auth_lockout_secs: 900,
            auth_penalty_max_secs: 15,
            idle_timeout_secs: 300,
            quota_mb: 1024,
        }
    }
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            spamd: None,
            spam_reject_score: None,
            clamd: None,
            timeout_secs: 60,
        }
    }
}

/// A listening address, or none (`"off"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ListenAddr(pub Option<SocketAddr>);

impl TryFrom<String> for ListenAddr {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s == "off" {
            return Ok(ListenAddr(None));
        }
        s.parse().map(|a| ListenAddr(Some(a))).map_err(|_| {
            format!("{s:?} is not an address with a port (like 0.0.0.0:25) or \"off\"")
        })
    }
}

/// A domain name, lowercased.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct DomainName(pub String);

impl TryFrom<String> for DomainName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        sansmail_smtp::types::Domain::new(&s)
            .map(|_| DomainName(s.to_ascii_lowercase()))
            .map_err(|_| format!("{s:?} is not a domain name"))
    }
}

/// A user name or local part: letters, digits, `.`, `_`, `-`, lowercased.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct UserName(pub String);

impl TryFrom<String> for UserName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let plain = !s.is_empty()
            && s.len() <= 64
            && !s.starts_with('.')
            && !s.ends_with('.')
            && !s.contains("..")
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if plain {
            Ok(UserName(s.to_ascii_lowercase()))
        } else {
            Err(format!(
                "{s:?} is not a plain user name (letters, digits, '.', '_', '-')"
            ))
        }
    }
}

/// How a user's password is kept.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Secret {
    /// An argon2 PHC string, as `hash-password` prints.
    Argon2(String),
    /// The password itself (`--user NAME:PASSWORD` on the command line).
    Plain(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Secret::Argon2(_) => "Argon2(..)",
            Secret::Plain(_) => "Plain(..)",
        })
    }
}

impl TryFrom<String> for Secret {
    type Error = String;
    /// Only hashes: a configuration file holds no plain passwords.
    fn try_from(s: String) -> Result<Self, String> {
        match argon2::PasswordHash::new(&s) {
            Ok(h) if h.algorithm.as_str().starts_with("argon2") => Ok(Secret::Argon2(s)),
            _ => Err("not an argon2 hash: make one with `mail-server hash-password`".into()),
        }
    }
}

/// A configuration problem, naming where it is.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Settings {
    /// Reads a TOML file over the defaults.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        Settings::from_toml(&text, &path.display().to_string())
    }

    /// Reads TOML text (from `origin`, named in errors) over the defaults.
    pub fn from_toml(text: &str, origin: &str) -> Result<Settings, ConfigError> {
        let settings: Settings = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| s.start).unwrap_or(0).min(text.len());
            let line_no = text[..at].matches('\n').count() + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
            let key = match line.split_once('=') {
                Some((key, _)) if !line.starts_with('[') => format!(" key `{}`:", key.trim()),
                _ => String::new(),
            };
            ConfigError(format!(
                "{origin}:{line_no}:{key} {}",
                e.message().trim_end()
            ))
        })?;
        settings
            .check()
            .map_err(|e| ConfigError(format!("{origin}: {e}")))?;
        Ok(settings)
    }

    /// Applies a command-line flag (and its value) when it is one of
    /// mail-server's; false when it is not.
    pub fn take_flag(&mut self, flag: &str, args: &mut Args) -> Result<bool, UsageError> {
        let listen = |args: &mut Args| -> Result<ListenAddr, UsageError> {
            ListenAddr::try_from(args.value(flag)?).map_err(|e| UsageError(format!("{flag}: {e}")))
        };
        match flag {
            "--data" => self.data = args.value(flag)?.into(),
            "--store-url" => {
                self.store.backend = StoreBackend::Postgres;
                self.store.url = Some(args.value(flag)?);
            }
            "--hostname" => self.hostname = args.value(flag)?,
            "--domain" => {
                let d = DomainName::try_from(args.value(flag)?)
                    .map_err(|e| UsageError(format!("{flag}: {e}")))?;
                if !self.domains.contains(&d) {
                    self.domains.push(d);
                }
            }
            "--user" => {
                let v = args.value(flag)?;
                let (name, password) = v
                    .split_once(':')
                    .filter(|(_, p)| !p.is_empty())
                    .ok_or_else(|| UsageError(format!("{flag} takes NAME:PASSWORD")))?;
                let name = UserName::try_from(name.to_owned())
                    .map_err(|e| UsageError(format!("{flag}: {e}")))?;
                let secret = Secret::try_from(password.to_owned())
                    .unwrap_or_else(|_| Secret::Plain(password.to_owned()));
                self.users.insert(name, secret);
            }
            "--smtp" => self.listen.smtp = listen(args)?,
            "--submission" => self.listen.submission = listen(args)?,
            "--submissions" => self.listen.submissions = listen(args)?,
            "--imap" => self.listen.imap = listen(args)?,
            "--imaps" => self.listen.imaps = listen(args)?,
            "--pop3" => self.listen.pop3 = listen(args)?,
            "--pop3s" => self.listen.pop3s = listen(args)?,
            "--https" => self.listen.https = listen(args)?,
            "--http" => self.listen.http = listen(args)?,
            "--metrics" => self.listen.metrics = listen(args)?,
            "--dns" => self.queue.dns = Some(args.parsed(flag)?),
            "--forward" => {
                let v = args.value(flag)?;
                let (local, target) = v
                    .split_once(':')
                    .ok_or_else(|| UsageError(format!("{flag} takes LOCAL:ADDRESS")))?;
                let local = UserName::try_from(local.to_owned())
                    .map_err(|e| UsageError(format!("{flag}: {e}")))?;
                self.forwards.insert(local, target.to_owned());
            }
            "--remote-smtp-port" => self.queue.remote_smtp_port = args.parsed(flag)?,
            "--allow-plaintext" => self.allow_plaintext = true,
            "--tls-cert" => self.tls_cert = Some(args.value(flag)?.into()),
            "--tls-key" => self.tls_key = Some(args.value(flag)?.into()),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks what no single key can: returns the first problem.
    pub fn check(&self) -> Result<(), String> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err("tls_cert and tls_key go together".into());
        }
        if self.domains.is_empty() {
            return Err("domains: at least one domain is needed".into());
        }
        if let Some(acme) = &self.tls.acme {
            if acme.domains.is_empty() {
                return Err("tls.acme.domains: at least one name is needed".into());
            }
            if self.tls_cert.is_some() {
                return Err(
                    "tls.acme and tls_cert: the certificate comes from one or the other".into(),
                );
            }
            if !matches!(
                acme.challenge.as_deref(),
                None | Some("http-01" | "tls-alpn-01")
            ) {
                return Err("tls.acme.challenge: \"http-01\" or \"tls-alpn-01\"".into());
            }
        }
        self.mta_sts_policy()?;
        if self.tls_reports.interval_secs < 1 {
            return Err("tls_reports: interval_secs must be at least 1".into());
        }
        sansmail_smtp::types::Host::parse(&self.hostname)
            .map_err(|_| format!("hostname: {:?} is not a host name", self.hostname))?;
        for (alias, user) in &self.aliases {
            if !self.users.contains_key(user) {
                return Err(format!(
                    "aliases: {} points at {}, who is not a user",
                    alias.0, user.0
                ));
            }
        }
        for (local, target) in &self.forwards {
            let remote = sansmail_smtp::types::Mailbox::parse(target)
                .ok()
                .filter(|m| match &m.host {
                    sansmail_smtp::types::Host::Domain(d) => !self
                        .domains
                        .iter()
                        .any(|l| l.0.eq_ignore_ascii_case(d.as_str())),
                    _ => false,
                });
            if remote.is_none() {
                return Err(format!(
                    "forwards: {} -> {target:?} is not an address at another domain",
                    local.0
                ));
            }
            if self.users.contains_key(local) || self.aliases.contains_key(local) {
                return Err(format!("forwards: {} is already a user or alias", local.0));
            }
        }
        if self.queue.retry_secs.is_empty() {
            return Err("queue.retry_secs: at least one delay is needed".into());
        }
        if self.queue.workers == 0 {
            return Err("queue.workers: at least 1".into());
        }
        if self.queue.lease_secs < 3 {
            return Err("queue.lease_secs: at least 3".into());
        }
        match (self.store.backend, &self.store.url) {
            (StoreBackend::Postgres, None) => {
                return Err("store.url: the postgres backend needs the database's URL".into());
            }
            (StoreBackend::Maildir, Some(_)) => {
                return Err("store.url is for backend = \"postgres\"".into());
            }
            _ => {}
        }
        if let Some(score) = self.filter.spam_reject_score
            && self.filter.spamd.is_none()
        {
            return Err(format!(
                "filter.spam_reject_score = {score} needs filter.spamd"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_valid_and_complete() {
        let text = include_str!("../mail-server.toml");
        let s = Settings::from_toml(text, "mail-server.toml").unwrap();
        assert_eq!(s.domains[0].0, "example.com");
        assert_eq!(s.users.len(), 1);
        // Every key of the defaults is documented in the example.
        for key in [
            "data",
            "hostname",
            "domains",
            "allow_plaintext",
            "tls_cert",
            "tls_key",
            "[listen]",
            "smtp",
            "submission",
            "submissions",
            "imap",
            "imaps",
            "pop3",
            "pop3s",
            "https",
            "http",
            "metrics",
            "[tls.acme]",
            "directory",
            "challenge",
            "renew_days",
            "[mta_sts]",
            "mode",
            "mx",
            "max_age",
            "[tls_reports]",
            "enabled",
            "organization",
            "contact",
            "interval_secs",
            "[users]",
            "[aliases]",
            "[forwards]",
            "[queue]",
            "retry_secs",
            "lifetime_secs",
            "workers",
            "dns",
            "remote_smtp_port",
            "timeout_secs",
            "mta_sts",
            "mta_sts_ca",
            "mta_sts_port",
            "dane",
            "[sender_auth]",
            "spf",
            "arc",
            "dmarc",
            "check_loopback",
            "trusted_arc_sealers",
            "[limits]",
            "max_message_size",
            "max_recipients",
            "max_connections_per_ip",
            "max_auth_failures",
            "auth_lockout_secs",
            "auth_penalty_max_secs",
            "idle_timeout_secs",
            "quota_mb",
            "[filter]",
            "spamd",
            "spam_reject_score",
            "clamd",
        ] {
            assert!(text.contains(key), "{key} is not in the example file");
        }
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let e = Settings::from_toml(
            "hostname = \"mx\"\n[limits]\nmax_recipients = \"many\"\n",
            "f.toml",
        )
        .unwrap_err();
        assert!(e.0.starts_with("f.toml:3: key `max_recipients`:"), "{e}");
        let e = Settings::from_toml("[listen]\nsmtp = \"nowhere\"\n", "f.toml").unwrap_err();
        assert!(e.0.starts_with("f.toml:2: key `smtp`:"), "{e}");
        assert!(e.0.contains("\"nowhere\""), "{e}");
        let e = Settings::from_toml("colour = 1\n", "f.toml").unwrap_err();
        assert!(
            e.0.starts_with("f.toml:1: key `colour`:") && e.0.contains("unknown field"),
            "{e}"
        );
        let e = Settings::from_toml("[users]\nbob = \"hunter2\"\n", "f.toml").unwrap_err();
        assert!(
            e.0.starts_with("f.toml:2: key `bob`:") && e.0.contains("argon2"),
            "{e}"
        );
        let e = Settings::from_toml("[users]\n\"../x\" = \"hunter2\"\n", "f.toml").unwrap_err();
        assert!(
            e.0.starts_with("f.toml:2:") && e.0.contains("plain user name"),
            "{e}"
        );
        let e = Settings::from_toml(
            "domains = [\"example.com\"]\n[forwards]\nann = \"ann@example.com\"\n",
            "f.toml",
        )
        .unwrap_err();
        assert!(e.0.contains("not an address at another domain"), "{e}");
        let e =
            Settings::from_toml("[forwards]\nann = \"not an address\"\n", "f.toml").unwrap_err();
        assert!(e.0.contains("not an address at another domain"), "{e}");
        let ok = Settings::from_toml("[forwards]\nann = \"ann@elsewhere.example\"\n", "f.toml");
        assert!(ok.is_ok(), "{:?}", ok.err());
        let e = Settings::from_toml("[aliases]\nsales = \"nobody\"\n", "f.toml").unwrap_err();
        assert!(e.0.contains("nobody, who is not a user"), "{e}");
    }

    #[test]
    fn command_line_overrides() {
        let mut s = Settings::default();
        let mut args = Args::from_vec(
            [
                "--smtp",
                "127.0.0.1:0",
                "--imaps",
                "off",
                "--user",
                "Ann:pw",
                "--domain",
                "Ex.org",
            ]
            .map(String::from)
            .to_vec(),
        );
        while let Some(flag) = args.next_arg() {
            assert!(s.take_flag(&flag, &mut args).unwrap(), "{flag}");
        }
        assert_eq!(s.listen.smtp.0, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(s.listen.imaps.0, None);
        assert_eq!(s.users[&UserName("ann".into())], Secret::Plain("pw".into()));
        assert!(s.domains.contains(&DomainName("ex.org".into())));
        let mut args = Args::from_vec(vec!["--smtp".into(), "port 25".into()]);
        let flag = args.next_arg().unwrap();
        assert!(s.take_flag(&flag, &mut args).is_err());
    }
}
