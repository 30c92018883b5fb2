//! The data model: a session's metadata and its full snapshot, as the trait's documents define them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Metadata attached to a stored session: everything [`list`](crate::SessionManager::list) returns.
/// Its serde form refuses unknown fields, so nothing a file or a request holds is dropped unseen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionMetadata {
    /// Unique session identifier (a UUID for sessions the store creates).
    pub id: String,
    /// Human-readable name.
    pub name: Option<String>,
    /// User-defined tags, in the order they were added, without duplicates.
    pub tags: Vec<String>,
    /// Name of the agent this session belongs to.
    pub agent_name: String,
    /// Creation time, Unix milliseconds. A session saved with 0 gets the time of that save.
    pub created_at: i64,
    /// Last-update time, Unix milliseconds, set by the store on every write.
    pub updated_at: i64,
    /// Number of turns recorded.
    pub turn_count: u32,
    /// Cumulative token usage.
    pub total_tokens: u64,
}

/// A full session snapshot: metadata, conversation history and agent state. Its serde form
/// refuses unknown fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// Session metadata.
    pub metadata: SessionMetadata,
    /// Conversation messages, oldest first, each any JSON value.
    pub messages: Vec<Value>,
    /// Arbitrary agent state (plugin state, working directory, environment, ...).
    pub state: Value,
}

/// What a turn changes besides its messages: the tokens it used and, if given, the agent's new
/// state, written in the same atomic write as the messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnOptions {
    /// Added to `total_tokens`.
    pub tokens: u64,
    /// Replaces the session's state when `Some`.
    pub state: Option<Value>,
}

impl TurnOptions {
    /// A turn that used `tokens` and leaves the state as it is.
    pub fn tokens(tokens: u64) -> Self {
        TurnOptions {
            tokens,
            state: None,
        }
    }
}

/// One committed change to a store, as [`watch`](crate::SessionManager::watch) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A session was created or changed (by any write but a delete); its metadata as stored.
    Saved(SessionMetadata),
    /// A session was deleted.
    Deleted {
        /// The deleted session's id.
        id: String,
    },
}

impl Change {
    /// The id of the session that changed.
    pub fn id(&self) -> &str {
        match self {
            Change::Saved(meta) => &meta.id,
            Change::Deleted { id } => id,
        }
    }
}

impl SessionMetadata {
    /// Metadata for a new, empty session of `agent_name` with the given id; timestamps are 0, so
    /// the first save stamps them.
    pub fn new(id: impl Into<String>, agent_name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: None,
            tags: Vec::new(),
            agent_name: agent_name.into(),
            created_at: 0,
            updated_at: 0,
            turn_count: 0,
            total_tokens: 0,
        }
    }
}

impl Session {
    /// A new, empty session of `agent_name` under a fresh UUID v4, with `null` state.
    pub fn new(agent_name: impl Into<String>) -> Self {
        Self {
            metadata: SessionMetadata::new(uuid::Uuid::new_v4().to_string(), agent_name),
            messages: Vec::new(),
            state: Value::Null,
        }
    }
}
