//! sansmail-mx: delivery plans resolved per second against in-memory
//! responses, and the allocations of one lookup.
#![allow(missing_docs)] // criterion_group! makes an undocumented function
#![allow(clippy::disallowed_methods)]

use std::alloc::System;
use std::collections::HashMap;
use std::hint::black_box;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::op::{Message, MessageType, OpCode, Query as Question};
use hickory_proto::rr::rdata::{A, AAAA, MX};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use sansmail_mx::{Config, Lookup, Output, Transport};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

/// Wire responses by (name, type); the id is patched per query.
fn responses(additionals: bool) -> HashMap<(String, RecordType), Vec<u8>> {
    let mut map = HashMap::new();
    let mut add = |qname: &str, rtype: RecordType, answers: Vec<RData>, extra: Vec<Record>| {
        let mut m = Message::new(0, MessageType::Response, OpCode::Query);
        m.metadata.recursion_available = true;
        m.add_query(Question::query(name(qname), rtype));
        for a in answers {
            m.add_answer(Record::from_rdata(name(qname), 300, a));
        }
        for e in extra {
            m.add_additional(e);
        }
        map.insert((qname.to_owned(), rtype), m.to_vec().unwrap());
    };
    let hosts = ["mx1.example.org.", "mx2.example.org.", "mx3.example.org."];
    let extra = if additionals {
        hosts
            .iter()
            .enumerate()
            .map(|(i, h)| {
                Record::from_rdata(name(h), 300, RData::A(A([192, 0, 2, i as u8 + 1].into())))
            })
            .collect()
    } else {
        Vec::new()
    };
    add(
        "example.org.",
        RecordType::MX,
        vec![
            RData::MX(MX::new(10, name(hosts[0]))),
            RData::MX(MX::new(10, name(hosts[1]))),
            RData::MX(MX::new(20, name(hosts[2]))),
        ],
        extra,
    );
    for (i, h) in hosts.iter().enumerate() {
        add(
            h,
            RecordType::A,
            vec![RData::A(A([192, 0, 2, i as u8 + 1].into()))],
            vec![],
        );
        add(
            h,
            RecordType::AAAA,
            vec![RData::AAAA(AAAA(
                format!("2001:db8::{}", i + 1).parse().unwrap(),
            ))],
            vec![],
        );
    }
    map
}

/// The in-memory server: responses by query bytes after the id, learned once.
struct Server {
    wire: HashMap<(String, RecordType), Vec<u8>>,
    by_query: std::cell::RefCell<HashMap<Vec<u8>, Vec<u8>>>,
}

impl Server {
    fn new(additionals: bool) -> Self {
        Server {
            wire: responses(additionals),
            by_query: Default::default(),
        }
    }

    /// Writes the response to `query` into `out` (no allocation once learned).
    fn answer(&self, query: &[u8], out: &mut Vec<u8>) {
        let mut known = self.by_query.borrow_mut();
        if !known.contains_key(&query[2..]) {
            let asked = Message::from_vec(query).unwrap();
            let question = &asked.queries[0];
            let key = (question.name().to_ascii(), question.query_type());
            known.insert(query[2..].to_vec(), self.wire[&key].clone());
        }
        out.clear();
        out.extend_from_slice(&known[&query[2..]]);
        out[..2].copy_from_slice(&query[..2]);
    }
}

/// One whole lookup answered by `server`; returns the number of hosts.
fn lookup(server: &Server, addr: SocketAddr, now: Instant, buf: &mut Vec<u8>) -> usize {
    let config = Config::new(vec![addr], 7);
    let mut lookup = Lookup::new("example.org", config, now).unwrap();
    loop {
        match lookup.poll_output() {
            Output::Send(q) => {
                server.answer(&q.bytes, buf);
                lookup.handle_response(now, q.server, Transport::Udp, buf);
            }
            Output::Timeout(_) => unreachable!("every query is answered"),
            Output::Done(plan) => return plan.unwrap().hosts.len(),
        }
    }
}

fn plans(c: &mut Criterion) {
    let server: SocketAddr = "127.0.0.1:53".parse().unwrap();
    let now = Instant::now();
    let mut group = c.benchmark_group("mx_plans");
    group.throughput(Throughput::Elements(1));
    for (label, additionals) in [("with_additionals", true), ("address_queries", false)] {
        let answers = Server::new(additionals);
        let mut buf = Vec::with_capacity(512);
        assert_eq!(lookup(&answers, server, now, &mut buf), 3);
        let region = Region::new(GLOBAL);
        let _ = black_box(lookup(&answers, server, now, &mut buf));
        let stats = region.change();
        println!(
            "mx_plans/{label}: {} allocations, {} bytes allocated per lookup",
            stats.allocations + stats.reallocations,
            stats.bytes_allocated
        );
        group.bench_function(label, |b| {
            b.iter(|| lookup(black_box(&answers), server, now, &mut buf))
        });
    }
    group.finish();
}

criterion_group!(benches, plans);
criterion_main!(benches);
