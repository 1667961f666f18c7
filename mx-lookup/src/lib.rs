//! Sans-IO MX resolution: a recipient domain in, an ordered delivery plan
//! out (RFC 5321 §5.1), on `hickory-proto`'s DNS message codec.
//!
//! A [`Lookup`] asks its driver to send queries (UDP, and TCP after a
//! truncated response), takes the responses and timeouts, retries across
//! the configured name servers, and ends with a [`DeliveryPlan`] (MX hosts
//! by preference, equal preferences in seeded random order, each with its
//! addresses; or the domain itself as implicit MX) or an [`MxError`] that
//! says whether a queue should bounce or retry. A [`RecordLookup`] asks
//! one question (TXT, A, AAAA, MX, PTR, ...) with the same machinery;
//! [`mta_sts`] reads MTA-STS records and policies (RFC 8461). It
//! does no I/O, reads no clock and draws no randomness of its own.
//!
//! ```
//! use std::time::Instant;
//! use sansmail_mx::{Config, Lookup, Output};
//!
//! let now = Instant::now();
//! let config = Config::new(vec!["127.0.0.1:53".parse().unwrap()], 42);
//! let mut lookup = Lookup::new("example.org", config, now).unwrap();
//! let Output::Send(query) = lookup.poll_output() else { unreachable!() };
//! // A real driver sends `query.bytes` to `query.server` and feeds the
//! // response to `handle_response`; here the server never answers.
//! let Output::Timeout(deadline) = lookup.poll_output() else { unreachable!() };
//! let mut at = deadline;
//! loop {
//!     lookup.handle_timeout(at);
//!     match lookup.poll_output() {
//!         Output::Send(_) => {}
//!         Output::Timeout(next) => at = next,
//!         Output::Done(result) => {
//!             let error = result.unwrap_err();
//!             assert!(!error.is_permanent(), "a timeout is worth a retry later");
//!             break;
//!         }
//!     }
//! }
//! # let _ = query;
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod lookup;
pub mod mta_sts;
mod plan;
mod records;
pub mod tls_rpt;

#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "tokio")]
pub mod driver;
#[cfg(any(feature = "blocking", feature = "tokio"))]
mod system;

pub use config::{Config, FamilyOrder};
/// The DNS types a [`RecordLookup`] is asked for and answers with (`hickory-proto`'s).
pub use hickory_proto::rr::{Name, RData, RecordType};
pub use lookup::{Lookup, Output, Query, Transport};
pub use plan::{DeliveryPlan, InputError, MxError, MxHost};
pub use records::{RecordLookup, txt_texts};
