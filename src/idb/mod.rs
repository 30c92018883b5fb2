//! `IndexedDbSessionManager`: sessions in the browser's IndexedDB, one transaction per operation.
//!
//! Every operation reads and writes inside a single transaction over every store it touches, so
//! it is atomic, and two connections (two tabs) racing on one session serialize instead of
//! losing an update. The layout is in [`schema`]. Reads and writes work on stored parts (record,
//! chunk texts, state text): the trait methods parse them into the model, and the JS facade hands
//! them to JS as they are, so a session's messages never cross into wasm at all.

mod record;
mod requests;
mod schema;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, JsString};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbTransaction, IdbTransactionMode};

use self::record::{chunk_key, chunks_before, chunks_from, damaged, json_text, SessionRecord};
pub(crate) use self::record::{describe, metadata_from_js, metadata_to_js, whole, StoredParts};
pub(crate) use self::requests::is_well_formed_string;
use self::requests::{dom_error, open_database, Pending, Tx};
pub(crate) use self::schema::WRITE_CHUNK;
use self::schema::{ALL, CHUNKS, SESSIONS, STATES, TAIL_LEN, UPDATED_AT};
use crate::error::{Error, Result};
use crate::json_text::{cut_array, Cut};
use crate::manager::{BoxFuture, SessionManager};
use crate::model::{Session, SessionMetadata};
use crate::rules::{self, Clock};

/// How long an open waits for older connections (other tabs) to close before giving up.
const BLOCKED_TIMEOUT_MS: u32 = 5_000;

/// A [`SessionManager`] over an IndexedDB database. Cheap to share behind an `Rc`.
pub struct IndexedDbSessionManager {
    inner: Rc<Inner>,
}

struct Inner {
    name: String,
    db: IdbDatabase,
    /// Why the store is closed, once it is.
    closed: RefCell<Option<String>>,
    on_version_change: RefCell<Option<Closure<dyn FnMut()>>>,
    /// The last chunk of each session this connection last wrote, so an append need not read it
    /// back; used only while the session's stored `rev` is still the one written with it.
    known: RefCell<HashMap<String, Known>>,
}

/// The last chunk of a session as this connection last wrote it, and that write's `rev`.
struct Known {
    rev: f64,
    tail: Option<Chunk>,
}

/// A chunk: the index of its first message and its JSON array text (a JS string).
#[derive(Clone)]
struct Chunk {
    start: u64,
    text: JsValue,
}

/// Most sessions a connection remembers; past that it forgets them all and reads again.
const KNOWN_LIMIT: usize = 1024;

impl Drop for Inner {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        self.db.close();
    }
}

impl std::fmt::Debug for IndexedDbSessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexedDbSessionManager")
            .field("name", &self.inner.name)
            .finish()
    }
}

