//! TLS reports (RFC 8460): the relay counts each session under the
//! recipient domain's policy; at the end of each period the counts of
//! every domain whose `_smtp._tls` record asks for reports go out, gzipped
//! JSON, by mail (queued like any message, DKIM-signed when a key for the
//! sender's domain exists) or by HTTPS POST.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use sansmail_mime::DateTime;
use sansmail_mime::builder::{Entity, MessageBuilder};
use sansmail_mx::RecordType;
use sansmail_mx::tls_rpt::{Collector, Report, ReportUri, TlsRptRecord};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::queue::{new_id, now};
use crate::relay::random_u128;
use crate::smtp::Context;

/// Sends the reports the relay's sessions add up to.
pub struct TlsReporter {
    /// What the relay counts into.
    pub collector: Arc<Mutex<Collector>>,
    context: Arc<Context>,
    organization: String,
    contact: String,
    interval: u64,
    dns: Vec<SocketAddr>,
    https: Arc<rustls::ClientConfig>,
}

impl TlsReporter {
    /// A reporter for `collector`, queueing through `context`.
    pub fn new(
        collector: Arc<Mutex<Collector>>,
        context: Arc<Context>,
        settings: &crate::config::Settings,
        https: Arc<rustls::ClientConfig>,
    ) -> TlsReporter {
        // The first real domain: "localhost" stays among them when others are added.
        let first_domain = settings
            .domains
            .iter()
            .map(|d| d.0.as_str())
            .find(|d| !d.eq_ignore_ascii_case("localhost"))
            .unwrap_or(&settings.hostname);
        let r = &settings.tls_reports;
        TlsReporter {
            collector,
            context,
            organization: r.organization.clone().unwrap_or(settings.hostname.clone()),
            contact: r
                .contact
                .clone()
                .unwrap_or_else(|| format!("postmaster@{first_domain}")),
            interval: r.interval_secs.max(1),
            dns: settings.queue.dns.into_iter().collect(),
            https,
        }
    }

