//! SPF records written then parsed give back the same record, and an
//! evaluation over any answers ends within its limits.

use std::net::IpAddr;

use proptest::prelude::*;
use sansmail_auth::dmarc::{Alignment, DmarcRecord, Policy, ReportUri};
use sansmail_auth::dns::{Answer, QueryKind, Record as Rr};
use sansmail_auth::results::{AuthenticationResults, MethodResult, Property};
use sansmail_auth::spf::macros::MacroString;
use sansmail_auth::spf::{
    Directive, DualCidr, Mechanism, Modifier, Qualifier, Record, SpfCheck, Step, Term,
};

fn domain() -> impl Strategy<Value = MacroString> {
    prop_oneof![
        "[a-z]{1,8}(\\.[a-z]([a-z0-9-]{0,5}[a-z])?){1,3}",
        "%\\{[dhilosvp][1-9]{0,1}r?[.-]?\\}\\.[a-z]{2,6}",
        "_spf\\.%\\{d\\}",
        "[a-z]{1,5}:[a-z]{1,5}/[a-z]{1,5}\\.example",
    ]
    .prop_map(|d| MacroString::parse(&d, false).unwrap())
}

fn cidr() -> impl Strategy<Value = DualCidr> {
    (
        proptest::option::of(0u8..=32),
        proptest::option::of(0u8..=128),
    )
        .prop_map(|(v4, v6)| DualCidr { v4, v6 })
}

fn mechanism() -> impl Strategy<Value = Mechanism> {
    prop_oneof![
        Just(Mechanism::All),
        domain().prop_map(Mechanism::Include),
        domain().prop_map(Mechanism::Exists),
        (proptest::option::of(domain()), cidr()).prop_map(|(d, c)| Mechanism::A(d, c)),
        (proptest::option::of(domain()), cidr()).prop_map(|(d, c)| Mechanism::Mx(d, c)),
        proptest::option::of(domain()).prop_map(Mechanism::Ptr),
        (any::<u32>(), proptest::option::of(0u8..=32))
            .prop_map(|(a, l)| Mechanism::Ip4(a.into(), l)),
        (any::<u128>(), proptest::option::of(0u8..=128))
            .prop_map(|(a, l)| Mechanism::Ip6(a.into(), l)),
    ]
}

fn term() -> impl Strategy<Value = Term> {
    let qualifier = proptest::option::of(prop_oneof![
        Just(Qualifier::Pass),
        Just(Qualifier::Fail),
        Just(Qualifier::SoftFail),
        Just(Qualifier::Neutral),
    ]);
    prop_oneof![
        4 => (qualifier, mechanism()).prop_map(|(qualifier, mechanism)| Term::Directive(Directive { qualifier, mechanism })),
        1 => ("[a-z][a-z0-9._-]{0,8}", "[a-z0-9.]{0,10}").prop_filter_map("a known modifier name", |(n, v)| {
            (n != "redirect" && n != "exp").then(|| Term::Modifier(Modifier::Other(n, MacroString::parse(&v, false).unwrap())))
        }),
    ]
}

fn keyword() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?"
}

fn method_result() -> impl Strategy<Value = MethodResult> {
    let property = (keyword(), keyword(), "[ -~é]{1,20}")
        .prop_map(|(ptype, name, value)| Property { ptype, name, value });
    (
        keyword(),
        proptest::option::of(0u32..10),
        keyword(),
        proptest::option::of("[ -~]{1,20}"),
        proptest::collection::vec(property, 0..4),
    )
        .prop_map(
            |(method, version, result, reason, properties)| MethodResult {
                method,
                version,
                result,
                reason,
                properties,
            },
        )
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::None),
        Just(Policy::Quarantine),
        Just(Policy::Reject)
    ]
}

fn alignment() -> impl Strategy<Value = Alignment> {
    prop_oneof![Just(Alignment::Relaxed), Just(Alignment::Strict)]
}

