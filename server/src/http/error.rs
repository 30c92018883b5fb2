//! The API's errors: every failure, the store's and axum's own rejections alike, becomes
//! `{"code": ..., "message": ...}` with the status of its code, decided here and nowhere else.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection, StringRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use idb_session_store::Error;

/// A store [`Error`] as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub Error);

/// The status each error code answers with.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "INVALID_INPUT" => StatusCode::BAD_REQUEST,
        "UNAUTHORIZED" => StatusCode::UNAUTHORIZED,
        "CONFLICT" => StatusCode::CONFLICT,
        "TOO_LARGE" => StatusCode::PAYLOAD_TOO_LARGE,
        "UNAVAILABLE" | "CLOSED" => StatusCode::SERVICE_UNAVAILABLE,
        "QUOTA_EXCEEDED" => StatusCode::INSUFFICIENT_STORAGE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The response for an error `code` (one of `Error::CODES`) and its message.
pub(crate) fn error_response(code: &'static str, message: String) -> Response {
    let body = serde_json::json!({ "code": code, "message": message });
    let mut response = (status_of(code), Json(body)).into_response();
    if code == "UNAUTHORIZED" {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.0.code(), self.0.to_string())
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError(error)
    }
}

/// An axum rejection: `TOO_LARGE` for a body over the limit, `INVALID_INPUT` for anything else
/// (bad JSON, wrong content type, bad path or query), with axum's words for what was wrong.
fn rejected(status: StatusCode, text: String) -> ApiError {
    ApiError(if status == StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge {
            message: format!(
                "the request body is larger than the server's limit (--max-body-bytes): {text}"
            ),
        }
    } else {
        Error::InvalidInput { message: text }
    })
}

macro_rules! from_rejection {
    ($($rejection:ty),*) => {$(
        impl From<$rejection> for ApiError {
            fn from(rejection: $rejection) -> Self {
                rejected(rejection.status(), rejection.body_text())
            }
        }
    )*};
}

from_rejection!(
    JsonRejection,
    PathRejection,
    QueryRejection,
    StringRejection
);
