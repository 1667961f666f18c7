//! A message ready to send: its bytes and its envelope.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use sansmail_mime::builder::MessageBuilder;
use sansmail_mime::{DateTime, Message};
use sansmail_smtp::types::{ForwardPath, Mailbox, ReversePath};

use crate::Error;

/// A message and its envelope (the SMTP sender and recipients).
///
/// [`Outgoing::new`] takes the envelope from the header: the sender from
/// `Sender` or `From`, the recipients from `To`, `Cc` and `Bcc` (the `Bcc`
/// field is then removed, so recipients do not see each other). It adds
/// `Date` and `Message-ID` when they are missing.
///
/// ```
/// use sansmail::Outgoing;
/// use sansmail::mime::builder::{Entity, MessageBuilder};
/// use sansmail::mime::Mailbox;
///
/// let mailbox = |a: &str| Mailbox { name: None, address: a.into() };
/// let message = MessageBuilder::new(Entity::mixed(vec![
///     Entity::text("The report is attached.\n"),
///     Entity::attachment("text/csv", "report.csv", b"day,count\nmon,3\n".as_slice()),
/// ]))
/// .from(mailbox("reports@example.com"))
/// .to(vec![mailbox("alice@example.net")])
/// .cc(vec![mailbox("bob@example.org")])
/// .subject("Weekly report");
/// let outgoing = Outgoing::from_builder(&message)?;
/// assert_eq!(outgoing.sender().to_string(), "<reports@example.com>");
/// assert_eq!(outgoing.recipients().len(), 2);
/// assert!(outgoing.body().starts_with(b"Date: "));
/// # Ok::<(), sansmail::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Outgoing {
    from: ReversePath,
    to: Vec<ForwardPath>,
    body: Bytes,
}

impl Outgoing {
    /// A message in RFC 5322 form, with the envelope taken from its header.
    pub fn new(raw: impl Into<Bytes>) -> Result<Outgoing, Error> {
        let raw: Bytes = raw.into();
        let parsed = Message::parse(&raw);
        let header = &parsed.root.header;
        let first = |name: &str| {
            header
                .addresses(name)
                .and_then(|list| list.mailboxes().next().map(|m| m.address.clone()))
        };
        let from = first("Sender")
            .or_else(|| first("From"))
            .ok_or_else(|| Error::Message("no From field to take the sender from".into()))?;
        let mut to = Vec::new();
        for name in ["To", "Cc", "Bcc"] {
            for field in header.get_all(name) {
                let list = sansmail_mime::parse_addresses(field.raw_value);
                to.extend(list.mailboxes().map(|m| m.address.clone()));
            }
        }
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        let mut body = BytesMut::with_capacity(raw.len() + 128);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if header.get("Date").is_none() {
            let date = DateTime::from_unix_time(now, 0).to_rfc5322();
            body.extend_from_slice(format!("Date: {date}\r\n").as_bytes());
        }
        if header.get("Message-ID").is_none() {
            let domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d);
            let id = format!("{:016x}{:016x}", now, random());
            body.extend_from_slice(format!("Message-ID: <{id}@{domain}>\r\n").as_bytes());
        }
        // Leave the Bcc fields out; everything else goes as it came.
        let mut at = 0;
        for field in header.fields.iter().filter(|f| f.is("Bcc")) {
            body.extend_from_slice(&raw[at..field.range.start]);
            at = field.range.end;
        }
        body.extend_from_slice(&raw[at..]);
        let (from, to) = envelope(&from, &to)?;
        Ok(Outgoing {
            from,
            to,
            body: body.freeze(),
        })
    }

    /// A message written by the mime builder (see the example above).
    pub fn from_builder(message: &MessageBuilder<'_>) -> Result<Outgoing, Error> {
        Outgoing::new(message.to_vec(random()))
    }

    /// A message sent exactly as `raw` is, to this envelope; `from` may be
    /// empty for the null sender (`<>`, as bounces use).
    ///
    /// ```
    /// let m = sansmail::Outgoing::with_envelope("", &["a@example.com"], &b"Subject: x\r\n\r\nhi\r\n"[..])?;
    /// assert_eq!(m.sender().to_string(), "<>");
    /// # Ok::<(), sansmail::Error>(())
    /// ```
    pub fn with_envelope(
        from: &str,
        to: &[&str],
        raw: impl Into<Bytes>,
    ) -> Result<Outgoing, Error> {
        let (from, to) = envelope(from, to)?;
        Ok(Outgoing {
            from,
            to,
            body: raw.into(),
        })
    }

    /// The envelope sender (MAIL FROM).
    pub fn sender(&self) -> &ReversePath {
        &self.from
    }

    /// The envelope recipients (RCPT TO), each once.
    pub fn recipients(&self) -> &[ForwardPath] {
        &self.to
    }

    /// The bytes sent.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The same message to fewer recipients (for delivery by domain).
    pub(crate) fn for_recipients(&self, to: Vec<ForwardPath>) -> Outgoing {
        Outgoing {
            from: self.from.clone(),
            to,
            body: self.body.clone(),
        }
    }
}

