//! The SPF benchmark's zone, cases and our side of the work, shared by the
//! criterion benchmark (`auth.rs`) and the callgrind helper
//! (`examples/spf_profile.rs`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use sansmail_auth::dns::{Answer, QueryKind, Record};
use sansmail_auth::spf::{self, SpfCheck};

/// The time the checks are made at.
pub(crate) const NOW: u64 = 1_790_000_000;

/// The zone both read: name → records.
pub(crate) struct Zone(pub(crate) HashMap<(String, QueryKind), Answer>);

impl Zone {
    pub(crate) fn answer(&self, name: &str, kind: QueryKind) -> Answer {
        // A scan of a few records: no key to allocate for the lookup.
        self.0
            .iter()
            .find(|((n, k), _)| *k == kind && n == name)
            .map_or(Answer::NxDomain, |(_, a)| a.clone())
    }
}

/// Our SPF check; `records` holds the records parsed before, as
/// mail-auth's TXT cache holds its parsed records.
pub(crate) fn ours_spf(
    ip: IpAddr,
    sender: &str,
    zone: &Zone,
    records: &Arc<spf::RecordCache>,
) -> spf::SpfResult {
    let mut check = SpfCheck::mail_from(ip, sender, "mx.example.net")
        .with_receiver("mx.receiver.example")
        .at_time(NOW)
        .with_cache(records.clone());
    loop {
        match check.poll() {
            spf::Step::Lookup(q) => {
                let a = zone.answer(&q.name, q.kind);
                check.answer(q, a);
            }
            spf::Step::Done(outcome) => return outcome.result,
        }
    }
}

pub(crate) fn txt(name: &str, text: &str) -> ((String, QueryKind), Answer) {
    (
        (name.to_owned(), QueryKind::Txt),
        Answer::records(vec![Record::Txt(text.as_bytes().to_vec())]),
    )
}

/// The SPF zone: includes, a redirect, `a`, `mx` and `ip4`/`ip6` ranges.
pub(crate) fn spf_zone() -> Vec<((String, QueryKind), Answer)> {
    let a = |name: &str, ip: [u8; 4]| {
        (
            (name.to_owned(), QueryKind::A),
            Answer::records(vec![Record::A(Ipv4Addr::from(ip))]),
        )
    };
    vec![
        txt(
            "example.com",
            "v=spf1 ip4:192.0.2.0/24 include:_spf.provider.example include:_spf2.provider.example a mx ~all",
        ),
        txt(
            "_spf.provider.example",
            "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 -all",
        ),
        txt("_spf2.provider.example", "v=spf1 ip4:203.0.113.0/25 -all"),
        a("example.com", [192, 0, 2, 80]),
        (
            ("example.com".to_owned(), QueryKind::Mx),
            Answer::records(vec![Record::Mx {
                preference: 10,
                exchange: "mail.example.com".into(),
            }]),
        ),
        a("mail.example.com", [203, 0, 113, 200]),
        txt("redirected.example", "v=spf1 redirect=example.com"),
        txt("strict.example", "v=spf1 ip4:192.0.2.1 -all"),
    ]
}

/// (client address, sender) of each SPF evaluation.
pub(crate) const SPF_CASES: &[(&str, &str)] = &[
    ("192.0.2.7", "ann@example.com"),
    ("198.51.100.9", "ann@example.com"),
    ("2001:db8::9", "ann@example.com"),
    ("203.0.113.200", "ann@example.com"),
    ("203.0.113.5", "ann@example.com"),
    ("233.252.0.1", "ann@example.com"),
    ("198.51.100.9", "bob@redirected.example"),
    ("192.0.2.1", "carol@strict.example"),
    ("192.0.2.2", "carol@strict.example"),
];
