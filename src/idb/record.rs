//! How a session is laid out in IndexedDB records, and the conversions between records, JS
//! values and the model. Records are built and read field by field with `Reflect`: no JSON
//! (de)serializer runs on the JS API's paths, which keeps the wasm small.

use js_sys::{Array, Object, Reflect};
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbKeyRange;

use super::requests::is_well_formed_string;
use crate::error::{Error, Result};
use crate::model::SessionMetadata;
use crate::rules::MAX_SAFE_INTEGER;

/// The `sessions` record: the metadata in its JS shape, and what orders, versions and sizes the
/// session.
#[derive(Debug, Clone)]
pub(crate) struct SessionRecord {
    pub metadata: SessionMetadata,
    /// Write sequence number: orders writes within one millisecond.
    pub seq: u64,
    /// Random per write: tells this connection whether the session changed since it wrote it.
    pub rev: f64,
    pub message_count: u64,
}

impl SessionRecord {
    pub fn new(metadata: SessionMetadata, seq: u64, message_count: u64) -> Self {
        SessionRecord {
            metadata,
            seq,
            rev: js_sys::Math::random(),
            message_count,
        }
    }

    pub fn to_js(&self) -> JsValue {
        let record = Object::new();
        set(&record, "metadata", &metadata_to_js(&self.metadata));
        set(&record, "seq", &JsValue::from_f64(self.seq as f64));
        set(&record, "rev", &JsValue::from_f64(self.rev));
        set(
            &record,
            "messageCount",
            &JsValue::from_f64(self.message_count as f64),
        );
        record.into()
    }