impl IndexedDbSessionManager {
    /// Opens (creating or upgrading) the database `name`. Fails with `UNAVAILABLE` where
    /// IndexedDB is missing or refused, or while another tab's older connection blocks the upgrade.
    pub async fn open(name: &str) -> Result<Self> {
        if name.is_empty() {
            return Err(Error::invalid("database name must not be empty"));
        }
        let upgrade =
            Closure::<dyn FnMut(IdbDatabase, IdbTransaction, f64) -> Result<(), JsValue>>::new(
                |db: IdbDatabase, tx: IdbTransaction, old: f64| {
                    schema::upgrade(&db, &tx, old as u32)
                },
            );
        let upgrade_fn: &Function = upgrade.as_ref().unchecked_ref();
        let opened = JsFuture::from(open_database(
            name,
            schema::VERSION,
            upgrade_fn,
            BLOCKED_TIMEOUT_MS,
        ))
        .await;
        drop(upgrade);
        let db: IdbDatabase = opened
            .map_err(
                |e| match dom_error(&format!("opening database \"{name}\""), &e) {
                    Error::Storage { message } | Error::QuotaExceeded { message } => {
                        Error::Unavailable { message }
                    }
                    other => other,
                },
            )?
            .unchecked_into();
        let inner = Rc::new(Inner {
            name: name.to_owned(),
            db,
            closed: RefCell::new(None),
            on_version_change: RefCell::new(None),
            known: RefCell::new(HashMap::new()),
        });
        let weak: Weak<Inner> = Rc::downgrade(&inner);
        let on_change = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.close(format!(
                    "database \"{}\" was closed because another tab opened a newer version of it; reload to continue",
                    inner.name
                ));
            }
        });
        inner
            .db
            .set_onversionchange(Some(on_change.as_ref().unchecked_ref()));
        *inner.on_version_change.borrow_mut() = Some(on_change);
        Ok(Self { inner })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Closes the connection; every later call fails with `CLOSED`. Calls already running finish.
    pub fn close(&self) {
        self.inner.close(format!(
            "database \"{}\" was closed by close()",
            self.inner.name
        ));
    }

    fn tx(&self, stores: &[&str], mode: IdbTransactionMode, doing: &str) -> Result<Tx> {
        if let Some(message) = self.inner.closed.borrow().as_ref() {
            return Err(Error::Closed {
                message: message.clone(),
            });
        }
        Tx::new(&self.inner.db, stores, mode).map_err(|e| dom_error(doing, &e))
    }

    /// The `sessions` records of all sessions (`page` = None) or of one page `(offset, limit)`,
    /// newest first, from the `updated_at` index: no message or state is read.
    pub(crate) async fn list_records(&self, page: Option<(usize, usize)>) -> Result<Array> {
        let doing = "listing sessions";
        let fail = |e: JsValue| dom_error(doing, &e);
        let tx = self.tx(&[SESSIONS], IdbTransactionMode::Readonly, doing)?;
        let index = tx
            .store(SESSIONS)
            .and_then(|s| s.index(UPDATED_AT))
            .map_err(fail)?;
        Ok(match page {
            None => {
                let all: Array = Pending::new(index.get_all())
                    .map_err(fail)?
                    .result()
                    .await
                    .map_err(fail)?
                    .unchecked_into();
                all.reverse()
            }
            Some((offset, limit)) => {
                // getAll counts are 32-bit; no store holds more sessions than that.
                let offset = offset.min(u32::MAX as usize);
                let limit = limit.min(u32::MAX as usize - offset);
                let page = requests::page_newest_first(
                    &index,
                    &JsValue::NULL,
                    offset as f64,
                    limit as f64,
                );
                JsFuture::from(page).await.map_err(fail)?.unchecked_into()
            }
        })
    }

    /// Session `id` as stored.
    pub(crate) async fn resume_parts(&self, id: &str) -> Result<StoredParts> {
        rules::check_id(id)?;
        let doing = format!("resuming session \"{id}\"");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let tx = self.tx(ALL, IdbTransactionMode::Readonly, &doing)?;
        let key = JsValue::from_str(id);
        let record = tx.get(SESSIONS, &key).map_err(fail)?;
        let chunks = tx
            .get_all(CHUNKS, &chunks_from(id, 0).map_err(fail)?)
            .map_err(fail)?;
        let state = tx.get(STATES, &key).map_err(fail)?;
        let record = record.result().await.map_err(fail)?;
        let chunks: Array = chunks.result().await.map_err(fail)?.unchecked_into();
        let state = state.result().await.map_err(fail)?;
        let parsed = found(id, &record)?;
        Ok(StoredParts {
            record,
            message_count: parsed.message_count,
            chunks,
            state,
        })
    }

    /// Creates or replaces a session from its metadata and already-encoded texts: `chunks`, JSON
    /// array texts of [`WRITE_CHUNK`] messages each (the last may hold fewer), `messages` in all,
    /// and the state's JSON text.
    pub(crate) async fn save_parts(
        &self,
        mut meta: SessionMetadata,
        chunks: Array,
        state: JsValue,
        messages: u64,
    ) -> Result<SessionMetadata> {
        rules::check_metadata(&meta)?;
        let id = meta.id.clone();
        let doing = format!("saving session \"{id}\"");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let tx = self.tx(ALL, IdbTransactionMode::Readwrite, &doing)?;
        let clock = tx.highest_key(SESSIONS, UPDATED_AT).map_err(fail)?;
        // The old chunks go first, whatever their layout; the new ones are written over them.
        tx.delete(CHUNKS, &chunks_from(&id, 0).map_err(fail)?)
            .map_err(fail)?;
        let mut tail = None;
        for (n, text) in chunks.iter().enumerate() {
            let start = (n * WRITE_CHUNK) as u64;
            tx.put(CHUNKS, &text, Some(&chunk_key(&id, start)))
                .map_err(fail)?;
            tail = Some(Chunk { start, text });
        }
        tx.put(STATES, &state, Some(&JsValue::from_str(&id)))
            .map_err(fail)?;
        let stamp = clock_from(clock.await.map_err(fail)?).tick(rules::now_ms());
        meta.updated_at = stamp.ms;
        if meta.created_at == 0 {
            meta.created_at = stamp.ms;
        }
        let record = SessionRecord::new(meta, stamp.seq, messages);
        self.commit(tx, &record, tail, &doing).await?;
        Ok(record.metadata)
    }

    /// Writes the session record and waits for the commit; then remembers the session's last
    /// chunk as written.
    async fn commit(
        &self,
        tx: Tx,
        record: &SessionRecord,
        tail: Option<Chunk>,
        doing: &str,
    ) -> Result<()> {
        let fail = |e: JsValue| dom_error(doing, &e);
        let id = record.metadata.id.clone();
        tx.put(SESSIONS, &record.to_js(), None).map_err(fail)?;
        self.inner.known.borrow_mut().remove(&id);
        tx.done().await.map_err(fail)?;
        let mut known = self.inner.known.borrow_mut();
        if known.len() >= KNOWN_LIMIT {
            known.clear();
        }
        known.insert(
            id,
            Known {
                rev: record.rev,
                tail,
            },
        );
        Ok(())
    }

    async fn delete_impl(&self, id: &str) -> Result<()> {
        rules::check_id(id)?;
        let doing = format!("deleting session \"{id}\"");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let tx = self.tx(ALL, IdbTransactionMode::Readwrite, &doing)?;
        let key = JsValue::from_str(id);
        let count = tx
            .count(SESSIONS, &key)
            .map_err(fail)?
            .result()
            .await
            .map_err(fail)?;
        if count.as_f64() != Some(1.0) {
            return Err(Error::not_found(id));
        }
        tx.delete(SESSIONS, &key).map_err(fail)?;
        tx.delete(CHUNKS, &chunks_from(id, 0).map_err(fail)?)
            .map_err(fail)?;
        tx.delete(STATES, &key).map_err(fail)?;
        self.inner.known.borrow_mut().remove(id);
        tx.done().await.map_err(fail)
    }

    /// Opens a read-write transaction over every store and reads, in one round trip, session
    /// `id`'s record, state, the chunks starting before message `before` (all if `None`) with
    /// their starts, and the clock.
    async fn load_for_write(&self, id: &str, before: Option<u64>, doing: &str) -> Result<Loaded> {
        let fail = |e: JsValue| dom_error(doing, &e);
        let tx = self.tx(ALL, IdbTransactionMode::Readwrite, doing)?;
        let key = JsValue::from_str(id);
        let record = tx.get(SESSIONS, &key).map_err(fail)?;
        let clock = tx.highest_key(SESSIONS, UPDATED_AT).map_err(fail)?;
        let range = match before {
            // An empty key range cannot be made: there is nothing to read.
            Some(0) => None,
            Some(end) => Some(chunks_before(id, end).map_err(fail)?),
            None => Some(chunks_from(id, 0).map_err(fail)?),
        };
        let reads = range
            .map(|range| {
                let keys = tx.get_all_keys(CHUNKS, &range)?;
                Ok::<_, JsValue>((keys, tx.get_all(CHUNKS, &range)?))
            })
            .transpose()
            .map_err(fail)?;
        let state = tx.get(STATES, &key).map_err(fail)?;
        let record = found(id, &record.result().await.map_err(fail)?)?;
        let clock = clock_from(clock.await.map_err(fail)?);
        let (keys, chunks) = match reads {
            Some((keys, chunks)) => {
                let keys: Array = keys.result().await.map_err(fail)?.unchecked_into();
                let chunks: Array = chunks.result().await.map_err(fail)?.unchecked_into();
                (keys, chunks)
            }
            None => (Array::new(), Array::new()),
        };
        let starts = keys
            .iter()
            .map(|key| {
                let start = key.unchecked_into::<Array>().get(1);
                whole(&start, rules::MAX_SAFE_INTEGER)
                    .ok_or_else(|| damaged(id, "a chunk key is not [id, start]"))
            })
            .collect::<Result<Vec<_>>>()?;
        let state = state.result().await.map_err(fail)?;
        Ok(Loaded {
            tx,
            record,
            clock,
            starts,
            chunks,
            state,
        })
    }

    async fn fork_impl(&self, id: &str, new_name: Option<String>) -> Result<SessionMetadata> {
        rules::check_id(id)?;
        if let Some(name) = &new_name {
            rules::check_name(name, id)?;
        }
        let doing = format!("forking session \"{id}\"");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let Loaded {
            tx,
            record,
            mut clock,
            starts,
            chunks,
            state,
        } = self.load_for_write(id, None, &doing).await?;
        let stamp = clock.tick(rules::now_ms());
        let mut meta = record.metadata;
        meta.id = uuid::Uuid::new_v4().to_string();
        meta.name = rules::fork_name(meta.name.as_deref(), new_name);
        meta.created_at = stamp.ms;
        meta.updated_at = stamp.ms;
        // The copy reuses the stored texts as they are: nothing is parsed or re-encoded.
        let mut tail = None;
        for (&start, text) in starts.iter().zip(chunks.iter()) {
            tx.put(CHUNKS, &text, Some(&chunk_key(&meta.id, start)))
                .map_err(fail)?;
            tail = Some(Chunk { start, text });
        }
        tx.put(STATES, &state, Some(&JsValue::from_str(&meta.id)))
            .map_err(fail)?;
        let copy = SessionRecord::new(meta, stamp.seq, record.message_count);
        self.commit(tx, &copy, tail, &doing).await?;
        Ok(copy.metadata)
    }

    /// Rewinds session `id` to its first `turn_index` messages and returns it as stored. Only the
    /// chunks kept are read, and only the one the cut falls in is rewritten.
    pub(crate) async fn rewind_parts(&self, id: &str, turn_index: u32) -> Result<StoredParts> {
        rules::check_id(id)?;
        let doing = format!("rewinding session \"{id}\"");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let Loaded {
            tx,
            record,
            mut clock,
            starts,
            chunks,
            state,
        } = self
            .load_for_write(id, Some(u64::from(turn_index)), &doing)
            .await?;
        let count = record.message_count;
        let keep = count.min(u64::from(turn_index));
        if keep < count {
            tx.delete(CHUNKS, &chunks_from(id, keep).map_err(fail)?)
                .map_err(fail)?;
            // The last chunk read starts before the cut; it may hold messages after it.
            match (starts.last(), chunks.pop()) {
                (Some(&start), text) if !text.is_undefined() => {
                    let text = cut_chunk(id, &text, (keep - start) as usize)?.unwrap_or(text);
                    tx.put(CHUNKS, &text, Some(&chunk_key(id, start)))
                        .map_err(fail)?;
                    chunks.push(&text);
                }
                _ if keep > 0 => return Err(damaged(id, "the chunks before the cut are missing")),
                _ => {}
            }
        }
        let tail = starts.last().map(|&start| Chunk {
            start,
            text: chunks.get(chunks.length().saturating_sub(1)),
        });
        let stamp = clock.tick(rules::now_ms());
        let mut meta = record.metadata;
        meta.turn_count = keep as u32;
        meta.updated_at = stamp.ms;
        let record = SessionRecord::new(meta, stamp.seq, keep);
        self.commit(tx, &record, tail, &doing).await?;
        Ok(StoredParts {
            record: record.to_js(),
            message_count: keep,
            chunks,
            state,
        })
    }

    /// Appends one turn: `texts` are the JSON texts of its messages. Tops up the last chunk (from
    /// this connection's memory when the session has not changed since it wrote it, else read)
    /// and writes new chunks after it; nothing before the last chunk is read or rewritten.
    pub(crate) async fn append_texts(
        &self,
        id: &str,
        texts: Vec<JsValue>,
        tokens: u64,
    ) -> Result<SessionMetadata> {
        rules::check_id(id)?;
        let doing = format!("appending to session \"{id}\"");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let tx = self.tx(ALL, IdbTransactionMode::Readwrite, &doing)?;
        let record = tx.get(SESSIONS, &JsValue::from_str(id)).map_err(fail)?;
        let clock = tx.highest_key(SESSIONS, UPDATED_AT).map_err(fail)?;
        let remembered = self.inner.known.borrow_mut().remove(id);
        let read_tail = |tx: &Tx| tx.last_entry(CHUNKS, &chunks_from(id, 0)?);
        let early_tail = match remembered {
            Some(_) => None,
            None => Some(read_tail(&tx).map_err(fail)?),
        };
        let record = found(id, &record.result().await.map_err(fail)?)?;
        let mut clock = clock_from(clock.await.map_err(fail)?);
        let mut meta = record.metadata;
        rules::count_turn(&mut meta, tokens)?;
        let count = record.message_count;
        let tail = match remembered {
            Some(known) if known.rev == record.rev => known.tail,
            _ => {
                let read = match early_tail {
                    Some(read) => read,
                    // Changed since this connection wrote it: read the last chunk after all.
                    None => read_tail(&tx).map_err(fail)?,
                };
                chunk_from_entry(id, read.await.map_err(fail)?)?
            }
        };
        if tail.as_ref().map_or(count > 0, |t| t.start >= count) {
            return Err(damaged(
                id,
                format!("{count} messages, but the last chunk is not where they end"),
            ));
        }
        let mut rest = texts.as_slice();
        let mut last = tail;
        let mut next = count;
        // Top up a short last chunk by splicing text: nothing stored is parsed.
        if let Some(chunk) = last.as_ref().filter(|c| count - c.start < TAIL_LEN as u64) {
            let room = TAIL_LEN - (count - chunk.start) as usize;
            let (head, more) = rest.split_at(rest.len().min(room));
            if !head.is_empty() {
                let text = extend_array_text(id, &chunk.text, head)?;
                tx.put(CHUNKS, &text, Some(&chunk_key(id, chunk.start)))
                    .map_err(fail)?;
                last = Some(Chunk {
                    start: chunk.start,
                    text,
                });
                next += head.len() as u64;
                rest = more;
            }
        }
        for piece in rest.chunks(WRITE_CHUNK) {
            let text = extend_array_text(id, &JsValue::from_str("[]"), piece)?;
            tx.put(CHUNKS, &text, Some(&chunk_key(id, next)))
                .map_err(fail)?;
            last = Some(Chunk { start: next, text });
            next += piece.len() as u64;
        }
        let stamp = clock.tick(rules::now_ms());
        meta.updated_at = stamp.ms;
        let record = SessionRecord::new(meta, stamp.seq, next);
        self.commit(tx, &record, last, &doing).await?;
        Ok(record.metadata)
    }

    /// Applies `change` to the metadata of session `id` and stamps it as written now.
    async fn update_metadata(
        &self,
        id: &str,
        doing: &str,
        change: impl FnOnce(&mut SessionMetadata),
    ) -> Result<()> {
        let fail = |e: JsValue| dom_error(doing, &e);
        let tx = self.tx(&[SESSIONS], IdbTransactionMode::Readwrite, doing)?;
        let record = tx.get(SESSIONS, &JsValue::from_str(id)).map_err(fail)?;
        let clock = tx.highest_key(SESSIONS, UPDATED_AT).map_err(fail)?;
        let record = found(id, &record.result().await.map_err(fail)?)?;
        let stamp = clock_from(clock.await.map_err(fail)?).tick(rules::now_ms());
        // The chunks are untouched: what this connection remembers of them stays true.
        let tail = self
            .inner
            .known
            .borrow_mut()
            .remove(id)
            .filter(|known| known.rev == record.rev)
            .and_then(|known| known.tail);
        let mut meta = record.metadata;
        change(&mut meta);
        meta.updated_at = stamp.ms;
        let updated = SessionRecord::new(meta, stamp.seq, record.message_count);
        if tail.is_none() && record.message_count > 0 {
            // Nothing worth remembering: the next append reads the last chunk.
            tx.put(SESSIONS, &updated.to_js(), None).map_err(fail)?;
            return tx.done().await.map_err(fail);
        }
        self.commit(tx, &updated, tail, doing).await
    }

    async fn tag_impl(&self, id: &str, tags: Vec<String>) -> Result<()> {
        rules::check_id(id)?;
        rules::check_tags(&tags, id)?;
        let doing = format!("tagging session \"{id}\"");
        self.update_metadata(id, &doing, |meta| rules::merge_tags(&mut meta.tags, tags))
            .await
    }

    async fn rename_impl(&self, id: &str, new_name: String) -> Result<()> {
        rules::check_id(id)?;
        rules::check_name(&new_name, id)?;
        let doing = format!("renaming session \"{id}\"");
        self.update_metadata(id, &doing, |meta| meta.name = Some(new_name))
            .await
    }
}

