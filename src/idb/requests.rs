//! The JS side of IndexedDB requests (`requests.js`): promise adapters for requests,
//! transactions and opening, and the one mapping of a DOMException to the store's error.

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{IdbIndex, IdbKeyRange, IdbObjectStore, IdbRequest, IdbTransaction};

use crate::error::Error;

#[wasm_bindgen(module = "/src/idb/requests.js")]
extern "C" {
    /// Resolves with the request's result, rejects with its DOMException.
    pub(crate) fn request(req: &IdbRequest) -> Promise;
    /// Resolves when the transaction commits; rejects with the error that aborted it.
    #[wasm_bindgen(js_name = transactionDone)]
    pub(crate) fn transaction_done(tx: &IdbTransaction) -> Promise;
    /// The metadata objects of the records of `index`, last key first: `limit` of them after
    /// skipping `offset`, or all of them when `limit` is `None`.
    #[wasm_bindgen(js_name = metadataNewestFirst)]
    pub(crate) fn metadata_newest_first(
        index: &IdbIndex,
        offset: f64,
        limit: Option<f64>,
    ) -> Promise;
    /// The metadata objects of the records of `index` within `range`, last key first, of agent
    /// `agent` only if given: `limit` of them after skipping `offset`.
    #[wasm_bindgen(js_name = metadataInRange)]
    pub(crate) fn metadata_in_range(
        index: &IdbIndex,
        range: &IdbKeyRange,
        offset: f64,
        limit: f64,
        agent: Option<String>,
    ) -> Promise;
    /// The `[id, index]` keys of `words` records as `[distinct ids, place of each key's id,
    /// each key's index]`.
    #[wasm_bindgen(js_name = splitMessageKeys)]
    pub(crate) fn split_message_keys(keys: &JsValue) -> Array;
    /// The places in `records` (`words` records) of those holding a word starting with each prefix.
    #[wasm_bindgen(js_name = holdingEvery)]
    pub(crate) fn holding_every(records: &JsValue, prefixes: &Array) -> js_sys::Uint32Array;
    /// How many entries `index` holds within `range`, or `cap` if at least that many.
    #[wasm_bindgen(js_name = countUpTo)]
    pub(crate) fn count_up_to(index: &IdbIndex, range: &IdbKeyRange, cap: f64) -> Promise;
    /// Session ids newest first, a few at a time, from a cursor walking `index` backwards.
    pub(crate) type NewestFirst;
    #[wasm_bindgen(constructor)]
    pub(crate) fn new(index: &IdbIndex, range: JsValue, agent: Option<String>) -> NewestFirst;
    /// The next `n` sessions of `walker` and their `words` records holding a word starting with
    /// each prefix: resolves with `[ids, records read, session places in ids, message indexes,
    /// words]`.
    #[wasm_bindgen(js_name = nextHolding)]
    pub(crate) fn next_holding(
        walker: &NewestFirst,
        store: &IdbObjectStore,
        n: u32,
        prefixes: &Array,
    ) -> Promise;
    /// `[key, value]` of the last record of `store` within `range`, or undefined.
    #[wasm_bindgen(js_name = lastEntry)]
    pub(crate) fn last_entry(store: &IdbObjectStore, range: &JsValue) -> Promise;
    /// The highest key of `index` (undefined when it is empty).
    #[wasm_bindgen(js_name = highestKey)]
    pub(crate) fn highest_key(index: &IdbIndex) -> Promise;
    /// Opens database `name` at `version`, running `upgrade(db, tx, oldVersion)` in the upgrade
    /// transaction; an `UnavailableError` when refused or blocked for `blocked_ms`.
    #[wasm_bindgen(js_name = openDatabase)]
    pub(crate) fn open_database(
        name: &str,
        version: u32,
        upgrade: &Function,
        blocked_ms: u32,
    ) -> Promise;
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
