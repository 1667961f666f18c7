//! The SMTP services: inbound mail for local users (no relaying), and
//! submission (AUTH over TLS required, senders limited to the user's own
//! addresses), each message filtered, then delivered into local mailboxes
//! or queued for relay, synced to disk before the 250.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use sansmail_common::driver::now;
use sansmail_mime::Message;
use sansmail_smtp::driver::{Driver, Step, Tls};
use sansmail_smtp::server::{Config, Event, Session};
use sansmail_smtp::types::{ForwardPath, Host, MailParameter, Reply, ReversePath};
use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use super::config;
use super::filter::{self, Verdict};
use super::local::{Folder, Local};
use super::queue::{Queue, new_id};
use super::relay::Relay;
use super::sender_auth::{self, Action, Checker, Envelope};
use super::users::{Directory, Route};
use crate::accounts;

/// Bodies larger than this go to a spool file as they arrive.
const IN_MEMORY_MAX: usize = 1024 * 1024;

/// What the SMTP services share.
pub struct Context {
    /// The server's name.
    pub hostname: String,
    /// Users, aliases, domains and logins.
    pub directory: Arc<Directory>,
    /// Local delivery.
    pub mailboxes: Arc<Local>,
    /// The outbound queue.
    pub queue: Arc<Queue>,
    /// Its workers, woken when a message is queued.
    pub relay: Arc<Relay>,
    /// Content filters.
    pub filter: config::Filter,
    /// DKIM signers, one per domain, for submitted mail.
    pub dkim: Vec<sansmail_auth::dkim::DkimSigner>,
    /// ARC sealers (the DKIM keys), for forwarded mail.
    pub arc: Vec<sansmail_auth::arc::ArcSealer>,
    /// Sender authentication of inbound mail.
    pub sender_auth: Checker,
    /// Users' settings (vacation responses and whom they answered).
    pub settings: Arc<dyn sansmail_jmap::settings::Settings>,
}

/// One SMTP listener's service.
pub struct SmtpService {
    /// True for submission: AUTH required, relaying for the user.
    pub submission: bool,
    /// The session configuration.
    pub config: Config,
    /// The certificate for STARTTLS and implicit TLS.
    pub acceptor: TlsAcceptor,
    /// What all services share.
    pub context: Arc<Context>,
}

/// The message being received.
struct Transaction {
    id: String,
    /// The envelope sender, empty for `<>`.
    from: String,
    /// Local recipients: (address, owner).
    local: Vec<(String, String)>,
    /// Remote recipients, for the queue.
    remote: Vec<String>,
    /// True when a remote recipient is a forwarded local address.
    forwarded: bool,
    /// The trace fields written before the body (Return-Path first).
    trace: String,
    /// The body while it is small.
    body: Vec<u8>,
    /// The start of the body, kept when it moved to a file.
    head: Vec<u8>,
    /// The spool file, once the body outgrew memory.
    spilled: Option<(PathBuf, tokio::fs::File)>,
    /// MAIL FROM had REQUIRETLS (RFC 8689).
    require_tls: bool,
}

fn reply(code: u16, status: (u8, u16, u16), text: &str) -> Reply {
    Reply::text(code, status, text).expect("fixed reply text is valid")
}

impl SmtpService {
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
            return self
                .run(Driver::new(session, tls, Tls::None), peer, true)
                .await;
        }
        let session = Session::new(config, Instant::now());
        let driver = Driver::new(session, tcp, Tls::Server(self.acceptor.clone()));
        self.run(driver, peer, false).await
    }

    async fn run<T: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut driver: Driver<Session, T>,
        peer: SocketAddr,
        implicit_tls: bool,
    ) -> std::io::Result<()> {
        let mut state = Connection {
            service: self,
            peer,
            helo: String::new(),
            user: None,
            tx: None,
        };
        while let Step::Event(event) = driver.step(None).await? {
            let tls = implicit_tls || driver.is_tls();
            state.on_event(event, driver.session(), tls).await;
        }
        if let Some(tx) = state.tx.take() {
            discard(tx);
        }
        Ok(())
    }
}

struct Connection<'a> {
    service: &'a SmtpService,
    peer: SocketAddr,
    helo: String,
    user: Option<String>,
    tx: Option<Transaction>,
}

