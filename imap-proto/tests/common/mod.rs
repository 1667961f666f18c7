//! A server session driven by a small in-memory mail store, for transcript
//! and property tests: bytes in, the session's bytes and events out.
#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)] // each test file uses a part; the virtual clock starts at now

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use sansmail_imap::mailbox::Change;
use sansmail_imap::server::{Config, Event, SelectInfo, Session, Ticket};
use sansmail_imap::types::*;
use sansmail_imap::{Output, SessionIo};

pub fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

#[derive(Clone, Debug)]
pub struct Message {
    pub uid: u32,
    pub flags: Vec<Flag>,
    pub data: Vec<u8>,
    pub modseq: u64,
}

#[derive(Clone, Debug)]
pub struct Folder {
    pub uid_validity: u32,
    pub uid_next: u32,
    pub messages: Vec<Message>,
    pub modseq: u64,
}

impl Folder {
    fn new() -> Self {
        Folder {
            uid_validity: 1234,
            uid_next: 1,
            messages: Vec::new(),
            modseq: 1,
        }
    }

    pub fn add(&mut self, data: &[u8], flags: Vec<Flag>) -> u32 {
        let uid = self.uid_next;
        self.uid_next += 1;
        self.modseq += 1;
        self.messages.push(Message {
            uid,
            flags,
            data: data.to_vec(),
            modseq: self.modseq,
        });
        uid
    }
}

/// The store and the session under test.
pub struct Harness {
    pub session: Session,
    pub now: Instant,
    pub folders: BTreeMap<String, Folder>,
    pub selected: Option<String>,
    pub events: Vec<Event>,
    pub closed: bool,
    /// APPEND messages being received, and those received.
    appending: Vec<(String, Vec<Flag>, Vec<u8>)>,
    /// Refuse APPEND messages to mailboxes that do not exist (TRYCREATE).
    pub answer_login: bool,
    greeting: String,
    /// TLS upgrades run through [`SessionIo`].
    pub tls_upgrades: usize,
}

impl Harness {
    pub fn new(config: Config) -> Self {
        let now = Instant::now();
        let mut folders = BTreeMap::new();
        let mut inbox = Folder::new();
        inbox.add(b"Subject: one\r\n\r\nfirst\r\n", vec![Flag::Seen]);
        inbox.add(b"Subject: two\r\n\r\nsecond\r\n", vec![]);
        inbox.add(b"Subject: three\r\n\r\nthird\r\n", vec![Flag::Flagged]);
        folders.insert("INBOX".to_string(), inbox);
        folders.insert("Trash".to_string(), Folder::new());
        let mut h = Harness {
            session: Session::new(config, now),
            now,
            folders,
            selected: None,
            events: Vec::new(),
            closed: false,
            appending: Vec::new(),
            answer_login: true,
            greeting: String::new(),
            tls_upgrades: 0,
        };
        h.greeting = h.drain();
        h
    }

    /// What the server wrote before any input (the greeting), once.
    pub fn drain_written(&mut self) -> String {
        std::mem::take(&mut self.greeting)
    }

    /// A session that allows login without TLS.
    pub fn plaintext() -> Self {
        let mut config = Config::default();
        config.allow_plaintext_auth = true;
        Self::new(config)
    }

    /// Feeds bytes and returns what the server wrote in answer.
    pub fn send(&mut self, input: &[u8]) -> String {
        self.session.handle_input(self.now, input);
        self.drain()
    }

    /// Feeds bytes one at a time.
    pub fn send_bytewise(&mut self, input: &[u8]) -> String {
        let mut out = String::new();
        for b in input {
            out.push_str(&self.send(std::slice::from_ref(b)));
        }
        out
    }

    pub fn eof(&mut self) -> String {
        self.session.handle_eof(self.now);
        self.drain()
    }

    pub fn advance(&mut self, by: Duration) -> String {
        self.now += by;
        self.session.handle_timeout(self.now);
        self.drain()
    }

    pub fn change(&mut self, change: Change) -> String {
        self.session.mailbox_changed(change);
        self.drain()
    }

