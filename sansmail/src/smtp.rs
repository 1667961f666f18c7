//! One SMTP connection: connect, log in, send messages, quit.

use sansmail_common::driver::now;
use sansmail_smtp::client::{
    ClientCredentials, ClientError, Config, DeliveryStatus, Envelope, Event, RecipientOutcome,
    Session, TlsPolicy,
};
use sansmail_smtp::driver::{Driver, Step};
use sansmail_smtp::types::{ForwardPath, Host, MailParameter, Secret};
use tokio::net::TcpStream;

use crate::endpoint::{Endpoint, Protocol, Security};
use crate::error::TlsProblem;
use crate::{ConfigProblem, Error, Outgoing};

/// What became of each recipient of a message.
///
/// ```
/// use sansmail::{DeliveryStatus, ForwardPath, RecipientOutcome, Reply, Report};
/// use sansmail_smtp::types::Mailbox;
///
/// let outcome = |to: &str, code, status, text: &str| RecipientOutcome {
///     recipient: ForwardPath::Mailbox(Mailbox::parse(to).unwrap()),
///     status: DeliveryStatus::from_reply(Reply::text(code, status, text).unwrap()),
/// };
/// let report = Report {
///     recipients: vec![
///         outcome("a@example.com", 250, (2, 1, 5), "OK"),
///         outcome("b@example.com", 550, (5, 1, 1), "No such user"),
///     ],
/// };
/// assert!(!report.all_accepted());
/// assert_eq!(report.accepted().count(), 1);
/// let refused: Vec<_> = report.refused().map(|r| r.recipient.to_string()).collect();
/// assert_eq!(refused, ["<b@example.com>"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "some recipients may have been refused; check Report::refused"]
pub struct Report {
    /// Every recipient, in envelope order, with the server's reply.
    pub recipients: Vec<RecipientOutcome>,
}

impl Report {
    /// True when the server accepted every recipient.
    pub fn all_accepted(&self) -> bool {
        self.recipients.iter().all(|r| r.status.is_delivered())
    }

    /// The recipients the server accepted.
    pub fn accepted(&self) -> impl Iterator<Item = &ForwardPath> {
        self.recipients
            .iter()
            .filter(|r| r.status.is_delivered())
            .map(|r| &r.recipient)
    }

    /// The recipients refused, temporarily (4xx: retry them later) or
    /// permanently (5xx).
    pub fn refused(&self) -> impl Iterator<Item = &RecipientOutcome> {
        self.recipients.iter().filter(|r| !r.status.is_delivered())
    }

    /// `Ok` when at least one recipient was accepted, else the refusal as an error.
    pub(crate) fn into_result(self) -> Result<Report, Error> {
        if self.recipients.iter().any(|r| r.status.is_delivered()) {
            Ok(self)
        } else {
            Err(Error::Rejected {
                recipients: self.recipients,
            })
        }
    }
}

/// One SMTP session over TCP (and TLS), ready to send messages one after
/// another. For many messages from many tasks, use [`Mailer`](crate::Mailer).
///
/// ```no_run
/// # async fn f() -> Result<(), sansmail::Error> {
/// use sansmail::{Endpoint, Outgoing, SmtpConnection};
///
/// let endpoint = Endpoint::parse("smtp+starttls://me:secret@mail.example.com")?;
/// let mut smtp = SmtpConnection::connect_to(&endpoint).await?;
/// let message = Outgoing::new(&b"From: me@example.com\r\nTo: you@example.net\r\nSubject: hi\r\n\r\nHello\r\n"[..])?;
/// let report = smtp.send(&message).await?;
/// assert!(report.all_accepted());
/// smtp.quit().await?;
/// # Ok(()) }
/// ```
pub struct SmtpConnection {
    driver: Driver<Session, TcpStream>,
    server: String,
    /// The body of the last send was handed over complete: after a failure
    /// the server may have the message, so sending it again could duplicate it.
    body_sent: bool,
    broken: bool,
}

impl SmtpConnection {
    /// Connects to the server of an `smtp://`, `smtp+starttls://` or
    /// `smtps://` URL (see [`Endpoint`]) and logs in.
    pub async fn connect(url: &str) -> Result<SmtpConnection, Error> {
        SmtpConnection::connect_to(&Endpoint::parse(url)?).await
    }

