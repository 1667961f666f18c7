//! Shared pieces of the example binaries: TLS set-up, a stream that can be
//! upgraded in place, maildir delivery, and small command-line helpers.

pub mod args;
pub mod listen;
pub mod maildir;
pub mod mailstore;
pub mod stream;
pub mod tls;
