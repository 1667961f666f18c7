//! [`Output`]: what every session asks of its driver.

use std::time::Instant;

use bytes::Bytes;

/// What a session asks of its driver. The same shape for the server and
/// client sessions of every protocol crate.
#[derive(Debug, PartialEq)]
#[must_use]
pub enum Output<E> {
    /// Write these bytes to the peer, in order.
    Transmit(Bytes),
    /// Something for the application; decisions carry a ticket to answer with.
    Event(E),
    /// Upgrade the transport to TLS now, then call `tls_started`.
    StartTls,
    /// Nothing more until input arrives, or until this deadline passes (then
    /// call `handle_timeout`). `None`: no deadline runs, the session waits
    /// for the application's answer.
    Timeout(Option<Instant>),
    /// The session is over: close the transport.
    Closed,
}
