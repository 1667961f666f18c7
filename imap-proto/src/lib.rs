//! Sans-IO IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501): typed commands and
//! responses with a codec that round-trips every value, server and client
//! sessions that do no I/O, read no clock and spawn no threads, and what a
//! server computes from stored messages.
//!
//! - [`types`]: commands, responses and the values in them ([`types::Str`]
//!   keeps short strings inline; message data is [`bytes::Bytes`]).
//! - [`codec`]: stateless parsing and writing, `Incomplete` kept apart
//!   from syntax errors and from a literal a server must answer first.
//! - [`server::Session`]: framing with literals (LITERAL+, `~{n}`),
//!   STARTTLS, SASL with SASL-IR, IDLE, streamed APPEND and MULTIAPPEND,
//!   SEARCHRES, ESEARCH, COMPRESS=DEFLATE, untagged updates held back where
//!   RFC 9051 §7.5.1 forbids them, and every limit in its [`server::Config`].
//! - [`client::Session`]: greeting, STARTTLS and login, commands paired
//!   with their completions, streamed FETCH literals, IDLE.
//! - [`mailbox::SelectedMailbox`]: one client's message numbers and UIDs,
//!   kept in step with changes made elsewhere.
//! - [`message`]: ENVELOPE, BODYSTRUCTURE, body sections, BINARY, SEARCH,
//!   SORT and THREAD over messages parsed by `sansmail-mime`.
//!
//! Sessions share the driving shape of `sansmail-smtp` and `sansmail-pop3`:
//! bytes and time in (`handle_input`, `handle_eof`, `handle_timeout`,
//! `tls_started`), [`Output`]s out of `poll_output`, drained after every
//! input. The [`server`] and [`client`] docs hold runnable loops.
//!
//! Extensions covered: IDLE, UIDPLUS, MOVE, CONDSTORE and QRESYNC, ESEARCH,
//! SEARCHRES, LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, CHILDREN, BINARY,
//! MULTIAPPEND, UNSELECT, NAMESPACE, ID, ENABLE, UTF8=ACCEPT, SASL-IR,
//! LITERAL+/LITERAL-, STARTTLS, LOGINDISABLED, COMPRESS=DEFLATE, QUOTA,
//! APPENDLIMIT, STATUS=SIZE, OBJECTID, SAVEDATE, SORT and THREAD.
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

/// What every session offers a driver; implemented by the server and
/// client sessions, so one loop can run any of them.
pub use sansmail_common::SessionIo;

/// A client and a server session joined in memory with a virtual clock,
/// for tests of an application against its peer.
pub use sansmail_common::pair;

sansmail_common::impl_session_io!(crate::server::Session, crate::server::Event);
sansmail_common::impl_session_io!(crate::client::Session, crate::client::Event);

/// Runs sessions over tokio I/O: [`driver::Driver`] writes what a session
/// transmits, upgrades to TLS when it asks, applies its deadlines and gives
/// its events to the application (feature `tokio`).
#[cfg(feature = "tokio")]
pub mod driver {
    pub use sansmail_common::driver::{Driver, SessionIo, Step, Stream, Tls, now};
}
