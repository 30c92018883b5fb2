//! The searched text of a message, and its words: the one rule every store indexes and queries
//! by. In the browser the words come from `Intl.Segmenter` (`src/js/search.js`, handed the
//! limits below), elsewhere from Unicode's default word boundaries (UAX #29, which, having no
//! dictionary, makes each Chinese or Japanese ideograph a word of its own). Both keep a segment
//! holding a letter or a digit, and key it by its lowercase letters with accents removed (NFD,
//! marks dropped, NFC), cut to [`MAX_WORD_CHARS`]. The conformance suite's search cases run on both
//! (in the browser and natively), and `tests/smoke/search.test.mjs` in each engine's segmenter.

use std::ops::Range;

use serde_json::Value;

use super::UNSEARCHED_KEYS;

/// Longest word key, in characters: a longer word (a hash, a path) is kept by its first ones,
/// and a query word is cut alike, so it still finds it.
pub const MAX_WORD_CHARS: usize = 32;

/// A word of a text: where it is, in bytes, and the key it is indexed and matched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Its bytes in the text.
    pub range: Range<usize>,
    /// Lowercase, without accents, at most [`MAX_WORD_CHARS`] characters.
    pub key: String,
}

/// The searched text of a message: its searched strings (see the module `search`) but the
/// empty ones, in order, joined by newlines.
pub fn message_text(message: &Value) -> String {
    fn collect(value: &Value, out: &mut String) {
        match value {
            Value::String(s) if s.is_empty() => {}
            Value::String(s) => {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(s);
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            Value::Object(map) => map
                .iter()
                .filter(|(k, _)| !UNSEARCHED_KEYS.contains(&k.as_str()))
                .for_each(|(_, v)| collect(v, out)),
            _ => {}
        }
    }
    let mut out = String::new();
    collect(message, &mut out);
    out
}

/// The distinct keys of `text`, in the order they first occur: what the index keeps of a
/// message. Each word's key, and after it, when the word runs on into the next with nothing
/// between them (as in Chinese, Japanese or Thai), the key of the run from that word on, cut to
/// [`MAX_WORD_CHARS`]: a query word then matches however the segmenter split the text around
/// it, as the prefix of a run.
pub fn keys(text: &str) -> Vec<String> {
    keys_of(&words(text))
}

/// [`keys`] of the words of a text.
pub fn keys_of(words: &[Word]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for i in 0..words.len() {
        for key in std::iter::once(Some(words[i].key.clone())).chain([run_key(words, i)]) {
            if let Some(key) = key.filter(|k| seen.insert(k.clone())) {
                out.push(key);
            }
        }
    }
    out
}

/// The key of the run of words from `words[i]` on, each starting where the one before ended,
/// cut to [`MAX_WORD_CHARS`]; `None` if the next word does not follow on.
pub fn run_key(words: &[Word], i: usize) -> Option<String> {
    let follows = |j: usize| j < words.len() && words[j - 1].range.end == words[j].range.start;
    if !follows(i + 1) {
        return None;
    }
    let mut run = String::new();
    let mut chars = 0;
    let mut j = i;
    while j == i || follows(j) {
        for c in words[j].key.chars() {
            if chars == MAX_WORD_CHARS {
                return Some(run);
            }
            run.push(c);
            chars += 1;
        }
        j += 1;
    }
    Some(run)
}

/// The words of `text`, in order.
#[cfg(not(target_arch = "wasm32"))]
pub fn words(text: &str) -> Vec<Word> {
    use unicode_segmentation::UnicodeSegmentation;
    text.split_word_bound_indices()
        .filter(|(_, segment)| segment.chars().any(char::is_alphanumeric))
        .map(|(start, segment)| Word {
            range: start..start + segment.len(),
            key: key(segment),
        })
        .collect()
}

/// The key of a word: lowercase, accents removed, cut to [`MAX_WORD_CHARS`] characters.
#[cfg(not(target_arch = "wasm32"))]
pub fn key(segment: &str) -> String {
    use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};
    let bare: String = segment
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .nfc()
        .collect();
    bare.to_lowercase().chars().take(MAX_WORD_CHARS).collect()
}

/// The words of `text`, in order, as the browser's `Intl.Segmenter` finds them.
#[cfg(target_arch = "wasm32")]
pub fn words(text: &str) -> Vec<Word> {
    // [start, end, key, ...], the offsets in UTF-16 code units.
    let flat = browser::words(text, MAX_WORD_CHARS as u32);
    let mut bytes = Utf16ToBytes::new(text);
    (0..flat.length() / 3)
        .map(|i| {
            let start = bytes.at(flat.get(i * 3).as_f64().unwrap_or(0.0) as usize);
            let end = bytes.at(flat.get(i * 3 + 1).as_f64().unwrap_or(0.0) as usize);
            Word {
                range: start..end,
                key: flat.get(i * 3 + 2).as_string().unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(target_arch = "wasm32")]
pub(crate) mod browser {
    use js_sys::Array;
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/src/js/convert.js")]
    extern "C" {
        /// The words of `text`, flat: `[start, end, key, ...]`, offsets in UTF-16 code units.
        pub fn words(text: &str, max_chars: u32) -> Array;

        /// The word blocks (see `idb/schema.rs`) and searched text of JSON-encoded messages,
        /// by the rule of this module.
        pub type Searcher;
        #[wasm_bindgen(constructor)]
        pub fn new(unsearched_keys: Array, max_chars: u32, block_len: u32) -> Searcher;
        /// The searched text of message `offset` of a chunk (a JSON array text).
        #[wasm_bindgen(method, catch, js_name = textAt)]
        pub fn text_at(this: &Searcher, chunk: &JsValue, offset: u32) -> Result<String, JsValue>;
        /// The blocks of the messages whose JSON texts are `texts`, `block_len` messages each but
        /// the last.
        #[wasm_bindgen(method, catch, js_name = messageBlocks)]
        pub fn message_blocks(this: &Searcher, texts: &Array) -> Result<Array, JsValue>;
        /// The blocks of the messages of a chunk (a JSON array text) from its message `from` on.
        #[wasm_bindgen(method, catch, js_name = chunkBlocks)]
        pub fn chunk_blocks(this: &Searcher, json: &JsValue, from: u32) -> Result<Array, JsValue>;
        /// How many leading messages two histories share, given as their chunks' texts in order
        /// (the old one holding `old_count`).
        #[wasm_bindgen(js_name = sharedMessages)]
        pub fn shared_messages(old: &Array, old_count: f64, new: &Array) -> f64;
    }

    /// A searcher with this crate's limits, making blocks of `block_len` messages.
    pub fn searcher(block_len: usize) -> Searcher {
        let unsearched = super::UNSEARCHED_KEYS
            .iter()
            .map(|k| JsValue::from_str(k))
            .collect();
        Searcher::new(unsearched, super::MAX_WORD_CHARS as u32, block_len as u32)
    }
}

/// Byte offsets of a text for UTF-16 offsets asked for in increasing order.
#[cfg(target_arch = "wasm32")]
struct Utf16ToBytes<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    units: usize,
    len: usize,
}

#[cfg(target_arch = "wasm32")]
impl<'a> Utf16ToBytes<'a> {
    fn new(text: &'a str) -> Self {
        Utf16ToBytes {
            chars: text.char_indices().peekable(),
            units: 0,
            len: text.len(),
        }
    }

    fn at(&mut self, units: usize) -> usize {
        while self.units < units {
            match self.chars.next() {
                Some((_, c)) => self.units += c.len_utf16(),
                None => return self.len,
            }
        }
        self.chars.peek().map_or(self.len, |(i, _)| *i)
    }
}
