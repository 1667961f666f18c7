//! SPF records (RFC 7208 §4.5, §5, §6, §12): parsed into terms, written
//! back as text.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::macros::{MacroError, MacroString};

/// A parsed SPF record: its terms in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Directives and modifiers, as written.
    pub terms: Vec<Term>,
}

/// One term of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// A mechanism with its qualifier.
    Directive(Directive),
    /// `name=value`.
    Modifier(Modifier),
}

/// A qualified mechanism.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The qualifier written (`None`: none, which means pass).
    pub qualifier: Option<Qualifier>,
    /// The mechanism.
    pub mechanism: Mechanism,
}

/// The result a matching mechanism gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qualifier {
    /// `+`
    Pass,
    /// `-`
    Fail,
    /// `~`
    SoftFail,
    /// `?`
    Neutral,
}

/// Prefix lengths of `a` and `mx` (`/24//64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DualCidr {
    /// For IPv4 addresses.
    pub v4: Option<u8>,
    /// For IPv6 addresses.
    pub v6: Option<u8>,
}

/// A mechanism (RFC 7208 §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// `all`
    All,
    /// `include:domain`
    Include(MacroString),
    /// `a[:domain][/cidr]`
    A(Option<MacroString>, DualCidr),
    /// `mx[:domain][/cidr]`
    Mx(Option<MacroString>, DualCidr),
    /// `ptr[:domain]`
    Ptr(Option<MacroString>),
    /// `ip4:network[/len]`
    Ip4(Ipv4Addr, Option<u8>),
    /// `ip6:network[/len]`
    Ip6(Ipv6Addr, Option<u8>),
    /// `exists:domain`
    Exists(MacroString),
}

/// A modifier (RFC 7208 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Modifier {
    /// `redirect=domain`
    Redirect(MacroString),
    /// `exp=domain`
    Exp(MacroString),
    /// Any other, kept and ignored.
    Other(String, MacroString),
}

/// Why a record is not valid SPF: the check gives permerror.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The record does not start with `v=spf1`.
    #[error("not an SPF record")]
    NotSpf,
    /// A term that is neither a known mechanism nor a modifier.
    #[error("unknown or malformed term {0:?}")]
    Term(String),
    /// A bad macro in a term.
    #[error("term {0:?}: {1}")]
    Macro(String, MacroError),
    /// `redirect` or `exp` more than once.
    #[error("modifier {0} given twice")]
    Duplicate(&'static str),
}

impl Record {
    /// True when `text` is an SPF record (starts `v=spf1`, then a space or its end).
    pub fn is_spf(text: &[u8]) -> bool {
        text.len() >= 6
            && text[..6].eq_ignore_ascii_case(b"v=spf1")
            && (text.len() == 6 || text[6] == b' ')
    }

    /// Parses a record's text.
    pub fn parse(text: &str) -> Result<Record, RecordError> {
        if !Record::is_spf(text.as_bytes()) {
            return Err(RecordError::NotSpf);
        }
        let mut terms = Vec::new();
        let (mut redirect, mut exp) = (false, false);
        for word in text[6..].split(' ').filter(|w| !w.is_empty()) {
            let term = parse_term(word)?;
            match &term {
                Term::Modifier(Modifier::Redirect(_)) if redirect => {
                    return Err(RecordError::Duplicate("redirect"));
                }
                Term::Modifier(Modifier::Exp(_)) if exp => {
                    return Err(RecordError::Duplicate("exp"));
                }
                Term::Modifier(Modifier::Redirect(_)) => redirect = true,
                Term::Modifier(Modifier::Exp(_)) => exp = true,
                _ => {}
            }
            terms.push(term);
        }
        Ok(Record { terms })
    }

    /// The directives, in order.
    pub fn directives(&self) -> impl Iterator<Item = &Directive> {
        self.terms.iter().filter_map(|t| match t {
            Term::Directive(d) => Some(d),
            Term::Modifier(_) => None,
        })
    }

