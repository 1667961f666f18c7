//! Command decoding on arbitrary bytes, decode → write → decode round-trips,
//! and every form (borrowed, in a receive buffer, from a shared line)
//! reading every input as the owned form does.

use bytes::{Bytes, BytesMut};
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
        let mut buf = BytesMut::from(input);
        match (&owned, Command::decode_buf(&mut buf, 512)) {
            (Ok((rest, command)), Ok(in_place)) => {
                assert_eq!(&in_place, command, "decode_buf reads the line differently");
                assert_eq!(&buf[..], *rest, "decode_buf leaves another rest");
                let line = &input[..input.len() - rest.len() - 2];
                let shared = Command::parse(&Bytes::copy_from_slice(line));
                assert_eq!(
                    shared.as_ref(),
                    Ok(command),
                    "a shared line reads differently"
                );
            }
            (Err(error), Err(in_place)) => {
                assert_eq!(error, &in_place, "decode_buf fails otherwise")
            }
            (owned, in_place) => panic!("decode_buf disagrees: {owned:?} / {in_place:?}"),
        }
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
