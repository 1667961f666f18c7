//! Per-address limits: connections at once, and a lockout after repeated
//! failed logins. Shared by every service, so an address cannot spread its
//! attempts over SMTP, IMAP and POP3.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why a connection is turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The address has as many connections open as allowed.
    TooManyConnections,
    /// The address failed to log in too often and is locked out for now.
    LockedOut,
}

impl Refusal {
    /// Words for the client and the log.
    pub fn text(self) -> &'static str {
        match self {
            Refusal::TooManyConnections => "too many connections from your address",
            Refusal::LockedOut => "too many failed logins from your address; try again later",
        }
    }
}

#[derive(Default)]
struct Peer {
    connections: usize,
    failures: u32,
    locked_until: Option<Instant>,
}

/// The limits and what each address has used of them.
pub struct Guard {
    max_connections: usize,
    max_failures: u32,
    lockout: Duration,
    peers: Mutex<HashMap<IpAddr, Peer>>,
}

/// A connection counted against its address until dropped.
pub struct Admission {
    guard: Arc<Guard>,
    ip: IpAddr,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.guard
            .update(self.ip, |p| p.connections = p.connections.saturating_sub(1));
    }
}

impl Guard {
    /// `max_connections` per address; a lockout of `lockout` after `max_failures` failed logins.
    pub fn new(max_connections: usize, max_failures: u32, lockout: Duration) -> Arc<Guard> {
        Arc::new(Guard {
            max_connections,
            max_failures,
            lockout,
            peers: Mutex::new(HashMap::new()),
        })
    }

    fn update<R>(&self, ip: IpAddr, f: impl FnOnce(&mut Peer) -> R) -> R {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        let peer = peers.entry(ip).or_default();
        if peer.locked_until.is_some_and(|t| t <= Instant::now()) {
            peer.locked_until = None;
            peer.failures = 0;
        }
        let result = f(peer);
        if peer.connections == 0 && peer.failures == 0 && peer.locked_until.is_none() {
            peers.remove(&ip);
        }
        result
    }

    /// Counts a new connection from `ip`, or says why it may not have one.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admission, Refusal> {
        let max = self.max_connections;
        self.update(ip, |p| {
            if p.locked_until.is_some() {
                Err(Refusal::LockedOut)
            } else if p.connections >= max {
                Err(Refusal::TooManyConnections)
            } else {
                p.connections += 1;
                Ok(())
            }
        })?;
        Ok(Admission {
            guard: self.clone(),
            ip,
        })
    }

    /// True while `ip` may not log in.
    pub fn is_locked_out(&self, ip: IpAddr) -> bool {
        self.update(ip, |p| p.locked_until.is_some())
    }

    /// Records a login: failures add up to a lockout, a success clears them.
    pub fn record_login(&self, ip: IpAddr, ok: bool) {
        let (max, lockout) = (self.max_failures, self.lockout);
        self.update(ip, |p| {
            if ok {
                p.failures = 0;
            } else {
                p.failures += 1;
                if p.failures >= max {
                    p.locked_until = Some(Instant::now() + lockout);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_counted_per_address() {
        let guard = Guard::new(2, 3, Duration::from_secs(60));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = guard.admit(a).unwrap();
        let _second = guard.admit(a).unwrap();
        assert_eq!(guard.admit(a).err(), Some(Refusal::TooManyConnections));
        assert!(guard.admit(b).is_ok(), "another address is not affected");
        drop(first);
        assert!(
            guard.admit(a).is_ok(),
            "a closed connection frees its place"
        );
    }

    #[test]
    fn failed_logins_lock_out_until_the_time_passes() {
        let guard = Guard::new(10, 2, Duration::from_millis(50));
        let a: IpAddr = "::1".parse().unwrap();
        guard.record_login(a, false);
        guard.record_login(a, true);
        guard.record_login(a, false);
        assert!(
            !guard.is_locked_out(a),
            "a success in between starts the count again"
        );
        guard.record_login(a, false);
        assert!(guard.is_locked_out(a));
        assert_eq!(guard.admit(a).err(), Some(Refusal::LockedOut));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!guard.is_locked_out(a));
        let open = guard.admit(a).unwrap();
        assert_eq!(guard.peers.lock().unwrap().len(), 1);
        drop(open);
        assert!(
            guard.peers.lock().unwrap().is_empty(),
            "nothing is kept for an address with nothing open"
        );
    }
}