    /// Reads a record written by [`SessionRecord::to_js`]; `STORAGE` naming the session if it
    /// is not one.
    pub fn from_js(value: &JsValue, id: &str) -> Result<Self> {
        let damaged = |why: String| {
            Error::storage(format!("the record of session \"{id}\" is damaged: {why}"))
        };
        let number = |name: &str| {
            let value = get(value, name);
            whole(&value, MAX_SAFE_INTEGER)
                .ok_or_else(|| damaged(format!("{name} is {}", describe(&value))))
        };
        let rev = get(value, "rev")
            .as_f64()
            .ok_or_else(|| damaged("rev is missing".into()))?;
        Ok(SessionRecord {
            metadata: metadata_from_js(&get(value, "metadata"), "metadata").map_err(damaged)?,
            seq: number("seq")?,
            rev,
            message_count: number("messageCount")?,
        })
    }
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn set(target: &Object, key: &str, value: &JsValue) {
    // Defining a data property on a plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// [`SessionMetadata`] as a plain JS object in its JS shape (camelCase, `name` null when none).
pub(crate) fn metadata_to_js(meta: &SessionMetadata) -> JsValue {
    let out = Object::new();
    let string = |s: &str| JsValue::from_str(s);
    let number = |n: f64| JsValue::from_f64(n);
    set(&out, "id", &string(&meta.id));
    set(
        &out,
        "name",
        &meta.name.as_deref().map_or(JsValue::NULL, string),
    );
    let tags: Array = meta.tags.iter().map(|t| string(t)).collect();
    set(&out, "tags", &tags);
    set(&out, "agentName", &string(&meta.agent_name));
    set(&out, "createdAt", &number(meta.created_at as f64));
    set(&out, "updatedAt", &number(meta.updated_at as f64));
    set(&out, "turnCount", &number(f64::from(meta.turn_count)));
    set(&out, "totalTokens", &number(meta.total_tokens as f64));
    out.into()
}

/// The metadata in the JS object `value` (named `what` in messages), checking each field's type
/// and range and refusing unknown fields; the error says which field is wrong and what it holds:
/// `session.metadata.turnCount must be a whole number from 0 to 4294967295, got 1.5`.
pub(crate) fn metadata_from_js(
    value: &JsValue,
    what: &str,
) -> std::result::Result<SessionMetadata, String> {
    if !value.is_object() || Array::is_array(value) {
        return Err(format!("{what} must be an object, got {}", describe(value)));
    }
    let wrong = |name: &str, expected: &str, got: &JsValue| {
        format!("{what}.{name} must be {expected}, got {}", describe(got))
    };
    let string = |name: &str| {
        let value = get(value, name);
        if is_well_formed_string(&value) {
            Ok(value.as_string().unwrap_or_default())
        } else {
            Err(wrong(name, "a string without lone surrogates", &value))
        }
    };
    let number = |name: &str, max: u64| {
        let value = get(value, name);
        whole(&value, max)
            .ok_or_else(|| wrong(name, &format!("a whole number from 0 to {max}"), &value))
    };
    let name = match get(value, "name") {
        v if v.is_null() || v.is_undefined() => None,
        _ => Some(string("name")?),
    };
    let tags = get(value, "tags");
    let tags = match tags.dyn_ref::<Array>() {
        Some(tags) => (0..tags.length())
            .map(|i| {
                let tag = tags.get(i);
                if is_well_formed_string(&tag) {
                    Ok(tag.as_string().unwrap_or_default())
                } else {
                    Err(wrong(
                        &format!("tags[{i}]"),
                        "a string without lone surrogates",
                        &tag,
                    ))
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()?,
        None => return Err(wrong("tags", "an array of strings", &tags)),
    };
    let meta = SessionMetadata {
        id: string("id")?,
        name,
        tags,
        agent_name: string("agentName")?,
        created_at: number("createdAt", MAX_SAFE_INTEGER)? as i64,
        updated_at: number("updatedAt", MAX_SAFE_INTEGER)? as i64,
        turn_count: number("turnCount", u64::from(u32::MAX))? as u32,
        total_tokens: number("totalTokens", MAX_SAFE_INTEGER)?,
    };
    const FIELDS: [&str; 8] = [
        "id",
        "name",
        "tags",
        "agentName",
        "createdAt",
        "updatedAt",
        "turnCount",
        "totalTokens",
    ];
    let keys = Object::keys(value.unchecked_ref::<Object>());
    for key in keys.iter() {
        let key = key.as_string().unwrap_or_default();
        if !FIELDS.contains(&key.as_str()) && !get(value, &key).is_undefined() {
            return Err(format!("{what} has unknown field \"{key}\""));
        }
    }
    Ok(meta)
}

/// `value` as a whole number from 0 to `max`, refusing everything else (fractions, -0, NaN,
/// strings, ...).
pub(crate) fn whole(value: &JsValue, max: u64) -> Option<u64> {
    let n = value.as_f64()?;
    let negative_zero = n == 0.0 && n.is_sign_negative();
    (n.fract() == 0.0 && (0.0..=max as f64).contains(&n) && !negative_zero).then_some(n as u64)
}

/// A short description of a JS value for error messages: numbers as JS writes them, strings
/// quoted, anything else by its type.
pub(crate) fn describe(value: &JsValue) -> String {
    if value.as_f64().is_some() {
        let number: &js_sys::Number = value.unchecked_ref();
        return number
            .to_string_with_radix(10)
            .map(String::from)
            .unwrap_or_default();
    }
    if value.is_null() {
        return "null".to_owned();
    }
    value
        .as_string()
        .map(|s| format!("\"{s}\""))
        .unwrap_or_else(|| value.js_typeof().as_string().unwrap_or_default())
}

/// A stored session as its records hold it: the record (a JS object), the chunk texts and the
/// state text, none of them parsed.
pub(crate) struct StoredParts {
    pub record: JsValue,
    pub message_count: u64,
    pub chunks: Array,
    pub state: JsValue,
}

impl StoredParts {
    /// The metadata object inside the record, as JS reads it.
    pub fn metadata_js(&self) -> JsValue {
        get(&self.record, "metadata")
    }

    /// Parses everything into the model (the Rust API's path; the JS API hands the texts to
    /// `JSON.parse` instead).
    pub fn parse(&self, id: &str) -> Result<crate::model::Session> {
        let record = SessionRecord::from_js(&self.record, id)?;
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
        if messages.len() as u64 != self.message_count {
            let why = format!(
                "expected {} messages, found {}",
                self.message_count,
                messages.len()
            );
            return Err(damaged(id, why));
        }
        let state = self
            .state
            .as_string()
            .ok_or_else(|| Error::storage(format!("state of session \"{id}\" is missing")))?;
        let state = serde_json::from_str(&state)
            .map_err(|e| Error::storage(format!("state of session \"{id}\" is damaged: {e}")))?;
        Ok(crate::model::Session {
            metadata: record.metadata,
            messages,
            state,
        })
    }
}

/// JSON text of a value. Infallible for `serde_json::Value`: its map keys are always strings.
pub(crate) fn json_text<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| unreachable!("JSON values serialize: {e}"))
}

/// Key of the chunk of session `id` whose first message is message `start`.
pub(crate) fn chunk_key(id: &str, start: u64) -> JsValue {
    Array::of2(&JsValue::from_str(id), &JsValue::from_f64(start as f64)).into()
}

/// Range of the chunks of session `id` starting at message `from` or later.
pub(crate) fn chunks_from(id: &str, from: u64) -> Result<JsValue, JsValue> {
    let end = Array::of2(&JsValue::from_str(id), &JsValue::from_f64(f64::INFINITY));
    IdbKeyRange::bound(&chunk_key(id, from), &end).map(Into::into)
}

/// Range of the chunks of session `id` starting before message `to`.
pub(crate) fn chunks_before(id: &str, to: u64) -> Result<JsValue, JsValue> {
    IdbKeyRange::bound_with_lower_open_and_upper_open(
        &chunk_key(id, 0),
        &chunk_key(id, to),
        false,
        true,
    )
    .map(Into::into)
}

/// The error for stored messages that are not what the records say.
pub(crate) fn damaged(id: &str, why: impl std::fmt::Display) -> Error {
    Error::storage(format!("messages of session \"{id}\" are damaged: {why}"))
}
