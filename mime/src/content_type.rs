//! `Content-Type` and `Content-Disposition` values (RFC 2045 §5, RFC 2183),
//! with RFC 2231 parameter continuations and extended values.

use std::borrow::Cow;

use crate::header::trim;

/// One parameter: the name lowercased, the value with quoting removed
/// (for RFC 2231 extended values: percent-decoded, with the charset named).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    /// The name, lowercased, without RFC 2231 `*N` or `*` marks.
    pub name: Cow<'a, str>,
    /// The value's octets.
    pub value: Cow<'a, [u8]>,
    /// The RFC 2231 charset of an extended value, lowercased.
    pub charset: Option<String>,
}

/// A media type with its parameters, e.g. `multipart/mixed; boundary=x`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentType<'a> {
    /// The type, lowercased (`text`, `multipart`, ...).
    pub kind: Cow<'a, str>,
    /// The subtype, lowercased (`plain`, `mixed`, ...).
    pub subtype: Cow<'a, str>,
    /// The parameters, in order, continuations joined.
    pub params: Vec<Param<'a>>,
}

impl<'a> ContentType<'a> {
    /// The default of RFC 2045 §5.2: `text/plain; charset=us-ascii`.
    pub fn text_plain() -> Self {
        ContentType {
            kind: "text".into(),
            subtype: "plain".into(),
            params: vec![Param {
                name: "charset".into(),
                value: Cow::Borrowed(b"us-ascii"),
                charset: None,
            }],
        }
    }

    /// The default inside `multipart/digest`: `message/rfc822`.
    pub fn message_rfc822() -> Self {
        ContentType {
            kind: "message".into(),
            subtype: "rfc822".into(),
            params: Vec::new(),
        }
    }

    /// Parses a field value; `None` when there is no valid `type/subtype`.
    pub fn parse(value: &'a [u8]) -> Option<Self> {
        let (media, mut rest) = split_first_param(value);
        let media = trim(media);
        let slash = memchr::memchr(b'/', media)?;
        let kind = token(trim(&media[..slash]))?;
        let mut subtype = trim(&media[slash + 1..]);
        // `type/subtype param=value` without the `;`: read the parameter anyway.
        if let Some(space) = subtype.iter().position(|b| b.is_ascii_whitespace())
            && memchr::memchr(b'=', subtype).is_some()
        {
            let offset = subtype.as_ptr() as usize - value.as_ptr() as usize;
            rest = &value[offset + space..];
            subtype = &subtype[..space];
        }
        let subtype = token(subtype)?;
        Some(ContentType {
            kind,
            subtype,
            params: parse_params(rest),
        })
    }

    /// The content type of a part whose `Content-Type` field has `value`,
    /// and whether that field gave a valid one. No field gives `default`;
    /// a value without a valid `type/subtype` gives `text/plain` (RFC 2045
    /// §5.2) with the parameters it has, so an attachment keeps its name.
    pub fn resolve(value: Option<&'a [u8]>, default: Self) -> (Self, bool) {
        let Some(value) = value else {
            return (default, false);
        };
        if let Some(given) = ContentType::parse(value) {
            return (given, true);
        }
        let mut fallback = ContentType::text_plain();
        let params = parse_params(split_first_param(value).1);
        if params.iter().any(|p| p.name == "charset") {
            fallback.params.clear();
        }
        fallback.params.extend(params);
        (fallback, false)
    }

    /// True for `multipart/*`.
    pub fn is_multipart(&self) -> bool {
        self.kind == "multipart"
    }

    /// True for `message/rfc822` and `message/global` (RFC 6532), which hold a whole message.
    pub fn is_message(&self) -> bool {
        self.kind == "message" && (self.subtype == "rfc822" || self.subtype == "global")
    }

    /// The first parameter named `name` (lowercase).
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_ref())
    }
}

/// A disposition (`inline`, `attachment`) with its parameters (RFC 2183).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disposition<'a> {
    /// The disposition type, lowercased.
    pub kind: Cow<'a, str>,
    /// The parameters, continuations joined.
    pub params: Vec<Param<'a>>,
}

impl<'a> Disposition<'a> {
    /// Parses a field value; `None` when it has neither a type token nor
    /// parameters. Parameters without a valid type (`; filename="x.png"`)
    /// make an `attachment`, as RFC 2183 §2.8 reads unknown types.
    pub fn parse(value: &'a [u8]) -> Option<Self> {
        let (kind, rest) = split_first_param(value);
        let params = parse_params(rest);
        let kind = match token(trim(kind)) {
            Some(kind) => kind,
            None if !params.is_empty() => Cow::Borrowed("attachment"),
            None => return None,
        };
        Some(Disposition { kind, params })
    }

