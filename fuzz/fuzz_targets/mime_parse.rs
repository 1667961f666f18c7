//! Message structure on arbitrary bytes: no panic, every range inside the
//! input and in order, sections for every leaf; decoding, typed headers,
//! the body view and the defect scan never panic either.
//!
//! The check itself is `sansmail_fuzz_checks::mime_parse`, which `cargo test`
//! also runs on every input kept in `regressions/mime_parse/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::mime_parse::check(data));
