//! The outbound queue in PostgreSQL, shared by every instance: each
//! message is one row (envelope as JSON, the message's octets, its
//! schedule). A delivery worker leases the due rows it takes (`FOR UPDATE
//! SKIP LOCKED`, so two instances never take the same one), renews the
//! lease while it works and gives it back when it is done; a crashed
//! instance's leases expire and another instance takes the messages over.
//! Every call blocks (the queue's interface is blocking).

use std::io;
use std::sync::Arc;

use deadpool_postgres::tokio_postgres::types::ToSql;
use sansmail_store::Database;

use crate::queue::{Envelope, now};
use crate::shared::block;

/// The queue's rows.
pub struct DbQueue {
    db: Arc<Database>,
    /// This instance, as it signs its leases.
    me: String,
    /// Seconds a lease lasts.
    lease_secs: u64,
}

fn db_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("database: {e}"))
}

fn envelope_of(json: &str, held: bool) -> io::Result<Envelope> {
    let mut envelope: Envelope = serde_json::from_str(json).map_err(io::Error::other)?;
    envelope.held = held;
    Ok(envelope)
}

impl DbQueue {
    /// The queue in `db`; leases last `lease_secs`.
    pub fn new(db: Arc<Database>, lease_secs: u64) -> DbQueue {
        DbQueue {
            me: db.instance(),
            db,
            lease_secs,
        }
    }

    async fn client(&self) -> io::Result<deadpool_postgres::Object> {
        self.db.client().await.map_err(io::Error::other)
    }

    /// Queues a message, durable once this returns.
    pub fn enqueue(
        &self,
        id: &str,
        from: &str,
        recipients: &[String],
        message: &[u8],
        require_tls: bool,
    ) -> io::Result<()> {
        let now = now();
        let envelope = Envelope::new(id, from, recipients, now, require_tls);
        let json = serde_json::to_string(&envelope).map_err(io::Error::other)?;
        block(async {
            self.client()
                .await?
                .execute(
                    "INSERT INTO queue (id, envelope, message, created, next_attempt)
                     VALUES ($1, $2, $3, $4, $4)",
                    &[&id, &json, &message, &(now as i64)],
                )
                .await
                .map_err(db_error)?;
            let _ = self.db.announce("q", id).await;
            Ok(())
        })
    }

    /// Records an envelope's progress and schedule; refused when another
    /// instance has taken the message over (this one's lease expired).
    pub fn save(&self, envelope: &Envelope) -> io::Result<()> {
        let json = serde_json::to_string(envelope).map_err(io::Error::other)?;
        block(async {
            let changed = self
                .client()
                .await?
                .execute(
                    "UPDATE queue SET envelope = $2, next_attempt = $3
                     WHERE id = $1 AND (leased_by IS NULL OR leased_by = $4
                                        OR lease_until < $5)",
                    &[
                        &envelope.id,
                        &json,
                        &(envelope.next_attempt as i64),
                        &self.me,
                        &(now() as i64),
                    ],
                )
                .await
                .map_err(db_error)?;
            match changed {
                1 => Ok(()),
                _ => Err(io::Error::other(format!(
                    "{} is being delivered by another instance (or is gone)",
                    envelope.id
                ))),
            }
        })
    }

    /// Every message's envelope, oldest first.
    pub fn list(&self) -> Vec<Envelope> {
        block(async {
            let rows = self
                .client()
                .await?
                .query("SELECT envelope, held FROM queue ORDER BY created, id", &[])
                .await
                .map_err(db_error)?;
            Ok::<_, io::Error>(
                rows.iter()
                    .filter_map(|r| envelope_of(r.get(0), r.get(1)).ok())
                    .collect(),
            )
        })
        .unwrap_or_default()
    }

    /// Holds or releases a message.
    pub fn set_held(&self, id: &str, held: bool) -> io::Result<()> {
        self.update(id, "UPDATE queue SET held = $2 WHERE id = $1", &held)
    }

    /// Makes a message due now.
    pub fn retry_now(&self, id: &str) -> io::Result<()> {
        let now = now() as i64;
        self.update(id, "UPDATE queue SET next_attempt = $2 WHERE id = $1", &now)
    }

    /// Sets one column of `id`'s row to `value` (`$2` in `sql`).
    fn update(&self, id: &str, sql: &str, value: &(dyn ToSql + Sync)) -> io::Result<()> {
        block(async {
            let changed = self
                .client()
                .await?
                .execute(sql, &[&id, value])
                .await
                .map_err(db_error)?;
            found(id, changed)
        })
    }

    /// The ids of every message not on hold.
    pub fn unheld(&self) -> Vec<String> {
        block(async {
            let rows = self
                .client()
                .await?
                .query("SELECT id FROM queue WHERE NOT held ORDER BY created", &[])
                .await
                .map_err(db_error)?;
            Ok::<_, io::Error>(rows.iter().map(|r| r.get(0)).collect())
        })
        .unwrap_or_default()
    }

