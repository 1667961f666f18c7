//! Client TLS: which certificates a client trusts.

use std::io;
use std::sync::Arc;

/// How a client checks the server's certificate.
pub enum Trust {
    /// The Mozilla root store (webpki-roots).
    WebPki,
    /// Only the certificates in this PEM file.
    PemFile(std::path::PathBuf),
    /// Nothing: any certificate is accepted. For tests against self-signed servers only.
    Insecure,
}

/// A client TLS configuration (the one the `sansmail` clients use).
pub fn client_config(trust: &Trust) -> io::Result<Arc<rustls::ClientConfig>> {
    let trust = match trust {
        Trust::WebPki => sansmail::Trust::WebPki,
        Trust::Insecure => sansmail::Trust::Anything,
        Trust::PemFile(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            let certs = rustls_pemfile::certs(&mut &pem[..]).collect::<Result<Vec<_>, _>>()?;
            sansmail::Trust::Roots(certs)
        }
    };
    Ok(sansmail::client_tls_config(&trust))
}
