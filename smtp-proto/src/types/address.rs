//! Mailbox addresses and paths as RFC 5321 §4.1.2 defines them, with the
//! SMTPUTF8 extensions of RFC 6531.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::chars::{ATEXT, LDH};
use super::{InvalidInput, Source, Store, Text};

/// Longest local part RFC 5321 §4.5.3.1.1 allows, in octets.
pub const MAX_LOCAL_PART: usize = 64;
/// Longest domain RFC 5321 §4.5.3.1.2 allows, in octets.
pub const MAX_DOMAIN: usize = 255;

/// A domain name: dot-separated labels of letters, digits and hyphens, or
/// U-labels (non-ASCII UTF-8) for SMTPUTF8. `S` holds the text: [`Text`]
/// when owned, `Cow<str>` when borrowed from the line it was parsed from.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Domain<S = Text>(S);

impl Domain {
    /// Validates `name` as an RFC 5321 `Domain` (U-labels allowed).
    pub fn new(name: &str) -> Result<Self, InvalidInput> {
        if is_domain(name.as_bytes()) {
            Ok(Domain(name.into()))
        } else {
            Err(InvalidInput::Domain)
        }
    }
}

impl<S: AsRef<str>> Domain<S> {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }

    /// True when every label is ASCII (no SMTPUTF8 needed).
    pub fn is_ascii(&self) -> bool {
        self.as_str().is_ascii()
    }

    /// True when `other` names the same domain (ASCII case-insensitive).
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.as_str().eq_ignore_ascii_case(other)
    }
}

impl<S: AsRef<str>> fmt::Display for Domain<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<S: fmt::Debug> fmt::Debug for Domain<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Domain({:?})", self.0)
    }
}

/// `sub-domain *("." sub-domain)` where a sub-domain is an LDH label or a
/// U-label. Non-ASCII bytes are accepted here; UTF-8 is checked when the
/// domain becomes [`Text`].
pub(crate) fn is_domain(name: &[u8]) -> bool {
    if name.is_empty() || name.len() > MAX_DOMAIN {
        return false;
    }
    // One pass: labels of 1 to 63 LDH octets, not starting or ending with '-'.
    let mut label_len = 0;
    let mut prev = b'.';
    for &b in name {
        if b == b'.' {
            if label_len == 0 || prev == b'-' {
                return false;
            }
            label_len = 0;
        } else {
            if !LDH[usize::from(b)] || (label_len == 0 && b == b'-') {
                return false;
            }
            label_len += 1;
            if label_len > 63 {
                return false;
            }
        }
        prev = b;
    }
    label_len > 0 && prev != b'-'
}

fn is_label(label: &[u8]) -> bool {
    !label.is_empty() && !label.contains(&b'.') && is_domain(label)
}

/// The right-hand side of a mailbox, or the argument of EHLO: a domain or an
/// address literal (RFC 5321 §4.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host<S = Text> {
    /// A domain name.
    Domain(Domain<S>),
    /// `[192.0.2.1]`
    Ipv4(Ipv4Addr),
    /// `[IPv6:2001:db8::1]`
    Ipv6(Ipv6Addr),
    /// `[tag:content]`, a general address literal with a standardized tag
    /// (boxed: rare, and it would double the size of every host).
    General(Box<GeneralLiteral<S>>),
}

/// A general address literal `[tag:content]` (RFC 5321 §4.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GeneralLiteral<S = Text> {
    /// The tag, letters, digits and hyphens.
    pub tag: S,
    /// The content, printable ASCII other than `[`, `\` and `]`.
    pub content: S,
}

impl Host {
    /// Parses a domain or a bracketed address literal.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        parse_host(&Source::borrowed(text.as_bytes()), text.as_bytes())
    }
}

impl<S: AsRef<str>> Host<S> {
    /// True when written in ASCII only.
    pub fn is_ascii(&self) -> bool {
        match self {
            Host::Domain(d) => d.is_ascii(),
            _ => true,
        }
    }
}

