//! Delivery status notifications (RFC 3464): the `multipart/report` a
//! sender gets when some recipients of a message could not be reached.

use sansmail_mime::builder::{Entity, MessageBuilder};
use sansmail_mime::{DateTime, Mailbox};

use super::queue::{Envelope, Recipient};

/// The enhanced status in a stored reply (`550 5.1.1 text`), or the one
/// its code class implies.
fn status_of(reply: &str) -> String {
    let mut words = reply.split_whitespace();
    let code = words.next().unwrap_or("");
    match words.next() {
        Some(s) if s.split('.').count() == 3 && s.split('.').all(|p| p.parse::<u16>().is_ok()) => {
            s.to_owned()
        }
        _ if code.starts_with('4') => "4.0.0".into(),
        _ => "5.0.0".into(),
    }
}

/// The header section of `message` (up to the blank line).
fn header_of(message: &[u8]) -> &[u8] {
    let end = memchr::memmem::find(message, b"\r\n\r\n").map_or(message.len(), |i| i + 2);
    &message[..end]
}

/// A bounce to `envelope.from` about `failed`, from `MAILER-DAEMON@hostname`.
/// `random` makes the Message-ID and boundary.
pub fn failure_report(
    hostname: &str,
    envelope: &Envelope,
    failed: &[&Recipient],
    message: &[u8],
    now: u64,
    random: u128,
) -> Vec<u8> {
    let mut text = format!(
        "This is the mail system at {hostname}.\r\n\r\n\
         Your message could not be delivered to the following recipients:\r\n\r\n"
    );
    for r in failed {
        text.push_str(&format!("  <{}>: {}\r\n", r.address, r.reply));
    }
    text.push_str("\r\nThe headers of your message are attached.\r\n");

    let mut status = format!(
        "Reporting-MTA: dns; {hostname}\r\nX-Queue-ID: {}\r\nArrival-Date: {}\r\n",
        envelope.id,
        DateTime::from_unix_time(envelope.created as i64, 0).to_rfc5322()
    );
    for r in failed {
        status.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: {}\r\nDiagnostic-Code: smtp; {}\r\nLast-Attempt-Date: {}\r\n",
            r.address,
            status_of(&r.reply),
            r.reply,
            DateTime::from_unix_time(now as i64, 0).to_rfc5322()
        ));
    }

    let body = Entity::multipart(
        "report",
        vec![
            Entity::text(text),
            Entity::bytes("message/delivery-status", status.into_bytes()),
            Entity::bytes("text/rfc822-headers", header_of(message).to_vec()),
        ],
    )
    .param("report-type", "delivery-status");
    MessageBuilder::new(body)
        .from(Mailbox {
            name: Some("Mail Delivery System".into()),
            address: format!("MAILER-DAEMON@{hostname}"),
        })
        .to(vec![Mailbox {
            name: None,
            address: envelope.from.clone(),
        }])
        .subject("Undelivered Mail Returned to Sender")
        .date(DateTime::from_unix_time(now as i64, 0))
        .message_id(random, hostname)
        .field("Auto-Submitted", "auto-replied")
        .to_vec(random as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::State;
    use sansmail_mime::Message;

    #[test]
    fn report_parses_with_each_failure() {
        let envelope = Envelope {
            id: "abc".into(),
            from: "alice@example.com".into(),
            recipients: vec![],
            created: 1_795_000_000,
            attempts: 3,
            next_attempt: 0,
            require_tls: false,
            held: false,
        };
        let failed = Recipient {
            address: "nobody@example.net".into(),
            state: State::Failed,
            reply: "550 5.1.1 No such user".into(),
            reported: false,
        };
        let expired = Recipient {
            address: "slow@example.org".into(),
            state: State::Failed,
            reply: "451 delivery time expired".into(),
            reported: false,
        };
        let original = b"From: alice@example.com\r\nSubject: plans\r\n\r\nsecret body\r\n";
        let raw = failure_report(
            "mx.example.com",
            &envelope,
            &[&failed, &expired],
            original,
            1_795_000_100,
            7,
        );
        let parsed = Message::parse(&raw);
        let ct = &parsed.root.content_type;
        assert_eq!(
            (ct.kind.as_ref(), ct.subtype.as_ref()),
            ("multipart", "report")
        );
        assert_eq!(ct.param("report-type"), Some(&b"delivery-status"[..]));
        let leaves = parsed.leaves();
        assert_eq!(leaves.len(), 3);
        let status = String::from_utf8(parsed.decoded_body(leaves[1].1).0.into_owned()).unwrap();
        assert!(
            status.contains(
                "Final-Recipient: rfc822; nobody@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            ),
            "{status}"
        );
        assert!(
            status.contains("Status: 4.0.0\r\nDiagnostic-Code: smtp; 451 delivery time expired"),
            "{status}"
        );
        let headers = parsed.decoded_body(leaves[2].1).0.into_owned();
        assert!(headers.ends_with(b"Subject: plans\r\n"));
        assert!(
            !raw.windows(11).any(|w| w == b"secret body"),
            "only the headers go back"
        );
    }
}
