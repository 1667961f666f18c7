//! Sans-IO SMTP, ESMTP and LMTP: typed commands and replies, and server and
//! client state machines that do no I/O, read no clock and spawn no threads.
//!
//! The application owns the transport, the timers and the policy. Each
//! session takes bytes and time in (`handle_input`, `handle_eof`,
//! `handle_timeout`, `tls_started`) and gives [`Output`]s back from
//! `poll_output`; drain it after every input. See [`server`] and [`client`]
//! for runnable driving loops.
//!
//! The codec reads a command line in two forms from one parser:
//! [`codec::Command`], whose values outlive the receive buffer (what the
//! sessions hand out: short values are kept inline, so taking one counts
//! no reference and pins no buffer; long ones are copied, or share a line
//! given as `Bytes`), and [`codec::BorrowedCommand`], whose
//! values borrow from the line, for a server loop of its own that needs
//! nothing copied or counted. Replies likewise: [`types::Reply`] owns its
//! text, and [`codec::BorrowedReply`] reads a reply of any number of
//! lines without a copy, cutting the texts from the received lines when
//! asked for.
#![deny(unsafe_code)] // one allowed module: ascii, see there
#![deny(missing_docs)]

mod ascii;
pub mod client;
pub mod codec;
pub mod server;
pub mod types;

/// SASL credentials and mechanism messages, shared with the POP3 and IMAP crates.
pub use sansmail_common::sasl;

/// DATA transparency: removing and adding leading dots, finding the end of data.
pub use sansmail_common::dot as data;

/// What a session asks of its driver (shared by every sansmail protocol crate).
pub use sansmail_common::Output;

/// Whether a session speaks SMTP or LMTP (RFC 2033).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// SMTP/ESMTP: EHLO or HELO, one reply after the data.
    #[default]
    Smtp,
    /// LMTP: LHLO, one reply per accepted recipient after the data.
    Lmtp,
}

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
