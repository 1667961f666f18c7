//! Where a server is and how to talk to it, from a URL such as
//! `smtp+starttls://user:password@mail.example.com`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use sansmail_common::driver::{Stream, Tls};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::{ConfigProblem, Error};

/// The protocols an [`Endpoint`] can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// SMTP submission or relay.
    Smtp,
    /// IMAP.
    Imap,
    /// POP3.
    Pop3,
}

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`smtps`, `imaps`, `pop3s`).
    Implicit,
    /// STARTTLS (STLS), and fail when the server does not offer it (`…+starttls`).
    StartTls,
    /// STARTTLS when offered, else plaintext (`smtp`, `imap`, `pop3` on
    /// other ports); credentials still never travel in the clear unless
    /// [`Endpoint::allow_plaintext_auth`] says so.
    Opportunistic,
}

/// How a client checks the server's certificate.
///
/// ```
/// let config = sansmail::client_tls_config(&sansmail::Trust::WebPki);
/// assert!(config.alpn_protocols.is_empty());
/// ```
#[derive(Clone, Debug)]
pub enum Trust {
    /// The Mozilla root store (webpki-roots).
    WebPki,
    /// Only these certificates (a private CA, or a self-signed server).
    Roots(Vec<CertificateDer<'static>>),
    /// Any certificate: encryption without knowing who is at the other end.
    /// For tests, and opportunistic TLS between MTAs (RFC 7435).
    Anything,
}

/// A server to connect to, with credentials and TLS settings.
///
/// | scheme | security | default port |
/// |---|---|---|
/// | `smtp` | STARTTLS when offered (required on 587) | 25 |
/// | `smtp+starttls` | STARTTLS required | 587 |
/// | `smtps` | implicit TLS | 465 |
/// | `imap`, `imap+starttls`, `imaps` | as above | 143, 143, 993 |
/// | `pop3`, `pop3+starttls`, `pop3s` | as above | 110, 110, 995 |
///
/// User and password may be percent-encoded (`%40` for `@`).
///
/// ```
/// use sansmail::{Endpoint, Protocol, Security};
///
/// let e = Endpoint::parse("smtp://me%40example.com:s3cret@mail.example.com:587")?;
/// assert_eq!(e.protocol(), Protocol::Smtp);
/// assert_eq!(e.security(), Security::StartTls); // the rule for port 587
/// assert_eq!(e.server(), "mail.example.com:587");
/// assert_eq!(e.username(), Some("me@example.com"));
/// assert!(Endpoint::parse("http://example.com").is_err());
/// # Ok::<(), sansmail::Error>(())
/// ```
#[derive(Clone)]
pub struct Endpoint {
    protocol: Protocol,
    security: Security,
    host: String,
    port: u16,
    pub(crate) credentials: Option<(String, String)>,
    /// Made once, shared by every connection (the root store is large).
    tls: Arc<rustls::ClientConfig>,
    pub(crate) allow_plaintext: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Option<Duration>,
    pub(crate) hello_name: String,
    /// Where to connect when it is not `host` (an MX host's address, with
    /// `host` its name for the certificate check).
    pub(crate) address: Option<std::net::SocketAddr>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("protocol", &self.protocol)
            .field("security", &self.security)
            .field("server", &self.server())
            .field("username", &self.username())
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Reads a URL (see the table above).
    pub fn parse(url: &str) -> Result<Endpoint, Error> {
        let bad = |reason: &'static str| {
            Error::Config(ConfigProblem::Url {
                url: url.to_owned(),
                reason,
            })
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme://"))?;
        let (protocol, security, port) = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => (Protocol::Smtp, Security::Opportunistic, 25),
            "smtp+starttls" => (Protocol::Smtp, Security::StartTls, 587),
            "smtps" => (Protocol::Smtp, Security::Implicit, 465),
            "imap" => (Protocol::Imap, Security::Opportunistic, 143),
            "imap+starttls" => (Protocol::Imap, Security::StartTls, 143),
            "imaps" => (Protocol::Imap, Security::Implicit, 993),
            "pop3" | "pop" => (Protocol::Pop3, Security::Opportunistic, 110),
            "pop3+starttls" | "pop+starttls" => (Protocol::Pop3, Security::StartTls, 110),
            "pop3s" | "pops" => (Protocol::Pop3, Security::Implicit, 995),
            _ => {
                return Err(bad(
                    "unknown scheme (smtp, smtps, imap, imaps, pop3, pop3s...)",
                ));
            }
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let credentials = match userinfo {
            Some(u) => {
                let (user, password) = u.split_once(':').unwrap_or((u, ""));
                Some((
                    percent_decode(user).ok_or_else(|| bad("bad %-escape in the user"))?,
                    percent_decode(password).ok_or_else(|| bad("bad %-escape in the password"))?,
                ))
            }
            None => None,
        };
        let (host, port) =
            split_host_port(hostport, port).ok_or_else(|| bad("bad host or port"))?;
        let security = match (protocol, security, port) {
            (Protocol::Smtp, Security::Opportunistic, 587) => Security::StartTls,
            (_, s, _) => s,
        };
        Ok(Endpoint {
            protocol,
            security,
            host,
            port,
            credentials,
            tls: client_tls_config(&Trust::WebPki),
            allow_plaintext: false,
            connect_timeout: Duration::from_secs(30),
            timeout: None,
            hello_name: "localhost".into(),
            address: None,
        })
    }

