//! SPF macro strings (RFC 7208 §7): checked when a record is parsed,
//! expanded when it is evaluated.

use std::fmt;
use std::net::IpAddr;

/// A macro string as written, checked for syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacroString(String);

/// Why a macro string cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MacroError {
    /// `%` not followed by `{`, `%`, `_` or `-`, or an unfinished `%{...}`.
    #[error("bad macro syntax")]
    Syntax,
    /// A macro letter SPF does not define, or one allowed only in explanations.
    #[error("macro letter {0:?} not allowed here")]
    Letter(char),
}

/// The letters of domain-spec macros; `c`, `r` and `t` only in explanation text.
const DOMAIN_LETTERS: &str = "slodiphv";
const EXPLAIN_LETTERS: &str = "slodiphvcrt";

impl MacroString {
    /// The text itself when it holds no macro (nothing to expand).
    pub fn literal(&self) -> Option<&str> {
        (!self.0.contains('%')).then_some(self.0.as_str())
    }

    /// Checks `text` (no spaces allowed unless `explain`).
    pub fn parse(text: &str, explain: bool) -> Result<Self, MacroError> {
        let letters = if explain {
            EXPLAIN_LETTERS
        } else {
            DOMAIN_LETTERS
        };
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'%' => match b.get(i + 1) {
                    Some(b'%' | b'_' | b'-') => i += 2,
                    Some(b'{') => {
                        let end = text[i..].find('}').ok_or(MacroError::Syntax)? + i;
                        let inner = &text[i + 2..end];
                        let letter = inner.chars().next().ok_or(MacroError::Syntax)?;
                        if !letters.contains(letter.to_ascii_lowercase()) {
                            return Err(MacroError::Letter(letter));
                        }
                        transformers(&inner[1..]).ok_or(MacroError::Syntax)?;
                        i = end + 1;
                    }
                    _ => return Err(MacroError::Syntax),
                },
                b' ' if !explain => return Err(MacroError::Syntax),
                0x21..=0x7e | b' ' => i += 1,
                _ => return Err(MacroError::Syntax),
            }
        }
        Ok(MacroString(text.to_owned()))
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the text holds a macro (so it is not a literal name).
    pub fn has_macro(&self) -> bool {
        self.0.contains("%{")
    }
}

impl fmt::Display for MacroString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The transformers after a macro letter: keep the last `digits` parts,
/// reversed or not, split at `delimiters`. `None` when malformed.
fn transformers(t: &str) -> Option<(Option<usize>, bool, &str)> {
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let keep = if digits_end == 0 {
        None
    } else {
        let n: usize = t[..digits_end].parse().ok()?;
        if n == 0 {
            return None;
        }
        Some(n.min(128))
    };
    let mut rest = &t[digits_end..];
    let reverse = rest.starts_with(['r', 'R']);
    if reverse {
        rest = &rest[1..];
    }
    rest.chars()
        .all(|c| ".-+,/_=".contains(c))
        .then_some((keep, reverse, rest))
}

/// What macros expand to for one evaluation.
pub(crate) struct MacroValues<'a> {
    pub sender: &'a str,
    pub local_part: &'a str,
    pub sender_domain: &'a str,
    pub domain: &'a str,
    pub ip: IpAddr,
    pub helo: &'a str,
    pub receiver: &'a str,
    pub timestamp: u64,
    /// The validated name of the client (`%{p}`), found before expanding.
    pub validated: Option<&'a str>,
}

impl MacroValues<'_> {
    fn value(&self, letter: char) -> String {
        match letter {
            's' => self.sender.to_owned(),
            'l' => self.local_part.to_owned(),
            'o' => self.sender_domain.to_owned(),
            'd' => self.domain.to_owned(),
            'i' => match self.ip {
                IpAddr::V4(a) => a.to_string(),
                IpAddr::V6(a) => nibbles(&a.octets()),
            },
            'c' => self.ip.to_string(),
            'p' => self.validated.unwrap_or("unknown").to_owned(),
            'v' => match self.ip {
                IpAddr::V4(_) => "in-addr".to_owned(),
                IpAddr::V6(_) => "ip6".to_owned(),
            },
            'h' => self.helo.to_owned(),
            'r' => self.receiver.to_owned(),
            't' => self.timestamp.to_string(),
            _ => String::new(),
        }
    }
}

/// An IPv6 address as dot-separated nibbles, high first (`%{i}`).
pub(crate) fn nibbles(octets: &[u8; 16]) -> String {
    let mut out = String::with_capacity(63);
    for b in octets {
        for n in [b >> 4, b & 15] {
            if !out.is_empty() {
                out.push('.');
            }
            out.push(
                char::from_digit(u32::from(n), 16)
                    .unwrap_or('0')
                    .to_ascii_uppercase(),
            );
        }
    }
    out
}