    /// At the end of each period, sends its reports; until `stop`.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let now = now();
            let end = now - now % self.interval + self.interval;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(end - now)) => {}
                _ = stop.changed() => return,
            }
            self.send_period(end - self.interval, end).await;
        }
    }

    /// Sends the reports for `[start, end)` and forgets the counts of
    /// domains that want none.
    pub async fn send_period(&self, start: u64, end: u64) {
        let domains = self.lock().domains();
        for domain in domains {
            let id = format!("{}.{}@{}", start, new_id(), self.context.hostname);
            let report = self.lock().take_report(
                &domain,
                (start, end),
                &self.organization,
                &self.contact,
                &id,
            );
            let Some(report) = report else { continue };
            let Some(record) = self.record(&domain).await else {
                continue;
            };
            let gzipped = gzip(report.to_json().as_bytes());
            for uri in &record.rua {
                let sent = match uri {
                    ReportUri::Mailto(to) => self.mail(to, &domain, &report, &gzipped).await,
                    ReportUri::Https(url) => self.post(url, &gzipped).await,
                };
                match sent {
                    Ok(()) => info!(%domain, to = %uri, report_id = %id, "TLS report sent"),
                    Err(e) => warn!(%domain, to = %uri, error = %e, "cannot send the TLS report"),
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Collector> {
        self.collector.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The domain's `_smtp._tls` record, if it has exactly one.
    async fn record(&self, domain: &str) -> Option<TlsRptRecord> {
        let servers = match self.dns.is_empty() {
            true => sansmail_mx::driver::system_nameservers().ok()?,
            false => self.dns.clone(),
        };
        let config = sansmail_mx::Config::new(servers, sansmail_mx::driver::random_seed());
        let name = format!("_smtp._tls.{domain}");
        let records = sansmail_mx::driver::records(&name, RecordType::TXT, config)
            .await
            .ok()?;
        let texts = sansmail_mx::txt_texts(&records);
        TlsRptRecord::from_records(texts.iter().map(String::as_str))
    }

    /// Queues the report as mail to `to` (RFC 8460 §5.3).
    async fn mail(
        &self,
        to: &str,
        domain: &str,
        report: &Report,
        gzipped: &[u8],
    ) -> Result<(), String> {
        let hostname = &self.context.hostname;
        let filename = format!(
            "{hostname}!{domain}!{}!{}!{}.json.gz",
            report.date_range.start_datetime.replace(':', ""),
            report.date_range.end_datetime.replace(':', ""),
            report.report_id.split('@').next().unwrap_or_default(),
        );
        let text =
            format!("This is a TLS report (RFC 8460) from {hostname} about mail to {domain}.\r\n");
        let body = Entity::multipart(
            "report",
            vec![
                Entity::text(text),
                Entity::attachment("application/tlsrpt+gzip", &filename, gzipped.to_vec()),
            ],
        )
        .param("report-type", "tlsrpt");
        let random = random_u128();
        let message = MessageBuilder::new(body)
            .from(sansmail_mime::Mailbox {
                name: Some(self.organization.clone()),
                address: self.contact.clone(),
            })
            .to(vec![sansmail_mime::Mailbox {
                name: None,
                address: to.to_owned(),
            }])
            .subject(&format!(
                "Report Domain: {domain} Submitter: {hostname} Report-ID: <{}>",
                report.report_id
            ))
            .date(DateTime::from_unix_time(now() as i64, 0))
            .message_id(random, hostname)
            .field("TLS-Report-Domain", domain)
            .field("TLS-Report-Submitter", hostname)
            .field("Auto-Submitted", "auto-generated")
            .to_vec(random as u64);
        let signed = self.sign(message);
        let queue = self.context.queue.clone();
        let (id, from, to) = (new_id(), self.contact.clone(), vec![to.to_owned()]);
        tokio::task::spawn_blocking(move || queue.enqueue(&id, &from, &to, &signed, false))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.context.relay.wake.notify_one();
        Ok(())
    }

    /// The message with a DKIM signature of the contact's domain, when there is a key.
    fn sign(&self, message: Vec<u8>) -> Vec<u8> {
        let domain = self.contact.rsplit_once('@').map_or("", |(_, d)| d);
        let signer = self
            .context
            .dkim
            .iter()
            .find(|s| s.domain().eq_ignore_ascii_case(domain));
        match signer.map(|s| s.sign(&message, now())) {
            Some(Ok(field)) => [field.into_bytes(), message].concat(),
            Some(Err(e)) => {
                warn!(error = %e, "cannot DKIM-sign the TLS report");
                message
            }
            None => message,
        }
    }

    /// POSTs the report to an `https:` URL (RFC 8460 §5.4).
    async fn post(&self, url: &str, gzipped: &[u8]) -> Result<(), String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let host = uri.host().ok_or("no host")?.to_owned();
        let port = uri.port_u16().unwrap_or(443);
        let work = async {
            let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| e.to_string())?;
            let name =
                rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
            let tls = tokio_rustls::TlsConnector::from(self.https.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .map_err(|e| e.to_string())?;
            let connection = tokio::spawn(connection);
            let request = hyper::Request::post(uri.path())
                .header(hyper::header::HOST, &host)
                .header(hyper::header::CONTENT_TYPE, "application/tlsrpt+gzip")
                .body(Full::new(Bytes::from(gzipped.to_vec())))
                .map_err(|e| e.to_string())?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let _ = response.into_body().collect().await;
            connection.abort();
            match status.is_success() {
                true => Ok(()),
                false => Err(format!("HTTP status {status}")),
            }
        };
        tokio::time::timeout(Duration::from_secs(60), work)
            .await
            .map_err(|_| format!("{url}: timed out"))?
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(data)
        .expect("writing to memory cannot fail");
    encoder.finish().expect("writing to memory cannot fail")
}
