//! Reply decoding on arbitrary bytes, and decode → write → decode round-trips.

use sansmail_smtp::codec::DecodeError;
use sansmail_smtp::types::Reply;

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let mut input = data;
    while !input.is_empty() {
        match Reply::decode(input) {
            Ok((rest, reply)) => {
                let wire = reply.to_wire_string();
                let (left, again) = Reply::decode(wire.as_bytes()).expect("a written reply parses");
                assert!(left.is_empty());
                assert_eq!(again, reply);
                input = rest;
            }
            Err(DecodeError::Failed { consumed, .. }) if consumed > 0 => input = &input[consumed..],
            Err(_) => break,
        }
    }
}
