//! API tokens: random, shown once, stored as SHA-256 hashes, each belonging to one owner.

use idb_session_store::{rules, Error, Result};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{db_error, OwnerSessions, SqlSessionManager};

/// Longest owner name accepted, in bytes.
pub const MAX_OWNER_BYTES: usize = 128;
/// Every token starts with this, so a leaked one is easy to recognize (and to search for).
const PREFIX: &str = "sst_";

/// Refuses an owner name that is empty, longer than [`MAX_OWNER_BYTES`], or holds control
/// characters (owner names appear in logs and in the database as plain text).
pub fn check_owner(owner: &str) -> Result<()> {
    let problem = if owner.is_empty() {
        "must not be empty"
    } else if owner.len() > MAX_OWNER_BYTES {
        "is longer than 128 bytes"
    } else if owner.chars().any(char::is_control) {
        "must not contain control characters"
    } else {
        return Ok(());
    };
    Err(Error::InvalidInput {
        message: format!("owner name {problem}"),
    })
}

/// The stored form of a token: its SHA-256, in hex.
fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn unauthorized(message: &str) -> Error {
    Error::Unauthorized {
        message: message.to_owned(),
    }
}

impl SqlSessionManager {
    /// Mints a token for `owner` and returns it; only its hash is stored, so this is the one
    /// time it can be read.
    pub async fn create_token(&self, owner: &str) -> Result<String> {
        check_owner(owner)?;
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| Error::Unavailable {
            message: format!("the system's random number generator failed: {e}"),
        })?;
        let token: String = std::iter::once(PREFIX.to_owned())
            .chain(secret.iter().map(|b| format!("{b:02x}")))
            .collect();
        sqlx::query("INSERT INTO tokens (hash, owner, created_at) VALUES ($1, $2, $3)")
            .bind(hash(&token))
            .bind(owner)
            .bind(rules::now_ms())
            .execute(&self.writer)
            .await
            .map_err(|e| db_error("creating a token", e))?;
        Ok(token)
    }

    /// Revokes `token`: requests bearing it are refused from now on. `INVALID_INPUT` if no such
    /// token is active.
    pub async fn revoke_token(&self, token: &str) -> Result<()> {
        let done =
            sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL")
                .bind(hash(token.trim()))
                .bind(rules::now_ms())
                .execute(&self.writer)
                .await
                .map_err(|e| db_error("revoking a token", e))?;
        if done.rows_affected() == 0 {
            return Err(Error::InvalidInput {
                message: "no active token matches (unknown, or already revoked)".to_owned(),
            });
        }
        Ok(())
    }

    /// The sessions of the owner `token` belongs to, or `UNAUTHORIZED` for an unknown or revoked
    /// token. One indexed read; no session is touched.
    pub async fn authenticate(&self, token: &str) -> Result<OwnerSessions> {
        if !token.starts_with(PREFIX) {
            return Err(unauthorized(
                "the bearer token is not a session-server token",
            ));
        }
        let row = sqlx::query("SELECT owner FROM tokens WHERE hash = $1 AND revoked_at IS NULL")
            .bind(hash(token))
            .fetch_optional(&self.reader)
            .await
            .map_err(|e| db_error("checking the bearer token", e))?
            .ok_or_else(|| unauthorized("the bearer token is unknown or revoked"))?;
        let owner: String = row
            .try_get(0)
            .map_err(|e| db_error("checking the bearer token", e))?;
        Ok(self.sessions_of(owner))
    }
}
