//! Server TLS: certificates from PEM files or made at start with rcgen.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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