    /// The protocol the scheme names.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// How the connection is protected.
    pub fn security(&self) -> Security {
        self.security
    }

    /// `host:port` (IPv6 addresses in brackets).
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The user name, if any.
    pub fn username(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(u, _)| u.as_str())
    }

    /// Sets the user name and password (instead of putting them in the URL).
    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Trusts only the certificates in this PEM text (a private CA, or a
    /// self-signed server) instead of the Mozilla root store.
    pub fn trust_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let certs = rustls_pemfile::certs(&mut &pem[..])
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigProblem::Certificates(e.to_string()))?;
        if certs.is_empty() {
            return Err(
                ConfigProblem::Certificates("no certificate in the PEM text".into()).into(),
            );
        }
        self.tls = client_tls_config(&Trust::Roots(certs));
        Ok(self)
    }

    /// Accepts any certificate: encryption without knowing who is at the
    /// other end. Only for tests, or opportunistic TLS between MTAs (RFC 7435).
    pub fn danger_accept_any_certificate(mut self) -> Self {
        self.tls = client_tls_config(&Trust::Anything);
        self
    }

    /// Lets credentials travel without TLS: for loopback test servers only.
    pub fn allow_plaintext_auth(mut self, allow: bool) -> Self {
        self.allow_plaintext = allow;
        self
    }

    /// How long to wait for each server reply (default: the protocol's own,
    /// e.g. RFC 5321's 5 minutes for SMTP).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How long connecting (TCP and implicit TLS) may take. Default 30 seconds.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The name an SMTP client greets with (EHLO). Default `localhost`.
    pub fn hello_name(mut self, name: &str) -> Self {
        self.hello_name = name.to_owned();
        self
    }

    /// Connects to `address`, still checking the certificate for the host
    /// name, with this TLS configuration.
    pub(crate) fn at_address(
        mut self,
        address: std::net::SocketAddr,
        tls: Arc<rustls::ClientConfig>,
    ) -> Self {
        self.address = Some(address);
        self.tls = tls;
        self
    }

    /// The user and password for `protocol`, which must be this endpoint's.
    pub(crate) fn login(&self, protocol: Protocol) -> Result<(String, String), Error> {
        if self.protocol != protocol {
            return Err(self.wrong_protocol(protocol));
        }
        self.credentials
            .clone()
            .ok_or(Error::Config(ConfigProblem::NoCredentials(protocol)))
    }

    /// The error for giving this endpoint to a client of another protocol.
    pub(crate) fn wrong_protocol(&self, expected: Protocol) -> Error {
        Error::Config(ConfigProblem::WrongProtocol {
            endpoint: format!("{self:?}"),
            expected,
        })
    }

    /// The session's STARTTLS policy, from the crate's own three values.
    pub(crate) fn starttls<T>(&self, disabled: T, required: T, opportunistic: T) -> T {
        match self.security {
            Security::Implicit => disabled,
            Security::StartTls => required,
            Security::Opportunistic => opportunistic,
        }
    }

    /// Connects: TCP, then the TLS handshake for implicit TLS. Returns the
    /// stream and what a later STARTTLS needs.
    pub(crate) async fn connect(&self) -> Result<(Stream<TcpStream>, Tls), Error> {
        let server = self.server();
        let connector = TlsConnector::from(self.tls.clone());
        let name = ServerName::try_from(self.host.clone())
            .map_err(|_| ConfigProblem::HostName(self.host.clone()))?;
        let connect = async {
            let tcp = match self.address {
                Some(address) => TcpStream::connect(address).await,
                None => TcpStream::connect((self.host.as_str(), self.port)).await,
            };
            let tcp = tcp.map_err(|source| Error::Connect {
                server: server.clone(),
                source,
            })?;
            let _ = tcp.set_nodelay(true);
            let mut stream = Stream::Plain(tcp);
            if self.security == Security::Implicit {
                stream
                    .connect_tls(&connector, name.clone())
                    .await
                    .map_err(|e| Error::io(&server, e))?;
            }
            Ok::<_, Error>(stream)
        };
        let stream = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| Error::Timeout {
                server: server.clone(),
                waiting_for: "the connection",
            })??;
        Ok((stream, Tls::Client(connector, name)))
    }
}