fn answer(session: &mut Session, ticket: sansmail_smtp::server::Ticket, result: Result<(), Reply>) {
    // The ticket comes from the event being answered, so it is the pending one.
    let _ = match result {
        Ok(()) => session.accept(now(), ticket),
        Err(r) => session.reject(now(), ticket, r),
    };
}

fn discard(tx: Transaction) {
    if let Some((path, file)) = tx.spilled {
        tokio::spawn(async move {
            drop(file);
            let _ = tokio::fs::remove_file(path).await;
        });
    }
}

impl Connection<'_> {
    fn context(&self) -> &Context {
        &self.service.context
    }

    async fn on_event(&mut self, event: Event, session: &mut Session, tls: bool) {
        match event {
            Event::Connected { ticket } => answer(session, ticket, Ok(())),
            Event::Hello { ticket, client, .. } => {
                self.helo = client.to_string();
                answer(session, ticket, Ok(()));
            }
            Event::Auth {
                ticket,
                credentials,
                ..
            } => {
                let login = credentials.username().unwrap_or_default().to_owned();
                let same_identity = credentials
                    .identity()
                    .is_none_or(|i| i.eq_ignore_ascii_case(&login));
                let password = credentials.password().unwrap_or_default().to_owned();
                let passwords: Arc<dyn accounts::Passwords> = self.context().directory.clone();
                let user = match same_identity {
                    true => accounts::login(&passwords, self.peer.ip(), &login, &password).await,
                    false => None,
                };
                info!(peer = %self.peer, %login, ok = user.is_some(), "smtp authentication");
                match user {
                    Some(user) => {
                        self.user = Some(user);
                        answer(session, ticket, Ok(()));
                    }
                    None => answer(
                        session,
                        ticket,
                        Err(reply(535, (5, 7, 8), "Authentication credentials invalid")),
                    ),
                }
            }
            Event::MailFrom {
                ticket,
                from,
                params,
            } => {
                if let Some(tx) = self.tx.take() {
                    discard(tx);
                }
                let result = self.check_sender(&from);
                if result.is_ok() {
                    self.tx = Some(Transaction {
                        id: new_id(),
                        from: from.mailbox().map(|m| m.to_string()).unwrap_or_default(),
                        local: Vec::new(),
                        remote: Vec::new(),
                        forwarded: false,
                        trace: String::new(),
                        body: Vec::new(),
                        head: Vec::new(),
                        spilled: None,
                        require_tls: params.contains(&MailParameter::RequireTls),
                    });
                }
                answer(session, ticket, result);
            }
            Event::RcptTo { ticket, to, .. } => {
                let result = self.add_recipient(&to);
                answer(session, ticket, result);
            }
            Event::DataChunk(chunk) => {
                if let Err(e) = self.keep_body(&chunk, session, tls).await {
                    warn!(peer = %self.peer, error = %e, "cannot write the spool file");
                    if let Some(tx) = self.tx.as_mut() {
                        tx.local.clear();
                        tx.remote.clear();
                    }
                }
            }
            Event::MessageEnd { ticket, size, .. } => {
                if let Some(tx) = self.tx.as_ref()
                    && tx.trace.is_empty()
                {
                    let trace = self.trace_fields(tx, session, tls);
                    if let Some(tx) = self.tx.as_mut() {
                        tx.trace = trace;
                    }
                }
                let Some(tx) = self.tx.take() else {
                    answer(
                        session,
                        ticket,
                        Err(reply(451, (4, 3, 0), "Local error in processing")),
                    );
                    return;
                };
                let id = tx.id.clone();
                match self.finish(tx, size).await {
                    Ok(()) => {
                        let r = reply(250, (2, 0, 0), &format!("Ok: queued as {id}"));
                        let _ = session.respond(now(), ticket, r);
                    }
                    Err(r) => answer(session, ticket, Err(r)),
                }
            }
            Event::TransactionAborted { reason } => {
                if let Some(tx) = self.tx.take() {
                    info!(peer = %self.peer, queue_id = %tx.id, from = %tx.from, ?reason, "transaction aborted");
                    discard(tx);
                }
            }
            Event::Verify { ticket, .. } => {
                let r = reply(252, (2, 1, 5), "Cannot VRFY user, but will accept message");
                let _ = session.respond(now(), ticket, r);
            }
            Event::Expand { ticket, .. } => answer(
                session,
                ticket,
                Err(reply(502, (5, 5, 1), "EXPN not available")),
            ),
            Event::PipelinedInputDiscarded { bytes } => {
                warn!(peer = %self.peer, bytes, "discarded bytes pipelined after STARTTLS")
            }
            other => warn!(peer = %self.peer, event = ?other, "unhandled event"),
        }
    }

    /// Submission senders must be the user's own; inbound takes any.
    fn check_sender(&self, from: &ReversePath) -> Result<(), Reply> {
        if !self.service.submission {
            return Ok(());
        }
        let Some(user) = &self.user else {
            return Err(reply(530, (5, 7, 0), "Authentication required"));
        };
        match from.mailbox() {
            Some(m) if self.context().directory.owns(user, m) => Ok(()),
            _ => Err(reply(
                553,
                (5, 7, 1),
                "Sender address not owned by the authenticated user",
            )),
        }
    }

    fn add_recipient(&mut self, to: &ForwardPath) -> Result<(), Reply> {
        let directory = &self.service.context.directory;
        let route = match to.mailbox() {
            None => directory
                .owner("postmaster")
                .map(Route::Local)
                .ok_or_else(|| reply(550, (5, 1, 1), "No postmaster here")),
            Some(m) => directory.route(m),
        }?;
        let tx = self
            .tx
            .as_mut()
            .ok_or_else(|| reply(503, (5, 5, 1), "MAIL first"))?;
        let address = to
            .mailbox()
            .map_or_else(|| "postmaster".into(), |m| m.to_string());
        match route {
            Route::Local(owner) => {
                if !tx
                    .local
                    .iter()
                    .any(|(a, _)| a.eq_ignore_ascii_case(&address))
                {
                    tx.local.push((address, owner));
                }
            }
            Route::Forward(target) => {
                if !tx.remote.iter().any(|a| a.eq_ignore_ascii_case(&target)) {
                    tx.remote.push(target);
                }
                tx.forwarded = true;
            }
            Route::Remote => {
                let literal = to
                    .mailbox()
                    .is_some_and(|m| !matches!(m.host, Host::Domain(_)));
                if !self.service.submission || self.user.is_none() {
                    return Err(reply(550, (5, 7, 1), "Relaying denied"));
                }
                if literal {
                    return Err(reply(550, (5, 7, 1), "Address literals are not relayed"));
                }
                if !tx.remote.iter().any(|a| a.eq_ignore_ascii_case(&address)) {
                    tx.remote.push(address);
                }
            }
        }
        Ok(())
    }

    /// Keeps a body piece: in memory while small, then in a spool file.
    async fn keep_body(
        &mut self,
        chunk: &[u8],
        session: &Session,
        tls: bool,
    ) -> std::io::Result<()> {
        let trace = match self.tx.as_ref() {
            Some(tx) if tx.trace.is_empty() => self.trace_fields(tx, session, tls),
            _ => String::new(),
        };
        let mailboxes = self.service.context.mailboxes.clone();
        let Some(tx) = self.tx.as_mut() else {
            return Ok(());
        };
        if tx.trace.is_empty() {
            tx.trace = trace;
        }
        match tx.spilled.as_mut() {
            Some((_, file)) => file.write_all(chunk).await,
            None if tx.body.len() + chunk.len() <= IN_MEMORY_MAX => {
                tx.body.extend_from_slice(chunk);
                Ok(())
            }
            None => {
                let (path, mut file) = mailboxes.spool().await?;
                file.write_all(tx.trace.as_bytes()).await?;
                file.write_all(&tx.body).await?;
                file.write_all(chunk).await?;
                tx.spilled = Some((path, file));
                tx.head = std::mem::take(&mut tx.body);
                tx.head.truncate(64 * 1024);
                Ok(())
            }
        }
    }

    /// `Return-Path:` and `Received:` for the message being received.
    fn trace_fields(&self, tx: &Transaction, session: &Session, tls: bool) -> String {
        let protocol = match (tls, session.is_authenticated()) {
            (true, true) => "ESMTPSA",
            (true, false) => "ESMTPS",
            (false, true) => "ESMTPA",
            (false, false) => "ESMTP",
        };
        let single = match (
            tx.local.len() + tx.remote.len(),
            tx.local.first(),
            tx.remote.first(),
        ) {
            (1, Some((a, _)), _) | (1, None, Some(a)) => format!("\r\n\tfor <{a}>"),
            _ => String::new(),
        };
        format!(
            "Return-Path: <{}>\r\nReceived: from {} ([{}])\r\n\tby {} (sansmail) with {protocol} id {}{single};\r\n\t{}\r\n",
            tx.from,
            self.helo,
            self.peer.ip(),
            self.context().hostname,
            tx.id,
            sansmail_store::plain::rfc5322_date(SystemTime::now())
        )
    }

    /// The end of DATA: checks, filters, then delivers and queues.
    async fn finish(&self, mut tx: Transaction, size: u64) -> Result<(), Reply> {
        let context = self.context();
        let recipients: Vec<String> = tx
            .local
            .iter()
            .map(|(a, _)| a.clone())
            .chain(tx.remote.iter().cloned())
            .collect();
        let (queue_id, sender) = (tx.id.clone(), tx.from.clone());
        let service = match self.service.submission {
            true => "submission",
            false => "smtp",
        };
        let log_rejection = |why: &Reply| {
            crate::metrics::count(
                "sansmail_messages_received_total",
                &[("service", service), ("outcome", "refused")],
            );
            info!(
                peer = %self.peer, %queue_id, from = %sender, to = ?recipients, size,
                outcome = %why.to_wire_string().trim_end(), "message refused"
            );
        };
        if recipients.is_empty() {
            let r = reply(451, (4, 3, 0), "Local error in processing");
            log_rejection(&r);
            discard(tx);
            return Err(r);
        }
        if let Some(user) = self
            .service
            .submission
            .then_some(self.user.as_ref())
            .flatten()
        {
            let head = if tx.spilled.is_some() {
                &tx.head
            } else {
                &tx.body
            };
            if let Err(r) = self.check_from_header(user, head) {
                log_rejection(&r);
                discard(tx);
                return Err(r);
            }
        }
        let mut added = String::new();
        if let Some((_, file)) = tx.spilled.as_mut()
            && let Err(e) = file.flush().await
        {
            warn!(error = %e, "cannot write the spool file");
            discard(tx);
            return Err(reply(451, (4, 3, 0), "Local error in processing"));
        }
        let mut folder = Folder::Inbox;
        let mut auth_summary = String::new();
        let mut checked = None;
        if !self.service.submission && context.sender_auth.applies_to(self.peer.ip()) {
            match self.check_sender_auth(&mut tx).await {
                Err(e) => {
                    warn!(error = %e, "cannot read the spool file");
                    discard(tx);
                    return Err(reply(451, (4, 3, 0), "Local error in processing"));
                }
                Ok(sender_auth::Verdict {
                    field,
                    action,
                    summary,
                    results,
                    arc,
                }) => {
                    checked = Some((results, arc));
                    let verdict = match &action {
                        Action::Reject(_) => "reject",
                        Action::Junk => "junk",
                        _ => "deliver",
                    };
                    crate::metrics::count(
                        "sansmail_filter_verdicts_total",
                        &[("filter", "sender_auth"), ("verdict", verdict)],
                    );
                    if let Action::Reject(r) = action {
                        info!(peer = %self.peer, queue_id = %tx.id, auth = %summary, "sender authentication failed");
                        log_rejection(&r);
                        discard(tx);
                        return Err(r);
                    }
                    if action == Action::Junk {
                        folder = Folder::Junk;
                    }
                    auth_summary = summary;
                    added.push_str(&field);
                }
            }
        }
        if context.filter.spamd.is_some() || context.filter.clamd.is_some() {
            // The filters see the message as stored, trace fields included.
            let whole = match &tx.spilled {
                None => [tx.trace.as_bytes(), added.as_bytes(), &tx.body].concat(),
                Some((path, _)) => match tokio::fs::read(path).await {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        warn!(error = %e, "cannot read the spool file");
                        discard(tx);
                        return Err(reply(451, (4, 3, 0), "Local error in processing"));
                    }
                },
            };
            match filter::check(&context.filter, &whole).await {
                Verdict::Pass(headers) => added.push_str(&headers),
                Verdict::Reject(r) => {
                    drop(whole);
                    log_rejection(&r);
                    discard(tx);
                    return Err(r);
                }
            }
        }
        if tx.forwarded && !self.service.submission {
            match self.arc_set(&tx, &added, checked).await {
                // Below the trace fields: the spool file starts with them.
                Ok(set) => added.insert_str(0, &set),
                Err(why) => {
                    warn!(queue_id = %tx.id, %why, "forwarded without an ARC set")
                }
            }
        }
        if self.service.submission
            && self.user.is_some()
            && let Some(signature) = self.dkim_signature(&tx).await
        {
            // Above every other field: the signature covers the message as sent.
            added.insert_str(0, &signature);
        }
        // Measured before the trace is taken below.
        let trace_len = tx.trace.len();
        let delivery = Delivery {
            mailboxes: context.mailboxes.clone(),
            queue: context.queue.clone(),
            settings: context.settings.clone(),
            local: std::mem::take(&mut tx.local),
            remote: std::mem::take(&mut tx.remote),
            id: tx.id.clone(),
            from: tx.from.clone(),
            header: std::mem::take(&mut tx.trace) + &added,
            body: std::mem::take(&mut tx.body),
            trace_len,
            spilled: tx.spilled.take(),
            folder,
            require_tls: tx.require_tls,
        };
        let (local_count, remote_count) = (delivery.local.len(), delivery.remote.len());
        match delivery.store().await {
            Ok(replies) => {
                if remote_count + replies > 0 {
                    context.relay.wake.notify_one();
                }
                crate::metrics::count(
                    "sansmail_messages_received_total",
                    &[("service", service), ("outcome", "accepted")],
                );
                crate::metrics::add(
                    "sansmail_deliveries_total",
                    &[("route", "local"), ("outcome", "delivered")],
                    local_count as f64,
                );
                info!(
                    peer = %self.peer, queue_id = %tx.id, from = %tx.from, to = ?recipients, size,
                    user = self.user.as_deref().unwrap_or(""),
                    delivered = local_count, queued = remote_count, auth = %auth_summary,
                    junk = folder == Folder::Junk, outcome = "accepted", "message received"
                );
                Ok(())
            }
            Err(e) => {
                warn!(queue_id = %tx.id, error = %e, "cannot store the message");
                let r = match e {
                    sansmail_store::StoreError::OverQuota => reply(452, (4, 2, 2), "Mailbox full"),
                    _ => reply(451, (4, 3, 0), "Local error in processing"),
                };
                log_rejection(&r);
                Err(r)
            }
        }
    }

    /// Runs the sender authentication checks of inbound mail, first removing
    /// any `Authentication-Results` field that pretends to be ours (from the
    /// body in memory, or by rewriting the spool file).
    async fn check_sender_auth(
        &self,
        tx: &mut Transaction,
    ) -> std::io::Result<sender_auth::Verdict> {
        let checker = &self.context().sender_auth;
        let message = match &tx.spilled {
            None => std::mem::take(&mut tx.body),
            Some((path, _)) => {
                let whole = tokio::fs::read(path).await?;
                whole.get(tx.trace.len()..).unwrap_or_default().to_vec()
            }
        };
        let message = match sender_auth::strip_forged_results(&message, checker.authserv_id()) {
            None => message,
            Some(cleaned) => {
                if let Some((old, _)) = tx.spilled.take() {
                    let (path, mut file) = self.context().mailboxes.spool().await?;
                    file.write_all(tx.trace.as_bytes()).await?;
                    file.write_all(&cleaned).await?;
                    file.flush().await?;
                    tx.spilled = Some((path, file));
                    let _ = tokio::fs::remove_file(old).await;
                }
                cleaned
            }
        };
        let envelope = Envelope {
            ip: self.peer.ip(),
            helo: &self.helo,
            mail_from: &tx.from,
        };
        let verdict = checker.check(&message, &envelope).await;
        if tx.spilled.is_none() {
            tx.body = message;
        }
        Ok(verdict)
    }

    /// An ARC set (RFC 8617) sealing a message forwarded to another domain
    /// as it will be relayed: the trace fields but Return-Path, `added`,
    /// then the body. The results and chain verdict are the sender checks'
    /// (`checked`), or, when those did not run, none and the chain's alone.
    async fn arc_set(
        &self,
        tx: &Transaction,
        added: &str,
        checked: Option<(
            sansmail_auth::results::AuthenticationResults,
            Option<sansmail_auth::arc::ArcResult>,
        )>,
    ) -> Result<String, String> {
        let context = self.context();
        let sealer = context.arc.first().ok_or("no DKIM key to seal with")?;
        let received = tx.trace.split_once("\r\n").map_or("", |(_, rest)| rest);
        let body: std::borrow::Cow<'_, [u8]> = match &tx.spilled {
            None => std::borrow::Cow::Borrowed(&tx.body),
            Some((path, _)) => {
                let whole = tokio::fs::read(path).await.map_err(|e| e.to_string())?;
                std::borrow::Cow::Owned(whole.get(tx.trace.len()..).unwrap_or_default().to_vec())
            }
        };
        let message = [received.as_bytes(), added.as_bytes(), &body].concat();
        let (results, chain) = match checked {
            Some((results, Some(chain))) => (results, chain),
            Some((results, None)) => (results, context.sender_auth.arc_chain(&message).await),
            None => (
                sansmail_auth::results::AuthenticationResults::new(
                    context.sender_auth.authserv_id(),
                ),
                context.sender_auth.arc_chain(&message).await,
            ),
        };
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        sealer
            .seal(&message, &results, chain, now)
            .map_err(|e| e.to_string())
    }

    /// A `DKIM-Signature` field for a submitted message whose From domain
    /// has a key; `None` when none has, or the message cannot be read.
    async fn dkim_signature(&self, tx: &Transaction) -> Option<String> {
        let signers = &self.context().dkim;
        if signers.is_empty() {
            return None;
        }
        let message: std::borrow::Cow<'_, [u8]> = match &tx.spilled {
            None => std::borrow::Cow::Borrowed(&tx.body),
            Some((path, _)) => {
                // The spool file starts with the trace fields: skip them.
                let whole = tokio::fs::read(path).await.ok()?;
                std::borrow::Cow::Owned(whole.get(tx.trace.len()..)?.to_vec())
            }
        };
        dkim_sign(signers, &message, &tx.id)
    }

    /// Every `From:` (and `Sender:`) address must be one of `user`'s.
    fn check_from_header(&self, user: &str, head: &[u8]) -> Result<(), Reply> {
        check_from_header(&self.context().directory, user, head)
    }
}

