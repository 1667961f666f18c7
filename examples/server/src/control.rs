//! The control socket: `DATA/control.sock` (mode 0600, so only the
//! server's own user reaches it), through which the admin commands
//! (`mail-server queue ...`, `user ...`, `reload`, `cert renew`) act on the
//! running server.
//!
//! One request per connection: a JSON line `{"args": [...], "input": ...}`,
//! answered by a JSON line `{"ok": bool, "text": "..."}`.

use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::acme::Acme;
use crate::queue::{Envelope, Queue, State, now};
use crate::relay::Relay;

/// The socket's name in the data directory.
pub const SOCKET: &str = "control.sock";
/// The largest request taken (a command and a password).
const MAX_REQUEST: usize = 64 * 1024;

/// One admin command.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// The command words, e.g. `["queue", "hold", "ID"]`.
    pub args: Vec<String>,
    /// What the command reads from standard input (a password).
    #[serde(default)]
    pub input: Option<String>,
}

/// The server's answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Response {
    /// True when the command did what it was asked.
    pub ok: bool,
    /// What to print (the error when not `ok`).
    pub text: String,
}

/// What a command may act on: the server hands these over at start.
pub struct Handles {
    /// The outbound queue.
    pub queue: Arc<Queue>,
    /// The delivery workers (woken on retry, asked whether a message is busy).
    pub relay: Arc<Relay>,
    /// Users and configuration reloading.
    pub admin: Arc<dyn Admin>,
    /// The ACME client, when certificates come from one.
    pub acme: Option<Arc<Acme>>,
}

/// What the server does for the user and reload commands.
pub trait Admin: Send + Sync {
    /// Re-reads the configuration (users, aliases, domains, certificates);
    /// returns a summary.
    fn reload(&self) -> Result<String, String>;
    /// The users: name and whether the configuration file defines it.
    fn users(&self) -> Vec<(String, bool)>;
    /// Adds `name` or changes its password (`create` says which is meant).
    fn set_password(&self, name: &str, password: &str, create: bool) -> Result<(), String>;
    /// Removes `name`.
    fn remove_user(&self, name: &str) -> Result<(), String>;
}

/// Serves the control socket at `data/control.sock` until `stop`. Fails
/// when another server already answers there.
pub async fn serve(
    data: &Path,
    handles: Arc<Handles>,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let path = data.join(SOCKET);
    if UnixStream::connect(&path).await.is_ok() {
        return Err(format!(
            "another mail-server is running on {} (its control socket answers)",
            data.display()
        ));
    }
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    #[cfg(unix)]
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(tokio::spawn(accept(listener, path, handles, stop)))
}

async fn accept(
    listener: UnixListener,
    path: PathBuf,
    handles: Arc<Handles>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let handles = handles.clone();
        tokio::spawn(async move {
            let limit = Duration::from_secs(120);
            if tokio::time::timeout(limit, answer(stream, handles))
                .await
                .is_err()
            {
                warn!("control command timed out");
            }
        });
    }
    let _ = std::fs::remove_file(path);
}

async fn answer(stream: UnixStream, handles: Arc<Handles>) {
    let (read, mut write) = stream.into_split();
    let mut line = Vec::new();
    let mut reader = BufReader::new(read).take(MAX_REQUEST as u64);
    let response = match reader.read_until(b'\n', &mut line).await {
        Ok(_) => match serde_json::from_slice::<Request>(&line) {
            Ok(request) => {
                let words = request.args.join(" ");
                let response = run(request, handles).await;
                // Passwords are never logged; the words are.
                info!(command = %words, ok = response.ok, "admin command");
                response
            }
            Err(e) => failure(format!("bad request: {e}")),
        },
        Err(e) => failure(format!("cannot read the request: {e}")),
    };
    let mut json = serde_json::to_vec(&response).unwrap_or_default();
    json.push(b'\n');
    let _ = write.write_all(&json).await;
}

