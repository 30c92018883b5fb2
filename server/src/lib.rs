//! `session-server`: the `idb-session-store` [`SessionManager`](idb_session_store::SessionManager)
//! on PostgreSQL or SQLite ([`sql`]), and an authenticated HTTP API over it ([`http`]).
//!
//! As a library, a server-side agent uses the SQL stores directly:
//!
//! ```no_run
//! # async fn demo() -> idb_session_store::Result<()> {
//! use idb_session_store::{Session, SessionManager, TurnOptions};
//! use session_server::sql::SqlSessionManager;
//!
//! let db = SqlSessionManager::connect("postgres://app@127.0.0.1/sessions").await?; // or sqlite://PATH
//! let sessions = db.owner("my-agent")?; // a SessionManager over this owner's sessions
//! let session = Session::new("code-agent");
//! sessions.save(&session).await?;
//! sessions.append(&session.metadata.id, vec![serde_json::json!("hi")],
//!     TurnOptions { tokens: 3, state: None }).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod http;
pub mod sql;
pub mod sync;
