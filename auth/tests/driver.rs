//! The tokio driver against a real authoritative DNS server (NSD) on
//! loopback: SPF gives the results pyspf gives on the same zone, and DKIM
//! and DMARC take their records from DNS as they would in production.

use std::process::Command;
use std::time::Duration;

use sansmail_auth::dkim::{DkimResult, DkimSigner, DkimVerifier, SigningKey};
use sansmail_auth::dmarc::{DmarcCheck, DmarcResult, Policy};
use sansmail_auth::dns::{Answer, QueryKind, Question, Record};
use sansmail_auth::driver::{Config, Resolver};
use sansmail_auth::spf::{SpfCheck, SpfResult};
use sansmail_test_support::{Nsd, require, rsa_pem, run, zone_txt};

/// The test zone: one name per SPF case, a DKIM key and DMARC policies.
fn zone(dkim_record: &str) -> String {
    let many: Vec<String> = (1..=60).map(|i| format!("ip4:198.51.100.{i}")).collect();
    let long = format!("v=spf1 {} ip4:192.0.2.200 -all", many.join(" "));
    let mut z = String::from(
        "$ORIGIN auth.test.\n$TTL 300\n\
         @ IN SOA ns.auth.test. admin.auth.test. 1 3600 600 86400 300\n\
         @ IN NS ns\nns IN A 127.0.0.1\n\
         @ IN TXT \"v=spf1 ip4:192.0.2.0/28 include:_spf.auth.test -all\"\n\
         @ IN MX 10 mail\n\
         mail IN A 192.0.2.50\nmail IN AAAA 2001:db8::50\n\
         _spf IN TXT \"v=spf1 a:mail.auth.test mx:auth.test ip6:2001:db8:1::/48 ~all\"\n\
         soft IN TXT \"v=spf1 ~all\"\n\
         neutral IN TXT \"v=spf1 ?all\"\n\
         redirect IN TXT \"v=spf1 redirect=auth.test\"\n\
         alias IN CNAME auth.test.\n\
         exists IN TXT \"v=spf1 exists:%{i}.ok.auth.test -all\"\n\
         192.0.2.77.ok IN A 127.0.0.2\n\
         loop IN TXT \"v=spf1 include:loop.auth.test -all\"\n\
         void IN TXT \"v=spf1 a:none1.auth.test a:none2.auth.test a:none3.auth.test -all\"\n\
         twice IN TXT \"v=spf1 -all\"\ntwice IN TXT \"v=spf1 +all\"\n\
         nospf IN TXT \"hello\"\n\
         bad IN TXT \"v=spf1 ip4:300.1.1.1 -all\"\n\
         explained IN TXT \"v=spf1 -all exp=why.auth.test\"\n\
         why IN TXT \"%{i} may not send for %{d}\"\n\
         _dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@auth.test\"\n\
         _dmarc.soft IN TXT \"v=DMARC1; p=quarantine; adkim=s\"\n",
    );
    z.push_str(&format!("long IN TXT {}\n", zone_txt(&long)));
    z.push_str(&format!(
        "sel._domainkey IN TXT {}\n",
        zone_txt(dkim_record)
    ));
    z
}

/// (client address, MAIL FROM, HELO): one line per case.
const SPF_CASES: &[(&str, &str, &str)] = &[
    ("192.0.2.5", "ann@auth.test", "mail.example"),
    ("192.0.2.50", "ann@auth.test", "mail.example"),
    ("2001:db8::50", "ann@auth.test", "mail.example"),
    ("2001:db8:1::9", "ann@auth.test", "mail.example"),
    ("203.0.113.9", "ann@auth.test", "mail.example"),
    ("203.0.113.9", "ann@soft.auth.test", "mail.example"),
    ("203.0.113.9", "ann@neutral.auth.test", "mail.example"),
    ("192.0.2.5", "ann@redirect.auth.test", "mail.example"),
    ("203.0.113.9", "ann@redirect.auth.test", "mail.example"),
    ("192.0.2.5", "ann@alias.auth.test", "mail.example"),
    ("192.0.2.77", "ann@exists.auth.test", "mail.example"),
    ("192.0.2.78", "ann@exists.auth.test", "mail.example"),
    ("192.0.2.5", "ann@loop.auth.test", "mail.example"),
    ("192.0.2.5", "ann@void.auth.test", "mail.example"),
    ("192.0.2.5", "ann@twice.auth.test", "mail.example"),
    ("192.0.2.5", "ann@nospf.auth.test", "mail.example"),
    ("192.0.2.5", "ann@missing.auth.test", "mail.example"),
    ("192.0.2.5", "ann@bad.auth.test", "mail.example"),
    ("192.0.2.200", "ann@long.auth.test", "mail.example"),
    ("192.0.2.201", "ann@long.auth.test", "mail.example"),
    ("198.51.100.60", "ann@long.auth.test", "mail.example"),
    ("192.0.2.5", "", "auth.test"),
    ("203.0.113.9", "", "auth.test"),
];

