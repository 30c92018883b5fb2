//! `InMemorySessionManager`: sessions in a map, lost when the process or page ends. For tests,
//! ephemeral agents, and as the reference model the IndexedDB store is checked against.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::manager::{BoxFuture, SendSyncOutsideWasm, SessionManager};
use crate::model::{Change, Session, SessionMetadata, TurnOptions};
use crate::rules::{self, Clock};
use crate::watch::{Listener, Watch, Watchers};

/// A [`SessionManager`] that keeps sessions in memory.
#[derive(Debug, Default)]
pub struct InMemorySessionManager {
    state: Mutex<State>,
    watchers: Watchers,
}

#[derive(Debug, Default)]
struct State {
    clock: Clock,
    /// Each session with the `seq` of its last write, which orders `list` after `updated_at`.
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

    /// Stores `session` as written now (`updated_at` now, a `created_at` of 0 now too).
    fn put(&mut self, mut session: Session) -> SessionMetadata {
        let stamp = self.clock.tick(rules::now_ms());
        session.metadata.updated_at = stamp.ms;
        if session.metadata.created_at == 0 {
            session.metadata.created_at = stamp.ms;
        }
        let meta = session.metadata.clone();
        self.sessions.insert(meta.id.clone(), (session, stamp.seq));
        meta
    }

    /// Applies `change` to session `id` (which refuses before it changes anything) and stamps
    /// it as written now.
    fn modify<T>(&mut self, id: &str, change: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        rules::check_id(id)?;
        let (session, seq) = self
            .sessions
            .get_mut(id)
            .ok_or_else(|| Error::not_found(id))?;
        let out = change(session)?;
        let stamp = self.clock.tick(rules::now_ms());
        *seq = stamp.seq;
        session.metadata.updated_at = stamp.ms;
        Ok(out)
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

    /// Runs the write `op`, then (outside the lock) tells the watchers what it changed.
    fn write<T>(
        &self,
        op: impl FnOnce(&mut State) -> Result<(T, Change)>,
    ) -> BoxFuture<'_, Result<T>>
    where
        T: SendSyncOutsideWasm + 'static,
    {
        let result = op(&mut self.lock());
        let result = result.map(|(out, change)| {
            self.watchers.notify(&[change]);
            out
        });
        Box::pin(std::future::ready(result))
    }

    /// A write of session `id` that resolves with its metadata as stored.
    fn modify(
        &self,
        id: &str,
        change: impl FnOnce(&mut Session) -> Result<()>,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        self.write(|state| {
            state.modify(id, change)?;
            let meta = state.get(id)?.metadata.clone();
            Ok((meta.clone(), Change::Saved(meta)))
        })
    }
}

impl SessionManager for InMemorySessionManager {
    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        self.run(|state| {
            let mut all: Vec<_> = state.sessions.values().collect();
            all.sort_by_key(|(s, seq)| std::cmp::Reverse((s.metadata.updated_at, *seq)));
            Ok(all.into_iter().map(|(s, _)| s.metadata.clone()).collect())
        })
    }

    fn resume(&self, session_id: &str) -> BoxFuture<'_, Result<Session>> {
        self.run(|state| Ok(state.get(session_id)?.clone()))
    }

    fn save_returning(&self, session: &Session) -> BoxFuture<'_, Result<SessionMetadata>> {
        self.write(|state| {
            rules::check_session(session)?;
            let meta = state.put(session.clone());
            Ok((meta.clone(), Change::Saved(meta)))
        })
    }

    fn delete(&self, session_id: &str) -> BoxFuture<'_, Result<()>> {
        self.write(|state| {
            state.get(session_id)?;
            state.sessions.remove(session_id);
            let id = session_id.to_owned();
            Ok(((), Change::Deleted { id }))
        })
    }

    fn fork(
        &self,
        session_id: &str,
        new_name: Option<String>,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        self.write(|state| {
            rules::check_fork(session_id, new_name.as_deref())?;
            let mut copy = state.get(session_id)?.clone();
            let meta = &mut copy.metadata;
            meta.id = uuid::Uuid::new_v4().to_string();
            meta.name = rules::fork_name(meta.name.as_deref(), new_name);
            meta.created_at = 0; // stamped now, like updated_at
            let meta = state.put(copy);
            Ok((meta.clone(), Change::Saved(meta)))
        })
    }

    fn rewind(&self, session_id: &str, turn_index: u32) -> BoxFuture<'_, Result<Session>> {
        self.write(|state| {
            state.modify(session_id, |session| {
                session.messages.truncate(turn_index as usize);
                session.metadata.turn_count = session.messages.len() as u32;
                Ok(())
            })?;
            let session = state.get(session_id)?.clone();
            let change = Change::Saved(session.metadata.clone());
            Ok((session, change))
        })
    }

    fn tag(&self, session_id: &str, tags: Vec<String>) -> BoxFuture<'_, Result<()>> {
        // Bad arguments are refused before the session is looked up, as every store does.
        if let Err(e) = rules::check_id(session_id).and(rules::check_tags(&tags, session_id)) {
            return Box::pin(std::future::ready(Err(e)));
        }
        let tagged = self.modify(session_id, |session| {
            rules::merge_tags(&mut session.metadata.tags, tags);
            Ok(())
        });
        Box::pin(async move { tagged.await.map(drop) })
    }

    fn rename(&self, session_id: &str, new_name: String) -> BoxFuture<'_, Result<()>> {
        if let Err(e) = rules::check_id(session_id).and(rules::check_name(&new_name, session_id)) {
            return Box::pin(std::future::ready(Err(e)));
        }
        let renamed = self.modify(session_id, |session| {
            session.metadata.name = Some(new_name);
            Ok(())
        });
        Box::pin(async move { renamed.await.map(drop) })
    }

    fn append(
        &self,
        session_id: &str,
        messages: Vec<Value>,
        options: TurnOptions,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        self.modify(session_id, |session| {
            rules::append_turn(session, messages, options)
        })
    }

    fn replace_last(
        &self,
        session_id: &str,
        message: Value,
        options: TurnOptions,
    ) -> BoxFuture<'_, Result<SessionMetadata>> {
        self.modify(session_id, |session| {
            rules::replace_last(session, message, options)
        })
    }

    fn watch(&self, listener: Listener) -> Result<Watch> {
        Ok(self.watchers.subscribe(listener))
    }
}
