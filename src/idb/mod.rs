//! `IndexedDbSessionManager`: sessions in the browser's IndexedDB, one transaction per operation.
//!
//! Every operation reads and writes inside a single transaction over every store it touches, so
//! it is atomic, and two connections (two tabs) racing on one session serialize instead of
//! losing an update. The layout is in [`schema`]. Reads and writes work on stored parts (record,
//! chunk texts, state text): the trait methods parse them into the model, and the JS facade hands
//! them to JS as they are, so a session's messages never need converting value by value.

mod record;
mod requests;
mod schema;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbTransaction, IdbTransactionMode};

use self::record::{
    chunk_key, chunk_texts, chunks_between, chunks_for, chunks_from, damaged, extend_array_text,
    fingerprint, from_js, json_text, Digests, SessionRecord,
};
pub(crate) use self::record::{to_js, StoredParts};
use self::requests::{dom_error, open_database, Pending, Tx};
pub(crate) use self::schema::CHUNK_LEN;
use self::schema::{ALL, CHUNKS, CLOCK_KEY, DIGESTS, META, SESSIONS, STATES, UPDATED_AT};
use crate::error::{Error, Result};
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
    /// The write clock as this connection last wrote it, and the sessions it last wrote: hints
    /// that let a write skip reading first, always checked inside the write's transaction.
    clock: Cell<Option<Clock>>,
    known: RefCell<HashMap<String, Known>>,
}

/// A session as this connection last wrote it.
#[derive(Clone)]
struct Known {
    seq: u64,
    record: SessionRecord,
    digests: Digests,
    /// Text of the last chunk, which an append tops up.
    tail: Option<String>,
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

/// A text to store (a chunk or the state) with its fingerprint.
pub(crate) struct Text {
    js: JsValue,
    text: String,
    digest: String,
}

impl Text {
    pub fn new(text: String) -> Self {
        Text {
            js: JsValue::from_str(&text),
            digest: fingerprint(&text),
            text,
        }
    }

    /// A JS string, kept as it is for writing (no copy back out of wasm).
    pub fn from_js(js: JsValue) -> Option<Self> {
        let text = js.as_string()?;
        Some(Text {
            js,
            digest: fingerprint(&text),
            text,
        })
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
            clock: Cell::new(None),
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
        let tx = self.tx(
            &[SESSIONS, CHUNKS, STATES],
            IdbTransactionMode::Readonly,
            &doing,
        )?;
        let key = JsValue::from_str(id);
        let record = tx.get(SESSIONS, &key).map_err(fail)?;
        let chunks = tx
            .get_all(CHUNKS, &chunks_from(id, 0).map_err(fail)?)
            .map_err(fail)?;
        let state = tx.get(STATES, &key).map_err(fail)?;
        let record = record.result().await.map_err(fail)?;
        let chunks: Array = chunks.result().await.map_err(fail)?.unchecked_into();
        let state = state.result().await.map_err(fail)?;
        let parsed: SessionRecord = found(id, record.clone())?;
        check_chunk_count(id, parsed.message_count, chunks.length() as usize, None)?;
        Ok(StoredParts {
            record,
            message_count: parsed.message_count,
            chunks,
            state,
        })
    }

    /// Creates or replaces a session from its metadata and already-encoded texts: chunk texts
    /// (JSON arrays of [`CHUNK_LEN`] messages) and the state's JSON text. Writes only the chunks
    /// and state whose text changed.
    pub(crate) async fn save_parts(
        &self,
        meta: SessionMetadata,
        chunks: Vec<Text>,
        state: Text,
        messages: u64,
    ) -> Result<SessionMetadata> {
        rules::check_metadata(&meta)?;
        if let Some(clock) = self.inner.clock.get() {
            // A full replace needs nothing from the old session but its digests, which only
            // save work: guess them (or write everything) and check the guess in the same transaction.
            let known = self
                .inner
                .known
                .borrow()
                .get(&meta.id)
                .map(|k| (k.seq, k.digests.clone()));
            let (seq, old) = known.map_or((None, None), |(seq, old)| (Some(seq), Some(old)));
            let basis = Basis::Guess {
                clock,
                seq,
                old: old.unwrap_or_default(),
            };
            if let Some(saved) = self
                .save_with(&meta, &chunks, &state, messages, basis)
                .await?
            {
                return Ok(saved);
            }
        }
        let saved = self
            .save_with(&meta, &chunks, &state, messages, Basis::Read)
            .await?;
        saved.ok_or_else(|| Error::storage("saving failed: a read-first write cannot be stale"))
    }