    /// The first parameter named `name` (lowercase).
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_ref())
    }
}

/// The raw value of parameter `name` in a field value whose media type may be damaged.
pub(crate) fn find_param<'a>(value: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let (_, rest) = split_first_param(value);
    let mut rest = rest;
    while !trim(rest).is_empty() {
        let (one, tail) = split_first_param(rest);
        rest = tail;
        let eq = memchr::memchr(b'=', one)?;
        if trim(&one[..eq]).eq_ignore_ascii_case(name.as_bytes()) {
            let v = trim(&one[eq + 1..]);
            return Some(
                v.strip_prefix(b"\"")
                    .map_or(v, |v| v.strip_suffix(b"\"").unwrap_or(v)),
            );
        }
    }
    None
}

/// True for the octets an RFC 2045 token may hold.
const TOKEN_OCTET: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 33;
    while b <= 126 {
        table[b] = true;
        b += 1;
    }
    let specials = b"()<>@,;:\\\"/[]?=";
    let mut i = 0;
    while i < specials.len() {
        table[specials[i] as usize] = false;
        i += 1;
    }
    table
};

/// An RFC 2045 token, lowercased (borrowed when it already is); `None`
/// when empty or not a token.
fn token(t: &[u8]) -> Option<Cow<'_, str>> {
    if t.is_empty() || !t.iter().all(|&b| TOKEN_OCTET[b as usize]) {
        return None;
    }
    // Token octets are ASCII, so this never fails.
    let text = crate::wide::ascii_str(t)?;
    Some(if t.iter().any(u8::is_ascii_uppercase) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    })
}

/// Splits at the first `;` outside quotes.
fn split_first_param(v: &[u8]) -> (&[u8], &[u8]) {
    let mut quoted = false;
    let mut escaped = false;
    for (i, &b) in v.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b';' if !quoted => return (&v[..i], &v[i + 1..]),
            _ => {}
        }
    }
    (v, &[])
}

/// A parameter as written, before RFC 2231 joining.
struct RawParam<'a> {
    name: Cow<'a, str>,
    section: Option<u32>,
    extended: bool,
    value: Cow<'a, [u8]>,
}

fn parse_params(mut rest: &[u8]) -> Vec<Param<'_>> {
    if trim(rest).is_empty() {
        return Vec::new();
    }
    // At most one parameter per `;` and one more: allocated once.
    let mut raw: Vec<RawParam<'_>> = Vec::new();
    while !trim(rest).is_empty() {
        let (one, tail) = split_first_param(rest);
        rest = tail;
        let Some(eq) = memchr::memchr(b'=', one) else {
            continue;
        };
        let Some(name) = token(trim(&one[..eq])) else {
            continue;
        };
        let value = trim(&one[eq + 1..]);
        let value = if value.first() == Some(&b'"') {
            unquote(value)
        } else {
            Cow::Borrowed(value)
        };
        // Folding inside a value (RFC 5322 §2.2.3): the line break goes, the space stays.
        let value = if memchr::memchr2(b'\r', b'\n', &value).is_some() {
            Cow::Owned(
                value
                    .iter()
                    .copied()
                    .filter(|&b| b != b'\r' && b != b'\n')
                    .collect(),
            )
        } else {
            value
        };
        // name*N*, name*N, name*
        let (base, section, extended) = match name.find('*') {
            None => (name, None, false),
            Some(star) => {
                let marks = &name[star + 1..];
                let extended = marks.is_empty() || marks.ends_with('*');
                let number = marks.trim_end_matches('*');
                let section = if number.is_empty() {
                    None
                } else {
                    number.parse().ok()
                };
                let base = match name {
                    Cow::Borrowed(n) => Cow::Borrowed(&n[..star]),
                    Cow::Owned(mut n) => {
                        n.truncate(star);
                        Cow::Owned(n)
                    }
                };
                (base, section, extended)
            }
        };
        raw.push(RawParam {
            name: base,
            section,
            extended,
            value,
        });
    }
    join_continuations(raw)
}