/// Every `From:` (and `Sender:`) address of the header in `head` must be
/// one of `user`'s, and there must be a From address.
fn check_from_header(directory: &Directory, user: &str, head: &[u8]) -> Result<(), Reply> {
    let end = memchr::memmem::find(head, b"\r\n\r\n").map_or(head.len(), |i| i + 2);
    let message = Message::parse(&head[..end]);
    let header = &message.root.header;
    let mut seen = false;
    for name in ["From", "Sender"] {
        for field in header.get_all(name) {
            let list = sansmail_mime::address::parse_addresses(&field.value());
            for mailbox in list.mailboxes() {
                seen |= name == "From";
                let owned = sansmail_smtp::types::Mailbox::parse(&mailbox.address)
                    .is_ok_and(|m| directory.owns(user, &m));
                if !owned {
                    return Err(reply(
                        553,
                        (5, 7, 1),
                        "From: address not owned by the authenticated user",
                    ));
                }
            }
        }
    }
    if !seen {
        return Err(reply(550, (5, 6, 0), "Message has no From: address"));
    }
    Ok(())
}

/// The `DKIM-Signature` field for `message` by the key of its From
/// domain, when there is one.
fn dkim_sign(
    signers: &[sansmail_auth::dkim::DkimSigner],
    message: &[u8],
    queue_id: &str,
) -> Option<String> {
    let parsed = Message::parse(message);
    let from = parsed.root.header.addresses("from")?;
    let domain = from
        .mailboxes()
        .next()?
        .address
        .rsplit_once('@')?
        .1
        .to_ascii_lowercase();
    let signer = signers.iter().find(|s| s.domain() == domain)?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match signer.sign(message, now) {
        Ok(field) => Some(field),
        Err(e) => {
            warn!(%queue_id, error = %e, "cannot DKIM-sign the message");
            None
        }
    }
}

