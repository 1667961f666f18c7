//! A TCP stream that a STARTTLS can turn into a TLS stream in place.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};

/// What [`MaybeTls::read_until`] got.
pub enum Read {
    /// This many bytes.
    Data(usize),
    /// The peer closed the connection.
    Eof,
    /// The deadline passed first.
    TimedOut,
}

/// Plain TCP, or TLS over it.
pub enum MaybeTls {
    /// Before any TLS.
    Plain(TcpStream),
    /// TLS, server side.
    Server(Box<server::TlsStream<TcpStream>>),
    /// TLS, client side.
    Client(Box<client::TlsStream<TcpStream>>),
    /// Only while an upgrade runs.
    Upgrading,
}

impl MaybeTls {
    /// Runs the server side of a TLS handshake over the plain stream.
    pub async fn accept_tls(&mut self, acceptor: &TlsAcceptor) -> io::Result<()> {
        match std::mem::replace(self, MaybeTls::Upgrading) {
            MaybeTls::Plain(tcp) => {
                *self = MaybeTls::Server(Box::new(acceptor.accept(tcp).await?));
                Ok(())
            }
            _ => Err(io::Error::other("TLS is already active")),
        }
    }

    /// Runs the client side of a TLS handshake over the plain stream.
    pub async fn connect_tls(
        &mut self,
        connector: &TlsConnector,
        name: rustls::pki_types::ServerName<'static>,
    ) -> io::Result<()> {
        match std::mem::replace(self, MaybeTls::Upgrading) {
            MaybeTls::Plain(tcp) => {
                *self = MaybeTls::Client(Box::new(connector.connect(name, tcp).await?));
                Ok(())
            }
            _ => Err(io::Error::other("TLS is already active")),
        }
    }

    /// Flushes what was written, then reads into `buf` until `deadline`
    /// (`None`: as long as it takes). A TLS peer that closes without
    /// close_notify has still closed: that is [`Read::Eof`] too.
    pub async fn read_until(
        &mut self,
        buf: &mut [u8],
        deadline: Option<std::time::Instant>,
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

    /// True once TLS is up.
    pub fn is_tls(&self) -> bool {
        matches!(self, MaybeTls::Server(_) | MaybeTls::Client(_))
    }
}

fn upgrading() -> io::Error {
    io::Error::other("stream used during a TLS upgrade")
}

impl AsyncRead for MaybeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Server(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Client(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Server(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Client(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Server(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Client(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Server(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Client(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }
}

/// A client's connection: the stream, and what a later STARTTLS needs.
pub struct Connection {
    /// TCP, or TLS over it when it started so.
    pub stream: MaybeTls,
    /// The TLS set-up for the server.
    pub connector: TlsConnector,
    /// The name the server's certificate must carry.
    pub server_name: rustls::pki_types::ServerName<'static>,
}

impl Connection {
    /// Connects to `server` (`HOST:PORT`), with TLS at once when `implicit_tls`.
    pub async fn open(
        server: &str,
        trust: &crate::tls::Trust,
        implicit_tls: bool,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let host = server
            .rsplit_once(':')
            .map_or(server, |(h, _)| h)
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let connector = TlsConnector::from(crate::tls::client_config(trust)?);
        let server_name = rustls::pki_types::ServerName::try_from(host)?;
        let tcp = TcpStream::connect(server)
            .await
            .map_err(|e| format!("cannot connect to {server}: {e}"))?;
        let mut stream = MaybeTls::Plain(tcp);
        if implicit_tls {
            stream.connect_tls(&connector, server_name.clone()).await?;
        }
        Ok(Connection {
            stream,
            connector,
            server_name,
        })
    }

    /// Runs the TLS handshake after STARTTLS.
    pub async fn start_tls(&mut self) -> io::Result<()> {
        self.stream.flush().await?;
        self.stream
            .connect_tls(&self.connector, self.server_name.clone())
            .await
    }
}
