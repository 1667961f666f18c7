//! What both drivers share: the system's name servers, a seed, and the error.
#![allow(clippy::disallowed_types)] // SocketAddr values only; no sockets here

use std::io;
use std::net::{IpAddr, SocketAddr};

use crate::{InputError, MxError};

/// Why a driver's `resolve` gave no plan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The domain was refused before any query.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The lookup ended with an error.
    #[error(transparent)]
    Lookup(#[from] MxError),
    /// A socket could not be opened.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
}

/// The name servers of `/etc/resolv.conf` (port 53), in order.
pub fn system_nameservers() -> io::Result<Vec<SocketAddr>> {
    let text = std::fs::read_to_string("/etc/resolv.conf")?;
    Ok(parse_resolv_conf(&text))
}

/// The `nameserver` lines of a resolv.conf text.
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver")).then(|| words.next())?
        })
        .filter_map(|addr| {
            // Drop an IPv6 zone ("fe80::1%eth0"): std cannot parse it.
            addr.split('%').next()?.parse::<IpAddr>().ok()
        })
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// A seed from the standard library's per-process random hash keys.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_resolv_conf() {
        let text = "# comment\nnameserver 127.0.0.53\nsearch example\nnameserver ::1\nnameserver fe80::1%eth0\noptions edns0\n";
        let servers = super::parse_resolv_conf(text);
        assert_eq!(
            servers,
            vec![
                "127.0.0.53:53".parse().unwrap(),
                "[::1]:53".parse().unwrap(),
                "[fe80::1]:53".parse().unwrap()
            ]
        );
    }
}
