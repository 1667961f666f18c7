//! TLSRPT records and JSON reports from any text: no panic, written values read back the same.
//!
//! The check itself is `sansmail_fuzz_checks::tls_rpt`, which `cargo test`
//! also runs on every input kept in `regressions/tls_rpt/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::tls_rpt::check(data));
