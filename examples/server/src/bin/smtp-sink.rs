//! smtp-sink: an SMTP (or LMTP) server that delivers what it accepts into maildirs.
//!
//! STARTTLS is always offered (with a self-signed certificate made at start
//! when none is given), AUTH only over TLS and only when users are given.
//! Recipients in the served domains are accepted (only known users when
//! `--user` is given); others only from authenticated sessions.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use sansmail_common::driver::now;
use sansmail_examples::args::{self, Args, UsageError};
use sansmail_server::accounts::{self, Passwords};
use sansmail_server::tls;
use sansmail_smtp::Mode;
use sansmail_smtp::driver::{Driver, Step, Tls};
use sansmail_smtp::server::{Config, Event, Session};
use sansmail_smtp::types::{ForwardPath, Host, Mechanism, Reply};
use sansmail_store::plain::{self as maildir, MaildirRoot};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

const USAGE: &str = "usage: smtp-sink [--listen ADDR] [--maildir DIR] [--domain D]... [--user NAME:PASSWORD]...
                 [--lmtp] [--requiretls] [--hostname NAME] [--max-size OCTETS] [--tls-cert PEM --tls-key PEM]

  --listen ADDR      address to listen on (default 127.0.0.1:2525)
  --maildir DIR      deliver into DIR/<local-part>/Maildir (default ./mail-data)
  --domain D         a domain to accept mail for; repeatable (default localhost)
  --user NAME:PASS   a user who may log in; with any given, unknown local users get 550 5.1.1
  --lmtp             speak LMTP (RFC 2033) instead of SMTP
  --requiretls       offer REQUIRETLS (RFC 8689) over TLS
  --hostname NAME    the name in the greeting (default: the first domain)
  --max-size OCTETS  largest message accepted (default 36700160)
  --tls-cert PEM     certificate chain for STARTTLS (default: self-signed, written to DIR/smtp-sink-cert.pem)
  --tls-key PEM      its private key";

