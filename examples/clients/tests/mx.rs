//! sansmail-mx against a real authoritative DNS server (NSD) on loopback,
//! through the blocking driver and the `mx` example.

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use sansmail_mx::blocking::{ResolveError, resolve};
use sansmail_mx::{Config, DeliveryPlan, FamilyOrder, InputError, MxError};
use sansmail_test_support::{Nsd, bin, run};

/// The test zone: one name per case the issue lists.
fn zone() -> String {
    let mut z = String::from(
        "$ORIGIN mx.test.\n$TTL 300\n\
         @ IN SOA ns.mx.test. admin.mx.test. 1 3600 600 86400 300\n\
         @ IN NS ns\nns IN A 127.0.0.1\n\
         ; two preferences\n\
         two IN MX 20 mx2\ntwo IN MX 10 mx1\n\
         mx1 IN A 192.0.2.1\nmx1 IN AAAA 2001:db8::1\nmx2 IN A 192.0.2.2\n\
         ; equal preferences\n\
         equal IN MX 10 mx1\nequal IN MX 10 mx2\nequal IN MX 10 mx3\nequal IN MX 20 mx4\n\
         mx3 IN A 192.0.2.3\nmx4 IN A 192.0.2.4\n\
         ; null MX with an A record\n\
         nullmx IN MX 0 .\nnullmx IN A 192.0.2.9\n\
         ; no MX, but addresses\n\
         implicit IN A 192.0.2.10\nimplicit IN AAAA 2001:db8::10\n\
         ; MX target behind a CNAME\n\
         cnamed IN MX 10 alias\nalias IN CNAME mx1\n\
         ; CNAME at the domain\n\
         aliasdomain IN CNAME two\n\
         ; an MX target with no address, beside a good one\n\
         dangling IN MX 10 nowhere\ndangling IN MX 20 mx2\n\
         ; every MX target without an address\n\
         allgone IN MX 10 nowhere\n\
         ; IPv6-only target\n\
         v6only IN MX 10 mx6\nmx6 IN AAAA 2001:db8::6\n\
         ; NODATA: the name exists, no MX, no address\n\
         nodata IN TXT \"no mail here\"\n\
         ; an internationalized domain, stored as A-labels\n\
         xn--bcher-kva IN MX 10 mx1\n\
         ; a target whose addresses do not fit a UDP response\n\
         big IN MX 10 bighost\n",
    );
    for i in 0..120 {
        z.push_str(&format!(
            "bighost IN A 198.51.{}.{}\n",
            i / 200,
            i % 200 + 1
        ));
    }
    z
}

/// A fresh NSD for one test; it stops when the test drops it.
fn nsd() -> Nsd {
    Nsd::start("mx.test", &zone())
}

fn config(dns: &Nsd, seed: u64) -> Config {
    let mut c = Config::new(vec![dns.addr()], seed);
    c.timeout = Duration::from_millis(500);
    c
}

fn plan(domain: &str, config: Config) -> DeliveryPlan {
    resolve(domain, config).unwrap_or_else(|e| panic!("{domain}: {e}"))
}

