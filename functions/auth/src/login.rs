//! `POST /auth/login`: email and password for a new device session, under three limits.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use garde::Validate;
use rota::auth::Role;
use rota::auth::mfa::{MFA_TOKEN_SECS, MfaToken};
use rota::auth::password;
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{ClientIp, ValidJson};
use rota::store::mfa::MfaLogin;
use rota::store::people::{Login, PersonStatus};
use rota::store::sso::PasswordLogin;
use rota::store::tenants::TenantGate;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::limits::Attempt;
use crate::tokens::{TokenDelivery, TokenPair, issue, new_session, normalise_email};

/// A sign-in waiting for its second factor: what is stored, and the answer carrying its token.
pub(crate) fn waiting_for_code(tenant_id: Ulid, person_id: Ulid, now: &Now) -> (MfaLogin, MfaRequired) {
    let token = MfaToken::generate(tenant_id, person_id);
    let waiting = MfaLogin {
        token_hash: token.hash(),
        tenant_id: tenant_id.to_string(),
        person_id: person_id.to_string(),
        created_at: now.iso.clone(),
        expires_at: now.epoch + MFA_TOKEN_SECS,
    };
    (waiting, MfaRequired { mfa_required: true, mfa_token: token.encode(), expires_in: MFA_TOKEN_SECS })
}

/// Where the organisation signs in with its identity provider only, a password still opens the
/// door to its owners (the way back in if the provider fails), to nobody else.
fn password_allowed(tenant: Option<&TenantGate>, role: Role) -> Result<(), Error> {
    match tenant.map(|tenant| tenant.password_login) {
        Some(PasswordLogin::Disabled) if role != Role::Owner => Err(Error::Forbidden(
            "this organisation signs in with its identity provider: use single sign-on (POST /auth/oidc/start)",
        )),
        _ => Ok(()),
    }
}

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

/// What a right password gets: the token pair, or, when the person has two-factor
/// authentication on, a token to finish logging in with a code (`POST /auth/login/mfa`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResponse {
    Tokens(TokenPair),
    MfaRequired(MfaRequired),
}

/// No tokens yet: the password was right, and the second factor is still to come.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequired {
    /// Always `true`.
    pub mfa_required: bool,
    /// Single use: send it with a code to `POST /auth/login/mfa` within `expires_in` seconds.
    pub mfa_token: String,
    /// Seconds until the login token expires (300).
    pub expires_in: i64,
}

/// Logs in with email and password and starts a device session.
///
/// For a person with two-factor authentication on, the answer is `mfa_required` and a login token
/// instead of the token pair: `POST /auth/login/mfa` with it and a code finishes the login.
///
/// Every attempt is counted before the password is checked: 5 per email from one client address,
/// 50 per email from anywhere and 20 per client address (IPv6 by its /64) within 15 minutes; past
/// any of them the answer is 429 until that window ends. A successful login takes its attempt
/// back. A wrong password, an unknown email and an account that is not active get the same 401.
/// The people of a suspended organisation get 403 `tenant_suspended` (only with the right
/// password).
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    extensions(("x-rate-limit" = json!("5 per email and client address, 50 per email, 20 per client address, in 15 minutes"))),
    responses(
        (status = 200, description = "Logged in (a token pair), or the password was right and a second factor is needed (`mfa_required`)", body = LoginResponse,
            links(("RevokeSession" = (operation_id = "revoke_session", parameters(("session_id" = "$response.body#/session_id")))))),
        (status = 401, description = "Email or password is incorrect, or the account is not active (the same answer for all)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The organisation is suspended (`tenant_suspended`), or signs in with its identity provider only and this is not an owner", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ValidJson(request): ValidJson<LoginRequest>,
) -> Result<(HeaderMap, Json<LoginResponse>), Error> {
    let now = Now::get();
    let email = normalise_email(&request.email);
    let attempt = Attempt::login(&email, ip.as_deref());
    // Round trip 1: the email's claim and credential (one read of both tables), and this
    // attempt counted against every limit, in parallel.
    let (login, counted) = tokio::try_join!(state.store.login(&email), attempt.count(&state, now.epoch))?;
    if let Some(retry_after_secs) = counted.retry_after(now.epoch) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    // An invited person has no password yet: checked like an unknown email, against the dummy.
    let stored_hash = login.as_ref().and_then(|login| login.credential.as_ref()).map(|c| c.password_hash.clone());
    let (claim, credential) = match (password::verify(request.password, stored_hash).await?, login) {
        // An inactive account is answered like a wrong password, so no one learns that the
        // password was right, and the attempt stays counted.
        (true, Some(Login { claim, credential: Some(credential) })) if claim.status == PersonStatus::Active => {
            (claim, credential)
        }
        _ => return Err(BAD_CREDENTIALS),
    };
    let ids = (claim.tenant_id.parse::<Ulid>(), claim.person_id.parse::<Ulid>());
    let (Ok(tenant_id), Ok(person_id)) = ids else { return Err(Error::internal("an email claim with malformed ids")) };
    if credential.mfa {
        let (waiting, answer) = waiting_for_code(tenant_id, person_id, &now);
        // Round trip 2: the login waiting for its second factor, the organisation's status, and
        // the attempt taken back. (Completing the login checks the organisation again.)
        let ((), tenant, ()) = tokio::try_join!(
            state.store.put_mfa_login(&waiting),
            state.store.tenant_gate(&claim.tenant_id),
            counted.undo(&state),
        )?;
        if !tenant.as_ref().is_some_and(|tenant| tenant.is_active()) {
            return Err(Error::TenantSuspended);
        }
        password_allowed(tenant.as_ref(), claim.role)?;
        return Ok((HeaderMap::new(), Json(LoginResponse::MfaRequired(answer))));
    }
    let (mut session, refresh) = new_session(tenant_id, person_id, claim.role, &headers, &now);
    session.permission_set_id = claim.permission_set_id.clone();
    session.scope = claim.scope.clone();
    // Round trip 2: the new session, written only while the organisation is active (so a
    // suspended one never gets a session, not even briefly); the organisation's 2FA rule and
    // the person's permission set for the token; and the attempt taken back.
    let (written, tenant, granted, ()) = tokio::try_join!(
        state.store.put_session_if_active(&session),
        state.store.tenant_gate(&claim.tenant_id),
        state.store.granted(&claim.tenant_id, claim.permission_set_id.as_deref()),
        counted.undo(&state),
    )?;
    let Some(tenant) = tenant.filter(|_| written) else { return Err(Error::TenantSuspended) };
    // (The session just written is never handed out when the rule refuses: it expires unused.)
    password_allowed(Some(&tenant), claim.role)?;
    let delivery = TokenDelivery::choose(request.token_delivery, &state, &headers, false);
    let (cookie, tokens) = issue(&state, &session, &refresh, &now, delivery, (tenant.require_admin_mfa, granted))?;
    Ok((cookie, Json(LoginResponse::Tokens(tokens))))
}
