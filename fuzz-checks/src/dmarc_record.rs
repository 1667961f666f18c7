//! DMARC records: parsing never panics, and a record that parses is
//! written back to text that parses to the same record.

use sansmail_auth::dmarc::DmarcRecord;

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(record) = DmarcRecord::parse(text) {
        let written = record.to_string();
        assert_eq!(
            DmarcRecord::parse(&written).as_ref(),
            Ok(&record),
            "{written}"
        );
    }
}
