//! `SessionTx`: the one IndexedDB transaction of one operation, in the store's terms (a
//! session's record, chunks and state, the write clock), each method returning the store's
//! `Result`, so an operation reads top to bottom with `?`.
//!
//! Reads are sent when asked for and awaited later, so all of an operation's reads share one
//! round trip. Writes are queued and sent together when the transaction commits, after every
//! read (`write.rs` says why), so reads see the store as it was before the transaction; a
//! failing write aborts the transaction, and the error surfaces where it commits. A write
//! transaction dropped before [`SessionTx::commit`] (an operation that returned early with an
//! error) is aborted, so nothing it queued is kept.
//! [`SessionTx::finish`] is the one ending of every write that keeps a session.

use std::future::Future;
use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbObjectStore, IdbRequest, IdbTransaction, IdbTransactionMode};

use super::chunks::{self, Chunk};
use super::record::SessionRecord;
use super::requests::{self, dom_error};
use super::schema::{CHUNKS, SESSIONS, STATES, UPDATED_AT};
use super::Inner;
use crate::error::{Error, Result};
use crate::rules::Clock;

mod index;
mod queries;
mod sync;
mod write;

pub(crate) use index::Cut;
pub(crate) use write::Writing;

/// A read-only transaction.
pub(crate) struct Reading;

/// One transaction over the stores an operation needs; `M` is [`Reading`] or [`Writing`].
pub(crate) struct SessionTx<'a, M> {
    inner: &'a Inner,
    /// What the operation does, for error messages: `saving session "…"`.
    doing: Rc<str>,
    tx: IdbTransaction,
    done: JsFuture,
    /// Whether dropping this transaction aborts it: a write not (yet) committed.
    abort_on_drop: bool,
    mode: M,
}

impl<M> Drop for SessionTx<'_, M> {
    fn drop(&mut self) {
        if self.abort_on_drop {
            // Throws only if the transaction already finished: then there is nothing to undo.
            let _ = self.tx.abort();
        }
    }
}

impl<'a> SessionTx<'a, Reading> {
    /// A read-only transaction over `stores`.
    pub fn read(inner: &'a Inner, stores: &[&str], doing: String) -> Result<Self> {
        SessionTx::open(inner, stores, IdbTransactionMode::Readonly, doing, |_| {
            Ok(Reading)
        })
    }
}

impl<'a, M> SessionTx<'a, M> {
    fn open(
        inner: &'a Inner,
        stores: &[&str],
        mode: IdbTransactionMode,
        doing: String,
        first: impl FnOnce(&IdbTransaction) -> Result<M, JsValue>,
    ) -> Result<Self> {
        if let Some(message) = inner.closed.borrow().as_ref() {
            return Err(Error::Closed {
                message: message.clone(),
            });
        }
        let abort_on_drop = mode == IdbTransactionMode::Readwrite;
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let opened = inner
            .db
            .transaction_with_str_sequence_and_mode(&names, mode)
            .and_then(|tx| Ok((first(&tx)?, tx)));
        let (mode, tx) = opened.map_err(|e| dom_error(&doing, &e))?;
        Ok(SessionTx {
            inner,
            doing: doing.into(),
            done: JsFuture::from(requests::transaction_done(&tx)),
            abort_on_drop,
            tx,
            mode,
        })
    }

    fn fail(&self, error: &JsValue) -> Error {
        dom_error(&self.doing, error)
    }

    /// Sends a read request to `store` now, returning its promise for [`SessionTx::wait`].
    fn send(
        &self,
        store: &str,
        read: impl FnOnce(&IdbObjectStore) -> Result<IdbRequest, JsValue>,
    ) -> Result<js_sys::Promise> {
        let request = self
            .tx
            .object_store(store)
            .and_then(|s| read(&s))
            .map_err(|e| self.fail(&e))?;
        Ok(requests::request(&request))
    }

    /// A future of the request behind `promise`, its result passed through `then`.
    fn wait<T>(
        &self,
        promise: js_sys::Promise,
        then: impl FnOnce(JsValue) -> Result<T>,
    ) -> impl Future<Output = Result<T>> {
        let pending = JsFuture::from(promise);
        let doing = self.doing.clone();
        async move { then(pending.await.map_err(|e| dom_error(&doing, &e))?) }
    }

    /// The record of session `id`; `NOT_FOUND` if there is none.
    pub fn record(&self, id: &str) -> Result<impl Future<Output = Result<SessionRecord>>> {
        let key = JsValue::from_str(id);
        let id = id.to_owned();
        let read = self.send(SESSIONS, |s| s.get(&key))?;
        Ok(self.wait(read, move |value| match value.is_undefined() {
            true => Err(Error::not_found(&id)),
            false => SessionRecord::from_js(&value, &id),
        }))
    }

    /// Whether session `id` exists (reads no record).
    pub fn exists(&self, id: &str) -> Result<impl Future<Output = Result<bool>>> {
        let key = JsValue::from_str(id);
        let read = self.send(SESSIONS, |s| s.count_with_key(&key))?;
        Ok(self.wait(read, |n| Ok(n.as_f64() == Some(1.0))))
    }

