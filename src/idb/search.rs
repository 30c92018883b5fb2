//! `search` and `list_filtered` from the indexes: a query's messages from the `word` index
//! (one key range per query word), ordered and cut as `search/rank.rs` says; a filter's page
//! from the `tag` or `agent` index. Nothing but the hits' records and chunks is read.

use std::collections::{HashMap, HashSet};

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};

use super::requests::holding_every;
use super::schema::{CHUNKS, SESSIONS, WORDS};
use super::transaction::{Reading, SessionTx};
use super::IndexedDbSessionManager;
use crate::error::{Error, Result};
use crate::js_value;
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
        let keys = query.keys();
        // How common each query word is, to read the messages of the rarest only.
        let counts = match keys.len() {
            1 => Vec::new(),
            _ => keys
                .iter()
                .map(|key| tx.count_with_prefix(key))
                .collect::<Result<Vec<_>>>()?,
        };
        let order = tx.ids_newest_first()?;
        let admitted = match options.filter.is_empty() {
            true => None,
            false => Some(tx.ids_admitted(&options.filter)?),
        };
        let mut rarest = 0;
        let mut fewest = f64::INFINITY;
        for (i, count) in counts.into_iter().enumerate() {
            let count = count.await?;
            if count < fewest {
                (rarest, fewest) = (i, count);
            }
        }
        let order = order.await?;
        let admitted = match admitted {
            Some(ids) => Some(ids.await?),
            None => None,
        };
        let rank: HashMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let place = |id: &str| {
            let admitted = admitted.as_ref().is_none_or(|ids| ids.contains(id));
            rank.get(id).copied().filter(|_| admitted)
        };
        let mut candidates = match keys.len() {
            1 => one_word(&tx, &keys[0], &place).await?,
            _ => every_word(&tx, &query, &keys[rarest], &place).await?,
        };
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

    /// The sessions `filter` admits, newest first, all of them or one page `(offset, limit)`,
    /// from the filter's index: their metadata objects, as `list_stored` gives them.
    pub(crate) async fn list_admitted_stored(
        &self,
        filter: &Filter,
        page: Option<(usize, usize)>,
    ) -> Result<Array> {
        filter.check()?;
        if filter.is_empty() {
            return self.list_stored(page).await;
        }
        let (offset, limit) = page.unwrap_or((0, usize::MAX));
        let tx = SessionTx::read(&self.inner, &[SESSIONS], "listing sessions".into())?;
        tx.metadata_admitted(filter, offset, limit)?.await
    }
}

/// A session's place in the order of hits (`None`: not searched, the filter leaves it out).
type Place<'a> = dyn Fn(&str) -> Option<usize> + 'a;

/// The messages holding a word that starts with `key`: every one as near as can be, so no
/// message's words are read.
async fn one_word(
    tx: &SessionTx<'_, Reading>,
    key: &str,
    place: &Place<'_>,
) -> Result<Vec<Candidate>> {
    let found = tx.messages_with_prefix(key)?.await?;
    let ranks: Vec<Option<usize>> = found.ids.iter().map(|id| place(id)).collect();
    let mut seen = HashSet::new();
    let mut candidates = Vec::new();
    for (session, index) in found.session.iter().zip(&found.index) {
        if let Some(session_rank) = ranks[*session as usize] {
            let message_index = *index as u64;
            if seen.insert((session_rank, message_index)) {
                candidates.push(Candidate {
                    session_rank,
                    message_index,
                    span: 1,
                });
            }
        }
    }
    Ok(candidates)
}

/// The messages holding every word of `query`, from those of its rarest word (`rarest`): the
/// ones holding every other word too are picked in JS, so only they cross into wasm, and then
/// how near the words are in each is measured.
async fn every_word(
    tx: &SessionTx<'_, Reading>,
    query: &Query,
    rarest: &str,
    place: &Place<'_>,
) -> Result<Vec<Candidate>> {
    let found = tx.records_with_prefix(rarest)?.await?;
    let prefixes: Array = query.keys().iter().map(|k| JsValue::from_str(k)).collect();
    let mut seen = HashSet::new();
    let mut candidates = Vec::new();
    for at in holding_every(&found.records, &prefixes).to_vec() {
        let key: Array = found.keys.get(at).unchecked_into();
        let (Some(id), Some(index)) = (key.get(0).as_string(), key.get(1).as_f64()) else {
            continue;
        };
        let Some(session_rank) = place(&id) else {
            continue;
        };
        let message_index = index as u64;
        if !seen.insert((session_rank, message_index)) {
            continue;
        }
        let words: Array = js_value::get(&found.records.get(at), "w").unchecked_into();
        let words: Vec<String> = words.iter().filter_map(|w| w.as_string()).collect();
        if let Some(span) = query.span(&words) {
            candidates.push(Candidate {
                session_rank,
                message_index,
                span,
            });
        }
    }
    Ok(candidates)
}
