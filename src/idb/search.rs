//! `search` and `list_filtered` from the indexes. A query's messages come from the `word` index
//! (the entries of its rarest word), or, when every query word is common, from the words of the
//! newest sessions first until the best hits are certain; they are ordered and cut as
//! `search/rank.rs` says. A filter's sessions come from the `tag` or `agent` index.

use std::collections::{HashMap, HashSet};

use js_sys::Array;
use wasm_bindgen::JsValue;

use super::chunks;
use super::schema::{CHUNKS, SESSIONS, WORDS};
use super::transaction::{Reading, SessionTx};
use super::IndexedDbSessionManager;
use crate::error::{Error, Result};
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
        // How many blocks hold each query word, counted up to COMMON.
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
            Walk::Cheaper { rarest } => by_rarest(&tx, &query, rarest, &options).await?,
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

/// A query word held by at least this many blocks (of up to `WORDS_BLOCK` messages) is common:
/// the query's hits are looked for in the newest sessions first ([`newest_first`]); else from
/// its blocks ([`by_rarest`]).
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
/// once it has read more blocks than the query's rarest word has entries (counted then):
/// reading those is cheaper.
async fn newest_first(
    tx: &SessionTx<'_, Reading>,
    query: &Query,
    options: &SearchOptions,
) -> Result<Walk> {
    let prefixes = prefixes_of(query);
    let walker = tx.newest_first(&options.filter)?;
    let (mut ids, mut candidates) = (Vec::new(), Vec::new());
    let (mut all_near, mut read, mut batch) = (0, 0, WALK_FIRST);
    // Counted once this many blocks are read.
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

/// The hits of a query from the blocks holding its `rarest` word, among the sessions `filter`
/// admits: for one word, from the best blocks only; else from every message of those blocks
/// holding every word.
async fn by_rarest(
    tx: &SessionTx<'_, Reading>,
    query: &Query,
    rarest: usize,
    options: &SearchOptions,
) -> Result<Found> {
    let key = &query.keys()[rarest];
    if query.keys().len() == 1 {
        return one_word(tx, key, options).await;
    }
    let prefixes = prefixes_of(query);
    let found = tx.messages_holding(key, &prefixes)?.await?;
    let order = newest_of(tx, &found.ids, &options.filter).await?;
    let rank = ranks(&order);
    let mut candidates = Vec::new();
    for ((session, index), words) in found.session.iter().zip(&found.index).zip(&found.words) {
        let (Some(&session_rank), Some(nearness)) = (
            rank.get(found.ids[*session as usize].as_str()),
            query.nearness(words),
        ) else {
            continue;
        };
        candidates.push(Candidate {
            session_rank,
            message_index: *index as u64,
            nearness,
        });
    }
    Ok((candidates, order))
}

/// The hits of a one-word query: every hit is as near as can be, so the best are the newest
/// sessions' latest messages. The blocks holding the word come from the index's keys, ordered
/// so, and only as many are read as it takes to find `options.limit` messages.
async fn one_word(
    tx: &SessionTx<'_, Reading>,
    key: &str,
    options: &SearchOptions,
) -> Result<Found> {
    let blocks = tx.blocks_with_prefix(key)?.await?;
    let order = newest_of(tx, &blocks.ids, &options.filter).await?;
    let rank = ranks(&order);
    let mut ordered: Vec<(usize, f64)> = blocks
        .session
        .iter()
        .zip(&blocks.start)
        .filter_map(|(session, start)| {
            Some((*rank.get(blocks.ids[*session as usize].as_str())?, *start))
        })
        .collect();
    ordered.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let keys: Array = ordered
        .iter()
        .map(|(rank, start)| chunks::key(&order[*rank], *start as u64))
        .collect();
    let prefixes = Array::of1(&JsValue::from_str(key));
    let (places, index) = tx.first_holding(&keys, &prefixes, options.limit)?.await?;
    let candidates = places
        .iter()
        .zip(index)
        .map(|(place, index)| Candidate {
            session_rank: ordered[*place as usize].0,
            message_index: index as u64,
            nearness: 1,
        })
        .collect();
    Ok((candidates, order))
}

/// The query's keys as JS strings, the prefixes the blocks are matched against.
fn prefixes_of(query: &Query) -> Array {
    query.keys().iter().map(|k| JsValue::from_str(k)).collect()
}

/// Each id's place in `order`.
fn ranks(order: &[String]) -> HashMap<&str, usize> {
    order
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect()
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
