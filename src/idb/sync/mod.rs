//! Syncing with a `session-server`, offline first: every local write succeeds without the
//! network and notes in its own transaction what it changed ([`Dirty`]); a sync round pushes
//! those changes as numbered operations (a push in flight is kept, and sent again as it was until
//! it is answered, so none applies twice), then pulls what other devices wrote since the cursor,
//! applying each change in a transaction of its own, reported to `watch` like any write.
//!
//! When this device and another both changed a session, the server's version stays under the id
//! and this one becomes a copy named `"<name> (conflict)"`, pushed like any new session, so every
//! device gets both. Tags merge as a set and a rename is the last in server order. A session
//! deleted anywhere is deleted everywhere; a device away longer than the server keeps changes
//! gets every session anew and keeps only those (and its own never pushed).

mod dirty;
mod pull;
mod push;
mod remote;
mod running;
mod state;

pub(crate) use dirty::{Dirty, Wrote};
pub(crate) use remote::Remote;
pub use running::{Syncing, DEFAULT_SYNC_INTERVAL_MS};
pub(crate) use state::{SyncState, Synced};

use super::IndexedDbSessionManager;
use crate::error::Result;

/// What a sync round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Local operations the server applied.
    pub pushed: u64,
    /// Changes from other devices applied here.
    pub pulled: u64,
    /// Sessions changed both here and elsewhere, kept here as a `"<name> (conflict)"` copy.
    pub conflicts: u64,
}

/// Most operations one push sends.
const PUSH_OPS: u32 = 100;

impl IndexedDbSessionManager {
    /// One sync round with the server at `url` (a `session-server`), bearing `token`: pulls every
    /// change made elsewhere since the last round and pushes every change made here. Fails with
    /// `UNAVAILABLE` when the server cannot be reached: nothing is lost, the next round sends it.
    /// One round runs at a time across the origin's tabs (a Web Lock): a call waits for another's.
    pub async fn sync(&self, url: &str, token: &str) -> Result<SyncReport> {
        self.round(&Remote::new(url, token)?).await
    }

    /// A round, its lock held.
    async fn sync_round(&self, remote: &Remote) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        // A push sent and not answered goes first, as it was: the server may have applied it.
        if let Some(state) = self.in_flight().await? {
            self.push(remote, state, &mut report).await?;
        }
        // Then what changed elsewhere, so that what changed here is pushed on the newest
        // versions (a rename elsewhere does not make an append here a conflict).
        self.pull(remote, &mut report).await?;
        loop {
            let state = self.gather(PUSH_OPS).await?;
            if state.inflight.is_empty() {
                break;
            }
            self.push(remote, state, &mut report).await?;
        }
        Ok(report)
    }
}
