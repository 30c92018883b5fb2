//! `OwnerSessions`: one owner's sessions in a SQL database, as a `SessionManager`.

use idb_session_store::{BoxFuture, Result, Session, SessionManager, SessionMetadata};
use serde_json::Value;

use super::SqlSessionManager;
use crate::TurnOptions;

/// The sessions of one owner, from [`SqlSessionManager::owner`]. Every call reads and writes only
/// this owner's rows: another owner's session ids are `NOT_FOUND` here, exactly as unknown ones.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct OwnerSessions {
    pub(crate) db: SqlSessionManager,
    pub(crate) owner: String,
}

impl OwnerSessions {
    pub(crate) fn new(db: SqlSessionManager, owner: String) -> Self {
        Self { db, owner }
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
        tokens: u64,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        let id = session_id.to_owned();
        let options = TurnOptions {
            tokens,
            state: None,
        };
        Box::pin(async move { self.append_turn(&id, messages, options).await })
    }
}
