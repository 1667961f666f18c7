//! The webmail, served at `/` on the web listener: a single-page app
//! (its HTML, script and style embedded in the binary) that speaks JMAP to
//! the same listener. A login opens a session kept in an HttpOnly, Secure,
//! SameSite=Strict cookie; every state-changing request also carries the
//! session's CSRF token in `X-CSRF-Token`. Messages are shown through
//! `/webmail/render/{emailId}`: their HTML cleaned by `ammonia`, inline
//! (`cid:`) images carried as `data:` URLs, remote images dropped until the
//! reader asks for them, in a document whose Content-Security-Policy
//! sandboxes it (no script runs) and forbids every fetch but the allowed
//! images.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::accounts;
use crate::jmap_http::{JmapHttp, WebBody};

/// The session cookie's name.
const COOKIE: &str = "sansmail_session";
/// How long a session lasts after login.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// The most inline image data one rendered message carries.
const INLINE_IMAGE_LIMIT: usize = 8 << 20;
/// The policy of the app's own pages: its script, style and same-origin
/// requests only.
const APP_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; \
    base-uri 'none'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("../webmail/index.html");
const APP_JS: &str = include_str!("../webmail/app.js");
const APP_CSS: &str = include_str!("../webmail/app.css");

/// Logged-in browser sessions: cookie token → user, CSRF token, expiry.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

struct Session {
    user: String,
    csrf: String,
    expires: Instant,
}

/// Equal strings, compared in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Sessions {
    /// Opens a session for `user`: (cookie token, CSRF token).
    pub fn open(&self, user: &str) -> (String, String) {
        let (token, csrf) = (crate::tokens::random(), crate::tokens::random());
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        map.insert(
            token.clone(),
            Session {
                user: user.to_owned(),
                csrf: csrf.clone(),
                expires: now + SESSION_LIFETIME,
            },
        );
        (token, csrf)
    }

    /// The user and CSRF token of a live session.
    fn find(&self, token: &str) -> Option<(String, String)> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token)
            .filter(|s| s.expires > Instant::now())
            .map(|s| (s.user.clone(), s.csrf.clone()))
    }

    /// Ends a session.
    fn close(&self, token: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(token);
    }

    /// The user and CSRF token of the session a request's cookie names.
    fn of<B>(&self, request: &Request<B>) -> Option<(String, String)> {
        self.find(&session_cookie(request)?)
    }

    /// The user a request's session cookie opens: for methods that change
    /// state (anything but GET and HEAD) only with the session's CSRF
    /// token in `X-CSRF-Token`.
    pub fn user_of<B>(&self, request: &Request<B>) -> Option<String> {
        let (user, csrf) = self.of(request)?;
        if matches!(*request.method(), Method::GET | Method::HEAD) {
            return Some(user);
        }
        let sent = request.headers().get("x-csrf-token")?.to_str().ok()?;
        same(sent, &csrf).then_some(user)
    }
}

/// The session token in a request's `Cookie` header.
fn session_cookie<B>(request: &Request<B>) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_owned())
        })
}

/// True when a browser names an `Origin` other than the `Host` asked for
/// (a page of another site sent the request).
pub fn foreign_origin(headers: &header::HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| origin.split_once("://").map_or("", |(_, a)| a) != host)
}

/// True for the paths the webmail answers.
pub fn is_webmail_path(path: &str) -> bool {
    path == "/" || path == "/index.html" || path.starts_with("/webmail/")
}

/// The webmail as the web listener serves it.
pub struct Webmail {
    /// JMAP (its login check, sessions and request processing).
    pub jmap: Arc<JmapHttp>,
}

