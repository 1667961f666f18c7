//! Address lists (RFC 5322 §3.4 with the obsolete syntax of §4.4): mailboxes,
//! groups, display names (quoted, encoded words), comments and source routes.

use std::borrow::Cow;

use crate::words::decode_header_text;

/// One mailbox: `Name <local@domain>` or a bare `local@domain`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name, decoded; for a bare address, a comment beside it (`a@b (Name)`).
    pub name: Option<String>,
    /// The address `local@domain` with quoting and source route removed (may be empty: `<>`).
    pub address: String,
}

impl Mailbox {
    /// A mailbox from a display name (or none) and an address, as given.
    ///
    /// ```
    /// use sansmail_mime::Mailbox;
    ///
    /// let ann = Mailbox::new(Some("Ann Smith"), "ann@example.com");
    /// assert_eq!(ann.to_string(), "Ann Smith <ann@example.com>");
    /// assert_eq!("Ann Smith <ann@example.com>".parse(), Ok(ann));
    /// ```
    pub fn new(name: Option<&str>, address: &str) -> Mailbox {
        Mailbox {
            name: name.map(str::to_owned),
            address: address.to_owned(),
        }
    }
}

/// Reads one mailbox, `Name <local@domain>` or `local@domain`, as a
/// header field would hold it (quoted and encoded names included).
impl std::str::FromStr for Mailbox {
    type Err = MailboxError;

    fn from_str(s: &str) -> Result<Mailbox, MailboxError> {
        let error = || MailboxError(s.to_owned());
        if s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(error());
        }
        let list = parse_addresses(s.as_bytes());
        match list.addresses.as_slice() {
            [Address::Mailbox(m)] if is_plain_address(&m.address) => Ok(m.clone()),
            _ => Err(error()),
        }
    }
}

/// `local@domain` with both parts present and no spaces or angle brackets.
fn is_plain_address(address: &str) -> bool {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !address
                    .bytes()
                    .any(|b| b <= b' ' || matches!(b, b'<' | b'>' | 0x7f))
        }
        None => false,
    }
}

/// Writes the mailbox as a header field holds it: the name quoted or
/// encoded where it needs to be (see [`crate::builder::format_mailbox`]).
impl std::fmt::Display for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::builder::format_mailbox(self))
    }
}

/// The text given to [`Mailbox`]'s `parse` is not one mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxError(pub String);

impl std::fmt::Display for MailboxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is not one mailbox (Name <local@domain>)", self.0)
    }
}

impl std::error::Error for MailboxError {}

/// A mailbox or a named group of them (`Team: a@x, b@y;`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// A single mailbox.
    Mailbox(Mailbox),
    /// A group with its display name and members (possibly none).
    Group {
        /// The group's name, decoded.
        name: String,
        /// The mailboxes in it.
        members: Vec<Mailbox>,
    },
}

/// An address list as read, and whether it was cut at the limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressList {
    /// The addresses, in order.
    pub addresses: Vec<Address>,
    /// More mailboxes than the limit were written: the rest were not read.
    pub truncated: bool,
}

impl AddressList {
    /// Every mailbox, those in groups included, in order.
    pub fn mailboxes(&self) -> impl Iterator<Item = &Mailbox> {
        self.addresses.iter().flat_map(|a| match a {
            Address::Mailbox(m) => std::slice::from_ref(m).iter(),
            Address::Group { members, .. } => members.iter(),
        })
    }
}

/// Most mailboxes read from one field by [`parse_addresses`].
pub const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug, PartialEq)]
enum Token<'a> {
    /// An atom or dot-atom as written (encoded words still encoded).
    Atom(Cow<'a, str>),
    /// A quoted string's content, decoded.
    Quoted(String),
    Comment(String),
    Special(u8),
    /// `<...>` content.
    Angle(String),
}

/// A token and whether whitespace came before it.
type Spaced<'a> = (Token<'a>, bool);

