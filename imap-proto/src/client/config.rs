//! Client configuration.

use std::time::Duration;

use crate::types::Secret;

/// When to upgrade with STARTTLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Never.
    Disabled,
    /// When the server offers it; go on in plaintext otherwise.
    Opportunistic,
    /// Always; fail the session when the server does not offer it or refuses.
    #[default]
    Required,
}

/// Everything a client session needs to know besides the bytes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The user to log in as.
    pub username: String,
    /// The password.
    pub password: Secret<String>,
    /// STARTTLS policy. Default: required.
    pub tls: TlsPolicy,
    /// The transport is TLS from the start (port 993). Default off.
    pub implicit_tls: bool,
    /// Allow sending the password without TLS. Default off.
    pub allow_plaintext_auth: bool,
    /// Longest response line accepted, CRLF included. Default 1 MiB.
    pub max_line: usize,
    /// Largest literal held in memory; FETCH literals larger than
    /// `stream_over` are streamed instead. Default 64 MiB.
    pub max_literal: u32,
    /// FETCH literals larger than this come as
    /// [`Event::LiteralChunk`](super::Event::LiteralChunk)s. Default 64 KiB.
    pub stream_over: u32,
    /// Deepest nesting of parentheses in a response. Default 64.
    pub max_depth: usize,
    /// How long to wait for the server while a command runs. Default 10 minutes.
    pub timeout: Duration,
}

impl Config {
    /// Defaults for logging in with a user name and password.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        Config {
            username: username.into(),
            password: Secret::new(password.into()),
            tls: TlsPolicy::Required,
            implicit_tls: false,
            allow_plaintext_auth: false,
            max_line: 1024 * 1024,
            max_literal: 64 * 1024 * 1024,
            stream_over: 64 * 1024,
            max_depth: 64,
            timeout: Duration::from_secs(600),
        }
    }
}