struct Options {
    listen: String,
    maildir: PathBuf,
    domains: Vec<String>,
    users: HashMap<String, String>,
    lmtp: bool,
    requiretls: bool,
    hostname: Option<String>,
    max_size: u64,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

fn parse_options() -> Result<Options, UsageError> {
    let mut args = Args::from_env();
    let mut o = Options {
        listen: "127.0.0.1:2525".into(),
        maildir: "mail-data".into(),
        domains: Vec::new(),
        users: HashMap::new(),
        lmtp: false,
        requiretls: false,
        hostname: None,
        max_size: Config::default().max_message_size,
        cert: None,
        key: None,
    };
    while let Some(arg) = args.next_arg() {
        match arg.as_str() {
            "--listen" => o.listen = args.value(&arg)?,
            "--maildir" => o.maildir = args.value(&arg)?.into(),
            "--domain" => {
                let d = args.value(&arg)?;
                sansmail_smtp::types::Domain::new(&d)
                    .map_err(|_| UsageError(format!("--domain: {d:?} is not a domain name")))?;
                o.domains.push(d.to_ascii_lowercase());
            }
            "--user" => {
                let v = args.value(&arg)?;
                let (name, pass) = v
                    .split_once(':')
                    .filter(|(n, p)| !n.is_empty() && !p.is_empty())
                    .ok_or_else(|| UsageError("--user takes NAME:PASSWORD".into()))?;
                o.users.insert(name.to_ascii_lowercase(), pass.to_owned());
            }
            "--lmtp" => o.lmtp = true,
            "--requiretls" => o.requiretls = true,
            "--hostname" => o.hostname = Some(args.value(&arg)?),
            "--max-size" => o.max_size = args.parsed(&arg)?,
            "--tls-cert" => o.cert = Some(args.value(&arg)?.into()),
            "--tls-key" => o.key = Some(args.value(&arg)?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(UsageError(format!("unknown argument {other:?}"))),
        }
    }
    if o.domains.is_empty() {
        o.domains.push("localhost".into());
    }
    if o.cert.is_some() != o.key.is_some() {
        return Err(UsageError("--tls-cert and --tls-key go together".into()));
    }
    Ok(o)
}

/// What every connection shares.
struct Shared {
    options: Options,
    passwords: Arc<dyn Passwords>,
    hostname: String,
    store: MaildirRoot,
    acceptor: TlsAcceptor,
    config: Config,
}

#[tokio::main]
async fn main() {
    let options = parse_options().unwrap_or_else(|e| args::exit_usage(&e, USAGE));
    args::init_logging();
    let hostname = options
        .hostname
        .clone()
        .unwrap_or_else(|| options.domains[0].clone());
    let store =
        MaildirRoot::open(&options.maildir, &hostname).unwrap_or_else(|e| args::exit_error(e));
    let identity = match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => {
            tls::load_identity(cert, key).unwrap_or_else(|e| args::exit_error(e))
        }
        _ => {
            let names = vec![hostname.clone(), "localhost".into(), "127.0.0.1".into()];
            let (identity, pem) = tls::self_signed(&names).unwrap_or_else(|e| args::exit_error(e));
            let path = options.maildir.join("smtp-sink-cert.pem");
            std::fs::write(&path, pem)
                .unwrap_or_else(|e| args::exit_error(format!("{}: {e}", path.display())));
            identity
        }
    };
    let acceptor =
        TlsAcceptor::from(tls::server_config(identity).unwrap_or_else(|e| args::exit_error(e)));
    let listener = TcpListener::bind(&options.listen)
        .await
        .unwrap_or_else(|e| args::exit_error(format!("cannot listen on {}: {e}", options.listen)));
    let config = Config {
        hostname: hostname.clone(),
        mode: if options.lmtp { Mode::Lmtp } else { Mode::Smtp },
        starttls: true,
        auth_mechanisms: if options.users.is_empty() {
            Vec::new()
        } else {
            vec![Mechanism::Plain, Mechanism::Login]
        },
        max_message_size: options.max_size,
        offer: sansmail_smtp::server::Offer {
            require_tls: options.requiretls,
            ..Default::default()
        },
        ..Config::default()
    };
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    info!(listen = %local, maildir = %options.maildir.display(), domains = ?options.domains, "smtp-sink ready");
    let shared = Arc::new(Shared {
        passwords: Arc::new(options.users.clone()),
        options,
        hostname,
        store,
        acceptor,
        config,
    });
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        if let Err(e) = serve(tcp, peer, &shared).await {
                            warn!(%peer, error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => warn!(error = %e, "accept failed"),
            },
            _ = args::shutdown_signal() => {
                info!("shutting down");
                return;
            }
        }
    }
}

/// The message being received.
struct Transaction {
    from: String,
    owners: Vec<String>,
    recipients: Vec<String>,
    spool: Option<(PathBuf, tokio::fs::File)>,
}

/// One connection, run by the SMTP server driver.
async fn serve(tcp: TcpStream, peer: SocketAddr, shared: &Shared) -> std::io::Result<()> {
    let session = Session::new(shared.config.clone(), Instant::now());
    let mut driver = Driver::new(session, tcp, Tls::Server(shared.acceptor.clone()));
    let mut helo = String::new();
    let mut tx: Option<Transaction> = None;
    while let Step::Event(event) = driver.step(None).await? {
        let tls = driver.is_tls();
        on_event(
            event,
            driver.session(),
            shared,
            peer,
            tls,
            &mut helo,
            &mut tx,
        )
        .await?;
    }
    Ok(())
}

fn reply(code: u16, status: (u8, u16, u16), text: &str) -> Reply {
    Reply::text(code, status, text).expect("fixed reply text is valid")
}