/// True for the octets that end an atom: whitespace, a quote, a comment,
/// an angle address or a special.
const ENDS_ATOM: [bool; 256] = {
    let mut table = [false; 256];
    let ends = b" \t\r\n\"(<,:;@>";
    let mut i = 0;
    while i < ends.len() {
        table[ends[i] as usize] = true;
        i += 1;
    }
    table
};

/// The tokens of an address list, read one at a time (so a long list
/// never holds more than one address's tokens).
struct Tokens<'a> {
    v: &'a [u8],
    i: usize,
    /// Whitespace came since the last token.
    gap: bool,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Spaced<'a>;

    fn next(&mut self) -> Option<Spaced<'a>> {
        let v = self.v;
        let mut i = self.i;
        while i < v.len() && matches!(v[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
            self.gap = true;
        }
        if i >= v.len() {
            self.i = i;
            return None;
        }
        let token = match v[i] {
            b'"' => {
                let mut word = Vec::new();
                i += 1;
                while i < v.len() && v[i] != b'"' {
                    if v[i] == b'\\' && i + 1 < v.len() {
                        i += 1;
                    }
                    if v[i] != b'\r' && v[i] != b'\n' {
                        word.push(v[i]);
                    }
                    i += 1;
                }
                i += 1;
                Token::Quoted(decode_header_text(&word).text.into_owned())
            }
            b'(' => {
                let mut depth = 0;
                let mut text = Vec::new();
                while i < v.len() {
                    match v[i] {
                        b'\\' if i + 1 < v.len() => {
                            i += 1;
                            text.push(v[i]);
                        }
                        b'(' => {
                            if depth > 0 {
                                text.push(b'(');
                            }
                            depth += 1;
                        }
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            text.push(b')');
                        }
                        c => text.push(c),
                    }
                    i += 1;
                }
                i += 1;
                let text = decode_header_text(crate::header::trim(&text))
                    .text
                    .into_owned();
                Token::Comment(text)
            }
            b'<' => {
                let end = memchr::memchr(b'>', &v[i..]).map_or(v.len(), |e| i + e);
                let address = angle_address(&v[i + 1..end]);
                i = end + 1;
                Token::Angle(address)
            }
            b @ (b',' | b':' | b';' | b'@' | b'>') => {
                i += 1;
                Token::Special(b)
            }
            _ => {
                let start = i;
                while i < v.len() && !ENDS_ATOM[v[i] as usize] {
                    i += 1;
                }
                Token::Atom(crate::charset::lossy(&v[start..i]))
            }
        };
        self.i = i;
        Some((token, std::mem::replace(&mut self.gap, false)))
    }
}

/// The address inside `<...>`: source route (`@a,@b:`), whitespace and comments dropped.
fn angle_address(v: &[u8]) -> String {
    let v = match (v.first(), memchr::memchr(b':', v)) {
        (Some(b'@'), Some(colon)) => &v[colon + 1..],
        _ => v,
    };
    // The usual address: nothing to drop and nothing quoted.
    if !v
        .iter()
        .any(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'(' | b'"'))
    {
        return crate::charset::lossy(v).into_owned();
    }
    let mut out = Vec::with_capacity(v.len());
    let mut depth = 0;
    let mut quoted = false;
    for &b in v {
        match b {
            b'"' if depth == 0 => {
                quoted = !quoted;
                out.push(b);
            }
            b'(' if !quoted => depth += 1,
            b')' if !quoted && depth > 0 => depth -= 1,
            b' ' | b'\t' | b'\r' | b'\n' if !quoted => {}
            _ if depth > 0 => {}
            _ => out.push(b),
        }
    }
    unquote_local_part(&crate::charset::lossy(&out))
}

/// `"john doe"@example.com` stays quoted only where it needs to be.
fn unquote_local_part(addr: &str) -> String {
    match addr.rfind('@') {
        Some(at) if addr.starts_with('"') && addr[..at].ends_with('"') && at >= 2 => {
            let local = &addr[1..at - 1];
            if local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
            {
                format!("{local}{}", &addr[at..])
            } else {
                addr.to_owned()
            }
        }
        _ => addr.to_owned(),
    }
}

