//! The server side of a SASL exchange on arbitrary lines: no panic, it
//! never asks for a line once it has finished, credentials come only from
//! a well-formed exchange, and what a client encodes decodes back.
//!
//! The check itself is `sansmail_fuzz_checks::sasl_server`, which `cargo test`
//! also runs on every input kept in `regressions/sasl_server/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansmail_fuzz_checks::sasl_server::check(data));
