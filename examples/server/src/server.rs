//! mail-server: every crate assembled into one server. Inbound SMTP,
//! submission, a durable relay queue, IMAP and POP3 over one maildir store,
//! with content filters and per-address limits.
//!
//! Data layout under the data directory: `mail/<user>/Maildir` (the
//! mailboxes), `queue/` (outbound messages and their envelopes), `tls/`
//! (the self-signed certificate made at first start) and `demo-user`
//! (the demo account's hash, when no users are configured).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sansmail_smtp::types::Mechanism;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::acme::Acme;
use crate::admin::{Reloader, Reread, with_managed_users};
use crate::config::{Secret, Settings, UserName};
use crate::control;
use crate::imap::ImapService;
use crate::jmap_http::JmapHttp;
use crate::limits::{Guard, Policy};
use crate::local::Local;
use crate::pop3::Pop3Service;
use crate::queue::Queue;
use crate::relay::Relay;
use crate::sender_auth::Checker;
use crate::smtp::{Context, SmtpService};
use crate::tls::{self, Certificates};
use crate::tls_reports::TlsReporter;
use crate::users::Directory;
use crate::web::WebService;
use sansmail_store::{Maildir, Store};

/// How long sessions in flight get to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// One kind of listener.
#[derive(Clone)]
enum Service {
    Smtp(Arc<SmtpService>),
    Imap(Arc<ImapService>),
    Pop3(Arc<Pop3Service>),
    Web(Arc<WebService>),
}

impl Service {
    async fn serve(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
        implicit_tls: bool,
    ) -> std::io::Result<()> {
        match self {
            Service::Smtp(s) => s.serve(tcp, peer, implicit_tls).await,
            Service::Imap(s) => s.serve(tcp, peer, implicit_tls).await,
            Service::Pop3(s) => s.serve(tcp, peer, implicit_tls).await,
            Service::Web(s) => s.serve(tcp, peer, implicit_tls).await,
        }
    }

    /// The line that turns a client away, in its protocol.
    fn refusal(&self, text: &str) -> String {
        match self {
            Service::Smtp(_) => format!("421 4.7.0 {text}\r\n"),
            Service::Imap(_) => format!("* BYE [UNAVAILABLE] {text}\r\n"),
            Service::Pop3(_) => format!("-ERR [SYS/TEMP] {text}\r\n"),
            Service::Web(_) => format!(
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}\n",
                text.len() + 1
            ),
        }
    }

    fn acceptor(&self) -> &TlsAcceptor {
        match self {
            Service::Smtp(s) => &s.acceptor,
            Service::Imap(s) => &s.acceptor,
            Service::Pop3(s) => &s.acceptor,
            Service::Web(s) => &s.acceptor,
        }
    }
}

/// Adds the demo user when no user is configured: its password is made
/// and printed on first start, and only its hash is kept.
pub(crate) fn ensure_demo_user(settings: &mut Settings) -> Result<(), String> {
    if !settings.users.is_empty() {
        return Ok(());
    }
    let path = settings.data.join("demo-user");
    let domain = settings.domains[0].0.clone();
    let hash = match std::fs::read_to_string(&path) {
        Ok(hash) => {
            println!(
                "demo user: demo@{domain} (password printed at first start; hash in {})",
                path.display()
            );
            hash.trim().to_owned()
        }
        Err(_) => {
            let password = crate::users::random_password();
            let hash = crate::users::hash_password(&password);
            write_private(&path, hash.as_bytes())?;
            println!("demo user: demo@{domain}  password: {password}");
            println!("(printed only now; its hash is kept in {})", path.display());
            hash
        }
    };
    let secret = Secret::try_from(hash).map_err(|e| format!("{}: {e}", path.display()))?;
    settings.users.insert(UserName("demo".into()), secret);
    Ok(())
}

/// Writes a file only its owner can read.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    std::io::Write::write_all(&mut file, contents).map_err(|e| format!("{}: {e}", path.display()))
}

