//! Reply decoding on arbitrary bytes, and decode → write → decode
//! round-trips; the borrowed form reads every input as the owned one does.

use sansmail_smtp::codec::{BorrowedReply, DEFAULT_MAX_REPLY, DecodeError};
use sansmail_smtp::types::Reply;

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let mut input = data;
    while !input.is_empty() {
        let decoded = Reply::decode(input);
        let borrowed = BorrowedReply::decode(input, DEFAULT_MAX_REPLY);
        assert_eq!(
            borrowed
                .as_ref()
                .map(|(rest, b)| (*rest, b.to_reply()))
                .map_err(Clone::clone),
            decoded.clone(),
            "the borrowed form reads differently"
        );
        match decoded {
            Ok((rest, reply)) => {
                let (_, borrowed) = borrowed.expect("compared above");
                assert!(borrowed.lines().eq(reply.lines()));
                assert_eq!(borrowed.text(), reply.joined_text());
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
