//! Lookups answered with responses recorded from NSD 4.6 serving the test
//! zone of `examples/tests/mx_peers.rs` (queried without EDNS; the ids are
//! patched to match each query).
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::IpAddr;

use common::{Reply, config, drive, server, unframe};
use hickory_proto::op::Message;
use sansmail_mx::MxError;

/// (question name, type) → the recorded response, hex.
const RECORDED: &[(&str, &str, &str)] = &[
    (
        "two.mx.test.",
        "MX",
        "1234850000010002000100040374776f026d78047465737400000f0001c00c000f00010000012c00080014036d7832c010c00c000f00010000012c0008000a036d7831c010c010000200010000012c0005026e73c010c02b000100010000012c0004c0000202c03f000100010000012c0004c0000201c051000100010000012c00047f000001c03f001c00010000012c001020010db8000000000000000000000001",
    ),
    (
        "nullmx.mx.test.",
        "MX",
        "123485000001000100010001066e756c6c6d78026d78047465737400000f0001c00c000f00010000012c0003000000c013000200010000012c0005026e73c013c03b000100010000012c00047f000001",
    ),
    (
        "aliasdomain.mx.test.",
        "MX",
        "1234850000010003000100040b616c696173646f6d61696e026d78047465737400000f0001c00c000500010000012c00060374776fc018c031000f00010000012c00080014036d7832c018c031000f00010000012c0008000a036d7831c018c018000200010000012c0005026e73c018c045000100010000012c0004c0000202c059000100010000012c0004c0000201c06b000100010000012c00047f000001c059001c00010000012c001020010db8000000000000000000000001",
    ),
    (
        "mx2.mx.test.",
        "AAAA",
        "123485000001000000010000036d7832026d78047465737400001c0001c010000600010000012c0021026e73c0100561646d696ec0100000000100000e1000000258000151800000012c",
    ),
    (
        "missing.mx.test.",
        "MX",
        "123485030001000000010000076d697373696e67026d78047465737400000f0001c014000600010000012c0021026e73c0140561646d696ec0140000000100000e1000000258000151800000012c",
    ),
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn replay(q: &sansmail_mx::Query) -> Reply {
    let asked = Message::from_vec(unframe(q)).unwrap();
    let question = &asked.queries[0];
    let (name, rtype) = (
        question.name().to_ascii(),
        question.query_type().to_string(),
    );
    let (_, _, recorded) = RECORDED
        .iter()
        .find(|(n, t, _)| *n == name && *t == rtype)
        .unwrap_or_else(|| panic!("no recording for {name} {rtype}"));
    let mut bytes = hex(recorded);
    bytes[..2].copy_from_slice(&q.id.to_be_bytes());
    Reply::Bytes(bytes)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn recorded_mx_with_additionals_and_nodata() {
    for domain in ["two.mx.test", "aliasdomain.mx.test"] {
        let (plan, seen) = drive(domain, config(&[server(1)]), replay);
        let plan = plan.unwrap();
        assert_eq!(plan.hosts.len(), 2);
        assert_eq!(plan.hosts[0].name, "mx1.mx.test");
        assert_eq!(
            plan.hosts[0].addresses,
            [ip("2001:db8::1"), ip("192.0.2.1")]
        );
        assert_eq!(plan.hosts[1].addresses, [ip("192.0.2.2")]);
        // The MX query, then only mx2's AAAA (an authoritative NODATA).
        assert_eq!(seen.len(), 2, "{domain}");
    }
}

#[test]
fn recorded_null_mx_and_nxdomain() {
    let (result, _) = drive("nullmx.mx.test", config(&[server(1)]), replay);
    assert!(matches!(result.unwrap_err(), MxError::NullMx { .. }));
    let (result, seen) = drive("missing.mx.test", config(&[server(1)]), replay);
    assert!(matches!(result.unwrap_err(), MxError::NxDomain { .. }));
    assert_eq!(seen.len(), 1);
}
