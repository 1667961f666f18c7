//! Email/get, Email/query, Email/set and Thread/get (RFC 8621 §3, §4), and
//! blobs (a message, or a part of one).

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use sansmail_mime::{Body, Message, Part};
use sansmail_store::{FlagAction, FlagSet, Keyword, SystemFlag};

use crate::mailboxes::{pick, requested_ids, requested_properties};
use crate::view::{AccountView, EmailView};
use crate::{Limits, MethodError, MethodResult};

const DEFAULT_PROPERTIES: &[&str] = &[
    "id",
    "blobId",
    "threadId",
    "mailboxIds",
    "keywords",
    "size",
    "receivedAt",
    "messageId",
    "inReplyTo",
    "references",
    "sender",
    "from",
    "to",
    "cc",
    "bcc",
    "replyTo",
    "subject",
    "sentAt",
    "hasAttachment",
    "preview",
    "bodyValues",
    "textBody",
    "htmlBody",
    "attachments",
];

/// Seconds since the epoch as a UTC date (`2026-12-03T06:00:00Z`).
pub(crate) fn utc(seconds: i64) -> String {
    let d = sansmail_mime::DateTime::from_unix_time(seconds, 0);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year, d.month, d.day, d.hour, d.minute, d.second
    )
}

/// A date in its own offset (`2026-12-03T07:00:00+01:00`).
fn dated(d: &sansmail_mime::DateTime) -> String {
    let sign = if d.offset_minutes < 0 { '-' } else { '+' };
    let off = d.offset_minutes.abs();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        d.year,
        d.month,
        d.day,
        d.hour,
        d.minute,
        d.second.min(59),
        off / 60,
        off % 60
    )
}

fn addresses(message: &Message<'_>, field: &str) -> Value {
    match message.root.header.addresses(field) {
        None => Value::Null,
        Some(list) => Value::Array(
            list.mailboxes()
                .map(|m| json!({"name": m.name, "email": m.address}))
                .collect(),
        ),
    }
}

fn ids(message: &Message<'_>, field: &str) -> Value {
    let list = message.root.header.ids(field);
    match list.is_empty() {
        true => Value::Null,
        false => json!(list),
    }
}

/// The blob id of part `section` of the message whose blob is `message`.
fn part_blob(message: &str, section: &str) -> String {
    format!("{message}_{}", section.replace('.', "-"))
}

/// The part at an IMAP-style section (`1`, `2.1`).
fn part_at<'p, 'a>(root: &'p Part<'a>, section: &str) -> Option<&'p Part<'a>> {
    if !matches!(root.body, Body::Multipart { .. }) {
        return (section == "1").then_some(root);
    }
    let mut part = root;
    for n in section.split('.') {
        let i: usize = n.parse().ok()?;
        match &part.body {
            Body::Multipart { parts, .. } => part = parts.get(i.checked_sub(1)?)?,
            _ => return None,
        }
    }
    Some(part)
}

fn body_part(message: &Message<'_>, blob: &str, section: &str, part: &Part<'_>) -> Value {
    let (decoded, _) = message.decoded_body(part);
    let charset = part
        .charset()
        .map(|c| String::from_utf8_lossy(c).to_ascii_lowercase())
        .or_else(|| (part.content_type.kind == "text").then(|| "us-ascii".to_owned()));
    let cid = part
        .header
        .get("content-id")
        .map(|f| f.text().trim().trim_matches(['<', '>']).to_owned());
    json!({
        "partId": section,
        "blobId": part_blob(blob, section),
        "size": decoded.len(),
        "name": part.filename(),
        "type": format!("{}/{}", part.content_type.kind, part.content_type.subtype),
        "charset": charset,
        "disposition": part.disposition().map(|d| d.kind.into_owned()),
        "cid": cid,
    })
}

/// The text of a part, cut at `max` octets (0: no cut) on a character boundary.
fn body_value(message: &Message<'_>, part: &Part<'_>, max: usize) -> Value {
    let text = message.body_text(part).text.into_owned();
    let (value, truncated) = if max > 0 && text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        (text[..end].to_owned(), true)
    } else {
        (text, false)
    };
    json!({"value": value, "isEncodingProblem": false, "isTruncated": truncated})
}

