//! Bearer-token authentication: the [`Owner`] extractor, which every `/v1` handler takes first,
//! so a refused request reads and writes nothing.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use idb_session_store::Error;

use super::error::ApiError;
use super::AppState;
use crate::sql::OwnerSessions;

/// The sessions of the owner whose token the request bears (`Authorization: Bearer <token>`).
/// To authenticate with an identity provider instead, verify its JWT here and map its subject
/// to an owner with [`SqlSessionManager::owner`](crate::sql::SqlSessionManager::owner).
pub struct Owner(pub OwnerSessions);

fn unauthorized(message: &str) -> ApiError {
    ApiError(Error::Unauthorized {
        message: message.to_owned(),
    })
}

impl FromRequestParts<AppState> for Owner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing the Authorization: Bearer <token> header"))?;
        let value = header
            .to_str()
            .map_err(|_| unauthorized("the Authorization header is not ASCII"))?;
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| unauthorized("the Authorization header must be: Bearer <token>"))?;
        Ok(Owner(state.store.authenticate(token).await?))
    }
}
