//! The sync protocol, as JSON on the wire: what a device pushes (its operations, each numbered,
//! each on the server version it was made on) and what it is answered, and what it pulls (the
//! owner's changes since its cursor). The browser store speaks it (`src/idb/sync/`); the HTTP
//! routes are `POST /v1/sync/push`, `GET /v1/sync/pull` and `GET /v1/sync/sessions/{id}`.
//!
//! A version is the seq of a session's last write on the server, which only grows. An operation
//! made on version `base` applies only while the session is still at `base` (tags and a rename
//! apply whatever the version: tags merge as a set, the last rename in server order wins); else
//! its outcome is `conflict` and the device keeps its version as a copy. An operation on a
//! session the server no longer has, whose `base` says the device had it, is `deleted`: nothing
//! deleted comes back. Operation numbers only grow per device; the server remembers each
//! device's last one and each outcome until the device acknowledges it, so a push retried after
//! a lost answer applies nothing twice and gets the same answers.

use idb_session_store::{Session, SessionMetadata};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// `POST /v1/sync/push`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Push {
    /// The device's id (a UUID it made itself).
    pub device: String,
    /// The highest operation number whose outcome the device has applied: the server may forget
    /// outcomes up to it.
    #[serde(default)]
    pub acked: i64,
    /// Operations in the order they were made, their numbers growing.
    pub ops: Vec<Op>,
}

/// One operation of a device.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// Creates (`base` null) or replaces a whole session.
    Put {
        /// The operation's number.
        op: i64,
        /// The server version it replaces, or null for a session the server never had.
        base: Option<i64>,
        /// The session.
        session: Session,
    },
    /// Replaces the messages from `cut` on by `messages` (an appended turn: `cut` is the count
    /// the server has; a streamed reply: the last one; a rewind: none), the state if given, and
    /// the metadata.
    Patch {
        /// The operation's number.
        op: i64,
        /// The server version it was made on.
        base: i64,
        /// The first message replaced.
        cut: u64,
        /// The messages from `cut` on.
        messages: Vec<Value>,
        /// The new state, if it changed (`null` is a state).
        #[serde(
            default,
            deserialize_with = "present",
            skip_serializing_if = "Option::is_none"
        )]
        state: Option<Value>,
        /// The metadata as it is on the device, which names the session (`updated_at` is
        /// stamped anew).
        metadata: SessionMetadata,
    },
    /// Adds tags (as a set) and renames, whatever the session's version.
    Meta {
        /// The operation's number.
        op: i64,
        /// The session's id.
        id: String,
        /// Tags added on the device.
        #[serde(default)]
        tags: Vec<String>,
        /// The new name, if renamed.
        #[serde(default)]
        name: Option<String>,
    },
    /// Deletes a session.
    Delete {
        /// The operation's number.
        op: i64,
        /// The session's id.
        id: String,
    },
}

impl Op {
    /// The operation's number.
    pub fn number(&self) -> i64 {
        match self {
            Op::Put { op, .. }
            | Op::Patch { op, .. }
            | Op::Meta { op, .. }
            | Op::Delete { op, .. } => *op,
        }
    }
}

/// What became of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Applied: the session is now at `version`.
    Applied {
        /// The operation's number.
        op: i64,
        /// The session's new version (0 for a delete).
        version: i64,
    },
    /// Not applied: the server's version of the session moved on since `base` (it is
    /// `version`), or the server has a session of that id the device did not know of.
    Conflict {
        /// The operation's number.
        op: i64,
        /// The server's version.
        version: i64,
    },
    /// Not applied: the session was deleted on the server.
    Deleted {
        /// The operation's number.
        op: i64,
    },
}

/// The answer to a push: an outcome per operation, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pushed {
    /// One per operation pushed.
    pub outcomes: Vec<Outcome>,
}

/// `GET /v1/sync/pull?since=&limit=&reset=&device=`: the owner's changes after `since`, in order
/// (those `device` pushed left out: it applied them when its push was answered).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pulled {
    /// The changes, oldest first.
    pub entries: Vec<Entry>,
    /// Where the next pull starts.
    pub cursor: i64,
    /// Whether more changes wait after `cursor`.
    pub more: bool,
    /// The device's cursor was older than the changes the server keeps: these entries are every
    /// session it has, and the device keeps only those (and its own never pushed), then pulls
    /// on from `cursor`, with `reset=true` while `more`.
    pub reset: bool,
}

/// One change, with the version it brought the session to (`seq`) and, for a pushed operation,
/// the device and operation it came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// The session as it now is, whole.
    Put {
        /// Its version.
        seq: i64,
        /// The session.
        session: Session,
    },
    /// What a patch did (see [`Op::Patch`]); applies to the session at version `prev`.
    Patch {
        /// The version it brought the session to.
        seq: i64,
        /// The version it was applied to.
        prev: i64,
        /// The first message replaced.
        cut: u64,
        /// The messages from `cut` on.
        messages: Vec<Value>,
        /// The new state, if it changed.
        #[serde(
            default,
            deserialize_with = "present",
            skip_serializing_if = "Option::is_none"
        )]
        state: Option<Value>,
        /// The metadata after it, which names the session.
        metadata: SessionMetadata,
    },
    /// New metadata (tags, name); applies to the session at version `prev`.
    Meta {
        /// The version it brought the session to.
        seq: i64,
        /// The version it was applied to.
        prev: i64,
        /// The metadata after it, which names the session.
        metadata: SessionMetadata,
    },
    /// The session is gone.
    Delete {
        /// The version of the delete.
        seq: i64,
        /// The session's id.
        id: String,
    },
}

/// `GET /v1/sync/sessions/{id}`: a whole session and its version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Versioned {
    /// Its version.
    pub version: i64,
    /// The session.
    pub session: Session,
}

/// Deserializes a field that is present (even as `null`) into `Some`; absent stays `None` by
/// `#[serde(default)]`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}
