//! The DATA unstuffer gives the same result however its input is split
//! (at every split point), and what it releases never holds a bare CR or LF.

use bytes::BytesMut;
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

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let whole = run(&[data]);
    assert_lines_are_whole(&whole);
    // Every split point for inputs a fuzzer makes; long ones at the first,
    // middle and last few.
    let splits: Vec<usize> = if data.len() <= 1024 {
        (0..=data.len()).collect()
    } else {
        let n = data.len();
        [0, 1, 2, n / 2, n - 2, n - 1, n].to_vec()
    };
    for at in splits {
        let split = run(&[&data[..at], &data[at..]]);
        // The outcome never depends on the split; the message does whenever
        // it ended properly (before an error, what was released may differ).
        assert_eq!(whole.1, split.1, "split at {at}");
        if whole.1 == Some(DataStep::End) {
            assert_eq!(whole.0, split.0, "split at {at}");
        }
        assert_lines_are_whole(&split);
    }
}

/// What was released holds no bare CR or LF, not even across chunks or at
/// the end; a body that ended properly ends with CRLF (or is empty).
fn assert_lines_are_whole((out, end): &(Vec<u8>, Option<DataStep>)) {
    for (i, &b) in out.iter().enumerate() {
        match b {
            b'\r' => assert!(
                out.get(i + 1) == Some(&b'\n') || (i + 1 == out.len() && end.is_none()),
                "bare CR at {i}"
            ),
            b'\n' => assert!(i > 0 && out[i - 1] == b'\r', "bare LF at {i}"),
            _ => {}
        }
    }
    if *end == Some(DataStep::End) {
        assert!(out.is_empty() || out.ends_with(b"\r\n"));
    }
}
