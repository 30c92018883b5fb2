//! The writes of an owner's sessions. Each is one transaction that first locks the owner's clock
//! row (so an owner's writes serialize, on one server or many), validates with the core crate's
//! `rules` exactly as the in-memory store does, and touches only the rows it changes: an append
//! inserts its messages, `replace_last` updates one row, neither reads the history.

use std::collections::HashSet;

use idb_session_store::portable::{self, ImportReport, OnConflict};
use idb_session_store::rules;
use idb_session_store::{Change, Error, Result, Session, SessionMetadata};
use serde_json::Value;
use sqlx::Row;

use super::log::Logged;
use super::rows;
use super::{db_error, OwnerSessions};
use idb_session_store::TurnOptions;

impl OwnerSessions {
    pub(crate) async fn write_save(&self, session: &Session) -> Result<SessionMetadata> {
        rules::check_session(session)?;
        let mut w = self
            .begin_write(format!("saving session \"{}\"", session.metadata.id))
            .await?;
        let meta = w.save(session).await?;
        w.commit().await?;
        Ok(meta)
    }

    pub(crate) async fn write_delete(&self, id: &str) -> Result<()> {
        rules::check_id(id)?;
        let mut w = self
            .begin_write(format!("deleting session \"{id}\""))
            .await?;
        if !w.delete(id).await? {
            return Err(Error::NotFound { id: id.to_owned() });
        }
        w.commit().await
    }

    pub(crate) async fn write_fork(
        &self,
        id: &str,
        new_name: Option<String>,
    ) -> Result<SessionMetadata> {
        rules::check_fork(id, new_name.as_deref())?;
        let mut w = self
            .begin_write(format!("forking session \"{id}\""))
            .await?;
        let mut copy = w.load(id).await?;
        let stamp = w.stamp().await?;
        let meta = &mut copy.meta;
        meta.id = uuid::Uuid::new_v4().to_string();
        meta.name = rules::fork_name(meta.name.as_deref(), new_name);
        meta.created_at = stamp.ms;
        meta.updated_at = stamp.ms;
        let query = sqlx::query(
            "INSERT INTO sessions (owner, id, seq, created_at, updated_at, turn_count, \
             total_tokens, message_count, labels, state) \
             SELECT owner, $3, $4, $5, $5, turn_count, total_tokens, message_count, $6, state \
             FROM sessions WHERE owner = $1 AND id = $2",
        );
        w.exec(
            query
                .bind(w.owner)
                .bind(id.as_bytes())
                .bind(copy.meta.id.as_bytes())
                .bind(stamp.seq as i64)
                .bind(stamp.ms)
                .bind(copy.labels()),
        )
        .await?;
        let query = sqlx::query(
            "INSERT INTO messages (owner, session_id, position, body) \
             SELECT owner, $3, position, body FROM messages WHERE owner = $1 AND session_id = $2",
        );
        w.exec(
            query
                .bind(w.owner)
                .bind(id.as_bytes())
                .bind(copy.meta.id.as_bytes()),
        )
        .await?;
        let seq = stamp.seq as i64;
        w.log(&copy.meta, None, seq, stamp.ms, Logged::Put).await?;
        w.changed(|| Change::Saved(copy.meta.clone()));
        w.commit().await?;
        Ok(copy.meta)
    }

    pub(crate) async fn write_rewind(&self, id: &str, turn_index: u32) -> Result<Session> {
        rules::check_id(id)?;
        let mut w = self
            .begin_write(format!("rewinding session \"{id}\""))
            .await?;
        let mut stored = w.load(id).await?;
        let kept = stored.message_count.min(i64::from(turn_index));
        w.delete_messages(id, kept).await?;
        stored.message_count = kept;
        stored.meta.turn_count = kept as u32;
        let cut = Logged::Patch {
            cut: kept,
            messages: &[],
            state: None,
        };
        w.update(&mut stored, None, cut).await?;
        let messages = rows::read_messages(&mut w.tx, w.owner, id).await?;
        let state: String = w
            .fetch_state(id)
            .await?
            .ok_or_else(|| Error::NotFound { id: id.to_owned() })?;
        w.commit().await?;
        Ok(Session {
            metadata: stored.meta,
            messages,
            state: rows::from_text(&state, &format!("state of session \"{id}\""))?,
        })
    }

    pub(crate) async fn write_tag(&self, id: &str, tags: Vec<String>) -> Result<()> {
        rules::check_id(id)?;
        rules::check_tags(&tags, id)?;
        let mut w = self
            .begin_write(format!("tagging session \"{id}\""))
            .await?;
        let mut stored = w.load(id).await?;
        rules::merge_tags(&mut stored.meta.tags, tags);
        w.update(&mut stored, None, Logged::Meta).await?;
        w.commit().await
    }

