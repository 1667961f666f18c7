//! What an idle server session holds: the session struct plus whatever heap
//! it keeps between commands (target: under 4 KiB).
// The tests play the application, which owns the clock.
#![allow(clippy::disallowed_methods)]

use std::alloc::System;
use std::time::Instant;

use sansmail_smtp::Output;
use sansmail_smtp::server::{Config, Session};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn drain(session: &mut Session) {
    loop {
        match session.poll_output() {
            Output::Event(e) => {
                if let Some(t) = e.ticket() {
                    session.accept(Instant::now(), t).unwrap();
                }
            }
            Output::Transmit(_) => {}
            Output::Timeout(_) | Output::Closed | Output::StartTls => return,
        }
    }
}

#[test]
fn idle_session_holds_under_4_kib() {
    let now = Instant::now();
    // A whole transaction with a 256 KiB body, in 16 KiB reads, then idle.
    let mut input =
        b"EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
            .to_vec();
    while input.len() < 256 * 1024 {
        input.extend_from_slice(
            b"a line of message text that is about as long as the usual line is\r\n",
        );
    }
    input.extend_from_slice(b".\r\nNOOP\r\n");
    let region = Region::new(GLOBAL);
    let mut session = Session::new(Config::default(), now);
    drain(&mut session);
    for read in input.chunks(16 * 1024) {
        session.handle_input(now, read);
        drain(&mut session);
    }
    let change = region.change();
    let heap = change.bytes_allocated as isize - change.bytes_deallocated as isize;
    let total = heap + std::mem::size_of::<Session>() as isize;
    eprintln!(
        "idle session: {} bytes struct + {heap} bytes heap = {total}",
        std::mem::size_of::<Session>()
    );
    assert!(total < 4096, "an idle session holds {total} bytes");
    // Still working.
    session.handle_input(now, b"QUIT\r\n");
    drain(&mut session);
}