    /// One try at a save on `basis`; `None` when the guessed basis turned out stale.
    async fn save_with(
        &self,
        meta: &SessionMetadata,
        chunks: &[Text],
        state: &Text,
        messages: u64,
        basis: Basis,
    ) -> Result<Option<SessionMetadata>> {
        let id = meta.id.as_str();
        let doing = format!("saving session \"{id}\"");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let tx = self.tx(ALL, IdbTransactionMode::Readwrite, &doing)?;
        let key = JsValue::from_str(id);
        let (check, mut clock, old) = match basis {
            Basis::Guess { clock, seq, old } => {
                (Some(Check::new(&tx, id, clock, seq, &doing)?), clock, old)
            }
            Basis::Read => {
                let old = tx.get(DIGESTS, &key).map_err(fail)?;
                let clock = tx.get(META, &JsValue::from_str(CLOCK_KEY)).map_err(fail)?;
                let old = optional(old.result().await.map_err(fail)?, id)?.unwrap_or_default();
                let clock =
                    optional(clock.result().await.map_err(fail)?, CLOCK_KEY)?.unwrap_or_default();
                (None, clock, old)
            }
        };
        let stamp = clock.tick(rules::now_ms());
        let mut digests = Digests {
            chunks: Vec::with_capacity(chunks.len()),
            state: state.digest.clone(),
        };
        for (n, text) in chunks.iter().enumerate() {
            if old.chunks.get(n) != Some(&text.digest) {
                tx.put(CHUNKS, &text.js, Some(&chunk_key(id, n)))
                    .map_err(fail)?;
            }
            digests.chunks.push(text.digest.clone());
        }
        if old.chunks.len() > digests.chunks.len()
            || check.as_ref().is_some_and(|c| c.seq.is_none())
        {
            tx.delete(
                CHUNKS,
                &chunks_from(id, digests.chunks.len()).map_err(fail)?,
            )
            .map_err(fail)?;
        }
        if old.state != digests.state {
            tx.put(STATES, &state.js, Some(&key)).map_err(fail)?;
        }
        let mut meta = meta.clone();
        meta.updated_at = stamp.ms;
        if meta.created_at == 0 {
            meta.created_at = stamp.ms;
        }
        let record = SessionRecord::new(meta.clone(), stamp.seq, messages);
        let tail = chunks.last().map(|t| t.text.clone());
        if !self
            .commit(tx, check, &record, Some(digests), tail, clock, &doing)
            .await?
        {
            return Ok(None);
        }
        Ok(Some(meta))
    }

    /// Writes the session record (and digests, if they changed) and the clock, checks the guess
    /// the writes were built on (if any), and waits for the commit. Returns false, having
    /// aborted, when the guess was stale; on success remembers what was written.
    #[allow(clippy::too_many_arguments)]
    async fn commit(
        &self,
        tx: Tx,
        check: Option<Check>,
        record: &SessionRecord,
        digests: Option<Digests>,
        tail: Option<String>,
        clock: Clock,
        doing: &str,
    ) -> Result<bool> {
        let fail = |e: JsValue| dom_error(doing, &e);
        let id = record.metadata.id.clone();
        tx.put(SESSIONS, &to_js(record)?, None).map_err(fail)?;
        if let Some(digests) = &digests {
            tx.put(DIGESTS, &to_js(digests)?, Some(&JsValue::from_str(&id)))
                .map_err(fail)?;
        }
        tx.put(META, &to_js(&clock)?, Some(&JsValue::from_str(CLOCK_KEY)))
            .map_err(fail)?;
        if let Some(check) = check {
            if !check.holds().await? {
                tx.abort().await;
                self.forget(&id);
                return Ok(false);
            }
        }
        if let Err(e) = tx.done().await {
            self.forget(&id);
            return Err(fail(e));
        }
        self.inner.clock.set(Some(clock));
        let mut known = self.inner.known.borrow_mut();
        if known.len() >= KNOWN_LIMIT {
            known.clear();
        }
        let previous = known.remove(&id);
        let digests = digests.or_else(|| previous.as_ref().map(|k| k.digests.clone()));
        let tail = tail.or_else(|| previous.and_then(|k| k.tail));
        if let Some(digests) = digests {
            known.insert(
                id,
                Known {
                    seq: record.seq,
                    record: record.clone(),
                    digests,
                    tail,
                },
            );
        }
        Ok(true)
    }

