//! The IMAP server session fed arbitrary bytes in arbitrary chunks, with an
//! application that accepts logins and answers every command: no panic, no
//! hang, and every answer the application gives is accepted in turn.
//!
//! The check itself is `sansmail_fuzz_checks::imap_server_session`, which `cargo test`
//! also runs on every input kept in `regressions/imap_server_session/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::imap_server_session::check(data));
