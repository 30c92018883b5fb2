//! The JS facade: `SessionStore`, a promise-returning wrapper over [`IndexedDbSessionManager`].
//! It converts arguments ([`args`]) and results ([`results`]) and maps errors to `SessionError`s;
//! every behaviour is the Rust store's, which the conformance suite checks. For speed it calls the
//! store's stored-form operations (`*_stored`, see `idb/stored.rs`), which take and return JSON
//! texts, so a session's messages are encoded and parsed in JS and never cross into wasm.

mod args;
mod portable;
mod results;
mod sync;

use std::rc::Rc;

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;

use self::args::{
    count_arg, export_options_arg, import_options_arg, list_arg, messages_arg, open_options_arg,
    optional_string_arg, search_options_arg, session_arg, string_arg, strings_arg,
    turn_options_arg, value_arg,
};
use self::results::{describe_error, promise, to_promise};
use crate::error::Error;
use crate::idb::IndexedDbSessionManager;
use crate::manager::SessionManager;

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

/**
 * Which sessions `list()` reads: those with tag `tag` and of agent `agentName` (when given), a
 * page of them: skip `offset` sessions (default 0), return at most `limit`.
 */
export interface ListOptions {
  offset?: number;
  limit?: number;
  tag?: string;
  agentName?: string;
}

/**
 * How `SessionStore.open()` opens: with the search index kept (`search`, default true; false
 * makes `search()` reject with `UNAVAILABLE`), and a listener for background indexing's
 * progress: sessions indexed, of those to index.
 */
export interface OpenOptions {
  search?: boolean;
  onIndexProgress?: (indexed: number, total: number) => void;
}

/** What `search()` searches: at most `limit` hits (default 20, at most 1000), among the sessions with `tag`, of `agentName`. */
export interface SearchOptions {
  limit?: number;
  tag?: string;
  agentName?: string;
}

/**
 * A message a search found: its session and place in the history, the message's searched text
 * around the first match (`…` where cut), the matching words in that snippet as `[start, end)`
 * string offsets, and the session's metadata.
 */
export interface SearchHit {
  id: string;
  messageIndex: number;
  snippet: string;
  matches: [number, number][];
  metadata: SessionMetadata;
}

/** Sessions indexed by the background indexing an open started, of those it had to index. */
export interface IndexProgress {
  indexed: number;
  total: number;
}

/**
 * What a turn changes besides its messages (`append()`, `replaceLast()`): the tokens it used
 * (default 0), and the agent's new state (left as it is when absent).
 */
export interface TurnOptions {
  tokens?: number;
  state?: unknown;
}

/** The options of `append()`. */
export type AppendOptions = TurnOptions;

/**
 * One committed change, as `watch()` reports it: a session saved by a write other than a
 * delete (with its metadata as stored), or deleted.
 */
export interface Change {
  kind: "saved" | "deleted";
  id: string;
  metadata?: SessionMetadata;
}

/** Which sessions `export()` writes: those of `ids` (in list order), or all of them. */
export interface ExportOptions {
  ids?: string[];
}

/**
 * What `import()` does with a session whose id is already stored: refuse the whole import before
 * writing anything (`"fail"`, the default), keep the stored one (`"skip"`), save the imported one
 * over it (`"replace"`), or keep both, the imported one under a new id (`"fork"`).
 */
export interface ImportOptions {
  onConflict?: "skip" | "replace" | "fork" | "fail";
}

/** What `import()` did with the file's sessions; the four counts add up to their number. */
export interface ImportReport {
  imported: number;
  skipped: number;
  forked: number;
  replaced: number;
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
    | "CONFLICT" | "UNAUTHORIZED" | "TOO_LARGE" | "INTERNAL";
}
"#;

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

/// A session store in IndexedDB. Every method returns a promise that rejects with a
/// `SessionError` (`name`, `code`, `message`).
#[wasm_bindgen]
pub struct SessionStore {
    inner: Rc<IndexedDbSessionManager>,
}

#[wasm_bindgen]
impl SessionStore {
    /// Opens (or creates) the database `dbName`, by default `"idb-session-store"`; with search
    /// on (unless `options.search` is false), what is not indexed yet is indexed in the
    /// background, reported to `options.onIndexProgress`.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionStore>")]
    pub fn open(
        #[wasm_bindgen(js_name = dbName)] db_name: Option<String>,
        #[wasm_bindgen(unchecked_optional_param_type = "OpenOptions")] options: Option<JsValue>,
    ) -> Promise {
        let options = open_options_arg(options);
        to_promise(Box::pin(async move {
            let name = db_name.unwrap_or_else(|| DEFAULT_DB_NAME.to_owned());
            let manager = IndexedDbSessionManager::open_with(&name, options?).await?;
            Ok(SessionStore {
                inner: Rc::new(manager),
            }
            .into())
        }))
    }

    /// Metadata of every session, most recently updated first, or of one page of them with
    /// `{ offset, limit }`, of those with `tag` and of `agentName` if given (read from an index).
    /// Reads no messages.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionMetadata[]>")]
    pub fn list(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ListOptions")] options: Option<JsValue>,
    ) -> Promise {
        let args = list_arg(options);
        promise(&self.inner, |m| async move {
            let args = args?;
            m.list_admitted_stored(&args.filter, args.page).await
        })
    }

