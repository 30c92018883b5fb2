//! Background indexing: a connection opened with search on indexes the sessions its database
//! holds without words (written before schema version 3, or by a connection with search off),
//! a few per transaction, so writes queue behind one short batch at most; it reports progress
//! as it goes and ends when every session it found is indexed.

use std::cell::RefCell;
use std::collections::HashSet;
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

    /// Calls `done` with `(indexed, total)` once indexing has ended (at once if it has). Like
    /// every call out of here, after the progress is no longer borrowed: `done` may ask again.
    pub fn when_ended(cell: &RefCell<Progress>, done: IndexingEnded) {
        let outcome = {
            let mut p = cell.borrow_mut();
            match &p.ended {
                Some(ended) => ended.clone().map(|()| (p.indexed, p.total)),
                None => return p.waiters.push(done),
            }
        };
        done(outcome);
    }

    /// Adds `indexed` sessions and tells the listener.
    fn advance(cell: &RefCell<Progress>, indexed: u64) {
        let (listener, indexed, total) = {
            let mut p = cell.borrow_mut();
            p.indexed += indexed;
            (p.listener.clone(), p.indexed as f64, p.total as f64)
        };
        if let Some(listener) = listener {
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
    Progress::advance(&strong.indexing, 0);
    drop(strong);
    for batch in pending.chunks(BATCH) {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        if let Err(e) = index(&strong, batch).await {
            return Progress::end(&strong.indexing, Err(e));
        }
        Progress::advance(&strong.indexing, batch.len() as u64);
    }
    if let Some(strong) = inner.upgrade() {
        Progress::end(&strong.indexing, Ok(()));
    }
}

/// The ids of the sessions without an `indexed` mark; sets the progress's counts. Every mark is
/// of a stored session (a delete drops it), so equal counts say there are none, and then no id
/// is read: the common case, at every open.
async fn pending(inner: &Inner) -> Result<Vec<String>> {
    let doing = "finding sessions to index".to_owned();
    let tx = SessionTx::read(inner, &[SESSIONS, INDEXED], doing)?;
    let (sessions, marked) = (tx.count(SESSIONS)?, tx.count(INDEXED)?);
    let (sessions, marked) = (sessions.await?, marked.await?);
    let pending = match marked >= sessions {
        true => Vec::new(),
        false => {
            let (all, indexed) = (tx.keys(SESSIONS)?, tx.keys(INDEXED)?);
            let indexed: HashSet<String> = indexed.await?.into_iter().collect();
            let all = all.await?;
            all.into_iter().filter(|id| !indexed.contains(id)).collect()
        }
    };
    let mut progress = inner.indexing.borrow_mut();
    progress.total = sessions;
    progress.indexed = sessions - pending.len() as u64;
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
