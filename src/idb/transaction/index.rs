//! The search index's share of every write, queued in the write's own transaction: the words
//! of the messages it adds or changes, and the `indexed` mark of each session whose words are
//! complete. With search off a write indexes nothing and drops the mark of what it changes, so
//! a later connection with search on indexes that session again. A write that cuts a session's
//! words reads first the block the cut falls in ([`Cut`]): its shortened copy is queued like
//! every other write. (The reads `search` makes are in `queries.rs`.)

use std::future::Future;

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};

use super::{SessionTx, Writing};
use crate::error::Result;
use crate::idb::chunks::{self, Chunk};
use crate::idb::requests;
use crate::idb::schema::{CHUNKS, INDEXED, SESSIONS, WORDS, WORDS_BLOCK};
use crate::js_value::get;
use crate::search::words::browser::shared_messages;

/// A word block: the index of its first message, and the block.
pub(crate) type WordsBlock = (u64, JsValue);

/// Where a write cuts a session's messages: message `from` on go, and with them their words.
/// `before` is the block the cut may fall in, the one that starts last before `from`, read
/// before any write of the transaction; the cut shortens it if it runs past `from`.
pub(crate) struct Cut {
    pub from: u64,
    before: Option<WordsBlock>,
}

impl Cut {
    /// A cut before the first message: every word goes, none is shortened.
    pub const WHOLE: Cut = Cut {
        from: 0,
        before: None,
    };
}

