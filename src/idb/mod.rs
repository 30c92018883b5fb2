//! `IndexedDbSessionManager`: sessions in the browser's IndexedDB, one transaction per operation.
//!
//! Every operation reads and writes inside a single transaction over every store it touches
//! ([`transaction`]), so it is atomic, and two connections (two tabs) racing on one session
//! serialize instead of losing an update. The layout is in [`schema`], the operations in
//! [`operations`]; they work on sessions in their stored form ([`stored`]), which this file's
//! trait implementation converts to and from the model, and which the JS facade hands to JS as
//! it is, so that on the JS API a session's messages never cross into wasm at all.

mod changes;
mod chunks;
mod indexer;
mod json_array;
mod operations;
mod record;
mod requests;
mod schema;
mod search;
mod stored;
mod sync;
mod transaction;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::Function;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbTransaction, IdbTransactionMode};

pub(crate) use self::changes::to_js as changes_to_js;
use self::changes::Changes;
pub(crate) use self::chunks::damaged;
use self::chunks::Tails;
pub use self::indexer::IndexingEnded;
use self::requests::{dom_error, open_database};
pub(crate) use self::schema::WRITE_CHUNK;
use self::stored::message_texts;
pub(crate) use self::stored::{check_count, EncodedOptions, EncodedSession, StoredSession};
use self::sync::Wrote;
pub use self::sync::{SyncReport, Syncing, DEFAULT_SYNC_INTERVAL_MS};
use crate::error::{Error, Result};
use crate::js_value::{metadata_from_js, Shape};
use crate::manager::{BoxFuture, SessionManager};
use crate::model::{Session, SessionMetadata, TurnOptions};
use crate::rules;
use crate::search::words::browser::{searcher, Searcher};
use crate::search::{Filter, SearchHit, SearchOptions};
use crate::watch::{Listener, Watch};

/// How long an open waits for older connections (other tabs) to close before giving up.
const BLOCKED_TIMEOUT_MS: u32 = 5_000;

/// A [`SessionManager`] over an IndexedDB database. Cheap to share behind an `Rc`.
pub struct IndexedDbSessionManager {
    inner: Rc<Inner>,
}

/// The connection, shared by the store and its transactions.
struct Inner {
    name: String,
    db: IdbDatabase,
    /// Why the store is closed, once it is.
    closed: RefCell<Option<String>>,
    on_version_change: RefCell<Option<Closure<dyn FnMut()>>>,
    /// The last chunk of each session this connection wrote, so appends need not read it back.
    tails: Tails,
    /// Who hears of this database's writes.
    changes: Changes,
    /// Keys the words of messages, while search is on (see the search words in `js/convert.js`).
    searcher: Option<Searcher>,
    /// How far background indexing is.
    indexing: RefCell<indexer::Progress>,
}

/// How [`IndexedDbSessionManager::open_with`] opens a store.
pub struct OpenOptions {
    /// Whether the store keeps its search index (the default). Off, writes index nothing (and
    /// drop the index's mark of the sessions they change) and `search` fails with
    /// `UNAVAILABLE`; a later open with search on indexes what is missing, in the background.
    pub search: bool,
    /// Called with `(sessions indexed, sessions to index)` as background indexing proceeds.
    pub on_index_progress: Option<Function>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            search: true,
            on_index_progress: None,
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        self.db.close();
    }
}

impl std::fmt::Debug for IndexedDbSessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexedDbSessionManager")
            .field("name", &self.inner.name)
            .finish()
    }
}

impl IndexedDbSessionManager {
    /// Opens (creating or upgrading) the database `name`, with search on. Fails with
    /// `UNAVAILABLE` where IndexedDB is missing or refused, or while another tab's older
    /// connection blocks the upgrade.
    pub async fn open(name: &str) -> Result<Self> {
        Self::open_with(name, OpenOptions::default()).await
    }

