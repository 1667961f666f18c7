//! Command decoding on arbitrary bytes, decode → write → decode round-trips,
//! and the borrowed form reading every input as the owned form does.
//!
//! The check itself is `sansmail_fuzz_checks::smtp_command`, which `cargo test`
//! also runs on every input kept in `regressions/smtp_command/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::smtp_command::check(data));
