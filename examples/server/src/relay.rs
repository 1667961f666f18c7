//! Delivery workers: take due messages from the queue, deliver local
//! recipients into their mailboxes and the others to their domains' mail
//! exchangers (MX plan order, opportunistic STARTTLS), record each
//! recipient's outcome as it comes, retry temporary failures on the
//! schedule, and bounce permanent failures and expired messages to the
//! sender (never to the null sender).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sansmail::{DirectMailer, Error, Outgoing};
use sansmail_smtp::client::DeliveryStatus;
use sansmail_smtp::types::Mailbox;
use tokio::sync::{Notify, Semaphore, watch};
use tracing::{info, warn};

use super::config;
use super::dsn;
use super::local::{Folder, Local};
use super::queue::{Envelope, Queue, State, new_id, now};
use super::users::{Directory, Route};

/// What the workers need.
pub struct Relay {
    /// The queue.
    pub queue: Arc<Queue>,
    /// Local mailboxes, for local recipients and bounces to local senders.
    pub mailboxes: Arc<Local>,
    /// Users and domains.
    pub directory: Arc<Directory>,
    /// Remote delivery.
    pub mailer: DirectMailer,
    /// Retry schedule and lifetime.
    pub settings: config::Queue,
    /// This server's name, for bounces.
    pub hostname: String,
    /// Woken when a message is queued.
    pub wake: Notify,
    busy: Mutex<HashSet<String>>,
}

impl Relay {
    /// Workers over `queue`, delivering with `mailer`.
    pub fn new(
        queue: Arc<Queue>,
        mailboxes: Arc<Local>,
        directory: Arc<Directory>,
        mailer: DirectMailer,
        settings: config::Queue,
        hostname: String,
    ) -> Arc<Relay> {
        Arc::new(Relay {
            queue,
            mailboxes,
            directory,
            mailer,
            settings,
            hostname,
            wake: Notify::new(),
            busy: Mutex::new(HashSet::new()),
        })
    }

    /// True while a delivery attempt of `id` is under way.
    pub fn is_busy(&self, id: &str) -> bool {
        self.busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
    }

    fn set_busy(&self, id: &str, busy: bool) {
        let mut set = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        if busy {
            set.insert(id.to_owned());
        } else {
            set.remove(id);
        }
    }

