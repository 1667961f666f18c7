//! An SPF check over a zone made from the input: it never panics, asks
//! each question once, asks a bounded number of them and ends.

use std::collections::HashSet;
use std::net::IpAddr;

use sansmail_auth::dns::{Answer, QueryKind, Record};
use sansmail_auth::spf::{SpfCheck, Step};

/// Runs the check on one input; panics when a property fails.
///
/// The input's lines are TXT records, handed out in turn to every TXT
/// question; other questions get fixed answers (many MX and PTR names)
/// or a temporary failure, chosen by the first octet.
pub fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let records: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    let ip: IpAddr = if mode & 1 == 0 {
        "192.0.2.1".parse().unwrap_or(IpAddr::from([192, 0, 2, 1]))
    } else {
        IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])
    };
    let mut check = SpfCheck::mail_from(ip, "user@a.example", "mx.a.example").at_time(1);
    let mut asked = HashSet::new();
    let mut txt = 0;
    loop {
        match check.poll() {
            Step::Lookup(q) => {
                assert!(asked.insert(q.clone()), "asked {q} twice");
                assert!(asked.len() < 1000, "unbounded questions");
                let fail = mode >> 1 != 0 && asked.len() % usize::from(mode >> 1) == 0;
                let answer = match q.kind {
                    _ if fail => Answer::TempFail,
                    QueryKind::Txt => {
                        txt += 1;
                        Answer::records(vec![Record::Txt(records[txt % records.len()].to_vec())])
                    }
                    QueryKind::A => Answer::records(vec![Record::A([192, 0, 2, 1].into())]),
                    QueryKind::Aaaa => Answer::NxDomain,
                    QueryKind::Mx => Answer::Records(
                        (0..11)
                            .map(|i| Record::Mx {
                                preference: i,
                                exchange: format!("mx{i}.a.example"),
                            })
                            .collect(),
                    ),
                    QueryKind::Ptr => Answer::Records(
                        (0..11)
                            .map(|i| Record::Ptr(format!("h{i}.a.example")))
                            .collect(),
                    ),
                };
                check.answer(q, answer);
            }
            Step::Done(_) => return,
        }
    }
}
