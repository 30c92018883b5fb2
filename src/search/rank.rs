//! What a query is, which messages it matches, how hits are ordered, and the snippet of a hit:
//! decided here once for every store.

use std::ops::Range;

use super::words::{self, Word};
use crate::error::{Error, Result};

/// Most words a query may hold.
pub const MAX_QUERY_WORDS: usize = 16;
/// Query words count as near each other within this many consecutive words of a message.
pub const NEAR_WORDS: usize = 8;
/// Characters of a snippet before its first match.
const SNIPPET_BEFORE: usize = 40;
/// Characters of a snippet, at most (and `…` at either end where the text was cut).
const SNIPPET_CHARS: usize = 160;

/// A parsed query: its distinct keys (see [`words::keys`]), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    keys: Vec<String>,
}

impl Query {
    /// Parses `text`; `INVALID_INPUT` if it holds no word, or more than [`MAX_QUERY_WORDS`].
    pub fn parse(text: &str) -> Result<Query> {
        let words = words::words(text);
        let (keys, count) = (words::keys_of(&words), words.len());
        if keys.is_empty() {
            return Err(Error::invalid(format!(
                "search query {text:?} holds no word (a letter or a digit)"
            )));
        }
        if count > MAX_QUERY_WORDS {
            return Err(Error::invalid(format!(
                "search query holds {count} words; at most {MAX_QUERY_WORDS} are allowed"
            )));
        }
        Ok(Query { keys })
    }

    /// Its distinct word keys, in order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Whether the word keyed `key` matches a word of the query (is it, or starts with it).
    pub fn matches(&self, key: &str) -> bool {
        self.keys.iter().any(|q| key.starts_with(q.as_str()))
    }

    /// How many of the query's words are near each other in a message whose distinct word
    /// keys, in order of first occurrence, are `message_keys`: the most query words matched
    /// within any [`NEAR_WORDS`] consecutive keys (1 to the query's word count). `None` if a
    /// query word matches no key: not a hit.
    pub fn nearness<S: AsRef<str>>(&self, message_keys: &[S]) -> Option<usize> {
        // Per key, the query words it matches, one bit each (a query holds at most 16).
        let masks: Vec<u32> = message_keys
            .iter()
            .map(|k| {
                let k = k.as_ref();
                self.keys
                    .iter()
                    .enumerate()
                    .filter(|(_, q)| k.starts_with(q.as_str()))
                    .fold(0, |mask, (i, _)| mask | 1 << i)
            })
            .collect();
        let every = (1u32 << self.keys.len()) - 1;
        if masks.iter().fold(0, |all, m| all | m) != every {
            return None;
        }
        (0..masks.len())
            .map(|end| {
                let window = &masks[end.saturating_sub(NEAR_WORDS - 1)..=end];
                window.iter().fold(0, |near, m| near | m).count_ones() as usize
            })
            .max()
    }

    /// Whether `nearness` is the best a message can have for this query: all its words near.
    pub fn all_near(&self, nearness: usize) -> bool {
        nearness == self.keys.len()
    }

    /// The snippet of a hit in a message whose searched text is `text`: up to
    /// [`SNIPPET_CHARS`] characters around its first matching word, newlines as spaces, `…`
    /// where the text was cut; and the byte ranges of the snippet's matching words.
    pub fn snippet(&self, text: &str) -> (String, Vec<Range<usize>>) {
        let words = words::words(text);
        let found: Vec<Range<usize>> = (0..words.len())
            .filter_map(|i| self.match_at(&words, i))
            .collect();
        let (first, first_end) = found.first().map_or((0, 0), |r| (r.start, r.end));
        // Cut at spaces where there are some, not inside words.
        let mut start = back_chars(text, first, SNIPPET_BEFORE);
        if start > 0 {
            start = text[start..first]
                .find(char::is_whitespace)
                .map_or(start, |i| start + i + 1);
        }
        // At least the whole first match, however long its run.
        let mut end = forward_chars(text, start, SNIPPET_CHARS).max(first_end);
        if end < text.len() {
            end = text[first_end..end]
                .rfind(char::is_whitespace)
                .map_or(end, |i| first_end + i);
        }
        let (before, after) = (
            if start > 0 { "…" } else { "" },
            if end < text.len() { "…" } else { "" },
        );
        let snippet = format!("{before}{}{after}", text[start..end].replace('\n', " "));
        let matches = found
            .into_iter()
            .filter(|r| r.start >= start && r.end <= end)
            .map(|r| r.start - start + before.len()..r.end - start + before.len())
            .collect();
        (snippet, matches)
    }

    /// The bytes a query word matches at `words[i]`: the word, if its key starts with one;
    /// else, if the run from it on does, the words of the run up to that query word's length.
    fn match_at(&self, words: &[Word], i: usize) -> Option<Range<usize>> {
        if self.matches(&words[i].key) {
            return Some(words[i].range.clone());
        }
        let run = words::run_key(words, i)?;
        let q = self.keys.iter().find(|q| run.starts_with(q.as_str()))?;
        let mut covered = 0;
        let mut end = words[i].range.end;
        for w in &words[i..] {
            covered += w.key.chars().count();
            end = w.range.end;
            if covered >= q.chars().count() {
                break;
            }
        }
        Some(words[i].range.start..end)
    }
}

/// The byte offset `n` characters before `at` (0 at most).
fn back_chars(text: &str, at: usize, n: usize) -> usize {
    text[..at]
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i)
}

/// The byte offset `n` characters after `at` (the text's end at most).
fn forward_chars(text: &str, at: usize, n: usize) -> usize {
    text[at..]
        .char_indices()
        .nth(n)
        .map_or(text.len(), |(i, _)| at + i)
}

/// A message a query matched, with what orders it among the hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Its session's place in `list` order (0: the most recently written).
    pub session_rank: usize,
    /// Its place in the history.
    pub message_index: u64,
    /// [`Query::nearness`] in it.
    pub nearness: usize,
}

/// Orders hits best first: more of the query's words near each other, then the most recently
/// written session, then the latest message.
pub fn best_first(candidates: &mut [Candidate]) {
    use std::cmp::Reverse;
    candidates.sort_unstable_by_key(|c| {
        (
            Reverse(c.nearness),
            c.session_rank,
            Reverse(c.message_index),
        )
    });
}
