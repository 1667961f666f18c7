//! Client configuration and the envelope of one message.

use std::time::Duration;

use crate::Mode;
use crate::types::{
    ForwardPath, Host, MailParameter, Mechanism, RcptParameter, ReversePath, Secret,
};

/// When to upgrade with STARTTLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Never.
    Disabled,
    /// When the server offers it; go on in plaintext otherwise (opportunistic, as MTAs relay).
    #[default]
    Opportunistic,
    /// Always; fail the session when the server does not offer it or refuses.
    Required,
}

/// What the client authenticates with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCredentials {
    /// A user name and password, sent with PLAIN or LOGIN.
    Password {
        /// The user name.
        username: String,
        /// The password.
        password: Secret<String>,
    },
    /// A bearer token, sent with XOAUTH2.
    XOAuth2 {
        /// The user.
        user: String,
        /// The token.
        token: Secret<String>,
    },
    /// A bearer token, sent with OAUTHBEARER (RFC 7628).
    OAuthBearer {
        /// The user.
        user: String,
        /// The token.
        token: Secret<String>,
    },
}

/// The client-side timeouts of RFC 5321 §4.5.3.2, by what the client waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// The 220 greeting: 5 minutes.
    pub greeting: Duration,
    /// The reply to MAIL: 5 minutes.
    pub mail: Duration,
    /// The reply to each RCPT: 5 minutes.
    pub rcpt: Duration,
    /// The 354 reply to DATA: 2 minutes.
    pub data_initiation: Duration,
    /// The reply after the end of data (or a BDAT chunk): 10 minutes.
    pub data_termination: Duration,
    /// Replies to any other command: 5 minutes.
    pub other: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(60 * m);
        Timeouts {
            greeting: min(5),
            mail: min(5),
            rcpt: min(5),
            data_initiation: min(2),
            data_termination: min(10),
            other: min(5),
        }
    }
}

/// Everything a client session needs to know besides the bytes.
#[derive(Clone, Debug)]
pub struct Config {
    /// The name sent with EHLO/LHLO/HELO.
    pub hello_name: Host,
    /// SMTP or LMTP.
    pub mode: Mode,
    /// STARTTLS policy.
    pub tls: TlsPolicy,
    /// The transport is TLS from the start (port 465).
    pub implicit_tls: bool,
    /// Authenticate with these after the greeting (and TLS).
    pub credentials: Option<ClientCredentials>,
    /// Password mechanisms to use, most preferred first. Default PLAIN, LOGIN.
    pub password_mechanisms: Vec<Mechanism>,
    /// Allow sending credentials without TLS. Default off.
    pub allow_plaintext_auth: bool,
    /// Pipeline MAIL, RCPT and DATA when the server offers PIPELINING. Default on.
    pub pipelining: bool,
    /// Send the body with BDAT when the server offers CHUNKING. Default on.
    pub chunking: bool,
    /// Octets per BDAT chunk. Default 64 KiB.
    pub chunk_size: usize,
    /// Largest reply accepted from the server. Default 64 KiB.
    pub max_reply_size: usize,
    /// Reply timeouts.
    pub timeouts: Timeouts,
}

impl Config {
    /// Defaults for a client greeting as `hello_name`.
    pub fn new(hello_name: Host) -> Self {
        Config {
            hello_name,
            mode: Mode::Smtp,
            tls: TlsPolicy::Opportunistic,
            implicit_tls: false,
            credentials: None,
            password_mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            allow_plaintext_auth: false,
            pipelining: true,
            chunking: true,
            chunk_size: 64 * 1024,
            max_reply_size: crate::codec::DEFAULT_MAX_REPLY,
            timeouts: Timeouts::default(),
        }
    }
}

/// One recipient of an envelope, with its RCPT parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The forward path.
    pub path: ForwardPath,
    /// RCPT parameters (NOTIFY, ORCPT, ...).
    pub params: Vec<RcptParameter>,
}

/// The envelope of one message: who sends it, to whom, and how big it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// MAIL FROM.
    pub from: ReversePath,
    /// MAIL parameters. SIZE and SMTPUTF8 are added when needed.
    pub params: Vec<MailParameter>,
    /// RCPT TO, in order.
    pub recipients: Vec<Recipient>,
    /// The message size in octets, when known (checked against the server's SIZE).
    pub size: Option<u64>,
}

impl Envelope {
    /// An envelope with no parameters.
    pub fn new(from: ReversePath, to: impl IntoIterator<Item = ForwardPath>) -> Self {
        Envelope {
            from,
            params: Vec::new(),
            recipients: to
                .into_iter()
                .map(|path| Recipient {
                    path,
                    params: Vec::new(),
                })
                .collect(),
            size: None,
        }
    }

    /// Sets the size announced with SIZE and checked against the server's limit.
    pub fn with_size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// True when an address needs SMTPUTF8.
    pub fn needs_smtputf8(&self) -> bool {
        self.from.mailbox().is_some_and(|m| !m.is_ascii())
            || self.recipients.iter().any(|r| !r.path.is_ascii())
    }
}
