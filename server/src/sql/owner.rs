//! `OwnerSessions`: one owner's sessions in a SQL database, as a `SessionManager`.

use idb_session_store::{
    BoxFuture, Listener, Result, Session, SessionManager, SessionMetadata, TurnOptions, Watch,
    Watchers,
};
use serde_json::Value;
use std::sync::Arc;

use super::SqlSessionManager;

/// The sessions of one owner, from [`SqlSessionManager::owner`]. Every call reads and writes only
/// this owner's rows: another owner's session ids are `NOT_FOUND` here, exactly as unknown ones.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct OwnerSessions {
    pub(crate) db: SqlSessionManager,
    pub(crate) owner: String,
    /// This owner's listeners, shared by every handle of the owner in this process.
    pub(crate) watchers: Arc<Watchers>,
}

impl OwnerSessions {
    pub(crate) fn new(db: SqlSessionManager, owner: String, watchers: Arc<Watchers>) -> Self {
        Self {
            db,
            owner,
            watchers,
        }
    }

    /// The owner whose sessions these are.
    pub fn owner(&self) -> &str {
        &self.owner
    }
}

impl SessionManager for OwnerSessions {
    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        Box::pin(self.read_page(0, usize::MAX))
    }

    fn resume(&self, session_id: &str) -> BoxFuture<'_, Result<Session>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.read_session(&id).await })
    }

    fn save_returning(&self, session: &Session) -> BoxFuture<'_, Result<SessionMetadata>> {
        let session = session.clone();
        Box::pin(async move { self.write_save(&session).await })
    }

    fn delete(&self, session_id: &str) -> BoxFuture<'_, Result<()>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.write_delete(&id).await })
    }

    fn fork(
        &self,
        session_id: &str,
        new_name: Option<String>,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.write_fork(&id, new_name).await })
    }

    fn rewind(&self, session_id: &str, turn_index: u32) -> BoxFuture<'_, Result<Session>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.write_rewind(&id, turn_index).await })
    }

    fn tag(&self, session_id: &str, tags: Vec<String>) -> BoxFuture<'_, Result<()>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.write_tag(&id, tags).await })
    }

    fn rename(&self, session_id: &str, new_name: String) -> BoxFuture<'_, Result<()>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.write_rename(&id, new_name).await })
    }

    fn list_page(
        &self,
        offset: usize,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        Box::pin(self.read_page(offset, limit))
    }

    fn append(
        &self,
        session_id: &str,
        messages: Vec<Value>,
        options: TurnOptions,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.write_append(&id, messages, options).await })
    }

    fn replace_last(
        &self,
        session_id: &str,
        message: Value,
        options: TurnOptions,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        let id = session_id.to_owned();
        Box::pin(async move { self.write_replace_last(&id, message, options).await })
    }

    /// Reports the writes made through this process (any handle of its [`SqlSessionManager`]) to
    /// this owner's sessions; writes by other servers on the same database are not seen.
    fn watch(&self, listener: Listener) -> Result<Watch> {
        Ok(self.watchers.subscribe(listener))
    }
}
