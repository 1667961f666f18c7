//! Authentication-Results values: parsing never panics and values round-trip.
//!
//! The check itself is `sansmail_fuzz_checks::auth_results`, which `cargo test`
//! also runs on every input kept in `regressions/auth_results/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::auth_results::check(data));
