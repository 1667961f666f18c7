//! Reading mail over IMAP: folders, new messages as parsed MIME, flags,
//! moving and deleting, and a stream of arrivals through IDLE.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansmail_common::driver::now;
use sansmail_imap::client::{ClientError, Config, Event, Session, TlsPolicy};
use sansmail_imap::driver::{Driver, Step};
use sansmail_imap::types::{
    Capability, Code, CommandBody, EsearchItem, FetchAttr, FetchItems, FetchValue, Mailbox,
    MailboxAttr, SearchKey, Section, SelectParams, SeqNo, SeqRange, SequenceSet, Status,
    StatusKind, StoreAction, Str, Untagged,
};
use sansmail_mime::Message;
use tokio::net::TcpStream;

use crate::endpoint::{Endpoint, Protocol, Security};
use crate::error::TlsProblem;
use crate::{ConfigProblem, Error};

pub use sansmail_imap::types::Flag;

/// A folder on the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    /// Its full name, decoded (`INBOX`, `Archive/2024`, `Entwürfe`).
    pub name: String,
    /// The hierarchy delimiter, if the server has one.
    pub delimiter: Option<char>,
    /// What it is for (RFC 6154), such as `Sent`, `Drafts`, `Junk`, `Trash`.
    pub special_use: Option<String>,
    /// False for a name that only holds children (`\Noselect`).
    pub selectable: bool,
}

/// The state of the selected folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FolderState {
    /// How many messages it holds.
    pub exists: u32,
    /// UIDs are only comparable while this stays the same.
    pub uid_validity: u32,
    /// The UID the next message will get (at least).
    pub uid_next: u32,
}

/// A message fetched from the server.
///
/// ```
/// use sansmail::{FetchedMessage, Flag};
///
/// let message = FetchedMessage {
///     uid: 7,
///     flags: vec![Flag::Seen],
///     raw: "Subject: =?utf-8?q?Caf=C3=A9?=\r\n\r\nhi\r\n".into(),
/// };
/// assert!(message.is_seen());
/// assert_eq!(message.parse().subject().as_deref(), Some("Café"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedMessage {
    /// Its UID in the folder.
    pub uid: u32,
    /// Its flags when fetched.
    pub flags: Vec<Flag>,
    /// The whole message.
    pub raw: Bytes,
}

impl FetchedMessage {
    /// The message parsed (borrowing `raw`).
    pub fn parse(&self) -> Message<'_> {
        Message::parse(&self.raw)
    }

    /// True when it carries `\Seen`.
    pub fn is_seen(&self) -> bool {
        self.flags.contains(&Flag::Seen)
    }
}

/// A logged-in IMAP session.
///
/// ```no_run
/// # async fn f() -> Result<(), sansmail::Error> {
/// use sansmail::ImapClient;
///
/// let mut imap = ImapClient::connect("imaps://support%40example.com:secret@imap.example.com").await?;
/// for folder in imap.list().await? {
///     println!("{}", folder.name);
/// }
/// imap.select("INBOX").await?;
/// for message in imap.fetch_unseen().await? {
///     let parsed = message.parse();
///     println!("{}: {:?}", message.uid, parsed.subject());
///     imap.mark_seen(&[message.uid]).await?;
///     imap.move_to(&[message.uid], "Archive").await?;
/// }
/// imap.logout().await?;
/// # Ok(()) }
/// ```
pub struct ImapClient {
    driver: Driver<Session, TcpStream>,
    server: String,
    selected: Option<FolderState>,
    /// The selected folder's message count when the last FETCH was sent:
    /// a message announced while it ran may be missing from its answer,
    /// so [`wait_for_arrival`](Self::wait_for_arrival) counts from here.
    fetched_at: Option<u32>,
    broken: bool,
}

impl ImapClient {
    /// Connects and logs in: `url` is `imaps://user:password@host` or
    /// `imap+starttls://...` (see [`Endpoint`]).
    pub async fn connect(url: &str) -> Result<ImapClient, Error> {
        ImapClient::connect_to(&Endpoint::parse(url)?).await
    }

