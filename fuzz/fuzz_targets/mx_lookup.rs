//! Arbitrary bytes as DNS responses to a lookup in progress: no panic, no
//! endless loop, never more queries than the bound, and always an end;
//! arbitrary domains are refused or looked up, never a panic.
//!
//! The check itself is `sansmail_fuzz_checks::mx_lookup`, which `cargo test`
//! also runs on every input kept in `regressions/mx_lookup/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::mx_lookup::check(data));
