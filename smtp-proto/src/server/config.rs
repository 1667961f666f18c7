//! Server configuration: limits, timeouts and what is offered.

use std::time::Duration;

use crate::Mode;
use crate::types::Mechanism;

/// Service extensions the server advertises and accepts. Parameters of an
/// extension that is off are refused with 555.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// PIPELINING (RFC 2920). Default on.
    pub pipelining: bool,
    /// 8BITMIME (RFC 6152). Default on.
    pub eight_bit_mime: bool,
    /// CHUNKING (RFC 3030): BDAT. Default on.
    pub chunking: bool,
    /// BINARYMIME (RFC 3030), only with CHUNKING. Default on.
    pub binary_mime: bool,
    /// SMTPUTF8 (RFC 6531). Default on.
    pub smtputf8: bool,
    /// DSN (RFC 3461): RET, ENVID, NOTIFY, ORCPT. Default on.
    pub dsn: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034). Default on.
    pub enhanced_status_codes: bool,
    /// REQUIRETLS (RFC 8689), offered only over TLS. Default off.
    pub require_tls: bool,
    /// MT-PRIORITY (RFC 6710). Default off.
    pub mt_priority: bool,
    /// DELIVERBY with its minimum seconds (RFC 2852). Default off.
    pub deliver_by: Option<u64>,
    /// FUTURERELEASE max-interval seconds and max date-time (RFC 4865). Default off.
    pub future_release: Option<(u64, String)>,
    /// RRVS (RFC 7293). Default off.
    pub rrvs: bool,
}

impl Default for Offer {
    fn default() -> Self {
        Offer {
            pipelining: true,
            eight_bit_mime: true,
            chunking: true,
            binary_mime: true,
            smtputf8: true,
            dsn: true,
            enhanced_status_codes: true,
            require_tls: false,
            mt_priority: false,
            deliver_by: None,
            future_release: None,
            rrvs: false,
        }
    }
}

/// Everything a server session needs to know besides the bytes.
#[derive(Clone, Debug)]
pub struct Config {
    /// The name the server gives in its greeting and EHLO reply.
    pub hostname: String,
    /// SMTP or LMTP.
    pub mode: Mode,
    /// Longest command line, CRLF included. Default 4096 (RFC 5321 §4.5.3.1.4 asks for at least 512).
    pub max_line_length: usize,
    /// Longest SASL response line, CRLF included. Default 12 288 (RFC 4954 §4).
    pub max_auth_line_length: usize,
    /// Most recipients per transaction; more get 452 4.5.3. Default 100 (RFC 5321 §4.5.3.1.8).
    pub max_recipients: usize,
    /// Largest message in octets, advertised as SIZE; more gets 552 5.3.4. Default 35 MiB.
    pub max_message_size: u64,
    /// Error replies before the session closes with 421 4.7.0. Default 10.
    pub max_errors: usize,
    /// How long the server waits for the client's next bytes (RFC 5321 §4.5.3.2.7: at least 5 minutes).
    pub idle_timeout: Duration,
    /// Offer STARTTLS (the application must be able to upgrade). Default off.
    pub starttls: bool,
    /// The session runs over TLS from the start (implicit TLS, port 465). Default off.
    pub implicit_tls: bool,
    /// SASL mechanisms to offer; empty means no AUTH. Default empty.
    pub auth_mechanisms: Vec<Mechanism>,
    /// Offer and accept AUTH only over TLS. Default on.
    pub auth_requires_tls: bool,
    /// Refuse MAIL until STARTTLS (530 5.7.0). Default off.
    pub require_tls: bool,
    /// Refuse MAIL until AUTH (530 5.7.0), as a submission server does. Default off.
    pub require_auth: bool,
    /// The extensions offered.
    pub offer: Offer,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hostname: "localhost".into(),
            mode: Mode::Smtp,
            max_line_length: 4096,
            max_auth_line_length: 12_288,
            max_recipients: 100,
            max_message_size: 35 * 1024 * 1024,
            max_errors: 10,
            idle_timeout: Duration::from_secs(300),
            starttls: false,
            implicit_tls: false,
            auth_mechanisms: Vec::new(),
            auth_requires_tls: true,
            require_tls: false,
            require_auth: false,
            offer: Offer::default(),
        }
    }
}