#[allow(clippy::too_many_arguments)]
async fn on_event(
    event: Event,
    session: &mut Session,
    shared: &Shared,
    peer: SocketAddr,
    tls: bool,
    helo: &mut String,
    tx: &mut Option<Transaction>,
) -> std::io::Result<()> {
    let answer = |session: &mut Session, ticket, result: Result<(), Reply>| {
        // The ticket comes from the event being answered, so it is the pending one.
        let _ = match result {
            Ok(()) => session.accept(now(), ticket),
            Err(r) => session.reject(now(), ticket, r),
        };
    };
    match event {
        Event::Connected { ticket } => answer(session, ticket, Ok(())),
        Event::Hello { ticket, client, .. } => {
            *helo = client.to_string();
            answer(session, ticket, Ok(()));
        }
        Event::Auth {
            ticket,
            credentials,
            ..
        } => {
            let user = credentials.username().unwrap_or_default().to_owned();
            let same_identity = credentials
                .identity()
                .is_none_or(|i| i.eq_ignore_ascii_case(&user));
            let ok = match (same_identity, credentials.password()) {
                (true, Some(p)) => accounts::login(&shared.passwords, peer.ip(), &user, p)
                    .await
                    .is_some(),
                _ => false,
            };
            info!(%peer, user = %user, ok, "authentication");
            let result = if ok {
                Ok(())
            } else {
                Err(reply(535, (5, 7, 8), "Authentication credentials invalid"))
            };
            answer(session, ticket, result);
        }
        Event::MailFrom { ticket, from, .. } => {
            *tx = Some(Transaction {
                from: from.to_string(),
                owners: Vec::new(),
                recipients: Vec::new(),
                spool: None,
            });
            answer(session, ticket, Ok(()));
        }
        Event::RcptTo { ticket, to, .. } => {
            let result = recipient_owner(&to, shared, session.is_authenticated());
            if let (Ok(owner), Some(tx)) = (&result, tx.as_mut()) {
                tx.owners.push(owner.clone());
                tx.recipients.push(to.to_string());
            }
            answer(session, ticket, result.map(|_| ()));
        }
        Event::DataChunk(chunk) => {
            if let Some(tx) = tx.as_mut() {
                if tx.spool.is_none() {
                    tx.spool = Some(open_spool(shared, peer, tls, helo, tx, session).await?);
                }
                if let Some((_, file)) = tx.spool.as_mut() {
                    file.write_all(&chunk).await?;
                }
            }
        }
        Event::MessageEnd {
            ticket,
            size,
            recipients,
        } => {
            let Some(mut t) = tx.take() else {
                answer(
                    session,
                    ticket,
                    Err(reply(451, (4, 3, 0), "Local error in processing")),
                );
                return Ok(());
            };
            if t.spool.is_none() {
                t.spool = Some(open_spool(shared, peer, tls, helo, &t, session).await?);
            }
            let results = deliver(shared, &mut t).await;
            let failed = results.iter().filter(|r| r.is_err()).count();
            info!(%peer, from = %t.from, to = ?t.recipients, size, failed, "message received");
            if shared.config.mode == Mode::Lmtp && results.len() == recipients {
                let replies: Vec<Reply> = results
                    .into_iter()
                    .map(|r| {
                        r.unwrap_or_else(|e| {
                            reply(451, (4, 3, 0), &format!("Delivery failed: {}", e.kind()))
                        })
                    })
                    .collect();
                let _ = session.respond_each(now(), ticket, &replies);
            } else if failed == 0 {
                answer(session, ticket, Ok(()));
            } else {
                answer(
                    session,
                    ticket,
                    Err(reply(451, (4, 3, 0), "Local error in processing")),
                );
            }
        }
        Event::TransactionAborted { reason } => {
            if let Some(Transaction {
                spool: Some((path, _)),
                ..
            }) = tx.take()
            {
                let _ = tokio::fs::remove_file(path).await;
            }
            info!(%peer, ?reason, "transaction aborted");
        }
        Event::Verify { ticket, .. } => answer(session, ticket, Ok(())),
        Event::Expand { ticket, .. } => answer(
            session,
            ticket,
            Err(reply(502, (5, 5, 1), "EXPN not available")),
        ),
        Event::PipelinedInputDiscarded { bytes } => {
            warn!(%peer, bytes, "discarded bytes pipelined after STARTTLS")
        }
        other => warn!(%peer, event = ?other, "unhandled event"),
    }
    Ok(())
}

