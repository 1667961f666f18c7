//! The web listener: HTTP/1.1 over TLS (and, behind a TLS proxy, without),
//! serving our MTA-STS policy at `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`
//! for each local domain (RFC 8461 §3.3) and the answers to ACME HTTP-01
//! challenges, JMAP and the webmail; and the metrics listener, serving
//! `/metrics`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tracing::info;

use crate::acme::Acme;
use crate::jmap_http::{JmapHttp, WebBody, is_jmap_path};
use crate::queue::Queue;
use crate::users::Directory;
use crate::webmail::{Webmail, is_webmail_path};

/// How long a client may take to send a request's header.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one connection may stay open.
const CONNECTION_LIMIT: Duration = Duration::from_secs(300);

/// What the web listener serves.
pub struct WebService {
    /// The TLS acceptor (the other services' certificate).
    pub acceptor: TlsAcceptor,
    /// The policy file, when `[mta_sts]` configures one.
    policy: Option<String>,
    /// The local domains.
    directory: Arc<Directory>,
    /// The ACME client, whose HTTP-01 answers are served.
    acme: Option<Arc<Acme>>,
    /// Serve `/metrics` (with this queue's figures) and nothing else.
    metrics: Option<Arc<Queue>>,
    /// JMAP, when the server offers it.
    jmap: Option<Arc<JmapHttp>>,
    /// The webmail, beside JMAP.
    webmail: Option<Arc<Webmail>>,
}

impl WebService {
    /// A service for `directory`'s domains publishing `policy`, and the
    /// HTTP-01 answers of `acme`.
    pub fn new(
        acceptor: TlsAcceptor,
        policy: Option<String>,
        directory: Arc<Directory>,
        acme: Option<Arc<Acme>>,
    ) -> Self {
        WebService {
            acceptor,
            policy,
            directory,
            acme,
            metrics: None,
            jmap: None,
            webmail: None,
        }
    }

    /// Serves JMAP too, and the webmail at `/`.
    pub fn with_jmap(mut self, jmap: Arc<JmapHttp>) -> Self {
        self.webmail = Some(Arc::new(Webmail { jmap: jmap.clone() }));
        self.jmap = Some(jmap);
        self
    }

    /// The metrics listener: `/metrics` only, with `queue`'s size.
    pub fn metrics(acceptor: TlsAcceptor, directory: Arc<Directory>, queue: Arc<Queue>) -> Self {
        WebService {
            metrics: Some(queue),
            ..WebService::new(acceptor, None, directory, None)
        }
    }

    /// Serves one connection (TLS first when `tls`).
    pub async fn serve(&self, tcp: TcpStream, peer: SocketAddr, tls: bool) -> std::io::Result<()> {
        let run = async {
            match tls {
                true => {
                    let stream = crate::tls::accept(&self.acceptor, tcp).await?;
                    self.http(stream, peer, true).await
                }
                false => self.http(tcp, peer, false).await,
            }
        };
        tokio::time::timeout(CONNECTION_LIMIT, run)
            .await
            .unwrap_or(Ok(()))
    }

    async fn http<S>(&self, stream: S, peer: SocketAddr, tls: bool) -> std::io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = hyper::service::service_fn(|request: Request<Incoming>| async move {
            if let Some(jmap) = &self.jmap
                && is_jmap_path(request.uri().path())
            {
                let scheme = if tls { "https" } else { "http" };
                let host = request
                    .headers()
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost")
                    .to_owned();
                let (method, path) = (request.method().clone(), request.uri().path().to_owned());
                let response = jmap
                    .respond(request, peer, &format!("{scheme}://{host}"))
                    .await;
                info!(service = "jmap", %peer, %method, path, status = response.status().as_u16(), "request");
                return Ok::<_, Infallible>(response);
            }
            if let Some(webmail) = &self.webmail
                && is_webmail_path(request.uri().path())
            {
                let (method, path) = (request.method().clone(), request.uri().path().to_owned());
                let response = webmail.respond(request, peer).await;
                info!(service = "webmail", %peer, %method, path, status = response.status().as_u16(), "request");
                return Ok::<_, Infallible>(response);
            }
            Ok::<_, Infallible>(self.respond(&request, peer).map(WebBody::Whole))
        });
        hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
            .await
            .map_err(std::io::Error::other)
    }

    /// The answer to one request.
    fn respond(&self, request: &Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| request.uri().host())
            .unwrap_or("");
        // The host without a port; IPv6 literals are not ours anyway.
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let path = request.uri().path();
        if let Some(queue) = &self.metrics {
            return match (request.method(), path) {
                (&Method::GET, "/metrics") => {
                    let (size, oldest) = queue.size_and_oldest(crate::queue::now());
                    let body = crate::metrics::render(size, oldest);
                    let length = body.len();
                    let mut r = text(StatusCode::OK, Bytes::from(body), length);
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        header::HeaderValue::from_static(
                            "text/plain; version=0.0.4; charset=utf-8",
                        ),
                    );
                    r
                }
                _ => not_found(),
            };
        }
        let acme_token = path.strip_prefix("/.well-known/acme-challenge/");
        let response = match (request.method(), path) {
            (&Method::GET, _) if acme_token.is_some() => {
                let answer = self
                    .acme
                    .as_ref()
                    .zip(acme_token)
                    .and_then(|(acme, token)| acme.http_answer(token));
                match answer {
                    Some(answer) => {
                        let length = answer.len();
                        text(StatusCode::OK, Bytes::from(answer), length)
                    }
                    None => not_found(),
                }
            }
            (&Method::GET | &Method::HEAD, "/.well-known/mta-sts.txt") => {
                match (&self.policy, host.strip_prefix("mta-sts.")) {
                    (Some(policy), Some(domain)) if self.directory.is_local_domain(domain) => {
                        let body = match request.method() {
                            &Method::HEAD => Bytes::new(),
                            _ => Bytes::from(policy.clone()),
                        };
                        text(StatusCode::OK, body, policy.len())
                    }
                    _ => not_found(),
                }
            }
            (_, "/.well-known/mta-sts.txt") => {
                let mut r = text(StatusCode::METHOD_NOT_ALLOWED, Bytes::new(), 0);
                r.headers_mut()
                    .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
                r
            }
            _ => not_found(),
        };
        info!(service = "web", %peer, method = %request.method(), %host, path, status = response.status().as_u16(), "request");
        response
    }
}

/// The id announcing `policy` in the `_mta-sts` TXT record: 32 hex digits
/// of its SHA-256, so a changed policy gets a new id.
pub fn policy_id(policy: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(policy.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `text/plain` response; `length` is the body's (kept for HEAD).
fn text(status: StatusCode, body: Bytes, length: usize) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(length));
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn not_found() -> Response<Full<Bytes>> {
    text(
        StatusCode::NOT_FOUND,
        Bytes::from_static(b"not found\n"),
        10,
    )
}