impl SessionTx<'_, Writing> {
    /// The cut of session `id`'s messages at `from`: reads the block it falls in (nothing to
    /// read at 0, or with search off, where a write drops the session's `indexed` mark and the
    /// next indexing starts it afresh).
    pub fn cut_at(&self, id: &str, from: u64) -> Result<impl Future<Output = Result<Cut>>> {
        let read = match from > 0 && self.inner.searcher.is_some() {
            false => None,
            true => {
                let range = chunks::before(id, from).map_err(|e| self.fail(&e))?;
                Some(self.last_keyed_in(WORDS, id, &range)?)
            }
        };
        Ok(async move {
            let before = match read {
                Some(read) => read.await?,
                None => None,
            };
            Ok(Cut { from, before })
        })
    }

    /// Session `id`'s last word block (none with search off): read alongside a write's other
    /// reads, it is the block a cut falls in when the cut is past its start, which saves a
    /// read for [`cut_after`](Self::cut_after).
    pub fn last_words(&self, id: &str) -> Result<impl Future<Output = Result<Option<WordsBlock>>>> {
        let read = match self.inner.searcher.is_some() {
            false => None,
            true => {
                let range = chunks::from(id, 0).map_err(|e| self.fail(&e))?;
                Some(self.last_keyed_in(WORDS, id, &range)?)
            }
        };
        Ok(async move {
            match read {
                Some(read) => read.await,
                None => Ok(None),
            }
        })
    }

    /// The cut at `from` of session `id`, whose last word block is `last`: that block if the
    /// cut falls in it, else read. A session's blocks follow one another without a gap (each
    /// write puts its blocks from where it cut, or from the end), so a last block that starts
    /// at `from` leaves nothing before to shorten.
    pub async fn cut_after(&self, id: &str, from: u64, last: Option<WordsBlock>) -> Result<Cut> {
        match last {
            None => Ok(Cut { from, before: None }),
            Some(last) if last.0 < from => Ok(Cut {
                from,
                before: Some(last),
            }),
            Some(last) if last.0 == from => Ok(Cut { from, before: None }),
            Some(_) => self.cut_at(id, from)?.await,
        }
    }

    /// Queues the word blocks of the messages of session `id` from `from` on, whose JSON texts
    /// are `texts` (an append's, a replaced last message), after the blocks it had from there.
    pub fn index_messages(&self, id: &str, from: u64, texts: &[JsValue]) -> Result<()> {
        let Some(searcher) = &self.inner.searcher else {
            self.unmark_indexed(id);
            return Ok(());
        };
        let texts: Array = texts.iter().collect();
        let blocks = searcher.message_blocks(&texts).map_err(|e| self.fail(&e))?;
        self.put_blocks(id, from, &blocks);
        Ok(())
    }

    /// [`index_messages`](Self::index_messages) in place of the words session `id` had from
    /// where `cut` falls on (a replaced last message).
    pub fn reindex_from(&self, id: &str, cut: &Cut, texts: &[JsValue]) -> Result<()> {
        self.unindex_from(id, cut)?;
        self.index_messages(id, cut.from, texts)
    }

    /// Queues the word blocks of a session's whole history, its `chunks`, and marks it indexed.
    pub fn index_whole(&self, id: &str, chunks: &[Chunk]) -> Result<()> {
        self.index_history_from(id, chunks, 0)
    }

    /// How many leading messages the history stored for session `id` (read now, before any
    /// write of this transaction) shares with `texts`, the chunk texts of one to be saved over
    /// it: messages whose words a save keeps (0 when the session is new or not indexed, or
    /// search is off); and its last word block, for [`cut_after`](Self::cut_after).
    pub fn shared_words(
        &self,
        id: &str,
        texts: &Array,
    ) -> Result<impl Future<Output = Result<(u64, Option<WordsBlock>)>>> {
        let reads = match self.inner.searcher.is_some() {
            false => None,
            true => {
                let key = JsValue::from_str(id);
                let range = chunks::from(id, 0).map_err(|e| self.fail(&e))?;
                let record = self.send(SESSIONS, |s| s.get(&key))?;
                let marked = self.send(INDEXED, |s| s.count_with_key(&key))?;
                let old = self.send(CHUNKS, |s| s.get_all_with_key(&range))?;
                Some((
                    self.wait(record, Ok),
                    self.wait(marked, Ok),
                    self.wait(old, Ok),
                    self.last_words(id)?,
                ))
            }
        };
        let texts = texts.clone();
        Ok(async move {
            let Some((record, marked, old, last)) = reads else {
                return Ok((0, None));
            };
            let (record, marked, old) = (record.await?, marked.await?, old.await?);
            let count = get(&record, "messageCount").as_f64();
            let shared = match (marked.as_f64() == Some(1.0), count) {
                (true, Some(count)) => shared_messages(old.unchecked_ref(), count, &texts) as u64,
                _ => 0,
            };
            Ok((shared, last.await?))
        })
    }

    /// Queues the word blocks of a saved history, its `chunks`, in place of those of the
    /// history it replaces, whose messages before `cut` it shares (their blocks stay); marks
    /// the session indexed.
    pub fn reindex_saved(&self, id: &str, chunks: &[Chunk], cut: &Cut) -> Result<()> {
        self.unindex_from(id, cut)?;
        self.index_history_from(id, chunks, cut.from)
    }

    /// Queues the word blocks of the messages of history `chunks` from message `from` on, and
    /// marks session `id` indexed.
    fn index_history_from(&self, id: &str, chunks: &[Chunk], from: u64) -> Result<()> {
        let Some(searcher) = &self.inner.searcher else {
            self.unmark_indexed(id);
            return Ok(());
        };
        for (n, chunk) in chunks.iter().enumerate() {
            // A chunk wholly before `from` is skipped unparsed.
            if chunks.get(n + 1).is_some_and(|next| next.start <= from) {
                continue;
            }
            let skip = from.saturating_sub(chunk.start);
            let blocks = searcher
                .chunk_blocks(&chunk.text, skip as u32)
                .map_err(|e| self.fail(&e))?;
            self.put_blocks(id, chunk.start + skip, &blocks);
        }
        self.mark_indexed(id);
        Ok(())
    }

    /// Session `id`'s word blocks, `[keys, blocks]`, if it is indexed and search is on (else
    /// `None`): what a copy of its history can reuse instead of finding its words again.
    pub fn indexed_words(
        &self,
        id: &str,
    ) -> Result<impl Future<Output = Result<Option<(Array, Array)>>>> {
        let reads = match self.inner.searcher.is_some() {
            false => None,
            true => {
                let key = JsValue::from_str(id);
                let range = chunks::from(id, 0).map_err(|e| self.fail(&e))?;
                let marked = self.send(INDEXED, |s| s.count_with_key(&key))?;
                let keys = self.send(WORDS, |s| s.get_all_keys_with_key(&range))?;
                let blocks = self.send(WORDS, |s| s.get_all_with_key(&range))?;
                Some((
                    self.wait(marked, Ok),
                    self.wait(keys, Ok),
                    self.wait(blocks, Ok),
                ))
            }
        };
        Ok(async move {
            let Some((marked, keys, blocks)) = reads else {
                return Ok(None);
            };
            let (marked, keys, blocks) = (marked.await?, keys.await?, blocks.await?);
            Ok((marked.as_f64() == Some(1.0))
                .then(|| (keys.unchecked_into(), blocks.unchecked_into())))
        })
    }

    /// Queues the word blocks of session `id`, a copy of another whose [`indexed_words`]
    /// were `words` (the same blocks under `id`), else of its history `chunks`; marks it indexed.
    ///
    /// [`indexed_words`]: Self::indexed_words
    pub fn index_copy(
        &self,
        id: &str,
        words: Option<(Array, Array)>,
        chunks: &[Chunk],
    ) -> Result<()> {
        let Some((keys, blocks)) = words else {
            return self.index_whole(id, chunks);
        };
        for (key, block) in keys.iter().zip(blocks.iter()) {
            let start = chunks::start_of(id, &key)?;
            self.queue_put(WORDS, Some(chunks::key(id, start)), block);
        }
        self.mark_indexed(id);
        Ok(())
    }

    /// [`index_whole`](Self::index_whole), after deleting whatever words session `id` had.
    pub fn reindex_whole(&self, id: &str, chunks: &[Chunk]) -> Result<()> {
        self.unindex_from(id, &Cut::WHOLE)?;
        self.index_whole(id, chunks)
    }

    /// Queues deleting the words of the messages of session `id` from where `cut` falls on:
    /// the blocks from there, and the end of the block before that runs past it.
    pub(super) fn unindex_from(&self, id: &str, cut: &Cut) -> Result<()> {
        let range = chunks::from(id, cut.from).map_err(|e| self.fail(&e))?;
        self.queue_delete(WORDS, range);
        if let Some((start, block)) = cut.before.as_ref().filter(|(s, _)| *s < cut.from) {
            let kept = requests::block_cut(block, (cut.from - start) as u32);
            if !kept.is_undefined() {
                self.queue_put(WORDS, Some(chunks::key(id, *start)), kept);
            }
        }
        Ok(())
    }

    /// Queues marking session `id` indexed: its words are complete.
    fn mark_indexed(&self, id: &str) {
        self.queue_put(INDEXED, Some(JsValue::from_str(id)), JsValue::TRUE);
    }

    /// Queues forgetting that session `id` is indexed.
    pub(super) fn unmark_indexed(&self, id: &str) {
        self.queue_delete(INDEXED, JsValue::from_str(id));
    }

    /// Queues `blocks`, the first holding message `from`, each [`WORDS_BLOCK`] messages after
    /// the one before.
    fn put_blocks(&self, id: &str, from: u64, blocks: &Array) {
        for (n, block) in blocks.iter().enumerate() {
            let key = chunks::key(id, from + (n * WORDS_BLOCK) as u64);
            self.queue_put(WORDS, Some(key), block);
        }
    }
}
