//! The DATA unstuffer gives the same result however its input is split.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sansmail_smtp::data::{DataStep, DotUnstuffer};

fn run(pieces: &[&[u8]]) -> (Vec<u8>, Option<DataStep>) {
    let mut buf = BytesMut::new();
    let mut dec = DotUnstuffer::new();
    let mut out = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match dec.decode(&mut buf) {
                DataStep::Chunk(c) => out.extend_from_slice(&c),
                DataStep::NeedMore => break,
                end => return (out, Some(end)),
            }
        }
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let at = usize::from(split) % (body.len() + 1);
    let whole = run(&[body]);
    let split_run = run(&[&body[..at], &body[at..]]);
    // The outcome never depends on the split; the message does whenever it
    // ended properly (before an error, what was released may differ).
    assert_eq!(whole.1, split_run.1);
    if whole.1 == Some(DataStep::End) {
        assert_eq!(whole.0, split_run.0);
    }
    // Nothing released ever contains a bare line ending.
    for w in whole.0.windows(2) {
        assert!(!(w[0] == b'\r' && w[1] != b'\n'));
    }
});
