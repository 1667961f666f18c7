//! Per-address limits, shared by every service so an address cannot spread
//! its attempts over SMTP, IMAP and POP3:
//!
//! - connections at once from one address;
//! - a penalty for failed logins, per address *and* user: each failure of
//!   the same pair is answered later (2 s, doubling up to a maximum), so a
//!   phone with an old password slows only itself;
//! - an address-wide lockout only at a high count of failures within an
//!   hour (by default 100), so an office behind one address is not locked
//!   out by one user; a successful login from the address clears its count.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::warn;

/// The window in which failures count towards a lockout.
const WINDOW: Duration = Duration::from_secs(3600);
/// The first penalty.
const FIRST_PENALTY: Duration = Duration::from_secs(2);

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
    /// Failures in the current window, and when the window began.
    failures: u32,
    window_start: Option<Instant>,
    locked_until: Option<Instant>,
}

/// The settings of a [`Guard`].
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Connections at once per address.
    pub max_connections: usize,
    /// Failed logins from one address within an hour before it is locked out.
    pub lockout_failures: u32,
    /// How long a lockout lasts.
    pub lockout: Duration,
    /// The longest penalty before a failed login is answered.
    pub max_penalty: Duration,
}

/// The limits and what each address has used of them.
pub struct Guard {
    /// Where failures are also counted when several instances share them.
    ledger: std::sync::OnceLock<Arc<dyn Ledger>>,
    policy: Policy,
    peers: Mutex<HashMap<IpAddr, Peer>>,
    /// Consecutive failures per (address, user).
    pairs: Mutex<HashMap<(IpAddr, String), (u32, Instant)>>,
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
    /// A guard applying `policy`.
    pub fn new(policy: Policy) -> Arc<Guard> {
        Arc::new(Guard {
            ledger: std::sync::OnceLock::new(),
            policy,
            peers: Mutex::new(HashMap::new()),
            pairs: Mutex::new(HashMap::new()),
        })
    }

    fn update<R>(&self, ip: IpAddr, f: impl FnOnce(&mut Peer) -> R) -> R {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let peer = peers.entry(ip).or_default();
        if peer.locked_until.is_some_and(|t| t <= now) {
            peer.locked_until = None;
            peer.failures = 0;
            peer.window_start = None;
        }
        if peer
            .window_start
            .is_some_and(|t| now.duration_since(t) > WINDOW)
        {
            peer.failures = 0;
            peer.window_start = None;
        }
        let result = f(peer);
        if peer.connections == 0 && peer.failures == 0 && peer.locked_until.is_none() {
            peers.remove(&ip);
        }
        result
    }

    /// Counts a new connection from `ip`, or says why it may not have one.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admission, Refusal> {
        let max = self.policy.max_connections;
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

    /// Counts every login's outcome in `ledger` as well (once; several
    /// instances then lock an address out together).
    pub fn share(&self, ledger: Arc<dyn Ledger>) {
        let _ = self.ledger.set(ledger);
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Locks `ip` out for `remaining` (another instance counted enough
    /// failures from it).
    pub fn lock_out(&self, ip: IpAddr, remaining: Duration) {
        let until = Instant::now() + remaining;
        self.update(ip, |p| {
            if p.locked_until.is_none_or(|t| t < until) {
                p.locked_until = Some(until);
            }
        });
    }

    /// Records a login by `user` from `ip`; after a failure, returns how
    /// long to wait before answering.
    pub fn record_login(&self, ip: IpAddr, user: &str, ok: bool) -> Duration {
        if let Some(ledger) = self.ledger.get() {
            ledger.record(ip, ok);
        }
        let key = (ip, user.to_owned());
        let mut pairs = self.pairs.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        pairs.retain(|_, (_, last)| now.duration_since(*last) < WINDOW);
        if ok {
            pairs.remove(&key);
            drop(pairs);
            self.update(ip, |p| {
                p.failures = 0;
                p.window_start = None;
            });
            return Duration::ZERO;
        }
        let failures = {
            let entry = pairs.entry(key).or_insert((0, now));
            entry.0 += 1;
            entry.1 = now;
            entry.0
        };
        drop(pairs);
        let policy = self.policy;
        self.update(ip, |p| {
            p.window_start.get_or_insert(now);
            p.failures += 1;
            if p.failures >= policy.lockout_failures && p.locked_until.is_none() {
                p.locked_until = Some(now + policy.lockout);
                crate::metrics::count("sansmail_lockouts_total", &[]);
                warn!(%ip, failures = p.failures, lockout_secs = policy.lockout.as_secs(), "address locked out after failed logins");
            }
        });
        let doubling = FIRST_PENALTY.saturating_mul(1 << (failures - 1).min(10));
        doubling.min(policy.max_penalty)
    }
}

/// Login outcomes counted beyond this process (several instances sharing
/// one count per address); it calls [`Guard::lock_out`] on every instance
/// when an address reaches the limit.
pub trait Ledger: Send + Sync {
    /// Counts one login from `ip`: a failure, or a success (which starts
    /// the count again). Must not block.
    fn record(&self, ip: IpAddr, ok: bool);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(lockout_failures: u32, lockout: Duration) -> Arc<Guard> {
        Guard::new(Policy {
            max_connections: 2,
            lockout_failures,
            lockout,
            max_penalty: Duration::from_secs(15),
        })
    }

    #[test]
    fn connections_are_counted_per_address() {
        let guard = guard(100, Duration::from_secs(60));
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
    fn penalties_grow_per_user_and_address() {
        let guard = guard(100, Duration::from_secs(60));
        let a: IpAddr = "::1".parse().unwrap();
        let delays: Vec<u64> = (0..5)
            .map(|_| guard.record_login(a, "alice", false).as_secs())
            .collect();
        assert_eq!(delays, vec![2, 4, 8, 15, 15]);
        assert_eq!(
            guard.record_login(a, "bob", false).as_secs(),
            2,
            "another user behind the same address starts afresh"
        );
        assert!(!guard.is_locked_out(a));
        assert_eq!(guard.record_login(a, "alice", true), Duration::ZERO);
        assert_eq!(guard.record_login(a, "alice", false).as_secs(), 2);
    }

    #[test]
    fn many_failures_lock_the_address_until_the_time_passes() {
        let guard = guard(3, Duration::from_millis(50));
        let a: IpAddr = "::1".parse().unwrap();
        guard.record_login(a, "x", false);
        guard.record_login(a, "y", true);
        guard.record_login(a, "x", false);
        assert!(
            !guard.is_locked_out(a),
            "a success in between starts the count again"
        );
        guard.record_login(a, "z", false);
        guard.record_login(a, "w", false);
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
