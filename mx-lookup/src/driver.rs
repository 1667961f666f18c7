//! An async driver over tokio sockets (feature `tokio`).
//!
//! It only calls the [`Lookup`] API, as any application would: UDP queries
//! share one socket per address family, a TCP retry gets its own
//! connection, and the lookup's deadlines become tokio timers.
//!
//! ```no_run
//! # async fn f() -> Result<(), sansmail_mx::driver::ResolveError> {
//! use sansmail_mx::Config;
//! use sansmail_mx::driver::{random_seed, resolve, system_nameservers};
//!
//! let config = Config::new(system_nameservers()?, random_seed());
//! let plan = resolve("example.org", config).await?;
//! for host in &plan.hosts {
//!     println!("{} {} {:?}", host.preference, host.name, host.addresses);
//! }
//! # Ok(()) }
//! ```
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the one place with sockets and a clock

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::{
    Config, DeliveryPlan, Lookup, Output, Query, RData, RecordLookup, RecordType, Transport,
};

pub use crate::system::{ResolveError, parse_resolv_conf, random_seed, system_nameservers};

/// Resolves `domain` with `config`.
pub async fn resolve(domain: &str, config: Config) -> Result<DeliveryPlan, ResolveError> {
    let mut lookup = Lookup::new(domain, config.clone(), Instant::now())?;
    drive(&mut lookup, config.timeout).await
}

/// Asks for the `rtype` records of `name` (see [`RecordLookup`]): the
/// records, or `ResolveError::Lookup(MxError::NxDomain { .. })` when the
/// name does not exist.
pub async fn records(
    name: &str,
    rtype: RecordType,
    config: Config,
) -> Result<Vec<RData>, ResolveError> {
    let mut lookup = RecordLookup::new(name, rtype, config.clone(), Instant::now())?;
    drive(&mut lookup, config.timeout).await
}

/// Records, and whether the resolver vouched for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validated {
    /// The records of the type asked (empty when the name has none).
    pub records: Vec<RData>,
    /// True when the resolver DNSSEC-validated the answer (the AD bit; see
    /// [`RecordLookup::authenticated`]). Trust it only from a validating
    /// resolver on a path you trust.
    pub authenticated: bool,
}

/// [`records`], with whether they are DNSSEC-authenticated, as DANE's TLSA
/// lookups need. A name that does not exist gives `Ok` with no records
/// here, not an error, so a caller can tell it from a failed lookup.
pub async fn validated_records(
    name: &str,
    rtype: RecordType,
    config: Config,
) -> Result<Validated, ResolveError> {
    let mut lookup = RecordLookup::new(name, rtype, config.clone(), Instant::now())?;
    let records = match drive(&mut lookup, config.timeout).await {
        Err(ResolveError::Lookup(crate::MxError::NxDomain { .. })) => Vec::new(),
        other => other?,
    };
    Ok(Validated {
        records,
        authenticated: lookup.authenticated(),
    })
}

/// What the driving loop needs of a lookup.
trait Machine {
    type Found;
    fn poll_output(&mut self) -> Output<Self::Found>;
    fn handle_response(&mut self, now: Instant, from: SocketAddr, via: Transport, message: &[u8]);
    fn handle_timeout(&mut self, now: Instant);
}

macro_rules! machine {
    ($type:ty, $found:ty) => {
        impl Machine for $type {
            type Found = $found;
            fn poll_output(&mut self) -> Output<$found> {
                <$type>::poll_output(self)
            }
            fn handle_response(
                &mut self,
                now: Instant,
                from: SocketAddr,
                via: Transport,
                message: &[u8],
            ) {
                <$type>::handle_response(self, now, from, via, message)
            }
            fn handle_timeout(&mut self, now: Instant) {
                <$type>::handle_timeout(self, now)
            }
        }
    };
}
machine!(Lookup, DeliveryPlan);
machine!(RecordLookup, Vec<RData>);

/// Runs a lookup to its end over tokio sockets.
async fn drive<M: Machine>(lookup: &mut M, timeout: Duration) -> Result<M::Found, ResolveError> {
    let mut v4: Option<UdpSocket> = None;
    let mut v6: Option<UdpSocket> = None;
    let mut buf4 = vec![0u8; 65_535];
    let mut buf6 = vec![0u8; 65_535];
    loop {
        match lookup.poll_output() {
            Output::Done(result) => return Ok(result?),
            Output::Send(query) => match query.transport {
                Transport::Udp => {
                    let socket = match query.server {
                        SocketAddr::V4(_) => {
                            udp(&mut v4, IpAddr::V4(Ipv4Addr::UNSPECIFIED)).await?
                        }
                        SocketAddr::V6(_) => {
                            udp(&mut v6, IpAddr::V6(Ipv6Addr::UNSPECIFIED)).await?
                        }
                    };
                    // A send error is a lost datagram: the timeout retries it.
                    let _ = socket.send_to(&query.bytes, query.server).await;
                }
                Transport::Tcp => {
                    if let Ok(answer) = tcp_exchange(&query, timeout).await {
                        lookup.handle_response(
                            Instant::now(),
                            query.server,
                            Transport::Tcp,
                            &answer,
                        );
                    }
                }
            },
            Output::Timeout(deadline) => {
                let deadline = tokio::time::Instant::from_std(deadline);
                let received = tokio::select! {
                    got = recv(v4.as_ref(), &mut buf4) => got.map(|(n, from)| (&buf4[..n], from)),
                    got = recv(v6.as_ref(), &mut buf6) => got.map(|(n, from)| (&buf6[..n], from)),
                    () = tokio::time::sleep_until(deadline) => None,
                };
                match received {
                    Some((answer, from)) => {
                        lookup.handle_response(Instant::now(), from, Transport::Udp, answer)
                    }
                    None => lookup.handle_timeout(Instant::now()),
                }
            }
        }
    }
}

async fn udp(slot: &mut Option<UdpSocket>, any: IpAddr) -> io::Result<&UdpSocket> {
    if slot.is_none() {
        *slot = Some(UdpSocket::bind(SocketAddr::new(any, 0)).await?);
    }
    Ok(slot.as_ref().expect("set just above"))
}

/// One datagram from `socket`; never ready when there is no socket or it fails.
async fn recv(socket: Option<&UdpSocket>, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
    match socket {
        Some(socket) => loop {
            // An ICMP error (port unreachable) is not an answer: wait on.
            if let Ok(got) = socket.recv_from(buf).await {
                return Some(got);
            }
        },
        None => std::future::pending().await,
    }
}

/// Sends a length-prefixed query over a new TCP connection and reads one message.
async fn tcp_exchange(query: &Query, timeout: Duration) -> io::Result<Vec<u8>> {
    let exchange = async {
        let mut stream = TcpStream::connect(query.server).await?;
        stream.write_all(&query.bytes).await?;
        let len = stream.read_u16().await?;
        let mut message = vec![0u8; usize::from(len)];
        stream.read_exact(&mut message).await?;
        Ok(message)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "DNS over TCP timed out"))?
}
