//! A POP3 client session fed arbitrary chunked server bytes never panics or
//! loops, and ends closed after EOF. The first byte steers the configuration.
//!
//! The check itself is `sansmail_fuzz_checks::pop3_client_session`, which `cargo test`
//! also runs on every input kept in `regressions/pop3_client_session/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::pop3_client_session::check(data));
