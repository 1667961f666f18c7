//! Pieces shared by the sansmail protocol crates: the sessions' [`Output`],
//! SASL mechanisms and credentials, a redacting [`Secret`], strict CRLF line framing, and dot
//! transparency (SMTP DATA, POP3 multi-line responses).
#![deny(unsafe_code)] // one allowed module: dot::wide, see there
#![deny(missing_docs)]

pub mod dot;
#[cfg(feature = "tokio")]
pub mod driver;
pub mod line;
mod output;
pub mod pair;
pub mod sasl;
mod secret;
mod session;

pub use output::Output;
pub use secret::Secret;
pub use session::SessionIo;