/// Joins `name*0`, `name*1`... in section order and decodes extended values.
fn join_continuations(raw: Vec<RawParam<'_>>) -> Vec<Param<'_>> {
    // The usual case: plain parameters, each named once.
    let plain = raw.iter().enumerate().all(|(i, p)| {
        p.section.is_none() && !p.extended && raw[..i].iter().all(|q| q.name != p.name)
    });
    if plain {
        return raw
            .into_iter()
            .map(|p| Param {
                name: p.name,
                value: p.value,
                charset: None,
            })
            .collect();
    }
    let mut out: Vec<Param<'_>> = Vec::new();
    let mut names: Vec<Cow<'_, str>> = Vec::new();
    for p in &raw {
        if !names.contains(&p.name) {
            names.push(p.name.clone());
        }
    }
    for name in names {
        let mut parts: Vec<&RawParam<'_>> = raw.iter().filter(|p| p.name == name).collect();
        if parts.len() == 1 && parts[0].section.is_none() {
            let p = parts[0];
            let (value, charset) = if p.extended {
                decode_extended(&p.value, true)
            } else {
                (p.value.clone(), None)
            };
            out.push(Param {
                name,
                value,
                charset,
            });
            continue;
        }
        // A plain `name=` beside `name*0=` loses: the continuation is the complete value.
        parts.retain(|p| p.section.is_some());
        if parts.is_empty() {
            let p = raw.iter().find(|p| p.name == name).expect("named above");
            out.push(Param {
                name,
                value: p.value.clone(),
                charset: None,
            });
            continue;
        }
        parts.sort_by_key(|p| p.section);
        let mut value = Vec::new();
        let mut charset = None;
        for (i, p) in parts.iter().enumerate() {
            if p.extended {
                let (v, c) = decode_extended(&p.value, i == 0);
                if i == 0 {
                    charset = c;
                }
                value.extend_from_slice(&v);
            } else {
                value.extend_from_slice(&p.value);
            }
        }
        out.push(Param {
            name,
            value: Cow::Owned(value),
            charset,
        });
    }
    out
}

/// `charset'lang'%XX...` (only the first section carries charset and language).
fn decode_extended<'a>(v: &Cow<'a, [u8]>, first: bool) -> (Cow<'a, [u8]>, Option<String>) {
    let (charset, encoded): (Option<String>, &[u8]) = if first {
        let mut it = v.splitn(3, |&b| b == b'\'');
        match (it.next(), it.next(), it.next()) {
            (Some(cs), Some(_lang), Some(rest)) => (
                (!cs.is_empty()).then(|| crate::charset::lossy(cs).to_ascii_lowercase()),
                rest,
            ),
            _ => (None, v.as_ref()),
        }
    } else {
        (None, v.as_ref())
    };
    let mut out = Vec::with_capacity(encoded.len());
    let mut i = 0;
    while i < encoded.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (encoded[i], encoded.get(i + 1), encoded.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    (Cow::Owned(out), charset)
}

/// The content of a quoted string, backslash escapes removed; an unterminated
/// quote runs to the end (as mail clients read it).
fn unquote(v: &[u8]) -> Cow<'_, [u8]> {
    let inner = &v[1..];
    let end = inner
        .iter()
        .rposition(|&b| b == b'"')
        .unwrap_or(inner.len());
    let inner = &inner[..end];
    if !inner.contains(&b'\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut escaped = false;
    for &b in inner {
        if escaped || b != b'\\' {
            out.push(b);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types_and_params() {
        let ct = ContentType::parse(b" Multipart/Mixed; boundary=\"a;b\\\"c\"; X=1").unwrap();
        assert_eq!(
            (ct.kind.as_ref(), ct.subtype.as_ref()),
            ("multipart", "mixed")
        );
        assert_eq!(ct.param("boundary"), Some(&b"a;b\"c"[..]));
        assert_eq!(ct.param("x"), Some(&b"1"[..]));
        assert!(ContentType::parse(b"text").is_none());
        assert!(ContentType::parse(b"te xt/plain").is_none());
        let ct = ContentType::parse(b"multipart/mixed\r\n\tboundary=\"a\r\n b\"; x=1").unwrap();
        assert_eq!(ct.subtype, "mixed");
        assert_eq!(ct.param("boundary"), Some(&b"a b"[..]));
        assert_eq!(ct.param("x"), Some(&b"1"[..]));
    }

    #[test]
    fn joins_rfc_2231_continuations() {
        let d = Disposition::parse(
            b"attachment; filename*1*=%20world.txt; filename*0*=utf-8'en'Hello%C3%A9",
        )
        .unwrap();
        assert_eq!(d.kind, "attachment");
        assert_eq!(d.param("filename"), Some("Helloé world.txt".as_bytes()));
        assert_eq!(d.params[0].charset.as_deref(), Some("utf-8"));
        let d = Disposition::parse(b"inline; name*=us-ascii''a%2Fb").unwrap();
        assert_eq!(d.param("name"), Some(&b"a/b"[..]));
    }
}
