//! Making emails: Email/set `create` (a message written from the JMAP
//! Email object, RFC 8621 §4.6), Email/import (§4.8), uploaded blobs
//! (RFC 8620 §6.1), and EmailSubmission/set (§7.5) through the caller's
//! [`Submit`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use sansmail_mime::Mailbox;
use sansmail_mime::builder::{Entity, MessageBuilder};
use sansmail_store::{EmailId, FlagSet, NewMessage, SystemFlag};

use crate::Context;
use crate::view::AccountView;

/// Sends a message on behalf of a user, as SMTP submission would (the
/// sender's addresses checked, DKIM, the queue, the limits).
pub trait Submit: Send + Sync {
    /// Submits `message` from `user` with envelope `from` → `to`; returns
    /// a queue id, or why it was refused.
    fn submit<'a>(
        &'a self,
        user: &'a str,
        from: &'a str,
        to: &'a [String],
        message: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;
}

/// How long an uploaded blob is kept (RFC 8620 asks for at least an hour).
const UPLOAD_LIFETIME: Duration = Duration::from_secs(3600);
/// Uploaded octets kept per user at most.
const UPLOADS_PER_USER: usize = 200_000_000;

/// One uploaded blob: its content, its media type, when it came.
type Upload = (bytes::Bytes, String, Instant);

/// Blobs uploaded and not yet used, per (user, blob id), in memory.
#[derive(Default)]
pub(crate) struct Uploads {
    blobs: Mutex<HashMap<(String, String), Upload>>,
}

impl Uploads {
    /// Keeps `data`; returns its blob id.
    pub(crate) fn put(&self, user: &str, kind: &str, data: bytes::Bytes) -> Result<String, String> {
        let digest = Sha256::digest(&data);
        let id = format!(
            "U{}",
            digest[..12]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let mut blobs = self.blobs.lock().unwrap_or_else(|e| e.into_inner());
        blobs.retain(|_, (_, _, at)| at.elapsed() < UPLOAD_LIFETIME);
        let held: usize = blobs
            .iter()
            .filter(|((u, _), _)| u == user)
            .map(|(_, (b, _, _))| b.len())
            .sum();
        if held + data.len() > UPLOADS_PER_USER {
            return Err("too much uploaded and not yet used".into());
        }
        blobs.insert(
            (user.to_owned(), id.clone()),
            (data, kind.to_owned(), Instant::now()),
        );
        Ok(id)
    }

    /// An uploaded blob of `user`.
    pub(crate) fn get(&self, user: &str, id: &str) -> Option<bytes::Bytes> {
        let blobs = self.blobs.lock().unwrap_or_else(|e| e.into_inner());
        blobs
            .get(&(user.to_owned(), id.to_owned()))
            .map(|(b, _, _)| b.clone())
    }
}

/// Randomness enough for Message-IDs and boundaries: a hash of the time,
/// a counter and `salt`.
fn unique(salt: &[u8]) -> u128 {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let digest = Sha256::new()
        .chain_update(now.as_nanos().to_be_bytes())
        .chain_update(n.to_be_bytes())
        .chain_update(salt)
        .finalize();
    u128::from_be_bytes(digest[..16].try_into().expect("16 octets"))
}

fn mailboxes_of(value: Option<&Value>) -> Result<Vec<Mailbox>, String> {
    let Some(list) = value.and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|a| {
            let email = a
                .get("email")
                .and_then(Value::as_str)
                .ok_or("an address has an email")?;
            let name = a
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty());
            Ok(Mailbox::new(name, email))
        })
        .collect()
}

/// The flags of a `keywords` object.
pub(crate) fn flags_of(value: Option<&Value>) -> Result<FlagSet, String> {
    let mut set = FlagSet::new();
    if let Some(keywords) = value.and_then(Value::as_object) {
        for (keyword, on) in keywords {
            if on != &Value::Bool(true) {
                return Err("keyword values are true".into());
            }
            match keyword.to_ascii_lowercase().as_str() {
                "$seen" => set.set(SystemFlag::Seen),
                "$flagged" => set.set(SystemFlag::Flagged),
                "$answered" => set.set(SystemFlag::Answered),
                "$draft" => set.set(SystemFlag::Draft),
                other => set.add_keyword(
                    sansmail_store::Keyword::new(other)
                        .map_err(|_| format!("{keyword:?} is not a keyword"))?,
                ),
            }
        }
    }
    Ok(set)
}

