//! Starting a device session and answering with its token pair (body and cookie).

use axum::http::{HeaderMap, HeaderValue, header};
use rota::auth::Role;
use rota::auth::jwt::{ACCESS_TOKEN_SECS, Subject};
use rota::auth::permissions::Permissions;
use rota::auth::refresh::{REFRESH_TOKEN_SECS, RefreshToken, SESSION_MAX_SECS};
use rota::clock::Now;
use rota::store::sessions::Session;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

/// `__Secure-`: browsers accept it only with `Secure` from an HTTPS origin, so an insecure page
/// or sibling domain cannot plant one.
pub const REFRESH_COOKIE: &str = "__Secure-rota_refresh";

/// How the refresh token travels. Browsers get it only as the `HttpOnly` cookie, so script on
/// the page never sees it; other clients (mobile apps, servers) only in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenDelivery {
    Body,
    Cookie,
}

impl TokenDelivery {
    /// What was asked for; otherwise the cookie for a browser (a request from an allowed CORS
    /// origin, or one that sent the cookie), the body for anyone else.
    pub fn choose(requested: Option<Self>, state: &AppState, headers: &HeaderMap, sent_cookie: bool) -> Self {
        let browser =
            sent_cookie || headers.get(header::ORIGIN).is_some_and(|origin| state.config.cors_origins.contains(origin));
        requested.unwrap_or(if browser { Self::Cookie } else { Self::Body })
    }
}

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
    /// Opaque; single use: every refresh returns a new one. Absent when it travels as the
    /// `__Secure-rota_refresh` cookie instead (see `token_delivery`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
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
        // Set by whoever starts it after a second factor (`POST /auth/login/mfa`).
        mfa: false,
        // Set by whoever starts it for a person who holds a permission set or a scope.
        permission_set_id: None,
        scope: Default::default(),
    };
    (session, refresh)
}

/// The token pair for `session`, with the refresh token in the body or in a `Set-Cookie` header.
/// The access token's `mfa` is the session's; its `mfa_enforced` follows from the session's role
/// (and any permission set) and `require_admin_mfa`, the organisation's setting of that name
/// (`tenant.settings`, or `TenantGate`), which every caller reads when it issues tokens. Its
/// permissions are the role's and `granted`: those of the session's permission set
/// ([`Store::granted`](rota::store::Store::granted), read in the caller's last round trip).
pub fn issue(
    state: &AppState,
    session: &Session,
    refresh: &RefreshToken,
    now: &Now,
    delivery: TokenDelivery,
    (require_admin_mfa, granted): (bool, Permissions),
) -> Result<(HeaderMap, TokenPair), Error> {
    let subject = Subject {
        tenant_id: &session.tenant_id,
        person_id: &session.person_id,
        role: session.role,
        session_id: &session.id,
        mfa: session.mfa,
        // A set's permissions are above staff's: they need the second factor an admin does.
        mfa_enforced: session.role.mfa_enforced(require_admin_mfa) || (require_admin_mfa && !granted.is_empty()),
        permissions: session.role.permissions().with(granted),
        scope: &session.scope,
    };
    let refresh_token = refresh.encode();
    let refresh_expires_in = (session.expires_at.min(session.ends_at) - now.epoch).max(0);
    let mut pair = TokenPair {
        access_token: state.keys.issue(&subject, now.epoch)?,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECS,
        refresh_token: None,
        refresh_expires_in,
        session_id: session.id.clone(),
    };
    match delivery {
        TokenDelivery::Body => {
            pair.refresh_token = Some(refresh_token);
            Ok((HeaderMap::new(), pair))
        }
        TokenDelivery::Cookie => {
            let cookie = format!(
                "{REFRESH_COOKIE}={refresh_token}; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age={refresh_expires_in}"
            );
            Ok((set_cookie(&cookie)?, pair))
        }
    }
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
