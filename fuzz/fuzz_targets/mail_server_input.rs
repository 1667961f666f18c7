//! What mail-server reads from outside its sessions: its configuration
//! file, spamd's answers, queue envelopes after a crash, and recipient
//! addresses. None may panic; a spamd answer never turns into header
//! fields that could break out of their lines; an address is delivered
//! locally only when its local part is a plain name.
//!
//! The check itself is `sansmail_fuzz_checks::mail_server_input`, which `cargo test`
//! also runs on every input kept in `regressions/mail_server_input/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::mail_server_input::check(data));