/// A display name from phrase tokens: runs of atoms decoded together (so
/// adjacent encoded words join, RFC 2047 §6.2), quoted strings as they are.
fn phrase(parts: &[Spaced]) -> String {
    let mut name = String::new();
    let mut atoms = String::new();
    let flush = |atoms: &mut String, name: &mut String| {
        if !atoms.is_empty() {
            name.push_str(&decode_header_text(atoms.as_bytes()).text);
            atoms.clear();
        }
    };
    for (t, gap) in parts {
        let text = match t {
            Token::Atom(a) => a.as_ref(),
            Token::Special(b'@') => "@",
            Token::Special(b'.') => ".",
            Token::Quoted(q) => {
                flush(&mut atoms, &mut name);
                if *gap && !name.is_empty() {
                    name.push(' ');
                }
                name.push_str(q);
                continue;
            }
            _ => continue,
        };
        if *gap && (!atoms.is_empty() || !name.is_empty()) {
            if atoms.is_empty() {
                name.push(' ');
            } else {
                atoms.push(' ');
            }
        }
        atoms.push_str(text);
    }
    flush(&mut atoms, &mut name);
    name
}

/// Collects one mailbox from the tokens between separators.
fn mailbox(parts: &mut [Spaced]) -> Option<Mailbox> {
    let comment = parts.iter().find_map(|(t, _)| match t {
        Token::Comment(c) if !c.is_empty() => Some(c.as_str()),
        _ => None,
    });
    let angle = parts.iter().position(|(t, _)| matches!(t, Token::Angle(_)));
    match angle {
        Some(at) => {
            let mut name = phrase(&parts[..at]);
            if name.is_empty() {
                name = phrase(&parts[at + 1..]);
            }
            let name = (!name.is_empty())
                .then_some(name)
                .or_else(|| comment.map(str::to_owned));
            let Token::Angle(address) = &mut parts[at].0 else {
                return None;
            };
            Some(Mailbox {
                name,
                address: std::mem::take(address),
            })
        }
        None => {
            let mut bare = String::new();
            for (t, _) in parts.iter() {
                match t {
                    Token::Atom(a) => bare.push_str(a),
                    Token::Quoted(a) => bare.push_str(a),
                    Token::Special(b'@') => bare.push('@'),
                    _ => {}
                }
            }
            (!bare.is_empty()).then(|| Mailbox {
                name: comment.map(str::to_owned),
                address: bare,
            })
        }
    }
}

/// Reads an address list (From, To, Cc, Reply-To, ...) from a field value,
/// at most [`MAX_ADDRESSES`] mailboxes. Never fails: what cannot be read as
/// an address is skipped.
pub fn parse_addresses(value: &[u8]) -> AddressList {
    parse_addresses_with(value, MAX_ADDRESSES)
}

