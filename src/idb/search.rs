//! `search` and `list_filtered` from the indexes. A query's messages come from the `word` index
//! (the entries of its rarest word), or, when every query word is common, from the words of the
//! newest sessions first until the best hits are certain; they are ordered and cut as
//! `search/rank.rs` says. A filter's sessions come from the `tag` or `agent` index.

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
use crate::search::words::browser::Searcher;
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
        // How many messages hold each query word, counted up to COMMON.
        let counts = query
            .keys()
            .iter()
            .map(|key| tx.count_with_prefix(key, COMMON))
            .collect::<Result<Vec<_>>>()?;
        let (mut rarest, mut fewest) = (0, f64::INFINITY);
        for (i, count) in counts.into_iter().enumerate() {
            let count = count.await?;
            if count < fewest {
                (rarest, fewest) = (i, count);
            }
        }
        let walked = match fewest >= COMMON {
            true => newest_first(&tx, &query, &options).await?,
            false => Walk::Cheaper { rarest },
        };
        let (mut candidates, order) = match walked {
            Walk::Found(found) => found,
            Walk::Cheaper { rarest } => by_rarest(&tx, &query, rarest, &options.filter).await?,
        };
        rank::best_first(&mut candidates);
        candidates.truncate(options.limit);
        hits(&tx, searcher, &query, candidates, &order).await
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

/// A query word held by at least this many messages is common: the query's hits are looked for
/// in the newest sessions first ([`newest_first`]); else read whole ([`by_rarest`]).
const COMMON: f64 = 1024.0;
/// Sessions read at once by [`newest_first`]: this many first, then as many as the hits found
/// say are needed ([`next_batch`]), up to [`WALK_MOST`].
const WALK_FIRST: usize = 4;
const WALK_MOST: usize = 64;
/// Hits in at most this many sessions are ordered from those sessions' records; in more, from
/// the ids of every session, newest first (one read of an index).
const FEW_SESSIONS: usize = 64;

/// Candidates, their `session_rank` a place in the ids that come with them.
type Found = (Vec<Candidate>, Vec<String>);

/// What a walk newest first ends with: the hits, or the query word whose entries are cheaper
/// to read than walking on.
enum Walk {
    Found(Found),
    Cheaper { rarest: usize },
}

/// The hits of a query whose words are all common, found by reading the words of the sessions
/// `options.filter` admits from the newest, a few sessions at a time, until `options.limit`
/// hits with all the query's words near are found: nothing older can come before them. Stops
/// once it has read more records than the query's rarest word has entries (counted then):
/// reading those is cheaper.
async fn newest_first(
    tx: &SessionTx<'_, Reading>,
    query: &Query,
    options: &SearchOptions,
) -> Result<Walk> {
    let prefixes: Array = query.keys().iter().map(|k| JsValue::from_str(k)).collect();
    let walker = tx.newest_first(&options.filter)?;
    let (mut ids, mut candidates) = (Vec::new(), Vec::new());
    let (mut all_near, mut read, mut batch) = (0, 0, WALK_FIRST);
    // Counted once this many records are read.
    let mut rarest: Option<(usize, f64)> = None;
    loop {
        if all_near >= options.limit {
            return Ok(Walk::Found((candidates, ids)));
        }
        if read as f64 > rarest.map_or(COMMON, |(_, entries)| entries) {
            match rarest {
                Some((rarest, _)) => return Ok(Walk::Cheaper { rarest }),
                None => rarest = Some(fewest_entries(tx, query).await?),
            }
            continue;
        }
        let found = tx.next_holding(&walker, batch, &prefixes)?.await?;
        if found.ids.is_empty() {
            return Ok(Walk::Found((candidates, ids)));
        }
        read += found.read;
        for ((session, index), words) in found.session.iter().zip(&found.index).zip(&found.words) {
            let Some(nearness) = query.nearness(words) else {
                continue;
            };
            all_near += usize::from(query.all_near(nearness));
            candidates.push(Candidate {
                session_rank: ids.len() + *session as usize,
                message_index: *index as u64,
                nearness,
            });
        }
        ids.extend(found.ids);
        batch = next_batch(batch, ids.len(), all_near, options.limit);
    }
}

/// How many sessions a walk reads next, having read `walked` and found `all_near` of the `limit`
/// hits it needs: as many as those found so far say are needed, a quarter more; twice as many
/// as last time while none are found.
fn next_batch(last: usize, walked: usize, all_near: usize, limit: usize) -> usize {
    let needed = match all_near {
        0 => 2 * last,
        _ => (limit.saturating_sub(all_near) * walked).div_ceil(all_near) * 5 / 4 + 1,
    };
    needed.clamp(1, WALK_MOST)
}

/// The rarest of the query's words (its place in the keys) and its entries, counting all.
async fn fewest_entries(tx: &SessionTx<'_, Reading>, query: &Query) -> Result<(usize, f64)> {
    let counts = query
        .keys()
        .iter()
        .map(|key| tx.count_with_prefix(key, f64::INFINITY))
        .collect::<Result<Vec<_>>>()?;
    let mut rarest = (0, f64::INFINITY);
    for (i, count) in counts.into_iter().enumerate() {
        let count = count.await?;
        if count < rarest.1 {
            rarest = (i, count);
        }
    }
    Ok(rarest)
}