    /// Connects, upgrades to TLS and logs in as the endpoint says.
    pub async fn connect_to(endpoint: &Endpoint) -> Result<SmtpConnection, Error> {
        if endpoint.protocol() != Protocol::Smtp {
            return Err(endpoint.wrong_protocol(Protocol::Smtp));
        }
        let hello = Host::parse(&endpoint.hello_name)
            .map_err(|_| ConfigProblem::HostName(endpoint.hello_name.clone()))?;
        let mut config = Config::new(hello);
        use TlsPolicy::*;
        config.tls = endpoint.starttls(Disabled, Required, Opportunistic);
        config.implicit_tls = endpoint.security() == Security::Implicit;
        config.allow_plaintext_auth = endpoint.allow_plaintext;
        if let Some((user, password)) = &endpoint.credentials {
            config.credentials = Some(ClientCredentials::Password {
                username: user.clone(),
                password: Secret::new(password.clone()),
            });
        }
        if let Some(t) = endpoint.timeout {
            set_timeouts(&mut config, t);
        }
        Self::open(endpoint, config).await
    }

    /// Connects with a session configuration of the caller's (for MX delivery).
    pub(crate) async fn open(endpoint: &Endpoint, config: Config) -> Result<SmtpConnection, Error> {
        let (stream, tls) = endpoint.connect().await?;
        let session = Session::new(config, now());
        let mut connection = SmtpConnection {
            driver: Driver::with_stream(session, stream, tls),
            server: endpoint.server(),
            body_sent: false,
            broken: false,
        };
        loop {
            if let Event::Ready = connection.next_event("the greeting").await? {
                return Ok(connection);
            }
        }
    }

    /// `host:port` of the server.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// True once STARTTLS (or implicit TLS) protects the connection.
    pub fn is_tls(&mut self) -> bool {
        self.driver.is_tls() || self.driver.session().is_tls()
    }

    /// Sends one message. `Ok` when at least one recipient was accepted (the
    /// report says which); [`Error::Rejected`] when none was;
    /// [`Error::OutcomeUnknown`] when the connection failed after the
    /// message went out but before the server's answer.
    ///
    /// `message` is an [`Outgoing`] (or a reference to one) or a mime
    /// [`MessageBuilder`](crate::mime::builder::MessageBuilder).
    pub async fn send<M>(&mut self, message: M) -> Result<Report, Error>
    where
        M: TryInto<Outgoing>,
        Error: From<M::Error>,
    {
        self.send_outgoing(&message.try_into()?).await
    }

    /// [`SmtpConnection::send`] once the message is an [`Outgoing`].
    pub(crate) async fn send_outgoing(&mut self, message: &Outgoing) -> Result<Report, Error> {
        let result = self.send_once(message).await;
        match result {
            Err(Error::ConnectionLost { server, detail }) if self.body_sent => {
                Err(Error::OutcomeUnknown { server, detail })
            }
            Err(Error::Timeout {
                server,
                waiting_for,
            }) if self.body_sent => Err(Error::OutcomeUnknown {
                server,
                detail: format!("timed out waiting for {waiting_for}"),
            }),
            other => other,
        }
    }

    async fn send_once(&mut self, message: &Outgoing) -> Result<Report, Error> {
        self.body_sent = false;
        if self.broken {
            return Err(Error::lost(
                &self.server,
                "an earlier failure closed this connection",
            ));
        }
        let body = message.body();
        let mut envelope = Envelope::new(message.sender().clone(), message.recipients().to_vec())
            .with_size(body.len() as u64);
        if message.requires_tls() {
            envelope.params.push(MailParameter::RequireTls);
        }
        self.driver
            .session()
            .send_mail(now(), envelope)
            .map_err(|e| Error::lost(&self.server, e.to_string()))?;
        loop {
            match self.next_event("the server's reply").await? {
                Event::SendBody => {
                    // Piece by piece: each leaves before the next is stuffed.
                    for piece in body.chunks(64 * 1024) {
                        self.driver
                            .session()
                            .write_body(now(), piece)
                            .map_err(|e| Error::lost(&self.server, e.to_string()))?;
                        let flushed = self.driver.flush().await;
                        flushed.map_err(|e| self.fail(Error::io(&self.server, e)))?;
                    }
                    self.driver
                        .session()
                        .finish_body(now())
                        .map_err(|e| Error::lost(&self.server, e.to_string()))?;
                    self.body_sent = true;
                }
                Event::TransactionComplete(outcomes) if self.driver.session().is_ending() => {
                    // The connection failed mid-transaction: the outcomes are
                    // the session's own 4xx, not the server's word.
                    self.broken = true;
                    let detail = outcomes.first().map_or_else(String::new, |o| {
                        o.status.reply().to_wire_string().trim_end().to_owned()
                    });
                    return Err(Error::lost(&self.server, detail));
                }
                Event::TransactionComplete(outcomes) => {
                    return Report {
                        recipients: outcomes,
                    }
                    .into_result();
                }
                _ => {}
            }
        }
    }

