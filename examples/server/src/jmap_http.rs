//! JMAP over HTTP on the web listener (RFC 8620 §2, §3.1, §6.2): the
//! session resource at `/.well-known/jmap` and `/jmap/session`, the API at
//! `POST /jmap/api`, blob upload at `POST /jmap/upload/{accountId}` and
//! download at `/jmap/download/...`, push over EventSource at
//! `/jmap/eventsource` and over WebSocket at `/jmap/ws` (RFC 8887); HTTP Basic
//! authentication through the same login check (penalties, lockouts) as
//! the other services.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use serde_json::Value;

use tokio::sync::mpsc;

use crate::accounts::{self, Passwords};

/// A response body: whole, or a stream of server-sent events.
pub enum WebBody {
    /// All of it at once.
    Whole(Full<Bytes>),
    /// Events as they come, until the sender is dropped.
    Events(mpsc::Receiver<Bytes>),
}

impl Body for WebBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            WebBody::Whole(full) => Pin::new(full).poll_frame(cx),
            WebBody::Events(events) => events
                .poll_recv(cx)
                .map(|event| event.map(|bytes| Ok(Frame::data(bytes)))),
        }
    }
}

/// The shortest ping interval honoured, in seconds.
const MIN_PING: u64 = 5;

/// JMAP as the web listener serves it.
pub struct JmapHttp {
    /// Request processing.
    pub jmap: sansmail_jmap::Jmap,
    /// Who may log in.
    pub passwords: Arc<dyn Passwords>,
    /// Failed logins and lockouts, shared with the other services.
    pub guard: Arc<crate::limits::Guard>,
    /// The API tokens.
    pub tokens: crate::tokens::Tokens,
    /// The webmail's logged-in sessions (cookie and CSRF token).
    pub sessions: crate::webmail::Sessions,
}

/// True for the paths JMAP answers.
pub fn is_jmap_path(path: &str) -> bool {
    path == "/.well-known/jmap" || path.starts_with("/jmap/")
}

