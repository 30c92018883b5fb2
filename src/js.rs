//! The JS facade: `SessionStore`, a promise-returning wrapper over [`IndexedDbSessionManager`].
//! It only converts values (camelCase JSON in, JSON out) and maps errors to `SessionError`s; every
//! behaviour is the Rust store's, which the conformance suite checks.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::Error;
use crate::idb::{
    describe, is_well_formed_string, metadata_from_js, metadata_to_js, whole,
    IndexedDbSessionManager, StoredParts, WRITE_CHUNK,
};
use crate::manager::SessionManager;
use crate::model::SessionMetadata;
use crate::rules::MAX_DEPTH;

/// Database name `SessionStore.open()` uses when given none.
const DEFAULT_DB_NAME: &str = "idb-session-store";

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Metadata of a stored session: what `list()` returns. Timestamps are Unix milliseconds. */
export interface SessionMetadata {
  id: string;
  name?: string | null;
  tags: string[];
  agentName: string;
  createdAt: number;
  updatedAt: number;
  turnCount: number;
  totalTokens: number;
}

/** A full session: metadata, messages (each a JSON value) and agent state (a JSON value). */
export interface Session {
  metadata: SessionMetadata;
  messages: unknown[];
  state: unknown;
}

/** Which page of `list()` to read: skip `offset` sessions (default 0), return at most `limit`. */
export interface ListOptions {
  offset?: number;
  limit?: number;
}

/** What `append()` adds besides messages: the turn's token usage (default 0). */
export interface AppendOptions {
  tokens?: number;
}

/** This origin's storage use, in bytes, as the browser estimates it. */
export interface StorageUsage {
  usage: number;
  quota: number;
}

/** How every `SessionStore` promise rejects. */
export interface SessionError extends Error {
  name: "SessionError";
  code: "NOT_FOUND" | "INVALID_INPUT" | "QUOTA_EXCEEDED" | "STORAGE" | "CLOSED" | "UNAVAILABLE"
    | "CONFLICT" | "UNAUTHORIZED" | "TOO_LARGE";
}
"#;

#[wasm_bindgen(module = "/src/js/convert.js")]
extern "C" {
    #[wasm_bindgen(js_name = encodeMessages, catch)]
    fn encode_messages(values: &JsValue, what: &str, max_depth: u32) -> Result<Array, JsValue>;
    #[wasm_bindgen(js_name = encodeSession, catch)]
    fn encode_session(
        session: &JsValue,
        chunk_len: u32,
        max_depth: u32,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = assembleSession, catch)]
    fn assemble_session(
        metadata: &JsValue,
        chunks: &Array,
        state: &JsValue,
        expected: f64,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = metadataOf)]
    fn metadata_of(records: &Array) -> Array;
    #[wasm_bindgen(js_name = copyArray, catch)]
    fn copy_array(value: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = readOptions, catch)]
    fn read_options(value: &JsValue, what: &str, fields: &Array) -> Result<Array, JsValue>;
}

/// The one place a Rust [`Error`] becomes a JS `Error` with `name = "SessionError"` and `code`.
fn to_js_error(error: Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("SessionError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(
        &js,
        &JsValue::from_str("code"),
        &JsValue::from_str(error.code()),
    );
    js.into()
}

/// A stored session as a fresh JS object: the stored metadata object as it is, the messages and
/// state by one `JSON.parse` of their stored text (so every key, even `__proto__`, stays data).
fn parts_to_js(id: &str, parts: StoredParts) -> Result<JsValue, Error> {
    assemble_session(
        &parts.metadata_js(),
        &parts.chunks,
        &parts.state,
        parts.message_count as f64,
    )
    .map_err(|e| {
        Error::storage(format!(
            "messages of session \"{id}\" are damaged: {}",
            describe_error(&e)
        ))
    })
}

