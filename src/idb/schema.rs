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
//!
//! Version 3 adds search (see `search/` and `idb/search.rs`) and the filters of `list`:
//! - `words`: the words of a session's messages in blocks of up to [`WORDS_BLOCK`] consecutive
//!   messages, key `[id, index of the block's first message]`: `{ w, k, e }`, `w` the distinct
//!   word keys of the block's messages, and per message its keys in order of first occurrence as
//!   places in `w` (`k`, a Uint32Array, message j's being `k[e[j-1]..e[j]]`). Multi-entry index
//!   `word` on `w`: a query word's prefix range lists the blocks holding it. The blocks of a
//!   session cover each of its messages once; a write that changes messages deletes the blocks
//!   from the first one changed and cuts the block before (`cutWords` in `idb/requests.js`), in
//!   its own transaction, while search is on. A block per write, not per message: IndexedDB's
//!   cost is per record and per index entry, and a block's words repeat.
//! - `indexed`: key `id`, for each session whose words are complete. A connection with search on
//!   indexes, in the background, the sessions without an entry: those written before version 3
//!   or by a connection with search off (whose writes drop the entry of what they change).
//! - A `sessions` record carries `tagKeys`: `[tag, updatedAt, seq]` for each tag (absent: no
//!   tags). Multi-entry index `tag` on it, and index `agent` on `[metadata.agentName,
//!   metadata.updatedAt, seq]`: a filter's page, newest first, is a walk of one key range.
//!   The upgrade rewrites each record of version 2 with its `tagKeys`.
use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;
use web_sys::{
    IdbDatabase, IdbIndexParameters, IdbObjectStore, IdbObjectStoreParameters, IdbTransaction,
};

use super::record::SessionRecord;

#[wasm_bindgen(module = "/src/idb/requests.js")]
extern "C" {
    /// Replaces each record of `store` by `rewrite(record)`, by a cursor that runs on in the
    /// (upgrade) transaction after this returns.
    #[wasm_bindgen(js_name = rewriteRecords)]
    fn rewrite_records(store: &IdbObjectStore, rewrite: &Function);
}

/// The schema version this code writes; opening an older database migrates it.
pub(crate) const VERSION: u32 = 3;

pub(crate) const SESSIONS: &str = "sessions";
pub(crate) const CHUNKS: &str = "chunks";
pub(crate) const STATES: &str = "states";
pub(crate) const SYNCED: &str = "synced";
pub(crate) const DELETIONS: &str = "deletions";
pub(crate) const SYNC: &str = "sync";
pub(crate) const WORDS: &str = "words";
pub(crate) const INDEXED: &str = "indexed";
/// Multi-entry index of `words` on each message's word keys.
pub(crate) const WORD: &str = "word";
/// Multi-entry index of `sessions` on `[tag, updatedAt, seq]` per tag.
pub(crate) const TAG: &str = "tag";
/// Index of `sessions` on `[metadata.agentName, metadata.updatedAt, seq]`.
pub(crate) const AGENT: &str = "agent";
/// Index of `sessions` on `[metadata.updatedAt, seq]`.
pub(crate) const UPDATED_AT: &str = "updated_at";
/// Most messages in one block of the `words` store: larger blocks mean fewer records and index
/// entries per write, and more words read per block a query reads.
pub(crate) const WORDS_BLOCK: usize = 32;
/// Most messages a save puts in one chunk record. Each IndexedDB request has a fixed cost, so a
/// saved history is one record up to this size (measured in BENCHMARKS.md).
pub(crate) const WRITE_CHUNK: usize = 1024;
/// An append adds to the last chunk while it holds fewer messages than this, and starts a new
/// chunk after: the text an append rewrites stays this small however long the history grows.
pub(crate) const TAIL_LEN: usize = 128;

/// Every store a session is made of, for transactions that read a whole session.
pub(crate) const ALL: &[&str] = &[SESSIONS, CHUNKS, STATES];
/// A session's stores and its search index's: for writes that change a whole session or its
/// messages.
pub(crate) const WRITING: &[&str] = &[SESSIONS, CHUNKS, STATES, WORDS, INDEXED];
/// A session's stores and the sync bookkeeping: for deletes, and writes a sync makes.
pub(crate) const SYNCING: &[&str] = &[
    SESSIONS, CHUNKS, STATES, WORDS, INDEXED, SYNCED, DELETIONS, SYNC,
];

/// Runs each migration from `old_version` up to [`VERSION`], inside the upgrade transaction.
pub(crate) fn upgrade(
    db: &IdbDatabase,
    tx: &IdbTransaction,
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
    if old_version < 3 {
        create_v3(db, tx, old_version > 0)?;
    }
    Ok(())
}

fn key_path(paths: &[&str]) -> Array {
    paths.iter().map(|s| JsValue::from_str(s)).collect()
}

fn create_v3(db: &IdbDatabase, tx: &IdbTransaction, had_sessions: bool) -> Result<(), JsValue> {
    let multi = IdbIndexParameters::new();
    multi.set_multi_entry(true);
    let words = db.create_object_store(WORDS)?;
    words.create_index_with_str_and_optional_parameters(WORD, "w", &multi)?;
    db.create_object_store(INDEXED)?;
    let sessions = tx.object_store(SESSIONS)?;
    sessions.create_index_with_str_and_optional_parameters(TAG, "tagKeys", &multi)?;
    let agent = key_path(&["metadata.agentName", "metadata.updatedAt", "seq"]);
    sessions.create_index_with_str_sequence(AGENT, &agent)?;
    if had_sessions {
        // Each record of version 2 gains its tagKeys, as SessionRecord writes them now.
        let rewrite = Closure::<dyn FnMut(JsValue) -> JsValue>::new(|value: JsValue| {
            let id = crate::js_value::get(&crate::js_value::get(&value, "metadata"), "id");
            match SessionRecord::from_js(&value, &id.as_string().unwrap_or_default()) {
                Ok(record) => record.to_js(),
                // A damaged record stays as it is: reading it says what is wrong with it.
                Err(_) => value,
            }
        });
        let rewrite_fn: &Function = rewrite.as_ref().unchecked_ref();
        rewrite_records(&sessions, rewrite_fn);
        // Called by the cursor until the upgrade transaction ends.
        rewrite.forget();
    }
    Ok(())
}

fn create_v1(db: &IdbDatabase) -> Result<(), JsValue> {
    let params = IdbObjectStoreParameters::new();
    params.set_key_path(&JsValue::from_str("metadata.id"));
    let sessions = db.create_object_store_with_optional_parameters(SESSIONS, &params)?;
    sessions
        .create_index_with_str_sequence(UPDATED_AT, &key_path(&["metadata.updatedAt", "seq"]))?;
    for store in [CHUNKS, STATES] {
        db.create_object_store(store)?;
    }
    Ok(())
}
