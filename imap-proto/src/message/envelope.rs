//! ENVELOPE and BODYSTRUCTURE from a parsed message (RFC 9051 §7.5.2).

use sansmail_mime::words::encode_header_text;
use sansmail_mime::{Address, Body, Message, Param, Part, parse_addresses};

use crate::types::{
    BasicFields, BodyExtension, BodyStructure, Disposition, Envelope, EnvelopeAddress, SinglePart,
    Str,
};

/// The host c-client and Dovecot give an address without a domain.
const MISSING_HOST: &str = ".MISSING-HOST-NAME.";

/// A header field's value unfolded and trimmed, or `None` when absent or empty.
fn raw_field(part: &Part<'_>, name: &str) -> Option<Str> {
    let value = part.header.get(name)?.value();
    (!value.is_empty()).then(|| Str::from(value.as_ref()))
}

/// Source routes (`<@a,@b:user@host>`, RFC 5322 §4.4) in a raw address
/// field, by the address they lead to: ENVELOPE keeps them as `adl`.
fn source_routes(value: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(value);
    let mut routes = Vec::new();
    let mut rest = text.as_ref();
    while let Some(open) = rest.find("<@") {
        let inside = &rest[open + 1..];
        let Some(close) = inside.find('>') else { break };
        let angle = &inside[..close];
        if let Some((route, address)) = angle.split_once(':') {
            let clean = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            routes.push((clean(address), clean(route)));
        }
        rest = &inside[close..];
    }
    routes
}

fn mailbox_routed(m: &sansmail_mime::Mailbox, routes: &[(String, String)]) -> EnvelopeAddress {
    let (local, host) = match m.address.rsplit_once('@') {
        Some((l, h)) => (l, h),
        None => (m.address.as_str(), MISSING_HOST),
    };
    EnvelopeAddress {
        // Names go back to RFC 2047 form: ENVELOPE carries header syntax.
        name: m
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .map(|n| Str::from(encode_header_text(n, true, " ").as_ref())),
        adl: routes
            .iter()
            .find(|(address, _)| *address == m.address)
            .map(|(_, route)| Str::from(route.as_str())),
        mailbox: Some(Str::from(local)),
        host: Some(Str::from(host)),
    }
}

/// An address field as ENVELOPE lists it; groups are bracketed by a start
/// entry (host `NIL`, mailbox the group name) and an end entry (all `NIL`).
fn addresses(part: &Part<'_>, name: &str) -> Vec<EnvelopeAddress> {
    let Some(field) = part.header.get(name) else {
        return Vec::new();
    };
    let value = field.value();
    let list = parse_addresses(&value);
    let routes = source_routes(&value);
    let mut out = Vec::new();
    for a in &list.addresses {
        match a {
            Address::Mailbox(m) => out.push(mailbox_routed(m, &routes)),
            Address::Group { name, members } => {
                out.push(EnvelopeAddress {
                    mailbox: Some(Str::from(encode_header_text(name, true, " ").as_ref())),
                    ..EnvelopeAddress::default()
                });
                out.extend(members.iter().map(|m| mailbox_routed(m, &routes)));
                out.push(EnvelopeAddress::default());
            }
        }
    }
    out
}

/// The envelope of a message's (or an enclosed message's) header.
pub fn envelope_of(part: &Part<'_>) -> Envelope {
    let from = addresses(part, "from");
    let or_from = |list: Vec<EnvelopeAddress>| if list.is_empty() { from.clone() } else { list };
    Envelope {
        date: raw_field(part, "date"),
        subject: raw_field(part, "subject"),
        sender: or_from(addresses(part, "sender")),
        reply_to: or_from(addresses(part, "reply-to")),
        to: addresses(part, "to"),
        cc: addresses(part, "cc"),
        bcc: addresses(part, "bcc"),
        in_reply_to: raw_field(part, "in-reply-to"),
        message_id: raw_field(part, "message-id"),
        from,
    }
}

/// The envelope of a message.
pub fn envelope(message: &Message<'_>) -> Envelope {
    envelope_of(&message.root)
}

fn upper(s: &str) -> Str {
    Str::from(s.to_ascii_uppercase())
}

