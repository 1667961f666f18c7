//! Vacation replies: when a user's JMAP VacationResponse is on, a message
//! delivered to their inbox is answered once per sender per week (RFC 3834
//! §2, as Sieve's vacation does), never to a null or list sender, a bulk or
//! automatic message, or the user themself; the reply is
//! `Auto-Submitted: auto-replied`, sent from the null reverse-path through
//! the queue.

use std::collections::HashMap;
use std::sync::Arc;

use sansmail_jmap::settings::Settings;

use sansmail_mime::builder::{Entity, MessageBuilder};
use sansmail_mime::{DateTime, Mailbox, Message};
use tracing::{info, warn};

use crate::queue::Queue;

/// How long one sender gets no second reply, seconds (RFC 3834 §2: "a
/// period of several days"; Sieve's default, 7 days).
const QUIET_PERIOD: i64 = 7 * 86_400;

/// The settings name of the senders answered lately (address → when).
const REPLIED: &str = "vacation.replied";

/// Why a message gets no reply, or `None` when it may get one.
fn reason_not_to_reply(from: &str, own: &str, message: &Message<'_>) -> Option<&'static str> {
    let local = from
        .rsplit_once('@')
        .map_or(from, |(l, _)| l)
        .to_ascii_lowercase();
    let header = &message.root.header;
    let value = |name: &str| {
        header
            .get(name)
            .map(|f| f.text().trim().to_ascii_lowercase())
    };
    if from.is_empty() {
        return Some("null sender");
    }
    if from.eq_ignore_ascii_case(own) {
        return Some("own address");
    }
    if local.starts_with("owner-")
        || local.ends_with("-request")
        || ["mailer-daemon", "listserv", "majordomo", "postmaster"].contains(&local.as_str())
    {
        return Some("list or system sender");
    }
    if value("auto-submitted").is_some_and(|v| v != "no") {
        return Some("automatic message");
    }
    if value("precedence").is_some_and(|v| ["bulk", "list", "junk"].contains(&v.as_str())) {
        return Some("bulk message");
    }
    if header.get("list-id").is_some() || header.get("list-unsubscribe").is_some() {
        return Some("list message");
    }
    None
}

/// True when `owner`'s vacation response is on at `now` (seconds).
pub fn is_away(settings: &dyn Settings, owner: &str, now: i64) -> bool {
    sansmail_jmap::vacation::active_reply(settings, owner, now).is_some()
}

/// Answers a message delivered to `owner` at `address`, when their
/// vacation response is on and the rules allow; `head` is the start of the
/// message (its header). Returns whether a reply was queued.
pub async fn answer(
    settings: &dyn Settings,
    queue: &Arc<Queue>,
    owner: &str,
    address: &str,
    from: &str,
    head: &[u8],
) -> bool {
    let now = crate::queue::now() as i64;
    let Some((subject, text, html)) = sansmail_jmap::vacation::active_reply(settings, owner, now)
    else {
        return false;
    };
    let message = Message::parse(head);
    if let Some(why) = reason_not_to_reply(from, address, &message) {
        info!(user = owner, to = from, why, "no vacation reply");
        return false;
    }
    // Once per sender in the quiet period.
    let mut replied: HashMap<String, i64> = settings
        .load(owner, REPLIED)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    replied.retain(|_, at| now - *at < QUIET_PERIOD);
    let key = from.to_ascii_lowercase();
    if replied.contains_key(&key) {
        info!(
            user = owner,
            to = from,
            why = "replied already this week",
            "no vacation reply"
        );
        return false;
    }
    let subject =
        subject.unwrap_or_else(|| format!("Auto: {}", message.subject().unwrap_or_default()));
    let body = match html {
        Some(html) => Entity::alternative(vec![Entity::text(text), Entity::html(html)]),
        None => Entity::text(text),
    };
    let domain = address.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let mut reply = MessageBuilder::new(body)
        .from(Mailbox {
            name: None,
            address: address.to_owned(),
        })
        .to(vec![Mailbox {
            name: None,
            address: from.to_owned(),
        }])
        .subject(&subject)
        .date(DateTime::from_unix_time(now, 0))
        .message_id(crate::relay::random_u128(), domain)
        .field("Auto-Submitted", "auto-replied");
    let parent = message.root.header.ids("message-id");
    if !parent.is_empty() {
        reply = reply.in_reply_to(&parent);
    }
    let bytes = reply.to_vec(crate::relay::random_u128() as u64);
    let id = crate::queue::new_id();
    let (queue, to, queue_id) = (queue.clone(), vec![from.to_owned()], id.clone());
    let queued =
        tokio::task::spawn_blocking(move || queue.enqueue(&queue_id, "", &to, &bytes, false)).await;
    match queued {
        Ok(Ok(())) => {
            replied.insert(key, now);
            if let Ok(json) = serde_json::to_vec(&replied)
                && let Err(e) = settings.save(owner, REPLIED, &json)
            {
                warn!(user = owner, error = %e, "cannot record a vacation reply");
            }
            info!(user = owner, to = from, queue_id = %id, "vacation reply queued");
            true
        }
        _ => {
            warn!(user = owner, to = from, "cannot queue the vacation reply");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_bulk_and_automatic_mail_get_no_reply() {
        let cases = [
            ("", "Subject: x\r\n\r\n", Some("null sender")),
            (
                "alice@example.test",
                "Subject: x\r\n\r\n",
                Some("own address"),
            ),
            (
                "owner-list@example.net",
                "Subject: x\r\n\r\n",
                Some("list or system sender"),
            ),
            (
                "MAILER-DAEMON@example.net",
                "Subject: x\r\n\r\n",
                Some("list or system sender"),
            ),
            (
                "bob@example.net",
                "Auto-Submitted: auto-replied\r\n\r\n",
                Some("automatic message"),
            ),
            ("bob@example.net", "Auto-Submitted: no\r\n\r\n", None),
            (
                "bob@example.net",
                "Precedence: bulk\r\n\r\n",
                Some("bulk message"),
            ),
            (
                "bob@example.net",
                "List-Id: <x.example.net>\r\n\r\n",
                Some("list message"),
            ),
            ("bob@example.net", "Subject: hello\r\n\r\n", None),
        ];
        for (from, head, expected) in cases {
            let message = Message::parse(head.as_bytes());
            assert_eq!(
                reason_not_to_reply(from, "alice@example.test", &message),
                expected,
                "{from} {head:?}"
            );
        }
    }
}
