//! SASL mechanism names (RFC 4422 §3.1).

use std::fmt;

/// A SASL mechanism named in `AUTH` (RFC 4954).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `PLAIN` (RFC 4616).
    Plain,
    /// `LOGIN` (draft-murchison-sasl-login).
    Login,
    /// `XOAUTH2` (Google's bearer-token mechanism).
    XOAuth2,
    /// `OAUTHBEARER` (RFC 7628).
    OAuthBearer,
    /// Any other mechanism, uppercased.
    Other(String),
}

impl Mechanism {
    /// Parses a mechanism name (case-insensitive); `None` when it is not a valid SASL name.
    pub fn parse(name: &str) -> Option<Self> {
        let valid = !name.is_empty()
            && name.len() <= 20
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return None;
        }
        let is = |known: &str| name.eq_ignore_ascii_case(known);
        Some(if is("PLAIN") {
            Mechanism::Plain
        } else if is("LOGIN") {
            Mechanism::Login
        } else if is("XOAUTH2") {
            Mechanism::XOAuth2
        } else if is("OAUTHBEARER") {
            Mechanism::OAuthBearer
        } else {
            Mechanism::Other(name.to_ascii_uppercase())
        })
    }

    /// The name as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::Other(s) => s,
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
