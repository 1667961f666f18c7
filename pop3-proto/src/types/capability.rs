//! CAPA response lines (RFC 2449 §6, RFC 2595 §4, RFC 3206, RFC 5034, RFC 6856).

use std::fmt;

use crate::sasl::Mechanism;

/// How long messages stay on the server (RFC 2449 §6.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expire {
    /// Messages are never deleted by the server (`NEVER`).
    Never,
    /// Messages may be deleted after this many days (0: right after being retrieved).
    Days(u32),
}

/// One capability the server announces.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Capability {
    /// `TOP`.
    Top,
    /// `USER`: USER/PASS login.
    User,
    /// `SASL` with the mechanisms offered (RFC 5034).
    Sasl(Vec<Mechanism>),
    /// `RESP-CODES`: `-ERR` lines may carry `[CODE]`.
    RespCodes,
    /// `AUTH-RESP-CODE` (RFC 3206): a failed login says `[AUTH]` when the credentials are at fault.
    AuthRespCode,
    /// `LOGIN-DELAY seconds [USER]`.
    LoginDelay {
        /// The minimum seconds between logins.
        seconds: u64,
        /// `USER`: the value may differ per user (announced before login).
        per_user: bool,
    },
    /// `PIPELINING`.
    Pipelining,
    /// `EXPIRE policy [USER]`.
    Expire {
        /// The retention policy.
        policy: Expire,
        /// `USER`: the value may differ per user.
        per_user: bool,
    },
    /// `UIDL`.
    Uidl,
    /// `IMPLEMENTATION text`.
    Implementation(String),
    /// `STLS` (RFC 2595).
    Stls,
    /// `UTF8 [USER]` (RFC 6856): the UTF8 command; `USER` when UTF-8 user names and passwords work.
    Utf8 {
        /// UTF-8 in USER and PASS is accepted.
        user: bool,
    },
    /// `LANG` (RFC 6856).
    Lang,
    /// Any other capability, with its arguments.
    Other {
        /// The tag, uppercased.
        name: String,
        /// The arguments.
        args: Vec<String>,
    },
}

impl Capability {
    /// Parses one line of a CAPA response (without CRLF); `None` for an empty or non-text line.
    pub fn parse(line: &str) -> Option<Self> {
        if line.chars().any(char::is_control) {
            return None;
        }
        let mut words = line.split(' ').filter(|w| !w.is_empty());
        let name = words.next()?.to_ascii_uppercase();
        let args: Vec<&str> = words.collect();
        let per_user = args.get(1).is_some_and(|a| a.eq_ignore_ascii_case("USER"));
        Some(match (name.as_str(), args.as_slice()) {
            ("TOP", []) => Capability::Top,
            ("USER", []) => Capability::User,
            ("SASL", mechs) => {
                Capability::Sasl(mechs.iter().filter_map(|m| Mechanism::parse(m)).collect())
            }
            ("RESP-CODES", []) => Capability::RespCodes,
            ("AUTH-RESP-CODE", []) => Capability::AuthRespCode,
            ("PIPELINING", []) => Capability::Pipelining,
            ("UIDL", []) => Capability::Uidl,
            ("STLS", []) => Capability::Stls,
            ("LANG", []) => Capability::Lang,
            ("UTF8", []) => Capability::Utf8 { user: false },
            ("UTF8", [u]) if u.eq_ignore_ascii_case("USER") => Capability::Utf8 { user: true },
            ("LOGIN-DELAY", [secs, ..]) if args.len() <= 2 => match secs.parse() {
                Ok(seconds) => Capability::LoginDelay { seconds, per_user },
                Err(_) => other(name, &args),
            },
            ("EXPIRE", [policy, ..]) if args.len() <= 2 => {
                let policy = if policy.eq_ignore_ascii_case("NEVER") {
                    Some(Expire::Never)
                } else {
                    policy.parse().ok().map(Expire::Days)
                };
                match policy {
                    Some(policy) => Capability::Expire { policy, per_user },
                    None => other(name, &args),
                }
            }
            ("IMPLEMENTATION", words) if !words.is_empty() => {
                Capability::Implementation(words.join(" "))
            }
            _ => other(name, &args),
        })
    }
}

fn other(name: String, args: &[&str]) -> Capability {
    Capability::Other {
        name,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = |per_user: bool| if per_user { " USER" } else { "" };
        match self {
            Capability::Top => f.write_str("TOP"),
            Capability::User => f.write_str("USER"),
            Capability::Sasl(mechs) => {
                f.write_str("SASL")?;
                mechs.iter().try_for_each(|m| write!(f, " {m}"))
            }
            Capability::RespCodes => f.write_str("RESP-CODES"),
            Capability::AuthRespCode => f.write_str("AUTH-RESP-CODE"),
            Capability::LoginDelay { seconds, per_user } => {
                write!(f, "LOGIN-DELAY {seconds}{}", user(*per_user))
            }
            Capability::Pipelining => f.write_str("PIPELINING"),
            Capability::Expire { policy, per_user } => match policy {
                Expire::Never => write!(f, "EXPIRE NEVER{}", user(*per_user)),
                Expire::Days(d) => write!(f, "EXPIRE {d}{}", user(*per_user)),
            },
            Capability::Uidl => f.write_str("UIDL"),
            Capability::Implementation(text) => write!(f, "IMPLEMENTATION {text}"),
            Capability::Stls => f.write_str("STLS"),
            Capability::Utf8 { user: u } => write!(f, "UTF8{}", user(*u)),
            Capability::Lang => f.write_str("LANG"),
            Capability::Other { name, args } => {
                f.write_str(name)?;
                args.iter().try_for_each(|a| write!(f, " {a}"))
            }
        }
    }
}

/// What a server announced in its CAPA response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities(pub Vec<Capability>);

impl Capabilities {
    /// True when `cap` is announced (arguments compared too).
    pub fn has(&self, cap: &Capability) -> bool {
        self.0.contains(cap)
    }

    /// STLS is offered.
    pub fn stls(&self) -> bool {
        self.has(&Capability::Stls)
    }

    /// USER/PASS is offered.
    pub fn user(&self) -> bool {
        self.has(&Capability::User)
    }

    /// PIPELINING is offered.
    pub fn pipelining(&self) -> bool {
        self.has(&Capability::Pipelining)
    }

    /// The SASL mechanisms offered (empty when there is no SASL line).
    pub fn sasl(&self) -> &[Mechanism] {
        self.0
            .iter()
            .find_map(|c| match c {
                Capability::Sasl(m) => Some(m.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// The UTF8 capability, with whether it covers user names.
    pub fn utf8(&self) -> Option<bool> {
        self.0.iter().find_map(|c| match c {
            Capability::Utf8 { user } => Some(*user),
            _ => None,
        })
    }
}