/// Parses `text`, a part of `line`, as a domain or address literal.
pub(crate) fn parse_host<'a, L: Store<'a>>(
    line: &L,
    text: &'a [u8],
) -> Result<Host<L::Str>, InvalidInput> {
    let Some(inner) = text.strip_prefix(b"[") else {
        // A name under 64 octets is classed sixteen octets at a time, in
        // the line (`text` is a part of it); a longer one octet by octet.
        let bytes = line.bytes();
        let at = (text.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
        let domain = match crate::ascii::domain_run(bytes, at) {
            Some((len, labels_ok)) if len == text.len() => labels_ok,
            _ => is_domain(text),
        };
        return if domain {
            line.text(text)
                .map(|t| Host::Domain(Domain(t)))
                .ok_or(InvalidInput::Domain)
        } else {
            Err(InvalidInput::Domain)
        };
    };
    let inner = inner
        .strip_suffix(b"]")
        .ok_or(InvalidInput::AddressLiteral)?;
    let inner_str = std::str::from_utf8(inner).map_err(|_| InvalidInput::AddressLiteral)?;
    if let Some(v6) = strip_prefix_ignore_case(inner_str, "IPv6:") {
        return v6
            .parse()
            .map(Host::Ipv6)
            .map_err(|_| InvalidInput::AddressLiteral);
    }
    if let Ok(v4) = inner_str.parse::<Ipv4Addr>() {
        return Ok(Host::Ipv4(v4));
    }
    let colon = memchr::memchr(b':', inner).ok_or(InvalidInput::AddressLiteral)?;
    let (tag, content) = (&inner[..colon], &inner[colon + 1..]);
    let tag_ok = is_label(tag) && tag.is_ascii();
    let content_ok = !content.is_empty()
        && content
            .iter()
            .all(|&b| (33..=126).contains(&b) && !matches!(b, b'[' | b'\\' | b']'));
    match (tag_ok && content_ok, line.text(tag), line.text(content)) {
        (true, Some(tag), Some(content)) => {
            Ok(Host::General(Box::new(GeneralLiteral { tag, content })))
        }
        _ => Err(InvalidInput::AddressLiteral),
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

impl<S: AsRef<str>> fmt::Display for Host<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d.as_str()),
            Host::Ipv4(a) => write!(f, "[{a}]"),
            Host::Ipv6(a) => write!(f, "[IPv6:{a}]"),
            Host::General(literal) => {
                write!(f, "[{}:{}]", literal.tag.as_ref(), literal.content.as_ref())
            }
        }
    }
}

/// The part of a mailbox before the `@`, kept exactly as written (a
/// dot-string, or a quoted string with its quotes and escapes).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LocalPart<S = Text>(S);

impl LocalPart {
    /// Validates `raw` as a wire-form `Local-part` (dot-string or quoted string).
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if is_local_part(raw.as_bytes()) {
            Ok(LocalPart(raw.into()))
        } else {
            Err(InvalidInput::LocalPart)
        }
    }

    /// Builds the wire form for `text`, quoting it only when a dot-string
    /// cannot carry it.
    pub fn from_text(text: &str) -> Result<Self, InvalidInput> {
        if is_dot_string(text.as_bytes()) {
            return Self::parse(text);
        }
        let mut raw = String::with_capacity(text.len() + 2);
        raw.push('"');
        for c in text.chars() {
            if c == '"' || c == '\\' {
                raw.push('\\');
            }
            raw.push(c);
        }
        raw.push('"');
        Self::parse(&raw)
    }
}

impl<S: AsRef<str>> LocalPart<S> {
    /// The wire form, quotes included.
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }

    /// The text the local part stands for: quotes and escapes removed.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        let raw = self.as_str();
        let Some(inner) = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
            return std::borrow::Cow::Borrowed(raw);
        };
        let mut out = String::with_capacity(inner.len());
        let mut escaped = false;
        for c in inner.chars() {
            if !escaped && c == '\\' {
                escaped = true;
                continue;
            }
            escaped = false;
            out.push(c);
        }
        std::borrow::Cow::Owned(out)
    }

    /// True when written in ASCII only.
    pub fn is_ascii(&self) -> bool {
        self.as_str().is_ascii()
    }
}