fn envelope(from: &str, to: &[&str]) -> Result<(ReversePath, Vec<ForwardPath>), Error> {
    let mailbox = |a: &str| {
        Mailbox::parse(a.trim().trim_start_matches('<').trim_end_matches('>'))
            .map_err(|_| Error::Message(format!("{a:?} is not a mail address")))
    };
    let from = match from.trim() {
        "" | "<>" => ReversePath::Null,
        a => ReversePath::Mailbox(mailbox(a)?),
    };
    let mut seen = HashSet::new();
    let mut paths = Vec::new();
    for a in to {
        if seen.insert(a.trim().to_ascii_lowercase()) {
            paths.push(ForwardPath::Mailbox(mailbox(a)?));
        }
    }
    if paths.is_empty() {
        return Err(Error::Message("no recipients".into()));
    }
    Ok((from, paths))
}

/// 64 random bits from the standard library's per-process hash keys.
pub(crate) fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcc_is_an_envelope_recipient_and_leaves_the_header() {
        let raw = "From: A <a@example.com>\r\nTo: b@example.net, B2 <B@example.net>\r\n\
                   Bcc: hidden@example.org\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\
                   Message-ID: <x@y>\r\nSubject: hi\r\n\r\nBcc: in the body stays\r\n";
        let m = Outgoing::new(raw.as_bytes().to_vec()).unwrap();
        let to: Vec<String> = m.recipients().iter().map(|r| r.to_string()).collect();
        assert_eq!(to, ["<b@example.net>", "<hidden@example.org>"]);
        let body = String::from_utf8(m.body().to_vec()).unwrap();
        assert_eq!(body, raw.replace("Bcc: hidden@example.org\r\n", ""));
    }

    #[test]
    fn sender_wins_over_from_and_missing_fields_are_added() {
        let raw = "From: a@example.com\r\nSender: s@example.com\r\nTo: b@example.net\r\n\r\nx\r\n";
        let m = Outgoing::new(raw.as_bytes().to_vec()).unwrap();
        assert_eq!(m.sender().to_string(), "<s@example.com>");
        let parsed = Message::parse(m.body());
        assert!(parsed.root.header.date().is_some());
        assert!(
            parsed
                .root
                .header
                .message_id()
                .unwrap()
                .ends_with("@example.com")
        );
    }

    #[test]
    fn no_sender_or_no_recipient_is_a_message_error() {
        for raw in ["To: b@example.net\r\n\r\nx", "From: a@example.com\r\n\r\nx"] {
            assert!(matches!(
                Outgoing::new(raw.as_bytes().to_vec()),
                Err(Error::Message(_))
            ));
        }
        assert!(matches!(
            Outgoing::with_envelope("a@b", &["not an address"], &b""[..]),
            Err(Error::Message(_))
        ));
    }
}