    /// The `redirect` target, if any.
    pub fn redirect(&self) -> Option<&MacroString> {
        self.terms.iter().find_map(|t| match t {
            Term::Modifier(Modifier::Redirect(m)) => Some(m),
            _ => None,
        })
    }

    /// The `exp` domain, if any.
    pub fn exp(&self) -> Option<&MacroString> {
        self.terms.iter().find_map(|t| match t {
            Term::Modifier(Modifier::Exp(m)) => Some(m),
            _ => None,
        })
    }
}

fn parse_term(word: &str) -> Result<Term, RecordError> {
    let bad = || RecordError::Term(word.to_owned());
    let macro_err = |e| RecordError::Macro(word.to_owned(), e);
    // A modifier: a name, then `=` (before any `:` or `/`).
    if let Some(eq) = word.find('=')
        && !word[..eq].contains([':', '/'])
    {
        let name = &word[..eq];
        let value = &word[eq + 1..];
        let name_ok = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !name_ok {
            return Err(bad());
        }
        return Ok(Term::Modifier(match name {
            n if n.eq_ignore_ascii_case("redirect") => {
                Modifier::Redirect(domain_spec(value).map_err(|e| e.unwrap_or_else(bad))?)
            }
            n if n.eq_ignore_ascii_case("exp") => {
                Modifier::Exp(domain_spec(value).map_err(|e| e.unwrap_or_else(bad))?)
            }
            _ => Modifier::Other(
                name.to_owned(),
                MacroString::parse(value, false).map_err(macro_err)?,
            ),
        }));
    }
    let (qualifier, rest) = match word.as_bytes().first() {
        Some(b'+') => (Some(Qualifier::Pass), &word[1..]),
        Some(b'-') => (Some(Qualifier::Fail), &word[1..]),
        Some(b'~') => (Some(Qualifier::SoftFail), &word[1..]),
        Some(b'?') => (Some(Qualifier::Neutral), &word[1..]),
        _ => (None, word),
    };
    let name_end = rest.find([':', '/']).unwrap_or(rest.len());
    let (name, args) = rest.split_at(name_end);
    let spec = |args: &str| -> Result<MacroString, RecordError> {
        let value = args.strip_prefix(':').ok_or_else(bad)?;
        domain_spec(value).map_err(|e| e.unwrap_or_else(bad))
    };
    // `[:domain][/cidr]`: the domain-spec ends where the CIDR begins.
    let spec_and_cidr = |args: &str| -> Result<(Option<MacroString>, DualCidr), RecordError> {
        let cidr_at = cidr_start(args);
        let (domain, cidr) = args.split_at(cidr_at);
        let domain = if domain.is_empty() {
            None
        } else {
            Some(spec(domain)?)
        };
        Ok((domain, dual_cidr(cidr).ok_or_else(bad)?))
    };
    // Mechanism names are at most 7 letters: lowercased on the stack.
    let mut lower = [0u8; 8];
    let name = match name.len() {
        n @ 1..=7 => {
            lower[..n].copy_from_slice(name.as_bytes());
            lower[..n].make_ascii_lowercase();
            std::str::from_utf8(&lower[..n]).unwrap_or_default()
        }
        _ => "",
    };
    let mechanism = match name {
        "all" if args.is_empty() => Mechanism::All,
        "include" => Mechanism::Include(spec(args)?),
        "exists" => Mechanism::Exists(spec(args)?),
        "a" => {
            let (d, c) = spec_and_cidr(args)?;
            Mechanism::A(d, c)
        }
        "mx" => {
            let (d, c) = spec_and_cidr(args)?;
            Mechanism::Mx(d, c)
        }
        "ptr" if args.is_empty() => Mechanism::Ptr(None),
        "ptr" => Mechanism::Ptr(Some(spec(args)?)),
        "ip4" => {
            let value = args.strip_prefix(':').ok_or_else(bad)?;
            let (addr, len) = match value.split_once('/') {
                Some((a, l)) => (a, Some(prefix(l, 32).ok_or_else(bad)?)),
                None => (value, None),
            };
            Mechanism::Ip4(addr.parse().map_err(|_| bad())?, len)
        }
        "ip6" => {
            let value = args.strip_prefix(':').ok_or_else(bad)?;
            let (addr, len) = match value.split_once('/') {
                Some((a, l)) => (a, Some(prefix(l, 128).ok_or_else(bad)?)),
                None => (value, None),
            };
            Mechanism::Ip6(addr.parse().map_err(|_| bad())?, len)
        }
        _ => return Err(bad()),
    };
    Ok(Term::Directive(Directive {
        qualifier,
        mechanism,
    }))
}

