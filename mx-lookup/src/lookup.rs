//! The resolver state machine: one recipient domain in, a delivery plan
//! out; or, for [`crate::RecordLookup`], one question in, its records out.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;
use hickory_proto::op::{Edns, Message, MessageType, Query as Question, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::config::{Config, FamilyOrder};
use crate::plan::{DeliveryPlan, InputError, MxError, MxHost};

/// How a query travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// A UDP datagram.
    Udp,
    /// A TCP connection (RFC 7766); the bytes carry the 2-octet length prefix.
    Tcp,
}

/// A query for the caller to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The name server.
    pub server: SocketAddr,
    /// UDP, or TCP after a truncated response.
    pub transport: Transport,
    /// The DNS message id.
    pub id: u16,
    /// The bytes to send as they are (over TCP, the length prefix included).
    pub bytes: Bytes,
}

/// What a lookup asks of its driver; `R` is what it ends with (a
/// [`DeliveryPlan`] for [`Lookup`], records for [`crate::RecordLookup`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Output<R = DeliveryPlan> {
    /// Send this query, then give the response to `handle_response`.
    Send(Query),
    /// Nothing more until a response arrives or this deadline passes (then call `handle_timeout`).
    Timeout(Instant),
    /// The lookup is over.
    Done(Result<R, MxError>),
}

/// What a finished lookup found.
#[derive(Clone, Debug)]
pub(crate) enum Found {
    Plan(DeliveryPlan),
    Records(Vec<RData>),
}

/// Why one query gave no usable answer.
#[derive(Clone, Debug)]
enum Failure {
    Server(ResponseCode),
    Timeout,
    Truncated,
    Malformed(String),
}

/// What one query is for.
#[derive(Clone, Copy, Debug)]
enum Purpose {
    Mx,
    Address {
        host: usize,
    },
    /// The one question of a record lookup.
    Records,
}

/// A question being resolved: the name (after any CNAME hops) and type.
#[derive(Clone, Debug)]
struct Task {
    name: Name,
    rtype: RecordType,
    purpose: Purpose,
    /// CNAME hops taken so far.
    depth: usize,
}

#[derive(Debug)]
struct InFlight {
    id: u16,
    task: Task,
    tries: usize,
    server: usize,
    transport: Transport,
    deadline: Instant,
}

/// What a response said about the question, after following CNAMEs in it.
enum Answer {
    Records(Vec<Record>),
    /// The chain ended at this name, with no record of the type: ask again there.
    Alias(Name, usize),
    NoData,
    NxDomain,
}

#[derive(Debug)]
struct HostState {
    preference: u16,
    name: Name,
    addresses: Vec<IpAddr>,
    pending: usize,
    failure: Option<MxError>,
}

/// One MX lookup. See the crate docs for the driving loop.
#[derive(Debug)]
pub struct Lookup {
    config: Config,
    domain: Name,
    domain_text: String,
    rng: u64,
    sent: usize,
    in_flight: Vec<InFlight>,
    outbox: VecDeque<Query>,
    hosts: Vec<HostState>,
    implicit: bool,
    /// Every response the answer rests on had the AD bit so far.
    authenticated: bool,
    result: Option<Result<Found, MxError>>,
}

impl Lookup {
    /// Starts looking up `domain` (U-labels are converted to A-labels). A
    /// name that is not a host name, an address literal or a name over 255
    /// octets is refused before any query.
    pub fn new(domain: &str, config: Config, now: Instant) -> Result<Self, InputError> {
        let domain = parse_domain(domain)?;
        Self::start_with(domain, RecordType::MX, Purpose::Mx, config, now)
    }

    /// Starts asking for the `rtype` records of `name`, any DNS name
    /// (underscores and other octets included, as SPF and DKIM need).
    pub(crate) fn question(
        name: &str,
        rtype: RecordType,
        config: Config,
        now: Instant,
    ) -> Result<Self, InputError> {
        let name = parse_query_name(name)?;
        Self::start_with(name, rtype, Purpose::Records, config, now)
    }

    fn start_with(
        domain: Name,
        rtype: RecordType,
        purpose: Purpose,
        config: Config,
        now: Instant,
    ) -> Result<Self, InputError> {
        if config.nameservers.is_empty() {
            return Err(InputError::NoNameServers);
        }
        let domain_text = text(&domain);
        let mut lookup = Lookup {
            rng: config.seed ^ 0x9e37_79b9_7f4a_7c15,
            config,
            domain: domain.clone(),
            domain_text,
            sent: 0,
            in_flight: Vec::new(),
            outbox: VecDeque::new(),
            hosts: Vec::new(),
            implicit: false,
            authenticated: true,
            result: None,
        };
        lookup.start(
            Task {
                name: domain,
                rtype,
                purpose,
                depth: 0,
            },
            now,
        );
        Ok(lookup)
    }