/// The first 256 characters of the text body, whitespace collapsed.
fn preview(message: &Message<'_>) -> String {
    let view = message.body_view();
    let Some((_, part)) = view.text_body.first() else {
        return String::new();
    };
    let text = message.body_text(part).text.into_owned();
    let text = match part.content_type.subtype.as_ref() {
        "html" => strip_tags(&text),
        _ => text,
    };
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(256)
        .collect()
}

/// Text without HTML tags (for previews and searching).
pub(crate) fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

pub(crate) async fn content(view: &AccountView, email: &EmailView) -> Option<bytes::Bytes> {
    let (position, uid) = *email.places.first()?;
    view.mailboxes[position].mailbox.content(uid).await.ok()
}

/// The email's properties as JSON (every one; the caller picks).
fn email_json(
    view: &AccountView,
    email: &EmailView,
    raw: &[u8],
    args: &Map<String, Value>,
    properties: &[String],
) -> Value {
    let mailbox_ids: Map<String, Value> = email
        .places
        .iter()
        .map(|(p, _)| (view.mailboxes[*p].id.to_string(), Value::Bool(true)))
        .collect();
    let keywords: Map<String, Value> = email
        .jmap_keywords()
        .into_iter()
        .map(|k| (k, Value::Bool(true)))
        .collect();
    let mut object = message_json(raw, &email.id.blob(), args, properties);
    object["id"] = Value::from(email.id.to_string());
    object["threadId"] = Value::from(email.thread.to_string());
    object["mailboxIds"] = Value::Object(mailbox_ids);
    object["keywords"] = Value::Object(keywords);
    object["size"] = Value::from(email.size);
    object["receivedAt"] = Value::from(utc(email.received));
    pick(object, properties)
}