    /// The state text of session `id`.
    pub fn state(&self, id: &str) -> Result<impl Future<Output = Result<JsValue>>> {
        let key = JsValue::from_str(id);
        Ok(self.wait(self.send(STATES, |s| s.get(&key))?, Ok))
    }

    /// The chunk texts of session `id`, in order.
    pub fn chunk_texts(&self, id: &str) -> Result<impl Future<Output = Result<Array>>> {
        let range = chunks::from(id, 0).map_err(|e| self.fail(&e))?;
        let read = self.send(CHUNKS, |s| s.get_all_with_key(&range))?;
        Ok(self.wait(read, |v| Ok(v.unchecked_into())))
    }

    /// The chunks of session `id` that start before message `before` (all of them if `None`).
    pub fn chunks(
        &self,
        id: &str,
        before: Option<u64>,
    ) -> Result<impl Future<Output = Result<Vec<Chunk>>>> {
        let range = match before {
            // An empty key range cannot be made: there is nothing to read.
            Some(0) => None,
            Some(end) => Some(chunks::before(id, end)),
            None => Some(chunks::from(id, 0)),
        };
        let reads = range
            .map(|range| {
                let range = range.map_err(|e| self.fail(&e))?;
                let keys = self.send(CHUNKS, |s| s.get_all_keys_with_key(&range))?;
                let texts = self.send(CHUNKS, |s| s.get_all_with_key(&range))?;
                let (keys, texts) = (self.wait(keys, Ok), self.wait(texts, Ok));
                Ok::<_, Error>((keys, texts))
            })
            .transpose()?;
        let id = id.to_owned();
        Ok(async move {
            let Some((keys, texts)) = reads else {
                return Ok(Vec::new());
            };
            let (keys, texts): (Array, Array) =
                (keys.await?.unchecked_into(), texts.await?.unchecked_into());
            keys.iter()
                .zip(texts.iter())
                .map(|(key, text)| {
                    let start = chunks::start_of(&id, &key)?;
                    Ok(Chunk { start, text })
                })
                .collect()
        })
    }

    /// The last chunk of session `id`, if it has any.
    pub fn last_chunk(&self, id: &str) -> Result<impl Future<Output = Result<Option<Chunk>>>> {
        let range = chunks::from(id, 0).map_err(|e| self.fail(&e))?;
        self.last_chunk_in(id, &range)
    }

    /// The last chunk of session `id` whose key is within `range`, if there is one.
    pub(super) fn last_chunk_in(
        &self,
        id: &str,
        range: &JsValue,
    ) -> Result<impl Future<Output = Result<Option<Chunk>>>> {
        let last = self.last_keyed_in(CHUNKS, id, range)?;
        Ok(async move { Ok(last.await?.map(|(start, text)| Chunk { start, text })) })
    }

    /// The last record of `store` (`chunks` or `words`, keyed `[id, start]`) within `range`, with
    /// the `start` of its key, if there is one.
    pub(super) fn last_keyed_in(
        &self,
        store: &str,
        id: &str,
        range: &JsValue,
    ) -> Result<impl Future<Output = Result<Option<(u64, JsValue)>>>> {
        let store = self.tx.object_store(store).map_err(|e| self.fail(&e))?;
        let id = id.to_owned();
        Ok(
            self.wait(requests::last_entry(&store, range), move |entry| {
                if entry.is_undefined() {
                    return Ok(None);
                }
                let entry: Array = entry.unchecked_into();
                Ok(Some((chunks::start_of(&id, &entry.get(0))?, entry.get(1))))
            }),
        )
    }

    /// The record of session `id` and its last chunk: this connection's memory of it while the
    /// session is as this connection left it, else read (in the same round trip as the record
    /// when nothing is remembered).
    pub async fn record_and_last_chunk(&self, id: &str) -> Result<(SessionRecord, Option<Chunk>)> {
        let record = self.record(id)?;
        let remembered = self.inner.tails.take(id);
        let read_now = match remembered {
            Some(_) => None,
            None => Some(self.last_chunk(id)?),
        };
        let record = record.await?;
        let last = match (remembered.and_then(|r| r.current(record.rev)), read_now) {
            (Some(last), _) => last,
            (None, Some(read)) => read.await?,
            // Changed since this connection wrote it: read the last chunk after all.
            (None, None) => self.last_chunk(id)?.await?,
        };
        Ok((record, last))
    }

    /// The metadata objects of all sessions (`page` None) or of one page `(offset, limit)`,
    /// newest first, from the `updated_at` index: no message or state is read.
    pub fn metadata(
        &self,
        page: Option<(usize, usize)>,
    ) -> Result<impl Future<Output = Result<Array>>> {
        let index = self
            .tx
            .object_store(SESSIONS)
            .and_then(|s| s.index(UPDATED_AT))
            .map_err(|e| self.fail(&e))?;
        // getAll counts are 32-bit; no store holds more sessions than that.
        let page = page.map(|(offset, limit)| {
            let offset = offset.min(u32::MAX as usize);
            (offset as f64, limit.min(u32::MAX as usize - offset) as f64)
        });
        let promise = match page {
            Some((offset, limit)) => requests::metadata_newest_first(&index, offset, Some(limit)),
            None => requests::metadata_newest_first(&index, 0.0, None),
        };
        Ok(self.wait(promise, |v| Ok(v.unchecked_into())))
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
