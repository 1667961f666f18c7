//! One pass of each command parser over a buffer of command lines, shared
//! by the benchmark and the timing examples so that they time the same
//! work (the benchmark crate's library has no dependencies to hold it).

use std::hint::black_box;

use sansmail_smtp::codec::Command;

/// Our borrowed form over every command of `input`; how many it read.
pub(crate) fn borrowed_commands(input: &[u8]) -> usize {
    let mut rest = input;
    let mut n = 0;
    while !rest.is_empty() {
        let (r, cmd) = Command::decode_borrowed(rest, 4096).expect("valid input");
        black_box(cmd);
        rest = r;
        n += 1;
    }
    n
}

/// smtp-proto over every command of `input`; how many it read.
pub(crate) fn stalwart_commands(input: &[u8]) -> usize {
    let mut it = input.iter();
    let mut n = 0;
    while it.len() > 0 {
        black_box(stalwart_smtp_proto::Request::parse(&mut it).expect("valid input"));
        n += 1;
    }
    n
}
