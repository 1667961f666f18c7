//! An SPF check over a zone made from the input: no panic, each question once, bounded, ends.
//!
//! The check itself is `sansmail_fuzz_checks::spf_check`, which `cargo test`
//! also runs on every input kept in `regressions/spf_check/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::spf_check::check(data));
