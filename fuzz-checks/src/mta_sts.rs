//! MTA-STS records and policies from any text: no panic, and whatever
//! parses is written back as text that parses to the same value.

use sansmail_mx::mta_sts::{Policy, StsRecord};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(record) = StsRecord::parse(text) {
        assert_eq!(StsRecord::parse(&record.to_string()), Ok(record));
    }
    if let Ok(policy) = Policy::parse(text) {
        assert_eq!(Policy::parse(&policy.to_string()).as_ref(), Ok(&policy));
        for line in text.lines() {
            let _ = policy.allows(line);
        }
    }
}