/// `host[:port]` or `[v6][:port]`.
fn split_host_port(text: &str, default_port: u16) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    // A host name (letters, digits, '-', '_', '.') or an IP address; an IPv6
    // address only in brackets.
    let name_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    let ip_ok = match text.starts_with('[') {
        true => host.parse::<std::net::Ipv6Addr>().is_ok(),
        false => false,
    };
    if !(name_ok && !text.starts_with('[') || ip_ok) {
        return None;
    }
    let port = match port {
        Some(p) => p.parse().ok().filter(|&p| p != 0)?,
        None => default_port,
    };
    Some((host.to_owned(), port))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration (ring, TLS 1.2 and 1.3) for `trust`, as
/// the clients of this crate use.
pub fn client_tls_config(trust: &Trust) -> Arc<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions");
    let config = match trust {
        Trust::Anything => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider())))
            .with_no_client_auth(),
        Trust::WebPki | Trust::Roots(_) => {
            let mut roots = rustls::RootCertStore::empty();
            match trust {
                Trust::Roots(certs) => {
                    // A certificate rustls cannot use as a root is left out:
                    // the handshake then names the problem.
                    roots.add_parsable_certificates(certs.iter().cloned());
                }
                _ => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Arc::new(config)
}

/// Accepts any certificate (signatures are still checked).
#[derive(Debug)]
struct AcceptAnything(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_ports_and_credentials() {
        let e = Endpoint::parse("smtps://a:b%3Ac@[::1]").unwrap();
        assert_eq!(
            (e.security(), e.server()),
            (Security::Implicit, "[::1]:465".into())
        );
        assert_eq!(e.credentials, Some(("a".into(), "b:c".into())));
        let e = Endpoint::parse("smtp://mx.example").unwrap();
        assert_eq!(
            (e.security(), e.server()),
            (Security::Opportunistic, "mx.example:25".into())
        );
        let e = Endpoint::parse("smtp+starttls://h/").unwrap();
        assert_eq!(
            (e.security(), e.server()),
            (Security::StartTls, "h:587".into())
        );
        let e = Endpoint::parse("IMAPS://u@h").unwrap();
        assert_eq!((e.protocol(), e.server()), (Protocol::Imap, "h:993".into()));
        assert_eq!(e.credentials, Some(("u".into(), String::new())));
        let e = Endpoint::parse("pop3+starttls://h:1110").unwrap();
        assert_eq!(
            (e.protocol(), e.security()),
            (Protocol::Pop3, Security::StartTls)
        );
        for bad in [
            "smtp://",
            "smtp://h:0",
            "smtp://h:x",
            "smtp://%zz@h",
            "ftp://h",
            "h:25",
        ] {
            assert!(
                matches!(Endpoint::parse(bad), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_leaves_the_password_out() {
        let e = Endpoint::parse("imaps://user:hunter2@h").unwrap();
        assert!(!format!("{e:?}").contains("hunter2"));
    }

    use proptest::prelude::*;

    /// `%XX` for every octet outside RFC 3986's unreserved set.
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    proptest! {
        #[test]
        fn urls_round_trip(
            scheme in prop::sample::select(vec![
                ("smtp", Protocol::Smtp, Security::Opportunistic),
                ("smtp+starttls", Protocol::Smtp, Security::StartTls),
                ("smtps", Protocol::Smtp, Security::Implicit),
                ("imap", Protocol::Imap, Security::Opportunistic),
                ("imaps", Protocol::Imap, Security::Implicit),
                ("pop3+starttls", Protocol::Pop3, Security::StartTls),
            ]),
            user in "\\PC{1,20}",
            password in "\\PC{0,20}",
            host in "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z]{2,6}){0,3}",
            port in 1u16..,
            path in prop::option::of("/[a-zA-Z0-9/]{0,10}"),
        ) {
            let (name, protocol, security) = scheme;
            let url = format!(
                "{name}://{}:{}@{host}:{port}{}",
                encode(&user),
                encode(&password),
                path.unwrap_or_default()
            );
            let e = Endpoint::parse(&url).unwrap();
            prop_assert_eq!(e.protocol(), protocol);
            let expected = if protocol == Protocol::Smtp && port == 587 && security == Security::Opportunistic {
                Security::StartTls
            } else {
                security
            };
            prop_assert_eq!(e.security(), expected);
            prop_assert_eq!(e.server(), format!("{host}:{port}"));
            prop_assert_eq!(e.credentials, Some((user, password)));
        }
    }
}
