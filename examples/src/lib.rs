//! Shared pieces of the example binaries: TLS set-up, a stream that can be
//! upgraded in place, maildir delivery, and small command-line helpers.

pub mod accounts;
pub mod args;
pub mod imap_service;
pub mod listen;
pub mod mail_server;
pub mod maildir;
pub mod mailstore;
pub mod pop3_service;
pub mod stream;
pub mod tls;
