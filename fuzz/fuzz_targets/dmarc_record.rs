//! DMARC records: parsing never panics and records round-trip.
//!
//! The check itself is `sansmail_fuzz_checks::dmarc_record`, which `cargo test`
//! also runs on every input kept in `regressions/dmarc_record/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::dmarc_record::check(data));
