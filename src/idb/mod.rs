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

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbTransaction, IdbTransactionMode};

pub(crate) use self::record::StoredParts;
use self::record::{
    chunk_key, chunk_texts, chunks_for, chunks_from, damaged, extend_array_text, fingerprint,
    from_js, json_text, to_js, Digests, SessionRecord,
};
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
}

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
    digest: String,
}

impl Text {
    pub fn new(text: &str) -> Self {
        Text {
            js: JsValue::from_str(text),
            digest: fingerprint(text),
        }
    }

    /// A JS string, kept as it is for writing (no copy back out of wasm).
    pub fn from_js(js: JsValue) -> Option<Self> {
        let digest = fingerprint(&js.as_string()?);
        Some(Text { js, digest })
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
                |e| match dom_error(&format!("opening database {name:?}"), &e) {
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
        });
        let weak: Weak<Inner> = Rc::downgrade(&inner);
        let on_change = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.close(format!(
                    "database {:?} was closed because another tab opened a newer version of it; reload to continue",
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
            "database {:?} was closed by close()",
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
    pub(crate) async fn list_records(&self, page: Option<(usize, usize)>) -> Result<Vec<JsValue>> {
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
                all.iter().rev().collect()
            }
            Some((offset, limit)) => {
                // getAll counts are 32-bit; no store holds more sessions than that.
                let offset = offset.min(u32::MAX as usize);
                let limit = limit.min(u32::MAX as usize - offset);
                let page = requests::page_newest_first(&index, offset as f64, limit as f64);
                let page: Array = JsFuture::from(page).await.map_err(fail)?.unchecked_into();
                page.iter().collect()
            }
        })
    }

    /// Session `id` as stored.
    pub(crate) async fn resume_parts(&self, id: &str) -> Result<StoredParts> {
        rules::check_id(id)?;
        let doing = format!("resuming session {id:?}");
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
        check_chunk_count(id, parsed.message_count, chunks.length() as usize)?;
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
        mut meta: SessionMetadata,
        chunks: Vec<Text>,
        state: Text,
        messages: u64,
    ) -> Result<SessionMetadata> {
        rules::check_metadata(&meta)?;
        let id = meta.id.clone();
        let doing = format!("saving session {id:?}");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let tx = self.tx(ALL, IdbTransactionMode::Readwrite, &doing)?;
        let key = JsValue::from_str(&id);
        let old = tx.get(DIGESTS, &key).map_err(fail)?;
        let clock = tx.get(META, &JsValue::from_str(CLOCK_KEY)).map_err(fail)?;
        let old: Digests = optional(old.result().await.map_err(fail)?, &id)?.unwrap_or_default();
        let mut clock: Clock =
            optional(clock.result().await.map_err(fail)?, CLOCK_KEY)?.unwrap_or_default();
        let stamp = clock.tick(rules::now_ms());

        let mut digests = Digests {
            chunks: Vec::with_capacity(chunks.len()),
            state: state.digest,
        };
        for (n, text) in chunks.into_iter().enumerate() {
            if old.chunks.get(n) != Some(&text.digest) {
                tx.put(CHUNKS, &text.js, Some(&chunk_key(&id, n)))
                    .map_err(fail)?;
            }
            digests.chunks.push(text.digest);
        }
        if old.chunks.len() > digests.chunks.len() {
            tx.delete(
                CHUNKS,
                &chunks_from(&id, digests.chunks.len()).map_err(fail)?,
            )
            .map_err(fail)?;
        }
        if old.state != digests.state {
            tx.put(STATES, &state.js, Some(&key)).map_err(fail)?;
        }
        meta.updated_at = stamp.ms;
        if meta.created_at == 0 {
            meta.created_at = stamp.ms;
        }
        let record = SessionRecord::new(meta.clone(), stamp.seq, messages);
        self.finish(tx, &record, Some(&digests), clock, &doing)
            .await?;
        Ok(meta)
    }

    /// Writes the session record (and digests, if they changed) and the clock, then waits for the commit.
    async fn finish(
        &self,
        tx: Tx,
        record: &SessionRecord,
        digests: Option<&Digests>,
        clock: Clock,
        doing: &str,
    ) -> Result<()> {
        let fail = |e: JsValue| dom_error(doing, &e);
        tx.put(SESSIONS, &to_js(record)?, None).map_err(fail)?;
        if let Some(digests) = digests {
            let key = JsValue::from_str(record.metadata.id());
            tx.put(DIGESTS, &to_js(digests)?, Some(&key))
                .map_err(fail)?;
        }
        tx.put(META, &to_js(&clock)?, Some(&JsValue::from_str(CLOCK_KEY)))
            .map_err(fail)?;
        tx.done().await.map_err(fail)
    }

    async fn delete_impl(&self, id: &str) -> Result<()> {
        rules::check_id(id)?;
        let doing = format!("deleting session {id:?}");
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
        tx.done().await.map_err(fail)
    }

    /// Opens a read-write transaction over every store and reads session `id`'s record, its
    /// digests and the clock.
    async fn load_for_write(
        &self,
        id: &str,
        doing: &str,
    ) -> Result<(Tx, SessionRecord, Digests, Clock)> {
        let fail = |e: JsValue| dom_error(doing, &e);
        let tx = self.tx(ALL, IdbTransactionMode::Readwrite, doing)?;
        let key = JsValue::from_str(id);
        let record = tx.get(SESSIONS, &key).map_err(fail)?;
        let digests = tx.get(DIGESTS, &key).map_err(fail)?;
        let clock = tx.get(META, &JsValue::from_str(CLOCK_KEY)).map_err(fail)?;
        let record = found(id, record.result().await.map_err(fail)?)?;
        let digests = optional(digests.result().await.map_err(fail)?, id)?.unwrap_or_default();
        let clock = optional(clock.result().await.map_err(fail)?, CLOCK_KEY)?.unwrap_or_default();
        Ok((tx, record, digests, clock))
    }

    async fn fork_impl(&self, id: &str, new_name: Option<String>) -> Result<SessionMetadata> {
        rules::check_id(id)?;
        if let Some(name) = &new_name {
            rules::check_name(name, id)?;
        }
        let doing = format!("forking session {id:?}");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let (tx, record, digests, mut clock) = self.load_for_write(id, &doing).await?;
        let chunks = tx
            .get_all(CHUNKS, &chunks_from(id, 0).map_err(fail)?)
            .map_err(fail)?;
        let state = tx.get(STATES, &JsValue::from_str(id)).map_err(fail)?;
        let chunks: Array = chunks.result().await.map_err(fail)?.unchecked_into();
        let state = state.result().await.map_err(fail)?;
        check_chunk_count(id, record.message_count, chunks.length() as usize)?;
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
        self.finish(tx, &copy, Some(&digests), clock, &doing)
            .await?;
        Ok(meta)
    }

    /// Rewinds session `id` to its first `turn_index` messages and returns it as stored. Only the
    /// chunk the cut falls in is parsed.
    pub(crate) async fn rewind_parts(&self, id: &str, turn_index: u32) -> Result<StoredParts> {
        rules::check_id(id)?;
        let doing = format!("rewinding session {id:?}");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let (tx, mut record, mut digests, mut clock) = self.load_for_write(id, &doing).await?;
        let chunks = tx
            .get_all(CHUNKS, &chunks_from(id, 0).map_err(fail)?)
            .map_err(fail)?;
        let state = tx.get(STATES, &JsValue::from_str(id)).map_err(fail)?;
        let chunks: Array = chunks.result().await.map_err(fail)?.unchecked_into();
        let state = state.result().await.map_err(fail)?;
        let count = record.message_count as usize;
        check_chunk_count(id, record.message_count, chunks.length() as usize)?;
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
                let text = Text::new(&json_text(&messages));
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
        self.finish(tx, &record, Some(&digests), clock, &doing)
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
        let doing = format!("appending to session {id:?}");
        let fail = |e: JsValue| dom_error(&doing, &e);
        let (tx, record, mut digests, mut clock) = self.load_for_write(id, &doing).await?;
        let mut meta = record.metadata();
        rules::count_turn(&mut meta, tokens)?;
        let count = record.message_count as usize;
        check_chunk_count(id, record.message_count, digests.chunks.len())?;
        let mut rest = texts.as_slice();
        // Top up the last, partly filled chunk by splicing text: nothing stored is parsed.
        let used = count % CHUNK_LEN;
        if used != 0 && !rest.is_empty() {
            let last = digests.chunks.len() - 1;
            let old = tx
                .get(CHUNKS, &chunk_key(id, last))
                .map_err(fail)?
                .result()
                .await
                .map_err(fail)?;
            let old = old
                .as_string()
                .ok_or_else(|| damaged(id, format!("chunk {last} is missing")))?;
            let (head, tail) = rest.split_at(rest.len().min(CHUNK_LEN - used));
            let text = Text::new(&extend_array_text(&old, head));
            tx.put(CHUNKS, &text.js, Some(&chunk_key(id, last)))
                .map_err(fail)?;
            digests.chunks[last] = text.digest;
            rest = tail;
        }
        for chunk in rest.chunks(CHUNK_LEN) {
            let text = Text::new(&extend_array_text("[]", chunk));
            tx.put(CHUNKS, &text.js, Some(&chunk_key(id, digests.chunks.len())))
                .map_err(fail)?;
            digests.chunks.push(text.digest);
        }
        let stamp = clock.tick(rules::now_ms());
        meta.updated_at = stamp.ms;
        let record = SessionRecord::new(meta.clone(), stamp.seq, (count + texts.len()) as u64);
        self.finish(tx, &record, Some(&digests), clock, &doing)
            .await?;
        Ok(meta)
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
        self.finish(tx, &record, None, clock, doing).await
    }

    async fn tag_impl(&self, id: &str, tags: Vec<String>) -> Result<()> {
        rules::check_id(id)?;
        rules::check_tags(&tags, id)?;
        let doing = format!("tagging session {id:?}");
        self.update_metadata(id, &doing, |meta| rules::merge_tags(&mut meta.tags, tags))
            .await
    }

    async fn rename_impl(&self, id: &str, new_name: String) -> Result<()> {
        rules::check_id(id)?;
        rules::check_name(&new_name, id)?;
        let doing = format!("renaming session {id:?}");
        self.update_metadata(id, &doing, |meta| meta.name = Some(new_name))
            .await
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

fn check_chunk_count(id: &str, messages: u64, chunks: usize) -> Result<()> {
    if chunks != chunks_for(messages as usize) {
        return Err(damaged(
            id,
            format!(
                "{messages} messages need {} chunks, found {chunks}",
                chunks_for(messages as usize)
            ),
        ));
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
                .iter()
                .map(|t| Text::new(t))
                .collect();
            (
                session.metadata.clone(),
                chunks,
                Text::new(&json_text(&session.state)),
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
        // Encode now: the future owns text, not the caller's values.
        let texts = messages.iter().map(json_text).collect();
        Box::pin(async move { self.append_impl(&id, texts, tokens).await })
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
                .into_iter()
                .map(|r| Ok(from_js::<SessionRecord>(r, "(listing)")?.metadata()))
                .collect()
        })
    }
}
