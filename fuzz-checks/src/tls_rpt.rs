//! TLSRPT records and reports from any text: no panic, and whatever
//! parses is written back as text that parses to the same value.

use sansmail_mx::tls_rpt::{Report, TlsRptRecord};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(record) = TlsRptRecord::parse(text) {
        assert_eq!(TlsRptRecord::parse(&record.to_string()), Ok(record));
    }
    if let Ok(report) = Report::from_json(text) {
        assert_eq!(Report::from_json(&report.to_json()).ok(), Some(report));
    }
}
