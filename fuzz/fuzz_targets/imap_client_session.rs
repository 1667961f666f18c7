//! The IMAP client session fed an arbitrary server in arbitrary chunks:
//! no panic, no hang; once ready it keeps issuing commands.
//!
//! The check itself is `sansmail_fuzz_checks::imap_client_session`, which `cargo test`
//! also runs on every input kept in `regressions/imap_client_session/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::imap_client_session::check(data));
