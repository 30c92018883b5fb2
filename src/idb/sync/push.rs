//! The push half of a sync round: gather what changed into numbered operations (marking it
//! clean and keeping the push as in flight, in one transaction), send it, and apply the answers:
//! record the server's versions, delete what the server deleted, and keep both versions of what
//! both sides changed.

use std::collections::HashSet;

use js_sys::{Array, JsString};
use wasm_bindgen::JsValue;

use super::pull::{merged, names_only};
use super::remote::{self, Outcome, Pulled, Remote};
use super::state::{Kind, Sent, SyncState, Synced};
use super::{Dirty, SyncReport, Wrote};
use crate::error::{Error, Result};
use crate::idb::chunks::{self, LastChunk};
use crate::idb::record::SessionRecord;
use crate::idb::schema::{DELETIONS, SYNC, SYNCED, SYNCING};
use crate::idb::transaction::{Cut, SessionTx, Writing};
use crate::idb::IndexedDbSessionManager;
use crate::js_value::{metadata_to_js, Shape};
use crate::rules;

/// Most bytes (UTF-16 units) of operations one push sends, besides the one that passes it: well
/// under the server's body limit (16 MiB by default).
const PUSH_BYTES: usize = 4 << 20;

/// What a changed session is sent as.
enum Plan {
    /// Nothing changed.
    Nothing,
    /// Whole: new to the server (`base` none), or saved whole here.
    Put { base: Option<i64> },
    /// The messages from `cut` on, the state if it changed, and the metadata.
    Patch { base: i64, cut: u64, state: bool },
    /// Tags added and a new name.
    Meta,
}

impl Plan {
    fn of(record: &SessionRecord, synced: Option<Synced>) -> Plan {
        let dirty = &record.dirty;
        let Some(synced) = synced else {
            return Plan::Put { base: None };
        };
        if dirty.full {
            return Plan::Put {
                base: Some(synced.base),
            };
        }
        if dirty.has_content() {
            let cut = dirty.cut.map_or(synced.count, |c| c.min(synced.count));
            return Plan::Patch {
                base: synced.base,
                cut: cut.min(record.message_count),
                state: dirty.state,
            };
        }
        match dirty.is_clean() {
            true => Plan::Nothing,
            false => Plan::Meta,
        }
    }
}

impl IndexedDbSessionManager {
    /// How many changes wait to be pushed: the push in flight, deletions, and sessions changed
    /// here or never pushed.
    pub async fn pending_sync(&self) -> Result<u64> {
        let tx = SessionTx::read(&self.inner, SYNCING, "counting the changes to push".into())?;
        let (state, deletions, synced) = (tx.sync_state()?, tx.keys(DELETIONS)?, tx.keys(SYNCED)?);
        let state = state.await?;
        let marker = state
            .as_ref()
            .map_or(JsValue::UNDEFINED, |s| s.marker.clone());
        let records = tx.written_after(&marker, 0)?.await?;
        let synced: HashSet<String> = synced.await?.into_iter().collect();
        let changed = records
            .iter()
            .filter(|r| !r.dirty.is_clean() || !synced.contains(&r.metadata.id))
            .count();
        let inflight = state.map_or(0, |s| s.inflight.len());
        Ok((changed + inflight + deletions.await?.len()) as u64)
    }

    /// The device's sync record if a push is in flight.
    pub(super) async fn in_flight(&self) -> Result<Option<SyncState>> {
        let tx = SessionTx::read(&self.inner, &[SYNC], "reading the sync state".into())?;
        let state = tx.sync_state()?.await?;
        Ok(state.filter(|s| !s.inflight.is_empty()))
    }

