//! The refresh-token sessions: refresh (rotating), logout, logout everywhere, list and revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use garde::Validate;
use rota::auth::Caller;
use rota::auth::permissions::Permissions;
use rota::auth::refresh::{self, Presented, REFRESH_TOKEN_SECS, RefreshToken};
use rota::clock::{Now, iso_from_epoch};
use rota::error::Problem;
use rota::http::{ValidJson, cookie};
use rota::store::people::PersonStatus;
use rota::store::sessions::{PersonGate, Rotate, Rotation, Session};
use rota::store::tenants::TenantGate;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::tokens::{REFRESH_COOKIE, TokenDelivery, TokenPair, clear_cookie, issue};

const BAD_REFRESH: Error = Error::Unauthorized("the refresh token is invalid, expired or already used");

/// The refresh token, in the body or else in the `__Secure-rota_refresh` cookie.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[garde(length(max = 200))]
    #[schema(max_length = 200)]
    pub refresh_token: Option<String>,
    /// Where the next refresh token goes; by default where this one came from (the cookie for
    /// a browser), else the body.
    #[garde(skip)]
    pub token_delivery: Option<TokenDelivery>,
}

/// Trades a refresh token for a new token pair. The refresh token is single use, with a grace:
/// presented again within 10 seconds of its use (a retry, a second tab), it answers with the same
/// next refresh token; presented later, it is a replay and ends its whole device session. A
/// session also ends 30 days after its login, when its person is deactivated or changes role, when
/// they log out everywhere. While its organisation is suspended it gives no tokens (403
/// `tenant_suspended`) but lives on, so reactivating the organisation resumes it.
///
/// The access token says whether the session passed two-factor authentication (`mfa`: its login
/// took a second factor, or 2FA was turned on in it, and 2FA is still on) and whether the role
/// must have (`mfa_enforced`, from the organisation's settings as they are now).
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body(content = Option<RefreshRequest>, description = "Optional when the cookie is sent"),
    responses(
        (status = 200, description = "A new token pair; the old refresh token is now used up", body = TokenPair),
        (status = 401, description = "Missing, invalid, expired or replayed refresh token, or an ended session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The organisation is suspended (`tenant_suspended`); the session resumes when it is reactivated", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Option<ValidJson<RefreshRequest>>,
) -> Result<(HeaderMap, Json<TokenPair>), Error> {
    let (in_body, requested) =
        body.map(|ValidJson(body)| (body.refresh_token, body.token_delivery)).unwrap_or_default();
    let in_cookie = cookie(&headers, REFRESH_COOKIE)?;
    let delivery = TokenDelivery::choose(requested, &state, &headers, in_body.is_none() && in_cookie.is_some());
    let presented = in_body
        .as_deref()
        .or(in_cookie)
        .ok_or(Error::Unauthorized("a refresh token is required, in the body or the __Secure-rota_refresh cookie"))?;
    let token = RefreshToken::parse(presented).ok_or(BAD_REFRESH)?;
    let chain = state.keys.refresh_chain()?;
    let now = Now::get();
    let (tenant_id, session_id) = (token.tenant_id.to_string(), token.session_id.to_string());
    // Round trip 1: the session, the person, the organisation and the 2FA enrolment as they are now.
    let context = state.store.refresh_context(&tenant_id, &session_id, &token.person_id.to_string()).await?;
    // The token's ids are trusted only as far as its session agrees: a token whose person was
    // swapped for a colleague's is nobody's, and changes nothing.
    let session = context
        .session
        .filter(|session| session.is_live(now.epoch) && session.person_id == token.person_id.to_string())
        .ok_or(BAD_REFRESH)?;
    let suspended = match ended(&session, context.person.as_ref(), context.tenant.as_ref()) {
        None => false,
        Some(Ended::Suspended) => true,
        Some(Ended::For(reason)) => {
            tracing::info!(tenant_id, session_id, reason, "session ended at refresh");
            state.store.delete_session(&tenant_id, &session.person_id, &session_id).await?;
            return Err(BAD_REFRESH);
        }
    };
    // The session passed 2FA only while 2FA is still on (turning it off takes that back).
    let session = Session { mfa: session.mfa && context.mfa_on, ..session };
    let require_admin_mfa = context.tenant.is_none_or(|tenant| tenant.require_admin_mfa);
    let hash = token.hash();
    let presented = refresh::presented(&hash, &session.token_hash, &session.rotated, now.epoch);
    // Suspension is told only to the holder of a real token, and only a replay still ends the
    // session; reactivating the organisation resumes it.
    if suspended && matches!(presented, Presented::Current | Presented::Repeated) {
        return Err(Error::TenantSuspended);
    }
    let next = match presented {
        Presented::Unknown => return Err(BAD_REFRESH),
        Presented::Replayed => return Err(replayed(&state, &session).await?),
        Presented::Repeated => match refresh::catch_up(&token, &session.token_hash, chain) {
            Some(next) => {
                // Round trip 2 (for a person with a permission set): its permissions now.
                let granted = state.store.granted(&session.tenant_id, session.permission_set_id.as_deref()).await?;
                return answer(&state, &session, &next, &now, delivery, (require_admin_mfa, granted));
            }
            None => return Err(replayed(&state, &session).await?),
        },
        Presented::Current => token.next(chain),
    };
    let expires_at = (now.epoch + REFRESH_TOKEN_SECS).min(session.ends_at);
    let rotation = Rotation {
        old_hash: &hash,
        new_hash: &next.hash(),
        rotated: refresh::after_rotation(&session.rotated, &hash, now.epoch),
        used_at: &now.iso,
        expires_at,
    };
    // Round trip 2: the rotation, conditional on the token still being current; and the
    // permissions of the person's set as it is now (a set's change counts from the next refresh).
    let (rotated, granted) = tokio::try_join!(
        state.store.rotate_session(&session, rotation),
        state.store.granted(&session.tenant_id, session.permission_set_id.as_deref()),
    )?;
    match rotated {
        Rotate::Done => {}
        // A concurrent refresh with the same token won: it rotated to the same next token.
        Rotate::Lost(Some(current)) if current == next.hash() => {}
        Rotate::Lost(_) => return Err(BAD_REFRESH),
    }
    answer(&state, &Session { expires_at, ..session }, &next, &now, delivery, (require_admin_mfa, granted))
}

/// Why a live session may not be refreshed now.
enum Ended {
    /// For good, for this reason: the session is deleted.
    For(&'static str),
    /// While its organisation is suspended.
    Suspended,
}

fn ended(session: &Session, person: Option<&PersonGate>, tenant: Option<&TenantGate>) -> Option<Ended> {
    let Some(person) = person else { return Some(Ended::For("the person no longer exists")) };
    if person.status != PersonStatus::Active {
        Some(Ended::For("the person is not active"))
    } else if person.role != session.role {
        Some(Ended::For("the person's role changed"))
    } else if person.sessions_valid_after.as_deref().is_some_and(|after| session.created_at.as_str() <= after) {
        Some(Ended::For("the person logged out everywhere"))
    } else if !tenant.is_some_and(|tenant| tenant.is_active()) {
        Some(Ended::Suspended)
    } else {
        None
    }
}

/// A token rotated away long ago came back: whoever holds the family is suspect, so the whole
/// device session ends.
async fn replayed(state: &AppState, session: &Session) -> Result<Error, Error> {
    tracing::warn!(tenant_id = session.tenant_id, session_id = session.id, "refresh token replayed; session revoked");
    state.store.delete_session(&session.tenant_id, &session.person_id, &session.id).await?;
    Ok(BAD_REFRESH)
}

fn answer(
    state: &AppState,
    session: &Session,
    next: &RefreshToken,
    now: &Now,
    delivery: TokenDelivery,
    rules: (bool, Permissions),
) -> Result<(HeaderMap, Json<TokenPair>), Error> {
    let (cookie, tokens) = issue(state, session, next, now, delivery, rules)?;
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
    let now = Now::get();
    // Ending them on the person is what counts (a session the index has not listed yet ends
    // too); deleting the listed ones tidies up.
    let (sessions, ()) = tokio::try_join!(
        state.store.sessions_of(&caller.tenant_id, &caller.person_id, now.epoch),
        state.store.end_sessions_until(&caller.tenant_id, &caller.person_id, &now.iso),
    )?;
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

impl SessionView {
    /// `session` as listed to the holder of the session `current` (none for someone else).
    pub fn of(session: Session, current: Option<&str>) -> Self {
        Self {
            current: current == Some(session.id.as_str()),
            expires_at: iso_from_epoch(session.expires_at),
            id: session.id,
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            user_agent: session.user_agent,
        }
    }
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
    let items = sessions.into_iter().map(|session| SessionView::of(session, Some(&caller.session_id))).collect();
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
