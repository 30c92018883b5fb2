//! How a session is laid out in IndexedDB records, and the conversions to and from the model.

use js_sys::Array;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::JsValue;
use web_sys::IdbKeyRange;

use super::schema::CHUNK_LEN;
use crate::error::{Error, Result};
use crate::model::{CamelMetadata, SessionMetadata};

/// The `sessions` record: the metadata in its JS shape, and what orders and sizes the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionRecord {
    #[serde(with = "CamelMetadata")]
    pub metadata: SessionMetadata,
    /// Write sequence number: orders writes within one millisecond.
    pub seq: u64,
    pub message_count: u64,
}

impl SessionRecord {
    pub fn new(metadata: SessionMetadata, seq: u64, message_count: u64) -> Self {
        SessionRecord {
            metadata,
            seq,
            message_count,
        }
    }

    pub fn metadata(&self) -> SessionMetadata {
        self.metadata.clone()
    }
}

/// The `digests` record: a fingerprint of each chunk's text and of the state's, which let a save
/// skip rewriting what did not change. Kept apart from `sessions` so listing never reads them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Digests {
    pub chunks: Vec<String>,
    pub state: String,
}

/// A stored session as its records hold it: the metadata record (a JS object), the chunk texts
/// and the state text, none of them parsed.
pub(crate) struct StoredParts {
    pub record: JsValue,
    pub message_count: u64,
    pub chunks: Array,
    pub state: JsValue,
}

impl StoredParts {
    /// The metadata object inside the record, as JS reads it.
    pub fn metadata_js(&self) -> JsValue {
        js_sys::Reflect::get(&self.record, &JsValue::from_str("metadata"))
            .unwrap_or(JsValue::UNDEFINED)
    }

    /// Parses everything into the model.
    pub fn parse(&self, id: &str) -> Result<crate::model::Session> {
        let record: SessionRecord = from_js(self.record.clone(), id)?;
        let messages = parse_chunks(id, &self.chunks, self.message_count as usize)?;
        Ok(crate::model::Session {
            metadata: record.metadata(),
            messages,
            state: parse_state(id, &self.state)?,
        })
    }
}

/// Converts a Rust value to a plain JS object through JSON text: one `JSON.parse`, no field-by-field
/// calls across the boundary, and no second (de)serializer in the wasm beside `serde_json`.
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue> {
    js_sys::JSON::parse(&json_text(value)).map_err(|_| Error::storage("encoding a record failed"))
}

/// Reads a record written by [`to_js`], naming the session if it does not parse.
pub(crate) fn from_js<T: for<'de> Deserialize<'de>>(value: JsValue, id: &str) -> Result<T> {
    let damaged =
        |why: String| Error::storage(format!("a record of session \"{id}\" is damaged: {why}"));
    let text =
        js_sys::JSON::stringify(&value).map_err(|_| damaged("it cannot be read as JSON".into()))?;
    serde_json::from_str(&String::from(text)).map_err(|e| damaged(e.to_string()))
}

/// JSON text of a value. Infallible for `serde_json::Value`: its map keys are always strings.
pub(crate) fn json_text<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| unreachable!("JSON values serialize: {e}"))
}

/// The messages cut into chunk texts, each a JSON array of up to [`CHUNK_LEN`] messages.
pub(crate) fn chunk_texts(messages: &[Value]) -> Vec<String> {
    messages.chunks(CHUNK_LEN).map(json_text).collect()
}

/// The JSON array text `array` (as stored: `[...]`) with the JSON texts `items` appended.
pub(crate) fn extend_array_text(array: &str, items: &[String]) -> String {
    let body = array.strip_suffix(']').unwrap_or(array);
    let mut out =
        String::with_capacity(array.len() + items.iter().map(|t| t.len() + 1).sum::<usize>());
    out.push_str(body);
    for (i, item) in items.iter().enumerate() {
        if i > 0 || body != "[" {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
    out
}

/// Number of chunks `count` messages take.
pub(crate) fn chunks_for(count: usize) -> usize {
    count.div_ceil(CHUNK_LEN)
}

/// A fingerprint of a stored text: its length and 64-bit FNV-1a hash. Equal fingerprints let a
/// save skip rewriting a chunk; any change in length or content changes it.
pub(crate) fn fingerprint(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:x}:{hash:016x}", text.len())
}

/// Key of chunk `n` of session `id`.
pub(crate) fn chunk_key(id: &str, n: usize) -> JsValue {
    Array::of2(&JsValue::from_str(id), &JsValue::from_f64(n as f64)).into()
}

/// Range of the chunks of session `id` from chunk `from` on.
pub(crate) fn chunks_from(id: &str, from: usize) -> Result<JsValue, JsValue> {
    let end = Array::of2(&JsValue::from_str(id), &JsValue::from_f64(f64::INFINITY));
    IdbKeyRange::bound(&chunk_key(id, from), &end).map(Into::into)
}

/// Range of the chunks of session `id` numbered `from` up to, not including, `to`.
pub(crate) fn chunks_between(id: &str, from: usize, to: usize) -> Result<JsValue, JsValue> {
    IdbKeyRange::bound_with_lower_open_and_upper_open(
        &chunk_key(id, from),
        &chunk_key(id, to),
        false,
        true,
    )
    .map(Into::into)
}

/// Parses chunk texts back into messages, checking they hold what the record says.
pub(crate) fn parse_chunks(id: &str, texts: &Array, expected: usize) -> Result<Vec<Value>> {
    let mut messages = Vec::with_capacity(expected);
    for text in texts.iter() {
        let text = text
            .as_string()
            .ok_or_else(|| damaged(id, "a chunk is not text"))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(chunk)) => messages.extend(chunk),
            Ok(_) => return Err(damaged(id, "a chunk is not a JSON array")),
            Err(e) => return Err(damaged(id, e)),
        }
    }
    if messages.len() != expected {
        return Err(damaged(
            id,
            format!("expected {expected} messages, found {}", messages.len()),
        ));
    }
    Ok(messages)
}

pub(crate) fn parse_state(id: &str, text: &JsValue) -> Result<Value> {
    let text = text
        .as_string()
        .ok_or_else(|| Error::storage(format!("state of session \"{id}\" is missing")))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::storage(format!("state of session \"{id}\" is damaged: {e}")))
}

/// The error for stored messages that are not what the records say.
pub(crate) fn damaged(id: &str, why: impl std::fmt::Display) -> Error {
    Error::storage(format!("messages of session \"{id}\" are damaged: {why}"))
}
