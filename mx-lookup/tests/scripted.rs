//! Lookups against a scripted server in memory: retries, timeouts,
//! truncation, spoofing, malformed responses and the query bound.
// The tests play the driver, which owns the clock: one real Instant starts the virtual clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::IpAddr;

use common::{Reply, Zone, answering, config, drive, name, server, unframe};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use sansmail_mx::{MxError, Transport};

fn zone() -> Zone {
    Zone::new(&[
        "example.org MX 10 mx1.example.org",
        "example.org MX 20 mx2.example.org",
        "mx1.example.org A 192.0.2.1",
        "mx1.example.org AAAA 2001:db8::1",
        "mx2.example.org A 192.0.2.2",
    ])
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn additional_addresses_save_queries() {
    let z = zone();
    let (plan, seen) = drive("example.org", config(&[server(1)]), answering(&z));
    let plan = plan.unwrap();
    assert_eq!(
        plan.hosts[0].addresses,
        [ip("2001:db8::1"), ip("192.0.2.1")]
    );
    // MX, then only mx2's AAAA: everything else came in the additional section.
    assert_eq!(seen.len(), 2, "{seen:?}");
}

#[test]
fn without_additionals_each_host_is_asked() {
    let z = zone();
    let (plan, seen) = drive("example.org", config(&[server(1)]), |q| {
        Reply::Bytes(z.answer(unframe(q), false).to_vec().unwrap())
    });
    assert_eq!(plan.unwrap().hosts.len(), 2);
    assert_eq!(seen.len(), 5);
}

#[test]
fn a_silent_server_is_skipped() {
    let z = zone();
    let mut answer = answering(&z);
    let (plan, seen) = drive("example.org", config(&[server(1), server(2)]), |q| {
        if q.server == server(1) {
            Reply::Silence
        } else {
            answer(q)
        }
    });
    assert!(plan.is_ok());
    assert_eq!(seen[0].server, server(1));
    assert_eq!(seen[1].server, server(2));
}

#[test]
fn timeouts_everywhere_end_temporary_after_bounded_attempts() {
    let (result, seen) = drive("example.org", config(&[server(1), server(2)]), |_| {
        Reply::Silence
    });
    let e = result.unwrap_err();
    assert!(matches!(e, MxError::Timeout { .. }) && !e.is_permanent());
    assert_eq!(seen.len(), 4, "2 attempts over 2 servers");
}

#[test]
fn servfail_tries_the_next_server_then_fails_temporarily() {
    let z = zone();
    let fail = |q: &sansmail_mx::Query| {
        let mut m = z.answer(unframe(q), true);
        m.answers.clear();
        m.additionals.clear();
        m.metadata.response_code = ResponseCode::ServFail;
        Reply::Bytes(m.to_vec().unwrap())
    };
    let (result, _) = drive("example.org", config(&[server(1)]), fail);
    let e = result.unwrap_err();
    assert!(
        matches!(e, MxError::ServerFailure { .. }) && !e.is_permanent(),
        "{e}"
    );
    let mut answer = answering(&z);
    let (result, _) = drive("example.org", config(&[server(1), server(2)]), |q| {
        if q.server == server(1) {
            fail(q)
        } else {
            answer(q)
        }
    });
    assert!(result.is_ok());
}

#[test]
fn truncated_udp_is_repeated_over_tcp() {
    let z = zone();
    let (plan, seen) = drive("example.org", config(&[server(1)]), |q| {
        let mut m = z.answer(unframe(q), true);
        if q.transport == Transport::Udp {
            m.answers.clear();
            m.additionals.clear();
            m.metadata.truncation = true;
        }
        Reply::Bytes(m.to_vec().unwrap())
    });
    assert!(plan.is_ok());
    assert_eq!(seen[0].transport, Transport::Udp);
    assert_eq!(seen[1].transport, Transport::Tcp);
    assert_eq!(
        seen[1].server, seen[0].server,
        "TCP goes to the server that truncated"
    );
}

#[test]
fn responses_from_elsewhere_or_with_other_ids_are_ignored() {
    let z = zone();
    let now = std::time::Instant::now();
    let mut lookup = sansmail_mx::Lookup::new("example.org", config(&[server(1)]), now).unwrap();
    let sansmail_mx::Output::Send(q) = lookup.poll_output() else {
        panic!()
    };
    let good = z.answer(unframe(&q), true);
    let mut forged = good.clone();
    forged.answers.clear();
    forged.metadata.response_code = ResponseCode::NXDomain;
    // From another address, then with another id: both ignored.
    lookup.handle_response(now, server(9), Transport::Udp, &forged.to_vec().unwrap());
    forged.metadata.id = forged.metadata.id.wrapping_add(1);
    lookup.handle_response(now, server(1), Transport::Udp, &forged.to_vec().unwrap());
    // Over TCP while the query went over UDP: ignored too.
    lookup.handle_response(now, server(1), Transport::Tcp, &good.to_vec().unwrap());
    assert!(matches!(
        lookup.poll_output(),
        sansmail_mx::Output::Timeout(_)
    ));
    lookup.handle_response(now, server(1), Transport::Udp, &good.to_vec().unwrap());
    loop {
        match lookup.poll_output() {
            sansmail_mx::Output::Send(q) => {
                let m = z.answer(unframe(&q), true);
                lookup.handle_response(now, q.server, q.transport, &m.to_vec().unwrap());
            }
            sansmail_mx::Output::Done(r) => break assert!(r.is_ok()),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn malformed_and_mismatched_responses_are_temporary_errors() {
    let (result, _) = drive("example.org", config(&[server(1)]), |q| {
        let mut bytes = q.bytes.to_vec();
        bytes.truncate(5);
        Reply::Bytes(bytes)
    });
    assert!(matches!(result.unwrap_err(), MxError::Malformed { .. }));
    let other = Zone::new(&["other.org MX 10 mx.other.org"]);
    let (result, _) = drive("example.org", config(&[server(1)]), |q| {
        let mut m = other.answer(unframe(q), true);
        let id = m.metadata.id;
        m = other.answer(
            &{
                let mut asked = hickory_proto::op::Message::query();
                asked.metadata.id = id;
                asked.add_query(hickory_proto::op::Query::query(
                    name("other.org"),
                    RecordType::MX,
                ));
                asked.to_vec().unwrap()
            },
            true,
        );
        Reply::Bytes(m.to_vec().unwrap())
    });
    let e = result.unwrap_err();
    assert!(
        matches!(&e, MxError::Malformed { detail, .. } if detail.contains("another question")),
        "{e}"
    );
}

#[test]
fn cname_loops_and_long_chains_stay_bounded() {
    let z = Zone::new(&["a.example CNAME b.example", "b.example CNAME a.example"]);
    let (result, seen) = drive("a.example", config(&[server(1)]), answering(&z));
    assert!(!result.unwrap_err().is_permanent());
    assert!(seen.len() <= 10, "{}", seen.len());
    let mut chain: Vec<String> = (0..12)
        .map(|i| format!("c{i}.example CNAME c{}.example", i + 1))
        .collect();
    chain.push("c12.example MX 10 mx.example".into());
    let lines: Vec<&str> = chain.iter().map(String::as_str).collect();
    // The server answers one hop per response: the resolver must ask again each time.
    let z = Zone::new(&lines);
    let (result, seen) = drive("c0.example", config(&[server(1)]), |q| {
        let mut m = z.answer(unframe(q), true);
        m.answers.truncate(1);
        Reply::Bytes(m.to_vec().unwrap())
    });
    assert!(matches!(
        result.unwrap_err(),
        MxError::Malformed { .. } | MxError::QueryLimit { .. }
    ));
    assert!(seen.len() <= 10);
}

#[test]
fn the_query_bound_holds() {
    let mut lines = vec![];
    let owned: Vec<String> = (0..30)
        .map(|i| format!("big.example MX {i} h{i}.example"))
        .collect();
    lines.extend(owned.iter().map(String::as_str));
    let z = Zone::new(&lines);
    let mut c = config(&[server(1)]);
    c.max_queries = 7;
    c.max_mx_hosts = 30;
    let (result, seen) = drive("big.example", c, answering(&z));
    assert!(matches!(result.unwrap_err(), MxError::QueryLimit { .. }));
    assert!(seen.len() <= 7);
}

#[test]
fn null_mx_beside_real_mx_is_ignored() {
    let z = Zone::new(&[
        "mixed.example MX 0 .",
        "mixed.example MX 10 mx.mixed.example",
        "mx.mixed.example A 192.0.2.7",
    ]);
    let (plan, _) = drive("mixed.example", config(&[server(1)]), answering(&z));
    assert_eq!(plan.unwrap().hosts[0].addresses, [ip("192.0.2.7")]);
}

#[test]
fn a_temporary_failure_for_the_only_host_is_temporary() {
    let z = Zone::new(&["t.example MX 10 mx.t.example"]);
    let mut answer = answering(&z);
    let (result, _) = drive("t.example", config(&[server(1)]), |q| {
        if q.bytes.len() > 2 && unframe(q).windows(2).any(|w| w == b"mx") {
            Reply::Silence
        } else {
            answer(q)
        }
    });
    let e = result.unwrap_err();
    assert!(
        matches!(e, MxError::Timeout { .. }) && !e.is_permanent(),
        "{e}"
    );
}
