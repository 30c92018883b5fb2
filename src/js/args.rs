//! The facade's arguments: JS values checked and converted for the store, each refusal an
//! `INVALID_INPUT` that names the argument. Values are read in JS (`convert.js`), where a
//! throwing getter or a revoked Proxy becomes a refusal rather than a throw.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::idb::{EncodedOptions, EncodedSession, OpenOptions, WRITE_CHUNK};
use crate::js_value::{describe, is_well_formed_string, metadata_from_js, whole, Shape};
use crate::portable::OnConflict;
use crate::rules::{MAX_DEPTH, MAX_SAFE_INTEGER};
use crate::search::{Filter, SearchOptions, DEFAULT_SEARCH_LIMIT};

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
    #[wasm_bindgen(js_name = encodeValue, catch)]
    fn encode_value(value: &JsValue, what: &str, max_depth: u32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = copyArray, catch)]
    fn copy_array(value: &JsValue, what: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = readOptions, catch)]
    fn read_options(value: &JsValue, what: &str, fields: &Array) -> Result<Array, JsValue>;
}

/// What a `convert.js` helper threw: its refusal of the input as `INVALID_INPUT`; anything
/// else is a bug in the helper, and says so.
pub(crate) fn refused(helper: &str, thrown: JsValue) -> Error {
    let field = |name: &str| {
        Reflect::get(&thrown, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
    };
    match (field("name").as_deref(), field("message")) {
        (Some("InvalidInput"), Some(message)) => Error::invalid(message),
        (name, message) => Error::Internal {
            message: format!(
                "{helper} failed: {}: {}",
                name.unwrap_or("(no name)"),
                message.unwrap_or_else(|| format!("{thrown:?}"))
            ),
        },
    }
}

/// A session from JS, checked and encoded for storage (its metadata checked by the store).
pub(crate) fn session_arg(value: &JsValue) -> Result<EncodedSession, Error> {
    let encoded = encode_session(value, WRITE_CHUNK as u32, MAX_DEPTH as u32)
        .map_err(|e| refused("encodeSession", e))?;
    let field = |name: &str| Reflect::get(&encoded, &JsValue::from_str(name)).unwrap_or_default();
    let metadata = metadata_from_js(&field("metadata"), "session.metadata", Shape::Js)
        .map_err(Error::invalid)?;
    Ok(EncodedSession {
        metadata,
        chunks: field("chunks").unchecked_into(),
        state: field("state"),
        message_count: field("count").as_f64().unwrap_or(0.0) as u64,
    })
}

/// A string argument, refusing other types and strings with lone surrogates (never replaced).
pub(crate) fn string_arg(value: &JsValue, what: &str) -> Result<String, Error> {
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

/// An optional string argument: absent, `undefined` and `null` are `None`.
pub(crate) fn optional_string_arg(
    value: Option<JsValue>,
    what: &str,
) -> Result<Option<String>, Error> {
    match value {
        Some(v) if !v.is_null() && !v.is_undefined() => string_arg(&v, what).map(Some),
        _ => Ok(None),
    }
}

/// An array of strings named `what` (tags, ids).
pub(crate) fn strings_arg(value: &JsValue, what: &str) -> Result<Vec<String>, Error> {
    let strings = copy_array(value, what).map_err(|e| refused("copyArray", e))?;
    if strings.is_null() {
        return Err(Error::invalid(format!(
            "{what} must be an array of strings"
        )));
    }
    let strings: Array = strings.unchecked_into();
    (0..strings.length())
        .map(|i| string_arg(&strings.get(i), &format!("{what}[{i}]")))
        .collect()
}

/// `{ ids }` of `export()`: the ids to export, or `None` for all.
pub(crate) fn export_options_arg(options: Option<JsValue>) -> Result<Option<Vec<String>>, Error> {
    let [ids] = options_arg(options, "export options", ["ids"])?;
    match ids.is_undefined() {
        true => Ok(None),
        false => strings_arg(&ids, "ids").map(Some),
    }
}

/// `{ onConflict }` of `import()`: `"fail"` when absent.
pub(crate) fn import_options_arg(options: Option<JsValue>) -> Result<OnConflict, Error> {
    let [on_conflict] = options_arg(options, "import options", ["onConflict"])?;
    if on_conflict.is_undefined() {
        return Ok(OnConflict::default());
    }
    match on_conflict.as_string().as_deref() {
        Some("skip") => Ok(OnConflict::Skip),
        Some("replace") => Ok(OnConflict::Replace),
        Some("fork") => Ok(OnConflict::Fork),
        Some("fail") => Ok(OnConflict::Fail),
        _ => Err(Error::invalid(format!(
            "onConflict must be \"skip\", \"replace\", \"fork\" or \"fail\", got {}",
            describe(&on_conflict)
        ))),
    }
}

/// A whole number from 0 to `max`, refusing everything else (fractions, NaN, strings, ...).
pub(crate) fn whole_number(value: &JsValue, what: &str, max: u64) -> Result<u64, Error> {
    whole(value, max).ok_or_else(|| {
        Error::invalid(format!(
            "{what} must be a whole number from 0 to {max}, got {}",
            describe(value)
        ))
    })
}

/// A whole number that fits a `u32`.
pub(crate) fn count_arg(value: &JsValue, what: &str) -> Result<u32, Error> {
    whole_number(value, what, u64::from(u32::MAX)).map(|n| n as u32)
}

/// The named fields of an options object (each `undefined` when absent), refusing other fields.
pub(crate) fn options_arg<const N: usize>(
    value: Option<JsValue>,
    what: &str,
    fields: [&str; N],
) -> Result<[JsValue; N], Error> {
    let names: Array = fields.iter().map(|f| JsValue::from_str(f)).collect();
    let read = read_options(&value.unwrap_or_default(), what, &names)
        .map_err(|e| refused("readOptions", e))?;
    Ok(std::array::from_fn(|i| read.get(i as u32)))
}

/// What `list()` reads: a page `{ offset, limit }` (`None`: every session) of the sessions a
/// filter `{ tag, agentName }` admits.
pub(crate) struct ListArgs {
    pub page: Option<(usize, usize)>,
    pub filter: Filter,
}

/// The options of `list()`.
pub(crate) fn list_arg(options: Option<JsValue>) -> Result<ListArgs, Error> {
    let fields = ["offset", "limit", "tag", "agentName"];
    let [offset, limit, tag, agent] = options_arg(options, "list options", fields)?;
    let filter = filter_arg(tag, agent)?;
    if [&offset, &limit].iter().all(|v| v.is_undefined()) {
        return Ok(ListArgs { page: None, filter });
    }
    let offset = match offset.is_undefined() {
        true => 0,
        false => whole_number(&offset, "offset", MAX_SAFE_INTEGER)?,
    };
    let limit = match limit.is_undefined() {
        true => MAX_SAFE_INTEGER,
        false => whole_number(&limit, "limit", MAX_SAFE_INTEGER)?,
    };
    let page = Some((offset as usize, limit as usize));
    Ok(ListArgs { page, filter })
}

/// The options of `search()`: `{ limit, tag, agentName }`.
pub(crate) fn search_options_arg(options: Option<JsValue>) -> Result<SearchOptions, Error> {
    let [limit, tag, agent] =
        options_arg(options, "search options", ["limit", "tag", "agentName"])?;
    let limit = match limit.is_undefined() {
        true => DEFAULT_SEARCH_LIMIT,
        false => whole_number(&limit, "limit", MAX_SAFE_INTEGER)? as usize,
    };
    Ok(SearchOptions {
        limit,
        filter: filter_arg(tag, agent)?,
    })
}

fn filter_arg(tag: JsValue, agent: JsValue) -> Result<Filter, Error> {
    Ok(Filter {
        tag: optional_string_arg(Some(tag), "tag")?,
        agent_name: optional_string_arg(Some(agent), "agentName")?,
    })
}

/// The options of `SessionStore.open()`: `{ search, onIndexProgress }`.
pub(crate) fn open_options_arg(options: Option<JsValue>) -> Result<OpenOptions, Error> {
    let [search, progress] = options_arg(options, "open options", ["search", "onIndexProgress"])?;
    let search = match search.is_undefined() {
        true => true,
        false => search
            .as_bool()
            .ok_or_else(|| Error::invalid("open options: search must be a boolean"))?,
    };
    let on_index_progress = match progress.is_undefined() {
        true => None,
        false => Some(
            progress
                .dyn_into()
                .map_err(|_| Error::invalid("open options: onIndexProgress must be a function"))?,
        ),
    };
    Ok(OpenOptions {
        search,
        on_index_progress,
    })
}

/// The messages of `append()`: an array of JSON values, as one JSON text each.
pub(crate) fn messages_arg(value: &JsValue) -> Result<Vec<JsValue>, Error> {
    let messages = copy_array(value, "messages").map_err(|e| refused("copyArray", e))?;
    if messages.is_null() {
        return Err(Error::invalid("messages must be an array"));
    }
    let texts = encode_messages(&messages, "messages", MAX_DEPTH as u32)
        .map_err(|e| refused("encodeMessages", e))?;
    Ok(texts.iter().collect())
}

/// One JSON value (a message), as its JSON text.
pub(crate) fn value_arg(value: &JsValue, what: &str) -> Result<JsValue, Error> {
    encode_value(value, what, MAX_DEPTH as u32).map_err(|e| refused("encodeValue", e))
}

/// `{ tokens, state }` of `append()` and `replaceLast()`: tokens 0 and the state unchanged when
/// absent.
pub(crate) fn turn_options_arg(
    options: Option<JsValue>,
    what: &str,
) -> Result<EncodedOptions, Error> {
    let [tokens, state] = options_arg(options, what, ["tokens", "state"])?;
    let tokens = match tokens.is_undefined() {
        true => 0,
        false => whole_number(&tokens, "tokens", MAX_SAFE_INTEGER)?,
    };
    let state = match state.is_undefined() {
        true => None,
        false => Some(value_arg(&state, "state")?),
    };
    Ok(EncodedOptions { tokens, state })
}