fn failure(text: impl Into<String>) -> Response {
    Response {
        ok: false,
        text: text.into(),
    }
}

fn success(text: impl Into<String>) -> Response {
    Response {
        ok: true,
        text: text.into(),
    }
}

/// Runs one command off the reactor (the queue and user files are
/// blocking I/O, password hashing is slow on purpose).
async fn run(request: Request, handles: Arc<Handles>) -> Response {
    let args: Vec<&str> = request.args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["cert", "renew"] => match &handles.acme {
            Some(acme) => match acme.renew().await {
                Ok(summary) => success(format!("renewed: {summary}")),
                Err(e) => failure(format!("renewal failed: {e}")),
            },
            None => failure("certificates do not come from ACME here ([tls.acme] is not set)"),
        },
        _ => {
            let wake = handles.relay.clone();
            let response = tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = request.args.iter().map(String::as_str).collect();
                blocking(&args, request.input.as_deref(), &handles)
            })
            .await
            .unwrap_or_else(|e| failure(format!("the command failed: {e}")));
            // A retried or released message is due now.
            wake.wake.notify_one();
            response
        }
    }
}

fn blocking(args: &[&str], input: Option<&str>, h: &Handles) -> Response {
    let result = match args {
        ["queue", "list"] => Ok(queue_list(&h.queue.list(), now())),
        ["queue", "show", id] => h
            .queue
            .load(id)
            .map(|(env, msg)| queue_show(&env, &msg, now()))
            .map_err(|e| not_found(id, e)),
        ["queue", "retry"] => {
            let ids = h.queue.unheld();
            let mut done = 0;
            for id in &ids {
                if !h.relay.is_busy(id) && h.queue.retry_now(id).is_ok() {
                    done += 1;
                }
            }
            Ok(format!("{done} message(s) due now"))
        }
        ["queue", "retry", id] => h
            .queue
            .retry_now(id)
            .map(|()| format!("{id}: due now"))
            .map_err(|e| not_found(id, e)),
        ["queue", "hold", id] => h
            .queue
            .set_held(id, true)
            .map(|()| format!("{id}: held"))
            .map_err(|e| not_found(id, e)),
        ["queue", "release", id] => h
            .queue
            .set_held(id, false)
            .and_then(|()| h.queue.retry_now(id))
            .map(|()| format!("{id}: released, due now"))
            .map_err(|e| not_found(id, e)),
        ["queue", "delete", id] if h.relay.is_busy(id) => Err(format!(
            "{id} is being delivered now; hold it, or try again in a moment"
        )),
        ["queue", "delete", id] => h
            .queue
            .remove(id)
            .map(|()| format!("{id}: deleted"))
            .map_err(|e| not_found(id, e)),
        ["user", "list"] => Ok(h
            .admin
            .users()
            .into_iter()
            .map(|(name, from_config)| match from_config {
                true => format!("{name}\t(configuration file)\n"),
                false => format!("{name}\n"),
            })
            .collect()),
        ["user", verb @ ("add" | "passwd"), name] => match input {
            Some(password) if !password.is_empty() => h
                .admin
                .set_password(name, password, *verb == "add")
                .map(|()| match *verb {
                    "add" => format!("{name}: added"),
                    _ => format!("{name}: password changed"),
                }),
            _ => Err("no password given on standard input".into()),
        },
        ["user", "del", name] => h
            .admin
            .remove_user(name)
            .map(|()| format!("{name}: removed (their mail is kept on disk)")),
        ["reload"] => h.admin.reload(),
        _ => Err(format!("unknown command {:?}", args.join(" "))),
    };
    match result {
        Ok(text) => success(text),
        Err(e) => failure(e),
    }
}

fn not_found(id: &str, e: io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => format!("no message {id} in the queue"),
        _ => format!("{id}: {e}"),
    }
}

