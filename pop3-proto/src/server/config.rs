//! Server configuration: limits, timeouts and what is offered.

use std::time::Duration;

use crate::sasl::Mechanism;
use crate::types::Expire;

/// Everything a server session needs to know besides the bytes.
#[derive(Clone, Debug)]
pub struct Config {
    /// The name the server gives in its greeting and sign-off.
    pub hostname: String,
    /// Longest command line, CRLF included. Default 255 (RFC 2449 §4).
    pub max_line_length: usize,
    /// Longest AUTH command or SASL response line, CRLF included. Default 12 288
    /// (RFC 5034 §4 lets SASL lines exceed the command limit; bearer tokens need it).
    pub max_auth_line_length: usize,
    /// Error responses before the session closes. Default 10.
    pub max_errors: usize,
    /// The autologout timer: how long the server waits for the client's next
    /// bytes. RFC 1939 §3 asks for at least 10 minutes; default 10 minutes.
    pub idle_timeout: Duration,
    /// Offer STLS (the application must be able to upgrade). Default off.
    pub stls: bool,
    /// The session runs over TLS from the start (port 995). Default off.
    pub implicit_tls: bool,
    /// Offer USER/PASS. Default on.
    pub user_pass: bool,
    /// SASL mechanisms to offer with AUTH (RFC 5034); empty means no AUTH.
    /// Default PLAIN and LOGIN.
    pub auth_mechanisms: Vec<Mechanism>,
    /// Refuse USER/PASS and AUTH until TLS is up, and leave them out of CAPA
    /// (RFC 2595 §2.3). APOP stays available: it never sends the password.
    /// Default on.
    pub login_requires_tls: bool,
    /// Accept pipelined commands and announce PIPELINING (RFC 2449 §6.6). Default on.
    pub pipelining: bool,
    /// Offer the UTF8 command and UTF-8 user names (RFC 6856), announced as `UTF8 USER`. Default on.
    pub utf8: bool,
    /// Languages for LANG (RFC 6856 §3), as (tag, description); the first is
    /// the default. Empty: LANG is not offered. Default empty.
    pub languages: Vec<(String, String)>,
    /// `EXPIRE` to announce. Default none.
    pub expire: Option<Expire>,
    /// `LOGIN-DELAY` seconds to announce; the application enforces it by
    /// refusing logins with `[LOGIN-DELAY]`. Default none.
    pub login_delay: Option<u64>,
    /// `IMPLEMENTATION` text to announce. Default none.
    pub implementation: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hostname: "localhost".into(),
            max_line_length: crate::codec::DEFAULT_MAX_LINE,
            max_auth_line_length: 12_288,
            max_errors: 10,
            idle_timeout: Duration::from_secs(600),
            stls: false,
            implicit_tls: false,
            user_pass: true,
            auth_mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            login_requires_tls: true,
            pipelining: true,
            utf8: true,
            languages: Vec::new(),
            expire: None,
            login_delay: None,
            implementation: None,
        }
    }
}
