//! What the server examples share around their sessions: the TLS acceptor
//! (given or self-signed), listeners, and the accept loop.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::{args, tls};

/// The acceptor for `cert` and `key`, or for a self-signed certificate for
/// `hostname` (and localhost) written as PEM to `pem_out` for clients to
/// trust. Exits with a message on error.
pub fn acceptor(
    cert: Option<&Path>,
    key: Option<&Path>,
    hostname: &str,
    pem_out: &Path,
) -> TlsAcceptor {
    let identity = match (cert, key) {
        (Some(cert), Some(key)) => {
            tls::load_identity(cert, key).unwrap_or_else(|e| args::exit_error(e))
        }
        _ => {
            let names = vec![hostname.to_owned(), "localhost".into(), "127.0.0.1".into()];
            let (identity, pem) = tls::self_signed(&names).unwrap_or_else(|e| args::exit_error(e));
            std::fs::write(pem_out, pem)
                .unwrap_or_else(|e| args::exit_error(format!("{}: {e}", pem_out.display())));
            identity
        }
    };
    TlsAcceptor::from(tls::server_config(identity).unwrap_or_else(|e| args::exit_error(e)))
}

/// Listens on `addr`, or exits with a message.
pub async fn bind(addr: &str) -> TcpListener {
    TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| args::exit_error(format!("cannot listen on {addr}: {e}")))
}

/// Accepts on `listener` (and on `tls_listener`, whose connections are TLS
/// from the start) until SIGTERM or Ctrl-C, running `serve(tcp, peer,
/// implicit_tls)` in a task per connection.
pub async fn accept_loop<F, Fut>(listener: TcpListener, tls_listener: Option<TcpListener>, serve: F)
where
    F: Fn(TcpStream, SocketAddr, bool) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let accept_tls = async |l: &Option<TcpListener>| match l {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    };
    loop {
        let (accepted, implicit_tls) = tokio::select! {
            accepted = listener.accept() => (accepted, false),
            accepted = accept_tls(&tls_listener) => (accepted, true),
            _ = args::shutdown_signal() => {
                info!("shutting down");
                return;
            }
        };
        match accepted {
            Ok((tcp, peer)) => {
                let connection = serve(tcp, peer, implicit_tls);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        warn!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Err(e) => warn!(error = %e, "accept failed"),
        }
    }
}