/// A session from JS, encoded for storage: checked metadata, chunk texts (JSON arrays of
/// [`WRITE_CHUNK`] messages), state text, and the number of messages.
fn session_from_js(value: &JsValue) -> Result<(SessionMetadata, Array, JsValue, u64), Error> {
    let invalid = |e: JsValue| Error::invalid(describe_error(&e));
    let encoded = encode_session(value, WRITE_CHUNK as u32, MAX_DEPTH as u32).map_err(invalid)?;
    let field = |name: &str| Reflect::get(&encoded, &JsValue::from_str(name)).unwrap_or_default();
    let metadata =
        metadata_from_js(&field("metadata"), "session.metadata").map_err(Error::invalid)?;
    let count = field("count").as_f64().unwrap_or(0.0);
    Ok((
        metadata,
        field("chunks").unchecked_into(),
        field("state"),
        count as u64,
    ))
}

/// A string argument, refusing other types and strings with lone surrogates (never replaced).
fn string_arg(value: &JsValue, what: &str) -> Result<String, Error> {
    if !is_well_formed_string(value) {
        return Err(if value.is_string() {
            Error::invalid(format!(
                "{what} contains a lone surrogate, which cannot be stored exactly"
            ))
        } else {
            Error::invalid(format!("{what} must be a string"))
        });
    }
    Ok(value.as_string().unwrap_or_default())
}

/// Tags from JS, copied in JS first so an array that throws when read is refused, not thrown.
fn tags_arg(value: &JsValue) -> Result<Vec<String>, Error> {
    let tags = copy_array(value)
        .map_err(|e| Error::invalid(format!("tags cannot be read: {}", describe_error(&e))))?;
    if tags.is_null() {
        return Err(Error::invalid("tags must be an array of strings"));
    }
    let tags: Array = tags.unchecked_into();
    (0..tags.length())
        .map(|i| string_arg(&tags.get(i), &format!("tags[{i}]")))
        .collect()
}

/// A whole number from 0 to `max`, refusing everything else (fractions, NaN, strings, ...).
fn whole_number(value: &JsValue, what: &str, max: u64) -> Result<u64, Error> {
    whole(value, max).ok_or_else(|| {
        Error::invalid(format!(
            "{what} must be a whole number from 0 to {max}, got {}",
            describe(value)
        ))
    })
}

fn count_arg(value: &JsValue, what: &str) -> Result<u32, Error> {
    whole_number(value, what, u64::from(u32::MAX)).map(|n| n as u32)
}

/// The named fields of an options object (each `undefined` when absent), refusing other fields.
/// Read in JS, where a throwing getter or a revoked Proxy becomes `INVALID_INPUT`, not a throw.
fn options_arg<const N: usize>(
    value: Option<JsValue>,
    what: &str,
    fields: [&str; N],
) -> Result<[JsValue; N], Error> {
    let names: Array = fields.iter().map(|f| JsValue::from_str(f)).collect();
    let read = read_options(&value.unwrap_or_default(), what, &names)
        .map_err(|e| Error::invalid(describe_error(&e)))?;
    Ok(std::array::from_fn(|i| read.get(i as u32)))
}

/// `{ offset, limit }` of `list()`, or `None` for the whole list.
fn page_arg(options: Option<JsValue>) -> Result<Option<(usize, usize)>, Error> {
    let given = options
        .as_ref()
        .is_some_and(|v| !v.is_undefined() && !v.is_null());
    let [offset, limit] = options_arg(options, "list options", ["offset", "limit"])?;
    if !given {
        return Ok(None);
    }
    let max = crate::rules::MAX_SAFE_INTEGER;
    let offset = if offset.is_undefined() {
        0
    } else {
        whole_number(&offset, "offset", max)?
    };
    let limit = if limit.is_undefined() {
        max
    } else {
        whole_number(&limit, "limit", max)?
    };
    Ok(Some((offset as usize, limit as usize)))
}

/// The messages of `append()`: an array of JSON values, as one JSON text each.
fn messages_arg(value: &JsValue) -> Result<Vec<JsValue>, Error> {
    let messages = copy_array(value)
        .map_err(|e| Error::invalid(format!("messages cannot be read: {}", describe_error(&e))))?;
    if messages.is_null() {
        return Err(Error::invalid("messages must be an array"));
    }
    let texts = encode_messages(&messages, "messages", MAX_DEPTH as u32)
        .map_err(|e| Error::invalid(describe_error(&e)))?;
    Ok(texts.iter().collect())
}

