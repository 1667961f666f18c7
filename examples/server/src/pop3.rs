//! The POP3 service: one connection's session over the INBOX of the
//! shared store, as pop3-server and mail-server run it. A user's maildrop
//! is locked while a session has it (RFC 1939 §8); deletions go through
//! the store at UPDATE, so IMAP sessions see them at once.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sansmail_common::driver::now;
use sansmail_pop3::driver::{Driver, Step, Stream, Tls};
use sansmail_pop3::server::{Config, Event, MessageInfo, Session, Ticket};
use sansmail_pop3::types::{Response, ResponseCode, UniqueId};
use sansmail_store::{Mailbox, Store};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::accounts::{self, Passwords};

/// What every POP3 connection shares.
pub struct Pop3Service {
    /// The mail store.
    pub store: Arc<Store>,
    /// The name in the greeting's APOP timestamp.
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
        store: Arc<Store>,
        hostname: String,
        passwords: Arc<dyn Passwords>,
        acceptor: TlsAcceptor,
        config: Config,
    ) -> Self {
        Pop3Service {
            store,
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

/// The logged-in user's maildrop (the INBOX): message `n` has UID `uids[n - 1]`.
struct Maildrop<'a> {
    inbox: Arc<Mailbox>,
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
                let found = maildrop.as_ref().and_then(|m| {
                    let uid = *m.uids.get(message as usize - 1)?;
                    Some((m.inbox.clone(), uid))
                });
                match found {
                    Some((inbox, uid)) => retrieve(&mut driver, ticket, &inbox, uid).await?,
                    None => {
                        let no = err(Some(ResponseCode::SysPerm), "no such message");
                        answer(driver.session().reject(now(), ticket, no));
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
            answer(session.respond(now(), ticket, greeting));
        }
        Event::Login {
            ticket,
            user,
            password,
        } => {
            let account =
                accounts::login(&shared.passwords, peer.ip(), &user, password.expose()).await;
            login(session, ticket, account, &user, shared, peer, maildrop).await;
        }
        Event::Apop {
            ticket,
            user,
            digest,
            timestamp,
        } => {
            let account = shared.passwords.account_of(&user).filter(|account| {
                shared
                    .passwords
                    .plain(account)
                    .is_some_and(|p| sansmail_pop3::apop_digest(&timestamp, &p) == digest)
            });
            login(session, ticket, account, &user, shared, peer, maildrop).await;
        }
        Event::Auth {
            ticket,
            credentials,
            ..
        } => {
            let login_name = credentials.username().unwrap_or_default().to_owned();
            let same_identity = credentials
                .identity()
                .is_none_or(|i| i.eq_ignore_ascii_case(&login_name));
            let account = match (same_identity, credentials.password()) {
                (true, Some(p)) => {
                    accounts::login(&shared.passwords, peer.ip(), &login_name, p).await
                }
                _ => None,
            };
            login(
                session,
                ticket,
                account,
                &login_name,
                shared,
                peer,
                maildrop,
            )
            .await;
        }
        Event::Update { ticket, deleted } => {
            let Some(drop) = maildrop.as_mut() else {
                answer(session.accept(now(), ticket));
                return Ok(());
            };
            let uids: Vec<u32> = deleted
                .iter()
                .filter_map(|n| drop.uids.get(*n as usize - 1).copied())
                .collect();
            match drop.inbox.expunge(&uids).await {
                Ok(gone) => {
                    info!(%peer, deleted = gone.len(), "update done");
                    answer(session.accept(now(), ticket));
                }
                Err(e) => {
                    warn!(%peer, error = %e, "cannot delete");
                    let text = "some deleted messages not removed";
                    answer(session.reject(now(), ticket, err(Some(ResponseCode::SysTemp), text)));
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
    account: Option<String>,
    login: &str,
    shared: &'a Pop3Service,
    peer: SocketAddr,
    maildrop: &mut Option<Maildrop<'a>>,
) {
    let Some(user) = account else {
        warn!(%peer, login, "login refused");
        answer(session.reject(
            now(),
            ticket,
            err(Some(ResponseCode::Auth), "invalid credentials"),
        ));
        return;
    };
    let newly_locked = shared
        .locked
        .lock()
        .map(|mut l| l.insert(user.clone()))
        .unwrap_or(false);
    if !newly_locked {
        let text = "maildrop already locked by another session";
        answer(session.reject(now(), ticket, err(Some(ResponseCode::InUse), text)));
        return;
    }
    let lock = Lock {
        user: user.clone(),
        shared,
    };
    let opened = match shared.store.account(&user).await {
        Ok(account) => account.open("INBOX").await,
        Err(e) => Err(e),
    };
    match opened {
        Ok(inbox) => {
            let (uids, infos): (Vec<u32>, Vec<MessageInfo>) = inbox
                .index()
                .messages
                .iter()
                .map(|m| {
                    let info = MessageInfo {
                        size: m.vsize,
                        uid: unique_id(m.stable_key()),
                    };
                    (m.uid, info)
                })
                .unzip();
            info!(%peer, %user, messages = uids.len(), "logged in");
            *maildrop = Some(Maildrop {
                inbox,
                uids,
                _lock: lock,
            });
            answer(session.open(now(), ticket, infos));
        }
        Err(e) => {
            warn!(%peer, %user, error = %e, "cannot open the maildrop");
            answer(session.reject(
                now(),
                ticket,
                err(Some(ResponseCode::SysTemp), "cannot open maildrop"),
            ));
        }
    }
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

/// Sends a message through the session, a chunk at a time.
async fn retrieve(
    driver: &mut Driver<Session, TcpStream>,
    ticket: Ticket,
    inbox: &Mailbox,
    uid: u32,
) -> std::io::Result<()> {
    let data = match inbox.content(uid).await {
        Ok(d) => d,
        Err(e) => {
            let code = match e {
                sansmail_store::StoreError::NotFound => ResponseCode::SysPerm,
                _ => ResponseCode::SysTemp,
            };
            let session = driver.session();
            answer(session.reject(now(), ticket, err(Some(code), "message cannot be read")));
            return Ok(());
        }
    };
    answer(driver.session().accept(now(), ticket));
    for chunk in data.chunks(64 * 1024) {
        let flow = driver
            .session()
            .write_body(ticket, data.slice_ref(chunk))
            .map_err(std::io::Error::other)?;
        // Send what is ready before the next chunk: the socket paces us.
        driver.flush().await?;
        if flow == sansmail_pop3::server::BodyFlow::Enough {
            break;
        }
    }
    answer(driver.session().finish_body(now(), ticket));
    Ok(())
}

/// Answers come right after their event, so they cannot be out of turn.
fn answer(result: Result<(), sansmail_pop3::server::AnswerError>) {
    if let Err(e) = result {
        warn!(error = %e, "answer refused by the session");
    }
}
