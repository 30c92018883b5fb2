//! The reads of an owner's sessions: `list_page` reads `sessions` rows only, through the
//! `(owner, seq)` index; `resume` (and a pull, for a session it sends whole) reads one row and its
//! messages in one snapshot, checking their count.

use idb_session_store::{rules, Error, Result, Session, SessionMetadata};
use sqlx::{AssertSqlSafe, Row};

use super::rows::{self, Stored, META_COLUMNS};
use super::{db_error, OwnerSessions};

impl OwnerSessions {
    /// One page of metadata, most recently written first.
    pub(crate) async fn read_page(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<SessionMetadata>> {
        let clamp = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {META_COLUMNS} FROM sessions WHERE owner = $1 ORDER BY seq DESC LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(self.owner.as_str())
            .bind(clamp(limit))
            .bind(clamp(offset))
            .fetch_all(&self.db.reader)
            .await
            .map_err(|e| db_error("listing sessions", e))?;
        rows.iter()
            .map(|row| Stored::read(row).map(|s| s.meta))
            .collect()
    }

    /// A whole session, its row and messages read in one snapshot.
    pub(crate) async fn read_session(&self, id: &str) -> Result<Session> {
        rules::check_id(id)?;
        let doing = format!("reading session \"{id}\"");
        let mut tx = self.snapshot(&doing).await?;
        let found = self.read_whole(&mut tx, id).await?;
        tx.rollback().await.map_err(|e| db_error(&doing, e))?;
        let (_, session) = found.ok_or_else(|| Error::NotFound { id: id.to_owned() })?;
        Ok(session)
    }

    /// A read-only transaction: what it reads is one snapshot (`doing` names it in errors).
    pub(super) async fn snapshot(&self, doing: &str) -> Result<Tx> {
        self.db
            .reader
            .begin_with(self.db.backend.begin_read())
            .await
            .map_err(|e| db_error(doing, e))
    }

    /// Session `id` whole and its version, or `None` if there is none.
    pub(super) async fn read_whole(&self, tx: &mut Tx, id: &str) -> Result<Option<(i64, Session)>> {
        let sql =
            format!("SELECT {META_COLUMNS}, state FROM sessions WHERE owner = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(self.owner.as_str())
            .bind(id.as_bytes())
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| db_error(&format!("reading session \"{id}\""), e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let stored = Stored::read(&row)?;
        let state: String = row.try_get(8).map_err(|e| db_error("reading a state", e))?;
        let version = stored.version;
        Ok(Some((version, self.whole(tx, stored, &state).await?)))
    }

    /// The session of a `sessions` row (`stored`, `state`), its messages read in `tx` and
    /// checked against the row's count.
    pub(super) async fn whole(&self, tx: &mut Tx, stored: Stored, state: &str) -> Result<Session> {
        let id = stored.meta.id.clone();
        let messages = rows::read_messages(tx, &self.owner, &id).await?;
        if messages.len() as i64 != stored.message_count {
            return Err(rows::corrupt(&format!(
                "session \"{id}\" should have {} messages, has {}",
                stored.message_count,
                messages.len()
            )));
        }
        Ok(Session {
            metadata: stored.meta,
            messages,
            state: rows::from_text(state, &format!("state of session \"{id}\""))?,
        })
    }
}

/// A transaction of the stores' pool, read or write.
pub(super) type Tx = sqlx::Transaction<'static, sqlx::Any>;
