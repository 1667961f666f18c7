//! JMAP requests run against a real account: no panic, a response for every call.
//!
//! The check itself is `sansmail_fuzz_checks::jmap_api`, which `cargo test`
//! also runs on every input kept in `regressions/jmap_api/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::jmap_api::check(data));
