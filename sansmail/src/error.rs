//! What went wrong, said so that a caller knows what to do next.

use std::fmt;
use std::io;

use rustls::CertificateError;
use sansmail_smtp::client::{DeliveryStatus, RecipientOutcome};

use crate::Protocol;

/// Why an operation failed.
///
/// [`Error::is_temporary`] tells whether trying again later can help.
///
/// ```
/// use sansmail::Error;
///
/// let error = Error::Timeout { server: "mail.example.com:587".into(), waiting_for: "the greeting" };
/// assert!(error.is_temporary());
/// assert_eq!(error.to_string(), "mail.example.com:587: timed out waiting for the greeting");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL or a setting is wrong; nothing was sent.
    #[error("bad configuration: {0}")]
    Config(#[from] ConfigProblem),
    /// The message cannot be sent as it is (no sender, no recipient, bad address).
    #[error("cannot send this message: {0}")]
    Message(#[from] MessageProblem),
    /// A call the session cannot take now, or with this argument (POP3
    /// message number 0, a command after the session ended).
    #[error("invalid call: {0}")]
    Usage(#[from] sansmail_pop3::client::UsageError),
    /// The server could not be reached (DNS, refused, unreachable).
    #[error("cannot connect to {server}: {source}")]
    Connect {
        /// `host:port`.
        server: String,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// TLS could not be set up; `problem` names why.
    #[error("{server}: TLS failed: {problem}")]
    Tls {
        /// `host:port`.
        server: String,
        /// The certificate problem, or what else went wrong.
        problem: TlsProblem,
    },
    /// The server refused the credentials (or offers no way to send them safely).
    #[error("{server}: authentication refused: {reply}")]
    AuthRefused {
        /// `host:port`.
        server: String,
        /// The server's reply.
        reply: String,
    },
    /// No recipient was accepted: each one's outcome is here. Permanent
    /// when every refusal was permanent (5xx): do not retry those.
    #[error("{}", rejected_text(recipients))]
    Rejected {
        /// Every recipient with the server's reply.
        recipients: Vec<RecipientOutcome>,
    },
    /// The server refused a command (IMAP `NO`/`BAD`, POP3 `-ERR`).
    #[error("{server}: {command} refused: {reply}")]
    Refused {
        /// `host:port`.
        server: String,
        /// What was asked.
        command: String,
        /// The server's answer.
        reply: String,
    },
    /// The server did not answer in time.
    #[error("{server}: timed out waiting for {waiting_for}")]
    Timeout {
        /// `host:port`.
        server: String,
        /// What was awaited.
        waiting_for: &'static str,
    },
    /// The connection ended (or the server said it is closing) before the
    /// operation finished.
    #[error("{server}: connection lost: {detail}")]
    ConnectionLost {
        /// `host:port`.
        server: String,
        /// What happened.
        detail: String,
    },
    /// The connection failed after the whole message went out and before
    /// the server answered it: the server may have the message. Trying
    /// again may deliver it twice (mail servers prefer that to losing it).
    #[error("{server}: outcome unknown, the message may have been delivered: {detail}")]
    OutcomeUnknown {
        /// `host:port`.
        server: String,
        /// What happened.
        detail: String,
    },
    /// The server said something that breaks its protocol.
    #[error("{server}: protocol error: {detail}")]
    Protocol {
        /// `host:port`.
        server: String,
        /// What was wrong.
        detail: String,
    },
}

impl Error {
    /// True when the same operation may succeed later: connection
    /// problems, timeouts, and refusals that were all temporary (4xx).
    pub fn is_temporary(&self) -> bool {
        match self {
            Error::Connect { .. }
            | Error::Timeout { .. }
            | Error::ConnectionLost { .. }
            | Error::OutcomeUnknown { .. } => true,
            Error::Rejected { recipients } => recipients
                .iter()
                .any(|r| matches!(r.status, DeliveryStatus::TemporaryFailure(_))),
            _ => false,
        }
    }

    /// Classifies an I/O error met while talking to `server`.
    pub(crate) fn io(server: &str, error: io::Error) -> Error {
        if let Some(problem) = TlsProblem::of(&error) {
            return Error::Tls {
                server: server.to_owned(),
                problem,
            };
        }
        Error::ConnectionLost {
            server: server.to_owned(),
            detail: error.to_string(),
        }
    }

    /// The connection ended early.
    pub(crate) fn lost(server: &str, detail: impl Into<String>) -> Error {
        Error::ConnectionLost {
            server: server.to_owned(),
            detail: detail.into(),
        }
    }
}

impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Error {
        match never {}
    }
}

/// What is wrong with a URL or setting.
///
/// ```
/// use sansmail::{ConfigProblem, Endpoint, Error};
///
/// let error = Endpoint::parse("smtp.example.com").unwrap_err();
/// assert!(matches!(error, Error::Config(ConfigProblem::Url { .. })));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// The URL cannot be read.
    #[error("{url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The endpoint is for another protocol than the client it was given to.
    #[error("{endpoint} is not a {expected:?} URL")]
    WrongProtocol {
        /// The endpoint, without its password.
        endpoint: String,
        /// The protocol the client speaks.
        expected: Protocol,
    },
    /// Reading mail needs a user and password, and the endpoint has none.
    #[error("{0:?} needs a user and password")]
    NoCredentials(Protocol),
    /// Not a host name (for TLS, or to greet with).
    #[error("{0:?} is not a host name")]
    HostName(String),
    /// Not a valid IMAP folder name.
    #[error("folder {name:?}: {reason}")]
    Folder {
        /// The name as given.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The trusted certificates given cannot be used.
    #[error("trusted certificates: {0}")]
    Certificates(String),
    /// The system's DNS resolvers could not be read.
    #[error("/etc/resolv.conf: {0}")]
    Resolvers(#[source] io::Error),
}

/// Why a message cannot be sent as it is.
///
/// ```
/// use sansmail::{Error, MessageProblem, Outgoing};
///
/// let error = Outgoing::new(&b"To: a@example.com\r\n\r\nhi\r\n"[..]).unwrap_err();
/// assert!(matches!(error, Error::Message(MessageProblem::NoSender)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageProblem {
    /// No Sender or From field (or builder `from`) to take the envelope sender from.
    #[error("no From field to take the sender from")]
    NoSender,
    /// No recipient in To, Cc or Bcc (or in the envelope given).
    #[error("no recipients")]
    NoRecipients,
    /// An address that SMTP cannot carry.
    #[error("{0:?} is not a mail address")]
    BadAddress(String),
}

fn rejected_text(recipients: &[RecipientOutcome]) -> String {
    let mut text = String::from("no recipient accepted:");
    for r in recipients {
        text.push_str(&format!(
            " {}: {};",
            r.recipient,
            r.status.reply().to_wire_string().trim_end()
        ));
    }
    text.pop();
    text
}

/// Why TLS failed, with the certificate problem named where there is one.
///
/// ```
/// use sansmail::{Error, TlsProblem};
///
/// let e = Error::Tls { server: "imap.example.com:993".into(), problem: TlsProblem::WrongName };
/// assert_eq!(e.to_string(), "imap.example.com:993: TLS failed: certificate not valid for this host name");
/// assert!(!e.is_temporary(), "a retry will not fix a certificate");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsProblem {
    /// The certificate is not signed by a trusted authority (self-signed,
    /// or a private CA not given with `trust_pem`).
    UnknownIssuer,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet.
    NotValidYet,
    /// The certificate is for other names than the one connected to.
    WrongName,
    /// The certificate was revoked.
    Revoked,
    /// Another certificate problem.
    BadCertificate(String),
    /// The server does not offer STARTTLS (or STLS), and TLS is required.
    NotOffered,
    /// The server refused STARTTLS.
    Refused(String),
    /// The handshake failed otherwise.
    Handshake(String),
}

impl TlsProblem {
    /// The TLS problem behind an I/O error, if it is one.
    pub(crate) fn of(error: &io::Error) -> Option<TlsProblem> {
        let tls = error.get_ref()?.downcast_ref::<rustls::Error>()?;
        Some(match tls {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => TlsProblem::UnknownIssuer,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    TlsProblem::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    TlsProblem::NotValidYet
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsProblem::WrongName,
                CertificateError::Revoked => TlsProblem::Revoked,
                other => TlsProblem::BadCertificate(format!("{other:?}")),
            },
            other => TlsProblem::Handshake(other.to_string()),
        })
    }
}

impl fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsProblem::UnknownIssuer => {
                f.write_str("certificate signed by an unknown issuer (self-signed or private CA)")
            }
            TlsProblem::Expired => f.write_str("certificate expired"),
            TlsProblem::NotValidYet => f.write_str("certificate not valid yet"),
            TlsProblem::WrongName => f.write_str("certificate not valid for this host name"),
            TlsProblem::Revoked => f.write_str("certificate revoked"),
            TlsProblem::BadCertificate(what) => write!(f, "bad certificate: {what}"),
            TlsProblem::NotOffered => f.write_str("the server does not offer STARTTLS"),
            TlsProblem::Refused(reply) => write!(f, "STARTTLS refused: {reply}"),
            TlsProblem::Handshake(what) => write!(f, "handshake failed: {what}"),
        }
    }
}
