//! The writes of a read-write [`SessionTx`], and its one ending: [`SessionTx::commit`], which
//! sends every write the operation queued, waits for the commit and only then remembers the
//! tails and reports the changes, so a write that fails leaves nothing remembered and reports
//! nothing.
//!
//! Writes wait in the transaction until it commits, then go out together, after every read and
//! in one synchronous stretch of script. A page that is closed while an operation awaits a read
//! takes its script away, and Firefox then commits what the transaction was sent so far (the
//! crash test in `tests/reliability` found a save with its old chunks deleted and nothing else
//! written); a transaction sent no write before its last read can only keep all or nothing.

use std::cell::RefCell;

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbObjectStore, IdbTransactionMode};

use super::Cut;
use super::{clock_from, SessionTx};
use crate::error::{Error, Result};
use crate::idb::chunks::{self, Chunk, LastChunk};
use crate::idb::record::SessionRecord;
use crate::idb::requests::{self, dom_error};
use crate::idb::schema::{CHUNKS, SESSIONS, STATES, UPDATED_AT};
use crate::idb::stored::EncodedSession;
use crate::idb::sync::{Dirty, Wrote};
use crate::idb::Inner;
use crate::model::{Change, SessionMetadata};
use crate::rules::{self, Clock};

/// A read-write transaction: the write clock (read as it began), and what it wrote so far.
pub(crate) struct Writing {
    clock: Clock,
    /// The highest key of the `updated_at` index, until the first stamp awaits it.
    clock_read: Option<JsFuture>,
    /// Each session written, with what to remember of it after the commit.
    written: Vec<(String, f64, LastChunk)>,
    /// What the commit changed, for the watchers.
    changes: Vec<Change>,
    /// Whether those changes are the server's, pulled by a sync.
    pulled: bool,
    /// The writes queued so far, in order, sent when the transaction commits.
    writes: RefCell<Vec<Write>>,
}

/// A write an operation queued: sent, with all the others, when its transaction commits.
pub(super) enum Write {
    /// `value` put under `key` (under the store's key path if `None`).
    Put {
        store: &'static str,
        key: Option<JsValue>,
        value: JsValue,
    },
    /// The record under `key`, or every record in the key range `key`, deleted.
    Delete { store: &'static str, key: JsValue },
}

impl<'a> SessionTx<'a, Writing> {
    /// A read-write transaction over `stores`; its first read is the write clock.
    pub fn write(inner: &'a Inner, stores: &[&str], doing: String) -> Result<Self> {
        SessionTx::open(inner, stores, IdbTransactionMode::Readwrite, doing, |tx| {
            let index = tx.object_store(SESSIONS)?.index(UPDATED_AT)?;
            Ok(Writing {
                clock: Clock::default(),
                clock_read: Some(JsFuture::from(requests::highest_key(&index))),
                written: Vec::new(),
                changes: Vec::new(),
                pulled: false,
                writes: RefCell::default(),
            })
        })
    }

    /// Says that what this transaction writes was pulled from the server: its watchers hear it
    /// as such, and syncing does not wake for it.
    pub fn pulled(&mut self) {
        self.mode.pulled = true;
    }

    /// Queues writing `chunk` of session `id`.
    pub fn put_chunk(&self, id: &str, chunk: &Chunk) {
        let key = chunks::key(id, chunk.start);
        self.queue_put(CHUNKS, Some(key), chunk.text.clone());
    }

    /// Queues writing `chunks` of session `id`; returns the last of them.
    pub fn put_chunks(&self, id: &str, chunks: Vec<Chunk>) -> Option<Chunk> {
        for chunk in &chunks {
            self.put_chunk(id, chunk);
        }
        chunks.into_iter().last()
    }

    /// Queues deleting the chunks of session `id` from where `cut` falls on, and the words of
    /// its messages from there.
    pub fn delete_chunks(&self, id: &str, cut: &Cut) -> Result<()> {
        let range = chunks::from(id, cut.from).map_err(|e| self.fail(&e))?;
        self.queue_delete(CHUNKS, range);
        self.unindex_from(id, cut)
    }

    /// Queues writing the state text of session `id`.
    pub fn put_state(&self, id: &str, state: &JsValue) {
        self.queue_put(STATES, Some(JsValue::from_str(id)), state.clone());
    }

    /// Queues deleting session `id`: its record, chunks and state.
    pub fn delete_session(&mut self, id: &str) -> Result<()> {
        let key = JsValue::from_str(id);
        self.queue_delete(SESSIONS, key.clone());
        self.delete_chunks(id, &Cut::WHOLE)?;
        self.unmark_indexed(id);
        self.queue_delete(STATES, key);
        self.mode
            .written
            .push((id.to_owned(), 0.0, LastChunk::Unknown));
        self.mode
            .changes
            .push(Change::Deleted { id: id.to_owned() });
        Ok(())
    }

    /// Queues the record of a session: stamps `meta` from the write clock (`updated_at` now,
    /// and `created_at` now if it is 0) and says it holds `message_count` messages and what is
    /// `dirty` since the last sync; `last` is what this connection remembers of its chunks once
    /// the transaction commits.
    pub async fn put_record(
        &mut self,
        mut meta: SessionMetadata,
        message_count: u64,
        last: LastChunk,
        dirty: Dirty,
    ) -> Result<SessionRecord> {
        let stamp = self.tick().await?;
        meta.updated_at = stamp.ms;
        if meta.created_at == 0 {
            meta.created_at = stamp.ms;
        }
        self.put(
            SessionRecord::new(meta, stamp.seq, message_count, dirty),
            last,
        )
    }

