//! The pull half of a sync round: the server's changes since the cursor, each applied in a
//! transaction of its own (a patch appends or cuts only what it changed), the cursor kept as it
//! goes. A change on a session also changed here keeps both versions; one that does not follow
//! from what is here (a version missed) fetches the session whole. After a reset (a cursor older
//! than the server keeps), sessions the server no longer has are deleted here, except those
//! never pushed.

use super::remote::{EntryKind, Pulled, Remote};
use super::state::{SyncState, Synced};
use super::{Dirty, SyncReport};
use crate::error::{Error, Result};
use crate::idb::chunks::{self, Chunk, LastChunk};
use crate::idb::record::SessionRecord;
use crate::idb::schema::{SESSIONS, SYNC, SYNCED, SYNCING};
use crate::idb::transaction::{SessionTx, Writing};
use crate::idb::IndexedDbSessionManager;
use crate::model::SessionMetadata;
use crate::rules;

/// What applying a pulled change came to.
enum Applied {
    /// Applied.
    Yes,
    /// Nothing to do: this database has that version already.
    Already,
    /// It does not follow from what is here: the session is fetched whole.
    NeedsWhole,
    /// The session changed here too: both versions are kept.
    Conflict,
}

impl IndexedDbSessionManager {
    /// Pulls and applies every change since the device's cursor.
    pub(super) async fn pull(&self, remote: &Remote, report: &mut SyncReport) -> Result<()> {
        let state = self.save_cursor(None).await?;
        let mut cursor = state.cursor;
        let mut reset = false;
        let mut seen: Vec<String> = Vec::new();
        loop {
            let page = remote.pull(cursor, reset, &state.device).await?;
            reset |= page.reset;
            for entry in &page.entries {
                if reset {
                    seen.push(entry.id.clone());
                }
                match self.apply_pulled(entry).await? {
                    Applied::Yes => report.pulled += 1,
                    Applied::Already => {}
                    Applied::NeedsWhole => {
                        let whole = remote.session(&entry.id).await?;
                        self.apply_whole(&entry.id, whole.as_ref()).await?;
                        report.pulled += 1;
                    }
                    Applied::Conflict => {
                        let whole = remote.session(&entry.id).await?;
                        self.keep_both(&entry.id, whole.as_ref()).await?;
                        report.conflicts += 1;
                    }
                }
            }
            cursor = page.cursor;
            // A reset cut short starts over: the cursor is kept once it is done.
            if !reset {
                self.save_cursor(Some(cursor)).await?;
            }
            if !page.more {
                break;
            }
        }
        if reset {
            self.drop_unseen(&seen).await?;
            self.save_cursor(Some(cursor)).await?;
        }
        Ok(())
    }

    /// Applies one pulled change in a transaction of its own.
    async fn apply_pulled(&self, entry: &Pulled) -> Result<Applied> {
        let id = entry.id.as_str();
        let doing = format!("applying a pulled change of session \"{id}\"");
        let mut tx = SessionTx::write(&self.inner, SYNCING, doing)?;
        tx.pulled();
        let (record, synced, deleted) = (tx.record(id)?, tx.synced(id)?, tx.deleted(id)?);
        let (record, synced) = (found(record.await)?, synced.await?);
        // Deleted here and not yet there: the push deletes it everywhere, whatever changed.
        if deleted.await? || synced.is_some_and(|s| s.base >= entry.seq) {
            return Ok(Applied::Already);
        }
        let applied = match (entry.kind, record) {
            (EntryKind::Delete, None) => {
                tx.forget_synced(id);
                Applied::Already
            }
            (EntryKind::Delete, Some(_)) => {
                tx.delete_session(id)?;
                tx.forget_synced(id);
                tx.forget_deletion(id);
                Applied::Yes
            }
            (EntryKind::Put, Some(local)) if synced.is_none() || local.dirty.has_content() => {
                return Ok(Applied::Conflict);
            }
            (EntryKind::Put, local) => {
                tx.put_whole(entry, local.as_ref()).await?;
                Applied::Yes
            }
            (_, None) => return Ok(Applied::NeedsWhole),
            // A session of that id made here, never pushed.
            (_, Some(_)) if synced.is_none() => return Ok(Applied::Conflict),
            (EntryKind::Meta, Some(local)) => {
                let synced = synced.expect("checked above");
                if Some(synced.base) != entry.prev {
                    // A version missed: what is here cannot be brought up to date by this.
                    return Ok(match local.dirty.has_content() {
                        true => Applied::Conflict,
                        false => Applied::NeedsWhole,
                    });
                }
                let server = entry.metadata.as_ref().expect("a change has metadata");
                // Only tags and the name changed there: a change of the messages waiting here
                // stays, now made on the new version.
                let meta = merged(&local.metadata, &local.dirty, server);
                let dirty = match local.dirty.has_content() {
                    true => local.dirty,
                    false => names_only(local.dirty),
                };
                tx.put_pulled(meta, local.message_count, LastChunk::Unknown, dirty)
                    .await?;
                tx.put_synced(
                    id,
                    Synced {
                        base: entry.seq,
                        ..synced
                    },
                );
                Applied::Yes
            }
            (EntryKind::Patch, Some(local)) => {
                let synced = synced.expect("checked above");
                if local.dirty.has_content() {
                    return Ok(Applied::Conflict);
                }
                if Some(synced.base) != entry.prev || entry.cut > local.message_count {
                    return Ok(Applied::NeedsWhole);
                }
                let count = tx.patch(entry, &local).await?;
                let server = entry.metadata.as_ref().expect("a change has metadata");
                let meta = merged(&local.metadata, &local.dirty, server);
                let last = LastChunk::Unknown;
                tx.put_pulled(meta, count, last, names_only(local.dirty))
                    .await?;
                tx.put_synced(
                    id,
                    Synced {
                        base: entry.seq,
                        count,
                    },
                );
                Applied::Yes
            }
        };
        tx.commit().await?;
        Ok(applied)
    }

