//! `search` and `list_filtered` from the indexes: a query's messages from the `word` index
//! (one key range per query word), ordered and cut as `search/rank.rs` says; a filter's page
//! from the `tag` or `agent` index. Nothing but the hits' records and chunks is read.

use std::collections::{HashMap, HashSet};

use js_sys::Array;

use super::schema::{CHUNKS, SESSIONS, WORDS};
use super::transaction::SessionTx;
use super::IndexedDbSessionManager;
use crate::error::{Error, Result};
use crate::search::rank::{self, Candidate, Query};
use crate::search::{Filter, SearchHit, SearchOptions};

impl IndexedDbSessionManager {
    /// The messages matching `query`, best first, from the index, in one read transaction.
    pub(crate) async fn search_indexed(
        &self,
        query: &str,
        options: SearchOptions,
    ) -> Result<Vec<SearchHit>> {
        let query = Query::parse(query)?;
        options.check()?;
        options.filter.check()?;
        let searcher = self
            .inner
            .searcher
            .as_ref()
            .ok_or_else(|| Error::Unavailable {
                message: format!(
                    "search is off for database \"{}\": it was opened with search: false",
                    self.inner.name
                ),
            })?;
        let tx = SessionTx::read(&self.inner, &[SESSIONS, CHUNKS, WORDS], "searching".into())?;
        let postings = query
            .keys()
            .iter()
            .map(|key| tx.messages_with_prefix(key))
            .collect::<Result<Vec<_>>>()?;
        let order = tx.ids_newest_first()?;
        let admitted = match options.filter.is_empty() {
            true => None,
            false => Some(tx.ids_admitted(&options.filter)?),
        };
        let mut sets = Vec::with_capacity(postings.len());
        for posting in postings {
            sets.push(message_set(&posting.await?));
        }
        let order = order.await?;
        let admitted = match admitted {
            Some(ids) => Some(ids.await?),
            None => None,
        };
        // The rarest word's messages, kept if every other word's hold them too.
        sets.sort_by_key(HashSet::len);
        let (rarest, others) = sets.split_first().expect("a query has a word");
        let rank: HashMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let found: Vec<(usize, u64)> = rarest
            .iter()
            .filter(|m| others.iter().all(|set| set.contains(*m)))
            .filter(|(id, _)| admitted.as_ref().is_none_or(|ids| ids.contains(id)))
            .filter_map(|(id, i)| Some((*rank.get(id.as_str())?, *i)))
            .collect();
        let candidates = match query.keys().len() {
            // One word: every match is as near as can be; no message's words need reading.
            1 => found
                .into_iter()
                .map(|(session_rank, message_index)| Candidate {
                    session_rank,
                    message_index,
                    span: 1,
                })
                .collect(),
            _ => {
                let reads = found
                    .iter()
                    .map(|(r, i)| tx.words_of(&order[*r], *i))
                    .collect::<Result<Vec<_>>>()?;
                let mut candidates = Vec::with_capacity(found.len());
                for ((session_rank, message_index), words) in found.into_iter().zip(reads) {
                    if let Some(span) = query.span(&words.await?) {
                        candidates.push(Candidate {
                            session_rank,
                            message_index,
                            span,
                        });
                    }
                }
                candidates
            }
        };
        let mut candidates = candidates;
        rank::best_first(&mut candidates);
        candidates.truncate(options.limit);
        // The hits' records and the chunks holding their messages, in one round trip.
        let reads = candidates
            .iter()
            .map(|c| {
                let id = &order[c.session_rank];
                Ok((tx.record(id)?, tx.chunk_holding(id, c.message_index)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut hits = Vec::with_capacity(candidates.len());
        for (c, (record, chunk)) in candidates.into_iter().zip(reads) {
            let id = &order[c.session_rank];
            let record = record.await?;
            let chunk = chunk.await?.ok_or_else(|| {
                super::damaged(id, format!("no chunk holds message {}", c.message_index))
            })?;
            let text = searcher
                .text_at(&chunk.text, (c.message_index - chunk.start) as u32)
                .map_err(|e| super::damaged(id, format!("message {}: {e:?}", c.message_index)))?;
            let (snippet, matches) = query.snippet(&text);
            hits.push(SearchHit {
                id: id.clone(),
                message_index: c.message_index,
                snippet,
                matches,
                metadata: record.metadata,
            });
        }
        Ok(hits)
    }

    /// One page of the sessions `filter` admits, newest first, from the filter's index: their
    /// metadata objects, as `list_stored` gives them.
    pub(crate) async fn list_admitted_stored(
        &self,
        filter: &Filter,
        offset: usize,
        limit: usize,
    ) -> Result<Array> {
        filter.check()?;
        if filter.is_empty() {
            return self.list_stored(Some((offset, limit))).await;
        }
        let tx = SessionTx::read(&self.inner, &[SESSIONS], "listing sessions".into())?;
        tx.metadata_admitted(filter, offset, limit)?.await
    }
}

/// `(session id, message index)` of each key `[id, index]` read from the `word` index.
fn message_set(keys: &Array) -> HashSet<(String, u64)> {
    keys.iter()
        .filter_map(|key| {
            let key: &Array = wasm_bindgen::JsCast::unchecked_ref(&key);
            Some((key.get(0).as_string()?, key.get(1).as_f64()? as u64))
        })
        .collect()
}
