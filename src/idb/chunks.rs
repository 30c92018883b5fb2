//! Chunks: a session's messages as JSON array texts, keyed `[id, index of the first message]`.
//! Everything done to chunk texts lives here: their keys and key ranges, cutting one short,
//! extending one (both without parsing a message), planning what an append writes, and the
//! memory of the last chunk each session was left with by this connection.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Array, JsString};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbKeyRange;

use super::json_array::{cut_array, last_element, Cut, Last};
use super::schema::{TAIL_LEN, WRITE_CHUNK};
use crate::error::{Error, Result};

/// A chunk: the index of its first message and its JSON array text (a JS string).
#[derive(Clone)]
pub(crate) struct Chunk {
    pub start: u64,
    pub text: JsValue,
}

/// Key of the chunk of session `id` whose first message is message `start`.
pub(crate) fn key(id: &str, start: u64) -> JsValue {
    Array::of2(&JsValue::from_str(id), &JsValue::from_f64(start as f64)).into()
}

/// Range of the chunks of session `id` starting at message `from` or later.
pub(crate) fn from(id: &str, from: u64) -> Result<JsValue, JsValue> {
    let end = Array::of2(&JsValue::from_str(id), &JsValue::from_f64(f64::INFINITY));
    IdbKeyRange::bound(&key(id, from), &end).map(Into::into)
}

/// Range of the chunks of session `id` starting before message `to` (`to` > 0).
pub(crate) fn before(id: &str, to: u64) -> Result<JsValue, JsValue> {
    IdbKeyRange::bound_with_lower_open_and_upper_open(&key(id, 0), &key(id, to), false, true)
        .map(Into::into)
}

/// The first message index in a chunk key `[id, start]`.
pub(crate) fn start_of(id: &str, key: &JsValue) -> Result<u64> {
    let start = key.unchecked_ref::<Array>().get(1);
    crate::js_value::whole(&start, crate::rules::MAX_SAFE_INTEGER)
        .ok_or_else(|| damaged(id, "a chunk key is not [id, start]"))
}

/// The chunks a save writes for its encoded texts: [`WRITE_CHUNK`] messages each, from 0.
pub(crate) fn saved(texts: &Array) -> Vec<Chunk> {
    (0..texts.length())
        .map(|n| Chunk {
            start: u64::from(n) * WRITE_CHUNK as u64,
            text: texts.get(n),
        })
        .collect()
}

/// The chunks an append of the message texts `texts` writes to a session of `count` messages
/// whose last chunk is `last`: that chunk topped up while it holds fewer than [`TAIL_LEN`]
/// messages, then new chunks. Nothing before the last chunk is touched, nothing is parsed.
pub(crate) fn appended(
    id: &str,
    last: Option<&Chunk>,
    count: u64,
    texts: &[JsValue],
) -> Result<Vec<Chunk>> {
    if last.map_or(count > 0, |c| c.start >= count) {
        return Err(damaged(
            id,
            format!("{count} messages, but the last chunk is not where they end"),
        ));
    }
    let mut written = Vec::new();
    let mut rest = texts;
    if let Some(last) = last.filter(|c| count - c.start < TAIL_LEN as u64) {
        let room = TAIL_LEN - (count - last.start) as usize;
        let (head, more) = rest.split_at(rest.len().min(room));
        if !head.is_empty() {
            written.push(Chunk {
                start: last.start,
                text: extend(id, &last.text, head)?,
            });
            rest = more;
        }
    }
    let mut next = count + (texts.len() - rest.len()) as u64;
    for piece in rest.chunks(WRITE_CHUNK) {
        written.push(Chunk {
            start: next,
            text: extend(id, &JsValue::from_str("[]"), piece)?,
        });
        next += piece.len() as u64;
    }
    Ok(written)
}

/// The last chunk `last` of a session of `count` messages with its last message replaced by the
/// JSON text `message`. Copies into wasm only the end of the chunk the scan needs (a suffix that
/// doubles until it holds the last message's start), so the cost follows that message, not the
/// chunk or the history.
pub(crate) fn with_last_replaced(
    id: &str,
    last: Option<&Chunk>,
    count: u64,
    message: &JsValue,
) -> Result<Chunk> {
    let last = last.filter(|c| c.start < count).ok_or_else(|| {
        damaged(
            id,
            format!("{count} messages, but the last chunk is not where they end"),
        )
    })?;
    let text: &JsString = last
        .text
        .dyn_ref()
        .ok_or_else(|| damaged(id, "a chunk is not text"))?;
    let length = text.length();
    let mut take = 512.min(length);
    loop {
        // A suffix may start inside a surrogate pair, which is then replaced: only before the cut.
        let suffix = String::from(text.slice(length - take, length));
        match last_element(&suffix).map_err(|e| damaged(id, e))? {
            Last::At(start) => {
                let cut = length - suffix[start..].encode_utf16().count() as u32;
                let text = text
                    .slice(0, cut)
                    .concat(message)
                    .concat(&JsValue::from_str("]"));
                return Ok(Chunk {
                    start: last.start,
                    text: text.into(),
                });
            }
            Last::Empty => return Err(damaged(id, "the last chunk holds no message")),
            Last::NeedMore if take >= length => {
                return Err(damaged(id, "the last chunk is not a JSON array"))
            }
            Last::NeedMore => take = take.saturating_mul(2).min(length),
        }
    }
}

