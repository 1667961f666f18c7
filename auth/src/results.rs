//! The `Authentication-Results` header field (RFC 8601): parsed from a
//! field value and written back, so a receiver records what it checked
//! and a reader (a filter, a mail client) can act on it.
//!
//! ```
//! use sansmail_auth::results::{AuthenticationResults, MethodResult};
//!
//! let mut ar = AuthenticationResults::new("mx.example.org");
//! ar.results.push(
//!     MethodResult::new("spf", "pass")
//!         .with_property("smtp", "mailfrom", "ann@example.com"),
//! );
//! assert_eq!(ar.to_string(), "mx.example.org; spf=pass smtp.mailfrom=ann@example.com");
//! assert_eq!(AuthenticationResults::parse(&ar.to_string()).unwrap(), ar);
//! ```

use std::fmt;

/// One `Authentication-Results` field value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticationResults {
    /// The host that did the checks (`authserv-id`).
    pub authserv_id: String,
    /// The version after the id, when written (only 1 is defined).
    pub version: Option<u32>,
    /// What each method found; empty for `none`.
    pub results: Vec<MethodResult>,
}

/// One method's result (`spf=pass smtp.mailfrom=...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodResult {
    /// The method, lowercased (`spf`, `dkim`, `dmarc`, `arc`, `auth`...).
    pub method: String,
    /// The method's version (`dkim/1`), when written.
    pub version: Option<u32>,
    /// The result, lowercased (`pass`, `fail`, `none`...).
    pub result: String,
    /// The `reason=` text.
    pub reason: Option<String>,
    /// The properties, in order.
    pub properties: Vec<Property>,
}

/// A property of a result (`header.d=example.com`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    /// `smtp`, `header`, `body` or `policy`, lowercased.
    pub ptype: String,
    /// The property (`mailfrom`, `d`, `i`...), lowercased.
    pub name: String,
    /// The value, unquoted.
    pub value: String,
}

/// Why a field value is not an `Authentication-Results` value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed Authentication-Results: {0}")]
pub struct ResultsError(&'static str);

impl AuthenticationResults {
    /// A field for `authserv_id` with no results yet (written `none`).
    pub fn new(authserv_id: &str) -> Self {
        AuthenticationResults {
            authserv_id: authserv_id.to_owned(),
            version: None,
            results: Vec::new(),
        }
    }

    /// Parses a field value (comments and folding allowed anywhere RFC 8601 allows them).
    pub fn parse(value: &str) -> Result<Self, ResultsError> {
        let mut c = Cursor {
            s: value.as_bytes(),
            at: 0,
        };
        c.skip()?;
        let authserv_id = c.value()?;
        c.skip()?;
        let mut version = None;
        if c.peek().is_some_and(|b| b.is_ascii_digit()) {
            version = Some(c.number()?);
            c.skip()?;
        }
        let mut results = Vec::new();
        while c.peek().is_some() {
            c.expect(b';')?;
            c.skip()?;
            let method = c.keyword("no method")?;
            c.skip()?;
            if results.is_empty() && method == "none" && c.peek().is_none() {
                break;
            }
            let mut method_version = None;
            if c.eat(b'/') {
                c.skip()?;
                method_version = Some(c.number()?);
                c.skip()?;
            }
            c.expect(b'=')?;
            c.skip()?;
            let result = c.keyword("no result")?;
            c.skip()?;
            let mut r = MethodResult {
                method,
                version: method_version,
                result,
                reason: None,
                properties: Vec::new(),
            };
            while c.peek().is_some_and(|b| b != b';') {
                let name = c.keyword("no property")?;
                c.skip()?;
                if name == "reason" && c.eat(b'=') {
                    c.skip()?;
                    r.reason = Some(c.value()?);
                    c.skip()?;
                    continue;
                }
                c.expect(b'.')?;
                c.skip()?;
                let property = c.keyword("no property name")?;
                c.skip()?;
                c.expect(b'=')?;
                c.skip()?;
                r.properties.push(Property {
                    ptype: name,
                    name: property,
                    value: c.value()?,
                });
                c.skip()?;
            }
            results.push(r);
        }
        Ok(AuthenticationResults {
            authserv_id,
            version,
            results,
        })
    }
}

impl MethodResult {
    /// `method=result` with nothing more.
    pub fn new(method: &str, result: &str) -> Self {
        MethodResult {
            method: method.to_ascii_lowercase(),
            version: None,
            result: result.to_ascii_lowercase(),
            reason: None,
            properties: Vec::new(),
        }
    }

    /// Adds `ptype.name=value`.
    pub fn with_property(mut self, ptype: &str, name: &str, value: &str) -> Self {
        self.properties.push(Property {
            ptype: ptype.to_ascii_lowercase(),
            name: name.to_ascii_lowercase(),
            value: value.to_owned(),
        });
        self
    }

    /// Sets `reason=`.
    pub fn with_reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    /// The value of the first property `ptype.name`.
    pub fn property(&self, ptype: &str, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|p| p.ptype.eq_ignore_ascii_case(ptype) && p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_str())
    }
}