    /// The device's sync record with the push to send next: the one in flight if there is one,
    /// else at most `limit` operations gathered from what changed since the last push (marked
    /// clean, the push kept as in flight), or none.
    pub(super) async fn gather(&self, limit: u32) -> Result<SyncState> {
        let doing = "gathering the changes to push".to_owned();
        let tx = SessionTx::write(&self.inner, SYNCING, doing)?;
        let mut state = tx.sync_state()?.await?.unwrap_or_else(SyncState::new);
        if !state.inflight.is_empty() {
            return Ok(state);
        }
        // Read first: every record gathered is written before it.
        let clock = tx.clock_key()?;
        let deletions = tx.keys(DELETIONS)?.await?;
        for id in deletions {
            let text = remote::delete_op(state.next_op as f64, &id);
            state
                .inflight
                .push(sent(&mut state.next_op, Kind::Delete, &id, 0, text));
            tx.forget_deletion(&id);
        }
        // Pages of sessions written since the last push, until the push is full or none is left.
        let mut bytes = 0;
        'pages: loop {
            let records = tx.written_after(&state.marker, limit)?.await?;
            for record in &records {
                state.marker = index_key(record);
                let id = record.metadata.id.as_str();
                let synced = tx.synced(id)?.await?;
                let Some((kind, text)) = op(&tx, record, synced, state.next_op).await? else {
                    continue;
                };
                bytes += JsString::from(text.clone()).length() as usize;
                let count = record.message_count;
                state
                    .inflight
                    .push(sent(&mut state.next_op, kind, id, count, text));
                tx.mark_clean(record);
                if state.inflight.len() >= limit as usize || bytes >= PUSH_BYTES {
                    break 'pages;
                }
            }
            if (records.len() as u32) < limit {
                state.marker = clock.await?;
                break;
            }
        }
        tx.put_sync_state(&state);
        tx.commit().await?;
        Ok(state)
    }

    /// Sends the push in flight and applies the server's answers.
    pub(super) async fn push(
        &self,
        remote: &Remote,
        state: SyncState,
        report: &mut SyncReport,
    ) -> Result<()> {
        let ops: Array = state.inflight.iter().map(|s| s.text.clone()).collect();
        let outcomes = remote.push(&state.device, state.acked, &ops).await?;
        if outcomes.len() != state.inflight.len() {
            return Err(Error::Storage {
                message: format!(
                    "the sync server answered {} operations of {}",
                    outcomes.len(),
                    state.inflight.len()
                ),
            });
        }
        for id in self.settle(state, &outcomes, report).await? {
            let server = remote.session(&id).await?;
            self.keep_both(&id, server.as_ref()).await?;
            report.conflicts += 1;
        }
        Ok(())
    }

    /// Applies the outcomes of the push in flight, which is then done; returns the ids of the
    /// sessions that conflicted.
    async fn settle(
        &self,
        mut state: SyncState,
        outcomes: &[Outcome],
        report: &mut SyncReport,
    ) -> Result<Vec<String>> {
        let doing = "applying the server's answers".to_owned();
        let mut tx = SessionTx::write(&self.inner, SYNCING, doing)?;
        let mut conflicts: Vec<String> = Vec::new();
        for (sent, outcome) in state.inflight.iter().zip(outcomes) {
            match (*outcome, sent.kind) {
                (Outcome::Applied { version }, Kind::Put | Kind::Patch) => {
                    let count = sent.count;
                    tx.put_synced(
                        &sent.id,
                        Synced {
                            base: version,
                            count,
                        },
                    );
                    report.pushed += 1;
                }
                (Outcome::Applied { version }, Kind::Meta) => {
                    if let Some(synced) = tx.synced(&sent.id)?.await? {
                        tx.put_synced(
                            &sent.id,
                            Synced {
                                base: version,
                                ..synced
                            },
                        );
                    }
                    report.pushed += 1;
                }
                (Outcome::Applied { .. }, Kind::Delete) => report.pushed += 1,
                (Outcome::Deleted, _) => {
                    // Deleted on the server: nothing here brings it back.
                    if tx.exists(&sent.id)?.await? {
                        tx.delete_session(&sent.id)?;
                    }
                    tx.forget_synced(&sent.id);
                }
                (Outcome::Conflict, _) if !conflicts.contains(&sent.id) => {
                    conflicts.push(sent.id.clone())
                }
                (Outcome::Conflict, _) => {}
            }
        }
        state.acked = state.inflight.last().map_or(state.acked, |s| s.op);
        state.inflight.clear();
        tx.put_sync_state(&state);
        tx.commit().await?;
        Ok(conflicts)
    }

    /// Session `id` changed both here and on the server: this version is kept as a copy named
    /// `"<name> (conflict)"` (new here, so the next push sends it whole), and the server's
    /// version (`server`; none if it deleted the session) takes the id, in one transaction.
    pub(super) async fn keep_both(&self, id: &str, server: Option<&Pulled>) -> Result<()> {
        let doing = format!("keeping both versions of session \"{id}\"");
        let mut tx = SessionTx::write(&self.inner, SYNCING, doing)?;
        let local = match tx.record(id)?.await {
            Ok(local) => local,
            // Deleted here since: the deletion waiting to be pushed wins.
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let chunks = tx.chunks(id, None)?.await?;
        let state = tx.state(id)?.await?;
        let mut meta = local.metadata.clone();
        meta.id = uuid::Uuid::new_v4().to_string();
        meta.name = Some(rules::conflict_name(local.metadata.name.as_deref()));
        tx.index_whole(&meta.id, &chunks)?;
        let last = LastChunk::Known(tx.put_chunks(&meta.id, chunks));
        tx.put_state(&meta.id, &state);
        let dirty = Dirty::default().after(Wrote::Whole);
        tx.put_record(meta, local.message_count, last, dirty)
            .await?;
        // The server's version under the id, with the tags added here merged into it.
        match server {
            Some(put) => tx.put_whole(put, Some(&local)).await?,
            None => {
                tx.delete_session(id)?;
                tx.forget_synced(id);
            }
        }
        tx.commit().await
    }
}