/// The mailbox positions of a `mailboxIds` object (at least one).
pub(crate) fn mailbox_positions(
    view: &AccountView,
    value: Option<&Value>,
) -> Result<Vec<usize>, String> {
    let ids = value
        .and_then(Value::as_object)
        .ok_or("mailboxIds is required")?;
    let positions = ids
        .keys()
        .map(|id| view.mailbox(id).ok_or(format!("no mailbox {id}")))
        .collect::<Result<Vec<_>, _>>()?;
    match positions.is_empty() {
        true => Err("an email is in at least one mailbox".into()),
        false => Ok(positions),
    }
}

/// Writes the message an Email creation object describes: addresses,
/// subject, threading fields, text and HTML bodies from `bodyValues`, and
/// attachments from blobs (`blob` finds their content).
pub(crate) fn write_message(
    object: &Map<String, Value>,
    domain: &str,
    blob: &dyn Fn(&str) -> Option<bytes::Bytes>,
) -> Result<Vec<u8>, String> {
    let values = object.get("bodyValues").and_then(Value::as_object);
    let text_of = |list: Option<&Value>| -> Result<Option<String>, String> {
        let Some(part) = list.and_then(Value::as_array).and_then(|l| l.first()) else {
            return Ok(None);
        };
        let id = part
            .get("partId")
            .and_then(Value::as_str)
            .ok_or("a body part names its partId")?;
        values
            .and_then(|v| v.get(id))
            .and_then(|v| v.get("value"))
            .and_then(Value::as_str)
            .map(|s| Some(s.to_owned()))
            .ok_or(format!("no bodyValues entry for part {id}"))
    };
    let text = text_of(object.get("textBody"))?;
    let html = text_of(object.get("htmlBody"))?;
    let body = match (text, html) {
        (Some(t), Some(h)) => Entity::alternative(vec![Entity::text(t), Entity::html(h)]),
        (None, Some(h)) => Entity::html(h),
        (Some(t), None) => Entity::text(t),
        (None, None) => Entity::text(""),
    };
    let mut attachments = Vec::new();
    for a in object
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = a
            .get("blobId")
            .and_then(Value::as_str)
            .ok_or("an attachment names its blobId")?;
        let data = blob(id).ok_or(format!("blob {id} not found"))?;
        let kind = a
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("application/octet-stream");
        let name = a
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("attachment");
        let entity = match a.get("cid").and_then(Value::as_str) {
            Some(cid) if a.get("disposition").and_then(Value::as_str) == Some("inline") => {
                Entity::inline(kind, cid, data.to_vec())
            }
            _ => Entity::attachment(kind, name, data.to_vec()),
        };
        attachments.push(entity);
    }
    let body = match attachments.is_empty() {
        true => body,
        false => {
            let mut parts = vec![body];
            parts.extend(attachments);
            Entity::mixed(parts)
        }
    };
    let mut message = MessageBuilder::new(body);
    let from = mailboxes_of(object.get("from"))?;
    if from.is_empty() {
        return Err("from is required".into());
    }
    message = message.from(from);
    for (field, key) in [("to", "to"), ("cc", "cc"), ("replyTo", "reply-to")] {
        let list = mailboxes_of(object.get(field))?;
        if !list.is_empty() {
            message = match key {
                "to" => message.to(list),
                "cc" => message.cc(list),
                _ => message.reply_to(list),
            };
        }
    }
    if let Some(subject) = object.get("subject").and_then(Value::as_str) {
        message = message.subject(subject);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    message = message.date(sansmail_mime::DateTime::from_unix_time(now, 0));
    let salt = serde_json::to_vec(object).unwrap_or_default();
    message = message.message_id(unique(&salt), domain);
    let references: Vec<String> = object
        .get("references")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if !references.is_empty() {
        message = message.in_reply_to(&references);
    }
    let mut bytes = Vec::new();
    // Bcc is kept in the stored copy (drafts, Sent); submission strips it.
    let bcc = mailboxes_of(object.get("bcc"))?;
    if !bcc.is_empty() {
        let list: Vec<String> = bcc
            .iter()
            .map(sansmail_mime::builder::format_mailbox)
            .collect();
        bytes.extend_from_slice(format!("Bcc: {}\r\n", list.join(", ")).as_bytes());
    }
    bytes.extend(message.to_vec(unique(b"boundary") as u64));
    Ok(bytes)
}

