//! Status responses: `+OK` or `-ERR`, an optional `[CODE]` (RFC 2449 §8) and text.

use std::fmt;

use super::InvalidInput;

/// An extended response code (RFC 2449 §8, RFC 3206, RFC 5034, RFC 6856).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseCode {
    /// `IN-USE`: the maildrop is locked by another session.
    InUse,
    /// `LOGIN-DELAY`: the user logged in too recently.
    LoginDelay,
    /// `SYS/TEMP`: a temporary system problem; try again later.
    SysTemp,
    /// `SYS/PERM`: a permanent system problem; retrying will not help.
    SysPerm,
    /// `AUTH`: the credentials were wrong or authentication is not allowed
    /// (RFC 3206 §4; announced by AUTH-RESP-CODE, RFC 3206 §5).
    Auth,
    /// `UTF8`: the mailbox or user needs the UTF8 command first (RFC 6856).
    Utf8,
    /// Any other code, as written (levels separated by `/`).
    Other(String),
}

impl ResponseCode {
    /// Parses the text between the brackets; `None` when it is not a valid code.
    pub fn parse(code: &str) -> Option<Self> {
        // resp-level = 1*rchar; rchar = %x21-2E / %x30-5C / %x5E-7F (no "/" "]" in a level).
        let valid = code.split('/').all(|level| {
            !level.is_empty()
                && level
                    .bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) && b != b'/' && b != b']')
        });
        if !valid || code.len() > 64 {
            return None;
        }
        let known = [
            ("IN-USE", ResponseCode::InUse),
            ("LOGIN-DELAY", ResponseCode::LoginDelay),
            ("SYS/TEMP", ResponseCode::SysTemp),
            ("SYS/PERM", ResponseCode::SysPerm),
            ("AUTH", ResponseCode::Auth),
            ("UTF8", ResponseCode::Utf8),
        ];
        Some(
            known
                .into_iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(code))
                .map_or_else(|| ResponseCode::Other(code.to_owned()), |(_, c)| c),
        )
    }

    /// The code as written between the brackets.
    pub fn as_str(&self) -> &str {
        match self {
            ResponseCode::InUse => "IN-USE",
            ResponseCode::LoginDelay => "LOGIN-DELAY",
            ResponseCode::SysTemp => "SYS/TEMP",
            ResponseCode::SysPerm => "SYS/PERM",
            ResponseCode::Auth => "AUTH",
            ResponseCode::Utf8 => "UTF8",
            ResponseCode::Other(s) => s,
        }
    }

    /// True for codes that say trying again later may succeed (RFC 2449 §8.1.2, RFC 3206 §4).
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            ResponseCode::InUse | ResponseCode::LoginDelay | ResponseCode::SysTemp
        )
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status line: `+OK text` or `-ERR [CODE] text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    ok: bool,
    code: Option<ResponseCode>,
    text: String,
}

/// Longest text a response may carry: RFC 2449 §4 bounds the line at 512 octets.
pub const MAX_RESPONSE_TEXT: usize = 480;

impl Response {
    /// A positive response. The text must hold no control characters and fit [`MAX_RESPONSE_TEXT`].
    pub fn ok(text: impl Into<String>) -> Result<Self, InvalidInput> {
        Self::new(true, None, text.into())
    }

    /// A negative response with an optional response code.
    pub fn err(code: Option<ResponseCode>, text: impl Into<String>) -> Result<Self, InvalidInput> {
        Self::new(false, code, text.into())
    }

    /// A response with any status and code.
    pub fn new(ok: bool, code: Option<ResponseCode>, text: String) -> Result<Self, InvalidInput> {
        if text.len() > MAX_RESPONSE_TEXT || text.chars().any(char::is_control) {
            return Err(InvalidInput::ResponseText);
        }
        Ok(Response { ok, code, text })
    }

    /// A response whose text the crate wrote itself.
    pub(crate) fn fixed(ok: bool, code: Option<ResponseCode>, text: &str) -> Self {
        debug_assert!(!text.chars().any(char::is_control));
        Response {
            ok,
            code,
            text: text.to_owned(),
        }
    }

    /// A parsed response; the text was checked by the parser.
    pub(crate) fn parsed(ok: bool, code: Option<ResponseCode>, text: String) -> Self {
        Response { ok, code, text }
    }

    /// `+OK` rather than `-ERR`.
    pub fn is_ok(&self) -> bool {
        self.ok
    }

    /// The response code, when one was given.
    pub fn code(&self) -> Option<&ResponseCode> {
        self.code.as_ref()
    }

    /// The human-readable text (without the code).
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.ok { "+OK" } else { "-ERR" })?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        if !self.text.is_empty() {
            write!(f, " {}", self.text)?;
        }
        Ok(())
    }
}
