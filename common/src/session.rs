//! What every sansmail session offers a driver: bytes and time in,
//! `poll_output` out. Implemented by the SMTP, POP3 and IMAP server and
//! client sessions, so one loop (the tokio [`driver`](crate) behind the
//! `tokio` feature, [`pair`](crate::pair) in tests, or a loop for another
//! runtime) can run any of them.

use std::time::Instant;

use crate::Output;

/// The inputs and output of a session.
pub trait SessionIo {
    /// What the session tells the application.
    type Event;
    /// The next thing to do; call after every input and answer until it
    /// returns [`Output::Timeout`] or [`Output::Closed`].
    fn poll_output(&mut self) -> Output<Self::Event>;
    /// Bytes from the peer, arrived at `now`.
    fn handle_input(&mut self, now: Instant, data: &[u8]);
    /// The peer closed its side, noticed at `now`.
    fn handle_eof(&mut self, now: Instant);
    /// A deadline the session gave passed.
    fn handle_timeout(&mut self, now: Instant);
    /// The TLS handshake the session asked for finished at `now`.
    fn handle_tls_started(&mut self, now: Instant);
}

/// A session borrowed is driven like one owned (a test keeps its harness
/// while a [`Pair`](crate::pair::Pair) runs it).
impl<T: SessionIo + ?Sized> SessionIo for &mut T {
    type Event = T::Event;
    fn poll_output(&mut self) -> Output<Self::Event> {
        (**self).poll_output()
    }
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        (**self).handle_input(now, data)
    }
    fn handle_eof(&mut self, now: Instant) {
        (**self).handle_eof(now)
    }
    fn handle_timeout(&mut self, now: Instant) {
        (**self).handle_timeout(now)
    }
    fn handle_tls_started(&mut self, now: Instant) {
        (**self).handle_tls_started(now)
    }
}

/// Implements [`SessionIo`] for a session type whose inherent methods have
/// the same names.
#[macro_export]
macro_rules! impl_session_io {
    ($session:ty, $event:ty) => {
        impl $crate::SessionIo for $session {
            type Event = $event;
            fn poll_output(&mut self) -> $crate::Output<$event> {
                <$session>::poll_output(self)
            }
            fn handle_input(&mut self, now: std::time::Instant, data: &[u8]) {
                <$session>::handle_input(self, now, data)
            }
            fn handle_eof(&mut self, now: std::time::Instant) {
                <$session>::handle_eof(self, now)
            }
            fn handle_timeout(&mut self, now: std::time::Instant) {
                <$session>::handle_timeout(self, now)
            }
            fn handle_tls_started(&mut self, now: std::time::Instant) {
                <$session>::handle_tls_started(self, now)
            }
        }
    };
}