/// [`parse_addresses`] with another limit.
pub fn parse_addresses_with(value: &[u8], max: usize) -> AddressList {
    let mut tokens = Tokens {
        v: value,
        i: 0,
        gap: false,
    };
    let mut list = AddressList::default();
    let mut count = 0;
    let mut group: Option<(String, Vec<Mailbox>)> = None;
    // The tokens since the last separator: one address at a time.
    let mut current: Vec<Spaced<'_>> = Vec::new();
    let mut push =
        |list: &mut AddressList, group: &mut Option<(String, Vec<Mailbox>)>, m: Mailbox| {
            if count >= max {
                list.truncated = true;
                return;
            }
            count += 1;
            match group {
                Some((_, members)) => members.push(m),
                None => list.addresses.push(Address::Mailbox(m)),
            }
        };
    loop {
        let next = tokens.next();
        let last = next.is_none();
        match next.as_ref().map(|(t, _)| t) {
            None | Some(Token::Special(b',')) => {
                if let Some(m) = mailbox(&mut current) {
                    push(&mut list, &mut group, m);
                }
                current.clear();
            }
            Some(Token::Special(b':')) if group.is_none() => {
                group = Some((phrase(&current), Vec::new()));
                current.clear();
            }
            Some(Token::Special(b';')) => {
                if let Some(m) = mailbox(&mut current) {
                    push(&mut list, &mut group, m);
                }
                if let Some((name, members)) = group.take() {
                    list.addresses.push(Address::Group { name, members });
                }
                current.clear();
            }
            _ => current.extend(next),
        }
        if list.truncated || last {
            break;
        }
    }
    if let Some((name, members)) = group.take() {
        list.addresses.push(Address::Group { name, members });
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(name: Option<&str>, address: &str) -> Address {
        Address::Mailbox(Mailbox {
            name: name.map(str::to_owned),
            address: address.to_owned(),
        })
    }

    #[test]
    fn reads_the_rfc_5322_examples() {
        let l = parse_addresses(b"\"Joe Q. Public\" <john.q.public@example.com>");
        assert_eq!(
            l.addresses,
            [mb(Some("Joe Q. Public"), "john.q.public@example.com")]
        );
        let l = parse_addresses(b"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>");
        assert_eq!(
            l.addresses,
            [
                mb(Some("Mary Smith"), "mary@x.test"),
                mb(None, "jdoe@example.org"),
                mb(Some("Who?"), "one@y.test"),
            ]
        );
        let l = parse_addresses(
            b"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Undisclosed recipients:;",
        );
        assert_eq!(l.addresses.len(), 2);
        let Address::Group { name, members } = &l.addresses[0] else {
            panic!()
        };
        assert_eq!(name, "A Group");
        assert_eq!(members.len(), 3);
        assert_eq!(
            l.addresses[1],
            Address::Group {
                name: "Undisclosed recipients".into(),
                members: vec![]
            }
        );
        let l = parse_addresses(b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>");
        assert_eq!(l.addresses, [mb(Some("Pete"), "pete@silly.test")]);
    }

    #[test]
    fn reads_obsolete_and_encoded_forms() {
        let l = parse_addresses(b"<@route.test,@other.test:joe@example.com>");
        assert_eq!(l.addresses, [mb(None, "joe@example.com")]);
        let l = parse_addresses(b"joe@example.com (Joe Bloggs)");
        assert_eq!(l.addresses, [mb(Some("Joe Bloggs"), "joe@example.com")]);
        let l = parse_addresses(b"=?utf-8?q?Ren=C3=A9?= <r@x.test>");
        assert_eq!(l.addresses, [mb(Some("René"), "r@x.test")]);
        let l =
            parse_addresses(b"=?utf-8?q?a?= =?utf-8?q?b?= <r@x.test>, phil@x.test <phil@x.test>");
        assert_eq!(
            l.addresses,
            [
                mb(Some("ab"), "r@x.test"),
                mb(Some("phil@x.test"), "phil@x.test")
            ]
        );
        let l = parse_addresses(b"\"=?utf-8?q?Ren=C3=A9?=\" <r@x.test>");
        assert_eq!(l.addresses, [mb(Some("René"), "r@x.test")]);
        let l = parse_addresses(b"<\"joe\"@x.test>, <\"a b\"@x.test>, <>");
        assert_eq!(
            l.addresses,
            [
                mb(None, "joe@x.test"),
                mb(None, "\"a b\"@x.test"),
                mb(None, "")
            ]
        );
    }

    #[test]
    fn stops_at_the_limit() {
        let mut v = Vec::new();
        for i in 0..80_000 {
            v.extend_from_slice(format!("u{i}@x.test, ").as_bytes());
        }
        let l = parse_addresses(&v);
        assert!(l.truncated);
        assert_eq!(l.mailboxes().count(), MAX_ADDRESSES);
        assert_eq!(l.addresses[0], mb(None, "u0@x.test"));
    }
}
