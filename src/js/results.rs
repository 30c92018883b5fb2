//! What the facade's promises settle with: results converted to JS, and the one place a Rust
//! [`Error`] becomes a JS `Error` named `SessionError` with its `code`.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::Error;
use crate::idb::{changes_to_js, check_count, damaged, IndexedDbSessionManager, StoredSession};
use crate::js_value::{metadata_to_js, set, Shape};
use crate::model::{Change, SessionMetadata};
use crate::search::SearchHit;
use crate::watch::Listener;

#[wasm_bindgen(module = "/src/js/convert.js")]
extern "C" {
    #[wasm_bindgen(js_name = assembleSession, catch)]
    fn assemble_session(
        metadata: &JsValue,
        chunks: &Array,
        state: &JsValue,
    ) -> Result<JsValue, JsValue>;
}

/// The one place a Rust [`Error`] becomes a JS `Error` with `name = "SessionError"` and `code`.
pub(crate) fn js_error(error: Error) -> JsValue {
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

/// Runs `op` on the store as a JS promise, converting its result with [`IntoJs`].
pub(crate) fn promise<T, F>(
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
pub(crate) fn to_promise(fut: Pin<Box<dyn Future<Output = Result<JsValue, Error>>>>) -> Promise {
    future_to_promise(async move { fut.await.map_err(js_error) })
}

/// What a resolved promise carries.
pub(crate) trait IntoJs {
    fn into_js(self) -> Result<JsValue, Error>;
}

impl IntoJs for () {
    fn into_js(self) -> Result<JsValue, Error> {
        Ok(JsValue::UNDEFINED)
    }
}

impl IntoJs for SessionMetadata {
    fn into_js(self) -> Result<JsValue, Error> {
        Ok(metadata_to_js(&self, Shape::Js))
    }
}

impl IntoJs for Vec<SearchHit> {
    /// `{ id, messageIndex, snippet, matches, metadata }` each, `matches` as `[start, end]`
    /// offsets into `snippet` in UTF-16 code units, as JS strings count them.
    fn into_js(self) -> Result<JsValue, Error> {
        let utf16 = |text: &str, byte: usize| text[..byte].encode_utf16().count() as f64;
        Ok(self
            .into_iter()
            .map(|hit| {
                let out = Object::new();
                set(&out, "id", &JsValue::from_str(&hit.id));
                set(
                    &out,
                    "messageIndex",
                    &JsValue::from_f64(hit.message_index as f64),
                );
                let matches: Array = hit
                    .matches
                    .iter()
                    .map(|r| {
                        let (start, end) =
                            (utf16(&hit.snippet, r.start), utf16(&hit.snippet, r.end));
                        Array::of2(&start.into(), &end.into())
                    })
                    .collect();
                set(&out, "snippet", &JsValue::from_str(&hit.snippet));
                set(&out, "matches", &matches);
                set(&out, "metadata", &metadata_to_js(&hit.metadata, Shape::Js));
                JsValue::from(out)
            })
            .collect::<Array>()
            .into())
    }
}

impl IntoJs for JsValue {
    fn into_js(self) -> Result<JsValue, Error> {
        Ok(self)
    }
}

impl IntoJs for Array {
    fn into_js(self) -> Result<JsValue, Error> {
        Ok(self.into())
    }
}

/// A stored session as a fresh JS object: its metadata, and its messages and state by
/// `JSON.parse` of their stored text (so every key, even `__proto__`, stays data).
impl IntoJs for StoredSession {
    fn into_js(self) -> Result<JsValue, Error> {
        let id = &self.metadata.id;
        let session = assemble_session(
            &metadata_to_js(&self.metadata, Shape::Js),
            &self.chunks,
            &self.state,
        )
        .map_err(|e| damaged(id, describe_error(&e)))?;
        let messages = Reflect::get(&session, &JsValue::from_str("messages")).unwrap_or_default();
        check_count(
            id,
            self.message_count,
            messages.unchecked_ref::<Array>().length() as usize,
        )?;
        Ok(session)
    }
}

/// A JS function as a store's listener: it gets the changes as `Change` objects. What it throws
/// is reported as an uncaught error (`reportError`), and the store carries on.
pub(crate) fn js_listener(function: js_sys::Function) -> Listener {
    Box::new(move |changes: &[Change]| {
        if let Err(thrown) = function.call1(&JsValue::NULL, &changes_to_js(changes)) {
            report_error(&thrown);
        }
    })
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = reportError)]
    pub(crate) fn report_error(error: &JsValue);
}

/// The message of a thrown JS value (its `message`, else its debug form).
pub(crate) fn describe_error(e: &JsValue) -> String {
    Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
