//! The IMAP service: one connection's session over the shared store.
//!
//! Every session of the process that has a mailbox selected shares that
//! mailbox's index. A session follows the mailbox's change feed: when
//! another session or a delivery changes the mailbox, this session's task
//! is woken, takes the changes in order and queues them for its client
//! (reported at once during IDLE, otherwise at the next point RFC 9051
//! allows). Its own changes it reports as the answers to its commands.
//!
//! The commands are handled by group, a module each: `folders` (LIST,
//! CREATE, STATUS...), `select` (SELECT, EXPUNGE, CLOSE), `fetch`, `search`
//! (SEARCH, SORT, THREAD) and `messages` (STORE, COPY, MOVE, APPEND).

mod fetch;
mod flags;
mod folders;
mod messages;
mod search;
mod select;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sansmail_common::driver::now;
use sansmail_imap::driver::{Driver, Step, Tls};
use sansmail_imap::mailbox::Change as ViewChange;
use sansmail_imap::server::{Config, Event, Session, Ticket};
use sansmail_imap::types::*;
use sansmail_store::{Account, Change, Mailbox as StoreMailbox, Store, StoreError};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::accounts::{self, Passwords};

/// What every IMAP connection shares.
pub struct ImapService {
    /// The mail store.
    pub store: Arc<Store>,
    /// Who may log in.
    pub passwords: Arc<dyn Passwords>,
    /// The certificate for STARTTLS and implicit TLS.
    pub acceptor: TlsAcceptor,
    /// The session configuration.
    pub config: Config,
}

impl ImapService {
    /// Serves one connection until it closes.
    pub async fn serve(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
        implicit_tls: bool,
    ) -> std::io::Result<()> {
        let mut config = self.config.clone();
        if implicit_tls {
            config.implicit_tls = true;
            let tls = crate::tls::accept(&self.acceptor, tcp).await?;
            let session = Session::new(config, Instant::now());
            return run(Driver::new(session, tls, Tls::None), peer, self).await;
        }
        let session = Session::new(config, Instant::now());
        let driver = Driver::new(session, tcp, Tls::Server(self.acceptor.clone()));
        run(driver, peer, self).await
    }
}

