//! How a session is laid out in IndexedDB records, and the conversions to and from the model.

use js_sys::Array;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::JsValue;
use web_sys::IdbKeyRange;

use super::schema::CHUNK_LEN;
use crate::error::{Error, Result};
use crate::model::SessionMetadata;

/// The `sessions` record: metadata plus what the store needs to find and check the rest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    pub id: String,
    pub name: Option<String>,
    pub tags: Vec<String>,
    pub agent_name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub turn_count: u32,
    pub total_tokens: u64,
    /// Write sequence number: orders writes within one millisecond.
    pub seq: u64,
    pub message_count: u64,
    /// Fingerprint of each chunk's text, in chunk order.
    pub chunk_sums: Vec<String>,
    pub state_sum: String,
}

impl SessionRecord {
    pub fn new(
        meta: SessionMetadata,
        seq: u64,
        message_count: u64,
        chunk_sums: Vec<String>,
        state_sum: String,
    ) -> Self {
        let SessionMetadata {
            id,
            name,
            tags,
            agent_name,
            created_at,
            updated_at,
            turn_count,
            total_tokens,
        } = meta;
        SessionRecord {
            id,
            name,
            tags,
            agent_name,
            created_at,
            updated_at,
            turn_count,
            total_tokens,
            seq,
            message_count,
            chunk_sums,
            state_sum,
        }
    }

    pub fn metadata(&self) -> SessionMetadata {
        SessionMetadata {
            id: self.id.clone(),
            name: self.name.clone(),
            tags: self.tags.clone(),
            agent_name: self.agent_name.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            turn_count: self.turn_count,
            total_tokens: self.total_tokens,
        }
    }

    pub fn set_metadata(&mut self, meta: SessionMetadata) {
        let sums = std::mem::take(&mut self.chunk_sums);
        let state_sum = std::mem::take(&mut self.state_sum);
        *self = SessionRecord::new(meta, self.seq, self.message_count, sums, state_sum);
    }
}

/// Converts a Rust value to a plain JS object (numbers, not BigInts; `null`, not `undefined`).
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::storage(format!("encoding a record failed: {e}")))
}

/// Reads a record written by [`to_js`], naming the session if it does not parse.
pub(crate) fn from_js<T: for<'de> Deserialize<'de>>(value: JsValue, id: &str) -> Result<T> {
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| Error::storage(format!("a record of session {id:?} is damaged: {e}")))
}

/// The messages cut into chunk texts, each a JSON array of up to [`CHUNK_LEN`] messages.
pub(crate) fn chunk_texts(messages: &[Value]) -> Vec<String> {
    messages.chunks(CHUNK_LEN).map(json_text).collect()
}

/// JSON text of a value. Infallible for `serde_json::Value`: its map keys are always strings.
pub(crate) fn json_text<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| unreachable!("JSON values serialize: {e}"))
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

/// Parses chunk texts back into messages, checking they hold what the record says.
pub(crate) fn parse_chunks(id: &str, texts: &Array, expected: usize) -> Result<Vec<Value>> {
    let damaged =
        |why: String| Error::storage(format!("messages of session {id:?} are damaged: {why}"));
    let mut messages = Vec::with_capacity(expected);
    for text in texts.iter() {
        let text = text
            .as_string()
            .ok_or_else(|| damaged("a chunk is not text".into()))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(chunk)) => messages.extend(chunk),
            Ok(_) => return Err(damaged("a chunk is not a JSON array".into())),
            Err(e) => return Err(damaged(e.to_string())),
        }
    }
    if messages.len() != expected {
        return Err(damaged(format!(
            "expected {expected} messages, found {}",
            messages.len()
        )));
    }
    Ok(messages)
}
