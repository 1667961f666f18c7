//! Validated values: responses and their codes, capabilities, unique ids.

mod capability;
mod response;

use std::fmt;

pub use capability::{Capabilities, Capability, Expire};
pub use response::{MAX_RESPONSE_TEXT, Response, ResponseCode};
pub use sansmail_common::Secret;

/// A message's unique id (RFC 1939 §7 UIDL): 1 to 70 characters from 0x21 to 0x7E,
/// the same for the same message in every session.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UniqueId(String);

impl UniqueId {
    /// Checks and wraps an id.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidInput> {
        let id = id.into();
        let valid = (1..=70).contains(&id.len()) && id.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if valid {
            Ok(UniqueId(id))
        } else {
            Err(InvalidInput::UniqueId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value that failed validation; says which kind of value it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidInput {
    /// Response text with control characters, or too long.
    #[error("response text contains control characters or is too long")]
    ResponseText,
    /// Not a valid unique id.
    #[error("invalid unique id")]
    UniqueId,
    /// Not a valid command argument (empty, too long, or with spaces or control characters).
    #[error("invalid command argument")]
    Argument,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_ids() {
        assert!(UniqueId::new("whqtswO00WBw418f9t5JxYwZ").is_ok());
        assert_eq!(UniqueId::new(""), Err(InvalidInput::UniqueId));
        assert_eq!(UniqueId::new("a b"), Err(InvalidInput::UniqueId));
        assert_eq!(UniqueId::new("x".repeat(71)), Err(InvalidInput::UniqueId));
    }

    #[test]
    fn response_codes() {
        assert_eq!(ResponseCode::parse("sys/temp"), Some(ResponseCode::SysTemp));
        assert_eq!(
            ResponseCode::parse("X/Y"),
            Some(ResponseCode::Other("X/Y".into()))
        );
        assert_eq!(ResponseCode::parse("A//B"), None);
        assert_eq!(ResponseCode::parse("A B"), None);
        assert!(Response::ok("line\r\nbreak").is_err());
    }

    #[test]
    fn capabilities_parse_and_print() {
        for line in [
            "TOP",
            "SASL PLAIN XOAUTH2",
            "LOGIN-DELAY 900 USER",
            "EXPIRE NEVER",
            "EXPIRE 30 USER",
            "IMPLEMENTATION sansmail 0.1",
            "UTF8 USER",
            "X-THING a b",
        ] {
            let cap = Capability::parse(line).unwrap();
            assert_eq!(cap.to_string(), line);
        }
        assert!(matches!(
            Capability::parse("expire soon"),
            Some(Capability::Other { .. })
        ));
    }
}