/// Appends `raw` to the mailboxes at `positions` with `flags`; returns the
/// created email's JSON (`id`, `blobId`, `threadId`, `size`).
pub(crate) async fn store(
    view: &AccountView,
    positions: &[usize],
    flags: FlagSet,
    received: Option<i64>,
    raw: Vec<u8>,
) -> Result<Value, String> {
    let size = raw.len();
    let id = EmailId::of_content(&raw);
    let first = &view.mailboxes[positions[0]].mailbox;
    let mut new = NewMessage::bytes(raw);
    new.flags = flags;
    new.received = received;
    let appended = first.append(vec![new]).await.map_err(|e| e.to_string())?;
    let uid = appended.uids[0];
    for position in &positions[1..] {
        first
            .copy_to(&[uid], &view.mailboxes[*position].mailbox)
            .await
            .map_err(|e| e.to_string())?;
    }
    let thread = first
        .index()
        .get(uid)
        .map(|e| e.thread_id.to_string())
        .unwrap_or_default();
    Ok(json!({"id": id.to_string(), "blobId": id.blob(), "threadId": thread, "size": size}))
}

/// The message without its `Bcc` fields (what is sent).
pub(crate) fn without_bcc(raw: &[u8]) -> Vec<u8> {
    let end = memchr_head_end(raw);
    let mut out = Vec::with_capacity(raw.len());
    let mut skipping = false;
    for line in raw[..end].split_inclusive(|&b| b == b'\n') {
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continuation {
            skipping = line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"bcc:");
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(&raw[end..]);
    out
}

fn memchr_head_end(raw: &[u8]) -> usize {
    raw.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |i| i + 2)
}

/// `Map` helper: the object under `key`.
pub(crate) fn object<'a>(
    args: &'a Map<String, Value>,
    key: &str,
) -> Option<&'a Map<String, Value>> {
    args.get(key).and_then(Value::as_object)
}

/// The key under which a method's result carries the implicit Email/set
/// response that follows it (taken out before the response is sent).
pub(crate) const IMPLICIT_EMAIL_SET: &str = "\u{0}implicit Email/set";

/// The content of a blob for a new message: uploaded, or an email's.
async fn blob_content(view: &AccountView, ctx: &Context<'_>, id: &str) -> Option<bytes::Bytes> {
    match ctx.uploads.get(ctx.user, id) {
        Some(data) => Some(data),
        None => crate::email::blob(view, id).await,
    }
}

/// Email/set's `create` of one email.
pub(crate) async fn create_email(
    view: &AccountView,
    object: &Map<String, Value>,
    ctx: &Context<'_>,
) -> Result<Value, String> {
    let positions = mailbox_positions(view, object.get("mailboxIds"))?;
    let flags = flags_of(object.get("keywords"))?;
    let mut blobs = HashMap::new();
    for a in object
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(id) = a.get("blobId").and_then(Value::as_str)
            && let Some(data) = blob_content(view, ctx, id).await
        {
            blobs.insert(id.to_owned(), data);
        }
    }
    let raw = write_message(object, ctx.domain, &|id| blobs.get(id).cloned())?;
    store(view, &positions, flags, None, raw).await
}

/// `2026-12-03T07:00:00Z` (or with an offset) as seconds since the epoch.
pub(crate) fn parse_utc(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[10] != b'T' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, s) = (
        n(0..4)?,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    );
    let date = sansmail_mime::date::parse_date(
        format!(
            "{d} {} {y} {h:02}:{mi:02}:{s:02} +0000",
            [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
            ]
            .get(usize::try_from(mo - 1).ok()?)?
        )
        .as_bytes(),
    )?;
    Some(date.unix_time())
}