/// Mail a user submits outside SMTP (JMAP's EmailSubmission): the checks
/// of SMTP submission (the envelope sender and every From address the
/// user's own, the size and recipient limits, relaying only for the
/// user), DKIM signing, then local delivery and the queue.
pub struct Submitter {
    /// What the SMTP services share.
    pub context: Arc<Context>,
    /// The largest message, octets.
    pub max_message_size: u64,
    /// The most recipients.
    pub max_recipients: usize,
}

impl Submitter {
    async fn run(
        &self,
        user: &str,
        from: &str,
        to: &[String],
        message: Vec<u8>,
    ) -> Result<String, String> {
        let context = &self.context;
        let directory = &context.directory;
        if message.len() as u64 > self.max_message_size {
            return Err(format!(
                "the message is over {} octets",
                self.max_message_size
            ));
        }
        if to.len() > self.max_recipients {
            return Err(format!("more than {} recipients", self.max_recipients));
        }
        let sender = sansmail_smtp::types::Mailbox::parse(from)
            .map_err(|_| format!("{from:?} is not an address"))?;
        if !directory.owns(user, &sender) {
            return Err(format!("{from} is not one of your addresses"));
        }
        check_from_header(directory, user, &message)
            .map_err(|r| r.to_wire_string().trim_end().to_owned())?;
        let (mut local, mut remote) = (Vec::new(), Vec::new());
        for address in to {
            let mailbox = sansmail_smtp::types::Mailbox::parse(address)
                .map_err(|_| format!("{address:?} is not an address"))?;
            match directory.route(&mailbox) {
                Ok(Route::Local(owner)) => local.push((address.clone(), owner)),
                Ok(Route::Forward(target)) => remote.push(target),
                Ok(Route::Remote) if matches!(mailbox.host, Host::Domain(_)) => {
                    remote.push(address.clone())
                }
                Ok(Route::Remote) => return Err("address literals are not relayed".into()),
                Err(refusal) => {
                    return Err(format!(
                        "{address}: {}",
                        refusal.to_wire_string().trim_end()
                    ));
                }
            }
        }
        let id = crate::queue::new_id();
        let signature = dkim_sign(&context.dkim, &message, &id).unwrap_or_default();
        let trace = format!(
            "Return-Path: <{from}>\r\nReceived: from jmap (authenticated user {user})\r\n\tby {} (sansmail) with HTTPS id {id};\r\n\t{}\r\n",
            context.hostname,
            sansmail_store::plain::rfc5322_date(SystemTime::now())
        );
        let trace_len = trace.len();
        let (local_count, remote_count) = (local.len(), remote.len());
        let delivery = Delivery {
            mailboxes: context.mailboxes.clone(),
            queue: context.queue.clone(),
            settings: context.settings.clone(),
            local,
            remote,
            id: id.clone(),
            from: from.to_owned(),
            header: trace + &signature,
            body: message,
            trace_len,
            spilled: None,
            folder: Folder::Inbox,
            require_tls: false,
        };
        let replies = delivery.store().await.map_err(|e| e.to_string())?;
        if remote_count + replies > 0 {
            context.relay.wake.notify_one();
        }
        crate::metrics::count(
            "sansmail_messages_received_total",
            &[("service", "jmap"), ("outcome", "accepted")],
        );
        info!(
            queue_id = %id, from, to = ?to, user, delivered = local_count, queued = remote_count,
            outcome = "accepted", "message submitted over JMAP"
        );
        Ok(id)
    }
}

