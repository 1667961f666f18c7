//! The IMAP service: one connection's session over the shared maildir
//! store (`ROOT/<user>/Maildir`, Maildir++ folders), as imap-server and
//! mail-server run it.
//!
//! A selected mailbox is re-read before each command and every second
//! during IDLE, so deliveries by any process and changes by other sessions
//! reach every client. Sent, Drafts, Trash and Junk are made at first login.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sansmail_imap::driver::{Driver, Step, Tls};
use sansmail_imap::mailbox::Change;
use sansmail_imap::message::{self, Metadata, PreparedSearch, SearchContext, ThreadItem};
use sansmail_imap::server::{Config, Event, SelectInfo, Session, Ticket};
use sansmail_imap::types::*;
use sansmail_mime::Message;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::accounts::Passwords;
use crate::maildir::folder_name;
use crate::mailstore::{DELIMITER, Folder, StoredMessage, UserStore};

/// What every IMAP connection shares.
pub struct ImapService {
    /// The store root: `ROOT/<user>/Maildir`.
    pub maildir: std::path::PathBuf,
    /// The name in the greeting and in new maildir file names.
    pub hostname: String,
    /// The storage quota reported per user, in MiB.
    pub quota_mb: u64,
    /// Who may log in.
    pub passwords: Arc<dyn Passwords>,
    /// The certificate for STARTTLS and implicit TLS.
    pub acceptor: TlsAcceptor,
    /// The session configuration.
    pub config: Config,
    /// Where the session learns at once of a delivery to a user (it looks
    /// every second during IDLE in any case).
    pub arrivals: Option<Arrivals>,
}

/// A user's arrival signal, notified on each delivery to them.
pub type Arrivals = Arc<dyn Fn(&str) -> Arc<tokio::sync::Notify> + Send + Sync>;

impl ImapService {
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

/// One connection, driven by the Sans-IO session through the tokio driver.
async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: &ImapService,
    implicit_tls: bool,
) -> std::io::Result<()> {
    let mut config = shared.config.clone();
    if implicit_tls {
        config.implicit_tls = true;
        let tls = shared.acceptor.accept(tcp).await?;
        let session = Session::new(config, Instant::now());
        return run(Driver::new(session, tls, Tls::None), peer, shared).await;
    }
    let session = Session::new(config, Instant::now());
    run(
        Driver::new(session, tcp, Tls::Server(shared.acceptor.clone())),
        peer,
        shared,
    )
    .await
}

