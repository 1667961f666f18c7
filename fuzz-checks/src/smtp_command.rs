//! Command decoding on arbitrary bytes, and decode → write → decode round-trips.

use sansmail_smtp::codec::{Command, DecodeError};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let mut input = data;
    while !input.is_empty() {
        match Command::decode(input) {
            Ok((rest, command)) => {
                let wire = command.to_bytes();
                let (left, again) = Command::decode(&wire).expect("a written command parses");
                assert!(left.is_empty());
                assert_eq!(again, command);
                input = rest;
            }
            Err(DecodeError::Failed { consumed, .. }) if consumed > 0 => input = &input[consumed..],
            Err(_) => break,
        }
    }
}
