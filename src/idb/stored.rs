//! The stored form of a session: metadata, and messages and state as the JSON texts IndexedDB
//! keeps (JS strings). The store's `*_stored` operations take and return these; they are the JS
//! facade's fast path, on which no message is ever parsed or encoded in wasm (the facade encodes
//! with `JSON.stringify` and decodes with `JSON.parse`). The Rust API goes through the same
//! operations, converting with [`EncodedSession::encode`] and [`StoredSession::decode`].

use js_sys::Array;
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::JsValue;

use super::chunks::damaged;
use super::schema::WRITE_CHUNK;
use crate::error::{Error, Result};
use crate::model::{Session, SessionMetadata, TurnOptions};
use crate::rules;

/// A session as read from the store.
pub(crate) struct StoredSession {
    pub metadata: SessionMetadata,
    /// How many messages the chunks hold, as the record says.
    pub message_count: u64,
    /// JSON array texts, in order.
    pub chunks: Array,
    /// JSON text.
    pub state: JsValue,
}

/// A session to be written: metadata (not yet checked), and messages and state already checked
/// and encoded.
pub(crate) struct EncodedSession {
    pub metadata: SessionMetadata,
    /// JSON array texts of [`WRITE_CHUNK`] messages each (the last may hold fewer).
    pub chunks: Array,
    /// JSON text.
    pub state: JsValue,
    pub message_count: u64,
}

/// What a turn changes besides its messages, encoded: the tokens it used, and the new state's
/// JSON text if the state changes.
pub(crate) struct EncodedOptions {
    pub tokens: u64,
    pub state: Option<JsValue>,
}

impl EncodedOptions {
    /// Checks and encodes the options of a turn of session `id` of the Rust API.
    pub fn encode(id: &str, options: TurnOptions) -> Result<Self> {
        let state = options
            .state
            .map(|state| rules::check_state(&state, id).map(|()| json_text(&state)))
            .transpose()?;
        Ok(EncodedOptions {
            tokens: options.tokens,
            state: state.map(|text| JsValue::from_str(&text)),
        })
    }
}

impl EncodedSession {
    /// Checks and encodes a session of the Rust API.
    pub fn encode(session: &Session) -> Result<Self> {
        rules::check_session(session)?;
        Ok(EncodedSession {
            metadata: session.metadata.clone(),
            chunks: session
                .messages
                .chunks(WRITE_CHUNK)
                .map(|chunk| JsValue::from_str(&json_text(chunk)))
                .collect(),
            state: JsValue::from_str(&json_text(&session.state)),
            message_count: session.messages.len() as u64,
        })
    }
}

impl StoredSession {
    /// Parses the texts into a session of the Rust API.
    pub fn decode(self) -> Result<Session> {
        let id = self.metadata.id.as_str();
        let mut messages = Vec::with_capacity(self.message_count as usize);
        for text in self.chunks.iter() {
            let text = text
                .as_string()
                .ok_or_else(|| damaged(id, "a chunk is not text"))?;
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(chunk)) => messages.extend(chunk),
                Ok(_) => return Err(damaged(id, "a chunk is not a JSON array")),
                Err(e) => return Err(damaged(id, e)),
            }
        }
        check_count(id, self.message_count, messages.len())?;
        let state = self
            .state
            .as_string()
            .ok_or_else(|| Error::storage(format!("state of session \"{id}\" is missing")))?;
        let state = serde_json::from_str(&state)
            .map_err(|e| Error::storage(format!("state of session \"{id}\" is damaged: {e}")))?;
        Ok(Session {
            metadata: self.metadata,
            messages,
            state,
        })
    }
}

/// Checks that the chunks of session `id` held the `expected` messages its record counts.
pub(crate) fn check_count(id: &str, expected: u64, found: usize) -> Result<()> {
    if found as u64 != expected {
        return Err(damaged(
            id,
            format!("expected {expected} messages, found {found}"),
        ));
    }
    Ok(())
}

/// The JSON texts of messages of the Rust API, checked as `save` and `append` check them.
pub(crate) fn message_texts(id: &str, messages: &[Value]) -> Result<Vec<JsValue>> {
    rules::check_messages(messages, id)?;
    Ok(messages
        .iter()
        .map(|m| JsValue::from_str(&json_text(m)))
        .collect())
}

/// JSON text of a value. Infallible for `serde_json::Value`: its map keys are always strings.
fn json_text<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| unreachable!("JSON values serialize: {e}"))
}
