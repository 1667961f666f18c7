//! A message ready to send: its bytes and its envelope.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use sansmail_mime::builder::MessageBuilder;
use sansmail_mime::{DateTime, Message};
use sansmail_smtp::types::{ForwardPath, Mailbox, ReversePath};

use crate::{Error, MessageProblem};

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
    require_tls: bool,
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
            .ok_or(MessageProblem::NoSender)?;
        let mut to = Vec::new();
        for name in ["To", "Cc", "Bcc"] {
            for field in header.get_all(name) {
                let list = sansmail_mime::parse_addresses(field.raw_value);
                to.extend(list.mailboxes().map(|m| m.address.clone()));
            }
        }
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        let (from_path, to) = envelope(&from, &to)?;
        let mut body = BytesMut::with_capacity(raw.len() + 128);
        let has = |name: &str| header.get(name).is_some();
        add_missing_fields(&mut body, &from, has("Date"), has("Message-ID"));
        // Leave the Bcc fields out; everything else goes as it came.
        let mut at = 0;
        for field in header.get_all("Bcc") {
            body.extend_from_slice(&raw[at..field.range.start]);
            at = field.range.end;
        }
        body.extend_from_slice(&raw[at..]);
        Ok(Outgoing {
            from: from_path,
            to,
            body: body.freeze(),
            require_tls: false,
        })
    }

    /// A message written by the mime builder (see the example above): the
    /// envelope comes from the builder's `Sender` or `From` and its `To`,
    /// `Cc` and `Bcc`, with no parsing; `Bcc` is not written.
    pub fn from_builder(message: &MessageBuilder<'_>) -> Result<Outgoing, Error> {
        let sender = message.envelope_sender().ok_or(MessageProblem::NoSender)?;
        let to: Vec<&str> = message.recipients().map(|m| m.address.as_str()).collect();
        let (from, to) = envelope(&sender.address, &to)?;
        let mut body = BytesMut::new();
        add_missing_fields(
            &mut body,
            &sender.address,
            message.has_field("Date"),
            message.has_field("Message-ID"),
        );
        let mut writer = (&mut body).writer();
        message
            .write_to(&mut writer, random())
            .expect("writing to memory cannot fail");
        Ok(Outgoing {
            from,
            to,
            body: body.freeze(),
            require_tls: false,
        })
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
            require_tls: false,
        })
    }

    /// Asks for REQUIRETLS (RFC 8689): every hop must take the message over
    /// TLS with a verified certificate and pass the request on; where that
    /// cannot be done the message is not sent (a server without REQUIRETLS
    /// gets a local `550 5.7.30`).
    pub fn require_tls(mut self, on: bool) -> Self {
        self.require_tls = on;
        self
    }

    /// True when sent with REQUIRETLS.
    pub fn requires_tls(&self) -> bool {
        self.require_tls
    }

    /// True when the message carries `TLS-Required: No` (RFC 8689 §5): the
    /// sender asks that recipient-side TLS policies (MTA-STS, DANE) not stop
    /// delivery. REQUIRETLS, when also asked for, wins.
    pub fn tls_optional(&self) -> bool {
        if self.require_tls {
            return false;
        }
        let (header, _) = sansmail_mime::Header::parse_top(&self.body);
        header
            .get("TLS-Required")
            .is_some_and(|f| f.raw_value.trim_ascii().eq_ignore_ascii_case(b"no"))
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
            require_tls: self.require_tls,
        }
    }
}

/// Writes `Date` and `Message-ID` unless the message has them.
fn add_missing_fields(out: &mut BytesMut, sender: &str, has_date: bool, has_id: bool) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if !has_date {
        let date = DateTime::from_unix_time(now, 0).to_rfc5322();
        out.extend_from_slice(format!("Date: {date}\r\n").as_bytes());
    }
    if !has_id {
        let domain = sender.rsplit_once('@').map_or("localhost", |(_, d)| d);
        let id = format!("{:016x}{:016x}", now, random());
        out.extend_from_slice(format!("Message-ID: <{id}@{domain}>\r\n").as_bytes());
    }
}

impl From<&Outgoing> for Outgoing {
    fn from(message: &Outgoing) -> Outgoing {
        message.clone()
    }
}

impl TryFrom<&MessageBuilder<'_>> for Outgoing {
    type Error = Error;

    fn try_from(message: &MessageBuilder<'_>) -> Result<Outgoing, Error> {
        Outgoing::from_builder(message)
    }
}

impl TryFrom<MessageBuilder<'_>> for Outgoing {
    type Error = Error;

    fn try_from(message: MessageBuilder<'_>) -> Result<Outgoing, Error> {
        Outgoing::from_builder(&message)
    }
}

fn envelope(from: &str, to: &[&str]) -> Result<(ReversePath, Vec<ForwardPath>), Error> {
    let mailbox = |a: &str| {
        Mailbox::parse(a.trim().trim_start_matches('<').trim_end_matches('>'))
            .map_err(|_| Error::Message(MessageProblem::BadAddress(a.to_owned())))
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
        return Err(MessageProblem::NoRecipients.into());
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
    fn a_builder_gives_its_envelope_and_leaves_bcc_out() {
        use sansmail_mime::Mailbox;
        use sansmail_mime::builder::Entity;
        let builder = MessageBuilder::new(Entity::text("hello\n"))
            .from("Ann <ann@example.com>".parse::<Mailbox>().unwrap())
            .to(Mailbox::new(None, "bob@example.net"))
            .to(Mailbox::new(Some("Cy"), "cy@example.net"))
            .bcc(Mailbox::new(None, "BOB@example.net"))
            .bcc(Mailbox::new(None, "dee@example.org"));
        let m = Outgoing::try_from(&builder).unwrap();
        assert_eq!(m.sender().to_string(), "<ann@example.com>");
        let to: Vec<String> = m.recipients().iter().map(|r| r.to_string()).collect();
        assert_eq!(
            to,
            ["<bob@example.net>", "<cy@example.net>", "<dee@example.org>"]
        );
        let parsed = Message::parse(m.body());
        let header = &parsed.root.header;
        assert!(header.get("Bcc").is_none());
        assert_eq!(header.get_all("To").count(), 1);
        assert!(header.date().is_some() && header.message_id().is_some());
        let no_sender = MessageBuilder::new(Entity::text("x")).to(Mailbox::new(None, "b@x.org"));
        assert!(matches!(
            Outgoing::try_from(no_sender),
            Err(Error::Message(MessageProblem::NoSender))
        ));
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