fn resolver(dns: &Nsd) -> Resolver {
    let mut config = Config::new(vec![dns.addr()], 3);
    config.timeout = Duration::from_millis(500);
    Resolver::new(config)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// pyspf's result for every case, asking the same server.
fn pyspf(dns: &Nsd) -> Vec<String> {
    let cases: Vec<String> = SPF_CASES
        .iter()
        .map(|(ip, from, helo)| format!("({ip:?}, {from:?}, {helo:?})"))
        .collect();
    let script = format!(
        r#"
import dns.resolver, spf
r = dns.resolver.Resolver(configure=False)
r.nameservers = ["127.0.0.1"]
r.port = {port}
dns.resolver.default_resolver = r
for ip, sender, helo in [{cases}]:
    result, explanation = spf.check2(i=ip, s=sender, h=helo)
    print(result)
"#,
        port = dns.port,
        cases = cases.join(", "),
    );
    let out = run(
        Command::new(require("python3")).arg("-c").arg(script),
        b"",
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "pyspf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn rsa_key() -> SigningKey {
    SigningKey::from_pem(&rsa_pem()).unwrap()
}

#[test]
fn spf_over_dns_agrees_with_pyspf_on_every_case() {
    let key = rsa_key();
    let dns = Nsd::start("auth.test", &zone(&key.public_key_record()));
    let resolver = resolver(&dns);
    let theirs = pyspf(&dns);
    assert_eq!(theirs.len(), SPF_CASES.len());
    let rt = runtime();
    let mut seen = std::collections::BTreeSet::new();
    for ((ip, from, helo), expected) in SPF_CASES.iter().zip(&theirs) {
        let check = if from.is_empty() {
            SpfCheck::helo(ip.parse().unwrap(), helo)
        } else {
            SpfCheck::mail_from(ip.parse().unwrap(), from, helo)
        };
        let outcome = rt.block_on(resolver.spf(check));
        assert_eq!(
            &outcome.result.to_string(),
            expected,
            "{ip} {from} {helo}: {outcome:?}"
        );
        seen.insert(outcome.result.to_string());
    }
    // The cases reach every result but temperror, which the next test makes.
    for result in ["pass", "fail", "softfail", "neutral", "none", "permerror"] {
        assert!(seen.contains(result), "no case gave {result}");
    }
    let explained = rt.block_on(resolver.spf(SpfCheck::mail_from(
        "192.0.2.9".parse().unwrap(),
        "ann@explained.auth.test",
        "h",
    )));
    assert_eq!(
        explained.explanation.as_deref(),
        Some("192.0.2.9 may not send for explained.auth.test")
    );
}

#[test]
fn answers_come_from_dns_as_records_nxdomain_or_temporary_failure() {
    let key = rsa_key();
    let record = key.public_key_record();
    let dns = Nsd::start("auth.test", &zone(&record));
    let resolver = resolver(&dns);
    let rt = runtime();
    let ask = |name: &str, kind| {
        rt.block_on(resolver.answer(&Question {
            name: name.to_owned(),
            kind,
        }))
    };
    // A key record of several character-strings comes back joined.
    assert_eq!(
        ask("sel._domainkey.auth.test", QueryKind::Txt),
        Answer::records(vec![Record::Txt(record.into_bytes())])
    );
    // The long SPF record does not fit in UDP: the answer came over TCP.
    let Answer::Records(long) = ask("long.auth.test", QueryKind::Txt) else {
        panic!("no long record")
    };
    let Record::Txt(long) = &long[0] else {
        panic!("not TXT")
    };
    assert!(long.len() > 1000 && long.ends_with(b"-all"));
    assert_eq!(
        ask("auth.test", QueryKind::Mx),
        Answer::records(vec![Record::Mx {
            preference: 10,
            exchange: "mail.auth.test".into()
        }])
    );
    assert_eq!(
        ask("alias.auth.test", QueryKind::Mx),
        ask("auth.test", QueryKind::Mx),
        "CNAMEs are followed"
    );
    assert_eq!(
        ask("mail.auth.test", QueryKind::Aaaa),
        Answer::records(vec![Record::Aaaa("2001:db8::50".parse().unwrap())])
    );
    assert_eq!(
        ask("nospf.auth.test", QueryKind::A),
        Answer::records(vec![])
    );
    assert_eq!(ask("missing.auth.test", QueryKind::Txt), Answer::NxDomain);
    // A server that never answers: a temporary failure, and SPF says temperror.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut config = Config::new(vec![silent.local_addr().unwrap()], 3);
    config.timeout = Duration::from_millis(200);
    config.attempts = 1;
    let dead = Resolver::new(config);
    let question = Question {
        name: "auth.test".into(),
        kind: QueryKind::Txt,
    };
    assert_eq!(rt.block_on(dead.answer(&question)), Answer::TempFail);
    let outcome = rt.block_on(dead.spf(SpfCheck::mail_from(
        "192.0.2.5".parse().unwrap(),
        "ann@auth.test",
        "h",
    )));
    assert_eq!(outcome.result, SpfResult::TempError);
    // No name server at all: a temporary failure too, never "no such name".
    let nowhere = Resolver::new(Config::new(Vec::new(), 3));
    assert_eq!(rt.block_on(nowhere.answer(&question)), Answer::TempFail);
}

#[test]
fn dkim_and_dmarc_take_their_records_from_dns() {
    let key = rsa_key();
    let dns = Nsd::start("auth.test", &zone(&key.public_key_record()));
    let resolver = resolver(&dns);
    let rt = runtime();
    let message =
        b"From: Ann <ann@auth.test>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nhello\r\n";
    let signer = DkimSigner::new("auth.test", "sel", key);
    let field = signer.sign(message, 1_790_000_000).unwrap();
    let signed = [field.as_bytes(), message].concat();
    let results = rt.block_on(resolver.dkim(DkimVerifier::new(&signed, 1_790_000_100)));
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].result, DkimResult::Pass, "{results:?}");
    // Aligned DKIM passes DMARC; nothing aligned fails it under p=reject.
    let pass = rt.block_on(resolver.dmarc(DmarcCheck::new("auth.test").dkim_passed("auth.test")));
    assert_eq!(pass.result, DmarcResult::Pass);
    let fail =
        rt.block_on(resolver.dmarc(DmarcCheck::new("auth.test").spf_passed("other.example")));
    assert_eq!(
        (fail.result, fail.disposition),
        (DmarcResult::Fail, Policy::Reject)
    );
    let (place, record) = fail.record.unwrap();
    assert_eq!(place, "auth.test");
    assert_eq!(record.aggregate_reports[0].uri, "mailto:dmarc@auth.test");
    // Strict DKIM alignment: a parent-domain signature does not align.
    let strict =
        rt.block_on(resolver.dmarc(DmarcCheck::new("soft.auth.test").dkim_passed("auth.test")));
    assert_eq!(
        (strict.result, strict.disposition),
        (DmarcResult::Fail, Policy::Quarantine)
    );
    // A subdomain without its own record falls back to the organizational domain's.
    let sub = rt.block_on(resolver.dmarc(DmarcCheck::new("news.auth.test")));
    assert_eq!(sub.record.unwrap().0, "auth.test");
}
