//! Awaitable IndexedDB requests and transactions, over the promise adapters in `requests.js`.

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    IdbDatabase, IdbIndex, IdbObjectStore, IdbRequest, IdbTransaction, IdbTransactionMode,
};

use crate::error::Error;

#[wasm_bindgen(module = "/src/idb/requests.js")]
extern "C" {
    fn request(req: &IdbRequest) -> Promise;
    #[wasm_bindgen(js_name = transactionDone)]
    fn transaction_done(tx: &IdbTransaction) -> Promise;
    #[wasm_bindgen(js_name = pageNewestFirst)]
    pub(crate) fn page_newest_first(
        source: &JsValue,
        query: &JsValue,
        offset: f64,
        limit: f64,
    ) -> Promise;
    #[wasm_bindgen(js_name = lastEntry)]
    fn last_entry(store: &IdbObjectStore, range: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = highestKey)]
    fn highest_key(index: &IdbIndex) -> Promise;
    /// Whether `value` is a string without lone surrogates (which Rust strings cannot hold).
    #[wasm_bindgen(js_name = isWellFormedString)]
    pub(crate) fn is_well_formed_string(value: &JsValue) -> bool;
    #[wasm_bindgen(js_name = openDatabase)]
    pub(crate) fn open_database(
        name: &str,
        version: u32,
        upgrade: &Function,
        blocked_ms: u32,
    ) -> Promise;
}

/// A request already sent; awaiting it yields its result.
pub(crate) struct Pending(JsFuture);

impl Pending {
    pub fn new(req: Result<IdbRequest, JsValue>) -> Result<Self, JsValue> {
        Ok(Pending(JsFuture::from(request(&req?))))
    }

    pub async fn result(self) -> Result<JsValue, JsValue> {
        self.0.await
    }
}

/// One IndexedDB transaction over named stores; dropped without [`Tx::done`] it still commits
/// whatever was requested (or aborts on error), as IndexedDB does.
pub(crate) struct Tx {
    tx: IdbTransaction,
    done: JsFuture,
}

impl Tx {
    pub fn new(
        db: &IdbDatabase,
        stores: &[&str],
        mode: IdbTransactionMode,
    ) -> Result<Self, JsValue> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let tx = db.transaction_with_str_sequence_and_mode(&names, mode)?;
        let done = JsFuture::from(transaction_done(&tx));
        Ok(Tx { tx, done })
    }

    pub fn store(&self, name: &str) -> Result<IdbObjectStore, JsValue> {
        self.tx.object_store(name)
    }

    pub fn get(&self, store: &str, key: &JsValue) -> Result<Pending, JsValue> {
        Pending::new(self.store(store)?.get(key))
    }

    pub fn get_all(&self, store: &str, range: &JsValue) -> Result<Pending, JsValue> {
        Pending::new(self.store(store)?.get_all_with_key(range))
    }

    pub fn get_all_keys(&self, store: &str, range: &JsValue) -> Result<Pending, JsValue> {
        Pending::new(self.store(store)?.get_all_keys_with_key(range))
    }

    /// The highest key of `index` of `store` (undefined when empty), read now.
    pub fn highest_key(&self, store: &str, index: &str) -> Result<JsFuture, JsValue> {
        Ok(JsFuture::from(highest_key(
            &self.store(store)?.index(index)?,
        )))
    }

    pub fn count(&self, store: &str, key: &JsValue) -> Result<Pending, JsValue> {
        Pending::new(self.store(store)?.count_with_key(key))
    }

    /// Queues a write; its failure, if any, aborts the transaction and surfaces in [`Tx::done`].
    pub fn put(&self, store: &str, value: &JsValue, key: Option<&JsValue>) -> Result<(), JsValue> {
        let store = self.store(store)?;
        match key {
            Some(key) => store.put_with_key(value, key)?,
            None => store.put(value)?,
        };
        Ok(())
    }

    /// Queues a delete of a key or key range, like [`Tx::put`].
    pub fn delete(&self, store: &str, key: &JsValue) -> Result<(), JsValue> {
        self.store(store)?.delete(key)?;
        Ok(())
    }

    /// `[key, value]` of the last record of `store` within `range` (undefined if none), read now.
    pub fn last_entry(&self, store: &str, range: &JsValue) -> Result<JsFuture, JsValue> {
        Ok(JsFuture::from(last_entry(&self.store(store)?, range)))
    }

    /// Waits until every queued request is durable, or returns the error that aborted them all.
    pub async fn done(self) -> Result<(), JsValue> {
        self.done.await.map(|_| ())
    }
}

/// Maps a DOMException (or any thrown JS value) to the store's error, saying what was being done.
pub(crate) fn dom_error(doing: &str, err: &JsValue) -> Error {
    let field = |name: &str| {
        Reflect::get(err, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    let (name, message) = (field("name"), field("message"));
    let message = if name.is_empty() && message.is_empty() {
        format!("{doing} failed: {err:?}")
    } else {
        format!("{doing} failed: {name}: {message}")
    };
    match name.as_str() {
        "QuotaExceededError" => Error::QuotaExceeded { message },
        "UnavailableError" => Error::Unavailable { message },
        _ => Error::Storage { message },
    }
}
