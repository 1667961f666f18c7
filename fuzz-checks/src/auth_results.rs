//! Authentication-Results values: parsing never panics, and a value that
//! parses is written back to text that parses to the same results.

use sansmail_auth::results::AuthenticationResults;

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ar) = AuthenticationResults::parse(text) {
        let written = ar.to_string();
        assert_eq!(
            AuthenticationResults::parse(&written).as_ref(),
            Ok(&ar),
            "{written}"
        );
    }
}