/// A whole session (or its chunks before a cut) read inside a read-write transaction, with the
/// clock.
struct Loaded {
    tx: Tx,
    record: SessionRecord,
    clock: Clock,
    /// The first message index of each chunk read, in order.
    starts: Vec<u64>,
    chunks: Array,
    state: JsValue,
}

impl Inner {
    fn close(&self, why: String) {
        let mut closed = self.closed.borrow_mut();
        if closed.is_none() {
            *closed = Some(why);
            self.db.close();
        }
    }
}

/// The write clock from the highest key of the `updated_at` index (`[updatedAt, seq]`): the
/// last write's stamp; zero in an empty store.
fn clock_from(key: JsValue) -> Clock {
    if key.is_undefined() {
        return Clock::default();
    }
    let key: Array = key.unchecked_into();
    Clock {
        ms: key.get(0).as_f64().unwrap_or(0.0) as i64,
        seq: key.get(1).as_f64().unwrap_or(0.0) as u64,
    }
}

/// The session record read for `id`: `NOT_FOUND` naming `id` when the read found nothing.
fn found(id: &str, value: &JsValue) -> Result<SessionRecord> {
    if value.is_undefined() {
        return Err(Error::not_found(id));
    }
    SessionRecord::from_js(value, id)
}

/// The chunk in a `[key, value]` entry read from `chunks` (none if the entry is undefined).
fn chunk_from_entry(id: &str, entry: JsValue) -> Result<Option<Chunk>> {
    if entry.is_undefined() {
        return Ok(None);
    }
    let entry: Array = entry.unchecked_into();
    let start = whole(
        &entry.get(0).unchecked_into::<Array>().get(1),
        rules::MAX_SAFE_INTEGER,
    )
    .ok_or_else(|| damaged(id, "a chunk key is not [id, start]"))?;
    Ok(Some(Chunk {
        start,
        text: entry.get(1),
    }))
}

