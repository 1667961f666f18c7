//! imap-server: serves each user's maildir (`DIR/<user>/Maildir`, the layout
//! smtp-sink writes and Dovecot reads, with Maildir++ folders) over IMAP4rev2
//! and IMAP4rev1, through the shared store.
//!
//! STARTTLS is always offered (with a self-signed certificate made at start
//! when none is given); LOGIN and AUTHENTICATE wait for TLS unless
//! `--allow-plaintext` (LOGINDISABLED is advertised until then). Sent,
//! Drafts, Trash, Junk and Archive are created at first login. Sessions share
//! each mailbox's index and are told of each other's changes at once; mail
//! other programs put in the maildir is noticed through file notifications.

use std::sync::Arc;

use sansmail_examples::args::{self, Args, UsageError};
use sansmail_imap::server::Config;
use sansmail_server::imap::ImapService;
use sansmail_server::listen::{self, ServerOptions};
use sansmail_store::{Maildir, Store};
use tracing::info;

const USAGE: &str = "usage: imap-server [--listen ADDR] [--tls-listen ADDR] [--maildir DIR] [--user NAME:PASSWORD]...
                   [--hostname NAME] [--allow-plaintext] [--quota-mb N] [--tls-cert PEM --tls-key PEM]

  --listen ADDR       address to listen on, STARTTLS offered (default 127.0.0.1:1143)
  --tls-listen ADDR   also listen here with TLS from the start (IMAPS, like port 993)
  --maildir DIR       serve DIR/<user>/Maildir (default ./mail-data)
  --user NAME:PASS    a user who may log in; repeatable
  --hostname NAME     the name in the greeting (default localhost)
  --allow-plaintext   accept LOGIN and AUTHENTICATE before STARTTLS
  --quota-mb N        storage quota per user, 0 for none (default 1024)
  --tls-cert PEM      certificate chain for STARTTLS (default: self-signed, written to DIR/imap-server-cert.pem)
  --tls-key PEM       its private key";

struct Options {
    server: ServerOptions,
    quota_mb: u64,
}

fn parse_options() -> Result<Options, UsageError> {
    let mut args = Args::from_env();
    let mut o = Options {
        server: ServerOptions::new("127.0.0.1:1143"),
        quota_mb: 1024,
    };
    while let Some(arg) = args.next_arg() {
        if o.server.take(&arg, &mut args)? {
            continue;
        }
        match arg.as_str() {
            "--quota-mb" => o.quota_mb = args.parsed(&arg)?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(UsageError(format!("unknown argument {other:?}"))),
        }
    }
    o.server.check()?;
    Ok(o)
}

#[tokio::main]
async fn main() {
    let options = parse_options().unwrap_or_else(|e| args::exit_usage(&e, USAGE));
    args::init_logging();
    let (acceptor, listener, tls_listener) = options.server.start("imap-server-cert.pem").await;
    let mut config = Config::default();
    config.hostname = options.server.hostname.clone();
    config.allow_plaintext_auth = options.server.allow_plaintext;
    config.id = vec![
        ("name".into(), "sansmail imap-server".into()),
        ("version".into(), env!("CARGO_PKG_VERSION").into()),
    ];
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    info!(listen = %local, maildir = %options.server.maildir.display(), "imap-server ready");
    let maildir = Maildir::open(&options.server.maildir, &options.server.hostname)
        .unwrap_or_else(|e| args::exit_error(e));
    let quota = (options.quota_mb > 0).then(|| options.quota_mb * 1024 * 1024);
    let service = Arc::new(ImapService {
        store: Arc::new(Store::new(Box::new(maildir), quota)),
        passwords: Arc::new(options.server.users),
        acceptor,
        config,
    });
    listen::accept_loop(listener, tls_listener, move |tcp, peer, implicit_tls| {
        let service = service.clone();
        async move { service.serve(tcp, peer, implicit_tls).await }
    })
    .await;
}
