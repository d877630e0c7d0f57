//! Sign-up, login and the refresh-token sessions: refresh (rotating), logout, logout everywhere,
//! list and revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use garde::Validate;
use rota::auth::rate_limit::{Counter, LOGIN_FAILURES_PER_EMAIL, LOGIN_FAILURES_PER_IP};
use rota::auth::refresh::{REFRESH_TOKEN_SECS, RefreshToken};
use rota::auth::{Caller, Role, password};
use rota::clock::{Now, iso_from_epoch};
use rota::error::Problem;
use rota::http::{ClientIp, ValidJson, cookie};
use rota::store::people::{Credential, Person, PersonStatus};
use rota::store::sessions::Rotation;
use rota::store::tenants::{Tenant, TenantStatus};
use rota::validate::not_blank;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::tokens::{REFRESH_COOKIE, TokenPair, clear_cookie, issue, new_session};

const BAD_CREDENTIALS: Error = Error::Unauthorized("email or password is incorrect");
const BAD_REFRESH: Error = Error::Unauthorized("the refresh token is invalid, expired or already used");

fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "organisation_name": "Harbour Events", "name": "Olive Owner",
    "email": "olive@harbour.example", "password": "correct horse battery staple",
}))]
pub struct SignupRequest {
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub organisation_name: String,
    /// The owner's name.
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    /// Unique across the platform; compared case-insensitively.
    #[garde(email, length(chars, max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[garde(length(chars, min = 12, max = 128))]
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantSummary {
    pub id: String,
    pub name: String,
    pub status: TenantStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    pub tenant: TenantSummary,
    pub me: Person,
    pub tokens: TokenPair,
}

/// Creates an organisation and its owner, and logs the owner in.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 201, description = "Organisation and owner created; the owner is logged in", body = SignupResponse,
            links(("RevokeSession" = (operation_id = "revoke_session", parameters(("session_id" = "$response.body#/tokens/session_id")))))),
        (status = 409, description = "The email is already registered", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    ValidJson(request): ValidJson<SignupRequest>,
) -> Result<(StatusCode, HeaderMap, Json<SignupResponse>), Error> {
    let now = Now::get();
    let tenant_id = Ulid::new();
    let email = normalise_email(&request.email);
    let tenant = Tenant {
        id: tenant_id.to_string(),
        name: request.organisation_name.trim().to_owned(),
        status: TenantStatus::Active,
        created_at: now.iso.clone(),
    };
    let owner = Person {
        id: Ulid::new().to_string(),
        tenant_id: tenant.id.clone(),
        email: email.clone(),
        name: request.name.trim().to_owned(),
        phone: None,
        role: Role::Owner,
        status: PersonStatus::Active,
        version: 1,
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    };
    let credential = Credential {
        email,
        tenant_id: tenant.id.clone(),
        person_id: owner.id.clone(),
        role: owner.role,
        status: owner.status,
        password_hash: password::hash(request.password).await?,
    };
    let (session, refresh) = new_session(tenant_id, &owner.id, owner.role, &headers, &now);
    state.store.create_tenant_with_owner(&tenant, &owner, &credential, &session).await?;
    let (cookie, tokens) = issue(&state, &session, &refresh, &now)?;
    let tenant = TenantSummary { id: tenant.id, name: tenant.name, status: tenant.status };
    Ok((StatusCode::CREATED, cookie, Json(SignupResponse { tenant, me: owner, tokens })))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "email": "olive@harbour.example", "password": "correct horse battery staple" }))]
pub struct LoginRequest {
    /// Compared case-insensitively. Not checked for format: a wrong email is simply a failed login.
    #[garde(length(chars, min = 1, max = 254))]
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
    #[garde(length(chars, min = 1, max = 1024))]
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

/// Logs in with email and password and starts a device session.
///
/// Five failures for one email, or twenty from one IP address, within 15 minutes lock that email or
/// address out until the window ends.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    extensions(("x-rate-limit" = json!("5 failures per email or 20 per client IP within 15 minutes"))),
    responses(
        (status = 200, description = "Logged in", body = TokenPair,
            links(("RevokeSession" = (operation_id = "revoke_session", parameters(("session_id" = "$response.body#/session_id")))))),
        (status = 401, description = "Email or password is incorrect (the same answer for both)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is not active", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ValidJson(request): ValidJson<LoginRequest>,
) -> Result<(HeaderMap, Json<TokenPair>), Error> {
    let now = Now::get();
    let email = normalise_email(&request.email);
    // Round trip 1: the credential and the failure counters, in parallel.
    let (credential, failures) =
        tokio::try_join!(state.store.credential(&email), Failures::read(&state, &email, ip.as_deref()))?;
    if let Some(retry_after_secs) = failures.retry_after(now.epoch) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    let stored_hash = credential.as_ref().map(|c| c.password_hash.clone());
    let credential = match (password::verify(request.password, stored_hash).await?, credential) {
        (true, Some(credential)) => credential,
        _ => {
            // Round trip 2 (failure): count it.
            failures.record(&state, now.epoch).await?;
            return Err(BAD_CREDENTIALS);
        }
    };
    if credential.status != PersonStatus::Active {
        return Err(Error::Forbidden("this account is not active"));
    }
    let tenant_id = credential.tenant_id.parse::<Ulid>().map_err(Error::internal)?;
    let (session, refresh) = new_session(tenant_id, &credential.person_id, credential.role, &headers, &now);
    // Round trip 2 (success): the new session.
    state.store.put_session(&session).await?;
    let (cookie, tokens) = issue(&state, &session, &refresh, &now)?;
    Ok((cookie, Json(tokens)))
}

/// Failed-login counters of one attempt: per email, and per client IP where it is known.
struct Failures<'a> {
    email: &'a str,
    by_email: Option<Counter>,
    ip: Option<(&'a str, Option<Counter>)>,
}

impl<'a> Failures<'a> {
    async fn read(state: &AppState, email: &'a str, ip: Option<&'a str>) -> Result<Self, Error> {
        let by_ip = async {
            match ip {
                Some(ip) => Ok(Some((ip, state.store.rate_limit_counter(&LOGIN_FAILURES_PER_IP, ip).await?))),
                None => Ok(None),
            }
        };
        let (by_email, ip) = tokio::try_join!(state.store.rate_limit_counter(&LOGIN_FAILURES_PER_EMAIL, email), by_ip)?;
        Ok(Self { email, by_email, ip })
    }

    fn retry_after(&self, now: i64) -> Option<u64> {
        let by_ip = self.ip.and_then(|(_, counter)| LOGIN_FAILURES_PER_IP.retry_after(counter, now));
        LOGIN_FAILURES_PER_EMAIL.retry_after(self.by_email, now).max(by_ip)
    }

    async fn record(&self, state: &AppState, now: i64) -> Result<(), Error> {
        let by_ip = async {
            match self.ip {
                Some((ip, counter)) => state.store.rate_limit_hit(&LOGIN_FAILURES_PER_IP, ip, counter, now).await,
                None => Ok(()),
            }
        };
        tokio::try_join!(state.store.rate_limit_hit(&LOGIN_FAILURES_PER_EMAIL, self.email, self.by_email, now), by_ip)?;
        Ok(())
    }
}

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
