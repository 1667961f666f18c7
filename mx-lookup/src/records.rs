//! One DNS question in, its records out: the lookup machinery of [`Lookup`]
//! (retries across servers, TCP after truncation, CNAME chains, query and
//! chain limits) for callers that need TXT, A, AAAA, MX or PTR records,
//! such as sender authentication.

use std::net::SocketAddr;
use std::time::Instant;

use hickory_proto::rr::{RData, RecordType};

use crate::lookup::{Found, Lookup};
use crate::{Config, InputError, Output, Transport};

/// The texts of the TXT records among `records`, each record's
/// character-strings joined (RFC 7208 §3.3, RFC 8461 §3.1), read as UTF-8
/// with bad octets replaced.
pub fn txt_texts(records: &[RData]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            RData::TXT(txt) => Some(String::from_utf8_lossy(&txt.txt_data.concat()).into_owned()),
            _ => None,
        })
        .collect()
}

/// A lookup of one question. It ends with the records of the type asked
/// (after any CNAMEs; empty when the name exists without them), or an
/// [`crate::MxError`]: `NxDomain` when the name does not exist, the others
/// when no answer came this time.
///
/// ```
/// use std::time::Instant;
/// use hickory_proto::rr::RecordType;
/// use sansmail_mx::{Config, Output, RecordLookup};
///
/// let config = Config::new(vec!["127.0.0.1:53".parse().unwrap()], 7);
/// let mut lookup = RecordLookup::new("_dmarc.example.org", RecordType::TXT, config, Instant::now()).unwrap();
/// assert!(matches!(lookup.poll_output(), Output::Send(_)));
/// ```
#[derive(Debug)]
pub struct RecordLookup(Lookup);

impl RecordLookup {
    /// Starts asking for the `rtype` records of `name`. Names are DNS names,
    /// not only host names: `_dmarc.example.org` and `sel._domainkey.example.org`
    /// are fine. An empty label or a name over 255 octets is refused.
    pub fn new(
        name: &str,
        rtype: RecordType,
        config: Config,
        now: Instant,
    ) -> Result<Self, InputError> {
        Lookup::question(name, rtype, config, now).map(RecordLookup)
    }

    /// The name asked about, as A-labels.
    pub fn name(&self) -> &str {
        self.0.domain()
    }

    /// True when the resolver DNSSEC-validated the answer (the AD bit, on
    /// every response of the CNAME chain included); see [`Lookup::authenticated`].
    pub fn authenticated(&self) -> bool {
        self.0.authenticated()
    }

    /// Queries sent so far, retries included.
    pub fn queries_sent(&self) -> usize {
        self.0.queries_sent()
    }

    /// The next thing to do. Call after every input until it returns
    /// [`Output::Timeout`] or [`Output::Done`].
    pub fn poll_output(&mut self) -> Output<Vec<RData>> {
        match self.0.poll() {
            Output::Send(query) => Output::Send(query),
            Output::Timeout(deadline) => Output::Timeout(deadline),
            Output::Done(Ok(Found::Records(records))) => Output::Done(Ok(records)),
            Output::Done(Err(error)) => Output::Done(Err(error)),
            Output::Done(Ok(Found::Plan(_))) => unreachable!("a record lookup ends with records"),
        }
    }

    /// A DNS message arrived; see [`Lookup::handle_response`].
    pub fn handle_response(
        &mut self,
        now: Instant,
        server: SocketAddr,
        transport: Transport,
        message: &[u8],
    ) {
        self.0.handle_response(now, server, transport, message);
    }

    /// The deadline passed; see [`Lookup::handle_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        self.0.handle_timeout(now);
    }
}
