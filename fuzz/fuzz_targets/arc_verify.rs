//! ARC verification and sealing of any message: no panic, bounded lookups, our seals verify.
//!
//! The check itself is `sansmail_fuzz_checks::arc_verify`, which `cargo test`
//! also runs on every input kept in `regressions/arc_verify/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::arc_verify::check(data));
