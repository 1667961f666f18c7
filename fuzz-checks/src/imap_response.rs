//! IMAP responses on arbitrary bytes: no panic, every parsed response writes
//! and parses back to itself, and parsing stops (never loops) on any input.

use bytes::Bytes;
use sansmail_imap::codec::{DecodeError, parse_response_with, write_response};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let mut input = Bytes::copy_from_slice(data);
    while !input.is_empty() {
        match parse_response_with(&input, 16) {
            Ok((rest, value)) => {
                assert!(rest.len() < input.len(), "parsing made progress");
                let mut wire = Vec::new();
                write_response(&mut wire, &value);
                let (left, again) =
                    parse_response_with(&Bytes::from(wire), 16).expect("a written response parses");
                assert!(left.is_empty());
                assert_eq!(again, value);
                input = rest;
            }
            Err(DecodeError::Failed { position, .. }) => {
                assert!(position <= input.len());
                // Skip the bad line, as a session would.
                match memchr::memchr(b'\n', &input) {
                    Some(lf) => input = input.slice(lf + 1..),
                    None => break,
                }
            }
            Err(_) => break,
        }
    }
}
