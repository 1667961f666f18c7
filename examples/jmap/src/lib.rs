//! JMAP request processing over the sansmail store: RFC 8620 (the core
//! protocol: the session resource, requests with result references,
//! method and request errors, `/changes` and `/queryChanges`, blob upload
//! and download, push state) and RFC 8621 (mail: Mailbox get/query/set,
//! Thread, Email get/query/set/import/parse (query with every standard
//! filter and sort), SearchSnippet, Identity, EmailSubmission through the
//! host's submission path, VacationResponse; Email/copy answers that no
//! account is shared). JSON in, JSON out: the HTTP server, the
//! authentication and the transport (HTTP, EventSource, WebSocket as RFC
//! 8887 frames it) are the caller's.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<sansmail_store::Store>) {
//! use sansmail_jmap::Jmap;
//!
//! let jmap = Jmap::new(store, Default::default(), vec!["example.com".into()]);
//! let session = jmap.session("alice", "https://mail.example.com");
//! let answer = jmap
//!     .api("alice", br#"{"using": ["urn:ietf:params:jmap:core"], "methodCalls": [["Core/echo", {"hi": 1}, "c0"]]}"#)
//!     .await;
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod changes;
mod create;
mod email;
mod email_query;
mod mailboxes;
mod query;
pub mod request;
pub mod settings;
pub mod vacation;
mod view;

use std::future::Future;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use sansmail_store::Store;

pub use create::Submit;
pub use request::{Problem, Request, parse_request};
use view::AccountView;

/// The core capability.
pub const CORE: &str = "urn:ietf:params:jmap:core";
/// The mail capability.
pub const MAIL: &str = "urn:ietf:params:jmap:mail";
/// The submission capability.
pub const SUBMISSION: &str = "urn:ietf:params:jmap:submission";
/// The VacationResponse capability (RFC 8621 §8).
pub const VACATION: &str = "urn:ietf:params:jmap:vacationresponse";
/// The WebSocket capability (RFC 8887).
pub const WEBSOCKET: &str = "urn:ietf:params:jmap:websocket";

/// The limits announced in the session object and enforced.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, octets.
    pub max_size_request: usize,
    /// Method calls in one request.
    pub max_calls_in_request: usize,
    /// Ids in one `/get`.
    pub max_objects_in_get: usize,
    /// Objects changed in one `/set`.
    pub max_objects_in_set: usize,
    /// Largest blob upload, octets.
    pub max_size_upload: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_size_request: 10_000_000,
            max_calls_in_request: 32,
            max_objects_in_get: 500,
            max_objects_in_set: 500,
            max_size_upload: 50_000_000,
        }
    }
}

/// How long a cached account view is used before the folder list is read
/// again (folders made by other programs show after at most this).
const VIEW_RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// An account view kept between requests, and what it was made from.
struct CachedView {
    view: Arc<AccountView>,
    /// The account's folder-list generation when it was made.
    generation: u64,
    at: std::time::Instant,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// JMAP over one store.
pub struct Jmap {
    store: Arc<Store>,
    limits: Limits,
    /// The domains of users' own addresses (Identity/get), the first for
    /// new Message-IDs.
    domains: Vec<String>,
    uploads: create::Uploads,
    submit: Option<Arc<dyn Submit>>,
    history: changes::History,
    queries: query::QueryHistory,
    /// Where per-user settings (the vacation response) are kept.
    settings: Option<Arc<dyn settings::Settings>>,
    /// The last view of each user's account.
    views: std::sync::Mutex<std::collections::HashMap<String, Arc<CachedView>>>,
}

/// What the methods of one request share besides the account.
pub(crate) struct Context<'a> {
    pub(crate) user: &'a str,
    pub(crate) domain: &'a str,
    pub(crate) uploads: &'a create::Uploads,
    pub(crate) submit: Option<&'a dyn Submit>,
    /// Creation id → the id made, for `#creationId` references.
    pub(crate) created: std::collections::HashMap<String, String>,
}

