//! A blocking driver over `std::net`, for programs that just want an answer.
//!
//! It only calls the [`Lookup`] API, as any application would. UDP queries
//! share one socket per address family; a TCP retry gets its own connection.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the one place with sockets and a clock

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use crate::{Config, DeliveryPlan, Lookup, Output, Query, Transport};

pub use crate::system::{ResolveError, parse_resolv_conf, random_seed, system_nameservers};

/// Resolves `domain` with `config`, blocking until the plan or an error.
pub fn resolve(domain: &str, config: Config) -> Result<DeliveryPlan, ResolveError> {
    let mut lookup = Lookup::new(domain, config.clone(), Instant::now())?;
    let mut v4: Option<UdpSocket> = None;
    let mut v6: Option<UdpSocket> = None;
    let mut buf = vec![0u8; 65_535];
    loop {
        match lookup.poll_output() {
            Output::Done(result) => return Ok(result?),
            Output::Send(query) => match query.transport {
                Transport::Udp => {
                    let socket = match query.server {
                        SocketAddr::V4(_) => udp(&mut v4, IpAddr::V4(Ipv4Addr::UNSPECIFIED))?,
                        SocketAddr::V6(_) => udp(&mut v6, IpAddr::V6(Ipv6Addr::UNSPECIFIED))?,
                    };
                    // A send error is a lost datagram: the timeout retries it.
                    let _ = socket.send_to(&query.bytes, query.server);
                }
                Transport::Tcp => {
                    if let Ok(answer) = tcp_exchange(&query, config.timeout) {
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
                let received = wait(&[v4.as_ref(), v6.as_ref()], deadline, &mut buf);
                match received {
                    Some((n, from)) => {
                        lookup.handle_response(Instant::now(), from, Transport::Udp, &buf[..n])
                    }
                    None => lookup.handle_timeout(Instant::now()),
                }
            }
        }
    }
}

fn udp(slot: &mut Option<UdpSocket>, any: IpAddr) -> io::Result<&UdpSocket> {
    if slot.is_none() {
        *slot = Some(UdpSocket::bind(SocketAddr::new(any, 0))?);
    }
    Ok(slot.as_ref().expect("set just above"))
}

/// Waits for one datagram on any of the sockets until `deadline`.
fn wait(
    sockets: &[Option<&UdpSocket>],
    deadline: Instant,
    buf: &mut [u8],
) -> Option<(usize, SocketAddr)> {
    let open: Vec<&UdpSocket> = sockets.iter().flatten().copied().collect();
    // With two families, take turns in short slices.
    let slice = if open.len() > 1 {
        Duration::from_millis(20)
    } else {
        Duration::MAX
    };
    loop {
        for socket in &open {
            let left = deadline.checked_duration_since(Instant::now())?;
            if left.is_zero() {
                return None;
            }
            socket.set_read_timeout(Some(left.min(slice))).ok()?;
            match socket.recv_from(buf) {
                Ok(got) => return Some(got),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => {}
            }
        }
        if open.is_empty() {
            std::thread::sleep(deadline.checked_duration_since(Instant::now())?);
            return None;
        }
    }
}

/// Sends a length-prefixed query over a new TCP connection and reads one message.
fn tcp_exchange(query: &Query, timeout: Duration) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&query.server, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(&query.bytes)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut message)?;
    Ok(message)
}
