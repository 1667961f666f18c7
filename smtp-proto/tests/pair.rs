//! Our client against our server, in memory, with a virtual clock.
// The tests play the application, which owns the clock: one real Instant starts the virtual clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::{Server, tls_auth_config};
use sansmail_smtp::client::{
    self, ClientCredentials, ClientError, DeliveryStatus, Envelope, Event, RecipientOutcome,
    TlsPolicy,
};
use sansmail_smtp::server::{self, Offer};
use sansmail_smtp::types::{
    ForwardPath, Host, MailParameter, Mailbox, Mechanism, ReversePath, Secret,
};
use sansmail_smtp::{Mode, Output, pair};

/// A message to send: envelope and body.
struct Job {
    envelope: Envelope,
    body: Vec<u8>,
}

fn job(from: &str, to: &[&str], body: &[u8]) -> Job {
    let from = ReversePath::Mailbox(Mailbox::parse(from).unwrap());
    let to = to
        .iter()
        .map(|t| ForwardPath::Mailbox(Mailbox::parse(t).unwrap()));
    Job {
        envelope: Envelope::new(from, to).with_size(body.len() as u64),
        body: body.to_vec(),
    }
}

/// The client's application: sends the jobs in turn, then QUIT.
struct Sender {
    jobs: Vec<Job>,
    body: Vec<u8>,
    outcomes: Vec<Vec<RecipientOutcome>>,
    failure: Option<ClientError>,
    /// Stay connected once the jobs are done, instead of QUIT.
    hold: bool,
}

impl Sender {
    fn next_job(&mut self, now: Instant, client: &mut client::Session) {
        match self.jobs.pop() {
            Some(job) => {
                self.body = job.body;
                client.send_mail(now, job.envelope).unwrap();
            }
            None if self.hold => {}
            None => client.quit(now),
        }
    }

    fn on_event(&mut self, now: Instant, client: &mut client::Session, event: Event) {
        match event {
            Event::Ready => self.next_job(now, client),
            Event::SendBody => {
                // Three uneven pieces, to exercise stuffing across writes.
                let body = std::mem::take(&mut self.body);
                let (a, rest) = body.split_at(body.len() / 3);
                let (b, c) = rest.split_at(rest.len() / 2);
                for piece in [a, b, c] {
                    client.write_body(now, piece).unwrap();
                }
                client.finish_body(now).unwrap();
            }
            Event::TransactionComplete(o) => {
                self.outcomes.push(o);
                if self.failure.is_none() {
                    self.next_job(now, client);
                }
            }
            Event::Failed(e) => self.failure = Some(e),
            _ => {}
        }
    }
}

/// Our client and our server on the virtual clock, and the client's application.
struct Pair {
    sessions: pair::Pair<client::Session, Server>,
    sender: Sender,
}

impl Pair {
    fn new(client_config: client::Config, server_config: server::Config, jobs: Vec<Job>) -> Self {
        let server = Server::new(server_config);
        let now = server.now;
        let mut jobs = jobs;
        jobs.reverse();
        Pair {
            sessions: pair::Pair::new(client::Session::new(client_config, now), server, now),
            sender: Sender {
                jobs,
                body: Vec::new(),
                outcomes: Vec::new(),
                failure: None,
                hold: false,
            },
        }
    }

    /// Moves bytes both ways until neither side has anything to do.
    fn run(&mut self) -> pair::Stop {
        let sender = &mut self.sender;
        self.sessions.run(|now, client, _, side| {
            if let pair::Side::Client(event) = side {
                sender.on_event(now, client, event);
            }
        })
    }

    fn client(&self) -> &client::Session {
        &self.sessions.client
    }

    fn server(&self) -> &Server {
        &self.sessions.server
    }

    fn client_closed(&self) -> bool {
        self.sessions.closed().0
    }

    /// What the client sent.
    fn client_sent(&self) -> String {
        String::from_utf8_lossy(&self.sessions.server.received).into_owned()
    }

    fn outcomes(&self) -> &[Vec<RecipientOutcome>] {
        &self.sender.outcomes
    }

    fn failure(&self) -> Option<&ClientError> {
        self.sender.failure.as_ref()
    }
}