/// The account id of `user`: `a` and 16 hex digits of a hash of the name
/// (JMAP ids are letters, digits, `-` and `_`; user names may hold dots).
pub fn account_id(user: &str) -> String {
    let digest = Sha256::digest(user.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("a{hex}")
}

/// A method error (RFC 8620 §3.6.2): `["error", {"type": ...}, id]`.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodError {
    /// The error type, e.g. `invalidArguments`.
    pub kind: &'static str,
    /// What was wrong, for people.
    pub description: String,
}

impl MethodError {
    /// An error of `kind` saying `description`.
    pub fn new(kind: &'static str, description: impl Into<String>) -> MethodError {
        MethodError {
            kind,
            description: description.into(),
        }
    }

    fn invalid(description: impl Into<String>) -> MethodError {
        MethodError::new("invalidArguments", description)
    }

    fn to_json(&self) -> Value {
        json!({"type": self.kind, "description": self.description})
    }
}

/// What a method gives back: its arguments or an error.
pub type MethodResult = Result<Value, MethodError>;

impl Jmap {
    /// JMAP over `store` with `limits`; users' addresses are at each of
    /// `domains` (at least one).
    pub fn new(store: Arc<Store>, limits: Limits, domains: Vec<String>) -> Jmap {
        Jmap {
            store,
            limits,
            domains,
            uploads: create::Uploads::default(),
            submit: None,
            history: changes::History::default(),
            queries: query::QueryHistory::default(),
            settings: None,
            views: Default::default(),
        }
    }

    /// Sends EmailSubmission/set's messages through `submit`.
    pub fn with_submit(mut self, submit: Arc<dyn Submit>) -> Jmap {
        self.submit = Some(submit);
        self
    }

    /// Keeps per-user settings (the VacationResponse) under `dir`, and
    /// offers the vacation response capability.
    pub fn with_settings_dir(self, dir: std::path::PathBuf) -> Jmap {
        self.with_settings(Arc::new(settings::SettingsDir(dir)))
    }

    /// Keeps per-user settings (the VacationResponse) in `settings`, and
    /// offers the vacation response capability.
    pub fn with_settings(mut self, settings: Arc<dyn settings::Settings>) -> Jmap {
        self.settings = Some(settings);
        self
    }

