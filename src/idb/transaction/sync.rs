//! The sync bookkeeping a [`SessionTx`] reads and writes (see `idb/sync/state.rs`): what the
//! server had of each session, deletions to send, the device's record, and the sessions written
//! since changes were last gathered.

use std::future::Future;

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbKeyRange;

use super::{write::Writing, SessionTx};
use crate::error::Result;
use crate::idb::chunks::{self, Chunk};
use crate::idb::record::SessionRecord;
use crate::idb::requests;
use crate::idb::schema::{CHUNKS, DELETIONS, SESSIONS, SYNC, SYNCED, UPDATED_AT};
use crate::idb::sync::{Dirty, SyncState, Synced};
use crate::js_value::get;

/// The key of the device's one record in `sync`.
const STATE: &str = "state";

impl<M> SessionTx<'_, M> {
    /// The device's sync record, if it ever synced.
    pub fn sync_state(&self) -> Result<impl Future<Output = Result<Option<SyncState>>>> {
        let read = self.send(SYNC, |s| s.get(&JsValue::from_str(STATE)))?;
        Ok(self.wait(read, |v| SyncState::from_js(&v)))
    }

    /// What the server had of session `id` when this database last synced it.
    pub fn synced(&self, id: &str) -> Result<impl Future<Output = Result<Option<Synced>>>> {
        let read = self.send(SYNCED, |s| s.get(&JsValue::from_str(id)))?;
        Ok(self.wait(read, |v| Synced::from_js(&v)))
    }

    /// Whether session `id` was deleted here and the deletion is still to push.
    pub fn deleted(&self, id: &str) -> Result<impl Future<Output = Result<bool>>> {
        let key = JsValue::from_str(id);
        let read = self.send(DELETIONS, |s| s.count_with_key(&key))?;
        Ok(self.wait(read, |n| Ok(n.as_f64() == Some(1.0))))
    }

    /// The keys of `store` (`synced` or `deletions`: session ids).
    pub fn keys(&self, store: &str) -> Result<impl Future<Output = Result<Vec<String>>>> {
        let read = self.send(store, |s| s.get_all_keys())?;
        Ok(self.wait(read, |keys| {
            Ok(keys
                .unchecked_into::<Array>()
                .iter()
                .filter_map(|id| id.as_string())
                .collect())
        }))
    }

    /// At most `limit` (0: every) session records written after `marker` (an `updated_at` index
    /// key; undefined: from the first), in the order they were written.
    pub fn written_after(
        &self,
        marker: &JsValue,
        limit: u32,
    ) -> Result<impl Future<Output = Result<Vec<SessionRecord>>>> {
        let range = match marker.is_undefined() {
            true => JsValue::NULL,
            false => IdbKeyRange::lower_bound_with_open(marker, true)
                .map_err(|e| self.fail(&e))?
                .into(),
        };
        let index = self
            .tx
            .object_store(SESSIONS)
            .and_then(|s| s.index(UPDATED_AT))
            .map_err(|e| self.fail(&e))?;
        let read = index
            .get_all_with_key_and_limit(&range, limit)
            .map_err(|e| self.fail(&e))?;
        Ok(self.wait(requests::request(&read), |records| {
            records
                .unchecked_into::<Array>()
                .iter()
                .map(|r| {
                    SessionRecord::from_js(
                        &r,
                        &get(&get(&r, "metadata"), "id")
                            .as_string()
                            .unwrap_or_default(),
                    )
                })
                .collect()
        }))
    }

    /// The highest key of the `updated_at` index: where the write clock is now.
    pub fn clock_key(&self) -> Result<impl Future<Output = Result<JsValue>>> {
        let index = self
            .tx
            .object_store(SESSIONS)
            .and_then(|s| s.index(UPDATED_AT))
            .map_err(|e| self.fail(&e))?;
        Ok(self.wait(requests::highest_key(&index), Ok))
    }

    /// The chunk of session `id` that holds message `at` (if it has one).
    pub fn chunk_holding(
        &self,
        id: &str,
        at: u64,
    ) -> Result<impl Future<Output = Result<Option<Chunk>>>> {
        let range = chunks::before(id, at + 1).map_err(|e| self.fail(&e))?;
        self.last_chunk_in(id, &range)
    }

    /// The texts of the chunks of session `id` that start at message `from` or later.
    pub fn chunk_texts_from(
        &self,
        id: &str,
        from: u64,
    ) -> Result<impl Future<Output = Result<Array>>> {
        let range = chunks::from(id, from).map_err(|e| self.fail(&e))?;
        let read = self.send(CHUNKS, |s| s.get_all_with_key(&range))?;
        Ok(self.wait(read, |v| Ok(v.unchecked_into::<Array>())))
    }
}

impl SessionTx<'_, Writing> {
    pub fn put_sync_state(&self, state: &SyncState) {
        self.queue_put(SYNC, Some(JsValue::from_str(STATE)), state.to_js());
    }

    pub fn put_synced(&self, id: &str, synced: Synced) {
        self.queue_put(SYNCED, Some(JsValue::from_str(id)), synced.to_js());
    }

    pub fn forget_synced(&self, id: &str) {
        self.queue_delete(SYNCED, JsValue::from_str(id));
    }

    /// Records that session `id`, which the server had as `synced`, was deleted here.
    pub fn put_deletion(&self, id: &str, synced: Synced) {
        self.queue_put(DELETIONS, Some(JsValue::from_str(id)), synced.to_js());
    }

    pub fn forget_deletion(&self, id: &str) {
        self.queue_delete(DELETIONS, JsValue::from_str(id));
    }

    /// Writes `record` back with nothing dirty (gathered for a push), keeping its place in the
    /// write order: bookkeeping, not a write of the session.
    pub fn mark_clean(&self, record: &SessionRecord) {
        let clean = SessionRecord {
            dirty: Dirty::default(),
            ..record.clone()
        };
        self.queue_put(SESSIONS, None, clean.to_js());
    }
}
