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

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbObjectStoreParameters, IdbTransaction};

/// The schema version this code writes; opening an older database migrates it.
pub(crate) const VERSION: u32 = 1;

pub(crate) const SESSIONS: &str = "sessions";
pub(crate) const CHUNKS: &str = "chunks";
pub(crate) const STATES: &str = "states";
/// Index of `sessions` on `[metadata.updatedAt, seq]`.
pub(crate) const UPDATED_AT: &str = "updated_at";
/// Most messages a save puts in one chunk record. Each IndexedDB request has a fixed cost, so a
/// saved history is one record up to this size (measured in BENCHMARKS.md).
pub(crate) const WRITE_CHUNK: usize = 1024;
/// An append adds to the last chunk while it holds fewer messages than this, and starts a new
/// chunk after: the text an append rewrites stays this small however long the history grows.
pub(crate) const TAIL_LEN: usize = 128;

/// Every store, for transactions that touch a whole session.
pub(crate) const ALL: &[&str] = &[SESSIONS, CHUNKS, STATES];

/// Runs each migration from `old_version` up to [`VERSION`], inside the upgrade transaction.
pub(crate) fn upgrade(
    db: &IdbDatabase,
    _tx: &IdbTransaction,
    old_version: u32,
) -> Result<(), JsValue> {
    if old_version < 1 {
        create_v1(db)?;
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