/// The chunk text `text` cut to its first `keep` messages, or `None` if it holds no more. Copies
/// into wasm only the start of the text the cut needs (a prefix that doubles until it holds the
/// cut), not a whole chunk of up to [`WRITE_CHUNK`] messages.
fn cut_chunk(id: &str, text: &JsValue, keep: usize) -> Result<Option<JsValue>> {
    let text: &JsString = text
        .dyn_ref()
        .ok_or_else(|| damaged(id, "a chunk is not text"))?;
    let length = text.length();
    let mut take = (keep as u32)
        .saturating_add(1)
        .saturating_mul(512)
        .min(length);
    loop {
        // A prefix may end inside a surrogate pair, which is then replaced: only past the cut.
        let prefix = String::from(text.slice(0, take));
        match cut_array(&prefix, keep).map_err(|e| damaged(id, e))? {
            Cut::At(end) => return Ok(Some(JsValue::from_str(&format!("{}]", &prefix[..end])))),
            Cut::Whole => return Ok(None),
            Cut::NeedMore if take >= length => {
                return Err(damaged(id, "a chunk is not a terminated JSON array"))
            }
            Cut::NeedMore => take = take.saturating_mul(2).min(length),
        }
    }
}

/// The JSON array text `array` (as stored: `[...]`, no spaces) with the JSON texts `items`
/// appended, built from JS strings without copying them into wasm.
fn extend_array_text(id: &str, array: &JsValue, items: &[JsValue]) -> Result<JsValue> {
    let array: &JsString = array
        .dyn_ref()
        .filter(|a: &&JsString| a.starts_with("[", 0) && a.ends_with("]", a.length() as i32))
        .ok_or_else(|| damaged(id, "the last chunk is not a JSON array text"))?;
    let items: Array = items.iter().collect();
    let length = array.length();
    let separator = if length > 2 { "," } else { "" };
    Ok(array
        .slice(0, length - 1)
        .concat(&JsValue::from_str(separator))
        .concat(&items.join(",").into())
        .concat(&JsValue::from_str("]"))
        .into())
}

