//! MTA-STS records and policies from any text: no panic, written values read back the same.
//!
//! The check itself is `sansmail_fuzz_checks::mta_sts`, which `cargo test`
//! also runs on every input kept in `regressions/mta_sts/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::mta_sts::check(data));