/// A client session past the greeting, its EHLO answered with `ehlo_reply`.
fn greeted(config: client::Config, now: Instant, ehlo_reply: &[u8]) -> client::Session {
    let mut c = client::Session::new(config, now);
    c.handle_input(now, b"220 hi\r\n");
    assert!(matches!(c.poll_output(), Output::Transmit(b) if b.starts_with(b"EHLO ")));
    c.handle_input(now, ehlo_reply);
    c
}

fn client_config() -> client::Config {
    client::Config::new(Host::parse("client.example").unwrap())
}

fn statuses(outcomes: &[RecipientOutcome]) -> Vec<&'static str> {
    outcomes
        .iter()
        .map(|o| match o.status {
            DeliveryStatus::Delivered(_) => "delivered",
            DeliveryStatus::TemporaryFailure(_) => "temporary",
            DeliveryStatus::PermanentFailure(_) => "permanent",
        })
        .collect()
}

const DOTTY: &[u8] = b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend without newline";
const DOTTY_RECEIVED: &[u8] =
    b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend without newline\r\n";

#[test]
fn data_with_dot_stuffing_round_trips() {
    let mut config = client_config();
    config.chunking = false;
    let mut p = Pair::new(
        config,
        server::Config::default(),
        vec![job("a@example.com", &["b@example.com"], DOTTY)],
    );
    p.run();
    assert!(p.failure().is_none(), "{:?}", p.failure());
    assert_eq!(statuses(&p.outcomes()[0]), ["delivered"]);
    assert_eq!(p.server().messages, vec![DOTTY_RECEIVED.to_vec()]);
    assert!(p.client_closed() && p.server().closed);
}

#[test]
fn bdat_sends_the_body_unchanged_in_chunks() {
    let mut config = client_config();
    config.chunk_size = 7;
    let body = b"line one\r\n.line two\r\nthree\r\n".to_vec();
    let mut p = Pair::new(
        config,
        server::Config::default(),
        vec![job("a@example.com", &["b@example.com"], &body)],
    );
    p.run();
    assert_eq!(statuses(&p.outcomes()[0]), ["delivered"]);
    assert_eq!(p.server().messages, vec![body]);
    assert!(p.client_sent().contains("BDAT 7\r\n"));
}

#[test]
fn each_recipient_gets_its_own_outcome() {
    let jobs = vec![
        job(
            "a@example.com",
            &["reject@example.com", "later@example.com", "ok@example.com"],
            b"hi\r\n",
        ),
        // All refused: no DATA, and the next transaction starts with RSET.
        job("a@example.com", &["reject@example.com"], b"nobody\r\n"),
        job("a@example.com", &["ok@example.com"], b"second\r\n"),
    ];
    let mut p = Pair::new(client_config(), server::Config::default(), jobs);
    p.run();
    assert_eq!(
        statuses(&p.outcomes()[0]),
        ["permanent", "temporary", "delivered"]
    );
    assert_eq!(statuses(&p.outcomes()[1]), ["permanent"]);
    assert_eq!(statuses(&p.outcomes()[2]), ["delivered"]);
    assert_eq!(
        p.server().messages,
        vec![b"hi\r\n".to_vec(), b"second\r\n".to_vec()]
    );
    assert!(p.client_sent().contains("RSET\r\n"));
}

#[test]
fn without_pipelining_commands_go_one_by_one() {
    let server_config = server::Config {
        offer: Offer {
            pipelining: false,
            chunking: false,
            ..Offer::default()
        },
        ..Default::default()
    };
    let jobs = vec![job(
        "a@example.com",
        &["reject@example.com", "ok@example.com"],
        DOTTY,
    )];
    let mut p = Pair::new(client_config(), server_config, jobs);
    p.run();
    assert_eq!(statuses(&p.outcomes()[0]), ["permanent", "delivered"]);
    assert_eq!(p.server().messages, vec![DOTTY_RECEIVED.to_vec()]);
}

#[test]
fn lmtp_gives_one_outcome_per_recipient() {
    let mut config = client_config();
    config.mode = Mode::Lmtp;
    for chunking in [false, true] {
        config.chunking = chunking;
        let server_config = server::Config {
            mode: Mode::Lmtp,
            ..Default::default()
        };
        let jobs = vec![job(
            "a@example.com",
            &["x@example.com", "reject@example.com", "y@example.com"],
            b"lmtp\r\n",
        )];
        let mut p = Pair::new(config.clone(), server_config, jobs);
        p.run();
        assert!(p.failure().is_none(), "{:?}", p.failure());
        assert_eq!(
            statuses(&p.outcomes()[0]),
            ["delivered", "permanent", "delivered"]
        );
        assert_eq!(p.server().messages, vec![b"lmtp\r\n".to_vec()]);
    }
}

