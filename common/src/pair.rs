//! A client session and a server session joined in memory, with a clock
//! that moves only when told to: our clients against our servers in tests,
//! deterministic to the byte and the nanosecond.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sansmail_common::pair::{Pair, Side, Stop};
//! # use sansmail_common::{Output, SessionIo};
//! # struct Quiet; impl SessionIo for Quiet { type Event = ();
//! #   fn poll_output(&mut self) -> Output<()> { Output::Timeout(None) }
//! #   fn handle_input(&mut self, _: Instant, _: &[u8]) {} fn handle_eof(&mut self, _: Instant) {}
//! #   fn handle_timeout(&mut self, _: Instant) {} fn handle_tls_started(&mut self, _: Instant) {} }
//! let mut pair = Pair::new(Quiet, Quiet, Instant::now());
//! let stop = pair.run(|_now, _client, _server, _side: Side<(), ()>| {});
//! assert_eq!(stop, Stop::Waiting { client: None, server: None });
//! pair.advance(Duration::from_secs(600)); // nothing was due
//! ```

use std::time::{Duration, Instant};

use crate::{Output, SessionIo};

/// Which side an event came from.
#[derive(Debug)]
pub enum Side<C, S> {
    /// The client's event.
    Client(C),
    /// The server's event.
    Server(S),
}

/// Why [`Pair::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Both sides wait: for bytes that are not coming, or for these deadlines.
    Waiting {
        /// The client's deadline.
        client: Option<Instant>,
        /// The server's deadline.
        server: Option<Instant>,
    },
    /// Both sides closed.
    Closed,
}

/// A client and a server session with a virtual clock.
#[derive(Debug)]
pub struct Pair<C, S> {
    /// The client session.
    pub client: C,
    /// The server session.
    pub server: S,
    /// The virtual time now.
    pub now: Instant,
    client_tls: bool,
    server_tls: bool,
    client_closed: bool,
    server_closed: bool,
    client_deadline: Option<Instant>,
    server_deadline: Option<Instant>,
    /// The past deadlines already given to `handle_timeout`.
    client_fired: Option<Instant>,
    server_fired: Option<Instant>,
}

impl<C: SessionIo, S: SessionIo> Pair<C, S> {
    /// Joins `client` and `server`, the clock at `now`.
    pub fn new(client: C, server: S, now: Instant) -> Self {
        Pair {
            client,
            server,
            now,
            client_tls: false,
            server_tls: false,
            client_closed: false,
            server_closed: false,
            client_deadline: None,
            server_deadline: None,
            client_fired: None,
            server_fired: None,
        }
    }

    /// Moves bytes both ways until both sessions wait or close, handing
    /// every event to `on_event` with the time now; it may answer through
    /// the sessions it is given. The clock does not move.
    pub fn run(
        &mut self,
        mut on_event: impl FnMut(Instant, &mut C, &mut S, Side<C::Event, S::Event>),
    ) -> Stop {
        loop {
            let mut progress = false;
            while !self.client_closed {
                match self.client.poll_output() {
                    Output::Transmit(bytes) => {
                        progress = true;
                        if !self.server_closed {
                            self.server.handle_input(self.now, &bytes);
                        }
                    }
                    Output::Event(e) => {
                        progress = true;
                        on_event(
                            self.now,
                            &mut self.client,
                            &mut self.server,
                            Side::Client(e),
                        );
                    }
                    Output::StartTls => {
                        progress = true;
                        self.client_tls = true;
                    }
                    Output::Timeout(deadline) => {
                        // A deadline already past fires at once, as a driver's timer would.
                        let due = deadline.filter(|d| *d <= self.now);
                        if due.is_some() && due != self.client_fired {
                            self.client_fired = due;
                            self.client.handle_timeout(self.now);
                            progress = true;
                            continue;
                        }
                        self.client_deadline = deadline;
                        break;
                    }
                    Output::Closed => {
                        progress = true;
                        self.client_closed = true;
                        if !self.server_closed {
                            self.server.handle_eof(self.now);
                        }
                    }
                }
            }
            while !self.server_closed {
                match self.server.poll_output() {
                    Output::Transmit(bytes) => {
                        progress = true;
                        if !self.client_closed {
                            self.client.handle_input(self.now, &bytes);
                        }
                    }
                    Output::Event(e) => {
                        progress = true;
                        on_event(
                            self.now,
                            &mut self.client,
                            &mut self.server,
                            Side::Server(e),
                        );
                    }
                    Output::StartTls => {
                        progress = true;
                        self.server_tls = true;
                    }
                    Output::Timeout(deadline) => {
                        // A deadline already past fires at once, as a driver's timer would.
                        let due = deadline.filter(|d| *d <= self.now);
                        if due.is_some() && due != self.server_fired {
                            self.server_fired = due;
                            self.server.handle_timeout(self.now);
                            progress = true;
                            continue;
                        }
                        self.server_deadline = deadline;
                        break;
                    }
                    Output::Closed => {
                        progress = true;
                        self.server_closed = true;
                        if !self.client_closed {
                            self.client.handle_eof(self.now);
                        }
                    }
                }
            }
            // The handshake completes once both sides asked for it.
            if self.client_tls && self.server_tls {
                self.client_tls = false;
                self.server_tls = false;
                self.client.handle_tls_started(self.now);
                self.server.handle_tls_started(self.now);
                progress = true;
            }
            if self.client_closed && self.server_closed {
                return Stop::Closed;
            }
            if !progress {
                return Stop::Waiting {
                    client: self.client_deadline.filter(|_| !self.client_closed),
                    server: self.server_deadline.filter(|_| !self.server_closed),
                };
            }
        }
    }

    /// Moves the clock on by `by`; a side whose deadline has come is told
    /// (run the pair again to see what it does).
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        if !self.client_closed && self.client_deadline.is_some_and(|d| d <= self.now) {
            self.client_deadline = None;
            self.client.handle_timeout(self.now);
        }
        if !self.server_closed && self.server_deadline.is_some_and(|d| d <= self.now) {
            self.server_deadline = None;
            self.server.handle_timeout(self.now);
        }
    }

    /// True once the side has closed.
    pub fn closed(&self) -> (bool, bool) {
        (self.client_closed, self.server_closed)
    }
}