impl<S: fmt::Debug> fmt::Debug for LocalPart<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalPart({:?})", self.0)
    }
}

/// `Dot-string = Atom *("." Atom)`, in one pass.
fn is_dot_string(s: &[u8]) -> bool {
    let mut prev = b'.';
    for &b in s {
        if b == b'.' {
            if prev == b'.' {
                return false;
            }
        } else if !ATEXT[usize::from(b)] {
            return false;
        }
        prev = b;
    }
    !s.is_empty() && prev != b'.'
}

fn is_quoted_string(s: &[u8]) -> bool {
    let Some(inner) = s.strip_prefix(b"\"").and_then(|s| s.strip_suffix(b"\"")) else {
        return false;
    };
    let mut i = 0;
    while i < inner.len() {
        match inner[i] {
            b'\\' => match inner.get(i + 1) {
                Some(32..=126) => i += 2,
                _ => return false,
            },
            b'"' => return false,
            32..=126 | 0x80.. => i += 1,
            _ => return false,
        }
    }
    true
}

/// Dot-string or quoted string; UTF-8 is checked when it becomes [`Text`].
fn is_local_part(s: &[u8]) -> bool {
    s.len() <= MAX_LOCAL_PART && (is_dot_string(s) || is_quoted_string(s))
}

/// A mailbox, `local-part@host`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mailbox<S = Text> {
    /// Before the `@`.
    pub local_part: LocalPart<S>,
    /// After the `@`.
    pub host: Host<S>,
}

impl Mailbox {
    /// Parses `local@domain` or `local@[literal]` (no angle brackets).
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        parse_mailbox(&Source::borrowed(text.as_bytes()), text.as_bytes())
    }
}

impl<S: AsRef<str>> Mailbox<S> {
    /// True when no SMTPUTF8 is needed to send this mailbox.
    pub fn is_ascii(&self) -> bool {
        self.local_part.is_ascii() && self.host.is_ascii()
    }
}

/// Parses `text`, a part of `line`, as `local@host`.
pub(crate) fn parse_mailbox<'a, L: Store<'a>>(
    line: &L,
    text: &'a [u8],
) -> Result<Mailbox<L::Str>, InvalidInput> {
    // The host never contains '@' or '"', so the last '@' separates them.
    let at = text
        .iter()
        .rposition(|&b| b == b'@')
        .ok_or(InvalidInput::Mailbox)?;
    let (local, host) = (&text[..at], &text[at + 1..]);
    if !is_local_part(local) {
        return Err(InvalidInput::LocalPart);
    }
    let local_part = line.text(local).ok_or(InvalidInput::LocalPart)?;
    Ok(Mailbox {
        local_part: LocalPart(local_part),
        host: parse_host(line, host)?,
    })
}

impl<S: AsRef<str>> fmt::Display for Mailbox<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local_part.as_str(), self.host)
    }
}

/// The argument of MAIL FROM: a mailbox, or the null path `<>` used for
/// delivery status notifications.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReversePath<S = Text> {
    /// `<>`
    Null,
    /// `<mailbox>`
    Mailbox(Mailbox<S>),
}

impl<S> ReversePath<S> {
    /// The mailbox, unless this is the null path.
    pub fn mailbox(&self) -> Option<&Mailbox<S>> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(m) => Some(m),
        }
    }
}

impl<S: AsRef<str>> fmt::Display for ReversePath<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// The argument of RCPT TO: a mailbox, or the bare `<Postmaster>` every
/// server must accept (RFC 5321 §4.5.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ForwardPath<S = Text> {
    /// `<Postmaster>` with no domain.
    Postmaster,
    /// `<mailbox>`
    Mailbox(Mailbox<S>),
}

