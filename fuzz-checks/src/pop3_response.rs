//! POP3 status lines, listing lines and multi-line bodies on arbitrary bytes:
//! no panic, responses round-trip, and a body decodes the same in one piece
//! as split in two.

use bytes::BytesMut;
use sansmail_pop3::codec::{DecodeError, parse_scan_line, parse_uid_line};
use sansmail_pop3::multiline::{BodyDecoder, BodyStep};
use sansmail_pop3::types::{Capability, Response};

/// The decoded body, and where the end line ended (octets consumed) if it came.
fn decode_body(pieces: &[&[u8]]) -> (Vec<u8>, Option<usize>) {
    let mut decoder = BodyDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    for piece in pieces {
        buf.extend_from_slice(piece);
        fed += piece.len();
        loop {
            match decoder.decode(&mut buf) {
                BodyStep::Chunk(c) => out.extend_from_slice(&c),
                BodyStep::NeedMore => break,
                BodyStep::End => return (out, Some(fed - buf.len())),
            }
        }
    }
    (out, None)
}

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let mut input = data;
    while !input.is_empty() {
        match Response::decode(input) {
            Ok((rest, response)) => {
                let mut wire = Vec::new();
                response.write(&mut wire);
                let (_, again) = Response::decode(&wire).expect("a written response parses");
                assert_eq!(again, response);
                input = rest;
            }
            Err(DecodeError::Failed { consumed, .. }) if consumed > 0 => input = &input[consumed..],
            Err(_) => break,
        }
    }
    for line in data.split(|&b| b == b'\n') {
        let _ = parse_scan_line(line);
        let _ = parse_uid_line(line);
        let _ = Capability::parse(&String::from_utf8_lossy(line));
    }
    let whole = decode_body(&[data]);
    let split = data.len() / 2;
    assert_eq!(decode_body(&[&data[..split], &data[split..]]), whole);
}
