//! The HTTP API under `/v1`: every route needs `Authorization: Bearer <token>` and acts on the
//! token owner's sessions only. Bodies are JSON in the seeds' serde form (snake_case).

mod auth;
mod error;
mod portable;
mod routes;
mod sync;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method, Uri};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use idb_session_store::{Error, Result};
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use auth::Owner;
pub use error::{status_of, ApiError};

use crate::sql::SqlSessionManager;

/// Default largest request body: 16 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 << 20;

/// How the server answers, beyond its routes.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest request body accepted; larger ones get `413 TOO_LARGE` and write nothing.
    pub max_body_bytes: usize,
    /// Origins allowed to call the API from a browser (CORS); none by default.
    pub allow_origins: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            allow_origins: Vec::new(),
        }
    }
}

/// What every handler shares: the database.
#[derive(Debug, Clone)]
pub struct AppState {
    store: SqlSessionManager,
}

/// The API's router over `store`. `INVALID_INPUT` if an allowed origin is not a valid header value.
pub fn router(store: SqlSessionManager, config: &Config) -> Result<Router> {
    let router = Router::new()
        .route("/v1/sessions", post(routes::save).get(routes::list))
        .route(
            "/v1/sessions/{id}",
            get(routes::resume).delete(routes::delete),
        )
        .route("/v1/sessions/{id}/fork", post(routes::fork))
        .route("/v1/sessions/{id}/rewind", post(routes::rewind))
        .route("/v1/sessions/{id}/tags", post(routes::tag))
        .route("/v1/sessions/{id}/name", put(routes::rename))
        .route("/v1/sessions/{id}/append", post(routes::append))
        .route("/v1/sessions/{id}/replace_last", post(routes::replace_last))
        .route("/v1/import", post(portable::import))
        .route("/v1/export", get(portable::export))
        .route("/v1/sync/push", post(sync::push))
        .route("/v1/sync/pull", get(sync::pull))
        .route("/v1/sync/sessions/{id}", get(sync::session))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(AppState { store });
    if config.allow_origins.is_empty() {
        return Ok(router);
    }
    let origins = config
        .allow_origins
        .iter()
        .map(|origin| {
            HeaderValue::from_str(origin).map_err(|_| Error::InvalidInput {
                message: format!("allowed origin {origin:?} is not a valid header value"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600));
    Ok(router.layer(cors))
}

async fn no_route(method: Method, uri: Uri) -> Response {
    error::error_response("NOT_FOUND", format!("no route for {method} {}", uri.path()))
}

async fn wrong_method(method: Method, uri: Uri) -> Response {
    error::error_response(
        "INVALID_INPUT",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