/// The hits of a query from every message holding its `rarest` word, among the sessions
/// `filter` admits: for one word, from the index's keys alone; else from those messages' words.
async fn by_rarest(
    tx: &SessionTx<'_, Reading>,
    query: &Query,
    rarest: usize,
    filter: &Filter,
) -> Result<Found> {
    let key = &query.keys()[rarest];
    let (ids, hits) = match query.keys().len() {
        1 => one_word(tx, key).await?,
        _ => every_word(tx, query, key).await?,
    };
    let order = newest_of(tx, &ids, filter).await?;
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut seen = HashSet::new();
    let candidates = hits
        .into_iter()
        .filter_map(|(session, message_index, nearness)| {
            let session_rank = *rank.get(ids[session].as_str())?;
            seen.insert((session_rank, message_index))
                .then_some(Candidate {
                    session_rank,
                    message_index,
                    nearness,
                })
        })
        .collect();
    Ok((candidates, order))
}

/// Messages found: per message, its session's place in a list of ids, its index, its nearness.
type Messages = (Vec<String>, Vec<(usize, u64, usize)>);

/// The messages holding a word that starts with `key`: all of a one-word query's words are near
/// in each, so no message's words are read.
async fn one_word(tx: &SessionTx<'_, Reading>, key: &str) -> Result<Messages> {
    let found = tx.messages_with_prefix(key)?.await?;
    let hits = found
        .session
        .iter()
        .zip(&found.index)
        .map(|(session, index)| (*session as usize, *index as u64, 1))
        .collect();
    Ok((found.ids, hits))
}

/// The messages holding every word of `query`, from those of its rarest word (`rarest`): the
/// ones holding every other word too are picked in JS, so only they cross into wasm, and then
/// how near the words are in each is measured.
async fn every_word(tx: &SessionTx<'_, Reading>, query: &Query, rarest: &str) -> Result<Messages> {
    let found = tx.records_with_prefix(rarest)?.await?;
    let prefixes: Array = query.keys().iter().map(|k| JsValue::from_str(k)).collect();
    let (mut ids, mut places, mut hits) = (Vec::new(), HashMap::new(), Vec::new());
    for at in holding_every(&found.records, &prefixes).to_vec() {
        let key: Array = found.keys.get(at).unchecked_into();
        let (Some(id), Some(index)) = (key.get(0).as_string(), key.get(1).as_f64()) else {
            continue;
        };
        let words: Array = js_value::get(&found.records.get(at), "w").unchecked_into();
        let words: Vec<String> = words.iter().filter_map(|w| w.as_string()).collect();
        let Some(nearness) = query.nearness(&words) else {
            continue;
        };
        let session = *places.entry(id.clone()).or_insert_with(|| {
            ids.push(id);
            ids.len() - 1
        });
        hits.push((session, index as u64, nearness));
    }
    Ok((ids, hits))
}

/// Of the sessions `ids`, those `filter` admits, newest first: from their records when they are
/// few, else from the ids of every session the filter admits.
async fn newest_of(
    tx: &SessionTx<'_, Reading>,
    ids: &[String],
    filter: &Filter,
) -> Result<Vec<String>> {
    if ids.len() > FEW_SESSIONS {
        let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let all = tx.ids_newest_first(filter)?.await?;
        return Ok(all
            .into_iter()
            .filter(|id| wanted.contains(id.as_str()))
            .collect());
    }
    let reads = ids
        .iter()
        .map(|id| tx.record(id))
        .collect::<Result<Vec<_>>>()?;
    let mut records = Vec::with_capacity(reads.len());
    for read in reads {
        let record = read.await?;
        if filter.admits(&record.metadata) {
            records.push(record);
        }
    }
    records.sort_by_key(|r| std::cmp::Reverse((r.metadata.updated_at, r.seq)));
    Ok(records.into_iter().map(|r| r.metadata.id).collect())
}

/// The hits of `candidates` (best first), with their sessions' metadata and their snippets: the
/// records and the chunks holding the messages, read in one round trip.
async fn hits(
    tx: &SessionTx<'_, Reading>,
    searcher: &Searcher,
    query: &Query,
    candidates: Vec<Candidate>,
    order: &[String],
) -> Result<Vec<SearchHit>> {
    let mut sessions: Vec<usize> = candidates.iter().map(|c| c.session_rank).collect();
    sessions.sort_unstable();
    sessions.dedup();
    let records = sessions
        .iter()
        .map(|&rank| tx.record(&order[rank]))
        .collect::<Result<Vec<_>>>()?;
    let chunks = candidates
        .iter()
        .map(|c| tx.chunk_holding(&order[c.session_rank], c.message_index))
        .collect::<Result<Vec<_>>>()?;
    let mut metadata = HashMap::with_capacity(sessions.len());
    for (rank, record) in sessions.into_iter().zip(records) {
        metadata.insert(rank, record.await?.metadata);
    }
    let mut hits = Vec::with_capacity(candidates.len());
    for (c, chunk) in candidates.into_iter().zip(chunks) {
        let id = &order[c.session_rank];
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
            metadata: metadata[&c.session_rank].clone(),
        });
    }
    Ok(hits)
}
