//! Reading mail over POP3: list, retrieve, delete, and resume by UIDL.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use sansmail_common::driver::now;
use sansmail_pop3::client::{ClientError, Config, Event, RequestId, Session, TlsPolicy};
use sansmail_pop3::driver::{Driver, Step};
use tokio::net::TcpStream;

use crate::Error;
use crate::endpoint::{Endpoint, Protocol, Security};
use crate::error::TlsProblem;

/// One message in the maildrop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pop3Message {
    /// Its number in this session.
    pub number: u32,
    /// Its size in octets.
    pub size: u64,
    /// Its unique id (UIDL), stable across sessions; `None` when the
    /// server has no UIDL.
    pub uid: Option<String>,
}

/// A logged-in POP3 session. Deletions take effect at [`quit`](Self::quit);
/// a session that ends any other way deletes nothing.
///
/// ```no_run
/// # async fn f(already_seen: std::collections::HashSet<String>) -> Result<(), sansmail::Error> {
/// use sansmail::Pop3Client;
///
/// let mut pop = Pop3Client::connect("pop3s://me:secret@pop.example.com").await?;
/// for entry in pop.list().await? {
///     if entry.uid.as_ref().is_some_and(|u| already_seen.contains(u)) {
///         continue; // fetched by an earlier run
///     }
///     let raw = pop.retrieve(entry.number).await?;
///     let message = sansmail::mime::Message::parse(&raw);
///     println!("{:?}", message.subject());
/// }
/// pop.quit().await?;
/// # Ok(()) }
/// ```
pub struct Pop3Client {
    driver: Driver<Session, TcpStream>,
    server: String,
    broken: bool,
}

impl Pop3Client {
    /// Connects and logs in: `url` is `pop3s://user:password@host` or
    /// `pop3+starttls://...` (see [`Endpoint`]).
    pub async fn connect(url: &str) -> Result<Pop3Client, Error> {
        Pop3Client::connect_to(&Endpoint::parse(url)?).await
    }

    /// Connects and logs in to `endpoint`.
    pub async fn connect_to(endpoint: &Endpoint) -> Result<Pop3Client, Error> {
        let (user, password) = endpoint.login(Protocol::Pop3)?;
        let mut config = Config::password(user, password);
        use TlsPolicy::*;
        config.tls = endpoint.starttls(Disabled, Required, Opportunistic);
        config.implicit_tls = endpoint.security() == Security::Implicit;
        config.allow_plaintext_auth = endpoint.allow_plaintext;
        if let Some(t) = endpoint.timeout {
            config.timeout = t;
        }
        let (stream, tls) = endpoint.connect().await?;
        let session = Session::new(config, now());
        let mut client = Pop3Client {
            driver: Driver::with_stream(session, stream, tls),
            server: endpoint.server(),
            broken: false,
        };
        loop {
            if let Event::Ready { .. } = client.next_event("the login").await? {
                return Ok(client);
            }
        }
    }

    /// Every message with its size and unique id (LIST and UIDL, pipelined
    /// where the server allows).
    pub async fn list(&mut self) -> Result<Vec<Pop3Message>, Error> {
        let list = self.request(|s| s.list(now(), None))?;
        let uidl = self.request(|s| s.uidl(now(), None))?;
        let mut entries = BTreeMap::new();
        let mut open = 2;
        while open > 0 {
            match self.next_event("LIST").await? {
                Event::Listed { id, message, size } if id == list => {
                    entries.insert(
                        message,
                        Pop3Message {
                            number: message,
                            size,
                            uid: None,
                        },
                    );
                }
                Event::UniqueId { id, message, uid } if id == uidl => {
                    if let Some(entry) = entries.get_mut(&message) {
                        entry.uid = Some(uid.to_string());
                    }
                }
                Event::Done { id, .. } if id == list || id == uidl => open -= 1,
                Event::Refused { id, response } if id == list => {
                    return Err(self.refused("LIST", &response));
                }
                // A server without UIDL: the entries just have no id.
                Event::Refused { id, .. } if id == uidl => open -= 1,
                _ => {}
            }
        }
        Ok(entries.into_values().collect())
    }

