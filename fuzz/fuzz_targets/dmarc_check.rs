//! A DMARC check over any policy records: no panic, at most two lookups.
//!
//! The check itself is `sansmail_fuzz_checks::dmarc_check`, which `cargo test`
//! also runs on every input kept in `regressions/dmarc_check/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::dmarc_check::check(data));
