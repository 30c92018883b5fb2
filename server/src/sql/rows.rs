//! How sessions map to rows: the `sessions` row (metadata, counters, labels, state) and the
//! `messages` rows (one JSON text per message), and the statements that read and write them.

use idb_session_store::{Error, Result, SessionMetadata};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::db_error;

/// The columns of `sessions` that make up a session's metadata, in the order [`Stored::read`]
/// reads them.
pub(crate) const META_COLUMNS: &str =
    "id, created_at, updated_at, turn_count, total_tokens, message_count, labels, seq";

/// Messages written per INSERT statement (two parameters each, well under both backends' limits).
const BATCH: usize = 500;

/// The text fields of the metadata, kept as one JSON text (`labels`): JSON escapes U+0000, which
/// PostgreSQL's TEXT cannot hold.
#[derive(Serialize, Deserialize)]
struct Labels {
    name: Option<String>,
    tags: Vec<String>,
    agent_name: String,
}

/// A stored session's metadata with the number of messages it has and its version (the seq of
/// its last write).
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub meta: SessionMetadata,
    pub message_count: i64,
    pub version: i64,
}

impl Stored {
    /// Reads the [`META_COLUMNS`] of a row.
    pub fn read(row: &AnyRow) -> Result<Stored> {
        let get = |e: sqlx::Error| db_error("reading a session row", e);
        let id: Vec<u8> = row.try_get(0).map_err(get)?;
        let id = String::from_utf8(id).map_err(|_| corrupt("an id that is not UTF-8"))?;
        let labels: String = row.try_get(6).map_err(get)?;
        let labels: Labels = serde_json::from_str(&labels)
            .map_err(|e| corrupt(&format!("unreadable labels of session \"{id}\": {e}")))?;
        let turn_count: i64 = row.try_get(3).map_err(get)?;
        let total_tokens: i64 = row.try_get(4).map_err(get)?;
        Ok(Stored {
            meta: SessionMetadata {
                name: labels.name,
                tags: labels.tags,
                agent_name: labels.agent_name,
                created_at: row.try_get(1).map_err(get)?,
                updated_at: row.try_get(2).map_err(get)?,
                turn_count: u32::try_from(turn_count)
                    .map_err(|_| corrupt(&format!("turn_count of session \"{id}\"")))?,
                total_tokens: u64::try_from(total_tokens)
                    .map_err(|_| corrupt(&format!("total_tokens of session \"{id}\"")))?,
                id,
            },
            message_count: row.try_get(5).map_err(get)?,
            version: row.try_get(7).map_err(get)?,
        })
    }

    /// The `labels` text of this metadata.
    pub fn labels(&self) -> String {
        let m = &self.meta;
        serde_json::to_string(&Labels {
            name: m.name.clone(),
            tags: m.tags.clone(),
            agent_name: m.agent_name.clone(),
        })
        .expect("labels serialize")
    }
}

/// `STORAGE`: what the database holds cannot be read back as a session.
pub(crate) fn corrupt(what: &str) -> Error {
    Error::Storage {
        message: format!("stored data is damaged: {what}"),
    }
}

/// JSON text of a message or state, as stored.
pub(crate) fn to_text(value: &Value) -> String {
    serde_json::to_string(value).expect("a serde_json::Value serializes")
}

/// A stored JSON text read back.
pub(crate) fn from_text(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| corrupt(&format!("{what}: {e}")))
}

/// Inserts `messages` as rows `first, first + 1, ...` of session `id`.
pub(crate) async fn insert_messages(
    tx: &mut Transaction<'static, Any>,
    owner: &str,
    id: &str,
    first: i64,
    messages: &[Value],
) -> Result<()> {
    for (batch, chunk) in messages.chunks(BATCH).enumerate() {
        let mut sql =
            String::from("INSERT INTO messages (owner, session_id, position, body) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("($1, $2, ${}, ${})", 3 + 2 * i, 4 + 2 * i));
        }
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(id.as_bytes());
        let start = first + (batch * BATCH) as i64;
        for (i, message) in chunk.iter().enumerate() {
            query = query.bind(start + i as i64).bind(to_text(message));
        }
        query
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error(&format!("writing messages of session \"{id}\""), e))?;
    }
    Ok(())
}

/// Every message of session `id`, in order, read in `tx`'s snapshot.
pub(crate) async fn read_messages(
    tx: &mut Transaction<'static, Any>,
    owner: &str,
    id: &str,
) -> Result<Vec<Value>> {
    let rows = sqlx::query(
        "SELECT body FROM messages WHERE owner = $1 AND session_id = $2 ORDER BY position",
    )
    .bind(owner)
    .bind(id.as_bytes())
    .fetch_all(&mut **tx)
    .await
    .map_err(|e| db_error(&format!("reading messages of session \"{id}\""), e))?;
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let body: String = row
                .try_get(0)
                .map_err(|e| db_error("reading a message", e))?;
            from_text(&body, &format!("messages[{i}] of session \"{id}\""))
        })
        .collect()
}