    /// The number of messages and the age of the oldest at `now`.
    pub fn size_and_oldest(&self, now: u64) -> (usize, u64) {
        block(async {
            let row = self
                .client()
                .await?
                .query_one("SELECT count(*), min(created) FROM queue", &[])
                .await
                .map_err(db_error)?;
            let oldest: Option<i64> = row.get(1);
            Ok::<_, io::Error>((
                row.get::<_, i64>(0) as usize,
                oldest.map_or(0, |c| now.saturating_sub(c as u64)),
            ))
        })
        .unwrap_or((0, 0))
    }

    /// A message's envelope and octets.
    pub fn load(&self, id: &str) -> io::Result<(Envelope, Vec<u8>)> {
        block(async {
            let row = self
                .client()
                .await?
                .query_opt(
                    "SELECT envelope, held, message FROM queue WHERE id = $1",
                    &[&id],
                )
                .await
                .map_err(db_error)?
                .ok_or_else(|| missing(id))?;
            Ok((envelope_of(row.get(0), row.get(1))?, row.get(2)))
        })
    }

    /// Removes a message (delivered, or deleted by the administrator);
    /// refused while another instance delivers it.
    pub fn remove(&self, id: &str) -> io::Result<()> {
        block(async {
            let changed = self
                .client()
                .await?
                .execute(
                    "DELETE FROM queue WHERE id = $1
                     AND (leased_by IS NULL OR leased_by = $2 OR lease_until < $3)",
                    &[&id, &self.me, &(now() as i64)],
                )
                .await
                .map_err(db_error)?;
            if changed == 0 && self.exists(id).await? {
                return Err(io::Error::other(format!(
                    "{id} is being delivered by another instance; hold it, or try again when its attempt ends"
                )));
            }
            found(id, changed)
        })
    }

    async fn exists(&self, id: &str) -> io::Result<bool> {
        Ok(self
            .client()
            .await?
            .query_opt("SELECT 1 FROM queue WHERE id = $1", &[&id])
            .await
            .map_err(db_error)?
            .is_some())
    }

    /// Leases up to `limit` due messages to this instance; returns their
    /// ids, and when the next of the others falls due (or its lease ends).
    pub fn due(&self, now: u64, limit: usize) -> io::Result<(Vec<String>, Option<u64>)> {
        block(async {
            let client = self.client().await?;
            let taken = client
                .query(
                    "UPDATE queue q SET leased_by = $1, lease_until = $2
                     FROM (SELECT id FROM queue
                           WHERE NOT held AND next_attempt <= $3
                             AND (lease_until IS NULL OR lease_until < $3)
                           ORDER BY next_attempt LIMIT $4 FOR UPDATE SKIP LOCKED) due
                     WHERE q.id = due.id RETURNING q.id",
                    &[
                        &self.me,
                        &((now + self.lease_secs) as i64),
                        &(now as i64),
                        &(limit as i64),
                    ],
                )
                .await
                .map_err(db_error)?;
            let next: Option<i64> = client
                .query_one(
                    "SELECT min(greatest(next_attempt, coalesce(lease_until, 0)))
                     FROM queue WHERE NOT held AND NOT (leased_by = $1 AND lease_until >= $2)",
                    &[&self.me, &(now as i64)],
                )
                .await
                .map_err(db_error)?
                .get(0);
            Ok((
                taken.iter().map(|r| r.get(0)).collect(),
                next.map(|n| n as u64),
            ))
        })
    }

    /// Extends this instance's lease on `id` (while a delivery goes on).
    pub fn renew(&self, id: &str) -> io::Result<()> {
        block(async {
            self.client()
                .await?
                .execute(
                    "UPDATE queue SET lease_until = $3 WHERE id = $1 AND leased_by = $2",
                    &[&id, &self.me, &((now() + self.lease_secs) as i64)],
                )
                .await
                .map_err(db_error)?;
            Ok(())
        })
    }

    /// Gives the lease on `id` back (the attempt is over).
    pub fn release(&self, id: &str) -> io::Result<()> {
        block(async {
            self.client()
                .await?
                .execute(
                    "UPDATE queue SET leased_by = NULL, lease_until = NULL
                     WHERE id = $1 AND leased_by = $2",
                    &[&id, &self.me],
                )
                .await
                .map_err(db_error)?;
            Ok(())
        })
    }

    /// How many messages are queued.
    pub fn count(&self) -> usize {
        self.size_and_oldest(now()).0
    }

    /// How long the lease lasts.
    pub fn lease_secs(&self) -> u64 {
        self.lease_secs
    }
}

fn missing(id: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("no message {id} in the queue"),
    )
}

fn found(id: &str, changed: u64) -> io::Result<()> {
    match changed {
        0 => Err(missing(id)),
        _ => Ok(()),
    }
}