    /// Runs the session until it waits; answers every event from the store.
    pub fn drain(&mut self) -> String {
        let mut out = Vec::new();
        loop {
            match self.session.poll_output() {
                Output::Transmit(b) => out.extend_from_slice(&b),
                Output::Event(e) => {
                    self.events.push(e.clone());
                    self.answer(e);
                }
                Output::StartTls => {
                    out.extend_from_slice(b"<TLS>");
                    self.session.handle_tls_started(self.now);
                }
                Output::Timeout(_) => break,
                Output::Closed => {
                    self.closed = true;
                    break;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn folder(&mut self) -> Option<&mut Folder> {
        let name = self.selected.clone()?;
        self.folders.get_mut(&name)
    }

    fn answer(&mut self, event: Event) {
        match event {
            Event::Connected { ticket } => self.session.accept(self.now, ticket).unwrap(),
            Event::Login {
                ticket,
                credentials,
            } => {
                let ok = credentials.username() == Some("alice")
                    && (credentials.password() == Some("secret")
                        || matches!(
                            credentials,
                            sansmail_imap::sasl::Credentials::XOAuth2 { .. }
                        ));
                if ok && self.answer_login {
                    self.session.accept(self.now, ticket).unwrap();
                } else {
                    self.session
                        .reject(self.now, ticket, None, "Authentication failed")
                        .unwrap();
                }
            }
            Event::AppendStart {
                ticket,
                mailbox,
                flags,
                ..
            } => {
                let name = mailbox.name();
                if self.folders.contains_key(&name) {
                    self.appending.push((name, flags, Vec::new()));
                    self.session.accept(self.now, ticket).unwrap();
                } else {
                    self.session
                        .reject(self.now, ticket, Some(Code::TryCreate), "No such mailbox")
                        .unwrap();
                }
            }
            Event::AppendChunk(c) => self.appending.last_mut().unwrap().2.extend_from_slice(&c),
            Event::AppendAborted { .. } => self.appending.clear(),
            Event::AppendEnd { ticket } => {
                let mut uids = Vec::new();
                let mut validity = 0;
                for (name, flags, data) in std::mem::take(&mut self.appending) {
                    let f = self.folders.get_mut(&name).unwrap();
                    uids.push(f.add(&data, flags));
                    validity = f.uid_validity;
                    if self.selected.as_deref() == Some(name.as_str()) {
                        self.session.mailbox_changed(Change::Added {
                            uid: nz(*uids.last().unwrap()),
                        });
                    }
                }
                self.session
                    .complete(
                        self.now,
                        ticket,
                        StatusKind::Ok,
                        Some(Code::AppendUid {
                            uid_validity: nz(validity),
                            uids: SequenceSet::from_numbers(uids).unwrap(),
                        }),
                        "APPEND completed",
                    )
                    .unwrap();
            }
            Event::Command { ticket, command } => self.command(ticket, command),
            _ => {}
        }
    }

    fn ok(&mut self, ticket: Ticket, name: &str) {
        let text = format!("{name} completed");
        self.session
            .complete(self.now, ticket, StatusKind::Ok, None, &text)
            .unwrap();
    }

    fn command(&mut self, ticket: Ticket, command: CommandBody) {
        let name = command.name();
        match command {
            CommandBody::Select { mailbox, .. } | CommandBody::Examine { mailbox, .. } => {
                let Some(f) = self.folders.get(&mailbox.name()) else {
                    self.session
                        .complete(
                            self.now,
                            ticket,
                            StatusKind::No,
                            Some(Code::NonExistent),
                            "No such mailbox",
                        )
                        .unwrap();
                    return;
                };
                let info = SelectInfo {
                    uid_validity: nz(f.uid_validity),
                    uid_next: nz(f.uid_next),
                    uids: f.messages.iter().map(|m| nz(m.uid)).collect(),
                    flags: vec![
                        Flag::Seen,
                        Flag::Answered,
                        Flag::Flagged,
                        Flag::Deleted,
                        Flag::Draft,
                    ],
                    permanent_flags: vec![
                        PermanentFlag::Flag(Flag::Seen),
                        PermanentFlag::Flag(Flag::Deleted),
                        PermanentFlag::CreateKeywords,
                    ],
                    highest_modseq: Some(f.modseq),
                    recent: 0,
                    first_unseen: f
                        .messages
                        .iter()
                        .position(|m| !m.flags.contains(&Flag::Seen))
                        .map(|i| nz(i as u32 + 1)),
                    read_only: false,
                    changed: Vec::new(),
                    vanished: None,
                    mailbox_id: None,
                };
                self.selected = Some(mailbox.name());
                self.session.selected(self.now, ticket, info).unwrap();
            }
            CommandBody::Fetch {
                uid, set, items, ..
            } => {
                let targets = self.session.selected_mailbox().unwrap().resolve(&set, uid);
                let attrs = items.expand();
                for (_, u) in targets {
                    let f = self.folder().unwrap();
                    let m = f
                        .messages
                        .iter()
                        .find(|m| m.uid == u.get())
                        .unwrap()
                        .clone();
                    let mut values = Vec::new();
                    for a in &attrs {
                        values.push(match a {
                            FetchAttr::Flags => FetchValue::Flags(m.flags.clone()),
                            FetchAttr::Uid => FetchValue::Uid(u),
                            FetchAttr::Rfc822Size => FetchValue::Rfc822Size(m.data.len() as u64),
                            FetchAttr::ModSeq => FetchValue::ModSeq(m.modseq),
                            FetchAttr::BodySection { section, .. } => FetchValue::BodySection {
                                section: section.clone(),
                                origin: None,
                                data: Some(bytes::Bytes::from(m.data.clone())),
                            },
                            _ => continue,
                        });
                    }
                    self.session.fetch(ticket, u, values).unwrap();
                }
                self.ok(ticket, name);
            }
            CommandBody::Store {
                uid,
                set,
                action,
                silent,
                flags,
                ..
            } => {
                let targets = self.session.selected_mailbox().unwrap().resolve(&set, uid);
                for (_, u) in targets {
                    let f = self.folder().unwrap();
                    f.modseq += 1;
                    let modseq = f.modseq;
                    let m = f.messages.iter_mut().find(|m| m.uid == u.get()).unwrap();
                    match action {
                        StoreAction::Replace => m.flags = flags.clone(),
                        StoreAction::Add => {
                            for fl in &flags {
                                if !m.flags.contains(fl) {
                                    m.flags.push(fl.clone());
                                }
                            }
                        }
                        StoreAction::Remove => m.flags.retain(|fl| !flags.contains(fl)),
                    }
                    m.modseq = modseq;
                    let new = m.flags.clone();
                    if !silent {
                        self.session
                            .fetch(ticket, u, vec![FetchValue::Flags(new)])
                            .unwrap();
                    }
                }
                self.ok(ticket, name);
            }
            CommandBody::Search { keys, .. } => {
                let view = self.session.selected_mailbox().unwrap().clone();
                let f = self.folder().unwrap().clone();
                let matched: Vec<&Message> = f
                    .messages
                    .iter()
                    .filter(|m| keys.iter().all(|k| matches_key(k, m, &view)))
                    .collect();
                let hits: Vec<NonZeroU32> = matched.iter().map(|m| nz(m.uid)).collect();
                let modseqs: Vec<u64> = matched.iter().map(|m| m.modseq).collect();
                let uses_modseq = keys
                    .iter()
                    .any(|k| k.any(&|k| matches!(k, SearchKey::ModSeq { .. })));
                self.session
                    .search_result(ticket, &hits, uses_modseq.then_some(&modseqs[..]))
                    .unwrap();
                self.ok(ticket, name);
            }
            CommandBody::Expunge { uids } => {
                let f = self.folder().unwrap();
                let gone: Vec<u32> = f
                    .messages
                    .iter()
                    .filter(|m| m.flags.contains(&Flag::Deleted))
                    .filter(|m| uids.as_ref().is_none_or(|s| s.contains(m.uid, u32::MAX)))
                    .map(|m| m.uid)
                    .collect();
                f.messages.retain(|m| !gone.contains(&m.uid));
                for u in gone {
                    self.session.expunged(ticket, nz(u)).unwrap();
                }
                self.ok(ticket, name);
            }
            CommandBody::Copy { uid, set, mailbox } | CommandBody::Move { uid, set, mailbox } => {
                let moving = name == "MOVE";
                let targets = self.session.selected_mailbox().unwrap().resolve(&set, uid);
                let Some(mut dest) = self.folders.get(&mailbox.name()).cloned() else {
                    self.session
                        .complete(
                            self.now,
                            ticket,
                            StatusKind::No,
                            Some(Code::TryCreate),
                            "No such mailbox",
                        )
                        .unwrap();
                    return;
                };
                let (mut from, mut to) = (Vec::new(), Vec::new());
                for (_, u) in &targets {
                    let m = self
                        .folder()
                        .unwrap()
                        .messages
                        .iter()
                        .find(|m| m.uid == u.get())
                        .unwrap()
                        .clone();
                    from.push(u.get());
                    to.push(dest.add(&m.data, m.flags.clone()));
                }
                if from.is_empty() {
                    // UIDs that name nothing: nothing to copy (RFC 9051 §6.4.9).
                    return self.ok(ticket, name);
                }
                let code = Code::CopyUid {
                    uid_validity: nz(dest.uid_validity),
                    source: SequenceSet::from_numbers(from.clone()).unwrap(),
                    destination: SequenceSet::from_numbers(to).unwrap(),
                };
                self.folders.insert(mailbox.name(), dest);
                if moving {
                    self.session
                        .data(
                            ticket,
                            Untagged::Status(Status::new(StatusKind::Ok, Some(code), "Moved")),
                        )
                        .unwrap();
                    self.folder()
                        .unwrap()
                        .messages
                        .retain(|m| !from.contains(&m.uid));
                    for u in from {
                        self.session.expunged(ticket, nz(u)).unwrap();
                    }
                    self.ok(ticket, name);
                } else {
                    self.session
                        .complete(
                            self.now,
                            ticket,
                            StatusKind::Ok,
                            Some(code),
                            "COPY completed",
                        )
                        .unwrap();
                }
            }
            CommandBody::Close => {
                if let Some(f) = self.folder() {
                    f.messages.retain(|m| !m.flags.contains(&Flag::Deleted));
                }
                self.selected = None;
                self.ok(ticket, name);
            }
            CommandBody::Create { mailbox, .. } => {
                self.folders.insert(mailbox.name(), Folder::new());
                self.ok(ticket, name);
            }
            CommandBody::List { .. } => {
                let names: Vec<String> = self.folders.keys().cloned().collect();
                for n in names {
                    self.session
                        .data(
                            ticket,
                            Untagged::List(ListItem {
                                attrs: vec![],
                                delimiter: Some('/'),
                                mailbox: Mailbox::from_name(&n).unwrap(),
                                child_info: vec![],
                                old_name: None,
                            }),
                        )
                        .unwrap();
                }
                self.ok(ticket, name);
            }
            _ => self.ok(ticket, name),
        }
    }
}

fn matches_key(
    key: &SearchKey,
    m: &Message,
    view: &sansmail_imap::mailbox::SelectedMailbox,
) -> bool {
    let has = |f: Flag| m.flags.contains(&f);
    match key {
        SearchKey::All => true,
        SearchKey::Seen => has(Flag::Seen),
        SearchKey::Unseen => !has(Flag::Seen),
        SearchKey::Flagged => has(Flag::Flagged),
        SearchKey::Deleted => has(Flag::Deleted),
        SearchKey::Undeleted => !has(Flag::Deleted),
        SearchKey::Not(k) => !matches_key(k, m, view),
        SearchKey::Or(a, b) => matches_key(a, m, view) || matches_key(b, m, view),
        SearchKey::And(keys) => keys.iter().all(|k| matches_key(k, m, view)),
        SearchKey::Uid(set) => view
            .resolve(set, true)
            .iter()
            .any(|(_, u)| u.get() == m.uid),
        SearchKey::SequenceSet(set) => view
            .resolve(set, false)
            .iter()
            .any(|(_, u)| u.get() == m.uid),
        SearchKey::Subject(s) => m.data.windows(s.len()).any(|w| w.eq_ignore_ascii_case(s)),
        SearchKey::ModSeq { modseq, .. } => m.modseq >= *modseq,
        _ => false,
    }
}

/// The harness as a session whose application is the store above, for
/// [`sansmail_imap::pair::Pair`]; it reports no events of its own.
impl SessionIo for Harness {
    type Event = ();

    fn poll_output(&mut self) -> Output<()> {
        if !self.greeting.is_empty() {
            let greeting = std::mem::take(&mut self.greeting);
            return Output::Transmit(greeting.into_bytes().into());
        }
        loop {
            match self.session.poll_output() {
                Output::Event(e) => {
                    self.events.push(e.clone());
                    self.answer(e);
                }
                Output::StartTls => {
                    self.tls_upgrades += 1;
                    return Output::StartTls;
                }
                Output::Closed => {
                    self.closed = true;
                    return Output::Closed;
                }
                Output::Transmit(b) => return Output::Transmit(b),
                Output::Timeout(t) => return Output::Timeout(t),
            }
        }
    }

    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.now = now;
        self.session.handle_input(now, data);
    }

    fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        self.session.handle_eof(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.session.handle_timeout(now);
    }

    fn handle_tls_started(&mut self, now: Instant) {
        self.now = now;
        self.session.handle_tls_started(now);
    }
}
