//! The server a database syncs with (`session-server`'s `/v1/sync` routes, see its `sync`
//! module for the protocol), and its answers read into the store's terms. An error the server
//! answers keeps its code; a server that cannot be reached is `UNAVAILABLE`.

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, Result};
use crate::idb::WRITE_CHUNK;
use crate::js_value::{get, metadata_from_js, whole, Shape};
use crate::model::SessionMetadata;
use crate::rules::{self, MAX_SAFE_INTEGER};

#[wasm_bindgen(module = "/src/idb/sync/client.js")]
extern "C" {
    fn call(url: &str, method: &str, token: &str, body: Option<JsValue>) -> Promise;
    #[wasm_bindgen(js_name = putOp)]
    pub(crate) fn put_op(
        op: f64,
        base: Option<f64>,
        metadata: &JsValue,
        chunks: &Array,
        state: &JsValue,
    ) -> JsValue;
    #[wasm_bindgen(js_name = patchOp)]
    pub(crate) fn patch_op(
        op: f64,
        base: f64,
        cut: f64,
        chunks: &Array,
        state: Option<JsValue>,
        metadata: &JsValue,
    ) -> JsValue;
    #[wasm_bindgen(js_name = metaOp)]
    pub(crate) fn meta_op(op: f64, id: &str, tags: &Array, name: Option<String>) -> JsValue;
    #[wasm_bindgen(js_name = deleteOp)]
    pub(crate) fn delete_op(op: f64, id: &str) -> JsValue;
    #[wasm_bindgen(js_name = pushBody)]
    fn push_body(device: &str, acked: f64, ops: &Array) -> JsValue;
    fn pulled(entry: &JsValue, chunk_len: u32) -> JsValue;
}

/// A session-server and the token this device bears.
#[derive(Debug, Clone)]
pub(crate) struct Remote {
    base: String,
    token: String,
}

/// What became of a pushed operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Applied { version: i64 },
    Conflict,
    Deleted,
}

/// What kind of change a pulled entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Put,
    Patch,
    Meta,
    Delete,
}

/// A pulled change in the store's terms: messages and state as JSON texts.
pub(crate) struct Pulled {
    pub kind: EntryKind,
    /// The version it brings the session to.
    pub seq: i64,
    /// The version it applies to (patches and metadata changes).
    pub prev: Option<i64>,
    pub id: String,
    pub metadata: Option<SessionMetadata>,
    /// A patch's first message replaced.
    pub cut: u64,
    /// A patch's messages, one JSON text each.
    pub texts: Vec<JsValue>,
    /// A put's messages, as chunk texts, and how many.
    pub chunks: Array,
    pub count: u64,
    /// The state's JSON text, when it is sent (puts always; patches when it changed).
    pub state: Option<JsValue>,
}

/// A page of pulled changes.
pub(crate) struct Page {
    pub entries: Vec<Pulled>,
    pub cursor: i64,
    pub more: bool,
    pub reset: bool,
}

