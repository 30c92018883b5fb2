//! Background indexing: a connection opened with search on indexes the sessions its database
//! holds without words (written before schema version 3, or by a connection with search off),
//! a few per transaction, so writes queue behind one short batch at most; it reports progress
//! as it goes and ends when every session it found is indexed.

use std::cell::RefCell;
use std::rc::Weak;

use js_sys::Function;
use wasm_bindgen::JsValue;

use super::schema::{CHUNKS, INDEXED, SESSIONS, WORDS};
use super::transaction::SessionTx;
use super::Inner;
use crate::error::Result;

/// Sessions indexed per transaction.
const BATCH: usize = 16;

/// Called once background indexing ends: with `(sessions indexed, sessions to index)`, or the
/// error that stopped it.
pub type IndexingEnded = Box<dyn FnOnce(Result<(u64, u64)>)>;

/// How far background indexing is, and who waits for its end.
#[derive(Default)]
pub(crate) struct Progress {
    /// Sessions indexed, of `total` (the sessions found when indexing began).
    pub indexed: u64,
    pub total: u64,
    /// `Some` once indexing ended: with the error that stopped it, if one did.
    pub ended: Option<Result<()>>,
    /// Called with `(indexed, total)` after each batch.
    listener: Option<Function>,
    waiters: Vec<IndexingEnded>,
}

impl Progress {
    /// Progress not begun, reported to `listener`.
    pub fn new(listener: Option<Function>) -> Self {
        Progress {
            listener,
            ..Default::default()
        }
    }

    /// Calls `done` with `(indexed, total)` once indexing has ended (at once if it has).
    pub fn when_ended(&mut self, done: IndexingEnded) {
        match &self.ended {
            Some(ended) => done(ended.clone().map(|()| (self.indexed, self.total))),
            None => self.waiters.push(done),
        }
    }

    fn report(&self) {
        if let Some(listener) = &self.listener {
            let (indexed, total) = (self.indexed as f64, self.total as f64);
            // A listener that throws does not stop indexing.
            let _ = listener.call2(&JsValue::NULL, &indexed.into(), &total.into());
        }
    }

    pub fn end(cell: &RefCell<Progress>, result: Result<()>) {
        let (waiters, outcome) = {
            let mut p = cell.borrow_mut();
            p.ended = Some(result.clone());
            let outcome = result.map(|()| (p.indexed, p.total));
            (std::mem::take(&mut p.waiters), outcome)
        };
        for waiter in waiters {
            waiter(outcome.clone());
        }
    }
}

/// Indexes every session of `inner`'s database not yet indexed, batch by batch, while the
/// store is open.
pub(crate) async fn run(inner: Weak<Inner>) {
    let Some(strong) = inner.upgrade() else {
        return;
    };
    let pending = match pending(&strong).await {
        Ok(pending) => pending,
        Err(e) => return Progress::end(&strong.indexing, Err(e)),
    };
    strong.indexing.borrow().report();
    drop(strong);
    for batch in pending.chunks(BATCH) {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        if let Err(e) = index(&strong, batch).await {
            return Progress::end(&strong.indexing, Err(e));
        }
        let mut progress = strong.indexing.borrow_mut();
        progress.indexed += batch.len() as u64;
        progress.report();
    }
    if let Some(strong) = inner.upgrade() {
        Progress::end(&strong.indexing, Ok(()));
    }
}

/// The ids of the sessions without an `indexed` mark; sets the progress's counts.
async fn pending(inner: &Inner) -> Result<Vec<String>> {
    let tx = SessionTx::read(
        inner,
        &[SESSIONS, INDEXED],
        "finding sessions to index".into(),
    )?;
    let (all, indexed) = (tx.keys(SESSIONS)?, tx.keys(INDEXED)?);
    let (all, indexed) = (all.await?, indexed.await?);
    let indexed: std::collections::HashSet<String> = indexed.into_iter().collect();
    let pending: Vec<String> = all
        .iter()
        .filter(|id| !indexed.contains(*id))
        .cloned()
        .collect();
    let mut progress = inner.indexing.borrow_mut();
    progress.total = all.len() as u64;
    progress.indexed = progress.total - pending.len() as u64;
    Ok(pending)
}

/// Indexes sessions `ids` (those still stored) in one transaction, each afresh.
async fn index(inner: &Inner, ids: &[String]) -> Result<()> {
    let doing = format!("indexing {} sessions for search", ids.len());
    let tx = SessionTx::write(inner, &[SESSIONS, CHUNKS, WORDS, INDEXED], doing)?;
    let reads = ids
        .iter()
        .map(|id| Ok((tx.exists(id)?, tx.chunks(id, None)?)))
        .collect::<Result<Vec<_>>>()?;
    for (id, (exists, chunks)) in ids.iter().zip(reads) {
        let chunks = chunks.await?;
        if exists.await? {
            tx.reindex_whole(id, &chunks)?;
        }
    }
    tx.commit().await
}