    /// Connects and logs in to `endpoint`.
    pub async fn connect_to(endpoint: &Endpoint) -> Result<ImapClient, Error> {
        let (user, password) = endpoint.login(Protocol::Imap)?;
        let mut config = Config::password(user, password);
        use TlsPolicy::*;
        config.tls = endpoint.starttls(Disabled, Required, Opportunistic);
        config.implicit_tls = endpoint.security() == Security::Implicit;
        config.allow_plaintext_auth = endpoint.allow_plaintext;
        // Whole messages are wanted (to parse them): keep literals in memory.
        config.stream_over = config.max_literal;
        if let Some(t) = endpoint.timeout {
            config.timeout = t;
        }
        let (stream, tls) = endpoint.connect().await?;
        let session = Session::new(config, now());
        let mut client = ImapClient {
            driver: Driver::with_stream(session, stream, tls),
            server: endpoint.server(),
            selected: None,
            fetched_at: None,
            broken: false,
        };
        loop {
            if let Event::Ready { .. } = client.next_event(None, "the login").await? {
                return Ok(client);
            }
        }
    }

    /// Every folder the user has.
    pub async fn list(&mut self) -> Result<Vec<Folder>, Error> {
        let list = CommandBody::List {
            selection: Vec::new(),
            reference: mailbox("")?,
            patterns: vec![Str::from("*")],
            returns: Vec::new(),
        };
        let mut folders = Vec::new();
        for response in self.run(list, "LIST").await? {
            if let Untagged::List(item) = response {
                folders.push(Folder {
                    name: item.mailbox.name(),
                    delimiter: item.delimiter,
                    special_use: item
                        .attrs
                        .iter()
                        .find(|a| a.is_special_use())
                        .map(|a| a.name().to_owned()),
                    selectable: !item
                        .attrs
                        .iter()
                        .any(|a| matches!(a, MailboxAttr::NoSelect | MailboxAttr::NonExistent)),
                });
            }
        }
        Ok(folders)
    }

    /// Opens a folder for the calls that follow.
    pub async fn select(&mut self, folder: &str) -> Result<FolderState, Error> {
        let select = CommandBody::Select {
            mailbox: mailbox(folder)?,
            params: SelectParams::default(),
        };
        self.selected = None;
        self.fetched_at = None;
        let mut state = FolderState {
            exists: 0,
            uid_validity: 0,
            uid_next: 0,
        };
        for response in self.run(select, "SELECT").await? {
            match response {
                Untagged::Exists(n) => state.exists = n,
                Untagged::Status(Status {
                    code: Some(code), ..
                }) => match code {
                    Code::UidValidity(v) => state.uid_validity = v.get(),
                    Code::UidNext(n) => state.uid_next = n.get(),
                    _ => {}
                },
                _ => {}
            }
        }
        self.selected = Some(state);
        Ok(state)
    }

    /// The selected folder's state, as the server last reported it.
    pub fn selected(&self) -> Option<FolderState> {
        self.selected
    }

    /// The messages without `\Seen` in the selected folder. They stay
    /// unseen (BODY.PEEK) until [`mark_seen`](Self::mark_seen).
    pub async fn fetch_unseen(&mut self) -> Result<Vec<FetchedMessage>, Error> {
        let search = CommandBody::Search {
            uid: true,
            returns: None,
            charset: None,
            keys: vec![SearchKey::Unseen],
        };
        let mut uids = Vec::new();
        let mut set = None;
        for response in self.run(search, "SEARCH").await? {
            match response {
                Untagged::Search { ids, .. } => uids.extend(ids.iter().map(|u| u.get())),
                Untagged::Esearch { items, .. } => {
                    for item in items {
                        if let EsearchItem::All(s) = item {
                            set = Some(s);
                        }
                    }
                }
                _ => {}
            }
        }
        match set.or_else(|| SequenceSet::from_numbers(uids)) {
            Some(set) => self.fetch_set(set, 0).await,
            None => Ok(Vec::new()),
        }
    }

    /// The messages whose UID is above `uid` (those that arrived after it).
    pub async fn fetch_after(&mut self, uid: u32) -> Result<Vec<FetchedMessage>, Error> {
        let from = NonZeroU32::new(uid.saturating_add(1)).unwrap_or(NonZeroU32::MIN);
        let set = SequenceSet::Ranges(vec![SeqRange {
            start: SeqNo::Value(from),
            end: SeqNo::Last,
        }]);
        // `n:*` names the last message even when its UID is below n.
        self.fetch_set(set, uid).await
    }

    /// These messages, by UID.
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<FetchedMessage>, Error> {
        match uid_set(uids) {
            Some(set) => self.fetch_set(set, 0).await,
            None => Ok(Vec::new()),
        }
    }

