//! Parse -> build -> parse: a message rebuilt from what the parser read
//! (subject, leaf types, file names, decoded bodies) parses back to the same.
//!
//! The check itself is `sansmail_fuzz_checks::mime_rebuild`, which `cargo test`
//! also runs on every input kept in `regressions/mime_rebuild/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::mime_rebuild::check(data));
