//! EHLO keywords (RFC 5321 §4.1.1.1) and SASL mechanism names.

use std::fmt;

pub use sansmail_common::sasl::Mechanism;

/// One line of an EHLO reply after the greeting line: a service extension.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Extension {
    /// `SIZE [max]` (RFC 1870); `None` or 0 means no fixed limit.
    Size(Option<u64>),
    /// `PIPELINING` (RFC 2920).
    Pipelining,
    /// `8BITMIME` (RFC 6152).
    EightBitMime,
    /// `CHUNKING` (RFC 3030): BDAT.
    Chunking,
    /// `BINARYMIME` (RFC 3030).
    BinaryMime,
    /// `SMTPUTF8` (RFC 6531).
    SmtpUtf8,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mech...` (RFC 4954).
    Auth(Vec<Mechanism>),
    /// `DSN` (RFC 3461).
    Dsn,
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    EnhancedStatusCodes,
    /// `MT-PRIORITY [profile]` (RFC 6710).
    MtPriority(Option<String>),
    /// `REQUIRETLS` (RFC 8689).
    RequireTls,
    /// `DELIVERBY [min-seconds]` (RFC 2852).
    DeliverBy(Option<u64>),
    /// `FUTURERELEASE max-interval max-datetime` (RFC 4865).
    FutureRelease {
        /// Longest HOLDFOR in seconds.
        max_interval: u64,
        /// Latest HOLDUNTIL, as written.
        max_datetime: String,
    },
    /// `RRVS` (RFC 7293).
    Rrvs,
    /// `VRFY`
    Vrfy,
    /// `EXPN`
    Expn,
    /// `HELP`
    Help,
    /// Anything else, kept as received.
    Unknown {
        /// The keyword.
        keyword: String,
        /// Its space-separated parameters.
        params: Vec<String>,
    },
}

impl Extension {
    /// Parses one EHLO line (`keyword *(SP param)`); `None` for a malformed keyword.
    pub fn parse(line: &str) -> Option<Self> {
        let mut words = line.split(' ').filter(|w| !w.is_empty());
        let keyword = words.next()?;
        if !super::params::is_keyword(keyword.as_bytes()) {
            return None;
        }
        let params: Vec<&str> = words.collect();
        let first_number = || params.first().and_then(|p| p.parse::<u64>().ok());
        let bare = |ext: Extension| params.is_empty().then_some(ext);
        let parsed = match keyword.to_ascii_uppercase().as_str() {
            "SIZE" => Some(Extension::Size(first_number())),
            "PIPELINING" => bare(Extension::Pipelining),
            "8BITMIME" => bare(Extension::EightBitMime),
            "CHUNKING" => bare(Extension::Chunking),
            "BINARYMIME" => bare(Extension::BinaryMime),
            "SMTPUTF8" => bare(Extension::SmtpUtf8),
            "STARTTLS" => bare(Extension::StartTls),
            "DSN" => bare(Extension::Dsn),
            "ENHANCEDSTATUSCODES" => bare(Extension::EnhancedStatusCodes),
            "REQUIRETLS" => bare(Extension::RequireTls),
            "RRVS" => bare(Extension::Rrvs),
            "VRFY" => bare(Extension::Vrfy),
            "EXPN" => bare(Extension::Expn),
            "HELP" => bare(Extension::Help),
            "AUTH" => params
                .iter()
                .map(|p| Mechanism::parse(p))
                .collect::<Option<Vec<_>>>()
                .map(Extension::Auth),
            "MT-PRIORITY" => Some(Extension::MtPriority(params.first().map(|p| p.to_string()))),
            "DELIVERBY" => Some(Extension::DeliverBy(first_number())),
            "FUTURERELEASE" if params.len() == 2 => Some(Extension::FutureRelease {
                max_interval: params[0].parse().ok()?,
                max_datetime: params[1].to_owned(),
            }),
            _ => None,
        };
        Some(parsed.unwrap_or_else(|| Extension::Unknown {
            keyword: keyword.to_owned(),
            params: params.iter().map(|p| p.to_string()).collect(),
        }))
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Extension::Size(None) => f.write_str("SIZE"),
            Extension::Size(Some(n)) => write!(f, "SIZE {n}"),
            Extension::Pipelining => f.write_str("PIPELINING"),
            Extension::EightBitMime => f.write_str("8BITMIME"),
            Extension::Chunking => f.write_str("CHUNKING"),
            Extension::BinaryMime => f.write_str("BINARYMIME"),
            Extension::SmtpUtf8 => f.write_str("SMTPUTF8"),
            Extension::StartTls => f.write_str("STARTTLS"),
            Extension::Auth(mechs) => {
                f.write_str("AUTH")?;
                for m in mechs {
                    write!(f, " {m}")?;
                }
                Ok(())
            }
            Extension::Dsn => f.write_str("DSN"),
            Extension::EnhancedStatusCodes => f.write_str("ENHANCEDSTATUSCODES"),
            Extension::MtPriority(None) => f.write_str("MT-PRIORITY"),
            Extension::MtPriority(Some(p)) => write!(f, "MT-PRIORITY {p}"),
            Extension::RequireTls => f.write_str("REQUIRETLS"),
            Extension::DeliverBy(None) => f.write_str("DELIVERBY"),
            Extension::DeliverBy(Some(n)) => write!(f, "DELIVERBY {n}"),
            Extension::FutureRelease {
                max_interval,
                max_datetime,
            } => write!(f, "FUTURERELEASE {max_interval} {max_datetime}"),
            Extension::Rrvs => f.write_str("RRVS"),
            Extension::Vrfy => f.write_str("VRFY"),
            Extension::Expn => f.write_str("EXPN"),
            Extension::Help => f.write_str("HELP"),
            Extension::Unknown { keyword, params } => {
                f.write_str(keyword)?;
                for p in params {
                    write!(f, " {p}")?;
                }
                Ok(())
            }
        }
    }
}

/// What a server offered in its EHLO reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The domain the server named on its first line.
    pub server_name: String,
    /// The extensions, in the order offered.
    pub extensions: Vec<Extension>,
}

impl Capabilities {
    /// Reads the capabilities out of the lines of an EHLO reply (malformed lines are skipped).
    pub fn from_ehlo_lines<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> Self {
        let mut lines = lines.into_iter();
        let server_name = lines
            .next()
            .map(|l| l.as_ref().split(' ').next().unwrap_or_default().to_owned())
            .unwrap_or_default();
        let extensions = lines.filter_map(|l| Extension::parse(l.as_ref())).collect();
        Capabilities {
            server_name,
            extensions,
        }
    }

    /// True when `ext` was offered (parameters compared too).
    pub fn has(&self, ext: &Extension) -> bool {
        self.extensions.contains(ext)
    }

    /// The SIZE limit, when the server gave a non-zero one.
    pub fn size_limit(&self) -> Option<u64> {
        self.extensions.iter().find_map(|e| match e {
            Extension::Size(Some(n)) if *n > 0 => Some(*n),
            _ => None,
        })
    }

    /// True when SIZE was offered at all.
    pub fn has_size(&self) -> bool {
        self.extensions
            .iter()
            .any(|e| matches!(e, Extension::Size(_)))
    }

    /// The SASL mechanisms offered (empty when AUTH was not).
    pub fn auth_mechanisms(&self) -> &[Mechanism] {
        self.extensions
            .iter()
            .find_map(|e| match e {
                Extension::Auth(m) => Some(m.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ehlo_lines() {
        let lines: Vec<String> = [
            "mx.example.com greets you",
            "SIZE 1000",
            "AUTH PLAIN login",
            "PIPELINING",
            "X-THING a b",
            "FUTURERELEASE 604800 2026-12-01T00:00:00Z",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let caps = Capabilities::from_ehlo_lines(&lines);
        assert_eq!(caps.server_name, "mx.example.com");
        assert_eq!(caps.size_limit(), Some(1000));
        assert_eq!(
            caps.auth_mechanisms(),
            &[Mechanism::Plain, Mechanism::Login]
        );
        assert!(caps.has(&Extension::Pipelining));
        assert!(
            caps.extensions
                .iter()
                .any(|e| matches!(e, Extension::Unknown { keyword, .. } if keyword == "X-THING"))
        );
        assert!(caps.extensions.iter().any(|e| matches!(
            e,
            Extension::FutureRelease {
                max_interval: 604800,
                ..
            }
        )));
    }
}