    async fn fetch_set(
        &mut self,
        set: SequenceSet,
        above: u32,
    ) -> Result<Vec<FetchedMessage>, Error> {
        let fetch = CommandBody::Fetch {
            uid: true,
            set,
            items: FetchItems::Attrs(vec![
                FetchAttr::Uid,
                FetchAttr::Flags,
                FetchAttr::BodySection {
                    peek: true,
                    section: Section {
                        part: Vec::new(),
                        text: None,
                    },
                    partial: None,
                },
            ]),
            changed_since: None,
            vanished: false,
        };
        let mut messages = Vec::new();
        self.fetched_at = self.selected.map(|s| s.exists);
        for response in self.run(fetch, "FETCH").await? {
            let Untagged::Fetch { items, .. } = response else {
                continue;
            };
            let (mut uid, mut flags, mut raw) = (None, Vec::new(), None);
            for item in items {
                match item {
                    FetchValue::Uid(u) => uid = Some(u.get()),
                    FetchValue::Flags(f) => flags = f,
                    FetchValue::BodySection { data, .. } => raw = Some(data.unwrap_or_default()),
                    _ => {}
                }
            }
            if let (Some(uid), Some(raw)) = (uid, raw)
                && uid > above
            {
                messages.push(FetchedMessage { uid, flags, raw });
            }
        }
        messages.sort_by_key(|m| m.uid);
        Ok(messages)
    }

    /// Adds flags to these messages.
    pub async fn add_flags(&mut self, uids: &[u32], flags: &[Flag]) -> Result<(), Error> {
        self.store(uids, StoreAction::Add, flags).await
    }

    /// Removes flags from these messages.
    pub async fn remove_flags(&mut self, uids: &[u32], flags: &[Flag]) -> Result<(), Error> {
        self.store(uids, StoreAction::Remove, flags).await
    }

    /// Marks these messages read.
    pub async fn mark_seen(&mut self, uids: &[u32]) -> Result<(), Error> {
        self.store(uids, StoreAction::Add, &[Flag::Seen]).await
    }

    async fn store(
        &mut self,
        uids: &[u32],
        action: StoreAction,
        flags: &[Flag],
    ) -> Result<(), Error> {
        let Some(set) = uid_set(uids) else {
            return Ok(());
        };
        let store = CommandBody::Store {
            uid: true,
            set,
            unchanged_since: None,
            action,
            silent: true,
            flags: flags.to_vec(),
        };
        self.run(store, "STORE").await.map(drop)
    }

    /// Moves these messages to another folder (MOVE, or COPY then delete
    /// where the server has no MOVE).
    pub async fn move_to(&mut self, uids: &[u32], folder: &str) -> Result<(), Error> {
        let Some(set) = uid_set(uids) else {
            return Ok(());
        };
        let target = mailbox(folder)?;
        if self.has(&Capability::Move) {
            let command = CommandBody::Move {
                uid: true,
                set,
                mailbox: target,
            };
            return self.run(command, "MOVE").await.map(drop);
        }
        let copy = CommandBody::Copy {
            uid: true,
            set,
            mailbox: target,
        };
        self.run(copy, "COPY").await?;
        self.delete(uids).await
    }

    /// Deletes these messages: `\Deleted`, then UID EXPUNGE (or EXPUNGE
    /// where the server has no UIDPLUS, which also removes other messages
    /// already marked `\Deleted`).
    pub async fn delete(&mut self, uids: &[u32]) -> Result<(), Error> {
        let Some(set) = uid_set(uids) else {
            return Ok(());
        };
        self.store(uids, StoreAction::Add, &[Flag::Deleted]).await?;
        let uids = self.has(&Capability::UidPlus).then_some(set);
        self.run(CommandBody::Expunge { uids }, "EXPUNGE")
            .await
            .map(drop)
    }

    /// Waits until the selected folder gets new messages or `max` passes;
    /// true when something arrived. Uses IDLE (RFC 2177), or NOOP every
    /// 30 seconds on servers without it. A message the server announced
    /// while the last fetch ran counts as arrived (that fetch's answer may
    /// lack it), so fetching, then waiting when nothing came, misses none.
    pub async fn wait_for_arrival(&mut self, max: Duration) -> Result<bool, Error> {
        // Arrivals announced during the last FETCH count as new: its answer
        // may not hold them.
        let before = self
            .selected
            .map_or(0, |s| s.exists)
            .min(self.fetched_at.take().unwrap_or(u32::MAX));
        if self.selected.map_or(0, |s| s.exists) > before {
            return Ok(true);
        }
        let until = now() + max;
        if !self.has(&Capability::Idle) {
            loop {
                self.run(CommandBody::Noop, "NOOP").await?;
                if self.selected.map_or(0, |s| s.exists) > before {
                    return Ok(true);
                }
                let now = now();
                if now >= until {
                    return Ok(false);
                }
                tokio::time::sleep((until - now).min(Duration::from_secs(30))).await;
            }
        }
        let tag = self
            .driver
            .session()
            .idle(now())
            .map_err(|e| Error::lost(&self.server, e.to_string()))?;
        let mut done_sent = false;
        loop {
            let wake = (!done_sent).then_some(until);
            match self.next_event(wake, "IDLE").await? {
                Event::Untagged(response) => {
                    self.track(&response);
                    if !done_sent && self.selected.map_or(0, |s| s.exists) > before {
                        self.end_idle()?;
                        done_sent = true;
                    }
                }
                // `next_event` gives this when the wake time comes.
                Event::Ready { .. } if !done_sent => {
                    self.end_idle()?;
                    done_sent = true;
                }
                Event::Done { tag: t, status } if t == tag => {
                    if status.kind != StatusKind::Ok {
                        return Err(self.refused("IDLE", &status));
                    }
                    return Ok(self.selected.map_or(0, |s| s.exists) > before);
                }
                _ => {}
            }
        }
    }