impl<S: AsRef<str>> ForwardPath<S> {
    /// The mailbox, unless this is the bare postmaster.
    pub fn mailbox(&self) -> Option<&Mailbox<S>> {
        match self {
            ForwardPath::Postmaster => None,
            ForwardPath::Mailbox(m) => Some(m),
        }
    }

    /// True when no SMTPUTF8 is needed to send this path.
    pub fn is_ascii(&self) -> bool {
        self.mailbox().is_none_or(Mailbox::is_ascii)
    }
}

impl<S: AsRef<str>> fmt::Display for ForwardPath<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// Splits `<path>` off the front of `input`, returning the text inside the
/// brackets (source route removed, RFC 5321 §4.1.1.3 says to ignore it) and
/// the rest after `>`.
pub(crate) fn split_path(input: &[u8]) -> Result<(&[u8], &[u8]), InvalidInput> {
    let inner = input.strip_prefix(b"<").ok_or(InvalidInput::Path)?;
    // Fast path: no quoted local part and no route before the closing bracket.
    if let Some(end) = inner.iter().position(|&b| b == b'>' || b == b'"')
        && inner[end] == b'>'
        && inner.first() != Some(&b'@')
    {
        return Ok((&inner[..end], &inner[end + 1..]));
    }
    // A quoted local part may contain '>', so scan quote-aware.
    let mut in_quotes = false;
    let mut i = 0;
    let end = loop {
        match inner.get(i) {
            None => return Err(InvalidInput::Path),
            Some(b'\\') if in_quotes => i += 2,
            Some(b'"') => {
                in_quotes = !in_quotes;
                i += 1;
            }
            Some(b'>') if !in_quotes => break i,
            Some(_) => i += 1,
        }
    };
    let mut path = &inner[..end];
    if path.first() == Some(&b'@') {
        // A-d-l ":" — an obsolete source route.
        let colon = memchr::memchr(b':', path).ok_or(InvalidInput::Path)?;
        let route_ok = path[..colon].split(|&b| b == b',').all(|hop| {
            hop.strip_prefix(b"@")
                .is_some_and(|h| is_domain(h) || is_bracketed_literal(h))
        });
        if !route_ok {
            return Err(InvalidInput::Path);
        }
        path = &path[colon + 1..];
    }
    Ok((path, &inner[end + 1..]))
}

/// `[...]` of printable ASCII: the form of an address literal, as a
/// source route hop needs (the route itself is ignored).
fn is_bracketed_literal(hop: &[u8]) -> bool {
    hop.strip_prefix(b"[")
        .and_then(|h| h.strip_suffix(b"]"))
        .is_some_and(|h| h.iter().all(|&b| (33..=126).contains(&b)))
}

/// What a path held: `<>`, `<Postmaster>` or a mailbox.
#[derive(Debug)]
pub(crate) enum Path<S> {
    /// `<>`
    Null,
    /// `<Postmaster>`, in any case.
    Postmaster,
    /// `<local@host>`
    Mailbox(Mailbox<S>),
}

/// Reads `<path>` at the front of `input` (a part of `line`) and returns it
/// with the rest of the input after `>`: the usual path by
/// [`read_dot_mailbox`]; a quoted local part, a source route, an address
/// literal or anything malformed the general way ([`split_path`] and
/// [`parse_mailbox`]), which accepts exactly what the one pass accepts
/// and names every error.
pub(crate) fn read_path<'a, L: Store<'a>>(
    line: &L,
    input: &'a [u8],
) -> Result<(Path<L::Str>, &'a [u8]), InvalidInput> {
    if let Some(inner) = input.strip_prefix(b"<") {
        if inner.first() == Some(&b'>') {
            return Ok((Path::Null, &inner[1..]));
        }
        if let Some((mailbox, rest)) = read_dot_mailbox(line, inner) {
            return Ok((Path::Mailbox(mailbox), rest));
        }
    }
    read_path_generally(line, input)
}

