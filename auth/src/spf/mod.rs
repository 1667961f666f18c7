//! SPF (RFC 7208): is this client allowed to send mail for this domain?
//!
//! [`SpfCheck`] runs `check_host()` for the MAIL FROM or HELO identity.
//! It asks for one DNS answer at a time; each answer is kept, and the
//! evaluation runs again from the start with what it knows until it needs
//! nothing more (evaluations are small: at most 10 lookups, 10 MX and 10
//! PTR names, so replaying costs microseconds and keeps the state machine
//! a plain recursive reading of the RFC).

mod eval;
pub mod macros;
pub mod record;

pub use eval::{RecordCache, SpfCheck, SpfOutcome, SpfResult, Step};
pub use record::{Directive, DualCidr, Mechanism, Modifier, Qualifier, Record, RecordError, Term};