/// The configured certificate, or the self-signed one kept in `DATA/tls/`
/// (made at first start).
pub(crate) fn tls_identity(settings: &Settings) -> Result<tls::Identity, String> {
    if let (Some(cert), Some(key)) = (&settings.tls_cert, &settings.tls_key) {
        return tls::load_identity(cert, key).map_err(|e| e.to_string());
    }
    let dir = settings.data.join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if !cert.exists() || !key.exists() {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut names = vec![
            settings.hostname.clone(),
            "localhost".into(),
            "127.0.0.1".into(),
            "::1".into(),
        ];
        names.dedup();
        let made = (|| {
            let mut params = rcgen::CertificateParams::new(names)?;
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, settings.hostname.clone());
            let pair = rcgen::KeyPair::generate()?;
            Ok::<_, rcgen::Error>((params.self_signed(&pair)?, pair))
        })();
        let (certificate, pair) = made.map_err(|e| e.to_string())?;
        write_private(&key, pair.serialize_pem().as_bytes())?;
        std::fs::write(&cert, certificate.pem()).map_err(|e| format!("{}: {e}", cert.display()))?;
        info!(cert = %cert.display(), "made a self-signed certificate");
    }
    tls::load_identity(&cert, &key).map_err(|e| e.to_string())
}

