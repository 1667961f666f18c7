//! The POP3 service: one connection's session over the INBOX of the
//! shared maildir store (`ROOT/<user>/Maildir`), as pop3-server and
//! mail-server run it. A user's maildrop is locked while a session has it
//! (RFC 1939 §8); deletions go through the store at UPDATE.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use sansmail_pop3::driver::{Driver, Step, Stream, Tls};
use sansmail_pop3::server::{Config, Event, MessageInfo, Session, Ticket};
use sansmail_pop3::types::{Response, ResponseCode, UniqueId};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::accounts::Passwords;
use crate::mailstore::{Folder, UserStore};

/// What every POP3 connection shares.
pub struct Pop3Service {
    /// The store root: `ROOT/<user>/Maildir`.
    pub maildir: PathBuf,
    /// The name in the greeting's APOP timestamp and in maildir file names.
    pub hostname: String,
    /// Who may log in.
    pub passwords: Arc<dyn Passwords>,
    /// The certificate for STLS and implicit TLS.
    pub acceptor: TlsAcceptor,
    /// The session configuration.
    pub config: Config,
    /// Users with an open session: their maildrop is locked.
    locked: Mutex<HashSet<String>>,
}

impl Pop3Service {
    /// A service with no maildrop locked.
    pub fn new(
        maildir: PathBuf,
        hostname: String,
        passwords: Arc<dyn Passwords>,
        acceptor: TlsAcceptor,
        config: Config,
    ) -> Self {
        Pop3Service {
            maildir,
            hostname,
            passwords,
            acceptor,
            config,
            locked: Mutex::new(HashSet::new()),
        }
    }

    /// Serves one connection until it closes.
    pub async fn serve(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
        implicit_tls: bool,
    ) -> std::io::Result<()> {
        serve(tcp, peer, self, implicit_tls).await
    }
}

/// The maildrop lock of one user, released when the session ends.
struct Lock<'a> {
    user: String,
    shared: &'a Pop3Service,
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        if let Ok(mut locked) = self.shared.locked.lock() {
            locked.remove(&self.user);
        }
    }
}

/// The logged-in user's maildrop (the INBOX of the shared store): message
/// `n` is `files[n - 1]`, with UID `uids[n - 1]`.
struct Maildrop<'a> {
    folder: Folder,
    files: Vec<PathBuf>,
    uids: Vec<u32>,
    _lock: Lock<'a>,
}

/// One connection, run by the POP3 server driver.
async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: &Pop3Service,
    implicit_tls: bool,
) -> std::io::Result<()> {
    let mut stream = Stream::Plain(tcp);
    let mut config = shared.config.clone();
    if implicit_tls {
        stream.accept_tls(&shared.acceptor).await?;
        config.implicit_tls = true;
    }
    let session = Session::new(config, Instant::now());
    let mut driver = Driver::with_stream(session, stream, Tls::Server(shared.acceptor.clone()));
    let mut maildrop: Option<Maildrop<'_>> = None;
    while let Step::Event(event) = driver.step(None).await? {
        match event {
            Event::Retrieve {
                ticket, message, ..
            } => {
                let file = maildrop
                    .as_ref()
                    .and_then(|m| m.files.get(message as usize - 1))
                    .cloned();
                match file {
                    Some(path) => retrieve(&mut driver, ticket, &path).await?,
                    None => {
                        let no = err(Some(ResponseCode::SysPerm), "no such message");
                        answer(driver.session().reject(ticket, no));
                    }
                }
            }
            event => on_event(event, driver.session(), shared, peer, &mut maildrop).await?,
        }
    }
    Ok(())
}

fn err(code: Option<ResponseCode>, text: &str) -> Response {
    Response::err(code, text).expect("fixed response text is valid")
}

/// A greeting timestamp for APOP, unique per connection (RFC 1939 §7).
fn greeting_timestamp(hostname: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("<{}.{n}.{nanos}@{hostname}>", std::process::id())
}