/// The chunk text `text` cut to its first `keep` messages, or `None` if it holds no more. Copies
/// into wasm only the start of the text the cut needs (a prefix that doubles until it holds the
/// cut), not a whole chunk of up to [`WRITE_CHUNK`] messages.
pub(crate) fn cut(id: &str, text: &JsValue, keep: u64) -> Result<Option<JsValue>> {
    let text: &JsString = text
        .dyn_ref()
        .ok_or_else(|| damaged(id, "a chunk is not text"))?;
    let keep = usize::try_from(keep).unwrap_or(usize::MAX);
    let length = text.length();
    let mut take = (keep.min(u32::MAX as usize) as u32)
        .saturating_add(1)
        .saturating_mul(512)
        .min(length);
    loop {
        // A prefix may end inside a surrogate pair, which is then replaced: only past the cut.
        let prefix = String::from(text.slice(0, take));
        match cut_array(&prefix, keep).map_err(|e| damaged(id, e))? {
            Cut::At(end) => return Ok(Some(JsValue::from_str(&format!("{}]", &prefix[..end])))),
            Cut::Whole => return Ok(None),
            Cut::NeedMore if take >= length => {
                return Err(damaged(id, "a chunk is not a terminated JSON array"))
            }
            Cut::NeedMore => take = take.saturating_mul(2).min(length),
        }
    }
}

/// The chunk text `text` without its first `skip` messages (the messages from `skip` on). The
/// whole text is copied into wasm: what it returns is about to be sent anyway.
pub(crate) fn skip(id: &str, text: &JsValue, skip: u64) -> Result<JsValue> {
    if skip == 0 {
        return Ok(text.clone());
    }
    let text = text
        .as_string()
        .ok_or_else(|| damaged(id, "a chunk is not text"))?;
    let skip = usize::try_from(skip).unwrap_or(usize::MAX);
    match cut_array(&text, skip).map_err(|e| damaged(id, e))? {
        // `end` is at the comma after the last message skipped.
        Cut::At(end) => Ok(JsValue::from_str(&format!("[{}", &text[end + 1..]))),
        Cut::Whole => Ok("[]".into()),
        Cut::NeedMore => Err(damaged(id, "a chunk is not a terminated JSON array")),
    }
}

/// The JSON array text `array` (as stored: `[...]`, no spaces) with the JSON texts `items`
/// appended, built from JS strings without copying them into wasm.
fn extend(id: &str, array: &JsValue, items: &[JsValue]) -> Result<JsValue> {
    let array: &JsString = array
        .dyn_ref()
        .filter(|a: &&JsString| a.starts_with("[", 0) && a.ends_with("]", a.length() as i32))
        .ok_or_else(|| damaged(id, "the last chunk is not a JSON array text"))?;
    let items: Array = items.iter().collect();
    let length = array.length();
    let separator = if length > 2 { "," } else { "" };
    Ok(array
        .slice(0, length - 1)
        .concat(&JsValue::from_str(separator))
        .concat(&items.join(",").into())
        .concat(&JsValue::from_str("]"))
        .into())
}

/// The error for stored messages that are not what the records say: the one wording for it.
pub(crate) fn damaged(id: &str, why: impl std::fmt::Display) -> Error {
    Error::storage(format!("messages of session \"{id}\" are damaged: {why}"))
}

/// What a write leaves as a session's last chunk, for this connection to remember.
pub(crate) enum LastChunk {
    /// The session's last chunk (`None`: it has no messages).
    Known(Option<Chunk>),
    /// Not read by this write: the next append reads it.
    Unknown,
}

/// The last chunk of each session as this connection last wrote it, with that write's `rev`,
/// so an append need not read it back: used only while the stored `rev` is still that one.
#[derive(Default)]
pub(crate) struct Tails(RefCell<HashMap<String, Remembered>>);

/// Most sessions a connection remembers; past that it forgets them all and reads again.
const REMEMBERED: usize = 1024;

/// What a connection remembers of one session's last chunk.
pub(crate) struct Remembered {
    rev: f64,
    last: Option<Chunk>,
}

impl Remembered {
    /// The remembered last chunk, if the session's stored `rev` is still the one written with it.
    pub fn current(self, stored_rev: f64) -> Option<Option<Chunk>> {
        (stored_rev == self.rev).then_some(self.last)
    }
}

impl Tails {
    /// Takes (and so forgets) what is remembered of session `id`.
    pub fn take(&self, id: &str) -> Option<Remembered> {
        self.0.borrow_mut().remove(id)
    }

    pub fn forget(&self, id: &str) {
        self.0.borrow_mut().remove(id);
    }

    pub fn remember(&self, id: String, rev: f64, last: LastChunk) {
        let LastChunk::Known(last) = last else {
            return;
        };
        let mut tails = self.0.borrow_mut();
        if tails.len() >= REMEMBERED {
            tails.clear();
        }
        tails.insert(id, Remembered { rev, last });
    }
}
