//! IMAP commands on arbitrary bytes: no panic, every parsed command writes
//! and parses back to itself, and parsing stops (never loops) on any input.
//!
//! The check itself is `sansmail_fuzz_checks::imap_command`, which `cargo test`
//! also runs on every input kept in `regressions/imap_command/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::imap_command::check(data));
