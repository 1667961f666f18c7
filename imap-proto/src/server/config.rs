//! Server session settings and limits.

use std::time::Duration;

use crate::sasl::Mechanism;
use crate::types::{Atom, Capability};

/// How a server session behaves. Every limit yields a precise response
/// when hit (see the field docs) and leaves the session usable unless said.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Name used in the greeting and BYE texts.
    pub hostname: String,
    /// The connection is TLS from the start (port 993).
    pub implicit_tls: bool,
    /// Offer STARTTLS while the connection is plaintext.
    pub starttls: bool,
    /// Allow LOGIN and AUTHENTICATE before TLS. Off by default: the
    /// session then advertises LOGINDISABLED and answers
    /// `NO [PRIVACYREQUIRED]` (RFC 9051 §6.2.3).
    pub allow_plaintext_auth: bool,
    /// SASL mechanisms offered for AUTHENTICATE.
    pub mechanisms: Vec<Mechanism>,
    /// Longest command line, without literals: longer lines get
    /// `* BYE [TOOBIG]` and the connection closes, since the rest of the
    /// line cannot be told apart from the next command.
    pub max_line: usize,
    /// Largest literal in a command other than APPEND: `BAD [TOOBIG]`.
    pub max_literal: u32,
    /// Largest whole command (lines and literals, APPEND bodies aside): `BAD [TOOBIG]`.
    pub max_command: usize,
    /// Largest message APPEND takes, advertised as APPENDLIMIT: `NO [TOOBIG]`
    /// before the client sends it.
    pub max_append: u32,
    /// Deepest nesting of parentheses (search keys, lists): `BAD`.
    pub max_depth: usize,
    /// Bytes buffered while the application works on a command (pipelined
    /// commands in flight); past this the session answers what is pending,
    /// then closes with `* BYE`.
    pub max_pipelined: usize,
    /// Protocol errors (BAD) tolerated before `* BYE` and closing.
    pub max_errors: usize,
    /// Inactivity allowed before login.
    pub login_timeout: Duration,
    /// Inactivity allowed after login, IDLE included (RFC 9051 §5.4: at least 30 minutes).
    pub idle_timeout: Duration,
    /// Fields the server gives in answer to ID (RFC 2971).
    pub id: Vec<(String, String)>,
    /// Offer COMPRESS=DEFLATE (RFC 4978).
    pub compress: bool,
    /// More capabilities to advertise, for extensions the application adds.
    pub extra_capabilities: Vec<Capability>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hostname: "localhost".into(),
            implicit_tls: false,
            starttls: true,
            allow_plaintext_auth: false,
            mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            max_line: 64 * 1024,
            max_literal: 64 * 1024,
            max_command: 1024 * 1024,
            max_append: 64 * 1024 * 1024,
            max_depth: 32,
            max_pipelined: 256 * 1024,
            max_errors: 20,
            login_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30 * 60),
            id: vec![("name".into(), "sansmail".into())],
            compress: true,
            extra_capabilities: Vec::new(),
        }
    }
}

impl Config {
    /// The capabilities to advertise in a state.
    pub(crate) fn capabilities(&self, tls: bool, authenticated: bool) -> Vec<Capability> {
        let atom = |s: &'static str| Atom::new(s).expect("static atom");
        let mut caps = vec![Capability::Imap4rev1, Capability::Imap4rev2];
        let can_auth = tls || self.allow_plaintext_auth;
        if !authenticated {
            if self.starttls && !tls {
                caps.push(Capability::StartTls);
            }
            if can_auth {
                caps.extend(
                    self.mechanisms
                        .iter()
                        .filter_map(|m| Atom::new(m.as_str().to_owned()).ok())
                        .map(Capability::Auth),
                );
                caps.push(Capability::SaslIr);
            } else {
                caps.push(Capability::LoginDisabled);
            }
        }
        caps.extend([
            Capability::LiteralPlus,
            Capability::Id,
            Capability::Enable,
            Capability::Idle,
            Capability::Namespace,
            Capability::Unselect,
            Capability::UidPlus,
            Capability::Move,
            Capability::CondStore,
            Capability::QResync,
            Capability::ESearch,
            Capability::SearchRes,
            Capability::ListExtended,
            Capability::ListStatus,
            Capability::SpecialUse,
            Capability::CreateSpecialUse,
            Capability::Children,
            Capability::Binary,
            Capability::MultiAppend,
            Capability::Utf8Accept,
            Capability::Quota,
            Capability::AppendLimit(Some(u64::from(self.max_append))),
            Capability::StatusSize,
            Capability::ObjectId,
            Capability::SaveDate,
            Capability::Sort,
            Capability::Thread(atom("ORDEREDSUBJECT")),
            Capability::Thread(atom("REFERENCES")),
        ]);
        if self.compress && authenticated {
            caps.push(Capability::Compress(atom("DEFLATE")));
        }
        caps.extend(self.extra_capabilities.iter().cloned());
        caps
    }
}