#[test]
fn starttls_then_auth_plain() {
    let mut config = client_config();
    config.tls = TlsPolicy::Required;
    config.credentials = Some(ClientCredentials::Password {
        username: "user".into(),
        password: Secret::new("secret".into()),
    });
    let server_config = server::Config {
        require_auth: true,
        ..tls_auth_config()
    };
    let mut p = Pair::new(
        config,
        server_config,
        vec![job("a@example.com", &["b@example.com"], b"x\r\n")],
    );
    p.run();
    assert!(p.failure().is_none(), "{:?}", p.failure());
    assert!(p.client().is_tls() && p.client().is_authenticated());
    assert_eq!(statuses(&p.outcomes()[0]), ["delivered"]);
    assert_eq!(p.server().tls_upgrades, 1);
}

#[test]
fn auth_login_and_bearer_mechanisms() {
    let creds = [
        (
            vec![Mechanism::Login],
            ClientCredentials::Password {
                username: "u".into(),
                password: Secret::new("secret".into()),
            },
        ),
        (
            vec![Mechanism::XOAuth2],
            ClientCredentials::XOAuth2 {
                user: "u".into(),
                token: Secret::new("good-token".into()),
            },
        ),
        (
            vec![Mechanism::OAuthBearer],
            ClientCredentials::OAuthBearer {
                user: "u".into(),
                token: Secret::new("good-token".into()),
            },
        ),
    ];
    for (mechs, cred) in creds {
        let mut config = client_config();
        config.credentials = Some(cred);
        let server_config = server::Config {
            auth_mechanisms: mechs,
            ..tls_auth_config()
        };
        let mut p = Pair::new(
            config,
            server_config,
            vec![job("a@example.com", &["b@example.com"], b"x\r\n")],
        );
        p.run();
        assert!(p.failure().is_none(), "{:?}", p.failure());
        assert!(p.client().is_authenticated());
    }
}

#[test]
fn refused_credentials_fail_the_session() {
    for cred in [
        ClientCredentials::Password {
            username: "u".into(),
            password: Secret::new("wrong".into()),
        },
        ClientCredentials::OAuthBearer {
            user: "u".into(),
            token: Secret::new("bad".into()),
        },
        ClientCredentials::XOAuth2 {
            user: "u".into(),
            token: Secret::new("bad".into()),
        },
    ] {
        let mut config = client_config();
        config.credentials = Some(cred);
        let mut p = Pair::new(config, tls_auth_config(), vec![]);
        p.run();
        assert!(
            matches!(p.failure(), Some(ClientError::AuthFailed(r)) if r.code().get() == 535),
            "{:?}",
            p.failure()
        );
        assert!(p.client_closed());
    }
}

#[test]
fn required_tls_without_offer_fails() {
    let mut config = client_config();
    config.tls = TlsPolicy::Required;
    let mut p = Pair::new(config, server::Config::default(), vec![]);
    p.run();
    assert_eq!(p.failure(), Some(&ClientError::TlsUnavailable));
    assert!(p.client_closed() && p.server().closed);
}

#[test]
fn size_is_checked_before_sending() {
    let server_config = server::Config {
        max_message_size: 10,
        ..Default::default()
    };
    let jobs = vec![job(
        "a@example.com",
        &["b@example.com"],
        b"this body is longer than ten octets\r\n",
    )];
    let mut p = Pair::new(client_config(), server_config, jobs);
    p.run();
    assert!(
        matches!(&p.outcomes()[0][0].status, DeliveryStatus::PermanentFailure(r) if r.code().get() == 552)
    );
    assert!(!p.client_sent().contains("MAIL FROM"));
}

#[test]
fn smtputf8_addresses_go_through() {
    let jobs = vec![job("jörg@bücher.example", &["ü@example.com"], b"utf8\r\n")];
    let mut p = Pair::new(client_config(), server::Config::default(), jobs);
    p.run();
    assert_eq!(statuses(&p.outcomes()[0]), ["delivered"]);
    assert!(p.client_sent().contains("SMTPUTF8"));
}

