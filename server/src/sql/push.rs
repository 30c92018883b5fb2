//! A device's push, applied: each operation in a write transaction of its own, which checks
//! first whether the device's operation was applied already (then it answers the outcome it gave
//! then), applies it only on the version it was made on, logs it with the device and operation
//! it came from, and records its outcome and the device's last operation.

use idb_session_store::{rules, Error, Result, Session, SessionMetadata};
use sqlx::Row;

use super::log::Logged;
use super::rows::{self, Stored};
use super::write_tx::Write;
use super::{db_error, OwnerSessions};
use crate::sync::{Op, Outcome, Push};

/// Longest device id accepted, in bytes.
const MAX_DEVICE_BYTES: usize = 128;

impl OwnerSessions {
    /// Applies `push`, answering an outcome per operation; forgets the outcomes the device
    /// acknowledged.
    pub async fn push(&self, push: Push) -> Result<Vec<Outcome>> {
        let Push { device, acked, ops } = push;
        if device.is_empty() || device.len() > MAX_DEVICE_BYTES {
            return Err(Error::InvalidInput {
                message: format!("device must be 1 to {MAX_DEVICE_BYTES} bytes long"),
            });
        }
        if let Some(pair) = ops.windows(2).find(|p| p[0].number() >= p[1].number()) {
            return Err(Error::InvalidInput {
                message: format!(
                    "operation numbers must grow: {} comes after {}",
                    pair[1].number(),
                    pair[0].number()
                ),
            });
        }
        let mut outcomes = Vec::with_capacity(ops.len());
        for op in ops {
            outcomes.push(self.apply(&device, op).await?);
        }
        self.forget_outcomes(&device, acked).await?;
        self.prune().await?;
        Ok(outcomes)
    }

    /// Forgets the changes older than the database's horizon (see
    /// [`SqlSessionManager::keep_changes`](super::SqlSessionManager::keep_changes)): a device
    /// whose cursor is older then resyncs from the sessions themselves.
    async fn prune(&self) -> Result<()> {
        let horizon = rules::now_ms() - self.db.keep_changes.as_millis() as i64;
        let fail = |e| db_error("pruning old changes", e);
        let oldest = sqlx::query("SELECT at_ms FROM changes WHERE owner = $1 ORDER BY seq LIMIT 1")
            .bind(self.owner.as_str())
            .fetch_optional(&self.db.reader)
            .await
            .map_err(fail)?;
        let oldest: Option<i64> = oldest.map(|row| row.try_get(0)).transpose().map_err(fail)?;
        if oldest.is_none_or(|at| at >= horizon) {
            return Ok(());
        }
        let mut w = self.begin_write("pruning old changes".to_owned()).await?;
        let last: Option<i64> =
            sqlx::query("SELECT MAX(seq) FROM changes WHERE owner = $1 AND at_ms < $2")
                .bind(self.owner.as_str())
                .bind(horizon)
                .fetch_one(&mut *w.tx)
                .await
                .and_then(|row| row.try_get(0))
                .map_err(fail)?;
        if let Some(last) = last {
            let query = sqlx::query("DELETE FROM changes WHERE owner = $1 AND seq <= $2")
                .bind(self.owner.as_str())
                .bind(last);
            w.exec(query).await?;
            let query =
                sqlx::query("UPDATE owners SET pruned = $2 WHERE owner = $1 AND pruned < $2")
                    .bind(self.owner.as_str())
                    .bind(last);
            w.exec(query).await?;
        }
        w.commit().await
    }

    async fn apply(&self, device: &str, op: Op) -> Result<Outcome> {
        let number = op.number();
        let mut w = self
            .begin_write(format!(
                "applying operation {number} of device \"{device}\""
            ))
            .await?;
        if let Some(done) = w.applied(device, number).await? {
            w.commit().await?;
            return Ok(done);
        }
        w.origin = Some((device.to_owned(), number));
        let outcome = match op {
            Op::Put { op, base, session } => w.put(op, base, &session).await?,
            Op::Patch {
                op,
                base,
                cut,
                messages,
                state,
                metadata,
            } => {
                let id = metadata.id.clone();
                rules::check_metadata(&metadata)?;
                rules::check_messages(&messages, &id)?;
                if let Some(state) = &state {
                    rules::check_state(state, &id)?;
                }
                match w.load_at(&id, base).await? {
                    Ok(mut stored) if cut <= stored.message_count as u64 => {
                        let cut = cut as i64;
                        w.delete_messages(&id, cut).await?;
                        rows::insert_messages(&mut w.tx, w.owner, &id, cut, &messages).await?;
                        stored.message_count = cut + messages.len() as i64;
                        let created_at = stored.meta.created_at;
                        stored.meta = SessionMetadata {
                            created_at,
                            ..metadata
                        };
                        let text = state.as_ref().map(rows::to_text);
                        let patch = Logged::Patch {
                            cut,
                            messages: &messages,
                            state: state.as_ref(),
                        };
                        w.update(&mut stored, text, patch).await?;
                        applied(op, stored.version)
                    }
                    Ok(stored) => Outcome::Conflict {
                        op,
                        version: stored.version,
                    },
                    Err(outcome) => outcome.of(op),
                }
            }
            Op::Meta { op, id, tags, name } => {
                rules::check_tags(&tags, &id)?;
                if let Some(name) = &name {
                    rules::check_name(name, &id)?;
                }
                match w.load(&id).await {
                    Ok(mut stored) => {
                        rules::merge_tags(&mut stored.meta.tags, tags);
                        if let Some(name) = name {
                            stored.meta.name = Some(name);
                        }
                        w.update(&mut stored, None, Logged::Meta).await?;
                        applied(op, stored.version)
                    }
                    Err(Error::NotFound { .. }) => Outcome::Deleted { op },
                    Err(e) => return Err(e),
                }
            }
            Op::Delete { op, id } => {
                rules::check_id(&id)?;
                w.delete(&id).await?;
                applied(op, 0)
            }
        };
        w.record(device, &outcome).await?;
        w.commit().await?;
        Ok(outcome)
    }