async fn on_event<'a>(
    event: Event,
    session: &mut Session,
    shared: &'a Pop3Service,
    peer: SocketAddr,
    maildrop: &mut Option<Maildrop<'a>>,
) -> std::io::Result<()> {
    match event {
        Event::Connected { ticket } => {
            let stamp = greeting_timestamp(&shared.hostname.replace(['<', '>', ' '], ""));
            let greeting = Response::ok(format!("POP3 ready {stamp}"))
                .unwrap_or_else(|_| Response::ok("POP3 ready").expect("valid"));
            answer(session.respond(ticket, greeting));
        }
        Event::Login {
            ticket,
            user,
            password,
        } => {
            let ok = shared.passwords.verify_from(
                peer.ip(),
                &user.to_ascii_lowercase(),
                password.expose(),
            );
            login(session, ticket, ok, &user, shared, peer, maildrop).await;
        }
        Event::Apop {
            ticket,
            user,
            digest,
            timestamp,
        } => {
            let ok = shared
                .passwords
                .plain(&user.to_ascii_lowercase())
                .is_some_and(|p| sansmail_pop3::apop_digest(&timestamp, &p) == digest);
            login(session, ticket, ok, &user, shared, peer, maildrop).await;
        }
        Event::Auth {
            ticket,
            credentials,
            ..
        } => {
            let user = credentials.username().unwrap_or_default().to_owned();
            let identity_ok = credentials.identity() == Some(user.as_str());
            let ok = identity_ok
                && credentials.password().is_some_and(|p| {
                    shared
                        .passwords
                        .verify_from(peer.ip(), &user.to_ascii_lowercase(), p)
                });
            login(session, ticket, ok, &user, shared, peer, maildrop).await;
        }
        Event::Update { ticket, deleted } => {
            let Some(drop) = maildrop.as_mut() else {
                answer(session.accept(ticket));
                return Ok(());
            };
            let uids: Vec<u32> = deleted
                .iter()
                .filter_map(|n| drop.uids.get(*n as usize - 1).copied())
                .collect();
            // Through the store, under its lock: a flag change by an IMAP
            // session that renamed a file since login does not matter.
            match drop.folder.expunge(&uids) {
                Ok(gone) => {
                    info!(%peer, deleted = gone.len(), "update done");
                    answer(session.accept(ticket));
                }
                Err(e) => {
                    warn!(%peer, error = %e, "cannot delete");
                    let text = "some deleted messages not removed";
                    answer(session.reject(ticket, err(Some(ResponseCode::SysTemp), text)));
                }
            }
        }
        Event::PipelinedInputDiscarded { bytes } => {
            warn!(%peer, bytes, "discarded plaintext sent after STLS")
        }
        _ => {}
    }
    Ok(())
}

/// Answers a login: locks and lists the maildrop, or refuses.
async fn login<'a>(
    session: &mut Session,
    ticket: Ticket,
    ok: bool,
    user: &str,
    shared: &'a Pop3Service,
    peer: SocketAddr,
    maildrop: &mut Option<Maildrop<'a>>,
) {
    if !ok {
        warn!(%peer, user, "login refused");
        answer(session.reject(ticket, err(Some(ResponseCode::Auth), "invalid credentials")));
        return;
    }
    let user = user.to_ascii_lowercase();
    let newly_locked = shared
        .locked
        .lock()
        .map(|mut l| l.insert(user.clone()))
        .unwrap_or(false);
    if !newly_locked {
        let text = "maildrop already locked by another session";
        answer(session.reject(ticket, err(Some(ResponseCode::InUse), text)));
        return;
    }
    let lock = Lock {
        user: user.clone(),
        shared,
    };
    let dir = shared.maildir.join(&user).join("Maildir");
    let hostname = shared.hostname.clone();
    let listing = tokio::task::spawn_blocking(move || list_maildrop(&dir, &hostname)).await;
    match listing {
        Ok(Ok((folder, infos))) => {
            info!(%peer, user, messages = folder.messages.len(), "logged in");
            *maildrop = Some(Maildrop {
                files: folder.messages.iter().map(|m| m.path.clone()).collect(),
                uids: folder.messages.iter().map(|m| m.uid).collect(),
                folder,
                _lock: lock,
            });
            answer(session.open(ticket, infos));
        }
        Ok(Err(e)) => {
            warn!(%peer, user, error = %e, "cannot read maildrop");
            answer(session.reject(
                ticket,
                err(Some(ResponseCode::SysTemp), "cannot open maildrop"),
            ));
        }
        Err(e) => {
            warn!(%peer, error = %e, "maildrop listing failed");
            answer(session.reject(
                ticket,
                err(Some(ResponseCode::SysTemp), "cannot open maildrop"),
            ));
        }
    }
}