impl sansmail_jmap::Submit for Submitter {
    fn submit<'a>(
        &'a self,
        user: &'a str,
        from: &'a str,
        to: &'a [String],
        message: Vec<u8>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + 'a>>
    {
        Box::pin(self.run(user, from, to, message))
    }
}

/// A received message on its way to disk.
struct Delivery {
    mailboxes: Arc<Local>,
    queue: Arc<Queue>,
    /// (address, owner) of each local recipient.
    local: Vec<(String, String)>,
    remote: Vec<String>,
    id: String,
    from: String,
    /// Trace and filter fields, before the body.
    header: String,
    body: Vec<u8>,
    /// The spool file that already holds the trace fields and body, for large messages.
    spilled: Option<(PathBuf, tokio::fs::File)>,
    /// The length of the trace fields at the start of the spool file.
    trace_len: usize,
    /// Where local recipients get it.
    folder: Folder,
    /// Relay it with REQUIRETLS.
    require_tls: bool,
    /// Users' settings (vacation responses).
    settings: Arc<dyn sansmail_jmap::settings::Settings>,
}

/// How much of a message is read for a vacation reply (its header).
const VACATION_HEAD: usize = 64 * 1024;

impl Delivery {
    /// Writes the message to a spool file (synced), delivers it into each
    /// local mailbox and queues it for the remote recipients.
    /// Gives the number of vacation replies queued (the relay is to be
    /// woken for them).
    async fn store(self) -> Result<usize, sansmail_store::StoreError> {
        // Recipients on vacation, and the message's header to answer.
        let now = crate::queue::now() as i64;
        let away: Vec<(String, String)> = match self.folder {
            Folder::Inbox => self
                .local
                .iter()
                .filter(|(_, owner)| crate::vacation::is_away(self.settings.as_ref(), owner, now))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let head = match (&away[..], &self.spilled) {
            ([], _) => Vec::new(),
            (_, None) => self.body[..self.body.len().min(VACATION_HEAD)].to_vec(),
            (_, Some((path, _))) => {
                let mut head = vec![0; VACATION_HEAD];
                let read = async {
                    let mut file = tokio::fs::File::open(path).await?;
                    file.seek(std::io::SeekFrom::Start(self.trace_len as u64))
                        .await?;
                    tokio::io::AsyncReadExt::read(&mut file, &mut head).await
                };
                let n = read.await.unwrap_or(0);
                head.truncate(n);
                head
            }
        };
        let (settings, queue, from) =
            (self.settings.clone(), self.queue.clone(), self.from.clone());
        self.store_copies().await?;
        let mut replies = 0;
        for (address, owner) in away {
            replies +=
                crate::vacation::answer(settings.as_ref(), &queue, &owner, &address, &from, &head)
                    .await as usize;
        }
        Ok(replies)
    }

    /// Stores the message for its local and remote recipients.
    async fn store_copies(self) -> Result<(), sansmail_store::StoreError> {
        let owners: BTreeSet<&str> = self.local.iter().map(|(_, o)| o.as_str()).collect();
        if self.spilled.is_none() && self.remote.is_empty() && owners.len() == 1 {
            // One mailbox and the message in memory: written once, straight
            // into that mailbox (synced there), with no spool file.
            let mut all = Vec::with_capacity(self.header.len() + self.body.len());
            all.extend_from_slice(self.header.as_bytes());
            all.extend_from_slice(&self.body);
            let owner = owners.first().copied().unwrap_or_default();
            return self
                .mailboxes
                .deliver_bytes(all.into(), owner, self.folder)
                .await;
        }
        let (path, mut file) = match self.spilled {
            // Fields were added after the spool file was begun: a new one
            // with the whole header, then the body copied over.
            Some((old, file)) if self.header.len() > self.trace_len => {
                drop(file);
                let (path, mut new) = self.mailboxes.spool().await?;
                let copied = async {
                    new.write_all(self.header.as_bytes()).await?;
                    let mut body = tokio::fs::File::open(&old).await?;
                    body.seek(std::io::SeekFrom::Start(self.trace_len as u64))
                        .await?;
                    tokio::io::copy(&mut body, &mut new).await?;
                    Ok::<_, std::io::Error>(())
                }
                .await;
                let _ = tokio::fs::remove_file(&old).await;
                if let Err(e) = copied {
                    let _ = tokio::fs::remove_file(&path).await;
                    return Err(e.into());
                }
                (path, new)
            }
            Some(spilled) => spilled,
            None => {
                let (path, mut file) = self.mailboxes.spool().await?;
                let mut all = Vec::with_capacity(self.header.len() + self.body.len());
                all.extend_from_slice(self.header.as_bytes());
                all.extend_from_slice(&self.body);
                file.write_all(&all).await?;
                (path, file)
            }
        };
        let result = async {
            file.flush().await?;
            file.sync_all().await?;
            drop(file);
            for owner in owners {
                self.mailboxes
                    .deliver_file(&path, owner, self.folder)
                    .await?;
            }
            if !self.remote.is_empty() {
                // The queued copy has no Return-Path: the final delivery adds it.
                let (queue, id, from, remote, path) = (
                    self.queue.clone(),
                    self.id.clone(),
                    self.from.clone(),
                    self.remote.clone(),
                    path.clone(),
                );
                let require_tls = self.require_tls;
                tokio::task::spawn_blocking(move || {
                    let stored = std::fs::read(&path)?;
                    let skip = stored.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
                    queue.enqueue(&id, &from, &remote, &stored[skip..], require_tls)
                })
                .await
                .map_err(std::io::Error::other)??;
            }
            Ok::<_, sansmail_store::StoreError>(())
        }
        .await;
        let _ = tokio::fs::remove_file(&path).await;
        result
    }
}
