//! The session routes: each handler authenticates ([`Owner`]), reads its arguments, makes one
//! store call and returns its result as JSON in the seeds' serde form.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::Json;
use idb_session_store::{Session, SessionManager, SessionMetadata};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::auth::Owner;
use super::error::ApiError;
use idb_session_store::TurnOptions;

type Reply<T> = Result<Json<T>, ApiError>;
type Body<T> = Result<Json<T>, JsonRejection>;
type Id = Result<Path<String>, PathRejection>;

/// `GET /v1/sessions?offset=&limit=`: both optional (0 and no limit).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Page {
    offset: Option<usize>,
    limit: Option<usize>,
}

/// `POST /v1/sessions/{id}/fork`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fork {
    #[serde(default)]
    name: Option<String>,
}

/// `POST /v1/sessions/{id}/rewind`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rewind {
    turn_index: u32,
}

/// `POST /v1/sessions/{id}/tags`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tags {
    tags: Vec<String>,
}

/// `PUT /v1/sessions/{id}/name`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Name {
    name: String,
}

/// `POST /v1/sessions/{id}/append`: `tokens` defaults to 0; `state` absent keeps the state,
/// `"state": null` stores null.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Append {
    messages: Vec<Value>,
    #[serde(default)]
    tokens: u64,
    #[serde(default, deserialize_with = "present")]
    state: Option<Value>,
}

/// `POST /v1/sessions/{id}/replace_last`, with the same `tokens` and `state` as [`Append`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplaceLast {
    message: Value,
    #[serde(default)]
    tokens: u64,
    #[serde(default, deserialize_with = "present")]
    state: Option<Value>,
}

/// A field that is present, even as `null`, is `Some` (absent ones default to `None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

pub(crate) async fn save(Owner(s): Owner, body: Body<Session>) -> Reply<SessionMetadata> {
    let Json(session) = body?;
    Ok(Json(s.save_returning(&session).await?))
}

pub(crate) async fn list(
    Owner(s): Owner,
    page: Result<Query<Page>, QueryRejection>,
) -> Reply<Vec<SessionMetadata>> {
    let Query(page) = page?;
    let (offset, limit) = (page.offset.unwrap_or(0), page.limit.unwrap_or(usize::MAX));
    Ok(Json(s.list_page(offset, limit).await?))
}

pub(crate) async fn resume(Owner(s): Owner, id: Id) -> Reply<Session> {
    let Path(id) = id?;
    Ok(Json(s.resume(&id).await?))
}

pub(crate) async fn delete(Owner(s): Owner, id: Id) -> Result<StatusCode, ApiError> {
    let Path(id) = id?;
    s.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn fork(Owner(s): Owner, id: Id, body: Body<Fork>) -> Reply<SessionMetadata> {
    let (Path(id), Json(body)) = (id?, body?);
    Ok(Json(s.fork(&id, body.name).await?))
}

pub(crate) async fn rewind(Owner(s): Owner, id: Id, body: Body<Rewind>) -> Reply<Session> {
    let (Path(id), Json(body)) = (id?, body?);
    Ok(Json(s.rewind(&id, body.turn_index).await?))
}

pub(crate) async fn tag(Owner(s): Owner, id: Id, body: Body<Tags>) -> Result<StatusCode, ApiError> {
    let (Path(id), Json(body)) = (id?, body?);
    s.tag(&id, body.tags).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn rename(
    Owner(s): Owner,
    id: Id,
    body: Body<Name>,
) -> Result<StatusCode, ApiError> {
    let (Path(id), Json(body)) = (id?, body?);
    s.rename(&id, body.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn append(Owner(s): Owner, id: Id, body: Body<Append>) -> Reply<SessionMetadata> {
    let (Path(id), Json(body)) = (id?, body?);
    let options = TurnOptions {
        tokens: body.tokens,
        state: body.state,
    };
    Ok(Json(s.append(&id, body.messages, options).await?))
}

pub(crate) async fn replace_last(
    Owner(s): Owner,
    id: Id,
    body: Body<ReplaceLast>,
) -> Reply<SessionMetadata> {
    let (Path(id), Json(body)) = (id?, body?);
    let options = TurnOptions {
        tokens: body.tokens,
        state: body.state,
    };
    Ok(Json(s.replace_last(&id, body.message, options).await?))
}
