//! Sans-IO sender authentication: SPF (RFC 7208), DKIM (RFC 6376, [`dkim`]), DMARC (RFC 7489,
//! [`dmarc`]), ARC (RFC 8617, [`arc`]) and Authentication-Results (RFC 8601, [`results`]);
//! with the `tokio` feature, a driver that asks DNS (`driver`). An
//! [`spf::SpfCheck`] asks its caller for DNS answers one question at a
//! time ([`dns::Question`] in, [`dns::Answer`] back) and ends with a
//! result. It does no I/O and reads no clock: the caller owns the
//! resolver, the deadlines (a query that times out is answered
//! [`dns::Answer::TempFail`]) and the time the `%{t}` macro reads.
//!
//! ```
//! use sansmail_auth::dns::{Answer, QueryKind, Record};
//! use sansmail_auth::spf::{SpfCheck, SpfResult, Step};
//!
//! let mut check = SpfCheck::mail_from("192.0.2.1".parse().unwrap(), "ann@example.org", "mx.example.org");
//! loop {
//!     match check.poll() {
//!         Step::Lookup(q) => {
//!             // A real caller asks its resolver; here the zone is one record.
//!             let answer = match (q.name.as_str(), q.kind) {
//!                 ("example.org", QueryKind::Txt) => Answer::records(vec![Record::Txt(b"v=spf1 ip4:192.0.2.0/24 -all".to_vec())]),
//!                 _ => Answer::NxDomain,
//!             };
//!             check.answer(q, answer);
//!         }
//!         Step::Done(outcome) => {
//!             assert_eq!(outcome.result, SpfResult::Pass);
//!             break;
//!         }
//!     }
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod arc;
pub mod dkim;
pub mod dmarc;
pub mod dns;
pub mod results;
pub mod spf;

#[cfg(feature = "tokio")]
pub mod driver;
