//! DMARC verdicts agree with OpenDMARC's: each message carries the SPF and
//! DKIM results OpenDMARC trusts in an Authentication-Results field, both
//! read the same policy records, and both give the same result and
//! disposition.

use std::process::Command;
use std::time::Duration;

use sansmail_auth::dmarc::{DmarcCheck, DmarcResult, Policy, Step};
use sansmail_auth::dns::{Answer, Record};
use sansmail_test_support::{TempDir, require, run};

/// The policy records, as `name record` lines (OpenDMARC's TestDNSData).
const RECORDS: &[(&str, &str)] = &[
    ("_dmarc.strict.example.net", "v=DMARC1; p=reject"),
    (
        "_dmarc.quar.example.net",
        "v=DMARC1; p=quarantine; adkim=s; aspf=s",
    ),
    (
        "_dmarc.watch.example.net",
        "v=DMARC1; p=none; rua=mailto:r@watch.example.net",
    ),
    ("_dmarc.example.org", "v=DMARC1; p=none; sp=reject"),
];

/// (From domain, SPF-passed domain, DKIM-passed domain): one message each.
/// OpenDMARC's test mode has no envelope sender, and it counts an SPF pass
/// only for the envelope sender's domain, so it never aligns SPF there: the
/// cases pass SPF for nobody, and SPF alignment is tested in `driver.rs`
/// and the unit tests.
const CASES: &[(&str, Option<&str>, Option<&str>)] = &[
    ("strict.example.net", None, Some("strict.example.net")),
    (
        "strict.example.net",
        None,
        Some("bounce.strict.example.net"),
    ),
    ("strict.example.net", None, Some("other.example")),
    ("strict.example.net", None, None),
    ("quar.example.net", None, Some("mail.quar.example.net")),
    ("quar.example.net", None, Some("quar.example.net")),
    ("quar.example.net", None, Some("example.net")),
    ("watch.example.net", None, None),
    ("watch.example.net", None, Some("watch.example.net")),
    ("nopolicy.example.net", None, None),
    ("news.example.org", None, None),
    ("news.example.org", None, Some("example.org")),
];

fn ours(from: &str, spf: Option<&str>, dkim: Option<&str>) -> (DmarcResult, Policy) {
    let mut check = DmarcCheck::new(from);
    if let Some(d) = spf {
        check = check.spf_passed(d);
    }
    if let Some(d) = dkim {
        check = check.dkim_passed(d);
    }
    loop {
        match check.poll() {
            Step::Lookup(q) => {
                let answer = RECORDS
                    .iter()
                    .find(|(n, _)| *n == q.name)
                    .map_or(Answer::NxDomain, |(_, r)| {
                        Answer::records(vec![Record::Txt(r.as_bytes().to_vec())])
                    });
                check.answer(q, answer);
            }
            Step::Done(o) => return (o.result, o.disposition),
        }
    }
}

/// OpenDMARC's result for one message, and the policy it applies.
fn theirs(dir: &TempDir, from: &str, spf: Option<&str>, dkim: Option<&str>) -> (String, String) {
    let mut results = vec![match spf {
        Some(d) => format!("spf=pass smtp.mailfrom=bounce@{d}"),
        None => "spf=fail smtp.mailfrom=bounce@elsewhere.example".to_owned(),
    }];
    if let Some(d) = dkim {
        results.push(format!("dkim=pass header.d={d}"));
    }
    let message = format!(
        "Authentication-Results: mx.test; {}\r\nFrom: someone@{from}\r\nTo: b@example.com\r\nSubject: s\r\n\r\nbody\r\n",
        results.join("; ")
    );
    let path = dir.path().join("message.eml");
    std::fs::write(&path, message).unwrap();
    let out = run(
        Command::new(require("/usr/sbin/opendmarc"))
            .arg("-c")
            .arg(dir.path().join("opendmarc.conf"))
            .arg("-t")
            .arg(&path)
            .arg("-vv"),
        b"",
        Duration::from_secs(60),
    );
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "opendmarc: {printed}");
    // RejectFailures on: a reject is its 550 reply, with no field added.
    if printed.contains("### SETREPLY: rcode='550' xcode='5.7.1'") {
        return ("fail".into(), "reject".into());
    }
    let field = printed
        .split("hname='Authentication-Results' hvalue='")
        .nth(1)
        .unwrap_or_else(|| panic!("no verdict: {printed}"));
    let result = field
        .split("dmarc=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    // Past a failure, the policy that applies (its test mode does not
    // quarantine, so "dis=" says none there).
    let policy = match result.as_str() {
        "fail" => field
            .split("(p=")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_default()
            .to_ascii_lowercase(),
        _ => "none".to_owned(),
    };
    (result, policy)
}

#[test]
fn dmarc_verdicts_agree_with_opendmarc() {
    let dir = TempDir::new("opendmarc");
    let dns: String = RECORDS.iter().map(|(n, r)| format!("{n} {r}\n")).collect();
    std::fs::write(dir.path().join("dns"), dns).unwrap();
    // The public suffixes these domains need, as the psl crate has them.
    std::fs::write(dir.path().join("psl"), "net\norg\nexample\n").unwrap();
    std::fs::write(
        dir.path().join("opendmarc.conf"),
        format!(
            "Syslog false\nTestDNSData {}\nTrustedAuthservIDs mx.test\n\
             AuthservID opendmarc.test\nSPFSelfValidate false\nRejectFailures true\n\
             PublicSuffixList {}\n",
            dir.path().join("dns").display(),
            dir.path().join("psl").display()
        ),
    )
    .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for &(from, spf, dkim) in CASES {
        let (result, disposition) = ours(from, spf, dkim);
        let (their_result, their_disposition) = theirs(&dir, from, spf, dkim);
        assert_eq!(
            (result.to_string(), disposition.to_string()),
            (their_result, their_disposition),
            "From {from}, SPF {spf:?}, DKIM {dkim:?}"
        );
        seen.insert((result.to_string(), disposition.to_string()));
    }
    assert!(seen.len() >= 4, "the cases reach few verdicts: {seen:?}");
}
