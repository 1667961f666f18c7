//! Client configuration.

use std::time::Duration;

use crate::sasl::Mechanism;
use crate::types::Secret;

/// When to upgrade with STLS.
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

/// What the client logs in with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCredentials {
    /// A user name and password: APOP, SASL PLAIN/LOGIN, or USER/PASS.
    Password {
        /// The user name.
        username: String,
        /// The password.
        password: Secret<String>,
    },
    /// A bearer token, sent with AUTH XOAUTH2.
    XOAuth2 {
        /// The user.
        user: String,
        /// The token.
        token: Secret<String>,
    },
    /// A bearer token, sent with AUTH OAUTHBEARER (RFC 7628).
    OAuthBearer {
        /// The user.
        user: String,
        /// The token.
        token: Secret<String>,
    },
}

/// Everything a client session needs to know besides the bytes.
#[derive(Clone, Debug)]
pub struct Config {
    /// What to log in with.
    pub credentials: ClientCredentials,
    /// STLS policy. Default: required.
    pub tls: TlsPolicy,
    /// The transport is TLS from the start (port 995). Default off.
    pub implicit_tls: bool,
    /// Log in with APOP when the greeting offers it, before anything else.
    /// Default off: APOP rests on MD5; over TLS, SASL or USER/PASS is preferred.
    pub apop: bool,
    /// SASL mechanisms to use for a password, most preferred first, when
    /// the server offers them. Default PLAIN, LOGIN; USER/PASS is the fallback.
    pub password_mechanisms: Vec<Mechanism>,
    /// Allow sending a password without TLS. Default off.
    pub allow_plaintext_auth: bool,
    /// Send commands without waiting when the server offers PIPELINING. Default on.
    pub pipelining: bool,
    /// Send UTF8 when the server offers it (RFC 6856); a non-ASCII user name sends it anyway. Default off.
    pub utf8: bool,
    /// Longest status or listing line accepted, CRLF included. Default 8192.
    pub max_line_length: usize,
    /// How long to wait for a response. Default 10 minutes.
    pub timeout: Duration,
}

impl Config {
    /// Defaults for logging in with `credentials`.
    pub fn new(credentials: ClientCredentials) -> Self {
        Config {
            credentials,
            tls: TlsPolicy::Required,
            implicit_tls: false,
            apop: false,
            password_mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            allow_plaintext_auth: false,
            pipelining: true,
            utf8: false,
            max_line_length: crate::codec::DEFAULT_MAX_RESPONSE_LINE,
            timeout: Duration::from_secs(600),
        }
    }

    /// Defaults for a user name and password.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        Config::new(ClientCredentials::Password {
            username: username.into(),
            password: Secret::new(password.into()),
        })
    }
}
