//! SPF record text: parsing never panics, and a record that parses is
//! written back to text that parses to the same record.

use sansmail_auth::spf::Record;

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(record) = Record::parse(text) {
        let written = record.to_string();
        assert_eq!(Record::parse(&written).as_ref(), Ok(&record), "{written}");
    }
}