#[test]
fn silent_server_times_out_per_rfc5321() {
    let now = Instant::now();
    let mut c = client::Session::new(client_config(), now);
    let Output::Timeout(Some(deadline)) = c.poll_output() else {
        panic!()
    };
    assert_eq!(deadline - now, Duration::from_secs(300));
    c.handle_timeout(deadline);
    assert_eq!(
        c.poll_output(),
        Output::Event(Event::Failed(ClientError::Timeout))
    );
    assert_eq!(c.poll_output(), Output::Closed);
}

#[test]
fn connection_lost_mid_transaction_is_temporary() {
    let now = Instant::now();
    let mut c = greeted(client_config(), now, b"250-hi\r\n250 PIPELINING\r\n");
    assert_eq!(c.poll_output(), Output::Event(Event::Ready));
    let j = job("a@example.com", &["b@example.com", "c@example.com"], b"x");
    c.send_mail(now, j.envelope).unwrap();
    let _ = c.poll_output();
    c.handle_input(now, b"250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n");
    assert_eq!(c.poll_output(), Output::Event(Event::SendBody));
    c.write_body(now, b"partial").unwrap();
    c.handle_eof(now);
    let mut events = Vec::new();
    loop {
        match c.poll_output() {
            Output::Event(e) => events.push(e),
            Output::Transmit(_) => {}
            other => {
                assert_eq!(other, Output::Closed);
                break;
            }
        }
    }
    let [Event::TransactionComplete(o), failed] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(statuses(o), ["temporary", "permanent"]);
    assert_eq!(failed, &Event::Failed(ClientError::ConnectionClosed));
}

#[test]
fn helo_fallback_when_ehlo_is_refused() {
    let now = Instant::now();
    let mut c = client::Session::new(client_config(), now);
    c.handle_input(now, b"220 old server\r\n");
    assert!(matches!(c.poll_output(), Output::Transmit(b) if &b[..] == b"EHLO client.example\r\n"));
    c.handle_input(now, b"500 what?\r\n");
    assert!(matches!(c.poll_output(), Output::Transmit(b) if &b[..] == b"HELO client.example\r\n"));
    c.handle_input(now, b"250 old.example\r\n");
    assert_eq!(c.poll_output(), Output::Event(Event::Ready));
    assert!(c.capabilities().extensions.is_empty());
}

#[test]
fn starttls_drops_what_the_server_sent_after_220() {
    let now = Instant::now();
    let mut c = greeted(client_config(), now, b"250-hi\r\n250 STARTTLS\r\n");
    assert!(matches!(c.poll_output(), Output::Transmit(b) if &b[..] == b"STARTTLS\r\n"));
    // A man in the middle appends a forged EHLO reply to the 220.
    c.handle_input(now, b"220 go\r\n250-evil\r\n250 AUTH PLAIN\r\n");
    assert_eq!(c.poll_output(), Output::StartTls);
    c.handle_tls_started(now);
    assert!(matches!(c.poll_output(), Output::Transmit(b) if &b[..] == b"EHLO client.example\r\n"));
    c.handle_input(now, b"250 real\r\n");
    assert_eq!(c.poll_output(), Output::Event(Event::Ready));
    assert!(c.capabilities().auth_mechanisms().is_empty());
}

#[test]
fn utf8_addresses_need_the_servers_smtputf8() {
    let server_config = server::Config {
        offer: Offer {
            smtputf8: false,
            ..Offer::default()
        },
        ..Default::default()
    };
    let mut p = Pair::new(
        client_config(),
        server_config,
        vec![job("jörg@example.com", &["b@example.com"], b"x\r\n")],
    );
    p.run();
    assert!(
        matches!(&p.outcomes()[0][0].status, DeliveryStatus::PermanentFailure(r) if r.code().get() == 553)
    );
    assert!(!p.client_sent().contains("MAIL FROM"));
}

#[test]
fn opportunistic_tls_goes_on_in_plaintext_when_starttls_is_refused() {
    let now = Instant::now();
    let mut c = greeted(client_config(), now, b"250-hi\r\n250 STARTTLS\r\n");
    assert!(matches!(c.poll_output(), Output::Transmit(b) if &b[..] == b"STARTTLS\r\n"));
    c.handle_input(now, b"454 4.7.0 TLS not available\r\n");
    assert_eq!(c.poll_output(), Output::Event(Event::Ready));
    assert!(!c.is_tls());
}