    pub(crate) async fn write_rename(&self, id: &str, new_name: String) -> Result<()> {
        rules::check_id(id)?;
        rules::check_name(&new_name, id)?;
        let mut w = self
            .begin_write(format!("renaming session \"{id}\""))
            .await?;
        let mut stored = w.load(id).await?;
        stored.meta.name = Some(new_name);
        w.update(&mut stored, None, Logged::Meta).await?;
        w.commit().await
    }

    /// One turn: `messages` inserted after the history, `turn_count + 1`, tokens added, the state
    /// replaced if given. Costs the same at any history length.
    pub(crate) async fn write_append(
        &self,
        id: &str,
        messages: Vec<Value>,
        options: TurnOptions,
    ) -> Result<SessionMetadata> {
        rules::check_id(id)?;
        let mut w = self
            .begin_write(format!("appending to session \"{id}\""))
            .await?;
        let mut stored = w.load(id).await?;
        rules::check_messages(&messages, id)?;
        let state = checked_state(options.state.as_ref(), id)?;
        rules::count_turn(&mut stored.meta, options.tokens)?;
        let cut = stored.message_count;
        rows::insert_messages(&mut w.tx, w.owner, id, cut, &messages).await?;
        stored.message_count += messages.len() as i64;
        let patch = Logged::Patch {
            cut,
            messages: &messages,
            state: options.state.as_ref(),
        };
        w.update(&mut stored, state, patch).await?;
        w.commit().await?;
        Ok(stored.meta)
    }

    /// Rewrites the last message (one row), adds `tokens` and replaces the state if given;
    /// `turn_count` is unchanged. `INVALID_INPUT` if the session has no messages.
    pub(crate) async fn write_replace_last(
        &self,
        id: &str,
        message: Value,
        options: TurnOptions,
    ) -> Result<SessionMetadata> {
        rules::check_id(id)?;
        let mut w = self
            .begin_write(format!("replacing the last message of session \"{id}\""))
            .await?;
        let mut stored = w.load(id).await?;
        rules::check_has_last_message(stored.message_count.max(0) as u64, id)?;
        let last = stored.message_count - 1;
        rules::check_messages(std::slice::from_ref(&message), id)?;
        let state = checked_state(options.state.as_ref(), id)?;
        rules::add_tokens(&mut stored.meta, options.tokens)?;
        let query = sqlx::query(
            "UPDATE messages SET body = $4 WHERE owner = $1 AND session_id = $2 AND position = $3",
        );
        w.exec(
            query
                .bind(w.owner)
                .bind(id.as_bytes())
                .bind(last)
                .bind(rows::to_text(&message)),
        )
        .await?;
        let patch = Logged::Patch {
            cut: last,
            messages: std::slice::from_ref(&message),
            state: options.state.as_ref(),
        };
        w.update(&mut stored, state, patch).await?;
        w.commit().await?;
        Ok(stored.meta)
    }

    /// Imports an export (see [`portable`]) in one transaction: the file is checked whole, then
    /// conflicts are resolved against this owner's sessions, then every session is saved in file
    /// order; any failure writes nothing.
    pub async fn import(&self, text: &str, on_conflict: OnConflict) -> Result<ImportReport> {
        let sessions = portable::parse(text)?;
        let mut w = self.begin_write("importing sessions".to_owned()).await?;
        let rows = sqlx::query("SELECT id FROM sessions WHERE owner = $1")
            .bind(w.owner)
            .fetch_all(&mut *w.tx)
            .await
            .map_err(|e| db_error("importing sessions", e))?;
        let mut stored = HashSet::with_capacity(rows.len());
        for row in rows {
            let id: Vec<u8> = row
                .try_get(0)
                .map_err(|e| db_error("importing sessions", e))?;
            stored.insert(
                String::from_utf8(id).map_err(|_| rows::corrupt("an id that is not UTF-8"))?,
            );
        }
        let plan = portable::resolve(sessions, &stored, on_conflict)?;
        for session in &plan.sessions {
            w.save(session).await?;
        }
        w.commit().await?;
        Ok(plan.report)
    }
}

/// The new state's text, if one is given and allowed.
fn checked_state(state: Option<&Value>, id: &str) -> Result<Option<String>> {
    state
        .map(|state| rules::check_state(state, id).map(|()| rows::to_text(state)))
        .transpose()
}
