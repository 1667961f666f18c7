//! Login failures shared by the instances on one PostgreSQL database:
//! failed logins are counted per client address in `login_failures`, and
//! the instance that sees an address reach the limit locks it out and
//! announces the lockout, which every other instance then applies.

use std::net::IpAddr;
use std::sync::Arc;

use sansmail_store::Database;

use crate::limits::{Guard, Ledger};
use crate::queue::now;

/// Login failures counted per address in the database, so that an address
/// failing on several instances is locked out on all of them.
pub struct FailureLedger {
    db: Arc<Database>,
    guard: std::sync::Weak<Guard>,
}

impl FailureLedger {
    /// Shares `guard`'s counts through `db`: lockouts in force now apply
    /// at once, and those other instances decide reach it by notice.
    pub async fn share(db: &Arc<Database>, guard: &Arc<Guard>) -> Result<(), String> {
        let rows = db
            .client()
            .await
            .map_err(|e| e.to_string())?
            .query(
                "SELECT ip, locked_until FROM login_failures WHERE locked_until > $1",
                &[&(now() as i64)],
            )
            .await
            .map_err(|e| format!("login failures: {e}"))?;
        for row in rows {
            locked(guard, row.get(0), row.get(1));
        }
        let weak = Arc::downgrade(guard);
        db.on_notice(
            "l",
            Arc::new(move |what| {
                if let (Some(guard), Some((ip, until))) = (weak.upgrade(), what.split_once(' '))
                    && let Ok(until) = until.parse()
                {
                    locked(&guard, ip.to_owned(), until);
                }
            }),
        );
        guard.share(Arc::new(FailureLedger {
            db: db.clone(),
            guard: Arc::downgrade(guard),
        }));
        Ok(())
    }

    /// Counts one login from `ip` made at `at_ms` (milliseconds since the
    /// epoch): a success clears only failures older than itself, however
    /// late it reaches the database.
    async fn count(&self, ip: IpAddr, ok: bool, at_ms: i64) -> Result<(), String> {
        let client = self.db.client().await.map_err(|e| e.to_string())?;
        let (now, key) = (now() as i64, ip.to_string());
        if ok {
            client
                .execute(
                    "DELETE FROM login_failures WHERE ip = $1 AND last_failure_ms < $3
                     AND (locked_until IS NULL OR locked_until <= $2)",
                    &[&key, &now, &at_ms],
                )
                .await
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        // A new count when the hour's window or a lockout is over.
        let row = client
            .query_one(
                "INSERT INTO login_failures (ip, failures, window_start, last_failure_ms)
                 VALUES ($1, 1, $2, $3)
                 ON CONFLICT (ip) DO UPDATE SET
                   last_failure_ms = greatest(login_failures.last_failure_ms, $3),
                   failures = CASE WHEN login_failures.window_start <= $2 - 3600
                                    OR login_failures.locked_until <= $2
                               THEN 1 ELSE login_failures.failures + 1 END,
                   window_start = CASE WHEN login_failures.window_start <= $2 - 3600
                                        OR login_failures.locked_until <= $2
                                   THEN $2 ELSE login_failures.window_start END,
                   locked_until = CASE WHEN login_failures.locked_until > $2
                                   THEN login_failures.locked_until END
                 RETURNING failures, locked_until",
                &[&key, &now, &at_ms],
            )
            .await
            .map_err(|e| e.to_string())?;
        let (failures, locked_until): (i32, Option<i64>) = (row.get(0), row.get(1));
        let Some(guard) = self.guard.upgrade() else {
            return Ok(());
        };
        let policy = guard.policy();
        if locked_until.is_some() || (failures as u32) < policy.lockout_failures {
            return Ok(());
        }
        let until = now + policy.lockout.as_secs() as i64;
        let set = client
            .execute(
                "UPDATE login_failures SET locked_until = $2 WHERE ip = $1 AND locked_until IS NULL",
                &[&key, &until],
            )
            .await
            .map_err(|e| e.to_string())?;
        if set == 1 {
            locked(&guard, key.clone(), until);
            self.db
                .announce("l", &format!("{key} {until}"))
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Applies a lockout of `ip` until `until` (Unix seconds).
fn locked(guard: &Guard, ip: String, until: i64) {
    if let Ok(ip) = ip.parse() {
        let remaining = (until - now() as i64).max(0) as u64;
        guard.lock_out(ip, std::time::Duration::from_secs(remaining));
    }
}

impl Ledger for FailureLedger {
    fn record(&self, ip: IpAddr, ok: bool) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let ledger = FailureLedger {
            db: self.db.clone(),
            guard: self.guard.clone(),
        };
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        runtime.spawn(async move {
            if let Err(e) = ledger.count(ip, ok, at_ms).await {
                tracing::warn!(%ip, error = %e, "cannot count a login in the database");
            }
        });
    }
}
