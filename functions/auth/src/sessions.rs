//! The refresh-token sessions: refresh (rotating), logout, logout everywhere, list and revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use garde::Validate;
use rota::auth::Caller;
use rota::auth::refresh::{REFRESH_TOKEN_SECS, RefreshToken};
use rota::clock::{Now, iso_from_epoch};
use rota::error::Problem;
use rota::http::{ValidJson, cookie};
use rota::store::sessions::Rotation;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::tokens::{REFRESH_COOKIE, TokenPair, clear_cookie, issue};

const BAD_REFRESH: Error = Error::Unauthorized("the refresh token is invalid, expired or already used");

/// The refresh token, in the body or else in the `rota_refresh` cookie.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[garde(length(max = 200))]
    #[schema(max_length = 200)]
    pub refresh_token: Option<String>,
}

/// Trades a refresh token for a new token pair. The refresh token is single use: presenting one
/// that was already used ends its whole device session.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body(content = Option<RefreshRequest>, description = "Optional when the cookie is sent"),
    responses(
        (status = 200, description = "A new token pair; the old refresh token is now used up", body = TokenPair),
        (status = 401, description = "Missing, invalid, expired or reused refresh token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Option<ValidJson<RefreshRequest>>,
) -> Result<(HeaderMap, Json<TokenPair>), Error> {
    let presented = body
        .and_then(|ValidJson(body)| body.refresh_token)
        .or_else(|| cookie(&headers, REFRESH_COOKIE).map(str::to_owned))
        .ok_or(Error::Unauthorized("a refresh token is required, in the body or the rota_refresh cookie"))?;
    let token = RefreshToken::parse(&presented).ok_or(BAD_REFRESH)?;
    let now = Now::get();
    let (tenant_id, session_id) = (token.tenant_id.to_string(), token.session_id.to_string());
    let session = state.store.session(&tenant_id, &session_id, now.epoch).await?.ok_or(BAD_REFRESH)?;
    let next = RefreshToken::generate(token.tenant_id, token.session_id);
    let rotation = Rotation {
        old_hash: &token.hash(),
        new_hash: &next.hash(),
        used_at: &now.iso,
        expires_at: now.epoch + REFRESH_TOKEN_SECS,
    };
    // A token that no longer matches was used before: whoever holds the family is suspect, so
    // the whole device session ends. Losing a race to a concurrent use counts the same.
    if session.token_hash != rotation.old_hash || !state.store.rotate_session(&session, rotation).await? {
        tracing::warn!(tenant_id, session_id, "refresh token reuse; session revoked");
        state.store.delete_session(&tenant_id, &session.person_id, &session_id).await?;
        return Err(BAD_REFRESH);
    }
    let (cookie, tokens) = issue(&state, &session, &next, &now)?;
    Ok((cookie, Json(tokens)))
}

/// Ends the caller's current device session.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Logged out; the session's refresh token no longer works")))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<(StatusCode, HeaderMap), Error> {
    // Already gone is fine: logging out twice is still logged out.
    state.store.delete_session(&caller.tenant_id, &caller.person_id, &caller.session_id).await?;
    Ok((StatusCode::NO_CONTENT, clear_cookie()?))
}

/// Ends every device session of the caller.
#[utoipa::path(post, path = "/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Every session ended")))]
pub async fn logout_all(State(state): State<AppState>, caller: Caller) -> Result<(StatusCode, HeaderMap), Error> {
    let sessions = state.store.sessions_of(&caller.tenant_id, &caller.person_id, Now::get().epoch).await?;
    state.store.delete_sessions(&sessions).await?;
    Ok((StatusCode::NO_CONTENT, clear_cookie()?))
}

/// A device session as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub created_at: String,
    pub last_used_at: String,
    pub expires_at: String,
    pub user_agent: Option<String>,
    /// Whether this is the session of the token making the request.
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionView>,
}

/// Lists the caller's live device sessions, newest first.
#[utoipa::path(get, path = "/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The caller's sessions", body = SessionList)))]
pub async fn list_sessions(State(state): State<AppState>, caller: Caller) -> Result<Json<SessionList>, Error> {
    let sessions = state.store.sessions_of(&caller.tenant_id, &caller.person_id, Now::get().epoch).await?;
    let items = sessions
        .into_iter()
        .map(|session| SessionView {
            current: session.id == caller.session_id,
            expires_at: iso_from_epoch(session.expires_at),
            id: session.id,
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            user_agent: session.user_agent,
        })
        .collect();
    Ok(Json(SessionList { items }))
}

/// Ends one of the caller's device sessions.
#[utoipa::path(delete, path = "/auth/sessions/{session_id}", tag = "auth", security(("bearer" = [])),
    params(("session_id" = String, Path, description = "A session id from `GET /auth/sessions`")),
    responses(
        (status = 204, description = "The session is ended"),
        (status = 404, description = "No such session of the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<String>,
) -> Result<StatusCode, Error> {
    if state.store.delete_session(&caller.tenant_id, &caller.person_id, &session_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound)
    }
}
