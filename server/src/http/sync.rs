//! The sync routes (see [`crate::sync`]): a device pushes its operations, pulls the owner's
//! changes since its cursor, and reads a whole session with its version after a conflict.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::Json;
use serde::Deserialize;

use super::auth::Owner;
use super::error::ApiError;
use crate::sql::MAX_PULL;
use crate::sync::{Pulled, Push, Pushed, Versioned};

/// `GET /v1/sync/pull?since=&limit=&reset=&device=`: `since` defaults to 0, `limit` to the most
/// a pull answers, `reset` to false; `device`, if given, leaves out what that device pushed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PullQuery {
    #[serde(default)]
    since: i64,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    reset: bool,
    #[serde(default)]
    device: Option<String>,
}

pub(crate) async fn push(
    Owner(s): Owner,
    body: Result<Json<Push>, JsonRejection>,
) -> Result<Json<Pushed>, ApiError> {
    let Json(push) = body?;
    Ok(Json(Pushed {
        outcomes: s.push(push).await?,
    }))
}

pub(crate) async fn pull(
    Owner(s): Owner,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Json<Pulled>, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(MAX_PULL);
    Ok(Json(
        s.pull(q.since, limit, q.reset, q.device.as_deref()).await?,
    ))
}

pub(crate) async fn session(
    Owner(s): Owner,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Versioned>, ApiError> {
    let Path(id) = id?;
    Ok(Json(s.versioned(&id).await?))
}
