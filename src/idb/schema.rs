//! The database layout, its version, and the migrations that bring an older database up to it.
//!
//! Version 1:
//! - `sessions`: one small record per session, key path `metadata.id`: `{ metadata, seq, rev,
//!   messageCount }`, the metadata in its JS shape. Index `updated_at` on
//!   `[metadata.updatedAt, seq]` orders `list`, which reads these records only; its highest key
//!   is the store-wide write clock. `rev` is random per write, so a write can tell whether a
//!   session changed since this connection last wrote it.
//! - `chunks`: the messages as JSON array text, key `[id, index of the chunk's first message]`.
//!   A save writes up to [`WRITE_CHUNK`] messages per record; an append tops up the last record
//!   while it holds fewer than [`TAIL_LEN`], else starts a new one, so it never rewrites history.
//! - `states`: the agent state as JSON text, key `id`.
//!
//! Version 2 adds what syncing with a server needs (see `idb/sync/`), and nothing else changes:
//! - `synced`: per session the server knows, key `id`: `{ base, count }`, the server version this
//!   database last had of it and how many messages that version held. Written only by a sync.
//! - `deletions`: sessions deleted here that the server still has, key `id`: the `synced` entry
//!   each had.
//! - `sync`: one record, key `"state"`: the device's id, its pull cursor, its next operation
//!   number and the push in flight (sent, its outcomes not yet applied).
//! - A `sessions` record may carry `dirty`: what local writes changed since the last sync
//!   (absent: nothing). Records of version 1 have none, and no `synced` entry: they are pushed
//!   whole at the first sync.
use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbObjectStoreParameters, IdbTransaction};

/// The schema version this code writes; opening an older database migrates it.
pub(crate) const VERSION: u32 = 2;

pub(crate) const SESSIONS: &str = "sessions";
pub(crate) const CHUNKS: &str = "chunks";
pub(crate) const STATES: &str = "states";
pub(crate) const SYNCED: &str = "synced";
pub(crate) const DELETIONS: &str = "deletions";
pub(crate) const SYNC: &str = "sync";
/// Index of `sessions` on `[metadata.updatedAt, seq]`.
pub(crate) const UPDATED_AT: &str = "updated_at";
/// Most messages a save puts in one chunk record. Each IndexedDB request has a fixed cost, so a
/// saved history is one record up to this size (measured in BENCHMARKS.md).
pub(crate) const WRITE_CHUNK: usize = 1024;
/// An append adds to the last chunk while it holds fewer messages than this, and starts a new
/// chunk after: the text an append rewrites stays this small however long the history grows.
pub(crate) const TAIL_LEN: usize = 128;

/// Every store a session is made of, for transactions that touch a whole session.
pub(crate) const ALL: &[&str] = &[SESSIONS, CHUNKS, STATES];
/// A session's stores and the sync bookkeeping: for deletes, and writes a sync makes.
pub(crate) const SYNCING: &[&str] = &[SESSIONS, CHUNKS, STATES, SYNCED, DELETIONS, SYNC];

/// Runs each migration from `old_version` up to [`VERSION`], inside the upgrade transaction.
pub(crate) fn upgrade(
    db: &IdbDatabase,
    _tx: &IdbTransaction,
    old_version: u32,
) -> Result<(), JsValue> {
    if old_version < 1 {
        create_v1(db)?;
    }
    if old_version < 2 {
        for store in [SYNCED, DELETIONS, SYNC] {
            db.create_object_store(store)?;
        }
    }
    Ok(())
}

fn create_v1(db: &IdbDatabase) -> Result<(), JsValue> {
    let params = IdbObjectStoreParameters::new();
    params.set_key_path(&JsValue::from_str("metadata.id"));
    let sessions = db.create_object_store_with_optional_parameters(SESSIONS, &params)?;
    let key_path: Array = ["metadata.updatedAt", "seq"]
        .iter()
        .map(|s| JsValue::from_str(s))
        .collect();
    sessions.create_index_with_str_sequence(UPDATED_AT, &key_path)?;
    for store in [CHUNKS, STATES] {
        db.create_object_store(store)?;
    }
    Ok(())
}
