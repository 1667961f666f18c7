//! A client session fed arbitrary chunked server bytes never panics or loops.
//!
//! The check itself is `sansmail_fuzz_checks::smtp_client_session`, which `cargo test`
//! also runs on every input kept in `regressions/smtp_client_session/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::smtp_client_session::check(data));
