//! The `SessionManager` trait every store implements, and the future type its methods return.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{Session, SessionMetadata, TurnOptions};
use crate::search::{Filter, SearchHit, SearchOptions};
use crate::watch::{Listener, Watch};

/// A boxed future: `Send` off wasm, where stores are shared across threads; not `Send` on
/// wasm32, where IndexedDB futures hold browser objects that never leave their thread.
#[cfg(not(target_arch = "wasm32"))]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A boxed future: `Send` off wasm, where stores are shared across threads; not `Send` on
/// wasm32, where IndexedDB futures hold browser objects that never leave their thread.
#[cfg(target_arch = "wasm32")]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// `Send + Sync` off wasm, nothing on wasm32: the bound `SessionManager` puts on its implementors.
#[cfg(not(target_arch = "wasm32"))]
pub trait SendSyncOutsideWasm: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> SendSyncOutsideWasm for T {}
/// `Send + Sync` off wasm, nothing on wasm32: the bound `SessionManager` puts on its implementors.
#[cfg(target_arch = "wasm32")]
pub trait SendSyncOutsideWasm {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> SendSyncOutsideWasm for T {}

/// Persists agent sessions and runs their lifecycle operations. Every write is atomic.
///
/// Ordering: `list` returns the most recently written session first; a write made later always
/// sorts first, even within the same millisecond. Unknown ids fail with
/// [`Error::NotFound`](crate::Error::NotFound), bad arguments with
/// [`Error::InvalidInput`](crate::Error::InvalidInput), and a failed call changes nothing.
pub trait SessionManager: SendSyncOutsideWasm {
    /// List all sessions' metadata, most recently updated first. Never loads messages.
    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionMetadata>>>;

    /// Load a session by id.
    fn resume(&self, session_id: &str) -> BoxFuture<'_, Result<Session>>;

    /// Save (create or replace) a session; `updated_at` becomes now, a `created_at` of 0 becomes now.
    fn save(&self, session: &Session) -> BoxFuture<'_, Result<()>> {
        let saved = self.save_returning(session);
        Box::pin(async move { saved.await.map(|_| ()) })
    }

    /// [`save`](Self::save), resolving with the metadata as stored (with its new timestamps).
    fn save_returning(&self, session: &Session) -> BoxFuture<'_, Result<SessionMetadata>>;

    /// Delete a session and all its data.
    fn delete(&self, session_id: &str) -> BoxFuture<'_, Result<()>>;

    /// Fork a session: a full copy under a new UUID v4 with `created_at = updated_at = now`,
    /// named `new_name`, or `"<original name> (fork)"` (no name if the original had none).
    /// The copy then diverges independently.
    fn fork(
        &self,
        session_id: &str,
        new_name: Option<String>,
    ) -> BoxFuture<'_, Result<SessionMetadata>>;

    /// Rewind a session to its first `turn_index` messages (all of them if it has fewer), set
    /// `turn_count` to the number kept, persist, and return the session.
    fn rewind(&self, session_id: &str, turn_index: u32) -> BoxFuture<'_, Result<Session>>;

    /// Append the tags a session does not have yet, in order, without duplicates.
    fn tag(&self, session_id: &str, tags: Vec<String>) -> BoxFuture<'_, Result<()>>;

    /// Rename a session.
    fn rename(&self, session_id: &str, new_name: String) -> BoxFuture<'_, Result<()>>;

    /// One page of [`list`](Self::list): skip the `offset` most recent sessions, return at most
    /// `limit`. Stores that can (IndexedDB) read only that page, not every session.
    fn list_page(
        &self,
        offset: usize,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        let all = self.list();
        Box::pin(async move { Ok(all.await?.into_iter().skip(offset).take(limit).collect()) })
    }

    /// [`list_page`](Self::list_page) of only the sessions `filter` admits (a tag, an agent).
    /// Stores that can (IndexedDB) read the page from an index, not every session.
    fn list_filtered(
        &self,
        filter: &Filter,
        offset: usize,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        let filter = filter.clone();
        let all = self.list();
        Box::pin(async move {
            filter.check()?;
            Ok(all
                .await?
                .into_iter()
                .filter(|m| filter.admits(m))
                .skip(offset)
                .take(limit)
                .collect())
        })
    }

    /// The messages every word of `query` occurs in (as a whole word or a word prefix, case-
    /// and accent-insensitively), best first, at most `options.limit`, among the sessions
    /// `options.filter` admits; see the module [`search`](crate::search) for what is searched
    /// and how hits are ordered. `INVALID_INPUT` for a query without words.
    ///
    /// The default reads every session (the reference the indexed stores are checked against);
    /// the IndexedDB store answers from its index.
    fn search(&self, query: &str, options: SearchOptions) -> BoxFuture<'_, Result<Vec<SearchHit>>> {
        let query = query.to_owned();
        Box::pin(async move { crate::search::scan(self, &query, options).await })
    }

    /// Append one turn to a stored session in one atomic write: `messages` go after the existing
    /// ones, `options.tokens` is added to `total_tokens`, `turn_count` grows by one, and the state
    /// becomes `options.state` if given. Resolves with the updated metadata. The history is
    /// neither passed in nor rewritten.
    ///
    /// The default resumes and saves the whole session, which is correct but neither atomic
    /// against other writers nor cheap; every store of this crate overrides it.
    fn append(
        &self,
        session_id: &str,
        messages: Vec<Value>,
        options: TurnOptions,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        let id = session_id.to_owned();
        Box::pin(async move {
            let mut session = self.resume(&id).await?;
            crate::rules::append_turn(&mut session, messages, options)?;
            self.save_returning(&session).await
        })
    }

    /// Replace the last message of a session (a reply still streaming) in one atomic write, add
    /// `options.tokens` to `total_tokens` and, if given, replace the state; `turn_count` stays.
    /// `INVALID_INPUT` if the session has no messages. Neither sends nor rewrites the history.
    ///
    /// The default resumes and saves the whole session, like [`append`](Self::append)'s.
    fn replace_last(
        &self,
        session_id: &str,
        message: Value,
        options: TurnOptions,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        let id = session_id.to_owned();
        Box::pin(async move {
            let mut session = self.resume(&id).await?;
            crate::rules::replace_last(&mut session, message, options)?;
            self.save_returning(&session).await
        })
    }

    /// Calls `listener` with the changes of every write committed to this store from now on,
    /// after it committed, one call per write, until the returned [`Watch`] is dropped. A write
    /// that fails reports nothing. Stores that cannot observe their writes fail with
    /// `UNAVAILABLE` (the default).
    fn watch(&self, listener: Listener) -> Result<Watch> {
        drop(listener);
        Err(Error::Unavailable {
            message: "this store does not report its changes".to_owned(),
        })
    }
}
