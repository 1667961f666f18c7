//! What the server examples share around their sessions: the TLS acceptor
//! (given or self-signed), listeners, and the accept loop.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::tls;
use sansmail_examples::args;

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

/// The command-line flags the mailbox servers share.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// `--listen ADDR`: plaintext with STARTTLS/STLS offered.
    pub listen: String,
    /// `--tls-listen ADDR`: TLS from the start.
    pub tls_listen: Option<String>,
    /// `--maildir DIR`: serves `DIR/<user>/Maildir`.
    pub maildir: std::path::PathBuf,
    /// `--user NAME:PASS`, repeatable: names lowercased.
    pub users: std::collections::HashMap<String, String>,
    /// `--hostname NAME`.
    pub hostname: String,
    /// `--allow-plaintext`: log in before TLS.
    pub allow_plaintext: bool,
    /// `--tls-cert PEM`.
    pub cert: Option<std::path::PathBuf>,
    /// `--tls-key PEM`.
    pub key: Option<std::path::PathBuf>,
}

impl ServerOptions {
    /// The defaults, listening on `listen`.
    pub fn new(listen: &str) -> Self {
        ServerOptions {
            listen: listen.into(),
            tls_listen: None,
            maildir: "mail-data".into(),
            users: std::collections::HashMap::new(),
            hostname: "localhost".into(),
            allow_plaintext: false,
            cert: None,
            key: None,
        }
    }

    /// Reads `flag` (and its value) when it is one of these; false otherwise.
    pub fn take(&mut self, flag: &str, args: &mut args::Args) -> Result<bool, args::UsageError> {
        match flag {
            "--listen" => self.listen = args.value(flag)?,
            "--tls-listen" => self.tls_listen = Some(args.value(flag)?),
            "--maildir" => self.maildir = args.value(flag)?.into(),
            "--user" => {
                let v = args.value(flag)?;
                let (name, pass) = v
                    .split_once(':')
                    .filter(|(n, p)| {
                        sansmail_store::maildir::names::user_dir(n).is_some() && !p.is_empty()
                    })
                    .ok_or_else(|| {
                        args::UsageError("--user takes NAME:PASSWORD with a plain NAME".into())
                    })?;
                self.users
                    .insert(name.to_ascii_lowercase(), pass.to_owned());
            }
            "--hostname" => self.hostname = args.value(flag)?,
            "--allow-plaintext" => self.allow_plaintext = true,
            "--tls-cert" => self.cert = Some(args.value(flag)?.into()),
            "--tls-key" => self.key = Some(args.value(flag)?.into()),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks what only the whole set can tell.
    pub fn check(&self) -> Result<(), args::UsageError> {
        if self.cert.is_some() != self.key.is_some() {
            return Err(args::UsageError(
                "--tls-cert and --tls-key go together".into(),
            ));
        }
        Ok(())
    }

    /// Makes the maildir root, warns when nobody can log in, and sets up
    /// TLS (a self-signed certificate written to `DIR/<cert_file>` when
    /// none is given) and the listeners. Exits with a message on error.
    pub async fn start(&self, cert_file: &str) -> (TlsAcceptor, TcpListener, Option<TcpListener>) {
        if self.users.is_empty() {
            warn!("no --user given: nobody can log in");
        }
        std::fs::create_dir_all(&self.maildir)
            .unwrap_or_else(|e| args::exit_error(format!("{}: {e}", self.maildir.display())));
        let acceptor = acceptor(
            self.cert.as_deref(),
            self.key.as_deref(),
            &self.hostname,
            &self.maildir.join(cert_file),
        );
        let listener = bind(&self.listen).await;
        let tls_listener = match &self.tls_listen {
            Some(addr) => Some(bind(addr).await),
            None => None,
        };
        (acceptor, listener, tls_listener)
    }
}