/// Decides a recipient: the maildir owner it goes to, or the refusal.
fn recipient_owner(
    to: &ForwardPath,
    shared: &Shared,
    authenticated: bool,
) -> Result<String, Reply> {
    let Some(mailbox) = to.mailbox() else {
        return Ok("postmaster".into());
    };
    let local_part = mailbox.local_part.text().into_owned();
    let local_domain = match &mailbox.host {
        Host::Domain(d) => shared
            .options
            .domains
            .iter()
            .any(|ours| d.eq_ignore_case(ours)),
        _ => false,
    };
    if !local_domain && !authenticated {
        return Err(reply(550, (5, 7, 1), "Relaying denied"));
    }
    let lower = local_part.to_ascii_lowercase();
    if local_domain
        && !shared.options.users.is_empty()
        && lower != "postmaster"
        && !shared.options.users.contains_key(&lower)
    {
        return Err(reply(550, (5, 1, 1), "No such user"));
    }
    let name = if local_domain {
        local_part
    } else {
        format!("{local_part}@{}", mailbox.host)
    };
    maildir::folder_name(&name)
        .ok_or_else(|| reply(550, (5, 1, 3), "Bad destination mailbox address"))
}

/// Creates the spool file and writes the trace headers.
async fn open_spool(
    shared: &Shared,
    peer: SocketAddr,
    tls: bool,
    helo: &str,
    tx: &Transaction,
    session: &Session,
) -> std::io::Result<(PathBuf, tokio::fs::File)> {
    let store = shared.store.clone();
    let (path, file) = tokio::task::spawn_blocking(move || store.create_spool())
        .await
        .map_err(std::io::Error::other)??;
    let mut file = tokio::fs::File::from_std(file);
    let protocol = match (shared.config.mode, tls, session.is_authenticated()) {
        (Mode::Lmtp, _, _) => "LMTP",
        (_, true, true) => "ESMTPSA",
        (_, true, false) => "ESMTPS",
        (_, false, true) => "ESMTPA",
        (_, false, false) => "ESMTP",
    };
    let received = format!(
        "from {helo} ([{}])\r\n\tby {} with {protocol};\r\n\t{}",
        peer.ip(),
        shared.hostname,
        maildir::rfc5322_date(SystemTime::now())
    );
    let mut headers = Vec::new();
    maildir::write_trace_headers(&mut headers, &tx.from, &received)?;
    file.write_all(&headers).await?;
    Ok((path, file))
}

/// Syncs the spool file and links it into every recipient's maildir.
async fn deliver(shared: &Shared, tx: &mut Transaction) -> Vec<Result<Reply, std::io::Error>> {
    let Some((path, mut file)) = tx.spool.take() else {
        return vec![Err(std::io::Error::other("no spool file"))];
    };
    let synced = async {
        file.flush().await?;
        file.sync_all().await
    }
    .await;
    let store = shared.store.clone();
    let owners = tx.owners.clone();
    let results = tokio::task::spawn_blocking(move || {
        let results: Vec<_> = owners
            .iter()
            .map(|owner| match &synced {
                Ok(()) => store
                    .deliver(&path, owner)
                    .map(|_| reply(250, (2, 0, 0), "Message accepted for delivery")),
                Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            })
            .collect();
        let _ = std::fs::remove_file(&path);
        results
    })
    .await;
    results.unwrap_or_else(|e| vec![Err(std::io::Error::other(e))])
}
