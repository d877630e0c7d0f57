//! `POST /auth/login`: email and password for a new device session, under three limits.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use garde::Validate;
use rota::auth::password;
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{ClientIp, ValidJson};
use rota::store::people::PersonStatus;
use rota::{AppState, Error};
use serde::Deserialize;
use ulid::Ulid;
use utoipa::ToSchema;

use crate::limits::Attempt;
use crate::tokens::{TokenDelivery, TokenPair, issue, new_session, normalise_email};

const BAD_CREDENTIALS: Error = Error::Unauthorized("email or password is incorrect");

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
    /// Where the refresh token goes; by default the cookie for browsers (a request from an
    /// allowed origin), the body for everyone else.
    #[garde(skip)]
    pub token_delivery: Option<TokenDelivery>,
}

/// Logs in with email and password and starts a device session.
///
/// Every attempt is counted before the password is checked: 5 per email from one client address,
/// 50 per email from anywhere and 20 per client address (IPv6 by its /64) within 15 minutes; past
/// any of them the answer is 429 until that window ends. A successful login takes its attempt
/// back. A wrong password, an unknown email and an account that is not active get the same 401.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    extensions(("x-rate-limit" = json!("5 per email and client address, 50 per email, 20 per client address, in 15 minutes"))),
    responses(
        (status = 200, description = "Logged in", body = TokenPair,
            links(("RevokeSession" = (operation_id = "revoke_session", parameters(("session_id" = "$response.body#/session_id")))))),
        (status = 401, description = "Email or password is incorrect, or the account is not active (the same answer for all)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ValidJson(request): ValidJson<LoginRequest>,
) -> Result<(HeaderMap, Json<TokenPair>), Error> {
    let now = Now::get();
    let email = normalise_email(&request.email);
    let attempt = Attempt::login(&email, ip.as_deref());
    // Round trip 1: the credential, and this attempt counted against every limit, in parallel.
    let (credential, counted) = tokio::try_join!(state.store.credential(&email), attempt.count(&state, now.epoch))?;
    if let Some(retry_after_secs) = counted.retry_after(now.epoch) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    // An invited person has no password yet: checked like an unknown email, against the dummy.
    let stored_hash = credential.as_ref().map(|c| c.password_hash.clone()).filter(|hash| !hash.is_empty());
    let credential = match (password::verify(request.password, stored_hash).await?, credential) {
        // An inactive account is answered like a wrong password, so no one learns that the
        // password was right, and the attempt stays counted.
        (true, Some(credential)) if credential.status == PersonStatus::Active => credential,
        _ => return Err(BAD_CREDENTIALS),
    };
    let ids = (credential.tenant_id.parse::<Ulid>(), credential.person_id.parse::<Ulid>());
    let (Ok(tenant_id), Ok(person_id)) = ids else { return Err(Error::internal("a credential with malformed ids")) };
    let (session, refresh) = new_session(tenant_id, person_id, credential.role, &headers, &now);
    // Round trip 2: the new session, and the attempt taken back.
    tokio::try_join!(state.store.put_session(&session), counted.undo(&state))?;
    let delivery = TokenDelivery::choose(request.token_delivery, &state, &headers, false);
    let (cookie, tokens) = issue(&state, &session, &refresh, &now, delivery)?;
    Ok((cookie, Json(tokens)))
}
