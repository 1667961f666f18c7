//! The DNS questions an evaluation asks and the answers it takes.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The record type asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueryKind {
    /// TXT records (SPF records, explanations).
    Txt,
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
    /// Mail exchangers.
    Mx,
    /// Names of an address (`in-addr.arpa` / `ip6.arpa`).
    Ptr,
}

/// A question: a name (lowercase, without the trailing dot) and a type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Question {
    /// The name asked about.
    pub name: String,
    /// The record type asked for.
    pub kind: QueryKind,
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.name, self.kind)
    }
}

/// One record of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A TXT record, its character-strings joined.
    Txt(Vec<u8>),
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A mail exchanger.
    Mx {
        /// Its preference.
        preference: u16,
        /// Its host name.
        exchange: String,
    },
    /// A host name (of a PTR record).
    Ptr(String),
}

/// What the caller's resolver found. Records of other types than the one
/// asked (CNAMEs already followed) are ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The records found; empty when the name exists without any of the
    /// type. Shared, so a resolver's cache hands out an answer without
    /// copying it.
    Records(std::sync::Arc<[Record]>),
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    /// No answer this time: a timeout or a server failure.
    TempFail,
}

impl Answer {
    /// The records found, from a `Vec` or anything else that becomes a
    /// shared slice.
    pub fn records(records: impl Into<std::sync::Arc<[Record]>>) -> Answer {
        Answer::Records(records.into())
    }
}
