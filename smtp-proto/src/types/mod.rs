//! Validated values: addresses, paths, reply codes, ESMTP parameters and extensions.

mod address;
mod chars;
mod extension;
mod params;
mod reply;
mod text;

pub use address::{
    Domain, ForwardPath, GeneralLiteral, Host, LocalPart, MAX_DOMAIN, MAX_LOCAL_PART, Mailbox,
    ReversePath,
};
pub(crate) use address::{Path, parse_host, read_dot_mailbox, read_path};
#[cfg(test)]
pub(crate) use chars::ATEXT;
pub(crate) use chars::{Folded, KEYWORD, VALUE, fold, folded};
pub use extension::{Capabilities, Extension, Mechanism};
pub use params::{
    BodyType, ByMode, DsnReturn, MailParameter, Notify, RcptParameter, RrvsAction, xtext_decode,
    xtext_encode,
};
pub(crate) use params::{from_wire_mail, from_wire_rcpt, number};
pub use reply::{EnhancedStatus, Reply, ReplyCode};
pub use sansmail_common::Secret;
pub use text::Text;
pub(crate) use text::{Borrowed, Source, Store};

/// A value that failed validation; says which kind of value it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidInput {
    /// Not a valid domain name.
    #[error("invalid domain name")]
    Domain,
    /// Not a valid address literal.
    #[error("invalid address literal")]
    AddressLiteral,
    /// Not a valid local part.
    #[error("invalid local part")]
    LocalPart,
    /// Not a valid mailbox.
    #[error("invalid mailbox")]
    Mailbox,
    /// Not a valid `<path>`.
    #[error("invalid path")]
    Path,
    /// Not a valid reply code.
    #[error("invalid reply code")]
    ReplyCode,
    /// Not a valid enhanced status code.
    #[error("invalid enhanced status code")]
    EnhancedStatus,
    /// Reply text containing control characters.
    #[error("reply text contains control characters")]
    ReplyText,
    /// A malformed ESMTP parameter value.
    #[error("invalid parameter value")]
    Parameter,
    /// Malformed xtext.
    #[error("invalid xtext")]
    Xtext,
}
