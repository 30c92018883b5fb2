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
    /// The `[id, start]` keys of `words` blocks, each once, as `[distinct ids, place of each
    /// block's id, each block's first message]`.
    #[wasm_bindgen(js_name = splitBlockKeys)]
    pub(crate) fn split_block_keys(keys: &JsValue) -> Array;
    /// The messages holding a word starting with each prefix, of the `words` blocks `index`
    /// lists within `range`: resolves with `[ids, blocks read, session places in ids, message
    /// indexes, their word keys]`.
    #[wasm_bindgen(js_name = messagesHolding)]
    pub(crate) fn messages_holding(
        index: &IdbIndex,
        range: &IdbKeyRange,
        prefixes: &Array,
    ) -> Promise;
    /// The messages holding a word starting with each prefix of the `words` blocks keyed `keys`,
    /// read in order until `enough` are found: resolves with `[block places in keys, message
    /// indexes]`, each block's last message first.
    #[wasm_bindgen(js_name = firstHolding)]
    pub(crate) fn first_holding(
        store: &IdbObjectStore,
        keys: &Array,
        prefixes: &Array,
        enough: u32,
    ) -> Promise;
    /// `words` block `b` cut to its first `n` messages (`n` ≥ 1), or undefined if it holds
    /// no more.
    #[wasm_bindgen(js_name = blockCut)]
    pub(crate) fn block_cut(b: &JsValue, n: u32) -> JsValue;
    /// How many entries `index` holds within `range`, or `cap` if at least that many.
    #[wasm_bindgen(js_name = countUpTo)]
    pub(crate) fn count_up_to(index: &IdbIndex, range: &IdbKeyRange, cap: f64) -> Promise;
    /// Session ids newest first, a few at a time, from a cursor walking `index` backwards.
    pub(crate) type NewestFirst;
    #[wasm_bindgen(constructor)]
    pub(crate) fn new(index: &IdbIndex, range: JsValue, agent: Option<String>) -> NewestFirst;
    /// The next `n` sessions of `walker` and, in their `words` blocks, the messages holding a
    /// word starting with each prefix: resolves with `[ids, blocks read, session places in ids,
    /// message indexes, their word keys]`.
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
