//! A write transaction of one owner: it holds the owner's clock row from the start, stamps each
//! write with `rules::Clock`, and offers the few statements every write is made of.

use idb_session_store::rules::{self, Clock};
use idb_session_store::{Change, Error, Result, Session, SessionMetadata, Watchers};
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::log::Logged;
use super::rows::{self, Stored, META_COLUMNS};
use super::{db_error, OwnerSessions};

/// A statement with its arguments bound.
pub(super) type Statement<'q> = sqlx::query::Query<'q, Any, <Any as sqlx::Database>::Arguments>;

/// An open write transaction of one owner, holding its clock row.
pub(crate) struct Write<'a> {
    pub tx: Transaction<'static, Any>,
    pub owner: &'a str,
    clock: Clock,
    /// What is being done, for error messages.
    op: String,
    /// Who hears of this write once it committed, and what it changed (kept only if someone does).
    watchers: &'a Watchers,
    changes: Vec<Change>,
    /// The device and operation number of the pushed operation this write applies, if any.
    pub origin: Option<(String, i64)>,
}

impl OwnerSessions {
    /// Begins a write: opens the transaction and locks (creating if new) the owner's clock row.
    pub(super) async fn begin_write(&self, op: String) -> Result<Write<'_>> {
        let fail = |e| db_error(&op, e);
        let mut tx = self
            .db
            .writer
            .begin_with(self.db.backend.begin_write())
            .await
            .map_err(fail)?;
        // The no-op update takes the row lock on PostgreSQL; SQLite holds the write lock already.
        let row = sqlx::query(
            "INSERT INTO owners (owner, clock_ms, seq) VALUES ($1, 0, 0) \
             ON CONFLICT (owner) DO UPDATE SET seq = owners.seq RETURNING clock_ms, seq",
        )
        .bind(self.owner.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
        let ms: i64 = row.try_get(0).map_err(fail)?;
        let seq: i64 = row.try_get(1).map_err(fail)?;
        Ok(Write {
            tx,
            owner: &self.owner,
            clock: Clock {
                ms,
                seq: seq as u64,
            },
            op,
            watchers: &self.watchers,
            changes: Vec::new(),
            origin: None,
        })
    }
}

