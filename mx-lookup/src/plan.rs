//! What a lookup ends with: a delivery plan, or an error a queue can act on.

use std::fmt;
use std::net::IpAddr;

/// Where mail for a domain goes, in the order to try (RFC 5321 §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryPlan {
    /// The domain looked up, as A-labels, without the final dot.
    pub domain: String,
    /// The hosts, most preferred first; equal preferences in seeded random order.
    pub hosts: Vec<MxHost>,
    /// True when the domain has no MX and its own addresses stand in (the implicit MX).
    pub implicit: bool,
    /// True when the resolver DNSSEC-validated the MX records (and, for the
    /// implicit MX, the addresses): the condition for DANE (RFC 7672 §2.2).
    pub authenticated: bool,
}

/// One mail exchanger and its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxHost {
    /// The MX preference (0 for the implicit MX).
    pub preference: u16,
    /// The host name, as A-labels, without the final dot.
    pub name: String,
    /// Its addresses, in the configured family order; never empty.
    pub addresses: Vec<IpAddr>,
}

impl fmt::Display for DeliveryPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.domain)?;
        if self.implicit {
            f.write_str(" (no MX: implicit MX)")?;
        }
        for host in &self.hosts {
            write!(f, "\n  {} {}", host.preference, host.name)?;
            for addr in &host.addresses {
                write!(f, " {addr}")?;
            }
        }
        Ok(())
    }
}

/// Why a domain cannot be looked up at all: no query is sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// An address literal (`[192.0.2.1]`): deliver to it directly, no MX applies.
    #[error("{0:?} is an address literal: it needs no MX lookup")]
    AddressLiteral(String),
    /// The configuration names no name server.
    #[error("no name servers configured")]
    NoNameServers,
    /// Longer than 255 octets in wire form (RFC 1035 §2.3.4).
    #[error("domain name too long")]
    TooLong,
    /// Not a valid host name (RFC 1123 §2.1, IDNA for U-labels).
    #[error("{name:?} is not a valid host name: {reason}")]
    NotAHostname {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Why a lookup gave no plan. [`MxError::is_permanent`] says whether a
/// queue should bounce the message (permanent) or try again later.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MxError {
    /// The domain does not exist (NXDOMAIN). Permanent.
    #[error("{domain}: no such domain")]
    NxDomain {
        /// The domain.
        domain: String,
    },
    /// The domain publishes a null MX (RFC 7505): it accepts no mail. Permanent.
    #[error("{domain}: null MX, the domain accepts no mail")]
    NullMx {
        /// The domain.
        domain: String,
    },
    /// The domain has neither MX nor addresses (NODATA). Permanent.
    #[error("{domain}: no MX and no address")]
    NoMailHost {
        /// The domain.
        domain: String,
    },
    /// None of the MX hosts has an address. Permanent.
    #[error("{domain}: no MX host has an address")]
    NoAddresses {
        /// The domain.
        domain: String,
    },
    /// This host is the best MX of the domain (RFC 5321 §5.1): delivering
    /// would loop. Permanent (a configuration error).
    #[error("{domain}: this host is its best MX, mail would loop")]
    LocalHostIsBestMx {
        /// The domain.
        domain: String,
    },
    /// A name server failed (SERVFAIL, REFUSED...). Temporary.
    #[error("{name}: name server failure ({rcode})")]
    ServerFailure {
        /// The name asked about.
        name: String,
        /// The response code.
        rcode: String,
    },
    /// No name server answered in time. Temporary.
    #[error("{name}: no answer from the name servers")]
    Timeout {
        /// The name asked about.
        name: String,
    },
    /// A response was truncated and TCP is turned off. Temporary.
    #[error("{name}: truncated response and TCP is off")]
    Truncated {
        /// The name asked about.
        name: String,
    },
    /// Responses could not be used. Temporary.
    #[error("{name}: malformed response: {detail}")]
    Malformed {
        /// The name asked about.
        name: String,
        /// What was wrong.
        detail: String,
    },
    /// The lookup needed more queries than `Config::max_queries` (or a CNAME chain
    /// longer than `max_cname_chain`). Temporary.
    #[error("{domain}: query limit reached")]
    QueryLimit {
        /// The domain.
        domain: String,
    },
}

impl MxError {
    /// True when trying again later cannot help: bounce.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            MxError::NxDomain { .. }
                | MxError::NullMx { .. }
                | MxError::NoMailHost { .. }
                | MxError::NoAddresses { .. }
                | MxError::LocalHostIsBestMx { .. }
        )
    }

    /// The SMTP reply an MTA gives for this error: code, enhanced status (RFC 3463), text.
    pub fn smtp_reply(&self) -> (u16, (u8, u16, u16), &'static str) {
        match self {
            // RFC 7505 §4.3.
            MxError::NullMx { .. } => (556, (5, 1, 10), "Recipient address has null MX"),
            MxError::NxDomain { .. } | MxError::NoMailHost { .. } | MxError::NoAddresses { .. } => {
                (550, (5, 1, 2), "Bad destination system address")
            }
            MxError::LocalHostIsBestMx { .. } => (554, (5, 4, 6), "Routing loop detected"),
            _ => (451, (4, 4, 3), "Directory server failure"),
        }
    }
}