    /// Queues the record of a session pulled from the server: its metadata as the server has it
    /// (its times too), a place in the write order after every write so far, and what is still
    /// `dirty` here (nothing, unless tags or a name wait to be pushed).
    pub async fn put_pulled(
        &mut self,
        meta: SessionMetadata,
        message_count: u64,
        last: LastChunk,
        dirty: Dirty,
    ) -> Result<SessionRecord> {
        let stamp = self.tick().await?;
        self.put(
            SessionRecord::new(meta, stamp.seq, message_count, dirty),
            last,
        )
    }

    /// The write clock's stamp for one more write.
    async fn tick(&mut self) -> Result<Clock> {
        if let Some(read) = self.mode.clock_read.take() {
            self.mode.clock = clock_from(read.await.map_err(|e| self.fail(&e))?);
        }
        Ok(self.mode.clock.tick(rules::now_ms()))
    }

    fn put(&mut self, record: SessionRecord, last: LastChunk) -> Result<SessionRecord> {
        self.queue_put(SESSIONS, None, record.to_js());
        let id = record.metadata.id.clone();
        self.mode.written.push((id, record.rev, last));
        self.mode
            .changes
            .push(Change::Saved(record.metadata.clone()));
        Ok(record)
    }

    /// Queues writing a whole session, replacing any stored under its id, and its record. The
    /// words of the messages it shares with the history it replaces are kept as they are.
    pub async fn put_session(&mut self, session: EncodedSession) -> Result<SessionRecord> {
        let id = session.metadata.id.clone();
        let (shared, last_words) = self.shared_words(&id, &session.chunks)?.await?;
        let cut = self.cut_after(&id, shared, last_words).await?;
        // The old chunks go first, whatever their layout; the new ones are written over them.
        let range = chunks::from(&id, 0).map_err(|e| self.fail(&e))?;
        self.queue_delete(CHUNKS, range);
        let chunks = chunks::saved(&session.chunks);
        self.reindex_saved(&id, &chunks, &cut)?;
        let last = self.put_chunks(&id, chunks);
        self.put_state(&id, &session.state);
        let last = LastChunk::Known(last);
        let dirty = Dirty::default().after(Wrote::Whole);
        self.put_record(session.metadata, session.message_count, last, dirty)
            .await
    }

    /// The ending of a write that keeps one session: [`put_record`](Self::put_record), then
    /// [`commit`](Self::commit). Resolves with the record as stored.
    pub async fn finish(
        mut self,
        meta: SessionMetadata,
        message_count: u64,
        last: LastChunk,
        dirty: Dirty,
    ) -> Result<SessionRecord> {
        let record = self.put_record(meta, message_count, last, dirty).await?;
        self.commit().await?;
        Ok(record)
    }

    /// The one ending of every write: sends every queued write, waits until they are durable
    /// (or returns the error that aborted them all), then remembers the written sessions' last
    /// chunks and reports the changes to this connection's watchers and, through the channel,
    /// to every other connection to the database.
    pub async fn commit(mut self) -> Result<()> {
        let written = std::mem::take(&mut self.mode.written);
        let changes = std::mem::take(&mut self.mode.changes);
        let tails = &self.inner.tails;
        // Forgotten before the commit: if it fails, nothing stale is left behind.
        for (id, _, _) in &written {
            tails.forget(id);
        }
        // Sent at once, with nothing awaited in between; a write refused here aborts them all.
        self.send_writes()?;
        // From here on the transaction commits (or fails) on its own.
        self.abort_on_drop = false;
        if let Err(e) = (&mut self.done).await {
            let error = dom_error(&self.doing, &e);
            if matches!(error, Error::QuotaExceeded { .. }) {
                self.inner.after_quota_failure();
            }
            return Err(error);
        }
        for (id, rev, last) in written {
            tails.remember(id, rev, last);
        }
        self.inner.changes.publish(&changes, self.mode.pulled);
        Ok(())
    }

    /// Queues putting `value` into `store` under `key` (under its key path if `None`).
    pub(super) fn queue_put(&self, store: &'static str, key: Option<JsValue>, value: JsValue) {
        let put = Write::Put { store, key, value };
        self.mode.writes.borrow_mut().push(put);
    }

    /// Queues deleting the record of `store` under `key`, or every record in the range `key`.
    pub(super) fn queue_delete(&self, store: &'static str, key: JsValue) {
        self.mode
            .writes
            .borrow_mut()
            .push(Write::Delete { store, key });
    }

    /// Sends every queued write, in the order queued.
    fn send_writes(&self) -> Result<()> {
        let mut stores: Vec<(&str, IdbObjectStore)> = Vec::new();
        for write in self.mode.writes.take() {
            let name = match &write {
                Write::Put { store, .. } | Write::Delete { store, .. } => *store,
            };
            let store = match stores.iter().find(|(n, _)| *n == name) {
                Some((_, store)) => store.clone(),
                None => {
                    let store = self.tx.object_store(name).map_err(|e| self.fail(&e))?;
                    stores.push((name, store.clone()));
                    store
                }
            };
            let sent = match &write {
                Write::Put {
                    key: Some(key),
                    value,
                    ..
                } => store.put_with_key(value, key),
                Write::Put {
                    key: None, value, ..
                } => store.put(value),
                Write::Delete { key, .. } => store.delete(key),
            };
            sent.map_err(|e| self.fail(&e))?;
        }
        Ok(())
    }
}
