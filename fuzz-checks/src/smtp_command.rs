//! Command decoding on arbitrary bytes, decode → write → decode round-trips,
//! and the borrowed form reading every input as the owned form does.

use sansmail_smtp::codec::{Command, DecodeError};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let mut input = data;
    while !input.is_empty() {
        let borrowed = Command::decode_borrowed(input, 512)
            .map(|(rest, command)| (rest.len(), command.to_bytes()));
        let owned = Command::decode_with_limit(input, 512);
        assert_eq!(
            format!("{borrowed:?}"),
            format!(
                "{:?}",
                owned
                    .as_ref()
                    .map(|(rest, command)| (rest.len(), command.to_bytes()))
            ),
            "the borrowed form reads the input differently"
        );
        match owned {
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