impl Write<'_> {
    fn fail(&self, e: sqlx::Error) -> Error {
        db_error(&self.op, e)
    }

    /// Runs a statement, returning how many rows it changed.
    pub(super) async fn exec(&mut self, query: Statement<'_>) -> Result<u64> {
        match query.execute(&mut *self.tx).await {
            Ok(done) => Ok(done.rows_affected()),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Advances the owner's clock for this write (see `rules::Clock`) and returns its stamp.
    pub(super) async fn stamp(&mut self) -> Result<Clock> {
        let stamp = self.clock.tick(rules::now_ms());
        let query = sqlx::query("UPDATE owners SET clock_ms = $2, seq = $3 WHERE owner = $1")
            .bind(self.owner)
            .bind(stamp.ms)
            .bind(stamp.seq as i64);
        self.exec(query).await?;
        Ok(stamp)
    }

    /// The stored metadata of `id`, or `NOT_FOUND`.
    pub(super) async fn load(&mut self, id: &str) -> Result<Stored> {
        let sql = format!("SELECT {META_COLUMNS} FROM sessions WHERE owner = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(self.owner)
            .bind(id.as_bytes())
            .fetch_optional(&mut *self.tx)
            .await;
        match row {
            Ok(Some(row)) => Stored::read(&row),
            Ok(None) => Err(Error::NotFound { id: id.to_owned() }),
            Err(e) => Err(self.fail(e)),
        }
    }

    pub(super) async fn fetch_state(&mut self, id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT state FROM sessions WHERE owner = $1 AND id = $2")
            .bind(self.owner)
            .bind(id.as_bytes())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(|e| self.fail(e))?;
        row.map(|row| row.try_get(0).map_err(|e| self.fail(e)))
            .transpose()
    }

    /// Stamps `stored` as written now, writes its metadata back (and `state`, if given), and
    /// logs what the write did.
    pub(super) async fn update(
        &mut self,
        stored: &mut Stored,
        state: Option<String>,
        logged: Logged<'_>,
    ) -> Result<()> {
        let stamp = self.stamp().await?;
        stored.meta.updated_at = stamp.ms;
        let query = sqlx::query(
            "UPDATE sessions SET seq = $3, updated_at = $4, turn_count = $5, total_tokens = $6, \
             message_count = $7, labels = $8, state = COALESCE($9, state) \
             WHERE owner = $1 AND id = $2",
        );
        let m = &stored.meta;
        let query = query
            .bind(self.owner)
            .bind(m.id.as_bytes())
            .bind(stamp.seq as i64)
            .bind(stamp.ms)
            .bind(i64::from(m.turn_count))
            .bind(m.total_tokens as i64)
            .bind(stored.message_count)
            .bind(stored.labels())
            .bind(state);
        self.exec(query).await?;
        let seq = stamp.seq as i64;
        self.log(&stored.meta, Some(stored.version), seq, stamp.ms, logged)
            .await?;
        stored.version = seq;
        self.changed(|| Change::Saved(stored.meta.clone()));
        Ok(())
    }

    /// Deletes session `id` (its row and messages) and logs it; `false` if there was none.
    pub(super) async fn delete(&mut self, id: &str) -> Result<bool> {
        let Some(prev) = self.remove_row(id).await? else {
            return Ok(false);
        };
        self.delete_messages(id, 0).await?;
        let stamp = self.stamp().await?;
        let gone = SessionMetadata::new(id, "");
        self.log(
            &gone,
            Some(prev),
            stamp.seq as i64,
            stamp.ms,
            Logged::Delete,
        )
        .await?;
        self.changed(|| Change::Deleted { id: id.to_owned() });
        Ok(true)
    }

    /// Deletes the `sessions` row of `id`, returning its version if there was one.
    async fn remove_row(&mut self, id: &str) -> Result<Option<i64>> {
        let row = sqlx::query("DELETE FROM sessions WHERE owner = $1 AND id = $2 RETURNING seq")
            .bind(self.owner)
            .bind(id.as_bytes())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(|e| self.fail(e))?;
        row.map(|row| row.try_get(0).map_err(|e| self.fail(e)))
            .transpose()
    }

    /// Deletes the messages of `id` from position `from` on.
    pub(super) async fn delete_messages(&mut self, id: &str, from: i64) -> Result<()> {
        let query = sqlx::query(
            "DELETE FROM messages WHERE owner = $1 AND session_id = $2 AND position >= $3",
        )
        .bind(self.owner)
        .bind(id.as_bytes())
        .bind(from);
        self.exec(query).await.map(drop)
    }

    /// Creates or replaces a whole session (already validated), stamped as written now.
    pub(super) async fn save(&mut self, session: &Session) -> Result<SessionMetadata> {
        let stamp = self.stamp().await?;
        let mut meta = session.metadata.clone();
        meta.updated_at = stamp.ms;
        if meta.created_at == 0 {
            meta.created_at = stamp.ms;
        }
        let id = meta.id.as_str();
        self.delete_messages(id, 0).await?;
        let prev = self.remove_row(id).await?;
        let stored = Stored {
            meta: meta.clone(),
            message_count: session.messages.len() as i64,
            version: stamp.seq as i64,
        };
        let query = sqlx::query(
            "INSERT INTO sessions (owner, id, seq, created_at, updated_at, turn_count, \
             total_tokens, message_count, labels, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(self.owner)
        .bind(id.as_bytes())
        .bind(stamp.seq as i64)
        .bind(meta.created_at)
        .bind(meta.updated_at)
        .bind(i64::from(meta.turn_count))
        .bind(meta.total_tokens as i64)
        .bind(stored.message_count)
        .bind(stored.labels())
        .bind(rows::to_text(&session.state));
        self.exec(query).await?;
        rows::insert_messages(&mut self.tx, self.owner, id, 0, &session.messages).await?;
        self.log(&meta, prev, stamp.seq as i64, stamp.ms, Logged::Put)
            .await?;
        self.changed(|| Change::Saved(meta.clone()));
        Ok(meta)
    }

    /// Records `change` for the watchers, told once the write committed.
    pub(super) fn changed(&mut self, change: impl FnOnce() -> Change) {
        if self.watchers.any() {
            self.changes.push(change());
        }
    }

    pub(super) async fn commit(self) -> Result<()> {
        let op = self.op;
        self.tx.commit().await.map_err(|e| db_error(&op, e))?;
        self.watchers.notify(&self.changes);
        Ok(())
    }
}
