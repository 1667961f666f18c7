//! A DMARC check over any policy records: it never panics, asks at most
//! two questions (the domain's, then its organization's), and a pass never
//! comes with a disposition other than none.

use sansmail_auth::dmarc::{DmarcCheck, DmarcResult, Policy, Step};
use sansmail_auth::dns::{Answer, Record};

/// Runs the check on one input; panics when a property fails.
///
/// Line 1 is the From domain, line 2 an SPF-passed domain, line 3 a
/// DKIM-passed domain; the lines after are the TXT records every lookup
/// gets (none: NXDOMAIN).
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let from = lines.next().unwrap_or_default();
    let spf = lines.next().unwrap_or_default();
    let dkim = lines.next().unwrap_or_default();
    let records: Vec<Record> = lines.map(|l| Record::Txt(l.as_bytes().to_vec())).collect();
    let sample = data.len() as u8 % 100;
    let mut check = DmarcCheck::new(from)
        .spf_passed(spf)
        .dkim_passed(dkim)
        .with_sample(sample);
    let mut asked = 0;
    loop {
        match check.poll() {
            Step::Lookup(q) => {
                asked += 1;
                assert!(asked <= 2, "more than two policy lookups");
                let answer = if records.is_empty() {
                    Answer::NxDomain
                } else {
                    Answer::records(records.clone())
                };
                check.answer(q, answer);
            }
            Step::Done(outcome) => {
                if outcome.result == DmarcResult::Pass {
                    assert_eq!(outcome.disposition, Policy::None);
                }
                return;
            }
        }
    }
}