/// `3m`, `2h`, `4d`: a short age.
fn age(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// The queue as `queue list` prints it: per message its id, age, size of
/// recipients and sender, then each recipient with its state and last
/// reply, and when the next attempt is.
pub fn queue_list(envelopes: &[Envelope], now: u64) -> String {
    if envelopes.is_empty() {
        return "the queue is empty\n".into();
    }
    let mut out = String::new();
    for env in envelopes {
        let from = if env.from.is_empty() { "<>" } else { &env.from };
        let next = match (env.held, env.next_attempt.saturating_sub(now)) {
            (true, _) => "held".to_owned(),
            (false, 0) => "next attempt now".to_owned(),
            (false, wait) => format!("next attempt in {}", age(wait)),
        };
        out.push_str(&format!(
            "{}  age {}  from {}  attempts {}  {}\n",
            env.id,
            age(now.saturating_sub(env.created)),
            from,
            env.attempts,
            next
        ));
        for r in &env.recipients {
            let state = match r.state {
                State::Pending => "pending",
                State::Delivered => "delivered",
                State::Failed => "failed",
            };
            let reply = if r.reply.is_empty() {
                "(not tried yet)"
            } else {
                &r.reply
            };
            out.push_str(&format!("    {} {state}: {reply}\n", r.address));
        }
    }
    out
}

/// One message as `queue show` prints it: its envelope, then its header.
fn queue_show(env: &Envelope, message: &[u8], now: u64) -> String {
    let mut out = queue_list(std::slice::from_ref(env), now);
    if env.require_tls {
        out.push_str("    REQUIRETLS\n");
    }
    out.push_str(&format!("size {} octets\n\n", message.len()));
    let head_end = memchr::memmem::find(message, b"\r\n\r\n").map_or(message.len(), |i| i + 2);
    out.push_str(&String::from_utf8_lossy(&message[..head_end]));
    out
}

/// Sends one command to the server running on `data` and returns its
/// answer; the error says when no server runs there.
pub fn send(data: &Path, request: &Request) -> Result<Response, String> {
    let path = data.join(SOCKET);
    let mut stream = std::os::unix::net::UnixStream::connect(&path).map_err(|e| {
        format!(
            "no mail-server is running on {} ({}: {e})",
            data.display(),
            path.display()
        )
    })?;
    stream
        .set_read_timeout(Some(Duration::from_secs(150)))
        .map_err(|e| e.to_string())?;
    let mut json = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    json.push(b'\n');
    stream.write_all(&json).map_err(|e| e.to_string())?;
    let mut line = String::new();
    io::BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| format!("no answer from the server: {e}"))?;
    serde_json::from_str(&line).map_err(|e| format!("a bad answer from the server: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Recipient;

    #[test]
    fn the_listing_shows_each_recipient_and_the_schedule() {
        let env = Envelope {
            id: "abc".into(),
            from: String::new(),
            recipients: vec![
                Recipient {
                    address: "a@example.net".into(),
                    state: State::Pending,
                    reply: "451 4.4.1 example.net: connection refused".into(),
                    reported: false,
                },
                Recipient {
                    address: "b@example.net".into(),
                    state: State::Delivered,
                    reply: "250 2.0.0 ok".into(),
                    reported: false,
                },
            ],
            created: 1_000,
            attempts: 2,
            next_attempt: 1_000 + 3_700,
            require_tls: false,
            held: false,
        };
        let text = queue_list(std::slice::from_ref(&env), 1_000 + 300);
        assert!(text.starts_with("abc  age 5m  from <>  attempts 2  next attempt in 56m\n"));
        assert!(
            text.contains("    a@example.net pending: 451 4.4.1 example.net: connection refused\n")
        );
        assert!(text.contains("    b@example.net delivered: 250 2.0.0 ok\n"));
        let held = Envelope { held: true, ..env };
        assert!(queue_list(&[held], 1_000).contains("  held\n"));
        assert_eq!(queue_list(&[], 0), "the queue is empty\n");
    }
}
