//! What the app-facing crate reads from its caller: a server URL, and a
//! message whose header gives the envelope. Neither may panic; a URL that
//! parses names a server that parses back the same; a message without Bcc
//! goes out as given, after any Date and Message-ID added in front.
//!
//! The check itself is `sansmail_fuzz_checks::sansmail_input`, which `cargo test`
//! also runs on every input kept in `regressions/sansmail_input/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::sansmail_input::check(data));
