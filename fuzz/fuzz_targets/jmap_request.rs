//! JMAP request bodies from any bytes: no panic, requests written back read the same, references resolve without panic.
//!
//! The check itself is `sansmail_fuzz_checks::jmap_request`, which `cargo test`
//! also runs on every input kept in `regressions/jmap_request/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::jmap_request::check(data));
