//! What a lookup needs besides the domain.

use std::net::SocketAddr;
use std::time::Duration;

/// Which address families a plan holds, and in which order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FamilyOrder {
    /// IPv6 addresses first, then IPv4 (RFC 6724's usual preference).
    #[default]
    Ipv6First,
    /// IPv4 addresses first, then IPv6.
    Ipv4First,
    /// IPv4 only: no AAAA queries.
    Ipv4Only,
    /// IPv6 only: no A queries.
    Ipv6Only,
}

impl FamilyOrder {
    pub(crate) fn wants_v4(self) -> bool {
        self != FamilyOrder::Ipv6Only
    }

    pub(crate) fn wants_v6(self) -> bool {
        self != FamilyOrder::Ipv4Only
    }
}

/// Name servers, limits and preferences of a lookup.
#[derive(Clone, Debug)]
pub struct Config {
    /// Recursive name servers, tried in order. Must not be empty.
    pub nameservers: Vec<SocketAddr>,
    /// How long to wait for one response. Default 2 s.
    pub timeout: Duration,
    /// Rounds over all name servers before a query fails. Default 2.
    pub attempts: usize,
    /// Most queries one lookup may send, retries included. Default 40.
    pub max_queries: usize,
    /// Longest CNAME chain followed. Default 8.
    pub max_cname_chain: usize,
    /// Most MX hosts whose addresses are resolved (the best ones). Default 10.
    pub max_mx_hosts: usize,
    /// Retry over TCP when a UDP response is truncated. Default on.
    pub tcp: bool,
    /// EDNS(0) UDP payload size advertised; 512 or less sends no EDNS. Default 1232.
    pub udp_payload_size: u16,
    /// Address families and their order. Default IPv6 first.
    pub family_order: FamilyOrder,
    /// This host's own names: an MX naming one of them, and every MX not more
    /// preferred, is dropped (RFC 5321 §5.1). Default empty.
    pub local_hostnames: Vec<String>,
    /// Seeds the tie-break among equal preferences and the query ids. Give a
    /// random value in production (ids must be unpredictable); a fixed one in tests.
    pub seed: u64,
}

impl Config {
    /// Defaults for these name servers.
    pub fn new(nameservers: Vec<SocketAddr>, seed: u64) -> Self {
        Config {
            nameservers,
            timeout: Duration::from_secs(2),
            attempts: 2,
            max_queries: 40,
            max_cname_chain: 8,
            max_mx_hosts: 10,
            tcp: true,
            udp_payload_size: 1232,
            family_order: FamilyOrder::default(),
            local_hostnames: Vec::new(),
            seed,
        }
    }
}