#[test]
fn a_refused_bdat_chunk_stops_the_body_and_resets() {
    let now = Instant::now();
    let mut config = client_config();
    config.chunk_size = 4;
    let mut c = greeted(config, now, b"250-hi\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
    assert_eq!(c.poll_output(), Output::Event(Event::Ready));
    c.send_mail(now, job("a@example.com", &["b@example.com"], b"x").envelope)
        .unwrap();
    let _ = c.poll_output();
    c.handle_input(now, b"250 ok\r\n250 ok\r\n");
    assert_eq!(c.poll_output(), Output::Event(Event::SendBody));
    c.write_body(now, b"1234").unwrap();
    assert!(matches!(c.poll_output(), Output::Transmit(b) if &b[..] == b"BDAT 4\r\n1234"));
    c.handle_input(now, b"552 5.3.4 too big\r\n");
    assert!(matches!(c.poll_output(), Output::Timeout(_)));
    c.write_body(now, b"5678").unwrap();
    c.finish_body(now).unwrap();
    // Nothing more of the body goes out; the transaction is reset instead.
    assert!(matches!(c.poll_output(), Output::Transmit(b) if &b[..] == b"RSET\r\n"));
    c.handle_input(now, b"250 ok\r\n");
    let Output::Event(Event::TransactionComplete(o)) = c.poll_output() else {
        panic!()
    };
    assert!(matches!(&o[0].status, DeliveryStatus::PermanentFailure(r) if r.code().get() == 552));
    assert_eq!(c.poll_output(), Output::Timeout(None));
}

#[test]
fn a_client_idle_longer_than_its_reply_timeout_still_sends() {
    // The server lets a client idle for an hour; the client waits 300 s for a reply.
    let server_config = server::Config {
        idle_timeout: Duration::from_secs(3600),
        ..Default::default()
    };
    let first = job("a@example.com", &["b@example.com"], b"one\r\n");
    let mut p = Pair::new(client_config(), server_config, vec![first]);
    p.sender.hold = true;
    let stop = p.run();
    assert_eq!(statuses(&p.outcomes()[0]), ["delivered"]);
    // Nothing is due from the server while the client has nothing to say.
    let pair::Stop::Waiting { client: None, .. } = stop else {
        panic!("{stop:?}")
    };
    p.sessions.advance(Duration::from_secs(11 * 60));
    p.sender
        .jobs
        .push(job("a@example.com", &["c@example.com"], b"two\r\n"));
    p.sender.next_job(p.sessions.now, &mut p.sessions.client);
    p.run();
    assert!(p.failure().is_none(), "{:?}", p.failure());
    assert_eq!(statuses(&p.outcomes()[1]), ["delivered"]);
    assert_eq!(p.server().messages.len(), 2);
}

/// A job asking for REQUIRETLS.
fn require_tls_job() -> Job {
    let mut job = job("a@example.com", &["b@example.com"], b"secret\r\n");
    job.envelope.params.push(MailParameter::RequireTls);
    job
}

#[test]
fn requiretls_goes_only_to_a_server_offering_it_over_tls() {
    let mut tls = client_config();
    tls.tls = TlsPolicy::Required;
    let offering = server::Config {
        offer: Offer {
            require_tls: true,
            ..Offer::default()
        },
        ..tls_auth_config()
    };
    let mut p = Pair::new(tls.clone(), offering.clone(), vec![require_tls_job()]);
    p.run();
    assert_eq!(statuses(&p.outcomes()[0]), ["delivered"]);
    assert!(
        p.client_sent()
            .contains("MAIL FROM:<a@example.com> REQUIRETLS SIZE=8\r\n"),
        "{}",
        p.client_sent()
    );

    // RFC 8689 §4.2.1: a server that does not offer it, or not over TLS,
    // gets nothing: 550 5.7.30 for every recipient, before MAIL.
    let mut plaintext = client_config();
    plaintext.tls = TlsPolicy::Disabled;
    let cases = [(tls, tls_auth_config()), (plaintext, offering)];
    for (client, server) in cases {
        let mut p = Pair::new(client, server, vec![require_tls_job()]);
        p.run();
        let outcome = &p.outcomes()[0][0];
        let DeliveryStatus::PermanentFailure(reply) = &outcome.status else {
            panic!("{outcome:?}");
        };
        assert!(
            reply.to_wire_string().starts_with("550 5.7.30 "),
            "{reply:?}"
        );
        assert!(!p.client_sent().contains("MAIL FROM"));
        assert!(p.server().messages.is_empty());
    }
}
