//! Every operation of the IndexedDB store, each one transaction read top to bottom. Those named
//! `*_stored` take and return sessions in their stored form ([`super::stored`]) and are what the
//! JS facade calls; the trait implementation in `mod.rs` calls all of them.

use js_sys::Array;
use wasm_bindgen::JsValue;

use super::chunks::{self, LastChunk};
use super::schema::{ALL, SESSIONS, SYNCING, WRITING};
use super::stored::{EncodedOptions, EncodedSession, StoredSession};
use super::sync::{Dirty, Wrote};
use super::transaction::SessionTx;
use super::IndexedDbSessionManager;
use crate::error::{Error, Result};
use crate::model::SessionMetadata;
use crate::rules;

impl IndexedDbSessionManager {
    /// The metadata objects of all sessions (`page` None) or of one page `(offset, limit)`,
    /// newest first. Reads no message.
    pub(crate) async fn list_stored(&self, page: Option<(usize, usize)>) -> Result<Array> {
        let tx = SessionTx::read(&self.inner, &[SESSIONS], "listing sessions".into())?;
        tx.metadata(page)?.await
    }

    /// Session `id` as stored.
    pub(crate) async fn resume_stored(&self, id: &str) -> Result<StoredSession> {
        rules::check_id(id)?;
        let tx = SessionTx::read(&self.inner, ALL, format!("resuming session \"{id}\""))?;
        let (record, chunks, state) = (tx.record(id)?, tx.chunk_texts(id)?, tx.state(id)?);
        let record = record.await?;
        Ok(StoredSession {
            metadata: record.metadata,
            message_count: record.message_count,
            chunks: chunks.await?,
            state: state.await?,
        })
    }

    /// Creates or replaces a session; resolves with its metadata as stored.
    pub(crate) async fn save_stored(&self, session: EncodedSession) -> Result<SessionMetadata> {
        rules::check_metadata(&session.metadata)?;
        let doing = format!("saving session \"{}\"", session.metadata.id);
        let mut tx = SessionTx::write(&self.inner, WRITING, doing)?;
        let record = tx.put_session(session).await?;
        tx.commit().await?;
        Ok(record.metadata)
    }

    /// Creates or replaces every session of `sessions` in one transaction (an import's batch):
    /// all of them are written, or none.
    pub(crate) async fn save_many_stored(&self, sessions: Vec<EncodedSession>) -> Result<()> {
        for session in &sessions {
            rules::check_metadata(&session.metadata)?;
        }
        let doing = format!("importing {} sessions", sessions.len());
        let mut tx = SessionTx::write(&self.inner, WRITING, doing)?;
        for session in sessions {
            tx.put_session(session).await?;
        }
        tx.commit().await
    }

    /// Whether each of `ids` is stored, read in one transaction.
    pub(crate) async fn existing(&self, ids: &[String]) -> Result<Vec<bool>> {
        let tx = SessionTx::read(&self.inner, &[SESSIONS], "looking sessions up".into())?;
        let reads = ids
            .iter()
            .map(|id| tx.exists(id))
            .collect::<Result<Vec<_>>>()?;
        let mut stored = Vec::with_capacity(ids.len());
        for exists in reads {
            stored.push(exists.await?);
        }
        Ok(stored)
    }