    /// Logs out.
    pub async fn logout(mut self) -> Result<(), Error> {
        if self.broken {
            return Ok(());
        }
        if self.driver.session().logout(now()).is_ok() {
            while let Ok(Step::Event(_) | Step::Woken) = self.driver.step(None).await {}
        }
        Ok(())
    }

    /// True when the server announced `capability`.
    pub fn has(&mut self, capability: &Capability) -> bool {
        self.driver.session().has(capability)
    }

    fn end_idle(&mut self) -> Result<(), Error> {
        let server = &self.server;
        self.driver
            .session()
            .done(now())
            .map_err(|e| Error::lost(server, e.to_string()))
    }

    /// Runs one command; its untagged responses, or why it failed.
    async fn run(&mut self, body: CommandBody, what: &'static str) -> Result<Vec<Untagged>, Error> {
        if self.broken {
            return Err(Error::lost(
                &self.server,
                "an earlier failure closed this session",
            ));
        }
        let tag = self
            .driver
            .session()
            .command(now(), body)
            .map_err(|e| Error::lost(&self.server, e.to_string()))?;
        let mut responses = Vec::new();
        loop {
            match self.next_event(None, what).await? {
                Event::Untagged(response) => {
                    self.track(&response);
                    responses.push(response);
                }
                Event::Done { tag: t, status } if t == tag => {
                    return match status.kind {
                        StatusKind::Ok => Ok(responses),
                        _ => Err(self.refused(what, &status)),
                    };
                }
                _ => {}
            }
        }
    }

    /// Keeps the selected folder's message count current.
    fn track(&mut self, response: &Untagged) {
        if let Some(state) = &mut self.selected {
            match response {
                Untagged::Exists(n) => state.exists = *n,
                Untagged::Expunge(_) => state.exists = state.exists.saturating_sub(1),
                _ => {}
            }
        }
    }

    fn refused(&self, command: &str, status: &Status) -> Error {
        Error::Refused {
            server: self.server.clone(),
            command: command.to_owned(),
            reply: String::from_utf8_lossy(status.text.as_bytes()).into_owned(),
        }
    }

    /// The next event; with `wake`, an `Event::Ready` stands for "the time came".
    async fn next_event(
        &mut self,
        wake: Option<Instant>,
        what: &'static str,
    ) -> Result<Event, Error> {
        let step = self.driver.step(wake).await;
        let error = match step {
            Ok(Step::Event(Event::Failed(e))) => client_error(&self.server, e, what),
            Ok(Step::Event(event)) => return Ok(event),
            Ok(Step::Woken) => {
                return Ok(Event::Ready {
                    capabilities: Vec::new(),
                });
            }
            Ok(Step::Closed) => Error::lost(&self.server, "the session ended"),
            Err(e) => Error::io(&self.server, e),
        };
        self.broken = true;
        Err(error)
    }
}

fn client_error(server: &str, error: ClientError, what: &'static str) -> Error {
    let server = server.to_owned();
    let text = |s: &Status| String::from_utf8_lossy(s.text.as_bytes()).into_owned();
    match error {
        ClientError::TlsUnavailable => Error::Tls {
            server,
            problem: TlsProblem::NotOffered,
        },
        ClientError::TlsRefused(s) => Error::Tls {
            server,
            problem: TlsProblem::Refused(text(&s)),
        },
        ClientError::LoginDisabled => Error::AuthRefused {
            server,
            reply: "the server allows no login without TLS".into(),
        },
        ClientError::AuthFailed(s) => Error::AuthRefused {
            server,
            reply: text(&s),
        },
        ClientError::GreetingRefused(s) | ClientError::Bye(s) => Error::ConnectionLost {
            server,
            detail: text(&s),
        },
        ClientError::Timeout => Error::Timeout {
            server,
            waiting_for: what,
        },
        ClientError::Closed => Error::lost(&server, "closed by the server"),
        other => Error::Protocol {
            server,
            detail: other.to_string(),
        },
    }
}