    /// The messages whose unique id `known` does not contain: for a
    /// program that keeps the ids it fetched and resumes where it stopped.
    /// Messages without an id count as new.
    pub async fn new_messages(
        &mut self,
        known: impl Fn(&str) -> bool,
    ) -> Result<Vec<Pop3Message>, Error> {
        let all = self.list().await?;
        Ok(all
            .into_iter()
            .filter(|m| !m.uid.as_deref().is_some_and(&known))
            .collect())
    }

    /// The whole message `number`.
    pub async fn retrieve(&mut self, number: u32) -> Result<Bytes, Error> {
        let id = self.request(|s| s.retr(now(), number))?;
        let mut body = BytesMut::new();
        loop {
            match self.next_event("RETR").await? {
                Event::BodyChunk { id: i, chunk } if i == id => {
                    if body.is_empty() {
                        // One chunk is common: keep it without a copy.
                        body = BytesMut::from(chunk);
                    } else {
                        body.extend_from_slice(&chunk);
                    }
                }
                Event::Done { id: i, .. } if i == id => return Ok(body.freeze()),
                Event::Refused { id: i, response } if i == id => {
                    return Err(self.refused("RETR", &response));
                }
                _ => {}
            }
        }
    }

    /// Marks message `number` for deletion at [`quit`](Self::quit).
    pub async fn delete(&mut self, number: u32) -> Result<(), Error> {
        let id = self.request(|s| s.dele(now(), number))?;
        self.wait_done(id, "DELE").await
    }

    /// Unmarks every message marked for deletion.
    pub async fn reset(&mut self) -> Result<(), Error> {
        let id = self.request(|s| s.rset(now()))?;
        self.wait_done(id, "RSET").await
    }

    /// Ends the session; the server now deletes the marked messages.
    pub async fn quit(mut self) -> Result<(), Error> {
        let id = self.request(|s| s.quit(now()))?;
        self.wait_done(id, "QUIT").await
    }

    async fn wait_done(&mut self, id: RequestId, what: &'static str) -> Result<(), Error> {
        loop {
            match self.next_event(what).await? {
                Event::Done { id: i, .. } if i == id => return Ok(()),
                Event::Refused { id: i, response } if i == id => {
                    return Err(self.refused(what, &response));
                }
                _ => {}
            }
        }
    }

    fn request(
        &mut self,
        send: impl FnOnce(&mut Session) -> Result<RequestId, sansmail_pop3::client::UsageError>,
    ) -> Result<RequestId, Error> {
        if self.broken {
            return Err(Error::lost(
                &self.server,
                "an earlier failure closed this session",
            ));
        }
        Ok(send(self.driver.session())?)
    }

    fn refused(&self, command: &str, response: &sansmail_pop3::types::Response) -> Error {
        Error::Refused {
            server: self.server.clone(),
            command: command.to_owned(),
            reply: response.to_string(),
        }
    }

    async fn next_event(&mut self, what: &'static str) -> Result<Event, Error> {
        let mut step = self.driver.step(None).await;
        while let Ok(Step::Woken) = step {
            step = self.driver.step(None).await;
        }
        let server = self.server.clone();
        let error = match step {
            Ok(Step::Event(Event::Failed(e))) => match e {
                ClientError::TlsUnavailable => Error::Tls {
                    server,
                    problem: TlsProblem::NotOffered,
                },
                ClientError::TlsRefused(r) => Error::Tls {
                    server,
                    problem: TlsProblem::Refused(r.to_string()),
                },
                ClientError::AuthUnavailable(why) => Error::AuthRefused {
                    server,
                    reply: why.into(),
                },
                ClientError::AuthFailed(r) => Error::AuthRefused {
                    server,
                    reply: r.to_string(),
                },
                ClientError::GreetingRefused(r) => Error::lost(&server, r.to_string()),
                ClientError::Timeout => Error::Timeout {
                    server,
                    waiting_for: what,
                },
                ClientError::ConnectionClosed => Error::lost(&server, "closed by the server"),
                other => Error::Protocol {
                    server,
                    detail: other.to_string(),
                },
            },
            Ok(Step::Event(event)) => return Ok(event),
            Ok(Step::Closed | Step::Woken) => Error::lost(&server, "the session ended"),
            Err(e) => Error::io(&server, e),
        };
        self.broken = true;
        Err(error)
    }
}