/// Where a trailing `/len`, `//len` or `/len//len` begins: a domain-spec
/// may itself hold `/` and `:`, so only digits after a final slash make
/// a prefix length.
fn cidr_start(args: &str) -> usize {
    // The start of `/digits` ending at `end`, if that is how `args[..end]` ends.
    let slash_digits = |end: usize| {
        let digits = args[..end].trim_end_matches(|c: char| c.is_ascii_digit());
        (digits.len() < end && digits.ends_with('/')).then(|| digits.len() - 1)
    };
    let mut start = args.len();
    if let Some(v6) = slash_digits(start)
        && args[..v6].ends_with('/')
    {
        start = v6 - 1;
    }
    if let Some(v4) = slash_digits(start) {
        start = v4;
    }
    start
}

/// `/len`, `//len`, `/len//len` or nothing.
fn dual_cidr(text: &str) -> Option<DualCidr> {
    if text.is_empty() {
        return Some(DualCidr::default());
    }
    let (v4, v6) = match text.split_once("//") {
        Some((v4, v6)) => (v4, Some(v6)),
        None => (text, None),
    };
    let v4 = match v4 {
        "" => None,
        v => Some(prefix(v.strip_prefix('/')?, 32)?),
    };
    let v6 = match v6 {
        None => None,
        Some(v) => Some(prefix(v, 128)?),
    };
    Some(DualCidr { v4, v6 })
}

/// A prefix length: digits without a leading zero, at most `max`.
fn prefix(text: &str, max: u8) -> Option<u8> {
    if text.is_empty()
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return None;
    }
    text.parse().ok().filter(|&n| n <= max)
}

/// A domain-spec: a macro string that ends in a macro or a top label.
/// `Err(None)` for a bad ending, `Err(Some(_))` for a bad macro.
fn domain_spec(text: &str) -> Result<MacroString, Option<RecordError>> {
    let m = MacroString::parse(text, false)
        .map_err(|e| Some(RecordError::Macro(text.to_owned(), e)))?;
    let ends_in_macro =
        text.ends_with('}') || text.ends_with("%%") || text.ends_with("%_") || text.ends_with("%-");
    if ends_in_macro {
        return Ok(m);
    }
    let trimmed = text.strip_suffix('.').unwrap_or(text);
    let Some((_, top)) = trimmed.rsplit_once('.') else {
        return Err(None);
    };
    is_toplabel(top).then_some(m).ok_or(None)
}

/// RFC 7208's toplabel: letters, digits and inner hyphens, not all digits.
fn is_toplabel(label: &str) -> bool {
    let b = label.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b.iter().any(|c| c.is_ascii_alphabetic() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Qualifier::Pass => "+",
            Qualifier::Fail => "-",
            Qualifier::SoftFail => "~",
            Qualifier::Neutral => "?",
        })
    }
}

