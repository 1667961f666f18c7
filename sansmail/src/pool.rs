//! A small pool of SMTP connections for programs that send many messages.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sansmail_common::driver::now;
use tokio::sync::Semaphore;

use crate::{Endpoint, Error, Outgoing, Report, SmtpConnection};

/// Sends messages through one submission server over a pool of
/// connections: each send takes an idle connection (or opens one, up to
/// the limit), and gives it back for the next. A connection the server
/// closed while idle is replaced, and the message sent again on the new
/// one, as long as no body had been handed over.
///
/// Cloning is cheap; clones share the pool.
///
/// ```no_run
/// # async fn f() -> Result<(), sansmail::Error> {
/// use sansmail::Mailer;
/// use sansmail::mime::builder::{Entity, MessageBuilder};
/// use sansmail::mime::Mailbox;
///
/// let mailer = Mailer::new("smtp+starttls://app%40example.com:secret@mail.example.com")?;
/// let me: Mailbox = "The App <app@example.com>".parse().unwrap();
/// let you = Mailbox::new(None, "you@example.net");
/// let message = MessageBuilder::new(Entity::mixed(vec![
///     Entity::text("Your invoice is attached.\n"),
///     Entity::attachment("application/pdf", "invoice.pdf", std::fs::read("invoice.pdf").unwrap()),
/// ]))
/// .from(me)
/// .to(you)
/// .subject("Your invoice");
/// let report = mailer.send(&message).await?;
/// for refused in report.refused() {
///     eprintln!("{}: {}", refused.recipient, refused.status.reply());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    idle: Mutex<Vec<(SmtpConnection, Instant)>>,
    slots: Semaphore,
    idle_timeout: Duration,
}

impl Mailer {
    /// A pool of up to 4 connections to the server of `url` (see [`Endpoint`]).
    pub fn new(url: &str) -> Result<Mailer, Error> {
        Ok(Mailer::with_endpoint(Endpoint::parse(url)?, 4))
    }

    /// A pool of up to `max_connections` connections to `endpoint`.
    pub fn with_endpoint(endpoint: Endpoint, max_connections: usize) -> Mailer {
        Mailer {
            inner: Arc::new(Inner {
                endpoint,
                idle: Mutex::new(Vec::new()),
                slots: Semaphore::new(max_connections.max(1)),
                idle_timeout: Duration::from_secs(60),
            }),
        }
    }

    /// Sends `message` (an [`Outgoing`], a reference to one, or a mime
    /// builder) over a pooled connection; see [`SmtpConnection::send`].
    pub async fn send<M>(&self, message: M) -> Result<Report, Error>
    where
        M: TryInto<Outgoing>,
        Error: From<M::Error>,
    {
        let message: Outgoing = message.try_into()?;
        let _slot = self
            .inner
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let (mut connection, reused) = match self.take_idle() {
            Some(c) => (c, true),
            None => (
                SmtpConnection::connect_to(&self.inner.endpoint).await?,
                false,
            ),
        };
        let mut result = connection.send_outgoing(&message).await;
        let stale = matches!(
            result,
            Err(Error::ConnectionLost { .. } | Error::Timeout { .. })
        );
        // Only a failure before the body went out is retried here: after it,
        // the server may have the message (`OutcomeUnknown`), and a second
        // copy is the caller's choice.
        if stale && reused && !connection.body_was_sent() {
            // The server dropped the idle connection: nothing was handed over.
            connection = SmtpConnection::connect_to(&self.inner.endpoint).await?;
            result = connection.send_outgoing(&message).await;
        }
        if connection.is_usable() {
            let mut idle = self.inner.idle.lock().expect("no panics while locked");
            idle.push((connection, now()));
        }
        result
    }

    /// Closes the idle connections with QUIT.
    pub async fn close(&self) {
        let idle = std::mem::take(&mut *self.inner.idle.lock().expect("no panics while locked"));
        for (connection, _) in idle {
            let _ = connection.quit().await;
        }
    }

    /// The freshest idle connection; those idle too long are dropped.
    fn take_idle(&self) -> Option<SmtpConnection> {
        let mut idle = self.inner.idle.lock().expect("no panics while locked");
        let now = now();
        idle.retain(|(_, since)| now.duration_since(*since) < self.inner.idle_timeout);
        idle.pop().map(|(c, _)| c)
    }
}