    /// The domain being looked up, as A-labels.
    pub fn domain(&self) -> &str {
        &self.domain_text
    }

    /// Queries sent so far, retries included.
    pub fn queries_sent(&self) -> usize {
        self.sent
    }

    /// True when every response the answer rests on came with the AD bit:
    /// the resolver validated it with DNSSEC (RFC 4035 §3.2.3). Trust it
    /// only from a validating resolver on a path you trust, such as one on
    /// loopback. Meaningful once the lookup is done.
    pub fn authenticated(&self) -> bool {
        self.authenticated
    }

    /// The next thing to do. Call after every input until it returns
    /// [`Output::Timeout`] or [`Output::Done`].
    pub fn poll_output(&mut self) -> Output {
        match self.poll() {
            Output::Send(query) => Output::Send(query),
            Output::Timeout(deadline) => Output::Timeout(deadline),
            Output::Done(Ok(Found::Plan(plan))) => Output::Done(Ok(plan)),
            Output::Done(Err(error)) => Output::Done(Err(error)),
            Output::Done(Ok(Found::Records(_))) => unreachable!("an MX lookup ends with a plan"),
        }
    }

    /// The next thing to do, whatever kind of lookup this is.
    pub(crate) fn poll(&mut self) -> Output<Found> {
        if let Some(result) = &self.result {
            return Output::Done(result.clone());
        }
        if let Some(query) = self.outbox.pop_front() {
            return Output::Send(query);
        }
        match self.in_flight.iter().map(|f| f.deadline).min() {
            Some(deadline) => Output::Timeout(deadline),
            // Nothing in flight and no result cannot happen; end rather than wait forever.
            None => {
                self.finish(Err(MxError::Malformed {
                    name: self.domain_text.clone(),
                    detail: "lookup stalled".into(),
                }));
                self.poll()
            }
        }
    }

    /// A DNS message arrived from `server` over `transport` (for TCP, without
    /// its length prefix). Messages that answer no query in flight are ignored.
    pub fn handle_response(
        &mut self,
        now: Instant,
        server: SocketAddr,
        transport: Transport,
        message: &[u8],
    ) {
        if self.result.is_some() || message.len() < 2 {
            return;
        }
        let id = u16::from_be_bytes([message[0], message[1]]);
        let Some(index) = self.in_flight.iter().position(|f| {
            f.id == id && f.transport == transport && self.config.nameservers[f.server] == server
        }) else {
            return;
        };
        let flight = self.in_flight.swap_remove(index);
        let parsed = match Message::from_vec(message) {
            Ok(m) => m,
            Err(e) => return self.retry(flight, Failure::Malformed(e.to_string()), now),
        };
        if parsed.metadata.message_type != MessageType::Response {
            return self.retry(flight, Failure::Malformed("not a response".into()), now);
        }
        let asked = parsed
            .queries
            .first()
            .is_some_and(|q| q.name() == &flight.task.name && q.query_type() == flight.task.rtype);
        if parsed.queries.len() != 1 || !asked {
            return self.retry(
                flight,
                Failure::Malformed("response to another question".into()),
                now,
            );
        }
        if parsed.metadata.truncation {
            return match transport {
                Transport::Udp if self.config.tcp => self.resend(flight, Transport::Tcp, now),
                _ => self.task_failed(flight.task, Failure::Truncated, now),
            };
        }
        let rcode = parsed.metadata.response_code;
        if rcode != ResponseCode::NoError && rcode != ResponseCode::NXDomain {
            return self.retry(flight, Failure::Server(rcode), now);
        }
        // The MX (or asked) records and, for the implicit MX, the domain's
        // own addresses: what DANE needs to be DNSSEC-authenticated.
        let counts = match flight.task.purpose {
            Purpose::Mx | Purpose::Records => true,
            Purpose::Address { .. } => self.implicit,
        };
        if counts {
            self.authenticated &= parsed.metadata.authentic_data;
        }
        let answer = follow(&parsed, &flight.task);
        self.on_answer(flight.task, answer, &parsed.additionals, now);
    }

