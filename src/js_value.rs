//! The JS shape of the model, read and written field by field with `Reflect` (no JSON
//! (de)serializer on the JS API's paths, which keeps the wasm small): metadata as a plain object
//! (camelCase, or snake_case as in the export format), whole numbers, strings without lone
//! surrogates, and values described for error messages. Both the IndexedDB records and the JS
//! facade use these.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::model::SessionMetadata;
use crate::rules::MAX_SAFE_INTEGER;

// In convert.js, not an inline snippet: each JS module of the crate is one more file a page
// fetches at once, and wasm-bindgen-test-runner's server stalls on a burst of four (see Makefile).
#[wasm_bindgen(module = "/src/js/convert.js")]
extern "C" {
    /// Whether `value` is a string without lone surrogates (which Rust strings cannot hold).
    #[wasm_bindgen(js_name = isWellFormedString)]
    pub(crate) fn is_well_formed_string(value: &JsValue) -> bool;
}

pub(crate) fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub(crate) fn set(target: &Object, key: &str, value: &JsValue) {
    // Defining a data property on a plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// How the fields of metadata are named in a JS object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// camelCase, as the JS API and the IndexedDB records have it: `agentName`.
    Js,
    /// snake_case, as serde names the Rust fields (the export format): `agent_name`.
    Serde,
}

/// The fields of [`SessionMetadata`] in declaration order (serde's order), in each shape.
const FIELDS: [[&str; 2]; 8] = [
    ["id", "id"],
    ["name", "name"],
    ["tags", "tags"],
    ["agentName", "agent_name"],
    ["createdAt", "created_at"],
    ["updatedAt", "updated_at"],
    ["turnCount", "turn_count"],
    ["totalTokens", "total_tokens"],
];

impl Shape {
    /// The names of the fields, in order.
    fn names(self) -> [&'static str; 8] {
        FIELDS.map(|names| names[self as usize])
    }
}

/// [`SessionMetadata`] as a plain JS object with its fields in order (`name` null when none).
pub(crate) fn metadata_to_js(meta: &SessionMetadata, shape: Shape) -> JsValue {
    let out = Object::new();
    let string = |s: &str| JsValue::from_str(s);
    let number = |n: f64| JsValue::from_f64(n);
    let tags: Array = meta.tags.iter().map(|t| string(t)).collect();
    let values = [
        string(&meta.id),
        meta.name.as_deref().map_or(JsValue::NULL, string),
        tags.into(),
        string(&meta.agent_name),
        number(meta.created_at as f64),
        number(meta.updated_at as f64),
        number(f64::from(meta.turn_count)),
        number(meta.total_tokens as f64),
    ];
    for (name, value) in shape.names().iter().zip(&values) {
        set(&out, name, value);
    }
    out.into()
}

/// The metadata in the JS object `value` (named `what` in messages, its fields named as `shape`
/// says), checking each field's type and range and refusing unknown fields; the error says which
/// field is wrong and what it holds:
/// `session.metadata.turnCount must be a whole number from 0 to 4294967295, got 1.5`.
pub(crate) fn metadata_from_js(
    value: &JsValue,
    what: &str,
    shape: Shape,
) -> std::result::Result<SessionMetadata, String> {
    if !value.is_object() || Array::is_array(value) {
        return Err(format!("{what} must be an object, got {}", describe(value)));
    }
    let [id, name, tags, agent_name, created_at, updated_at, turn_count, total_tokens] =
        shape.names();
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
    let name = match get(value, name) {
        v if v.is_null() || v.is_undefined() => None,
        _ => Some(string(name)?),
    };
    let tags_value = get(value, tags);
    let tags = match tags_value.dyn_ref::<Array>() {
        Some(list) => (0..list.length())
            .map(|i| {
                let tag = list.get(i);
                if is_well_formed_string(&tag) {
                    Ok(tag.as_string().unwrap_or_default())
                } else {
                    Err(wrong(
                        &format!("{tags}[{i}]"),
                        "a string without lone surrogates",
                        &tag,
                    ))
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()?,
        None => return Err(wrong(tags, "an array of strings", &tags_value)),
    };
    let meta = SessionMetadata {
        id: string(id)?,
        name,
        tags,
        agent_name: string(agent_name)?,
        created_at: number(created_at, MAX_SAFE_INTEGER)? as i64,
        updated_at: number(updated_at, MAX_SAFE_INTEGER)? as i64,
        turn_count: number(turn_count, u64::from(u32::MAX))? as u32,
        total_tokens: number(total_tokens, MAX_SAFE_INTEGER)?,
    };
    let keys = Object::keys(value.unchecked_ref::<Object>());
    for key in keys.iter() {
        let key = key.as_string().unwrap_or_default();
        if !shape.names().contains(&key.as_str()) && !get(value, &key).is_undefined() {
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
