//! The maildir backend's files as other programs (or a crash) may leave
//! them: journals, UID lists, subscriptions, keyword tables, file names.
//! Nothing panics, and what parses writes back to the same.
//!
//! The check itself is `sansmail_fuzz_checks::store_files`, which `cargo test`
//! also runs on every input kept in `regressions/store_files/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::store_files::check(data));
