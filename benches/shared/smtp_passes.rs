//! One pass of each parser over a buffer of command lines, of replies
//! or a DATA body, shared by the benchmark and the timing examples so that they time
//! the same work (the benchmark crate's library has no dependencies to
//! hold it).

use std::hint::black_box;

use bytes::BytesMut;
use sansmail_smtp::codec::{BorrowedReply, Command};
use sansmail_smtp::data::{DataStep, DotUnstuffer};
use sansmail_smtp::types::Reply;

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

/// Our owned replies over every reply of `input`; how many it read.
pub(crate) fn owned_replies(input: &[u8]) -> usize {
    let mut rest = input;
    let mut n = 0;
    while !rest.is_empty() {
        let (r, reply) = Reply::decode(rest).expect("valid input");
        black_box(reply);
        rest = r;
        n += 1;
    }
    n
}

/// Our borrowed replies over every reply of `input`; how many it read.
pub(crate) fn borrowed_replies(input: &[u8]) -> usize {
    let mut rest = input;
    let mut n = 0;
    while !rest.is_empty() {
        let (r, reply) = BorrowedReply::decode(rest, 64 * 1024).expect("valid input");
        black_box(reply);
        rest = r;
        n += 1;
    }
    n
}

/// smtp-proto over every reply of `input`; how many it read.
pub(crate) fn stalwart_replies(input: &[u8]) -> usize {
    let mut it = input.iter();
    let mut receiver = stalwart_smtp_proto::response::parser::ResponseReceiver::default();
    let mut n = 0;
    while it.len() > 0 {
        black_box(receiver.parse(&mut it).expect("valid input"));
        receiver.reset();
        n += 1;
    }
    n
}

/// The body already in the receive buffer (as one socket read left it),
/// unstuffed in place: how many octets it gave. The emptied buffer is
/// given back, so freeing it is not timed (smtp-proto's output buffer is
/// reused, never freed, in its run).
pub(crate) fn unstuff_in_place(mut buf: BytesMut) -> (usize, BytesMut) {
    let mut dec = DotUnstuffer::new();
    let mut total = 0;
    loop {
        match dec.decode(&mut buf) {
            DataStep::Chunk(c) => total += black_box(c).len(),
            DataStep::End => return (total, buf),
            DataStep::NeedMore | DataStep::BareLineEnding => panic!("bad input"),
        }
    }
}