/// The usual path after its `<`: `dot-string@domain>`, read in one pass
/// (the local part checked against `atext` and the dot rules as the
/// cursor moves, the domain as letters-digits-hyphens with its label
/// rules on bit masks), with the rest of the input after `>`. `None` for
/// anything else, which [`read_path`] reads the general way.
#[inline(always)]
pub(crate) fn read_dot_mailbox<'a, L: Store<'a>>(
    line: &L,
    inner: &'a [u8],
) -> Option<(Mailbox<L::Str>, &'a [u8])> {
    let bytes = line.bytes();
    // Where `inner`, a part of the line, starts in it.
    let offset = (inner.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
    debug_assert!(offset <= bytes.len(), "not a part of the line");
    // The local part: atext and dots, classed sixteen octets at a time.
    let (i, dots_ok) = match crate::ascii::local_run(bytes, offset) {
        Some(run) => run,
        None => local_octets(inner),
    };
    if !dots_ok || i > MAX_LOCAL_PART || inner.get(i) != Some(&b'@') {
        return None;
    }
    // The domain: LDH octets and dots, its labels checked on bit masks (a
    // domain of 64 octets or more, or in a line under 16, goes the general way).
    let start = i + 1;
    let (len, labels_ok) = crate::ascii::domain_run(bytes, offset + start)?;
    let j = start + len;
    if !labels_ok || inner.get(j) != Some(&b'>') {
        return None;
    }
    let mailbox = Mailbox {
        local_part: LocalPart(line.text(&inner[..i])?),
        host: Host::Domain(Domain(line.text(&inner[start..j])?)),
    };
    Some((mailbox, &inner[j + 1..]))
}

/// [`crate::ascii::local_run`] octet by octet: the run of `atext` and
/// dots at the start of `inner`, each dot checked as it is passed (the
/// start counts as a dot, so a leading dot is one after another).
fn local_octets(inner: &[u8]) -> (usize, bool) {
    let (mut i, mut after_dot, mut dots_apart) = (0, true, true);
    for &b in inner {
        if ATEXT[usize::from(b)] {
            after_dot = false;
        } else if b == b'.' {
            dots_apart &= !after_dot;
            after_dot = true;
        } else {
            break;
        }
        i += 1;
    }
    (i, i > 0 && dots_apart && !after_dot)
}

/// [`read_path`] the general way: any path RFC 5321 allows, every error named.
fn read_path_generally<'a, L: Store<'a>>(
    line: &L,
    input: &'a [u8],
) -> Result<(Path<L::Str>, &'a [u8]), InvalidInput> {
    let (inner, rest) = split_path(input)?;
    let path = if inner.is_empty() {
        Path::Null
    } else if inner.eq_ignore_ascii_case(b"postmaster") {
        Path::Postmaster
    } else {
        Path::Mailbox(parse_mailbox(line, inner)?)
    };
    Ok((path, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn domains() {
        assert!(Domain::new("example.com").is_ok());
        assert!(Domain::new("xn--bcher-kva.example").is_ok());
        assert!(Domain::new("bücher.example").is_ok());
        assert!(Domain::new("-bad.example").is_err());
        assert!(Domain::new("bad..example").is_err());
        assert!(Domain::new("").is_err());
        assert!(Domain::new(&"a".repeat(64)).is_err());
        assert!(Domain::new("under_score.example").is_err());
    }

    #[test]
    fn hosts_and_literals() {
        assert_eq!(
            Host::parse("[192.0.2.1]").unwrap(),
            Host::Ipv4([192, 0, 2, 1].into())
        );
        assert_eq!(
            Host::parse("[IPv6:2001:db8::1]").unwrap(),
            Host::Ipv6("2001:db8::1".parse().unwrap())
        );
        assert!(matches!(
            Host::parse("[x-tag:abc]").unwrap(),
            Host::General(_)
        ));
        assert!(Host::parse("[300.1.1.1]").is_err());
        assert!(Host::parse("[IPv6:zz]").is_err());
        assert_eq!(Host::parse("[IPv6:::1]").unwrap().to_string(), "[IPv6:::1]");
    }

    #[test]
    fn local_parts() {
        let quoted = LocalPart::parse(r#""john \"doe\"""#).unwrap();
        assert_eq!(quoted.text(), r#"john "doe""#);
        assert_eq!(LocalPart::from_text(r#"john "doe""#).unwrap(), quoted);
        assert_eq!(
            LocalPart::from_text("plain.user").unwrap().as_str(),
            "plain.user"
        );
        assert!(LocalPart::parse("a..b").is_err());
        assert!(LocalPart::parse(&"a".repeat(65)).is_err());
        assert!(LocalPart::parse("jörg").is_ok());
    }

    #[test]
    fn paths() {
        let (inner, rest) =
            split_path(b"<@relay.example,@b.example:user@d.example> SIZE=1").unwrap();
        assert_eq!(inner, b"user@d.example");
        assert_eq!(rest, b" SIZE=1");
        let (inner, _) = split_path(br#"<"a>b"@example.com>"#).unwrap();
        assert_eq!(inner, br#""a>b"@example.com"#);
        let bytes = Bytes::from_static(b"<PostMaster> <postmaster@example.com> <>");
        let line = Source::shared(&bytes);
        let line_bytes = &bytes[..];
        assert!(matches!(
            read_path(&line, &line_bytes[..12]),
            Ok((Path::Postmaster, b""))
        ));
        assert!(matches!(
            read_path(&line, &line_bytes[13..37]),
            Ok((Path::Mailbox(_), b""))
        ));
        assert!(matches!(
            read_path(&line, &line_bytes[38..]),
            Ok((Path::Null, b""))
        ));
        assert!(split_path(b"<unterminated").is_err());
        let open = Bytes::from_static(b"<unterminated@example.com");
        assert!(read_path(&Source::shared(&open), &open).is_err());
    }

    proptest::proptest! {
        /// A host name classed in the line is accepted exactly when the
        /// octet-by-octet check accepts it, wherever it starts.
        #[test]
        fn host_names_classed_in_the_line_read_as_octet_by_octet(
            prefix in 0..30usize,
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "Z9", ".", "-", "_", "é", " ", "\0", "x-y", "example", "com", "-a", "a-",
                    "abcdefghijklmnopqrstuvwxyz0123456789",
                ]),
                0..8,
            ),
        ) {
            let text = parts.concat();
            let line = format!("{}{text}", "E".repeat(prefix));
            let bytes = Bytes::from(line.into_bytes());
            let host = &bytes[prefix..];
            let read = parse_host(&Source::shared(&bytes), host).is_ok();
            proptest::prop_assert_eq!(read, is_domain(host) && std::str::from_utf8(host).is_ok());
        }
    }

    proptest::proptest! {
        /// The one-pass reading and the general one agree on every path.
        #[test]
        fn one_pass_paths_read_as_the_general_way(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "Z9", ".", "-", "@", ">", "<", "\"", "[", "]", "x.y", "é", "+", ":", ",", " ", "\0",
                    "example.com", "[192.0.2.1]", "-a", "a-", "sub.domain.example.com",
                    "abcdefghijklmnopqrstuvwxyz-0123456789",
                ]),
                0..12,
            )
        ) {
            let text = format!("<{}", parts.concat());
            let bytes = Bytes::from(text.into_bytes());
            let line = Source::shared(&bytes);
            let fast = read_path(&line, &bytes).map(|(p, rest)| (format!("{p:?}"), rest.to_vec()));
            let general = read_path_generally(&line, &bytes)
                .map(|(p, rest)| (format!("{p:?}"), rest.to_vec()));
            proptest::prop_assert_eq!(fast, general);
        }
    }
}
