//! The server crate's tests, in one binary: the shared conformance suite on SQLite and on
//! PostgreSQL, and the HTTP API driven over real HTTP against the built `session-server`.
//! PostgreSQL tests need `TEST_POSTGRES_URL`: run under `scripts/with-postgres.sh` (`make test-server`).

/// Runs an async test body `fn(Backend)` once on SQLite and once on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::db::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::db::Backend::Postgres).await;
                }
            )*
        }
    };
}

#[path = "../../../tests/conformance/mod.rs"]
mod conformance;
mod db;
mod http_errors;
mod http_isolation;
mod http_restart;
mod http_routes;
mod server;
mod sql_store;
mod sync;

/// The SQL stores against the conformance suite: every case, on each backend, on a fresh database.
macro_rules! sql_conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite_conformance {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = crate::db::TestDb::sqlite().await;
                    crate::conformance::$case(&db.store.owner("conformance").unwrap()).await;
                }
            )*
        }
        mod postgres_conformance {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = crate::db::TestDb::postgres().await;
                    crate::conformance::$case(&db.store.owner("conformance").unwrap()).await;
                }
            )*
        }
    };
}

conformance::for_each_case!(sql_conformance);