/// True when `letter` needs the validated client name.
pub(crate) fn uses_p(m: &MacroString) -> bool {
    m.0.contains("%{p") || m.0.contains("%{P")
}

/// Expands a checked macro string.
pub(crate) fn expand(m: &MacroString, values: &MacroValues<'_>) -> String {
    let text = &m.0;
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(at) = text[i..].find('%').map(|p| p + i) {
        out.push_str(&text[i..at]);
        match text.as_bytes().get(at + 1) {
            Some(b'%') => {
                out.push('%');
                i = at + 2;
            }
            Some(b'_') => {
                out.push(' ');
                i = at + 2;
            }
            Some(b'-') => {
                out.push_str("%20");
                i = at + 2;
            }
            _ => {
                // `%{...}`, checked at parse time.
                let end = text[at..].find('}').map_or(text.len(), |p| p + at);
                let inner = &text[at + 2..end.max(at + 2)];
                let letter = inner.chars().next().unwrap_or('d');
                let (keep, reverse, delimiters) =
                    transformers(&inner[letter.len_utf8()..]).unwrap_or((None, false, ""));
                let value = values.value(letter.to_ascii_lowercase());
                let delimiters = if delimiters.is_empty() {
                    "."
                } else {
                    delimiters
                };
                let mut parts: Vec<&str> = value.split(|c| delimiters.contains(c)).collect();
                if reverse {
                    parts.reverse();
                }
                if let Some(n) = keep {
                    let skip = parts.len().saturating_sub(n);
                    parts.drain(..skip);
                }
                let joined = parts.join(".");
                if letter.is_ascii_uppercase() {
                    out.push_str(&url_escape(&joined));
                } else {
                    out.push_str(&joined);
                }
                i = end + 1;
            }
        }
    }
    out.push_str(&text[i.min(text.len())..]);
    out
}

/// URL-escapes what is not an RFC 3986 unreserved character.
fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> MacroValues<'static> {
        MacroValues {
            sender: "strong-bad@email.example.com",
            local_part: "strong-bad",
            sender_domain: "email.example.com",
            domain: "email.example.com",
            ip: "192.0.2.3".parse().unwrap(),
            helo: "mx.example.org",
            receiver: "unknown",
            timestamp: 1,
            validated: None,
        }
    }

    fn x(text: &str) -> String {
        expand(&MacroString::parse(text, true).unwrap(), &values())
    }

    #[test]
    fn expands_the_examples_of_rfc_7208_section_7_4() {
        assert_eq!(x("%{s}"), "strong-bad@email.example.com");
        assert_eq!(x("%{o}"), "email.example.com");
        assert_eq!(x("%{d}"), "email.example.com");
        assert_eq!(x("%{d4}"), "email.example.com");
        assert_eq!(x("%{d3}"), "email.example.com");
        assert_eq!(x("%{d2}"), "example.com");
        assert_eq!(x("%{d1}"), "com");
        assert_eq!(x("%{dr}"), "com.example.email");
        assert_eq!(x("%{d2r}"), "example.email");
        assert_eq!(x("%{l}"), "strong-bad");
        assert_eq!(x("%{l-}"), "strong.bad");
        assert_eq!(x("%{lr}"), "strong-bad");
        assert_eq!(x("%{lr-}"), "bad.strong");
        assert_eq!(x("%{l1r-}"), "strong");
        assert_eq!(
            x("%{ir}.%{v}._spf.%{d2}"),
            "3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(x("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
        assert_eq!(x("%{S}"), "strong-bad%40email.example.com");
        assert_eq!(x("%%%_%-"), "% %20");
        let v6 = MacroValues {
            ip: "2001:db8::cb01".parse().unwrap(),
            ..values()
        };
        let m = MacroString::parse("%{ir}.%{v}._spf.%{d2}", false).unwrap();
        assert_eq!(
            expand(&m, &v6),
            "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com"
        );
    }

    #[test]
    fn bad_macros_are_refused() {
        for bad in ["%", "%x", "%{", "%{d", "%{x}", "%{d0}", "%{d2q}", "a b"] {
            assert!(MacroString::parse(bad, false).is_err(), "{bad}");
        }
        assert_eq!(
            MacroString::parse("%{c}", false),
            Err(MacroError::Letter('c'))
        );
        assert!(MacroString::parse("%{c} %{t} %{r}", true).is_ok());
    }
}
