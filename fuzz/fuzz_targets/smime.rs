//! S/MIME verification and decryption, and certificates, from any input: no panic.
//!
//! The check itself is `sansmail_fuzz_checks::smime`, which `cargo test`
//! also runs on every input kept in `regressions/smime/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::smime::check(data));