fn uris() -> impl Strategy<Value = Vec<ReportUri>> {
    proptest::collection::vec(
        (
            "mailto:[a-z]{1,8}@[a-z]{1,8}\\.example",
            proptest::option::of(0u64..1 << 40),
        )
            .prop_map(|(uri, max_size)| ReportUri { uri, max_size }),
        0..3,
    )
}

proptest! {
    #[test]
    fn a_dmarc_record_written_parses_back(
        policy in policy(),
        subdomain_policy in proptest::option::of(policy()),
        percent in 0u8..=100,
        dkim_alignment in alignment(),
        spf_alignment in alignment(),
        aggregate_reports in uris(),
        failure_reports in uris(),
        failure_options in proptest::option::of("[01ds](:[01ds]){0,2}"),
        interval in any::<u32>(),
    ) {
        let record = DmarcRecord {
            policy, subdomain_policy, percent, dkim_alignment, spf_alignment,
            aggregate_reports, failure_reports, failure_options, interval,
        };
        let text = record.to_string();
        prop_assert_eq!(DmarcRecord::parse(&text), Ok(record), "{}", text);
    }

    #[test]
    fn authentication_results_written_parse_back(
        authserv_id in "[!-~]{1,20}",
        version in proptest::option::of(0u32..5),
        results in proptest::collection::vec(method_result(), 0..4),
    ) {
        let ar = AuthenticationResults { authserv_id, version, results };
        let text = ar.to_string();
        prop_assert_eq!(AuthenticationResults::parse(&text), Ok(ar), "{}", text);
    }

    #[test]
    fn a_record_written_parses_back(
        terms in proptest::collection::vec(term(), 0..8),
        redirect in proptest::option::of(domain()),
        exp in proptest::option::of(domain()),
    ) {
        let mut record = Record { terms };
        if let Some(r) = redirect {
            record.terms.push(Term::Modifier(Modifier::Redirect(r)));
        }
        if let Some(e) = exp {
            record.terms.push(Term::Modifier(Modifier::Exp(e)));
        }
        let text = record.to_string();
        prop_assert_eq!(Record::parse(&text), Ok(record), "{}", text);
    }

    /// Whatever the answers, a check asks a bounded number of questions
    /// (each once) and ends.
    #[test]
    fn a_check_ends_within_its_limits(
        records in proptest::collection::vec("v=spf1( [+~?-]?(a|mx|ptr|exists:%\\{d\\}[0-9]\\.x\\.example|include:[a-c]\\.example|redirect=[a-c]\\.example|ip4:192\\.0\\.2\\.[0-9]|all)){0,6}", 1..4),
        ip in prop_oneof![Just("192.0.2.1"), Just("2001:db8::1")],
        fail_every in 2usize..9,
    ) {
        let ip: IpAddr = ip.parse().unwrap();
        let mut check = SpfCheck::mail_from(ip, "ann@a.example", "mx.a.example");
        let mut asked = 0;
        let outcome = loop {
            match check.poll() {
                Step::Lookup(q) => {
                    asked += 1;
                    prop_assert!(asked < 400, "too many questions");
                    let answer = if asked % fail_every == 0 {
                        Answer::TempFail
                    } else {
                        match q.kind {
                            QueryKind::Txt => Answer::records(vec![Rr::Txt(records[asked % records.len()].clone().into_bytes())]),
                            QueryKind::A => Answer::records(vec![Rr::A("192.0.2.1".parse().unwrap())]),
                            QueryKind::Aaaa => Answer::NxDomain,
                            QueryKind::Mx => Answer::records((0..12).map(|i| Rr::Mx { preference: i, exchange: format!("mx{i}.a.example") }).collect::<Vec<_>>()),
                            QueryKind::Ptr => Answer::records((0..12).map(|i| Rr::Ptr(format!("h{i}.a.example"))).collect::<Vec<_>>()),
                        }
                    };
                    check.answer(q, answer);
                }
                Step::Done(outcome) => break outcome,
            }
        };
        prop_assert_eq!(outcome.domain, "a.example");
    }
}
