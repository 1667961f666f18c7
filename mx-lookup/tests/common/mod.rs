//! A scripted DNS server in memory, and a driver with a virtual clock.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use sansmail_mx::{Config, DeliveryPlan, Lookup, MxError, Output, Query, Transport};

/// Records of a test zone, built from short lines: `name MX 10 target`,
/// `name A 192.0.2.1`, `name AAAA 2001:db8::1`, `name CNAME target`.
pub struct Zone(pub Vec<Record>);

pub fn name(s: &str) -> Name {
    let mut n = Name::from_str(s).unwrap();
    n.set_fqdn(true);
    n
}

impl Zone {
    pub fn new(lines: &[&str]) -> Self {
        let records = lines
            .iter()
            .map(|line| {
                let w: Vec<&str> = line.split_whitespace().collect();
                let data = match w[1] {
                    "MX" => RData::MX(MX::new(w[2].parse().unwrap(), name(w[3]))),
                    "A" => RData::A(A(w[2].parse().unwrap())),
                    "AAAA" => RData::AAAA(AAAA(w[2].parse().unwrap())),
                    "CNAME" => RData::CNAME(CNAME(name(w[2]))),
                    other => panic!("record type {other}"),
                };
                Record::from_rdata(name(w[0]), 300, data)
            })
            .collect();
        Zone(records)
    }

    /// The response a recursive server gives: CNAMEs followed, NXDOMAIN for unknown names.
    pub fn answer(&self, query: &[u8], additionals: bool) -> Message {
        let q = Message::from_vec(query).unwrap();
        let question = q.queries[0].clone();
        let mut response = Message::new(q.metadata.id, MessageType::Response, q.metadata.op_code);
        response.metadata.recursion_desired = true;
        response.metadata.recursion_available = true;
        response.add_query(question.clone());
        let mut current = question.name().clone();
        for _ in 0..10 {
            let matching: Vec<&Record> = self.0.iter().filter(|r| r.name == current).collect();
            if matching.is_empty() {
                if current == *question.name() {
                    response.metadata.response_code = ResponseCode::NXDomain;
                }
                break;
            }
            let wanted: Vec<Record> = matching
                .iter()
                .filter(|r| r.record_type() == question.query_type())
                .map(|r| (*r).clone())
                .collect();
            if !wanted.is_empty() {
                if additionals && question.query_type() == RecordType::MX {
                    for r in &wanted {
                        if let RData::MX(mx) = &r.data {
                            for a in self.0.iter().filter(|a| {
                                a.name == mx.exchange
                                    && matches!(a.record_type(), RecordType::A | RecordType::AAAA)
                            }) {
                                response.add_additional(a.clone());
                            }
                        }
                    }
                }
                for r in wanted {
                    response.add_answer(r);
                }
                break;
            }
            match matching
                .iter()
                .find(|r| r.record_type() == RecordType::CNAME)
            {
                Some(c) => {
                    response.add_answer((*c).clone());
                    let RData::CNAME(target) = &c.data else {
                        unreachable!()
                    };
                    current = target.0.clone();
                }
                None => break,
            }
        }
        response
    }
}

/// What the scripted server does with one query.
pub enum Reply {
    /// Answer with these bytes (for TCP, without the length prefix).
    Bytes(Vec<u8>),
    /// Say nothing: the query times out.
    Silence,
}

/// Strips the TCP length prefix after checking it.
pub fn unframe(query: &Query) -> &[u8] {
    match query.transport {
        Transport::Udp => &query.bytes,
        Transport::Tcp => {
            let len = u16::from_be_bytes([query.bytes[0], query.bytes[1]]) as usize;
            assert_eq!(len + 2, query.bytes.len(), "TCP length prefix");
            &query.bytes[2..]
        }
    }
}

pub fn server(n: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::from([127, 0, 0, n]), 53)
}

pub fn config(servers: &[SocketAddr]) -> Config {
    Config::new(servers.to_vec(), 1)
}

/// Runs a lookup against `script`, with a virtual clock; returns the result and the queries seen.
pub fn drive(
    domain: &str,
    config: Config,
    mut script: impl FnMut(&Query) -> Reply,
) -> (Result<DeliveryPlan, MxError>, Vec<Query>) {
    let mut now = Instant::now();
    let mut lookup = Lookup::new(domain, config, now).unwrap();
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        match lookup.poll_output() {
            Output::Send(query) => {
                let reply = script(&query);
                seen.push(query.clone());
                if let Reply::Bytes(bytes) = reply {
                    lookup.handle_response(now, query.server, query.transport, &bytes);
                }
            }
            Output::Timeout(deadline) => {
                now = deadline.max(now + Duration::from_millis(1));
                lookup.handle_timeout(now);
            }
            Output::Done(result) => {
                assert_eq!(
                    lookup.poll_output(),
                    Output::Done(result.clone()),
                    "Done repeats"
                );
                return (result, seen);
            }
        }
    }
    panic!("lookup did not end");
}

/// A script that answers every query from `zone`.
pub fn answering(zone: &Zone) -> impl FnMut(&Query) -> Reply + '_ {
    move |q| Reply::Bytes(zone.answer(unframe(q), true).to_vec().unwrap())
}