impl fmt::Display for DualCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v4) = self.v4 {
            write!(f, "/{v4}")?;
        }
        if let Some(v6) = self.v6 {
            write!(f, "//{v6}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |f: &mut fmt::Formatter<'_>, d: &Option<MacroString>| match d {
            Some(d) => write!(f, ":{d}"),
            None => Ok(()),
        };
        match self {
            Mechanism::All => f.write_str("all"),
            Mechanism::Include(d) => write!(f, "include:{d}"),
            Mechanism::Exists(d) => write!(f, "exists:{d}"),
            Mechanism::A(d, c) => {
                f.write_str("a")?;
                opt(f, d)?;
                write!(f, "{c}")
            }
            Mechanism::Mx(d, c) => {
                f.write_str("mx")?;
                opt(f, d)?;
                write!(f, "{c}")
            }
            Mechanism::Ptr(d) => {
                f.write_str("ptr")?;
                opt(f, d)
            }
            Mechanism::Ip4(a, l) => {
                write!(f, "ip4:{a}")?;
                l.map_or(Ok(()), |l| write!(f, "/{l}"))
            }
            Mechanism::Ip6(a, l) => {
                write!(f, "ip6:{a}")?;
                l.map_or(Ok(()), |l| write!(f, "/{l}"))
            }
        }
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("v=spf1")?;
        for term in &self.terms {
            match term {
                Term::Directive(d) => {
                    f.write_str(" ")?;
                    if let Some(q) = d.qualifier {
                        write!(f, "{q}")?;
                    }
                    write!(f, "{}", d.mechanism)?;
                }
                Term::Modifier(Modifier::Redirect(d)) => write!(f, " redirect={d}")?,
                Term::Modifier(Modifier::Exp(d)) => write!(f, " exp={d}")?,
                Term::Modifier(Modifier::Other(n, v)) => write!(f, " {n}={v}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_may_hold_slashes_and_colons() {
        let r = Record::parse("v=spf1 a:foo:bar/baz.example.com mx:x.example/24//64 a//0").unwrap();
        let mechanisms: Vec<String> = r.directives().map(|d| d.mechanism.to_string()).collect();
        assert_eq!(
            mechanisms,
            ["a:foo:bar/baz.example.com", "mx:x.example/24//64", "a//0"]
        );
        assert!(matches!(
            r.directives().nth(1).map(|d| &d.mechanism),
            Some(Mechanism::Mx(
                Some(_),
                DualCidr {
                    v4: Some(24),
                    v6: Some(64)
                }
            ))
        ));
    }

    #[test]
    fn reads_every_mechanism_and_modifier() {
        let r = Record::parse(
            "v=spf1 +all -include:_spf.example.com ~a a:%{d}/24//64 mx//48 ?ptr ptr:example.org \
ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{ir}.x.example redirect=example.net exp=exp.%{d} foo=bar",
        )
        .unwrap();
        assert_eq!(r.terms.len(), 13);
        assert_eq!(r.redirect().map(|m| m.as_str()), Some("example.net"));
        assert_eq!(r.exp().map(|m| m.as_str()), Some("exp.%{d}"));
        assert!(matches!(
            r.directives().nth(3).map(|d| &d.mechanism),
            Some(Mechanism::A(
                Some(_),
                DualCidr {
                    v4: Some(24),
                    v6: Some(64)
                }
            ))
        ));
        assert_eq!(Record::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn malformed_records_are_refused() {
        for bad in [
            "v=spf1 ip4:192.0.2.0/33",
            "v=spf1 ip4:192.0.2",
            "v=spf1 a:foo",
            "v=spf1 a/024",
            "v=spf1 include",
            "v=spf1 all:x",
            "v=spf1 foo",
            "v=spf1 redirect=a.example redirect=b.example",
            "v=spf1 exp=%{c}.example",
            "v=spf1 a:%{x}.example",
            "v=spf1 1x=y",
        ] {
            assert!(Record::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Record::parse("v=spf10"), Err(RecordError::NotSpf));
        assert!(Record::parse("V=SPF1").is_ok());
    }
}
