//! Certificates from an ACME CA (RFC 8555), obtained and renewed while the
//! server runs and swapped into every listener without a restart.
//!
//! The account, the certificate chain and its key are kept in `DATA/acme/`.
//! Validation is HTTP-01 (the web listener answers
//! `/.well-known/acme-challenge/TOKEN`) or TLS-ALPN-01 (RFC 8737: the
//! implicit-TLS listeners answer `acme-tls/1` handshakes). The CA connects to
//! port 80 for HTTP-01 and 443 for TLS-ALPN-01, so those ports must reach the
//! plain web listener and an implicit-TLS listener respectively.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config;
use crate::queue::now;
use crate::tls::{self, Certificates, Identity};

/// How long to wait after a failed attempt before the next.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(600);
/// How often to look at the certificate's age when nothing else happens.
const CHECK_EVERY: Duration = Duration::from_secs(12 * 3600);

/// The ACME client of one server.
pub struct Acme {
    settings: config::Acme,
    challenge: ChallengeType,
    dir: PathBuf,
    certificates: Arc<Certificates>,
    /// HTTP-01 token → key authorization, while a challenge is pending.
    http_answers: Mutex<HashMap<String, String>>,
    /// One order at a time.
    ordering: tokio::sync::Mutex<()>,
}

impl Acme {
    /// A client keeping its files in `data/acme`, answering with HTTP-01
    /// when `http_listener` (the plain web listener is on) unless the
    /// settings name a challenge.
    pub fn new(
        settings: config::Acme,
        data: &std::path::Path,
        certificates: Arc<Certificates>,
        http_listener: bool,
    ) -> Result<Arc<Acme>, String> {
        let challenge = match settings.challenge.as_deref() {
            Some("http-01") => ChallengeType::Http01,
            Some("tls-alpn-01") => ChallengeType::TlsAlpn01,
            None if http_listener => ChallengeType::Http01,
            None => ChallengeType::TlsAlpn01,
            Some(other) => return Err(format!("tls.acme.challenge: unknown challenge {other:?}")),
        };
        let dir = data.join("acme");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Arc::new(Acme {
            settings,
            challenge,
            dir,
            certificates,
            http_answers: Mutex::default(),
            ordering: tokio::sync::Mutex::new(()),
        }))
    }

    /// The certificate obtained before, when it covers the configured
    /// domains.
    pub fn stored_identity(&self) -> Option<Identity> {
        let domains = std::fs::read_to_string(self.dir.join("domains")).ok()?;
        if domains.split_whitespace().collect::<Vec<_>>() != self.domain_list() {
            return None;
        }
        tls::load_identity(&self.dir.join("cert.pem"), &self.dir.join("key.pem")).ok()
    }

    fn domain_list(&self) -> Vec<&str> {
        self.settings.domains.iter().map(|d| d.as_str()).collect()
    }

    /// The answer to an HTTP-01 request for `token`, while it is pending.
    pub fn http_answer(&self, token: &str) -> Option<String> {
        self.http_answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
    }

    /// Renews whenever the certificate is missing, does not cover the
    /// domains or is within `renew_days` of expiry; until `stop`.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let wait = match self.due_in() {
                Some(wait) => wait,
                None => match self.renew().await {
                    Ok(summary) => {
                        info!(%summary, "ACME certificate installed");
                        self.due_in().unwrap_or(RETRY_AFTER_FAILURE)
                    }
                    Err(e) => {
                        warn!(error = %e, "ACME certificate not obtained; trying again later");
                        RETRY_AFTER_FAILURE
                    }
                },
            };
            tokio::select! {
                _ = tokio::time::sleep(wait.min(CHECK_EVERY)) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// How long until the stored certificate is due for renewal; `None`
    /// when it is due now (or missing).
    fn due_in(&self) -> Option<Duration> {
        let identity = self.stored_identity()?;
        let expires = not_after(&identity.chain[0])?;
        let renew_at = expires.saturating_sub(self.settings.renew_days * 86_400);
        renewal_wait(renew_at, now())
    }

    /// Orders a certificate for the domains, installs it in every listener
    /// and keeps it in `DATA/acme`; returns what was installed.
    pub async fn renew(&self) -> Result<String, String> {
        let _one = self.ordering.lock().await;
        let account = self.account().await?;
        let identifiers: Vec<Identifier> = self
            .settings
            .domains
            .iter()
            .map(|d| Identifier::Dns(d.clone()))
            .collect();
        let mut order = account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .map_err(|e| format!("new order: {e}"))?;
        let mut offered = Vec::new();
        let answered = self.answer_challenges(&mut order, &mut offered).await;
        let ready = match answered {
            Ok(()) => order
                .poll_ready(&RetryPolicy::new().timeout(Duration::from_secs(60)))
                .await
                .map_err(|e| format!("waiting for validation: {e}")),
            Err(e) => Err(e),
        };
        self.withdraw(&offered);
        match ready? {
            OrderStatus::Ready => {}
            status => {
                let why = order
                    .state()
                    .error
                    .as_ref()
                    .map_or(String::new(), |p| format!(": {p}"));
                return Err(format!("the order is {status:?}{why}"));
            }
        }
        let (csr, key_pem) = self.request().map_err(|e| format!("CSR: {e}"))?;
        order
            .finalize_csr(&csr)
            .await
            .map_err(|e| format!("finalize: {e}"))?;
        let chain_pem = order
            .poll_certificate(&RetryPolicy::new().timeout(Duration::from_secs(60)))
            .await
            .map_err(|e| format!("certificate: {e}"))?;
        self.install(&chain_pem, &key_pem)
    }

    /// Sets up and announces the answer to each pending authorization;
    /// `offered` collects what to withdraw afterwards.
    async fn answer_challenges(
        &self,
        order: &mut instant_acme::Order,
        offered: &mut Vec<(String, String)>,
    ) -> Result<(), String> {
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization.map_err(|e| format!("authorization: {e}"))?;
            match authorization.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                status => return Err(format!("an authorization is {status:?}")),
            }
            let mut challenge = authorization
                .challenge(self.challenge.clone())
                .ok_or(format!("the CA offers no {:?} challenge", self.challenge))?;
            let domain = challenge.identifier().to_string();
            let answer = challenge.key_authorization();
            match self.challenge {
                ChallengeType::Http01 => {
                    self.http_answers
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(challenge.token.clone(), answer.as_str().to_owned());
                }
                _ => {
                    let identity = alpn_challenge_identity(&domain, answer.digest().as_ref())
                        .map_err(|e| format!("challenge certificate: {e}"))?;
                    tls::offer_alpn_challenge(&domain, identity)
                        .map_err(|e| format!("challenge certificate: {e}"))?;
                }
            }
            offered.push((domain, challenge.token.clone()));
            challenge
                .set_ready()
                .await
                .map_err(|e| format!("challenge: {e}"))?;
        }
        Ok(())
    }

    fn withdraw(&self, offered: &[(String, String)]) {
        let mut answers = self.http_answers.lock().unwrap_or_else(|e| e.into_inner());
        for (domain, token) in offered {
            answers.remove(token);
            tls::withdraw_alpn_challenge(domain);
        }
    }

    /// The account, created at the first order and kept in `account.json`.
    /// A stored account the CA no longer knows is replaced.
    async fn account(&self) -> Result<Account, String> {
        let path = self.dir.join("account.json");
        let builder = || match &self.settings.ca {
            Some(ca) => Account::builder_with_root(ca),
            None => Account::builder(),
        };
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(credentials) = serde_json::from_str::<AccountCredentials>(&text)
        {
            match builder()
                .map_err(|e| e.to_string())?
                .from_credentials(credentials)
                .await
            {
                Ok(account) => return Ok(account),
                Err(e) => warn!(error = %e, "stored ACME account refused; making a new one"),
            }
        }
        let contact: Vec<&str> = self.settings.contact.iter().map(|c| c.as_str()).collect();
        let (account, credentials) = builder()
            .map_err(|e| e.to_string())?
            .create(
                &NewAccount {
                    contact: &contact,
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                self.settings.directory.clone(),
                None,
            )
            .await
            .map_err(|e| format!("new account at {}: {e}", self.settings.directory))?;
        let json = serde_json::to_vec(&credentials).map_err(|e| e.to_string())?;
        crate::server::write_private(&path, &json)?;
        Ok(account)
    }

    /// A fresh key and its certificate signing request for the domains.
    fn request(&self) -> Result<(Vec<u8>, String), rcgen::Error> {
        let mut params = rcgen::CertificateParams::new(self.settings.domains.clone())?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        let key = rcgen::KeyPair::generate()?;
        let csr = params.serialize_request(&key)?;
        Ok((csr.der().to_vec(), key.serialize_pem()))
    }

    /// Keeps the new chain and key, then presents them.
    fn install(&self, chain_pem: &str, key_pem: &str) -> Result<String, String> {
        let (cert, key) = (self.dir.join("cert.pem"), self.dir.join("key.pem"));
        let (cert_tmp, key_tmp) = (self.dir.join("cert.pem.tmp"), self.dir.join("key.pem.tmp"));
        crate::server::write_private(&key_tmp, key_pem.as_bytes())?;
        crate::server::write_private(&cert_tmp, chain_pem.as_bytes())?;
        let identity = tls::load_identity(&cert_tmp, &key_tmp).map_err(|e| e.to_string())?;
        let expires = not_after(&identity.chain[0]).unwrap_or(0);
        self.certificates
            .replace(identity)
            .map_err(|e| format!("the issued certificate: {e}"))?;
        let rename = |from: &PathBuf, to: &PathBuf| {
            std::fs::rename(from, to).map_err(|e| format!("{}: {e}", to.display()))
        };
        rename(&key_tmp, &key)?;
        rename(&cert_tmp, &cert)?;
        crate::server::write_private(
            &self.dir.join("domains"),
            self.domain_list().join(" ").as_bytes(),
        )?;
        Ok(format!(
            "{} (expires {}, in {} days)",
            self.domain_list().join(", "),
            expires,
            expires.saturating_sub(now()) / 86_400
        ))
    }
}

