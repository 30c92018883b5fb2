//! The database layout, its version, and the migrations that bring an older database up to it.
//!
//! Version 1:
//! - `sessions`: one small record per session, key path `metadata.id`: `{ metadata, seq,
//!   messageCount }`, the metadata in its JS shape. Index `updated_at` on
//!   `[metadata.updatedAt, seq]` orders `list`, which reads these records only.
//! - `chunks`: the messages as JSON text, [`CHUNK_LEN`] per record, key `[id, chunk number]`; a
//!   save rewrites only the chunks whose text changed, so an appending save writes the tail only.
//! - `states`: the agent state as JSON text, key `id`.
//! - `digests`: fingerprints of each chunk's and the state's text, key `id`, so a save can tell
//!   what changed without reading the texts.
//! - `meta`: the store-wide write clock under key [`CLOCK_KEY`].

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbObjectStoreParameters, IdbTransaction};

/// The schema version this code writes; opening an older database migrates it.
pub(crate) const VERSION: u32 = 1;

pub(crate) const SESSIONS: &str = "sessions";
pub(crate) const CHUNKS: &str = "chunks";
pub(crate) const STATES: &str = "states";
pub(crate) const DIGESTS: &str = "digests";
pub(crate) const META: &str = "meta";
/// Index of `sessions` on `[metadata.updatedAt, seq]`.
pub(crate) const UPDATED_AT: &str = "updated_at";
pub(crate) const CLOCK_KEY: &str = "clock";
/// Messages per chunk record. Part of the layout: changing it needs a migration. Fewer, larger
/// records read and write faster (each IndexedDB request has a fixed cost); an append rewrites
/// the last chunk, which stays small enough at this size (measured in BENCHMARKS.md).
pub(crate) const CHUNK_LEN: usize = 128;

/// Every store, for transactions that touch a whole session.
pub(crate) const ALL: &[&str] = &[SESSIONS, CHUNKS, STATES, DIGESTS, META];

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
    for store in [CHUNKS, STATES, DIGESTS, META] {
        db.create_object_store(store)?;
    }
    Ok(())
}