    /// [`open`](Self::open) with `options`. With search on, the sessions not yet indexed are
    /// indexed in the background (see [`when_indexed`](Self::when_indexed)).
    pub async fn open_with(name: &str, options: OpenOptions) -> Result<Self> {
        if name.is_empty() {
            return Err(Error::invalid("database name must not be empty"));
        }
        let upgrade =
            Closure::<dyn FnMut(IdbDatabase, IdbTransaction, f64) -> Result<(), JsValue>>::new(
                |db: IdbDatabase, tx: IdbTransaction, old: f64| {
                    schema::upgrade(&db, &tx, old as u32)
                },
            );
        let upgrade_fn: &Function = upgrade.as_ref().unchecked_ref();
        let opened = JsFuture::from(open_database(
            name,
            schema::VERSION,
            upgrade_fn,
            BLOCKED_TIMEOUT_MS,
        ))
        .await;
        drop(upgrade);
        let db: IdbDatabase = opened
            .map_err(
                |e| match dom_error(&format!("opening database \"{name}\""), &e) {
                    Error::Storage { message } | Error::QuotaExceeded { message } => {
                        Error::Unavailable { message }
                    }
                    other => other,
                },
            )?
            .unchecked_into();
        let inner = Rc::new(Inner {
            name: name.to_owned(),
            db,
            closed: RefCell::new(None),
            on_version_change: RefCell::new(None),
            tails: Tails::default(),
            changes: Changes::open(name),
            searcher: options.search.then(|| searcher(schema::WORDS_BLOCK)),
            indexing: RefCell::new(indexer::Progress::new(options.on_index_progress)),
        });
        let weak: Weak<Inner> = Rc::downgrade(&inner);
        let on_change = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.close(format!(
                    "database \"{}\" was closed because another tab opened a newer version of it; reload to continue",
                    inner.name
                ));
            }
        });
        inner
            .db
            .set_onversionchange(Some(on_change.as_ref().unchecked_ref()));
        *inner.on_version_change.borrow_mut() = Some(on_change);
        match options.search {
            true => wasm_bindgen_futures::spawn_local(indexer::run(Rc::downgrade(&inner))),
            false => indexer::Progress::end(&inner.indexing, Ok(())),
        }
        Ok(Self { inner })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Calls `done` with `(sessions indexed, sessions to index)` once the background indexing
    /// this open started has ended (at once if it has), or with the error that stopped it.
    pub fn when_indexed(&self, done: IndexingEnded) {
        indexer::Progress::when_ended(&self.inner.indexing, done);
    }

    /// Closes the connection; every later call fails with `CLOSED`. Calls already running finish.
    pub fn close(&self) {
        self.inner.close(format!(
            "database \"{}\" was closed by close()",
            self.inner.name
        ));
    }
}

impl Inner {
    /// After a write failed for want of space: Firefox makes the connection's next read-write
    /// transaction a "cleanup" one that refuses every put (InvalidStateError), so the store spends
    /// it on an empty transaction and its next write is an ordinary one.
    pub(crate) fn after_quota_failure(&self) {
        let _ = self
            .db
            .transaction_with_str_and_mode(schema::SESSIONS, IdbTransactionMode::Readwrite);
    }

    fn close(&self, why: String) {
        let mut closed = self.closed.borrow_mut();
        if closed.is_none() {
            *closed = Some(why);
            self.db.close();
        }
    }
}