/// Runs `op` on the store as a JS promise, converting its result with [`IntoJs`].
fn promise<T, F>(
    store: &Rc<IndexedDbSessionManager>,
    op: impl FnOnce(Rc<IndexedDbSessionManager>) -> F + 'static,
) -> Promise
where
    F: Future<Output = Result<T, Error>> + 'static,
    T: IntoJs,
{
    let fut = op(store.clone());
    to_promise(Box::pin(async move { fut.await.and_then(IntoJs::into_js) }))
}

/// The one place a result becomes a promise (one instance of the promise machinery, not one per method).
fn to_promise(fut: Pin<Box<dyn Future<Output = Result<JsValue, Error>>>>) -> Promise {
    future_to_promise(async move { fut.await.map_err(to_js_error) })
}

/// What a resolved promise carries.
trait IntoJs {
    fn into_js(self) -> Result<JsValue, Error>;
}

impl IntoJs for () {
    fn into_js(self) -> Result<JsValue, Error> {
        Ok(JsValue::UNDEFINED)
    }
}

impl IntoJs for SessionMetadata {
    fn into_js(self) -> Result<JsValue, Error> {
        Ok(metadata_to_js(&self))
    }
}

impl IntoJs for JsValue {
    fn into_js(self) -> Result<JsValue, Error> {
        Ok(self)
    }
}

/// Calls `navigator.storage[method]()`, or fails with `UNAVAILABLE` where there is none.
async fn call_storage(method: &str) -> Result<JsValue, Error> {
    let unavailable = |why: String| Error::Unavailable {
        message: format!("navigator.storage.{method}() {why}"),
    };
    let get = |target: &JsValue, key: &str| {
        Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    };
    let storage = get(&get(&js_sys::global(), "navigator"), "storage");
    let function = get(&storage, method);
    let function: &js_sys::Function = function
        .dyn_ref()
        .ok_or_else(|| unavailable("is not available in this context".to_owned()))?;
    let promise: Promise = function
        .call0(&storage)
        .map_err(|e| unavailable(format!("threw: {}", describe_error(&e))))?
        .unchecked_into();
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| unavailable(format!("failed: {}", describe_error(&e))))
}