/// Email/import: messages from blobs into mailboxes.
pub(crate) async fn import(
    view: &AccountView,
    args: &Map<String, Value>,
    limits: &crate::Limits,
    ctx: &mut Context<'_>,
) -> crate::MethodResult {
    let old_state = view.session_state();
    let emails =
        object(args, "emails").ok_or_else(|| crate::MethodError::invalid("emails is required"))?;
    if emails.len() > limits.max_objects_in_set {
        return Err(crate::MethodError::new(
            "requestTooLarge",
            "too many emails",
        ));
    }
    let (mut created, mut not_created) = (Map::new(), Map::new());
    for (cid, item) in emails {
        let result = async {
            let item = item.as_object().ok_or("an import is an object")?;
            let blob = item
                .get("blobId")
                .and_then(Value::as_str)
                .ok_or("blobId is required")?;
            let raw = blob_content(view, ctx, blob)
                .await
                .ok_or(format!("blob {blob} not found"))?;
            let positions = mailbox_positions(view, item.get("mailboxIds"))?;
            let flags = flags_of(item.get("keywords"))?;
            let received = item
                .get("receivedAt")
                .and_then(Value::as_str)
                .and_then(parse_utc);
            store(view, &positions, flags, received, raw.to_vec()).await
        }
        .await;
        match result {
            Ok(email) => {
                if let Some(id) = email["id"].as_str() {
                    ctx.created.insert(cid.clone(), id.to_owned());
                }
                created.insert(cid.clone(), email);
            }
            Err(why) => {
                not_created.insert(
                    cid.clone(),
                    json!({"type": "invalidProperties", "description": why}),
                );
            }
        }
    }
    Ok(json!({
        "oldState": old_state,
        "newState": view.live_state(),
        "created": created,
        "notCreated": not_created,
    }))
}

/// The envelope of a submission: given, or the message's From and its
/// To, Cc and Bcc.
fn envelope(object: &Map<String, Value>, raw: &[u8]) -> Result<(String, Vec<String>), String> {
    if let Some(envelope) = object.get("envelope").and_then(Value::as_object) {
        let from = envelope
            .get("mailFrom")
            .and_then(|m| m.get("email"))
            .and_then(Value::as_str)
            .ok_or("envelope.mailFrom.email is required")?;
        let to: Vec<String> = envelope
            .get("rcptTo")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("email").and_then(Value::as_str).map(str::to_owned))
            .collect();
        return Ok((from.to_owned(), to));
    }
    let message = sansmail_mime::Message::parse(raw);
    let header = &message.root.header;
    let from = header
        .addresses("from")
        .and_then(|l| l.mailboxes().next().map(|m| m.address.clone()))
        .ok_or("the email has no From address")?;
    let mut to = Vec::new();
    for field in ["to", "cc", "bcc"] {
        if let Some(list) = header.addresses(field) {
            to.extend(list.mailboxes().map(|m| m.address.clone()));
        }
    }
    Ok((from, to))
}

