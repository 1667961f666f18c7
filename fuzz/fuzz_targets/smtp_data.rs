//! The DATA unstuffer gives the same result however its input is split.
//!
//! The check itself is `sansmail_fuzz_checks::smtp_data`, which `cargo test`
//! also runs on every input kept in `regressions/smtp_data/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::smtp_data::check(data));
