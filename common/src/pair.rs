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
    client_end: End,
    server_end: End,
}

/// What the pair knows of one side.
#[derive(Debug, Default)]
struct End {
    /// Asked for TLS; waiting for the other side to ask too.
    tls: bool,
    closed: bool,
    deadline: Option<Instant>,
    /// The past deadline already given to `handle_timeout`.
    fired: Option<Instant>,
}

impl<C: SessionIo, S: SessionIo> Pair<C, S> {
    /// Joins `client` and `server`, the clock at `now`.
    pub fn new(client: C, server: S, now: Instant) -> Self {
        Pair {
            client,
            server,
            now,
            client_end: End::default(),
            server_end: End::default(),
        }
    }

    /// Moves bytes both ways until both sessions wait or close, handing
    /// every event to `on_event` with the time now; it may answer through
    /// the sessions it is given. The clock does not move.
    pub fn run(
        &mut self,
        mut on_event: impl FnMut(Instant, &mut C, &mut S, Side<C::Event, S::Event>),
    ) -> Stop {
        let now = self.now;
        loop {
            let mut progress = drain(
                now,
                (&mut self.client, &mut self.client_end),
                (&mut self.server, &mut self.server_end),
                |client, server, e| on_event(now, client, server, Side::Client(e)),
            );
            progress |= drain(
                now,
                (&mut self.server, &mut self.server_end),
                (&mut self.client, &mut self.client_end),
                |server, client, e| on_event(now, client, server, Side::Server(e)),
            );
            // The handshake completes once both sides asked for it.
            if self.client_end.tls && self.server_end.tls {
                self.client_end.tls = false;
                self.server_end.tls = false;
                self.client.handle_tls_started(now);
                self.server.handle_tls_started(now);
                progress = true;
            }
            if self.client_end.closed && self.server_end.closed {
                return Stop::Closed;
            }
            if !progress {
                return Stop::Waiting {
                    client: self.client_end.deadline.filter(|_| !self.client_end.closed),
                    server: self.server_end.deadline.filter(|_| !self.server_end.closed),
                };
            }
        }
    }

    /// Moves the clock on by `by`; a side whose deadline has come is told
    /// (run the pair again to see what it does).
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        if self.client_end.take_due(self.now) {
            self.client.handle_timeout(self.now);
        }
        if self.server_end.take_due(self.now) {
            self.server.handle_timeout(self.now);
        }
    }

    /// True once the side has closed.
    pub fn closed(&self) -> (bool, bool) {
        (self.client_end.closed, self.server_end.closed)
    }
}

impl End {
    /// True (and the deadline cleared) when the side is open and its deadline has come.
    fn take_due(&mut self, now: Instant) -> bool {
        let due = !self.closed && self.deadline.is_some_and(|d| d <= now);
        if due {
            self.deadline = None;
        }
        due
    }
}

/// Polls `this` side until it waits or closes: its bytes go to `other`,
/// its events to `on_event`. True when anything happened.
fn drain<A: SessionIo, B: SessionIo>(
    now: Instant,
    (this, this_end): (&mut A, &mut End),
    (other, other_end): (&mut B, &mut End),
    mut on_event: impl FnMut(&mut A, &mut B, A::Event),
) -> bool {
    let mut progress = false;
    while !this_end.closed {
        match this.poll_output() {
            Output::Transmit(bytes) => {
                progress = true;
                if !other_end.closed {
                    other.handle_input(now, &bytes);
                }
            }
            Output::Event(e) => {
                progress = true;
                on_event(this, other, e);
            }
            Output::StartTls => {
                progress = true;
                this_end.tls = true;
            }
            Output::Timeout(deadline) => {
                // A deadline already past fires at once, as a driver's timer would.
                let due = deadline.filter(|d| *d <= now);
                if due.is_some() && due != this_end.fired {
                    this_end.fired = due;
                    this.handle_timeout(now);
                    progress = true;
                    continue;
                }
                this_end.deadline = deadline;
                break;
            }
            Output::Closed => {
                progress = true;
                this_end.closed = true;
                if !other_end.closed {
                    other.handle_eof(now);
                }
            }
        }
    }
    progress
}