fn json(status: StatusCode, value: &Value, content_type: &'static str) -> Response<WebBody> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(WebBody::Whole(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<WebBody> {
    let mut response = Response::new(WebBody::Whole(Full::new(Bytes::from_static(
        text.as_bytes(),
    ))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn unauthorized() -> Response<WebBody> {
    let mut response = plain(StatusCode::UNAUTHORIZED, "authentication required\n");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static(
            "Basic realm=\"sansmail\", charset=\"UTF-8\", Bearer realm=\"sansmail\"",
        ),
    );
    response
}

impl JmapHttp {
    /// The account a request's credentials open: Basic (a password) or
    /// Bearer (an API token from `mail-server token`), checked with the
    /// penalty delay and lockout on failure.
    async fn user(&self, request: &Request<Incoming>, peer: SocketAddr) -> Option<String> {
        let Some(value) = request.headers().get(header::AUTHORIZATION) else {
            return self.sessions.user_of(request);
        };
        let value = value.to_str().ok()?;
        let (scheme, encoded) = value.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") {
            return self.bearer(encoded.trim(), peer).await;
        }
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (login, password) = text.split_once(':')?;
        accounts::login(&self.passwords, peer.ip(), login, password).await
    }

    /// The user of an API token; a wrong token counts as a failed login.
    async fn bearer(&self, token: &str, peer: SocketAddr) -> Option<String> {
        if self.guard.is_locked_out(peer.ip()) {
            return None;
        }
        let user = self
            .tokens
            .user_of(token)
            .await
            .filter(|u| self.passwords.account_of(u).is_some());
        match user {
            Some(user) => {
                self.guard.record_login(peer.ip(), &user, true);
                Some(user)
            }
            None => {
                let delay = self.guard.record_login(peer.ip(), "(api token)", false);
                crate::metrics::count("sansmail_auth_attempts_total", &[("outcome", "failure")]);
                tokio::time::sleep(delay).await;
                None
            }
        }
    }

    /// Answers one JMAP request; `base` is the URL prefix clients use.
    pub async fn respond(
        self: &Arc<Self>,
        request: Request<Incoming>,
        peer: SocketAddr,
        base: &str,
    ) -> Response<WebBody> {
        let Some(user) = self.user(&request, peer).await else {
            return unauthorized();
        };
        let path = request.uri().path().to_owned();
        match (request.method().clone(), path.as_str()) {
            (Method::GET, "/.well-known/jmap" | "/jmap/session") => json(
                StatusCode::OK,
                &self.jmap.session(&user, base),
                "application/json",
            ),
            (Method::POST, "/jmap/api") => {
                let limit = self.jmap.limits().max_size_request;
                let body = match Limited::new(request.into_body(), limit).collect().await {
                    Ok(body) => body.to_bytes(),
                    Err(_) => {
                        let problem = sansmail_jmap::Problem {
                            kind: "urn:ietf:params:jmap:error:limit",
                            detail: format!("the request is over {limit} octets"),
                            limit: Some("maxSizeRequest"),
                        };
                        return json(
                            StatusCode::BAD_REQUEST,
                            &problem.to_json(),
                            "application/problem+json",
                        );
                    }
                };
                match self.jmap.api(&user, &body).await {
                    Ok(answer) => json(StatusCode::OK, &answer, "application/json"),
                    Err(problem) => json(
                        StatusCode::BAD_REQUEST,
                        &problem.to_json(),
                        "application/problem+json",
                    ),
                }
            }
            (Method::POST, p) if p.starts_with("/jmap/upload/") => {
                let account = &p["/jmap/upload/".len()..];
                if account != sansmail_jmap::account_id(&user) {
                    return plain(StatusCode::NOT_FOUND, "not found\n");
                }
                let kind = request
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let limit = self.jmap.limits().max_size_upload;
                let answer = match Limited::new(request.into_body(), limit).collect().await {
                    Ok(body) => self.jmap.upload(&user, &kind, body.to_bytes()),
                    Err(_) => Err(sansmail_jmap::Problem {
                        kind: "urn:ietf:params:jmap:error:limit",
                        detail: format!("the upload is over {limit} octets"),
                        limit: Some("maxSizeUpload"),
                    }),
                };
                match answer {
                    Ok(value) => json(StatusCode::CREATED, &value, "application/json"),
                    Err(problem) => json(
                        StatusCode::BAD_REQUEST,
                        &problem.to_json(),
                        "application/problem+json",
                    ),
                }
            }
            (Method::GET, p) if p.starts_with("/jmap/download/") => {
                // /jmap/download/{accountId}/{blobId}/{name}
                let mut parts = p["/jmap/download/".len()..].splitn(3, '/');
                let (Some(account), Some(blob)) = (parts.next(), parts.next()) else {
                    return plain(StatusCode::NOT_FOUND, "not found\n");
                };
                if account != sansmail_jmap::account_id(&user) {
                    return plain(StatusCode::NOT_FOUND, "not found\n");
                }
                let kind = request
                    .uri()
                    .query()
                    .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("type=")))
                    .map(|t| t.replace("%2F", "/").replace("%2f", "/"))
                    .filter(|t| t.bytes().all(|b| b.is_ascii_graphic()))
                    .unwrap_or_else(|| "application/octet-stream".into());
                match self.jmap.download(&user, blob).await {
                    Some(bytes) => {
                        let mut response = Response::new(WebBody::Whole(Full::new(bytes)));
                        if let Ok(value) = header::HeaderValue::from_str(&kind) {
                            response.headers_mut().insert(header::CONTENT_TYPE, value);
                        }
                        response
                    }
                    None => plain(StatusCode::NOT_FOUND, "not found\n"),
                }
            }
            (Method::GET, "/jmap/eventsource") => self.events(user, request.uri().query()),
            (Method::GET, "/jmap/ws") => self.websocket(user, request),
            (Method::GET | Method::POST, _) => plain(StatusCode::NOT_FOUND, "not found\n"),
            _ => plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n"),
        }
    }

    /// JMAP over WebSocket (RFC 8887): the upgrade (with the `jmap`
    /// subprotocol; from our own origin when a browser names one), then
    /// Request objects answered by Response or RequestError objects, and
    /// StateChange pushes between `WebSocketPushEnable` and
    /// `WebSocketPushDisable`.
    fn websocket(
        self: &Arc<Self>,
        user: String,
        mut request: Request<Incoming>,
    ) -> Response<WebBody> {
        let headers = request.headers();
        let has = |name: header::HeaderName, token: &str| {
            headers.get_all(name).iter().any(|v| {
                v.to_str()
                    .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
            })
        };
        if !has(header::UPGRADE, "websocket") || !has(header::CONNECTION, "upgrade") {
            return plain(
                StatusCode::BAD_REQUEST,
                "a WebSocket upgrade is expected here\n",
            );
        }
        if !has(header::SEC_WEBSOCKET_PROTOCOL, "jmap") {
            return plain(
                StatusCode::BAD_REQUEST,
                "the jmap subprotocol is required\n",
            );
        }
        if crate::webmail::foreign_origin(headers) {
            return plain(StatusCode::FORBIDDEN, "WebSocket from another origin\n");
        }
        let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
            return plain(StatusCode::BAD_REQUEST, "no Sec-WebSocket-Key\n");
        };
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
        let upgrade = hyper::upgrade::on(&mut request);
        let this = self.clone();
        tokio::spawn(async move {
            if let Ok(upgraded) = upgrade.await {
                let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                    .max_message_size(Some(this.jmap.limits().max_size_request));
                let socket = tokio_tungstenite::WebSocketStream::from_raw_socket(
                    hyper_util::rt::TokioIo::new(upgraded),
                    tokio_tungstenite::tungstenite::protocol::Role::Server,
                    Some(config),
                )
                .await;
                this.websocket_session(&user, socket).await;
            }
        });
        let mut response = Response::new(WebBody::Whole(Full::new(Bytes::new())));
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(
            header::UPGRADE,
            header::HeaderValue::from_static("websocket"),
        );
        headers.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("Upgrade"),
        );
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            header::HeaderValue::from_static("jmap"),
        );
        if let Ok(value) = header::HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
        }
        response
    }

    /// One WebSocket session of `user` until either side closes it.
    async fn websocket_session<S>(
        &self,
        user: &str,
        mut socket: tokio_tungstenite::WebSocketStream<S>,
    ) where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        use futures_util::{SinkExt as _, StreamExt as _};
        use tokio_tungstenite::tungstenite::Message;
        let mut push: Option<(Option<Vec<String>>, Option<Value>)> = None;
        let mut changes = None;
        loop {
            // With push on, the StateChange not yet sent, if any; the watch
            // is taken first, so a change while it is read is not lost.
            if let Some((types, last)) = &mut push
                && let Ok(watch) = self.jmap.watch(user).await
                && let Ok(change) = self.jmap.state_change(user).await
            {
                changes = Some(watch);
                let change = filter_types(change, types.as_deref());
                if last.as_ref() != Some(&change) {
                    let text = serde_json::to_string(&change).unwrap_or_default();
                    if socket.send(Message::text(text)).await.is_err() {
                        return;
                    }
                    *last = Some(change);
                }
            }
            let message = tokio::select! {
                message = socket.next() => message,
                _ = async { changes.as_mut()?.wait().await; Some(()) }, if changes.is_some() => continue,
                _ = tokio::time::sleep(Duration::from_secs(60)) => {
                    if socket.send(Message::Ping(Bytes::new())).await.is_err() {
                        return;
                    }
                    continue;
                }
            };
            let text = match message {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Binary(_))) => {
                    let error = request_error(
                        None,
                        "urn:ietf:params:jmap:error:notJSON",
                        "binary messages are not JMAP",
                        None,
                    );
                    if socket.send(Message::text(error.to_string())).await.is_err() {
                        return;
                    }
                    continue;
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
            };
            let value: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
            let id = value.get("id").cloned();
            let reply = match value.get("@type").and_then(Value::as_str) {
                Some("Request") => match self.jmap.api(user, text.as_bytes()).await {
                    Ok(mut answer) => {
                        answer["@type"] = Value::from("Response");
                        if let Some(id) = id {
                            answer["requestId"] = id;
                        }
                        Some(answer)
                    }
                    Err(problem) => Some(request_error(
                        id,
                        problem.kind,
                        &problem.detail,
                        problem.limit,
                    )),
                },
                Some("WebSocketPushEnable") => {
                    let types = value
                        .get("dataTypes")
                        .and_then(Value::as_array)
                        .map(|list| {
                            list.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        });
                    push = Some((types, None));
                    None
                }
                Some("WebSocketPushDisable") => {
                    push = None;
                    None
                }
                _ if value.is_null() => Some(request_error(
                    id,
                    "urn:ietf:params:jmap:error:notJSON",
                    "the message is not JSON",
                    None,
                )),
                _ => Some(request_error(
                    id,
                    "urn:ietf:params:jmap:error:notRequest",
                    "@type must be Request, WebSocketPushEnable or WebSocketPushDisable",
                    None,
                )),
            };
            if let Some(reply) = reply
                && socket.send(Message::text(reply.to_string())).await.is_err()
            {
                return;
            }
        }
    }

    /// Push over EventSource (RFC 8620 §7.3): a `state` event with the
    /// account's StateChange at once and after each change, `ping` events
    /// every `ping` seconds when asked, closing after the first state event
    /// with `closeafter=state`.
    fn events(self: &Arc<Self>, user: String, query: Option<&str>) -> Response<WebBody> {
        let param = |name: &str| {
            query.and_then(|q| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .map(str::to_owned)
            })
        };
        let close_after_state = param("closeafter").as_deref() == Some("state");
        let ping = param("ping")
            .and_then(|p| p.parse::<u64>().ok())
            .filter(|p| *p > 0)
            .map(|p| Duration::from_secs(p.max(MIN_PING)));
        let (tx, rx) = mpsc::channel::<Bytes>(8);
        let this = self.clone();
        tokio::spawn(async move {
            let mut last = None;
            loop {
                // The watch is taken before the state is read, so a change
                // between the two is not lost.
                let Ok(mut changes) = this.jmap.watch(&user).await else {
                    break;
                };
                let Ok(change) = this.jmap.state_change(&user).await else {
                    break;
                };
                if last.as_ref() != Some(&change) {
                    let event = format!("event: state\ndata: {change}\n\n");
                    if tx.send(Bytes::from(event)).await.is_err() {
                        break;
                    }
                    last = Some(change);
                    if close_after_state {
                        break;
                    }
                }
                let ping_after = ping.unwrap_or(Duration::from_secs(86_400));
                tokio::select! {
                    _ = changes.wait() => {}
                    _ = tokio::time::sleep(ping_after) => {
                        if let Some(every) = ping {
                            let event = format!("event: ping\ndata: {{\"interval\":{}}}\n\n", every.as_secs());
                            if tx.send(Bytes::from(event)).await.is_err() {
                                break;
                            }
                        }
                    }
                    _ = tx.closed() => break,
                }
            }
        });
        let mut response = Response::new(WebBody::Events(rx));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-cache"),
        );
        response
    }
}

/// A RequestError object (RFC 8887 §4.3.4).
fn request_error(id: Option<Value>, kind: &str, detail: &str, limit: Option<&str>) -> Value {
    let mut error =
        serde_json::json!({"@type": "RequestError", "type": kind, "status": 400, "detail": detail});
    if let Some(id) = id {
        error["requestId"] = id;
    }
    if let Some(limit) = limit {
        error["limit"] = Value::from(limit);
    }
    error
}

/// A StateChange with only the data types in `types` (all when `None`).
fn filter_types(mut change: Value, types: Option<&[String]>) -> Value {
    if let Some(types) = types
        && let Some(changed) = change.get_mut("changed").and_then(Value::as_object_mut)
    {
        for account in changed.values_mut() {
            if let Some(states) = account.as_object_mut() {
                states.retain(|name, _| types.iter().any(|t| t == name));
            }
        }
    }
    change
}