async fn run<T: AsyncRead + AsyncWrite + Unpin>(
    mut driver: Driver<Session, T>,
    peer: SocketAddr,
    shared: &ImapService,
) -> std::io::Result<()> {
    let mut handler = Handler {
        shared,
        peer,
        account: None,
        selected: None,
        appending: Vec::new(),
        idling: false,
    };
    loop {
        // Outside changes to an unwatched folder are looked for every
        // second during IDLE; a watched one wakes us through its feed.
        let tick = match &handler.selected {
            Some(sel) if handler.idling && !sel.mailbox.is_watched() => {
                Some(Instant::now() + Duration::from_secs(1))
            }
            _ => None,
        };
        let feed = handler.selected.as_mut().map(|s| &mut s.feed);
        let changed = async move {
            match feed {
                Some(feed) => {
                    if feed.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        };
        match driver.step_until(tick, changed).await? {
            // Boxed: an idle session's future stays small, whatever a
            // command needs while it runs.
            Step::Event(event) => Box::pin(handler.on_event(event, driver.session())).await,
            Step::Woken => {
                if let Some(sel) = &handler.selected
                    && !sel.mailbox.is_watched()
                {
                    let _ = sel.mailbox.rescan().await;
                }
                handler.refresh(driver.session());
            }
            Step::Closed => return Ok(()),
        }
    }
}

/// The selected mailbox, and how far this session has followed its changes.
struct Selected {
    mailbox: Arc<StoreMailbox>,
    feed: watch::Receiver<u64>,
    /// Changes up to this mod-sequence were taken.
    cursor: u64,
    /// Keywords announced to the client with FLAGS.
    keywords_told: usize,
    /// Mod-sequences of this session's own changes, already answered.
    own: Vec<u64>,
    /// UIDs that are `\Recent` in this session (IMAP4rev1).
    recent: Vec<u32>,
    read_only: bool,
}

/// An APPEND message being received.
struct Incoming {
    mailbox: String,
    flags: Vec<Flag>,
    date: Option<DateTime>,
    /// Sent as binary (`~{n}`, RFC 3516).
    binary: bool,
    data: Vec<u8>,
}

struct Handler<'a> {
    shared: &'a ImapService,
    peer: SocketAddr,
    account: Option<Arc<Account>>,
    selected: Option<Selected>,
    appending: Vec<Incoming>,
    idling: bool,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn answer<E: std::fmt::Debug>(result: Result<(), E>) {
    if let Err(e) = result {
        warn!(error = ?e, "the session refused an answer");
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The response code for a store failure.
fn store_code(e: &StoreError) -> Code {
    match e {
        StoreError::NotFound => Code::NonExistent,
        StoreError::AlreadyExists => Code::AlreadyExists,
        StoreError::BadName(_) | StoreError::NotAllowed(_) => Code::Cannot,
        StoreError::OverQuota => Code::OverQuota,
        StoreError::TooManyKeywords => Code::Limit,
        // The storage (a database, a disk) is away for now: try again later.
        e if e.is_temporary() => Code::Unavailable,
        _ => Code::ServerBug,
    }
}

impl Handler<'_> {
    fn ok(session: &mut Session, ticket: Ticket, name: &str) {
        answer(session.complete(
            now(),
            ticket,
            StatusKind::Ok,
            None,
            &format!("{name} completed"),
        ));
    }

    fn fail(session: &mut Session, ticket: Ticket, code: Option<Code>, text: &str) {
        answer(session.complete(now(), ticket, StatusKind::No, code, text));
    }

    fn failed(session: &mut Session, ticket: Ticket, e: &StoreError) {
        if e.is_temporary() {
            warn!(error = %e, "store failure");
        }
        Self::fail(session, ticket, Some(store_code(e)), &e.to_string());
    }

    /// The Unicode name of a mailbox as the client sent it.
    fn name_of(mailbox: &Mailbox, session: &Session) -> String {
        if mailbox.is_inbox() {
            return "INBOX".into();
        }
        if session.is_enabled(&Capability::Utf8Accept) {
            String::from_utf8_lossy(mailbox.as_bytes()).into_owned()
        } else {
            mailbox.name()
        }
    }

    /// A mailbox name for the wire, as this client reads them.
    fn wire_name(name: &str, session: &Session) -> Mailbox {
        let made = if session.is_enabled(&Capability::Utf8Accept) {
            Mailbox::from_utf8_name(name)
        } else {
            Mailbox::from_name(name)
        };
        made.unwrap_or_else(|_| Mailbox::inbox())
    }

    /// Takes the selected mailbox's changes since the last look and queues
    /// them for the client, in order.
    fn refresh(&mut self, session: &mut Session) {
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        let index = sel.mailbox.index();
        sel.feed.borrow_and_update();
        if index.highest_modseq <= sel.cursor {
            return;
        }
        let rev1 = !session.is_enabled(&Capability::Imap4rev2);
        let keywords = &index.keywords;
        let recent = &sel.recent;
        let imap_flags = |uid: u32, f: &sansmail_store::Flags| {
            let mut out = flags::to_imap(f, keywords);
            if rev1 && recent.binary_search(&uid).is_ok() {
                out.push(Flag::Recent);
            }
            out
        };
        let mut defined = sel.keywords_told;
        match index.changes_since(sel.cursor) {
            Some(changes) => {
                // A message's flags are reported once, as its last change
                // left them (so a MODSEQ never goes back), and not at all
                // when it was expunged since or the change was our own.
                let changes: Vec<&sansmail_store::LogEntry> = changes.collect();
                let mut last_flags = std::collections::HashMap::new();
                let mut expunged = std::collections::HashSet::new();
                for (i, e) in changes.iter().enumerate() {
                    match e.change {
                        Change::Flags { uid, .. } => {
                            last_flags.insert(uid, i);
                        }
                        Change::Expunged { uid, .. } => {
                            expunged.insert(uid);
                        }
                        _ => {}
                    }
                }
                for (i, e) in changes.iter().enumerate() {
                    let change = match &e.change {
                        Change::Added { uid } => ViewChange::Added { uid: nz(*uid) },
                        Change::Expunged { uid, .. } => ViewChange::Expunged { uid: nz(*uid) },
                        Change::Flags { uid, flags } => {
                            if last_flags.get(uid) != Some(&i)
                                || expunged.contains(uid)
                                || sel.own.binary_search(&e.modseq).is_ok()
                            {
                                continue;
                            }
                            ViewChange::Flags {
                                uid: nz(*uid),
                                flags: imap_flags(*uid, flags),
                                modseq: Some(e.modseq),
                            }
                        }
                        Change::Keywords { count } => {
                            if *count <= defined {
                                continue;
                            }
                            defined = *count;
                            let table = &keywords[..(*count).min(keywords.len())];
                            ViewChange::Defined {
                                flags: flags::defined(table),
                                permanent: flags::permanent(table, index.keyword_limit),
                            }
                        }
                    };
                    session.mailbox_changed(change);
                }
            }
            None => {
                // Too far behind for the log: compare with the whole index.
                if keywords.len() > defined {
                    defined = keywords.len();
                    session.mailbox_changed(ViewChange::Defined {
                        flags: flags::defined(keywords),
                        permanent: flags::permanent(keywords, index.keyword_limit),
                    });
                }
                let known: Vec<NonZeroU32> = session
                    .selected_mailbox()
                    .map(|v| v.uids().to_vec())
                    .unwrap_or_default();
                for uid in &known {
                    if index.get(uid.get()).is_none() {
                        session.mailbox_changed(ViewChange::Expunged { uid: *uid });
                    }
                }
                for m in &index.messages {
                    if known.binary_search(&nz(m.uid)).is_err() {
                        session.mailbox_changed(ViewChange::Added { uid: nz(m.uid) });
                    } else {
                        session.mailbox_changed(ViewChange::Flags {
                            uid: nz(m.uid),
                            flags: imap_flags(m.uid, &m.flags),
                            modseq: Some(m.modseq),
                        });
                    }
                }
                sel.own.clear();
            }
        }
        sel.keywords_told = defined;
        sel.cursor = index.highest_modseq;
        sel.own.retain(|m| *m > index.highest_modseq);
        drop(index);
        self.claim_recent(session);
    }

    /// Messages no session saw yet become `\Recent` here (read-write
    /// only); an IMAP4rev1 client is told how many of its messages are.
    /// The view counts only the messages it has announced, so a message
    /// it has not shown yet (it arrived after this refresh read the
    /// index, or below a UID already shown) never makes RECENT pass
    /// EXISTS.
    fn claim_recent(&mut self, session: &mut Session) {
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        if sel.read_only {
            return;
        }
        let claimed = sel.mailbox.claim_recent();
        let before = sel.recent.len();
        sel.recent.extend(&claimed);
        sel.recent.sort_unstable();
        sel.recent.dedup();
        // Expunged messages are no longer `\Recent`.
        let index = sel.mailbox.index();
        sel.recent.retain(|uid| index.get(*uid).is_some());
        drop(index);
        let changed = !claimed.is_empty() || sel.recent.len() != before;
        if changed && !session.is_enabled(&Capability::Imap4rev2) {
            let uids = sel.recent.iter().map(|&uid| nz(uid)).collect();
            session.mailbox_changed(ViewChange::Recent { uids });
        }
    }

    async fn on_event(&mut self, event: Event, session: &mut Session) {
        match event {
            Event::Connected { ticket } => answer(session.accept(now(), ticket)),
            Event::Login {
                ticket,
                credentials,
            } => self.login(ticket, credentials, session).await,
            Event::AppendStart {
                ticket,
                mailbox,
                flags,
                date,
                binary,
                ..
            } => {
                self.append_start(ticket, mailbox, flags, date, binary, session)
                    .await
            }
            Event::AppendChunk(chunk) => {
                if let Some(last) = self.appending.last_mut() {
                    last.data.extend_from_slice(&chunk);
                }
            }
            Event::AppendAborted { .. } => self.appending.clear(),
            Event::AppendEnd { ticket } => self.append(ticket, session).await,
            Event::Command { ticket, command } => {
                self.refresh(session);
                self.command(ticket, command, session).await;
            }
            Event::IdleStarted => {
                self.idling = true;
                self.refresh(session);
            }
            Event::IdleEnded => self.idling = false,
            Event::Unselected => self.selected = None,
            Event::PipelinedInputDiscarded { bytes } => {
                warn!(peer = %self.peer, bytes, "discarded plaintext sent after STARTTLS")
            }
            _ => {}
        }
    }

    async fn login(
        &mut self,
        ticket: Ticket,
        credentials: sansmail_imap::sasl::Credentials,
        session: &mut Session,
    ) {
        let login = credentials.username().unwrap_or_default().to_owned();
        let same_identity = credentials
            .identity()
            .is_none_or(|i| i.eq_ignore_ascii_case(&login));
        let password = credentials.password().map(str::to_owned);
        let user = match (same_identity, password) {
            (true, Some(password)) => {
                accounts::login(&self.shared.passwords, self.peer.ip(), &login, &password).await
            }
            _ => None,
        };
        let Some(user) = user else {
            info!(peer = %self.peer, login = %login, "login refused");
            return answer(session.reject(
                now(),
                ticket,
                Some(Code::AuthenticationFailed),
                "Authentication failed",
            ));
        };
        let opened = self.shared.store.account(&user).await;
        let account = match opened {
            Ok(a) => a,
            Err(e) => {
                warn!(error = %e, %user, "cannot open the account");
                return answer(session.reject(
                    now(),
                    ticket,
                    Some(Code::Unavailable),
                    "Mailbox unavailable",
                ));
            }
        };
        if let Err(e) = account.ensure_default_folders().await {
            warn!(error = %e, %user, "cannot create the default folders");
        }
        info!(peer = %self.peer, %user, "logged in");
        self.account = Some(account);
        answer(session.accept(now(), ticket));
    }

    async fn command(&mut self, ticket: Ticket, command: CommandBody, session: &mut Session) {
        let Some(account) = self.account.clone() else {
            return Self::fail(session, ticket, None, "Not logged in");
        };
        let name = command.name();
        match command {
            CommandBody::Select { mailbox, params } | CommandBody::Examine { mailbox, params } => {
                let read_only = name == "EXAMINE";
                self.select(ticket, &account, mailbox, read_only, params, session)
                    .await
            }
            CommandBody::Create { mailbox, .. } => {
                let n = Self::name_of(&mailbox, session);
                match account.create(&n).await {
                    Ok(()) => Self::ok(session, ticket, name),
                    Err(e) => Self::failed(session, ticket, &e),
                }
            }
            CommandBody::Delete(mailbox) => {
                let n = Self::name_of(&mailbox, session);
                match account.delete(&n).await {
                    Ok(()) => Self::ok(session, ticket, name),
                    Err(e) => Self::failed(session, ticket, &e),
                }
            }
            CommandBody::Rename { from, to } => {
                let (a, b) = (Self::name_of(&from, session), Self::name_of(&to, session));
                match account.rename(&a, &b).await {
                    Ok(()) => Self::ok(session, ticket, name),
                    Err(e) => Self::failed(session, ticket, &e),
                }
            }
            CommandBody::Subscribe(mailbox) | CommandBody::Unsubscribe(mailbox) => {
                let n = Self::name_of(&mailbox, session);
                let on = name == "SUBSCRIBE";
                if on
                    && !account
                        .folders()
                        .await
                        .is_ok_and(|f| f.iter().any(|f| f.name == n && f.selectable))
                {
                    return Self::fail(session, ticket, Some(Code::NonExistent), "No such mailbox");
                }
                match account.subscribe(&n, on).await {
                    Ok(()) => Self::ok(session, ticket, name),
                    Err(e) => Self::failed(session, ticket, &e),
                }
            }
            CommandBody::List {
                selection,
                reference,
                patterns,
                returns,
            } => {
                let request = folders::ListRequest {
                    selection,
                    reference,
                    patterns,
                    returns,
                    lsub: false,
                };
                self.list(ticket, &account, request, session).await
            }
            CommandBody::Lsub { reference, pattern } => {
                let request = folders::ListRequest {
                    selection: vec![ListSelect::Subscribed],
                    reference,
                    patterns: vec![pattern],
                    returns: Vec::new(),
                    lsub: true,
                };
                self.list(ticket, &account, request, session).await
            }
            CommandBody::Namespace => {
                folders::namespace(ticket, session);
                Self::ok(session, ticket, name);
            }
            CommandBody::Status { mailbox, items } => {
                self.status(ticket, &account, mailbox, &items, session)
                    .await
            }
            CommandBody::GetQuotaRoot(mailbox) => {
                answer(session.data(
                    ticket,
                    Untagged::QuotaRoot {
                        mailbox,
                        roots: vec![Str::new()],
                    },
                ));
                answer(session.data(ticket, folders::quota(&account).await));
                Self::ok(session, ticket, name);
            }
            CommandBody::GetQuota(root) if root.is_empty() => {
                answer(session.data(ticket, folders::quota(&account).await));
                Self::ok(session, ticket, name);
            }
            CommandBody::GetQuota(_) => Self::fail(
                session,
                ticket,
                Some(Code::NonExistent),
                "No such quota root",
            ),
            CommandBody::SetQuota { .. } => Self::fail(
                session,
                ticket,
                Some(Code::NoPerm),
                "Quotas are set by the administrator",
            ),
            CommandBody::Fetch {
                uid,
                set,
                items,
                changed_since,
                vanished,
            } => {
                let request = fetch::FetchRequest {
                    uid,
                    set,
                    items,
                    changed_since,
                    vanished,
                };
                self.fetch(ticket, request, session).await
            }
            CommandBody::Store {
                uid,
                set,
                unchanged_since,
                action,
                silent,
                flags,
            } => {
                let request = messages::StoreRequest {
                    uid,
                    set,
                    unchanged_since,
                    action,
                    silent,
                    flags,
                };
                self.store_flags(ticket, request, session).await
            }
            CommandBody::Search { charset, keys, .. } => {
                self.search(ticket, &keys, charset.as_deref(), session)
                    .await
            }
            CommandBody::Sort {
                criteria,
                charset,
                keys,
                ..
            } => self.sort(ticket, &criteria, &keys, &charset, session).await,
            CommandBody::Thread {
                algorithm,
                charset,
                keys,
                ..
            } => {
                self.thread(ticket, algorithm, &keys, &charset, session)
                    .await
            }
            CommandBody::Copy { uid, set, mailbox } | CommandBody::Move { uid, set, mailbox } => {
                let target = Self::name_of(&mailbox, session);
                self.copy(
                    ticket,
                    uid,
                    &set,
                    &target,
                    name == "MOVE",
                    &account,
                    session,
                )
                .await
            }
            CommandBody::Expunge { uids } => self.expunge(ticket, uids, session).await,
            CommandBody::Close => self.close(ticket, session).await,
            _ => answer(session.complete(now(), ticket, StatusKind::Bad, None, "Not supported")),
        }
    }
}