async fn run<T: AsyncRead + AsyncWrite + Unpin>(
    mut driver: Driver<Session, T>,
    peer: SocketAddr,
    shared: &ImapService,
) -> std::io::Result<()> {
    let mut handler = Handler {
        shared,
        peer,
        user: None,
        selected: None,
        appending: Vec::new(),
        idling: false,
        arrivals: None,
    };
    loop {
        // While idling with a mailbox selected, look for changes every
        // second, and at once when told of a delivery.
        let watching = handler.idling && handler.selected.is_some();
        let tick = watching.then(|| Instant::now() + Duration::from_secs(1));
        let arrivals = handler.arrivals.clone().filter(|_| watching);
        let arrival = async move {
            match arrivals {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        match driver.step_until(tick, arrival).await? {
            Step::Event(event) => handler.on_event(event, driver.session()),
            Step::Woken => handler.refresh(driver.session()),
            Step::Closed => return Ok(()),
        }
    }
}

/// The selected mailbox and what this session last told its client of it.
struct Selected {
    name: String,
    folder: Folder,
    /// UID → (flags, modseq) as the client knows them.
    known: BTreeMap<u32, (Vec<Flag>, u64)>,
    /// What the client knew of messages another session expunged, until it
    /// is told: FETCH of their UID and FLAGS still answers from here.
    expunged: BTreeMap<u32, (Vec<Flag>, u64)>,
    read_only: bool,
}

/// An APPEND message being received.
struct Incoming {
    mailbox: String,
    flags: Vec<Flag>,
    date: Option<DateTime>,
    data: Vec<u8>,
}

struct Handler<'a> {
    shared: &'a ImapService,
    peer: SocketAddr,
    user: Option<UserStore>,
    selected: Option<Selected>,
    /// APPEND messages being received.
    appending: Vec<Incoming>,
    idling: bool,
    /// Notified on deliveries to the logged-in user.
    arrivals: Option<Arc<tokio::sync::Notify>>,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn answer<E: std::fmt::Debug>(result: Result<(), E>) {
    if let Err(e) = result {
        warn!(error = ?e, "the session refused an answer");
    }
}

fn internal_date(m: &StoredMessage) -> Option<DateTime> {
    DateTime::from_unix(m.received, 0)
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Handler<'_> {
    fn store(&self) -> Option<&UserStore> {
        self.user.as_ref()
    }

    /// The Unicode name of a mailbox as the client sent it.
    fn name_of(&self, mailbox: &Mailbox, session: &Session) -> String {
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

    /// Re-reads the selected mailbox and tells the session what changed.
    fn refresh(&mut self, session: &mut Session) {
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        if let Err(e) = sel.folder.sync() {
            warn!(error = %e, "cannot read the mailbox");
            return;
        }
        let current: BTreeMap<u32, (Vec<Flag>, u64)> = sel
            .folder
            .messages
            .iter()
            .map(|m| (m.uid, (m.flags.clone(), m.modseq)))
            .collect();
        let gone: Vec<u32> = sel
            .known
            .keys()
            .filter(|u| !current.contains_key(u))
            .copied()
            .collect();
        for uid in gone {
            session.mailbox_changed(Change::Expunged { uid: nz(uid) });
            if let Some(last) = sel.known.remove(&uid) {
                sel.expunged.insert(uid, last);
            }
        }
        for (uid, (flags, modseq)) in &current {
            match sel.known.get(uid) {
                None => session.mailbox_changed(Change::Added { uid: nz(*uid) }),
                Some((old, _)) if old != flags => session.mailbox_changed(Change::Flags {
                    uid: nz(*uid),
                    flags: flags.clone(),
                    modseq: Some(*modseq),
                }),
                _ => {}
            }
        }
        sel.known = current;
    }

    fn on_event(&mut self, event: Event, session: &mut Session) {
        match event {
            Event::Connected { ticket } => answer(session.accept(ticket)),
            Event::Login {
                ticket,
                credentials,
            } => {
                let user = credentials
                    .username()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let ok = credentials
                    .identity()
                    .is_some_and(|i| i.eq_ignore_ascii_case(&user))
                    && credentials.password().is_some()
                    && credentials.password().is_some_and(|p| {
                        self.shared.passwords.verify_from(self.peer.ip(), &user, p)
                    });
                let opened = ok.then(|| folder_name(&user)).flatten().map(|dir| {
                    UserStore::open(
                        &self.shared.maildir.join(dir).join("Maildir"),
                        &self.shared.hostname,
                    )
                });
                match opened {
                    Some(Ok(store)) => {
                        if let Err(e) = store.ensure_special_use() {
                            warn!(error = %e, "cannot create the special-use folders");
                        }
                        info!(peer = %self.peer, %user, "logged in");
                        self.user = Some(store);
                        self.arrivals = self.shared.arrivals.as_ref().map(|a| a(&user));
                        answer(session.accept(ticket));
                    }
                    Some(Err(e)) => {
                        warn!(error = %e, "cannot open the maildir");
                        answer(session.reject(
                            ticket,
                            Some(Code::Unavailable),
                            "Mailbox unavailable",
                        ));
                    }
                    None => {
                        info!(peer = %self.peer, %user, "login refused");
                        answer(session.reject(ticket, None, "Authentication failed"));
                    }
                }
            }
            Event::AppendStart {
                ticket,
                mailbox,
                flags,
                date,
                ..
            } => {
                let name = self.name_of(&mailbox, session);
                let exists = self
                    .store()
                    .and_then(|s| s.folder_dir(&name))
                    .is_some_and(|d| d.join("cur").is_dir());
                if exists {
                    self.appending.push(Incoming {
                        mailbox: name,
                        flags,
                        date,
                        data: Vec::new(),
                    });
                    answer(session.accept(ticket));
                } else {
                    answer(session.reject(ticket, Some(Code::TryCreate), "No such mailbox"));
                }
            }
            Event::AppendChunk(chunk) => {
                if let Some(last) = self.appending.last_mut() {
                    last.data.extend_from_slice(&chunk);
                }
            }
            Event::AppendAborted { .. } => self.appending.clear(),
            Event::AppendEnd { ticket } => self.append(ticket, session),
            Event::Command { ticket, command } => {
                self.refresh(session);
                self.command(ticket, command, session);
            }
            Event::IdleStarted => self.idling = true,
            Event::IdleEnded => self.idling = false,
            Event::Unselected => self.selected = None,
            _ => {}
        }
    }

    fn append(&mut self, ticket: Ticket, session: &mut Session) {
        let Some(store) = self.user.clone() else {
            return answer(session.complete(ticket, StatusKind::No, None, "Not logged in"));
        };
        let mut uids = Vec::new();
        let mut validity = 0;
        for Incoming {
            mailbox,
            flags,
            date,
            data,
        } in std::mem::take(&mut self.appending)
        {
            let result = store.open_folder(&mailbox).and_then(|mut f| {
                f.append(&data, &flags, date.map(|d| d.unix()))
                    .map(|uid| (uid, f.uid_validity))
            });
            match result {
                Ok((uid, v)) => {
                    uids.push(uid);
                    validity = v;
                }
                Err(e) => {
                    warn!(error = %e, "append failed");
                    return answer(session.complete(
                        ticket,
                        StatusKind::No,
                        Some(Code::ServerBug),
                        "Cannot store the message",
                    ));
                }
            }
        }
        // A message appended to the selected mailbox shows up as EXISTS before the OK.
        self.refresh(session);
        let code = SequenceSet::from_numbers(uids).map(|uids| Code::AppendUid {
            uid_validity: nz(validity),
            uids,
        });
        answer(session.complete(ticket, StatusKind::Ok, code, "APPEND completed"));
    }

    fn fail(session: &mut Session, ticket: Ticket, code: Option<Code>, text: &str) {
        answer(session.complete(ticket, StatusKind::No, code, text));
    }

    fn ok(session: &mut Session, ticket: Ticket, name: &str) {
        answer(session.complete(ticket, StatusKind::Ok, None, &format!("{name} completed")));
    }

    fn io_code(e: &std::io::Error) -> Code {
        match e.kind() {
            std::io::ErrorKind::NotFound => Code::NonExistent,
            std::io::ErrorKind::AlreadyExists => Code::AlreadyExists,
            std::io::ErrorKind::InvalidInput => Code::Cannot,
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::Unsupported => Code::Cannot,
            _ => Code::ServerBug,
        }
    }

    fn command(&mut self, ticket: Ticket, command: CommandBody, session: &mut Session) {
        let Some(store) = self.user.clone() else {
            return Self::fail(session, ticket, None, "Not logged in");
        };
        let name = command.name();
        match command {
            CommandBody::Select { mailbox, params } | CommandBody::Examine { mailbox, params } => {
                let read_only = name == "EXAMINE";
                let folder_name = self.name_of(&mailbox, session);
                match store.open_folder(&folder_name) {
                    Ok(folder) => {
                        self.select(ticket, folder_name, folder, read_only, params, session)
                    }
                    Err(e) => {
                        Self::fail(session, ticket, Some(Self::io_code(&e)), "No such mailbox")
                    }
                }
            }
            CommandBody::Create { mailbox, .. } => {
                let n = self.name_of(&mailbox, session);
                let n = n.trim_end_matches(DELIMITER);
                match store.create(n) {
                    Ok(()) => Self::ok(session, ticket, name),
                    Err(e) => Self::fail(session, ticket, Some(Self::io_code(&e)), &e.to_string()),
                }
            }
            CommandBody::Delete(mailbox) => {
                let n = self.name_of(&mailbox, session);
                if self.selected.as_ref().is_some_and(|s| s.name == n) {
                    return Self::fail(session, ticket, Some(Code::InUse), "Mailbox is selected");
                }
                match store.delete(&n) {
                    Ok(()) => Self::ok(session, ticket, name),
                    Err(e) => Self::fail(session, ticket, Some(Self::io_code(&e)), &e.to_string()),
                }
            }
            CommandBody::Rename { from, to } => {
                let (a, b) = (self.name_of(&from, session), self.name_of(&to, session));
                match store.rename(&a, &b) {
                    Ok(()) => Self::ok(session, ticket, name),
                    Err(e) => Self::fail(session, ticket, Some(Self::io_code(&e)), &e.to_string()),
                }
            }
            CommandBody::Subscribe(mailbox) | CommandBody::Unsubscribe(mailbox) => {
                let n = self.name_of(&mailbox, session);
                match store.subscribe(&n, name == "SUBSCRIBE") {
                    Ok(()) => Self::ok(session, ticket, name),
                    Err(e) => Self::fail(session, ticket, Some(Self::io_code(&e)), &e.to_string()),
                }
            }
            CommandBody::List {
                selection,
                reference,
                patterns,
                returns,
            } => self.list(
                ticket, &store, selection, reference, patterns, returns, false, session,
            ),
            CommandBody::Lsub { reference, pattern } => self.list(
                ticket,
                &store,
                vec![ListSelect::Subscribed],
                reference,
                vec![pattern],
                Vec::new(),
                true,
                session,
            ),
            CommandBody::Namespace => {
                let ns = Namespace {
                    personal: vec![NamespaceDescr {
                        prefix: Str::new(),
                        delimiter: Some(DELIMITER),
                        extensions: Vec::new(),
                    }],
                    other: Vec::new(),
                    shared: Vec::new(),
                };
                answer(session.data(ticket, Untagged::Namespace(ns)));
                Self::ok(session, ticket, name);
            }
            CommandBody::Status { mailbox, items } => {
                let n = self.name_of(&mailbox, session);
                match store.open_folder(&n) {
                    Ok(folder) => {
                        let items = status_values(&folder, &items, &self.shared.config);
                        answer(session.data(ticket, Untagged::MailboxStatus { mailbox, items }));
                        Self::ok(session, ticket, name);
                    }
                    Err(e) => {
                        Self::fail(session, ticket, Some(Self::io_code(&e)), "No such mailbox")
                    }
                }
            }
            CommandBody::GetQuotaRoot(mailbox) => {
                answer(session.data(
                    ticket,
                    Untagged::QuotaRoot {
                        mailbox,
                        roots: vec![Str::new()],
                    },
                ));
                answer(session.data(ticket, self.quota(&store)));
                Self::ok(session, ticket, name);
            }
            CommandBody::GetQuota(root) if root.is_empty() => {
                answer(session.data(ticket, self.quota(&store)));
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
            } => self.fetch(ticket, uid, set, items, changed_since, vanished, session),
            CommandBody::Store {
                uid,
                set,
                unchanged_since,
                action,
                silent,
                flags,
            } => self.store_flags(
                ticket,
                uid,
                set,
                unchanged_since,
                action,
                silent,
                flags,
                session,
            ),
            CommandBody::Search {
                uid: _,
                charset,
                keys,
                ..
            } => match self.search(&keys, charset.as_deref()) {
                Ok((uids, modseq)) => {
                    answer(session.search_result(ticket, &uids, modseq));
                    Self::ok(session, ticket, name);
                }
                Err(()) => Self::bad_charset(session, ticket),
            },
            CommandBody::Sort {
                criteria,
                charset,
                keys,
                ..
            } => match self.search(&keys, Some(&charset)) {
                Ok((uids, _)) => {
                    let sorted = self.with_messages(&uids, |items| message::sort(&criteria, items));
                    answer(session.sort_result(ticket, &sorted, None));
                    Self::ok(session, ticket, name);
                }
                Err(()) => Self::bad_charset(session, ticket),
            },
            CommandBody::Thread {
                algorithm,
                charset,
                keys,
                ..
            } => match self.search(&keys, Some(&charset)) {
                Ok((uids, _)) => {
                    let threads = self.with_messages(&uids, |items| match algorithm {
                        ThreadAlgorithm::OrderedSubject => message::thread_ordered_subject(items),
                        _ => message::thread_references(items),
                    });
                    answer(session.thread_result(ticket, &threads));
                    Self::ok(session, ticket, name);
                }
                Err(()) => Self::bad_charset(session, ticket),
            },
            CommandBody::Copy { uid, set, mailbox } | CommandBody::Move { uid, set, mailbox } => {
                let target = self.name_of(&mailbox, session);
                self.copy(ticket, uid, &set, &target, name == "MOVE", &store, session)
            }
            CommandBody::Expunge { uids } => {
                let Some(sel) = self.selected.as_mut() else {
                    return Self::fail(session, ticket, None, "No mailbox selected");
                };
                if sel.read_only {
                    return Self::fail(session, ticket, Some(Code::Cannot), "Mailbox is read-only");
                }
                let doomed: Vec<u32> = sel
                    .folder
                    .messages
                    .iter()
                    .filter(|m| m.flags.contains(&Flag::Deleted))
                    .filter(|m| uids.as_ref().is_none_or(|s| s.contains(m.uid, u32::MAX)))
                    .map(|m| m.uid)
                    .collect();
                match sel.folder.expunge(&doomed) {
                    Ok(gone) => {
                        for uid in gone {
                            sel.known.remove(&uid);
                            answer(session.expunged(ticket, nz(uid)));
                        }
                        Self::ok(session, ticket, name);
                    }
                    Err(e) => Self::fail(session, ticket, Some(Code::ServerBug), &e.to_string()),
                }
            }
            CommandBody::Close => {
                if let Some(sel) = self.selected.as_mut()
                    && !sel.read_only
                {
                    let doomed: Vec<u32> = sel
                        .folder
                        .messages
                        .iter()
                        .filter(|m| m.flags.contains(&Flag::Deleted))
                        .map(|m| m.uid)
                        .collect();
                    if let Err(e) = sel.folder.expunge(&doomed) {
                        warn!(error = %e, "expunge at CLOSE failed");
                    }
                }
                self.selected = None;
                Self::ok(session, ticket, name);
            }
            _ => answer(session.complete(ticket, StatusKind::Bad, None, "Not supported")),
        }
    }

    fn bad_charset(session: &mut Session, ticket: Ticket) {
        let charsets = vec![
            Atom::new("UTF-8").expect("atom"),
            Atom::new("US-ASCII").expect("atom"),
        ];
        Self::fail(
            session,
            ticket,
            Some(Code::BadCharset(charsets)),
            "Unknown charset",
        );
    }

    fn quota(&self, store: &UserStore) -> Untagged {
        Untagged::Quota {
            root: Str::new(),
            resources: vec![QuotaResource {
                name: Atom::new("STORAGE").expect("atom"),
                usage: store.usage() / 1024,
                limit: self.shared.quota_mb * 1024,
            }],
        }
    }

    fn select(
        &mut self,
        ticket: Ticket,
        name: String,
        folder: Folder,
        read_only: bool,
        params: SelectParams,
        session: &mut Session,
    ) {
        let changed = match &params.qresync {
            Some(q) if q.uid_validity.get() == folder.uid_validity => folder
                .messages
                .iter()
                .filter(|m| m.modseq > q.modseq)
                .map(|m| (nz(m.uid), m.flags.clone(), m.modseq))
                .collect(),
            _ => Vec::new(),
        };
        let info = SelectInfo {
            uid_validity: nz(folder.uid_validity),
            uid_next: nz(folder.next_uid),
            uids: folder.messages.iter().map(|m| nz(m.uid)).collect(),
            flags: folder.defined_flags(),
            permanent_flags: {
                let mut p: Vec<PermanentFlag> = folder
                    .defined_flags()
                    .into_iter()
                    .map(PermanentFlag::Flag)
                    .collect();
                p.push(PermanentFlag::CreateKeywords);
                p
            },
            highest_modseq: Some(folder.highest_modseq),
            recent: 0,
            first_unseen: folder
                .messages
                .iter()
                .position(|m| !m.flags.contains(&Flag::Seen))
                .map(|i| nz(i as u32 + 1)),
            read_only,
            changed,
            vanished: None,
            mailbox_id: folder.mailbox_id(),
        };
        let known = folder
            .messages
            .iter()
            .map(|m| (m.uid, (m.flags.clone(), m.modseq)))
            .collect();
        self.selected = Some(Selected {
            name,
            folder,
            known,
            expunged: BTreeMap::new(),
            read_only,
        });
        answer(session.selected(ticket, info));
    }

    #[allow(clippy::too_many_arguments)]
    fn list(
        &mut self,
        ticket: Ticket,
        store: &UserStore,
        selection: Vec<ListSelect>,
        reference: Mailbox,
        patterns: Vec<Str>,
        returns: Vec<ListReturn>,
        lsub: bool,
        session: &mut Session,
    ) {
        let reference = self.name_of(&reference, session);
        // LIST "" "" asks for the delimiter.
        if patterns.iter().all(|p| p.is_empty()) && !lsub {
            let item = ListItem {
                attrs: vec![MailboxAttr::NoSelect],
                delimiter: Some(DELIMITER),
                mailbox: Mailbox::new(Str::new()).unwrap_or_else(|_| Mailbox::inbox()),
                child_info: Vec::new(),
                old_name: None,
            };
            answer(session.data(ticket, Untagged::List(item)));
            return Self::ok(session, ticket, "LIST");
        }
        let folders = match store.list() {
            Ok(f) => f,
            Err(e) => return Self::fail(session, ticket, Some(Code::ServerBug), &e.to_string()),
        };
        let subscribed = store.subscriptions();
        let only_subscribed = selection.contains(&ListSelect::Subscribed);
        let only_special = selection.contains(&ListSelect::SpecialUse);
        let recursive = only_subscribed && selection.contains(&ListSelect::RecursiveMatch);
        let want_subscribed = only_subscribed || returns.contains(&ListReturn::Subscribed);
        let status_items = returns.iter().find_map(|r| match r {
            ListReturn::Status(items) => Some(items.clone()),
            _ => None,
        });
        let utf8 = session.is_enabled(&Capability::Utf8Accept);
        for f in &folders {
            let matched = patterns.iter().any(|p| {
                let pattern = if utf8 {
                    String::from_utf8_lossy(p).into_owned()
                } else {
                    decode_modified_utf7(p)
                        .unwrap_or_else(|| String::from_utf8_lossy(p).into_owned())
                };
                wildcard_match(&format!("{reference}{pattern}"), &f.name)
            });
            if !matched {
                continue;
            }
            let is_subscribed = subscribed.iter().any(|s| s == &f.name);
            // RECURSIVEMATCH (RFC 5258 §3.5): a parent listed for its subscribed children.
            let prefix = format!("{}{DELIMITER}", f.name);
            let child_subscribed =
                recursive && !is_subscribed && subscribed.iter().any(|s| s.starts_with(&prefix));
            if (only_subscribed && !is_subscribed && !child_subscribed)
                || (only_special && f.special_use.is_none())
            {
                continue;
            }
            let mut attrs = Vec::new();
            if !lsub {
                attrs.push(if f.has_children {
                    MailboxAttr::HasChildren
                } else {
                    MailboxAttr::HasNoChildren
                });
            }
            if want_subscribed && is_subscribed && !lsub {
                attrs.push(MailboxAttr::Subscribed);
            }
            if let Some(use_) = &f.special_use {
                attrs.push(use_.clone());
            }
            let mailbox = Self::wire_name(&f.name, session);
            let item = ListItem {
                attrs,
                delimiter: Some(DELIMITER),
                mailbox: mailbox.clone(),
                child_info: if child_subscribed {
                    vec![Str::from("SUBSCRIBED")]
                } else {
                    Vec::new()
                },
                old_name: None,
            };
            answer(session.data(
                ticket,
                if lsub {
                    Untagged::Lsub(item)
                } else {
                    Untagged::List(item)
                },
            ));
            if let Some(items) = &status_items
                && let Ok(folder) = store.open_folder(&f.name)
            {
                let items = status_values(&folder, items, &self.shared.config);
                answer(session.data(ticket, Untagged::MailboxStatus { mailbox, items }));
            }
        }
        Self::ok(session, ticket, if lsub { "LSUB" } else { "LIST" });
    }

    /// Runs `f` over the selected mailbox's messages with these UIDs, parsed.
    fn with_messages<T>(
        &self,
        uids: &[NonZeroU32],
        f: impl FnOnce(&[ThreadItem<'_, '_>]) -> T,
    ) -> T {
        let Some(sel) = &self.selected else {
            return f(&[]);
        };
        let view = session_numbers(sel);
        let mut raws = Vec::new();
        let mut metas = Vec::new();
        for uid in uids {
            if let Some(m) = sel.folder.get(uid.get()) {
                raws.push(std::fs::read(&m.path).unwrap_or_default());
                metas.push(metadata(m));
            }
        }
        let parsed: Vec<Message<'_>> = raws.iter().map(|r| Message::parse(r)).collect();
        let items: Vec<ThreadItem<'_, '_>> = parsed
            .iter()
            .zip(&metas)
            .map(|(p, m)| {
                (
                    view.get(&m.uid.get()).copied().unwrap_or(NonZeroU32::MIN),
                    p,
                    m,
                )
            })
            .collect();
        f(&items)
    }

    /// The UIDs matching the keys, and the highest modseq among them when MODSEQ was searched.
    fn search(
        &self,
        keys: &[SearchKey],
        charset: Option<&[u8]>,
    ) -> Result<(Vec<NonZeroU32>, Option<u64>), ()> {
        let charset = charset
            .filter(|c| !c.eq_ignore_ascii_case(b"US-ASCII") && !c.eq_ignore_ascii_case(b"UTF-8"));
        let prepared = PreparedSearch::new(keys, charset.or(Some(b"UTF-8"))).map_err(|_| ())?;
        let Some(sel) = &self.selected else {
            return Ok((Vec::new(), None));
        };
        let uses_modseq = keys
            .iter()
            .any(|k| k.any(&|k| matches!(k, SearchKey::ModSeq { .. })));
        let exists = sel.folder.messages.len() as u32;
        let largest = sel.folder.messages.last().map_or(0, |m| m.uid);
        let mut hits = Vec::new();
        let mut modseq = 0;
        for (i, m) in sel.folder.messages.iter().enumerate() {
            let raw = std::fs::read(&m.path).unwrap_or_default();
            let parsed = Message::parse(&raw);
            let mut meta = metadata(m);
            meta.email_id = email_id(&raw);
            let ctx = SearchContext {
                message: &parsed,
                meta: &meta,
                seq: nz(i as u32 + 1),
                exists,
                largest_uid: largest,
                now: now_unix(),
                save_date_supported: false,
            };
            if prepared.matches(&ctx) {
                hits.push(nz(m.uid));
                modseq = modseq.max(m.modseq);
            }
        }
        Ok((hits, uses_modseq.then_some(modseq)))
    }

    #[allow(clippy::too_many_arguments)]
    fn fetch(
        &mut self,
        ticket: Ticket,
        uid: bool,
        set: SequenceSet,
        items: FetchItems,
        changed_since: Option<u64>,
        vanished: bool,
        session: &mut Session,
    ) {
        let Some(view) = session.selected_mailbox().cloned() else {
            return Self::fail(session, ticket, None, "No mailbox selected");
        };
        let Some(sel) = self.selected.as_mut() else {
            return Self::fail(session, ticket, None, "No mailbox selected");
        };
        if vanished && uid && changed_since.is_some() {
            // Asked-for UIDs that no longer exist (RFC 7162 §3.2.6).
            let largest = sel.folder.messages.last().map_or(0, |m| m.uid);
            let gone: Vec<u32> = set
                .normalized(largest)
                .into_iter()
                .flat_map(|(a, b)| a..=b.min(sel.folder.next_uid))
                .filter(|u| sel.folder.get(*u).is_none() && view.seq_of(nz(*u)).is_none())
                .take(100_000)
                .collect();
            if let Some(uids) = SequenceSet::from_numbers(gone) {
                answer(session.data(
                    ticket,
                    Untagged::Vanished {
                        earlier: true,
                        uids,
                    },
                ));
            }
        }
        let mut attrs = items.expand();
        let condstore = session.is_enabled(&Capability::CondStore) || view.condstore();
        if (changed_since.is_some() || condstore) && !attrs.contains(&FetchAttr::ModSeq) {
            attrs.push(FetchAttr::ModSeq);
        }
        let sets_seen = message::sets_seen(&attrs) && !sel.read_only;
        if sets_seen && !attrs.contains(&FetchAttr::Flags) {
            attrs.push(FetchAttr::Flags);
        }
        let needs_content = attrs.iter().any(|a| {
            !matches!(
                a,
                FetchAttr::Flags
                    | FetchAttr::Uid
                    | FetchAttr::Rfc822Size
                    | FetchAttr::InternalDate
                    | FetchAttr::ModSeq
            )
        });
        // Messages the client has not been told are expunged yet.
        sel.expunged.retain(|u, _| view.seq_of(nz(*u)).is_some());
        let metadata_only = attrs
            .iter()
            .all(|a| matches!(a, FetchAttr::Uid | FetchAttr::Flags | FetchAttr::ModSeq));
        let mut expunge_issued = false;
        for (_, u) in view.resolve(&set, uid) {
            let Some(m) = sel.folder.get(u.get()).cloned() else {
                // Expunged by another session: its number stays until the client is told.
                match sel.expunged.get(&u.get()) {
                    Some((flags, modseq)) if metadata_only => {
                        let values = attrs
                            .iter()
                            .map(|a| match a {
                                FetchAttr::Uid => FetchValue::Uid(u),
                                FetchAttr::ModSeq => FetchValue::ModSeq(*modseq),
                                _ => FetchValue::Flags(flags.clone()),
                            })
                            .collect();
                        answer(session.fetch(ticket, u, values));
                    }
                    _ => expunge_issued = true,
                }
                continue;
            };
            if changed_since.is_some_and(|c| m.modseq <= c) {
                continue;
            }
            let mut meta = metadata(&m);
            if sets_seen && !m.flags.contains(&Flag::Seen) {
                let mut flags = m.flags.clone();
                flags.push(Flag::Seen);
                if let Ok(Some(modseq)) = sel.folder.set_flags(m.uid, &flags) {
                    meta.flags = sel
                        .folder
                        .get(m.uid)
                        .map(|x| x.flags.clone())
                        .unwrap_or(flags);
                    meta.modseq = Some(modseq);
                    sel.known.insert(m.uid, (meta.flags.clone(), modseq));
                }
            }
            // Setting \Seen renamed the file: read it where it is now.
            let path = sel
                .folder
                .get(m.uid)
                .map_or(m.path.clone(), |x| x.path.clone());
            let raw = bytes::Bytes::from(if needs_content {
                std::fs::read(&path).unwrap_or_default()
            } else {
                Vec::new()
            });
            if attrs.contains(&FetchAttr::EmailId) {
                meta.email_id = email_id(&raw);
            }
            let parsed = Message::parse(&raw);
            match message::fetch_shared(&raw, &parsed, &meta, &attrs) {
                Ok(values) => answer(session.fetch(ticket, u, values)),
                Err(_) => {
                    return Self::fail(
                        session,
                        ticket,
                        Some(Code::UnknownCte),
                        "Unknown content transfer encoding",
                    );
                }
            }
        }
        if expunge_issued {
            // RFC 9051 §7.1: the client should NOOP to learn of the expunge.
            let text = "Some of the requested messages no longer exist";
            return Self::fail(session, ticket, Some(Code::ExpungeIssued), text);
        }
        Self::ok(session, ticket, "FETCH");
    }

    #[allow(clippy::too_many_arguments)]
    fn store_flags(
        &mut self,
        ticket: Ticket,
        uid: bool,
        set: SequenceSet,
        unchanged_since: Option<u64>,
        action: StoreAction,
        silent: bool,
        flags: Vec<Flag>,
        session: &mut Session,
    ) {
        let Some(view) = session.selected_mailbox().cloned() else {
            return Self::fail(session, ticket, None, "No mailbox selected");
        };
        let condstore = session.is_enabled(&Capability::CondStore)
            || view.condstore()
            || unchanged_since.is_some();
        let Some(sel) = self.selected.as_mut() else {
            return Self::fail(session, ticket, None, "No mailbox selected");
        };
        if sel.read_only {
            return Self::fail(session, ticket, Some(Code::Cannot), "Mailbox is read-only");
        }
        let flags: Vec<Flag> = flags.into_iter().filter(|f| *f != Flag::Recent).collect();
        let mut modified = Vec::new();
        for (seq, u) in view.resolve(&set, uid) {
            let Some(m) = sel.folder.get(u.get()).cloned() else {
                continue;
            };
            if unchanged_since.is_some_and(|n| m.modseq > n) {
                modified.push(if uid { u.get() } else { seq.get() });
                continue;
            }
            let mut new = match action {
                StoreAction::Replace => flags.clone(),
                StoreAction::Add => {
                    let mut f = m.flags.clone();
                    f.extend(flags.iter().filter(|x| !m.flags.contains(x)).cloned());
                    f
                }
                StoreAction::Remove => m
                    .flags
                    .iter()
                    .filter(|x| !flags.contains(x))
                    .cloned()
                    .collect(),
            };
            new.dedup();
            match sel.folder.set_flags(m.uid, &new) {
                Ok(Some(modseq)) => {
                    let now = sel
                        .folder
                        .get(m.uid)
                        .map(|x| x.flags.clone())
                        .unwrap_or(new);
                    sel.known.insert(m.uid, (now.clone(), modseq));
                    if !silent || condstore {
                        let mut values = Vec::new();
                        if !silent {
                            values.push(FetchValue::Flags(now));
                        }
                        if condstore {
                            values.push(FetchValue::ModSeq(modseq));
                        }
                        answer(session.fetch(ticket, u, values));
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    return Self::fail(session, ticket, Some(Code::ServerBug), &e.to_string());
                }
            }
        }
        match SequenceSet::from_numbers(modified) {
            Some(set) => answer(session.complete(
                ticket,
                StatusKind::Ok,
                Some(Code::Modified(set)),
                "Conditional STORE failed",
            )),
            None => Self::ok(session, ticket, "STORE"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn copy(
        &mut self,
        ticket: Ticket,
        uid: bool,
        set: &SequenceSet,
        target: &str,
        moving: bool,
        store: &UserStore,
        session: &mut Session,
    ) {
        let Some(view) = session.selected_mailbox().cloned() else {
            return Self::fail(session, ticket, None, "No mailbox selected");
        };
        let Some(sel) = self.selected.as_mut() else {
            return Self::fail(session, ticket, None, "No mailbox selected");
        };
        if moving && sel.read_only {
            return Self::fail(session, ticket, Some(Code::Cannot), "Mailbox is read-only");
        }
        let mut dest = match store.open_folder(target) {
            Ok(f) => f,
            Err(_) => return Self::fail(session, ticket, Some(Code::TryCreate), "No such mailbox"),
        };
        let same = sel.name == target;
        let (mut from, mut to) = (Vec::new(), Vec::new());
        for (_, u) in view.resolve(set, uid) {
            let Some(m) = sel.folder.get(u.get()).cloned() else {
                continue;
            };
            let data = match std::fs::read(&m.path) {
                Ok(d) => d,
                Err(_) => continue,
            };
            match dest.append(&data, &m.flags, Some(m.received)) {
                Ok(new) => {
                    from.push(m.uid);
                    to.push(new);
                }
                Err(e) => {
                    return Self::fail(session, ticket, Some(Code::ServerBug), &e.to_string());
                }
            }
        }
        let code = match (
            SequenceSet::from_numbers(from.clone()),
            SequenceSet::from_numbers(to),
        ) {
            (Some(source), Some(destination)) => Some(Code::CopyUid {
                uid_validity: nz(dest.uid_validity),
                source,
                destination,
            }),
            _ => None,
        };
        if !moving {
            if same {
                self.refresh(session);
            }
            return answer(session.complete(ticket, StatusKind::Ok, code, "COPY completed"));
        }
        if let Some(code) = code {
            answer(session.data(
                ticket,
                Untagged::Status(Status::new(StatusKind::Ok, Some(code), "Moved")),
            ));
        }
        match sel.folder.expunge(&from) {
            Ok(gone) => {
                for u in gone {
                    sel.known.remove(&u);
                    answer(session.expunged(ticket, nz(u)));
                }
            }
            Err(e) => return Self::fail(session, ticket, Some(Code::ServerBug), &e.to_string()),
        }
        Self::ok(session, ticket, "MOVE");
    }
}

/// UID → message number of the selected folder as stored.
fn session_numbers(sel: &Selected) -> HashMap<u32, NonZeroU32> {
    sel.folder
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.uid, nz(i as u32 + 1)))
        .collect()
}

/// EMAILID (RFC 8474): from the content, so copies share it.
fn email_id(raw: &[u8]) -> Option<Atom> {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(raw);
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    Atom::new(Str::from(format!("M{hex}"))).ok()
}

fn metadata(m: &StoredMessage) -> Metadata {
    let mut meta = Metadata::new(nz(m.uid), m.size);
    meta.flags = m.flags.clone();
    meta.internal_date = internal_date(m);
    meta.modseq = Some(m.modseq);
    meta
}

fn status_values(folder: &Folder, items: &[StatusItem], config: &Config) -> Vec<StatusValue> {
    let count =
        |f: &dyn Fn(&StoredMessage) -> bool| folder.messages.iter().filter(|m| f(m)).count() as u32;
    items
        .iter()
        .filter_map(|item| {
            Some(match item {
                StatusItem::Messages => StatusValue::Messages(folder.messages.len() as u32),
                StatusItem::UidNext => StatusValue::UidNext(nz(folder.next_uid)),
                StatusItem::UidValidity => StatusValue::UidValidity(nz(folder.uid_validity)),
                StatusItem::Unseen => {
                    StatusValue::Unseen(count(&|m| !m.flags.contains(&Flag::Seen)))
                }
                StatusItem::Deleted => {
                    StatusValue::Deleted(count(&|m| m.flags.contains(&Flag::Deleted)))
                }
                StatusItem::Size => StatusValue::Size(folder.messages.iter().map(|m| m.size).sum()),
                StatusItem::Recent => StatusValue::Recent(0),
                StatusItem::HighestModSeq => StatusValue::HighestModSeq(folder.highest_modseq),
                StatusItem::MailboxId => StatusValue::MailboxId(folder.mailbox_id()?),
                StatusItem::AppendLimit => {
                    StatusValue::AppendLimit(Some(u64::from(config.max_append)))
                }
            })
        })
        .collect()
}

/// LIST pattern matching: `*` matches anything, `%` anything but the delimiter.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('%', rest)) => (0..=n.len())
                .take_while(|&i| i == 0 || n[i - 1] != DELIMITER)
                .any(|i| go(rest, &n[i..])),
            Some((c, rest)) => n.first().is_some_and(|x| x == c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // INBOX matches in any case.
    if name == "INBOX" {
        let upper: Vec<char> = pattern.to_ascii_uppercase().chars().collect();
        return go(&upper, &n) || go(&p, &n);
    }
    go(&p, &n)
}
