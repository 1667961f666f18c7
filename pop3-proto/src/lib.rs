//! Sans-IO POP3 (RFC 1939) with CAPA and response codes (RFC 2449), STLS
//! (RFC 2595), SASL (RFC 5034), UTF8 and LANG (RFC 6856): typed commands and
//! responses, and server and client state machines that do no I/O, read no
//! clock and spawn no threads.
//!
//! The driving shape is the one of `sansmail-smtp`: each session takes bytes
//! and time in (`handle_input`, `handle_eof`, `handle_timeout`,
//! `tls_started`) and gives [`Output`]s back from `poll_output`; drain it
//! after every input. See [`server`] and [`client`] for runnable loops.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod codec;
pub mod multiline;
pub mod server;
pub mod types;

/// SASL credentials and mechanism messages, shared with the SMTP and IMAP crates.
pub use sansmail_common::sasl;

/// What a session asks of its driver (shared by every sansmail protocol crate).
pub use sansmail_common::Output;

/// The APOP digest (RFC 1939 §7): lowercase hex MD5 of the greeting's
/// timestamp followed by the shared secret.
pub fn apop_digest(timestamp: &str, secret: &str) -> String {
    use md5::{Digest, Md5};
    let mut hasher = Md5::new();
    hasher.update(timestamp.as_bytes());
    hasher.update(secret.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn apop_digest_of_rfc_1939_example() {
        assert_eq!(
            super::apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"),
            "c4c9334bac560ecc979e58001b3e22fb"
        );
    }
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