    /// The deadline from [`Output::Timeout`] passed: queries past theirs are retried.
    pub fn handle_timeout(&mut self, now: Instant) {
        while self.result.is_none() {
            let Some(index) = self.in_flight.iter().position(|f| f.deadline <= now) else {
                break;
            };
            let flight = self.in_flight.swap_remove(index);
            self.retry(flight, Failure::Timeout, now);
        }
    }

    fn next_random(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn start(&mut self, task: Task, now: Instant) {
        self.send(task, 0, Transport::Udp, now);
    }

    /// Queues a query for `task` to server number `tries % servers`.
    fn send(&mut self, task: Task, tries: usize, transport: Transport, now: Instant) {
        if self.sent >= self.config.max_queries {
            return self.finish(Err(MxError::QueryLimit {
                domain: self.domain_text.clone(),
            }));
        }
        let server = tries % self.config.nameservers.len();
        let id = (self.next_random() & 0xffff) as u16;
        let bytes = match encode(id, &task, self.config.udp_payload_size, transport) {
            Ok(b) => b,
            Err(detail) => {
                let name = text(&task.name);
                return self.finish(Err(MxError::Malformed { name, detail }));
            }
        };
        self.sent += 1;
        self.outbox.push_back(Query {
            server: self.config.nameservers[server],
            transport,
            id,
            bytes,
        });
        self.in_flight.push(InFlight {
            id,
            task,
            tries,
            server,
            transport,
            deadline: now + self.config.timeout,
        });
    }

    fn resend(&mut self, flight: InFlight, transport: Transport, now: Instant) {
        self.send(flight.task, flight.server, transport, now);
    }

    /// Tries the next server, or gives the task up after `attempts` rounds.
    fn retry(&mut self, flight: InFlight, failure: Failure, now: Instant) {
        let tries = flight.tries + 1;
        if tries >= self.config.attempts.max(1) * self.config.nameservers.len() {
            return self.task_failed(flight.task, failure, now);
        }
        self.send(flight.task, tries, Transport::Udp, now);
    }

    fn task_failed(&mut self, task: Task, failure: Failure, now: Instant) {
        let name = text(&task.name);
        let error = match failure {
            Failure::Server(rcode) => MxError::ServerFailure {
                name,
                rcode: rcode.to_string(),
            },
            Failure::Timeout => MxError::Timeout { name },
            Failure::Truncated => MxError::Truncated { name },
            Failure::Malformed(detail) => MxError::Malformed { name, detail },
        };
        match task.purpose {
            Purpose::Mx | Purpose::Records => self.finish(Err(error)),
            Purpose::Address { host } => {
                let state = &mut self.hosts[host];
                state.failure.get_or_insert(error);
                state.pending -= 1;
                self.maybe_finish_hosts(now);
            }
        }
    }

    fn on_answer(&mut self, task: Task, answer: Answer, additionals: &[Record], now: Instant) {
        match (task.purpose, answer) {
            (_, Answer::Alias(target, hops)) => {
                let depth = task.depth + hops;
                if depth > self.config.max_cname_chain {
                    return self.task_failed(
                        task,
                        Failure::Malformed("CNAME chain too long".into()),
                        now,
                    );
                }
                let next = Task {
                    name: target,
                    depth,
                    ..task
                };
                self.start(next, now);
            }
            (Purpose::Mx | Purpose::Records, Answer::NxDomain) => {
                self.finish(Err(MxError::NxDomain {
                    domain: self.domain_text.clone(),
                }))
            }
            (Purpose::Records, Answer::NoData) => self.finish(Ok(Found::Records(Vec::new()))),
            (Purpose::Records, Answer::Records(records)) => {
                let data = records.into_iter().map(|r| r.data).collect();
                self.finish(Ok(Found::Records(data)));
            }
            (Purpose::Mx, Answer::NoData) => {
                self.implicit = true;
                let domain = self.domain.clone();
                self.resolve_hosts(vec![(0, domain)], additionals, now);
            }
            (Purpose::Mx, Answer::Records(records)) => {
                let mut exchanges: Vec<(u16, Name)> = records
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::MX(mx) => Some((mx.preference, mx.exchange.clone())),
                        _ => None,
                    })
                    .collect();
                // RFC 7505: a lone "0 ." means no mail; beside other MX it is ignored.
                let null = exchanges.iter().any(|(_, e)| e.is_root());
                exchanges.retain(|(_, e)| !e.is_root());
                if exchanges.is_empty() && null {
                    return self.finish(Err(MxError::NullMx {
                        domain: self.domain_text.clone(),
                    }));
                }
                if exchanges.is_empty() {
                    // MX records that are not MX: nothing to use, as if NODATA.
                    self.implicit = true;
                    let domain = self.domain.clone();
                    return self.resolve_hosts(vec![(0, domain)], additionals, now);
                }
                self.resolve_hosts(exchanges, additionals, now);
            }
            (Purpose::Address { host }, answer) => {
                if let Answer::Records(records) = answer {
                    let state = &mut self.hosts[host];
                    for r in records {
                        let addr = match r.data {
                            RData::A(a) => IpAddr::V4(a.0),
                            RData::AAAA(a) => IpAddr::V6(a.0),
                            _ => continue,
                        };
                        if !state.addresses.contains(&addr) {
                            state.addresses.push(addr);
                        }
                    }
                }
                self.hosts[host].pending -= 1;
                self.maybe_finish_hosts(now);
            }
        }
    }

    /// Orders the exchanges, applies the local-host rule, and asks for the addresses.
    fn resolve_hosts(
        &mut self,
        mut exchanges: Vec<(u16, Name)>,
        additionals: &[Record],
        now: Instant,
    ) {
        exchanges.sort_by_key(|(p, _)| *p);
        // Equal preferences in random order (RFC 5321 §5.1), from the seed.
        let mut start = 0;
        while start < exchanges.len() {
            let pref = exchanges[start].0;
            let end = start
                + exchanges[start..]
                    .iter()
                    .take_while(|(p, _)| *p == pref)
                    .count();
            for i in (start + 1..end).rev() {
                let j = start + (self.next_random() % (i - start + 1) as u64) as usize;
                exchanges.swap(i, j);
            }
            start = end;
        }
        // RFC 5321 §5.1: drop our own name and every MX not more preferred.
        if let Some(own) = exchanges
            .iter()
            .find(|(_, name)| self.is_local(name))
            .map(|(p, _)| *p)
        {
            exchanges.retain(|(p, _)| *p < own);
            if exchanges.is_empty() {
                return self.finish(Err(MxError::LocalHostIsBestMx {
                    domain: self.domain_text.clone(),
                }));
            }
        }
        let mut seen: Vec<Name> = Vec::new();
        exchanges.retain(|(_, n)| {
            let fresh = !seen.contains(n);
            seen.push(n.clone());
            fresh
        });
        exchanges.truncate(self.config.max_mx_hosts.max(1));
        let order = self.config.family_order;
        let mut tasks = Vec::new();
        for (preference, name) in exchanges {
            let host = self.hosts.len();
            let mut state = HostState {
                preference,
                name: name.clone(),
                addresses: Vec::new(),
                pending: 0,
                failure: None,
            };
            for (rtype, wanted) in [
                (RecordType::A, order.wants_v4()),
                (RecordType::AAAA, order.wants_v6()),
            ] {
                if !wanted {
                    continue;
                }
                // Addresses the MX response carried for this host need no query.
                let given: Vec<IpAddr> = additionals
                    .iter()
                    .filter(|r| r.name == name && r.record_type() == rtype)
                    .filter_map(|r| match &r.data {
                        RData::A(a) => Some(IpAddr::V4(a.0)),
                        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                        _ => None,
                    })
                    .collect();
                if given.is_empty() {
                    state.pending += 1;
                    tasks.push(Task {
                        name: name.clone(),
                        rtype,
                        purpose: Purpose::Address { host },
                        depth: 0,
                    });
                } else {
                    state.addresses.extend(given);
                }
            }
            self.hosts.push(state);
        }
        for task in tasks {
            self.start(task, now);
            if self.result.is_some() {
                return;
            }
        }
        self.maybe_finish_hosts(now);
    }

    fn is_local(&self, name: &Name) -> bool {
        let name = text(name);
        self.config
            .local_hostnames
            .iter()
            .any(|own| own.trim_end_matches('.').eq_ignore_ascii_case(&name))
    }

    fn maybe_finish_hosts(&mut self, _now: Instant) {
        if self.result.is_some() || self.hosts.iter().any(|h| h.pending > 0) {
            return;
        }
        let order = self.config.family_order;
        let mut plan = Vec::new();
        let mut failure = None;
        for host in self.hosts.drain(..) {
            if host.addresses.is_empty() {
                failure = failure.or(host.failure);
                continue;
            }
            let mut addresses = host.addresses;
            addresses.sort_by_key(|a| match (order, a) {
                (FamilyOrder::Ipv4First | FamilyOrder::Ipv4Only, IpAddr::V4(_)) => 0,
                (FamilyOrder::Ipv6First | FamilyOrder::Ipv6Only, IpAddr::V6(_)) => 0,
                _ => 1,
            });
            plan.push(MxHost {
                preference: host.preference,
                name: text(&host.name),
                addresses,
            });
        }
        let domain = self.domain_text.clone();
        let result = match (plan.is_empty(), failure) {
            (false, _) => Ok(DeliveryPlan {
                domain,
                hosts: plan,
                implicit: self.implicit,
                authenticated: self.authenticated,
            }),
            // A host we could not resolve for now might have addresses: try later.
            (true, Some(temporary)) => Err(temporary),
            (true, None) if self.implicit => Err(MxError::NoMailHost { domain }),
            (true, None) => Err(MxError::NoAddresses { domain }),
        };
        self.finish(result.map(Found::Plan));
    }

    fn finish(&mut self, result: Result<Found, MxError>) {
        if self.result.is_none() {
            self.result = Some(result);
            self.in_flight.clear();
            self.outbox.clear();
        }
    }
}

