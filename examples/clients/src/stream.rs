//! A client's TCP connection, with what a later STARTTLS needs.

use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Plain TCP, or TLS over it (the drivers' stream, over TCP).
pub type MaybeTls = sansmail_common::driver::Stream<TcpStream>;

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
}
