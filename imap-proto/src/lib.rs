//! Sans-IO IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501): typed commands and
//! responses with a codec that round-trips every value.
//!
//! Extensions covered by the types and codec: IDLE, UIDPLUS, MOVE,
//! CONDSTORE and QRESYNC, ESEARCH, SEARCHRES, LIST-EXTENDED, LIST-STATUS,
//! SPECIAL-USE, CHILDREN, BINARY, MULTIAPPEND, UNSELECT, NAMESPACE, ID,
//! ENABLE, UTF8=ACCEPT, SASL-IR, LITERAL+/LITERAL-, STARTTLS, COMPRESS,
//! QUOTA, APPENDLIMIT, STATUS=SIZE, OBJECTID, SAVEDATE, SORT and THREAD.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod codec;
pub mod mailbox;
pub mod message;
pub mod server;
pub mod types;

/// What a session asks of its driver (shared by every sansmail protocol crate).
pub use sansmail_common::Output;

/// SASL credentials and mechanism messages, shared with the SMTP and POP3 crates.
pub use sansmail_common::sasl;
