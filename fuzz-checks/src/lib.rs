//! The properties the fuzz targets check, one module per target, in plain
//! Rust: `fuzz/fuzz_targets/<name>.rs` runs `<name>::check` under
//! libFuzzer, and `tests/regressions.rs` runs it on every input kept in
//! `fuzz/regressions/<name>/`, so `cargo test` on stable replays them.
#![forbid(unsafe_code)]

mod pieces;

pub mod arc_verify;
pub mod auth_results;
pub mod dkim_verify;
pub mod dmarc_check;
pub mod dmarc_record;
pub mod imap_client_session;
pub mod imap_command;
pub mod imap_response;
pub mod imap_server_session;
pub mod jmap_api;
pub mod jmap_request;
pub mod mail_server_input;
pub mod mime_parse;
pub mod mime_rebuild;
pub mod mime_stream;
pub mod mta_sts;
pub mod mx_lookup;
pub mod pgp_mime;
pub mod pop3_client_session;
pub mod pop3_command;
pub mod pop3_response;
pub mod pop3_server_session;
pub mod sansmail_input;
pub mod sasl_server;
pub mod smime;
pub mod smtp_client_session;
pub mod smtp_command;
pub mod smtp_data;
pub mod smtp_reply;
pub mod smtp_server_session;
pub mod spf_check;
pub mod spf_record;
pub mod store_files;
pub mod tls_rpt;
