//! The JS facade: `SessionStore`, a promise-returning wrapper over [`IndexedDbSessionManager`].
//! It only converts values (camelCase JSON in, JSON out) and maps errors to `SessionError`s; every
//! behaviour is the Rust store's, which the conformance suite checks.

use std::rc::Rc;

use js_sys::{Array, Promise, Reflect};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::Error;
use crate::idb::IndexedDbSessionManager;
use crate::manager::SessionManager;
use crate::model::{Session, SessionMetadata};

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

/** This origin's storage use, in bytes, as the browser estimates it. */
export interface StorageUsage {
  usage: number;
  quota: number;
}

/** How every `SessionStore` promise rejects. */
export interface SessionError extends Error {
  name: "SessionError";
  code: "NOT_FOUND" | "INVALID_INPUT" | "QUOTA_EXCEEDED" | "STORAGE" | "CLOSED" | "UNAVAILABLE";
}
"#;

#[wasm_bindgen(module = "/src/js/input.js")]
extern "C" {
    #[wasm_bindgen(js_name = encodeJson, catch)]
    fn encode_json(value: &JsValue, what: &str) -> Result<String, JsValue>;
    #[wasm_bindgen(js_name = isWellFormedString)]
    fn is_well_formed_string(value: &JsValue) -> bool;
    #[wasm_bindgen(js_name = isRecord)]
    fn is_record(value: &JsValue) -> bool;
    #[wasm_bindgen(js_name = copyArray, catch)]
    fn copy_array(value: &JsValue) -> Result<JsValue, JsValue>;
}

/// Metadata as JS sees it: camelCase, and no field it does not know.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsMetadata {
    id: String,
    #[serde(default)]
    name: Option<String>,
    tags: Vec<String>,
    agent_name: String,
    created_at: i64,
    updated_at: i64,
    turn_count: u32,
    total_tokens: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsSessionIn {
    metadata: JsMetadata,
    messages: Vec<Value>,
    state: Value,
}

#[derive(Serialize)]
struct JsSessionOut<'a> {
    metadata: JsMetadata,
    messages: &'a [Value],
    state: &'a Value,
}

impl From<JsMetadata> for SessionMetadata {
    fn from(m: JsMetadata) -> Self {
        let JsMetadata {
            id,
            name,
            tags,
            agent_name,
            created_at,
            updated_at,
            turn_count,
            total_tokens,
        } = m;
        SessionMetadata {
            id,
            name,
            tags,
            agent_name,
            created_at,
            updated_at,
            turn_count,
            total_tokens,
        }
    }
}

impl From<SessionMetadata> for JsMetadata {
    fn from(m: SessionMetadata) -> Self {
        let SessionMetadata {
            id,
            name,
            tags,
            agent_name,
            created_at,
            updated_at,
            turn_count,
            total_tokens,
        } = m;
        JsMetadata {
            id,
            name,
            tags,
            agent_name,
            created_at,
            updated_at,
            turn_count,
            total_tokens,
        }
    }
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

fn metadata_to_js(meta: SessionMetadata) -> Result<JsValue, Error> {
    JsMetadata::from(meta)
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::storage(format!("returning metadata failed: {e}")))
}

/// A session as a fresh JS object, built by `JSON.parse` so every key (even `__proto__`) stays data.
fn session_to_js(session: Session) -> Result<JsValue, Error> {
    let out = JsSessionOut {
        metadata: session.metadata.into(),
        messages: &session.messages,
        state: &session.state,
    };
    let text = serde_json::to_string(&out)
        .map_err(|e| Error::storage(format!("returning a session failed: {e}")))?;
    js_sys::JSON::parse(&text)
        .map_err(|_| Error::storage("returning a session failed: JSON.parse refused it"))
}

fn session_from_js(value: &JsValue) -> Result<Session, Error> {
    if !is_record(value) {
        return Err(Error::invalid(
            "session must be an object with metadata, messages and state",
        ));
    }
    let text = encode_json(value, "session").map_err(|e| {
        let message = Reflect::get(&e, &JsValue::from_str("message"))
            .ok()
            .and_then(|m| m.as_string());
        Error::invalid(message.unwrap_or_else(|| "session cannot be stored".to_owned()))
    })?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let parsed: JsSessionIn = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        Error::invalid(format!("session.{path}: {}", e.into_inner()))
    })?;
    Ok(Session {
        metadata: parsed.metadata.into(),
        messages: parsed.messages,
        state: parsed.state,
    })
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

fn count_arg(value: &JsValue, what: &str) -> Result<u32, Error> {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) => Ok(n as u32),
        _ => Err(Error::invalid(format!(
            "{what} must be a whole number from 0 to {}, got {}",
            u32::MAX,
            describe(value)
        ))),
    }
}

fn describe(value: &JsValue) -> String {
    value
        .as_f64()
        .map(|n| n.to_string())
        .or_else(|| value.as_string().map(|s| format!("{s:?}")))
        .unwrap_or_else(|| value.js_typeof().as_string().unwrap_or_default())
}

/// Runs `op` on the store as a JS promise, converting its result with `to_js`.
fn promise<T, F>(
    store: &Rc<IndexedDbSessionManager>,
    op: impl FnOnce(Rc<IndexedDbSessionManager>) -> F + 'static,
) -> Promise
where
    F: std::future::Future<Output = Result<T, Error>> + 'static,
    T: IntoJs,
{
    let fut = op(store.clone());
    future_to_promise(async move { fut.await.and_then(IntoJs::into_js).map_err(to_js_error) })
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
        metadata_to_js(self)
    }
}

impl IntoJs for Vec<SessionMetadata> {
    fn into_js(self) -> Result<JsValue, Error> {
        self.into_iter()
            .map(metadata_to_js)
            .collect::<Result<Array, _>>()
            .map(Into::into)
    }
}

impl IntoJs for Session {
    fn into_js(self) -> Result<JsValue, Error> {
        session_to_js(self)
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
        future_to_promise(async move {
            let name = db_name.unwrap_or_else(|| DEFAULT_DB_NAME.to_owned());
            let manager = IndexedDbSessionManager::open(&name)
                .await
                .map_err(to_js_error)?;
            Ok(SessionStore {
                inner: Rc::new(manager),
            }
            .into())
        })
    }

    /// Metadata of every session, most recently updated first. Reads no messages.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionMetadata[]>")]
    pub fn list(&self) -> Promise {
        promise(&self.inner, |m| async move { m.list().await })
    }

    /// The whole session `id`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Session>")]
    pub fn resume(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = string_arg(&id, "id");
        promise(&self.inner, |m| async move { m.resume(&id?).await })
    }

    /// Creates or replaces a session; resolves with the metadata as stored.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionMetadata>")]
    pub fn save(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Session")] session: JsValue,
    ) -> Promise {
        let session = session_from_js(&session);
        promise(
            &self.inner,
            |m| async move { m.save_returning(&session?).await },
        )
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
        promise(&self.inner, |m| async move { m.rewind(&id?, n?).await })
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
        future_to_promise(async { call_storage("persist").await.map_err(to_js_error) })
    }

    /// This origin's storage usage and quota in bytes (`navigator.storage.estimate()`).
    #[wasm_bindgen(unchecked_return_type = "Promise<StorageUsage>")]
    pub fn estimate() -> Promise {
        future_to_promise(async {
            let estimate = call_storage("estimate").await.map_err(to_js_error)?;
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
        })
    }

    /// Closes the database connection; later calls reject with code `CLOSED`.
    pub fn close(&self) {
        self.inner.close();
    }
}
