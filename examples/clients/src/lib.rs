//! What the example programs share: command-line parsing and logging,
//! client TLS (which certificates to trust), and a client connection that
//! can start TLS later.

pub mod args;
pub mod stream;
pub mod tls;
