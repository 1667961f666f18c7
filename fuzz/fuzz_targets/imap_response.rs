//! IMAP responses on arbitrary bytes: no panic, every parsed response writes
//! and parses back to itself, and parsing stops (never loops) on any input.
//!
//! The check itself is `sansmail_fuzz_checks::imap_response`, which `cargo test`
//! also runs on every input kept in `regressions/imap_response/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::imap_response::check(data));