/// EmailSubmission/set: `create` sends an email through [`Submit`]; then
/// `onSuccessUpdateEmail` / `onSuccessDestroyEmail` run as an implicit
/// Email/set.
pub(crate) async fn submission_set(
    view: &AccountView,
    args: &Map<String, Value>,
    limits: &crate::Limits,
    ctx: &mut Context<'_>,
) -> crate::MethodResult {
    let Some(submit) = ctx.submit else {
        return Err(crate::MethodError::new(
            "forbidden",
            "this server does not send mail over JMAP",
        ));
    };
    let (mut created, mut not_created) = (Map::new(), Map::new());
    let mut sent: HashMap<String, String> = HashMap::new();
    for (cid, item) in object(args, "create").into_iter().flatten() {
        let result = async {
            let item = item.as_object().ok_or("a submission is an object")?;
            let email_id = item
                .get("emailId")
                .and_then(Value::as_str)
                .ok_or("emailId is required")?;
            let email_id = match email_id.strip_prefix('#') {
                Some(creation) => ctx
                    .created
                    .get(creation)
                    .cloned()
                    .ok_or(format!("no email was created as {creation}"))?,
                None => email_id.to_owned(),
            };
            let email = view
                .email(&email_id)
                .ok_or(format!("no email {email_id}"))?;
            let raw = crate::email::blob(view, &email.id.blob())
                .await
                .ok_or("the email cannot be read")?;
            let (from, to) = envelope(item, &raw)?;
            if to.is_empty() {
                return Err("no recipients".to_owned());
            }
            let queue_id = submit
                .submit(ctx.user, &from, &to, without_bcc(&raw))
                .await?;
            Ok::<_, String>((email_id, queue_id))
        }
        .await;
        match result {
            Ok((email_id, queue_id)) => {
                let id = format!("S{queue_id}");
                ctx.created.insert(cid.clone(), id.clone());
                sent.insert(cid.clone(), email_id);
                created.insert(
                    cid.clone(),
                    json!({"id": id, "undoStatus": "final", "sendAt": crate::email::utc(
                        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))}),
                );
            }
            Err(why) => {
                not_created.insert(
                    cid.clone(),
                    json!({"type": "forbiddenToSend", "description": why}),
                );
            }
        }
    }
    let mut result = json!({
        "oldState": "0",
        "newState": "0",
        "created": created,
        "updated": null,
        "destroyed": null,
        "notCreated": not_created,
        "notUpdated": null,
        "notDestroyed": null,
    });
    // The implicit Email/set, with `#creationId` keys made email ids.
    let mut update = Map::new();
    for (key, patch) in object(args, "onSuccessUpdateEmail").into_iter().flatten() {
        let target = match key.strip_prefix('#') {
            Some(cid) => sent.get(cid).cloned(),
            None => Some(key.clone()),
        };
        if let Some(target) = target {
            update.insert(target, patch.clone());
        }
    }
    let destroy: Vec<Value> = args
        .get("onSuccessDestroyEmail")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|key| match key.strip_prefix('#') {
            Some(cid) => sent.get(cid).cloned(),
            None => Some(key.to_owned()),
        })
        .map(Value::from)
        .collect();
    if !update.is_empty() || !destroy.is_empty() {
        let mut email_args = Map::new();
        email_args.insert("update".into(), Value::Object(update));
        email_args.insert("destroy".into(), Value::Array(destroy));
        let email_set = crate::email::set(view, &email_args, limits, ctx).await?;
        result[IMPLICIT_EMAIL_SET] = email_set;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_creation_object_becomes_a_message() {
        let object: Map<String, Value> = serde_json::from_value(json!({
            "from": [{"name": "Ann", "email": "ann@example.com"}],
            "to": [{"email": "bob@example.net"}],
            "bcc": [{"email": "hidden@example.net"}],
            "subject": "Caf\u{e9}",
            "references": ["parent@example.net"],
            "textBody": [{"partId": "t", "type": "text/plain"}],
            "bodyValues": {"t": {"value": "Hello\n"}},
            "attachments": [{"blobId": "U1", "type": "text/csv", "name": "a.csv"}],
        }))
        .unwrap();
        let raw = write_message(&object, "example.com", &|id| {
            (id == "U1").then(|| bytes::Bytes::from_static(b"a,b\n"))
        })
        .unwrap();
        let message = sansmail_mime::Message::parse(&raw);
        assert_eq!(message.subject().as_deref(), Some("Caf\u{e9}"));
        assert_eq!(
            message.root.header.ids("in-reply-to"),
            vec!["parent@example.net"]
        );
        let view = message.body_view();
        assert_eq!(view.attachments.len(), 1);
        assert_eq!(view.attachments[0].1.filename().as_deref(), Some("a.csv"));
        let first_line = String::from_utf8_lossy(&raw)
            .lines()
            .next()
            .unwrap()
            .to_owned();
        assert!(
            first_line.starts_with("Bcc: ") && first_line.contains("hidden@example.net"),
            "{first_line}"
        );
        let sent = without_bcc(&raw);
        assert!(!String::from_utf8_lossy(&sent).contains("hidden@"));
        assert_eq!(
            sansmail_mime::Message::parse(&sent).subject().as_deref(),
            Some("Caf\u{e9}")
        );
        let missing = write_message(&object, "example.com", &|_| None).unwrap_err();
        assert_eq!(missing, "blob U1 not found");
    }
}
