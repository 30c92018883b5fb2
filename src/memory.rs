//! `InMemorySessionManager`: sessions in a map, lost when the process or page ends. For tests,
//! ephemeral agents, and as the reference model the IndexedDB store is checked against.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::manager::{BoxFuture, SendSyncOutsideWasm, SessionManager};
use crate::model::{Session, SessionMetadata};
use crate::rules::{self, Clock};

/// A [`SessionManager`] that keeps sessions in memory.
#[derive(Debug, Default)]
pub struct InMemorySessionManager {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    clock: Clock,
    /// Each session with the `seq` of its last write, which orders `list`.
    sessions: HashMap<String, (Session, u64)>,
}

impl State {
    fn get(&self, id: &str) -> Result<&Session> {
        rules::check_id(id)?;
        self.sessions
            .get(id)
            .map(|(s, _)| s)
            .ok_or_else(|| Error::not_found(id))
    }

    /// The session to modify, already stamped as written now.
    fn touch(&mut self, id: &str) -> Result<&mut Session> {
        let (session, seq) = self
            .sessions
            .get_mut(id)
            .ok_or_else(|| Error::not_found(id))?;
        let stamp = self.clock.tick(rules::now_ms());
        *seq = stamp.seq;
        session.metadata.updated_at = stamp.ms;
        Ok(session)
    }
}

impl InMemorySessionManager {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied write: every operation
        // validates first and mutates last, so the data is consistent even if poisoned.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `op` on the locked state and returns its result as an already-finished future.
    fn run<T>(&self, op: impl FnOnce(&mut State) -> Result<T>) -> BoxFuture<'_, Result<T>>
    where
        T: SendSyncOutsideWasm + 'static,
    {
        let result = op(&mut self.lock());
        Box::pin(std::future::ready(result))
    }
}

impl SessionManager for InMemorySessionManager {
    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        self.run(|state| {
            let mut all: Vec<_> = state.sessions.values().collect();
            all.sort_by_key(|(_, seq)| std::cmp::Reverse(*seq));
            Ok(all.into_iter().map(|(s, _)| s.metadata.clone()).collect())
        })
    }

    fn resume(&self, session_id: &str) -> BoxFuture<'_, Result<Session>> {
        self.run(|state| Ok(state.get(session_id)?.clone()))
    }

    fn save_returning(&self, session: &Session) -> BoxFuture<'_, Result<SessionMetadata>> {
        self.run(|state| {
            rules::check_session(session)?;
            let stamp = state.clock.tick(rules::now_ms());
            let mut stored = session.clone();
            stored.metadata.updated_at = stamp.ms;
            if stored.metadata.created_at == 0 {
                stored.metadata.created_at = stamp.ms;
            }
            let meta = stored.metadata.clone();
            state.sessions.insert(meta.id.clone(), (stored, stamp.seq));
            Ok(meta)
        })
    }

    fn delete(&self, session_id: &str) -> BoxFuture<'_, Result<()>> {
        self.run(|state| {
            state.get(session_id)?;
            state.sessions.remove(session_id);
            Ok(())
        })
    }

    fn fork(
        &self,
        session_id: &str,
        new_name: Option<String>,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        self.run(|state| {
            rules::check_id(session_id)?;
            if let Some(name) = &new_name {
                rules::check_name(name, session_id)?;
            }
            let mut copy = state.get(session_id)?.clone();
            let stamp = state.clock.tick(rules::now_ms());
            let meta = &mut copy.metadata;
            meta.id = uuid::Uuid::new_v4().to_string();
            meta.name = rules::fork_name(meta.name.as_deref(), new_name);
            meta.created_at = stamp.ms;
            meta.updated_at = stamp.ms;
            let meta = meta.clone();
            state.sessions.insert(meta.id.clone(), (copy, stamp.seq));
            Ok(meta)
        })
    }

    fn rewind(&self, session_id: &str, turn_index: u32) -> BoxFuture<'_, Result<Session>> {
        self.run(|state| {
            rules::check_id(session_id)?;
            let session = state.touch(session_id)?;
            session.messages.truncate(turn_index as usize);
            session.metadata.turn_count = session.messages.len() as u32;
            Ok(session.clone())
        })
    }

    fn tag(&self, session_id: &str, tags: Vec<String>) -> BoxFuture<'_, Result<()>> {
        self.run(|state| {
            rules::check_id(session_id)?;
            rules::check_tags(&tags, session_id)?;
            rules::merge_tags(&mut state.touch(session_id)?.metadata.tags, tags);
            Ok(())
        })
    }

    fn rename(&self, session_id: &str, new_name: String) -> BoxFuture<'_, Result<()>> {
        self.run(|state| {
            rules::check_id(session_id)?;
            rules::check_name(&new_name, session_id)?;
            state.touch(session_id)?.metadata.name = Some(new_name);
            Ok(())
        })
    }

    fn append(
        &self,
        session_id: &str,
        messages: Vec<Value>,
        tokens: u64,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        self.run(|state| {
            let mut meta = state.get(session_id)?.metadata.clone();
            rules::check_messages(&messages, session_id)?;
            rules::count_turn(&mut meta, tokens)?;
            let session = state.touch(session_id)?;
            session.metadata.turn_count = meta.turn_count;
            session.metadata.total_tokens = meta.total_tokens;
            session.messages.extend(messages);
            Ok(session.metadata.clone())
        })
    }
}
