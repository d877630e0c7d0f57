//! Starting a device session and answering with its token pair (body and cookie).

use axum::http::{HeaderMap, HeaderValue, header};
use rota::auth::Role;
use rota::auth::jwt::{ACCESS_TOKEN_SECS, Subject};
use rota::auth::refresh::{REFRESH_TOKEN_SECS, RefreshToken, SESSION_MAX_SECS};
use rota::clock::Now;
use rota::store::sessions::Session;
use rota::{AppState, Error};
use serde::Serialize;
use ulid::Ulid;
use utoipa::ToSchema;

pub const REFRESH_COOKIE: &str = "rota_refresh";

/// Emails are compared case-insensitively and without surrounding spaces.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// An access token for API calls and a refresh token to get the next one.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires (900).
    pub expires_in: i64,
    /// Opaque; single use: every refresh returns a new one. Also set as an HttpOnly cookie.
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    /// The device session these tokens belong to.
    pub session_id: String,
}

/// A new device session for a person, with its first refresh token.
pub fn new_session(
    tenant_id: Ulid,
    person_id: Ulid,
    role: Role,
    headers: &HeaderMap,
    now: &Now,
) -> (Session, RefreshToken) {
    let refresh = RefreshToken::generate(tenant_id, Ulid::new(), person_id);
    let user_agent =
        headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| ua.chars().take(200).collect());
    let session = Session {
        id: refresh.session_id.to_string(),
        tenant_id: tenant_id.to_string(),
        person_id: person_id.to_string(),
        role,
        token_hash: refresh.hash(),
        rotated: Vec::new(),
        created_at: now.iso.clone(),
        last_used_at: now.iso.clone(),
        expires_at: now.epoch + REFRESH_TOKEN_SECS,
        ends_at: now.epoch + SESSION_MAX_SECS,
        user_agent,
    };
    (session, refresh)
}

/// The token pair for `session`, and the `Set-Cookie` header carrying its refresh token.
pub fn issue(
    state: &AppState,
    session: &Session,
    refresh: &RefreshToken,
    now: &Now,
) -> Result<(HeaderMap, TokenPair), Error> {
    let subject = Subject {
        tenant_id: &session.tenant_id,
        person_id: &session.person_id,
        role: session.role,
        session_id: &session.id,
    };
    let refresh_token = refresh.encode();
    let refresh_expires_in = (session.expires_at.min(session.ends_at) - now.epoch).max(0);
    let cookie = format!(
        "{REFRESH_COOKIE}={refresh_token}; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age={refresh_expires_in}"
    );
    let pair = TokenPair {
        access_token: state.keys.issue(&subject, now.epoch)?,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECS,
        refresh_token,
        refresh_expires_in,
        session_id: session.id.clone(),
    };
    Ok((set_cookie(&cookie)?, pair))
}

/// Tells the browser to forget the refresh cookie.
pub fn clear_cookie() -> Result<HeaderMap, Error> {
    set_cookie(&format!("{REFRESH_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=0"))
}

fn set_cookie(value: &str) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, HeaderValue::from_str(value).map_err(Error::internal)?);
    Ok(headers)
}
