//! IMAP commands on arbitrary bytes: no panic, every parsed command writes
//! and parses back to itself, and parsing stops (never loops) on any input.

use sansmail_imap::codec::{DecodeError, parse_command_with, write_command};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let mut input = data;
    while !input.is_empty() {
        match parse_command_with(input, 16) {
            Ok((rest, value)) => {
                assert!(rest.len() < input.len(), "parsing made progress");
                let mut wire = Vec::new();
                write_command(&mut wire, &value);
                let (left, again) =
                    parse_command_with(&wire, 16).expect("a written command parses");
                assert!(left.is_empty());
                assert_eq!(again, value);
                input = rest;
            }
            Err(DecodeError::Failed { position, .. }) => {
                assert!(position <= input.len());
                // Skip the bad line, as a session would.
                match memchr::memchr(b'\n', input) {
                    Some(lf) => input = &input[lf + 1..],
                    None => break,
                }
            }
            Err(_) => break,
        }
    }
}
