//! MTA-STS policy discovery (RFC 8461 §3): the `_mta-sts` TXT record, the
//! policy fetched over HTTPS with the certificate checked, and a cache of
//! policies shared by every delivery.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use sansmail_mx::driver::records;
use sansmail_mx::mta_sts::{MAX_POLICY_SIZE, Policy, PolicyCache, StsRecord};
use sansmail_mx::tls_rpt::ResultType;
use sansmail_mx::{Config, RData, RecordType};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// What discovery found for a domain.
pub(crate) struct Found {
    /// The policy in force, if any.
    pub policy: Option<Policy>,
    /// Why a fetch that the record called for failed, for TLS reports.
    pub fetch_error: Option<(ResultType, String)>,
}

/// Where policies come from and where they are kept.
#[derive(Clone, Debug)]
pub(crate) struct Discovery {
    /// Trust for the policy host's certificate (and, in `enforce` mode, the MX hosts').
    pub tls: Arc<rustls::ClientConfig>,
    /// The HTTPS port (443; another only for tests).
    pub port: u16,
    /// How long one fetch may take.
    pub timeout: Duration,
    /// Policies fetched, for their `max_age`.
    pub cache: Arc<Mutex<PolicyCache>>,
}

/// Seconds since the epoch (MTA-STS ages are wall-clock).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Discovery {
    /// The policy in force for `domain`: the cached one while its record's
    /// id is unchanged, else a fresh fetch; a failed fetch falls back to
    /// the cached policy (RFC 8461 §5.1), and says why it failed.
    pub(crate) async fn policy(&self, domain: &str, dns: &Config) -> Found {
        let now = unix_now();
        let record = self.record(domain, dns).await;
        let cached = self.lock().get(domain, now).cloned();
        let fresh = |policy| Found {
            policy,
            fetch_error: None,
        };
        if !self.lock().needs_fetch(domain, record.as_ref(), now) {
            return fresh(cached);
        }
        let Some(record) = record else {
            return fresh(cached);
        };
        match self.fetch(domain, dns).await {
            Ok(policy) => {
                self.lock().store(domain, &record.id, policy.clone(), now);
                fresh(Some(policy))
            }
            Err(why) => Found {
                policy: cached,
                fetch_error: Some(why),
            },
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PolicyCache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The domain's one `_mta-sts` TXT record, if it has exactly one.
    async fn record(&self, domain: &str, dns: &Config) -> Option<StsRecord> {
        let name = format!("_mta-sts.{domain}");
        let found = records(&name, RecordType::TXT, dns.clone()).await.ok()?;
        let texts = sansmail_mx::txt_texts(&found);
        StsRecord::from_records(texts.iter().map(String::as_str))
    }

    /// Fetches `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`: no
    /// redirects, a 200 with `text/plain`, at most 64 KiB.
    async fn fetch(&self, domain: &str, dns: &Config) -> Result<Policy, (ResultType, String)> {
        let host = format!("mta-sts.{domain}");
        let fetch_error = |why: String| (ResultType::StsPolicyFetchError, why);
        let work = async {
            let addresses = addresses(&host, dns).await.map_err(fetch_error)?;
            let name =
                ServerName::try_from(host.clone()).map_err(|e| fetch_error(e.to_string()))?;
            let mut last = fetch_error(format!("{host} has no address"));
            for address in addresses {
                let got = self.get(SocketAddr::new(address, self.port), &host, &name);
                match got.await {
                    Ok(text) => {
                        return Policy::parse(&text)
                            .map_err(|e| (ResultType::StsPolicyInvalid, e.to_string()));
                    }
                    Err(why) => last = why,
                }
            }
            Err(last)
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| fetch_error(format!("fetching the policy from {host} timed out")))?
    }

    /// One GET of the policy from one address.
    async fn get(
        &self,
        address: SocketAddr,
        host: &str,
        name: &ServerName<'static>,
    ) -> Result<String, (ResultType, String)> {
        let tcp = TcpStream::connect(address).await.map_err(|e| {
            let why = format!("{host} ({address}): {e}");
            (ResultType::StsPolicyFetchError, why)
        })?;
        let tls = TlsConnector::from(self.tls.clone())
            .connect(name.clone(), tcp)
            .await
            .map_err(|e| {
                let why = format!("{host} ({address}): TLS: {e}");
                (ResultType::StsWebpkiInvalid, why)
            })?;
        self.http(tls, host)
            .await
            .map_err(|why| (ResultType::StsPolicyFetchError, why))
    }

    /// The GET over an established TLS connection.
    async fn http(
        &self,
        tls: tokio_rustls::client::TlsStream<TcpStream>,
        host: &str,
    ) -> Result<String, String> {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("{host}: HTTP: {e}"))?;
        let connection = tokio::spawn(connection);
        let request = hyper::Request::get("/.well-known/mta-sts.txt")
            .header(hyper::header::HOST, host)
            .header(hyper::header::USER_AGENT, "sansmail")
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{host}: HTTP: {e}"))?;
        let status = response.status();
        if status != hyper::StatusCode::OK {
            connection.abort();
            return Err(format!(
                "{host}: HTTP status {status} (redirects are not followed)"
            ));
        }
        let media_type = response
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !media_type
            .trim()
            .to_ascii_lowercase()
            .starts_with("text/plain")
        {
            connection.abort();
            return Err(format!(
                "{host}: the policy is {media_type:?}, not text/plain"
            ));
        }
        let body = Limited::new(response.into_body(), MAX_POLICY_SIZE)
            .collect()
            .await
            .map_err(|e| format!("{host}: the policy: {e}"))?
            .to_bytes();
        connection.abort();
        String::from_utf8(body.to_vec()).map_err(|_| format!("{host}: the policy is not UTF-8"))
    }
}

/// The addresses of `host`, IPv4 first, through the configured name servers.
async fn addresses(host: &str, dns: &Config) -> Result<Vec<IpAddr>, String> {
    let mut found = Vec::new();
    let mut last_error = None;
    for rtype in [RecordType::A, RecordType::AAAA] {
        match records(host, rtype, dns.clone()).await {
            Ok(list) => found.extend(list.iter().filter_map(|r| match r {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })),
            Err(e) => last_error = Some(e.to_string()),
        }
    }
    match (found.is_empty(), last_error) {
        (true, Some(e)) => Err(format!("{host}: {e}")),
        (true, None) => Err(format!("{host} has no address")),
        (false, _) => Ok(found),
    }
}
