//! A device's pull: the owner's changes after its cursor, read in one snapshot. A session put
//! (created or replaced whole) within the page is sent once, as it is now; patches and metadata
//! changes are sent as logged; a session gone is sent as a delete. A cursor older than the
//! changes kept (pruned, or from before the log existed) gets every session, whole (a reset).

use idb_session_store::{Error, Result, SessionMetadata};
use serde_json::Value;
use sqlx::{AssertSqlSafe, Row};

use super::reads::Tx;
use super::rows::{self, Stored, META_COLUMNS};
use super::{db_error, OwnerSessions};
use crate::sync::{Entry, Pulled, Versioned};

/// Most changes (or, in a reset, sessions) one pull answers.
pub const MAX_PULL: usize = 500;

/// A logged change as the `changes` table holds it.
struct Logged {
    seq: i64,
    id: String,
    prev: Option<i64>,
    kind: String,
    body: String,
    /// The device whose pushed operation it was, if any.
    device: Option<String>,
}

impl OwnerSessions {
    /// The changes after `since` (every session, in a reset), at most `limit` of them; those
    /// pushed by `device` itself are passed over (it applied them when its push was answered).
    pub async fn pull(
        &self,
        since: i64,
        limit: usize,
        reset: bool,
        device: Option<&str>,
    ) -> Result<Pulled> {
        let limit = limit.clamp(1, MAX_PULL);
        let fail = |e| db_error("pulling changes", e);
        let mut tx = self.snapshot("pulling changes").await?;
        let owner = sqlx::query("SELECT pruned, seq FROM owners WHERE owner = $1")
            .bind(self.owner.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let (pruned, latest): (i64, i64) = match owner {
            Some(row) => (row.try_get(0).map_err(fail)?, row.try_get(1).map_err(fail)?),
            None => (0, 0),
        };
        let pulled = if reset || since < pruned {
            let mut page = self.sessions_after(&mut tx, since, limit).await?;
            if !page.more {
                // Every session sent: the log goes on from the last write there was.
                page.cursor = latest;
            }
            page
        } else {
            self.changes_after(&mut tx, since, limit, device).await?
        };
        tx.rollback().await.map_err(fail)?;
        Ok(pulled)
    }

    /// Session `id` whole, with its version.
    pub async fn versioned(&self, id: &str) -> Result<Versioned> {
        let doing = format!("reading session \"{id}\"");
        let mut tx = self.snapshot(&doing).await?;
        let found = self.read_whole(&mut tx, id).await?;
        tx.rollback().await.map_err(|e| db_error(&doing, e))?;
        let (version, session) = found.ok_or_else(|| Error::NotFound { id: id.to_owned() })?;
        Ok(Versioned { version, session })
    }

    /// A reset's page: the sessions written after `since`, whole, oldest write first.
    async fn sessions_after(&self, tx: &mut Tx, since: i64, limit: usize) -> Result<Pulled> {
        let sql = format!(
            "SELECT {META_COLUMNS}, state FROM sessions WHERE owner = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(self.owner.as_str())
            .bind(since)
            .bind(limit as i64)
            .fetch_all(&mut **tx)
            .await
            .map_err(|e| db_error("pulling sessions", e))?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut cursor = since;
        for row in &rows {
            let stored = Stored::read(row)?;
            let state: String = row.try_get(8).map_err(|e| db_error("reading a state", e))?;
            cursor = stored.version;
            let session = self.whole(tx, stored, &state).await?;
            entries.push(Entry::Put {
                seq: cursor,
                session,
            });
        }
        Ok(Pulled {
            more: rows.len() == limit,
            entries,
            cursor,
            reset: true,
        })
    }

    /// A page of the log after `since`, a session put within it sent once as it now is, the
    /// changes `device` pushed left out.
    async fn changes_after(
        &self,
        tx: &mut Tx,
        since: i64,
        limit: usize,
        device: Option<&str>,
    ) -> Result<Pulled> {
        let rows = sqlx::query(
            "SELECT seq, session_id, prev, kind, body, device FROM changes \
             WHERE owner = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(self.owner.as_str())
        .bind(since)
        .bind(limit as i64)
        .fetch_all(&mut **tx)
        .await
        .map_err(|e| db_error("pulling changes", e))?;
        let fail = |e| db_error("reading a change", e);
        let logged = rows
            .iter()
            .map(|row| {
                let id: Vec<u8> = row.try_get(1).map_err(fail)?;
                Ok(Logged {
                    seq: row.try_get(0).map_err(fail)?,
                    id: String::from_utf8(id).map_err(|_| rows::corrupt("a change's id"))?,
                    prev: row.try_get(2).map_err(fail)?,
                    kind: row.try_get(3).map_err(fail)?,
                    body: row.try_get(4).map_err(fail)?,
                    device: row.try_get(5).map_err(fail)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let cursor = logged.last().map_or(since, |l| l.seq);
        let mut entries = Vec::with_capacity(logged.len());
        let mut whole: Vec<&str> = Vec::new();
        for change in &logged {
            let own = device.is_some() && change.device.as_deref() == device;
            if whole.contains(&change.id.as_str()) || own {
                continue;
            }
            let put_later = logged.iter().any(|l| l.id == change.id && l.kind == "put");
            if put_later {
                // Sent once, as it is now (or as gone): it covers every change of it in this page.
                whole.push(&change.id);
                entries.push(match self.read_whole(tx, &change.id).await? {
                    Some((seq, session)) => Entry::Put { seq, session },
                    None => Entry::Delete {
                        seq: cursor,
                        id: change.id.clone(),
                    },
                });
                continue;
            }
            entries.push(entry(change)?);
        }
        Ok(Pulled {
            more: logged.len() == limit,
            entries,
            cursor,
            reset: false,
        })
    }
}

/// A logged patch, metadata change or delete, as a device receives it.
fn entry(change: &Logged) -> Result<Entry> {
    let damaged = |why: &str| rows::corrupt(&format!("change {} is {why}", change.seq));
    let body =
        || -> Result<Value> { serde_json::from_str(&change.body).map_err(|_| damaged("not JSON")) };
    let metadata = |body: &Value| -> Result<SessionMetadata> {
        serde_json::from_value(body["metadata"].clone()).map_err(|_| damaged("without metadata"))
    };
    let prev = change
        .prev
        .ok_or_else(|| damaged("without the version it applied to"));
    Ok(match change.kind.as_str() {
        "delete" => Entry::Delete {
            seq: change.seq,
            id: change.id.clone(),
        },
        "meta" => Entry::Meta {
            seq: change.seq,
            prev: prev?,
            metadata: metadata(&body()?)?,
        },
        "patch" => {
            let body = body()?;
            Entry::Patch {
                seq: change.seq,
                prev: prev?,
                cut: body["cut"]
                    .as_u64()
                    .ok_or_else(|| damaged("without a cut"))?,
                messages: serde_json::from_value(body["messages"].clone())
                    .map_err(|_| damaged("without messages"))?,
                state: body.get("state").cloned(),
                metadata: metadata(&body)?,
            }
        }
        other => return Err(damaged(&format!("of an unknown kind \"{other}\""))),
    })
}