impl SessionTx<'_, Writing> {
    /// Writes a put pulled from the server (whole) under its id, replacing what is here
    /// (`local`) but for the tags added and a new name still to push, which stay on top.
    pub(super) async fn put_whole(
        &mut self,
        put: &Pulled,
        local: Option<&SessionRecord>,
    ) -> Result<()> {
        let id = put.id.as_str();
        self.delete_chunks(id, &Cut::WHOLE)?;
        let chunks = chunks::saved(&put.chunks);
        self.index_whole(id, &chunks)?;
        let last = LastChunk::Known(self.put_chunks(id, chunks));
        if let Some(state) = &put.state {
            self.put_state(id, state);
        }
        let server = put.metadata.as_ref().expect("a put has metadata");
        let (meta, dirty) = match local {
            Some(local) => {
                let dirty = names_only(local.dirty.clone());
                (merged(&local.metadata, &dirty, server), dirty)
            }
            None => (server.clone(), Dirty::default()),
        };
        self.put_pulled(meta, put.count, last, dirty).await?;
        self.put_synced(
            id,
            Synced {
                base: put.seq,
                count: put.count,
            },
        );
        self.forget_deletion(id);
        Ok(())
    }
}

fn sent(next_op: &mut i64, kind: Kind, id: &str, count: u64, text: JsValue) -> Sent {
    let op = *next_op;
    *next_op += 1;
    Sent {
        op,
        kind,
        id: id.to_owned(),
        count,
        text,
    }
}

/// The `updated_at` index key of a record: where it stands in the write order.
fn index_key(record: &SessionRecord) -> JsValue {
    Array::of2(
        &JsValue::from_f64(record.metadata.updated_at as f64),
        &JsValue::from_f64(record.seq as f64),
    )
    .into()
}

/// The operation that sends what changed in `record` (numbered `op`), reading the texts it
/// needs; `None` if nothing changed.
async fn op(
    tx: &SessionTx<'_, Writing>,
    record: &SessionRecord,
    synced: Option<Synced>,
    op: i64,
) -> Result<Option<(Kind, JsValue)>> {
    let id = record.metadata.id.as_str();
    let metadata = metadata_to_js(&record.metadata, Shape::Serde);
    Ok(Some(match Plan::of(record, synced) {
        Plan::Nothing => return Ok(None),
        Plan::Put { base } => {
            let (chunks, state) = (tx.chunk_texts(id)?, tx.state(id)?);
            let (chunks, state) = (chunks.await?, state.await?);
            let base = base.map(|b| b as f64);
            let text = remote::put_op(op as f64, base, &metadata, &chunks, &state);
            (Kind::Put, text)
        }
        Plan::Patch { base, cut, state } => {
            let texts = Array::new();
            if cut < record.message_count {
                let holding = tx.chunk_holding(id, cut)?;
                let after = tx.chunk_texts_from(id, cut + 1)?;
                let holding = holding.await?.ok_or_else(|| {
                    chunks::damaged(id, "the chunk of a changed message is missing")
                })?;
                texts.push(&chunks::skip(id, &holding.text, cut - holding.start)?);
                for text in after.await?.iter() {
                    texts.push(&text);
                }
            }
            let state = match state {
                true => Some(tx.state(id)?.await?),
                false => None,
            };
            let text =
                remote::patch_op(op as f64, base as f64, cut as f64, &texts, state, &metadata);
            (Kind::Patch, text)
        }
        Plan::Meta => {
            let tags: Array = record
                .dirty
                .tags
                .iter()
                .map(|t| JsValue::from_str(t))
                .collect();
            let name = record
                .dirty
                .name
                .then(|| record.metadata.name.clone())
                .flatten();
            (Kind::Meta, remote::meta_op(op as f64, id, &tags, name))
        }
    }))
}