    /// Sessions `ids` as stored, read in one transaction; those no longer stored are left out.
    pub(crate) async fn resume_many_stored(&self, ids: &[String]) -> Result<Vec<StoredSession>> {
        let tx = SessionTx::read(&self.inner, ALL, "exporting sessions".into())?;
        let reads = ids
            .iter()
            .map(|id| Ok((tx.record(id)?, tx.chunk_texts(id)?, tx.state(id)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut sessions = Vec::with_capacity(ids.len());
        for (record, chunks, state) in reads {
            let (chunks, state) = (chunks.await?, state.await?);
            let record = match record.await {
                Err(Error::NotFound { .. }) => continue,
                record => record?,
            };
            sessions.push(StoredSession {
                metadata: record.metadata,
                message_count: record.message_count,
                chunks,
                state,
            });
        }
        Ok(sessions)
    }

    /// Keeps the first `turn_index` messages of session `id`; resolves with it as stored. Only
    /// the chunks kept are read, and only the one the cut falls in is rewritten.
    pub(crate) async fn rewind_stored(&self, id: &str, turn_index: u32) -> Result<StoredSession> {
        rules::check_id(id)?;
        let tx = SessionTx::write(&self.inner, WRITING, format!("rewinding session \"{id}\""))?;
        let keep = u64::from(turn_index);
        let (record, kept, state) = (tx.record(id)?, tx.chunks(id, Some(keep))?, tx.state(id)?);
        let cut = tx.cut_at(id, keep)?;
        let record = record.await?;
        let mut kept = kept.await?;
        let cut = cut.await?;
        let keep = keep.min(record.message_count);
        if keep < record.message_count {
            tx.delete_chunks(id, &cut)?;
            // The last chunk kept starts before the cut; it may hold messages after it.
            match kept.last_mut() {
                Some(last) => {
                    if let Some(text) = chunks::cut(id, &last.text, keep - last.start)? {
                        last.text = text;
                        tx.put_chunk(id, last);
                    }
                }
                None if keep > 0 => {
                    return Err(chunks::damaged(id, "the chunks before the cut are missing"))
                }
                None => {}
            }
        }
        let state = state.await?;
        let texts = kept.iter().map(|c| c.text.clone()).collect();
        let mut meta = record.metadata;
        meta.turn_count = keep as u32;
        let dirty = match keep < record.message_count {
            true => record.dirty.after(Wrote::Cut { at: keep }),
            false => record.dirty,
        };
        let last = LastChunk::Known(kept.pop());
        let record = tx.finish(meta, keep, last, dirty).await?;
        Ok(StoredSession {
            metadata: record.metadata,
            message_count: keep,
            chunks: texts,
            state,
        })
    }

    /// Appends one turn, `texts` being the JSON texts of its messages, and counts its tokens and
    /// writes its state. Tops up the last chunk and writes new chunks after it; nothing before
    /// the last chunk is read or rewritten.
    pub(crate) async fn append_stored(
        &self,
        id: &str,
        texts: Vec<JsValue>,
        options: EncodedOptions,
    ) -> Result<SessionMetadata> {
        rules::check_id(id)?;
        let tx = SessionTx::write(
            &self.inner,
            WRITING,
            format!("appending to session \"{id}\""),
        )?;
        let (record, last) = tx.record_and_last_chunk(id).await?;
        let mut meta = record.metadata;
        rules::count_turn(&mut meta, options.tokens)?;
        let count = record.message_count;
        tx.index_messages(id, count, &texts)?;
        let written = chunks::appended(id, last.as_ref(), count, &texts)?;
        let last = tx.put_chunks(id, written).or(last);
        if let Some(state) = &options.state {
            tx.put_state(id, state);
        }
        let count = count + texts.len() as u64;
        let state = options.state.is_some();
        let dirty = record.dirty.after(Wrote::Appended { state });
        let last = LastChunk::Known(last);
        Ok(tx.finish(meta, count, last, dirty).await?.metadata)
    }

    /// Replaces the last message of session `id` by the JSON text `text`, counts the tokens and
    /// writes the state: only the last chunk is rewritten, and only its last message is scanned.
    pub(crate) async fn replace_last_stored(
        &self,
        id: &str,
        text: JsValue,
        options: EncodedOptions,
    ) -> Result<SessionMetadata> {
        rules::check_id(id)?;
        let doing = format!("replacing the last message of session \"{id}\"");
        let tx = SessionTx::write(&self.inner, WRITING, doing)?;
        let last_words = tx.last_words(id)?;
        let (record, last) = tx.record_and_last_chunk(id).await?;
        let count = record.message_count;
        rules::check_has_last_message(count, id)?;
        let cut = tx.cut_after(id, count - 1, last_words.await?).await?;
        let mut meta = record.metadata;
        rules::add_tokens(&mut meta, options.tokens)?;
        let last = chunks::with_last_replaced(id, last.as_ref(), count, &text)?;
        tx.put_chunk(id, &last);
        tx.reindex_from(id, &cut, std::slice::from_ref(&text))?;
        if let Some(state) = &options.state {
            tx.put_state(id, state);
        }
        let state = options.state.is_some();
        let dirty = record.dirty.after(Wrote::Replaced {
            at: count - 1,
            state,
        });
        let last = LastChunk::Known(Some(last));
        Ok(tx.finish(meta, count, last, dirty).await?.metadata)
    }

    /// Deletes session `id` and all its data.
    pub(crate) async fn delete_session(&self, id: &str) -> Result<()> {
        rules::check_id(id)?;
        let doing = format!("deleting session \"{id}\"");
        let mut tx = SessionTx::write(&self.inner, SYNCING, doing)?;
        let (exists, synced) = (tx.exists(id)?, tx.synced(id)?);
        if !exists.await? {
            return Err(Error::not_found(id));
        }
        tx.delete_session(id)?;
        // The server has it: the next sync deletes it there too.
        if let Some(synced) = synced.await? {
            tx.forget_synced(id);
            tx.put_deletion(id, synced);
        }
        tx.commit().await
    }

    /// Copies session `id` under a new UUID v4, named `new_name` or after the original.
    pub(crate) async fn fork_session(
        &self,
        id: &str,
        new_name: Option<String>,
    ) -> Result<SessionMetadata> {
        rules::check_fork(id, new_name.as_deref())?;
        let tx = SessionTx::write(&self.inner, WRITING, format!("forking session \"{id}\""))?;
        let (record, chunks, state) = (tx.record(id)?, tx.chunks(id, None)?, tx.state(id)?);
        let words = tx.indexed_words(id)?;
        let record = record.await?;
        let mut meta = record.metadata;
        meta.id = uuid::Uuid::new_v4().to_string();
        meta.name = rules::fork_name(meta.name.as_deref(), new_name);
        // Stamped now, like updated_at.
        meta.created_at = 0;
        // The copy reuses the stored texts, and their words, as they are: nothing is parsed or
        // re-encoded.
        let chunks = chunks.await?;
        tx.index_copy(&meta.id, words.await?, &chunks)?;
        let last = LastChunk::Known(tx.put_chunks(&meta.id, chunks));
        tx.put_state(&meta.id, &state.await?);
        let dirty = Dirty::default().after(Wrote::Whole);
        let copy = tx.finish(meta, record.message_count, last, dirty);
        Ok(copy.await?.metadata)
    }

    /// Applies `change` to the metadata of session `id`, as a write of its own; `change` says
    /// what it did.
    pub(crate) async fn update_metadata(
        &self,
        id: &str,
        doing: String,
        change: impl FnOnce(&mut SessionMetadata) -> Wrote,
    ) -> Result<()> {
        let tx = SessionTx::write(&self.inner, &[SESSIONS], doing)?;
        let record = tx.record(id)?.await?;
        // The chunks are untouched: what this connection remembers of them stays true.
        let last = match self
            .inner
            .tails
            .take(id)
            .and_then(|r| r.current(record.rev))
        {
            Some(last) => LastChunk::Known(last),
            None if record.message_count == 0 => LastChunk::Known(None),
            None => LastChunk::Unknown,
        };
        let mut meta = record.metadata;
        let dirty = record.dirty.after(change(&mut meta));
        tx.finish(meta, record.message_count, last, dirty).await?;
        Ok(())
    }
}