    /// The messages holding every word of `query` (whole, or as a word prefix; ignoring case
    /// and accents), best first: most query words near each other, then the newest session, then
    /// the latest message. `INVALID_INPUT` for a query without words, `UNAVAILABLE` with search off.
    #[wasm_bindgen(unchecked_return_type = "Promise<SearchHit[]>")]
    pub fn search(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] query: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "SearchOptions")] options: Option<JsValue>,
    ) -> Promise {
        let query = string_arg(&query, "query");
        let options = search_options_arg(options);
        promise(
            &self.inner,
            |m| async move { m.search(&query?, options?).await },
        )
    }

    /// Resolves once the background indexing this open started has ended (at once if it
    /// has, or search is off), with how many sessions it indexed; rejects with what stopped it.
    #[wasm_bindgen(js_name = whenIndexed, unchecked_return_type = "Promise<IndexProgress>")]
    pub fn when_indexed(&self) -> Promise {
        let inner = self.inner.clone();
        Promise::new(&mut |resolve, reject| {
            inner.when_indexed(Box::new(move |outcome| match outcome {
                Ok((indexed, total)) => {
                    let out = js_sys::Object::new();
                    crate::js_value::set(&out, "indexed", &JsValue::from_f64(indexed as f64));
                    crate::js_value::set(&out, "total", &JsValue::from_f64(total as f64));
                    let _ = resolve.call1(&JsValue::NULL, &out);
                }
                Err(e) => {
                    let _ = reject.call1(&JsValue::NULL, &results::js_error(e));
                }
            }));
        })
    }

    /// Appends one turn's `messages` to session `id`, adds `tokens` to its total and, if given,
    /// replaces its state, without sending or rewriting the history; resolves with the updated
    /// metadata.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionMetadata>")]
    pub fn append(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "unknown[]")] messages: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "AppendOptions")] options: Option<JsValue>,
    ) -> Promise {
        let id = string_arg(&id, "id");
        let messages = messages_arg(&messages);
        let options = turn_options_arg(options, "append options");
        promise(&self.inner, |m| async move {
            m.append_stored(&id?, messages?, options?).await
        })
    }

    /// Replaces the last message of session `id` (a reply still streaming), adds `tokens` and,
    /// if given, replaces its state; `turnCount` stays. Rewrites only that message; rejects with
    /// `INVALID_INPUT` if the session has none. Resolves with the updated metadata.
    #[wasm_bindgen(js_name = replaceLast, unchecked_return_type = "Promise<SessionMetadata>")]
    pub fn replace_last(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "unknown")] message: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "TurnOptions")] options: Option<JsValue>,
    ) -> Promise {
        let id = string_arg(&id, "id");
        let message = value_arg(&message, "message");
        let options = turn_options_arg(options, "replaceLast options");
        promise(&self.inner, |m| async move {
            m.replace_last_stored(&id?, message?, options?).await
        })
    }

    /// Calls `listener` with the changes of every write committed to this database from now on
    /// (by this store, another store object, another tab or a worker of this origin), one call per
    /// write, after it committed. Returns the function that stops it.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn watch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(changes: Change[]) => void")] listener: JsValue,
    ) -> Result<JsValue, JsValue> {
        let listener: js_sys::Function = listener
            .dyn_into()
            .map_err(|_| results::js_error(Error::invalid("listener must be a function")))?;
        let watch = self
            .inner
            .watch(results::js_listener(listener))
            .map_err(results::js_error)?;
        let mut watch = Some(watch);
        let stop = Closure::<dyn FnMut()>::new(move || drop(watch.take()));
        Ok(stop.into_js_value())
    }

    /// The whole session `id`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Session>")]
    pub fn resume(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
        let id = string_arg(&id, "id");
        promise(&self.inner, |m| async move { m.resume_stored(&id?).await })
    }

    /// Creates or replaces a session; resolves with the metadata as stored.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionMetadata>")]
    pub fn save(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Session")] session: JsValue,
    ) -> Promise {
        let session = session_arg(&session);
        promise(
            &self.inner,
            |m| async move { m.save_stored(session?).await },
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
        let name = optional_string_arg(new_name, "newName");
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
        promise(
            &self.inner,
            |m| async move { m.rewind_stored(&id?, n?).await },
        )
    }

    /// Adds the tags session `id` does not have yet, in order.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn tag(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string[]")] tags: JsValue,
    ) -> Promise {
        let id = string_arg(&id, "id");
        let tags = strings_arg(&tags, "tags");
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

    /// The sessions `ids` (all if absent) as a file a person can keep: JSON Lines, a header and
    /// then one session per line in the Rust crate's serde form, oldest first. Built one batch
    /// of sessions at a time, so a large export is never whole in memory.
    #[wasm_bindgen(unchecked_return_type = "Promise<Blob>")]
    pub fn export(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ExportOptions")] options: Option<JsValue>,
    ) -> Promise {
        let ids = export_options_arg(options);
        promise(&self.inner, |m| async move {
            Ok(JsValue::from(portable::export(&m, ids?).await?))
        })
    }

    /// Imports an export (a `Blob` or a string). Every line is checked first: a malformed one
    /// rejects with `INVALID_INPUT` naming its line, and sessions already stored follow
    /// `onConflict` (by default the import rejects with `CONFLICT`); either way nothing is written
    /// then. The sessions are then written in batches, each atomic.
    #[wasm_bindgen(unchecked_return_type = "Promise<ImportReport>")]
    pub fn import(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Blob | string")] data: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ImportOptions")] options: Option<JsValue>,
    ) -> Promise {
        let on_conflict = import_options_arg(options);
        promise(&self.inner, |m| async move {
            let report = portable::import(&m, &data, on_conflict?).await?;
            Ok(portable::report_to_js(report))
        })
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
