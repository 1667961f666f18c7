//! pop3-server: serves each user's INBOX over POP3 through the shared
//! mailbox store (`DIR/<user>/Maildir`, the layout smtp-sink writes and
//! Dovecot reads), so POP3 and IMAP sessions agree on its messages.
//!
//! STLS is always offered (with a self-signed certificate made at start when
//! none is given); USER/PASS and AUTH wait for TLS unless `--allow-plaintext`.
//! APOP is offered through the greeting's timestamp. Unique ids are the
//! maildir base names, so they stay the same across sessions; DELE removes
//! files only at QUIT; a second session of a logged-in user gets `[IN-USE]`.

use std::sync::Arc;

use sansmail_examples::args::{self, Args, UsageError};
use sansmail_pop3::server::Config;
use sansmail_server::listen::{self, ServerOptions};
use sansmail_server::pop3::Pop3Service;
use sansmail_store::{Maildir, Store};
use tracing::info;

const USAGE: &str = "usage: pop3-server [--listen ADDR] [--tls-listen ADDR] [--maildir DIR] [--user NAME:PASSWORD]...
                   [--hostname NAME] [--allow-plaintext] [--tls-cert PEM --tls-key PEM]

  --listen ADDR       address to listen on, STLS offered (default 127.0.0.1:1110)
  --tls-listen ADDR   also listen here with TLS from the start (POP3S, like port 995)
  --maildir DIR       serve DIR/<user>/Maildir (default ./mail-data)
  --user NAME:PASS    a user who may log in; repeatable
  --hostname NAME     the name in the greeting (default localhost)
  --allow-plaintext   accept USER/PASS and AUTH before STLS
  --tls-cert PEM      certificate chain for STLS (default: self-signed, written to DIR/pop3-server-cert.pem)
  --tls-key PEM       its private key";

struct Options {
    server: ServerOptions,
}

fn parse_options() -> Result<Options, UsageError> {
    let mut args = Args::from_env();
    let mut o = Options {
        server: ServerOptions::new("127.0.0.1:1110"),
    };
    while let Some(arg) = args.next_arg() {
        if o.server.take(&arg, &mut args)? {
            continue;
        }
        match arg.as_str() {
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
    let (acceptor, listener, tls_listener) = options.server.start("pop3-server-cert.pem").await;
    let config = Config {
        hostname: options.server.hostname.clone(),
        stls: true,
        login_requires_tls: !options.server.allow_plaintext,
        implementation: Some(format!(
            "sansmail pop3-server {}",
            env!("CARGO_PKG_VERSION")
        )),
        ..Config::default()
    };
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    info!(listen = %local, maildir = %options.server.maildir.display(), "pop3-server ready");
    let maildir = Maildir::open(&options.server.maildir, &options.server.hostname)
        .unwrap_or_else(|e| args::exit_error(e));
    let service = Arc::new(Pop3Service::new(
        Arc::new(Store::new(Box::new(maildir), None)),
        options.server.hostname.clone(),
        Arc::new(options.server.users),
        acceptor,
        config,
    ));
    listen::accept_loop(listener, tls_listener, move |tcp, peer, implicit_tls| {
        let service = service.clone();
        async move { service.serve(tcp, peer, implicit_tls).await }
    })
    .await;
}