/// The properties of the message `raw` (blob `blob`) that its content
/// gives: header fields, and the body structure and values when asked;
/// the ones that belong to a stored email (id, threadId, mailboxIds,
/// keywords, receivedAt) are null.
fn message_json(raw: &[u8], blob: &str, args: &Map<String, Value>, properties: &[String]) -> Value {
    let message = Message::parse(raw);
    let header = &message.root.header;
    let mut object = json!({
        "id": null,
        "blobId": blob,
        "threadId": null,
        "mailboxIds": null,
        "keywords": null,
        "size": raw.len(),
        "receivedAt": null,
        "messageId": ids(&message, "message-id"),
        "inReplyTo": ids(&message, "in-reply-to"),
        "references": ids(&message, "references"),
        "sender": addresses(&message, "sender"),
        "from": addresses(&message, "from"),
        "to": addresses(&message, "to"),
        "cc": addresses(&message, "cc"),
        "bcc": addresses(&message, "bcc"),
        "replyTo": addresses(&message, "reply-to"),
        "subject": message.subject(),
        "sentAt": header.date().map(|d| dated(&d)),
    });
    let wants = |p: &str| properties.iter().any(|q| q == p);
    if wants("textBody")
        || wants("htmlBody")
        || wants("attachments")
        || wants("bodyValues")
        || wants("hasAttachment")
        || wants("preview")
    {
        let body = message.body_view();
        let parts = |list: &[(String, &Part<'_>)]| -> Value {
            list.iter()
                .map(|(section, part)| body_part(&message, blob, section, part))
                .collect()
        };
        object["textBody"] = parts(&body.text_body);
        object["htmlBody"] = parts(&body.html_body);
        object["attachments"] = parts(&body.attachments);
        object["hasAttachment"] = Value::Bool(!body.attachments.is_empty());
        object["preview"] = Value::from(preview(&message));
        let flag = |name: &str| args.get(name).and_then(Value::as_bool).unwrap_or(false);
        let max = args
            .get("maxBodyValueBytes")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let mut values = Map::new();
        let mut add = |list: &[(String, &Part<'_>)]| {
            for (section, part) in list {
                if part.content_type.kind == "text" && !values.contains_key(section) {
                    values.insert(section.clone(), body_value(&message, part, max));
                }
            }
        };
        if flag("fetchTextBodyValues") || flag("fetchAllBodyValues") {
            add(&body.text_body);
        }
        if flag("fetchHTMLBodyValues") || flag("fetchAllBodyValues") {
            add(&body.html_body);
        }
        object["bodyValues"] = Value::Object(values);
    }
    object
}

/// Email/parse (RFC 8621 §4.9): blobs holding messages (uploaded, an
/// email, or a message attached to one) as Email objects.
pub(crate) async fn parse(
    view: &AccountView,
    args: &Map<String, Value>,
    limits: &Limits,
    uploads: Option<(&crate::create::Uploads, &str)>,
) -> MethodResult {
    let blob_ids: Vec<String> = args
        .get("blobIds")
        .and_then(Value::as_array)
        .ok_or_else(|| MethodError::invalid("blobIds is required"))?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or_else(|| MethodError::invalid("blobIds holds strings"))?;
    if blob_ids.len() > limits.max_objects_in_get {
        return Err(MethodError::new("requestTooLarge", "too many blobIds"));
    }
    // RFC 8621 §4.9: the defaults leave out what only a stored email has.
    let default: Vec<&str> = DEFAULT_PROPERTIES
        .iter()
        .copied()
        .filter(|p| {
            !matches!(
                *p,
                "id" | "blobId" | "threadId" | "mailboxIds" | "keywords" | "size" | "receivedAt"
            )
        })
        .collect();
    let properties = requested_properties(args, &default);
    let (mut parsed, mut not_parsable, mut not_found) = (Map::new(), Vec::new(), Vec::new());
    for id in blob_ids {
        match blob_from(view, uploads, &id).await {
            None => not_found.push(Value::from(id)),
            Some(raw) if !looks_like_message(&raw) => not_parsable.push(Value::from(id)),
            Some(raw) => {
                let object = message_json(&raw, &id, args, &properties);
                parsed.insert(id, pick(object, &properties));
            }
        }
    }
    Ok(json!({"parsed": parsed, "notParsable": not_parsable, "notFound": not_found}))
}

/// True when `raw` starts with a header field (a name, a colon).
fn looks_like_message(raw: &[u8]) -> bool {
    let line = raw.split(|&b| b == b'\n').next().unwrap_or_default();
    let name_end = line.iter().position(|&b| b == b':');
    name_end.is_some_and(|n| n > 0 && line[..n].iter().all(|b| b.is_ascii_graphic()))
}

/// Email/get.
pub(crate) async fn get(
    view: &AccountView,
    args: &Map<String, Value>,
    limits: &Limits,
) -> MethodResult {
    let Some(ids) = requested_ids(args, limits.max_objects_in_get)? else {
        return Err(MethodError::new(
            "requestTooLarge",
            "Email/get needs ids (there may be too many emails to give them all)",
        ));
    };
    let properties = requested_properties(args, DEFAULT_PROPERTIES);
    let (mut list, mut not_found) = (Vec::new(), Vec::new());
    for id in ids {
        let Some(email) = view.email(&id) else {
            not_found.push(Value::from(id));
            continue;
        };
        match content(view, email).await {
            Some(raw) => list.push(email_json(view, email, &raw, args, &properties)),
            None => not_found.push(Value::from(id)),
        }
    }
    Ok(json!({"state": view.session_state(), "list": list, "notFound": not_found}))
}

/// Thread/get: the emails of each thread, oldest first.
pub(crate) fn thread_get(
    view: &AccountView,
    args: &Map<String, Value>,
    limits: &Limits,
) -> MethodResult {
    let ids = requested_ids(args, limits.max_objects_in_get)?.unwrap_or_default();
    let (mut list, mut not_found) = (Vec::new(), Vec::new());
    for id in ids {
        let mut members: Vec<&EmailView> = view
            .emails
            .iter()
            .filter(|e| e.thread.to_string() == id)
            .collect();
        if members.is_empty() {
            not_found.push(Value::from(id));
            continue;
        }
        // Arrival order; the same second is told apart by mailbox and UID.
        members.sort_by_key(|e| (e.received, e.places[0]));
        let email_ids: Vec<String> = members.iter().map(|e| e.id.to_string()).collect();
        list.push(json!({"id": id, "emailIds": email_ids}));
    }
    Ok(json!({"state": view.session_state(), "list": list, "notFound": not_found}))
}

/// The flags a JMAP keyword stands for.
fn keyword_flags(keyword: &str, set: &mut FlagSet) -> Result<(), MethodError> {
    match keyword.to_ascii_lowercase().as_str() {
        "$seen" => set.set(SystemFlag::Seen),
        "$flagged" => set.set(SystemFlag::Flagged),
        "$answered" => set.set(SystemFlag::Answered),
        "$draft" => set.set(SystemFlag::Draft),
        other => set.add_keyword(
            Keyword::new(other)
                .map_err(|_| MethodError::invalid(format!("{keyword:?} is not a keyword")))?,
        ),
    }
    Ok(())
}

/// Applies one Email/set update: keywords (whole or patched) and
/// mailboxIds (whole or patched: copies added, copies removed).
async fn update(
    view: &AccountView,
    email: &EmailView,
    patch: &Map<String, Value>,
) -> Result<(), String> {
    let (mut add, mut remove, mut replace) = (FlagSet::new(), FlagSet::new(), None::<FlagSet>);
    let mut wanted: Option<HashSet<usize>> = None;
    let mut add_to = Vec::new();
    let mut remove_from = Vec::new();
    let bad = |why: String| why;
    for (path, value) in patch {
        if path == "keywords" {
            let mut set = FlagSet::new();
            for (k, on) in value.as_object().ok_or("keywords is an object")? {
                if on != &Value::Bool(true) {
                    return Err("keyword values are true".into());
                }
                keyword_flags(k, &mut set).map_err(|e| e.description)?;
            }
            replace = Some(set);
        } else if let Some(keyword) = path.strip_prefix("keywords/") {
            let target = match value {
                Value::Bool(true) => &mut add,
                Value::Null => &mut remove,
                _ => return Err(bad(format!("{path}: true or null"))),
            };
            keyword_flags(keyword, target).map_err(|e| e.description)?;
        } else if path == "mailboxIds" {
            let mut set = HashSet::new();
            for id in value.as_object().ok_or("mailboxIds is an object")?.keys() {
                set.insert(view.mailbox(id).ok_or(format!("no mailbox {id}"))?);
            }
            if set.is_empty() {
                return Err("an email is in at least one mailbox".into());
            }
            wanted = Some(set);
        } else if let Some(id) = path.strip_prefix("mailboxIds/") {
            let position = view.mailbox(id).ok_or(format!("no mailbox {id}"))?;
            match value {
                Value::Bool(true) => add_to.push(position),
                Value::Null => remove_from.push(position),
                _ => return Err(format!("{path}: true or null")),
            }
        } else {
            return Err(format!("{path} cannot be changed"));
        }
    }
    // Flags first, on every copy.
    for (position, uid) in &email.places {
        let mailbox = &view.mailboxes[*position].mailbox;
        let store = |action, set| async move {
            mailbox
                .store_flags(&[*uid], action, set, None)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        if let Some(set) = &replace {
            store(FlagAction::Replace, set).await?;
        }
        if add != FlagSet::new() {
            store(FlagAction::Add, &add).await?;
        }
        if remove != FlagSet::new() {
            store(FlagAction::Remove, &remove).await?;
        }
    }
    // Then the mailboxes: copy where it is wanted, expunge where not.
    let now: HashSet<usize> = email.places.iter().map(|(p, _)| *p).collect();
    let target: HashSet<usize> = match wanted {
        Some(set) => set,
        None => {
            let mut set = now.clone();
            set.extend(add_to);
            for p in remove_from {
                set.remove(&p);
            }
            set
        }
    };
    if target.is_empty() {
        return Err("an email is in at least one mailbox".into());
    }
    let (from_position, from_uid) = email.places[0];
    let source = &view.mailboxes[from_position].mailbox;
    for position in target.difference(&now) {
        source
            .copy_to(&[from_uid], &view.mailboxes[*position].mailbox)
            .await
            .map_err(|e| e.to_string())?;
    }
    for (position, uid) in &email.places {
        if !target.contains(position) {
            view.mailboxes[*position]
                .mailbox
                .expunge(&[*uid])
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Email/set: `create` (a message written from the object), `update`
/// (keywords, mailboxIds) and `destroy`.
pub(crate) async fn set(
    view: &AccountView,
    args: &Map<String, Value>,
    limits: &Limits,
    ctx: &mut crate::Context<'_>,
) -> MethodResult {
    let old_state = crate::mailboxes::set_preamble(view, args, limits)?;
    let set_error =
        |kind: &str, description: String| json!({"type": kind, "description": description});
    let (mut created, mut not_created) = (Map::new(), Map::new());
    if let Some(create) = args.get("create").and_then(Value::as_object) {
        for (cid, object) in create {
            let Some(object) = object.as_object() else {
                not_created.insert(
                    cid.clone(),
                    set_error("invalidProperties", "an email is an object".into()),
                );
                continue;
            };
            match crate::create::create_email(view, object, ctx).await {
                Ok(email) => {
                    if let Some(id) = email["id"].as_str() {
                        ctx.created.insert(cid.clone(), id.to_owned());
                    }
                    created.insert(cid.clone(), email);
                }
                Err(why) => {
                    not_created.insert(cid.clone(), set_error("invalidProperties", why));
                }
            }
        }
    }
    let (mut updated, mut not_updated) = (Map::new(), Map::new());
    if let Some(updates) = args.get("update").and_then(Value::as_object) {
        for (id, patch) in updates {
            let Some(email) = view.email(id) else {
                not_updated.insert(id.clone(), set_error("notFound", format!("no email {id}")));
                continue;
            };
            let Some(patch) = patch.as_object() else {
                not_updated.insert(
                    id.clone(),
                    set_error("invalidPatch", "a patch is an object".into()),
                );
                continue;
            };
            match update(view, email, patch).await {
                Ok(()) => {
                    updated.insert(id.clone(), Value::Null);
                }
                Err(why) => {
                    not_updated.insert(id.clone(), set_error("invalidProperties", why));
                }
            }
        }
    }
    let (mut destroyed, mut not_destroyed) = (Vec::new(), Map::new());
    for id in args
        .get("destroy")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let Some(email) = view.email(id) else {
            not_destroyed.insert(
                id.to_owned(),
                set_error("notFound", format!("no email {id}")),
            );
            continue;
        };
        let mut failed = None;
        for (position, uid) in &email.places {
            if let Err(e) = view.mailboxes[*position].mailbox.expunge(&[*uid]).await {
                failed = Some(e.to_string());
            }
        }
        match failed {
            None => destroyed.push(Value::from(id)),
            Some(why) => {
                not_destroyed.insert(id.to_owned(), set_error("serverFail", why));
            }
        }
    }
    Ok(json!({
        "oldState": old_state,
        "newState": view.live_state(),
        "created": created,
        "updated": updated,
        "destroyed": destroyed,
        "notCreated": not_created,
        "notUpdated": not_updated,
        "notDestroyed": not_destroyed,
    }))
}

/// The content of blob `blob_id`: a message, or a part of one (`M…_2-1`,
/// decoded), parts of parts (`M…_2_1`: part 1 of the message attached as
/// part 2).
pub(crate) async fn blob(view: &AccountView, blob_id: &str) -> Option<bytes::Bytes> {
    blob_from(view, None, blob_id).await
}

/// As [`blob`], with `user`'s uploads as bases too.
pub(crate) async fn blob_from(
    view: &AccountView,
    uploads: Option<(&crate::create::Uploads, &str)>,
    blob_id: &str,
) -> Option<bytes::Bytes> {
    let mut pieces = blob_id.split('_');
    let base = pieces.next()?;
    let mut data = match uploads.and_then(|(u, user)| u.get(user, base)) {
        Some(uploaded) => uploaded,
        None => {
            let email = view.emails.iter().find(|e| e.id.blob() == base)?;
            content(view, email).await?
        }
    };
    for section in pieces {
        let section = section.replace('-', ".");
        let message = Message::parse(&data);
        let part = part_at(&message.root, &section)?;
        let (decoded, _) = message.decoded_body(part);
        data = bytes::Bytes::from(decoded.into_owned());
    }
    Some(data)
}

/// The words a filter searches for in subjects and bodies (`text`,
/// `subject`, `body`, through AND and OR operators).
fn search_terms(filter: Option<&Value>, terms: &mut Vec<Vec<char>>) {
    let Some(filter) = filter.and_then(Value::as_object) else {
        return;
    };
    if filter.get("operator").and_then(Value::as_str) == Some("NOT") {
        return;
    }
    for condition in filter
        .get("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        search_terms(Some(condition), terms);
    }
    for key in ["text", "subject", "body"] {
        if let Some(text) = filter.get(key).and_then(Value::as_str) {
            terms.extend(
                text.split_whitespace()
                    .map(|w| w.chars().flat_map(char::to_lowercase).collect()),
            );
        }
    }
}

/// True when `term` (lower case) is at `at` in `text`, ignoring case.
fn term_at(text: &[char], at: usize, term: &[char]) -> bool {
    text.len() >= at + term.len()
        && text[at..at + term.len()]
            .iter()
            .zip(term)
            .all(|(c, t)| c == t || c.to_lowercase().eq(std::iter::once(*t)))
}

/// `text` as HTML with every term in `<mark>`; `None` when none is there.
fn highlight(text: &[char], terms: &[Vec<char>]) -> Option<String> {
    let mut out = String::new();
    let (mut i, mut found) = (0, false);
    while i < text.len() {
        if let Some(term) = terms.iter().find(|t| !t.is_empty() && term_at(text, i, t)) {
            out.push_str("<mark>");
            text[i..i + term.len()]
                .iter()
                .for_each(|c| escape(*c, &mut out));
            out.push_str("</mark>");
            i += term.len();
            found = true;
        } else {
            escape(text[i], &mut out);
            i += 1;
        }
    }
    found.then_some(out)
}

fn escape(c: char, out: &mut String) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        c => out.push(c),
    }
}

/// The most body text a snippet looks through, in characters.
const SNIPPET_SCAN: usize = 100_000;

/// SearchSnippet/get (RFC 8621 §5.1): for each email, its subject and a
/// piece of its text around the first match, as HTML with the filter's
/// words in `<mark>` (null where nothing matched).
pub(crate) async fn search_snippets(
    view: &AccountView,
    args: &Map<String, Value>,
    limits: &Limits,
) -> MethodResult {
    let ids: Vec<&str> = args
        .get("emailIds")
        .and_then(Value::as_array)
        .ok_or_else(|| MethodError::invalid("emailIds is required"))?
        .iter()
        .map(Value::as_str)
        .collect::<Option<_>>()
        .ok_or_else(|| MethodError::invalid("emailIds holds strings"))?;
    if ids.len() > limits.max_objects_in_get {
        return Err(MethodError::new("requestTooLarge", "too many emailIds"));
    }
    let mut terms = Vec::new();
    search_terms(args.get("filter"), &mut terms);
    let (mut list, mut not_found) = (Vec::new(), Vec::new());
    for id in ids {
        let Some(email) = view.email(id) else {
            not_found.push(Value::from(id));
            continue;
        };
        let Some(raw) = content(view, email).await else {
            not_found.push(Value::from(id));
            continue;
        };
        let message = Message::parse(&raw);
        let subject: Vec<char> = message.subject().unwrap_or_default().chars().collect();
        let mut text = String::new();
        for (_, part) in &message.body_view().text_body {
            let body = message.body_text(part).text.into_owned();
            match part.content_type.subtype.as_ref() {
                "html" => text.push_str(&strip_tags(&body)),
                _ => text.push_str(&body),
            }
            text.push(' ');
        }
        let words: Vec<char> = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(SNIPPET_SCAN)
            .collect();
        let first = (0..words.len())
            .find(|&i| terms.iter().any(|t| !t.is_empty() && term_at(&words, i, t)));
        let preview = first.and_then(|at| {
            let mut start = at.saturating_sub(60);
            while start > 0 && start < at && words[start - 1] != ' ' {
                start += 1;
            }
            let end = (start + 255).min(words.len());
            highlight(&words[start..end], &terms)
        });
        list.push(json!({
            "emailId": id,
            "subject": highlight(&subject, &terms),
            "preview": preview,
        }));
    }
    Ok(json!({"list": list, "notFound": not_found}))
}