/// Follows the CNAME chain in the answer section from the question's name.
fn follow(message: &Message, task: &Task) -> Answer {
    let mut name = task.name.clone();
    let mut hops = 0;
    // Each hop must move to a new owner; a chain longer than the answer section is a loop.
    for _ in 0..=message.answers.len() {
        let records: Vec<Record> = message
            .answers
            .iter()
            .filter(|r| r.name == name && r.record_type() == task.rtype)
            .cloned()
            .collect();
        if !records.is_empty() {
            return Answer::Records(records);
        }
        let alias = message.answers.iter().find_map(|r| match &r.data {
            RData::CNAME(c) if r.name == name => Some(c.0.clone()),
            _ => None,
        });
        match alias {
            Some(target) => {
                name = target;
                hops += 1;
            }
            None => break,
        }
    }
    match (message.metadata.response_code, hops) {
        (ResponseCode::NXDomain, 0) => Answer::NxDomain,
        // NXDOMAIN after a CNAME is about the target (RFC 6604): nothing there.
        (ResponseCode::NXDomain, _) => Answer::NoData,
        (_, 0) => Answer::NoData,
        (_, hops) => Answer::Alias(name, hops),
    }
}

fn encode(id: u16, task: &Task, payload: u16, transport: Transport) -> Result<Bytes, String> {
    let mut message = Message::query();
    message.metadata.id = id;
    message.metadata.recursion_desired = true;
    // Asks a validating resolver to say whether it validated the answer (RFC 6840 §5.7).
    message.metadata.authentic_data = true;
    message.add_query(Question::query(task.name.clone(), task.rtype));
    if payload > 512 {
        let mut edns = Edns::new();
        edns.set_max_payload(payload);
        message.set_edns(edns);
    }
    let body = message.to_vec().map_err(|e| e.to_string())?;
    Ok(match transport {
        Transport::Udp => Bytes::from(body),
        Transport::Tcp => {
            // RFC 1035 §4.2.2: a two-octet length before the message.
            let len = u16::try_from(body.len()).map_err(|_| "query too long".to_owned())?;
            let mut framed = len.to_be_bytes().to_vec();
            framed.extend_from_slice(&body);
            Bytes::from(framed)
        }
    })
}