fn describe_error(e: &JsValue) -> String {
    Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

/// A session store in IndexedDB. Every method returns a promise that rejects with a
/// `SessionError` (`name`, `code`, `message`).
#[wasm_bindgen]
pub struct SessionStore {
    inner: Rc<IndexedDbSessionManager>,
}

#[wasm_bindgen]
impl SessionStore {
    /// Opens (or creates) the database `dbName`, by default `"idb-session-store"`.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionStore>")]
    pub fn open(#[wasm_bindgen(js_name = dbName)] db_name: Option<String>) -> Promise {
        to_promise(Box::pin(async move {
            let name = db_name.unwrap_or_else(|| DEFAULT_DB_NAME.to_owned());
            let manager = IndexedDbSessionManager::open(&name).await?;
            Ok(SessionStore {
                inner: Rc::new(manager),
            }
            .into())
        }))
    }

    /// Metadata of every session, most recently updated first, or of one page of them with
    /// `{ offset, limit }`. Reads no messages.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionMetadata[]>")]
    pub fn list(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ListOptions")] options: Option<JsValue>,
    ) -> Promise {
        let page = page_arg(options);
        promise(&self.inner, |m| async move {
            // The stored records already hold the metadata in its JS shape.
            Ok(JsValue::from(metadata_of(&m.list_records(page?).await?)))
        })
    }

    /// Appends one turn's `messages` to session `id` and adds `tokens` to its total, without
    /// sending or rewriting the history; resolves with the updated metadata.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionMetadata>")]
    pub fn append(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "unknown[]")] messages: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "AppendOptions")] options: Option<JsValue>,
    ) -> Promise {
        let id = string_arg(&id, "id");
        let messages = messages_arg(&messages);
        let tokens = options_arg(options, "append options", ["tokens"]).and_then(|[tokens]| {
            if tokens.is_undefined() {
                return Ok(0);
            }
            whole_number(&tokens, "tokens", crate::rules::MAX_SAFE_INTEGER)
        });
        promise(&self.inner, |m| async move {
            m.append_texts(&id?, messages?, tokens?).await
        })
    }

    /// The whole session `id`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Session>")]
    pub fn resume(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = string_arg(&id, "id");
        promise(&self.inner, |m| async move {
            let id = id?;
            parts_to_js(&id, m.resume_parts(&id).await?)
        })
    }

    /// Creates or replaces a session; resolves with the metadata as stored.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionMetadata>")]
    pub fn save(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Session")] session: JsValue,
    ) -> Promise {
        let session = session_from_js(&session);
        promise(&self.inner, |m| async move {
            let (meta, chunks, state, messages) = session?;
            m.save_parts(meta, chunks, state, messages).await
        })
    }

    /// Deletes session `id` and all its data.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn delete(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = string_arg(&id, "id");
        promise(&self.inner, |m| async move { m.delete(&id?).await })
    }

    /// Copies session `id` under a new id, named `newName` or `"<name> (fork)"`.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionMetadata>")]
    pub fn fork(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(js_name = newName, unchecked_optional_param_type = "string | null")]
        new_name: Option<JsValue>,
    ) -> Promise {
        let id = string_arg(&id, "id");
        let name = match new_name {
            Some(v) if !v.is_null() && !v.is_undefined() => string_arg(&v, "newName").map(Some),
            _ => Ok(None),
        };
        promise(&self.inner, |m| async move { m.fork(&id?, name?).await })
    }

    /// Keeps the first `turnIndex` messages of session `id`; resolves with the rewound session.
    #[wasm_bindgen(unchecked_return_type = "Promise<Session>")]
    pub fn rewind(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(js_name = turnIndex, unchecked_param_type = "number")] turn_index: JsValue,
    ) -> Promise {
        let id = string_arg(&id, "id");
        let n = count_arg(&turn_index, "turnIndex");
        promise(&self.inner, |m| async move {
            let id = id?;
            parts_to_js(&id, m.rewind_parts(&id, n?).await?)
        })
    }

    /// Adds the tags session `id` does not have yet, in order.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn tag(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string[]")] tags: JsValue,
    ) -> Promise {
        let id = string_arg(&id, "id");
        let tags = tags_arg(&tags);
        promise(&self.inner, |m| async move { m.tag(&id?, tags?).await })
    }

    /// Renames session `id`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn rename(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(js_name = newName, unchecked_param_type = "string")] new_name: JsValue,
    ) -> Promise {
        let id = string_arg(&id, "id");
        let name = string_arg(&new_name, "newName");
        promise(&self.inner, |m| async move { m.rename(&id?, name?).await })
    }

    /// Asks the browser to keep this origin's data under storage pressure (`navigator.storage.persist()`);
    /// resolves with whether it will.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn persist() -> Promise {
        to_promise(Box::pin(call_storage("persist")))
    }

    /// This origin's storage usage and quota in bytes (`navigator.storage.estimate()`).
    #[wasm_bindgen(unchecked_return_type = "Promise<StorageUsage>")]
    pub fn estimate() -> Promise {
        to_promise(Box::pin(async {
            let estimate = call_storage("estimate").await?;
            let number = |key: &str| {
                Reflect::get(&estimate, &JsValue::from_str(key))
                    .ok()
                    .and_then(|v| v.as_f64())
            };
            let out = js_sys::Object::new();
            for key in ["usage", "quota"] {
                let _ = Reflect::set(
                    &out,
                    &JsValue::from_str(key),
                    &JsValue::from_f64(number(key).unwrap_or(0.0)),
                );
            }
            Ok(out.into())
        }))
    }

    /// Closes the database connection; later calls reject with code `CLOSED`.
    pub fn close(&self) {
        self.inner.close();
    }
}
