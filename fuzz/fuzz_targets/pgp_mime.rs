//! PGP/MIME verification and decryption, and Autocrypt headers, from any input: no panic.
//!
//! The check itself is `sansmail_fuzz_checks::pgp_mime`, which `cargo test`
//! also runs on every input kept in `regressions/pgp_mime/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::pgp_mime::check(data));
