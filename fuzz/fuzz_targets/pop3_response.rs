//! POP3 status lines, listing lines and multi-line bodies on arbitrary bytes:
//! no panic, responses round-trip, and a body decodes the same in one piece
//! as split in two.
//!
//! The check itself is `sansmail_fuzz_checks::pop3_response`, which `cargo test`
//! also runs on every input kept in `regressions/pop3_response/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::pop3_response::check(data));