impl Remote {
    /// The server at `url` (`http://host:port`), bearing `token`.
    pub fn new(url: &str, token: &str) -> Result<Remote> {
        let base = url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::invalid(format!(
                "url must be the server's http:// or https:// address, got \"{url}\""
            )));
        }
        if token.is_empty() {
            return Err(Error::invalid("token must not be empty"));
        }
        Ok(Remote {
            base: base.to_owned(),
            token: token.to_owned(),
        })
    }

    /// Sends a push (its operations as JSON texts); the outcome of each, in order.
    pub async fn push(&self, device: &str, acked: i64, ops: &Array) -> Result<Vec<Outcome>> {
        let body = push_body(device, acked as f64, ops);
        let answer = self.request("/v1/sync/push", "POST", Some(body)).await?;
        let outcomes = get(&answer, "outcomes");
        let outcomes = outcomes
            .dyn_ref::<Array>()
            .ok_or_else(|| odd("a push answer without outcomes"))?;
        outcomes
            .iter()
            .map(
                |outcome| match get(&outcome, "status").as_string().as_deref() {
                    Some("applied") => Ok(Outcome::Applied {
                        version: number(&outcome, "version")?,
                    }),
                    Some("conflict") => Ok(Outcome::Conflict),
                    Some("deleted") => Ok(Outcome::Deleted),
                    _ => Err(odd("an outcome of no known status")),
                },
            )
            .collect()
    }

    /// The changes after `since` (every session, in a reset), but those `device` pushed.
    pub async fn pull(&self, since: i64, reset: bool, device: &str) -> Result<Page> {
        let device = String::from(js_sys::encode_uri_component(device));
        let path = format!("/v1/sync/pull?since={since}&reset={reset}&device={device}");
        let answer = self.request(&path, "GET", None).await?;
        let entries = get(&answer, "entries");
        let entries = entries
            .dyn_ref::<Array>()
            .ok_or_else(|| odd("a pull answer without entries"))?;
        Ok(Page {
            entries: entries
                .iter()
                .map(|e| read_pulled(&pulled(&e, WRITE_CHUNK as u32)))
                .collect::<Result<_>>()?,
            cursor: number(&answer, "cursor")?,
            more: get(&answer, "more").as_bool().unwrap_or(false),
            reset: get(&answer, "reset").as_bool().unwrap_or(false),
        })
    }

    /// Session `id` whole as the server has it (as a put), or `None` if it has none.
    pub async fn session(&self, id: &str) -> Result<Option<Pulled>> {
        let path = format!(
            "/v1/sync/sessions/{}",
            String::from(js_sys::encode_uri_component(id))
        );
        let answer = match self.request(&path, "GET", None).await {
            Err(Error::NotFound { .. }) => return Ok(None),
            answer => answer?,
        };
        let entry = Object::new();
        let _ = Reflect::set(&entry, &"kind".into(), &"put".into());
        let _ = Reflect::set(&entry, &"seq".into(), &get(&answer, "version"));
        let _ = Reflect::set(&entry, &"session".into(), &get(&answer, "session"));
        read_pulled(&pulled(&entry, WRITE_CHUNK as u32)).map(Some)
    }

    async fn request(&self, path: &str, method: &str, body: Option<JsValue>) -> Result<JsValue> {
        let url = format!("{}{path}", self.base);
        let answer = JsFuture::from(call(&url, method, &self.token, body))
            .await
            .map_err(|e| Error::Unavailable {
                message: get(&e, "message")
                    .as_string()
                    .unwrap_or_else(|| format!("cannot reach {url}")),
            })?;
        let status = get(&answer, "status").as_f64().unwrap_or(0.0) as u16;
        let body = get(&answer, "body");
        if status == 200 {
            return Ok(body);
        }
        let code = get(&body, "code").as_string().unwrap_or_default();
        let message = get(&body, "message")
            .as_string()
            .unwrap_or_else(|| format!("HTTP {status}"));
        let message = format!(
            "the server at {} answered {method} {path} with {status}: {message}",
            self.base
        );
        Err(match code.as_str() {
            "NOT_FOUND" if path.starts_with("/v1/sync/sessions/") => Error::not_found(path),
            "UNAUTHORIZED" => Error::Unauthorized { message },
            "INVALID_INPUT" => Error::InvalidInput { message },
            "TOO_LARGE" => Error::TooLarge { message },
            "CONFLICT" => Error::Conflict { message },
            "UNAVAILABLE" | "CLOSED" | "NOT_FOUND" => Error::Unavailable { message },
            _ => Error::Storage { message },
        })
    }
}

/// An answer that is not what the protocol says.
fn odd(what: &str) -> Error {
    Error::Storage {
        message: format!("the sync server sent {what}"),
    }
}

fn number(value: &JsValue, name: &str) -> Result<i64> {
    whole(&get(value, name), MAX_SAFE_INTEGER)
        .map(|n| n as i64)
        .ok_or_else(|| odd(&format!("a {name} that is not a whole number")))
}

/// A change made ready by `client.js`'s `pulled`, checked as the store checks what it writes.
fn read_pulled(value: &JsValue) -> Result<Pulled> {
    let kind = match get(value, "kind").as_string().as_deref() {
        Some("put") => EntryKind::Put,
        Some("patch") => EntryKind::Patch,
        Some("meta") => EntryKind::Meta,
        Some("delete") => EntryKind::Delete,
        _ => return Err(odd("a change of no known kind")),
    };
    let metadata = match kind {
        EntryKind::Delete => None,
        _ => {
            let meta = metadata_from_js(&get(value, "metadata"), "metadata", Shape::Serde)
                .map_err(|why| odd(&format!("a change whose {why}")))?;
            rules::check_metadata(&meta)?;
            Some(meta)
        }
    };
    let id = match &metadata {
        Some(meta) => meta.id.clone(),
        None => get(value, "id")
            .as_string()
            .ok_or_else(|| odd("a delete without an id"))?,
    };
    let prev = get(value, "prev");
    let texts = get(value, "texts");
    let state = get(value, "state");
    Ok(Pulled {
        kind,
        seq: number(value, "seq")?,
        prev: (!prev.is_null() && !prev.is_undefined())
            .then(|| number(value, "prev"))
            .transpose()?,
        id,
        metadata,
        cut: whole(&get(value, "cut"), MAX_SAFE_INTEGER).unwrap_or(0),
        texts: texts
            .dyn_ref::<Array>()
            .map_or_else(Vec::new, |t| t.iter().collect()),
        chunks: get(value, "chunks").dyn_into().unwrap_or_default(),
        count: whole(&get(value, "count"), MAX_SAFE_INTEGER).unwrap_or(0),
        state: (!state.is_undefined()).then_some(state),
    })
}