impl SessionManager for IndexedDbSessionManager {
    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        self.list_page_or_all(None)
    }

    fn list_page(
        &self,
        offset: usize,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        self.list_page_or_all(Some((offset, limit)))
    }

    fn resume(&self, session_id: &str) -> BoxFuture<'_, Result<Session>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.resume_parts(&id).await?.parse(&id) })
    }

    fn save_returning(&self, session: &Session) -> BoxFuture<'_, Result<SessionMetadata>> {
        // Validate and encode now, so the future owns text rather than a copy of the session.
        let encoded = rules::check_session(session).map(|()| {
            let chunks: Array = session
                .messages
                .chunks(WRITE_CHUNK)
                .map(|chunk| JsValue::from_str(&json_text(chunk)))
                .collect();
            let state = JsValue::from_str(&json_text(&session.state));
            (session.metadata.clone(), chunks, state)
        });
        let messages = session.messages.len() as u64;
        Box::pin(async move {
            let (meta, chunks, state) = encoded?;
            self.save_parts(meta, chunks, state, messages).await
        })
    }

    fn delete(&self, session_id: &str) -> BoxFuture<'_, Result<()>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.delete_impl(&id).await })
    }

    fn fork(
        &self,
        session_id: &str,
        new_name: Option<String>,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.fork_impl(&id, new_name).await })
    }

    fn rewind(&self, session_id: &str, turn_index: u32) -> BoxFuture<'_, Result<Session>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.rewind_parts(&id, turn_index).await?.parse(&id) })
    }

    fn tag(&self, session_id: &str, tags: Vec<String>) -> BoxFuture<'_, Result<()>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.tag_impl(&id, tags).await })
    }

    fn rename(&self, session_id: &str, new_name: String) -> BoxFuture<'_, Result<()>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.rename_impl(&id, new_name).await })
    }

    fn append(
        &self,
        session_id: &str,
        messages: Vec<Value>,
        tokens: u64,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        let id = session_id.to_owned();
        // Check and encode now: the future owns text, not the caller's values.
        let texts = rules::check_messages(&messages, session_id).map(|()| {
            messages
                .iter()
                .map(|m| JsValue::from_str(&json_text(m)))
                .collect()
        });
        Box::pin(async move { self.append_texts(&id, texts?, tokens).await })
    }
}

impl IndexedDbSessionManager {
    fn list_page_or_all(
        &self,
        page: Option<(usize, usize)>,
    ) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        Box::pin(async move {
            let records = self.list_records(page).await?;
            records
                .iter()
                .map(|r| Ok(SessionRecord::from_js(&r, "(listing)")?.metadata))
                .collect()
        })
    }
}
