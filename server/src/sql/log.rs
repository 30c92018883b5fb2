//! The change log devices sync from: every committed write of an owner adds one `changes` row in
//! its own transaction (its seq is the write's stamp, so also the session's new version), and a
//! pull reads them back since a cursor. Puts and deletes are read from the sessions themselves,
//! so the log holds only what a patch or a metadata change added.

use idb_session_store::{Result, SessionMetadata};
use serde_json::{json, Value};

use super::write_tx::Write;

/// What a write did to a session, as the log records it.
pub(crate) enum Logged<'a> {
    /// The session is new or replaced whole (save, import, fork).
    Put,
    /// Messages from `cut` on replaced by `messages` (an append: `cut` is the old count; a
    /// rewind: no messages), the state replaced if given, and the metadata as it now is.
    Patch {
        cut: i64,
        messages: &'a [Value],
        state: Option<&'a Value>,
    },
    /// Only the metadata changed (tags, name).
    Meta,
    /// The session is gone.
    Delete,
}

impl Logged<'_> {
    pub fn kind(&self) -> &'static str {
        match self {
            Logged::Put => "put",
            Logged::Patch { .. } => "patch",
            Logged::Meta => "meta",
            Logged::Delete => "delete",
        }
    }

    /// The JSON a device applies, given the session's metadata after the write.
    pub fn body(&self, meta: &SessionMetadata) -> String {
        match self {
            Logged::Put | Logged::Delete => String::new(),
            Logged::Patch {
                cut,
                messages,
                state,
            } => {
                let mut body = json!({ "cut": cut, "messages": messages, "metadata": meta });
                if let Some(state) = state {
                    body["state"] = (*state).clone();
                }
                body.to_string()
            }
            Logged::Meta => json!({ "metadata": meta }).to_string(),
        }
    }
}

impl Write<'_> {
    /// Adds the log row of this write of session `meta.id`, whose version was `prev` (`None`:
    /// it did not exist) and is now `seq`.
    pub(crate) async fn log(
        &mut self,
        meta: &SessionMetadata,
        prev: Option<i64>,
        seq: i64,
        at_ms: i64,
        logged: Logged<'_>,
    ) -> Result<()> {
        let (device, op) = self.origin.clone().unzip();
        let query = sqlx::query(
            "INSERT INTO changes (owner, seq, session_id, prev, kind, body, device, op, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(self.owner)
        .bind(seq)
        .bind(meta.id.as_bytes())
        .bind(prev)
        .bind(logged.kind())
        .bind(logged.body(meta))
        .bind(device)
        .bind(op)
        .bind(at_ms);
        self.exec(query).await.map(drop)
    }
}