fn error(domain: &str, config: Config) -> MxError {
    match resolve(domain, config) {
        Err(ResolveError::Lookup(e)) => e,
        other => panic!("{domain}: expected a lookup error, got {other:?}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn two_preferences_in_order_with_additional_addresses() {
    let dns = nsd();
    let p = plan("two.mx.test", config(&dns, 1));
    assert!(!p.implicit);
    let hosts: Vec<(u16, &str)> = p
        .hosts
        .iter()
        .map(|h| (h.preference, h.name.as_str()))
        .collect();
    assert_eq!(hosts, [(10, "mx1.mx.test"), (20, "mx2.mx.test")]);
    assert_eq!(p.hosts[0].addresses, [ip("2001:db8::1"), ip("192.0.2.1")]);
    let mut v4 = config(&dns, 1);
    v4.family_order = FamilyOrder::Ipv4First;
    assert_eq!(
        plan("TWO.mx.test.", v4).hosts[0].addresses,
        [ip("192.0.2.1"), ip("2001:db8::1")]
    );
}

#[test]
fn equal_preferences_are_shuffled_by_the_seed() {
    let dns = nsd();
    let order = |seed| -> Vec<String> {
        plan("equal.mx.test", config(&dns, seed))
            .hosts
            .iter()
            .map(|h| h.name.clone())
            .collect()
    };
    let first = order(7);
    assert_eq!(first, order(7), "the same seed gives the same order");
    assert_eq!(
        first[3], "mx4.mx.test",
        "the less preferred host stays last"
    );
    let orders: std::collections::HashSet<Vec<String>> = (0..20).map(order).collect();
    assert!(
        orders.len() > 1,
        "different seeds give different tie-breaks"
    );
    for o in orders {
        let mut top: Vec<&str> = o[..3].iter().map(String::as_str).collect();
        top.sort();
        assert_eq!(top, ["mx1.mx.test", "mx2.mx.test", "mx3.mx.test"]);
    }
}

#[test]
fn null_mx_is_permanent_with_556() {
    let dns = nsd();
    let e = error("nullmx.mx.test", config(&dns, 1));
    assert!(matches!(e, MxError::NullMx { .. }));
    assert!(e.is_permanent());
    assert_eq!(e.smtp_reply().0, 556);
    assert_eq!(e.smtp_reply().1, (5, 1, 10));
}

#[test]
fn no_mx_uses_the_domain_as_implicit_mx() {
    let dns = nsd();
    let p = plan("implicit.mx.test", config(&dns, 1));
    assert!(p.implicit);
    assert_eq!(p.hosts.len(), 1);
    assert_eq!(p.hosts[0].name, "implicit.mx.test");
    assert_eq!(p.hosts[0].addresses, [ip("2001:db8::10"), ip("192.0.2.10")]);
}

#[test]
fn cnames_at_the_target_and_at_the_domain() {
    let dns = nsd();
    let p = plan("cnamed.mx.test", config(&dns, 1));
    assert_eq!(p.hosts[0].name, "alias.mx.test");
    assert_eq!(p.hosts[0].addresses, [ip("2001:db8::1"), ip("192.0.2.1")]);
    let p = plan("aliasdomain.mx.test", config(&dns, 1));
    assert_eq!(p.hosts.len(), 2);
    assert_eq!(p.hosts[0].name, "mx1.mx.test");
}

#[test]
fn targets_without_addresses_are_dropped() {
    let dns = nsd();
    let p = plan("dangling.mx.test", config(&dns, 1));
    let names: Vec<&str> = p.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["mx2.mx.test"]);
    let e = error("allgone.mx.test", config(&dns, 1));
    assert!(matches!(e, MxError::NoAddresses { .. }) && e.is_permanent());
}

#[test]
fn idn_domains_are_looked_up_as_a_labels() {
    let dns = nsd();
    let p = plan("bücher.mx.test", config(&dns, 1));
    assert_eq!(p.domain, "xn--bcher-kva.mx.test");
    assert_eq!(p.hosts[0].name, "mx1.mx.test");
}

#[test]
fn ipv6_only_target() {
    let dns = nsd();
    let p = plan("v6only.mx.test", config(&dns, 1));
    assert_eq!(p.hosts[0].addresses, [ip("2001:db8::6")]);
    let mut v4only = config(&dns, 1);
    v4only.family_order = FamilyOrder::Ipv4Only;
    assert!(matches!(
        error("v6only.mx.test", v4only),
        MxError::NoAddresses { .. }
    ));
}

#[test]
fn nodata_and_nxdomain_are_permanent() {
    let dns = nsd();
    let e = error("nodata.mx.test", config(&dns, 1));
    assert!(matches!(e, MxError::NoMailHost { .. }) && e.is_permanent());
    let e = error("not-there.mx.test", config(&dns, 1));
    assert!(matches!(e, MxError::NxDomain { .. }) && e.is_permanent());
    assert_eq!(e.smtp_reply().0, 550);
}

#[test]
fn truncated_responses_are_retried_over_tcp() {
    let dns = nsd();
    let p = plan("big.mx.test", config(&dns, 1));
    assert_eq!(p.hosts[0].addresses.len(), 120);
    let mut no_tcp = config(&dns, 1);
    no_tcp.tcp = false;
    let e = error("big.mx.test", no_tcp);
    assert!(matches!(e, MxError::Truncated { .. }) && !e.is_permanent());
}

#[test]
fn the_local_host_rule() {
    let dns = nsd();
    let mut c = config(&dns, 1);
    c.local_hostnames = vec!["mx2.mx.test".into()];
    let names: Vec<String> = plan("two.mx.test", c)
        .hosts
        .into_iter()
        .map(|h| h.name)
        .collect();
    assert_eq!(names, ["mx1.mx.test"]);
    let mut c = config(&dns, 1);
    c.local_hostnames = vec!["MX1.mx.test.".into()];
    assert!(matches!(
        error("two.mx.test", c),
        MxError::LocalHostIsBestMx { .. }
    ));
}

#[test]
fn a_silent_server_is_a_temporary_timeout() {
    let dns = nsd();
    // A bound socket nobody reads: queries go unanswered.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut c = Config::new(vec![silent.local_addr().unwrap()], 1);
    c.timeout = Duration::from_millis(100);
    let e = error("two.mx.test", c);
    assert!(
        matches!(e, MxError::Timeout { .. }) && !e.is_permanent(),
        "{e}"
    );
    // A dead server first, the real one second: the retry finds the plan.
    let mut c = Config::new(vec![silent.local_addr().unwrap(), dns.addr()], 1);
    c.timeout = Duration::from_millis(100);
    assert_eq!(plan("two.mx.test", c).hosts.len(), 2);
}

#[test]
fn invalid_input_sends_no_query() {
    let dns = nsd();
    for (domain, literal) in [
        ("[192.0.2.1]", true),
        ("bad..name", false),
        ("-x.test", false),
    ] {
        match resolve(domain, config(&dns, 1)) {
            Err(ResolveError::Input(InputError::AddressLiteral(_))) => assert!(literal),
            Err(ResolveError::Input(InputError::NotAHostname { .. })) => assert!(!literal),
            other => panic!("{domain}: {other:?}"),
        }
    }
}

#[test]
fn the_mx_example_prints_plans_and_fails_on_errors() {
    let dns = nsd();
    let server = dns.addr().to_string();
    let out = run(
        Command::new(bin("mx")).args([
            "two.mx.test",
            "implicit.mx.test",
            "--dns",
            &server,
            "--seed",
            "3",
        ]),
        b"",
        Duration::from_secs(30),
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "two.mx.test\n  10 mx1.mx.test 2001:db8::1 192.0.2.1\n  20 mx2.mx.test 192.0.2.2\n\
         implicit.mx.test (no MX: implicit MX)\n  0 implicit.mx.test 2001:db8::10 192.0.2.10\n"
    );
    let out = run(
        Command::new(bin("mx")).args(["nullmx.mx.test", "two.mx.test", "--dns", &server]),
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("nullmx.mx.test\n  error: nullmx.mx.test: null MX"),
        "{text}"
    );
    assert!(text.contains("556 5.1.10"), "{text}");
    assert!(text.contains("10 mx1.mx.test"), "{text}");
}

/// The tokio driver gives the same plans and errors as the blocking one,
/// over UDP, over TCP after truncation, and for a silent server.
#[tokio::test]
async fn the_tokio_driver_agrees_with_the_blocking_one() {
    use sansmail_mx::driver::resolve as resolve_async;
    let dns = nsd();
    for domain in [
        "two.mx.test",
        "big.mx.test",
        "implicit.mx.test",
        "cnamed.mx.test",
    ] {
        let blocking = plan(domain, config(&dns, 7));
        let tokio = resolve_async(domain, config(&dns, 7)).await.unwrap();
        assert_eq!(tokio, blocking, "{domain}");
    }
    match resolve_async("nullmx.mx.test", config(&dns, 7)).await {
        Err(ResolveError::Lookup(e)) => assert_eq!(e.smtp_reply().0, 556),
        other => panic!("{other:?}"),
    }
    // Nothing answers on this port: a temporary error after the retries.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut c = Config::new(vec![silent.local_addr().unwrap()], 1);
    c.timeout = Duration::from_millis(200);
    match resolve_async("two.mx.test", c).await {
        Err(ResolveError::Lookup(e)) => assert!(!e.is_permanent(), "{e}"),
        other => panic!("{other:?}"),
    }
}
