//! A POP3 server session fed arbitrary chunked bytes never panics or loops,
//! and closes cleanly. The first byte steers the configuration and answers.
//!
//! The check itself is `sansmail_fuzz_checks::pop3_server_session`, which `cargo test`
//! also runs on every input kept in `regressions/pop3_server_session/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::pop3_server_session::check(data));