/// How long to wait until `renew_at` (Unix seconds); `None` when it has come.
pub fn renewal_wait(renew_at: u64, now: u64) -> Option<Duration> {
    (renew_at > now).then(|| Duration::from_secs(renew_at - now))
}

/// The end of a certificate's validity, in Unix seconds.
pub fn not_after(certificate: &[u8]) -> Option<u64> {
    use x509_cert::der::Decode;
    let parsed = x509_cert::Certificate::from_der(certificate).ok()?;
    Some(
        parsed
            .tbs_certificate
            .validity
            .not_after
            .to_unix_duration()
            .as_secs(),
    )
}

/// The self-signed certificate that answers TLS-ALPN-01 for `domain`: the
/// domain as its only name and the key authorization's digest in the
/// critical acmeIdentifier extension (RFC 8737 §3).
pub fn alpn_challenge_identity(domain: &str, digest: &[u8]) -> Result<Identity, rcgen::Error> {
    let mut params = rcgen::CertificateParams::new(vec![domain.to_owned()])?;
    params
        .custom_extensions
        .push(rcgen::CustomExtension::new_acme_identifier(digest));
    let key = rcgen::KeyPair::generate()?;
    let certificate = params.self_signed(&key)?;
    Ok(Identity {
        chain: vec![certificate.der().clone()],
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_falls_due_before_expiry() {
        assert_eq!(renewal_wait(1_000, 400), Some(Duration::from_secs(600)));
        assert_eq!(renewal_wait(1_000, 1_000), None);
        assert_eq!(renewal_wait(1_000, 5_000), None);
    }

    #[test]
    fn challenge_certificates_carry_the_digest() {
        let digest = [7u8; 32];
        let identity = alpn_challenge_identity("mail.example.test", &digest).unwrap();
        let der = identity.chain[0].as_ref();
        // OID 1.3.6.1.5.5.7.1.31, critical, and an OCTET STRING of the digest.
        let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1f];
        let at = der.windows(oid.len()).position(|w| w == oid).unwrap();
        let rest = &der[at + oid.len()..];
        assert_eq!(&rest[..3], &[0x01, 0x01, 0xff], "critical");
        assert!(
            rest.windows(34)
                .any(|w| w[..2] == [0x04, 0x20] && w[2..] == digest)
        );
        assert!(not_after(der).unwrap() > now());
    }
}
