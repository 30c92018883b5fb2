//! The SQL stores: one database (PostgreSQL or SQLite, chosen by the URL) holding every owner's
//! sessions, with a [`SessionManager`](idb_session_store::SessionManager) view per owner.
//!
//! One query layer serves both backends (sqlx's `Any` driver, `$N` placeholders, portable SQL);
//! the only differences are the migrations' column types and how a transaction begins.

mod log;
mod owner;
mod pull;
mod push;
mod reads;
mod rows;
mod tokens;
mod write_tx;
mod writes;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use idb_session_store::{Error, Result, Watchers};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use owner::OwnerSessions;
pub use pull::MAX_PULL;
pub use tokens::check_owner;

/// How long the change log keeps a change by default: 30 days.
pub const DEFAULT_KEEP_CHANGES: Duration = Duration::from_secs(30 * 24 * 3600);

/// How long a call waits for a database connection before it fails with `UNAVAILABLE` (503).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database a [`SqlSessionManager`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL (`postgres://` or `postgresql://` URLs), for deployments.
    Postgres,
    /// SQLite (`sqlite:` URLs), the embedded default.
    Sqlite,
}

impl Backend {
    /// The backend a database URL names, or `INVALID_INPUT` for any other scheme.
    pub fn of_url(url: &str) -> Result<Backend> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            "sqlite" => Ok(Backend::Sqlite),
            _ => Err(Error::InvalidInput {
                message: format!(
                    "database URL scheme \"{scheme}\" is not supported: use postgres:// or sqlite://"
                ),
            }),
        }
    }

    /// Lower-case name, as printed by the server.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }

    /// How a write transaction begins. SQLite takes the write lock at once (a deferred
    /// transaction that reads first could not upgrade later); PostgreSQL serializes an owner's
    /// writes on its `owners` row instead.
    fn begin_write(self) -> &'static str {
        match self {
            Backend::Postgres => "BEGIN",
            Backend::Sqlite => "BEGIN IMMEDIATE",
        }
    }

    /// How a multi-statement read begins: one snapshot for all its statements.
    fn begin_read(self) -> &'static str {
        match self {
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Backend::Sqlite => "BEGIN",
        }
    }
}

/// A database of sessions for many owners. Cheap to clone (the pools are shared).
#[derive(Debug, Clone)]
pub struct SqlSessionManager {
    backend: Backend,
    /// Writes. On SQLite, one connection, so writers queue here instead of spinning on the
    /// file lock; on PostgreSQL, the same pool as `reader`.
    writer: AnyPool,
    /// Reads, which run side by side on both backends.
    reader: AnyPool,
    /// Each owner's listeners in this process (see `OwnerSessions::watch`).
    watchers: Arc<Mutex<HashMap<String, Arc<Watchers>>>>,
    /// How long the change log keeps a change for devices to pull.
    keep_changes: Duration,
}

impl SqlSessionManager {
    /// Connects to `url` (`postgres://...` or `sqlite://PATH`, created if missing) and brings its
    /// schema to the latest version with the versioned migrations in `server/migrations/`.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let store = match backend {
            Backend::Postgres => {
                let pool = pool(url, 16, false).await?;
                Self {
                    backend,
                    writer: pool.clone(),
                    reader: pool,
                    watchers: Arc::default(),
                    keep_changes: DEFAULT_KEEP_CHANGES,
                }
            }
            Backend::Sqlite => {
                let url = sqlite_url(url);
                // The writer connects first: it creates the file and switches it to WAL.
                let writer = pool(&url, 1, true).await?;
                let reader = pool(&url, 8, true).await?;
                Self {
                    backend,
                    writer,
                    reader,
                    watchers: Arc::default(),
                    keep_changes: DEFAULT_KEEP_CHANGES,
                }
            }
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Keeps each change in the log for devices to pull for `horizon` (30 days by default): a
    /// device that has not synced for longer gets every session again, whole (a reset), and
    /// keeps only those, so a deletion still reaches it.
    pub fn keep_changes(mut self, horizon: Duration) -> Self {
        self.keep_changes = horizon;
        self
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The sessions of `owner` (see [`check_owner`] for the names allowed), as a
    /// [`SessionManager`](idb_session_store::SessionManager). Owners never see each other's sessions.
    pub fn owner(&self, owner: &str) -> Result<OwnerSessions> {
        check_owner(owner)?;
        Ok(self.sessions_of(owner.to_owned()))
    }

    /// The sessions of an owner whose name is known to be valid (it was stored).
    fn sessions_of(&self, owner: String) -> OwnerSessions {
        let mut watchers = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        let watchers = watchers.entry(owner.clone()).or_default().clone();
        OwnerSessions::new(self.clone(), owner, watchers)
    }

    /// Closes every connection; later calls fail with `CLOSED`.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        };
        migrator
            .run(&self.writer)
            .await
            .map_err(|e| Error::Storage {
                message: format!("migrating the database schema: {e}"),
            })
    }
}

/// A SQLite URL that creates the file when missing, unless the URL says otherwise.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

async fn pool(url: &str, size: u32, sqlite: bool) -> Result<AnyPool> {
    let options = AnyConnectOptions::from_str(url).map_err(|e| Error::InvalidInput {
        message: format!("database URL is not valid: {e}"),
    })?;
    let mut pool = AnyPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(ACQUIRE_TIMEOUT);
    if sqlite {
        pool = pool.after_connect(|conn, _| {
            Box::pin(async move {
                // WAL: readers never block the writer, and a commit is one append to the log.
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA busy_timeout = 30000").await?;
                Ok(())
            })
        });
    }
    pool.connect_with(options)
        .await
        .map_err(|e| db_error("connecting to the database", e))
}

/// A driver error as the store's error: `UNAVAILABLE` when the database cannot be reached (or is
/// busy past the timeout), `CLOSED` after [`SqlSessionManager::close`], `STORAGE` otherwise. The
/// message names the operation and the driver's words, never a query or its values.
pub(crate) fn db_error(operation: &str, e: sqlx::Error) -> Error {
    let busy = matches!(&e, sqlx::Error::Database(db)
        if matches!(db.code().as_deref(), Some("5" | "6" | "57P03" | "53300")));
    match e {
        sqlx::Error::PoolClosed => Error::Closed {
            message: format!("{operation}: the store was closed"),
        },
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => Error::Unavailable {
            message: format!("{operation}: the database cannot be reached: {e}"),
        },
        _ if busy => Error::Unavailable {
            message: format!("{operation}: the database is busy: {e}"),
        },
        _ => Error::Storage {
            message: format!("{operation}: {e}"),
        },
    }
}
