//! `POST /v1/import` and `GET /v1/export`: the JSON Lines format of `idb_session_store::portable`.

use axum::body::Body;
use axum::extract::rejection::{QueryRejection, StringRejection};
use axum::extract::Query;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::{self, StreamExt};
use idb_session_store::portable::{self, ImportReport, OnConflict};
use idb_session_store::Error;
use serde::Deserialize;

use super::auth::Owner;
use super::error::ApiError;

/// `POST /v1/import?on_conflict=skip|replace|fork|fail` (default `fail`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportQuery {
    #[serde(default)]
    on_conflict: OnConflict,
}

/// Imports the body (an export) atomically: a refused import writes nothing.
pub(crate) async fn import(
    Owner(s): Owner,
    query: Result<Query<ImportQuery>, QueryRejection>,
    body: Result<String, StringRejection>,
) -> Result<Json<ImportReport>, ApiError> {
    let (Query(query), text) = (query?, body?);
    Ok(Json(s.import(&text, query.on_conflict).await?))
}

/// Streams every session of the owner, oldest first, one session in memory at a time. An
/// error before the header line is an error response; a later one cuts the body short, which
/// the header's count (and the missing final newline) makes plain to any reader.
pub(crate) async fn export(Owner(s): Owner) -> Result<Response, ApiError> {
    let (lines, mut received) = tokio::sync::mpsc::unbounded_channel::<Result<String, Error>>();
    tokio::spawn(async move {
        let sink = lines.clone();
        let done = portable::export(&s, None, |line| {
            sink.send(Ok(line.to_owned())).map_err(|_| Error::Closed {
                message: "export: the client went away".to_owned(),
            })
        })
        .await;
        if let Err(e) = done {
            let _ = lines.send(Err(e));
        }
    });
    let first = received.recv().await.unwrap_or_else(|| {
        Err(Error::Storage {
            message: "export: ended before its header".to_owned(),
        })
    })?;
    let rest = stream::unfold(received, |mut received| async move {
        received.recv().await.map(|line| (line, received))
    });
    let body = stream::iter([Ok(first)]).chain(rest);
    Ok((
        [(CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(body),
    )
        .into_response())
}