/// A name as A-labels, lowercase, without the final dot.
fn text(name: &Name) -> String {
    name.to_lowercase()
        .to_ascii()
        .trim_end_matches('.')
        .to_owned()
}

/// Checks LDH labels of 1 to 63 octets and a wire length of at most 255.
/// `Err(None)` is a bad label, `Err(Some(TooLong))` a name too long.
fn check_labels(ascii: &str) -> Result<(), Option<InputError>> {
    let mut wire = 1;
    for label in ascii.split('.') {
        let ldh = label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if label.is_empty()
            || label.len() > 63
            || !ldh
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(None);
        }
        wire += label.len() + 1;
    }
    if wire > 255 {
        return Err(Some(InputError::TooLong));
    }
    Ok(())
}

/// Converts a name to ask about to an absolute name: labels of any octets
/// but the dot (U-labels become A-labels), 1 to 63 octets each, at most
/// 255 in wire form.
fn parse_query_name(input: &str) -> Result<Name, InputError> {
    let bare = input.strip_suffix('.').unwrap_or(input);
    let bad = |reason| InputError::NotAHostname {
        name: input.to_owned(),
        reason,
    };
    if bare.is_empty() {
        return Err(bad("empty"));
    }
    if bare.len() > 1000 {
        return Err(InputError::TooLong);
    }
    let labels: Vec<Vec<u8>> = if bare.is_ascii() {
        bare.split('.')
            .map(|l| l.to_ascii_lowercase().into_bytes())
            .collect()
    } else {
        let name =
            Name::from_utf8(bare).map_err(|_| bad("not a valid (internationalized) name"))?;
        text(&name)
            .split('.')
            .map(|l| l.as_bytes().to_vec())
            .collect()
    };
    if labels.iter().any(|l| l.is_empty() || l.len() > 63) {
        return Err(bad("labels are 1 to 63 octets"));
    }
    if labels.iter().map(|l| l.len() + 1).sum::<usize>() + 1 > 255 {
        return Err(InputError::TooLong);
    }
    let mut name = Name::from_labels(labels).map_err(|_| bad("not a valid name"))?;
    name.set_fqdn(true);
    Ok(name)
}

