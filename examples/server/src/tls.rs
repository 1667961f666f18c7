//! Server TLS: certificates from PEM files or made at start with rcgen,
//! replaceable while the server runs (SIGHUP, ACME renewals), and the
//! answers to ACME TLS-ALPN-01 challenges (RFC 8737) on implicit-TLS ports.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex, RwLock};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_rustls::server::TlsStream;
use tokio_rustls::{LazyConfigAcceptor, TlsAcceptor};

/// The ALPN protocol of TLS-ALPN-01 validation.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// A certificate chain and its key.
pub struct Identity {
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
}

/// Reads a PEM certificate chain and key.
pub fn load_identity(cert: &Path, key: &Path) -> io::Result<Identity> {
    let named =
        |path: &Path, e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let cert_pem = std::fs::read(cert).map_err(|e| named(cert, e))?;
    let key_pem = std::fs::read(key).map_err(|e| named(key, e))?;
    let chain = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| named(cert, e))?;
    if chain.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: no certificate", cert.display()),
        ));
    }
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|e| named(key, e))?
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: no private key", key.display()),
            )
        })?;
    Ok(Identity { chain, key })
}

/// Makes a self-signed certificate for `names` (DNS names or IP addresses).
/// Returns it with its PEM form, so a client can be told to trust it.
pub fn self_signed(names: &[String]) -> io::Result<(Identity, String)> {
    let certified = rcgen::generate_simple_self_signed(names.to_vec()).map_err(io::Error::other)?;
    let pem = certified.cert.pem();
    let key = PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    Ok((
        Identity {
            chain: vec![certified.cert.der().clone()],
            key,
        },
        pem,
    ))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server TLS configuration for `identity`.
pub fn server_config(identity: Identity) -> io::Result<Arc<rustls::ServerConfig>> {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .map_err(io::Error::other)?;
    Ok(Arc::new(config))
}

/// The certificate every listener presents, swapped in place when it is
/// reloaded or renewed: sessions in flight keep theirs, new handshakes get
/// the new one.
#[derive(Debug)]
pub struct Certificates {
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificates {
    /// Starts with `identity`.
    pub fn new(identity: Identity) -> io::Result<Arc<Certificates>> {
        Ok(Arc::new(Certificates {
            current: RwLock::new(certified(identity)?),
        }))
    }

    /// Presents `identity` from the next handshake on.
    pub fn replace(&self, identity: Identity) -> io::Result<()> {
        let key = certified(identity)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = key;
        Ok(())
    }

    /// A server configuration presenting whatever is current.
    pub fn server_config(self: &Arc<Self>) -> io::Result<Arc<rustls::ServerConfig>> {
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

/// The signing key and chain of `identity`, checked to belong together.
fn certified(identity: Identity) -> io::Result<Arc<CertifiedKey>> {
    let key = provider()
        .key_provider
        .load_private_key(identity.key)
        .map_err(io::Error::other)?;
    let certified = CertifiedKey::new(identity.chain, key);
    certified.keys_match().map_err(io::Error::other)?;
    Ok(Arc::new(certified))
}

/// Domain → the configuration that answers its TLS-ALPN-01 challenge. One
/// per process, as there is one ACME client.
static ALPN_CHALLENGES: LazyLock<Mutex<HashMap<String, Arc<rustls::ServerConfig>>>> =
    LazyLock::new(Mutex::default);

/// Answers TLS-ALPN-01 for `domain` with `identity` (a certificate carrying
/// the acmeIdentifier extension) until [`withdraw_alpn_challenge`].
pub fn offer_alpn_challenge(domain: &str, identity: Identity) -> io::Result<()> {
    // Not `with_single_cert`: it parses the certificate, and webpki refuses
    // the acmeIdentifier extension it does not know (it is critical).
    let key = provider()
        .key_provider
        .load_private_key(identity.key)
        .map_err(io::Error::other)?;
    let challenge = Arc::new(Challenge(Arc::new(CertifiedKey::new(identity.chain, key))));
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_cert_resolver(challenge);
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    ALPN_CHALLENGES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(domain.to_ascii_lowercase(), Arc::new(config));
    Ok(())
}

/// The one certificate of a TLS-ALPN-01 answer.
#[derive(Debug)]
struct Challenge(Arc<CertifiedKey>);

impl ResolvesServerCert for Challenge {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Stops answering TLS-ALPN-01 for `domain`.
pub fn withdraw_alpn_challenge(domain: &str) {
    ALPN_CHALLENGES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&domain.to_ascii_lowercase());
}

/// The TLS handshake of an implicit-TLS port. A validation server asking
/// for `acme-tls/1` with the name of a pending challenge gets the challenge
/// certificate and the connection is closed (an error says so); everyone
/// else gets `acceptor`'s configuration. Other clients' ALPN is untouched.
pub async fn accept<IO>(acceptor: &TlsAcceptor, io: IO) -> io::Result<TlsStream<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io).await?;
    let hello = start.client_hello();
    let wants_acme = hello
        .alpn()
        .is_some_and(|mut offered| offered.any(|p| p == ACME_TLS_ALPN));
    let challenge = match (wants_acme, hello.server_name()) {
        (true, Some(name)) => ALPN_CHALLENGES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name.to_ascii_lowercase())
            .cloned(),
        _ => None,
    };
    match challenge {
        Some(config) => {
            let mut stream = start.into_stream(config).await?;
            let _ = stream.shutdown().await;
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "answered an ACME TLS-ALPN-01 challenge",
            ))
        }
        None => start.into_stream(acceptor.config().clone()).await,
    }
}