fn mailbox(name: &str) -> Result<Mailbox, Error> {
    Mailbox::from_name(name).map_err(|e| {
        Error::Config(ConfigProblem::Folder {
            name: name.to_owned(),
            reason: e.to_string(),
        })
    })
}

fn uid_set(uids: &[u32]) -> Option<SequenceSet> {
    SequenceSet::from_numbers(uids.iter().copied().filter(|&u| u > 0))
}

/// New messages in one folder as they arrive, over IDLE, reconnecting
/// after network failures and picking up what arrived meanwhile.
///
/// ```no_run
/// # async fn f() -> Result<(), sansmail::Error> {
/// use sansmail::{Endpoint, Watcher};
///
/// let endpoint = Endpoint::parse("imaps://support%40example.com:secret@imap.example.com")?;
/// let mut arrivals = Watcher::new(endpoint, "INBOX");
/// loop {
///     let message = arrivals.next().await?;
///     println!("new: {:?}", message.parse().subject());
/// }
/// # }
/// ```
pub struct Watcher {
    endpoint: Endpoint,
    folder: String,
    client: Option<ImapClient>,
    /// The highest UID handed out (or present when watching began).
    last_uid: Option<u32>,
    uid_validity: u32,
    queue: VecDeque<FetchedMessage>,
    failures: u32,
}

impl Watcher {
    /// Watches `folder`; messages already there when it first connects are
    /// not reported.
    pub fn new(endpoint: Endpoint, folder: &str) -> Watcher {
        Watcher {
            endpoint,
            folder: folder.to_owned(),
            client: None,
            last_uid: None,
            uid_validity: 0,
            queue: VecDeque::new(),
            failures: 0,
        }
    }

    /// Reports messages from this UID on (above `uid`) instead of only
    /// those arriving after the first connection: to resume where an
    /// earlier run stopped.
    pub fn after_uid(mut self, uid: u32) -> Watcher {
        self.last_uid = Some(uid);
        self
    }

    /// The next new message. Network failures and timeouts are retried
    /// with a growing pause (1 s doubling up to 60 s); errors that a retry
    /// cannot fix (refused login, missing folder, TLS) are returned.
    pub async fn next(&mut self) -> Result<FetchedMessage, Error> {
        loop {
            if let Some(message) = self.queue.pop_front() {
                self.last_uid = Some(message.uid);
                return Ok(message);
            }
            match self.poll().await {
                Ok(()) => self.failures = 0,
                Err(e) if e.is_temporary() => {
                    self.client = None;
                    let pause =
                        Duration::from_secs(1 << self.failures.min(6)).min(Duration::from_secs(60));
                    self.failures += 1;
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Connects and opens the folder now (otherwise the first
    /// [`next`](Self::next) does): messages arriving after this returns are
    /// reported, those already there are not (unless [`after_uid`](Self::after_uid)
    /// says otherwise).
    pub async fn start(&mut self) -> Result<(), Error> {
        self.connected().await.map(drop)
    }

    /// The session, connecting and selecting the folder when there is none.
    async fn connected(&mut self) -> Result<&mut ImapClient, Error> {
        if self.client.is_none() {
            let mut client = ImapClient::connect_to(&self.endpoint).await?;
            let state = client.select(&self.folder).await?;
            if state.uid_validity != self.uid_validity || self.last_uid.is_none() {
                // A new folder generation: old UIDs mean nothing; start from now.
                if self.uid_validity != 0 || self.last_uid.is_none() {
                    self.last_uid = Some(state.uid_next.saturating_sub(1));
                }
                self.uid_validity = state.uid_validity;
            }
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("set just above"))
    }

    /// Connects if needed, then fetches what is new or waits for it.
    async fn poll(&mut self) -> Result<(), Error> {
        self.connected().await?;
        let after = self.last_uid.unwrap_or(0);
        let client = self.client.as_mut().expect("connected just above");
        let arrived = client.fetch_after(after).await?;
        if arrived.is_empty() {
            // Servers may end IDLE after 30 minutes: renew it every 25.
            client
                .wait_for_arrival(Duration::from_secs(25 * 60))
                .await?;
        }
        self.queue.extend(arrived);
        Ok(())
    }
}
