//! `session-server`: the `idb-session-store` [`SessionManager`](idb_session_store::SessionManager)
//! on PostgreSQL or SQLite ([`sql`]), and an authenticated HTTP API over it ([`http`]).
//!
//! As a library, a server-side agent uses the SQL stores directly:
//!
//! ```no_run
//! # async fn demo() -> idb_session_store::Result<()> {
//! use idb_session_store::{Session, SessionManager};
//! let db = session_server::sql::SqlSessionManager::connect("sqlite://sessions.db").await?;
//! let sessions = db.owner("my-agent")?; // a SessionManager over this owner's sessions
//! sessions.save(&Session::new("code-agent")).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod http;
pub mod sql;
mod turn;

pub use turn::TurnOptions;
