//! An async driver for any sansmail session over tokio I/O (feature `tokio`).
//!
//! The state machines do no I/O; this module does it for applications that
//! want no loop of their own. It only calls a session's public API, as any
//! application would: it writes what the session transmits, upgrades to TLS
//! with tokio-rustls when the session asks, applies the session's deadlines
//! with tokio timers, and hands every event to the caller, who answers
//! through [`Driver::session`].
//!
//! ```no_run
//! # async fn f(tcp: tokio::net::TcpStream, acceptor: tokio_rustls::TlsAcceptor) -> std::io::Result<()> {
//! use sansmail_common::driver::{Driver, Tls, Step};
//! # struct S; impl sansmail_common::SessionIo for S { type Event = u8;
//! # fn poll_output(&mut self) -> sansmail_common::Output<u8> { sansmail_common::Output::Closed }
//! # fn handle_input(&mut self, _: std::time::Instant, _: &[u8]) {} fn handle_eof(&mut self, _: std::time::Instant) {}
//! # fn handle_timeout(&mut self, _: std::time::Instant) {} fn handle_tls_started(&mut self, _: std::time::Instant) {} }
//! # let session = S;
//! let mut driver = Driver::new(session, tcp, Tls::Server(acceptor));
//! while let Step::Event(event) = driver.step(None).await? {
//!     // Decide, perhaps after async work, then answer:
//!     let _session = driver.session();
//!     # let _ = event;
//! }
//! # Ok(()) }
//! ```
#![allow(clippy::disallowed_methods)] // the driver is where time comes from

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};

use crate::Output;

pub use crate::SessionIo;

/// The driver's clock: tokio's, so a test that pauses tokio's time moves
/// the sessions' deadlines with it.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// How to run the TLS handshake a session asks for (STARTTLS, STLS).
#[derive(Clone)]
pub enum Tls {
    /// As a server, with this certificate.
    Server(TlsAcceptor),
    /// As a client, checking the server's certificate for this name.
    Client(TlsConnector, ServerName<'static>),
    /// Not available: a session asking for it fails with an error.
    None,
}

/// A stream that a STARTTLS can turn into TLS in place.
pub enum Stream<T> {
    /// Before any TLS.
    Plain(T),
    /// TLS, server side.
    Server(Box<server::TlsStream<T>>),
    /// TLS, client side.
    Client(Box<client::TlsStream<T>>),
    /// Only while an upgrade runs (or after one failed).
    Upgrading,
}

/// What [`Stream::read_until`] got.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// This many bytes.
    Data(usize),
    /// The peer closed the connection.
    Eof,
    /// The deadline passed first.
    TimedOut,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Stream<T> {
    /// Runs the server side of a TLS handshake over the plain stream.
    pub async fn accept_tls(&mut self, acceptor: &TlsAcceptor) -> io::Result<()> {
        match std::mem::replace(self, Stream::Upgrading) {
            Stream::Plain(io) => {
                *self = Stream::Server(Box::new(acceptor.accept(io).await?));
                Ok(())
            }
            _ => Err(io::Error::other("TLS is already active")),
        }
    }

    /// Runs the client side of a TLS handshake over the plain stream.
    pub async fn connect_tls(
        &mut self,
        connector: &TlsConnector,
        name: ServerName<'static>,
    ) -> io::Result<()> {
        match std::mem::replace(self, Stream::Upgrading) {
            Stream::Plain(io) => {
                *self = Stream::Client(Box::new(connector.connect(name, io).await?));
                Ok(())
            }
            _ => Err(io::Error::other("TLS is already active")),
        }
    }

    /// True once TLS is up.
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Server(_) | Stream::Client(_))
    }

    /// Flushes what was written, then reads into `buf` until `deadline`
    /// (`None`: as long as it takes). A TLS peer that closes without
    /// close_notify has still closed: that is [`Read::Eof`] too.
    pub async fn read_until(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> io::Result<Read> {
        self.flush().await?;
        let read = self.read(buf);
        let result = match deadline {
            Some(d) => tokio::time::timeout_at(d.into(), read).await,
            None => Ok(read.await),
        };
        match result {
            Err(_) => Ok(Read::TimedOut),
            Ok(Ok(0)) => Ok(Read::Eof),
            Ok(Ok(n)) => Ok(Read::Data(n)),
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(Read::Eof),
            Ok(Err(e)) => Err(e),
        }
    }
}

/// What [`Driver::step`] gives.
#[derive(Debug)]
pub enum Step<E> {
    /// Something for the application; answer through [`Driver::session`].
    Event(E),
    /// The time given to `step` came before anything else happened.
    Woken,
    /// The session ended and the stream is shut down.
    Closed,
}

/// The read buffer's first size: enough for commands and replies, and
/// small for the many idle connections of a pool or an IDLE server.
const READ_START: usize = 1024;
/// How far it grows while reads keep filling it (message data).
const READ_MAX: usize = 64 * 1024;