    async fn forget_outcomes(&self, device: &str, acked: i64) -> Result<()> {
        sqlx::query("DELETE FROM device_ops WHERE owner = $1 AND device = $2 AND op <= $3")
            .bind(self.owner.as_str())
            .bind(device)
            .bind(acked)
            .execute(&self.db.writer)
            .await
            .map_err(|e| db_error("forgetting acknowledged outcomes", e))?;
        Ok(())
    }
}

fn applied(op: i64, version: i64) -> Outcome {
    Outcome::Applied { op, version }
}

/// Why an operation cannot apply to a session, before knowing its number.
enum Refused {
    Conflict(i64),
    Deleted,
}

impl Refused {
    fn of(self, op: i64) -> Outcome {
        match self {
            Refused::Conflict(version) => Outcome::Conflict { op, version },
            Refused::Deleted => Outcome::Deleted { op },
        }
    }
}

impl Write<'_> {
    /// The outcome this device's operation `op` had, if it was applied (or refused) already.
    async fn applied(&mut self, device: &str, op: i64) -> Result<Option<Outcome>> {
        let last = sqlx::query("SELECT last_op FROM devices WHERE owner = $1 AND device = $2")
            .bind(self.owner)
            .bind(device)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(|e| db_error("reading the device's last operation", e))?;
        let last: i64 = match last {
            Some(row) => row
                .try_get(0)
                .map_err(|e| db_error("reading a device", e))?,
            None => return Ok(None),
        };
        if op > last {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT outcome FROM device_ops WHERE owner = $1 AND device = $2 AND op = $3",
        )
        .bind(self.owner)
        .bind(device)
        .bind(op)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(|e| db_error("reading an operation's outcome", e))?;
        let Some(row) = row else {
            return Err(Error::InvalidInput {
                message: format!(
                    "operation {op} of device \"{device}\" is older than its last ({last}) and was acknowledged"
                ),
            });
        };
        let text: String = row
            .try_get(0)
            .map_err(|e| db_error("reading an outcome", e))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| rows::corrupt(&format!("an outcome: {e}")))
    }

    /// Records `outcome` of the device's operation, and that it is the device's last.
    async fn record(&mut self, device: &str, outcome: &Outcome) -> Result<()> {
        let op = match outcome {
            Outcome::Applied { op, .. }
            | Outcome::Conflict { op, .. }
            | Outcome::Deleted { op } => *op,
        };
        let text = serde_json::to_string(outcome).expect("an outcome serializes");
        let query = sqlx::query(
            "INSERT INTO device_ops (owner, device, op, outcome) VALUES ($1, $2, $3, $4)",
        )
        .bind(self.owner)
        .bind(device)
        .bind(op)
        .bind(text);
        self.exec(query).await?;
        let query = sqlx::query(
            "INSERT INTO devices (owner, device, last_op) VALUES ($1, $2, $3) \
             ON CONFLICT (owner, device) DO UPDATE SET last_op = $3",
        )
        .bind(self.owner)
        .bind(device)
        .bind(op);
        self.exec(query).await.map(drop)
    }

    /// Session `id` if it is at version `base`; else why an operation made on `base` cannot apply.
    async fn load_at(&mut self, id: &str, base: i64) -> Result<Result<Stored, Refused>> {
        match self.load(id).await {
            Ok(stored) if stored.version == base => Ok(Ok(stored)),
            Ok(stored) => Ok(Err(Refused::Conflict(stored.version))),
            Err(Error::NotFound { .. }) => Ok(Err(Refused::Deleted)),
            Err(e) => Err(e),
        }
    }

    /// A put: creates the session (`base` null, no session of that id), or replaces it while it
    /// is at `base`.
    async fn put(&mut self, op: i64, base: Option<i64>, session: &Session) -> Result<Outcome> {
        rules::check_session(session)?;
        let id = &session.metadata.id;
        let current = match self.load(id).await {
            Ok(stored) => Some(stored.version),
            Err(Error::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        match (base, current) {
            (None, None) => {}
            (Some(base), Some(version)) if base == version => {}
            (_, Some(version)) => return Ok(Outcome::Conflict { op, version }),
            (Some(_), None) => return Ok(Outcome::Deleted { op }),
        }
        self.save(session).await?;
        let version = self.load(id).await?.version;
        Ok(applied(op, version))
    }
}