/// The INBOX of the user's store, in arrival (UID) order, with each
/// message's POP3 size (CRLF line ends) and unique id (its base name).
fn list_maildrop(dir: &Path, hostname: &str) -> std::io::Result<(Folder, Vec<MessageInfo>)> {
    let folder = UserStore::open(dir, hostname)?.open_folder("INBOX")?;
    let mut infos = Vec::with_capacity(folder.messages.len());
    for m in &folder.messages {
        infos.push(MessageInfo {
            size: crlf_size(&m.path, &m.base)?,
            uid: unique_id(&m.base),
        });
    }
    Ok((folder, infos))
}

/// The size with CRLF line ends: Dovecot's `,W=` when the name has it, else counted.
fn crlf_size(path: &Path, base: &str) -> std::io::Result<u64> {
    if let Some(w) = base
        .split(',')
        .find_map(|field| field.strip_prefix("W="))
        .and_then(|w| w.parse().ok())
    {
        return Ok(w);
    }
    let data = std::fs::read(path)?;
    let mut size = data.len() as u64;
    let mut prev = 0u8;
    for &b in &data {
        // A bare LF or CR each go out as CRLF: one octet more.
        if (b == b'\n' && prev != b'\r') || (prev == b'\r' && b != b'\n') {
            size += 1;
        }
        prev = b;
    }
    if prev == b'\r' {
        size += 1;
    }
    if !data.is_empty() && prev != b'\n' && prev != b'\r' {
        // The session ends the last line before the terminating dot.
        size += 2;
    }
    Ok(size)
}

/// The maildir base name when it is a valid unique id, else a stable hash of it.
fn unique_id(base: &str) -> UniqueId {
    UniqueId::new(base).unwrap_or_else(|_| {
        // FNV-1a, twice with different offsets: stable across runs and builds.
        let hash = |offset: u64| {
            base.bytes().fold(offset, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
        };
        let id = format!(
            "{:016x}{:016x}",
            hash(0xcbf2_9ce4_8422_2325),
            hash(0x8422_2325_cbf2_9ce4)
        );
        UniqueId::new(id).expect("32 hex digits are a valid unique id")
    })
}

/// Streams a message file through the session.
async fn retrieve(
    driver: &mut Driver<Session, TcpStream>,
    ticket: Ticket,
    path: &Path,
) -> std::io::Result<()> {
    let session = driver.session();
    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                ResponseCode::SysPerm
            } else {
                ResponseCode::SysTemp
            };
            answer(session.reject(ticket, err(Some(code), "message cannot be read")));
            return Ok(());
        }
    };
    answer(session.accept(ticket));
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        let flow = driver
            .session()
            .write_body(ticket, Bytes::copy_from_slice(&buf[..n]))
            .map_err(std::io::Error::other)?;
        // Send what is ready before reading more: memory stays at one chunk.
        driver.flush().await?;
        if flow == sansmail_pop3::server::BodyFlow::Enough {
            break;
        }
    }
    answer(driver.session().finish_body(ticket));
    Ok(())
}

/// Answers come right after their event, so they cannot be out of turn.
fn answer(result: Result<(), sansmail_pop3::server::AnswerError>) {
    if let Err(e) = result {
        warn!(error = %e, "answer refused by the session");
    }
}
