//! What a turn changes besides its messages. This moves to the core crate with issue 11, when
//! `SessionManager::append` takes it; the SQL stores take it already.

use serde_json::Value;

/// What a turn changes besides messages: tokens used and, if given, the agent's new state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnOptions {
    /// Added to `total_tokens`.
    pub tokens: u64,
    /// Replaces the session's state when `Some` (`Some(Value::Null)` stores `null`).
    pub state: Option<Value>,
}