/// Parameters as BODYSTRUCTURE writes them: names uppercased; RFC 2231
/// values in their extended form again (`NAME*` = `charset''%XX`).
fn params(list: &[Param<'_>]) -> Vec<(Str, Str)> {
    list.iter()
        .map(|p| match &p.charset {
            None => (upper(&p.name), Str::from(p.value.as_ref())),
            Some(charset) => {
                let mut v = format!("{charset}''");
                for &b in p.value.iter() {
                    if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                        v.push(b as char);
                    } else {
                        v.push_str(&format!("%{b:02X}"));
                    }
                }
                (upper(&format!("{}*", p.name)), Str::from(v))
            }
        })
        .collect()
}

fn extension(part: &Part<'_>) -> BodyExtension {
    let language = part
        .header
        .get("content-language")
        .map(|f| {
            String::from_utf8_lossy(&f.value())
                .split(',')
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .map(Str::from)
                .collect()
        })
        .unwrap_or_default();
    BodyExtension {
        disposition: part.disposition().map(|d| Disposition {
            kind: upper(&d.kind),
            params: params(&d.params),
        }),
        language,
        location: raw_field(part, "content-location"),
        extra: Vec::new(),
    }
}

fn lines(body: &[u8]) -> u32 {
    let n = memchr::memchr_iter(b'\n', body).count();
    let partial = !body.is_empty() && !body.ends_with(b"\n");
    (n + usize::from(partial)) as u32
}

/// The structure of a part; with `extensions`, BODYSTRUCTURE's extension
/// data (else what `FETCH BODY` gives).
pub fn structure_of(message: &Message<'_>, part: &Part<'_>, extensions: bool) -> BodyStructure {
    let ct = &part.content_type;
    if let Body::Multipart { parts, .. } = &part.body {
        let mut parts: Vec<BodyStructure> = parts
            .iter()
            .map(|p| structure_of(message, p, extensions))
            .collect();
        if parts.is_empty() {
            // A multipart without parts (only its closing delimiter): the
            // grammar needs one, so an empty text part stands in, as Dovecot writes it.
            parts.push(empty_text_part(extensions));
        }
        return BodyStructure::Multipart {
            parts,
            subtype: upper(&ct.subtype),
            extension: extensions.then(|| (params(&ct.params), extension(part))),
        };
    }
    let body = message.slice(&part.body_range);
    let encoding = part
        .header
        .get("content-transfer-encoding")
        .map(|f| {
            String::from_utf8_lossy(&f.value())
                .trim()
                .to_ascii_uppercase()
        })
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "7BIT".into());
    let fields = BasicFields {
        media_type: upper(&ct.kind),
        subtype: upper(&ct.subtype),
        params: params(&ct.params),
        id: raw_field(part, "content-id"),
        description: raw_field(part, "content-description"),
        encoding: Str::from(encoding),
        size: u32::try_from(body.len()).unwrap_or(u32::MAX),
    };
    let kind = match &part.body {
        Body::Message(inner) => SinglePart::Message {
            envelope: Box::new(envelope_of(inner)),
            body: Box::new(structure_of(message, inner, extensions)),
            lines: lines(body),
        },
        _ if ct.kind == "text" => SinglePart::Text { lines: lines(body) },
        _ => SinglePart::Basic,
    };
    BodyStructure::Single {
        fields,
        kind,
        extension: extensions.then(|| (raw_field(part, "content-md5"), extension(part))),
    }
}

/// An empty `text/plain; charset=us-ascii` part.
fn empty_text_part(extensions: bool) -> BodyStructure {
    BodyStructure::Single {
        fields: BasicFields {
            media_type: Str::from("TEXT"),
            subtype: Str::from("PLAIN"),
            params: vec![(Str::from("CHARSET"), Str::from("us-ascii"))],
            id: None,
            description: None,
            encoding: Str::from("7BIT"),
            size: 0,
        },
        kind: SinglePart::Text { lines: 0 },
        extension: extensions.then(|| (None, BodyExtension::default())),
    }
}

/// BODYSTRUCTURE (`extensions` true) or BODY of a message.
pub fn body_structure(message: &Message<'_>, extensions: bool) -> BodyStructure {
    structure_of(message, &message.root, extensions)
}