/// A position in a field value.
struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, b: u8) -> Result<(), ResultsError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(ResultsError("a separator is missing"))
        }
    }

    /// Skips whitespace, folding and comments (which nest).
    fn skip(&mut self) -> Result<(), ResultsError> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.at += 1,
                b'(' => {
                    let mut depth = 0;
                    loop {
                        match self.peek() {
                            Some(b'(') => depth += 1,
                            Some(b')') => depth -= 1,
                            Some(b'\\') => self.at += 1,
                            Some(_) => {}
                            None => return Err(ResultsError("unclosed comment")),
                        }
                        self.at += 1;
                        if depth == 0 {
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// A keyword (letters, digits, hyphens), lowercased.
    fn keyword(&mut self, missing: &'static str) -> Result<String, ResultsError> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            self.at += 1;
        }
        let word = std::str::from_utf8(&self.s[start..self.at]).unwrap_or_default();
        if !is_keyword(word) {
            return Err(ResultsError(missing));
        }
        Ok(word.to_ascii_lowercase())
    }

    fn number(&mut self) -> Result<u32, ResultsError> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        std::str::from_utf8(&self.s[start..self.at])
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or(ResultsError("bad version"))
    }

    /// A quoted string, or a run of anything up to whitespace, `;` or a
    /// comment (tokens, addresses, and the base64 of `header.b` as found).
    fn value(&mut self) -> Result<String, ResultsError> {
        if self.eat(b'"') {
            let mut out = Vec::new();
            loop {
                match self.peek() {
                    Some(b'"') => {
                        self.at += 1;
                        break;
                    }
                    Some(b'\\') => {
                        // Line breaks are folding, quoted or not: they are no part of a value.
                        self.at += 1;
                        out.extend(self.peek().filter(|b| !matches!(b, b'\r' | b'\n')));
                    }
                    Some(b'\r' | b'\n') => {}
                    Some(b) => out.push(b),
                    None => return Err(ResultsError("unclosed quoted string")),
                }
                self.at += 1;
            }
            return String::from_utf8(out).map_err(|_| ResultsError("a value is not UTF-8"));
        }
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b'"'))
        {
            self.at += 1;
        }
        if start == self.at {
            return Err(ResultsError("no value"));
        }
        String::from_utf8(self.s[start..self.at].to_vec())
            .map_err(|_| ResultsError("a value is not UTF-8"))
    }
}

/// RFC 8601's Keyword: letters, digits and inner hyphens.
fn is_keyword(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.ends_with('-')
        && !s.starts_with('-')
}

/// `s` as a value: a token as it is, anything else quoted.
fn write_value(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let token = !s.is_empty()
        && s.bytes()
            .all(|b| (0x21..0x7f).contains(&b) && !b"()<>,;:\\\"[]?=".contains(&b));
    if token {
        return f.write_str(s);
    }
    f.write_str("\"")?;
    for c in s.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl fmt::Display for AuthenticationResults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_value(f, &self.authserv_id)?;
        if let Some(v) = self.version {
            write!(f, " {v}")?;
        }
        if self.results.is_empty() {
            return f.write_str("; none");
        }
        for r in &self.results {
            write!(f, "; {}", r.method)?;
            if let Some(v) = r.version {
                write!(f, "/{v}")?;
            }
            write!(f, "={}", r.result)?;
            if let Some(reason) = &r.reason {
                f.write_str(" reason=")?;
                write_value(f, reason)?;
            }
            for p in &r.properties {
                write!(f, " {}.{}=", p.ptype, p.name)?;
                write_value(f, &p.value)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_examples_of_rfc_8601_appendix_b() {
        let ar = AuthenticationResults::parse("example.org 1; none").unwrap();
        assert_eq!(
            (ar.authserv_id.as_str(), ar.version, ar.results.len()),
            ("example.org", Some(1), 0)
        );
        let ar = AuthenticationResults::parse(
            "example.com;\r\n          spf=pass smtp.mailfrom=example.net",
        )
        .unwrap();
        assert_eq!(
            ar.results[0].property("smtp", "mailfrom"),
            Some("example.net")
        );
        let ar = AuthenticationResults::parse(
            "example.com; auth=pass (cram-md5) smtp.auth=sender@example.net; spf=pass smtp.mailfrom=example.net; \
sender-id=pass header.from=example.net",
        )
        .unwrap();
        let methods: Vec<&str> = ar.results.iter().map(|r| r.method.as_str()).collect();
        assert_eq!(methods, ["auth", "spf", "sender-id"]);
        assert_eq!(
            ar.results[0].property("smtp", "auth"),
            Some("sender@example.net")
        );
        let ar = AuthenticationResults::parse(
            "mail-router.example.net; dkim=pass (good signature) header.d=newyork.example.com \
header.b=oINEO8hg; dkim=fail (bad signature) header.d=newyork.example.com header.b=EToRSuvU",
        )
        .unwrap();
        assert_eq!(ar.results[1].result, "fail");
        assert_eq!(ar.results[1].property("header", "b"), Some("EToRSuvU"));
        let ar = AuthenticationResults::parse(
            "example.com; dkim/1=pass reason=\"good sig\" header.i=@mail-router.example.net",
        )
        .unwrap();
        assert_eq!(ar.results[0].version, Some(1));
        assert_eq!(ar.results[0].reason.as_deref(), Some("good sig"));
        assert_eq!(
            ar.results[0].property("header", "i"),
            Some("@mail-router.example.net")
        );
        assert_eq!(AuthenticationResults::parse(&ar.to_string()).unwrap(), ar);
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in [
            "",
            "; spf=pass",
            "a.example; spf",
            "a.example; spf=",
            "a.example; spf=pass smtp",
            "a.example (x",
            "a.example; spf=pass smtp.mailfrom=\"x",
        ] {
            assert!(AuthenticationResults::parse(bad).is_err(), "{bad:?}");
        }
    }
}