/// Checks a recipient domain and converts it to an absolute A-label name.
fn parse_domain(input: &str) -> Result<Name, InputError> {
    let trimmed = input.trim();
    let bad = |reason| InputError::NotAHostname {
        name: input.to_owned(),
        reason,
    };
    if trimmed.starts_with('[') || trimmed.parse::<IpAddr>().is_ok() {
        return Err(InputError::AddressLiteral(trimmed.to_owned()));
    }
    let bare = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if bare.is_empty() {
        return Err(bad("empty"));
    }
    if bare.len() > 1000 {
        return Err(InputError::TooLong);
    }
    // ASCII names are checked as given; U-labels after conversion to A-labels.
    let ascii = if bare.is_ascii() {
        check_labels(bare).map_err(|e| {
            e.unwrap_or_else(|| bad("labels are letters, digits and inner hyphens"))
        })?;
        bare.to_ascii_lowercase()
    } else {
        let name =
            Name::from_utf8(bare).map_err(|_| bad("not a valid (internationalized) name"))?;
        let ascii = text(&name);
        check_labels(&ascii).map_err(|e| {
            e.unwrap_or_else(|| bad("labels are letters, digits and inner hyphens"))
        })?;
        ascii
    };
    let mut name = Name::from_ascii(&ascii).map_err(|_| bad("not a valid name"))?;
    name.set_fqdn(true);
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names_take_any_label_but_empty_or_too_long_ones() {
        let name = |n: &str| parse_query_name(n).map(|n| text(&n));
        assert_eq!(name("_DMARC.Example.org."), Ok("_dmarc.example.org".into()));
        assert_eq!(
            name("sel._domainkey.bücher.example"),
            Ok("sel._domainkey.xn--bcher-kva.example".into())
        );
        assert!(
            name("a+b.example").is_ok(),
            "SPF macros expand to any octets"
        );
        assert!(matches!(name("a..b"), Err(InputError::NotAHostname { .. })));
        assert!(matches!(name(""), Err(InputError::NotAHostname { .. })));
        assert!(matches!(
            name(&"a".repeat(64)),
            Err(InputError::NotAHostname { .. })
        ));
        assert_eq!(
            name(&vec!["a".repeat(63); 4].join(".")),
            Err(InputError::TooLong)
        );
    }

    #[test]
    fn validates_domains() {
        assert!(parse_domain("Example.COM.").is_ok());
        assert_eq!(
            text(&parse_domain("bücher.example").unwrap()),
            "xn--bcher-kva.example"
        );
        assert!(matches!(
            parse_domain("[192.0.2.1]"),
            Err(InputError::AddressLiteral(_))
        ));
        assert!(matches!(
            parse_domain("192.0.2.1"),
            Err(InputError::AddressLiteral(_))
        ));
        assert!(matches!(
            parse_domain("a..b"),
            Err(InputError::NotAHostname { .. })
        ));
        assert!(matches!(
            parse_domain("-a.example"),
            Err(InputError::NotAHostname { .. })
        ));
        assert!(matches!(
            parse_domain("a_b.example"),
            Err(InputError::NotAHostname { .. })
        ));
        assert!(matches!(
            parse_domain(""),
            Err(InputError::NotAHostname { .. })
        ));
        let long = vec!["a".repeat(63); 4].join(".");
        assert_eq!(parse_domain(&long), Err(InputError::TooLong));
        assert!(matches!(
            parse_domain(&"a".repeat(64)),
            Err(InputError::NotAHostname { .. })
        ));
    }
}