/// Runs the server until SIGTERM or Ctrl-C; errors are for the operator.
/// `reread` reads the settings again for SIGHUP and `mail-server reload`
/// (without it, the first settings are applied again).
pub async fn run(base: Settings, reread: Option<Reread>) -> Result<(), String> {
    // The ACME client asks rustls for the process default; when a build
    // carries both of rustls's providers (a workspace build with
    // mail-auth's aws-lc-rs), there is none unless one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data = base.data.clone();
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    // Mail, keys and the queue are the server's alone.
    #[cfg(unix)]
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(|e| format!("{}: {e}", data.display()))?;
    // A shared store's database first: users and keys may come from it.
    let database = crate::shared::connect(&base).await?;
    if let Some(db) = &database {
        crate::shared::check(db).await?;
    }
    let managed = crate::admin::ManagedUsers::of(&base, database.as_ref());
    let settings = with_managed_users(base.clone(), &managed)?;
    let acme_settings = settings.tls.acme.clone();
    // A certificate ACME issued before is used from the start.
    let certificates = Certificates::new(tls_identity(&settings)?).map_err(|e| e.to_string())?;
    let acme = match acme_settings {
        Some(acme_settings) => {
            let acme = Acme::new(
                acme_settings,
                &data,
                certificates.clone(),
                settings.listen.http.0.is_some(),
            )?;
            if let Some(identity) = acme.stored_identity() {
                certificates
                    .replace(identity)
                    .map_err(|e| format!("{}/acme: {e}", data.display()))?;
            }
            Some(acme)
        }
        None => None,
    };
    let acceptor = TlsAcceptor::from(certificates.server_config().map_err(|e| e.to_string())?);
    let limits = &settings.limits;
    let guard = Guard::new(Policy {
        max_connections: limits.max_connections_per_ip,
        lockout_failures: limits.max_auth_failures,
        lockout: Duration::from_secs(limits.auth_lockout_secs),
        max_penalty: Duration::from_secs(limits.auth_penalty_max_secs),
    });
    if let Some(db) = &database {
        crate::failures_db::FailureLedger::share(db, &guard).await?;
    }
    let directory = Arc::new(Directory::new(&settings, guard.clone()));
    let backend: Box<dyn sansmail_store::backend::Backend> = match &database {
        Some(db) => Box::new(
            sansmail_store::Postgres::open(
                db.clone(),
                settings.store.blob_dir.as_deref(),
                &data.join("spool"),
            )
            .await
            .map_err(|e| format!("store: {e}"))?,
        ),
        None => Box::new(
            Maildir::open(&data.join("mail"), &settings.hostname).map_err(|e| e.to_string())?,
        ),
    };
    let quota = (limits.quota_mb > 0).then(|| limits.quota_mb * 1024 * 1024);
    let store = Arc::new(Store::new(backend, quota));
    let mailboxes = Arc::new(Local::new(store.clone()));
    let queue = Arc::new(match &database {
        Some(db) => Queue::shared(crate::queue_db::DbQueue::new(
            db.clone(),
            settings.queue.lease_secs,
        )),
        None => Queue::open(&data.join("queue")).map_err(|e| e.to_string())?,
    });
    // Whom MTA-STS policy servers, MX hosts under it and report servers must prove to be.
    let trust = match &settings.queue.mta_sts_ca {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let certs = rustls_pemfile::certs(&mut &pem[..])
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("{}: no certificate in it", path.display()));
            }
            sansmail::Trust::Roots(certs)
        }
        None => sansmail::Trust::WebPki,
    };
    let tls_reports = Arc::new(std::sync::Mutex::new(
        sansmail_mx::tls_rpt::Collector::default(),
    ));
    let mut mailer = sansmail::DirectMailer::new(&settings.hostname)
        .map_err(|e| e.to_string())?
        .port(settings.queue.remote_smtp_port)
        .timeout(Duration::from_secs(settings.queue.timeout_secs))
        .mta_sts(settings.queue.mta_sts)
        .mta_sts_port(settings.queue.mta_sts_port)
        .mta_sts_trust(&trust)
        .dane(settings.queue.dane);
    if settings.tls_reports.enabled {
        mailer = mailer.tls_reports(tls_reports.clone());
    }
    if let Some(dns) = settings.queue.dns {
        mailer = mailer.nameservers(vec![dns]);
    }
    let relay = Relay::new(
        queue.clone(),
        mailboxes.clone(),
        directory.clone(),
        mailer,
        settings.queue.clone(),
        settings.hostname.clone(),
    );
    if let Some(db) = &database {
        // Another instance queued a message: any free worker here may take it.
        let weak = Arc::downgrade(&relay);
        db.on_notice(
            "q",
            Arc::new(move |_| {
                if let Some(relay) = weak.upgrade() {
                    relay.wake.notify_one();
                }
            }),
        );
    }
    let shared_keys = match &database {
        Some(db) => crate::dkim_keys::stored(db).await?,
        None => Vec::new(),
    };
    let keys = crate::dkim_keys::load(&settings, shared_keys)?;
    let user_settings = crate::shared::user_settings(&settings, database.as_ref());
    let context = Arc::new(Context {
        hostname: settings.hostname.clone(),
        directory: directory.clone(),
        mailboxes: mailboxes.clone(),
        queue: queue.clone(),
        relay: relay.clone(),
        filter: settings.filter.clone(),
        dkim: keys.signers,
        arc: keys.sealers,
        sender_auth: Checker::new(
            settings.sender_auth.clone(),
            settings.queue.dns.into_iter().collect(),
            &settings.hostname,
        ),
        settings: user_settings.clone(),
    });

    let smtp_config = sansmail_smtp::server::Config {
        hostname: settings.hostname.clone(),
        starttls: true,
        max_message_size: limits.max_message_size,
        max_recipients: limits.max_recipients,
        idle_timeout: Duration::from_secs(limits.idle_timeout_secs),
        // DSN parameters (NOTIFY, RET, ENVID) are not acted on, so the
        // extension is not offered: bounces follow RFC 5321 alone.
        offer: sansmail_smtp::server::Offer {
            dsn: false,
            // Over TLS only; the relay honours it (RFC 8689).
            require_tls: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let submission_config = sansmail_smtp::server::Config {
        auth_mechanisms: vec![Mechanism::Plain, Mechanism::Login],
        auth_requires_tls: !settings.allow_plaintext,
        require_auth: true,
        ..smtp_config.clone()
    };
    let smtp = |submission: bool, config| {
        Service::Smtp(Arc::new(SmtpService {
            submission,
            config,
            acceptor: acceptor.clone(),
            context: context.clone(),
        }))
    };
    let mut imap_config = sansmail_imap::server::Config::default();
    imap_config.hostname = settings.hostname.clone();
    imap_config.allow_plaintext_auth = settings.allow_plaintext;
    imap_config.id = vec![
        ("name".into(), "sansmail mail-server".into()),
        ("version".into(), env!("CARGO_PKG_VERSION").into()),
    ];
    let imap = Service::Imap(Arc::new(ImapService {
        store: store.clone(),
        passwords: directory.clone(),
        acceptor: acceptor.clone(),
        config: imap_config,
    }));
    let pop3 = Service::Pop3(Arc::new(Pop3Service::new(
        store.clone(),
        settings.hostname.clone(),
        directory.clone(),
        acceptor.clone(),
        sansmail_pop3::server::Config {
            hostname: settings.hostname.clone(),
            stls: true,
            login_requires_tls: !settings.allow_plaintext,
            implementation: Some(format!(
                "sansmail mail-server {}",
                env!("CARGO_PKG_VERSION")
            )),
            ..Default::default()
        },
    )));

    let policy = settings.mta_sts_policy()?.map(|p| p.to_string());
    let submitter = Arc::new(crate::smtp::Submitter {
        context: context.clone(),
        max_message_size: limits.max_message_size,
        max_recipients: limits.max_recipients,
    });
    let jmap_limits = sansmail_jmap::Limits {
        max_size_upload: limits.max_message_size as usize,
        ..Default::default()
    };
    let jmap = Arc::new(JmapHttp {
        jmap: sansmail_jmap::Jmap::new(
            store.clone(),
            jmap_limits,
            settings.domains.iter().rev().map(|d| d.0.clone()).collect(),
        )
        .with_submit(submitter)
        .with_settings(user_settings.clone()),
        passwords: directory.clone(),
        guard: guard.clone(),
        tokens: crate::tokens::Tokens::of(&data, database.as_ref()),
        sessions: Default::default(),
    });
    let web = Service::Web(Arc::new(
        WebService::new(acceptor.clone(), policy, directory.clone(), acme.clone()).with_jmap(jmap),
    ));
    let metrics = Service::Web(Arc::new(WebService::metrics(
        acceptor.clone(),
        directory.clone(),
        queue.clone(),
    )));
    let l = &settings.listen;
    let plan = [
        ("smtp", l.smtp, smtp(false, smtp_config.clone()), false),
        (
            "submission",
            l.submission,
            smtp(true, submission_config.clone()),
            false,
        ),
        (
            "submissions",
            l.submissions,
            smtp(true, submission_config),
            true,
        ),
        ("imap", l.imap, imap.clone(), false),
        ("imaps", l.imaps, imap, true),
        ("pop3", l.pop3, pop3.clone(), false),
        ("pop3s", l.pop3s, pop3, true),
        ("https", l.https, web.clone(), true),
        ("http", l.http, web, false),
        ("metrics", l.metrics, metrics, false),
    ];
    let mut listeners = Vec::new();
    for (name, address, service, implicit_tls) in plan {
        let Some(address) = address.0 else { continue };
        let listener = TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen for {name} on {address}: {e}"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        info!(service = name, listen = %bound, "listening");
        listeners.push((name, listener, service, implicit_tls));
    }
    info!(
        hostname = %settings.hostname, data = %data.display(),
        domains = ?settings.domains.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
        users = directory.user_names().len(), queued = queue.len(), "mail-server ready"
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let reloader = Reloader::new(
        reread.unwrap_or_else(|| {
            let first = base.clone();
            Box::new(move || Ok(first.clone()))
        }),
        base,
        managed,
        directory.clone(),
        certificates.clone(),
    );
    if let Some(db) = &database {
        // Another instance added, changed or removed a user.
        let weak = Arc::downgrade(&reloader);
        db.on_notice(
            "u",
            Arc::new(move |_| {
                if let Some(reloader) = weak.upgrade() {
                    // Off the notice thread: reading the users blocks.
                    tokio::task::spawn_blocking(move || {
                        if let Err(e) = reloader.users_changed() {
                            warn!(error = %e, "cannot read the users again");
                        }
                    });
                }
            }),
        );
    }
    let control_task = control::serve(
        &data,
        Arc::new(control::Handles {
            queue: queue.clone(),
            relay: relay.clone(),
            admin: reloader.clone(),
            acme: acme.clone(),
        }),
        stop_rx.clone(),
    )
    .await?;
    let hangup_task = tokio::spawn(reload_on_hangup(reloader, stop_rx.clone()));
    let acme_task = acme.map(|acme| tokio::spawn(acme.run(stop_rx.clone())));
    let relay_task = tokio::spawn(relay.clone().run(stop_rx.clone()));
    let reporter = Arc::new(TlsReporter::new(
        tls_reports,
        context.clone(),
        &settings,
        sansmail::client_tls_config(&trust),
    ));
    let reporter_task = tokio::spawn(reporter.run(stop_rx.clone()));
    let sweeper = tokio::spawn(sweep(store.clone(), stop_rx.clone()));
    let mut loops = Vec::new();
    for (name, listener, service, implicit_tls) in listeners {
        loops.push(tokio::spawn(accept_loop(
            name,
            listener,
            service,
            implicit_tls,
            guard.clone(),
            stop_rx.clone(),
            alive_tx.clone(),
        )));
    }
    drop(alive_tx);
    sansmail_examples::args::shutdown_signal().await;
    info!("shutting down: no new connections; finishing sessions in flight");
    let _ = stop_tx.send(true);
    for l in loops {
        let _ = l.await;
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, alive_rx.recv())
        .await
        .is_err()
    {
        warn!("sessions still open after {SHUTDOWN_GRACE:?}; closing them");
    }
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, relay_task).await;
    let _ = reporter_task.await;
    let _ = sweeper.await;
    let _ = control_task.await;
    let _ = hangup_task.await;
    if let Some(task) = acme_task {
        let _ = task.await;
    }
    store.close();
    info!(queued = queue.len(), "stopped");
    Ok(())
}

/// Reloads the configuration on each SIGHUP, until `stop`.
async fn reload_on_hangup(reloader: Arc<Reloader>, mut stop: watch::Receiver<bool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            warn!("cannot listen for SIGHUP; reload with `mail-server reload`");
            return;
        };
        loop {
            tokio::select! {
                _ = hangups.recv() => {
                    let reloader = reloader.clone();
                    let done = tokio::task::spawn_blocking(move || control::Admin::reload(&*reloader)).await;
                    if let Ok(Err(e)) = done {
                        warn!(error = %e, "SIGHUP: the configuration was not reloaded; the server goes on with the old one");
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (reloader, stop.changed().await);
}

/// Closes mailboxes nobody used for a while, so their indexes leave memory.
async fn sweep(store: Arc<Store>, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => store.sweep(Duration::from_secs(600)),
            _ = stop.changed() => return,
        }
    }
}

/// Accepts on one listener until told to stop; each connection runs in its
/// own task holding `alive` (so shutdown can wait for it) and its place
/// under the per-address limit.
async fn accept_loop(
    name: &'static str,
    listener: TcpListener,
    service: Service,
    implicit_tls: bool,
    guard: Arc<Guard>,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    warn!(service = name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let _ = tcp.set_nodelay(true);
        let service = service.clone();
        let alive = alive.clone();
        let admission = guard.admit(peer.ip());
        tokio::spawn(async move {
            let _alive = alive;
            let _admission = match admission {
                Ok(a) => a,
                Err(refusal) => {
                    crate::metrics::count(
                        "sansmail_connections_refused_total",
                        &[("service", name), ("reason", refusal.text())],
                    );
                    info!(service = name, %peer, reason = refusal.text(), "connection refused");
                    let line = service.refusal(refusal.text());
                    let _ =
                        refuse(tcp, &line, implicit_tls.then(|| service.acceptor().clone())).await;
                    return;
                }
            };
            let _session = crate::metrics::Session::start(name);
            if let Err(e) = service.serve(tcp, peer, implicit_tls).await {
                info!(service = name, %peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// Sends one line and closes, over TLS on implicit-TLS ports.
async fn refuse(tcp: TcpStream, line: &str, tls: Option<TlsAcceptor>) -> std::io::Result<()> {
    let limit = Duration::from_secs(10);
    let send = async {
        match tls {
            Some(acceptor) => {
                let mut stream = acceptor.accept(tcp).await?;
                stream.write_all(line.as_bytes()).await?;
                stream.shutdown().await
            }
            None => {
                let mut tcp = tcp;
                tcp.write_all(line.as_bytes()).await?;
                tcp.shutdown().await
            }
        }
    };
    tokio::time::timeout(limit, send).await.unwrap_or(Ok(()))
}