    /// Drops this connection's hints about session `id` and the clock, so the next write reads first.
    fn forget(&self, id: &str) {
        self.inner.clock.set(None);
        self.inner.known.borrow_mut().remove(id);
    }

    async fn delete_impl(&self, id: &str) -> Result<()> {
        rules::check_id(id)?;
        let doing = format!("deleting session \"{id}\"");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let tx = self.tx(
            &[SESSIONS, CHUNKS, STATES, DIGESTS],
            IdbTransactionMode::Readwrite,
            &doing,
        )?;
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
        tx.delete(DIGESTS, &key).map_err(fail)?;
        self.inner.known.borrow_mut().remove(id);
        tx.done().await.map_err(fail)
    }

    /// Opens a read-write transaction over every store and reads session `id` (record, digests,
    /// state text, and the texts of its first `chunks` chunks, or all of them) and the clock, in
    /// one round trip.
    async fn load_for_write(&self, id: &str, chunks: Option<usize>, doing: &str) -> Result<Loaded> {
        let fail = |e: JsValue| dom_error(doing, &e);
        let tx = self.tx(ALL, IdbTransactionMode::Readwrite, doing)?;
        let key = JsValue::from_str(id);
        let record = tx.get(SESSIONS, &key).map_err(fail)?;
        let digests = tx.get(DIGESTS, &key).map_err(fail)?;
        let clock = tx.get(META, &JsValue::from_str(CLOCK_KEY)).map_err(fail)?;
        let wanted = chunks;
        let chunks = match wanted {
            // An empty key range cannot be made: there is nothing to read.
            Some(0) => None,
            Some(end) => Some(tx.get_all(CHUNKS, &chunks_between(id, 0, end).map_err(fail)?)),
            None => Some(tx.get_all(CHUNKS, &chunks_from(id, 0).map_err(fail)?)),
        };
        let chunks = chunks.transpose().map_err(fail)?;
        let state = tx.get(STATES, &key).map_err(fail)?;
        let record: SessionRecord = found(id, record.result().await.map_err(fail)?)?;
        let digests = optional(digests.result().await.map_err(fail)?, id)?.unwrap_or_default();
        let clock = optional(clock.result().await.map_err(fail)?, CLOCK_KEY)?.unwrap_or_default();
        let chunks: Array = match chunks {
            Some(chunks) => chunks.result().await.map_err(fail)?.unchecked_into(),
            None => Array::new(),
        };
        let state = state.result().await.map_err(fail)?;
        check_chunk_count(id, record.message_count, chunks.length() as usize, wanted)?;
        Ok(Loaded {
            tx,
            record,
            digests,
            clock,
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
            digests,
            mut clock,
            chunks,
            state,
        } = self.load_for_write(id, None, &doing).await?;
        let stamp = clock.tick(rules::now_ms());
        let mut meta = record.metadata();
        meta.id = uuid::Uuid::new_v4().to_string();
        meta.name = rules::fork_name(meta.name.as_deref(), new_name);
        meta.created_at = stamp.ms;
        meta.updated_at = stamp.ms;
        // The copy reuses the stored texts as they are: nothing is parsed or re-encoded.
        for (n, text) in chunks.iter().enumerate() {
            tx.put(CHUNKS, &text, Some(&chunk_key(&meta.id, n)))
                .map_err(fail)?;
        }
        tx.put(STATES, &state, Some(&JsValue::from_str(&meta.id)))
            .map_err(fail)?;
        let copy = SessionRecord::new(meta.clone(), stamp.seq, record.message_count);
        let tail = chunks.get(chunks.length().saturating_sub(1)).as_string();
        self.commit(tx, None, &copy, Some(digests), tail, clock, &doing)
            .await?;
        Ok(meta)
    }

    /// Rewinds session `id` to its first `turn_index` messages and returns it as stored. Only the
    /// chunk the cut falls in is parsed.
    pub(crate) async fn rewind_parts(&self, id: &str, turn_index: u32) -> Result<StoredParts> {
        rules::check_id(id)?;
        let doing = format!("rewinding session \"{id}\"");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let Loaded {
            tx,
            mut record,
            mut digests,
            mut clock,
            chunks,
            state,
        } = self
            .load_for_write(id, Some(chunks_for(turn_index as usize)), &doing)
            .await?;
        let count = record.message_count as usize;
        let keep = count.min(turn_index as usize);
        let kept_chunks = chunks_for(keep);
        if keep < count {
            chunks.set_length(kept_chunks as u32);
            digests.chunks.truncate(kept_chunks);
            if !keep.is_multiple_of(CHUNK_LEN) {
                let last = kept_chunks - 1;
                let text = chunks
                    .get(last as u32)
                    .as_string()
                    .ok_or_else(|| damaged(id, "a chunk is not text"))?;
                let mut messages: Vec<Value> =
                    serde_json::from_str(&text).map_err(|e| damaged(id, e))?;
                messages.truncate(keep % CHUNK_LEN);
                let text = Text::new(json_text(&messages));
                tx.put(CHUNKS, &text.js, Some(&chunk_key(id, last)))
                    .map_err(fail)?;
                chunks.set(last as u32, text.js);
                digests.chunks[last] = text.digest;
            }
            tx.delete(CHUNKS, &chunks_from(id, kept_chunks).map_err(fail)?)
                .map_err(fail)?;
        }
        let stamp = clock.tick(rules::now_ms());
        let mut meta = record.metadata();
        meta.turn_count = keep as u32;
        meta.updated_at = stamp.ms;
        record = SessionRecord::new(meta, stamp.seq, keep as u64);
        let tail = chunks.get(chunks.length().saturating_sub(1)).as_string();
        self.commit(tx, None, &record, Some(digests), tail, clock, &doing)
            .await?;
        Ok(StoredParts {
            record: to_js(&record)?,
            message_count: keep as u64,
            chunks,
            state,
        })
    }

    async fn append_impl(
        &self,
        id: &str,
        texts: Vec<String>,
        tokens: u64,
    ) -> Result<SessionMetadata> {
        rules::check_id(id)?;
        let guess = self.inner.clock.get().and_then(|clock| {
            let known = self.inner.known.borrow().get(id).cloned()?;
            // Topping up a partly filled last chunk needs its text.
            let needs_tail = !(known.record.message_count as usize).is_multiple_of(CHUNK_LEN);
            (!needs_tail || known.tail.is_some()).then_some((clock, known))
        });
        if let Some(guess) = guess {
            if let Some(appended) = self.append_with(id, &texts, tokens, Some(guess)).await? {
                return Ok(appended);
            }
        }
        let appended = self.append_with(id, &texts, tokens, None).await?;
        appended
            .ok_or_else(|| Error::storage("appending failed: a read-first write cannot be stale"))
    }

    /// One try at an append, on this connection's last view of the session (`guess`) or on what
    /// it reads first; `None` when the guess turned out stale.
    async fn append_with(
        &self,
        id: &str,
        texts: &[String],
        tokens: u64,
        guess: Option<(Clock, Known)>,
    ) -> Result<Option<SessionMetadata>> {
        let doing = format!("appending to session \"{id}\"");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let tx = self.tx(ALL, IdbTransactionMode::Readwrite, &doing)?;
        let (check, record, mut digests, tail, mut clock) = match guess {
            Some((clock, known)) => {
                let check = Check::new(&tx, id, clock, Some(known.seq), &doing)?;
                (Some(check), known.record, known.digests, known.tail, clock)
            }
            None => {
                let key = JsValue::from_str(id);
                let record = tx.get(SESSIONS, &key).map_err(fail)?;
                let digests = tx.get(DIGESTS, &key).map_err(fail)?;
                let clock = tx.get(META, &JsValue::from_str(CLOCK_KEY)).map_err(fail)?;
                let tail = tx
                    .last(CHUNKS, &chunks_from(id, 0).map_err(fail)?, 1)
                    .map_err(fail)?;
                let record = found(id, record.result().await.map_err(fail)?)?;
                let digests =
                    optional(digests.result().await.map_err(fail)?, id)?.unwrap_or_default();
                let clock =
                    optional(clock.result().await.map_err(fail)?, CLOCK_KEY)?.unwrap_or_default();
                let tail: Array = tail.await.map_err(fail)?.unchecked_into();
                (None, record, digests, tail.get(0).as_string(), clock)
            }
        };
        let mut meta = record.metadata();
        if let Err(e) = rules::count_turn(&mut meta, tokens) {
            // Judged on a guess: only an error if the guess holds.
            let stale = match check {
                Some(check) => !check.holds().await?,
                None => false,
            };
            return if stale { Ok(None) } else { Err(e) };
        }
        let count = record.message_count as usize;
        check_chunk_count(id, record.message_count, digests.chunks.len(), None)?;
        let mut rest = texts;
        let mut last_text = tail;
        // Top up the last, partly filled chunk by splicing text: nothing stored is parsed.
        if !count.is_multiple_of(CHUNK_LEN) && !rest.is_empty() {
            let last = digests.chunks.len() - 1;
            let old = last_text
                .as_deref()
                .ok_or_else(|| damaged(id, format!("chunk {last} is missing")))?;
            let (head, tail) = rest.split_at(rest.len().min(CHUNK_LEN - count % CHUNK_LEN));
            let text = Text::new(extend_array_text(old, head));
            tx.put(CHUNKS, &text.js, Some(&chunk_key(id, last)))
                .map_err(fail)?;
            digests.chunks[last] = text.digest;
            last_text = Some(text.text);
            rest = tail;
        }
        for chunk in rest.chunks(CHUNK_LEN) {
            let text = Text::new(extend_array_text("[]", chunk));
            tx.put(CHUNKS, &text.js, Some(&chunk_key(id, digests.chunks.len())))
                .map_err(fail)?;
            digests.chunks.push(text.digest);
            last_text = Some(text.text);
        }
        let stamp = clock.tick(rules::now_ms());
        meta.updated_at = stamp.ms;
        let record = SessionRecord::new(meta.clone(), stamp.seq, (count + texts.len()) as u64);
        if !self
            .commit(tx, check, &record, Some(digests), last_text, clock, &doing)
            .await?
        {
            return Ok(None);
        }
        Ok(Some(meta))
    }

    /// Applies `change` to the metadata of session `id` and stamps it as written now.
    async fn update_metadata(
        &self,
        id: &str,
        doing: &str,
        change: impl FnOnce(&mut SessionMetadata),
    ) -> Result<()> {
        let fail = |e: JsValue| dom_error(doing, &e);
        let tx = self.tx(&[SESSIONS, META], IdbTransactionMode::Readwrite, doing)?;
        let record = tx.get(SESSIONS, &JsValue::from_str(id)).map_err(fail)?;
        let clock = tx.get(META, &JsValue::from_str(CLOCK_KEY)).map_err(fail)?;
        let record: SessionRecord = found(id, record.result().await.map_err(fail)?)?;
        let mut clock: Clock =
            optional(clock.result().await.map_err(fail)?, CLOCK_KEY)?.unwrap_or_default();
        let stamp = clock.tick(rules::now_ms());
        let mut meta = record.metadata();
        change(&mut meta);
        meta.updated_at = stamp.ms;
        let record = SessionRecord::new(meta, stamp.seq, record.message_count);
        self.commit(tx, None, &record, None, None, clock, doing)
            .await
            .map(drop)
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

/// A whole session read inside a read-write transaction, with the clock.
struct Loaded {
    tx: Tx,
    record: SessionRecord,
    digests: Digests,
    clock: Clock,
    chunks: Array,
    state: JsValue,
}

/// What a save builds on.
enum Basis {
    /// Read first, in the save's own transaction: two round trips, never stale.
    Read,
    /// This connection's last view: the clock, and the session's record `seq` and digests
    /// (`seq: None`: unknown, so write everything). One round trip; checked by a [`Check`].
    Guess {
        clock: Clock,
        seq: Option<u64>,
        old: Digests,
    },
}

/// Reads issued first in a write's transaction that confirm the view its writes were built on:
/// the clock and, if known, the session's record `seq` are still what this connection last wrote.
struct Check {
    record: Option<Pending>,
    clock: Pending,
    expect_clock: Clock,
    seq: Option<u64>,
    id: String,
    doing: String,
}

impl Check {
    fn new(tx: &Tx, id: &str, clock: Clock, seq: Option<u64>, doing: &str) -> Result<Self> {
        let fail = |e: JsValue| dom_error(doing, &e);
        let record = match seq {
            Some(_) => Some(tx.get(SESSIONS, &JsValue::from_str(id)).map_err(fail)?),
            None => None,
        };
        let clock_read = tx.get(META, &JsValue::from_str(CLOCK_KEY)).map_err(fail)?;
        Ok(Check {
            record,
            clock: clock_read,
            expect_clock: clock,
            seq,
            id: id.to_owned(),
            doing: doing.to_owned(),
        })
    }

    /// Whether the guessed view still holds. Awaited while the transaction is still open, so a
    /// stale guess can abort it before anything commits.
    async fn holds(self) -> Result<bool> {
        let fail = |e: JsValue| dom_error(&self.doing, &e);
        let clock: Option<Clock> = optional(self.clock.result().await.map_err(fail)?, CLOCK_KEY)?;
        if clock != Some(self.expect_clock) {
            return Ok(false);
        }
        if let Some(record) = self.record {
            let record: Option<SessionRecord> =
                optional(record.result().await.map_err(fail)?, &self.id)?;
            return Ok(record.map(|r| r.seq) == self.seq);
        }
        Ok(true)
    }
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

/// A record that must exist: `NOT_FOUND` naming `id` when the read found nothing.
fn found(id: &str, value: JsValue) -> Result<SessionRecord> {
    optional(value, id)?.ok_or_else(|| Error::not_found(id))
}

/// A record that may be absent (`undefined`).
fn optional<T: for<'de> serde::Deserialize<'de>>(value: JsValue, what: &str) -> Result<Option<T>> {
    if value.is_undefined() {
        return Ok(None);
    }
    from_js(value, what).map(Some)
}

/// Checks that `found` chunks are what `messages` messages take (of which only the first
/// `read_up_to` were read, if given).
fn check_chunk_count(
    id: &str,
    messages: u64,
    found: usize,
    read_up_to: Option<usize>,
) -> Result<()> {
    let stored = chunks_for(messages as usize);
    let expected = read_up_to.map_or(stored, |n| n.min(stored));
    if found != expected {
        let why =
            format!("{messages} messages need {stored} chunks, found {found} of {expected} read");
        return Err(damaged(id, why));
    }
    Ok(())
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
            let chunks = chunk_texts(&session.messages)
                .into_iter()
                .map(Text::new)
                .collect();
            (
                session.metadata.clone(),
                chunks,
                Text::new(json_text(&session.state)),
            )
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
        let texts = rules::check_messages(&messages, session_id)
            .map(|()| messages.iter().map(json_text).collect());
        Box::pin(async move { self.append_impl(&id, texts?, tokens).await })
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
                .map(|r| Ok(from_js::<SessionRecord>(r, "(listing)")?.metadata()))
                .collect()
        })
    }
}