    /// Runs until `stop` turns true, then waits for attempts under way.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let workers = Arc::new(Semaphore::new(self.settings.workers));
        loop {
            // No more than the free workers: a shared queue leases what it
            // hands out, and a lease must not run out while it waits here.
            let free = workers.available_permits();
            let relay = self.clone();
            let taken = tokio::task::spawn_blocking(move || {
                relay.queue.due(now(), &|id| relay.is_busy(id), free)
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r);
            let (ready, next) = match taken {
                Ok(taken) => taken,
                Err(e) => {
                    warn!(error = %e, "cannot read the queue");
                    (Vec::new(), Some(now() + 5))
                }
            };
            for id in ready {
                let Ok(permit) = workers.clone().acquire_owned().await else {
                    return;
                };
                self.set_busy(&id, true);
                let relay = self.clone();
                tokio::spawn(async move {
                    let started = std::time::Instant::now();
                    let renewing = relay.keep_leased(&id);
                    relay.attempt(&id).await;
                    if let Some(renewing) = renewing {
                        renewing.abort();
                        let (queue, owned) = (relay.queue.clone(), id.clone());
                        let _ = tokio::task::spawn_blocking(move || queue.release(&owned)).await;
                    }
                    crate::metrics::observe_delivery(started.elapsed());
                    relay.set_busy(&id, false);
                    drop(permit);
                    relay.wake.notify_one();
                });
            }
            let wait = next.map_or(Duration::from_secs(3600), |at| {
                Duration::from_secs(at.saturating_sub(now())).max(Duration::from_millis(200))
            });
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
                _ = stop.changed() => break,
            }
        }
        // Let attempts under way record their outcomes.
        let _ = workers.acquire_many(self.settings.workers as u32).await;
    }

    /// For a shared queue: renews the lease on `id` at a third of its
    /// length until aborted, so no other instance takes the message while
    /// this one delivers it.
    fn keep_leased(self: &Arc<Self>, id: &str) -> Option<tokio::task::JoinHandle<()>> {
        let every = self.queue.lease()? / 3;
        let (queue, id) = (self.queue.clone(), id.to_owned());
        Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let (queue, id) = (queue.clone(), id.clone());
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || queue.renew(&id)).await {
                    warn!(error = %e, "cannot renew a delivery lease");
                }
            }
        }))
    }

    /// One delivery attempt of queued message `id`.
    async fn attempt(&self, id: &str) {
        let queue = self.queue.clone();
        let owned = id.to_owned();
        let loaded = tokio::task::spawn_blocking(move || queue.load(&owned)).await;
        let (mut envelope, message) = match loaded {
            Ok(Ok(loaded)) => loaded,
            Ok(Err(e)) => {
                warn!(queue_id = id, error = %e, "cannot read queued message");
                return;
            }
            Err(e) => {
                warn!(queue_id = id, error = %e, "cannot read queued message");
                return;
            }
        };
        let message = bytes::Bytes::from(message);
        // Local recipients first, then one transaction per remote domain.
        let mut local = Vec::new();
        let mut remote: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in envelope.pending() {
            let mailbox = Mailbox::parse(&r.address);
            match mailbox.as_ref().map(|m| (m, self.directory.route(m))) {
                Ok((_, Ok(Route::Local(owner)))) => local.push((r.address.clone(), Ok(owner))),
                Ok((_, Err(refusal))) => {
                    local.push((r.address.clone(), Err(refusal.to_wire_string())))
                }
                Ok((m, Ok(Route::Remote))) => remote
                    .entry(m.host.to_string().to_ascii_lowercase())
                    .or_default()
                    .push(r.address.clone()),
                // Queued under a forwarded local address: on to its target.
                Ok((_, Ok(Route::Forward(target)))) => {
                    let domain = target.rsplit_once('@').map_or("", |(_, d)| d);
                    remote
                        .entry(domain.to_ascii_lowercase())
                        .or_default()
                        .push(target);
                }
                Err(_) => local.push((r.address.clone(), Err("553 5.1.3 bad address".into()))),
            }
        }
        for (address, owner) in local {
            let outcome = match owner {
                Ok(owner) => {
                    let prefix = format!("Return-Path: <{}>\r\n", envelope.from);
                    let whole = [prefix.as_bytes(), &message].concat();
                    match self
                        .mailboxes
                        .deliver_bytes(whole.into(), &owner, Folder::Inbox)
                        .await
                    {
                        Ok(()) => (State::Delivered, "250 2.0.0 delivered to mailbox".into()),
                        Err(e) => (State::Pending, format!("451 4.3.0 mailbox: {e}")),
                    }
                }
                Err(reply) => (State::Failed, reply),
            };
            self.record(&mut envelope, "local", &[(address, outcome)])
                .await;
        }
        for (domain, recipients) in remote {
            let to: Vec<&str> = recipients.iter().map(String::as_str).collect();
            let outgoing = Outgoing::with_envelope(&envelope.from, &to, message.clone())
                .map(|o| o.require_tls(envelope.require_tls));
            let outcomes = match outgoing {
                Ok(outgoing) => match self.mailer.send(&outgoing).await {
                    Ok(report) => outcomes(report.recipients),
                    Err(Error::Rejected { recipients }) => outcomes(recipients),
                    Err(e) => recipients
                        .iter()
                        .map(|r| {
                            (
                                r.clone(),
                                (State::Pending, format!("451 4.4.1 {domain}: {e}")),
                            )
                        })
                        .collect(),
                },
                Err(e) => recipients
                    .iter()
                    .map(|r| (r.clone(), (State::Failed, format!("553 5.1.3 {e}"))))
                    .collect(),
            };
            self.record(&mut envelope, "remote", &outcomes).await;
        }
        self.finish(envelope, &message).await;
    }

    /// Stores outcomes at once, so a crash after a server took the message
    /// does not send it again.
    /// `route` (local or remote) labels the metrics.
    async fn record(
        &self,
        envelope: &mut Envelope,
        route: &str,
        outcomes: &[(String, (State, String))],
    ) {
        for (address, (state, reply)) in outcomes {
            let outcome = match state {
                State::Delivered => "delivered",
                State::Pending => "deferred",
                State::Failed => "failed",
            };
            crate::metrics::count(
                "sansmail_deliveries_total",
                &[("route", route), ("outcome", outcome)],
            );
            if let Some(r) = envelope
                .recipients
                .iter_mut()
                .find(|r| r.address.eq_ignore_ascii_case(address))
            {
                r.state = *state;
                r.reply = reply.clone();
                info!(
                    queue_id = %envelope.id, from = %envelope.from, to = %address,
                    outcome = ?state, reply = %reply, "delivery attempt"
                );
            }
        }
        let queue = self.queue.clone();
        let copy = envelope.clone();
        match tokio::task::spawn_blocking(move || queue.save(&copy)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(queue_id = %envelope.id, error = %e, "cannot record outcomes"),
            Err(e) => warn!(queue_id = %envelope.id, error = %e, "cannot record outcomes"),
        }
    }

    /// After an attempt: bounce what failed, then drop the message when
    /// nothing is pending, or schedule the next try (or expire it).
    async fn finish(&self, mut envelope: Envelope, message: &[u8]) {
        envelope.attempts += 1;
        let now = now();
        let expired = now >= envelope.created + self.settings.lifetime_secs;
        if expired {
            for r in envelope
                .recipients
                .iter_mut()
                .filter(|r| r.state == State::Pending)
            {
                r.state = State::Failed;
                r.reply = format!(
                    "{} (gave up after {} attempts: delivery time expired)",
                    if r.reply.is_empty() {
                        "451 4.4.7"
                    } else {
                        &r.reply
                    },
                    envelope.attempts
                );
            }
        }
        let unreported: Vec<usize> = (0..envelope.recipients.len())
            .filter(|&i| {
                envelope.recipients[i].state == State::Failed && !envelope.recipients[i].reported
            })
            .collect();
        if !unreported.is_empty() {
            if envelope.from.is_empty() {
                warn!(queue_id = %envelope.id, "a bounce could not be delivered; it is dropped, not bounced");
            } else {
                let failed: Vec<_> = unreported
                    .iter()
                    .map(|&i| &envelope.recipients[i])
                    .collect();
                let report = dsn::failure_report(
                    &self.hostname,
                    &envelope,
                    &failed,
                    message,
                    now,
                    random_u128(),
                );
                let bounce_id = new_id();
                let queue = self.queue.clone();
                let to = vec![envelope.from.clone()];
                let (bid, q_to) = (bounce_id.clone(), to.clone());
                // A bounce of a REQUIRETLS message asks for the same (RFC 8689 §5).
                let require_tls = envelope.require_tls;
                let queued = tokio::task::spawn_blocking(move || {
                    queue.enqueue(&bid, "", &q_to, &report, require_tls)
                })
                .await;
                match queued {
                    Ok(Ok(())) => {
                        info!(queue_id = %envelope.id, bounce_id = %bounce_id, to = %envelope.from, "bounce queued");
                        self.wake.notify_one();
                    }
                    _ => {
                        warn!(queue_id = %envelope.id, "cannot queue the bounce; will try again");
                        envelope.next_attempt = now + 60;
                        self.save(&envelope).await;
                        return;
                    }
                }
            }
            for i in unreported {
                envelope.recipients[i].reported = true;
            }
        }
        if envelope.pending().next().is_none() {
            let queue = self.queue.clone();
            let id = envelope.id.clone();
            if let Ok(Err(e)) | Err(e) = tokio::task::spawn_blocking(move || queue.remove(&id))
                .await
                .map_err(std::io::Error::other)
            {
                warn!(queue_id = %envelope.id, error = %e, "cannot remove a finished message");
            }
            info!(queue_id = %envelope.id, attempts = envelope.attempts, "message done");
            return;
        }
        let schedule = &self.settings.retry_secs;
        let delay = schedule[(envelope.attempts as usize - 1).min(schedule.len() - 1)];
        envelope.next_attempt = now + delay;
        info!(queue_id = %envelope.id, attempts = envelope.attempts, retry_in_secs = delay, "deferred");
        self.save(&envelope).await;
    }

    async fn save(&self, envelope: &Envelope) {
        let queue = self.queue.clone();
        let copy = envelope.clone();
        if let Ok(Err(e)) | Err(e) = tokio::task::spawn_blocking(move || queue.save(&copy))
            .await
            .map_err(std::io::Error::other)
        {
            warn!(queue_id = %envelope.id, error = %e, "cannot save the queue entry");
        }
    }
}

/// Each recipient's state and reply from a delivery report.
fn outcomes(report: Vec<sansmail::RecipientOutcome>) -> Vec<(String, (State, String))> {
    report
        .into_iter()
        .map(|o| {
            let address = o
                .recipient
                .mailbox()
                .map_or_else(|| "postmaster".to_owned(), |m| m.to_string());
            let (state, reply) = match o.status {
                DeliveryStatus::Delivered(r) => (State::Delivered, r),
                DeliveryStatus::TemporaryFailure(r) => (State::Pending, r),
                DeliveryStatus::PermanentFailure(r) => (State::Failed, r),
            };
            (address, (state, reply_line(&reply)))
        })
        .collect()
}

/// A reply on one line: `code status text`.
fn reply_line(reply: &sansmail_smtp::types::Reply) -> String {
    let mut line = reply.to_wire_string().replace("\r\n", " ");
    line.truncate(line.trim_end().len());
    line
}

/// 128 random bits for message ids and boundaries.
pub fn random_u128() -> u128 {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    u128::from_le_bytes(b)
}
