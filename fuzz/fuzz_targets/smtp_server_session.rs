//! A server session fed arbitrary chunked bytes never panics or loops, and
//! closes cleanly. The first bytes steer split sizes and the answers given.
//!
//! The check itself is `sansmail_fuzz_checks::smtp_server_session`, which `cargo test`
//! also runs on every input kept in `regressions/smtp_server_session/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::smtp_server_session::check(data));