impl SessionManager for IndexedDbSessionManager {
    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        self.list_metadata(None)
    }

    fn list_page(
        &self,
        offset: usize,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        self.list_metadata(Some((offset, limit)))
    }

    fn resume(&self, session_id: &str) -> BoxFuture<'_, Result<Session>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.resume_stored(&id).await?.decode() })
    }

    fn save_returning(&self, session: &Session) -> BoxFuture<'_, Result<SessionMetadata>> {
        // Encoded now, so the future owns text rather than a copy of the session.
        let encoded = EncodedSession::encode(session);
        Box::pin(async move { self.save_stored(encoded?).await })
    }

    fn delete(&self, session_id: &str) -> BoxFuture<'_, Result<()>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.delete_session(&id).await })
    }

    fn fork(
        &self,
        session_id: &str,
        new_name: Option<String>,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.fork_session(&id, new_name).await })
    }

    fn rewind(&self, session_id: &str, turn_index: u32) -> BoxFuture<'_, Result<Session>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.rewind_stored(&id, turn_index).await?.decode() })
    }

    fn tag(&self, session_id: &str, tags: Vec<String>) -> BoxFuture<'_, Result<()>> {
        let id = session_id.to_owned();
        Box::pin(async move {
            rules::check_id(&id)?;
            rules::check_tags(&tags, &id)?;
            let doing = format!("tagging session \"{id}\"");
            let merge = |meta: &mut SessionMetadata| {
                let added: Vec<String> = tags
                    .iter()
                    .filter(|t| !meta.tags.contains(t))
                    .cloned()
                    .collect();
                rules::merge_tags(&mut meta.tags, tags);
                Wrote::Tagged(added)
            };
            self.update_metadata(&id, doing, merge).await
        })
    }

    fn rename(&self, session_id: &str, new_name: String) -> BoxFuture<'_, Result<()>> {
        let id = session_id.to_owned();
        Box::pin(async move {
            rules::check_id(&id)?;
            rules::check_name(&new_name, &id)?;
            let doing = format!("renaming session \"{id}\"");
            let rename = |meta: &mut SessionMetadata| {
                meta.name = Some(new_name);
                Wrote::Renamed
            };
            self.update_metadata(&id, doing, rename).await
        })
    }

    fn append(
        &self,
        session_id: &str,
        messages: Vec<Value>,
        options: TurnOptions,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        let id = session_id.to_owned();
        // Checked and encoded now: the future owns text, not the caller's values.
        let texts = message_texts(session_id, &messages);
        let options = EncodedOptions::encode(session_id, options);
        Box::pin(async move { self.append_stored(&id, texts?, options?).await })
    }

    fn replace_last(
        &self,
        session_id: &str,
        message: Value,
        options: TurnOptions,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        let id = session_id.to_owned();
        let text = message_texts(session_id, std::slice::from_ref(&message));
        let options = EncodedOptions::encode(session_id, options);
        Box::pin(async move {
            let text = text?.pop().unwrap_or_default();
            self.replace_last_stored(&id, text, options?).await
        })
    }

    fn list_filtered(
        &self,
        filter: &Filter,
        offset: usize,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        let filter = filter.clone();
        Box::pin(async move {
            let page = self
                .list_admitted_stored(&filter, Some((offset, limit)))
                .await?;
            metadata_list(&page)
        })
    }

    fn search(&self, query: &str, options: SearchOptions) -> BoxFuture<'_, Result<Vec<SearchHit>>> {
        let query = query.to_owned();
        Box::pin(async move { self.search_indexed(&query, options).await })
    }

    /// Reports this connection's writes as they commit, and those of every other connection to
    /// the same database (other handles, tabs and workers of the origin) as they are heard.
    fn watch(&self, listener: Listener) -> Result<Watch> {
        Ok(self.inner.changes.watchers.subscribe(listener))
    }
}

impl IndexedDbSessionManager {
    fn list_metadata(
        &self,
        page: Option<(usize, usize)>,
    ) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        Box::pin(async move { metadata_list(&self.list_stored(page).await?) })
    }
}

/// The metadata objects of a `list` page, read into the model.
fn metadata_list(listed: &js_sys::Array) -> Result<Vec<SessionMetadata>> {
    listed
        .iter()
        .map(|meta| {
            metadata_from_js(&meta, "metadata", Shape::Js).map_err(|why| {
                Error::storage(format!("a listed session's record is damaged: {why}"))
            })
        })
        .collect()
}