/// Runs a session over `T`.
pub struct Driver<S: SessionIo, T> {
    session: S,
    stream: Stream<T>,
    tls: Tls,
    buf: Vec<u8>,
    /// An output [`Driver::flush`] took from the session but could not act on.
    pending: Option<Output<S::Event>>,
    closed: bool,
}

impl<S: SessionIo, T: AsyncRead + AsyncWrite + Unpin> Driver<S, T> {
    /// A driver for `session` over `io` (already TLS for implicit TLS).
    pub fn new(session: S, io: T, tls: Tls) -> Self {
        Self::with_stream(session, Stream::Plain(io), tls)
    }

    /// A driver over a stream that may already be TLS (implicit TLS, as on
    /// ports 465, 993 and 995).
    pub fn with_stream(session: S, stream: Stream<T>, tls: Tls) -> Self {
        Driver {
            session,
            stream,
            tls,
            buf: vec![0; READ_START],
            pending: None,
            closed: false,
        }
    }

    /// The session, to answer events and read its state.
    pub fn session(&mut self) -> &mut S {
        &mut self.session
    }

    /// True once a TLS upgrade ran.
    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// The next event. Transmits, TLS upgrades, reads and the session's
    /// deadlines happen on the way. With `wake`, gives [`Step::Woken`] when
    /// that time comes while waiting for the peer (for the application's
    /// own timers, such as a mailbox check during IDLE).
    pub async fn step(&mut self, wake: Option<Instant>) -> io::Result<Step<S::Event>> {
        self.step_until(wake, std::future::pending()).await
    }

    /// As [`Driver::step`], but also gives [`Step::Woken`] when `signal`
    /// completes while waiting for the peer (news from elsewhere in the
    /// application, such as a delivery to the mailbox an IDLE client
    /// watches). Input already read is never lost to the signal.
    pub async fn step_until(
        &mut self,
        wake: Option<Instant>,
        signal: impl std::future::Future<Output = ()>,
    ) -> io::Result<Step<S::Event>> {
        let mut signal = std::pin::pin!(signal);
        if self.closed {
            return Ok(Step::Closed);
        }
        loop {
            let output = match self.pending.take() {
                Some(output) => output,
                None => self.session.poll_output(),
            };
            match output {
                Output::Transmit(bytes) => self.stream.write_all(&bytes).await?,
                Output::Event(event) => return Ok(Step::Event(event)),
                Output::StartTls => {
                    self.stream.flush().await?;
                    // Boxed: the handshake's state is large, and only needed once.
                    Box::pin(self.upgrade()).await?;
                    self.session.handle_tls_started(now());
                }
                Output::Timeout(deadline) => {
                    let until = match (deadline, wake) {
                        (Some(d), Some(w)) => Some(d.min(w)),
                        (d, w) => d.or(w),
                    };
                    self.stream.flush().await?;
                    // The signal first: what it announces (another session's
                    // change, say) must be known before the next command is read.
                    let read = tokio::select! {
                        biased;
                        () = &mut signal => return Ok(Step::Woken),
                        read = self.stream.read_until(&mut self.buf, until) => read?,
                    };
                    match read {
                        Read::Data(n) => {
                            self.session.handle_input(now(), &self.buf[..n]);
                            if n == self.buf.len() && n < READ_MAX {
                                self.buf = vec![0; (n * 4).min(READ_MAX)];
                            }
                        }
                        Read::Eof => self.session.handle_eof(now()),
                        Read::TimedOut => {
                            let now = now();
                            if deadline.is_some_and(|d| now >= d) {
                                self.session.handle_timeout(now);
                            } else {
                                return Ok(Step::Woken);
                            }
                        }
                    }
                }
                Output::Closed => {
                    self.closed = true;
                    let _ = self.stream.shutdown().await;
                    return Ok(Step::Closed);
                }
            }
        }
    }

    /// Writes what the session has to send, without reading: for answers
    /// given between steps that should leave at once, and for bodies
    /// written piece by piece (each piece leaves before the next is made).
    /// Anything else the session has to say waits for the next [`step`](Self::step).
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_none() && !self.closed {
            loop {
                match self.session.poll_output() {
                    Output::Transmit(bytes) => self.stream.write_all(&bytes).await?,
                    // Nothing to do: asked again, the session says so again
                    // (kept, it could hide what the caller does next).
                    Output::Timeout(_) => break,
                    other => {
                        self.pending = Some(other);
                        break;
                    }
                }
            }
        }
        self.stream.flush().await
    }

    async fn upgrade(&mut self) -> io::Result<()> {
        match &self.tls {
            Tls::Server(acceptor) => self.stream.accept_tls(acceptor).await,
            Tls::Client(connector, name) => self.stream.connect_tls(connector, name.clone()).await,
            Tls::None => Err(io::Error::other(
                "the session asked for TLS, but none is set up",
            )),
        }
    }
}

fn upgrading() -> io::Error {
    io::Error::other("stream used during a TLS upgrade")
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Server(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Client(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Server(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Client(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Server(s) => Pin::new(s).poll_flush(cx),
            Stream::Client(s) => Pin::new(s).poll_flush(cx),
            Stream::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Server(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Client(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }
}
