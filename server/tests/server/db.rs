//! Fresh databases for tests: a SQLite file in a temporary directory, or a new database on the
//! PostgreSQL server `TEST_POSTGRES_URL` names (which `scripts/with-postgres.sh` starts).

use session_server::sql::SqlSessionManager;
use sqlx::{AssertSqlSafe, Connection, Executor};

pub use session_server::sql::Backend;

/// A fresh, migrated database, deleted (SQLite) or left to the throwaway server (PostgreSQL).
pub struct TestDb {
    pub store: SqlSessionManager,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
        let store = SqlSessionManager::connect(&url).await.unwrap();
        TestDb {
            store,
            url,
            _dir: Some(dir),
        }
    }

    pub async fn postgres() -> TestDb {
        let url = fresh_postgres_database().await;
        let store = SqlSessionManager::connect(&url).await.unwrap();
        TestDb {
            store,
            url,
            _dir: None,
        }
    }
}

/// The admin URL of the test PostgreSQL server. Missing, the test fails (it never skips).
pub fn postgres_url() -> String {
    let url = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_POSTGRES_URL is not set: run the server tests with a PostgreSQL server, e.g. \
             `scripts/with-postgres.sh cargo test -p session-server` (or `make test-server`)"
        )
    });
    let host = url.split('@').nth(1).unwrap_or(&url);
    assert!(
        host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("%2F"),
        "TEST_POSTGRES_URL must point at this machine (127.0.0.0/8), not {host}"
    );
    url
}

/// Creates an empty database on the test server and returns its URL.
pub async fn fresh_postgres_database() -> String {
    sqlx::any::install_default_drivers();
    let admin = postgres_url();
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    conn.close().await.unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}
