//! The reads `search` and `list_filtered` make: of the search index's `word` index and blocks,
//! and of the filters' indexes (`tag`, `agent`), in any transaction.

use std::collections::HashSet;
use std::future::Future;

use js_sys::{Array, Float64Array, Uint32Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbKeyRange;

use super::SessionTx;
use crate::error::{Error, Result};
use crate::idb::requests::{self, NewestFirst};
use crate::idb::schema::{AGENT, SESSIONS, TAG, UPDATED_AT, WORD, WORDS};
use crate::search::Filter;

/// Blocks read from the `word` index's keys: `(session id, first message)` pairs, each id once.
pub(crate) struct Blocks {
    pub ids: Vec<String>,
    /// Per block, its session's place in `ids`.
    pub session: Vec<u32>,
    pub start: Vec<f64>,
}

/// Messages holding every word of a query, found in the blocks read: per message, its
/// session's place in `ids`, its index and its word keys; and how many blocks were read.
pub(crate) struct Holding {
    pub ids: Vec<String>,
    pub read: usize,
    pub session: Vec<u32>,
    pub index: Vec<f64>,
    pub words: Vec<Vec<String>>,
}

impl Holding {
    fn from_js(found: JsValue) -> Holding {
        let found: Array = found.unchecked_into();
        let words = found.get(4).unchecked_into::<Array>();
        Holding {
            ids: strings(&found.get(0)),
            read: found.get(1).as_f64().unwrap_or(0.0) as usize,
            session: found.get(2).unchecked_into::<Uint32Array>().to_vec(),
            index: found.get(3).unchecked_into::<Float64Array>().to_vec(),
            words: words.iter().map(|w| strings(&w)).collect(),
        }
    }
}

impl<M> SessionTx<'_, M> {
    /// The key range of the `word` index holding every word that starts with `prefix`.
    fn prefix_range(&self, prefix: &str) -> Result<IdbKeyRange> {
        // Every string that starts with `prefix` sorts between it and it followed by U+FFFF
        // (IndexedDB compares UTF-16 code units; astral characters are surrogates, below it).
        let upper = format!("{prefix}\u{FFFF}");
        IdbKeyRange::bound(&JsValue::from_str(prefix), &JsValue::from_str(&upper))
            .map_err(|e| self.fail(&e))
    }

    /// How many (block, word) entries of the `word` index start with `prefix`, or `cap` if at
    /// least that many (then cheaper than counting them all).
    pub fn count_with_prefix(
        &self,
        prefix: &str,
        cap: f64,
    ) -> Result<impl Future<Output = Result<f64>>> {
        let range = self.prefix_range(prefix)?;
        let index = self
            .tx
            .object_store(WORDS)
            .and_then(|s| s.index(WORD))
            .map_err(|e| self.fail(&e))?;
        let read = requests::count_up_to(&index, &range, cap);
        Ok(self.wait(read, |n| Ok(n.as_f64().unwrap_or(0.0))))
    }

    /// The blocks holding a word that starts with `prefix`, from the index's keys alone.
    pub fn blocks_with_prefix(&self, prefix: &str) -> Result<impl Future<Output = Result<Blocks>>> {
        let range = self.prefix_range(prefix)?;
        let read = self.send(WORDS, |s| s.index(WORD)?.get_all_keys_with_key(&range))?;
        Ok(self.wait(read, |keys| {
            let split = requests::split_block_keys(&keys);
            Ok(Blocks {
                ids: strings(&split.get(0)),
                session: split.get(1).unchecked_into::<Uint32Array>().to_vec(),
                start: split.get(2).unchecked_into::<Float64Array>().to_vec(),
            })
        }))
    }

    /// Of the blocks keyed `keys` (`[id, start]`), read in that order until `enough` messages
    /// holding a word that starts with each of `prefixes` are found: per message, the place of
    /// its block in `keys` and its index, each block's last message first.
    pub fn first_holding(
        &self,
        keys: &Array,
        prefixes: &Array,
        enough: usize,
    ) -> Result<impl Future<Output = Result<(Vec<u32>, Vec<f64>)>>> {
        let store = self.tx.object_store(WORDS).map_err(|e| self.fail(&e))?;
        let read = requests::first_holding(&store, keys, prefixes, enough as u32);
        Ok(self.wait(read, |found| {
            let found: Array = found.unchecked_into();
            Ok((
                found.get(0).unchecked_into::<Uint32Array>().to_vec(),
                found.get(1).unchecked_into::<Float64Array>().to_vec(),
            ))
        }))
    }

    /// The messages holding a word that starts with each of `prefixes`, of the blocks holding
    /// a word that starts with `rarest`.
    pub fn messages_holding(
        &self,
        rarest: &str,
        prefixes: &Array,
    ) -> Result<impl Future<Output = Result<Holding>>> {
        let range = self.prefix_range(rarest)?;
        let index = self
            .tx
            .object_store(WORDS)
            .and_then(|s| s.index(WORD))
            .map_err(|e| self.fail(&e))?;
        let read = requests::messages_holding(&index, &range, prefixes);
        Ok(self.wait(read, |found| Ok(Holding::from_js(found))))
    }

    /// How many records `store` holds.
    pub fn count(&self, store: &str) -> Result<impl Future<Output = Result<u64>>> {
        let read = self.send(store, |s| s.count())?;
        Ok(self.wait(read, |n| Ok(n.as_f64().unwrap_or(0.0) as u64)))
    }

    /// The ids of the sessions `filter` admits, most recently written first: from the
    /// `updated_at` index, or the `tag` or the `agent` index (a filter with both reads the tag's
    /// and keeps the ids the agent's also holds). Keys only; no record is read.
    pub fn ids_newest_first(
        &self,
        filter: &Filter,
    ) -> Result<impl Future<Output = Result<Vec<String>>>> {
        let ids = match filter.is_empty() {
            true => self.send(SESSIONS, |s| s.index(UPDATED_AT)?.get_all_keys())?,
            false => {
                let (index, range) = self.filter_range(filter)?;
                self.send(SESSIONS, |s| s.index(index)?.get_all_keys_with_key(&range))?
            }
        };
        let agent = match (&filter.tag, &filter.agent_name) {
            (Some(_), Some(agent)) => {
                let range = Self::first_key_range(agent).map_err(|e| self.fail(&e))?;
                Some(self.send(SESSIONS, |s| s.index(AGENT)?.get_all_keys_with_key(&range))?)
            }
            _ => None,
        };
        let (ids, agent) = (self.wait(ids, Ok), agent.map(|a| self.wait(a, Ok)));
        Ok(async move {
            let ids = strings(&ids.await?);
            let ids = ids.into_iter().rev();
            Ok(match agent {
                None => ids.collect(),
                Some(agent) => {
                    let of_agent: HashSet<String> = strings(&agent.await?).into_iter().collect();
                    ids.filter(|id| of_agent.contains(id)).collect()
                }
            })
        })
    }

    /// A walk of the sessions `filter` admits, newest first, for [`next_holding`](Self::next_holding).
    pub fn newest_first(&self, filter: &Filter) -> Result<NewestFirst> {
        let sessions = self.tx.object_store(SESSIONS).map_err(|e| self.fail(&e))?;
        let (index, range, agent) = match filter.is_empty() {
            true => (UPDATED_AT, JsValue::NULL, None),
            false => {
                let (index, range) = self.filter_range(filter)?;
                let agent = filter.tag.as_ref().and(filter.agent_name.clone());
                (index, range.into(), agent)
            }
        };
        let index = sessions.index(index).map_err(|e| self.fail(&e))?;
        Ok(NewestFirst::new(&index, range, agent))
    }

    /// The next `n` sessions of `walker` and, in their blocks, the messages holding a word
    /// that starts with each of `prefixes`; `read` counts the blocks read to find them.
    pub fn next_holding(
        &self,
        walker: &NewestFirst,
        n: usize,
        prefixes: &Array,
    ) -> Result<impl Future<Output = Result<Holding>>> {
        let store = self.tx.object_store(WORDS).map_err(|e| self.fail(&e))?;
        let read = requests::next_holding(walker, &store, n as u32, prefixes);
        Ok(self.wait(read, |found| Ok(Holding::from_js(found))))
    }

    /// The metadata objects of the sessions `filter` (not empty) admits, newest first: `limit`
    /// of them after skipping `offset`, walking the filter's index range from its newest key.
    pub fn metadata_admitted(
        &self,
        filter: &Filter,
        offset: usize,
        limit: usize,
    ) -> Result<impl Future<Output = Result<Array>>> {
        let (index, range) = self.filter_range(filter)?;
        let index = self
            .tx
            .object_store(SESSIONS)
            .and_then(|s| s.index(index))
            .map_err(|e| self.fail(&e))?;
        let agent = match filter.tag.is_some() {
            true => filter.agent_name.clone(),
            false => None,
        };
        let promise =
            requests::metadata_in_range(&index, &range, offset as f64, limit as f64, agent);
        Ok(self.wait(promise, |v| Ok(v.unchecked_into())))
    }

    /// The index and key range holding the sessions of `filter`'s tag, else of its agent.
    fn filter_range(&self, filter: &Filter) -> Result<(&'static str, IdbKeyRange)> {
        let (index, first) = match (&filter.tag, &filter.agent_name) {
            (Some(tag), _) => (TAG, tag),
            (None, Some(agent)) => (AGENT, agent),
            (None, None) => {
                return Err(Error::Internal {
                    message: "a filter range needs a tag or an agent".into(),
                })
            }
        };
        let range = Self::first_key_range(first).map_err(|e| self.fail(&e))?;
        Ok((index, range))
    }

    /// The range of the keys `[first, updatedAt, seq]` of the `tag` or `agent` index: `[first]`
    /// sorts before them, `[first, []]` after.
    fn first_key_range(first: &str) -> Result<IdbKeyRange, JsValue> {
        let first = JsValue::from_str(first);
        IdbKeyRange::bound(&Array::of1(&first), &Array::of2(&first, &Array::new()))
    }
}

fn strings(array: &JsValue) -> Vec<String> {
    array
        .unchecked_ref::<Array>()
        .iter()
        .filter_map(|v| v.as_string())
        .collect()
}
