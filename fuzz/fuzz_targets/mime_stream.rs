//! The incremental parser against the whole-message parser: the first
//! octets choose chunk sizes, the rest is the message; the outline, the
//! defects and every body octet must be the same.
//!
//! The check itself is `sansmail_fuzz_checks::mime_stream`, which `cargo test`
//! also runs on every input kept in `regressions/mime_stream/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::mime_stream::check(data));