/// Adds the headers every webmail response carries.
fn hardened(
    mut response: Response<WebBody>,
    policy: &str,
    frame: &'static str,
) -> Response<WebBody> {
    let headers = response.headers_mut();
    if let Ok(value) = header::HeaderValue::from_str(policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", frame),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    response
}

fn body(status: StatusCode, content_type: &'static str, bytes: Bytes) -> Response<WebBody> {
    let mut response = Response::new(WebBody::Whole(Full::new(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

fn json_answer(status: StatusCode, value: &Value) -> Response<WebBody> {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    body(status, "application/json", Bytes::from(bytes))
}

impl Webmail {
    /// Answers one request for a webmail path.
    pub async fn respond(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<WebBody> {
        let path = request.uri().path().to_owned();
        let response = match (request.method().clone(), path.as_str()) {
            (Method::GET | Method::HEAD, "/" | "/index.html") => body(
                StatusCode::OK,
                "text/html; charset=utf-8",
                Bytes::from_static(INDEX_HTML.as_bytes()),
            ),
            (Method::GET | Method::HEAD, "/webmail/app.js") => body(
                StatusCode::OK,
                "text/javascript; charset=utf-8",
                Bytes::from_static(APP_JS.as_bytes()),
            ),
            (Method::GET | Method::HEAD, "/webmail/app.css") => body(
                StatusCode::OK,
                "text/css; charset=utf-8",
                Bytes::from_static(APP_CSS.as_bytes()),
            ),
            (Method::POST, "/webmail/login") => self.login(request, peer).await,
            (Method::GET, "/webmail/me") => match self.jmap.sessions.of(&request) {
                Some((user, csrf)) => json_answer(
                    StatusCode::OK,
                    &json!({"user": user, "csrf": csrf,
                                "accountId": sansmail_jmap::account_id(&user)}),
                ),
                None => json_answer(StatusCode::UNAUTHORIZED, &json!({"error": "not logged in"})),
            },
            (Method::POST, "/webmail/logout") => {
                if self.jmap.sessions.user_of(&request).is_none() {
                    return hardened(
                        json_answer(StatusCode::FORBIDDEN, &json!({"error": "bad session"})),
                        APP_POLICY,
                        "DENY",
                    );
                }
                if let Some(token) = session_cookie(&request) {
                    self.jmap.sessions.close(&token);
                }
                let mut r = json_answer(StatusCode::OK, &json!({}));
                r.headers_mut().insert(
                    header::SET_COOKIE,
                    header::HeaderValue::from_static(
                        "sansmail_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
                    ),
                );
                r
            }
            (Method::GET | Method::HEAD, p) if p.starts_with("/webmail/render/") => {
                let Some(user) = self.jmap.sessions.user_of(&request) else {
                    return hardened(
                        body(
                            StatusCode::UNAUTHORIZED,
                            "text/plain; charset=utf-8",
                            Bytes::from_static(b"not logged in\n"),
                        ),
                        APP_POLICY,
                        "DENY",
                    );
                };
                let images = request
                    .uri()
                    .query()
                    .is_some_and(|q| q.split('&').any(|kv| kv == "images=1"));
                let id = p["/webmail/render/".len()..].to_owned();
                return self.render(&user, &id, images).await;
            }
            (Method::GET | Method::HEAD, _) => body(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                Bytes::from_static(b"not found\n"),
            ),
            _ => body(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                Bytes::from_static(b"method not allowed\n"),
            ),
        };
        hardened(response, APP_POLICY, "DENY")
    }

    /// `POST /webmail/login` with `{"user": ..., "password": ...}` as JSON
    /// (a type a cross-site form cannot send), from our own origin when the
    /// browser names one; the password check is the other services' (with
    /// their penalties and lockouts).
    async fn login(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<WebBody> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json || foreign_origin(request.headers()) {
            return json_answer(
                StatusCode::FORBIDDEN,
                &json!({"error": "log in from the webmail page"}),
            );
        }
        let Ok(collected) = Limited::new(request.into_body(), 64 * 1024).collect().await else {
            return json_answer(
                StatusCode::BAD_REQUEST,
                &json!({"error": "request too large"}),
            );
        };
        let form: Value = serde_json::from_slice(&collected.to_bytes()).unwrap_or(Value::Null);
        let (Some(login), Some(password)) = (form["user"].as_str(), form["password"].as_str())
        else {
            return json_answer(
                StatusCode::BAD_REQUEST,
                &json!({"error": "user and password are required"}),
            );
        };
        let Some(user) = accounts::login(&self.jmap.passwords, peer.ip(), login, password).await
        else {
            return json_answer(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "wrong user name or password"}),
            );
        };
        let (token, csrf) = self.jmap.sessions.open(&user);
        let mut response = json_answer(
            StatusCode::OK,
            &json!({"user": user, "csrf": csrf, "accountId": sansmail_jmap::account_id(&user)}),
        );
        let cookie = format!(
            "{COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
            SESSION_LIFETIME.as_secs()
        );
        if let Ok(value) = header::HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        response
    }

    /// One message as a sandboxed HTML document; `X-Blocked-Images` says
    /// how many remote images were left out.
    async fn render(&self, user: &str, id: &str, images: bool) -> Response<WebBody> {
        let call = json!({
            "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
            "methodCalls": [["Email/get", {
                "accountId": sansmail_jmap::account_id(user),
                "ids": [id],
                "properties": ["htmlBody", "textBody", "bodyValues", "attachments"],
                "fetchHTMLBodyValues": true,
            }, "r"]],
        });
        let request = serde_json::to_vec(&call).unwrap_or_default();
        let answer = self.jmap.jmap.api(user, &request).await.ok();
        let email = answer
            .as_ref()
            .map(|a| &a["methodResponses"][0][1]["list"][0])
            .filter(|e| e.is_object());
        let Some(email) = email else {
            return hardened(
                body(
                    StatusCode::NOT_FOUND,
                    "text/plain; charset=utf-8",
                    Bytes::from_static(b"no such message\n"),
                ),
                APP_POLICY,
                "DENY",
            );
        };
        let inline = self.inline_images(user, email).await;
        let blocked = Arc::new(AtomicUsize::new(0));
        let mut content = String::new();
        for part in email["htmlBody"].as_array().into_iter().flatten() {
            let value = part["partId"]
                .as_str()
                .and_then(|p| email["bodyValues"][p]["value"].as_str())
                .unwrap_or("");
            match part["type"].as_str().unwrap_or("") {
                "text/html" => {
                    content.push_str(&sanitise(value, inline.clone(), images, blocked.clone()))
                }
                t if t.starts_with("text/") => {
                    content.push_str("<pre>");
                    content.push_str(&ammonia::clean_text(value));
                    content.push_str("</pre>");
                }
                _ => {}
            }
        }
        let policy = format!(
            "default-src 'none'; img-src data:{}; style-src 'unsafe-inline'; \
             sandbox allow-popups allow-popups-to-escape-sandbox; frame-ancestors 'self'",
            if images { " https: http:" } else { "" }
        );
        let document = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><base target=\"_blank\">\
             <style>body{{font:14px/1.45 system-ui,sans-serif;margin:12px;overflow-wrap:anywhere}}\
             img{{max-width:100%;height:auto}}pre{{white-space:pre-wrap;font:13px/1.4 ui-monospace,monospace}}</style>\
             </head><body>{content}</body></html>"
        );
        let mut response = body(
            StatusCode::OK,
            "text/html; charset=utf-8",
            Bytes::from(document),
        );
        response.headers_mut().insert(
            "x-blocked-images",
            header::HeaderValue::from(blocked.load(Ordering::Relaxed)),
        );
        hardened(response, &policy, "SAMEORIGIN")
    }

    /// The email's inline images by Content-ID, as `data:` URLs (up to
    /// [`INLINE_IMAGE_LIMIT`] in all).
    async fn inline_images(&self, user: &str, email: &Value) -> Arc<HashMap<String, String>> {
        let mut map = HashMap::new();
        let mut total = 0;
        for part in email["attachments"].as_array().into_iter().flatten() {
            let (Some(cid), Some(blob), Some(kind)) = (
                part["cid"].as_str(),
                part["blobId"].as_str(),
                part["type"].as_str(),
            ) else {
                continue;
            };
            if !kind.starts_with("image/") || !kind.bytes().all(|b| b.is_ascii_graphic()) {
                continue;
            }
            let Some(bytes) = self.jmap.jmap.download(user, blob).await else {
                continue;
            };
            total += bytes.len();
            if total > INLINE_IMAGE_LIMIT {
                break;
            }
            let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
            map.insert(cid.to_owned(), format!("data:{kind};base64,{encoded}"));
        }
        Arc::new(map)
    }
}

/// CSS properties kept in `style` attributes: layout and type, nothing
/// that can name a URL.
const STYLE_PROPERTIES: &[&str] = &[
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "text-align",
    "text-decoration",
    "line-height",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-collapse",
    "width",
    "max-width",
    "height",
    "vertical-align",
    "white-space",
    "display",
];

/// `html` cleaned for display: no script, no event handler, no form, no
/// stylesheet or URL in CSS; `cid:` images from `inline`; remote images
/// only when `images`, each one left out counted in `blocked`.
pub fn sanitise(
    html: &str,
    inline: Arc<HashMap<String, String>>,
    images: bool,
    blocked: Arc<AtomicUsize>,
) -> String {
    ammonia::Builder::default()
        .add_generic_attributes(["style"])
        .filter_style_properties(STYLE_PROPERTIES.iter().copied().collect())
        .add_url_schemes(["data", "cid"])
        .attribute_filter(move |element, attribute, value| {
            let lower = value.trim_start().to_ascii_lowercase();
            match (element, attribute) {
                ("img", "src") => {
                    if let Some(cid) = lower.strip_prefix("cid:") {
                        let cid = cid.trim_start_matches('<').trim_end_matches('>');
                        return inline
                            .iter()
                            .find(|(k, _)| k.trim_matches(['<', '>']).eq_ignore_ascii_case(cid))
                            .map(|(_, url)| url.clone().into());
                    }
                    if lower.starts_with("data:image/") {
                        return Some(value.into());
                    }
                    if images && (lower.starts_with("https:") || lower.starts_with("http:")) {
                        return Some(value.into());
                    }
                    blocked.fetch_add(1, Ordering::Relaxed);
                    None
                }
                // Elsewhere no data: or cid: URL, and no image source set.
                (_, "srcset") => None,
                _ if lower.starts_with("data:") || lower.starts_with("cid:") => None,
                _ => Some(value.into()),
            }
        })
        .clean(html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str, images: bool) -> (String, usize) {
        let blocked = Arc::new(AtomicUsize::new(0));
        let mut inline = HashMap::new();
        inline.insert(
            "<logo@x>".to_owned(),
            "data:image/png;base64,AAAA".to_owned(),
        );
        let out = sanitise(html, Arc::new(inline), images, blocked.clone());
        (out, blocked.load(Ordering::Relaxed))
    }

    #[test]
    fn scripts_handlers_and_forms_are_removed() {
        let (out, _) = clean(
            "<p onclick=\"x()\">Hi<script>alert(1)</script></p><form action=/x><input></form>\
             <a href=\"javascript:alert(1)\">j</a><iframe src=//e></iframe><style>p{}</style>",
            false,
        );
        for bad in [
            "script",
            "onclick",
            "form",
            "input",
            "javascript",
            "iframe",
            "<style",
        ] {
            assert!(!out.contains(bad), "{bad} in {out}");
        }
        assert!(out.contains("<p>Hi</p>"), "{out}");
    }

    #[test]
    fn remote_images_wait_for_the_reader_and_inline_ones_are_carried() {
        let html = "<img src=\"http://tracker.example/p.gif\"><img src=\"cid:logo@x\">";
        let (out, blocked) = clean(html, false);
        assert_eq!(blocked, 1);
        assert!(!out.contains("tracker"), "{out}");
        assert!(out.contains("data:image/png;base64,AAAA"), "{out}");
        let (out, blocked) = clean(html, true);
        assert_eq!(blocked, 0);
        assert!(out.contains("http://tracker.example/p.gif"), "{out}");
    }

    #[test]
    fn css_keeps_its_look_but_names_no_url() {
        let (out, _) = clean(
            "<p style=\"color: red; background: url(http://t.example/x)\">x</p>",
            true,
        );
        assert!(out.contains("color:red"), "{out}");
        assert!(!out.contains("url("), "{out}");
        let (out, _) = clean("<a href=\"data:text/html,<script>x</script>\">d</a>", true);
        assert!(!out.contains("data:"), "{out}");
    }

    #[test]
    fn csrf_tokens_are_required_for_changes() {
        let sessions = Sessions::default();
        let (token, csrf) = sessions.open("alice");
        let request = |method: Method, csrf: Option<&str>| {
            let mut b = Request::builder()
                .method(method)
                .uri("/jmap/api")
                .header(header::COOKIE, format!("other=1; {COOKIE}={token}"));
            if let Some(c) = csrf {
                b = b.header("x-csrf-token", c);
            }
            b.body(()).unwrap()
        };
        assert_eq!(
            sessions.user_of(&request(Method::GET, None)).as_deref(),
            Some("alice")
        );
        assert_eq!(sessions.user_of(&request(Method::POST, None)), None);
        assert_eq!(sessions.user_of(&request(Method::POST, Some("nope"))), None);
        assert_eq!(
            sessions
                .user_of(&request(Method::POST, Some(&csrf)))
                .as_deref(),
            Some("alice")
        );
        sessions.close(&token);
        assert_eq!(sessions.user_of(&request(Method::GET, None)), None);
    }
}