    /// Ends the session with QUIT.
    pub async fn quit(mut self) -> Result<(), Error> {
        if self.broken {
            return Ok(());
        }
        self.driver.session().quit(now());
        loop {
            match self.driver.step(None).await {
                Ok(Step::Closed) | Err(_) => return Ok(()),
                Ok(_) => {}
            }
        }
    }

    /// True when a failure may have left the last message with the server.
    pub(crate) fn body_was_sent(&self) -> bool {
        self.body_sent
    }

    /// False after a failure that ended the session.
    pub(crate) fn is_usable(&self) -> bool {
        !self.broken
    }

    fn fail(&mut self, error: Error) -> Error {
        self.broken = true;
        error
    }

    async fn next_event(&mut self, waiting_for: &'static str) -> Result<Event, Error> {
        let step = self.driver.step(None).await;
        match step {
            Ok(Step::Event(Event::Failed(e))) => {
                Err(self.fail(client_error(&self.server, e, waiting_for)))
            }
            Ok(Step::Event(event)) => Ok(event),
            Ok(Step::Closed) => Err(self.fail(Error::lost(&self.server, "the session ended"))),
            Ok(Step::Woken) => Ok(Event::Ready),
            Err(e) => Err(self.fail(Error::io(&self.server, e))),
        }
    }
}

fn client_error(server: &str, error: ClientError, waiting_for: &'static str) -> Error {
    let server = server.to_owned();
    let reply = |r: &sansmail_smtp::types::Reply| r.to_wire_string().trim_end().to_owned();
    match error {
        ClientError::GreetingRefused(r) if r.code().is_permanent() => Error::Refused {
            server,
            command: "the connection".into(),
            reply: reply(&r),
        },
        ClientError::HelloRefused(r) => Error::Refused {
            server,
            command: "EHLO".into(),
            reply: reply(&r),
        },
        ClientError::TlsUnavailable => Error::Tls {
            server,
            problem: TlsProblem::NotOffered,
        },
        ClientError::TlsRefused(r) => Error::Tls {
            server,
            problem: TlsProblem::Refused(reply(&r)),
        },
        ClientError::AuthUnavailable(why) => Error::AuthRefused {
            server,
            reply: why.to_owned(),
        },
        ClientError::AuthFailed(r) => Error::AuthRefused {
            server,
            reply: reply(&r),
        },
        ClientError::GreetingRefused(r) | ClientError::ServerClosing(r) => Error::ConnectionLost {
            server,
            detail: reply(&r),
        },
        ClientError::Timeout => Error::Timeout {
            server,
            waiting_for,
        },
        ClientError::ConnectionClosed => Error::lost(&server, "closed by the server"),
        other => Error::Protocol {
            server,
            detail: other.to_string(),
        },
    }
}

/// The outcome a recipient gets when no server could be asked.
pub(crate) fn unsent(
    recipient: ForwardPath,
    code: u16,
    status: (u8, u16, u16),
    text: &str,
) -> RecipientOutcome {
    let reply = sansmail_smtp::types::Reply::text(code, status, text)
        .expect("a valid code and status from this crate");
    RecipientOutcome {
        recipient,
        status: DeliveryStatus::from_reply(reply),
    }
}

/// One timeout for every reply.
pub(crate) fn set_timeouts(config: &mut Config, t: std::time::Duration) {
    let timeouts = &mut config.timeouts;
    (timeouts.greeting, timeouts.mail, timeouts.rcpt) = (t, t, t);
    (
        timeouts.data_initiation,
        timeouts.data_termination,
        timeouts.other,
    ) = (t, t, t);
}
