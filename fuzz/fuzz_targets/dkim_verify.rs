//! DKIM verification of any message: no panic, bounded lookups and signatures.
//!
//! The check itself is `sansmail_fuzz_checks::dkim_verify`, which `cargo test`
//! also runs on every input kept in `regressions/dkim_verify/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::dkim_verify::check(data));