    /// Keeps an uploaded blob of `user` (RFC 8620 §6.1); the JSON answer,
    /// or a problem when it is too large.
    pub fn upload(&self, user: &str, kind: &str, data: bytes::Bytes) -> Result<Value, Problem> {
        if data.len() > self.limits.max_size_upload {
            return Err(Problem {
                kind: "urn:ietf:params:jmap:error:limit",
                detail: format!("the upload is over {} octets", self.limits.max_size_upload),
                limit: Some("maxSizeUpload"),
            });
        }
        let size = data.len();
        let id = self.uploads.put(user, kind, data).map_err(|e| Problem {
            kind: "urn:ietf:params:jmap:error:limit",
            detail: e,
            limit: Some("maxSizeUpload"),
        })?;
        Ok(json!({"accountId": account_id(user), "blobId": id, "type": kind, "size": size}))
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The session resource (RFC 8620 §2) for `user`, with the URLs under
    /// `base` (e.g. `https://mail.example.com`).
    pub fn session(&self, user: &str, base: &str) -> Value {
        let id = account_id(user);
        let l = &self.limits;
        let state = format!(
            "{:x}",
            Sha256::digest(format!("{user}\0{id}").as_bytes())[0]
        );
        json!({
            "capabilities": {
                CORE: {
                    "maxSizeUpload": l.max_size_upload,
                    "maxConcurrentUpload": 4,
                    "maxSizeRequest": l.max_size_request,
                    "maxConcurrentRequests": 4,
                    "maxCallsInRequest": l.max_calls_in_request,
                    "maxObjectsInGet": l.max_objects_in_get,
                    "maxObjectsInSet": l.max_objects_in_set,
                    "collationAlgorithms": ["i;ascii-casemap", "i;unicode-casemap"],
                },
                MAIL: {},
                SUBMISSION: {},
                VACATION: {},
                WEBSOCKET: {
                    "url": format!("{}/jmap/ws", base.replacen("http", "ws", 1)),
                    "supportsPush": true,
                },
            },
            "accounts": {
                id.clone(): {
                    "name": user,
                    "isPersonal": true,
                    "isReadOnly": false,
                    "accountCapabilities": {
                        CORE: {},
                        MAIL: {
                            "maxMailboxesPerEmail": null,
                            "maxMailboxDepth": 10,
                            "maxSizeMailboxName": 200,
                            "maxSizeAttachmentsPerEmail": 50_000_000,
                            "emailQuerySortOptions": email_query::SORT_OPTIONS,
                            "mayCreateTopLevelMailbox": true,
                        },
                        SUBMISSION: {"maxDelayedSend": 0, "submissionExtensions": {}},
                        VACATION: {},
                    },
                },
            },
            "primaryAccounts": {CORE: id.clone(), MAIL: id.clone(), SUBMISSION: id.clone(), VACATION: id},
            "username": user,
            "apiUrl": format!("{base}/jmap/api"),
            "downloadUrl": format!("{base}/jmap/download/{{accountId}}/{{blobId}}/{{name}}?type={{type}}"),
            "uploadUrl": format!("{base}/jmap/upload/{{accountId}}"),
            "eventSourceUrl": format!("{base}/jmap/eventsource?types={{types}}&closeafter={{closeafter}}&ping={{ping}}"),
            "state": state,
        })
    }

    /// Answers one API request of `user` (its body): the response object,
    /// or the request-level problem (`notJSON`, `notRequest`,
    /// `unknownCapability`, `limit`), which HTTP sends with status 400.
    pub async fn api(&self, user: &str, body: &[u8]) -> Result<Value, Problem> {
        let request = parse_request(body, &self.limits)?;
        let account = account_id(user);
        let mut responses: Vec<(String, Value, String)> = Vec::new();
        let mut view: Option<Arc<AccountView>> = None;
        let mut context = Context {
            user,
            domain: self.domains.first().map_or("localhost", String::as_str),
            uploads: &self.uploads,
            submit: self.submit.as_deref(),
            created: Default::default(),
        };
        for (name, args, call_id) in request.calls {
            let answer = match request::resolve_references(args, &responses) {
                Ok(args) => {
                    self.call(
                        &name,
                        args,
                        &request.using,
                        &account,
                        &mut view,
                        &mut context,
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            match answer {
                Ok(mut result) => {
                    // EmailSubmission/set's implicit Email/set follows it.
                    let implicit = result
                        .as_object_mut()
                        .and_then(|o| o.remove(create::IMPLICIT_EMAIL_SET));
                    responses.push((name, result, call_id.clone()));
                    if let Some(mut email_set) = implicit {
                        email_set["accountId"] = Value::from(account.as_str());
                        responses.push(("Email/set".into(), email_set, call_id));
                    }
                }
                Err(error) => responses.push(("error".into(), error.to_json(), call_id)),
            }
        }
        let responses: Vec<Value> = responses
            .into_iter()
            .map(|(name, args, id)| json!([name, args, id]))
            .collect();
        let state = match &view {
            Some(v) => v.session_state(),
            None => "0".into(),
        };
        Ok(json!({"methodResponses": responses, "sessionState": state}))
    }

    async fn call(
        &self,
        name: &str,
        args: Map<String, Value>,
        using: &[String],
        account: &str,
        view: &mut Option<Arc<AccountView>>,
        context: &mut Context<'_>,
    ) -> MethodResult {
        let user = context.user;
        let capability = match name {
            "Core/echo" => CORE,
            "Identity/get" | "EmailSubmission/set" => SUBMISSION,
            "VacationResponse/get" | "VacationResponse/set" => VACATION,
            _ => MAIL,
        };
        if !using.iter().any(|u| u == capability) {
            return Err(MethodError::new(
                "unknownMethod",
                format!("{name} needs {capability} in \"using\""),
            ));
        }
        if name == "Core/echo" {
            return Ok(Value::Object(args));
        }
        match args.get("accountId").and_then(Value::as_str) {
            Some(id) if id == account => {}
            Some(_) => {
                return Err(MethodError::new(
                    "accountNotFound",
                    "no such account for this user",
                ));
            }
            None => return Err(MethodError::invalid("accountId is required")),
        }
        // One consistent view of the account per request, reloaded after a change.
        if view.is_none() {
            *view = Some(self.load(user).await?);
        }
        let v = view.as_mut().expect("loaded above");
        let result = match name {
            "Mailbox/get" => mailboxes::get(v, &args, &self.limits),
            "Mailbox/changes" => changes::changes(&self.history, user, v, &args, true),
            "Email/changes" => changes::changes(&self.history, user, v, &args, false),
            "Mailbox/set" => {
                let result = mailboxes::set(v, &args, &self.limits).await;
                *view = Some(self.load(user).await?);
                result
            }
            "Mailbox/query" => query::window(
                &self.queries,
                user,
                name,
                &args,
                mailboxes::results(v, &args),
            ),
            "Mailbox/queryChanges" => query::changes(
                &self.queries,
                user,
                "Mailbox/query",
                &args,
                mailboxes::results(v, &args),
            ),
            "Thread/get" => email::thread_get(v, &args, &self.limits),
            "Email/get" => email::get(v, &args, &self.limits).await,
            "Email/query" => {
                let ids = email_query::results(v, &args).await?;
                query::window(&self.queries, user, name, &args, ids)
            }
            "Email/queryChanges" => {
                let ids = email_query::results(v, &args).await?;
                query::changes(&self.queries, user, "Email/query", &args, ids)
            }
            "Email/set" => {
                let result = email::set(v, &args, &self.limits, context).await;
                *view = Some(self.load(user).await?);
                result
            }
            "Email/import" => {
                let result = create::import(v, &args, &self.limits, context).await;
                *view = Some(self.load(user).await?);
                result
            }
            "EmailSubmission/set" => {
                let result = create::submission_set(v, &args, &self.limits, context).await;
                *view = Some(self.load(user).await?);
                result
            }
            "Identity/get" => Ok(identities(&self.domains, user)),
            "SearchSnippet/get" => email::search_snippets(v, &args, &self.limits).await,
            "Email/parse" => {
                let uploads = Some((context.uploads, user));
                email::parse(v, &args, &self.limits, uploads).await
            }
            "Email/copy" => Err(copy_error(&args, account)),
            "VacationResponse/get" | "VacationResponse/set" => match &self.settings {
                None => Err(MethodError::new(
                    "unknownMethod",
                    "this server keeps no vacation response",
                )),
                Some(settings) if name.ends_with("/get") => {
                    vacation::get(settings.as_ref(), user, &args)
                }
                Some(settings) => vacation::set(settings.as_ref(), user, &args),
            },
            _ => Err(MethodError::new(
                "unknownMethod",
                format!("{name} is not a method here"),
            )),
        };
        result.map(|mut value| {
            if let Some(object) = value.as_object_mut() {
                object.insert("accountId".into(), Value::from(account));
            }
            value
        })
    }

    /// The account now; its state is remembered for `/changes`. The view
    /// of the last request is used again while nothing in the account
    /// changed: the same account and mailboxes, the same folder list, each
    /// mailbox at the same UIDVALIDITY, mod-sequence and size (a change by
    /// any session or program moves one of them), checked again in full
    /// after [`VIEW_RECHECK`] (for folders other programs make).
    async fn load(&self, user: &str) -> Result<Arc<AccountView>, MethodError> {
        let fail = |e: sansmail_store::StoreError| MethodError::new("serverFail", e.to_string());
        let account = self.store.account(user).await.map_err(fail)?;
        let generation = account.generation();
        let cached = lock(&self.views).get(user).cloned();
        if let Some(cached) = cached
            && Arc::ptr_eq(&cached.view.account, &account)
            && cached.generation == generation
            && cached.at.elapsed() < VIEW_RECHECK
            && self.unchanged(&cached).await
        {
            return Ok(cached.view.clone());
        }
        let view = Arc::new(AccountView::load(&self.store, user).await.map_err(fail)?);
        self.history.record(user, &view);
        let cached = Arc::new(CachedView {
            view: view.clone(),
            generation,
            at: std::time::Instant::now(),
        });
        lock(&self.views).insert(user.to_owned(), cached);
        Ok(view)
    }

    /// True when every mailbox of a cached view is still the account's
    /// open one, at the mark it had.
    async fn unchanged(&self, cached: &CachedView) -> bool {
        for (m, was) in cached.view.mailboxes.iter().zip(&cached.view.marks) {
            let Ok(open) = cached.view.account.open(&m.name).await else {
                return false;
            };
            if !Arc::ptr_eq(&open, &m.mailbox)
                || open.is_deleted()
                || view::mark(&open.index()) != *was
            {
                return false;
            }
        }
        true
    }

    /// The push StateChange object (RFC 8620 §7.1) for `user` now: the
    /// state of each data type of the account.
    pub async fn state_change(&self, user: &str) -> Result<Value, MethodError> {
        let view = self.load(user).await?;
        let state = view.session_state();
        Ok(json!({
            "@type": "StateChange",
            "changed": {
                account_id(user): {
                    "Email": state, "Mailbox": state, "Thread": state,
                    "EmailDelivery": state,
                },
            },
        }))
    }

    /// A watch on everything in `user`'s account (a delivery, a flag, an
    /// expunge, by any session or program). Take it *before* reading the
    /// state it guards: a change made between the two then still wakes it.
    pub async fn watch(&self, user: &str) -> Result<Changes, MethodError> {
        let view = self.load(user).await?;
        let feeds = view
            .mailboxes
            .iter()
            .map(|m| m.mailbox.subscribe())
            .collect();
        Ok(Changes { feeds })
    }

    /// The content of blob `blob_id` of `user`'s account (a message, or a
    /// part of one: `blobId` as Email/get gives it), when it exists.
    pub async fn download(&self, user: &str, blob_id: &str) -> Option<bytes::Bytes> {
        if let Some(uploaded) = self.uploads.get(user, blob_id) {
            return Some(uploaded);
        }
        let view = self.load(user).await.ok()?;
        email::blob(&view, blob_id).await
    }
}

/// A watch on one account's mailboxes, from [`Jmap::watch`].
pub struct Changes {
    feeds: Vec<tokio::sync::watch::Receiver<u64>>,
}

impl Changes {
    /// Waits until a mailbox changes after the watch was taken or last
    /// woke; cancel-safe, so it can sit in a `select!` loop. Never returns
    /// for an account without mailboxes.
    pub async fn wait(&mut self) {
        let mut waits: Vec<_> = self
            .feeds
            .iter_mut()
            .map(|f| Box::pin(f.changed()))
            .collect();
        std::future::poll_fn(|cx| {
            for wait in waits.iter_mut() {
                if wait.as_mut().poll(cx).is_ready() {
                    return std::task::Poll::Ready(());
                }
            }
            std::task::Poll::Pending
        })
        .await;
    }
}

/// Email/copy copies between accounts (RFC 8620 §5.4); each user here has
/// one account and none is shared, so there is never another to copy from
/// (within an account, Email/set adds an email to mailboxes).
fn copy_error(args: &Map<String, Value>, account: &str) -> MethodError {
    match args.get("fromAccountId").and_then(Value::as_str) {
        None => MethodError::invalid("fromAccountId is required"),
        Some(from) if from == account => MethodError::invalid(
            "fromAccountId must differ from accountId; Email/set adds an email to mailboxes",
        ),
        Some(_) => MethodError::new(
            "fromAccountNotFound",
            "no other account is shared with this user",
        ),
    }
}

/// Identity/get: the user's address at each local domain.
fn identities(domains: &[String], user: &str) -> Value {
    let list: Vec<Value> = domains
        .iter()
        .enumerate()
        .map(|(i, domain)| {
            json!({
                "id": format!("i{i}"),
                "name": "",
                "email": format!("{user}@{domain}"),
                "replyTo": null,
                "bcc": null,
                "textSignature": "",
                "htmlSignature": "",
                "mayDelete": false,
            })
        })
        .collect();
    json!({"state": "0", "list": list, "notFound": []})
}