    /// Writes session `id` as the server has it whole (`whole`), or deletes it if the server
    /// has none.
    async fn apply_whole(&self, id: &str, whole: Option<&Pulled>) -> Result<()> {
        let doing = format!("applying session \"{id}\" as the server has it");
        let mut tx = SessionTx::write(&self.inner, SYNCING, doing)?;
        tx.pulled();
        match whole {
            Some(put) => tx.put_whole(put, None).await?,
            None => {
                if tx.exists(id)?.await? {
                    tx.delete_session(id)?;
                }
                tx.forget_synced(id);
            }
        }
        tx.commit().await
    }

    /// The device's sync record, with the pull cursor set to `cursor` if given (the record made
    /// and kept if this device never synced: its id is what the server knows it by).
    async fn save_cursor(&self, cursor: Option<i64>) -> Result<SyncState> {
        let doing = "keeping the sync cursor".to_owned();
        let tx = SessionTx::write(&self.inner, &[SESSIONS, SYNC], doing)?;
        let mut state = match tx.sync_state()?.await? {
            Some(state) if cursor.is_none() => return Ok(state),
            Some(state) => state,
            None => SyncState::new(),
        };
        state.cursor = cursor.unwrap_or(state.cursor);
        tx.put_sync_state(&state);
        tx.commit().await?;
        Ok(state)
    }

    /// After a reset: deletes the sessions the server had and no longer has (those `seen` it
    /// still has; those never pushed stay).
    async fn drop_unseen(&self, seen: &[String]) -> Result<()> {
        let doing = "deleting what the server no longer has".to_owned();
        let mut tx = SessionTx::write(&self.inner, SYNCING, doing)?;
        tx.pulled();
        for id in tx.keys(SYNCED)?.await? {
            if seen.contains(&id) {
                continue;
            }
            if tx.exists(&id)?.await? {
                tx.delete_session(&id)?;
            }
            tx.forget_synced(&id);
        }
        tx.commit().await
    }
}

impl SessionTx<'_, Writing> {
    /// Applies a pulled patch to `local`: its messages from `cut` on replaced by the patch's,
    /// the state if sent. Returns the new message count.
    async fn patch(&mut self, entry: &Pulled, local: &SessionRecord) -> Result<u64> {
        let id = entry.id.as_str();
        let cut = entry.cut;
        let last = match cut < local.message_count {
            true => {
                let words = self.cut_at(id, cut)?.await?;
                self.delete_chunks(id, &words)?;
                match cut {
                    0 => None,
                    _ => match self.chunk_holding(id, cut - 1)?.await? {
                        Some(holding) => {
                            let kept = chunks::cut(id, &holding.text, cut - holding.start)?;
                            let holding = Chunk {
                                start: holding.start,
                                text: kept.unwrap_or(holding.text),
                            };
                            self.put_chunk(id, &holding);
                            Some(holding)
                        }
                        None => {
                            return Err(chunks::damaged(id, "the chunks before a cut are missing"))
                        }
                    },
                }
            }
            false => self.last_chunk(id)?.await?,
        };
        self.index_messages(id, cut, &entry.texts)?;
        let written = chunks::appended(id, last.as_ref(), cut, &entry.texts)?;
        self.put_chunks(id, written);
        if let Some(state) = &entry.state {
            self.put_state(id, state);
        }
        Ok(cut + entry.texts.len() as u64)
    }
}

/// A record read, `None` for a session this database does not have.
fn found(record: Result<SessionRecord>) -> Result<Option<SessionRecord>> {
    match record {
        Ok(record) => Ok(Some(record)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Only what of `dirty` survives taking the server's version: tags and a name still to push.
pub(super) fn names_only(dirty: Dirty) -> Dirty {
    Dirty {
        tags: dirty.tags,
        name: dirty.name,
        ..Dirty::default()
    }
}

/// The server's metadata (`server`) with what changed here (`local`, `dirty`) and has not been
/// pushed kept on top: tags added and a new name; and, if its messages changed here too, its own
/// counters and times, which the push of that change sends.
pub(super) fn merged(
    local: &SessionMetadata,
    dirty: &Dirty,
    server: &SessionMetadata,
) -> SessionMetadata {
    let mut meta = match dirty.has_content() {
        true => local.clone(),
        false => server.clone(),
    };
    meta.tags = server.tags.clone();
    rules::merge_tags(&mut meta.tags, dirty.tags.clone());
    meta.name = match dirty.name {
        true => local.name.clone(),
        false => server.name.clone(),
    };
    meta
}
